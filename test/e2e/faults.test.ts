import { EMAIL, LocalLockbox, waitFor } from './support/harness';

/**
 * When revoking goes wrong, a grant still ends (R-3.8, R-3.9, T-3.4). Local mode is started with
 * a fault injected into the workflow's "Revoke access" step (`LOCKBOX_LOCAL_FAULTS`, local mode
 * only) and its own reconciler interval (`LOCKBOX_LOCAL_RECONCILE_SECONDS`):
 * (a) the step fails 3 times: the state machine's Retry runs it again, and the request completes
 *     with the grant revoked;
 * (b) the step never revokes: the reconciler ends the grant within one interval.
 * In both, no grant outlives its window by more than one reconcile interval on AWS (5 minutes).
 */
jest.setTimeout(120_000);

/** Files a 2-second request as alice and approves it (bob, then carol); returns it once granted. */
async function activeGrant(lockbox: LocalLockbox): Promise<any> {
  const created = await lockbox.create('alice', { duration: 'PT2S' });
  await lockbox.waitForStage(created.requestId, 'manager');
  expect((await lockbox.post(`/requests/${created.requestId}/manager-decision`, 'bob', { decision: 'APPROVE' })).status).toBe(200);
  expect((await lockbox.post(`/requests/${created.requestId}/customer-decision`, 'carol', { decision: 'APPROVE' })).status).toBe(200);
  return lockbox.waitForStatus(created.requestId, ['ACTIVE', 'COMPLETED']);
}

/** The history events of the execution's "Revoke access" task (scheduled with the revoke function). */
function revokeTaskEvents(execution: { history: any[] }): { type: string; error?: string; output?: string; at: number }[] {
  const events: { type: string; error?: string; output?: string; at: number }[] = [];
  let inRevoke = false;
  for (const event of execution.history) {
    if (event.type === 'TaskScheduled') inRevoke = String(event.taskScheduledEventDetails?.parameters).includes('lockbox-revoke');
    if (inRevoke && ['TaskScheduled', 'TaskFailed', 'TaskSucceeded'].includes(event.type)) {
      events.push({
        type: event.type,
        error: event.taskFailedEventDetails?.error,
        output: event.taskSucceededEventDetails?.output,
        at: Date.parse(event.timestamp),
      });
    }
  }
  return events;
}

/** What local mode warned about at start-up, once its banner is out (it follows the ready line). */
async function startupWarnings(lockbox: LocalLockbox): Promise<string[]> {
  await waitFor(
    'the start-up banner',
    async () => lockbox.log(),
    (output) => output.includes('Personas'),
    10_000,
  );
  return lockbox.startupWarnings();
}

async function grantOf(lockbox: LocalLockbox, requestId: string) {
  const grants = await lockbox.grants();
  return grants.find((grant) => grant.requestId === requestId)!;
}

describe('a revoke step that fails 3 times', () => {
  // The retry budget of three failures: "Revoke access" retries every error after 5, 10 and 20 s
  // (backoff 2, full jitter), so at most 35 s — less than one reconcile interval on AWS.
  const RETRY_BUDGET_MS = 35_000;
  let lockbox: LocalLockbox;

  beforeAll(async () => {
    // The reconciler is set far off, so only the workflow can revoke here.
    lockbox = await LocalLockbox.start({
      LOCKBOX_LOCAL_FAULTS: JSON.stringify({ failRevokeTimes: 3 }),
      LOCKBOX_LOCAL_RECONCILE_SECONDS: '3600',
    });
  }, 90_000);

  afterAll(async () => {
    await lockbox?.stop();
  }, 30_000);

  it('is retried by the workflow; the request completes at the window’s end with the grant revoked', async () => {
    expect(await startupWarnings(lockbox)).toEqual([expect.stringContaining('fails 3 time(s) per request')]);
    const active = await activeGrant(lockbox);
    const { requestId } = active;

    const completed = await lockbox.waitForStatus(requestId, ['COMPLETED', 'FAILED'], RETRY_BUDGET_MS + 20_000, 250);
    expect(completed).toMatchObject({ status: 'COMPLETED', endReason: 'window-ended' });
    const execution = await lockbox.waitForExecution(requestId, 20_000);
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output).outcome.status).toBe('COMPLETED');

    const attempts = revokeTaskEvents(execution);
    expect(attempts.map(({ type, error }) => (error ? `${type}:${error}` : type))).toEqual([
      'TaskScheduled',
      'TaskFailed:InjectedFault',
      'TaskScheduled',
      'TaskFailed:InjectedFault',
      'TaskScheduled',
      'TaskFailed:InjectedFault',
      'TaskScheduled',
      'TaskSucceeded',
    ]);
    expect(JSON.parse(attempts.at(-1)!.output!).Payload).toEqual({ status: 'COMPLETED' });

    // Revoked by the fourth attempt, after the third failure, within the retry budget.
    const grant = await grantOf(lockbox, requestId);
    expect(grant.revokedAt).toBeDefined();
    const revokedMs = Date.parse(grant.revokedAt!);
    expect(revokedMs).toBeGreaterThanOrEqual(attempts[5].at);
    expect(revokedMs - Date.parse(grant.expiresAt)).toBeLessThanOrEqual(RETRY_BUDGET_MS + 5_000);

    expect(await lockbox.eventsOf(requestId)).toEqual(expect.arrayContaining(['AccessGranted', 'AccessRevoked']));
    const toAlice = await waitFor(
      'outcome email',
      () => lockbox.mailsTo(EMAIL.alice, requestId),
      (mails) => mails.some((mail) => /ended|completed/i.test(mail.subject)),
    );
    expect(toAlice.length).toBeGreaterThan(0);
    await lockbox.checkInvariants(RETRY_BUDGET_MS + 5_000);
  });
});

describe('a workflow whose revoke step never revokes', () => {
  const RECONCILE_EVERY_S = 3;
  let lockbox: LocalLockbox;

  beforeAll(async () => {
    lockbox = await LocalLockbox.start({
      LOCKBOX_LOCAL_FAULTS: JSON.stringify({ skipWorkflowRevoke: true }),
      LOCKBOX_LOCAL_RECONCILE_SECONDS: String(RECONCILE_EVERY_S),
    });
  }, 90_000);

  afterAll(async () => {
    await lockbox?.stop();
  }, 30_000);

  it('leaves the grant to the reconciler, which revokes it within one interval of the window’s end', async () => {
    expect(await startupWarnings(lockbox)).toEqual([expect.stringContaining('revoke step is skipped')]);
    const active = await activeGrant(lockbox);
    const { requestId } = active;

    // The workflow ends believing it revoked: its step reported the request as it left it, ACTIVE.
    const execution = await lockbox.waitForExecution(requestId, 20_000);
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output).outcome.status).toBe('ACTIVE');

    const completed = await lockbox.waitForStatus(requestId, ['COMPLETED'], 2 * RECONCILE_EVERY_S * 1000 + 10_000, 250);
    expect(completed.endReason).toBe('window-ended');
    const grant = await grantOf(lockbox, requestId);
    expect(grant.revokedAt).toBeDefined();
    // One interval, and the time a sweep takes (under a second here; 2 s of slack on a busy machine).
    const lateMs = Date.parse(grant.revokedAt!) - Date.parse(grant.expiresAt);
    expect(lateMs).toBeLessThanOrEqual(RECONCILE_EVERY_S * 1000 + 2_000);

    expect(await lockbox.eventsOf(requestId)).toEqual(expect.arrayContaining(['AccessGranted', 'AccessRevoked']));
    await lockbox.checkInvariants(RECONCILE_EVERY_S * 1000 + 2_000);
  });
});
