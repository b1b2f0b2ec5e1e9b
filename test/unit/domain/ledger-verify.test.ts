import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import {
  type AuditEntry,
  type AuditEvent,
  type ChainHead,
  chainEvent,
  EMPTY_CHAIN,
  settingsChainId,
} from '../../../lambdas/core/domain/audit';
import { type Digest, type DigestedHead, digestHash, digestPayload, nextDigest } from '../../../lambdas/core/domain/digest';
import { verifyLedger } from '../../../lambdas/core/domain/ledger-verify';

/**
 * The verifier on a small ledger of tenant `demo`: two request chains, the settings chain and
 * three digests, then every way of tampering with it (T-4.8).
 */
const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const { privateKey, publicKey } = keyPair();
const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const KEY_ID = 'local-1';

const at = (second: number) => new Date(Date.UTC(2026, 11, 1, 10, 0, second)).toISOString();
const entry = (type: AuditEntry['type'], requestId?: string): AuditEntry => ({
  type,
  requestId,
  actor: { kind: 'engineer', id: 'arn:aws:iam::111111111111:user/alice' },
  details: { note: type },
});

function seal(key: KeyObject, unsigned: ReturnType<typeof nextDigest>): Digest {
  return {
    ...unsigned,
    hash: digestHash(unsigned),
    signature: sign('sha256', digestPayload(unsigned), { key, dsaEncoding: 'der' }).toString('base64'),
  };
}

/** Events at seconds 1..9; digest 1 at 4 s, digest 2 at 7 s (nothing advanced for it? no: r2), digest 3 at 10 s. */
function ledger() {
  const heads = new Map<string, ChainHead>();
  const events: AuditEvent[] = [];
  const add = (chainId: string, type: AuditEntry['type'], second: number, requestId?: string) => {
    const event = chainEvent(entry(type, requestId), 'demo', chainId, heads.get(chainId) ?? EMPTY_CHAIN, at(second), `e${second}`);
    heads.set(chainId, { seq: event.seq, hash: event.hash });
    events.push(event);
  };
  const head = (chainId: string): DigestedHead => ({ chainId, ...heads.get(chainId)! });
  const digests: Digest[] = [];
  const digest = (second: number, chains: string[]) =>
    digests.push(seal(privateKey, nextDigest('demo', digests.at(-1), chains.map(head), at(second), KEY_ID)));
  add('r1', 'RequestCreated', 1, 'r1');
  add('r1', 'ManagerApproved', 2, 'r1');
  add(settingsChainId('demo'), 'TenantUpdated', 3);
  digest(4, ['r1', settingsChainId('demo')]);
  add('r2', 'RequestCreated', 5, 'r2');
  add('r1', 'CustomerApproved', 6, 'r1');
  digest(7, ['r1', 'r2']);
  digest(8, []); // nothing advanced: still sealed
  add('r2', 'RequestCancelled', 9, 'r2');
  add('r1', 'AccessGranted', 10, 'r1');
  return { events, digests };
}

const check = (events: AuditEvent[], digests: Digest[], pem = publicKeyPem) =>
  verifyLedger({ events, digests, publicKeyPem: pem, keyId: KEY_ID });
const find = (events: AuditEvent[], chainId: string, seq: number) =>
  events.findIndex((event) => event.chainId === chainId && event.seq === seq);
const rehash = (event: AuditEvent, head: ChainHead): AuditEvent =>
  chainEvent(
    { type: event.type, requestId: event.requestId, actor: event.actor, details: event.details },
    event.tenantId,
    event.chainId,
    head,
    event.at,
    event.eventId,
  );

