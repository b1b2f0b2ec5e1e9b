import type { Actor, AuditEventType } from '../domain/audit';
import { ConflictError, ForbiddenError } from '../domain/errors';
import { personKeys } from '../domain/principals';
import { type AccessRequest, isSeparate, openingOf, type RequestView, stageIsOpen, toView } from '../domain/request';
import { type Action, canApply, type Stage } from '../domain/status';
import type { Approver } from '../domain/tenant';
import { actorOf, callerKeys, loadRequest, loadTenant, requireApprover, requireManager } from './authorize';
import type { Caller, Deps } from './deps';
import { withFreshRead } from './fresh-read';

export type Verdict = 'APPROVE' | 'REJECT' | 'DENY';

/** Who decides, resolved by the caller: from an API principal or from a verified link's email. */
export interface Decider {
  actor: Actor;
  /** The decider's person keys (docs/design.md §3a): none may belong to someone who already acted. */
  keys: string[];
  principal?: string;
  email?: string;
  via: 'link' | 'api' | 'console';
  sourceIp?: string;
  /** For link decisions: the hash of the link token, which must be one issued for the open stage. */
  linkHash?: string;
}

const STAGE_ACTIONS: Record<
  Stage,
  { approve: Action; refuse: Action; approved: AuditEventType; refused: AuditEventType; refusal: Verdict }
> = {
  manager: {
    approve: 'managerApprove',
    refuse: 'managerReject',
    approved: 'ManagerApproved',
    refused: 'ManagerRejected',
    refusal: 'REJECT',
  },
  customer: {
    approve: 'customerApprove',
    refuse: 'customerDeny',
    approved: 'CustomerApproved',
    refused: 'CustomerDenied',
    refusal: 'DENY',
  },
};

/**
 * A decision at one approval stage, by API or link.
 * 1. the request must be in the stage's pending status with the stage open — it opened at the
 *    write that entered it, so a decision right after the API showed the status is accepted;
 * 2. the decider must not be someone who already acted (requester, manager);
 * 3. one conditional write commits status, decision and audit event — all of the above are
 *    checked again inside it, so a racing decision, expiry or cancel makes exactly one winner. A
 *    manager's approval opens the customer stage in the same write, with its deadline;
 * 4. a benign concurrent write (the notify step attaching its task token) only makes it read
 *    again and retry (`withFreshRead`);
 * 5. the waiting workflow task is told, if its token is attached; if not yet, the notify step
 *    finds the decision committed and completes its own task with it. If the task is gone (timed
 *    out meanwhile), the expiry step reads the committed decision and goes on from it.
 * The other recipients of the stage learn that someone decided from the workflow's next step
 * (`tellTheOthers`), not on this path.
 */
export async function decide(
  deps: Deps,
  requestId: string,
  stage: Stage,
  verdict: Verdict,
  reason: string | undefined,
  decider: Decider,
  loaded?: AccessRequest,
): Promise<AccessRequest> {
  const actions = STAGE_ACTIONS[stage];
  const approve = verdict === 'APPROVE';
  const action = approve ? actions.approve : actions.refuse;
  const { keys } = decider;
  return withFreshRead(
    deps,
    requestId,
    async (request) => {
      if (!approve && verdict !== actions.refusal) {
        throw new ConflictError(`The ${stage} stage takes APPROVE or ${actions.refusal}`, { status: request.status });
      }
      const nowMs = deps.clock.now().getTime();
      if (!canApply(action, request.status) || !stageIsOpen(request, stage, nowMs)) {
        throw new ConflictError(`The request is not awaiting a ${stage} decision`, { status: request.status });
      }
      if (!isSeparate(request, keys)) {
        throw new ForbiddenError('Separation of duties: you already acted on this request', { requestId });
      }
      const decision = {
        by: decider.principal ?? decider.email ?? decider.actor.id,
        byEmail: decider.email,
        decision: verdict,
        reason,
        at: new Date(nowMs).toISOString(),
        via: decider.via,
      };
      // The manager's approval enters the customer stage: it opens here, with its deadline.
      const opening = stage === 'manager' && approve ? openingOf('customer', nowMs + request.timeouts.customerSeconds * 1000) : {};
      const updated = await deps.requests.transition({
        request,
        action,
        set: {
          ...(stage === 'manager'
            ? { managerDecision: decision as AccessRequest['managerDecision'] }
            : { customerDecision: decision as AccessRequest['customerDecision'] }),
          ...(decider.linkHash ? { usedLinkHashes: [...(request.usedLinkHashes ?? []), decider.linkHash] } : {}),
          ...opening,
        },
        remove: STAGE_FIELDS.filter((field) => !(field in opening)),
        require: { openStage: stage, separateFrom: keys, linkHash: decider.linkHash },
        addParties: keys,
        audit: {
          type: approve ? actions.approved : actions.refused,
          requestId,
          actor: decider.actor,
          sourceIp: decider.sourceIp,
          details: { via: decider.via, ...(reason ? { reason } : {}) },
        },
        nowMs,
      });
      if (request.taskStage === stage) await deliver(deps, request.taskToken, updated);
      return updated;
    },
    loaded,
  );
}

