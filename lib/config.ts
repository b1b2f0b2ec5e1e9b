import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../lambdas/core/domain/duration';
import { customerSideProblems, directoryProblems, directoryWarnings, providerSide } from '../lambdas/core/domain/principals';
import type { LockboxConfig, LockboxProps } from './lockbox-props';
import { DEFAULTS, LOG_RETENTION_DAYS } from './lockbox-props';

/**
 * The deployment's configuration: read from CDK context or a JSON file, validated with zod at
 * synth time. A wrong or missing value stops the synth with a message that names the key.
 * No aws-cdk-lib import here, so the validation tests stay fast.
 */

/** Context keys (cdk.json, `-c key=value`). */
export const CONTEXT = {
  /** The whole configuration inline (object, or JSON text from `-c`); wins over the files. */
  config: 'lockbox:config',
  /** The configuration file. */
  configFile: 'lockbox:configFile',
  /** Used when the configuration file does not exist, so a clean clone synthesizes. */
  exampleFile: 'lockbox:exampleConfigFile',
  stackName: 'lockbox:stackName',
} as const;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const PRINCIPAL_SHAPE =
  /^arn:aws[a-z-]*:(iam::\d{12}:(user|role)\/[\w+=,.@/-]+\*?|sts::\d{12}:assumed-role\/[\w+=,.@-]+\/([\w+=,.@-]+\*?|\*))$/;
const PRINCIPAL_MESSAGE =
  'must be an IAM user or role ARN, or an STS assumed-role session ARN (arn:aws:sts::<account>:assumed-role/<role>/<session>)';

const principal = z.string().regex(PRINCIPAL_SHAPE, PRINCIPAL_MESSAGE);
/** Managers, approvers, admins and auditors are matched exactly by the handlers: no wildcard. */
const exactPrincipal = principal.refine((arn) => !arn.endsWith('*'), 'must be an exact principal ARN: only engineers may end in *');
const email = z.email('must be an email address');
const duration = z.string().refine((text) => parseDuration(text) !== undefined, 'must be an ISO-8601 duration such as PT2H or P1D');
const accountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');
const seconds = (max: number, why: string) =>
  z.number().int('must be a whole number of seconds').min(1, 'must be at least 1').max(max, `must be at most ${max} (${why})`);

const tenantSchema = z.strictObject({
  tenantId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes (at most 63)'),
  displayName: z.string().trim().min(1, 'must not be empty').max(200),
  lockboxEnabled: z.boolean().optional(),
  approvers: z
    .array(z.strictObject({ email, principal: exactPrincipal.optional() }))
    .min(1, 'needs at least one approver')
    .max(50),
  admins: z.array(exactPrincipal).min(1, 'needs at least one admin').max(50),
  auditors: z.array(exactPrincipal).max(50).optional(),
  maxAccessDuration: duration.optional(),
  approvalTimeout: duration.optional(),
  accessLevels: z
    .record(
      z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'access level names are letters, digits and dashes'),
      z.strictObject({
        description: z.string().max(500).optional(),
        managedPolicyArns: z
          .array(z.string().regex(/^arn:aws[a-z-]*:iam::(aws|\d{12}):policy\/.+$/, 'must be an IAM managed policy ARN'))
          .max(10)
          .optional(),
      }),
    )
    .refine((levels) => Object.keys(levels).length > 0, 'needs at least one access level'),
  accessTarget: z
    .strictObject({
      accountId: accountId.optional(),
      externalId: z
        .string()
        .regex(/^[\w+=,.@:/-]{2,1224}$/, 'must be 2-1224 characters of [\\w+=,.@:/-]')
        .optional(),
    })
    .optional(),
  customerAccounts: z.array(accountId).min(1).max(20).optional(),
});
const sessionNameSetBy = z.enum(['idp'], 'must be "idp" (the identity provider sets the session name), or left out').optional();

