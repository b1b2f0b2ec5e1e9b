import { createHash, randomBytes } from 'node:crypto';
import { iso } from '../domain/clock';
import { checkDurationWithin, durationMs } from '../domain/duration';
import { ConflictError, ForbiddenError, ValidationError } from '../domain/errors';
import { type AccessRequest, openingOf, type RequestView, toView } from '../domain/request';
import type { Status } from '../domain/status';
import { canReadAudit } from '../domain/tenant';
import type { Page } from '../ports';
import { canViewRequest, engineerIdentity, loadRequest, loadTenant, managerOf, requireEngineer, whoIs } from './authorize';
import type { Caller, Deps } from './deps';

export interface NewRequestInput {
  tenantId: string;
  ticketId: string;
  justification: string;
  accessLevel: string;
  duration: string;
  idempotencyKey?: string;
}

/**
 * An engineer files an access request.
 * 1. the caller must be a configured engineer; the tenant must exist and accept requests;
 * 2. the access level must be one the tenant offers, the duration within floor and the tenant's cap;
 * 3. the request is stored with its RequestCreated event, its manager stage open with its
 *    deadline: managers may decide from this write on (a repeated idempotency key finds the
 *    first request instead — same body: returned as is; different body: CONFLICT);
 * 4. its workflow is started, named by the request id. Its manager task starts after this write,
 *    so the task's timer never fires before the deadline people see.
 */
export async function createRequest(
  deps: Deps,
  caller: Caller,
  input: NewRequestInput,
): Promise<{ request: RequestView; created: boolean }> {
  const engineer = requireEngineer(deps, caller);
  const tenant = await loadTenant(deps, input.tenantId);
  if (!tenant.lockboxEnabled) throw new ForbiddenError('This tenant does not accept access requests');
  if (!Object.hasOwn(tenant.accessLevels, input.accessLevel)) {
    throw new ValidationError('accessLevel is not offered by this tenant', {
      field: 'accessLevel',
      allowed: Object.keys(tenant.accessLevels),
    });
  }
  // The tenant's cap, but never above the deployment's (a tenant item edited by hand cannot widen it).
  const cap =
    durationMs(tenant.maxAccessDuration, 'maxAccessDuration') <= durationMs(deps.policy.durationCap, 'durationCap')
      ? tenant.maxAccessDuration
      : deps.policy.durationCap;
  checkDurationWithin(input.duration, 'duration', deps.policy.durationFloor, cap);

  const now = deps.clock.now();
  const { actor, keys } = engineerIdentity(engineer, caller);
  const managerSeconds = durationMs(deps.policy.managerApprovalTimeout, 'managerApprovalTimeout') / 1000;
  const request: AccessRequest = {
    requestId: requestIdFor(caller.principal, input.idempotencyKey),
    tenantId: tenant.tenantId,
    ticketId: input.ticketId,
    justification: input.justification,
    accessLevel: input.accessLevel,
    duration: input.duration,
    requestedBy: caller.principal,
    status: 'PENDING_MANAGER_APPROVAL',
    createdAt: iso(now),
    version: 1,
    idempotencyKey: input.idempotencyKey,
    parties: keys,
    timeouts: {
      managerSeconds,
      customerSeconds: durationMs(tenant.approvalTimeout, 'approvalTimeout') / 1000,
    },
    ...openingOf('manager', now.getTime() + managerSeconds * 1000),
  };
  const created = await deps.requests.create(request, {
    type: 'RequestCreated',
    requestId: request.requestId,
    actor,
    sourceIp: caller.sourceIp,
    details: {
      ticketId: request.ticketId,
      accessLevel: request.accessLevel,
      duration: request.duration,
      justification: request.justification,
    },
  });
  const stored = created ? request : await sameRequestAgain(deps, request);
  // Started on a repeat too: if the first attempt stored the request but died before starting it,
  // the client's retry completes it. The execution name makes a second start harmless.
  await deps.workflow.start(stored.requestId, stored.timeouts);
  return { request: toView(stored, { isRequester: true }), created };
}

/** A random id, or one derived from (requester, idempotency key) so a retry finds the same request. */
function requestIdFor(principal: string, idempotencyKey: string | undefined): string {
  const bytes = idempotencyKey ? createHash('sha256').update(`${principal}\n${idempotencyKey}`).digest().subarray(0, 16) : randomBytes(16);
  return `req-${bytes.toString('hex')}`;
}

async function sameRequestAgain(deps: Deps, attempt: AccessRequest): Promise<AccessRequest> {
  const existing = await loadRequest(deps, attempt.requestId);
  const fields = ['tenantId', 'ticketId', 'justification', 'accessLevel', 'duration', 'requestedBy'] as const;
  if (fields.some((field) => existing[field] !== attempt[field])) {
    throw new ConflictError('idempotencyKey was already used for a different request', {
      requestId: existing.requestId,
    });
  }
  return existing;
}

export async function getRequest(deps: Deps, caller: Caller, requestId: string): Promise<RequestView> {
  const request = await loadRequest(deps, requestId);
  const tenant = await deps.tenants.get(request.tenantId);
  if (!canViewRequest(deps, request, tenant, caller)) throw new ForbiddenError('You may not see this request');
  return toView(request, { isRequester: request.requestedBy === caller.principal });
}

export interface ListQuery {
  tenantId?: string;
  status?: Status;
  createdAfter?: string;
  limit: number;
  nextToken?: string;
}

/** Managers list any tenant's requests (or all requests in one status); approvers, admins and auditors their tenant's. */
export async function listRequests(deps: Deps, caller: Caller, query: ListQuery): Promise<Page<RequestView>> {
  const isManager = managerOf(deps, caller.principal) !== undefined;
  let page: Page<AccessRequest>;
  if (query.tenantId) {
    const tenant = await deps.tenants.get(query.tenantId);
    if (!isManager && !(tenant && canReadAudit(tenant, whoIs(caller)))) {
      throw new ForbiddenError("You may not list this tenant's requests");
    }
    page = await deps.requests.listByTenant(query.tenantId, query, query.limit, query.nextToken);
  } else {
    if (!isManager) throw new ForbiddenError('Only support managers may list requests across tenants');
    if (!query.status) throw new ValidationError('Give tenantId or status', { fields: ['tenantId', 'status'] });
    page = await deps.requests.listByStatus(query.status, query, query.limit, query.nextToken);
  }
  return {
    items: page.items.map((request) => toView(request, { isRequester: request.requestedBy === caller.principal })),
    nextToken: page.nextToken,
  };
}
