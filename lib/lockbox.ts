import { join } from 'node:path';
import { ArnFormat, Aws, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { z } from 'zod';
import { AUDIT_EVENT_SOURCE } from '../lambdas/core/adapters/audit-publishers';
import { REQUEST_INDEXES } from '../lambdas/core/adapters/dynamo-store';
import { ENV } from '../lambdas/core/config';
import * as schema from '../lambdas/core/http/schemas';
import { STATE_MACHINE_FILE, WORKFLOW_FUNCTIONS, type WorkflowFunction } from '../lambdas/core/workflow-definition';
import { AccessBoundary, accessBoundaryArn } from './access-boundary';
import { LockboxFunction, PROJECT_ROOT } from './lockbox-function';
import { principalArnPatterns, tenantItem, toItem } from './lockbox-helpers';
import { DEFAULTS, type LockboxProps } from './lockbox-props';

export type { LockboxProps } from './lockbox-props';

/** The API's only stage; the approval links' base URL is built from it (see `linkBaseUrl`). */
export const API_STAGE = 'v1';
/** Per-method limits of the open `/approvals/{token}` routes (requests per second, whole stage). */
export const APPROVAL_THROTTLE = { rateLimit: 10, burstLimit: 20 };
const LOG_RETENTION = logs.RetentionDays.ONE_YEAR;

type ApiFunction = 'apiRequests' | 'apiTenants' | 'apiApprovals';
export type LockboxFunctionName = ApiFunction | WorkflowFunction | 'reconcile';
/** How often the reconciler sweeps (R-3.9: at most every 5 minutes). */
export const RECONCILE_EVERY = Duration.minutes(5);

/** Handler file, construct id and what each function is for. */
const FUNCTIONS: Record<LockboxFunctionName, { handler: string; id: string; description: string; timeout: Duration }> = {
  apiRequests: { handler: 'api-requests', id: 'ApiRequests', description: 'Lockbox API: /requests', timeout: Duration.seconds(29) },
  apiTenants: { handler: 'api-tenants', id: 'ApiTenants', description: 'Lockbox API: /tenants', timeout: Duration.seconds(29) },
  apiApprovals: { handler: 'api-approvals', id: 'ApiApprovals', description: 'Lockbox API: /approvals/{token} (links)', timeout: Duration.seconds(29) },
  notify: { handler: 'notify', id: 'Notify', description: 'Lockbox workflow: open an approval stage, email links', timeout: Duration.seconds(60) },
  expire: { handler: 'expire', id: 'Expire', description: 'Lockbox workflow: expire an undecided stage', timeout: Duration.seconds(60) },
  grant: { handler: 'grant', id: 'Grant', description: 'Lockbox workflow: grant access', timeout: Duration.seconds(60) },
  revoke: { handler: 'revoke', id: 'Revoke', description: 'Lockbox workflow: revoke access at the end of the window', timeout: Duration.seconds(60) },
  close: { handler: 'close', id: 'Close', description: 'Lockbox workflow: close a request, record failures', timeout: Duration.seconds(60) },
  reconcile: { handler: 'reconcile', id: 'Reconcile', description: 'Lockbox reconciler: repairs what the workflow missed', timeout: Duration.minutes(4) },
};

/** A schedule target that may invoke the function itself only (CDK's grantInvoke adds every version, `:*`). */
class InvokeUnqualified extends schedulerTargets.LambdaInvoke {
  constructor(
    private readonly target: lambda.IFunction,
    props: schedulerTargets.ScheduleTargetBaseProps,
  ) {
    super(target, props);
  }

  protected override addTargetActionToRole(role: iam.IRole): void {
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.target.functionArn] }));
  }
}

/**
 * Lockbox on AWS: tables, functions, the access-request workflow, the API, the audit bus,
 * link-signing keys, alarms and the seeded tenants. See docs/architecture.md for what each
 * function does and docs/deploying.md for operating it.
 */
export class Lockbox extends Construct {
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
  /** The permissions boundary of every access role (`/lockbox/<stack>-AccessBoundary`). */
  readonly accessBoundary: AccessBoundary;
  /**
   * Where Lockbox's log groups live: `/lockbox/<stack>/<stack id's UUID>/…`. One prefix, so the
   * access boundary can deny them all with one pattern; the UUID, so a stack created again under
   * the same name does not collide with the retained groups of the one before.
   */
  private readonly logPrefix: string;

