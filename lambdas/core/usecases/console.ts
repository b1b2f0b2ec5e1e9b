import { LockboxError, NotFoundError } from '../domain/errors';
import { type AccessRequest, stageIsOpen } from '../domain/request';
import { canReadAudit, findApprover, isTenantAdmin, type Tenant } from '../domain/tenant';
import { loadTenant, whoIs } from './authorize';
import { decideAsCustomer } from './decisions';
import type { Caller, Deps } from './deps';
import { revokeAccess } from './tenants';

/**
 * What the console adds to the use cases the API and links already have: which tenants a
 * signed-in person has a role in, what waits for them, and the audit of what the console refused.
 * Decisions and revokes go through `decideAsCustomer` and `revokeAccess` — the very use cases of
 * the API — so every rule (separation of duties, open stage, one winner) is the same.
 */
export interface ConsoleRoles {
  approver: boolean;
  admin: boolean;
  /** May read the tenant's requests and audit log (approvers and admins may too). */
  reader: boolean;
}

export const rolesIn = (tenant: Tenant, caller: Caller): ConsoleRoles => {
  const who = whoIs(caller);
  return { approver: findApprover(tenant, who) !== undefined, admin: isTenantAdmin(tenant, who), reader: canReadAudit(tenant, who) };
};

/** The tenants the person has any role in, checked against the tenants as they are now. */
export async function myTenants(deps: Deps, caller: Caller): Promise<{ tenant: Tenant; roles: ConsoleRoles }[]> {
  const tenants = await deps.tenants.list();
  return tenants
    .map((tenant) => ({ tenant, roles: rolesIn(tenant, caller) }))
    .filter(({ roles }) => roles.reader)
    .sort((a, b) => a.tenant.displayName.localeCompare(b.tenant.displayName));
}

/** Requests of the tenant whose customer stage is open now: what an approver can decide. */
export async function pendingRequests(deps: Deps, tenantId: string): Promise<AccessRequest[]> {
  const nowMs = deps.clock.now().getTime();
  const open: AccessRequest[] = [];
  let nextToken: string | undefined;
  do {
    const page = await deps.requests.listByTenant(tenantId, { status: 'PENDING_CUSTOMER_APPROVAL' }, 100, nextToken);
    open.push(...page.items.filter((request) => stageIsOpen(request, 'customer', nowMs)));
    nextToken = page.nextToken;
  } while (nextToken && open.length < 200);
  return open.sort((a, b) => (a.approvalDeadlineMs ?? 0) - (b.approvalDeadlineMs ?? 0));
}

/** A request of the tenant whose console page acts on it. */
export interface ConsoleTarget {
  tenantId: string;
  requestId: string;
}

/**
 * A decision or revoke from the console, on a request of the tenant the page is about. A request
 * of another tenant is "not found" (its id tells nothing); every refusal is audited on the tenant.
 */
export async function consoleAction<T>(
  deps: Deps,
  caller: Caller,
  { tenantId, requestId }: ConsoleTarget,
  action: 'decide' | 'revoke',
  run: () => Promise<T>,
): Promise<T> {
  const tenant = await loadTenant(deps, tenantId);
  let request: AccessRequest | undefined;
  try {
    request = await deps.requests.get(requestId);
    if (!request || request.tenantId !== tenant.tenantId) throw new NotFoundError('No such request in this tenant', { requestId });
    return await run();
  } catch (error) {
    if (error instanceof LockboxError && error.statusCode < 500) {
      await deps.audit.append(
        tenant.tenantId,
        {
          type: 'ConsoleRefused',
          requestId: request?.tenantId === tenant.tenantId ? requestId : undefined,
          actor: { kind: rolesIn(tenant, caller).approver ? 'approver' : 'anonymous', id: caller.principal },
          sourceIp: caller.sourceIp,
          details: { action, why: error.message, code: error.code, requestId },
        },
        deps.clock.now().getTime(),
      );
    }
    throw error;
  }
}

export const consoleDecide = (deps: Deps, caller: Caller, on: ConsoleTarget, body: { decision: 'APPROVE' | 'DENY'; reason?: string }) =>
  consoleAction(deps, caller, on, 'decide', () => decideAsCustomer(deps, caller, on.requestId, body));

export const consoleRevoke = (deps: Deps, caller: Caller, on: ConsoleTarget, reason: string | undefined) =>
  consoleAction(deps, caller, on, 'revoke', () => revokeAccess(deps, caller, on.requestId, { reason }));
