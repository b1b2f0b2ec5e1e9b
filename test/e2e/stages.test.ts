import { EMAIL, LocalLockbox, waitFor } from './support/harness';

/**
 * Stages open at the write that enters them, and nothing is stranded (DESIGN §2, T-6.2, T-6.3),
 * on local mode driven over HTTP: a client that acts the moment the API shows a status is never
 * refused for being early; 200 lifecycles at once on ONE tenant lose nothing; a request whose
 * execution is stopped is finished by the reconciler within one interval.
 */
jest.setTimeout(120_000);

const RECONCILE_SECONDS = 3;
let lockbox: LocalLockbox;

beforeAll(async () => {
  lockbox = await LocalLockbox.start({ LOCKBOX_LOCAL_RECONCILE_SECONDS: String(RECONCILE_SECONDS) });
}, 90_000);

afterAll(async () => {
  await lockbox?.stop();
}, 30_000);

/**
 * Generous: 200 windows ending in the same second on a shared two-core machine queue their
 * revokes behind each other in DynamoDB Local; `npm run bench` measures the lag itself.
 */
const REVOKE_BOUND_MS = 30_000;

afterEach(async () => {
  await lockbox.checkInvariants(REVOKE_BOUND_MS);
});

const TRIES = 12;

describe('a client that acts as soon as the API shows the status (T-6.2)', () => {
  it('has every decision accepted at once: manager right after create, customer right after the manager', async () => {
    const refused: string[] = [];
    const ids = await Promise.all(
      Array.from({ length: TRIES }, async (_, i) => {
        const created = await lockbox.create(i % 2 ? 'alice' : 'dave', { duration: 'PT2S' });
        expect(created).toMatchObject({ status: 'PENDING_MANAGER_APPROVAL', approvalDeadline: expect.any(String) });
        const manager = await lockbox.post(`/requests/${created.requestId}/manager-decision`, 'bob', { decision: 'APPROVE' });
        if (manager.status !== 200) refused.push(`manager ${manager.status} ${manager.text}`);
        expect(manager.body).toMatchObject({ status: 'PENDING_CUSTOMER_APPROVAL', approvalDeadline: expect.any(String) });
        const customer = await lockbox.post(`/requests/${created.requestId}/customer-decision`, i % 2 ? 'carol' : 'erin', {
          decision: 'APPROVE',
        });
        if (customer.status !== 200) refused.push(`customer ${customer.status} ${customer.text}`);
        return created.requestId as string;
      }),
    );
    expect(refused).toEqual([]);
    const ended = await Promise.all(ids.map((id) => lockbox.waitForStatus(id, ['COMPLETED', 'FAILED', 'EXPIRED'], 30_000, 250)));
    expect(ended.map((request) => request.status)).toEqual(ids.map(() => 'COMPLETED'));
    const executions = await Promise.all(ids.map((id) => lockbox.waitForExecution(id, 15_000, 250)));
    expect(executions.map((execution) => execution.status)).toEqual(ids.map(() => 'SUCCEEDED'));
  });

  it('has every cancel accepted at once, right after create and right after the manager approval', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: TRIES }, async (_, i) => {
        const created = await lockbox.create('alice');
        if (i % 2) await lockbox.post(`/requests/${created.requestId}/manager-decision`, 'bob', { decision: 'APPROVE' });
        const cancelled = await lockbox.post(`/requests/${created.requestId}/cancel`, 'alice');
        return { id: created.requestId as string, status: cancelled.status, body: cancelled.text };
      }),
    );
    expect(outcomes.filter((outcome) => outcome.status !== 200)).toEqual([]);
    const executions = await Promise.all(outcomes.map((outcome) => lockbox.waitForExecution(outcome.id, 15_000, 250)));
    expect(executions.map((execution) => JSON.parse(execution.output).outcome.status)).toEqual(outcomes.map(() => 'CANCELLED'));
    expect((await lockbox.grants()).filter((grant) => outcomes.some((outcome) => outcome.id === grant.requestId))).toEqual([]);
  });

  it('has an early revoke accepted as soon as ACTIVE shows, and the execution ends at once', async () => {
    const created = await lockbox.create('dave', { duration: 'PT1H' });
    await lockbox.post(`/requests/${created.requestId}/manager-decision`, 'bob', { decision: 'APPROVE' });
    await lockbox.post(`/requests/${created.requestId}/customer-decision`, 'carol', { decision: 'APPROVE' });
    await lockbox.waitForStatus(created.requestId, ['ACTIVE'], 15_000, 20);
    const revoked = await lockbox.post(`/requests/${created.requestId}/revoke`, 'carol', { reason: 'Done' });
    expect(revoked.status).toBe(200);
    // The window had an hour left: the execution did not wait for it.
    const execution = await lockbox.waitForExecution(created.requestId, 10_000, 100);
    expect(await lockbox.request(created.requestId)).toMatchObject({ status: 'REVOKED' });
    // Not FAILED: both decisions may commit before the manager stage's step runs (it then finds APPROVED).
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output).held.status).toBe('REVOKED');
    // The engineer is told once, by the execution's closing step (off the API path).
    const told = (await lockbox.mailsTo(EMAIL.dave, created.requestId)).filter((mail) => mail.subject.includes('revoked early'));
    expect(told).toHaveLength(1);
  });
});