  constructor(scope: Construct, id: string, props: LockboxProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.logPrefix = `/lockbox/${stack.stackName}/${Fn.select(2, Fn.split('/', Aws.STACK_ID))}`;

    this.dataKey = new kms.Key(this, 'DataKey', {
      description: 'Lockbox: tables and alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.requestsTable = this.table('Requests', { name: 'requestId', type: dynamodb.AttributeType.STRING });
    const byCreation = { name: 'createdAt', type: dynamodb.AttributeType.STRING };
    this.requestsTable.addGlobalSecondaryIndex({
      indexName: REQUEST_INDEXES.byTenant,
      partitionKey: { name: 'tenantId', type: dynamodb.AttributeType.STRING },
      sortKey: byCreation,
    });
    this.requestsTable.addGlobalSecondaryIndex({
      indexName: REQUEST_INDEXES.byStatus,
      partitionKey: { name: 'status', type: dynamodb.AttributeType.STRING },
      sortKey: byCreation,
    });
    this.requestsTable.addGlobalSecondaryIndex({
      indexName: REQUEST_INDEXES.byActiveUntil,
      partitionKey: { name: 'activeGrant', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'activeUntil', type: dynamodb.AttributeType.NUMBER },
    });
    this.tenantsTable = this.table('Tenants', { name: 'tenantId', type: dynamodb.AttributeType.STRING });
    // No TTL on Audit: the record is kept for good.
    this.auditTable = this.table(
      'Audit',
      { name: 'tenantId', type: dynamodb.AttributeType.STRING },
      { name: 'seq', type: dynamodb.AttributeType.NUMBER },
    );

    const linkKeyIds = props.linkKeyIds ?? DEFAULTS.linkKeyIds;
    this.linkKeys = Object.fromEntries(
      linkKeyIds.map((kid) => [
        kid,
        new kms.Key(this, `LinkKey-${kid}`, {
          description: `Lockbox approval links, key id ${kid}`,
          keySpec: kms.KeySpec.HMAC_256,
          keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC,
          // A dropped key id only ever verified links of at most 12 hours.
          removalPolicy: RemovalPolicy.DESTROY,
          pendingWindow: Duration.days(7),
        }),
      ]),
    );

    this.auditBus = new events.EventBus(this, 'AuditBus', {
      description: `Lockbox audit events: source ${AUDIT_EVENT_SOURCE}, detail-type = event type`,
    });
    this.auditBus.archive('AuditArchive', {
      description: 'Every Lockbox audit event, kept indefinitely',
      eventPattern: { source: [AUDIT_EVENT_SOURCE] },
    });

    const identity = props.email.identity ?? props.email.sender;
    if (props.email.createIdentity) {
      new ses.EmailIdentity(this, 'SenderIdentity', {
        identity: identity.includes('@') ? ses.Identity.email(identity) : ses.Identity.domain(identity),
      });
    }
    this.senderIdentityArn = stack.formatArn({ service: 'ses', resource: 'identity', resourceName: identity });

    // The machine's name is fixed so its ARN can be built without referencing it: notify is
    // invoked BY the machine, so a reference from notify's role or environment would be a cycle.
    const stateMachineName = `${stack.stackName}-AccessRequest`.slice(0, 80);
    const constructedStateMachineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    this.functions = this.createFunctions();
    this.wireFunctions(props, constructedStateMachineArn);

    this.stateMachine = this.createStateMachine(stateMachineName);
    this.functions.apiRequests.useStateMachine(this.stateMachine.stateMachineArn, [
      'states:StartExecution',
      'states:SendTaskSuccess',
      'states:SendTaskFailure',
    ]);
    this.functions.apiApprovals.useStateMachine(this.stateMachine.stateMachineArn, ['states:SendTaskSuccess']);
    this.functions.reconcile.useStateMachine(this.stateMachine.stateMachineArn, ['states:SendTaskSuccess']);
    [this.reconcilerDeadLetterQueue, this.reconcileSchedule] = this.scheduleReconciler();

    this.api = this.createApi(props);
    // Not this.api.url: the stage depends on the API functions, api-requests on the state
    // machine, the machine on notify. The REST API id alone makes no cycle.
    const stageUrl = `https://${this.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${API_STAGE}`;
    this.functions.notify.useSettings({ [ENV.linkBaseUrl]: props.linkBaseUrl ?? stageUrl });

    this.alarmTopic = this.createAlarmTopic(props);
    this.alarms = this.createAlarms();
    this.seedTenants(props);
    this.accessBoundary = this.createAccessBoundary(stateMachineName);
  }

  private table(id: string, partitionKey: dynamodb.Attribute, sortKey?: dynamodb.Attribute): dynamodb.Table {
    return new dynamodb.Table(this, id, {
      partitionKey,
      sortKey,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.dataKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  private createFunctions(): Record<LockboxFunctionName, LockboxFunction> {
    const entries = Object.entries(FUNCTIONS).map(([name, { id, handler, description, timeout }]) => [
      name,
      new LockboxFunction(this, id, { handler, description, timeout, logRetention: LOG_RETENTION, logGroupName: `${this.logPrefix}/${handler}` }),
    ]);
    return Object.fromEntries(entries) as Record<LockboxFunctionName, LockboxFunction>;
  }

  /** Environment and grants of each function, as docs/architecture.md lists them. */
  private wireFunctions(props: LockboxProps, constructedStateMachineArn: string) {
    const { apiRequests, apiTenants, apiApprovals, notify, expire, grant, revoke, close, reconcile } = this.functions;
    const directory = {
      [ENV.directory]: JSON.stringify({
        engineers: props.engineers.map(({ principal, email }) => (email ? { principal, email } : { principal })),
        managers: props.managers.map(({ principal, email }) => ({ principal, email })),
      }),
    };
    const durations = {
      [ENV.durationFloor]: props.durations?.floor ?? DEFAULTS.durationFloor,
      [ENV.durationCap]: props.durations?.cap ?? DEFAULTS.durationCap,
    };
    const accessProvider = props.accessProvider ?? DEFAULTS.accessProvider;
    const sender = props.email.sender;
    const currentLinkKey = Object.keys(this.linkKeys).at(-1) as string;
    // Built from the boundary's fixed name: the boundary names the functions (no cycle).
    const boundaryArn = accessBoundaryArn(Stack.of(this));

    // Every function writes audit events: the tenant's chain head moves with each one.
    for (const fn of Object.values(this.functions)) {
      fn.useTable(ENV.tenantsTable, this.tenantsTable, 'readUpdate')
        .useTable(ENV.auditTable, this.auditTable, fn === apiTenants ? 'appendRead' : 'append')
        .denyItemChanges(this.auditTable)
        .protectAccessBoundary(boundaryArn)
        .useAuditBus(this.auditBus);
    }
    for (const fn of [apiApprovals, notify, expire, grant, revoke, close]) {
      fn.useTable(ENV.requestsTable, this.requestsTable, 'readUpdate');
    }

    apiRequests
      .useTable(ENV.requestsTable, this.requestsTable, 'readWrite', Object.values(REQUEST_INDEXES))
      .useAccessProvider(accessProvider, 'revoke')
      .useSender(sender, this.senderIdentityArn)
      .useSettings({
        ...directory,
        ...durations,
        [ENV.managerApprovalTimeout]: props.approvalTimeouts?.manager ?? DEFAULTS.managerApprovalTimeout,
      });
    apiTenants.useSettings(durations);
    apiApprovals
      .useLinkKeys('verify', this.linkKeys, currentLinkKey)
      .useSender(sender, this.senderIdentityArn)
      .useSettings(directory);
    notify
      .useStateMachine(constructedStateMachineArn, ['states:SendTaskSuccess'])
      .useLinkKeys('sign', this.linkKeys, currentLinkKey)
      .useSender(sender, this.senderIdentityArn)
      .useSettings(directory);
    grant.useAccessProvider(accessProvider, 'grant', boundaryArn).useSender(sender, this.senderIdentityArn).useSettings(directory);
    for (const fn of [revoke, close]) {
      fn.useAccessProvider(accessProvider, 'revoke').useSender(sender, this.senderIdentityArn).useSettings(directory);
    }
    reconcile
      .useTable(ENV.requestsTable, this.requestsTable, 'queryUpdate', [REQUEST_INDEXES.byActiveUntil, REQUEST_INDEXES.byStatus])
      .useAccessProvider(accessProvider, 'reconcile')
      .useSender(sender, this.senderIdentityArn)
      .useSettings(directory);
  }

  /**
   * EventBridge Scheduler runs the reconciler every 5 minutes (it is independent of the workflow
   * it repairs). Invocations the scheduler cannot deliver land in a dead-letter queue, alarmed.
   */
  private scheduleReconciler(): [sqs.Queue, scheduler.Schedule] {
    const deadLetters = new sqs.Queue(this, 'ReconcilerDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: "This queue IS a dead-letter queue: the reconciler schedule's (EventBridge Scheduler), which cdk-nag does not recognise as one.",
    });
    const schedule = new scheduler.Schedule(this, 'ReconcileSchedule', {
      description: 'Lockbox reconciler: ends overdue grants, revokes left-over access, re-delivers stranded decisions',
      schedule: scheduler.ScheduleExpression.rate(RECONCILE_EVERY),
      target: new InvokeUnqualified(this.functions.reconcile.fn, {
        deadLetterQueue: deadLetters,
        retryAttempts: 2,
        maxEventAge: RECONCILE_EVERY,
      }),
    });
    return [deadLetters, schedule];
  }

  /** The access-request workflow from the ASL file, invoking exactly its five Lambdas. */
  private createStateMachine(stateMachineName: string): sfn.StateMachine {
    const workflowLogs = new logs.LogGroup(this, 'WorkflowLogs', {
      // The vended-logs prefix keeps CloudWatch Logs' resource policy small.
      logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
      retention: LOG_RETENTION,
    });
    const workflowFunctions = Object.entries(WORKFLOW_FUNCTIONS).map(([fn, placeholder]) => ({
      placeholder,
      arn: this.functions[fn as WorkflowFunction].fn.functionArn,
    }));
    const machine = new sfn.StateMachine(this, 'AccessRequest', {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(join(PROJECT_ROOT, STATE_MACHINE_FILE)),
      definitionSubstitutions: Object.fromEntries(workflowFunctions.map(({ placeholder, arn }) => [placeholder, arn])),
      // Task tokens and emails pass through the states: log every event, never its data.
      logs: { destination: workflowLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    machine.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: workflowFunctions.map(({ arn }) => arn) }));
    Validations.of(machine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Step Functions log delivery (logs:CreateLogDelivery and friends) and X-Ray tracing support no resource-level permissions.',
    });
    return machine;
  }

  private createApi(props: LockboxProps): apigw.RestApi {
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { logGroupName: `${this.logPrefix}/api-access`, retention: LOG_RETENTION });
    // The open approval routes get their own, lower limits. Access logs name the resource
    // template (`/approvals/{token}`), never the path, so no token reaches a log.
    const approvalMethods = Object.fromEntries(
      ['GET', 'HEAD', 'POST'].map((method) => [
        `/approvals/{token}/${method}`,
        {
          throttlingRateLimit: APPROVAL_THROTTLE.rateLimit,
          throttlingBurstLimit: APPROVAL_THROTTLE.burstLimit,
          loggingLevel: apigw.MethodLoggingLevel.ERROR,
          metricsEnabled: true,
        },
      ]),
    );
    const api = new apigw.RestApi(this, 'Api', {
      restApiName: `${Stack.of(this).stackName}-api`,
      description: 'Lockbox: access requests (IAM-signed) and approval links',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      policy: this.resourcePolicy(props),
      cloudWatchRole: true,
      deployOptions: {
        stageName: API_STAGE,
        tracingEnabled: true,
        metricsEnabled: true,
        // Errors only, and never request or response bodies (data trace off): bodies carry tokens.
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        throttlingRateLimit: 50,
        throttlingBurstLimit: 100,
        methodOptions: approvalMethods,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: apigw.AccessLogField.contextRequestId(),
            time: apigw.AccessLogField.contextRequestTime(),
            ip: apigw.AccessLogField.contextIdentitySourceIp(),
            caller: apigw.AccessLogField.contextIdentityUserArn(),
            method: apigw.AccessLogField.contextHttpMethod(),
            resource: apigw.AccessLogField.contextResourcePath(),
            status: apigw.AccessLogField.contextStatus(),
            length: apigw.AccessLogField.contextResponseLength(),
            error: apigw.AccessLogField.contextErrorResponseType(),
          }),
        ),
      },
      defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
    });

