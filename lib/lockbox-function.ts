import { join } from 'node:path';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/core/config';
import { ROLE_PATH } from '../lambdas/core/domain/iam-policies';

/** The repository root: handlers, lock file and the state machine file live under it. */
export const PROJECT_ROOT = join(__dirname, '..');

/**
 * What a function may do with a table. Explicit actions, never `dynamodb:*`:
 * - `readWrite`: create, change and read items (Requests, by api-requests);
 * - `readUpdate`: read and change existing items, never create or delete (Requests from the
 *   workflow, Tenants: settings and the audit chain head);
 * - `queryUpdate`: the same, and query indexes (Requests, by the reconciler);
 * - `append` / `appendRead`: conditional puts only, for the append-only Audit table.
 */
export const TABLE_ACCESS = {
  readWrite: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
  readUpdate: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
  queryUpdate: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
  append: ['dynamodb:PutItem'],
  appendRead: ['dynamodb:PutItem', 'dynamodb:Query'],
} as const;
export type TableAccess = keyof typeof TABLE_ACCESS;

/** Item changes an append-only table denies to every function, whatever else it is granted. */
export const APPEND_ONLY_DENIED = [
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
];

/** What DynamoDB needs of the callers' rights on a customer-managed table key. */
const TABLE_KEY_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'];

/** What revoking needs (`iam-access.ts` revoke): close the trust, kill sessions, detach, delete. */
const IAM_REVOKE_ACTIONS = [
  'iam:UpdateAssumeRolePolicy',
  'iam:PutRolePolicy',
  'iam:ListAttachedRolePolicies',
  'iam:DetachRolePolicy',
  'iam:ListRolePolicies',
  'iam:DeleteRolePolicy',
  'iam:DeleteRole',
];
/** The reconciler also finds roles that outlived their window (`listExpired`). */
const IAM_RECONCILE_ACTIONS = ['iam:ListRoles', 'iam:ListRoleTags', ...IAM_REVOKE_ACTIONS];
/** Granting also creates, tags, reads and converges the role (and revokes after a lost race). */
const IAM_GRANT_ACTIONS = [
  'iam:CreateRole',
  'iam:TagRole',
  'iam:AttachRolePolicy',
  'iam:GetRole',
  'iam:GetRolePolicy',
  'iam:UpdateRole',
  ...IAM_REVOKE_ACTIONS,
];

export interface LockboxFunctionProps {
  /** The handler file in `lambdas/handlers/`, without extension, e.g. `api-requests`. */
  readonly handler: string;
  readonly description: string;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** Encrypts the function's log group. @default - CloudWatch Logs' own encryption */
  readonly logKey?: kms.IKey;
}

/**
 * The house Lambda: Node 22 on arm64, X-Ray tracing, its own log group with retention, bundled
 * by the local esbuild, and its own role that starts empty. Every `use…` helper wires ONE
 * resource: it sets the environment variable the handler reads (names from `ENV`) AND the IAM
 * grant together, so the two cannot drift apart.
 */