describe('verifyLedger on an untouched ledger', () => {
  it('verifies every chain and digest and reports the range', () => {
    const { events, digests } = ledger();
    expect(check(events, digests)).toEqual({
      ok: true,
      verified: { events: 7, chains: 3, digests: 3, lastDigestAt: at(8), sealedEvents: 5 },
    });
  });

  it('does not depend on the order events arrive in (listing by time interleaves chains)', () => {
    const { events, digests } = ledger();
    expect(check([...events].reverse(), [...digests].reverse()).ok).toBe(true);
  });

  it('verifies an empty ledger with no digest yet', () => {
    expect(check([], [])).toEqual({ ok: true, verified: { events: 0, chains: 0, digests: 0, sealedEvents: 0 } });
  });
});

describe('verifyLedger finds the first broken place', () => {
  it('an edited event', () => {
    const { events, digests } = ledger();
    const i = find(events, 'r1', 2);
    events[i] = { ...events[i], details: { note: 'nothing to see' } };
    expect(check(events, digests).firstBroken).toMatchObject({ kind: 'event-hash', chainId: 'r1', seq: 2 });
  });

  it('an edited event whose hash was recomputed: the next event no longer links to it', () => {
    const { events, digests } = ledger();
    const i = find(events, 'r1', 2);
    events[i] = rehash(
      { ...events[i], actor: { kind: 'manager', id: 'mallory', person: '' } },
      { seq: 1, hash: events[find(events, 'r1', 1)].hash },
    );
    expect(check(events, digests).firstBroken).toMatchObject({ kind: 'chain-link', chainId: 'r1', seq: 3 });
  });

  it('a whole chain re-written and re-hashed: the digested head does not match', () => {
    const { events, digests } = ledger();
    let head = EMPTY_CHAIN;
    for (const event of events.filter((candidate) => candidate.chainId === 'r1')) {
      const forged = rehash({ ...event, details: { note: 'forged' } }, head);
      events[find(events, 'r1', event.seq)] = forged;
      head = { seq: forged.seq, hash: forged.hash };
    }
    expect(check(events, digests).firstBroken).toMatchObject({ kind: 'chain-head', chainId: 'r1', seq: 2, digestSeq: 1 });
  });

  it('a deleted event in the middle of a chain', () => {
    const { events, digests } = ledger();
    events.splice(find(events, 'r1', 2), 1);
    expect(check(events, digests).firstBroken).toMatchObject({ kind: 'chain-gap', chainId: 'r1', seq: 2 });
  });

  it("a chain's first event deleted", () => {
    const { events, digests } = ledger();
    events.splice(find(events, 'r2', 1), 1);
    expect(check(events, digests).firstBroken).toMatchObject({ kind: 'chain-gap', chainId: 'r2', seq: 1 });
  });

  it('an inserted event taking a place in the chain', () => {
    const { events, digests } = ledger();
    const first = events[find(events, 'r1', 1)];
    events.push(rehash({ ...first, type: 'ManagerRejected', eventId: 'forged' }, { seq: 1, hash: first.hash }));
    expect(check(events, digests).firstBroken).toMatchObject({ kind: 'chain-duplicate', chainId: 'r1', seq: 2 });
  });

  it('an inserted event with the chain renumbered after it', () => {
    const { events, digests } = ledger();
    const first = events[find(events, 'r1', 1)];
    const inserted = rehash({ ...first, type: 'ManagerRejected', eventId: 'forged', at: at(1) }, { seq: 1, hash: first.hash });
    const later = events.filter((event) => event.chainId === 'r1' && event.seq > 1);
    for (const event of later) events[find(events, 'r1', event.seq)] = { ...event, seq: event.seq + 1 };
    events.push(inserted);
    expect(check(events, digests).firstBroken).toMatchObject({ kind: 'chain-link', chainId: 'r1', seq: 3 });
  });

  it('two events swapped (reordered)', () => {
    const { events, digests } = ledger();
    const a = find(events, 'r1', 2);
    const b = find(events, 'r1', 3);
    [events[a], events[b]] = [
      { ...events[b], seq: 2 },
      { ...events[a], seq: 3 },
    ];
    expect(check(events, digests).firstBroken).toMatchObject({ kind: 'chain-link', chainId: 'r1', seq: 2 });
  });

  it('a chain truncated below a digested head', () => {
    const { events, digests } = ledger();
    events.splice(find(events, 'r1', 4), 1);
    events.splice(find(events, 'r1', 3), 1);
    expect(check(events, digests).firstBroken).toMatchObject({ kind: 'chain-truncated', chainId: 'r1', seq: 3, digestSeq: 2 });
  });

  it('a whole chain deleted', () => {
    const { events, digests } = ledger();
    const kept = events.filter((event) => event.chainId !== settingsChainId('demo'));
    expect(check(kept, digests).firstBroken).toMatchObject({ kind: 'chain-truncated', chainId: settingsChainId('demo'), digestSeq: 1 });
  });

  it('an edited digest', () => {
    const { events, digests } = ledger();
    digests[1] = { ...digests[1], chains: digests[1].chains.filter((head) => head.chainId !== 'r2') };
    expect(check(events, digests).firstBroken).toMatchObject({ kind: 'digest-hash', digestSeq: 2 });
  });

  it('an edited digest with its hash recomputed', () => {
    const { events, digests } = ledger();
    const edited = { ...digests[1], periodEnd: at(6) };
    digests[1] = { ...edited, hash: digestHash(edited) };
    expect(check(events, digests).firstBroken).toMatchObject({ kind: 'digest-signature', digestSeq: 2 });
  });

  it('a digest re-signed with another key', () => {
    const { events, digests } = ledger();
    const other = keyPair().privateKey;
    const { hash: _hash, signature: _signature, ...unsigned } = { ...digests[1], chains: [] };
    digests[1] = seal(other, unsigned);
    expect(check(events, digests).firstBroken).toMatchObject({ kind: 'digest-signature', digestSeq: 2 });
  });

  it('a whole ledger re-signed with another key is refused with the published one', () => {
    const { events, digests } = ledger();
    const other = keyPair();
    const resigned: Digest[] = [];
    for (const digest of digests) {
      const { hash: _hash, signature: _signature, ...rest } = digest;
      resigned.push(seal(other.privateKey, { ...rest, prevHash: resigned.at(-1)?.hash ?? rest.prevHash }));
    }
    expect(check(events, resigned).firstBroken).toMatchObject({ kind: 'digest-signature', digestSeq: 1 });
    // ...and verifies with the key it was signed with: the published key is what makes it trusted.
    expect(check(events, resigned, other.publicKey.export({ type: 'spki', format: 'pem' }).toString()).ok).toBe(true);
  });

  it('a digest naming another key id', () => {
    const { events, digests } = ledger();
    const { hash: _hash, signature: _signature, ...unsigned } = { ...digests[0], keyId: 'other' };
    digests[0] = seal(privateKey, unsigned);
    expect(check(events, digests).firstBroken).toMatchObject({ kind: 'digest-key', digestSeq: 1 });
  });

  it('a deleted digest', () => {
    const { events, digests } = ledger();
    digests.splice(1, 1);
    expect(check(events, digests).firstBroken).toMatchObject({ kind: 'digest-gap', digestSeq: 2 });
  });

  it('the first digest deleted', () => {
    const { events, digests } = ledger();
    digests.splice(0, 1);
    expect(check(events, digests).firstBroken).toMatchObject({ kind: 'digest-gap', digestSeq: 1 });
  });

  it("a broken previous-digest link (a digest re-sealed in another digest's place)", () => {
    const { events, digests } = ledger();
    const { hash: _hash, signature: _signature, ...unsigned } = { ...digests[2], prevHash: digests[0].hash };
    digests[2] = seal(privateKey, unsigned);
    expect(check(events, digests).firstBroken).toMatchObject({ kind: 'digest-link', digestSeq: 3 });
  });

  it('a digest listing an older head than the one before (a rolled-back chain)', () => {
    const { events, digests } = ledger();
    const { hash: _hash, signature: _signature, ...unsigned } = digests[2];
    const regressed = { ...unsigned, chains: [{ chainId: 'r1', seq: 1, hash: events[find(events, 'r1', 1)].hash }] };
    digests[2] = seal(privateKey, regressed);
    expect(check(events, digests).firstBroken).toMatchObject({ kind: 'digest-regressed', chainId: 'r1', digestSeq: 3 });
  });

  it('reports the earliest of several broken places', () => {
    const { events, digests } = ledger();
    events.splice(find(events, 'r2', 2), 1); // after every digest: nothing shows
    const i = find(events, 'r1', 2);
    events[i] = { ...events[i], details: {} }; // at 2 s
    digests.splice(2, 1); // at 8 s
    const report = check(events, digests);
    expect(report.ok).toBe(false);
    expect(report.firstBroken).toMatchObject({ kind: 'event-hash', chainId: 'r1', seq: 2 });
  });
});

