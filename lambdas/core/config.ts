import { DEFAULT_AUDIT_SETTLE_MS } from './domain/audit';
import { isDuration } from './domain/duration';
import { POLICY_DEFAULTS } from './domain/policy';
import { directoryProblems, pathText } from './domain/principals';
import * as z from './zod';

/**
 * Configuration from the environment, read once per variable, on first use, and validated: a
 * Lambda is given only the variables of the resources it was granted (see lib/), so a missing
 * variable means a wiring mistake and fails loudly at the first invocation that needs it.
 */
const cache = new Map<string, unknown>();

function read<T>(name: string, schema: z.ZodMiniType<T>, fallback?: string): T {
  if (cache.has(name)) return cache.get(name) as T;
  const raw = process.env[name] ?? fallback;
  if (raw === undefined) throw new Error(`Configuration: environment variable ${name} is not set`);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`Configuration: ${name} is not valid: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
  }
  cache.set(name, parsed.data);
  return parsed.data;
}

const text = z.string().check(z.minLength(1));
const duration = z.string().check(z.refine(isDuration, 'must be an ISO-8601 duration such as PT2H'));
const json = <T>(schema: z.ZodMiniType<T>) =>
  z.pipe(
    z.pipe(
      z.string(),
      z.transform((raw: string, ctx) => {
        try {
          return JSON.parse(raw) as unknown;
        } catch {
          ctx.issues.push({ code: 'custom', message: 'must be JSON', input: raw });
          return z.NEVER;
        }
      }),
    ),
    schema,
  );

const sessionNameSetBy = z.optional(z.literal('idp'));
/** A directory that cannot name people (docs/design.md §3a) fails the first invocation that reads it. */
const directorySchema = z
  .object({
    engineers: z.array(z.object({ principal: text, email: z.optional(z.email()), sessionNameSetBy })),
    managers: z.array(z.object({ principal: text, email: z.email(), sessionNameSetBy })),
    admins: z.optional(z.array(z.object({ principal: text, email: z.optional(z.email()) }))),
  })
  .check(
    z.superRefine((directory, ctx) => {
      for (const problem of directoryProblems(directory))
        ctx.addIssue({ code: 'custom', path: problem.path, message: `${pathText(problem.path)} ${problem.message}` });
    }),
  );

/** Variable names, shared with the CDK constructs and local mode so they cannot drift apart. */
export const ENV = {
  requestsTable: 'REQUESTS_TABLE',
  tenantsTable: 'TENANTS_TABLE',
  auditTable: 'AUDIT_TABLE',
  grantsTable: 'GRANTS_TABLE',
  stateMachineArn: 'STATE_MACHINE_ARN',
  senderEmail: 'SENDER_EMAIL',
  directory: 'LOCKBOX_DIRECTORY',
  durationFloor: 'DURATION_FLOOR',
  durationCap: 'DURATION_CAP',
  managerApprovalTimeout: 'MANAGER_APPROVAL_TIMEOUT',
  linkBaseUrl: 'LINK_BASE_URL',
  linkSigner: 'LINK_SIGNER',
  linkCurrentKey: 'LINK_CURRENT_KEY',
  linkKmsKeys: 'LINK_KMS_KEYS',
  linkLocalKeys: 'LINK_LOCAL_KEYS',
  accessProvider: 'ACCESS_PROVIDER',
  accessBoundaryArn: 'ACCESS_BOUNDARY_ARN',
  accessTargets: 'ACCESS_TARGETS',
  auditPublisher: 'AUDIT_PUBLISHER',
  auditBusName: 'AUDIT_BUS_NAME',
  auditLogFile: 'AUDIT_LOG_FILE',
  pageTokenKey: 'PAGE_TOKEN_KEY',
  auditSettleSeconds: 'AUDIT_SETTLE_SECONDS',
  consoleBaseUrl: 'CONSOLE_BASE_URL',
  consoleIssuer: 'CONSOLE_ISSUER',
  consoleClientId: 'CONSOLE_CLIENT_ID',
  consoleClientSecret: 'CONSOLE_CLIENT_SECRET',
  consoleClientSecretArn: 'CONSOLE_CLIENT_SECRET_ARN',
  consoleGroupsClaim: 'CONSOLE_GROUPS_CLAIM',
  consoleLogoutUrl: 'CONSOLE_LOGOUT_URL',
  consoleSessionSigner: 'CONSOLE_SESSION_SIGNER',
  consoleSessionKmsKey: 'CONSOLE_SESSION_KMS_KEY',
  consoleSessionLocalKey: 'CONSOLE_SESSION_LOCAL_KEY',
  consoleIdleTimeout: 'CONSOLE_IDLE_TIMEOUT',
  consoleAbsoluteTimeout: 'CONSOLE_ABSOLUTE_TIMEOUT',
  digestSigner: 'DIGEST_SIGNER',
  digestKmsKey: 'DIGEST_KMS_KEY',
  digestLocalKey: 'DIGEST_LOCAL_KEY',
} as const;

export const config = {
  tables: () => ({
    requests: read(ENV.requestsTable, text),
    tenants: read(ENV.tenantsTable, text),
    audit: read(ENV.auditTable, text),
  }),
  grantsTable: () => read(ENV.grantsTable, text),
  stateMachineArn: () => read(ENV.stateMachineArn, text),
  senderEmail: () => read(ENV.senderEmail, z.email()),
  directory: () => read(ENV.directory, json(directorySchema)),
  /** Each rule is read when first used: a function that never builds links needs no LINK_BASE_URL. */
  policy: () => ({
    get durationFloor() {
      return read(ENV.durationFloor, duration, POLICY_DEFAULTS.durationFloor);
    },
    get durationCap() {
      return read(ENV.durationCap, duration, POLICY_DEFAULTS.durationCap);
    },
    get managerApprovalTimeout() {
      return read(ENV.managerApprovalTimeout, duration, POLICY_DEFAULTS.managerApprovalTimeout);
    },
    get linkBaseUrl() {
      return read(
        ENV.linkBaseUrl,
        z.pipe(
          z.url(),
          z.transform((url) => url.replace(/\/+$/, '')),
        ),
      );
    },
  }),
  linkSigner: () => read(ENV.linkSigner, z.enum(['kms', 'local'])),
  linkCurrentKey: () => read(ENV.linkCurrentKey, text),
  /** `{"<kid>": "<KMS key id or ARN>"}` */
  linkKmsKeys: () => read(ENV.linkKmsKeys, json(z.record(z.string(), text))),
  /** `{"<kid>": "<base64 secret of at least 32 bytes>"}` — local mode only. */
  linkLocalKeys: () => read(ENV.linkLocalKeys, json(z.record(z.string(), text))),
  accessProvider: () => read(ENV.accessProvider, z.enum(['local', 'iam'])),
  /** The permissions boundary every `iam` access role carries. */
  /** `{"<account id>": "<LockboxTarget role ARN>"}`: member accounts the iam provider works in. */
  accessTargets: () =>
    read(
      ENV.accessTargets,
      json(z.record(z.string().check(z.regex(/^\d{12}$/)), z.string().check(z.regex(/^arn:[\w-]+:iam::\d{12}:role\/\S+$/)))),
      '{}',
    ),
  accessBoundaryArn: () =>
    read(ENV.accessBoundaryArn, z.string().check(z.regex(/^arn:[\w-]+:iam::\d{12}:policy\/\S+$/, 'must be an IAM policy ARN'))),
  /** Where the export-audit function sends the Audit table's new events. */
  auditPublisher: () => read(ENV.auditPublisher, z.enum(['eventbridge', 'file'])),
  auditBusName: () => read(ENV.auditBusName, text),
  auditLogFile: () => read(ENV.auditLogFile, text),
  /** `kms:<KMS HMAC key id or ARN>` on AWS; `local:<base64 secret of at least 32 bytes>` in local mode. */
  pageTokenKey: () =>
    read(
      ENV.pageTokenKey,
      z.union([
        z.pipe(
          z.string().check(z.regex(/^kms:\S+$/)),
          z.transform((value) => ({ kind: 'kms' as const, keyId: value.slice(4) })),
        ),
        z.pipe(
          z.string().check(z.regex(/^local:[A-Za-z0-9+/]{43,}={0,2}$/)),
          z.transform((value) => ({ kind: 'local' as const, secret: Buffer.from(value.slice(6), 'base64') })),
        ),
      ]),
    ),
  digestSigner: () => read(ENV.digestSigner, z.enum(['kms', 'local'])),
  /** ARN of the ECC_NIST_P256 SIGN_VERIFY key (sealer: Sign; API: GetPublicKey). */
  digestKmsKey: () => read(ENV.digestKmsKey, text),
  /** PKCS#8 PEM of a P-256 private key — local mode only. */
  digestLocalKey: () => read(ENV.digestLocalKey, text),
  /** The audit listing's settle window (see DEFAULT_AUDIT_SETTLE_MS); local mode shortens it. */
  auditSettleMs: () =>
    read(ENV.auditSettleSeconds, z.coerce.number().check(z.positive(), z.maximum(3600)), String(DEFAULT_AUDIT_SETTLE_MS / 1000)) * 1000,
  /** The console (`/console/…`): where it is served, its OIDC client, its session key and timeouts. */
  console: () => ({
    /** The API's public base URL (e.g. `https://…/v1`); the callback is `${baseUrl}/console/callback`. */
    baseUrl: read(
      ENV.consoleBaseUrl,
      z.pipe(
        z.url(),
        z.transform((url) => url.replace(/\/+$/, '')),
      ),
    ),
    issuer: read(ENV.consoleIssuer, z.url()),
    clientId: read(ENV.consoleClientId, text),
    /** Where the issuer needs a confidential client: its secret's ARN in Secrets Manager (AWS)… */
    clientSecretArn: process.env[ENV.consoleClientSecretArn] || undefined,
    /** …or the secret itself, for local runs and tests only (never set on AWS). */
    clientSecret: process.env[ENV.consoleClientSecret] || undefined,
    groupsClaim: read(ENV.consoleGroupsClaim, text, 'groups'),
    /** Cognito's `/logout` of its hosted domain (its discovery publishes no end-session endpoint). */
    logoutUrl: process.env[ENV.consoleLogoutUrl] || undefined,
    idleTimeout: read(ENV.consoleIdleTimeout, duration, 'PT15M'),
    absoluteTimeout: read(ENV.consoleAbsoluteTimeout, duration, 'PT8H'),
  }),
  consoleSessionSigner: () => read(ENV.consoleSessionSigner, z.enum(['kms', 'local'])),
  /** KMS HMAC_256 key (id or ARN) that signs console sessions. */
  consoleSessionKmsKey: () => read(ENV.consoleSessionKmsKey, text),
  /** base64 secret of at least 32 bytes — local mode only. */
  consoleSessionLocalKey: () => read(ENV.consoleSessionLocalKey, text),
};

/** For tests: forget what was read. */
export const resetConfig = () => cache.clear();
