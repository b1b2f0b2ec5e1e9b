import { createHash } from 'node:crypto';
import { GENESIS_HASH } from './audit';
import { canonicalJson } from './canonical-json';

/**
 * Signed tenant digests, like CloudTrail's digest files. On a schedule, and always (an empty
 * `chains` list says "nothing advanced"), the sealer writes one per tenant: the head of every chain
 * that advanced since the previous digest, the previous digest's hash, the period, and an ECDSA
 * P-256 signature over the digest's canonical JSON. Whoever has the public key can check offline
 * that no event up to a digested head was changed, removed, inserted or cut off.
 */
export const DIGEST_ALGORITHM = 'ECDSA_SHA_256';

export interface DigestedHead {
  chainId: string;
  seq: number;
  hash: string;
}

export interface Digest {
  tenantId: string;
  /** 1, 2, 3… per tenant. */
  seq: number;
  /** The previous digest's `hash` (GENESIS_HASH for the first). */
  prevHash: string;
  /** The previous digest's `periodEnd` (the tenant's first digest: its own sealing time). */
  periodStart: string;
  /** When it was sealed; every listed head was committed by then. */
  periodEnd: string;
  /** Sorted by chainId. */
  chains: DigestedHead[];
  keyId: string;
  algorithm: typeof DIGEST_ALGORITHM;
  /** sha256 (hex) of the canonical JSON of every field above. */
  hash: string;
  /** Base64 DER ECDSA signature over the same bytes (SHA-256). */
  signature: string;
}

export type UnsignedDigest = Omit<Digest, 'hash' | 'signature'>;

/** The bytes that are hashed and signed: everything but `hash` and `signature`. */
export function digestPayload(digest: UnsignedDigest | Digest): Buffer {
  const { hash: _hash, signature: _signature, ...unsigned } = digest as Digest;
  return Buffer.from(canonicalJson(unsigned), 'utf8');
}

export const digestHash = (digest: UnsignedDigest | Digest): string => createHash('sha256').update(digestPayload(digest)).digest('hex');

/** The next digest after `previous` (none: the tenant's first). */
export function nextDigest(
  tenantId: string,
  previous: Pick<Digest, 'seq' | 'hash' | 'periodEnd'> | undefined,
  heads: DigestedHead[],
  sealedAt: string,
  keyId: string,
): UnsignedDigest {
  return {
    tenantId,
    seq: (previous?.seq ?? 0) + 1,
    prevHash: previous?.hash ?? GENESIS_HASH,
    periodStart: previous?.periodEnd ?? sealedAt,
    periodEnd: sealedAt,
    chains: [...heads].sort((a, b) => (a.chainId < b.chainId ? -1 : a.chainId > b.chainId ? 1 : 0)),
    keyId,
    algorithm: DIGEST_ALGORITHM,
  };
}

/** The chain id under which a tenant's digests are stored in the Audit table. */
export const digestChainId = (tenantId: string): string => `digests:${tenantId}`;
