import type { Actor } from '../domain/audit';
import { iso } from '../domain/clock';
import { durationMs } from '../domain/duration';
import { ConflictError, LockboxError } from '../domain/errors';
import { issueLinkToken, linkTokenHash } from '../domain/link-token';
import { accessWindow, isSeparate, type AccessRequest } from '../domain/request';
import { isTerminal, STAGE_STATUS, type Stage, type Status } from '../domain/status';
import { approvalRequestEmail, outcomeEmail } from '../messages';
import { loadRequest, loadTenant, recipientKeys, stageRecipients } from './authorize';
import type { Deps } from './deps';

/**
 * The steps the state machine calls. Each is idempotent (Step Functions may run it twice) and
 * returns `{status}` — the request's status after the step — which the state machine routes on.
 */
export interface StepResult {
  status: Status;
  accessExpiresAt?: string;
}

const SYSTEM = { kind: 'system', id: 'lockbox-workflow' } as const;

/** The access provider failed part-way through a revoke; `steps` says what it had done. Running it again finishes. */
export class RevokeIncomplete extends Error {
  override name = 'RevokeIncomplete';
  constructor(
    readonly steps: string[],
    cause: unknown,
  ) {
    super(`Revoke incomplete after: ${steps.join(', ') || 'no step'}`, { cause });
  }
}

/** Thrown when no approver could be emailed; the workflow retries the stage, then fails the request. */
export class NotificationFailed extends Error {
  override name = 'NotificationFailed';
}

/**
 * Opens an approval stage.
 * 1. if the request left the stage's status meanwhile (cancelled between stages), the waiting
 *    task is completed at once with the current status;
 * 2. stores the task token, the deadline (counted from when the workflow entered the stage) and
 *    one signed link per recipient (hashes only), in one
 *    conditional write — from then on the stage accepts decisions;
 * 3. emails each recipient their own link. A recipient who already acted on the request (the
 *    requester, the approving manager) is not asked.
 */
export async function openStage(deps: Deps, requestId: string, stage: Stage, taskToken: string, enteredAt?: string): Promise<void> {
  const request = await loadRequest(deps, requestId);
  if (request.status !== STAGE_STATUS[stage]) {
    await deps.workflow.succeed(taskToken, { status: request.status });
    return;
  }
  const nowMs = deps.clock.now().getTime();
  // The stage's timer started when the workflow entered the waiting state, before this step ran:
  // the deadline people see is counted from there too, so the request never expires before it.
  const startedMs = Math.min(nowMs, Date.parse(enteredAt ?? '') || nowMs);
  const deadlineMs = startedMs + (stage === 'manager' ? request.timeouts.managerSeconds : request.timeouts.customerSeconds) * 1000;
  const recipients = (await stageRecipients(deps, request, stage)).filter((person) =>
    isSeparate(request, recipientKeys(person)),
  );
  const links = await Promise.all(
    recipients.map(async (recipient) => {
      const token = await issueLinkToken(deps.signer, { requestId, stage, email: recipient.email, expiresAtMs: deadlineMs });
      return { email: recipient.email, token, url: `${deps.policy.linkBaseUrl}/approvals/${token}` };
    }),
  );
  let opened: AccessRequest;
  try {
    opened = await deps.requests.update(
      request,
      STAGE_STATUS[stage],
      {
        openStage: stage,
        taskToken,
        approvalDeadline: iso(deadlineMs),
        approvalDeadlineMs: deadlineMs,
        linkHashes: links.map((link) => linkTokenHash(link.token)),
      },
      nowMs,
      {
        type: stage === 'manager' ? 'ManagersNotified' : 'CustomerNotified',
        requestId,
        actor: SYSTEM,
        details: { recipients: links.map((link) => link.email), deadline: iso(deadlineMs) },
      },
    );
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    const current = await loadRequest(deps, requestId);
    await deps.workflow.succeed(taskToken, { status: current.status });
    return;
  }
  const sent = await Promise.all(
    links.map(async (link) => {
      try {
        await deps.mailer.send({ to: [link.email], ...approvalRequestEmail(opened, stage, link.url, deadlineMs, nowMs) });
        return true;
      } catch (error) {
        deps.log.error('approval email failed', { requestId, stage, recipient: link.email, error: String(error) });
        return false;
      }
    }),
  );
  if (!sent.includes(true)) {
    throw new NotificationFailed(`No ${stage} approver could be notified for ${requestId}`);
  }
}

