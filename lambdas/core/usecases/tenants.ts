import { checkDurationWithin } from '../domain/duration';
import { ConflictError, ForbiddenError, ValidationError } from '../domain/errors';
import { POLICY_DEFAULTS } from '../domain/policy';
import { customerSideProblems, pathText, providerSide } from '../domain/principals';
import { type RequestView, toView } from '../domain/request';
import { canReadAudit, findApprover, isTenantAdmin, type Tenant } from '../domain/tenant';
import type { AuditPage, Page } from '../ports';
import { actorOf, callerKeys, loadRequest, loadTenant, requireTenantAdmin, whoIs } from './authorize';
import type { Caller, Deps } from './deps';
import { endAccess, RevokeIncomplete } from './workflow-steps';

/** The settings a tenant admin may read and change; the chain head and version stay server-side. */
export type TenantSettings = Omit<Tenant, 'tenantId' | 'version' | 'auditSeq' | 'auditHead'>;

export const settingsView = (tenant: Tenant) => {
  const { auditSeq: _seq, auditHead: _head, ...view } = tenant;
  return view;
};

/** The tenant's admins, and the deployment's admins (who created it), read its settings. */
export async function getTenant(deps: Deps, caller: Caller, tenantId: string) {
  const tenant = await loadTenant(deps, tenantId);
  if (!isDeploymentAdmin(deps, caller)) requireTenantAdmin(tenant, caller);
  return settingsView(tenant);
}

/**
 * A deployment admin creates a tenant (docs/design.md §4 `POST /tenants`); from then on its own admins
 * change it with `PUT /tenants/{id}`.
 * 1. the caller must be a deployment admin (LOCKBOX_DIRECTORY `admins`);
 * 2. the settings pass the same checks as an update (durations, approvers, the customer's side);
 * 3. the tenant and its TenantCreated event are written together, only if the id is free (409).
 */
export async function createTenant(deps: Deps, caller: Caller, body: TenantSettings & { tenantId: string }) {
  requireDeploymentAdmin(deps, caller);
  checkSettings(deps, body);
  checkCustomerSide(deps, body);
  const tenant: Tenant = { ...body, version: 1 };
  const created = await deps.tenants.create(
    tenant,
    {
      type: 'TenantCreated',
      actor: actorOf('admin', caller.principal, callerKeys(caller)),
      sourceIp: caller.sourceIp,
      details: {
        settings: Object.keys(body)
          .filter((key) => key !== 'tenantId')
          .sort(),
      },
    },
    deps.clock.now().getTime(),
  );
  if (!created) throw new ConflictError('A tenant with this id exists already', { tenantId: body.tenantId });
  return settingsView(tenant);
}

/** Deployment admins list every tenant (settings as `GET /tenants/{id}` shows them), in one page: tenants are few. */
export async function listTenants(deps: Deps, caller: Caller): Promise<Page<ReturnType<typeof settingsView>>> {
  requireDeploymentAdmin(deps, caller);
  return { items: (await deps.tenants.list()).map(settingsView) };
}

const isDeploymentAdmin = (deps: Deps, caller: Caller): boolean =>
  (deps.directory.admins ?? []).some((admin) => admin.principal === caller.principal);

function requireDeploymentAdmin(deps: Deps, caller: Caller): void {
  if (!isDeploymentAdmin(deps, caller)) throw new ForbiddenError("Only the deployment's admins may create or list tenants");
}

/** The rules every tenant's settings keep, on creation and on each change. */
function checkSettings(
  deps: Deps,
  settings: Pick<TenantSettings, 'maxAccessDuration' | 'approvalTimeout' | 'lockboxEnabled' | 'approvers'>,
): void {
  checkDurationWithin(settings.maxAccessDuration, 'maxAccessDuration', deps.policy.durationFloor, deps.policy.durationCap);
  checkDurationWithin(settings.approvalTimeout, 'approvalTimeout', 'PT1S', POLICY_DEFAULTS.approvalTimeoutLimit);
  if (settings.lockboxEnabled && settings.approvers.length === 0) {
    throw new ValidationError('A tenant with Lockbox enabled needs at least one approver', { field: 'approvers' });
  }
}

/**
 * A tenant admin replaces the tenant's settings.
 * The body carries the version it was based on (optimistic locking); the cap may not exceed the
 * deployment's, approvers may not be empty while Lockbox is on, and an admin cannot remove
 * themselves (a tenant must keep someone who can change it).
 */