describe('verifyLedger with the last digest the ledger recorded sealing', () => {
  const latestOf = (digest: Digest) => ({ seq: digest.seq, hash: digest.hash });
  const checkWith = (events: AuditEvent[], digests: Digest[], latestDigest: { seq: number; hash: string }) =>
    verifyLedger({ events, digests, publicKeyPem, keyId: KEY_ID, latestDigest });

  it('verifies when it is there, and when newer digests followed it', () => {
    const { events, digests } = ledger();
    expect(checkWith(events, digests, latestOf(digests[2])).ok).toBe(true);
    expect(checkWith(events, digests, latestOf(digests[1])).ok).toBe(true);
  });

  it('the newest digest deleted: every remaining digest links, the record shows it', () => {
    const { events, digests } = ledger();
    const latest = latestOf(digests[2]);
    digests.splice(2, 1);
    expect(check(events, digests).ok).toBe(true); // without the record, nothing shows
    expect(checkWith(events, digests, latest).firstBroken).toEqual({
      kind: 'digest-truncated',
      digestSeq: 3,
      message: 'the ledger recorded sealing digest 3; the digests end at 2',
    });
  });

  it('the newest digest deleted and another sealed in its place', () => {
    const { events, digests } = ledger();
    const latest = latestOf(digests[2]);
    digests[2] = seal(privateKey, nextDigest('demo', digests[1], [], at(9), KEY_ID));
    expect(checkWith(events, digests, latest).firstBroken).toMatchObject({ kind: 'digest-truncated', digestSeq: 3 });
  });

  it('a chain cut off below a head only the deleted newest digest sealed', () => {
    const { events, digests } = ledger();
    digests.push(seal(privateKey, nextDigest('demo', digests[2], [{ chainId: 'r1', ...headOf(events, 'r1') }], at(11), KEY_ID)));
    const latest = latestOf(digests[3]);
    digests.splice(3, 1);
    events.splice(find(events, 'r1', 4), 1);
    expect(check(events, digests).ok).toBe(true);
    expect(checkWith(events, digests, latest).firstBroken).toMatchObject({ kind: 'digest-truncated', digestSeq: 4 });
  });

  it('the newest two deleted; a gap below the record is still the gap', () => {
    const { events, digests } = ledger();
    const latest = latestOf(digests[2]);
    digests.splice(1, 2);
    expect(checkWith(events, digests, latest).firstBroken).toMatchObject({ kind: 'digest-truncated', digestSeq: 3 });
    const { events: again, digests: all } = ledger();
    all.splice(1, 1);
    expect(checkWith(again, all, latestOf(all[1])).firstBroken).toMatchObject({ kind: 'digest-gap', digestSeq: 2 });
  });
});

function headOf(events: AuditEvent[], chainId: string): ChainHead {
  const last = events.filter((event) => event.chainId === chainId).at(-1)!;
  return { seq: last.seq, hash: last.hash };
}
