import { Duration, type RemovalPolicy, Tags } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LEDGER_INDEXES } from '../lambdas/core/adapters/dynamo-ledger';
import { REQUEST_INDEXES } from '../lambdas/core/adapters/dynamo-store';
import { ENV } from '../lambdas/core/config';
import type { WorkflowFunction } from '../lambdas/core/workflow-definition';
import type { LockboxData } from './data';
import type { LinkKeys } from './link-keys';
import { LockboxFunction } from './lockbox-function';
import { DEFAULTS, type ManagerProps, type PersonProps } from './lockbox-props';
import type { SenderIdentity } from './sender';
import { DEPLOYMENT_TAG } from './target';

type ApiFunction = 'apiRequests' | 'apiTenants' | 'apiApprovals' | 'console';
export type LockboxFunctionName = ApiFunction | WorkflowFunction | 'reconcile' | 'sealDigests' | 'exportAudit';

/** Handler file, construct id and what each function is for. */
export const FUNCTIONS: Record<LockboxFunctionName, { handler: string; id: string; description: string; timeout: Duration }> = {
  apiRequests: {
    handler: 'api-requests',
    id: 'ApiRequests',
    description: 'Lockbox API: /requests',
    timeout: Duration.seconds(DEFAULTS.timeouts.api),
  },
  apiTenants: {
    handler: 'api-tenants',
    id: 'ApiTenants',
    description: 'Lockbox API: /tenants',
    timeout: Duration.seconds(DEFAULTS.timeouts.api),
  },
  apiApprovals: {
    handler: 'api-approvals',
    id: 'ApiApprovals',
    description: 'Lockbox API: /approvals/{token} (links)',
    timeout: Duration.seconds(DEFAULTS.timeouts.api),
  },
  console: {
    handler: 'console',
    id: 'Console',
    description: 'Lockbox customer console: /console (sign-in, decide, revoke, audit)',
    timeout: Duration.seconds(DEFAULTS.timeouts.api),
  },
  notify: {
    handler: 'notify',
    id: 'Notify',
    description: 'Lockbox workflow: open an approval stage, email links',
    timeout: Duration.seconds(DEFAULTS.timeouts.workflow),
  },
  expire: {
    handler: 'expire',
    id: 'Expire',
    description: 'Lockbox workflow: expire an undecided stage',
    timeout: Duration.seconds(DEFAULTS.timeouts.workflow),
  },
  grant: {
    handler: 'grant',
    id: 'Grant',
    description: 'Lockbox workflow: grant access',
    timeout: Duration.seconds(DEFAULTS.timeouts.workflow),
  },
  revoke: {
    handler: 'revoke',
    id: 'Revoke',
    description: 'Lockbox workflow: revoke access at the end of the window',
    timeout: Duration.seconds(DEFAULTS.timeouts.workflow),
  },
  close: {
    handler: 'close',
    id: 'Close',
    description: 'Lockbox workflow: close a request, record failures',
    timeout: Duration.seconds(DEFAULTS.timeouts.workflow),
  },
  reconcile: {
    handler: 'reconcile',
    id: 'Reconcile',
    description: 'Lockbox reconciler: repairs what the workflow missed',
    timeout: Duration.seconds(DEFAULTS.timeouts.reconciler),
  },
  sealDigests: {
    handler: 'seal-digests',
    id: 'SealDigests',
    description: 'Lockbox ledger: seal signed tenant digests, verify the ledger',
    timeout: Duration.seconds(DEFAULTS.timeouts.reconciler),
  },
  exportAudit: {
    handler: 'export-audit',
    id: 'ExportAudit',
    description: "Lockbox audit export: the Audit table's stream to the audit bus",
    timeout: Duration.seconds(DEFAULTS.timeouts.workflow),
  },
};

