import { generateKeyPairSync } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { LocalDigestSigner } from '../../lambdas/core/adapters/digest-signers';
import { DynamoAuditLog, DynamoRequestStore } from '../../lambdas/core/adapters/dynamo-store';
import { type AuditEvent, settingsChainId } from '../../lambdas/core/domain/audit';
import { decideAsManager } from '../../lambdas/core/usecases/decisions';
import { type LedgerDeps, sealTenant, verifyTenant } from '../../lambdas/core/usecases/ledger';
import { createRequest } from '../../lambdas/core/usecases/requests';
import { updateTenant } from '../../lambdas/core/usecases/tenants';
import { openStage } from '../../lambdas/core/usecases/workflow-steps';
import { ALICE, BOB, demoTenant, pendingRequest } from '../support/fixtures';
import { dynamoDbLocalPerFile, type TableNames } from '../support/tables';
import type { Harness } from '../support/use-case-deps';

/**
 * The ledger on DynamoDB Local and the deployed schema: per-request chains moved inside the
 * transitions, the settings chain, listing by time that never misses an event with many
 * concurrent writers (T-4.7), and sealing signed digests.
 */
jest.setTimeout(120_000);

const db = dynamoDbLocalPerFile();
let h: Harness;
let tables: TableNames;
const signer = new LocalDigestSigner(
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
);

beforeEach(async () => {
  ({ h, tables } = await db.fresh('l', demoTenant({ approvalTimeout: 'PT1H' })));
});

const ledgerOf = (): LedgerDeps => ({ ledger: h.deps.audit as DynamoAuditLog, digestSigner: signer, clock: h.clock, log: h.deps.log });
const item = async (table: string, key: Record<string, unknown>) =>
  (await db.doc.send(new GetCommand({ TableName: table, Key: key }))).Item!;
const chainOf = async (chainId: string) =>
  ((
    await db.doc.send(
      new QueryCommand({ TableName: tables.audit, KeyConditionExpression: 'chainId = :c', ExpressionAttributeValues: { ':c': chainId } }),
    )
  ).Items ?? []) as AuditEvent[];
const body = { tenantId: 'demo', ticketId: 'T-1', justification: 'Restore backups', accessLevel: 'ReadOnly', duration: 'PT1H' };

describe('chains', () => {
  it('moves the request chain head on the request item in each transition, and never the tenant item', async () => {
    const { request } = await createRequest(h.deps, { principal: ALICE }, body);
    await openStage(h.deps, request.requestId, 'manager', 'tt');
    await decideAsManager(h.deps, { principal: BOB }, request.requestId, { decision: 'APPROVE' });

    const events = await chainOf(request.requestId);
    expect(events.map((event) => [event.seq, event.type])).toEqual([
      [1, 'RequestCreated'],
      ...events.slice(1).map((event, i) => [i + 2, event.type]),
    ]);
    expect(events.map((event) => event.type)).toContain('ManagerApproved');
    const stored = await item(tables.requests, { requestId: request.requestId });
    expect({ seq: stored.auditSeq, head: stored.auditHead, marked: stored.sealTenant }).toEqual({
      seq: events.length,
      head: events.at(-1)!.hash,
      marked: 'demo',
    });
    expect((await item(tables.tenants, { tenantId: 'demo' })).auditSeq).toBeUndefined();
  });

  it('chains tenant settings changes on the settings chain, head on the tenant item', async () => {
    const { tenantId: _id, auditSeq: _s, auditHead: _h, ...settings } = (await h.deps.tenants.get('demo'))!;
    await updateTenant(h.deps, { principal: demoTenant().admins[0] }, 'demo', { ...settings, displayName: 'Demo Renamed' } as never);
    const events = await chainOf(settingsChainId('demo'));
    expect(events).toEqual([expect.objectContaining({ seq: 1, type: 'TenantUpdated', chainId: 'tenant:demo', tenantId: 'demo' })]);
    expect((await item(tables.tenants, { tenantId: 'demo' })).auditHead).toBe(events[0].hash);
  });
});