/**
 * A stage's callback timed out. Expires the request — unless a decision committed just before
 * (its delivery lost the race with the timeout), in which case the workflow goes on from it.
 */
export async function expireStage(deps: Deps, requestId: string, stage: Stage): Promise<StepResult> {
  for (;;) {
    const request = await loadRequest(deps, requestId);
    if (request.status !== STAGE_STATUS[stage]) return { status: request.status };
    try {
      const expired = await deps.requests.transition({
        request,
        action: 'expire',
        set: { endedAt: deps.clock.now().toISOString(), endReason: `no ${stage} decision in time` },
        remove: ['openStage', 'approvalDeadline', 'approvalDeadlineMs', 'linkHashes'],
        audit: { type: 'RequestExpired', requestId, actor: SYSTEM, details: { stage } },
        nowMs: deps.clock.now().getTime(),
      });
      return { status: expired.status };
    } catch (error) {
      // Lost a race: loop to read who won. Still pending means only the version moved; try again.
      if (!(error instanceof ConflictError)) throw error;
    }
  }
}

/**
 * Grants access for an APPROVED request.
 * 1. the provider grants for the window [now, now + duration] (idempotent);
 * 2. one conditional write APPROVED → ACTIVE records the window and what the engineer needs;
 *    if the request was cancelled meanwhile, the grant is taken back;
 * 3. if the provider fails, whatever it made is revoked and the request ends FAILED;
 * 4. the engineer is emailed (a failed email changes nothing).
 */
export async function grantAccess(deps: Deps, requestId: string): Promise<StepResult> {
  const request = await loadRequest(deps, requestId);
  if (request.status === 'ACTIVE') return { status: 'ACTIVE', accessExpiresAt: request.accessExpiresAt };
  if (request.status !== 'APPROVED') return { status: request.status };
  const tenant = await loadTenant(deps, request.tenantId);
  const nowMs = deps.clock.now().getTime();
  const window = accessWindow(nowMs, durationMs(request.duration, 'duration'));
  let access;
  try {
    access = await deps.access.grant({ request, tenant, ...window });
  } catch (error) {
    deps.log.error('grant failed', { requestId, error: String(error) });
    return failRequest(deps, requestId, 'AccessGrantFailed', describe(error));
  }
  try {
    const active = await deps.requests.transition({
      request,
      action: 'grant',
      set: { ...window, access },
      audit: {
        type: 'AccessGranted',
        requestId,
        actor: SYSTEM,
        details: { accessStartsAt: window.accessStartsAt, accessExpiresAt: window.accessExpiresAt },
      },
      nowMs,
    });
    await tellEngineer(deps, active);
    return { status: 'ACTIVE', accessExpiresAt: active.accessExpiresAt };
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    await deps.access.revoke(request);
    return { status: (await loadRequest(deps, requestId)).status };
  }
}

/**
 * Ends access: at the window's end (the workflow) or early (the customer, through the API).
 * The provider revokes first, then one conditional write ACTIVE → COMPLETED | REVOKED.
 * Already ended: nothing to do. A provider failure is thrown, so the workflow retries it.
 */
