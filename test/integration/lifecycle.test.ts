import { type DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type AuditEvent, SYSTEM_CHAIN } from '../../lambdas/core/domain/audit';
import { ConflictError, ForbiddenError, ThrottledError } from '../../lambdas/core/domain/errors';
import { verifyLedger } from '../../lambdas/core/domain/ledger-verify';
import { identityKeys } from '../../lambdas/core/domain/principals';
import { cancelRequest, decide, decideAsCustomer, decideAsManager } from '../../lambdas/core/usecases/decisions';
import { decideByLink, viewLink } from '../../lambdas/core/usecases/links';
import { reconcile } from '../../lambdas/core/usecases/reconcile';
import { createRequest, listRequests } from '../../lambdas/core/usecases/requests';
import { listAudit, revokeAccess, updateTenant } from '../../lambdas/core/usecases/tenants';
import { endAccess, expireStage, grantAccess, holdAccess, openStage } from '../../lambdas/core/usecases/workflow-steps';
import { ALICE, BOB, CAROL, COMPLETED_LIFECYCLE_EVENTS, DAVE, demoTenant, ERIN } from '../support/fixtures';
import { dynamoDbLocalPerFile, type TableNames } from '../support/tables';
import { type Harness, harness, linkIn } from '../support/use-case-deps';

/**
 * The use cases on real DynamoDB Local tables: every transition really is one conditional
 * transaction, races really have one winner, and the audit chain really verifies.
 */
jest.setTimeout(60_000);

const db = dynamoDbLocalPerFile();
let h: Harness;
let tableNames: TableNames;

beforeEach(async () => {
  ({ h, tables: tableNames } = await db.fresh('t', demoTenant({ approvalTimeout: 'PT1H' })));
});

const engineer = { principal: ALICE, sourceIp: '198.51.100.7' };
const body = { tenantId: 'demo', ticketId: 'T-7', justification: 'Restore <b>backups</b>', accessLevel: 'ReadOnly', duration: 'PT1H' };

async function auditOf(tenantId = 'demo'): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await listAudit(h.deps, { principal: CAROL }, tenantId, { limit: 7, nextToken });
    events.push(...page.items);
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

const stored = async (requestId: string) =>
  (await db.doc.send(new GetCommand({ TableName: tableNames.requests, Key: { requestId } }))).Item!;

/** Files a request and opens the manager stage, as the workflow would. */
async function managerStage() {
  const { request } = await createRequest(h.deps, engineer, body);
  await openStage(h.deps, request.requestId, 'manager', 'task-token-manager');
  return request.requestId;
}

async function customerStage() {
  const requestId = await managerStage();
  await decideAsManager(h.deps, { principal: BOB }, requestId, { decision: 'APPROVE' });
  await openStage(h.deps, requestId, 'customer', 'task-token-customer');
  return requestId;
}

