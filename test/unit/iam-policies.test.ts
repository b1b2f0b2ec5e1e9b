import { ValidationError } from '../../lambdas/core/domain/errors';
import {
  accountOf,
  assumeRoleCommand,
  engineerPrincipal,
  expiryDenyPolicy,
  grantTags,
  iamTime,
  requireExternalId,
  revokedTrustPolicy,
  roleNameFor,
  sessionKillPolicy,
  sessionSeconds,
  trustPolicy,
  windowBounds,
} from '../../lambdas/core/domain/iam-policies';

const SESSION_ARN = 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/alice@example.com';
const WINDOW = { accessStartsAt: '2026-11-05T10:00:00.250Z', accessExpiresAt: '2026-11-05T12:00:00.250Z' };

describe('engineerPrincipal', () => {
  it('maps an assumed-role session to its role, with the session name as source identity', () => {
    expect(engineerPrincipal(SESSION_ARN)).toEqual({
      principalArn: 'arn:aws:iam::111111111111:role/SupportEngineer',
      sourceIdentity: 'alice@example.com',
    });
  });

  it('keeps the partition of the session', () => {
    expect(engineerPrincipal('arn:aws-cn:sts::222222222222:assumed-role/Ops/bob').principalArn).toBe(
      'arn:aws-cn:iam::222222222222:role/Ops',
    );
  });

  it('trusts an IAM user by its own ARN, path included, with the user name as source identity', () => {
    expect(engineerPrincipal('arn:aws:iam::111111111111:user/support/carol')).toEqual({
      principalArn: 'arn:aws:iam::111111111111:user/support/carol',
      sourceIdentity: 'carol',
    });
  });

  it.each([
    ['the account root', 'arn:aws:iam::111111111111:root'],
    ['a federated user', 'arn:aws:sts::111111111111:federated-user/dave'],
    ['a role ARN (not a caller identity)', 'arn:aws:iam::111111111111:role/SupportEngineer'],
    ['a wildcard session', 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/*'],
    ['a one-character session name (STS needs 2)', 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/a'],
    ['a session name with a space', 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/alice smith'],
    ['a short account id', 'arn:aws:sts::1111:assumed-role/SupportEngineer/alice'],
    ['an email', 'alice@example.com'],
  ])('refuses %s', (_what, arn) => {
    expect(() => engineerPrincipal(arn)).toThrow(ValidationError);
  });
});

describe('accountOf', () => {
  it('reads the account of IAM and STS ARNs', () => {
    expect(accountOf('arn:aws:iam::123456789012:role/lockbox/lockbox-req-1')).toBe('123456789012');
    expect(accountOf(SESSION_ARN)).toBe('111111111111');
    expect(accountOf('not-an-arn')).toBeUndefined();
  });
});

describe('requireExternalId', () => {
  it('returns a valid external id', () => {
    expect(requireExternalId('lockbox:tenant-a/7f3e', 'tenant-a')).toBe('lockbox:tenant-a/7f3e');
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['too short', 'x'],
    ['with shell characters', 'abc; rm -rf ~'],
    ['with a space', 'abc def'],
  ])('refuses one that is %s', (_what, externalId) => {
    expect(() => requireExternalId(externalId, 'tenant-a')).toThrow(ValidationError);
  });
});

describe('roleNameFor', () => {
  it('prefixes the request id', () => {
    expect(roleNameFor('req-0123456789abcdef0123456789abcdef')).toBe('lockbox-req-0123456789abcdef0123456789abcdef');
  });

  it('refuses ids that make an invalid role name or session name', () => {
    expect(() => roleNameFor('r'.repeat(57))).toThrow(ValidationError);
    expect(() => roleNameFor('req/1')).toThrow(ValidationError);
    expect(() => roleNameFor('x')).toThrow(ValidationError);
  });
});

describe('iamTime', () => {
  it('writes whole seconds in UTC with Z, rounding as asked', () => {
    expect(iamTime('2026-11-05T10:00:00.250Z', 'up')).toBe('2026-11-05T10:00:01Z');
    expect(iamTime('2026-11-05T10:00:00.250Z', 'down')).toBe('2026-11-05T10:00:00Z');
    expect(iamTime('2026-11-05T10:00:00.000Z', 'up')).toBe('2026-11-05T10:00:00Z');
    expect(iamTime('2026-12-31T23:59:59.999Z', 'up')).toBe('2027-01-01T00:00:00Z');
  });

  it.each(['2026-11-05T12:00:00+02:00', '2026-11-05 10:00:00', 'Thu, 05 Nov 2026 10:00:00 GMT', '1762336800', 'tomorrow'])(
    'refuses %s, which is not ISO-8601 UTC',
    (instant) => {
      expect(() => iamTime(instant, 'down')).toThrow(ValidationError);
    },
  );
});

describe('windowBounds', () => {
  it('never widens the window: start rounded up, end rounded down', () => {
    expect(windowBounds(WINDOW)).toEqual({ notBefore: '2026-11-05T10:00:01Z', notAfter: '2026-11-05T12:00:00Z' });
  });

  it('refuses an empty or reversed window', () => {
    expect(() => windowBounds({ accessStartsAt: '2026-11-05T10:00:00.100Z', accessExpiresAt: '2026-11-05T10:00:00.900Z' })).toThrow(
      ValidationError,
    );
    expect(() => windowBounds({ accessStartsAt: WINDOW.accessExpiresAt, accessExpiresAt: WINDOW.accessStartsAt })).toThrow(ValidationError);
  });
});

describe('trustPolicy', () => {
  const policy = trustPolicy({
    engineer: engineerPrincipal(SESSION_ARN),
    externalId: 'ext-tenant-a',
    requestId: 'req-42',
    window: WINDOW,
  });
  const [statement] = policy.Statement;

  it('has exactly one Allow statement for the engineer role', () => {
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement).toHaveLength(1);
    expect(statement.Effect).toBe('Allow');
    expect(statement.Principal).toEqual({ AWS: 'arn:aws:iam::111111111111:role/SupportEngineer' });
    expect(statement.Action).toEqual(['sts:AssumeRole', 'sts:SetSourceIdentity']);
    expect(statement.Resource).toBeUndefined();
  });

  it('pins the principal, external id, source identity and session name', () => {
    expect(statement.Condition?.StringEquals).toEqual({
      'aws:PrincipalArn': 'arn:aws:iam::111111111111:role/SupportEngineer',
      'sts:ExternalId': 'ext-tenant-a',
      'sts:SourceIdentity': 'alice@example.com',
      'sts:RoleSessionName': 'req-42',
    });
  });

  it('opens only inside the window, with literal UTC timestamps', () => {
    expect(statement.Condition?.DateGreaterThan).toEqual({ 'aws:CurrentTime': '2026-11-05T10:00:01Z' });
    expect(statement.Condition?.DateLessThan).toEqual({ 'aws:CurrentTime': '2026-11-05T12:00:00Z' });
    expect(Object.keys(statement.Condition ?? {})).toEqual(['StringEquals', 'DateGreaterThan', 'DateLessThan']);
  });

  it('survives a JSON round trip unchanged (what IAM receives)', () => {
    expect(JSON.parse(JSON.stringify(policy))).toEqual(policy);
  });
});

describe('expiryDenyPolicy', () => {
  it('denies everything after the window end', () => {
    expect(expiryDenyPolicy(WINDOW)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'DenyAllAfterAccessWindow',
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: { DateGreaterThan: { 'aws:CurrentTime': '2026-11-05T12:00:00Z' } },
        },
      ],
    });
  });
});

describe('sessionKillPolicy', () => {
  it('denies every session issued before the revoke, the revoking second included', () => {
    expect(sessionKillPolicy('2026-11-05T11:00:00.001Z')).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'DenySessionsIssuedBeforeRevoke',
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: { DateLessThan: { 'aws:TokenIssueTime': '2026-11-05T11:00:01Z' } },
        },
      ],
    });
  });
});

describe('revokedTrustPolicy', () => {
  it('allows nobody and denies everybody', () => {
    const policy = revokedTrustPolicy();
    expect(policy.Statement.filter((statement) => statement.Effect === 'Allow')).toEqual([]);
    expect(policy.Statement).toEqual([
      {
        Sid: 'AccessRevoked',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
      },
    ]);
  });
});

describe('grantTags', () => {
  it('names the request, the tenant and the expiry in UTC', () => {
    expect(grantTags({ requestId: 'req-42', tenantId: 'tenant-a', accessExpiresAt: WINDOW.accessExpiresAt })).toEqual([
      { Key: 'lockbox:request-id', Value: 'req-42' },
      { Key: 'lockbox:tenant', Value: 'tenant-a' },
      { Key: 'lockbox:expires-at', Value: '2026-11-05T12:00:00Z' },
    ]);
  });
});

describe('sessionSeconds', () => {
  const expires = Date.parse('2026-11-05T12:00:00.000Z');

  it('is at most an hour', () => {
    expect(sessionSeconds('2026-11-05T12:00:00.000Z', expires - 2 * 3600_000)).toBe(3600);
  });

  it('is the rest of the window when that is shorter', () => {
    expect(sessionSeconds('2026-11-05T12:00:00.000Z', expires - 1800_000)).toBe(1800);
    expect(sessionSeconds('2026-11-05T12:00:00.000Z', expires - 1800_500)).toBe(1800);
  });

  it('is never below the 900 s STS requires (the expiry deny cuts the rest)', () => {
    expect(sessionSeconds('2026-11-05T12:00:00.000Z', expires - 300_000)).toBe(900);
    expect(sessionSeconds('2026-11-05T12:00:00.000Z', expires + 60_000)).toBe(900);
  });
});

describe('assumeRoleCommand', () => {
  it('spells out every parameter the trust policy requires', () => {
    expect(
      assumeRoleCommand({
        roleArn: 'arn:aws:iam::111111111111:role/lockbox/lockbox-req-42',
        requestId: 'req-42',
        sourceIdentity: 'alice@example.com',
        externalId: 'ext-tenant-a',
        durationSeconds: 3600,
      }),
    ).toBe(
      'aws sts assume-role --role-arn arn:aws:iam::111111111111:role/lockbox/lockbox-req-42 --role-session-name req-42' +
        ' --source-identity alice@example.com --external-id ext-tenant-a --duration-seconds 3600',
    );
  });
});
