import { ArnFormat, Aws, Duration, Fn, Names, RemovalPolicy, Stack, Tags, Token } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { AccessBoundary, accessBoundaryArn } from './access-boundary';
import { LockboxAlarms } from './alarms';
import { API_STAGE, LockboxApi } from './api';
import { GatewayErrorResponses, PageTokenKey } from './api-inputs';
import { AuditBus } from './audit-bus';
import { AuditStream } from './audit-stream';
import { validateProps } from './config';
import { LockboxConsole } from './console';
import { LockboxData } from './data';
import { FUNCTIONS, type LockboxFunctionName, LockboxFunctions } from './functions';
import { LedgerDigests } from './ledger';
import { LinkKeys } from './link-keys';
import type { LockboxFunction } from './lockbox-function';
import { DEFAULTS, type LockboxProps } from './lockbox-props';
import { Reconciler } from './reconciler';
import { SenderIdentity } from './sender';
import { targetRoleArn } from './target';
import { TenantSeed } from './tenant-seed';
import { Workflow } from './workflow';

export type { LockboxFunctionName } from './functions';
export type { LockboxProps } from './lockbox-props';

/**
 * Lockbox on AWS, composed of one construct per concern: data (tables and their key), link keys,
 * the audit bus and its export from the Audit table's stream, the sender identity, the functions, the workflow, the API, the reconciler,
 * alarms, the seeded tenants and the access boundary. See docs/architecture.md for what each
 * function does and docs/deploying.md for operating it.
 */
export class Lockbox extends Construct {
  readonly data: LockboxData;
  readonly linkKeySet: LinkKeys;
  readonly auditExport: AuditBus;
  /** The export of the Audit table's stream to the bus: its event source mapping, failure queue and alarm. */
  readonly auditStream: AuditStream;
  readonly sender: SenderIdentity;
  readonly functionSet: LockboxFunctions;
  readonly workflow: Workflow;
  readonly gateway: LockboxApi;
  readonly reconciler: Reconciler;
  /** The digest signing key, the sealer's and verification's schedules and their alarms. */
  readonly ledger: LedgerDigests;
  readonly monitoring: LockboxAlarms;
  /** The customer console's sign-in (Cognito by default), session key and routes. */
  readonly console: LockboxConsole;
  /** The permissions boundary of every access role (`/lockbox/<prefix>-AccessBoundary`). */
  readonly accessBoundary: AccessBoundary;

  // The resources most callers want, by their old names.
  /** Encrypts the tables and the alarm topic: `encryptionKey`, or a new key (rotation on). */
  readonly dataKey: kms.IKey;
  readonly requestsTable: dynamodb.Table;
  readonly tenantsTable: dynamodb.Table;
  /** Append-only: every function role is explicitly denied changing or deleting its items. */
  readonly auditTable: dynamodb.Table;
  /** HMAC keys of approval links by key id; the last configured id signs new links. */
  readonly linkKeys: Readonly<Record<string, kms.Key>>;
  /** The KMS HMAC key the API's paging tokens are derived from (lib/api-inputs.ts). */
  readonly pageTokenKey: PageTokenKey;
  /** Audit events, `source: ["lockbox.audit"]`, `detail-type` = event type; archived. */
  readonly auditBus: events.EventBus;
  /** ARN of the SES identity the functions may send as. */
  readonly senderIdentityArn: string;
  readonly functions: Readonly<Record<LockboxFunctionName, LockboxFunction>>;
  readonly stateMachine: sfn.StateMachine;
  readonly api: apigw.RestApi;
  /** Dead-letter queue of the reconciler's schedule (invocations the scheduler could not deliver). */
  readonly reconcilerDeadLetterQueue: sqs.Queue;
  readonly reconcileSchedule: scheduler.Schedule;
  readonly alarmTopic: sns.ITopic;
  readonly alarms: readonly cloudwatch.Alarm[];
  /** Starts the names of the state machine, access boundary, alarms and log groups. */
  readonly prefix: string;