/** The fields of an open stage; a decision, cancel or expiry removes them. */
const STAGE_FIELDS = ['openStage', 'approvalDeadline', 'approvalDeadlineMs', 'linkHashes'] as const;

/**
 * Tells the waiting task after the commit. The decision stands whatever happens here: a task that
 * is gone, or Step Functions not answering in time, is logged and the call still succeeds — the
 * reconciler delivers again a decision whose stage's task still waits (its token stays attached).
 */
async function deliver(deps: Deps, taskToken: string | undefined, request: AccessRequest): Promise<void> {
  if (!taskToken) return;
  try {
    const outcome = await deps.workflow.succeed(taskToken, { status: request.status });
    if (outcome === 'lost-race') {
      deps.log.info('decision committed after the workflow task ended; the expiry step takes it from here', {
        requestId: request.requestId,
        status: request.status,
      });
    }
  } catch (error) {
    deps.log.warn('decision committed but not delivered; the reconciler delivers it again', {
      requestId: request.requestId,
      error: String(error),
    });
  }
}

export async function decideAsManager(
  deps: Deps,
  caller: Caller,
  requestId: string,
  body: { decision: 'APPROVE' | 'REJECT'; reason?: string },
): Promise<RequestView> {
  const manager = requireManager(deps, caller);
  const updated = await decide(deps, requestId, 'manager', body.decision, body.reason, apiDecider('manager', caller, manager));
  return toView(updated, { isRequester: false });
}

export async function decideAsCustomer(
  deps: Deps,
  caller: Caller,
  requestId: string,
  body: { decision: 'APPROVE' | 'DENY'; reason?: string },
): Promise<RequestView> {
  const request = await loadRequest(deps, requestId);
  const approver = requireApprover(deps, await loadTenant(deps, request.tenantId), caller);
  const decider = caller.signIn ? consoleDecider(caller, approver) : apiDecider('approver', caller, approver);
  const updated = await decide(deps, requestId, 'customer', body.decision, body.reason, decider, request);
  return toView(updated, { isRequester: false });
}

/**
 * A decider signed in to the console: the person key (verified email) is the actor; the approver's
 * configured principal, if any, is among their keys, so the same person is the same party through
 * the console, the API and a link. `linkHash`: deciding from a link of a tenant that requires
 * sign-in uses the link up, as if it had been posted.
 */
export const consoleDecider = (caller: Caller, approver: Approver, linkHash?: string): Decider => {
  const keys = personKeys({ principal: approver.principal, emails: [caller.signIn?.email, approver.email] });
  return {
    actor: actorOf('approver', caller.principal, keys),
    keys,
    principal: approver.principal,
    email: caller.signIn?.email ?? approver.email,
    via: 'console',
    sourceIp: caller.sourceIp,
    linkHash,
  };
};

/** A decider through the API: the caller's person keys include the email configured for them (separation of duties across channels). */
const apiDecider = (kind: 'manager' | 'approver', caller: Caller, entry: { email: string; sessionNameSetBy?: 'idp' }): Decider => {
  const keys = callerKeys(caller, entry);
  return {
    actor: actorOf(kind, caller.principal, keys),
    keys,
    principal: caller.principal,
    email: entry.email,
    via: 'api',
    sourceIp: caller.sourceIp,
  };
};

/**
 * The requester withdraws a request before access is granted.
 * Commit first (re-read and retried after a benign concurrent write); then fail the waiting
 * approval task with `RequestCancelled`, which the workflow catches. When no task token is
 * attached yet (the notify step has not run), that step finds CANCELLED and completes its own
 * task; between stages or while granting, the next workflow step finds CANCELLED.
 */
export async function cancelRequest(deps: Deps, caller: Caller, requestId: string): Promise<RequestView> {
  return withFreshRead(deps, requestId, async (request) => {
    if (request.requestedBy !== caller.principal) throw new ForbiddenError('Only the requester may cancel');
    if (!canApply('cancel', request.status)) {
      throw new ConflictError('Only a request not yet granted can be cancelled', { status: request.status });
    }
    const updated = await deps.requests.transition({
      request,
      action: 'cancel',
      set: { endedAt: deps.clock.now().toISOString(), endReason: 'cancelled-by-requester' },
      remove: [...STAGE_FIELDS],
      audit: {
        type: 'RequestCancelled',
        requestId,
        actor: actorOf('engineer', caller.principal, request.parties),
        sourceIp: caller.sourceIp,
      },
      nowMs: deps.clock.now().getTime(),
    });
    // Only the current stage's task waits; a token of a stage already decided is left alone.
    if (request.taskToken && request.openStage !== undefined && request.taskStage === request.openStage) {
      // Committed: the cancel stands even if Step Functions does not answer now; the stage's timer
      // then ends the task and the expiry step finds CANCELLED.
      await deps.workflow
        .fail(request.taskToken, 'RequestCancelled', 'Cancelled by the requester')
        .catch((error: unknown) => deps.log.warn('cancel committed but not delivered', { requestId, error: String(error) }));
    }
    return toView(updated, { isRequester: true });
  });
}