describe('the lifecycle on DynamoDB Local', () => {
  it('goes from request to COMPLETED with one audit event per step, and the chain verifies', async () => {
    const requestId = await customerStage();
    const customerEmails = h.outbox.filter((email) => email.subject.includes('awaits your approval') && !email.subject.includes('manager'));
    expect(customerEmails.map((email) => email.to[0]).sort()).toEqual(['approver2@demo.example', 'approver@demo.example']);

    const decided = await decideByLink(
      h.deps,
      linkIn(customerEmails.find((email) => email.to[0] === 'approver@demo.example')!),
      { decision: 'APPROVE' },
      '192.0.2.1',
    );
    expect(decided).toMatchObject({ ok: true, request: { status: 'APPROVED', customerDecision: { by: CAROL, via: 'link' } } });

    const granted = await grantAccess(h.deps, requestId);
    expect(granted.status).toBe('ACTIVE');
    h.clock.advance(3_600_000);
    const ended = await endAccess(h.deps, requestId, { reason: 'window-ended' });
    expect(ended).toMatchObject({ status: 'COMPLETED', endReason: 'window-ended' });

    const grant = (await db.doc.send(new GetCommand({ TableName: tableNames.grants, Key: { requestId } }))).Item!;
    expect(grant.revokedAt).toBe(ended.endedAt);
    expect(Date.parse(grant.revokedAt)).toBeGreaterThanOrEqual(Date.parse(grant.expiresAt));

    const events = await auditOf();
    expect(events.map((event) => event.type)).toEqual(COMPLETED_LIFECYCLE_EVENTS);
    expect(verifyLedger({ events, digests: [], publicKeyPem: '' }).ok).toBe(true);
    expect(events.find((event) => event.type === 'RequestCreated')).toMatchObject({
      actor: { kind: 'engineer', id: ALICE },
      sourceIp: '198.51.100.7',
    });
    expect(events.at(-1)?.details).toEqual({ reason: 'window-ended', steps: ['mark-grant-revoked: done'] });
  });

  it('never puts a task token into an email, a response or the audit log', async () => {
    const requestId = await customerStage();
    const everything = JSON.stringify([
      h.outbox,
      await auditOf(),
      await listRequests(h.deps, { principal: BOB }, { tenantId: 'demo', limit: 10 }),
    ]);
    expect(everything).not.toContain('task-token-manager');
    expect(everything).not.toContain('task-token-customer');
    expect((await stored(requestId)).taskToken).toBe('task-token-customer');
  });

  it('escapes request values in the HTML part of emails', async () => {
    await managerStage();
    const html = h.outbox[0].html;
    expect(html).toContain('Restore &#60;b&#62;backups&#60;/b&#62;');
    expect(html).not.toContain('<b>backups');
  });
});

describe('races have exactly one winner', () => {
  it('concurrent approve and deny: one commits, the other gets CONFLICT, the item agrees', async () => {
    const requestId = await customerStage();
    const outcomes = await Promise.allSettled([
      decideAsCustomer(h.deps, { principal: CAROL }, requestId, { decision: 'APPROVE' }),
      decideAsCustomer(h.deps, { principal: ERIN }, requestId, { decision: 'DENY', reason: 'not now' }),
    ]);
    const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const lost = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0].reason).toBeInstanceOf(ConflictError);
    const item = await stored(requestId);
    expect(item.status).toBe((won[0] as PromiseFulfilledResult<{ status: string }>).value.status);
    expect((lost[0].reason as ConflictError).details?.status).toBe(item.status);
    const decisions = (await auditOf()).filter((event) => ['CustomerApproved', 'CustomerDenied'].includes(event.type));
    expect(decisions).toHaveLength(1);
  });

  it('the deadline in the condition decides between a decision and the expiry that follows it', async () => {
    // In time: the decision wins; the expiry step (its timer fires after the deadline) honours it.
    const inTime = await customerStage();
    const deadline = (await stored(inTime)).approvalDeadlineMs as number;
    h.clock.set(deadline - 1);
    await expect(decideAsCustomer(h.deps, { principal: CAROL }, inTime, { decision: 'APPROVE' })).resolves.toMatchObject({
      status: 'APPROVED',
    });
    h.clock.set(deadline);
    await expect(expireStage(h.deps, inTime, 'customer')).resolves.toEqual({ status: 'APPROVED' });

    // At the deadline, racing: only the expiry can commit, and the decision is told so.
    for (let i = 0; i < 3; i++) {
      const requestId = await customerStage();
      h.clock.set((await stored(requestId)).approvalDeadlineMs as number);
      const [approval, expiry] = await Promise.allSettled([
        decideAsCustomer(h.deps, { principal: CAROL }, requestId, { decision: 'APPROVE' }),
        expireStage(h.deps, requestId, 'customer'),
      ]);
      expect(approval.status).toBe('rejected');
      expect(expiry).toEqual({ status: 'fulfilled', value: { status: 'EXPIRED' } });
      expect((await stored(requestId)).status).toBe('EXPIRED');
    }
  });

  it('a decision committed just before the timeout still stands when the task is gone (lost race)', async () => {
    const requestId = await customerStage();
    h.workflow.lostRace = true;
    await expect(decideAsCustomer(h.deps, { principal: CAROL }, requestId, { decision: 'APPROVE' })).resolves.toMatchObject({
      status: 'APPROVED',
    });
    await expect(expireStage(h.deps, requestId, 'customer')).resolves.toEqual({ status: 'APPROVED' });
  });

  it('refuses a decision 0 ms after the deadline, inside the write', async () => {
    const requestId = await customerStage();
    const { approvalDeadlineMs } = await stored(requestId);
    h.clock.set(approvalDeadlineMs - 1);
    const request = await h.deps.requests.get(requestId);
    h.clock.set(approvalDeadlineMs);
    // The pure check passed at deadline−1 ms; the write itself is made at the deadline and must refuse it.
    await expect(
      h.deps.requests.transition({
        request: request!,
        action: 'customerApprove',
        set: {},
        require: { openStage: 'customer' },
        audit: { type: 'CustomerApproved', actor: { kind: 'approver', id: CAROL } },
        nowMs: approvalDeadlineMs,
      }),
    ).rejects.toThrow(ConflictError);
    expect((await stored(requestId)).status).toBe('PENDING_CUSTOMER_APPROVAL');
  });

  it('commits 20 concurrent requests of one tenant, each on its own chain, without losing one', async () => {
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) => createRequest(h.deps, { principal: i % 2 ? ALICE : DAVE }, { ...body, ticketId: `T-${i}` })),
    );
    expect(new Set(created.map((c) => c.request.requestId)).size).toBe(20);
    const events = await auditOf();
    expect(events.map((event) => [event.chainId, event.seq]).sort()).toEqual(created.map((c) => [c.request.requestId, 1]).sort());
    expect(verifyLedger({ events, digests: [], publicKeyPem: '' }).ok).toBe(true);
  });
});