describe('200 concurrent lifecycles on ONE tenant', () => {
  it('loses none, answers no 5xx, and revokes every grant at its window end', async () => {
    const count = 200;
    const run = `${Date.now()}`;
    const errors: string[] = [];
    let throttled = 0;
    const retried = new Set<string>();
    let ambiguous = 0;
    /** A client under load: retries a 503 THROTTLED after Retry-After; any other 5xx is an error. */
    const send = async (method: string, path: string, as: 'alice' | 'dave' | 'bob' | 'carol' | 'erin', json: unknown) => {
      for (let attempt = 1; ; attempt++) {
        const response = await lockbox.call(method, path, { as, json });
        if (response.status === 503 && response.body?.error?.code === 'THROTTLED' && attempt < 10) {
          throttled++;
          retried.add(path);
          await new Promise((resolve) =>
            setTimeout(resolve, Number(response.headers.get('retry-after') ?? 1) * 1000 * Math.random() + 100),
          );
          continue;
        }
        if (response.status >= 500) errors.push(`${method} ${path}: ${response.status} ${response.text.slice(0, 200)}`);
        return response;
      }
    };
    const ids = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const created = await send('POST', '/requests', i % 2 ? 'alice' : 'dave', {
          tenantId: 'demo',
          ticketId: `BURST-${i}`,
          justification: 'Burst',
          accessLevel: 'ReadOnly',
          duration: 'PT5S',
          idempotencyKey: `burst-${run}-${i}`,
        });
        if (![200, 201].includes(created.status)) throw new Error(`BURST-${i}: ${created.status} ${created.text}`);
        const id: string = created.body.requestId;
        const manager = await send('POST', `/requests/${id}/manager-decision`, 'bob', { decision: 'APPROVE' });
        const customer = await send('POST', `/requests/${id}/customer-decision`, i % 2 ? 'carol' : 'erin', { decision: 'APPROVE' });
        for (const [stage, response] of [
          ['manager', manager],
          ['customer', customer],
        ] as const) {
          // A 409 after a retried 503 whose status shows the decision in place: the 503's outcome was
          // unknown (its fence timed out too, on a saturated machine); counted, reported, not hidden.
          const pending = stage === 'manager' ? 'PENDING_MANAGER_APPROVAL' : 'PENDING_CUSTOMER_APPROVAL';
          if (
            response.status === 409 &&
            retried.has(`/requests/${id}/${stage}-decision`) &&
            response.body?.error?.details?.status !== pending
          )
            ambiguous++;
          else if (response.status !== 200) errors.push(`${id} ${stage}: ${response.status} ${response.text.slice(0, 200)}`);
        }
        return id;
      }),
    );
    expect(errors).toEqual([]);
    const finished = await Promise.all(
      ids.map((id) => lockbox.waitForStatus(id, ['COMPLETED', 'FAILED', 'EXPIRED', 'CANCELLED'], 120_000, 1000)),
    );
    expect(finished.filter((request) => request.status !== 'COMPLETED').map((request) => `${request.requestId} ${request.status}`)).toEqual(
      [],
    );
    const grants = (await lockbox.grants()).filter((grant) => ids.includes(grant.requestId));
    expect(grants).toHaveLength(count);
    const late = grants.filter((grant) => !grant.revokedAt || Date.parse(grant.revokedAt) > Date.parse(grant.expiresAt) + REVOKE_BOUND_MS);
    expect(late).toEqual([]);
    // Every execution has ended. On a saturated machine a step can run out of retries (its store
    // calls are bounded): the execution then fails, and the reconciler finished the request —
    // which is why every request above still COMPLETED. Reported, so a regression is visible.
    const executions = await Promise.all(ids.map((id) => lockbox.waitForExecution(id, 30_000, 1000)));
    expect(executions.filter((execution) => execution.status === 'RUNNING')).toEqual([]);
    const failedExecutions = executions.filter((execution) => execution.status !== 'SUCCEEDED').length;
    if (failedExecutions)
      console.log(`200 lifecycles: ${failedExecutions} executions failed under load; the reconciler finished their requests`);
    // Throttled answers are allowed (and committed nothing); say how many for whoever reads the log.
    if (throttled)
      console.log(`200 lifecycles: ${throttled} calls answered 503 THROTTLED and were retried; ${ambiguous} of them had committed`);
  }, 300_000);
});

describe('a request stranded on purpose (T-6.3)', () => {
  it('is finished by the reconciler within one interval when its execution is stopped', async () => {
    const created = await lockbox.create('alice', { duration: 'PT1M' });
    await lockbox.post(`/requests/${created.requestId}/manager-decision`, 'bob', { decision: 'APPROVE' });
    await lockbox.waitForStage(created.requestId, 'customer');
    const stopped = await lockbox.call('POST', `/_local/executions/${created.requestId}/stop`);
    expect(stopped.status).toBe(200);
    expect((await lockbox.waitForExecution(created.requestId)).status).toBe('ABORTED');
    const stoppedAt = Date.now();

    const closed = await lockbox.waitForStatus(created.requestId, ['FAILED'], (RECONCILE_SECONDS + 5) * 1000, 200);
    expect(Date.now() - stoppedAt).toBeLessThan((RECONCILE_SECONDS + 5) * 1000);
    expect(closed).toMatchObject({ status: 'FAILED', endReason: 'workflow-failed' });
    const events = await waitFor(
      'the audit event',
      () => lockbox.eventsOf(created.requestId),
      (types) => types.includes('RequestFailed'),
      10_000,
    );
    expect(events.at(-1)).toBe('RequestFailed');
    expect((await lockbox.grants()).some((grant) => grant.requestId === created.requestId)).toBe(false);
  });
});
