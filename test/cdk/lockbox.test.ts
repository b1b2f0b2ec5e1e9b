import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { AUDIT_EVENT_SOURCE } from '../../lambdas/core/adapters/audit-publishers';
import { ENV } from '../../lambdas/core/config';
import { STATE_MACHINE_FILE, WORKFLOW_FUNCTIONS, type WorkflowFunction } from '../../lambdas/core/workflow-definition';
import { accessBoundaryArn } from '../../lib/access-boundary';
import { parseConfig } from '../../lib/config';
import type { LockboxFunctionName } from '../../lib/lockbox';
import type { LockboxFunction } from '../../lib/lockbox-function';
import { LockboxStack } from '../../lib/lockbox-stack';

/** A deployment with one seeded tenant; bundling skipped so synth is fast. */
const config = parseConfig(
  {
    providerAccount: '111111111111',
    engineers: [{ principal: 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/*', sessionNameSetBy: 'idp' }],
    managers: [{ principal: 'arn:aws:sts::111111111111:assumed-role/SupportManager/mallory', email: 'mallory@provider.example' }],
    admins: [{ principal: 'arn:aws:sts::111111111111:assumed-role/LockboxOperator/olivia' }],
    email: { sender: 'lockbox@provider.example', identity: 'provider.example' },
    tenants: [
      {
        tenantId: 'acme',
        displayName: 'Acme',
        approvers: [{ email: 'alice@acme.example', principal: 'arn:aws:sts::222222222222:assumed-role/Approver/alice' }],
        admins: ['arn:aws:iam::222222222222:user/bob'],
        customerAccounts: ['222222222222'],
        accessLevels: { 'read-only': { managedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] } },
      },
    ],
    alarms: { email: 'oncall@provider.example' },
  },
  'test',
);
const app = new App({ context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true } });
const stack = new LockboxStack(app, 'Test', { config });
const { lockbox } = stack;
let template: Template;
let resources: Record<string, { Type: string; Properties: any; DeletionPolicy?: string; Metadata?: any }>;

beforeAll(() => {
  // Also refuses a template with a dependency cycle ("Template is undeployable").
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
}, 120_000);

interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: unknown;
}

const logicalId = (construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
const getAtt = (construct: IConstruct, attribute = 'Arn') => ({ 'Fn::GetAtt': [logicalId(construct), attribute] });
const actions = (statement: Statement) => [statement.Action].flat();
const resourcesOf = (statement: Statement) => [statement.Resource].flat();
const functionNames = () => Object.keys(lockbox.functions) as LockboxFunctionName[];

/** Every statement of the policies attached to a role. */
function statementsOfRole(roleId: string): Statement[] {
  return Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::IAM::Policy')
    .filter((policy) => policy.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleId))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}
const statementsOf = (fn: LockboxFunction) => statementsOfRole(logicalId(fn.role));
const allows = (fn: LockboxFunction, action: string) =>
  statementsOf(fn).filter((statement) => statement.Effect === 'Allow' && actions(statement).includes(action));
const environmentOf = (fn: LockboxFunction): Record<string, any> => resources[logicalId(fn.fn)].Properties.Environment.Variables;
const whoMay = (action: string) => functionNames().filter((name) => allows(lockbox.functions[name], action).length > 0);

describe('API', () => {
  const methods = () => lockbox.api.methods.map((method) => ({ method, route: `${method.httpMethod} ${method.resource.path}` }));

  it('serves exactly the routes the handlers route on, with path parameters {id} and {token}', () => {
    expect(
      methods()
        .map(({ route }) => route)
        .sort(),
    ).toEqual(
      [
        'POST /requests',
        'GET /requests',
        'GET /requests/{id}',
        'POST /requests/{id}/manager-decision',
        'POST /requests/{id}/customer-decision',
        'POST /requests/{id}/cancel',
        'POST /requests/{id}/revoke',
        'POST /tenants',
        'GET /tenants',
        'GET /tenants/{id}',
        'PUT /tenants/{id}',
        'GET /tenants/{id}/audit',
        'GET /tenants/{id}/audit/digests',
        'GET /tenants/{id}/audit/verify',
        'GET /approvals/{token}',
        'HEAD /approvals/{token}',
        'POST /approvals/{token}',
        ...['GET', 'HEAD', 'POST'].flatMap((method) => [`${method} /console`, `${method} /console/{proxy+}`]),
      ].sort(),
    );
  });

  it('sends each route to its handler through a Lambda proxy integration', () => {
    const owner = (path: string) =>
      path.startsWith('/requests')
        ? lockbox.functions.apiRequests
        : path.startsWith('/tenants')
          ? lockbox.functions.apiTenants
          : path.startsWith('/console')
            ? lockbox.functions.console
            : lockbox.functions.apiApprovals;
    for (const { method } of methods()) {
      const integration = resources[logicalId(method)].Properties.Integration;
      expect(integration.Type).toBe('AWS_PROXY');
      expect(JSON.stringify(integration.Uri)).toContain(JSON.stringify(getAtt(owner(method.resource.path).fn)));
    }
  });

  it('requires AWS_IAM on every /requests and /tenants method', () => {
    const signed = methods().filter(({ route }) => !route.includes('/approvals') && !route.includes('/console'));
    expect(signed).toHaveLength(14);
    for (const { method } of signed) expect(resources[logicalId(method)].Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('leaves GET, HEAD and POST /approvals/{token} open (the token is the credential) and throttles them', () => {
    const open = methods().filter(({ route }) => route.includes('/approvals/{token}'));
    expect(open.map(({ method }) => method.httpMethod).sort()).toEqual(['GET', 'HEAD', 'POST']);
    for (const { method } of open) expect(resources[logicalId(method)].Properties.AuthorizationType).toBe('NONE');
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith(
        ['GET', 'HEAD', 'POST'].map((httpMethod) =>
          Match.objectLike({
            HttpMethod: httpMethod,
            ResourcePath: '/~1approvals~1{token}',
            ThrottlingRateLimit: 10,
            ThrottlingBurstLimit: 20,
          }),
        ),
      ),
    });
  });

  it('lets only configured principals through its resource policy, and leaves /approvals open', () => {
    const principals = [
      'arn:aws:iam::111111111111:role/LockboxOperator',
      'arn:aws:iam::111111111111:role/SupportEngineer',
      'arn:aws:iam::111111111111:role/SupportManager',
      'arn:aws:iam::222222222222:role/Approver',
      'arn:aws:iam::222222222222:user/bob',
    ];
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Policy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { AWS: '*' },
            Resource: ['execute-api:/*/*/approvals/*', 'execute-api:/*/*/console', 'execute-api:/*/*/console/*'],
          }),
          Match.objectLike({
            Effect: 'Allow',
            Resource: 'execute-api:/*',
            Condition: { ArnLike: { 'aws:PrincipalArn': Match.arrayWith(principals) } },
          }),
          Match.objectLike({
            Effect: 'Deny',
            Principal: { AWS: '*' },
            NotResource: ['execute-api:/*/*/approvals/*', 'execute-api:/*/*/console', 'execute-api:/*/*/console/*'],
            Condition: { ArnNotLike: { 'aws:PrincipalArn': Match.arrayWith(principals) } },
          }),
        ]),
      },
    });
  });

  it('validates request bodies with models generated from the handlers’ schemas', () => {
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true, ValidateRequestParameters: true });
    const create = methods().find(({ route }) => route === 'POST /requests')!.method;
    const { RequestModels, RequestValidatorId } = resources[logicalId(create)].Properties;
    expect(RequestValidatorId).toBeDefined();
    const modelId = RequestModels['application/json'].Ref;
    expect(resources[modelId].Properties.Schema).toMatchObject({
      $schema: 'http://json-schema.org/draft-04/schema#',
      type: 'object',
      required: expect.arrayContaining(['tenantId', 'ticketId', 'justification', 'accessLevel', 'duration']),
      additionalProperties: false,
    });
  });

  it('has a traced stage whose access log names the route template, never the path with its token', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      AccessLogSetting: Match.objectLike({ Format: Match.stringLikeRegexp('\\$context\\.resourcePath') }),
      MethodSettings: Match.arrayWith([
        Match.objectLike({ ResourcePath: '/*', HttpMethod: '*', LoggingLevel: 'ERROR', DataTraceEnabled: false }),
      ]),
    });
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0];
    expect(stage.Properties.AccessLogSetting.Format).not.toContain('$context.path');
  });
});

