import { type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { z } from 'zod';
import * as schema from '../lambdas/core/http/schemas';
import { principalArnPatterns } from './lockbox-helpers';

/** The API's only stage; the approval links' base URL is built from it (see `linkBaseUrl`). */
export const API_STAGE = 'v1';
/** Per-method limits of the open `/approvals/{token}` routes (requests per second, whole stage). */
export const APPROVAL_THROTTLE = { rateLimit: 10, burstLimit: 20 };

export interface LockboxApiProps {
  /** The handlers of `/requests`, `/tenants` and `/approvals/{token}`. */
  readonly functions: { readonly requests: lambda.IFunction; readonly tenants: lambda.IFunction; readonly approvals: lambda.IFunction };
  /**
   * The principals the resource policy lets call `/requests` and `/tenants` (IAM user or role
   * ARNs, STS assumed-role session ARNs, engineers' patterns ending in `*`). Nobody else can.
   */
  readonly principals: readonly string[];
  /** The access log group's name. */
  readonly accessLogGroupName: string;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** Encrypts the log group. @default - CloudWatch Logs' own encryption */
  readonly logEncryptionKey?: kms.IKey;
  /** Of the log group. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** The REST API's name (not unique: API Gateway allows repeats). @default - the construct's path */
  readonly restApiName?: string;
  /**
   * Create the account's API Gateway CloudWatch role (`AWS::ApiGateway::Account`, one per account
   * and region, shared by every API there). The stage logs to CloudWatch, which needs that role.
   * @default false
   */
  readonly cloudWatchRole?: boolean;
  /** A regional WAFv2 web ACL to associate with the stage. @default - none */
  readonly webAclArn?: string;
}

/**
 * The REST API: IAM-signed `/requests` and `/tenants`, open (token-carrying, throttled)
 * `/approvals/{token}`, body models from the handlers' zod schemas, errors in the API's shape.
 */
export class LockboxApi extends Construct {
  readonly api: apigw.RestApi;
  readonly accessLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: LockboxApiProps) {
    super(scope, id);
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      logGroupName: props.accessLogGroupName,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: props.logRemovalPolicy,
    });
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
      restApiName: props.restApiName,
      description: 'Lockbox: access requests (IAM-signed) and approval links',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      policy: resourcePolicy(props.principals),
      cloudWatchRole: props.cloudWatchRole ?? false,
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
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
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
    this.api = api;

    // Gateway refusals (in the API's error shape): lib/api-inputs.ts.

    const validator = api.addRequestValidator('Validator', { validateRequestBody: true, validateRequestParameters: true });
    // Body models come from the handlers' own zod schemas, so the two cannot disagree.
    const model = (modelId: string, zodSchema: z.core.$ZodType) => {
      const { $schema: _draft, ...jsonSchema } = z.toJSONSchema(zodSchema, { target: 'draft-4', io: 'input' }) as Record<string, unknown>;
      return api.addModel(modelId, {
        contentType: 'application/json',
        modelName: modelId,
        schema: { schema: apigw.JsonSchemaVersion.DRAFT4, ...jsonSchema } as apigw.JsonSchema,
      });
    };
    const route = (
      resource: apigw.IResource,
      method: string,
      fn: lambda.IFunction,
      options: { body?: apigw.IModel; open?: boolean } = {},
    ) => {
      const pathParameters = [...resource.path.matchAll(/\{(\w+)\}/g)].map((match) => `method.request.path.${match[1]}`);
      return resource.addMethod(method, new apigw.LambdaIntegration(fn, { allowTestInvoke: false }), {
        requestValidator: validator,
        requestParameters: Object.fromEntries(pathParameters.map((name) => [name, true])),
        requestModels: options.body ? { 'application/json': options.body } : undefined,
        ...(options.open ? { authorizationType: apigw.AuthorizationType.NONE } : {}),
      });
    };

    const { requests: apiRequests, tenants: apiTenants, approvals: apiApprovals } = props.functions;
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

    const tenants = api.root.addResource('tenants');
    route(tenants, 'POST', apiTenants, { body: model('NewTenant', schema.createTenantBody) });
    route(tenants, 'GET', apiTenants);
    const tenant = tenants.addResource('{id}');
    route(tenant, 'GET', apiTenants);
    route(tenant, 'PUT', apiTenants, { body: model('Tenant', schema.tenantBody) });
    const audit = tenant.addResource('audit');
    route(audit, 'GET', apiTenants);
    route(audit.addResource('digests'), 'GET', apiTenants);
    route(audit.addResource('verify'), 'GET', apiTenants);

    const approval = api.root.addResource('approvals').addResource('{token}');
    for (const method of ['GET', 'HEAD', 'POST']) {
      Validations.of(route(approval, method, apiApprovals, { open: true })).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Approval links are opened from email by customer approvers without AWS credentials: the signed, single-use link token is the credential (KMS VerifyMac); the method is throttled.',
      });
    }

    Validations.of(api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'Callers are IAM principals (AWS_IAM, SigV4) limited by the resource policy, not Cognito users; approval links carry their own signed token.',
    });
    const cloudWatchRole = api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: "API Gateway's account-level logging role: AWS's own policy for exactly this purpose.",
      });
    }
    if (props.webAclArn) {
      new wafv2.CfnWebACLAssociation(this, 'WebAcl', { resourceArn: api.deploymentStage.stageArn, webAclArn: props.webAclArn });
    } else {
      Validations.of(api.deploymentStage).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          'No web ACL configured (webAclArn): the IAM routes need SigV4 and a listed principal; the open approval routes are throttled per method and verify a KMS MAC. Set webAclArn to add WAF.',
      });
    }
  }

  /**
   * The stage URL, built from the REST API id. Not `api.url`: the stage depends on the API
   * functions, api-requests on the state machine, the machine on notify, which needs this URL.
   */
  get stageUrl(): string {
    const stack = Stack.of(this);
    return `https://${this.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${API_STAGE}`;
  }
}

/**
 * Only the listed principals reach `/requests` and `/tenants`: an explicit Deny for any other
 * caller (it wins over any IAM policy), an Allow for them; `/approvals/*` and the console are open.
 */
function resourcePolicy(callers: readonly string[]): iam.PolicyDocument {
  const principals = principalArnPatterns(callers);
  const anyone = [new iam.AnyPrincipal()];
  const approvals = 'execute-api:/*/*/approvals/*';
  // The console (lib/console.ts): its signed session is the credential.
  const open = [approvals, 'execute-api:/*/*/console', 'execute-api:/*/*/console/*'];
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({ sid: 'OpenApprovalLinks', principals: anyone, actions: ['execute-api:Invoke'], resources: open }),
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
        notResources: open,
        conditions: { ArnNotLike: { 'aws:PrincipalArn': principals } },
      }),
    ],
  });
}
