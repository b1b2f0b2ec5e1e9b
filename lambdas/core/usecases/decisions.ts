import type { Actor, AuditEventType } from '../domain/audit';
import { ConflictError, ForbiddenError } from '../domain/errors';
import { personKeys } from '../domain/principals';
import { isSeparate, stageIsOpen, toView, type AccessRequest, type RequestView } from '../domain/request';
import { canApply, type Action, type Stage } from '../domain/status';
import { alreadyDecidedEmail } from '../messages';
import { actorOf, callerKeys, loadRequest, loadTenant, recipientKeys, requireApprover, requireManager, stageRecipients } from './authorize';
import type { Approver } from '../domain/tenant';
import type { Caller, Deps } from './deps';

export type Verdict = 'APPROVE' | 'REJECT' | 'DENY';

/** Who decides, resolved by the caller: from an API principal or from a verified link's email. */
export interface Decider {
  actor: Actor;
  /** The decider's person keys (DESIGN §3a): none may belong to someone who already acted. */
  keys: string[];
  principal?: string;
  email?: string;
  via: 'link' | 'api' | 'console';
  sourceIp?: string;
  /** For link decisions: the hash of the link token, which must be one issued for the open stage. */
  linkHash?: string;
}

const STAGE_ACTIONS: Record<Stage, { approve: Action; refuse: Action; approved: AuditEventType; refused: AuditEventType; refusal: Verdict }> = {
  manager: { approve: 'managerApprove', refuse: 'managerReject', approved: 'ManagerApproved', refused: 'ManagerRejected', refusal: 'REJECT' },
  customer: { approve: 'customerApprove', refuse: 'customerDeny', approved: 'CustomerApproved', refused: 'CustomerDenied', refusal: 'DENY' },
};

/**
 * A decision at one approval stage, by API or link.
 * 1. the request must be in the stage's pending status, the stage open (notify ran, deadline ahead);
 * 2. the decider must not be someone who already acted (requester, manager);
 * 3. one conditional write commits status, decision and audit event — all of the above are
 *    checked again inside it, so a racing decision, expiry or cancel makes exactly one winner;
 * 4. the waiting workflow task is told. If it is gone (timed out meanwhile), the workflow's expiry
 *    step reads the committed decision and goes on from it, so the decision still stands.
 */
export async function decide(
  deps: Deps,
  requestId: string,
  stage: Stage,
  verdict: Verdict,
  reason: string | undefined,
  decider: Decider,
): Promise<AccessRequest> {
  const request = await loadRequest(deps, requestId);
  const actions = STAGE_ACTIONS[stage];
  const approve = verdict === 'APPROVE';
  if (!approve && verdict !== actions.refusal) {
    throw new ConflictError(`The ${stage} stage takes APPROVE or ${actions.refusal}`, { status: request.status });
  }
  const action = approve ? actions.approve : actions.refuse;
  const nowMs = deps.clock.now().getTime();
  if (!canApply(action, request.status) || !stageIsOpen(request, stage, nowMs)) {
    throw new ConflictError(`The request is not awaiting a ${stage} decision`, { status: request.status });
  }
  const { keys } = decider;
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
  const updated = await deps.requests.transition({
    request,
    action,
    set: {
      ...(stage === 'manager' ? { managerDecision: decision as AccessRequest['managerDecision'] } : { customerDecision: decision as AccessRequest['customerDecision'] }),
      ...(decider.linkHash ? { usedLinkHashes: [...(request.usedLinkHashes ?? []), decider.linkHash] } : {}),
    },
    remove: ['openStage', 'approvalDeadline', 'approvalDeadlineMs', 'linkHashes'],
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
  await deliver(deps, request.taskToken, updated);
  await tellTheOthers(deps, updated, stage, keys);
  return updated;
}

/** The stage's other recipients learn that someone already decided, so nobody acts on a stale email. */
async function tellTheOthers(deps: Deps, request: AccessRequest, stage: Stage, deciderKeys: string[]): Promise<void> {
  const decision = stage === 'manager' ? request.managerDecision : request.customerDecision;
  if (!decision) return;
  const others = (await stageRecipients(deps, request, stage)).filter(
    (person) => !recipientKeys(person).some((key) => deciderKeys.includes(key)),
  );
  await Promise.all(
    others.map(async (person) => {
      try {
        await deps.mailer.send({ to: [person.email], ...alreadyDecidedEmail(request, decision) });
      } catch (error) {
        deps.log.error('already-decided email failed', { requestId: request.requestId, error: String(error) });
      }
    }),
  );
}

async function deliver(deps: Deps, taskToken: string | undefined, request: AccessRequest): Promise<void> {
  if (!taskToken) return;
  const outcome = await deps.workflow.succeed(taskToken, { status: request.status });
  if (outcome === 'lost-race') {
    deps.log.info('decision committed after the workflow task ended; the expiry step takes it from here', {
      requestId: request.requestId,
      status: request.status,
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
  const updated = await decide(deps, requestId, 'customer', body.decision, body.reason, decider);
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
  return { actor: actorOf('approver', caller.principal, keys), keys, principal: approver.principal, email: caller.signIn?.email ?? approver.email, via: 'console', sourceIp: caller.sourceIp, linkHash };
};

/** A decider through the API: the caller's person keys include the email configured for them (separation of duties across channels). */
const apiDecider = (kind: 'manager' | 'approver', caller: Caller, entry: { email: string; sessionNameSetBy?: 'idp' }): Decider => {
  const keys = callerKeys(caller, entry);
  return { actor: actorOf(kind, caller.principal, keys), keys, principal: caller.principal, email: entry.email, via: 'api', sourceIp: caller.sourceIp };
};

/**
 * The requester withdraws a request before access is granted.
 * Commit first; then fail the waiting task with `RequestCancelled`, which the workflow catches.
 * When no task waits (between stages, or while granting), the next workflow step finds CANCELLED.
 */
export async function cancelRequest(deps: Deps, caller: Caller, requestId: string): Promise<RequestView> {
  const request = await loadRequest(deps, requestId);
  if (request.requestedBy !== caller.principal) throw new ForbiddenError('Only the requester may cancel');
  if (!canApply('cancel', request.status)) {
    throw new ConflictError('Only a request not yet granted can be cancelled', { status: request.status });
  }
  const updated = await deps.requests.transition({
    request,
    action: 'cancel',
    set: { endedAt: deps.clock.now().toISOString(), endReason: 'cancelled-by-requester' },
    remove: ['openStage', 'approvalDeadline', 'approvalDeadlineMs', 'linkHashes'],
    audit: { type: 'RequestCancelled', requestId, actor: actorOf('engineer', caller.principal, request.parties), sourceIp: caller.sourceIp },
    nowMs: deps.clock.now().getTime(),
  });
  if (request.taskToken && request.openStage !== undefined) {
    await deps.workflow.fail(request.taskToken, 'RequestCancelled', 'Cancelled by the requester');
  }
  return toView(updated, { isRequester: true });
}