export async function endAccess(
  deps: Deps,
  requestId: string,
  how: { reason: 'window-ended' } | { reason: 'revoked-by-customer'; actor: Actor & { kind: 'approver' | 'admin' }; sourceIp?: string; note?: string },
): Promise<AccessRequest> {
  const request = await loadRequest(deps, requestId);
  if (request.status !== 'ACTIVE') return request;
  const steps: string[] = [];
  try {
    await deps.access.revoke(request, (step, outcome) => steps.push(`${step}: ${outcome}`));
  } catch (error) {
    throw new RevokeIncomplete(steps, error);
  }
  const early = how.reason === 'revoked-by-customer';
  let ended: AccessRequest;
  try {
    ended = await deps.requests.transition({
      request,
      action: early ? 'revoke' : 'complete',
      set: { endedAt: deps.clock.now().toISOString(), endReason: how.reason },
      remove: ['activeUntil'],
      audit: {
        type: 'AccessRevoked',
        requestId,
        actor: early ? how.actor : SYSTEM,
        sourceIp: early ? how.sourceIp : undefined,
        details: { reason: how.reason, steps, ...(early && how.note ? { note: how.note } : {}) },
      },
      nowMs: deps.clock.now().getTime(),
    });
  } catch (error) {
    if (error instanceof ConflictError) return loadRequest(deps, requestId);
    throw error;
  }
  await tellEngineer(deps, ended);
  return ended;
}

/** Emails the engineer the outcome of a closed request, once. */
export async function closeRequest(deps: Deps, requestId: string): Promise<StepResult> {
  const request = await loadRequest(deps, requestId);
  // The workflow only closes what has ended; anything else is a bug the execution must not hide.
  if (!isTerminal(request.status)) throw new Error(`Request ${requestId} is ${request.status}, not closed`);
  if (!request.outcomeNotifiedAt) {
    await tellEngineer(deps, request);
    try {
      const now = deps.clock.now();
      await deps.requests.update(request, request.status, { outcomeNotifiedAt: now.toISOString() }, now.getTime());
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  return { status: request.status };
}

/**
 * The workflow could not go on before access was granted (notifications failed, a step kept
 * failing): takes back anything granted and ends the request FAILED. The engineer is told by
 * `closeRequest`, which the workflow runs next.
 */
export async function failRequest(
  deps: Deps,
  requestId: string,
  type: 'AccessGrantFailed' | 'RequestFailed',
  cause: string,
): Promise<StepResult> {
  const request = await loadRequest(deps, requestId);
  if (isTerminal(request.status) || request.status === 'ACTIVE') return { status: request.status };
  await deps.access.revoke(request);
  try {
    const failed = await deps.requests.transition({
      request,
      action: 'fail',
      set: { endedAt: deps.clock.now().toISOString(), endReason: type === 'AccessGrantFailed' ? 'grant-failed' : 'workflow-failed' },
      remove: ['openStage', 'approvalDeadline', 'approvalDeadlineMs', 'linkHashes'],
      audit: { type, requestId, actor: SYSTEM, details: { cause } },
      nowMs: deps.clock.now().getTime(),
    });
    return { status: failed.status };
  } catch (error) {
    if (error instanceof ConflictError) return { status: (await loadRequest(deps, requestId)).status };
    throw error;
  }
}

/** The workflow's revoke kept failing: the audit log says so (the execution then fails and alarms). */
export async function recordRevokeFailure(deps: Deps, requestId: string, cause: string): Promise<void> {
  const request = await loadRequest(deps, requestId);
  await deps.audit.append(
    request.tenantId,
    { type: 'RevokeFailed', requestId, actor: SYSTEM, details: { cause } },
    deps.clock.now().getTime(),
  );
}

async function tellEngineer(deps: Deps, request: AccessRequest): Promise<void> {
  const email = deps.directory.engineers.find((person) => person.principal === request.requestedBy)?.email;
  if (!email) return;
  try {
    await deps.mailer.send({ to: [email], ...outcomeEmail(request) });
  } catch (error) {
    // A failed email never strands a grant or a revoke: the request's state is already committed.
    deps.log.error('engineer email failed', { requestId: request.requestId, error: String(error) });
  }
}

const describe = (error: unknown): string =>
  error instanceof LockboxError ? error.message : error instanceof Error ? error.name : 'unknown error';
