import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTEXT, ConfigError, loadConfig, parseConfig } from '../../lib/config';

const ROOT = join(__dirname, '..', '..');
const example = JSON.parse(readFileSync(join(ROOT, 'lockbox.config.example.json'), 'utf8')) as Record<string, unknown>;

/** The example with one change; `undefined` removes the key. */
const withChange = (change: (config: any) => void): unknown => {
  const config = structuredClone(example) as any;
  change(config);
  return config;
};

/** The message of the ConfigError that `raw` causes. */
function refusal(raw: unknown): string {
  try {
    parseConfig(raw, 'test.json');
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('configuration validation', () => {
  it('accepts the committed example', () => {
    const config = parseConfig(example, 'lockbox.config.example.json');
    expect(config.providerAccount).toBe('111111111111');
    expect(config.tenants?.map((tenant) => tenant.tenantId)).toEqual(['acme']);
  });

  it.each([
    ['a missing provider account', (c: any) => delete c.providerAccount, 'providerAccount: is required'],
    [
      'a provider account that is not 12 digits',
      (c: any) => (c.providerAccount = '1234'),
      'providerAccount: must be a 12-digit AWS account id',
    ],
    ['no managers', (c: any) => (c.managers = []), 'managers: needs at least one manager'],
    ['a manager without a valid email', (c: any) => (c.managers[0].email = 'mallory'), 'managers[0].email: must be an email address'],
    [
      'a manager principal with a wildcard',
      (c: any) => (c.managers[0].principal = 'arn:aws:sts::111111111111:assumed-role/SupportManager/*'),
      'managers[0].principal: must be an exact principal ARN',
    ],
    [
      'an engineer of another account',
      (c: any) => (c.engineers[0].principal = 'arn:aws:iam::999999999999:role/SupportEngineer'),
      'engineers[0].principal: must be a principal of providerAccount 111111111111',
    ],
    [
      'an engineer principal that is not an ARN',
      (c: any) => (c.engineers[0].principal = 'erin'),
      'engineers[0].principal: must be an IAM user or role ARN',
    ],
    ['a missing sender', (c: any) => delete c.email.sender, 'email.sender: is required'],
    [
      'a sender outside the identity domain',
      (c: any) => (c.email.sender = 'lockbox@other.example'),
      "email.sender: must be an address of the identity's domain provider.example",
    ],
    [
      'a duration that is not ISO-8601',
      (c: any) => (c.approvalTimeouts.manager = '12 hours'),
      'approvalTimeouts.manager: must be an ISO-8601 duration',
    ],
    [
      'a floor longer than the cap',
      (c: any) => (c.durations = { floor: 'PT5H', cap: 'PT4H' }),
      'durations.floor: must not be longer than durations.cap (PT4H)',
    ],
    ['a cap above the limit', (c: any) => (c.durations = { cap: 'P1D' }), 'durations.cap: must be at most PT12H'],
    [
      'a tenant cap above the deployment cap',
      (c: any) => (c.tenants[0].maxAccessDuration = 'PT6H'),
      'tenants[0].maxAccessDuration: must be between durations.floor (PT15M) and durations.cap (PT4H)',
    ],
    ['a tenant without admins', (c: any) => (c.tenants[0].admins = []), 'tenants[0].admins: needs at least one admin'],
    [
      'a tenant without access levels',
      (c: any) => (c.tenants[0].accessLevels = {}),
      'tenants[0].accessLevels: needs at least one access level',
    ],
    ['a repeated tenant', (c: any) => c.tenants.push(structuredClone(c.tenants[0])), 'tenants[1].tenantId: repeats tenant acme'],
    ['an access provider that cannot run on AWS', (c: any) => (c.accessProvider = 'local'), 'accessProvider: must be "iam"'],
    ['an alarm email that is not an email', (c: any) => (c.alarms.email = 'oncall'), 'alarms.email: must be an email address'],
    ['an alarm topic that is not an SNS ARN', (c: any) => (c.alarms.topicArn = 'alarms'), 'alarms.topicArn: must be an SNS topic ARN'],
    ['a repeated link key id', (c: any) => (c.linkKeyIds = ['k1', 'k1']), 'linkKeyIds: must not repeat a key id'],
    ['a link base URL without https', (c: any) => (c.linkBaseUrl = 'http://lockbox.example'), 'linkBaseUrl: must be an https URL'],
    ['a misspelt key', (c: any) => (c.alarm = {}), 'alarm: is not a known key'],
    ['a misspelt nested key', (c: any) => (c.durations.ceiling = 'PT4H'), 'durations.ceiling: is not a known key'],
  ])('refuses %s, naming the key', (_case, change, message) => {
    expect(refusal(withChange(change))).toContain(message);
  });

  it('refuses a directory too large for a Lambda environment variable', () => {
    const engineers = Array.from({ length: 40 }, (_, i) => ({
      principal: `arn:aws:sts::111111111111:assumed-role/SupportEngineer/engineer-number-${i}@provider.example`,
      email: `engineer-number-${i}@provider.example`,
    }));
    expect(refusal(withChange((c) => (c.engineers = engineers)))).toMatch(/engineers: with managers makes a directory of \d+ bytes/);
  });

  it('lists every problem at once, with the source', () => {
    const message = refusal(withChange((c) => ((c.providerAccount = 'x'), (c.managers[0].email = 'y'))));
    expect(message).toMatch(/^Lockbox configuration from test\.json is not valid:/);
    expect(message).toContain('providerAccount:');
    expect(message).toContain('managers[0].email:');
  });
});

describe('configuration that must name people (docs/design.md §3a)', () => {
  const FREE = 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/*';

  it('refuses a wildcard over a role whose session names are free, with the exact message', () => {
    expect(refusal(withChange((c) => (c.engineers = [{ principal: FREE }])))).toContain(
      '  - engineers[0].principal: matches every session of role SupportEngineer, whose session names are chosen by whoever assumes it, so it cannot tell people apart: ' +
        "list each person's session with their email, use an IAM Identity Center role (AWSReservedSSO_*), " +
        'or set sessionNameSetBy: "idp" if the role\'s trust makes your identity provider set the session name',
    );
    expect(
      refusal(withChange((c) => (c.engineers = [{ principal: 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/al*' }]))),
    ).toContain('engineers[0].principal: matches every session of role SupportEngineer');
  });

  it('accepts a wildcard over an IAM Identity Center role, or over a role declared sessionNameSetBy "idp"', () => {
    const config = parseConfig(example, 'example');
    expect(config.engineers.map((person) => person.principal)).toEqual([
      'arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_SupportEngineer_0123456789abcdef/*',
      'arn:aws:sts::111111111111:assumed-role/SupportEngineerSaml/*',
    ]);
    expect(config.engineers[1].sessionNameSetBy).toBe('idp');
    expect(refusal(withChange((c) => (c.engineers = [{ principal: FREE, sessionNameSetBy: 'user' }])))).toContain(
      'engineers[0].sessionNameSetBy: must be "idp"',
    );
  });

  it('flags loudly, but accepts, an exact session of a role whose session names are free', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'lockbox-config-'));
    const exact = withChange((c) =>
      c.engineers.push({ principal: 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/erin', email: 'erin@provider.example' }),
    );
    writeFileSync(join(cwd, 'lockbox.config.json'), JSON.stringify(exact));
    const warnings: string[] = [];
    loadConfig(() => undefined, { cwd, warn: (message) => warnings.push(message) });
    expect(warnings).toEqual([
      'Lockbox configuration from lockbox.config.json: arn:aws:sts::111111111111:assumed-role/SupportEngineer/erin: its session name is chosen by whoever assumes the role; ' +
        'anyone who may assume it can act as erin@provider.example (use an IAM Identity Center role, or set sessionNameSetBy: "idp" when your identity provider sets session names)',
    ]);
  });

  it.each([
    [
      'an approver principal of the provider account',
      (c: any) => (c.tenants[0].approvers[0].principal = 'arn:aws:iam::111111111111:user/eve'),
      "tenants[0].approvers[0].principal: arn:aws:iam::111111111111:user/eve is in the provider's account 111111111111",
    ],
    [
      'an approver email of a provider manager',
      (c: any) => (c.tenants[0].approvers[0].email = 'Mallory@provider.example'),
      'tenants[0].approvers[0].email: Mallory@provider.example is a person of the provider',
    ],
    [
      'an admin outside the customer accounts',
      (c: any) => (c.tenants[0].admins = ['arn:aws:iam::333333333333:user/bob']),
      "tenants[0].admins[0]: arn:aws:iam::333333333333:user/bob is not in the tenant's own account (222222222222)",
    ],
    [
      'an auditor who is a provider manager',
      (c: any) => (c.tenants[0].auditors = [c.managers[0].principal]),
      "tenants[0].auditors[0]: arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_SupportManager_fedcba9876543210/mallory@provider.example is a principal of the provider's directory",
    ],
    [
      'a customer account that is the provider account',
      (c: any) => (
        (c.tenants[0].customerAccounts = ['111111111111']), (c.tenants[0].approvers[0].principal = 'arn:aws:iam::111111111111:user/eve')
      ),
      "tenants[0].approvers[0].principal: arn:aws:iam::111111111111:user/eve is in the provider's account",
    ],
  ])('refuses %s as customer-side (T-5.10), naming the field', (_case, change, message) => {
    expect(refusal(withChange(change))).toContain(message);
  });
});

describe('configuration sources', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'lockbox-config-'));
  const exampleText = JSON.stringify(example);

  it('falls back to the example file, and says so, when lockbox.config.json is absent', () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'lockbox.config.example.json'), exampleText);
    const warnings: string[] = [];
    const { source } = loadConfig(() => undefined, { cwd, warn: (message) => warnings.push(message) });
    expect(source).toBe('lockbox.config.example.json');
    expect(warnings.join()).toContain('lockbox.config.json not found, synthesizing with lockbox.config.example.json');
  });

  it('uses lockbox.config.json when it exists', () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'lockbox.config.example.json'), exampleText);
    writeFileSync(join(cwd, 'lockbox.config.json'), JSON.stringify({ ...example, providerAccount: '111111111111', linkKeyIds: ['k2'] }));
    const { config, source } = loadConfig(() => undefined, { cwd, warn: () => undefined });
    expect(source).toBe('lockbox.config.json');
    expect(config.linkKeyIds).toEqual(['k2']);
  });

  it('prefers configuration given inline as context (JSON text from -c)', () => {
    const context = (key: string) => (key === CONTEXT.config ? JSON.stringify({ ...example, linkKeyIds: ['k3'] }) : undefined);
    const { config, source } = loadConfig(context, { cwd: dir() });
    expect(source).toBe(`context ${CONTEXT.config}`);
    expect(config.linkKeyIds).toEqual(['k3']);
  });

  it('names the file whose JSON is broken', () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'mine.json'), '{ "providerAccount": ');
    expect(() => loadConfig((key) => (key === CONTEXT.configFile ? 'mine.json' : undefined), { cwd })).toThrow(
      /Lockbox configuration from mine\.json is not valid JSON/,
    );
  });

  it('fails with a clear message when neither file exists', () => {
    expect(() => loadConfig(() => undefined, { cwd: dir() })).toThrow(
      'Lockbox configuration: neither lockbox.config.json nor lockbox.config.example.json exists',
    );
  });
});
