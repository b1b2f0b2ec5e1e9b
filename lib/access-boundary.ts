import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { grantTags, ROLE_PATH } from '../lambdas/core/domain/iam-policies';

/**
 * The Lockbox permissions boundary (R-2.8, R-2.9): the managed policy every per-request access
 * role carries. A boundary grants nothing; it caps. This one lets through whatever the tenant's
 * access level grants (Allow `*`), except:
 * - anything on IAM entities under `/lockbox/`: the access roles (the session's own included) and
 *   this policy itself;
 * - anything on Lockbox itself: its tables, state machine and executions, KMS keys, log groups,
 *   functions, audit bus, reconciler schedule and dead letters, alarms and their topic, and its
 *   CloudFormation stack;
 * - stopping or blinding CloudTrail;
 * - ways to keep access after the window: IAM users, access keys, passwords and other long-lived
 *   credentials, new roles or new trust on existing roles, identity providers, and role chaining.
 *
 * An explicit Deny wins in every policy type, resource-based policies included (a key policy that
 * trusts the account does not help a session inside this boundary).
 *
 * A managed policy holds at most 6,144 characters, so the denies name Lockbox's resources by
 * pattern where their names allow it (log groups under `/lockbox/<stack>/`, alarms `<stack>-*`).
 * The roles Lockbox's functions run as are not listed: their trust cannot be changed
 * (`iam:UpdateAssumeRolePolicy` is denied on every role) and their code cannot be changed
 * (`lambda:*` is denied on the functions), so a session could not use anything it added to them.
 *
 * Its name is fixed (`<prefix>-AccessBoundary`, path `/lockbox/`) so its ARN can be written into
 * the functions' policies without referencing it: the boundary names the functions and the state
 * machine, so a reference back from a function's policy would be a dependency cycle.
 */

/** Ids of what the access role may never touch, as ARNs (patterns allowed). */
export interface LockboxResources {
  readonly tableArns: readonly string[];
  readonly stateMachineArn: string;
  readonly executionArnPattern: string;
  readonly keyArns: readonly string[];
  /**
   * Log group name patterns, e.g. `/lockbox/<stack>/*`. Each ends in `*`, so it covers the group
   * (`log-group:<name>`) and its streams (`log-group:<name>:*`).
   */
  readonly logGroupNamePatterns: readonly string[];
  readonly functionArns: readonly string[];
  readonly eventBusArn: string;
  readonly scheduleArn: string;
  readonly alarmTopicArn: string;
  /** Lockbox's alarms, e.g. `arn:…:alarm:<stack>-*`. */
  readonly alarmArnPattern: string;
  /** The reconciler's dead-letter queue and the audit export's failure queue (their messages are evidence). */
  readonly deadLetterQueueArns: readonly string[];
}

/**
 * IAM actions that would let a session outlive its window: long-lived credentials for a user,
 * a new role or new trust in an existing one (which could trust the engineer's own account),
 * a new identity provider. Action names from the IAM service authorization reference
 * (docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html).
 */
export const OUTLIVE_WINDOW_ACTIONS = [
  'iam:CreateUser',
  'iam:CreateAccessKey',
  'iam:UpdateAccessKey',
  'iam:CreateLoginProfile',
  'iam:UpdateLoginProfile',
  'iam:CreateServiceSpecificCredential',
  'iam:ResetServiceSpecificCredential',
  'iam:UploadSSHPublicKey',
  'iam:UploadSigningCertificate',
  'iam:CreateRole',
  'iam:UpdateAssumeRolePolicy',
  'iam:CreateOpenIDConnectProvider',
  'iam:CreateSAMLProvider',
  'iam:UpdateSAMLProvider',
  // Role chaining: a session in another role would not carry this boundary, the
  // deny-after-expiry or the session kill of revoke, and could last an hour past the window.
  'sts:AssumeRole',
] as const;

/** What keeps CloudTrail recording the session (R-2.9, T-2.5). */
export const CLOUDTRAIL_ACTIONS = [
  'cloudtrail:StopLogging',
  'cloudtrail:DeleteTrail',
  'cloudtrail:PutEventSelectors',
  'cloudtrail:UpdateTrail',
] as const;

/** The boundary's name: one per Lockbox (its `prefix`), so two of them in one account do not collide. */
export const accessBoundaryName = (prefix: string): string => `${prefix}-AccessBoundary`.slice(0, 128);

/** The boundary's ARN, built from its fixed name and path (no reference to the resource). */
export const accessBoundaryArn = (stack: Stack, prefix: string = stack.stackName): string =>
  stack.formatArn({ service: 'iam', region: '', resource: 'policy', resourceName: `${ROLE_PATH.slice(1)}${accessBoundaryName(prefix)}` });

/** The keys of the tags Lockbox puts on an access role (`lockbox:request-id`, `lockbox:tenant`, `lockbox:expires-at`). */
export const ACCESS_ROLE_TAG_KEYS: readonly string[] = grantTags({
  requestId: 'r',
  tenantId: 't',
  accessExpiresAt: '2000-01-01T00:00:00Z',
}).map((tag) => tag.Key);

