import { loadRequest } from './authorize';
import type { Deps } from './deps';
import { endAccess } from './workflow-steps';

/**
 * The reconciler: an independent sweep (EventBridge Scheduler on AWS, a timer in local mode) that
 * repairs what the workflow should have done but did not — because an execution was stopped, a
 * revoke kept failing, or a decision's delivery was lost. It never widens anything.
 * 1. requests still ACTIVE after their window: ended through the same use case as the workflow;
 * 2. provider-side access that outlived its expiry (e.g. a role left under /lockbox/): revoked,
 *    and the request ended if it was still ACTIVE;
 * 3. decisions committed but not delivered (status moved on, the stage's task may still wait):
 *    delivered again; a task that is gone already answers "lost race", which is fine.
 * Every action is audited by the use case it goes through; the report says what was done, so the
 * caller can raise an alarm whenever it had to act.
 */
export interface ReconcileReport {
  windowsEnded: string[];
  leftoversRevoked: string[];
  redelivered: string[];
  failed: string[];
}

/** A decision younger than this is still on its way; only older ones are delivered again. */
const REDELIVERY_GRACE_MS = 120_000;
const BATCH = 100;

export async function reconcile(deps: Deps): Promise<ReconcileReport> {
  const nowMs = deps.clock.now().getTime();
  const report: ReconcileReport = { windowsEnded: [], leftoversRevoked: [], redelivered: [], failed: [] };
  const attempt = async (requestId: string, action: () => Promise<boolean>, done: string[]) => {
    try {
      if (await action()) done.push(requestId);
    } catch (error) {
      deps.log.error('reconciler could not repair a request', { requestId, error: String(error) });
      report.failed.push(requestId);
    }
  };

  for (const request of await deps.requests.listOverdueGrants(nowMs, BATCH)) {
    await attempt(request.requestId, async () => (await endAccess(deps, request.requestId, { reason: 'window-ended' })).status === 'COMPLETED', report.windowsEnded);
  }

  for (const requestId of await deps.access.listExpired(nowMs)) {
    if (report.windowsEnded.includes(requestId)) continue;
    await attempt(
      requestId,
      async () => {
        const request = await loadRequest(deps, requestId);
        if (request.status === 'ACTIVE') return (await endAccess(deps, requestId, { reason: 'window-ended' })).status === 'COMPLETED';
        await deps.access.revoke(request);
        // Its own time, not the sweep's: the ledger refuses events older than its commit window.
        await deps.audit.append(request.tenantId, { type: 'AccessRevoked', requestId, actor: RECONCILER, details: { reason: 'left-over-after-end', status: request.status } }, deps.clock.now().getTime());
        return true;
      },
      report.leftoversRevoked,
    );
  }

  const stranded = [
    ...(await deps.requests.listByStatus('PENDING_CUSTOMER_APPROVAL', {}, BATCH)).items.filter((request) => !request.openStage && decidedBefore(request.managerDecision?.at, nowMs)),
    ...(await deps.requests.listByStatus('APPROVED', {}, BATCH)).items.filter((request) => decidedBefore(request.customerDecision?.at, nowMs)),
  ];
  for (const request of stranded) {
    if (!request.taskToken) continue;
    await attempt(request.requestId, async () => (await deps.workflow.succeed(request.taskToken!, { status: request.status })) === 'delivered', report.redelivered);
  }
  return report;
}

const RECONCILER = { kind: 'system', id: 'lockbox-reconciler' } as const;

const decidedBefore = (at: string | undefined, nowMs: number) => at !== undefined && Date.parse(at) < nowMs - REDELIVERY_GRACE_MS;
