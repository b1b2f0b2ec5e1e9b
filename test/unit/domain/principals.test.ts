import { config, ENV, resetConfig } from '../../../lambdas/core/config';
import { customerSideProblems, directoryProblems, parsePrincipal, personKeys, providerSide } from '../../../lambdas/core/domain/principals';
import { assertNamesPeople } from '../../../local/local-mode';
import { DIRECTORY } from '../../../local/seed';

const SSO = 'arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Support_0123456789abcdef';

describe('person keys (docs/design.md §3a)', () => {
  it('parses IAM users and assumed-role sessions', () => {
    expect(parsePrincipal('arn:aws:iam::111111111111:user/ops/carol')).toEqual({
      kind: 'iam-user',
      account: '111111111111',
      name: 'carol',
    });
    expect(parsePrincipal(`${SSO}/kim@x.example`)).toEqual({
      kind: 'assumed-role',
      account: '111111111111',
      role: 'AWSReservedSSO_Support_0123456789abcdef',
      session: 'kim@x.example',
    });
    expect(parsePrincipal('email:kim@x.example')).toEqual({ kind: 'other', account: undefined });
  });

  it('names the person by sign-in or configured email first, then the IdP-set session name, then the principal', () => {
    expect(personKeys({ principal: `${SSO}/Kim@X.example`, emails: ['kim.k@x.example'] })).toEqual([
      'email:kim.k@x.example',
      'email:kim@x.example',
      `principal:${SSO}/Kim@X.example`,
    ]);
    expect(personKeys({ principal: `${SSO}/kim` })).toEqual(['idp-user:kim', `principal:${SSO}/kim`]);
    const declared = 'arn:aws:sts::111111111111:assumed-role/Saml/kim';
    expect(personKeys({ principal: declared, entry: { sessionNameSetBy: 'idp' } })).toEqual(['idp-user:kim', `principal:${declared}`]);
  });

  it('takes nothing from a session name that whoever assumed the role chose', () => {
    const free = 'arn:aws:sts::111111111111:assumed-role/SupportManager/bob@provider.example';
    expect(personKeys({ principal: free })).toEqual([`principal:${free}`]);
  });
});

describe('a directory that cannot name people', () => {
  const free = { engineers: [{ principal: 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/*' }], managers: [] };

  it('is a problem for a wildcard over free session names, not over IdP-named ones or IAM users', () => {
    expect(directoryProblems(free)).toEqual([
      { path: ['engineers', 0, 'principal'], message: expect.stringContaining('matches every session of role SupportEngineer') },
    ]);
    expect(
      directoryProblems({
        engineers: [{ principal: `${SSO}/*` }, { principal: 'arn:aws:iam::111111111111:user/support/*' }],
        managers: [],
      }),
    ).toEqual([]);
    expect(directoryProblems({ ...free, engineers: [{ ...free.engineers[0], sessionNameSetBy: 'idp' as const }] })).toEqual([]);
  });

  it('fails the Lambda that reads it from LOCKBOX_DIRECTORY', () => {
    process.env[ENV.directory] = JSON.stringify(free);
    resetConfig();
    expect(() => config.directory()).toThrow(
      'Configuration: LOCKBOX_DIRECTORY is not valid: engineers[0].principal matches every session of role SupportEngineer',
    );
    delete process.env[ENV.directory];
    resetConfig();
  });

  it('stops local mode at start-up; the seeded directory passes', () => {
    expect(() => assertNamesPeople(free)).toThrow(
      "Local mode's directory cannot name people:\n  - engineers[0].principal: matches every session of role SupportEngineer",
    );
    expect(() => assertNamesPeople(DIRECTORY)).not.toThrow();
  });
});

describe('customer-side tenants (T-5.10)', () => {
  const provider = providerSide(DIRECTORY);

  it('takes the provider accounts from the directory', () => {
    expect(provider.accounts).toEqual(['111111111111']);
  });

  it('needs a customer account for principals; emails need none', () => {
    const tenant = { approvers: [{ email: 'a@c.example' }], admins: ['arn:aws:iam::222222222222:user/a'], auditors: ['b@c.example'] };
    expect(customerSideProblems(tenant, provider)).toEqual([
      { path: ['admins', 0], message: expect.stringContaining('none: set customerAccounts or accessTarget.accountId') },
    ]);
    expect(customerSideProblems({ ...tenant, accessTarget: { accountId: '222222222222' } }, provider)).toEqual([]);
  });
});
