import { EMAIL, LocalLockbox, sleepUntil, waitFor } from './support/harness';

/**
 * Deadlines end to end: managers have 3 s in this local mode (MANAGER_APPROVAL_TIMEOUT) and the
 * tenant's approvers 3 s (set by its admin), so expiry and its races happen in seconds, on the
 * real callback timeouts of the state machine.
 */
jest.setTimeout(60_000);

let lockbox: LocalLockbox;

beforeAll(async () => {
  lockbox = await LocalLockbox.start({ MANAGER_APPROVAL_TIMEOUT: 'PT3S' });
  const tenant = (await lockbox.get('/tenants/demo', 'carol')).body;
  const { version, tenantId: _tenantId, ...settings } = tenant;
  const updated = await lockbox.call('PUT', '/tenants/demo', { as: 'carol', json: { ...settings, approvalTimeout: 'PT3S', version } });
  expect(updated.status).toBe(200);
}, 90_000);

afterAll(async () => {
  await lockbox?.stop();
}, 30_000);

afterEach(async () => {
  await lockbox.checkInvariants();
});

/**
 * Approves the manager stage once its emails went out (a decision that beats the notify step
 * leaves no ManagersNotified event); returns the request once the customer stage is open.
 */
async function pastManagers(requestId: string): Promise<any> {
  await lockbox.linkFor(EMAIL.bob, requestId, 'manager');
  const approved = await lockbox.post(`/requests/${requestId}/manager-decision`, 'bob', { decision: 'APPROVE' });
  expect(approved.status).toBe(200);
  return lockbox.waitForStage(requestId, 'customer');
}

/** The execution's last word on the request: the status its final step read from the database. */
async function executionOutcome(requestId: string): Promise<string> {
  const execution = await lockbox.waitForExecution(requestId, 20_000);
  expect(execution.status).toBe('SUCCEEDED');
  return JSON.parse(execution.output).outcome.status;
}

describe('expiry', () => {
  it('expires at the manager stage when no manager decides; nothing is granted', async () => {
    const created = await lockbox.create('alice');
    const link = await lockbox.linkFor(EMAIL.bob, created.requestId, 'manager');
    const expired = await lockbox.waitForStatus(created.requestId, ['EXPIRED'], 10_000);
    expect(expired.endReason).toMatch(/manager/);
    expect(await executionOutcome(created.requestId)).toBe('EXPIRED');
    expect(await lockbox.eventsOf(created.requestId)).toEqual(['RequestCreated', 'ManagersNotified', 'RequestExpired']);
    expect([403, 409]).toContain((await lockbox.openLink(link)).status);
    expect((await lockbox.post(`/requests/${created.requestId}/manager-decision`, 'bob', { decision: 'APPROVE' })).status).toBe(409);
    expect((await lockbox.grants()).some((grant) => grant.requestId === created.requestId)).toBe(false);
    const toAlice = await waitFor(
      'outcome email',
      () => lockbox.mailsTo(EMAIL.alice, created.requestId),
      (mails) => mails.length > 0,
    );
    expect(toAlice[0].subject).toMatch(/expired/);
  });

  it('expires at the customer stage when no approver decides; nothing is granted', async () => {
    const created = await lockbox.create('dave');
    await pastManagers(created.requestId);
    const link = await lockbox.linkFor(EMAIL.carol, created.requestId, 'customer');
    const expired = await lockbox.waitForStatus(created.requestId, ['EXPIRED'], 10_000);
    expect(expired.endReason).toMatch(/customer/);
    expect(await executionOutcome(created.requestId)).toBe('EXPIRED');
    expect(await lockbox.eventsOf(created.requestId)).toEqual([
      'RequestCreated',
      'ManagersNotified',
      'ManagerApproved',
      'CustomerNotified',
      'RequestExpired',
    ]);
    expect([403, 409]).toContain((await lockbox.openLink(link)).status);
    expect((await lockbox.post(`/requests/${created.requestId}/customer-decision`, 'erin', { decision: 'APPROVE' })).status).toBe(409);
    expect((await lockbox.grants()).some((grant) => grant.requestId === created.requestId)).toBe(false);
  });
});

