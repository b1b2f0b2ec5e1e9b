import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { ENV } from '../lambdas/core/config';
import { type Directory, directoryProblems, directoryWarnings, pathText } from '../lambdas/core/domain/principals';
import { POWERTOOLS_ENV } from '../lambdas/core/telemetry';
import { STATE_MACHINE_FILE, WORKFLOW_FUNCTIONS } from '../lambdas/core/workflow-definition';
import { adminPages } from './admin';
import { startAuditStream } from './audit-stream';
import { bundleHandlers } from './bundle';
import { Capacity } from './capacity';
import { ensureTables, startDynamoDbLocal } from './dynamodb';
import { functionArn, type Invoke, type LocalFunctionInfo, loadFunctions } from './functions';
import { LocalGateway } from './gateway';
import { installReadableLogs } from './log-format';
import { LOCAL_ACCOUNT, LOCAL_CREDENTIALS, LOCAL_REGION } from './net';
import { resumeInFlight } from './resume';
import { type Deployment, deployment } from './schema';
import { DIRECTORY, seed } from './seed';
import { startSes } from './ses';
import { LocalStepFunctions } from './stepfunctions';
import { GRANTS_TABLE, LOCAL_TABLE_NAMES } from './tables';

/**
 * Local mode: the whole of Lockbox on one machine — the same bundled handlers and the same state
 * machine file as on AWS, on DynamoDB Local, aws-local-stepfunctions (behind a local Step
 * Functions endpoint) and aws-ses-v2-local, behind a local API Gateway.
 *
 * The handlers run in this process and read their configuration from `process.env`, so one
 * process holds one local mode at a time.
 */
/** User agent of local mode's own SDK clients (not the handlers'). */
export const LOCAL_ADMIN_AGENT = 'lockbox-local-admin';

export interface LocalOptions {
  /** Port of the gateway on 127.0.0.1. @default 3000; 0 = any free port */
  port?: number;
  /** Keep data in this directory between runs. @default - in memory, gone on stop */
  data?: string;
  /** How long managers have to decide. @default $MANAGER_APPROVAL_TIMEOUT or PT10M */
  managerApprovalTimeout?: string;
  /** The deployment's longest access duration. @default $DURATION_CAP or PT4H */
  durationCap?: string;
  /** How often the reconciler runs. @default 60 */
  reconcileEverySeconds?: number;
  /** How often every tenant gets a signed digest (5 minutes on AWS). @default 5 */
  digestEverySeconds?: number;
  /** Faults to inject into the workflow's revoke step (tests only; see `LocalFaults`). @default none */
  faults?: LocalFaults;
  /** The console's idle timeout. @default $CONSOLE_IDLE_TIMEOUT or PT15M */
  consoleIdleTimeout?: string;
  /** The console's absolute session timeout. @default $CONSOLE_ABSOLUTE_TIMEOUT or PT8H */
  consoleAbsoluteTimeout?: string;
  /** One line per API call; none when absent. */
  log?: (line: string) => void;
  /** Invocations running at once above which a create waits its turn (capacity.ts). @default 32 */
  capacity?: number;
}

/**
 * Faults injected into the workflow's "Revoke access" step, so tests can show that a grant still
 * ends when revoking goes wrong. LOCAL MODE ONLY: the wrapper sits between the local Step Functions
 * runner and the bundled revoke handler; nothing like it exists in the deployed code.
 */
export interface LocalFaults {
  /** The step fails this many times per request (error `InjectedFault`) before it runs; the state machine retries it. */
  failRevokeTimes?: number;
  /** The step does nothing and reports the request still ACTIVE, as if it never ran: only the reconciler can end the grant. */
  skipWorkflowRevoke?: boolean;
}

/** `LOCKBOX_LOCAL_FAULTS` as JSON, e.g. `{"failRevokeTimes":3}`; refuses anything else. */
export function parseFaults(text: string | undefined): LocalFaults | undefined {
  if (!text) return undefined;
  const parsed = JSON.parse(text) as Record<string, unknown>;
  const unknown = Object.keys(parsed).filter((key) => key !== 'failRevokeTimes' && key !== 'skipWorkflowRevoke');
  const times = parsed.failRevokeTimes;
  if (
    unknown.length ||
    (times !== undefined && !(Number.isInteger(times) && (times as number) >= 0)) ||
    !['undefined', 'boolean'].includes(typeof parsed.skipWorkflowRevoke)
  ) {
    throw new Error(`Not a fault of local mode: ${text} (known: {"failRevokeTimes": <n>, "skipWorkflowRevoke": true})`);
  }
  return parsed as LocalFaults;
}

