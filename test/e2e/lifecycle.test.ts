import { formValue } from '../../lambdas/core/http/pages';
import { COMPLETED_LIFECYCLE_EVENTS } from '../support/fixtures';
import { EMAIL, LocalLockbox, PEOPLE, waitFor } from './support/harness';

/**
 * The lifecycle end to end on local mode: the bundled handlers, the real state machine file on
 * aws-local-stepfunctions, DynamoDB Local, aws-ses-v2-local — driven over HTTP only.
 */
jest.setTimeout(60_000);

let lockbox: LocalLockbox;

beforeAll(async () => {
  lockbox = await LocalLockbox.start();
}, 90_000);

afterAll(async () => {
  await lockbox?.stop();
}, 30_000);

afterEach(async () => {
  await lockbox.checkInvariants();
});

describe('local mode', () => {
  it('gives the handlers every variable the deployed functions get (read from the synthesized stack)', () => {
    expect(lockbox.startupWarnings()).toEqual([]);
  });
});

describe('the happy path', () => {
  it('goes through both approvals by link to COMPLETED, and the grant ends at accessExpiresAt', async () => {
    const created = await lockbox.create('alice', { duration: 'PT2S' });
    expect(created).toMatchObject({ status: 'PENDING_MANAGER_APPROVAL', requestedBy: PEOPLE.alice, tenantId: 'demo' });

    // The manager opens the emailed link: the page shows the request and changes nothing.
    const managerLink = await lockbox.linkFor(EMAIL.bob, created.requestId, 'manager');
    const before = await lockbox.request(created.requestId);
    const page = await lockbox.openLink(managerLink);
    expect(page.status).toBe(200);
    expect(page.text).toContain(created.ticketId);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await lockbox.request(created.requestId)).toMatchObject({ status: before.status, version: before.version });

    const managerDecision = await lockbox.decideByLink(managerLink, { decision: 'APPROVE' });
    expect(managerDecision.status).toBe(200);
    expect(managerDecision.text).toContain('Approved');

    const customerLink = await lockbox.linkFor(EMAIL.carol, created.requestId, 'customer');
    expect(await lockbox.linkFor(EMAIL.erin, created.requestId, 'customer')).not.toBe(customerLink);
    expect((await lockbox.decideByLink(customerLink, { decision: 'APPROVE' })).status).toBe(200);

    const active = await lockbox.waitForStatus(created.requestId, ['ACTIVE', 'COMPLETED'], 10_000);
    const asRequester = await lockbox.request(created.requestId, 'alice');
    expect(asRequester.accessExpiresAt).toBeDefined();
    expect(asRequester.customerDecision).toMatchObject({ decision: 'APPROVE', via: 'link', by: PEOPLE.carol });
    expect(asRequester.managerDecision).toMatchObject({ decision: 'APPROVE', via: 'link', by: PEOPLE.bob });
    if (active.status === 'ACTIVE') {
      expect(asRequester.access).toMatchObject({ principal: PEOPLE.alice });
      expect((await lockbox.request(created.requestId, 'carol')).access).toBeUndefined();
    }

    const done = await lockbox.waitForStatus(created.requestId, ['COMPLETED'], 10_000);
    expect(done).toMatchObject({ endReason: 'window-ended' });
    const grant = (await lockbox.grants()).find((candidate) => candidate.requestId === created.requestId)!;
    expect(grant).toMatchObject({ principal: PEOPLE.alice, expiresAt: done.accessExpiresAt });
    const lateness = Date.parse(grant.revokedAt!) - Date.parse(done.accessExpiresAt);
    expect(lateness).toBeGreaterThanOrEqual(0);
    expect(lateness).toBeLessThan(1500);

    const execution = await lockbox.waitForExecution(created.requestId);
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output).outcome.status).toBe('COMPLETED');
    expect(await lockbox.eventsOf(created.requestId)).toEqual(COMPLETED_LIFECYCLE_EVENTS);
    const toAlice = await lockbox.mailsTo(EMAIL.alice, created.requestId);
    expect(toAlice.map((mail) => mail.subject).join('\n')).toMatch(/granted[\s\S]*ended/);
  });
});