describe('a decision racing the deadline', () => {
  // Around the moment the stage's callback times out: clearly before, close on either side, clearly after.
  const OFFSETS_MS = [-1200, -150, -60, -20, 0, 20, 60, 150, 1200];

  /**
   * When the waiting task of the stage times out: its TaskScheduled event plus its timeout. (The
   * request's approvalDeadline is a little later: the notify step computes it after the task began.)
   */
  async function stageTimesOutAt(requestId: string): Promise<number> {
    const { history } = await lockbox.execution(requestId);
    const scheduled = history.filter((event: any) => event.taskScheduledEventDetails?.timeoutInSeconds).pop();
    return Date.parse(scheduled.timestamp) + scheduled.taskScheduledEventDetails.timeoutInSeconds * 1000;
  }

  it('at the customer stage has exactly one outcome, and the database and the execution agree', async () => {
    // Each request on its own: the stages are 2 s long, so none may wait for the others.
    const results = await Promise.all(
      OFFSETS_MS.map(async (_, i) => {
        const request = await lockbox.create('alice', { duration: 'PT1S' });
        await pastManagers(request.requestId);
        await sleepUntil((await stageTimesOutAt(request.requestId)) + OFFSETS_MS[i]);
        const answer = await lockbox.post(`/requests/${request.requestId}/customer-decision`, i % 2 ? 'erin' : 'carol', {
          decision: 'APPROVE',
        });
        return { requestId: request.requestId, offset: OFFSETS_MS[i], answer: answer.status };
      }),
    );
    for (const { requestId, offset, answer } of results) {
      expect({ offset, answer: [200, 409].includes(answer) }).toEqual({ offset, answer: true });
      const final = await lockbox.waitForStatus(requestId, ['COMPLETED', 'EXPIRED'], 15_000);
      const events = await lockbox.eventsOf(requestId);
      const granted = (await lockbox.grants()).filter((grant) => grant.requestId === requestId);
      if (answer === 200) {
        // The approval won (its delivery may still have lost to the timer: the expiry step then
        // found it committed and went on to grant).
        expect({ offset, status: final.status, granted: granted.length }).toEqual({ offset, status: 'COMPLETED', granted: 1 });
        expect(events.filter((type) => type === 'CustomerApproved' || type === 'RequestExpired')).toEqual(['CustomerApproved']);
      } else {
        expect({ offset, status: final.status, granted: granted.length }).toEqual({ offset, status: 'EXPIRED', granted: 0 });
        expect(events.filter((type) => type === 'CustomerApproved' || type === 'RequestExpired')).toEqual(['RequestExpired']);
      }
      expect({ offset, execution: await executionOutcome(requestId) }).toEqual({ offset, execution: final.status });
    }
    expect(results.find((result) => result.offset === -1200)!.answer).toBe(200);
    expect(results.find((result) => result.offset === 1200)!.answer).toBe(409);
  });

  it('at the manager stage has exactly one outcome, and the database and the execution agree', async () => {
    const results = await Promise.all(
      OFFSETS_MS.map(async (_, i) => {
        const request = await lockbox.create('dave');
        await lockbox.waitForStage(request.requestId, 'manager');
        await sleepUntil((await stageTimesOutAt(request.requestId)) + OFFSETS_MS[i]);
        const answer = await lockbox.post(`/requests/${request.requestId}/manager-decision`, 'bob', { decision: 'APPROVE' });
        return { requestId: request.requestId, offset: OFFSETS_MS[i], answer: answer.status };
      }),
    );
    for (const { requestId, offset, answer } of results) {
      expect({ offset, answer: [200, 409].includes(answer) }).toEqual({ offset, answer: true });
      if (answer === 200) {
        // Approved in time: the customer stage opens however the delivery raced the timer.
        await lockbox.waitForStatus(requestId, ['PENDING_CUSTOMER_APPROVAL', 'EXPIRED']);
        await lockbox.post(`/requests/${requestId}/customer-decision`, 'carol', { decision: 'DENY', reason: 'Race test' });
      }
      const final = await lockbox.waitForStatus(requestId, ['DENIED', 'EXPIRED'], 15_000);
      // The manager stage ended one way only: approved, or expired at the manager stage.
      const managerOutcomes = (await lockbox.auditLog())
        .filter((event) => event.requestId === requestId)
        .filter((event) => event.type === 'ManagerApproved' || (event.type === 'RequestExpired' && event.details?.stage === 'manager'))
        .map((event) => event.type);
      expect({ offset, managerOutcomes }).toEqual({ offset, managerOutcomes: [answer === 200 ? 'ManagerApproved' : 'RequestExpired'] });
      if (answer === 409) expect({ offset, status: final.status }).toEqual({ offset, status: 'EXPIRED' });
      expect({ offset, execution: await executionOutcome(requestId) }).toEqual({ offset, execution: final.status });
    }
    expect(results.find((result) => result.offset === -1200)!.answer).toBe(200);
    expect(results.find((result) => result.offset === 1200)!.answer).toBe(409);
  });
});