  constructor(scope: Construct, id: string, props: LockboxProps) {
    super(scope, id);
    // Refused here, before anything is built: the same checks and messages as the config file.
    validateProps(props, this.node.path, (value) => Token.isUnresolved(value));
    const stack = Stack.of(this);
    this.prefix = props.prefix ?? Names.uniqueResourceName(this, { maxLength: 48, separator: '-' });
    const prefix = this.prefix;
    // Where Lockbox's log groups live: `/lockbox/<prefix>/<stack id's UUID>/…`. One prefix, so the
    // access boundary can deny them all with one pattern; the UUID, so a stack created again under
    // the same name does not collide with the retained groups of the one before.
    const logPrefix = `/lockbox/${prefix}/${Fn.select(2, Fn.split('/', Aws.STACK_ID))}`;
    const durations = { floor: props.durations?.floor ?? DEFAULTS.durationFloor, cap: props.durations?.cap ?? DEFAULTS.durationCap };
    const removalPolicy = props.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const logging = {
      logRetention: (props.logRetentionDays ?? DEFAULTS.logRetentionDays) as logs.RetentionDays,
      logEncryptionKey: props.logEncryptionKey,
      logRemovalPolicy: removalPolicy,
    };
    if (props.logEncryptionKey) allowLogsToUse(props.logEncryptionKey);
    for (const [key, value] of Object.entries(props.tags ?? {})) Tags.of(this).add(key, value);

    this.data = new LockboxData(this, 'Data', { encryptionKey: props.encryptionKey, removalPolicy });
    this.linkKeySet = new LinkKeys(this, 'LinkKeys', { keyIds: props.linkKeyIds });
    this.auditExport = new AuditBus(this, 'AuditBus');
    this.sender = new SenderIdentity(this, 'Sender', props.email);

    // The machine's name is fixed so its ARN can be built without referencing it: notify is
    // invoked BY the machine, so a reference from notify's role or environment would be a cycle.
    const stateMachineName = `${prefix}-AccessRequest`;
    const constructedStateMachineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.functionSet = new LockboxFunctions(this, 'Functions', {
      data: this.data,
      linkKeys: this.linkKeySet,
      auditBus: this.auditExport.bus,
      sender: this.sender,
      // Built from the boundary's fixed name: the boundary names the functions (no cycle).
      accessBoundaryArn: accessBoundaryArn(stack, prefix),
      constructedStateMachineArn,
      engineers: props.engineers,
      managers: props.managers,
      admins: props.admins,
      durations,
      managerApprovalTimeout: props.approvalTimeouts?.manager ?? DEFAULTS.managerApprovalTimeout,
      accessProvider: props.accessProvider ?? DEFAULTS.accessProvider,
      logGroupPrefix: logPrefix,
      accessTargets: Object.fromEntries((props.targetAccounts ?? []).map((account) => [account, targetRoleArn(stack, account, prefix)])),
      deployment: prefix,
      ...logging,
      memorySize: props.memorySize,
      timeouts: {
        api: seconds(props.timeouts?.api),
        workflow: seconds(props.timeouts?.workflow),
        reconciler: seconds(props.timeouts?.reconciler),
      },
    });
    const fns = this.functionSet.functions;

    this.workflow = new Workflow(this, 'Workflow', {
      functions: { notify: fns.notify.fn, expire: fns.expire.fn, grant: fns.grant.fn, revoke: fns.revoke.fn, close: fns.close.fn },
      stateMachineName,
      ...logging,
    });
    this.functionSet.useWorkflow(this.workflow.stateMachine.stateMachineArn, stateMachineName);
    this.reconciler = new Reconciler(this, 'Reconciler', { function: fns.reconcile.fn });

    this.gateway = new LockboxApi(this, 'Api', {
      functions: { requests: fns.apiRequests.fn, tenants: fns.apiTenants.fn, approvals: fns.apiApprovals.fn },
      principals: [
        ...props.engineers.map((person) => person.principal),
        ...props.managers.map((person) => person.principal),
        ...(props.admins ?? []).map((person) => person.principal),
        ...(props.tenants ?? []).flatMap((tenant) => [
          ...tenant.admins,
          ...(tenant.auditors ?? []),
          ...tenant.approvers.flatMap((approver) => (approver.principal ? [approver.principal] : [])),
        ]),
        ...(props.apiPrincipals ?? []),
      ],
      accessLogGroupName: `${logPrefix}/api-access`,
      ...logging,
      restApiName: `${prefix}-api`,
      cloudWatchRole: props.apiGatewayCloudWatchRole ?? false,
      webAclArn: props.webAclArn,
    });
    this.functionSet.useLinkBaseUrl(props.linkBaseUrl ?? this.gateway.stageUrl);
    new GatewayErrorResponses(this, 'GatewayErrors', { api: this.gateway.api });
    this.pageTokenKey = new PageTokenKey(this, 'PageTokens');
    for (const fn of [fns.apiRequests, fns.apiTenants, fns.console]) this.pageTokenKey.useIn(fn);
    this.console = new LockboxConsole(this, 'Console', {
      ...props.console,
      function: fns.console,
      api: this.gateway.api,
      baseUrl: props.linkBaseUrl ?? this.gateway.stageUrl,
      namePrefix: prefix,
    });

    this.monitoring = new LockboxAlarms(this, 'Alarms', {
      stateMachine: this.workflow.stateMachine,
      api: this.gateway.api,
      functions: (Object.keys(fns) as LockboxFunctionName[]).map((name) => ({ ...FUNCTIONS[name], fn: fns[name].fn })),
      reconcilerDeadLetterQueue: this.reconciler.deadLetterQueue,
      topicKey: this.data.dataKey,
      topic: props.alarmTopic ?? (props.alarms?.topicArn ? sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarms.topicArn) : undefined),
      alarmNamePrefix: prefix,
      email: props.alarms?.email,
    });

