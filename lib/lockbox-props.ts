/**
 * The properties of the `Lockbox` construct. The configuration file (`lockbox.config.json`) has
 * the shape of `LockboxConfig`; `LockboxProps` adds what only a CDK app can pass (keys, a topic).
 * `lib/config.ts` validates both with one schema. Only type imports of aws-cdk-lib here, so the
 * validation tests stay fast.
 */

import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { POLICY_DEFAULTS } from '../lambdas/core/domain/policy';
import type { LockboxConsoleProps } from './console';

/** Defaults and limits, shared by the construct and the configuration checks. */
export const DEFAULTS = {
  durationFloor: POLICY_DEFAULTS.durationFloor,
  durationCap: POLICY_DEFAULTS.durationCap,
  /** The longest cap a deployment may set. */
  durationLimit: 'PT12H',
  managerApprovalTimeout: POLICY_DEFAULTS.managerApprovalTimeout,
  customerApprovalTimeout: 'PT12H',
  approvalTimeoutLimit: POLICY_DEFAULTS.approvalTimeoutLimit,
  linkKeyIds: ['k1'],
  accessProvider: 'iam',
  /** The directory is one environment variable; Lambda allows 4 KB for all of them together. */
  directoryMaxBytes: 2048,
  logRetentionDays: 365,
  memorySize: 512,
  /** Seconds. API Gateway waits at most 29 s for an integration. */
  timeouts: { api: 29, workflow: 60, reconciler: 240 },
  /** Seconds: the reconciler runs every 5 minutes, so a run must end before the next one. */
  reconcilerTimeoutLimit: 290,
} as const;

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** A person of the provider, identified by the IAM principal that signs their API calls. */
export interface PersonProps {
  /**
   * IAM user or role ARN, or STS assumed-role session ARN. For engineers a trailing `*` matches
   * every session of a role whose session name the identity provider sets, e.g.
   * `arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_SupportEngineer_0123456789abcdef/*`
   * (see `sessionNameSetBy`); a `*` over any other role is refused (it cannot tell people apart).
   */
  readonly principal: string;
  /** Where Lockbox writes to this person; also names the person for separation of duties. */
  readonly email?: string;
  /**
   * `idp`: the role's trust policy makes your identity provider set the session name (e.g. SAML
   * federation with a `sts:RoleSessionName` condition on the IdP's user name), so one session name
   * is one person and a `*` over the role's sessions is allowed. Lockbox cannot check this: it is
   * your declaration. IAM Identity Center roles (`AWSReservedSSO_*`) need none.
   * @default - session names are chosen by whoever assumes the role
   */
  readonly sessionNameSetBy?: 'idp';
}

export interface ManagerProps extends PersonProps {
  /** Managers are emailed signed approval links. */
  readonly email: string;
}

/** A tenant created at deployment when absent (later changes go through `PUT /tenants/{id}`). */
export interface TenantSeedProps {
  readonly tenantId: string;
  readonly displayName: string;
  /** @default true */
  readonly lockboxEnabled?: boolean;
  /** The customer's approvers: emailed links; a principal also lets them decide through the API. */
  readonly approvers: readonly { readonly email: string; readonly principal?: string }[];
  /** Principals that may change the tenant's settings, revoke and read the audit log. */
  readonly admins: readonly string[];
  /** Principals that may read the audit log. @default - none */
  readonly auditors?: readonly string[];
  /** @default - the deployment's `durations.cap` */
  readonly maxAccessDuration?: string;
  /** How long the customer's approvers have to decide. @default - `approvalTimeouts.customer` */
  readonly approvalTimeout?: string;
  /** Access levels an engineer may ask for; for `iam`, the managed policies each attaches. */
  readonly accessLevels: Readonly<Record<string, { readonly description?: string; readonly managedPolicyArns?: readonly string[] }>>;
  /** For `iam`: the account to grant in and the external id to require. @default - none */
  readonly accessTarget?: { readonly accountId?: string; readonly externalId?: string };
  /**
   * The customer's AWS accounts: approver, admin and auditor principals must be in one of them
   * (never the provider's). @default - `accessTarget.accountId`
   */
  readonly customerAccounts?: readonly string[];
}

export interface EmailProps {
  /** The From address of every email. */
  readonly sender: string;
  /**
   * The SES identity that authorizes `sender`: the address itself or its domain.
   * @default - `sender`
   */
  readonly identity?: string;
  /**
   * Create the identity in this stack (SES then sends a verification email, or for a domain
   * shows the DKIM records to publish). Leave false when the identity exists already.
   * @default false
   */
  readonly createIdentity?: boolean;
}