const configSchema = z
  .strictObject({
    providerAccount: accountId,
    engineers: z.array(z.strictObject({ principal, email: email.optional(), sessionNameSetBy })).min(1, 'needs at least one engineer'),
    managers: z.array(z.strictObject({ principal: exactPrincipal, email, sessionNameSetBy })).min(1, 'needs at least one manager'),
    admins: z
      .array(z.strictObject({ principal: exactPrincipal, email: email.optional() }))
      .max(20)
      .optional(),
    email: z.strictObject({
      sender: email,
      identity: z
        .string()
        .regex(/^([^@\s]+@)?[a-z0-9-]+(\.[a-z0-9-]+)+$/i, 'must be the verified SES identity: an email address or a domain')
        .optional(),
      createIdentity: z.boolean().optional(),
    }),
    tenants: z.array(tenantSchema).optional(),
    durations: z.strictObject({ floor: duration.optional(), cap: duration.optional() }).optional(),
    approvalTimeouts: z.strictObject({ manager: duration.optional(), customer: duration.optional() }).optional(),
    alarms: z
      .strictObject({
        email: email.optional(),
        topicArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/, 'must be an SNS topic ARN')
          .optional(),
      })
      .optional(),
    accessProvider: z.enum(['iam'], 'must be "iam": the only access provider that runs on AWS').optional(),
    linkBaseUrl: z.url({ protocol: /^https$/, message: 'must be an https URL' }).optional(),
    linkKeyIds: z
      .array(z.string().regex(/^[a-z0-9]{1,8}$/, 'must be 1-8 lower-case letters or digits'))
      .min(1, 'needs at least one key id')
      .max(3)
      .refine((ids) => new Set(ids).size === ids.length, 'must not repeat a key id')
      .optional(),
    apiPrincipals: z.array(principal).max(50).optional(),
    webAclArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:regional\/webacl\/.+$/, 'must be a regional WAFv2 web ACL ARN')
      .optional(),
    targetAccounts: z
      .array(accountId)
      .max(50)
      .refine((ids) => new Set(ids).size === ids.length, 'must not repeat an account')
      .optional(),
    prefix: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, 'must start with a letter and be at most 64 letters, digits and dashes')
      .optional(),
    apiGatewayCloudWatchRole: z.boolean().optional(),
    logRetentionDays: z
      .number()
      .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), `must be one of ${LOG_RETENTION_DAYS.join(', ')}`)
      .optional(),
    memorySize: z
      .number()
      .int('must be a whole number of MB')
      .min(128, 'must be at least 128')
      .max(10240, 'must be at most 10240')
      .optional(),
    timeouts: z
      .strictObject({
        api: seconds(DEFAULTS.timeouts.api, 'API Gateway waits at most 29 s').optional(),
        workflow: seconds(900, 'the Lambda limit').optional(),
        reconciler: seconds(DEFAULTS.reconcilerTimeoutLimit, 'it runs every 5 minutes').optional(),
      })
      .optional(),
    removalPolicy: z.enum(['retain', 'destroy'], 'must be "retain" or "destroy"').optional(),
    tags: z
      .record(
        z.string().regex(/^[\w .:/=+@-]{1,128}$/, 'tag keys are 1-128 letters, digits, spaces and _.:/=+-@'),
        z.string().max(256, 'must be at most 256 characters'),
      )
      .optional(),
  })
  .superRefine((config, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const ms = (text: string) => parseDuration(text) ?? 0;

    // The API's resource policy and the directory name the provider's own people.
    const foreign = (arn: string) => arn.split(':')[4] !== config.providerAccount;
    config.engineers.forEach((person, i) => {
      if (foreign(person.principal))
        issue(['engineers', i, 'principal'], `must be a principal of providerAccount ${config.providerAccount}`);
    });
    config.managers.forEach((person, i) => {
      if (foreign(person.principal))
        issue(['managers', i, 'principal'], `must be a principal of providerAccount ${config.providerAccount}`);
    });

    // Separation of duties is between people (docs/design.md §3a): a pattern must be able to name them.
    for (const problem of directoryProblems(config)) issue(problem.path, problem.message);

    const identity = config.email.identity;
    if (identity && identity.includes('@') && identity.toLowerCase() !== config.email.sender.toLowerCase()) {
      issue(['email', 'identity'], 'an email identity must be the sender itself; use the domain to authorize other addresses');
    }
    if (identity && !identity.includes('@') && !config.email.sender.toLowerCase().endsWith(`@${identity.toLowerCase()}`)) {
      issue(['email', 'sender'], `must be an address of the identity's domain ${identity}`);
    }

    const floor = config.durations?.floor ?? DEFAULTS.durationFloor;
    const cap = config.durations?.cap ?? DEFAULTS.durationCap;
    if (ms(floor) <= 0) issue(['durations', 'floor'], 'must be longer than zero');
    if (ms(floor) > ms(cap)) issue(['durations', 'floor'], `must not be longer than durations.cap (${cap})`);
    if (ms(cap) > ms(DEFAULTS.durationLimit)) issue(['durations', 'cap'], `must be at most ${DEFAULTS.durationLimit}`);
    const timeouts = { manager: config.approvalTimeouts?.manager, customer: config.approvalTimeouts?.customer };
    for (const [stage, value] of Object.entries(timeouts)) {
      if (value !== undefined && (ms(value) < 60_000 || ms(value) > ms(DEFAULTS.approvalTimeoutLimit))) {
        issue(['approvalTimeouts', stage], `must be between PT1M and ${DEFAULTS.approvalTimeoutLimit}`);
      }
    }

    const seen = new Set<string>();
    (config.tenants ?? []).forEach((tenant, i) => {
      if (seen.has(tenant.tenantId)) issue(['tenants', i, 'tenantId'], `repeats tenant ${tenant.tenantId}`);
      seen.add(tenant.tenantId);
      if (tenant.maxAccessDuration && (ms(tenant.maxAccessDuration) < ms(floor) || ms(tenant.maxAccessDuration) > ms(cap))) {
        issue(['tenants', i, 'maxAccessDuration'], `must be between durations.floor (${floor}) and durations.cap (${cap})`);
      }
      // The customer's approvers, admins and auditors are the customer's own, never the provider's (T-5.10).
      for (const problem of customerSideProblems(tenant, providerSide(config, [config.providerAccount])))
        issue(['tenants', i, ...problem.path], problem.message);
      if (
        tenant.approvalTimeout &&
        (ms(tenant.approvalTimeout) < 60_000 || ms(tenant.approvalTimeout) > ms(DEFAULTS.approvalTimeoutLimit))
      ) {
        issue(['tenants', i, 'approvalTimeout'], `must be between PT1M and ${DEFAULTS.approvalTimeoutLimit}`);
      }
    });

    // The directory travels in one Lambda environment variable; Lambda allows 4 KB for all of them.
    const size = Buffer.byteLength(JSON.stringify({ engineers: config.engineers, managers: config.managers, admins: config.admins }));
    if (size > DEFAULTS.directoryMaxBytes) {
      issue(
        ['engineers'],
        `with managers makes a directory of ${size} bytes; at most ${DEFAULTS.directoryMaxBytes} fit (use a pattern ending in * over an IAM Identity Center role, or a role whose session names your IdP sets, for engineers)`,
      );
    }
  });

