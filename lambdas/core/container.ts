import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { SESClient } from '@aws-sdk/client-ses';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EventBridgePublisher, FilePublisher } from './adapters/audit-publishers';
import { DynamoRefusalCounter } from './adapters/dynamo-refusals';
import { CachedTenantStore } from './adapters/cached-tenants';
import { DynamoAuditLog, DynamoRequestStore, DynamoTenantStore } from './adapters/dynamo-store';
import { IamAccessProvider } from './adapters/iam-access';
import { LocalAccessProvider } from './adapters/local-access';
import { SesMailer } from './adapters/ses-mailer';
import { SfnWorkflow } from './adapters/sfn-workflow';
import { kmsDerivedKey, KmsSigner, LocalSigner } from './adapters/signers';
import { config } from './config';
import { systemClock } from './domain/clock';
import { PageTokens } from './domain/page-token';
import type { AccessProvider, AuditPublisher } from './ports';
import type { Deps, Logger } from './usecases/deps';

/**
 * Wires the adapters from configuration. Each one is built on first use and then reused for the
 * life of the Lambda container, so a function builds only what it touches and needs only the
 * configuration (and IAM grants) of that. Endpoints come from the SDK's own
 * `AWS_ENDPOINT_URL_<SERVICE>` variables, which is how local mode points them at the emulators.
 */
const once = <T>(make: () => T): (() => T) => {
  let value: T | undefined;
  return () => (value ??= make());
};

const dynamo = once(() =>
  DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } }),
);

const publisher = once((): AuditPublisher => {
  switch (config.auditPublisher()) {
    case 'eventbridge':
      return new EventBridgePublisher(new EventBridgeClient({}), config.auditBusName());
    case 'file':
      return new FilePublisher(config.auditLogFile());
    case 'none':
      return { publish: async () => undefined };
  }
});

const auditLog = once(() => new DynamoAuditLog(dynamo(), config.tables(), publisher(), { settleMs: config.auditSettleMs() }));

const accessProvider = once((): AccessProvider => {
  if (config.accessProvider() === 'local') {
    return new LocalAccessProvider(dynamo(), config.grantsTable(), () => systemClock.now());
  }
  return new IamAccessProvider(new IAMClient({}), { boundaryArn: config.accessBoundaryArn, now: () => systemClock.now() });
});

/** The console's session signer: a KMS HMAC key of its own on AWS, a local key in local mode. */
export const sessionSigner = once(() =>
  config.consoleSessionSigner() === 'kms'
    ? new KmsSigner(new KMSClient({}), 'console-1', { 'console-1': config.consoleSessionKmsKey() })
    : new LocalSigner('console-1', { 'console-1': Buffer.from(config.consoleSessionLocalKey(), 'base64') }),
);

const signer = once(() =>
  config.linkSigner() === 'kms'
    ? new KmsSigner(new KMSClient({}), config.linkCurrentKey(), config.linkKmsKeys())
    : new LocalSigner(
        config.linkCurrentKey(),
        Object.fromEntries(Object.entries(config.linkLocalKeys()).map(([kid, secret]) => [kid, Buffer.from(secret, 'base64')])),
      ),
);

/** The API's paging tokens (the handlers seal and open them: see http/api.ts `paged`). */
export const pageTokens = new PageTokens(async () => {
  const key = config.pageTokenKey();
  return key.kind === 'local' ? key.secret : kmsDerivedKey(new KMSClient({}), key.keyId);
});

export const log: Logger = {
  info: (message, data) => console.log(JSON.stringify({ level: 'info', message, ...data })),
  warn: (message, data) => console.warn(JSON.stringify({ level: 'warn', message, ...data })),
  error: (message, data) => console.error(JSON.stringify({ level: 'error', message, ...data })),
};

/** How long a process trusts the tenant settings it read (an approver removed can still decide this long). */
const TENANT_CACHE_MS = 5_000;

/** The dependencies of the use cases, each built lazily on first access. */
export const deps: Deps = Object.defineProperties({} as Deps, {
  clock: { value: systemClock },
  log: { value: log },
  requests: { get: once(() => new DynamoRequestStore(dynamo(), config.tables(), auditLog())) },
  tenants: { get: once(() => new CachedTenantStore(new DynamoTenantStore(dynamo(), config.tables(), auditLog()), TENANT_CACHE_MS)) },
  audit: { get: auditLog },
  mailer: { get: once(() => new SesMailer(new SESClient({}), config.senderEmail())) },
  workflow: { get: once(() => new SfnWorkflow(new SFNClient({}), config.stateMachineArn)) },
  access: { get: accessProvider },
  signer: { get: signer },
  refusals: { get: once(() => new DynamoRefusalCounter(dynamo(), config.tables().requests)) },
  directory: { get: config.directory },
  policy: { get: config.policy },
});