describe('the audit export', () => {
  it('exports every event of a lifecycle to the bus as the ledger holds it (same hash), off the API path', async () => {
    const created = await lockbox.create('alice');
    expect((await lockbox.post(`/requests/${created.requestId}/cancel`, 'alice')).status).toBe(200);
    // Its execution has ended, so no step adds to its chain any more.
    expect((await lockbox.waitForExecution(created.requestId)).status).not.toBe('RUNNING');
    const chain = (await lockbox.auditLog()).filter((event) => event.chainId === created.requestId);
    expect(chain.map((event) => event.type)).toEqual(expect.arrayContaining(['RequestCreated', 'RequestCancelled']));

    const exported = await lockbox.waitForExport(chain);
    expect(exported).toEqual(chain);
    expect(exported.map((event) => event.hash)).toEqual(chain.map((event) => event.hash));
    // In the order of the chain, each event once.
    const ofRequest = (await lockbox.exported()).filter((event) => event.chainId === created.requestId);
    expect(ofRequest.map((event) => event.seq)).toEqual(chain.map((event) => event.seq));
  });
});

describe('refusals', () => {
  it('ends REJECTED when the manager rejects through the API, and asks no customer', async () => {
    const created = await lockbox.create('dave');
    await lockbox.waitForStage(created.requestId, 'manager');
    expect((await lockbox.post(`/requests/${created.requestId}/manager-decision`, 'bob', { decision: 'REJECT' })).status).toBe(400);
    const rejected = await lockbox.post(`/requests/${created.requestId}/manager-decision`, 'bob', {
      decision: 'REJECT',
      reason: 'No ticket on file',
    });
    expect(rejected.status).toBe(200);
    expect(rejected.body.status).toBe('REJECTED');

    const execution = await lockbox.waitForExecution(created.requestId);
    expect(JSON.parse(execution.output).outcome.status).toBe('REJECTED');
    expect(await lockbox.mailsTo(EMAIL.carol, created.requestId)).toEqual([]);
    const toDave = await waitFor(
      'outcome email',
      () => lockbox.mailsTo(EMAIL.dave, created.requestId),
      (mails) => mails.length > 0,
    );
    expect(toDave[0].text).toContain('No ticket on file');
    expect((await lockbox.grants()).some((grant) => grant.requestId === created.requestId)).toBe(false);
  });

  it('ends DENIED when an approver denies with the form on the emailed link', async () => {
    const created = await lockbox.create('alice');
    await lockbox.waitForStage(created.requestId, 'manager');
    await lockbox.post(`/requests/${created.requestId}/manager-decision`, 'bob', { decision: 'APPROVE' });
    const link = await lockbox.linkFor(EMAIL.erin, created.requestId, 'customer');

    expect((await lockbox.decideByLink(link, { decision: 'DENY' })).status).toBe(400); // a denial needs a reason
    const denied = await lockbox.decideByLink(link, { decision: 'DENY', reason: 'Not during the freeze' });
    expect(denied.status).toBe(200);
    expect(denied.text).toContain('Refused');

    const request = await lockbox.waitForStatus(created.requestId, ['DENIED']);
    expect(request.customerDecision).toMatchObject({ decision: 'DENY', reason: 'Not during the freeze', via: 'link', by: PEOPLE.erin });
    expect((await lockbox.waitForExecution(created.requestId)).status).toBe('SUCCEEDED');
    expect((await lockbox.grants()).some((grant) => grant.requestId === created.requestId)).toBe(false);
  });

  it('ends DENIED when an approver denies through the API', async () => {
    const created = await lockbox.create('alice');
    // Each decision after its stage's emails went out, so every step shows in the audit log.
    await lockbox.linkFor(EMAIL.bob, created.requestId, 'manager');
    await lockbox.post(`/requests/${created.requestId}/manager-decision`, 'bob', { decision: 'APPROVE' });
    await lockbox.linkFor(EMAIL.carol, created.requestId, 'customer');
    const denied = await lockbox.post(`/requests/${created.requestId}/customer-decision`, 'carol', {
      decision: 'DENY',
      reason: 'Use the runbook',
    });
    expect(denied.status).toBe(200);
    expect(denied.body).toMatchObject({ status: 'DENIED', customerDecision: { via: 'api', by: PEOPLE.carol } });

    const execution = await lockbox.waitForExecution(created.requestId);
    expect(JSON.parse(execution.output).outcome.status).toBe('DENIED');
    expect(await lockbox.eventsOf(created.requestId)).toEqual([
      'RequestCreated',
      'ManagersNotified',
      'ManagerApproved',
      'CustomerNotified',
      'CustomerDenied',
    ]);
  });
});

