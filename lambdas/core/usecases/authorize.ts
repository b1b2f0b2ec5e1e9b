import type { Actor } from '../domain/audit';
import { ForbiddenError, NotFoundError } from '../domain/errors';
import { findPerson, identityKeys, type Person } from '../domain/principals';
import type { AccessRequest } from '../domain/request';
import { canReadAudit, findApprover, isTenantAdmin, type Approver, type Tenant } from '../domain/tenant';
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

export function requireEngineer(deps: Deps, caller: Caller): Person {
  const engineer = findPerson(deps.directory.engineers, caller.principal);
  if (!engineer) throw new ForbiddenError('Only support engineers may request access');
  return engineer;
}

export const managerOf = (deps: Deps, principal: string): Required<Person> | undefined =>
  deps.directory.managers.find((manager) => manager.principal === principal);

export function requireManager(deps: Deps, caller: Caller): Required<Person> {
  const manager = managerOf(deps, caller.principal);
  if (!manager) throw new ForbiddenError('Only support managers may do this');
  return manager;
}

export function requireApprover(tenant: Tenant, caller: Caller): Approver {
  const approver = findApprover(tenant, { principal: caller.principal });
  if (!approver) throw new ForbiddenError("Only the tenant's approvers may do this");
  return approver;
}

export function requireTenantAdmin(tenant: Tenant, caller: Caller): void {
  if (!isTenantAdmin(tenant, caller.principal)) throw new ForbiddenError("Only the tenant's admins may do this");
}

/** Requester, managers, and the tenant's approvers, admins and auditors may read a request. */
export function canViewRequest(deps: Deps, request: AccessRequest, tenant: Tenant | undefined, caller: Caller): boolean {
  return (
    request.requestedBy === caller.principal ||
    managerOf(deps, caller.principal) !== undefined ||
    (tenant !== undefined && canReadAudit(tenant, caller.principal))
  );
}

/** Who is asked to decide at a stage: the managers, or the tenant's approvers. */
export async function stageRecipients(deps: Deps, request: AccessRequest, stage: 'manager' | 'customer'): Promise<{ email: string; principal?: string }[]> {
  if (stage === 'manager') return deps.directory.managers;
  return (await loadTenant(deps, request.tenantId)).approvers;
}

/** Audit actor and separation-of-duties keys of the engineer who files a request. */
export const engineerIdentity = (engineer: Person, caller: Caller) => ({
  actor: { kind: 'engineer', id: caller.principal } satisfies Actor,
  keys: identityKeys(caller.principal, engineer.email),
});