export interface LockboxFunctionsProps {
  readonly data: LockboxData;
  readonly linkKeys: LinkKeys;
  readonly auditBus: events.IEventBus;
  readonly sender: SenderIdentity;
  /** The access boundary's ARN, built from its name: the boundary names the functions (no cycle). */
  readonly accessBoundaryArn: string;
  /** The workflow's ARN, built from its name: notify is invoked BY the machine (no cycle). */
  readonly constructedStateMachineArn: string;
  /** Who is who: the provider's engineers and managers. */
  readonly engineers: readonly PersonProps[];
  readonly managers: readonly ManagerProps[];
  /** Deployment admins: create and list tenants. @default - none */
  readonly admins?: readonly PersonProps[];
  /** Shortest and longest access duration (ISO-8601). */
  readonly durations: { readonly floor: string; readonly cap: string };
  /** How long managers have to decide (ISO-8601). */
  readonly managerApprovalTimeout: string;
  readonly accessProvider: 'iam';
  /** Member accounts' `LockboxTarget` roles by account id, for the access provider. @default - none */
  readonly accessTargets?: Readonly<Record<string, string>>;
  /**
   * The value of the `lockbox:deployment` tag on the access provider's roles, which a
   * `LockboxTarget`'s trust requires: the Lockbox's prefix.
   */
  readonly deployment: string;
  /** Each function logs to `<logGroupPrefix>/<handler>`. */
  readonly logGroupPrefix: string;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** Encrypts the log groups. @default - CloudWatch Logs' own encryption */
  readonly logEncryptionKey?: kms.IKey;
  /** Of the log groups. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Memory of every function, in MB. @default 512 */
  readonly memorySize?: number;
  /**
   * Timeouts of the API functions, the workflow's and the reconciler.
   * @default { api: 29 s, workflow: 60 s, reconciler: 4 min }
   */
  readonly timeouts?: { readonly api?: Duration; readonly workflow?: Duration; readonly reconciler?: Duration };
}

/** Which timeout of `LockboxFunctionsProps.timeouts` a function takes. */
const TIMEOUT_GROUP: Record<LockboxFunctionName, 'api' | 'workflow' | 'reconciler'> = {
  apiRequests: 'api',
  apiTenants: 'api',
  apiApprovals: 'api',
  console: 'api',
  notify: 'workflow',
  expire: 'workflow',
  grant: 'workflow',
  revoke: 'workflow',
  close: 'workflow',
  sealDigests: 'reconciler',
  reconcile: 'reconciler',
  exportAudit: 'workflow',
};

/**
 * Lockbox's functions, each with exactly the environment and grants docs/architecture.md
 * lists for it. The API, workflow and reconciler constructs take them from here.
 */
export class LockboxFunctions extends Construct {
  readonly functions: Readonly<Record<LockboxFunctionName, LockboxFunction>>;

  constructor(scope: Construct, id: string, props: LockboxFunctionsProps) {
    super(scope, id);
    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    this.functions = Object.fromEntries(
      Object.entries(FUNCTIONS).map(([name, { id: fnId, handler, description, timeout }]) => [
        name,
        new LockboxFunction(this, fnId, {
          handler,
          description,
          timeout: props.timeouts?.[TIMEOUT_GROUP[name as LockboxFunctionName]] ?? timeout,
          memorySize: props.memorySize,
          logRetention: retention,
          logKey: props.logEncryptionKey,
          logRemovalPolicy: props.logRemovalPolicy,
          logGroupName: `${props.logGroupPrefix}/${handler}`,
        }),
      ]),
    ) as Record<LockboxFunctionName, LockboxFunction>;
    this.wire(props);
  }

  /** The starters and deciders of the workflow: api-requests, api-approvals and the reconciler. */
  useWorkflow(stateMachineArn: string, stateMachineName: string): void {
    const { apiRequests, apiApprovals, reconcile, console } = this.functions;
    console.useStateMachine(stateMachineArn, ['states:SendTaskSuccess']);
    apiRequests.useStateMachine(stateMachineArn, ['states:StartExecution', 'states:SendTaskSuccess', 'states:SendTaskFailure']);
    apiApprovals.useStateMachine(stateMachineArn, ['states:SendTaskSuccess']);
    reconcile.useStateMachine(stateMachineArn, ['states:SendTaskSuccess']).readExecutions(stateMachineArn, stateMachineName);
  }

  /** Where approval links point (notify writes them). */
  useLinkBaseUrl(url: string): void {
    this.functions.notify.useSettings({ [ENV.linkBaseUrl]: url });
  }