/** `managers[0].email` */
const keyOf = (path: PropertyKey[]) =>
  path.reduce<string>((key, part) => (typeof part === 'number' ? `${key}[${part}]` : key ? `${key}.${String(part)}` : String(part)), '');

/** Validates a configuration object; throws a ConfigError listing every problem by key. */
export function parseConfig(raw: unknown, source: string): LockboxConfig {
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (result.success) return result.data;
  throw new ConfigError(`Lockbox configuration from ${source} is not valid:\n${describe(result.error.issues)}`);
}

/** The props of the `Lockbox` construct that are objects of a CDK app, not configuration. */
const CDK_ONLY_PROPS = ['encryptionKey', 'logEncryptionKey', 'alarmTopic', 'console'] as const;

/**
 * Validates the props of a `Lockbox` construct with the configuration file's schema, and refuses
 * conflicting props; throws a ConfigError naming each prop. A value that is a CDK token (known
 * only at deployment, `isToken`) is not judged by its shape.
 */
export function validateProps(props: LockboxProps, path: string, isToken: (value: unknown) => boolean): void {
  const config: Record<string, unknown> = { ...props };
  for (const key of CDK_ONLY_PROPS) delete config[key];
  const result = configSchema.safeParse(config, { reportInput: true });
  const issues = result.success ? [] : result.error.issues.filter((issue) => !('input' in issue && isToken(issue.input)));
  const conflicts = [
    props.alarmTopic && props.alarms?.topicArn ? '  - alarmTopic: give alarmTopic or alarms.topicArn, not both' : '',
  ].filter(Boolean);
  if (issues.length === 0 && conflicts.length === 0) return;
  const lines = [issues.length ? describe(issues) : '', ...conflicts].filter(Boolean);
  throw new ConfigError(`Lockbox props of ${path} are not valid:\n${lines.join('\n')}`);
}

