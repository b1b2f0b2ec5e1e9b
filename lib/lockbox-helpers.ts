import type { Tenant } from '../lambdas/core/domain/tenant';
import type { TenantSeedProps } from './lockbox-props';

/**
 * Pure helpers of the Lockbox construct (no aws-cdk-lib imports): the tenant item seeded at
 * deployment, DynamoDB attribute values, and the principal patterns of the API's resource policy.
 */

/** The Tenants item of a seeded tenant, in the shape the handlers read (`domain/tenant.ts`). */
export function tenantItem(seed: TenantSeedProps, defaults: { maxAccessDuration: string; approvalTimeout: string }): Tenant {
  return {
    tenantId: seed.tenantId,
    displayName: seed.displayName,
    lockboxEnabled: seed.lockboxEnabled ?? true,
    approvers: seed.approvers.map(({ email, principal }) => (principal ? { email, principal } : { email })),
    admins: [...seed.admins],
    auditors: [...(seed.auditors ?? [])],
    maxAccessDuration: seed.maxAccessDuration ?? defaults.maxAccessDuration,
    approvalTimeout: seed.approvalTimeout ?? defaults.approvalTimeout,
    accessLevels: Object.fromEntries(
      Object.entries(seed.accessLevels).map(([name, { description, managedPolicyArns }]) => [
        name,
        {
          ...(description !== undefined ? { description } : {}),
          ...(managedPolicyArns ? { managedPolicyArns: [...managedPolicyArns] } : {}),
        },
      ]),
    ),
    ...(seed.accessTarget ? { accessTarget: { ...seed.accessTarget } } : {}),
    ...(seed.customerAccounts ? { customerAccounts: [...seed.customerAccounts] } : {}),
    version: 1,
  };
}

export type AttributeValue =
  | { S: string }
  | { N: string }
  | { BOOL: boolean }
  | { L: AttributeValue[] }
  | { M: Record<string, AttributeValue> };

/** A plain JSON value as a DynamoDB attribute value (what PutItem takes without the document client). */
export function toAttributeValue(value: unknown): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (Array.isArray(value)) return { L: value.map(toAttributeValue) };
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, field]) => field !== undefined);
    return { M: Object.fromEntries(entries.map(([name, field]) => [name, toAttributeValue(field)])) };
  }
  throw new Error(`Cannot store ${String(value)} in DynamoDB`);
}

/** The attributes of an item (`toAttributeValue` of an object, unwrapped). */
export const toItem = (value: object): Record<string, AttributeValue> =>
  (toAttributeValue(value) as { M: Record<string, AttributeValue> }).M;

/**
 * The `aws:PrincipalArn` patterns that let a configured principal through the API's resource
 * policy. For a role session, `aws:PrincipalArn` is the ROLE's ARN (with its path), so an STS
 * assumed-role principal becomes its role, at the root or under any path.
 */
export function principalArnPatterns(principals: readonly string[]): string[] {
  const patterns = principals.flatMap((principal) => {
    const session = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(principal);
    if (!session) return [principal];
    const [, partition, account, role] = session;
    return [`arn:${partition}:iam::${account}:role/${role}`, `arn:${partition}:iam::${account}:role/*/${role}`];
  });
  return [...new Set(patterns)].sort();
}