  /** Environment and grants of each function, as docs/architecture.md lists them. */
  private wire(props: LockboxFunctionsProps) {
    const { apiRequests, apiTenants, apiApprovals, console, notify, expire, grant, revoke, close, reconcile, sealDigests, exportAudit } =
      this.functions;
    const { requestsTable, tenantsTable, auditTable } = props.data;
    const directory = {
      [ENV.directory]: JSON.stringify({
        engineers: props.engineers.map(({ principal, email, sessionNameSetBy }) => ({
          principal,
          ...(email ? { email } : {}),
          ...(sessionNameSetBy ? { sessionNameSetBy } : {}),
        })),
        managers: props.managers.map(({ principal, email, sessionNameSetBy }) => ({
          principal,
          email,
          ...(sessionNameSetBy ? { sessionNameSetBy } : {}),
        })),
        ...(props.admins?.length
          ? { admins: props.admins.map(({ principal, email }) => ({ principal, ...(email ? { email } : {}) })) }
          : {}),
      }),
    };
    const durations = { [ENV.durationFloor]: props.durations.floor, [ENV.durationCap]: props.durations.cap };
    const { accessProvider, accessBoundaryArn: boundaryArn } = props;
    const { sender, identityArn } = props.sender;
    const { keys, currentKeyId } = props.linkKeys;
    const targets = props.accessTargets ?? {};
    // A LockboxTarget trusts only roles with this tag (the other functions cannot assume it).
    for (const fn of [apiRequests, grant, revoke, close, reconcile]) Tags.of(fn.role).add(DEPLOYMENT_TAG, props.deployment);

    // Every function but the export writes audit events (a request's chain head is on its item; the settings chain's on the tenant's).
    for (const fn of Object.values(this.functions)) {
      fn.denyItemChanges(auditTable).protectAccessBoundary(boundaryArn);
      if (fn === exportAudit) continue;
      const readsLedger = fn === apiTenants || fn === console || fn === sealDigests;
      fn.useTable(ENV.tenantsTable, tenantsTable, 'readUpdate').useTable(
        ENV.auditTable,
        auditTable,
        readsLedger ? 'appendRead' : 'append',
        readsLedger ? [LEDGER_INDEXES.byTenantTime] : [],
      );
    }
    // Only the export publishes to the bus; it reads the Audit table's stream (lib/audit-stream.ts) and no table.
    exportAudit.useAuditBus(props.auditBus);
    for (const fn of [apiApprovals, notify, expire, grant, revoke, close]) {
      fn.useTable(ENV.requestsTable, requestsTable, 'readUpdate');
    }

    apiRequests
      .useTable(ENV.requestsTable, requestsTable, 'readWrite', Object.values(REQUEST_INDEXES))
      .useAccessProvider(accessProvider, 'revoke')
      .useAccessTargets(targets)
      .useSender(sender, identityArn)
      .useSettings({ ...directory, ...durations, [ENV.managerApprovalTimeout]: props.managerApprovalTimeout });
    // Deployment admins (in the directory) create and list tenants: a scan of the Tenants table.
    apiTenants.useSettings({ ...directory, ...durations }).useTableScan(tenantsTable);
    // The console decides and revokes like api-requests and links, and lists the tenants a person is in.
    console
      .useTable(ENV.requestsTable, requestsTable, 'queryUpdate', [REQUEST_INDEXES.byTenant])
      .useTableScan(tenantsTable)
      .useLinkKeys('verify', keys, currentKeyId)
      .useAccessProvider(accessProvider, 'revoke')
      .useSender(sender, identityArn)
      .useSettings({ ...directory, ...durations });
    apiApprovals.useLinkKeys('verify', keys, currentKeyId).useSender(sender, identityArn).useSettings(directory);
    notify
      .useStateMachine(props.constructedStateMachineArn, ['states:SendTaskSuccess'])
      .useLinkKeys('sign', keys, currentKeyId)
      .useSender(sender, identityArn)
      .useSettings(directory);
    grant
      .useAccessProvider(accessProvider, 'grant', boundaryArn)
      .useAccessTargets(targets)
      .useSender(sender, identityArn)
      .useSettings(directory);
    for (const fn of [revoke, close]) {
      fn.useAccessProvider(accessProvider, 'revoke').useAccessTargets(targets).useSender(sender, identityArn).useSettings(directory);
    }
    // The sealer lists the tenants, reads the marked chains and clears their marks (lib/ledger.ts adds its key).
    sealDigests
      .useTable(ENV.tenantsTable, tenantsTable, 'scanUpdate')
      .useTable(ENV.requestsTable, requestsTable, 'queryUpdate', [LEDGER_INDEXES.unsealedChains]);
    reconcile
      .useTable(ENV.requestsTable, requestsTable, 'queryUpdate', [REQUEST_INDEXES.byActiveUntil, REQUEST_INDEXES.byStatus])
      .useAccessProvider(accessProvider, 'reconcile')
      .useAccessTargets(targets)
      .useSender(sender, identityArn)
      .useSettings(directory);
  }
}
