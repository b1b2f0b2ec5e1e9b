import { ArnFormat, Aws, Fn, Stack } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { AccessBoundary, accessBoundaryArn } from './access-boundary';
import { LockboxAlarms } from './alarms';
import { API_STAGE, LockboxApi } from './api';
import { AuditBus } from './audit-bus';
import { LockboxData } from './data';
import { FUNCTIONS, type LockboxFunctionName, LockboxFunctions } from './functions';
import { LinkKeys } from './link-keys';
import type { LockboxFunction } from './lockbox-function';
import { DEFAULTS, type LockboxProps } from './lockbox-props';
import { Reconciler } from './reconciler';
import { SenderIdentity } from './sender';
import { TenantSeed } from './tenant-seed';
import { Workflow } from './workflow';

export { API_STAGE, APPROVAL_THROTTLE } from './api';
export type { LockboxFunctionName } from './functions';
export type { LockboxProps } from './lockbox-props';
export { RECONCILE_EVERY } from './reconciler';

/**
 * Lockbox on AWS, composed of one construct per concern: data (tables and their key), link keys,
 * the audit bus, the sender identity, the functions, the workflow, the API, the reconciler,
 * alarms, the seeded tenants and the access boundary. See docs/architecture.md for what each
 * function does and docs/deploying.md for operating it.
 */
export class Lockbox extends Construct {
  readonly data: LockboxData;
  readonly linkKeySet: LinkKeys;
  readonly auditExport: AuditBus;
  readonly sender: SenderIdentity;
  readonly functionSet: LockboxFunctions;
  readonly workflow: Workflow;
  readonly gateway: LockboxApi;
  readonly reconciler: Reconciler;
  readonly monitoring: LockboxAlarms;
  /** The permissions boundary of every access role (`/lockbox/<stack>-AccessBoundary`). */
  readonly accessBoundary: AccessBoundary;

  // The resources most callers want, by their old names.
  /** Encrypts the tables and the alarm topic (rotation on, retained). */
  readonly dataKey: kms.Key;
  readonly requestsTable: dynamodb.Table;
  readonly tenantsTable: dynamodb.Table;
  /** Append-only: every function role is explicitly denied changing or deleting its items. */
  readonly auditTable: dynamodb.Table;
  /** HMAC keys of approval links by key id; the last configured id signs new links. */
  readonly linkKeys: Readonly<Record<string, kms.Key>>;
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

  constructor(scope: Construct, id: string, props: LockboxProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // Where Lockbox's log groups live: `/lockbox/<stack>/<stack id's UUID>/…`. One prefix, so the
    // access boundary can deny them all with one pattern; the UUID, so a stack created again under
    // the same name does not collide with the retained groups of the one before.
    const logPrefix = `/lockbox/${stack.stackName}/${Fn.select(2, Fn.split('/', Aws.STACK_ID))}`;
    const durations = { floor: props.durations?.floor ?? DEFAULTS.durationFloor, cap: props.durations?.cap ?? DEFAULTS.durationCap };

    this.data = new LockboxData(this, 'Data');
    this.linkKeySet = new LinkKeys(this, 'LinkKeys', { keyIds: props.linkKeyIds });
    this.auditExport = new AuditBus(this, 'AuditBus');
    this.sender = new SenderIdentity(this, 'Sender', props.email);

    // The machine's name is fixed so its ARN can be built without referencing it: notify is
    // invoked BY the machine, so a reference from notify's role or environment would be a cycle.
    const stateMachineName = `${stack.stackName}-AccessRequest`.slice(0, 80);
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
      accessBoundaryArn: accessBoundaryArn(stack),
      constructedStateMachineArn,
      engineers: props.engineers,
      managers: props.managers,
      durations,
      managerApprovalTimeout: props.approvalTimeouts?.manager ?? DEFAULTS.managerApprovalTimeout,
      accessProvider: props.accessProvider ?? DEFAULTS.accessProvider,
      logGroupPrefix: logPrefix,
    });
    const fns = this.functionSet.functions;

    this.workflow = new Workflow(this, 'Workflow', {
      functions: { notify: fns.notify.fn, expire: fns.expire.fn, grant: fns.grant.fn, revoke: fns.revoke.fn, close: fns.close.fn },
      stateMachineName,
    });
    this.functionSet.useWorkflow(this.workflow.stateMachine.stateMachineArn);
    this.reconciler = new Reconciler(this, 'Reconciler', { function: fns.reconcile.fn });

    this.gateway = new LockboxApi(this, 'Api', {
      functions: { requests: fns.apiRequests.fn, tenants: fns.apiTenants.fn, approvals: fns.apiApprovals.fn },
      principals: [
        ...props.engineers.map((person) => person.principal),
        ...props.managers.map((person) => person.principal),
        ...(props.tenants ?? []).flatMap((tenant) => [
          ...tenant.admins,
          ...(tenant.auditors ?? []),
          ...tenant.approvers.flatMap((approver) => (approver.principal ? [approver.principal] : [])),
        ]),
        ...(props.apiPrincipals ?? []),
      ],
      accessLogGroupName: `${logPrefix}/api-access`,
      webAclArn: props.webAclArn,
    });
    this.functionSet.useLinkBaseUrl(props.linkBaseUrl ?? this.gateway.stageUrl);

    this.monitoring = new LockboxAlarms(this, 'Alarms', {
      stateMachine: this.workflow.stateMachine,
      api: this.gateway.api,
      functions: (Object.keys(fns) as LockboxFunctionName[]).map((name) => ({ ...FUNCTIONS[name], fn: fns[name].fn })),
      reconcilerDeadLetterQueue: this.reconciler.deadLetterQueue,
      topicKey: this.data.dataKey,
      topicArn: props.alarms?.topicArn,
      email: props.alarms?.email,
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
      });
    }

    // It names everything of Lockbox's that an access role must never touch, so it comes last.
    this.accessBoundary = new AccessBoundary(this, 'AccessBoundary', {
      protect: {
        tableArns: this.data.tables.map((table) => table.tableArn),
        stateMachineArn: this.workflow.stateMachine.stateMachineArn,
        executionArnPattern: stack.formatArn({
          service: 'states',
          resource: 'execution',
          resourceName: `${stateMachineName}:*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
        keyArns: [this.data.dataKey, ...Object.values(this.linkKeySet.keys)].map((key) => key.keyArn),
        logGroupNamePatterns: [
          `/lockbox/${stack.stackName}/*`,
          `/aws/vendedlogs/states/${stateMachineName}*`,
          // API Gateway's execution logs (ERROR level) of the stage.
          `API-Gateway-Execution-Logs_${this.gateway.api.restApiId}/${API_STAGE}*`,
        ],
        functionArns: Object.values(fns).map((fn) => fn.fn.functionArn),
        eventBusArn: this.auditExport.bus.eventBusArn,
        scheduleArn: this.reconciler.schedule.scheduleArn,
        deadLetterQueueArn: this.reconciler.deadLetterQueue.queueArn,
        alarmTopicArn: this.monitoring.topic.topicArn,
        alarmArnPattern: stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: `${stack.stackName}-*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
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
    this.alarms = this.monitoring.alarms;
  }
}