describe('a create the store does not answer in time', () => {
  it('answers THROTTLED and never files the request later; a retry with the same idempotency key files it once', async () => {
    // The first TransactWriteItems times out for the caller but is still on its way: it lands later.
    const late: (() => Promise<unknown>)[] = [];
    const stalling = Object.create(db.doc) as DynamoDBDocumentClient;
    stalling.send = ((command: unknown) => {
      if (command instanceof TransactWriteCommand && late.length === 0) {
        late.push(() => db.doc.send(command));
        return Promise.reject(Object.assign(new Error('socket timed out'), { name: 'TimeoutError' }));
      }
      return db.doc.send(command as never);
    }) as DynamoDBDocumentClient['send'];
    const stalled = harness(stalling, tableNames);
    const input = { ...body, idempotencyKey: 'ticket-T-7' };

    await expect(createRequest(stalled.deps, engineer, input)).rejects.toBeInstanceOf(ThrottledError);
    await expect(late[0]!()).rejects.toThrow(); // the fence stops it
    expect((await listRequests(h.deps, { principal: BOB }, { tenantId: 'demo', limit: 10 })).items).toEqual([]);

    const { request, created } = await createRequest(stalled.deps, engineer, input);
    expect(created).toBe(true);
    expect(await h.deps.requests.get(request.requestId)).toMatchObject({ status: 'PENDING_MANAGER_APPROVAL', version: 1 });
    expect((await auditOf()).filter((event) => event.type === 'RequestCreated')).toHaveLength(1);
  });
});

