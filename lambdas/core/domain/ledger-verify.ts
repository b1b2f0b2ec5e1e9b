import { verify } from 'node:crypto';
import { type AuditEvent, GENESIS_HASH, hashEvent } from './audit';
import { type Digest, digestHash, digestPayload } from './digest';

/**
 * The pure verifier of a tenant's ledger (node:crypto only): the API's `audit/verify`, the CLI's
 * `audit verify` and the console run the same code on what they fetched, trusting nothing else.
 *
 * It recomputes every chain (seq 1, 2, 3… from the genesis hash, each event's hash and its link to
 * the one before) and every digest (its hash, its ECDSA signature with the published public key,
 * seq 1, 2, 3… each linking the previous digest's hash), and checks that each head a digest lists
 * is there with exactly that hash. Events after a chain's last digested head are covered by the
 * chain alone until the next digest seals them. The ledger also records the last digest it sealed
 * (`latestDigest`): digests ending before it, or another digest in its place, show the newest
 * digests were removed, which the link of each digest to the one before cannot show.
 */
export type BreakKind =
  | 'event-hash' // an event's content does not match its hash (edited)
  | 'chain-link' // an event does not link to the one before (inserted, reordered, or edited and re-hashed)
  | 'chain-gap' // a seq is missing (deleted)
  | 'chain-duplicate' // two events claim one place in a chain (inserted)
  | 'chain-truncated' // a digest lists a head the chain no longer reaches (cut off)
  | 'chain-head' // the event at a digested head has another hash (re-written and re-hashed)
  | 'digest-hash' // a digest's content does not match its hash (edited)
  | 'digest-signature' // a digest's signature does not verify with the published key (edited, re-signed)
  | 'digest-key' // signed under another key id than the published key's
  | 'digest-gap' // a digest is missing (deleted)
  | 'digest-duplicate' // two digests with one seq
  | 'digest-link' // a digest does not link to the previous one's hash
  | 'digest-truncated' // the digests end before the one the ledger recorded sealing last, or it was replaced
  | 'digest-regressed'; // a digest lists an older head than an earlier digest did

export interface VerifyInput {
  events: readonly AuditEvent[];
  digests: readonly Digest[];
  /** SPKI PEM of the digest signing key (`GET /tenants/{id}/audit/digests` → publicKey.pem). */
  publicKeyPem: string;
  /** The published key id; digests naming another are reported. Optional. */
  keyId?: string;
  /**
   * The last digest the ledger recorded sealing, read BEFORE the digests (`GET .../audit/digests`
   * → latest). It must be among them with this hash; digests sealed after it are fine. Optional.
   */
  latestDigest?: { seq: number; hash: string };
}

export interface BrokenPlace {
  kind: BreakKind;
  chainId?: string;
  seq?: number;
  digestSeq?: number;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  verified: {
    /** Events in chains that verified. */
    events: number;
    chains: number;
    /** Digests whose hash, signature and link verified (up to the first broken one). */
    digests: number;
    /** periodEnd of the last digest verified: everything up to it is sealed. */
    lastDigestAt?: string;
    /** Events at or below a digested head (sealed); the rest verify by their chain alone. */
    sealedEvents: number;
  };
  /** The earliest broken place (by the time of the event or digest where it shows). */
  firstBroken?: BrokenPlace;
}

/** `at` orders findings: a chain's break shows right after its last good event; a digest's at its period's end. */
interface Finding extends BrokenPlace {
  at: string;
}