    this.auditStream = new AuditStream(this, 'AuditStream', {
      table: this.data.auditTable,
      exporter: fns.exportAudit,
      alarmTopic: this.monitoring.topic,
      alarmNamePrefix: prefix,
    });

    this.ledger = new LedgerDigests(this, 'Ledger', {
      sealer: fns.sealDigests,
      publishers: [fns.apiTenants, fns.console],
      alarmTopic: this.monitoring.topic,
      alarmNamePrefix: prefix,
    });

    if (props.tenants?.length) {
      new TenantSeed(this, 'SeedTenants', {
        tenants: props.tenants,
        table: this.data.tenantsTable,
        defaults: {
          maxAccessDuration: durations.cap,
          approvalTimeout: props.approvalTimeouts?.customer ?? DEFAULTS.customerApprovalTimeout,
        },
        logGroupName: `${logPrefix}/seed-tenants`,
        ...logging,
      });
    }

    // It names everything of Lockbox's that an access role must never touch, so it comes last.
    this.accessBoundary = new AccessBoundary(this, 'AccessBoundary', {
      prefix,
      protect: {
        tableArns: this.data.tables.map((table) => table.tableArn),
        stateMachineArn: this.workflow.stateMachine.stateMachineArn,
        executionArnPattern: stack.formatArn({
          service: 'states',
          resource: 'execution',
          resourceName: `${stateMachineName}:*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
        keyArns: [
          this.data.dataKey,
          ...Object.values(this.linkKeySet.keys),
          this.pageTokenKey.key,
          this.console.sessionKey,
          this.ledger.signingKey,
        ].map((key) => key.keyArn),
        logGroupNamePatterns: [
          `/lockbox/${prefix}/*`,
          `/aws/vendedlogs/states/${stateMachineName}*`,
          // API Gateway's execution logs (ERROR level) of the stage.
          `API-Gateway-Execution-Logs_${this.gateway.api.restApiId}/${API_STAGE}*`,
        ],
        functionArns: Object.values(fns).map((fn) => fn.fn.functionArn),
        eventBusArn: this.auditExport.bus.eventBusArn,
        scheduleArn: this.reconciler.schedule.scheduleArn,
        deadLetterQueueArns: [this.reconciler.deadLetterQueue.queueArn, this.auditStream.failureQueue.queueArn],
        alarmTopicArn: this.monitoring.topic.topicArn,
        alarmArnPattern: stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: `${prefix}-*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    });

    this.dataKey = this.data.dataKey;
    this.requestsTable = this.data.requestsTable;
    this.tenantsTable = this.data.tenantsTable;
    this.auditTable = this.data.auditTable;
    this.linkKeys = this.linkKeySet.keys;
    this.auditBus = this.auditExport.bus;
    this.senderIdentityArn = this.sender.identityArn;
    this.functions = fns;
    this.stateMachine = this.workflow.stateMachine;
    this.api = this.gateway.api;
    this.reconcilerDeadLetterQueue = this.reconciler.deadLetterQueue;
    this.reconcileSchedule = this.reconciler.schedule;
    this.alarmTopic = this.monitoring.topic;
    this.alarms = [...this.monitoring.alarms, ...this.ledger.alarms, this.auditStream.alarm];
  }
}

const seconds = (value: number | undefined): Duration | undefined => (value === undefined ? undefined : Duration.seconds(value));

/**
 * CloudWatch Logs encrypts a log group only with a key whose policy lets the service use it for
 * that account's log groups (CloudWatch Logs User Guide, encrypt-log-data-kms). A no-op for an
 * imported key: its policy is the owner's to change.
 */
function allowLogsToUse(key: kms.IKey): void {
  const stack = Stack.of(key);
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
  );
}