describe('ending early', () => {
  it('cancels before the grant, at either stage, and the stale links stop working', async () => {
    const atManager = await lockbox.create('alice');
    const managerLink = await lockbox.linkFor(EMAIL.bob, atManager.requestId, 'manager');
    expect((await lockbox.post(`/requests/${atManager.requestId}/cancel`, 'dave')).status).toBe(403);
    const cancelled = await lockbox.post(`/requests/${atManager.requestId}/cancel`, 'alice');
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('CANCELLED');
    const execution = await lockbox.waitForExecution(atManager.requestId);
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output).outcome.status).toBe('CANCELLED');
    expect(
      execution.history.some(
        (event: { type: string; taskFailedEventDetails?: { error: string } }) => event.taskFailedEventDetails?.error === 'RequestCancelled',
      ),
    ).toBe(true);
    expect([403, 409]).toContain((await lockbox.openLink(managerLink)).status);

    const atCustomer = await lockbox.create('alice');
    await lockbox.waitForStage(atCustomer.requestId, 'manager');
    await lockbox.post(`/requests/${atCustomer.requestId}/manager-decision`, 'bob', { decision: 'APPROVE' });
    await lockbox.waitForStage(atCustomer.requestId, 'customer');
    expect((await lockbox.post(`/requests/${atCustomer.requestId}/cancel`, 'alice')).body.status).toBe('CANCELLED');
    expect((await lockbox.post(`/requests/${atCustomer.requestId}/customer-decision`, 'carol', { decision: 'APPROVE' })).status).toBe(409);
    expect(JSON.parse((await lockbox.waitForExecution(atCustomer.requestId)).output).outcome.status).toBe('CANCELLED');
    const granted = (await lockbox.grants()).filter((grant) => [atManager.requestId, atCustomer.requestId].includes(grant.requestId));
    expect(granted).toEqual([]);
    expect((await lockbox.post(`/requests/${atCustomer.requestId}/cancel`, 'alice')).status).toBe(409);
  });

  it('lets the customer revoke active access early; the grant ends at once', async () => {
    const created = await lockbox.create('dave', { duration: 'PT1M' });
    await lockbox.waitForStage(created.requestId, 'manager');
    await lockbox.post(`/requests/${created.requestId}/manager-decision`, 'bob', { decision: 'APPROVE' });
    await lockbox.waitForStage(created.requestId, 'customer');
    await lockbox.post(`/requests/${created.requestId}/customer-decision`, 'erin', { decision: 'APPROVE' });
    await lockbox.waitForStatus(created.requestId, ['ACTIVE']);
    expect((await lockbox.post(`/requests/${created.requestId}/cancel`, 'dave')).status).toBe(409); // granted: too late to cancel
    expect((await lockbox.post(`/requests/${created.requestId}/revoke`, 'dave', {})).status).toBe(403);

    const revoked = await lockbox.post(`/requests/${created.requestId}/revoke`, 'carol', { reason: 'Incident closed' });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ status: 'REVOKED', endReason: 'revoked-by-customer' });
    const grant = (await lockbox.grants()).find((candidate) => candidate.requestId === created.requestId)!;
    expect(Date.parse(grant.revokedAt!)).toBeLessThan(Date.parse(grant.expiresAt));
    expect((await lockbox.post(`/requests/${created.requestId}/revoke`, 'carol', {})).status).toBe(409);
    expect(await lockbox.eventsOf(created.requestId)).toContain('AccessRevoked');
  });
});

