import type { AuditEvent } from '../../lambdas/core/domain/audit';
import { REFUSAL_WINDOW_MS, refuseLinkPost, viewLink } from '../../lambdas/core/usecases/links';
import { createRequest } from '../../lambdas/core/usecases/requests';
import { listAudit } from '../../lambdas/core/usecases/tenants';
import { openStage } from '../../lambdas/core/usecases/workflow-steps';
import { ALICE, CAROL, demoTenant } from '../support/fixtures';
import { dynamoDbLocalPerFile } from '../support/tables';
import { type Harness, linkIn } from '../support/use-case-deps';

/**
 * T-1.11 on DynamoDB Local: every refused link POST is audited, and refused-link events cannot
 * flood a ledger — one event per link (or, for tokens that do not verify, per source) and kind
 * per window; the rest are counted into the next event.
 */
jest.setTimeout(60_000);

const db = dynamoDbLocalPerFile();
let h: Harness;

beforeEach(async () => {
  ({ h } = await db.fresh('in', demoTenant({ approvalTimeout: 'PT1H' })));
});

async function managerLink() {
  const { request } = await createRequest(
    h.deps,
    { principal: ALICE },
    { tenantId: 'demo', ticketId: 'T-1', justification: 'Backups', accessLevel: 'ReadOnly', duration: 'PT1H' },
  );
  await openStage(h.deps, request.requestId, 'manager', 'task-token');
  return {
    requestId: request.requestId,
    token: linkIn(h.outbox.find((email) => email.to.includes('bob@provider.example'))!)
      .split('/')
      .pop()!,
  };
}

async function refusals(requestId?: string): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await listAudit(h.deps, { principal: CAROL }, 'demo', { limit: 100, nextToken });
    events.push(...page.items);
    nextToken = page.nextToken;
  } while (nextToken);
  return events.filter((event) => event.type === 'LinkRefused' && (requestId === undefined || event.requestId === requestId));
}

describe('T-1.11 refused links', () => {
  it('audits a POST without the form value, or with another link’s, on the chain of the request it names', async () => {
    const { requestId, token } = await managerLink();
    await refuseLinkPost(h.deps, token, 'not-from-page', '192.0.2.1');
    expect(await refusals(requestId)).toEqual([
      expect.objectContaining({ requestId, sourceIp: '192.0.2.1', details: { why: 'not-from-page' } }),
    ]);
  });

  it('records one event per link, source and kind per window, and counts the rest into the next', async () => {
    const { requestId, token } = await managerLink();
    for (let i = 0; i < 25; i++) await refuseLinkPost(h.deps, token, 'not-from-page', '192.0.2.1');
    expect(await refusals(requestId)).toHaveLength(1);
    // Another source, and another kind of refusal, are events of their own.
    await refuseLinkPost(h.deps, token, 'not-from-page', '192.0.2.2');
    await refuseLinkPost(h.deps, token, 'no-decision', '192.0.2.1');
    expect(await refusals(requestId)).toHaveLength(3);
    // After the window the next refusal is an event again, and says how many were not recorded.
    h.clock.advance(REFUSAL_WINDOW_MS + 1);
    await refuseLinkPost(h.deps, token, 'not-from-page', '192.0.2.1');
    const events = await refusals(requestId);
    expect(events).toHaveLength(4);
    expect(events.at(-1)!.details).toEqual({ why: 'not-from-page', unrecordedBefore: 24 });
  });

  it('limits forged tokens per source, however many different ones are sent', async () => {
    const { requestId, token } = await managerLink();
    const [payload, mac] = token.split('.');
    const forged = Array.from({ length: 20 }, (_, i) => `${payload}.${mac.slice(0, -3)}${String(i).padStart(3, 'A')}`);
    const views = await Promise.all(forged.map((each) => viewLink(h.deps, each, '203.0.113.5')));
    expect(views.every((view) => !view.ok)).toBe(true);
    expect(await refusals(requestId)).toHaveLength(1);
  });

  it('counts concurrent refusals exactly once each', async () => {
    const { requestId, token } = await managerLink();
    await Promise.all(Array.from({ length: 12 }, () => refuseLinkPost(h.deps, token, 'no-reason', '192.0.2.9')));
    h.clock.advance(REFUSAL_WINDOW_MS + 1);
    await refuseLinkPost(h.deps, token, 'no-reason', '192.0.2.9');
    const events = await refusals(requestId);
    expect(events).toHaveLength(2);
    expect(events[1].details).toEqual({ why: 'no-reason', unrecordedBefore: 11 });
  });
});
