import { generateKeyPairSync, sign } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { timeKey } from '../../lambdas/core/adapters/dynamo-ledger';
import { type AuditEvent, hashEvent } from '../../lambdas/core/domain/audit';
import { type Digest, digestChainId, digestHash, digestPayload } from '../../lambdas/core/domain/digest';
import type { BrokenPlace, VerifyReport } from '../../lambdas/core/domain/ledger-verify';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/net';
import { LOCAL_TABLE_NAMES } from '../../local/tables';
import { lockbox as cli } from './support/cli';
import { LocalLockbox, waitFor } from './support/harness';

/**
 * A tampered ledger end to end. Local mode produces a real ledger (three lifecycles, signed
 * digests sealed every second); then each case changes the stored items in DynamoDB Local behind
 * the API's back, as someone with write access to the table could, and `GET /audit/verify` must
 * name the first broken place — and so must the CLI's `audit verify`, which recomputes everything
 * on the client from what it fetched. Each case restores the items it changed and checks the
 * ledger verifies again, so the cases are independent of their order.
 */
jest.setTimeout(120_000);

const TENANT = 'demo';
const AUDIT = LOCAL_TABLE_NAMES.Audit;
type Item = Record<string, any>;

let local: LocalLockbox;
let db: DynamoDBDocumentClient;
/** The approved lifecycle's chain: the victim of the event cases (the longest chain). */
let victim: string;
/** Its events as stored (with their table-only attributes), by seq. */
let stored: Item[];
/** The digests as stored when the ledger was built (the sealer adds more meanwhile). */
let digests: Item[];
/** A digest that lists a head (not the latest, so the sealer never builds on it while a case runs). */
let sealing: Item;

beforeAll(async () => {
  local = await LocalLockbox.start({ LOCKBOX_LOCAL_DIGEST_SECONDS: '1' });
  db = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: local.dynamoEndpoint(), region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
  );
  const [approved, ...others] = await Promise.all([approvedLifecycle(), rejectedLifecycle(), cancelledLifecycle()]);
  victim = approved;

  // Sealed: a digest lists every chain at its final head, and a later digest follows it.
  const chains = [approved, ...others];
  const heads = await Promise.all(chains.map(async (chainId) => (await chainItems(chainId)).at(-1)!));
  await waitFor(
    'a digest sealing every chain at its head, and one after it',
    () => storedDigests(),
    (found) => {
      const last = Math.max(
        ...heads.map((head) => found.find((digest) => listed(digest, head.chainId)?.seq === head.seq)?.seq ?? Infinity),
      );
      return found.some((digest) => digest.seq > last);
    },
    30_000,
    200,
  );
  // Listed: the auditor's listing (what the CLI fetches) shows every event once it has settled.
  const ids = (await Promise.all(chains.map(chainItems))).flat().map((event) => event.eventId);
  await waitFor(
    'every event listed',
    listedEvents,
    (events) => ids.every((id) => events.some((event) => event.eventId === id)),
    30_000,
    250,
  );

  stored = await chainItems(victim);
  expect(stored.length).toBeGreaterThanOrEqual(5);
  digests = await storedDigests();
  sealing = digests.find((digest) => listed(digest, victim)?.seq === stored.length)!;
  expect(await serverVerify()).toMatchObject({ ok: true, verified: { digests: expect.any(Number) } });
  const client = await clientVerify();
  expect({ code: client.code, report: client.json() }).toMatchObject({ code: 0, report: { ok: true } });
}, 180_000);

afterAll(async () => {
  db?.destroy();
  await local?.stop();
}, 30_000);

// Each case restores what it changed: the ledger verifies again before the next one.
afterEach(async () => {
  expect(await serverVerify()).toMatchObject({ ok: true });
});