export interface LocalMode {
  /** Base URL of the gateway, e.g. http://localhost:3000 */
  url: string;
  /** The local OpenID Provider the console signs in with. */
  issuer: string;
  /** DynamoDB Local's endpoint (to inspect the tables, or to tamper with them in tests). */
  dynamoEndpoint: string;
  /** Where data lives: a directory, or undefined when in memory. */
  dataDir?: string;
  /** Milliseconds each start-up phase took (and `total`). */
  timings: Record<string, number>;
  /** Requests found in flight in the data directory and picked up again. */
  resumed: string[];
  /** Where local mode and the deployment differ in a way it cannot stand in for (printed at start). */
  warnings: string[];
  stop(): Promise<void>;
}

const STATE_MACHINE_ARN = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:LockboxAccessRequest`;
const ROOT = resolve(__dirname, '..');
let running = false;

export async function startLocal(options: LocalOptions = {}): Promise<LocalMode> {
  if (running) throw new Error('Local mode is already running in this process (the handlers share process.env)');
  assertNamesPeople(DIRECTORY);
  running = true;
  const started = Date.now();
  const timings: Record<string, number> = {};
  const phase = async <T>(name: string, work: Promise<T>): Promise<T> => {
    const value = await work;
    timings[name] = Date.now() - started;
    return value;
  };
  // Stopping: the gateway first (no new calls), then everything else in reverse order of start.
  let closeGateway = async () => undefined as unknown;
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanUp = async () => {
    await closeGateway().catch(() => undefined);
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    running = false;
  };

  try {
    // The gateway first: a taken port fails at once, and port 0 gives the URL the links need.
    // New requests wait for capacity (at most 15 s, within API Gateway's 29 s); nothing else does.
    const capacity = new Capacity(options.capacity ?? 32, 15_000);
    const gateway = new LocalGateway({
      port: options.port ?? 3000,
      log: options.log,
      admit: async (resource, method) => (resource === '/requests' && method === 'POST' ? capacity.admit() : true),
    });
    const port = await gateway.listen();
    closeGateway = () => gateway.close();
    const url = `http://localhost:${port}`;

    const dataDir = options.data ? resolve(options.data) : undefined;
    const workDir = dataDir ?? (await mkdtemp(join(tmpdir(), 'lockbox-local-')));
    if (dataDir) await mkdir(dataDir, { recursive: true });
    else cleanups.push(() => rm(workDir, { recursive: true, force: true }));
    const auditLogFile = join(workDir, 'audit-events.jsonl');

    // Java takes longest: start it, and do everything else while it boots.
    const dynamo = await startDynamoDbLocal({ dataDir: dataDir && join(dataDir, 'dynamodb') });
    cleanups.push(() => dynamo.stop());

    // Function ARNs of the workflow steps; the functions themselves are loaded once env is set.
    const loaded: Record<string, LocalFunctionInfo> = {};
    const workflowFunctions = Object.fromEntries(
      Object.keys(WORKFLOW_FUNCTIONS).map((handler) => [
        functionArn(handler),
        withFaults(handler, (event: unknown) => loaded[handler]!.invoke(event), options.faults),
      ]),
    );
    const substitutions = Object.fromEntries(
      Object.entries(WORKFLOW_FUNCTIONS).map(([handler, placeholder]) => [placeholder, functionArn(handler)]),
    );

    const [bundles, deployed, ses, definitionText, oidc] = await Promise.all([
      phase('bundle', bundleHandlers(ROOT)),
      phase('schema', deployment(ROOT)),
      phase('ses', startSes()),
      readFile(join(ROOT, STATE_MACHINE_FILE), 'utf8'),
      // Loaded only here: oidc-provider is ESM-only, and importing local mode must not need it.
      phase(
        'oidc',
        import('./oidc').then(({ startOidc }) => startOidc({ consoleBaseUrl: url })),
      ),
    ]);
    cleanups.push(() => ses.stop());
    cleanups.push(() => oidc.stop());
    await fetch(`${ses.endpoint}/clear-store`, { method: 'POST' }); // one store per process

    const stepFunctions = new LocalStepFunctions({
      definitionText,
      substitutions,
      functions: workflowFunctions,
      stateMachineArn: STATE_MACHINE_ARN,
      roleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/lockbox-local-state-machine`,
    });
    const sfnEndpoint = await stepFunctions.listen();
    cleanups.push(() => stepFunctions.stop());

    // Every variable of docs/architecture.md, before any handler is loaded.
    const linkKey = randomBytes(32).toString('base64');
    const digestKey = await localDigestKey(dataDir);
    Object.assign(process.env, {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SFN: sfnEndpoint,
      AWS_ENDPOINT_URL_SES: ses.endpoint,
      [ENV.requestsTable]: LOCAL_TABLE_NAMES.Requests,
      [ENV.tenantsTable]: LOCAL_TABLE_NAMES.Tenants,
      [ENV.auditTable]: LOCAL_TABLE_NAMES.Audit,
      [ENV.grantsTable]: LOCAL_TABLE_NAMES.Grants,
      [ENV.stateMachineArn]: STATE_MACHINE_ARN,
      [ENV.senderEmail]: 'lockbox@provider.example',
      [ENV.directory]: JSON.stringify(DIRECTORY),
      [ENV.durationFloor]: 'PT1S',
      [ENV.durationCap]: options.durationCap ?? process.env[ENV.durationCap] ?? 'PT4H',
      [ENV.managerApprovalTimeout]: options.managerApprovalTimeout ?? process.env[ENV.managerApprovalTimeout] ?? 'PT10M',
      [ENV.linkBaseUrl]: url,
      [ENV.linkSigner]: 'local',
      [ENV.linkCurrentKey]: 'local-1',
      [ENV.linkLocalKeys]: JSON.stringify({ 'local-1': linkKey }),
      [ENV.accessProvider]: 'local',
      [ENV.auditPublisher]: 'file',
      [ENV.auditLogFile]: auditLogFile,
      // New on every start: a paging token of an earlier run is refused (400), as after a key change on AWS.
      [ENV.pageTokenKey]: `local:${randomBytes(32).toString('base64')}`,
      [ENV.auditSettleSeconds]: process.env[ENV.auditSettleSeconds] ?? String(LOCAL_AUDIT_SETTLE_SECONDS),
      [ENV.consoleBaseUrl]: url,
      [ENV.consoleIssuer]: oidc.issuer,
      [ENV.consoleClientId]: oidc.clientId,
      [ENV.consoleGroupsClaim]: 'groups',
      [ENV.consoleSessionSigner]: 'local',
      [ENV.consoleSessionLocalKey]: randomBytes(32).toString('base64'),
      // The tests shorten these to see a session time out.
      [ENV.consoleIdleTimeout]: options.consoleIdleTimeout ?? process.env[ENV.consoleIdleTimeout] ?? 'PT15M',
      [ENV.consoleAbsoluteTimeout]: options.consoleAbsoluteTimeout ?? process.env[ENV.consoleAbsoluteTimeout] ?? 'PT8H',
      // Powertools as deployed (service, namespace), in its dev mode: logs and metrics on the
      // console, printed compactly (log-format.ts); no X-Ray here.
      ...POWERTOOLS_ENV,
      POWERTOOLS_DEV: 'true',
      POWERTOOLS_METRICS_DISABLED: 'false',
      POWERTOOLS_TRACE_ENABLED: 'false',
      // The X-Ray SDK otherwise enables an async hook on import (cls-hooked), which runs on every
      // promise of the process for no trace at all: tracing is off here.
      AWS_XRAY_MANUAL_MODE: 'true',
      [ENV.digestSigner]: 'local',
      [ENV.digestLocalKey]: digestKey,
    });
    installReadableLogs();
    for (const name of [
      'AWS_SESSION_TOKEN',
      'AWS_PROFILE',
      'AWS_ENDPOINT_URL',
      ENV.linkKmsKeys,
      ENV.auditBusName,
      ENV.consoleSessionKmsKey,
      ENV.consoleClientSecret,
      ENV.digestKmsKey,
    ])
      delete process.env[name];

    const warnings = [...environmentDrift(deployed), ...faultWarnings(options.faults), ...directoryWarnings(DIRECTORY)];

    // Loaded while DynamoDB Local may still be booting: they touch nothing until invoked.
    process.setSourceMapsEnabled(true);
    Object.assign(
      loaded,
      loadFunctions(
        bundles.files,
        Object.fromEntries(Object.entries(deployed.functions).map(([handler, fn]) => [handler, fn.timeoutSeconds])),
        capacity,
      ),
    );
    cleanups.push(async () => {
      // A later start in this process must load fresh handlers (their clients hold old endpoints).
      for (const file of Object.values(bundles.files)) delete require.cache[file];
    });
    timings.load = Date.now() - started;

    await phase('dynamodb', dynamo.ready);
    await phase('tables', ensureTables(dynamo.client, [...deployed.tables, GRANTS_TABLE]));
    await seed(dynamo.client, LOCAL_TABLE_NAMES.Tenants);

    // The audit export: export-audit on the Audit table's stream, as its event source mapping runs it on AWS.
    const auditStream = await startAuditStream({
      dynamo: dynamo.client,
      endpoint: dynamo.endpoint,
      tableName: LOCAL_TABLE_NAMES.Audit,
      invoke: (event) => loaded['export-audit']!.invoke(event),
      checkpointFile: dataDir && join(dataDir, 'audit-stream-checkpoint.json'),
    });
    cleanups.push(() => auditStream.stop());

    // Local mode's own client (admin pages, resuming executions), named so the bench can leave it out.
    const sfn = new SFNClient({
      endpoint: sfnEndpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
      customUserAgent: LOCAL_ADMIN_AGENT,
    });
    cleanups.push(async () => sfn.destroy());
    gateway.pages = adminPages({
      url,
      outbox: () => ses.outbox(),
      dynamo: dynamo.client,
      grantsTable: LOCAL_TABLE_NAMES.Grants,
      auditLogFile,
      sfn,
      stateMachineArn: STATE_MACHINE_ARN,
      issuedTokens: () => stepFunctions.issuedTokens(),
    });
    gateway.functions = {
      'api-requests': (event: APIGatewayProxyEvent) => loaded['api-requests']!.invoke(event),
      'api-tenants': (event: APIGatewayProxyEvent) => loaded['api-tenants']!.invoke(event),
      'api-approvals': (event: APIGatewayProxyEvent) => loaded['api-approvals']!.invoke(event),
      console: (event: APIGatewayProxyEvent) => loaded.console!.invoke(event),
    };

    // The reconciler, on a timer as EventBridge Scheduler runs it on AWS (there every 5 minutes).
    const reconcileEvery = (options.reconcileEverySeconds ?? 60) * 1000;
    const reconciler = setInterval(() => {
      loaded.reconcile
        ?.invoke(scheduledEvent())
        .catch((error: unknown) => console.error(`local mode: the reconciler failed: ${String(error)}`));
    }, reconcileEvery);
    cleanups.push(async () => clearInterval(reconciler));

    // The digest sealer, seconds apart so a demo shows digests (on AWS every 5 minutes), and the
    // ledger's verification every 12th run (on AWS hourly). One run at a time.
    let sealing: Promise<unknown> | undefined;
    let runs = 0;
    const sealer = setInterval(
      () => {
        if (sealing) return;
        const verify = ++runs % 12 === 0;
        sealing = (loaded['seal-digests']?.invoke(verify ? { verify: true } : {}) ?? Promise.resolve())
          .catch((error: unknown) => console.error(`local mode: the digest sealer failed: ${String(error)}`))
          .finally(() => (sealing = undefined));
      },
      (options.digestEverySeconds ?? 5) * 1000,
    );
    cleanups.push(async () => {
      clearInterval(sealer);
      await sealing;
    });

    const resumed = dataDir
      ? await resumeInFlight({ dynamo: dynamo.client, sfn, stateMachineArn: STATE_MACHINE_ARN, functions: loaded })
      : { requests: [], stop: async () => undefined };
    cleanups.push(() => resumed.stop());

    // Ready when every part answers, each through the protocol its clients use.
    await phase(
      'health',
      Promise.all([
        fetch(`${ses.endpoint}/health-check`).then((response) => assertOk('SES', response.ok)),
        sfn.send(new ListExecutionsCommand({ stateMachineArn: STATE_MACHINE_ARN, maxResults: 1 })),
        fetch(`http://127.0.0.1:${port}/_local/health`).then((response) => assertOk('gateway', response.ok)),
      ]),
    );
    timings.total = Date.now() - started;

    let stopping: Promise<void> | undefined;
    return {
      url,
      issuer: oidc.issuer,
      dynamoEndpoint: dynamo.endpoint,
      dataDir,
      timings,
      resumed: resumed.requests,
      warnings,
      stop: () => (stopping ??= cleanUp()),
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

/**
 * The audit listing shows events this old (60 s on AWS), so that a demo or a test sees them
 * soon; writes then commit within half of it or not at all. `AUDIT_SETTLE_SECONDS` overrides.
 */
export const LOCAL_AUDIT_SETTLE_SECONDS = 4;

/**
 * Variables the deployment gives its functions that local mode replaces on purpose; any other
 * variable a deployed function gets must be set here too, or local mode no longer runs what is
 * deployed.
 */
const REPLACED_LOCALLY: Record<string, string> = {
  NODE_OPTIONS: 'source maps are enabled in process',
  [ENV.auditBusName]: `audit events go to ${ENV.auditLogFile} (${ENV.auditPublisher}=file)`,
  [ENV.linkKmsKeys]: `links are signed with ${ENV.linkLocalKeys} (${ENV.linkSigner}=local)`,
  [ENV.accessBoundaryArn]: `the local access provider grants nothing in IAM (${ENV.accessProvider}=local)`,
  [ENV.consoleSessionKmsKey]: `console sessions are signed with ${ENV.consoleSessionLocalKey} (${ENV.consoleSessionSigner}=local)`,
  [ENV.digestKmsKey]: `digests are signed with ${ENV.digestLocalKey} (${ENV.digestSigner}=local)`,
  [ENV.consoleLogoutUrl]: "sign-out uses the local OIDC provider's own end_session_endpoint (the variable is Cognito's /logout)",
};

/**
 * The local digest signing key (ECDSA P-256, PKCS#8 PEM): kept in the data directory so digests
 * of an earlier run still verify; new for every in-memory run.
 */
async function localDigestKey(dataDir: string | undefined): Promise<string> {
  const file = dataDir && join(dataDir, 'digest-signing-key.pem');
  if (file) {
    const existing = await readFile(file, 'utf8').catch(() => undefined);
    if (existing) return existing;
  }
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  if (file) await writeFile(file, pem, { mode: 0o600 });
  return pem;
}

function environmentDrift(deployed: Deployment): string[] {
  const warnings: string[] = [];
  for (const [handler, fn] of Object.entries(deployed.functions)) {
    const missing = fn.environment.filter((name) => !(name in REPLACED_LOCALLY) && process.env[name] === undefined);
    if (missing.length) warnings.push(`the deployed ${handler} function gets ${missing.join(', ')}, which local mode does not set`);
  }
  return warnings;
}

/** The error an injected revoke failure throws; the task fails with its name, as a Lambda error would. */
class InjectedFault extends Error {
  override name = 'InjectedFault';
}

/** Wraps the workflow's revoke function with the configured faults; every other function is left alone. */
function withFaults(handler: string, invoke: Invoke, faults: LocalFaults = {}): Invoke {
  if (handler !== 'revoke' || (!faults.failRevokeTimes && !faults.skipWorkflowRevoke)) return invoke;
  const failures = new Map<string, number>();
  return async (event) => {
    const { requestId } = event as { requestId: string };
    if (faults.skipWorkflowRevoke) return { status: 'ACTIVE' };
    const failed = failures.get(requestId) ?? 0;
    if (failed < (faults.failRevokeTimes ?? 0)) {
      failures.set(requestId, failed + 1);
      throw new InjectedFault(`local mode fault: revoke of ${requestId} fails (${failed + 1} of ${faults.failRevokeTimes})`);
    }
    return invoke(event);
  };
}

/** Refuses to start with a directory that cannot tell people apart (docs/design.md §3a), as synth does. */
export function assertNamesPeople(directory: Directory): void {
  const problems = directoryProblems(directory);
  if (problems.length) {
    throw new Error(
      `Local mode's directory cannot name people:\n${problems.map((problem) => `  - ${pathText(problem.path)}: ${problem.message}`).join('\n')}`,
    );
  }
}

const faultWarnings = (faults: LocalFaults = {}): string[] => [
  ...(faults.failRevokeTimes
    ? [`FAULT INJECTED: the workflow's revoke step fails ${faults.failRevokeTimes} time(s) per request before it runs`]
    : []),
  ...(faults.skipWorkflowRevoke ? ["FAULT INJECTED: the workflow's revoke step is skipped; only the reconciler ends grants"] : []),
];

/** What EventBridge Scheduler passes a scheduled Lambda target. */
const scheduledEvent = () => ({
  version: '0',
  id: randomBytes(16).toString('hex'),
  'detail-type': 'Scheduled Event',
  source: 'aws.scheduler',
  account: LOCAL_ACCOUNT,
  time: new Date().toISOString(),
  region: LOCAL_REGION,
  resources: [],
  detail: {},
});

function assertOk(part: string, ok: boolean): void {
  if (!ok) throw new Error(`${part} did not answer at start-up`);
}