describe('tables', () => {
  const tables = () => ({ Requests: lockbox.requestsTable, Tenants: lockbox.tenantsTable, Audit: lockbox.auditTable });

  it.each(['Requests', 'Tenants', 'Audit'] as const)('%s: on demand, PITR, deletion protection, customer-managed key, retained', (name) => {
    const table = resources[logicalId(tables()[name])];
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: getAtt(lockbox.dataKey) },
    });
  });

  it.each(['Requests', 'Tenants', 'Audit'] as const)('%s is found by local mode by its aws:cdk:path', (name) => {
    expect(resources[logicalId(tables()[name])].Metadata['aws:cdk:path']).toBe(`Test/Lockbox/Data/${name}/Resource`);
  });

  it('gives Requests the indexes the store queries', () => {
    expect(resources[logicalId(lockbox.requestsTable)].Properties.GlobalSecondaryIndexes).toEqual([
      expect.objectContaining({
        IndexName: 'byTenant',
        KeySchema: [
          { AttributeName: 'tenantId', KeyType: 'HASH' },
          { AttributeName: 'createdAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      }),
      expect.objectContaining({
        IndexName: 'byStatus',
        KeySchema: [
          { AttributeName: 'status', KeyType: 'HASH' },
          { AttributeName: 'createdAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      }),
      expect.objectContaining({
        IndexName: 'byActiveUntil',
        KeySchema: [
          { AttributeName: 'activeGrant', KeyType: 'HASH' },
          { AttributeName: 'activeUntil', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      }),
      // Sparse: only requests whose chain advanced since the last digest; only the heads projected.
      expect.objectContaining({
        IndexName: 'byUnsealedChain',
        KeySchema: [{ AttributeName: 'sealTenant', KeyType: 'HASH' }],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['auditSeq', 'auditHead'] },
      }),
    ]);
  });

  it('keys Audit by chain and sequence number, lists a tenant by time, without TTL', () => {
    expect(resources[logicalId(lockbox.auditTable)].Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'chainId', KeyType: 'HASH' },
        { AttributeName: 'seq', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        expect.objectContaining({
          IndexName: 'byTenantTime',
          KeySchema: [
            { AttributeName: 'tenantId', KeyType: 'HASH' },
            { AttributeName: 'timeKey', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        }),
      ],
    });
    expect(resources[logicalId(lockbox.auditTable)].Properties.TimeToLiveSpecification).toBeUndefined();
  });

  it('encrypts with a rotating, retained key', () => {
    const key = resources[logicalId(lockbox.dataKey)];
    expect(key.DeletionPolicy).toBe('Retain');
    expect(key.Properties.EnableKeyRotation).toBe(true);
  });

  it('explicitly denies every function changing or deleting audit items', () => {
    for (const name of functionNames()) {
      expect(statementsOf(lockbox.functions[name])).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']),
          Resource: getAtt(lockbox.auditTable),
        }),
      );
    }
  });

  it('allows only puts (and, for the audit API and the console, queries; for the export, reading the stream) on Audit', () => {
    for (const name of functionNames()) {
      const onAudit = statementsOf(lockbox.functions[name]).filter(
        (statement) => statement.Effect === 'Allow' && JSON.stringify(statement.Resource).includes(logicalId(lockbox.auditTable)),
      );
      const expected =
        name === 'exportAudit'
          ? ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator']
          : ['apiTenants', 'console', 'sealDigests'].includes(name)
            ? ['dynamodb:PutItem', 'dynamodb:Query']
            : ['dynamodb:PutItem'];
      expect(onAudit.flatMap(actions).sort()).toEqual(expected);
    }
  });

  it('lets only api-requests create requests and query their indexes', () => {
    expect(
      whoMay('dynamodb:PutItem').filter((name) =>
        allows(lockbox.functions[name], 'dynamodb:PutItem').some((s) =>
          JSON.stringify(s.Resource).includes(logicalId(lockbox.requestsTable)),
        ),
      ),
    ).toEqual(['apiRequests']);
    const [query] = allows(lockbox.functions.apiRequests, 'dynamodb:Query').filter((s) =>
      JSON.stringify(s.Resource).includes(logicalId(lockbox.requestsTable)),
    );
    expect(JSON.stringify(query.Resource)).toContain('/index/byTenant');
    expect(JSON.stringify(query.Resource)).not.toContain('/index/*');
  });
});

describe('state machine', () => {
  const definition = readFileSync(join(__dirname, '..', '..', STATE_MACHINE_FILE), 'utf8');
  const machine = () => resources[logicalId(lockbox.stateMachine)].Properties;

  it('is a Standard workflow, traced, logging ALL without execution data', () => {
    expect(machine()).toMatchObject({
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
    });
  });

  it('substitutes every placeholder of the ASL file, and nothing else', () => {
    const placeholders = new Set([...definition.matchAll(/\$\{(\w+)\}/g)].map((match) => match[1]));
    expect(placeholders.size).toBeGreaterThan(0);
    expect(Object.keys(machine().DefinitionSubstitutions).sort()).toEqual([...placeholders].sort());
  });

  it('substitutes each placeholder with the ARN of its Lambda', () => {
    for (const [fn, placeholder] of Object.entries(WORKFLOW_FUNCTIONS)) {
      expect(machine().DefinitionSubstitutions[placeholder]).toEqual(getAtt(lockbox.functions[fn as WorkflowFunction].fn));
    }
  });

  it('may invoke exactly its five Lambdas', () => {
    const invoke = statementsOfRole(logicalId(lockbox.stateMachine.role)).filter((statement) =>
      actions(statement).some((a) => a.startsWith('lambda:')),
    );
    expect(invoke).toHaveLength(1);
    expect(actions(invoke[0])).toEqual(['lambda:InvokeFunction']);
    expect(resourcesOf(invoke[0])).toEqual(
      (Object.keys(WORKFLOW_FUNCTIONS) as WorkflowFunction[]).map((fn) => getAtt(lockbox.functions[fn].fn)),
    );
  });

  it('lets api-requests start executions and settle tasks, on exactly this machine', () => {
    const states = statementsOf(lockbox.functions.apiRequests).filter((statement) =>
      actions(statement).some((a) => a.startsWith('states:')),
    );
    expect(states).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: ['states:StartExecution', 'states:SendTaskSuccess', 'states:SendTaskFailure'],
        Resource: { Ref: logicalId(lockbox.stateMachine) },
      }),
    ]);
  });

  it('lets only api-requests, api-approvals, the console, notify and the reconciler touch executions; all but the first only SendTaskSuccess (the reconciler also reads executions)', () => {
    const touching = functionNames().filter((name) =>
      statementsOf(lockbox.functions[name]).some((s) => actions(s).some((a) => a.startsWith('states:'))),
    );
    expect(touching.sort()).toEqual(['apiApprovals', 'apiRequests', 'console', 'notify', 'reconcile']);
    const statesOf = (name: 'apiApprovals' | 'console' | 'notify' | 'reconcile') =>
      statementsOf(lockbox.functions[name]).filter((s) => actions(s).some((a) => a.startsWith('states:')));
    for (const name of ['apiApprovals', 'console', 'notify'] as const)
      expect(statesOf(name).flatMap(actions)).toEqual(['states:SendTaskSuccess']);
    // Finding requests whose execution ended: list the machine's executions, describe them; nothing that changes one.
    expect(statesOf('reconcile').flatMap(actions)).toEqual(['states:SendTaskSuccess', 'states:ListExecutions', 'states:DescribeExecution']);
  });

  it('gives notify the machine’s ARN built from its fixed name (no dependency cycle)', () => {
    const arn = environmentOf(lockbox.functions.notify)[ENV.stateMachineArn];
    expect(JSON.stringify(arn)).toContain(`:stateMachine:${machine().StateMachineName}`);
    expect(allows(lockbox.functions.notify, 'states:SendTaskSuccess')[0].Resource).toEqual(arn);
  });
});