describe('separation of duties', () => {
  it('refuses the requester or the manager as customer approver (400 naming the field), and self-approval', async () => {
    // Carol, the tenant's admin, tries to make the requester alice and the manager bob approvers too.
    const settings = (await lockbox.get('/tenants/demo', 'carol')).body;
    for (const [who, field] of [
      ['alice', 'approvers[2].email'],
      ['bob', 'approvers[2].email'],
    ] as const) {
      const refused = await lockbox.call('PUT', '/tenants/demo', {
        as: 'carol',
        json: {
          ...withoutVersion(settings),
          approvers: [...settings.approvers, { email: EMAIL[who], principal: PEOPLE[who] }],
          version: settings.version,
        },
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field } });
    }
    expect((await lockbox.get('/tenants/demo', 'carol')).body.version).toBe(settings.version);

    const created = await lockbox.create('alice');
    await lockbox.waitForStage(created.requestId, 'manager');
    const selfApproval = await lockbox.post(`/requests/${created.requestId}/manager-decision`, 'alice', { decision: 'APPROVE' });
    expect(selfApproval.status).toBe(403);
    expect(selfApproval.body.error.code).toBe('FORBIDDEN');

    // Bob's link first: a decision that beats the notify step leaves the stage's emails unsent.
    await lockbox.linkFor(EMAIL.bob, created.requestId, 'manager');
    expect((await lockbox.post(`/requests/${created.requestId}/manager-decision`, 'bob', { decision: 'APPROVE' })).status).toBe(200);
    await lockbox.waitForStage(created.requestId, 'customer');
    await lockbox.linkFor(EMAIL.carol, created.requestId, 'customer');
    // Neither the requester nor the approving manager is asked at the customer stage.
    expect(await lockbox.mailsTo(EMAIL.alice, created.requestId)).toEqual([]);
    expect((await lockbox.mailsTo(EMAIL.bob, created.requestId)).filter((mail) => mail.text.includes('/approvals/'))).toHaveLength(1);

    for (const who of ['alice', 'bob'] as const) {
      const refused = await lockbox.post(`/requests/${created.requestId}/customer-decision`, who, { decision: 'APPROVE' });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('FORBIDDEN');
    }
    expect((await lockbox.request(created.requestId)).status).toBe('PENDING_CUSTOMER_APPROVAL');
    await lockbox.post(`/requests/${created.requestId}/customer-decision`, 'carol', { decision: 'DENY', reason: 'Done testing' });
    await lockbox.waitForExecution(created.requestId);
  });
});