describe('separation of duties inside the write', () => {
  it('refuses the manager who approved when they try the customer stage too, by API or link', async () => {
    await h.seedTenant(
      demoTenant({
        approvers: [
          { email: 'bob@provider.example', principal: BOB },
          { email: 'approver@demo.example', principal: CAROL },
        ],
      }),
    );
    const requestId = await customerStage();
    await expect(decideAsCustomer(h.deps, { principal: BOB }, requestId, { decision: 'APPROVE' })).rejects.toThrow(ForbiddenError);
    // No link is even sent to someone who already acted.
    expect(h.outbox.filter((email) => email.to[0] === 'bob@provider.example' && !email.subject.includes('manager'))).toHaveLength(0);
    expect((await stored(requestId)).status).toBe('PENDING_CUSTOMER_APPROVAL');
  });

  it('refuses a write whose actor is already a party, even if the pure check was skipped', async () => {
    const requestId = await customerStage();
    const request = await h.deps.requests.get(requestId);
    await expect(
      decide(h.deps, requestId, 'customer', 'APPROVE', undefined, {
        actor: { kind: 'approver', id: 'x' },
        keys: identityKeys(undefined, 'ALICE@provider.example'),
        via: 'api',
      }),
    ).rejects.toThrow(ForbiddenError);
    await expect(
      h.deps.requests.transition({
        request: request!,
        action: 'customerApprove',
        set: {},
        require: { openStage: 'customer', separateFrom: [`principal:${BOB}`] },
        audit: { type: 'CustomerApproved', actor: { kind: 'approver', id: BOB } },
        nowMs: h.clock.now().getTime(),
      }),
    ).rejects.toThrow(ConflictError);
  });
});

