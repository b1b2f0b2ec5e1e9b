import type { Actor } from '../domain/audit';
import { iso } from '../domain/clock';
import { durationMs } from '../domain/duration';
import { ConflictError, LockboxError } from '../domain/errors';
import { issueLinkToken, linkTokenHash } from '../domain/link-token';
import { type AccessRequest, accessWindow, isSeparate, openingOf } from '../domain/request';
import { isTerminal, STAGE_STATUS, type Stage, type Status } from '../domain/status';
import { alreadyDecidedEmail, approvalRequestEmail, outcomeEmail } from '../messages';
import { loadRequest, loadTenant, recipientKeys, stageRecipients } from './authorize';
import type { Deps } from './deps';
import { withFreshRead } from './fresh-read';

/**
 * The steps the state machine calls. Each is idempotent (Step Functions may run it twice) and
 * returns `{status}` — the request's status after the step — which the state machine routes on.
 */
export interface StepResult {
  status: Status;
  accessExpiresAt?: string;
  /** For the hold task's timer (TimeoutSecondsPath needs a positive whole number). */
  holdSeconds?: number;
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
 * The notify step of an approval stage. The stage opened at the write that entered it; this step
 * only attaches the stage's task token and emails the links:
 * 1. if the request already left the stage's status (decided, cancelled, expired before the
 *    token was attached), the step completes its own task at once with the committed status;
 * 2. otherwise it stores the task token and one signed link per recipient (hashes only) in one
 *    conditional write — a benign concurrent write makes it read again and retry;
 * 3. it emails each recipient their own link. A recipient who already acted on the request (the
 *    requester, the approving manager) is not asked. Opening the customer stage also tells the
 *    other managers that the manager stage was decided (off the API path).
 */
