/**
 * The properties of the `Lockbox` construct. The configuration file (`lockbox.config.json`) has
 * exactly this shape; `lib/config.ts` validates it. Kept free of aws-cdk-lib imports.
 */
import { POLICY_DEFAULTS } from '../lambdas/core/domain/policy';

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
} as const;

/** A person of the provider, identified by the IAM principal that signs their API calls. */
export interface PersonProps {
  /**
   * IAM user or role ARN, or STS assumed-role session ARN. For engineers a trailing `*` matches
   * every session of a role, e.g. `arn:aws:sts::111111111111:assumed-role/SupportEngineer/*`.
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

export interface LockboxProps {
  /** The provider's AWS account: engineers and managers are principals of it. */
  readonly providerAccount: string;
  /** Support engineers who may request access. */
  readonly engineers: readonly PersonProps[];
  /** Support managers, the first approval stage (exact principals). */
  readonly managers: readonly ManagerProps[];
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
}
