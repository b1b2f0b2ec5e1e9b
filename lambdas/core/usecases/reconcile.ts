import type { AccessRequest } from '../domain/request';
import { STAGE_STATUS, type Status } from '../domain/status';
import { loadRequest } from './authorize';
import type { Deps } from './deps';
import { closeRequest, endAccess, expireStage, failRequest, grantAccess } from './workflow-steps';

/**
 * The reconciler: an independent sweep (EventBridge Scheduler on AWS, a timer in local mode) that
 * repairs what the workflow should have done but did not — because an execution was stopped or
 * failed, was never started, a revoke kept failing, or a decision's delivery was lost. It never
 * widens anything.
 * 1. requests still ACTIVE after their window: ended through the same use case as the workflow;
 * 2. provider-side access that outlived its expiry (e.g. a role left under /lockbox/): revoked,
 *    and the request ended if it was still ACTIVE;
 * 3. requests not terminal whose execution has ended or never started (stranded): finished —
 *    APPROVED is granted (or closed FAILED if the grant fails; its window is then ended by 1),
 *    a pending stage past its deadline is expired, any other pending request is closed FAILED;
 *    the engineer is told. ACTIVE ones are left to 1, which ends them at their window's end;
 * 4. decisions committed but not delivered while the decided stage's task still waits: delivered
 *    again; a task that is gone already answers "lost race", which is fine;
 * 5. an early revoke or a cancel committed after its execution had ended (no closing step will
 *    run): the engineer is told, as the closing step would have.
 * Every action is audited by the use case it goes through; the report says what was done, so the
 * caller can raise an alarm whenever it had to act.
 */
export interface ReconcileReport {
  windowsEnded: string[];
  leftoversRevoked: string[];
  finished: string[];
  redelivered: string[];
  told: string[];
  failed: string[];
}

/**
 * A decision younger than this may still be on its way (no API call outlasts API Gateway's 29 s);
 * only older ones are delivered again. A repeat would be harmless: the task is gone (lost race).
 */
const REDELIVERY_GRACE_MS = 30_000;
/** A request younger than this may have its execution start in a moment (the API commits, then starts it). */
const START_GRACE_MS = 60_000;
const BATCH = 100;
const NOT_TERMINAL: Status[] = ['PENDING_MANAGER_APPROVAL', 'PENDING_CUSTOMER_APPROVAL', 'APPROVED'];
/** Ended through the API: the execution's closing step tells the engineer, if the execution still runs. */
const ENDED_BY_THE_API: Status[] = ['REVOKED', 'CANCELLED'];
/** How far back (by creation) the sweep looks for them: longer than any request lives. */
const UNTOLD_LOOKBACK_MS = 24 * 3_600_000;

export async function reconcile(deps: Deps): Promise<ReconcileReport> {
  const nowMs = deps.clock.now().getTime();
  const report: ReconcileReport = { windowsEnded: [], leftoversRevoked: [], finished: [], redelivered: [], told: [], failed: [] };
  const attempt = async (requestId: string, action: () => Promise<boolean>, done: string[]) => {
    try {
      if (await action()) done.push(requestId);
    } catch (error) {
      deps.log.error('reconciler could not repair a request', { requestId, error: String(error) });
      report.failed.push(requestId);
    }
  };

  for (const request of await deps.requests.listOverdueGrants(nowMs, BATCH)) {
    await attempt(
      request.requestId,
      async () => (await endAccess(deps, request.requestId, { reason: 'window-ended' })).status === 'COMPLETED',
      report.windowsEnded,
    );
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
        await deps.audit.append(
          request.tenantId,
          { type: 'AccessRevoked', requestId, actor: RECONCILER, details: { reason: 'left-over-after-end', status: request.status } },
          deps.clock.now().getTime(),
        );
        return true;
      },
      report.leftoversRevoked,
    );
  }

  const pending = (
    await Promise.all(NOT_TERMINAL.map(async (status) => (await deps.requests.listByStatus(status, {}, BATCH)).items))
  ).flat();
  const running = pending.length ? await deps.workflow.runningExecutions() : new Set<string>();
  for (const request of pending) {
    if (running.has(request.requestId)) {
      if (undelivered(request, nowMs)) {
        await attempt(
          request.requestId,
          async () => (await deps.workflow.succeed(request.taskToken!, { status: request.status })) === 'delivered',
          report.redelivered,
        );
      }
      continue;
    }
    await attempt(request.requestId, () => finishStranded(deps, request, nowMs), report.finished);
  }

  const createdAfter = new Date(nowMs - UNTOLD_LOOKBACK_MS).toISOString();
  const ended = await Promise.all(
    ENDED_BY_THE_API.map(async (status) => (await deps.requests.listByStatus(status, { createdAfter }, BATCH)).items),
  );
  for (const request of ended.flat()) {
    if (request.outcomeNotifiedAt || Date.parse(request.endedAt ?? '') > nowMs - START_GRACE_MS) continue;
    await attempt(
      request.requestId,
      async () => {
        if ((await deps.workflow.executionStatus(request.requestId)) === 'running') return false;
        await closeRequest(deps, request.requestId);
        return true;
      },
      report.told,
    );
  }
  return report;
}

/**
 * Finishes a request whose execution is gone, with the use case the workflow would have run (each
 * audits what it does); true when it acted. Checked once more by name first: the list of running
 * executions may be a moment behind.
 */
async function finishStranded(deps: Deps, listed: AccessRequest, nowMs: number): Promise<boolean> {
  const execution = await deps.workflow.executionStatus(listed.requestId);
  if (execution === 'running') return false;
  if (execution === 'never-started' && Date.parse(listed.createdAt) > nowMs - START_GRACE_MS) return false;
  const request = await loadRequest(deps, listed.requestId);
  deps.log.warn('reconciler finishes a stranded request', { requestId: request.requestId, status: request.status, execution });
  if (request.status === 'APPROVED') {
    await grantAccess(deps, request.requestId);
  } else if (request.status === STAGE_STATUS.manager || request.status === STAGE_STATUS.customer) {
    const stage = request.status === STAGE_STATUS.manager ? 'manager' : 'customer';
    if ((request.approvalDeadlineMs ?? 0) <= nowMs) await expireStage(deps, request.requestId, stage);
    else
      await failRequest(
        deps,
        request.requestId,
        'RequestFailed',
        `the workflow ${execution === 'ended' ? 'ended' : 'never started'} while ${request.status}`,
      );
  } else {
    return false;
  }
  const after = await loadRequest(deps, request.requestId);
  if (after.status !== 'ACTIVE') await closeRequest(deps, request.requestId);
  return true;
}

/** A decision committed a while ago whose stage's task (its token still attached) may still wait. */
const undelivered = (request: AccessRequest, nowMs: number): boolean => {
  const decided =
    request.taskStage === 'manager' ? request.managerDecision : request.taskStage === 'customer' ? request.customerDecision : undefined;
  return request.taskToken !== undefined && decided !== undefined && Date.parse(decided.at) < nowMs - REDELIVERY_GRACE_MS;
};

const RECONCILER = { kind: 'system', id: 'lockbox-reconciler' } as const;