export async function openStage(deps: Deps, requestId: string, stage: Stage, taskToken: string): Promise<void> {
  const attached = await withFreshRead(deps, requestId, async (request) => {
    if (request.status !== STAGE_STATUS[stage]) return { decided: request } as const;
    const nowMs = deps.clock.now().getTime();
    // Requests filed before stages opened at their write have no deadline yet: it starts now.
    const deadlineMs =
      request.approvalDeadlineMs ??
      nowMs + (stage === 'manager' ? request.timeouts.managerSeconds : request.timeouts.customerSeconds) * 1000;
    const recipients = (await stageRecipients(deps, request, stage)).filter((person) => isSeparate(request, recipientKeys(person)));
    const links = await Promise.all(
      recipients.map(async (recipient) => {
        const token = await issueLinkToken(deps.signer, { requestId, stage, email: recipient.email, expiresAtMs: deadlineMs });
        return { email: recipient.email, token, url: `${deps.policy.linkBaseUrl}/approvals/${token}` };
      }),
    );
    const opened = await deps.requests.update(
      request,
      STAGE_STATUS[stage],
      { ...openingOf(stage, deadlineMs), taskToken, taskStage: stage, linkHashes: links.map((link) => linkTokenHash(link.token)) },
      nowMs,
      {
        type: stage === 'manager' ? 'ManagersNotified' : 'CustomerNotified',
        requestId,
        actor: SYSTEM,
        details: { recipients: links.map((link) => link.email), deadline: iso(deadlineMs) },
      },
    );
    return { decided: undefined, opened, links, deadlineMs, nowMs };
  });
  if (attached.decided) {
    if (stage === 'customer') await tellTheOthers(deps, attached.decided, 'manager');
    await deps.workflow.succeed(taskToken, { status: attached.decided.status });
    return;
  }
  const { opened, links, deadlineMs, nowMs } = attached;
  if (stage === 'customer') await tellTheOthers(deps, opened, 'manager');
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
 * The workflow holds while access is granted: attaches the hold task's token, so an early revoke
 * ends the execution at once (it completes this task). If the request is no longer ACTIVE (revoked
 * before the token was attached, cancelled while granting, failed), the task completes at once.
 * Then the engineer is emailed and the other approvers are told the stage was decided: here, where
 * the hold's timer already runs, so a slow or throttled email never delays the window's end (a
 * failed email changes nothing).
 */
export async function holdAccess(deps: Deps, requestId: string, taskToken: string): Promise<void> {
  const held = await deps.requests.attachTask(requestId, 'ACTIVE', { taskToken, taskStage: 'access' });
  if (!held.attached) {
    if (!held.status) throw new Error(`Request ${requestId} does not exist`);
    await deps.workflow.succeed(taskToken, { status: held.status });
    return;
  }
  await Promise.all([tellEngineer(deps, held.attached), tellTheOthers(deps, held.attached, 'customer')]);
}

/**
 * The stage's other recipients learn that someone already decided, so nobody acts on a stale
 * email. Sent by the workflow's step after the decision (never on the API path); a failed email
 * changes nothing.
 */
async function tellTheOthers(deps: Deps, request: AccessRequest, stage: Stage): Promise<void> {
  const decision = stage === 'manager' ? request.managerDecision : request.customerDecision;
  if (!decision) return;
  // The decider is a party now, like the requester: everyone else who was asked is told.
  const others = (await stageRecipients(deps, request, stage)).filter((person) => isSeparate(request, recipientKeys(person)));
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

/**
 * A stage's callback timed out. Its timer started after the deadline was set, so the deadline
 * has passed; the expiry is conditional on it. Expires the request — unless a decision committed
 * just before (its delivery lost the race with the timeout), in which case the workflow goes on
 * from it.
 */
export async function expireStage(deps: Deps, requestId: string, stage: Stage): Promise<StepResult> {
  for (let attempt = 1; ; attempt++) {
    const request = await loadRequest(deps, requestId);
    if (request.status !== STAGE_STATUS[stage]) return { status: request.status };
    const nowMs = deps.clock.now().getTime();
    const ahead = (request.approvalDeadlineMs ?? 0) - nowMs;
    if (ahead > 0) {
      // Clocks a little apart: wait for the deadline people see, then expire.
      if (ahead > MAX_CLOCK_SKEW_MS || attempt > 10) throw new Error(`The ${stage} stage of ${requestId} is open for another ${ahead} ms`);
      await new Promise((resolve) => setTimeout(resolve, ahead));
      continue;
    }
    try {
      const expired = await deps.requests.transition({
        request,
        action: 'expire',
        set: { endedAt: iso(nowMs), endReason: `no ${stage} decision in time` },
        remove: ['openStage', 'approvalDeadline', 'approvalDeadlineMs', 'linkHashes'],
        require: { deadlinePassed: true },
        audit: { type: 'RequestExpired', requestId, actor: SYSTEM, details: { stage } },
        nowMs,
      });
      return { status: expired.status };
    } catch (error) {
      // Lost a race: loop to read who won. Still pending means only the version moved; try again.
      if (!(error instanceof ConflictError) || attempt > 10) throw error;
    }
  }
}

/** How far the workflow's timer may run ahead of the deadline the Lambda's clock sees. */
const MAX_CLOCK_SKEW_MS = 5_000;

/**
 * Grants access for an APPROVED request.
 * 1. the provider grants for the window [now, now + duration] (idempotent); nothing queues
 *    between this and the commit, so the window starts as the request becomes ACTIVE;
 * 2. one conditional write APPROVED → ACTIVE records the window and what the engineer needs;
 *    if the request was cancelled meanwhile, the grant is taken back;
 * 3. if the provider fails, whatever it made is revoked and the request ends FAILED;
 * 4. nothing else: the hold step emails, so the window's timer starts as soon as this returns.
 * `holdSeconds` is the hold task's timer: whole seconds, at most the time left, so the Wait that
 * follows ends the window to the millisecond.
 */
export async function grantAccess(deps: Deps, requestId: string): Promise<StepResult> {
  const request = await loadRequest(deps, requestId);
  if (request.status === 'ACTIVE') return active(deps, request);
  if (request.status !== 'APPROVED') return { status: request.status };
  const tenant = await loadTenant(deps, request.tenantId);
  const window = accessWindow(deps.clock.now().getTime(), durationMs(request.duration, 'duration'));
  let access;
  try {
    access = await deps.access.grant({ request, tenant, ...window });
  } catch (error) {
    deps.log.error('grant failed', { requestId, error: String(error) });
    return failRequest(deps, requestId, 'AccessGrantFailed', describe(error));
  }
  try {
    const granted = await deps.requests.transition({
      request,
      action: 'grant',
      set: { ...window, access },
      audit: {
        type: 'AccessGranted',
        requestId,
        actor: SYSTEM,
        details: { accessStartsAt: window.accessStartsAt, accessExpiresAt: window.accessExpiresAt },
      },
      nowMs: deps.clock.now().getTime(),
    });
    return active(deps, granted);
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    await deps.access.revoke(request);
    return { status: (await loadRequest(deps, requestId)).status };
  }
}

const active = (deps: Deps, request: AccessRequest): StepResult => ({
  status: 'ACTIVE',
  accessExpiresAt: request.accessExpiresAt,
  holdSeconds: Math.max(1, Math.floor((Date.parse(request.accessExpiresAt ?? '') - deps.clock.now().getTime()) / 1000) || 1),
});

/**
 * Ends access: at the window's end (the workflow, the reconciler) or early (the customer, through
 * the API). The provider revokes first, then one conditional write ACTIVE → COMPLETED | REVOKED,
 * re-read and retried after a benign concurrent write (the hold task's token attached). Already
 * ended: nothing to do. A provider failure is thrown, so the workflow retries it. An early revoke
 * completes the workflow's hold task, so the execution ends at once; if its token is not attached
 * yet, the hold step finds REVOKED and ends it. Either way the execution's closing step then emails
 * the engineer (if the execution had already ended, the reconciler tells them). `loaded`: the
 * caller's own read of the request, which saves reading it again.
 */
export async function endAccess(
  deps: Deps,
  requestId: string,
  how:
    | { reason: 'window-ended' }
    | { reason: 'revoked-by-customer'; actor: Actor & { kind: 'approver' | 'admin' }; sourceIp?: string; note?: string },
  loaded?: AccessRequest,
): Promise<AccessRequest> {
  const request = loaded ?? (await loadRequest(deps, requestId));
  if (request.status !== 'ACTIVE') return request;
  const steps: string[] = [];
  try {
    await deps.access.revoke(request, (step, outcome) => steps.push(`${step}: ${outcome}`));
  } catch (error) {
    throw new RevokeIncomplete(steps, error);
  }
  const early = how.reason === 'revoked-by-customer';
  let hold: string | undefined;
  let ended: AccessRequest | undefined;
  try {
    ended = await withFreshRead(
      deps,
      requestId,
      async (current) => {
        if (current.status !== 'ACTIVE') return undefined;
        hold = current.taskStage === 'access' ? current.taskToken : undefined;
        const now = deps.clock.now();
        return deps.requests.transition({
          request: current,
          action: early ? 'revoke' : 'complete',
          // At the window's end the engineer is told here (the revoke step ends the execution); after
          // an early revoke, by the workflow's closing step, off the API path.
          set: { endedAt: now.toISOString(), endReason: how.reason, ...(early ? {} : { outcomeNotifiedAt: now.toISOString() }) },
          remove: ['activeUntil'],
          audit: {
            type: 'AccessRevoked',
            requestId,
            actor: early ? how.actor : SYSTEM,
            sourceIp: early ? how.sourceIp : undefined,
            details: { reason: how.reason, steps, ...(early && how.note ? { note: how.note } : {}) },
          },
          nowMs: now.getTime(),
        });
      },
      request,
    );
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
  }
  if (!ended) return loadRequest(deps, requestId);
  // At the window's end the hold task has timed out already: only an early revoke completes it.
  // Committed: if Step Functions does not answer now, the hold's timer ends the execution later.
  if (early && hold) {
    await deps.workflow
      .succeed(hold, { status: ended.status })
      .catch((error: unknown) => deps.log.warn('early revoke not delivered to the hold task', { requestId, error: String(error) }));
  }
  if (!early) await tellEngineer(deps, ended);
  return ended;
}

/** Emails the engineer the outcome of a closed request, once. */
export async function closeRequest(deps: Deps, requestId: string): Promise<StepResult> {
  const request = await loadRequest(deps, requestId);
  // The workflow only closes what has ended; anything else is a bug the execution must not hide.
  if (!isTerminal(request.status)) throw new Error(`Request ${requestId} is ${request.status}, not closed`);
  if (!request.outcomeNotifiedAt) {
    if (request.status === 'REJECTED') await tellTheOthers(deps, request, 'manager');
    if (request.status === 'DENIED') await tellTheOthers(deps, request, 'customer');
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