describe('approval links', () => {
  it('works once, only for its own stage, and refuses a forged token', async () => {
    const created = await lockbox.create('dave');
    const managerLink = await lockbox.linkFor(EMAIL.bob, created.requestId, 'manager');

    // Forged: the same claims with another signature, claims edited under the old signature, junk.
    // Even a forger who sends the form field the page would carry is refused.
    const [payload, mac] = new URL(managerLink).pathname.split('/').pop()!.split('.');
    const forgedMac = `${payload}.${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BB' : 'AA'}`;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const forgedClaims = `${Buffer.from(JSON.stringify({ ...claims, stg: 'customer' })).toString('base64url')}.${mac}`;
    for (const token of [forgedMac, forgedClaims, 'not-a-token']) {
      expect((await lockbox.call('GET', `/approvals/${token}`)).status).toBe(403);
      const posted = await lockbox.call('POST', `/approvals/${token}`, { form: { form: formValue(token), decision: 'APPROVE' } });
      expect(posted.status).toBe(403);
    }
    expect((await lockbox.request(created.requestId)).status).toBe('PENDING_MANAGER_APPROVAL');

    // Used twice: the page stays open in the browser and its form is posted again.
    const fields = await lockbox.formOf(managerLink);
    expect((await lockbox.postLink(managerLink, fields, { decision: 'APPROVE' })).status).toBe(200);
    const usedTwice = await lockbox.postLink(managerLink, fields, { decision: 'APPROVE' });
    expect([403, 409]).toContain(usedTwice.status);
    expect([403, 409]).toContain((await lockbox.openLink(managerLink)).status);

    // The customer stage is open now; the manager's link is not one of its links.
    const customerLink = await lockbox.linkFor(EMAIL.carol, created.requestId, 'customer');
    const opened = await lockbox.request(created.requestId);
    expect([403, 409]).toContain((await lockbox.postLink(managerLink, fields, { decision: 'APPROVE' })).status);
    // Read after the customer stage opened (its notify step is what moves the version): the refused post moved nothing.
    expect(await lockbox.request(created.requestId)).toMatchObject({ status: 'PENDING_CUSTOMER_APPROVAL', version: opened.version });

    // Recorded once per link (or unverified token) and source and kind of refusal within an hour;
    // repeats are counted into the next event (T-1.11, test/integration/inputs.test.ts).
    const refusals = (await lockbox.auditLog()).filter((event) => event.type === 'LinkRefused' && event.requestId === created.requestId);
    const kinds = new Set(refusals.map((event) => String(event.details?.why).split(/[\s:(]/)[0]));
    expect([...kinds]).toEqual(expect.arrayContaining(['bad-signature', 'not-open-for-this-link']));
    expect((await lockbox.decideByLink(customerLink, { decision: 'DENY', reason: 'Enough' })).status).toBe(200);
    await lockbox.waitForExecution(created.requestId);
  });
});

describe('idempotency', () => {
  it('returns the same request for a repeated idempotency key and starts one execution', async () => {
    const body = { ticketId: 'T-IDEM', idempotencyKey: `retry-${Date.now()}` };
    const first = await lockbox.post('/requests', 'alice', {
      tenantId: 'demo',
      justification: 'Retry me',
      accessLevel: 'ReadOnly',
      duration: 'PT2S',
      ...body,
    });
    const second = await lockbox.post('/requests', 'alice', {
      tenantId: 'demo',
      justification: 'Retry me',
      accessLevel: 'ReadOnly',
      duration: 'PT2S',
      ...body,
    });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.requestId).toBe(first.body.requestId);

    const different = await lockbox.post('/requests', 'alice', {
      tenantId: 'demo',
      justification: 'Something else',
      accessLevel: 'ReadOnly',
      duration: 'PT2S',
      ...body,
    });
    expect(different.status).toBe(409);
    expect(different.body.error.code).toBe('CONFLICT');

    const executions: { name: string }[] = (await lockbox.get('/_local/executions')).body;
    expect(executions.filter((execution) => execution.name === first.body.requestId)).toHaveLength(1);
    expect((await lockbox.eventsOf(first.body.requestId)).filter((type) => type === 'RequestCreated')).toHaveLength(1);
    await lockbox.waitForStage(first.body.requestId, 'manager');
    await lockbox.post(`/requests/${first.body.requestId}/cancel`, 'alice');
    await lockbox.waitForExecution(first.body.requestId);
  });
});

