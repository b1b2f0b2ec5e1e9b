import { Stack, Tags, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { AccessBoundary } from './access-boundary';
import { ConfigError } from './config';
import { accessRoleStatements, accessRolesAcknowledgement, boundaryGuardStatements } from './lockbox-function';

/** The tag on Lockbox's access-provider roles that a target role's trust requires (value: the prefix). */
export const DEPLOYMENT_TAG = 'lockbox:deployment';
/** Where target roles live: outside `/lockbox/`, so no access role's grants can reach them. */
export const TARGET_ROLE_PATH = '/lockbox-target/';

/** The target role's name in a member account, from the Lockbox's prefix. */
export const targetRoleName = (prefix: string): string => `${prefix}-AccessTarget`.slice(0, 64);

/** The target role's ARN in a member account (built from its fixed name: no reference across accounts). */
export const targetRoleArn = (stack: Stack, accountId: string, prefix: string): string =>
  stack.formatArn({
    service: 'iam',
    region: '',
    account: accountId,
    resource: 'role',
    resourceName: `${TARGET_ROLE_PATH.slice(1)}${targetRoleName(prefix)}`,
  });

export interface LockboxTargetProps {
  /** The account Lockbox runs in: its access-provider functions assume the target role. */
  readonly lockboxAccount: string;
  /**
   * The `prefix` of that Lockbox (`lockbox.prefix`; the repository's app: its stack name). It names
   * the boundary (`/lockbox/<prefix>-AccessBoundary`, the same name as in Lockbox's account) and
   * the role (`/lockbox-target/<prefix>-AccessTarget`), and is the tag value the trust requires.
   */
  readonly prefix: string;
  /** Tags put on everything this construct creates. @default - none */
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * What a member account needs so Lockbox can grant access in it: the permissions boundary every
 * access role there carries, and a role that Lockbox's access provider (the functions of the
 * Lockbox with that prefix, in `lockboxAccount`) assumes to create, revoke and sweep the
 * per-request roles — with exactly the rights those functions have at home: roles under
 * `/lockbox/` only, created only with the boundary and Lockbox's tags, the boundary itself never
 * changed. The per-request roles' time-bound trust is written by the same code as at home.
 */
export class LockboxTarget extends Construct {
  readonly role: iam.Role;
  readonly accessBoundary: AccessBoundary;

  constructor(scope: Construct, id: string, props: LockboxTargetProps) {
    super(scope, id);
    if (!/^\d{12}$/.test(props.lockboxAccount))
      throw new ConfigError(`LockboxTarget ${this.node.path}: lockboxAccount must be a 12-digit AWS account id`);
    if (!/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(props.prefix)) {
      throw new ConfigError(
        `LockboxTarget ${this.node.path}: prefix must start with a letter and be at most 64 letters, digits and dashes`,
      );
    }
    const stack = Stack.of(this);
    const roleName = targetRoleName(props.prefix);
    const ownArn = stack.formatArn({
      service: 'iam',
      region: '',
      resource: 'role',
      resourceName: `${TARGET_ROLE_PATH.slice(1)}${roleName}`,
    });
    this.accessBoundary = new AccessBoundary(this, 'AccessBoundary', { prefix: props.prefix, protectIamArns: [ownArn] });
    this.role = new iam.Role(this, 'Role', {
      roleName,
      path: TARGET_ROLE_PATH,
      description: `Lockbox ${props.prefix} (account ${props.lockboxAccount}) manages per-request access roles here`,
      // Only Lockbox's own access-provider roles, tagged with this deployment's prefix.
      assumedBy: new iam.AccountPrincipal(props.lockboxAccount).withConditions({
        StringEquals: { [`aws:PrincipalTag/${DEPLOYMENT_TAG}`]: props.prefix },
      }),
    });
    const boundaryArn = this.accessBoundary.arn;
    for (const statement of [
      ...accessRoleStatements(stack, { mode: 'grant', boundaryArn }),
      ...accessRoleStatements(stack, { mode: 'reconcile' }),
      ...boundaryGuardStatements(boundaryArn),
    ]) {
      this.role.addToPrincipalPolicy(statement);
    }
    Validations.of(this.role).acknowledge(accessRolesAcknowledgement(stack));
    for (const [key, value] of Object.entries(props.tags ?? {})) Tags.of(this).add(key, value);
  }
}
