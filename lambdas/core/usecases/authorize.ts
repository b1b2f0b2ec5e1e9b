import type { Actor, ActorKind } from '../domain/audit';
import { ForbiddenError, NotFoundError } from '../domain/errors';
import { findPerson, type Manager, type Person, personKeys, providerReason, providerSide } from '../domain/principals';
import type { AccessRequest } from '../domain/request';
import { type Approver, canReadAudit, findApprover, isTenantAdmin, type Tenant, type Who } from '../domain/tenant';
import type { Caller, Deps } from './deps';

/** Loaders and role checks shared by the use cases. A caller with no role gets 403. */

export async function loadRequest(deps: Deps, requestId: string): Promise<AccessRequest> {
  const request = await deps.requests.get(requestId);
  if (!request) throw new NotFoundError('No such request', { requestId });
  return request;
}

export async function loadTenant(deps: Deps, tenantId: string): Promise<Tenant> {
  const tenant = await deps.tenants.get(tenantId);
  if (!tenant) throw new NotFoundError('No such tenant', { tenantId });
  return tenant;
}

/** The caller as a tenant sees them: principal, and the verified email and groups of a sign-in. */
export const whoIs = (caller: Caller): Who => ({ principal: caller.principal, email: caller.signIn?.email, groups: caller.signIn?.groups });

/**
 * The person behind a caller (docs/design.md §3a): keys from the sign-in's verified email, the email of the
 * directory or tenant entry they matched, the IdP-set session name, and the principal.
 */
export const callerKeys = (caller: Caller, entry?: { email?: string; sessionNameSetBy?: Person['sessionNameSetBy'] }): string[] =>
  personKeys({ principal: caller.principal, emails: [caller.signIn?.email, entry?.email], entry });

/** The audit actor of a person: `person` is their first person key. */
export const actorOf = (kind: ActorKind, id: string, keys: readonly string[]): Actor => ({ kind, id, person: keys[0] });

export function requireEngineer(deps: Deps, caller: Caller): Person {
  const engineer = findPerson(deps.directory.engineers, caller.principal);
  if (!engineer) throw new ForbiddenError('Only support engineers may request access');
  return engineer;
}

export const managerOf = (deps: Deps, principal: string): Manager | undefined =>
  deps.directory.managers.find((manager) => manager.principal === principal);

export function requireManager(deps: Deps, caller: Caller): Manager {
  const manager = managerOf(deps, caller.principal);
  if (!manager) throw new ForbiddenError('Only support managers may do this');
  return manager;
}

/**
 * Why a tenant entry belongs to the provider, against the deployment's directory now. Checked at
 * decision time, so a tenant item written before the rule, or by hand, cannot make a provider
 * person decide for the customer; the account rule is enforced where settings are written.
 */
export const providerSideOf = (deps: Deps, entry: { principal?: string; email?: string }): string | undefined =>
  providerReason(entry, providerSide(deps.directory));

/** The caller as one of the tenant's approvers, checked at decision time: still listed, and not a provider person. */
export function requireApprover(deps: Deps, tenant: Tenant, caller: Caller): Approver {
  const approver = findApprover(tenant, whoIs(caller));
  if (!approver) throw new ForbiddenError("Only the tenant's approvers may do this");
  if (providerSideOf(deps, { principal: caller.signIn ? undefined : caller.principal, email: approver.email })) {
    throw new ForbiddenError("Only the customer's own people may decide for the tenant");
  }
  return approver;
}

export function requireTenantAdmin(tenant: Tenant, caller: Caller): void {
  if (!isTenantAdmin(tenant, whoIs(caller))) throw new ForbiddenError("Only the tenant's admins may do this");
}

/** Requester, managers, and the tenant's approvers, admins and auditors may read a request. */
export function canViewRequest(deps: Deps, request: AccessRequest, tenant: Tenant | undefined, caller: Caller): boolean {
  return (
    request.requestedBy === caller.principal ||
    managerOf(deps, caller.principal) !== undefined ||
    (tenant !== undefined && canReadAudit(tenant, whoIs(caller)))
  );
}

/** Who is asked to decide at a stage: the managers, or the tenant's approvers who are the customer's own. */
export async function stageRecipients(
  deps: Deps,
  request: AccessRequest,
  stage: 'manager' | 'customer',
): Promise<{ email: string; principal?: string; sessionNameSetBy?: 'idp' }[]> {
  if (stage === 'manager') return deps.directory.managers;
  const tenant = await loadTenant(deps, request.tenantId);
  return tenant.approvers.filter((approver) => !providerSideOf(deps, approver));
}

/** The person keys of a stage recipient (a manager or approver entry), as when they decide. */
export const recipientKeys = (recipient: { email: string; principal?: string; sessionNameSetBy?: 'idp' }): string[] =>
  personKeys({ principal: recipient.principal, emails: [recipient.email], entry: recipient });

/** Audit actor and separation-of-duties keys of the engineer who files a request. */
export const engineerIdentity = (engineer: Person, caller: Caller) => {
  const keys = callerKeys(caller, engineer);
  return { actor: actorOf('engineer', caller.principal, keys), keys };
};