describe('a tampered event', () => {
  it('edited (details changed): event-hash at that event', async () => {
    const edited = stored[2];
    await put({ ...edited, details: { ...edited.details, reason: 'nothing to see here' } });
    await expectBroken({ kind: 'event-hash', chainId: victim, seq: 3 });
    await restoreChain();
  });

  it('deleted in the middle: chain-gap at its seq', async () => {
    await remove(victim, 3);
    await expectBroken({ kind: 'chain-gap', chainId: victim, seq: 3 });
    await restoreChain();
  });

  it('inserted (a forged event with a made-up hash, the later ones moved up): event-hash at the forged one', async () => {
    const forged = {
      ...stored[2],
      eventId: 'forged-0000',
      type: 'ManagerApproved',
      details: { reason: 'approved on the phone' },
      hash: 'f'.repeat(64),
    };
    // From the head down, so that no seq is ever held twice.
    for (const item of [...stored.slice(2)].reverse()) await put(moved(item, item.seq + 1));
    await put(forged);
    await expectBroken({ kind: 'event-hash', chainId: victim, seq: 3 });
    await remove(victim, stored.length + 1);
    await restoreChain();
  });

  it('reordered (two events swap their seq): chain-link at the first of them', async () => {
    await put(moved(stored[2], 4));
    await put(moved(stored[3], 3));
    await expectBroken({ kind: 'chain-link', chainId: victim, seq: 3 });
    await restoreChain();
  });

  it('edited and the rest of the chain re-hashed: the chain holds, the digest names the head it sealed', async () => {
    const rewritten: AuditEvent[] = [];
    let prevHash = stored[1].hash as string;
    for (const item of stored.slice(2)) {
      const { hash: _hash, timeKey: _timeKey, ...unhashed } = item;
      const event = { ...unhashed, prevHash, ...(item.seq === 3 ? { details: { reason: 'nothing to see here' } } : {}) };
      rewritten.push({ ...event, hash: hashEvent(event as Omit<AuditEvent, 'hash'>) } as AuditEvent);
      prevHash = rewritten.at(-1)!.hash;
    }
    for (const event of rewritten) await put({ ...event, timeKey: timeKey(event) });
    const first = digests.find((digest) => (listed(digest, victim)?.seq ?? 0) >= 3)!;
    await expectBroken({ kind: 'chain-head', chainId: victim, seq: listed(first, victim)!.seq, digestSeq: first.seq });
    await restoreChain();
  });

  it('truncated (its last events deleted): chain-truncated at the digest that lists the head', async () => {
    const kept = stored.length - 2;
    await remove(victim, stored.length);
    await remove(victim, stored.length - 1);
    const first = digests.find((digest) => (listed(digest, victim)?.seq ?? 0) > kept)!;
    await expectBroken({ kind: 'chain-truncated', chainId: victim, seq: listed(first, victim)!.seq, digestSeq: first.seq });
    await restoreChain();
  });
});

describe('a tampered digest', () => {
  it('edited (a head dropped from its list): digest-hash at that digest', async () => {
    await put(withoutVictim(sealing));
    await expectBroken({ kind: 'digest-hash', digestSeq: sealing.seq });
    await put(sealing);
  });

  it('deleted: digest-gap at its seq', async () => {
    await db.send(new DeleteCommand({ TableName: AUDIT, Key: { chainId: digestChainId(TENANT), seq: sealing.seq } }));
    await expectBroken({ kind: 'digest-gap', digestSeq: sealing.seq });
    await put(sealing);
  });

  it('the newest deleted (every remaining digest still links): digest-truncated at the one the ledger recorded', async () => {
    for (let attempt = 1; ; attempt++) {
      const newest = await nextDigest();
      await remove(digestChainId(TENANT), newest.seq);
      const [server, client] = await Promise.all([serverVerify(), clientVerify()]);
      // A sealer that read the newest just before it was deleted may still seal the next one (the
      // deleted one is then a gap): put it back and try again after the next digest.
      const raced = (await storedDigests()).some((digest) => digest.seq > newest.seq);
      await put(newest);
      if (raced && attempt < 5) continue;
      expect(server).toMatchObject({ ok: false, firstBroken: { kind: 'digest-truncated', digestSeq: newest.seq } });
      expect({ code: client.code, firstBroken: client.json().firstBroken }).toEqual({ code: 6, firstBroken: server.firstBroken });
      return;
    }
  });

  it('re-signed with another P-256 key (a valid signature, not the published key): digest-signature', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const { hash: _hash, signature: _signature, chainId: _chainId, ...edited } = withoutVictim(sealing);
    const unsigned = edited as Omit<Digest, 'hash' | 'signature'>;
    const signature = sign('sha256', digestPayload(unsigned), { key: other, dsaEncoding: 'der' }).toString('base64');
    await put({ ...unsigned, chainId: digestChainId(TENANT), hash: digestHash(unsigned), signature });
    await expectBroken({ kind: 'digest-signature', digestSeq: sealing.seq });
    await put(sealing);
  });
});

// ---- the lifecycles that make the ledger -----------------------------------------------------------