export function verifyLedger(input: VerifyInput): VerifyReport {
  const findings: Finding[] = [];
  const chains = new Map<string, AuditEvent[]>();
  for (const event of input.events) {
    const list = chains.get(event.chainId) ?? [];
    list.push(event);
    chains.set(event.chainId, list);
  }

  let verifiedEvents = 0;
  let verifiedChains = 0;
  for (const [chainId, events] of chains) {
    const sorted = [...events].sort((a, b) => a.seq - b.seq);
    const broken = verifyOneChain(chainId, sorted);
    if (broken) findings.push(broken);
    else {
      verifiedChains++;
      verifiedEvents += sorted.length;
    }
  }

  const digests = [...input.digests].sort((a, b) => a.seq - b.seq);
  let verifiedDigests = 0;
  let lastDigestAt: string | undefined;
  const sealed = new Map<string, number>();
  let previous: Digest | undefined;
  let digestBroken = false;
  for (const digest of digests) {
    const broken = verifyOneDigest(digest, previous, input);
    if (broken) {
      findings.push(broken);
      digestBroken = true;
      break;
    }
    for (const head of digest.chains) {
      const place = { chainId: head.chainId, seq: head.seq, digestSeq: digest.seq, at: digest.periodEnd };
      const before = sealed.get(head.chainId) ?? 0;
      if (head.seq < before) {
        findings.push({
          ...place,
          kind: 'digest-regressed',
          message: `digest ${digest.seq} lists ${head.chainId} at seq ${head.seq}, an earlier digest at ${before}`,
        });
        continue;
      }
      const events = chains.get(head.chainId) ?? [];
      const event = events.find((candidate) => candidate.seq === head.seq);
      if (!event) {
        const last = Math.max(0, ...events.map((candidate) => candidate.seq));
        findings.push({
          ...place,
          kind: 'chain-truncated',
          message: `digest ${digest.seq} lists ${head.chainId} up to seq ${head.seq}; the chain ends at seq ${last}`,
        });
      } else if (event.hash !== head.hash) {
        findings.push({
          ...place,
          kind: 'chain-head',
          message: `event ${head.seq} of ${head.chainId} is not the one digest ${digest.seq} sealed`,
        });
      }
      sealed.set(head.chainId, head.seq);
    }
    verifiedDigests++;
    lastDigestAt = digest.periodEnd;
    previous = digest;
  }

  const latest = input.latestDigest;
  const recorded = latest && digests.find((digest) => digest.seq === latest.seq);
  if (latest && !digestBroken && recorded?.hash !== latest.hash) {
    const before = digests.filter((digest) => digest.seq < latest.seq).at(-1);
    findings.push({
      kind: 'digest-truncated',
      digestSeq: latest.seq,
      at: before?.periodEnd ?? '',
      message: recorded
        ? `digest ${latest.seq} is not the one the ledger recorded sealing`
        : `the ledger recorded sealing digest ${latest.seq}; the digests end at ${digests.at(-1)?.seq ?? 0}`,
    });
  }

  const sealedEvents = input.events.filter((event) => event.seq <= (sealed.get(event.chainId) ?? 0)).length;
  const first = findings.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))[0];
  const verified = {
    events: verifiedEvents,
    chains: verifiedChains,
    digests: verifiedDigests,
    sealedEvents,
    ...(lastDigestAt ? { lastDigestAt } : {}),
  };
  if (!first) return { ok: true, verified };
  const { at: _at, ...firstBroken } = first;
  return { ok: false, verified, firstBroken };
}

/** The first broken place of one chain (events sorted by seq), if any. */
function verifyOneChain(chainId: string, events: AuditEvent[]): Finding | undefined {
  let seq = 0;
  let hash = GENESIS_HASH;
  let lastGoodAt = '';
  for (const event of events) {
    const place = { chainId, seq: event.seq, at: lastGoodAt };
    if (event.seq === seq) return { ...place, kind: 'chain-duplicate', message: `two events at seq ${seq} of ${chainId}` };
    if (event.seq !== seq + 1) {
      return { ...place, seq: seq + 1, kind: 'chain-gap', message: `${chainId} skips from seq ${seq} to ${event.seq}` };
    }
    if (event.prevHash !== hash)
      return { ...place, kind: 'chain-link', message: `event ${event.seq} of ${chainId} does not link to event ${seq}` };
    const { hash: claimed, ...unhashed } = event;
    if (hashEvent(unhashed) !== claimed)
      return { ...place, kind: 'event-hash', message: `event ${event.seq} of ${chainId} does not match its hash` };
    seq = event.seq;
    hash = claimed;
    lastGoodAt = event.at;
  }
  return undefined;
}

function verifyOneDigest(digest: Digest, previous: Digest | undefined, input: VerifyInput): Finding | undefined {
  const place = { digestSeq: digest.seq, at: digest.periodEnd };
  const expectedSeq = (previous?.seq ?? 0) + 1;
  if (digest.seq === previous?.seq) return { ...place, kind: 'digest-duplicate', message: `two digests with seq ${digest.seq}` };
  if (digest.seq !== expectedSeq)
    return { ...place, digestSeq: expectedSeq, kind: 'digest-gap', message: `digest ${expectedSeq} is missing (next is ${digest.seq})` };
  if (digestHash(digest) !== digest.hash) return { ...place, kind: 'digest-hash', message: `digest ${digest.seq} does not match its hash` };
  if (input.keyId !== undefined && digest.keyId !== input.keyId) {
    return { ...place, kind: 'digest-key', message: `digest ${digest.seq} names key ${digest.keyId}, not the published ${input.keyId}` };
  }
  if (!signatureValid(digest, input.publicKeyPem)) {
    return { ...place, kind: 'digest-signature', message: `digest ${digest.seq}'s signature does not verify with the published key` };
  }
  if (digest.prevHash !== (previous?.hash ?? GENESIS_HASH)) {
    return { ...place, kind: 'digest-link', message: `digest ${digest.seq} does not link to digest ${digest.seq - 1}` };
  }
  return undefined;
}

function signatureValid(digest: Digest, publicKeyPem: string): boolean {
  try {
    return verify('sha256', digestPayload(digest), { key: publicKeyPem, dsaEncoding: 'der' }, Buffer.from(digest.signature, 'base64'));
  } catch {
    return false;
  }
}