export async function updateTenant(deps: Deps, caller: Caller, tenantId: string, body: TenantSettings & { version: number }) {
  const tenant = await loadTenant(deps, tenantId);
  requireTenantAdmin(tenant, caller);
  if (body.version !== tenant.version) {
    throw new ConflictError('The tenant changed since you read it; read it again', { version: tenant.version });
  }
  checkSettings(deps, body);
  if (!isTenantAdmin({ ...tenant, admins: body.admins, consoleGroups: body.consoleGroups }, whoIs(caller))) {
    throw new ValidationError('You cannot remove yourself from the admins', { field: 'admins' });
  }
  checkCustomerSide(deps, { ...tenant, ...body });
  const { version: _version, ...settings } = body;
  const updated = await deps.tenants.update(
    { ...tenant, ...settings },
    {
      type: 'TenantUpdated',
      actor: actorOf('admin', caller.principal, callerKeys(caller)),
      sourceIp: caller.sourceIp,
      details: { changed: changedKeys(tenant, settings) },
    },
    deps.clock.now().getTime(),
  );
  return settingsView(updated);
}

/**
 * Approvers, admins and auditors must be the customer's own (docs/design.md §3a, T-5.10): principals of the
 * tenant's accounts or sign-in emails, never a provider person or a principal of the provider's
 * accounts. The first offending entry is named in `details.field`.
 */
export function checkCustomerSide(
  deps: Deps,
  tenant: Pick<Tenant, 'approvers' | 'admins' | 'auditors' | 'accessTarget' | 'customerAccounts'>,
): void {
  const problems = customerSideProblems(tenant, providerSide(deps.directory));
  const [first] = problems;
  if (first) {
    const field = pathText(first.path);
    throw new ValidationError(`${field}: ${first.message}`, {
      field,
      problems: problems.map((problem) => ({ field: pathText(problem.path), message: problem.message })),
    });
  }
}

const changedKeys = (before: Tenant, after: TenantSettings): string[] =>
  (Object.keys(after) as (keyof TenantSettings)[]).filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));

export async function listAudit(
  deps: Deps,
  caller: Caller,
  tenantId: string,
  query: { from?: string; to?: string; limit: number; nextToken?: string },
): Promise<AuditPage> {
  await requireAuditReader(deps, caller, tenantId);
  return deps.audit.list(tenantId, query, query.limit, query.nextToken);
}

/** The tenant's approvers, admins and auditors may read its audit log, digests and verification. */
export async function requireAuditReader(deps: Deps, caller: Caller, tenantId: string): Promise<void> {
  const tenant = await loadTenant(deps, tenantId);
  if (!canReadAudit(tenant, whoIs(caller))) throw new ForbiddenError("You may not read this tenant's audit log");
}

/** The customer (an approver or admin of the tenant) ends granted access before its window ends. */
export async function revokeAccess(deps: Deps, caller: Caller, requestId: string, body: { reason?: string }): Promise<RequestView> {
  const request = await loadRequest(deps, requestId);
  const tenant = await loadTenant(deps, request.tenantId);
  const approver = findApprover(tenant, whoIs(caller));
  const admin = isTenantAdmin(tenant, whoIs(caller));
  if (!approver && !admin) throw new ForbiddenError("Only the tenant's approvers or admins may revoke access");
  if (request.status !== 'ACTIVE') throw new ConflictError('Only active access can be revoked', { status: request.status });
  const actor = {
    ...actorOf(approver ? 'approver' : 'admin', caller.principal, callerKeys(caller, approver)),
    kind: approver ? ('approver' as const) : ('admin' as const),
  };
  let ended;
  try {
    ended = await endAccess(
      deps,
      requestId,
      { reason: 'revoked-by-customer', actor, sourceIp: caller.sourceIp, note: body.reason },
      request,
    );
  } catch (error) {
    // The customer asked and it did not happen: that must be in their audit log, not only in ours.
    await deps.audit.append(
      request.tenantId,
      {
        type: 'RevokeFailed',
        requestId,
        actor,
        sourceIp: caller.sourceIp,
        details: { completedSteps: error instanceof RevokeIncomplete ? error.steps : [], cause: describeCause(error) },
      },
      deps.clock.now().getTime(),
    );
    throw error;
  }
  if (ended.status !== 'REVOKED') throw new ConflictError('Access had already ended', { status: ended.status });
  return toView(ended, { isRequester: false });
}

const describeCause = (error: unknown): string => {
  const cause = error instanceof RevokeIncomplete ? error.cause : error;
  return cause instanceof Error ? cause.name : 'unknown';
};