async function approvedLifecycle(): Promise<string> {
  const { requestId } = await local.create('alice', { duration: 'PT1S' });
  await local.waitForStage(requestId, 'manager');
  expect((await local.post(`/requests/${requestId}/manager-decision`, 'bob', { decision: 'APPROVE' })).status).toBe(200);
  await local.waitForStage(requestId, 'customer');
  expect((await local.post(`/requests/${requestId}/customer-decision`, 'carol', { decision: 'APPROVE' })).status).toBe(200);
  await local.waitForStatus(requestId, ['COMPLETED']);
  await local.waitForExecution(requestId);
  return requestId;
}

async function rejectedLifecycle(): Promise<string> {
  const { requestId } = await local.create('dave');
  await local.waitForStage(requestId, 'manager');
  const decided = await local.post(`/requests/${requestId}/manager-decision`, 'bob', { decision: 'REJECT', reason: 'no such ticket' });
  expect(decided.status).toBe(200);
  await local.waitForExecution(requestId);
  return requestId;
}

async function cancelledLifecycle(): Promise<string> {
  const { requestId } = await local.create('alice');
  await local.waitForStage(requestId, 'manager');
  expect((await local.post(`/requests/${requestId}/cancel`, 'alice')).status).toBe(200);
  await local.waitForExecution(requestId);
  return requestId;
}

// ---- the table behind the API's back ------------------------------------------------------------

async function chainItems(chainId: string): Promise<Item[]> {
  const page = await db.send(
    new QueryCommand({
      TableName: AUDIT,
      KeyConditionExpression: 'chainId = :chain',
      ExpressionAttributeValues: { ':chain': chainId },
      ConsistentRead: true,
    }),
  );
  return page.Items ?? [];
}

const storedDigests = () => chainItems(digestChainId(TENANT));
/** The next digest the sealer stores from now on (so that the next seal is a whole interval away). */
async function nextDigest(): Promise<Item> {
  const last = (await storedDigests()).at(-1)!.seq;
  return (await waitFor('the next digest', storedDigests, (found) => found.at(-1)!.seq > last, 30_000, 50)).at(-1)!;
}
const put = (item: Item) => db.send(new PutCommand({ TableName: AUDIT, Item: item }));
const remove = (chainId: string, seq: number) => db.send(new DeleteCommand({ TableName: AUDIT, Key: { chainId, seq } }));
const listed = (digest: Item, chainId: string) => (digest.chains as Digest['chains']).find((head) => head.chainId === chainId);
/** The same item stored at another seq (its by-time key follows, as a careful forger would). */
const moved = (item: Item, seq: number) => ({ ...item, seq, timeKey: timeKey({ ...(item as AuditEvent), seq }) });
/** The digest as if the victim's chain had not advanced (its hash and signature left as they were). */
const withoutVictim = (digest: Item): Item => ({
  ...digest,
  chains: digest.chains.filter((head: { chainId: string }) => head.chainId !== victim),
});

/** Puts the victim's chain back exactly as it was stored. */
async function restoreChain(): Promise<void> {
  for (const item of stored) await put(item);
  expect(await chainItems(victim)).toEqual(stored);
}

// ---- verification --------------------------------------------------------------------------------

async function serverVerify(): Promise<VerifyReport> {
  const response = await local.get<VerifyReport>(`/tenants/${TENANT}/audit/verify`, 'carol');
  expect(response.status).toBe(200);
  return response.body;
}

/** The server reports `place` as the first broken one, and the CLI's offline verifier finds the same on what it fetched (exit 6). */
async function expectBroken(place: Omit<BrokenPlace, 'message'>): Promise<void> {
  const [server, client] = await Promise.all([serverVerify(), clientVerify()]);
  expect(server).toMatchObject({ ok: false, firstBroken: place });
  expect(Object.keys(server.firstBroken!).sort()).toEqual([...Object.keys(place), 'message'].sort());
  expect(client.code).toBe(6);
  expect(client.json()).toMatchObject({ ok: false, firstBroken: server.firstBroken });
}

/** `lockbox audit verify` as the tenant's approver: every event and digest fetched, recomputed on the client. */
const clientVerify = () =>
  cli(['--local-as', 'carol', '--json', 'audit', 'verify', '-t', TENANT], { env: { LOCKBOX_ENDPOINT: local.url } });

/** The auditor's listing of the tenant, every page (settled events only). */
async function listedEvents(): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let nextToken: string | undefined;
  do {
    const response = await local.get<{ items: AuditEvent[]; nextToken?: string }>(`/tenants/${TENANT}/audit`, 'carol', {
      limit: '100',
      ...(nextToken ? { nextToken } : {}),
    });
    events.push(...response.body.items);
    nextToken = response.body.nextToken;
  } while (nextToken);
  return events;
}