export interface LockboxConfig {
  /** The provider's AWS account: engineers and managers are principals of it. */
  readonly providerAccount: string;
  /** Support engineers who may request access. */
  readonly engineers: readonly PersonProps[];
  /** Support managers, the first approval stage (exact principals). */
  readonly managers: readonly ManagerProps[];
  /**
   * Deployment admins: may create tenants (`POST /tenants`), list them (`GET /tenants`) and read
   * any tenant's settings; changing a tenant stays with its own admins. Exact principals.
   * @default - none
   */
  readonly admins?: readonly PersonProps[];
  /** The SES sender of approval and outcome emails. */
  readonly email: EmailProps;
  /** Tenants to create at deployment if they do not exist. @default - none */
  readonly tenants?: readonly TenantSeedProps[];
  /** Shortest and longest access duration of the deployment. @default { floor: 'PT15M', cap: 'PT4H' } */
  readonly durations?: { readonly floor?: string; readonly cap?: string };
  /**
   * How long managers have to decide, and the customer approvers' time for seeded tenants that
   * set none. @default { manager: 'PT12H', customer: 'PT12H' }
   */
  readonly approvalTimeouts?: { readonly manager?: string; readonly customer?: string };
  /**
   * Where alarms go: an email subscription and/or an existing SNS topic.
   * @default - a new encrypted topic without subscriptions
   */
  readonly alarms?: { readonly email?: string; readonly topicArn?: string };
  /** How access is granted. @default 'iam' */
  readonly accessProvider?: 'iam';
  /** Public base URL of approval links (a custom domain). @default - the API stage URL */
  readonly linkBaseUrl?: string;
  /**
   * The customer console: by default a Cognito user pool with a hosted domain; federate the
   * customer's IdP, or use another OIDC issuer (see lib/console.ts and docs/console.md).
   * @default - a Cognito user pool
   */
  readonly console?: Omit<LockboxConsoleProps, 'function' | 'api' | 'baseUrl' | 'namePrefix'>;
  /**
   * Key ids of the link-signing HMAC keys, one KMS key each; the last signs new links, the others
   * still verify. Rotate by appending an id, and drop the old one after 12 hours. @default ['k1']
   */
  readonly linkKeyIds?: readonly string[];
  /**
   * More principals the API's resource policy lets call `/requests` and `/tenants`, e.g. roles
   * of customers whose tenants are not seeded here. Engineers, managers and the seeded tenants'
   * principals are always let in. @default - none
   */
  readonly apiPrincipals?: readonly string[];
  /** A regional WAFv2 web ACL to associate with the API stage. @default - none */
  readonly webAclArn?: string;
  /**
   * Member accounts Lockbox grants access in, each with a `LockboxTarget` of this Lockbox's
   * prefix; a tenant's `accessTarget.accountId` names one of them (or Lockbox's own account).
   * The reconciler sweeps each. @default - none: Lockbox's own account only
   */
  readonly targetAccounts?: readonly string[];
  /**
   * Starts the names Lockbox gives its state machine, access boundary, alarms and log groups, so
   * several Lockbox instances fit in one account. Letters, digits and dashes, at most 64.
   * @default - derived from the construct's path (`Names.uniqueResourceName`); the app uses the stack name
   */
  readonly prefix?: string;
  /**
   * Create the account's API Gateway CloudWatch role (`AWS::ApiGateway::Account`, one per account
   * and region). API Gateway logging needs it; leave false when the account has one already.
   * @default false (the repository's app: true)
   */
  readonly apiGatewayCloudWatchRole?: boolean;
  /**
   * How long the log groups keep events, in days: a value CloudWatch Logs accepts, such as
   * `logs.RetentionDays.ONE_YEAR` (365). @default 365
   */
  readonly logRetentionDays?: number;
  /** Memory of every function, in MB (128-10240). @default 512 */
  readonly memorySize?: number;
  /**
   * Function timeouts in seconds: the API's (at most 29), the workflow's (at most 900) and the
   * reconciler's (at most 290: it runs every 5 minutes). @default { api: 29, workflow: 60, reconciler: 240 }
   */
  readonly timeouts?: { readonly api?: number; readonly workflow?: number; readonly reconciler?: number };
  /**
   * What happens to the tables, the data key and the log groups when the stack is deleted.
   * `destroy` also turns the tables' deletion protection off (for test deployments).
   * @default 'retain'
   */
  readonly removalPolicy?: 'retain' | 'destroy';
  /** Tags put on every resource Lockbox creates. @default - none */
  readonly tags?: Readonly<Record<string, string>>;
}

/** The `Lockbox` construct's props: the configuration, and what only a CDK app can pass. */
export interface LockboxProps extends LockboxConfig {
  /**
   * Your own KMS key for the tables and the alarm topic (bring your own key). Its key policy must
   * let the account's principals use it through DynamoDB, and CloudWatch publish with it.
   * @default - a new key with rotation on
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Encrypts every log group. A key created in the same stack gets the statement CloudWatch Logs
   * needs; for an imported key, add it yourself.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /** An SNS topic for alarm actions. Give this or `alarms.topicArn`, not both. @default - a new encrypted topic */
  readonly alarmTopic?: sns.ITopic;
}