export class LockboxFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: LockboxFunctionProps) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Lockbox ${props.handler}`,
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.logKey,
    });
    this.fn = new NodejsFunction(this, 'Function', {
      entry: join(PROJECT_ROOT, 'lambdas', 'handlers', `${props.handler}.ts`),
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      // Stack traces point at the TypeScript sources.
      environment: { NODE_OPTIONS: '--enable-source-maps' },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        mainFields: ['module', 'main'],
        // @middy/core is ESM-only; a few CommonJS dependencies still call require().
        banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        // Bundle the AWS SDK too: the version the tests ran, not the runtime's.
        externalModules: [],
      },
    });
    this.logGroup.grantWrite(this.role);

    // Deliberate findings of every Lockbox function (ids as cdk-nag reports them).
    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.',
      },
      {
        id: 'AwsSolutions-L1',
        reason: 'Lockbox targets Node.js 22 (package.json engines, nodejs22.x): the version its tests and local mode run on.',
      },
    );
  }

  /** A table: its name in `envName`, and `access` on it (and on the named indexes, for queries). */
  useTable(envName: string, table: dynamodb.ITable, access: TableAccess, indexes: readonly string[] = []): this {
    this.fn.addEnvironment(envName, table.tableName);
    const actions = [...TABLE_ACCESS[access]];
    const indexArns = actions.includes('dynamodb:Query') ? indexes.map((index) => `${table.tableArn}/index/${index}`) : [];
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: [table.tableArn, ...indexArns] }));
    if (table.encryptionKey) {
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: TABLE_KEY_ACTIONS,
          resources: [table.encryptionKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }
    return this;
  }

  /** Explicitly denies changing or deleting items of an append-only table (no grant can undo it). */
  denyItemChanges(table: dynamodb.ITable): this {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ effect: iam.Effect.DENY, actions: APPEND_ONLY_DENIED, resources: [table.tableArn] }),
    );
    return this;
  }

  /**
   * The access-request state machine: `STATE_MACHINE_ARN` and exactly the listed actions on it.
   * Takes an ARN string, so a function the machine invokes can get a constructed ARN (no cycle).
   */
  useStateMachine(stateMachineArn: string, actions: readonly ('states:StartExecution' | 'states:SendTaskSuccess' | 'states:SendTaskFailure')[]): this {
    this.fn.addEnvironment(ENV.stateMachineArn, stateMachineArn);
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [...actions], resources: [stateMachineArn] }));
    return this;
  }

  /**
   * Link-token keys (KMS HMAC). `sign` may only GenerateMac with the current key; `verify` may
   * only VerifyMac, with every key still listed (a retired key verifies until its links expire).
   */
  useLinkKeys(mode: 'sign' | 'verify', keys: Readonly<Record<string, kms.IKey>>, currentKeyId: string): this {
    const usable = mode === 'sign' ? { [currentKeyId]: keys[currentKeyId] } : keys;
    this.fn.addEnvironment(ENV.linkSigner, 'kms');
    this.fn.addEnvironment(ENV.linkCurrentKey, currentKeyId);
    this.fn.addEnvironment(
      ENV.linkKmsKeys,
      Stack.of(this).toJsonString(Object.fromEntries(Object.entries(usable).map(([kid, key]) => [kid, key.keyArn]))),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [mode === 'sign' ? 'kms:GenerateMac' : 'kms:VerifyMac'],
        resources: Object.values(usable).map((key) => key.keyArn),
      }),
    );
    return this;
  }

  /** The SES sender: `SENDER_EMAIL`, and sending only as the identity that authorizes it. */
  useSender(sender: string, identityArn: string): this {
    this.fn.addEnvironment(ENV.senderEmail, sender);
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ses:SendEmail', 'ses:SendRawEmail'], resources: [identityArn] }));
    return this;
  }

  /** Exports committed audit events to the bus: `AUDIT_PUBLISHER`, `AUDIT_BUS_NAME`, PutEvents on it. */
  useAuditBus(bus: events.IEventBus): this {
    this.fn.addEnvironment(ENV.auditPublisher, 'eventbridge');
    this.fn.addEnvironment(ENV.auditBusName, bus.eventBusName);
    bus.grantPutEventsTo(this.role);
    return this;
  }

  /**
   * THE place where the access provider is wired: `ACCESS_PROVIDER` and what the provider may do.
   * `iam` manages per-request roles under `/lockbox/` only; `revoke` and `reconcile` cannot
   * create or attach (`reconcile` may also list the roles and their tags).
   * Left for issue 6 (the IAM provider): `ACCESS_BOUNDARY_ARN` and the boundary policy itself,
   * `iam:CreateRole` only with that boundary (condition `iam:PermissionsBoundary`),
   * `iam:PutRolePermissionsBoundary` under the same condition, and denies on removing it.
   */
  useAccessProvider(provider: 'iam', mode: 'grant' | 'revoke' | 'reconcile'): this {
    this.fn.addEnvironment(ENV.accessProvider, provider);
    const rolePath = `role${ROLE_PATH}*`;
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: { grant: IAM_GRANT_ACTIONS, revoke: IAM_REVOKE_ACTIONS, reconcile: IAM_RECONCILE_ACTIONS }[mode],
        resources: [Stack.of(this).formatArn({ service: 'iam', region: '', resource: rolePath })],
      }),
    );
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:${rolePath}]`,
      reason: `Per-request access roles are named after requests that do not exist at deployment; the ${ROLE_PATH} path confines them.`,
    });
    return this;
  }

  /** Plain settings (no resource behind them). */
  useSettings(settings: Readonly<Record<string, string>>): this {
    for (const [name, value] of Object.entries(settings)) this.fn.addEnvironment(name, value);
    return this;
  }
}