describe('approval links', () => {
  it('GET changes nothing, however often; the link then works exactly once', async () => {
    const requestId = await managerStage();
    const token = linkIn(h.outbox[0]);
    const before = await stored(requestId);
    for (let i = 0; i < 5; i++) expect((await viewLink(h.deps, token)).ok).toBe(true);
    expect(await stored(requestId)).toEqual(before);

    await expect(decideByLink(h.deps, token, { decision: 'APPROVE' })).resolves.toMatchObject({ ok: true });
    await expect(decideByLink(h.deps, token, { decision: 'APPROVE' })).resolves.toEqual({ ok: false, refusal: 'used' });
    const refused = (await auditOf()).filter((event) => event.type === 'LinkRefused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ requestId, actor: { kind: 'anonymous' } });
  });

  it("tells the holder of another approver's link who decided, and emails the other approvers", async () => {
    const requestId = await customerStage();
    const erinLink = linkIn(h.outbox.find((email) => email.to[0] === 'approver2@demo.example')!);
    const carolLink = linkIn(h.outbox.find((email) => email.to[0] === 'approver@demo.example')!);
    await decideByLink(h.deps, carolLink, { decision: 'APPROVE' });
    await expect(viewLink(h.deps, erinLink)).resolves.toEqual({
      ok: false,
      refusal: 'decided',
      decided: { by: 'approver@demo.example', decision: 'APPROVE', at: expect.any(String) },
    });
    // Carol's own link, used, gets the generic refusal.
    await expect(viewLink(h.deps, carolLink)).resolves.toEqual({ ok: false, refusal: 'used' });
    const notices = () =>
      h.outbox.filter((email) => email.subject === '[T-7] Access request already approved by approver@demo.example: no action needed');
    // Not on the decision's path: the workflow's hold step, once access is granted, tells the others.
    expect(notices()).toEqual([]);
    await grantAccess(h.deps, requestId);
    expect((await stored(requestId)).status).toBe('ACTIVE');
    await holdAccess(h.deps, requestId, 'task-token-hold');
    expect(notices().map((email) => email.to[0])).toEqual(['approver2@demo.example']);
  });

  it('grants without waiting on email: the hold step, whose timer already runs, tells the engineer', async () => {
    const requestId = await customerStage();
    await decideAsCustomer(h.deps, { principal: CAROL }, requestId, { decision: 'APPROVE' });
    const sent = h.outbox.length;
    // A mailer that never answers cannot hold the grant back (and with it the window's timer).
    const send = h.deps.mailer.send;
    h.deps.mailer.send = () => new Promise(() => undefined);
    await expect(grantAccess(h.deps, requestId)).resolves.toMatchObject({ status: 'ACTIVE' });
    h.deps.mailer.send = send;
    expect(h.outbox).toHaveLength(sent);
    await holdAccess(h.deps, requestId, 'task-token-hold');
    expect(h.outbox.slice(sent).map((email) => email.to[0])).toContain('alice@provider.example');
    expect(await stored(requestId)).toMatchObject({ status: 'ACTIVE', taskToken: 'task-token-hold', taskStage: 'access' });
  });

  it('refuses a manager link at the customer stage (cross-stage) and records it', async () => {
    const requestId = await managerStage();
    const managerLink = linkIn(h.outbox[0]);
    await decideAsManager(h.deps, { principal: BOB }, requestId, { decision: 'APPROVE' });
    await openStage(h.deps, requestId, 'customer', 'tt');
    await expect(decideByLink(h.deps, managerLink, { decision: 'APPROVE' })).resolves.toMatchObject({ ok: false });
    expect((await stored(requestId)).status).toBe('PENDING_CUSTOMER_APPROVAL');
    expect((await auditOf()).at(-1)).toMatchObject({ type: 'LinkRefused', requestId });
  });

  it('refuses a forged link naming no request, recording it on the system chain', async () => {
    const forged = `${Buffer.from('{"rid":"nope"}').toString('base64url')}.${Buffer.alloc(32).toString('base64url')}`;
    await expect(viewLink(h.deps, forged, '203.0.113.5')).resolves.toEqual({ ok: false, refusal: 'invalid' });
    const events = (await h.deps.audit.list(SYSTEM_CHAIN, {}, 10)).items;
    expect(events).toEqual([expect.objectContaining({ type: 'LinkRefused', sourceIp: '203.0.113.5' })]);
  });

  it('refuses a link after the stage deadline even though the item is still there', async () => {
    await managerStage();
    h.clock.advance(3_600_000);
    await expect(viewLink(h.deps, linkIn(h.outbox[0]))).resolves.toEqual({ ok: false, refusal: 'expired' });
  });

  it('refuses a link of an approver removed after the email went out', async () => {
    const requestId = await customerStage();
    const erinLink = linkIn(h.outbox.find((email) => email.to[0] === 'approver2@demo.example')!);
    const { tenantId: _id, auditSeq: _seq, auditHead: _head, ...settings } = (await h.deps.tenants.get('demo'))!;
    await updateTenant(h.deps, { principal: CAROL }, 'demo', {
      ...settings,
      approvers: [{ email: 'approver@demo.example', principal: CAROL }],
    });
    await expect(decideByLink(h.deps, erinLink, { decision: 'APPROVE' })).resolves.toEqual({ ok: false, refusal: 'not-allowed' });
    expect((await stored(requestId)).status).toBe('PENDING_CUSTOMER_APPROVAL');
  });
});

describe('cancel, revoke, and bad input', () => {
  it('cancel before grant fails the waiting task with RequestCancelled', async () => {
    const requestId = await customerStage();
    await expect(cancelRequest(h.deps, engineer, requestId)).resolves.toMatchObject({ status: 'CANCELLED' });
    expect(h.workflow.delivered.at(-1)).toEqual({ token: 'task-token-customer', error: 'RequestCancelled' });
    await expect(cancelRequest(h.deps, engineer, requestId)).rejects.toThrow(ConflictError);
  });

  it('a cancel that lands while access is being granted wins: the grant is taken back', async () => {
    const requestId = await customerStage();
    await decideAsCustomer(h.deps, { principal: CAROL }, requestId, { decision: 'APPROVE' });
    const approved = await h.deps.requests.get(requestId);
    const realGrant = h.deps.access.grant.bind(h.deps.access);
    h.deps.access.grant = async (input) => {
      const details = await realGrant(input);
      await cancelRequest(h.deps, engineer, requestId);
      return details;
    };
    await expect(grantAccess(h.deps, requestId)).resolves.toEqual({ status: 'CANCELLED' });
    const grants = (await db.doc.send(new ScanCommand({ TableName: tableNames.grants }))).Items!;
    expect(grants).toEqual([expect.objectContaining({ requestId, revokedAt: expect.any(String) })]);
    expect(approved?.status).toBe('APPROVED');
  });

  it('early revoke by the customer ends access at once; the window-end step then changes nothing', async () => {
    const requestId = await customerStage();
    await decideAsCustomer(h.deps, { principal: CAROL }, requestId, { decision: 'APPROVE' });
    await grantAccess(h.deps, requestId);
    await expect(revokeAccess(h.deps, { principal: ERIN }, requestId, { reason: 'done' })).resolves.toMatchObject({
      status: 'REVOKED',
      endReason: 'revoked-by-customer',
    });
    await expect(endAccess(h.deps, requestId, { reason: 'window-ended' })).resolves.toMatchObject({ status: 'REVOKED' });
    await expect(revokeAccess(h.deps, { principal: ERIN }, requestId, {})).rejects.toThrow(ConflictError);
    await expect(revokeAccess(h.deps, { principal: DAVE }, requestId, {})).rejects.toThrow(ForbiddenError);
  });

  it('an early revoke completes the hold task even when the hold step attached its token while the provider revoked', async () => {
    const requestId = await customerStage();
    await decideAsCustomer(h.deps, { principal: CAROL }, requestId, { decision: 'APPROVE' });
    await grantAccess(h.deps, requestId);
    // The revoke read the request (no hold token yet); the hold step attaches its token meanwhile.
    const realRevoke = h.deps.access.revoke.bind(h.deps.access);
    h.deps.access.revoke = async (request, onStep) => {
      await holdAccess(h.deps, requestId, 'task-token-hold');
      return realRevoke(request, onStep);
    };
    await expect(revokeAccess(h.deps, { principal: CAROL }, requestId, {})).resolves.toMatchObject({ status: 'REVOKED' });
    expect(h.workflow.delivered).toContainEqual({ token: 'task-token-hold', output: { status: 'REVOKED' } });
  });

  it('a revoke that fails part-way is audited with the steps done, leaves access ACTIVE, and completes when run again', async () => {
    const requestId = await customerStage();
    await decideAsCustomer(h.deps, { principal: CAROL }, requestId, { decision: 'APPROVE' });
    await grantAccess(h.deps, requestId);
    const realRevoke = h.deps.access.revoke.bind(h.deps.access);
    h.deps.access.revoke = async (_request, onStep) => {
      onStep?.('deny-trust', 'done');
      throw Object.assign(new Error('throttled'), { name: 'Throttling' });
    };
    await expect(revokeAccess(h.deps, { principal: CAROL }, requestId, {})).rejects.toThrow('Revoke incomplete after: deny-trust: done');
    expect((await stored(requestId)).status).toBe('ACTIVE');
    expect((await auditOf()).at(-1)).toMatchObject({
      type: 'RevokeFailed',
      actor: { kind: 'approver', id: CAROL },
      details: { completedSteps: ['deny-trust: done'], cause: 'Throttling' },
    });
    h.deps.access.revoke = realRevoke;
    await expect(revokeAccess(h.deps, { principal: CAROL }, requestId, {})).resolves.toMatchObject({ status: 'REVOKED' });
  });

  it('a refused decision leaves the stored request exactly as it was', async () => {
    const requestId = await managerStage();
    const before = await stored(requestId);
    await expect(decideAsManager(h.deps, { principal: DAVE }, requestId, { decision: 'APPROVE' })).rejects.toThrow(ForbiddenError);
    await expect(decideAsCustomer(h.deps, { principal: CAROL }, requestId, { decision: 'APPROVE' })).rejects.toThrow(ConflictError);
    expect(await stored(requestId)).toEqual(before);
  });

  it("refuses an approval timeout longer than the state machine's budget allows (P3D), changing nothing", async () => {
    const { tenantId: _id, auditSeq: _seq, auditHead: _head, ...settings } = (await h.deps.tenants.get('demo'))!;
    await expect(updateTenant(h.deps, { principal: CAROL }, 'demo', { ...settings, approvalTimeout: 'P3DT1S' })).rejects.toThrow(
      'approvalTimeout must be at most P3D',
    );
    expect((await h.deps.tenants.get('demo'))?.approvalTimeout).toBe('PT1H');
  });

  it('a tenant update based on a stale version is refused', async () => {
    const settings = { ...demoTenant(), tenantId: undefined, version: 1 };
    const { tenantId: _t, ...body1 } = settings;
    await updateTenant(h.deps, { principal: CAROL }, 'demo', { ...body1, displayName: 'Renamed' });
    await expect(updateTenant(h.deps, { principal: CAROL }, 'demo', { ...body1, displayName: 'Again' })).rejects.toThrow(ConflictError);
    expect((await auditOf()).map((event) => event.type)).toEqual(['TenantUpdated']);
  });
});

describe('the reconciler', () => {
  const grants = async () => (await db.doc.send(new ScanCommand({ TableName: tableNames.grants }))).Items!;

  it('has nothing to do when the workflow did its job', async () => {
    await customerStage();
    await expect(reconcile(h.deps)).resolves.toEqual({
      windowsEnded: [],
      leftoversRevoked: [],
      finished: [],
      redelivered: [],
      told: [],
      failed: [],
    });
  });

  it('finishes an APPROVED request whose execution ended: granted, and its window ended by the sweep', async () => {
    const requestId = await customerStage();
    await decideAsCustomer(h.deps, { principal: CAROL }, requestId, { decision: 'APPROVE' });
    h.workflow.running.delete(requestId); // the execution was stopped
    await expect(reconcile(h.deps)).resolves.toMatchObject({ finished: [requestId] });
    expect(await stored(requestId)).toMatchObject({ status: 'ACTIVE' });
    expect((await auditOf()).at(-1)).toMatchObject({ type: 'AccessGranted', requestId });
    h.clock.advance(3_600_000);
    await expect(reconcile(h.deps)).resolves.toMatchObject({ windowsEnded: [requestId], finished: [] });
    expect(await stored(requestId)).toMatchObject({ status: 'COMPLETED' });
  });

  it('closes a pending request whose execution ended (FAILED, or EXPIRED past its deadline), and tells the engineer', async () => {
    const failing = await customerStage();
    const expiring = await customerStage();
    h.workflow.running.delete(failing);
    h.workflow.running.delete(expiring);
    await db.doc.send(
      new PutCommand({
        TableName: tableNames.requests,
        Item: { ...(await stored(expiring)), approvalDeadlineMs: h.clock.now().getTime() - 1 },
      }),
    );
    const report = await reconcile(h.deps);
    expect(report.finished.sort()).toEqual([failing, expiring].sort());
    expect(await stored(failing)).toMatchObject({ status: 'FAILED', endReason: 'workflow-failed', outcomeNotifiedAt: expect.any(String) });
    expect(await stored(expiring)).toMatchObject({ status: 'EXPIRED', outcomeNotifiedAt: expect.any(String) });
    const events = await auditOf();
    expect(events.find((event) => event.requestId === failing && event.type === 'RequestFailed')).toBeDefined();
    expect(events.find((event) => event.requestId === expiring && event.type === 'RequestExpired')).toBeDefined();
    await expect(reconcile(h.deps)).resolves.toMatchObject({ finished: [] });
  });

  it('leaves a request whose execution never started alone for a minute (its creator starts it), then closes it', async () => {
    const { request } = await createRequest(h.deps, engineer, body);
    h.workflow.running.delete(request.requestId);
    h.workflow.started.length = 0; // never started
    await expect(reconcile(h.deps)).resolves.toMatchObject({ finished: [] });
    h.clock.advance(61_000);
    await expect(reconcile(h.deps)).resolves.toMatchObject({ finished: [request.requestId] });
    expect(await stored(request.requestId)).toMatchObject({ status: 'FAILED' });
  });

  it('ends a grant whose window passed while the workflow did not revoke it', async () => {
    const requestId = await customerStage();
    await decideAsCustomer(h.deps, { principal: CAROL }, requestId, { decision: 'APPROVE' });
    await grantAccess(h.deps, requestId);
    h.clock.advance(3_599_000);
    await expect(reconcile(h.deps)).resolves.toMatchObject({ windowsEnded: [] });
    h.clock.advance(1_000);
    await expect(reconcile(h.deps)).resolves.toMatchObject({ windowsEnded: [requestId] });
    expect(await stored(requestId)).toMatchObject({ status: 'COMPLETED', endReason: 'window-ended' });
    expect(await stored(requestId)).not.toHaveProperty('activeGrant');
    expect(await grants()).toEqual([expect.objectContaining({ requestId, revokedAt: expect.any(String) })]);
  });

  it('revokes provider-side access left behind by a request that already ended', async () => {
    const requestId = await managerStage();
    await cancelRequest(h.deps, engineer, requestId);
    const past = new Date(h.clock.now().getTime() - 1000).toISOString();
    await db.doc.send(
      new PutCommand({
        TableName: tableNames.grants,
        Item: { requestId, tenantId: 'demo', principal: ALICE, accessLevel: 'ReadOnly', grantedAt: past, expiresAt: past },
      }),
    );
    await expect(reconcile(h.deps)).resolves.toMatchObject({ leftoversRevoked: [requestId] });
    expect(await grants()).toEqual([expect.objectContaining({ requestId, revokedAt: expect.any(String) })]);
    expect((await auditOf()).at(-1)).toMatchObject({
      type: 'AccessRevoked',
      actor: { id: 'lockbox-reconciler' },
      details: { reason: 'left-over-after-end', status: 'CANCELLED' },
    });
  });

  it('tells the engineer of an early revoke that no closing step will announce (its execution had ended), once', async () => {
    const requestId = await customerStage();
    await decideAsCustomer(h.deps, { principal: CAROL }, requestId, { decision: 'APPROVE' });
    await grantAccess(h.deps, requestId);
    const toAlice = () => h.outbox.filter((email) => email.to[0] === 'alice@provider.example');
    const before = toAlice().length;
    // While the execution runs, its closing step tells the engineer: the sweep leaves it alone.
    await revokeAccess(h.deps, { principal: CAROL }, requestId, {});
    h.clock.advance(61_000);
    await expect(reconcile(h.deps)).resolves.toMatchObject({ told: [] });
    h.workflow.running.delete(requestId); // the execution failed before it could close the request
    await expect(reconcile(h.deps)).resolves.toMatchObject({ told: [requestId] });
    expect(
      toAlice()
        .slice(before)
        .map((email) => email.subject),
    ).toEqual([expect.stringMatching(/revoked/i)]);
    expect(await stored(requestId)).toMatchObject({ status: 'REVOKED', outcomeNotifiedAt: expect.any(String) });
    await expect(reconcile(h.deps)).resolves.toMatchObject({ told: [] });
    expect(toAlice().length).toBe(before + 1);
  });

  it('delivers again a decision committed over 30 s ago whose workflow did not move on', async () => {
    const requestId = await customerStage();
    await decideAsCustomer(h.deps, { principal: CAROL }, requestId, { decision: 'APPROVE' });
    h.workflow.delivered.length = 0;
    h.clock.advance(29_000);
    await expect(reconcile(h.deps)).resolves.toMatchObject({ redelivered: [] });
    h.clock.advance(2_000);
    await expect(reconcile(h.deps)).resolves.toMatchObject({ redelivered: [requestId] });
    expect(h.workflow.delivered).toEqual([{ token: 'task-token-customer', output: { status: 'APPROVED' } }]);
  });
});