/** One line per problem, each naming its key (`  - managers[0].email: must be an email address`). */
function describe(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const key = keyOf(issue.path);
      // An unknown key is reported on its parent; name the key itself.
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((name) => `  - ${key ? `${key}.` : ''}${name}: is not a known key`).join('\n');
      }
      const missing = issue.code === 'invalid_type' && issue.input === undefined;
      return `  - ${key || '(top level)'}: ${missing ? 'is required' : issue.message}`;
    })
    .join('\n');
}

/**
 * Finds the configuration: inline context `lockbox:config`, else the file `lockbox:configFile`
 * (default `lockbox.config.json`), else the example file (with a warning), so `cdk synth` works
 * on a clean clone.
 */
export function loadConfig(
  context: (key: string) => unknown,
  options: { cwd?: string; warn?: (message: string) => void } = {},
): { config: LockboxConfig; source: string } {
  const cwd = options.cwd ?? process.cwd();
  const warn = options.warn ?? ((message: string) => console.warn(message));

  const inline = context(CONTEXT.config);
  if (inline !== undefined) {
    const source = `context ${CONTEXT.config}`;
    return flagged({ config: parseConfig(typeof inline === 'string' ? parseJson(inline, source) : inline, source), source }, warn);
  }
  const file = String(context(CONTEXT.configFile) ?? 'lockbox.config.json');
  if (existsSync(resolve(cwd, file))) return flagged({ config: parseConfig(readJson(cwd, file), file), source: file }, warn);

  const example = String(context(CONTEXT.exampleFile) ?? 'lockbox.config.example.json');
  if (!existsSync(resolve(cwd, example))) {
    throw new ConfigError(`Lockbox configuration: neither ${file} nor ${example} exists (copy ${example} to ${file})`);
  }
  warn(`Lockbox: ${file} not found, synthesizing with ${example} (example values: copy it to ${file} and edit it before deploying).`);
  return flagged({ config: parseConfig(readJson(cwd, example), example), source: example }, warn);
}

/** Says loudly what is allowed but names a person only as far as the role's trust does. */
function flagged(found: { config: LockboxConfig; source: string }, warn: (message: string) => void) {
  for (const line of directoryWarnings(found.config)) warn(`Lockbox configuration from ${found.source}: ${line}`);
  return found;
}

function readJson(cwd: string, file: string): unknown {
  return parseJson(readFileSync(resolve(cwd, file), 'utf8'), file);
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError(`Lockbox configuration from ${source} is not valid JSON: ${(error as Error).message}`);
  }
}