    // Gateway refusals speak the API's error shape too: {"error": {code, message}}.
    const errors: [string, apigw.ResponseType, string][] = [
      ['BadRequestBody', apigw.ResponseType.BAD_REQUEST_BODY, 'VALIDATION_FAILED'],
      ['BadRequestParameters', apigw.ResponseType.BAD_REQUEST_PARAMETERS, 'VALIDATION_FAILED'],
      ['AccessDenied', apigw.ResponseType.ACCESS_DENIED, 'FORBIDDEN'],
      ['Default5xx', apigw.ResponseType.DEFAULT_5XX, 'INTERNAL'],
    ];
    for (const [id, type, code] of errors) {
      api.addGatewayResponse(id, {
        type,
        templates: { 'application/json': `{"error":{"code":"${code}","message":$context.error.messageString}}` },
      });
    }

    const validator = api.addRequestValidator('Validator', { validateRequestBody: true, validateRequestParameters: true });
    // Body models come from the handlers' own zod schemas, so the two cannot disagree.
    const model = (id: string, zodSchema: z.ZodType) => {
      const { $schema: _draft, ...jsonSchema } = z.toJSONSchema(zodSchema, { target: 'draft-4', io: 'input' }) as Record<string, unknown>;
      return api.addModel(id, {
        contentType: 'application/json',
        modelName: id,
        schema: { schema: apigw.JsonSchemaVersion.DRAFT4, ...jsonSchema } as apigw.JsonSchema,
      });
    };
    const route = (
      resource: apigw.IResource,
      method: string,
      fn: LockboxFunction,
      options: { body?: apigw.IModel; open?: boolean } = {},
    ) => {
      const pathParameters = [...resource.path.matchAll(/\{(\w+)\}/g)].map((match) => `method.request.path.${match[1]}`);
      return resource.addMethod(method, new apigw.LambdaIntegration(fn.fn, { allowTestInvoke: false }), {
        requestValidator: validator,
        requestParameters: Object.fromEntries(pathParameters.map((name) => [name, true])),
        requestModels: options.body ? { 'application/json': options.body } : undefined,
        ...(options.open ? { authorizationType: apigw.AuthorizationType.NONE } : {}),
      });
    };