export interface AccessBoundaryProps {
  /** Lockbox's resources. @default - none: a member account's boundary (`LockboxTarget`) */
  readonly protect?: LockboxResources;
  /** More IAM entities no access role may touch, e.g. the `LockboxTarget` role. @default - none */
  readonly protectIamArns?: readonly string[];
  /** The policy is named `<prefix>-AccessBoundary`. @default - the stack's name */
  readonly prefix?: string;
}

export class AccessBoundary extends Construct {
  readonly policy: iam.ManagedPolicy;
  /** Same value as `accessBoundaryArn(stack, prefix)`, which is what the functions are given. */
  readonly arn: string;

  constructor(scope: Construct, id: string, props: AccessBoundaryProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { protect } = props;
    const iamArn = (resource: string, resourceName: string) => stack.formatArn({ service: 'iam', region: '', resource, resourceName });

    const statements = [
      new iam.PolicyStatement({
        sid: 'AllowWhatTheAccessLevelGrants',
        actions: ['*'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'DenyLockboxIamEntities',
        effect: iam.Effect.DENY,
        actions: ['iam:*'],
        resources: [iamArn('role', `${ROLE_PATH.slice(1)}*`), iamArn('policy', `${ROLE_PATH.slice(1)}*`), ...(props.protectIamArns ?? [])],
      }),
      new iam.PolicyStatement({
        sid: 'DenyWaysToOutliveTheWindow',
        effect: iam.Effect.DENY,
        actions: [...OUTLIVE_WINDOW_ACTIONS],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'DenyStoppingCloudTrail',
        effect: iam.Effect.DENY,
        actions: [...CLOUDTRAIL_ACTIONS],
        resources: ['*'],
      }),
      // The stack itself too: updating or deleting it would undo everything here.
      ...(protect
        ? lockboxStatements(stack, protect)
        : [
            new iam.PolicyStatement({
              sid: 'DenyLockboxTargetStack',
              effect: iam.Effect.DENY,
              actions: ['cloudformation:*'],
              resources: [stackArnOf(stack)],
            }),
          ]),
    ];

    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      managedPolicyName: accessBoundaryName(props.prefix ?? stack.stackName),
      path: ROLE_PATH,
      description:
        'Lockbox permissions boundary of every access role: the access level, minus Lockbox itself, CloudTrail and ways to outlive the window',
      statements,
    });
    this.arn = accessBoundaryArn(stack, props.prefix);
    Validations.of(this.policy).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Action::*]',
        reason:
          "A permissions boundary caps, it grants nothing: its Allow * lets through exactly what the tenant's access level attaches to the role; the boundary's Deny statements take Lockbox, CloudTrail and ways to outlive the window out of it.",
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          "Same Allow * of the permissions boundary: the tenant's managed policies decide the resources; the Deny statements name Lockbox's own.",
      },
    );
  }
}

/** The denies that name Lockbox's own resources (in the account Lockbox runs in). */
function lockboxStatements(stack: Stack, protect: LockboxResources): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'DenyLockboxTables',
      effect: iam.Effect.DENY,
      actions: ['dynamodb:*'],
      resources: protect.tableArns.flatMap((table) => [table, `${table}/*`]),
    }),
    new iam.PolicyStatement({
      sid: 'DenyLockboxWorkflow',
      effect: iam.Effect.DENY,
      actions: ['states:*'],
      // StopExecution and the task-token calls act on executions, not on the machine.
      resources: [protect.stateMachineArn, protect.executionArnPattern],
    }),
    new iam.PolicyStatement({
      sid: 'DenyLockboxKeys',
      effect: iam.Effect.DENY,
      actions: ['kms:*'],
      resources: [...protect.keyArns],
    }),
    new iam.PolicyStatement({
      sid: 'DenyLockboxLogs',
      effect: iam.Effect.DENY,
      actions: ['logs:*'],
      resources: protect.logGroupNamePatterns.map((pattern) => {
        if (!pattern.endsWith('*')) throw new Error(`Log group pattern ${pattern} must end in * to cover the group and its streams`);
        return stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: pattern, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
      }),
    }),
    new iam.PolicyStatement({
      sid: 'DenyLockboxItself',
      effect: iam.Effect.DENY,
      actions: ['lambda:*', 'events:*', 'scheduler:*', 'sns:*', 'sqs:*', 'cloudwatch:*', 'cloudformation:*'],
      resources: [
        ...protect.functionArns,
        protect.eventBusArn,
        protect.scheduleArn,
        protect.alarmTopicArn,
        protect.alarmArnPattern,
        ...protect.deadLetterQueueArns,
        stackArnOf(stack),
      ],
    }),
  ];
}

const stackArnOf = (stack: Stack) =>
  stack.formatArn({ service: 'cloudformation', resource: 'stack', resourceName: `${stack.stackName}/*` });