describe('load', () => {
  it('runs 50 lifecycles at once and loses none', async () => {
    const count = 50;
    const engineers = ['alice', 'dave'] as const;
    const approvers = ['carol', 'erin'] as const;
    const run = `${Date.now()}`;
    // Windows of 8 s: long enough that a grant's commit, queued behind 49 others on the tenant's
    // audit chain, lands inside its window (with 2 s windows the queue alone can outlast one).
    const duration = 'PT8S';
    // Every write of a tenant moves its audit chain head, so a burst on one tenant queues there;
    // the client retries a 5xx as any client should (creates carry an idempotency key).
    const created = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const response = await lockbox.callRetrying('POST', '/requests', {
          as: engineers[i % 2],
          json: {
            tenantId: 'demo',
            ticketId: `LOAD-${i}`,
            justification: 'Load test',
            accessLevel: 'ReadOnly',
            duration,
            idempotencyKey: `load-${run}-${i}`,
          },
        });
        if (![200, 201].includes(response.status)) throw new Error(`LOAD-${i}: ${response.status} ${response.text} after retries`);
        return response.body;
      }),
    );
    const ids: string[] = created.map((request) => request.requestId);
    expect(new Set(ids).size).toBe(count);

    const decide = async (id: string, stage: 'manager' | 'customer', as: 'bob' | 'carol' | 'erin') => {
      const response = await lockbox.callRetrying('POST', `/requests/${id}/${stage}-decision`, { as, json: { decision: 'APPROVE' } });
      const pending = stage === 'manager' ? 'PENDING_MANAGER_APPROVAL' : 'PENDING_CUSTOMER_APPROVAL';
      // 409 is fine only for a retried decision whose first attempt committed: the request moved on.
      const accepted = response.status === 200 || (response.status === 409 && response.body.error?.details?.status !== pending);
      if (!accepted) throw new Error(`${id} ${stage} decision: ${response.status} ${response.text}`);
    };
    await Promise.all(
      ids.map(async (id, i) => {
        // 50 pollers: each asks twice a second, not ten times, so the polling is not the load.
        await lockbox.waitForStage(id, 'manager', 60_000, 500);
        await decide(id, 'manager', 'bob');
        await lockbox.waitForStage(id, 'customer', 60_000, 500);
        await decide(id, 'customer', approvers[i % 2]);
      }),
    );
    const finished = await Promise.all(ids.map((id) => lockbox.waitForStatus(id, ['COMPLETED', 'FAILED', 'EXPIRED'], 60_000, 500)));
    expect(finished.filter((request) => request.status !== 'COMPLETED')).toEqual([]);

    const executions = await Promise.all(ids.map((id) => lockbox.waitForExecution(id, 30_000, 500)));
    expect(
      executions
        .filter((execution) => execution.status !== 'SUCCEEDED')
        .map((execution) => ({ name: execution.name, status: execution.status, error: execution.error, cause: execution.cause })),
    ).toEqual([]);
    const grants = (await lockbox.grants()).filter((grant) => ids.includes(grant.requestId));
    expect(grants).toHaveLength(count);
    expect(grants.every((grant) => grant.revokedAt)).toBe(true);
    const audit = await lockbox.auditLog();
    // A stage decided before its notify step ran has no "…Notified" event: the step found it
    // decided and completed its own task. Nothing else may be missing, and the order holds.
    const notified = ['ManagersNotified', 'CustomerNotified'];
    for (const id of ids) {
      const types = audit.filter((event) => event.requestId === id).map((event): string => event.type);
      expect(types.filter((type) => !notified.includes(type))).toEqual(
        COMPLETED_LIFECYCLE_EVENTS.filter((type) => !notified.includes(type)),
      );
      expect(types).toEqual(COMPLETED_LIFECYCLE_EVENTS.filter((type) => types.includes(type)));
    }
  }, 240_000);
});

/** The tenant settings as PUT takes them (the read carries more than the body allows). */
function withoutVersion(settings: Record<string, unknown>) {
  const { version: _version, tenantId: _tenantId, ...rest } = settings;
  return rest;
}