    const { apiRequests, apiTenants, apiApprovals } = this.functions;
    // Handlers route on `resource` + method, so the path parameters are `{id}` and `{token}`.
    const requests = api.root.addResource('requests');
    route(requests, 'POST', apiRequests, { body: model('CreateRequest', schema.createRequestBody) });
    route(requests, 'GET', apiRequests);
    const request = requests.addResource('{id}');
    route(request, 'GET', apiRequests);
    route(request.addResource('manager-decision'), 'POST', apiRequests, { body: model('ManagerDecision', schema.managerDecisionBody) });
    route(request.addResource('customer-decision'), 'POST', apiRequests, { body: model('CustomerDecision', schema.customerDecisionBody) });
    // cancel and revoke take an optional body: the handler validates it.
    route(request.addResource('cancel'), 'POST', apiRequests);
    route(request.addResource('revoke'), 'POST', apiRequests);

    const tenant = api.root.addResource('tenants').addResource('{id}');
    route(tenant, 'GET', apiTenants);
    route(tenant, 'PUT', apiTenants, { body: model('Tenant', schema.tenantBody) });
    route(tenant.addResource('audit'), 'GET', apiTenants);

    const approval = api.root.addResource('approvals').addResource('{token}');
    for (const method of ['GET', 'HEAD', 'POST']) {
      Validations.of(route(approval, method, apiApprovals, { open: true })).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: 'Approval links are opened from email by customer approvers without AWS credentials: the signed, single-use link token is the credential (KMS VerifyMac); the method is throttled.',
      });
    }

    Validations.of(api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason: 'Callers are IAM principals (AWS_IAM, SigV4) limited by the resource policy, not Cognito users; approval links carry their own signed token.',
    });
    Validations.of(api.node.findChild('CloudWatchRole')).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason: "API Gateway's account-level logging role: AWS's own policy for exactly this purpose.",
    });
    if (props.webAclArn) {
      new wafv2.CfnWebACLAssociation(this, 'ApiWebAcl', { resourceArn: api.deploymentStage.stageArn, webAclArn: props.webAclArn });
    } else {
      Validations.of(api.deploymentStage).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason: 'No web ACL configured (webAclArn): the IAM routes need SigV4 and a listed principal; the open approval routes are throttled per method and verify a KMS MAC. Set webAclArn to add WAF.',
      });
    }
    return api;
  }

  /**
   * Only the configured principals reach `/requests` and `/tenants`: an explicit Deny for any
   * other caller (it wins over any IAM policy), an Allow for them; `/approvals/*` is open.
   */
  private resourcePolicy(props: LockboxProps): iam.PolicyDocument {
    const principals = principalArnPatterns([
      ...props.engineers.map((person) => person.principal),
      ...props.managers.map((person) => person.principal),
      ...(props.tenants ?? []).flatMap((tenant) => [
        ...tenant.admins,
        ...(tenant.auditors ?? []),
        ...tenant.approvers.flatMap((approver) => (approver.principal ? [approver.principal] : [])),
      ]),
      ...(props.apiPrincipals ?? []),
    ]);
    const anyone = [new iam.AnyPrincipal()];
    const approvals = 'execute-api:/*/*/approvals/*';
    return new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({ sid: 'OpenApprovalLinks', principals: anyone, actions: ['execute-api:Invoke'], resources: [approvals] }),
        new iam.PolicyStatement({
          sid: 'ConfiguredPrincipals',
          principals: anyone,
          actions: ['execute-api:Invoke'],
          resources: ['execute-api:/*'],
          conditions: { ArnLike: { 'aws:PrincipalArn': principals } },
        }),
        new iam.PolicyStatement({
          sid: 'NobodyElse',
          effect: iam.Effect.DENY,
          principals: anyone,
          actions: ['execute-api:Invoke'],
          notResources: [approvals],
          conditions: { ArnNotLike: { 'aws:PrincipalArn': principals } },
        }),
      ],
    });
  }

  private createAlarmTopic(props: LockboxProps): sns.ITopic {
    const topic = props.alarms?.topicArn
      ? sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarms.topicArn)
      : new sns.Topic(this, 'AlarmTopic', { displayName: 'Lockbox alarms', masterKey: this.dataKey, enforceSSL: true });
    if (!props.alarms?.topicArn) {
      // CloudWatch publishes to the encrypted topic: it needs the key.
      this.dataKey.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: ['*'],
        }),
      );
    }
    if (props.alarms?.email) topic.addSubscription(new subscriptions.EmailSubscription(props.alarms.email));
    return topic;
  }

  private createAlarms(): cloudwatch.Alarm[] {
    const scope = new Construct(this, 'Alarms');
    const action = new cwActions.SnsAction(this.alarmTopic);
    const period = Duration.minutes(5);
    const alarm = (id: string, metric: cloudwatch.IMetric, description: string) => {
      const created = new cloudwatch.Alarm(scope, id, {
        // Named after the stack, so the access boundary can deny them all with one pattern.
        alarmName: `${Stack.of(this).stackName}-${id}`,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(action);
      return created;
    };
    return [
      // The revoke path ends in a Fail state ("Access could not be revoked"), so this covers it.
      alarm('ExecutionsFailed', this.stateMachine.metricFailed({ period }), 'An access-request execution failed. If it ended in "Access could not be revoked", check the request\'s IAM role now.'),
      alarm('ExecutionsTimedOut', this.stateMachine.metricTimedOut({ period }), 'An access-request execution timed out.'),
      alarm('ExecutionsAborted', this.stateMachine.metricAborted({ period }), 'An access-request execution was stopped by hand: access it granted may still need revoking.'),
      alarm('ApiServerErrors', this.api.metricServerError({ period }), 'The Lockbox API answered with 5xx errors.'),
      ...(Object.entries(this.functions) as [LockboxFunctionName, LockboxFunction][]).flatMap(([name, fn]) => {
        const { id, handler } = FUNCTIONS[name];
        return [
          alarm(`${id}Errors`, fn.fn.metricErrors({ period }), `The ${handler} function failed.`),
          alarm(`${id}Throttles`, fn.fn.metricThrottles({ period }), `The ${handler} function was throttled.`),
        ];
      }),
      // The only asynchronous invocation is the reconciler's schedule, so its queue is the only DLQ.
      alarm('ReconcilerDeadLetters', this.reconcilerDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }), 'The scheduler could not invoke the reconciler: check the messages in its dead-letter queue.'),
      alarm(
        'ReconcilerActions',
        new cloudwatch.Metric({ namespace: 'Lockbox', metricName: 'LockboxReconcilerActions', statistic: 'Sum', period }),
        'The reconciler had to repair requests the workflow missed (overdue grants, left-over roles, undelivered decisions): find out why in its log.',
      ),
    ];
  }

  /**
   * The boundary every access role carries: it names everything of Lockbox's that an access role
   * must never touch, so it is built last.
   */
  private createAccessBoundary(stateMachineName: string): AccessBoundary {
    const stack = Stack.of(this);
    const functions = Object.values(this.functions);
    const boundary = new AccessBoundary(this, 'AccessBoundary', {
      protect: {
        tableArns: [this.requestsTable, this.tenantsTable, this.auditTable].map((table) => table.tableArn),
        stateMachineArn: this.stateMachine.stateMachineArn,
        executionArnPattern: stack.formatArn({
          service: 'states',
          resource: 'execution',
          resourceName: `${stateMachineName}:*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
        keyArns: [this.dataKey, ...Object.values(this.linkKeys)].map((key) => key.keyArn),
        logGroupNamePatterns: [
          `/lockbox/${stack.stackName}/*`,
          `/aws/vendedlogs/states/${stateMachineName}*`,
          // API Gateway's execution logs (ERROR level) of the stage.
          `API-Gateway-Execution-Logs_${this.api.restApiId}/${API_STAGE}*`,
        ],
        functionArns: functions.map((fn) => fn.fn.functionArn),
        eventBusArn: this.auditBus.eventBusArn,
        scheduleArn: this.reconcileSchedule.scheduleArn,
        deadLetterQueueArn: this.reconcilerDeadLetterQueue.queueArn,
        alarmTopicArn: this.alarmTopic.topicArn,
        alarmArnPattern: stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: `${stack.stackName}-*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
      },
    });
    Validations.of(boundary.policy).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Action::*]',
        reason: "A permissions boundary caps, it grants nothing: its Allow * lets through exactly what the tenant's access level attaches to the role; the boundary's Deny statements take Lockbox, CloudTrail and ways to outlive the window out of it.",
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: "Same Allow * of the permissions boundary: the tenant's managed policies decide the resources; the Deny statements name Lockbox's own.",
      },
    );
    return boundary;
  }

  /** Creates each configured tenant once (PutItem if absent); later changes go through the API. */
  private seedTenants(props: LockboxProps) {
    const tenants = props.tenants ?? [];
    if (tenants.length === 0) return;
    const scope = new Construct(this, 'SeedTenants');
    const logGroup = new logs.LogGroup(scope, 'Logs', { logGroupName: `${this.logPrefix}/seed-tenants`, retention: LOG_RETENTION });
    const defaults = {
      maxAccessDuration: props.durations?.cap ?? DEFAULTS.durationCap,
      approvalTimeout: props.approvalTimeouts?.customer ?? DEFAULTS.customerApprovalTimeout,
    };
    const policy = cr.AwsCustomResourcePolicy.fromStatements([
      new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [this.tenantsTable.tableArn] }),
      new iam.PolicyStatement({ actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'], resources: [this.dataKey.keyArn] }),
    ]);
    for (const tenant of tenants) {
      new cr.AwsCustomResource(scope, tenant.tenantId, {
        onCreate: {
          service: 'DynamoDB',
          action: 'PutItem',
          parameters: {
            TableName: this.tenantsTable.tableName,
            Item: toItem(tenantItem(tenant, defaults)),
            ConditionExpression: 'attribute_not_exists(tenantId)',
          },
          physicalResourceId: cr.PhysicalResourceId.of(`lockbox-tenant-${tenant.tenantId}`),
          // Already there (seeded before, or created through the API): leave it as it is.
          ignoreErrorCodesMatching: 'ConditionalCheckFailedException',
        },
        policy,
        logGroup,
        installLatestAwsSdk: false,
      });
    }
    const provider = Stack.of(this).node.findChild(`AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`);
    Validations.of(provider).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: "The CDK's AwsCustomResource provider (tenant seeding at deployment) writes its logs with AWS's basic execution policy.",
    });
  }
}