describe('listing by time (T-4.7)', () => {
  it('a poller that follows the cursor misses no event and sees none twice, while 40 writers commit late and out of order', async () => {
    const SETTLE_MS = 4000; // commits are refused 2 s after their time
    const ledger = new DynamoAuditLog(db.doc, tables, { settleMs: SETTLE_MS });
    const store = new DynamoRequestStore(db.doc, tables, ledger);
    const ids = Array.from({ length: 40 }, (_, i) => `req-${String(i).padStart(32, '0')}`);
    await Promise.all(
      ids.map((requestId) =>
        store.create(pendingRequest({ requestId, createdAt: new Date().toISOString() }), {
          type: 'RequestCreated',
          requestId,
          actor: { kind: 'engineer', id: ALICE },
        }),
      ),
    );

    // Each writer stamps its event, then commits up to 800 ms later: events whose `at` is earlier
    // than ones already committed keep arriving.
    const committed: string[] = [];
    const writers = ids.map(async (requestId) => {
      for (let n = 0; n < 3; n++) {
        const nowMs = Date.now();
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 800));
        const event = await ledger.append(
          'demo',
          { type: 'LinkRefused', requestId, actor: { kind: 'anonymous', id: 'link-holder' }, details: { n } },
          nowMs,
        );
        committed.push(event.eventId);
      }
    });
    const seen: string[] = [];
    let cursor: string | undefined;
    let writing = true;
    const done = Promise.all(writers).finally(() => (writing = false));
    const poll = async () => {
      for (let more = true; more; ) {
        const page = await ledger.list('demo', {}, 25, cursor);
        seen.push(...page.items.map((event) => event.eventId));
        cursor = page.cursor;
        more = page.nextToken !== undefined;
      }
    };
    while (writing) {
      await poll();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await done;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS + 200));
    await poll();

    const creations = (await Promise.all(ids.map(chainOf)))
      .flat()
      .filter((event) => event.seq === 1)
      .map((event) => event.eventId);
    expect(committed).toHaveLength(120);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...committed, ...creations].sort());
  });

  it('shows nothing younger than the settle window', async () => {
    const ledger = new DynamoAuditLog(db.doc, tables, { settleMs: 60_000 });
    await ledger.append('demo', { type: 'TenantUpdated', actor: { kind: 'admin', id: 'x' } }, Date.now());
    const page = await ledger.list('demo', {}, 10);
    expect(page).toMatchObject({ items: [] });
    expect(page.nextToken).toBeUndefined();
  });
});

describe('sealing digests', () => {
  it('seals the chains that advanced, always, links each digest, and the ledger verifies', async () => {
    const d = ledgerOf();
    const first = await createRequest(h.deps, { principal: ALICE }, body);
    const second = await createRequest(h.deps, { principal: ALICE }, { ...body, ticketId: 'T-2' });

    const digest1 = (await sealTenant(d, 'demo'))!;
    expect(digest1.chains.map((head) => head.chainId).sort()).toEqual([first.request.requestId, second.request.requestId].sort());
    expect((await item(tables.requests, { requestId: first.request.requestId })).sealTenant).toBeUndefined();

    h.clock.advance(5000);
    const digest2 = (await sealTenant(d, 'demo'))!;
    expect(digest2).toMatchObject({ seq: 2, chains: [], prevHash: digest1.hash, periodStart: digest1.periodEnd });

    await openStage(h.deps, first.request.requestId, 'manager', 'tt');
    h.clock.advance(5000);
    const digest3 = (await sealTenant(d, 'demo'))!;
    expect(digest3.chains).toEqual([{ chainId: first.request.requestId, seq: 2, hash: (await chainOf(first.request.requestId))[1].hash }]);

    expect(await verifyTenant(d, 'demo')).toMatchObject({
      ok: true,
      verified: { chains: 2, digests: 3, lastDigestAt: digest3.periodEnd, events: 3, sealedEvents: 3 },
    });
  });

  it('reports an event edited in the table', async () => {
    const d = ledgerOf();
    const { request } = await createRequest(h.deps, { principal: ALICE }, body);
    await sealTenant(d, 'demo');
    const [event] = await chainOf(request.requestId);
    await db.doc.send(new PutCommand({ TableName: tables.audit, Item: { ...event, sourceIp: '192.0.2.66' } }));
    expect((await verifyTenant(d, 'demo')).firstBroken).toMatchObject({ kind: 'event-hash', chainId: request.requestId, seq: 1 });
  });

  it('records the last digest sealed: removing the newest shows, and the sealer does not seal over the hole', async () => {
    const d = ledgerOf();
    await createRequest(h.deps, { principal: ALICE }, body);
    await sealTenant(d, 'demo');
    h.clock.advance(5000);
    const newest = (await sealTenant(d, 'demo'))!;
    expect(await (h.deps.audit as DynamoAuditLog).latestSealed('demo')).toEqual({ seq: 2, hash: newest.hash });
    // The tenant's settings never show the ledger's record.
    expect(await h.deps.tenants.get('demo')).not.toHaveProperty('digestSeq');

    await db.doc.send(new DeleteCommand({ TableName: tables.audit, Key: { chainId: 'digests:demo', seq: 2 } }));
    const broken = { kind: 'digest-truncated', digestSeq: 2 };
    expect((await verifyTenant(d, 'demo')).firstBroken).toMatchObject(broken);
    h.clock.advance(5000);
    expect(await sealTenant(d, 'demo')).toBeUndefined();
    expect((await verifyTenant(d, 'demo')).firstBroken).toMatchObject(broken);

    await db.doc.send(new PutCommand({ TableName: tables.audit, Item: { ...newest, chainId: 'digests:demo' } }));
    expect(await sealTenant(d, 'demo')).toMatchObject({ seq: 3, prevHash: newest.hash });
    expect((await verifyTenant(d, 'demo')).ok).toBe(true);
  });

  it('lets only one of two racing sealers write a digest', async () => {
    await createRequest(h.deps, { principal: ALICE }, body);
    const results = await Promise.all([sealTenant(ledgerOf(), 'demo'), sealTenant(ledgerOf(), 'demo')]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await verifyTenant(ledgerOf(), 'demo')).ok).toBe(true);
  });
});