describe('functions', () => {
  it('run Node 22 on arm64 with active tracing and their own log group', () => {
    for (const name of functionNames()) {
      const fn = lockbox.functions[name];
      expect(resources[logicalId(fn.fn)].Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: { Ref: logicalId(fn.logGroup) } },
        Role: getAtt(fn.role),
      });
      expect(resources[logicalId(fn.logGroup)].Properties.RetentionInDays).toBe(365);
    }
  });

  it('have one role each', () => {
    const roles = new Set(functionNames().map((name) => resources[logicalId(lockbox.functions[name].fn)].Properties.Role['Fn::GetAtt'][0]));
    expect(roles.size).toBe(functionNames().length);
  });

  it.each([
    [ENV.requestsTable, 'dynamodb:GetItem', () => lockbox.requestsTable.tableArn],
    [ENV.tenantsTable, 'dynamodb:GetItem', () => lockbox.tenantsTable.tableArn],
    [ENV.auditTable, 'dynamodb:PutItem', () => lockbox.auditTable.tableArn],
    [ENV.stateMachineArn, 'states:SendTaskSuccess', undefined],
    [ENV.senderEmail, 'ses:SendEmail', undefined],
    [ENV.linkKmsKeys, undefined, undefined],
    [ENV.auditBusName, 'events:PutEvents', () => lockbox.auditBus.eventBusArn],
    [ENV.accessProvider, 'iam:DeleteRole', undefined],
    [ENV.accessBoundaryArn, 'iam:CreateRole', undefined],
    [ENV.pageTokenKey, 'kms:GenerateMac', () => lockbox.pageTokenKey.key.keyArn],
  ])('set %s exactly where they grant its resource', (envName, action, arn) => {
    for (const name of functionNames()) {
      const fn = lockbox.functions[name];
      const hasEnv = envName in environmentOf(fn);
      const grants = action
        ? allows(fn, action).filter((s) => !arn || JSON.stringify(s.Resource).includes(JSON.stringify(stack.resolve(arn()))))
        : statementsOf(fn).filter(
            (s) =>
              actions(s).some((a) => a === 'kms:GenerateMac' || a === 'kms:VerifyMac') &&
              JSON.stringify(s.Resource).includes(logicalId(lockbox.linkKeys.k1)),
          );
      expect({ name, hasGrant: grants.length > 0 }).toEqual({ name, hasGrant: hasEnv });
    }
  });

  it('name the Powertools service and metrics namespace on every function (the alarms read them)', () => {
    for (const name of functionNames()) {
      expect(environmentOf(lockbox.functions[name])).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'lockbox',
        POWERTOOLS_METRICS_NAMESPACE: 'Lockbox',
      });
    }
  });

  it('let only notify GenerateMac and only api-approvals and the console VerifyMac, on the HMAC link key', () => {
    const onLinkKey = (name: LockboxFunctionName, action: string) =>
      allows(lockbox.functions[name], action).some((s) => JSON.stringify(s.Resource).includes(logicalId(lockbox.linkKeys.k1)));
    expect(functionNames().filter((name) => onLinkKey(name, 'kms:GenerateMac'))).toEqual(['notify']);
    expect(
      functionNames()
        .filter((name) => onLinkKey(name, 'kms:VerifyMac'))
        .sort(),
    ).toEqual(['apiApprovals', 'console']);
    const key = lockbox.linkKeys.k1;
    expect(allows(lockbox.functions.notify, 'kms:GenerateMac')[0].Resource).toEqual(getAtt(key));
    expect(allows(lockbox.functions.apiApprovals, 'kms:VerifyMac')[0].Resource).toEqual(getAtt(key));
    expect(resources[logicalId(key)].Properties).toMatchObject({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    for (const fn of [lockbox.functions.notify, lockbox.functions.apiApprovals]) {
      expect(environmentOf(fn)).toMatchObject({ [ENV.linkSigner]: 'kms', [ENV.linkCurrentKey]: 'k1' });
    }
  });

  it('never allow a wildcard action on iam, dynamodb or kms', () => {
    const everyStatement = Object.values(resources)
      .filter((resource) => resource.Type === 'AWS::IAM::Policy')
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
      .filter((statement) => statement.Effect === 'Allow');
    const wild = everyStatement.flatMap(actions).filter((action) => action === '*' || /^(iam|dynamodb|kms):.*\*/.test(action));
    expect(wild).toEqual([]);
  });

  it('manage access roles only under /lockbox/, and only grant may create them', () => {
    expect(whoMay('iam:CreateRole')).toEqual(['grant']);
    expect(whoMay('iam:DeleteRole').sort()).toEqual(['apiRequests', 'close', 'console', 'grant', 'reconcile', 'revoke']);
    expect(whoMay('iam:ListRoles')).toEqual(['reconcile']);
    for (const name of whoMay('iam:DeleteRole')) {
      for (const statement of statementsOf(lockbox.functions[name]).filter(
        (s) => s.Effect === 'Allow' && actions(s).some((a) => a.startsWith('iam:')),
      )) {
        expect(stack.resolve(statement.Resource)).toEqual({
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/lockbox/*']],
        });
      }
      expect(environmentOf(lockbox.functions[name])[ENV.accessProvider]).toBe('iam');
    }
  });

  it('send email only as the configured SES identity, from the functions that email', () => {
    expect(whoMay('ses:SendEmail').sort()).toEqual([
      'apiApprovals',
      'apiRequests',
      'close',
      'console',
      'grant',
      'notify',
      'reconcile',
      'revoke',
    ]);
    for (const name of whoMay('ses:SendEmail')) {
      const [statement] = allows(lockbox.functions[name], 'ses:SendEmail');
      expect(actions(statement)).toEqual(['ses:SendEmail', 'ses:SendRawEmail']);
      expect(JSON.stringify(statement.Resource)).toContain(':identity/provider.example');
    }
  });

  it('give notify the API stage URL as the base of approval links', () => {
    expect(environmentOf(lockbox.functions.notify)[ENV.linkBaseUrl]).toEqual({
      'Fn::Join': [
        '',
        ['https://', { Ref: logicalId(lockbox.api) }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/v1'],
      ],
    });
  });

  it('carry the directory of engineers and managers as JSON', () => {
    const directory = JSON.parse(environmentOf(lockbox.functions.apiRequests)[ENV.directory]);
    expect(directory).toEqual({ engineers: config.engineers, managers: config.managers, admins: config.admins });
  });

  it('give the tenants API the directory (deployment admins create and list tenants), and only it, the console and the digest sealer may scan Tenants', () => {
    expect(JSON.parse(environmentOf(lockbox.functions.apiTenants)[ENV.directory])).toMatchObject({ admins: config.admins });
    expect(whoMay('dynamodb:Scan').sort()).toEqual(['apiTenants', 'console', 'sealDigests']);
    for (const fn of [lockbox.functions.apiTenants, lockbox.functions.console, lockbox.functions.sealDigests]) {
      expect(allows(fn, 'dynamodb:Scan').map((statement) => statement.Resource)).toEqual([
        { 'Fn::GetAtt': [logicalId(lockbox.tenantsTable), 'Arn'] },
      ]);
    }
  });
});

describe('reconciler', () => {
  it('runs every 5 minutes from EventBridge Scheduler, with a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      Target: Match.objectLike({
        Arn: getAtt(lockbox.functions.reconcile.fn),
        DeadLetterConfig: { Arn: getAtt(lockbox.reconcilerDeadLetterQueue) },
      }),
    });
  });

  it('lets the scheduler invoke the reconciler function only', () => {
    const [schedule] = Object.values(template.findResources('AWS::Scheduler::Schedule'));
    const invoke = statementsOfRole(schedule.Properties.Target.RoleArn['Fn::GetAtt'][0]).filter((s) =>
      actions(s).includes('lambda:InvokeFunction'),
    );
    expect(invoke.map((s) => s.Resource)).toEqual([getAtt(lockbox.functions.reconcile.fn)]);
  });

  it('queries only the active-grants and status indexes of Requests, and creates nothing', () => {
    const [query] = allows(lockbox.functions.reconcile, 'dynamodb:Query').filter((s) =>
      JSON.stringify(s.Resource).includes(logicalId(lockbox.requestsTable)),
    );
    const indexes = JSON.stringify(query.Resource).match(/index\/\w+/g);
    expect(indexes).toEqual(['index/byActiveUntil', 'index/byStatus']);
    expect(allows(lockbox.functions.reconcile, 'dynamodb:PutItem').map((s) => s.Resource)).toEqual([getAtt(lockbox.auditTable)]);
  });
});

describe('audit bus', () => {
  const exporter = () => lockbox.functions.exportAudit;

  it('only the export publishes, and only to the audit bus, which archives every Lockbox audit event', () => {
    expect(whoMay('events:PutEvents')).toEqual(['exportAudit']);
    expect(environmentOf(exporter())).toMatchObject({
      [ENV.auditPublisher]: 'eventbridge',
      [ENV.auditBusName]: { Ref: logicalId(lockbox.auditBus) },
    });
    expect(allows(exporter(), 'events:PutEvents').map((s) => s.Resource)).toEqual([getAtt(lockbox.auditBus)]);
    for (const name of functionNames().filter((other) => other !== 'exportAudit')) {
      expect(environmentOf(lockbox.functions[name])).not.toHaveProperty(ENV.auditPublisher);
    }
    template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: getAtt(lockbox.auditBus),
      EventPattern: { source: [AUDIT_EVENT_SOURCE] },
    });
  });

  it('exports from the Audit table stream (new images), from its oldest record, retrying only failed records, never dropping one silently', () => {
    expect(resources[logicalId(lockbox.auditTable)].Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_IMAGE' });
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'));
    expect(mappings).toHaveLength(1);
    expect(mappings[0].Properties).toMatchObject({
      FunctionName: { Ref: logicalId(exporter().fn) },
      EventSourceArn: getAtt(lockbox.auditTable, 'StreamArn'),
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      ParallelizationFactor: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: getAtt(lockbox.auditStream.failureQueue) } },
    });
    expect(resources[logicalId(lockbox.auditStream.failureQueue)].Properties).toMatchObject({ SqsManagedSseEnabled: true });
    const [alarm] = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
      (candidate) => candidate.Properties.AlarmName === 'Test-AuditExportFailed',
    );
    expect(alarm.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(lockbox.auditStream.failureQueue, 'QueueName') }],
      AlarmActions: [{ Ref: logicalId(lockbox.alarmTopic) }],
    });
  });

  it('gives the export a role of its own: the stream, the bus and its failure queue, and no table', () => {
    const granted = statementsOf(exporter())
      .filter((statement) => statement.Effect === 'Allow')
      .flatMap(actions)
      .filter((action) => !action.startsWith('xray:') && !action.startsWith('logs:'));
    expect([...new Set(granted)].sort()).toEqual(
      [
        'dynamodb:DescribeStream',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
        'dynamodb:ListStreams',
        'events:PutEvents',
        'kms:Decrypt',
        'kms:DescribeKey',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
      ].sort(),
    );
    expect(allows(exporter(), 'kms:Decrypt').flatMap(resourcesOf)).toEqual([getAtt(lockbox.dataKey)]);
    expect(allows(exporter(), 'sqs:SendMessage').flatMap(resourcesOf)).toEqual([getAtt(lockbox.auditStream.failureQueue)]);
    expect(environmentOf(exporter())).not.toHaveProperty(ENV.auditTable);
  });
});

describe('alarms', () => {
  const alarmsOn = (metricName: string) =>
    Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((alarm) => alarm.Properties.MetricName === metricName);

  it('alarm on failed, timed-out and aborted executions (a revoke that keeps failing ends in Fail)', () => {
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) {
      const [alarm] = alarmsOn(metric);
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/States',
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: logicalId(lockbox.stateMachine) } }],
        AlarmActions: [{ Ref: logicalId(lockbox.alarmTopic) }],
      });
    }
  });

  it('alarm on errors and throttles of every function', () => {
    for (const metric of ['Errors', 'Throttles']) {
      const names = alarmsOn(metric).map((alarm) => alarm.Properties.Dimensions[0].Value.Ref);
      expect(names.sort()).toEqual(
        functionNames()
          .map((name) => logicalId(lockbox.functions[name].fn))
          .sort(),
      );
    }
  });

  it('alarm when the reconciler had to repair something, and on its dead letters', () => {
    expect(alarmsOn('ReconcilerRepairs')[0].Properties).toMatchObject({
      Namespace: 'Lockbox',
      Dimensions: [{ Name: 'service', Value: 'lockbox' }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(alarmsOn('ApproximateNumberOfMessagesVisible')[0].Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(lockbox.reconcilerDeadLetterQueue, 'QueueName') }],
    });
  });

  it('send alarms to an encrypted topic with the configured email subscribed', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: getAtt(lockbox.dataKey) });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@provider.example' });
  });
});

describe('tenant seeding', () => {
  it('puts each configured tenant once, only if absent', () => {
    const [seed] = Object.values(template.findResources('Custom::AWS'));
    const create = JSON.parse(
      stack
        .resolve(seed.Properties.Create)
        ['Fn::Join'][1].map((part: unknown) => (typeof part === 'string' ? part : 'TABLE'))
        .join(''),
    );
    expect(create).toMatchObject({
      service: 'DynamoDB',
      action: 'PutItem',
      parameters: { TableName: 'TABLE', ConditionExpression: 'attribute_not_exists(tenantId)' },
      ignoreErrorCodesMatching: 'ConditionalCheckFailedException',
    });
    expect(create.parameters.Item).toMatchObject({
      tenantId: { S: 'acme' },
      version: { N: '1' },
      lockboxEnabled: { BOOL: true },
      maxAccessDuration: { S: 'PT4H' },
      approvalTimeout: { S: 'PT12H' },
      approvers: {
        L: [{ M: { email: { S: 'alice@acme.example' }, principal: { S: 'arn:aws:sts::222222222222:assumed-role/Approver/alice' } } }],
      },
    });
  });
});

describe('access boundary', () => {
  const boundaryArn = () => stack.resolve(accessBoundaryArn(stack));
  const boundary = () => resources[logicalId(lockbox.accessBoundary.policy)].Properties;
  const denied = (sid: string) =>
    (boundary().PolicyDocument.Statement as (Statement & { Sid: string })[]).find((statement) => statement.Sid === sid)!;
  const hasStatement = (statement: Record<string, unknown>) =>
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike(statement)]) },
    });

  it('is a managed policy under /lockbox/ named after the stack, at the ARN the functions are given', () => {
    expect(boundary()).toMatchObject({ ManagedPolicyName: 'Test-AccessBoundary', Path: '/lockbox/' });
    expect(boundaryArn()).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':policy/lockbox/Test-AccessBoundary']],
    });
  });

  it('lets through whatever the access level grants: Allow * on *, the only Allow', () => {
    const allows = (boundary().PolicyDocument.Statement as Statement[]).filter((statement) => statement.Effect === 'Allow');
    expect(allows).toEqual([expect.objectContaining({ Action: '*', Resource: '*' })]);
  });

  it('denies everything on IAM roles and policies under /lockbox/ (the session’s own role and the boundary included)', () => {
    hasStatement({
      Effect: 'Deny',
      Action: 'iam:*',
      Resource: [
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/lockbox/*']] },
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':policy/lockbox/*']] },
      ],
    });
  });

  it('denies stopping, deleting or narrowing CloudTrail', () => {
    hasStatement({
      Effect: 'Deny',
      Action: ['cloudtrail:StopLogging', 'cloudtrail:DeleteTrail', 'cloudtrail:PutEventSelectors', 'cloudtrail:UpdateTrail'],
      Resource: '*',
    });
  });

  it('denies long-lived credentials, new roles or trust, identity providers and role chaining', () => {
    hasStatement({
      Effect: 'Deny',
      Action: Match.arrayWith([
        'iam:CreateUser',
        'iam:CreateAccessKey',
        'iam:CreateLoginProfile',
        'iam:UpdateLoginProfile',
        'iam:CreateRole',
        'iam:UpdateAssumeRolePolicy',
        'sts:AssumeRole',
      ]),
      Resource: '*',
    });
  });

  it('denies everything on Lockbox’s tables and their indexes', () => {
    const tables = [lockbox.requestsTable, lockbox.tenantsTable, lockbox.auditTable];
    hasStatement({
      Effect: 'Deny',
      Action: 'dynamodb:*',
      Resource: tables.flatMap((table) => [getAtt(table), { 'Fn::Join': ['', [getAtt(table), '/*']] }]),
    });
  });

  it('denies everything on the state machine and its executions (StopExecution acts on an execution)', () => {
    const statement = denied('DenyLockboxWorkflow');
    expect(statement.Action).toBe('states:*');
    expect(statement.Resource).toEqual([{ Ref: logicalId(lockbox.stateMachine) }, expect.anything()]);
    expect(JSON.stringify(statement.Resource)).toContain(':execution:Test-AccessRequest:*');
  });

  it('denies everything on the data key, the link keys, the paging-token key, the console session key and the digest signing key', () => {
    hasStatement({
      Effect: 'Deny',
      Action: 'kms:*',
      Resource: [
        getAtt(lockbox.dataKey),
        getAtt(lockbox.linkKeys.k1),
        getAtt(lockbox.pageTokenKey.key),
        getAtt(lockbox.console.sessionKey),
        getAtt(lockbox.ledger.signingKey),
      ],
    });
  });

  it('denies everything on every log group of the stack', () => {
    const patterns = resourcesOf(denied('DenyLockboxLogs')).map((arn) => {
      const parts = (stack.resolve(arn) as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
      return parts
        .map((part) => (typeof part === 'string' ? part : '\u0000'))
        .join('')
        .split(':log-group:')[1];
    });
    expect(patterns.every((pattern) => pattern.endsWith('*'))).toBe(true);
    const logGroups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(logGroups.length).toBeGreaterThanOrEqual(functionNames().length + 3);
    for (const group of logGroups) {
      // A generated part of a name (the stack id's UUID) stands in as one character, matched by `*`.
      const name =
        typeof group.Properties.LogGroupName === 'string'
          ? group.Properties.LogGroupName
          : (group.Properties.LogGroupName['Fn::Join'][1] as unknown[])
              .map((part) => (typeof part === 'string' ? part : '\u0000'))
              .join('');
      const covered = patterns.some((pattern) => name.startsWith(pattern.slice(0, pattern.indexOf('*'))));
      expect({ name, covered }).toEqual({ name, covered: true });
    }
  });

  it('denies changing Lockbox’s functions, audit bus, reconciler schedule and dead letters, alarms and stack', () => {
    const statement = denied('DenyLockboxItself');
    expect(actions(statement)).toEqual(
      expect.arrayContaining(['lambda:*', 'events:*', 'scheduler:*', 'sqs:*', 'sns:*', 'cloudwatch:*', 'cloudformation:*']),
    );
    expect(statement.Resource).toEqual(
      expect.arrayContaining([
        ...functionNames().map((name) => getAtt(lockbox.functions[name].fn)),
        getAtt(lockbox.auditBus),
        getAtt(lockbox.reconcileSchedule),
        getAtt(lockbox.reconcilerDeadLetterQueue),
        getAtt(lockbox.auditStream.failureQueue),
        { Ref: logicalId(lockbox.alarmTopic) },
      ]),
    );
    const text = JSON.stringify(statement.Resource);
    expect(text).toContain(':alarm:Test-*');
    expect(text).toContain(':stack/Test/*');
  });

  it('names every alarm after the stack, so the alarm pattern covers them all', () => {
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties.AlarmName);
    expect(names.length).toBe(lockbox.alarms.length);
    expect(names.filter((name) => typeof name !== 'string' || !name.startsWith('Test-'))).toEqual([]);
  });

  it('fits IAM’s 6,144-character limit of a managed policy, counting each resource reference as a 120-character ARN', () => {
    // The longest values the pseudo parameters take; any other reference stands for a long ARN.
    const pseudo: Record<string, number> = { 'AWS::Partition': 10, 'AWS::AccountId': 12, 'AWS::Region': 16, 'AWS::URLSuffix': 16 };
    const concrete = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(concrete);
      if (value && typeof value === 'object') {
        if ('Fn::Join' in value) return ((value as any)['Fn::Join'][1] as unknown[]).map(concrete).join('');
        if ('Ref' in value) return 'x'.repeat(pseudo[(value as { Ref: string }).Ref] ?? 120);
        if ('Fn::GetAtt' in value) return 'x'.repeat(120);
        return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, concrete(field)]));
      }
      return value;
    };
    expect(JSON.stringify(concrete(boundary().PolicyDocument)).length).toBeLessThan(6144);
  });
});

describe('the grant function and the boundary', () => {
  const boundaryArn = () => stack.resolve(accessBoundaryArn(stack));
  const accessRoles = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/lockbox/*']] };
  const grantPolicy = (statement: Record<string, unknown>) =>
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(lockbox.functions.grant.role) }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike(statement)]) },
    });

  it('gets the boundary’s ARN as ACCESS_BOUNDARY_ARN', () => {
    expect(environmentOf(lockbox.functions.grant)[ENV.accessBoundaryArn]).toEqual(boundaryArn());
  });

  it('may create a role only under /lockbox/, only with the boundary and only Lockbox’s tags', () => {
    grantPolicy({
      Effect: 'Allow',
      Action: 'iam:CreateRole',
      Resource: accessRoles,
      Condition: {
        StringEquals: { 'iam:PermissionsBoundary': boundaryArn() },
        'ForAllValues:StringEquals': { 'aws:TagKeys': ['lockbox:request-id', 'lockbox:tenant', 'lockbox:expires-at'] },
      },
    });
  });

  it('may set a role’s boundary only to the boundary, and tag only with Lockbox’s keys', () => {
    grantPolicy({
      Effect: 'Allow',
      Action: 'iam:PutRolePermissionsBoundary',
      Resource: accessRoles,
      Condition: { StringEquals: { 'iam:PermissionsBoundary': boundaryArn() } },
    });
    grantPolicy({
      Effect: 'Allow',
      Action: 'iam:TagRole',
      Resource: accessRoles,
      Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': Match.anyValue() } },
    });
  });

  it('is the only function that may create roles, set boundaries or tag, and no Allow of these lacks its condition', () => {
    for (const action of ['iam:CreateRole', 'iam:PutRolePermissionsBoundary', 'iam:TagRole']) {
      expect({ action, who: whoMay(action) }).toEqual({ action, who: ['grant'] });
      for (const statement of allows(lockbox.functions.grant, action)) {
        expect(actions(statement)).toEqual([action]);
        expect(statement.Condition).toBeDefined();
      }
    }
  });

  it('leaves every function explicitly denied changing the boundary, removing it, or creating a role without it', () => {
    for (const name of functionNames()) {
      const denies = statementsOf(lockbox.functions[name]).filter((statement) => statement.Effect === 'Deny');
      expect(denies).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Action: ['iam:CreatePolicyVersion', 'iam:DeletePolicy', 'iam:DeletePolicyVersion', 'iam:SetDefaultPolicyVersion'],
            Resource: boundaryArn(),
          }),
          expect.objectContaining({ Action: 'iam:DeleteRolePermissionsBoundary', Resource: '*' }),
          expect.objectContaining({
            Action: ['iam:CreateRole', 'iam:PutRolePermissionsBoundary'],
            Resource: '*',
            Condition: { StringNotEquals: { 'iam:PermissionsBoundary': boundaryArn() } },
          }),
        ]),
      );
    }
  });
});

describe('cdk-nag', () => {
  it('reports no unacknowledged AwsSolutions finding', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(
      report.violations.map((violation) => `${violation.ruleName} ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`),
    ).toEqual([]);
    expect(report.success).toBe(true);
  });
});

describe('ledger digests', () => {
  const keyResource = () => resources[logicalId(lockbox.ledger.signingKey)];
  const keyStatements = () =>
    keyResource().Properties.KeyPolicy.Statement as (Statement & { NotAction?: string[]; Principal: unknown; Sid: string })[];
  const sealerRoleArn = () => getAtt(lockbox.functions.sealDigests.role);

  it('signs with an asymmetric ECC_NIST_P256 SIGN_VERIFY key that is kept', () => {
    expect(keyResource().Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    expect(keyResource().DeletionPolicy).toBe('Retain');
  });

  it('lets only the sealer sign: its role is the one allowed, every other principal is denied', () => {
    const allowingSign = keyStatements().filter((statement) => statement.Effect === 'Allow' && actions(statement).includes('kms:Sign'));
    expect(allowingSign).toEqual([expect.objectContaining({ Principal: { AWS: sealerRoleArn() } })]);
    // The account's administration of the key leaves Sign out...
    expect(keyStatements().find((statement) => statement.Sid === 'AccountAdministersButDoesNotSign')).toMatchObject({
      NotAction: 'kms:Sign',
    });
    // ...and an explicit deny covers every principal but the sealer, whatever IAM policies say.
    expect(keyStatements().find((statement) => statement.Effect === 'Deny')).toMatchObject({
      Principal: { AWS: '*' },
      Action: 'kms:Sign',
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': sealerRoleArn() } },
    });
    expect(whoMay('kms:Sign')).toEqual(['sealDigests']);
  });

  it('publishes the public key through the API and the console (GetPublicKey, never Sign)', () => {
    expect(whoMay('kms:GetPublicKey').sort()).toEqual(['apiTenants', 'console', 'sealDigests']);
    for (const fn of [lockbox.functions.apiTenants, lockbox.functions.console, lockbox.functions.sealDigests]) {
      expect(environmentOf(fn)).toMatchObject({ [ENV.digestSigner]: 'kms', [ENV.digestKmsKey]: getAtt(lockbox.ledger.signingKey) });
    }
  });

  it('seals every 5 minutes and verifies every hour, invoking the sealer', () => {
    const schedules = [lockbox.ledger.sealSchedule, lockbox.ledger.verifySchedule].map(
      (schedule) => resources[logicalId(schedule)].Properties,
    );
    expect(schedules.map((schedule) => schedule.ScheduleExpression)).toEqual(['rate(5 minutes)', 'rate(1 hour)']);
    for (const schedule of schedules) expect(schedule.Target.Arn).toEqual(getAtt(lockbox.functions.sealDigests.fn));
    expect(JSON.parse(schedules[1].Target.Input)).toEqual({ verify: true });
  });

  it('alarms when a verification fails or a digest could not be sealed', () => {
    const alarms = lockbox.ledger.alarms.map((alarm) => resources[logicalId(alarm)].Properties);
    expect(
      alarms.map(({ MetricName, Namespace, Threshold, ComparisonOperator }) => ({ MetricName, Namespace, Threshold, ComparisonOperator })),
    ).toEqual([
      {
        MetricName: 'LockboxLedgerVerificationFailures',
        Namespace: 'Lockbox',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      },
      { MetricName: 'LockboxDigestSealFailures', Namespace: 'Lockbox', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' },
    ]);
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([{ Ref: logicalId(lockbox.alarmTopic) }]);
  });

  it('lets the sealer read only the marked chains (the sparse index), not scan the requests', () => {
    expect(allows(lockbox.functions.sealDigests, 'dynamodb:Scan').flatMap(resourcesOf)).toEqual([getAtt(lockbox.tenantsTable)]);
    expect(allows(lockbox.functions.sealDigests, 'dynamodb:Query').flatMap(resourcesOf)).toContainEqual({
      'Fn::Join': ['', [getAtt(lockbox.requestsTable), '/index/byUnsealedChain']],
    });
  });
});
