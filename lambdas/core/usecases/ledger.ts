import { type Clock, iso } from '../domain/clock';
import { DIGEST_ALGORITHM, type Digest, digestHash, digestPayload, nextDigest } from '../domain/digest';
import { type VerifyReport, verifyLedger } from '../domain/ledger-verify';
import type { DigestLedger, DigestSigner, Page } from '../ports';
import type { Caller, Deps, Logger } from './deps';
import { requireAuditReader } from './tenants';

/** What the sealer and the verification need (the API's digest routes add the usual Deps). */
export interface LedgerDeps {
  ledger: DigestLedger;
  digestSigner: DigestSigner;
  clock: Clock;
  log: Logger;
}

/**
 * Seals the tenant's next digest: the heads of the chains that advanced since the last one (the
 * ledger's markers, never a scan of every chain), linked to the previous digest, signed. Sealed
 * even when nothing advanced, so a missing digest always shows. Returns undefined when another
 * sealer wrote that digest first.
 */
export async function sealTenant(d: LedgerDeps, tenantId: string): Promise<Digest | undefined> {
  const previous = await d.ledger.latestDigest(tenantId);
  const heads = await d.ledger.advancedChains(tenantId);
  const unsigned = nextDigest(tenantId, previous, heads, iso(d.clock.now()), d.digestSigner.keyId);
  const signature = await d.digestSigner.sign(digestPayload(unsigned));
  const digest: Digest = { ...unsigned, hash: digestHash(unsigned), signature: signature.toString('base64') };
  if (!(await d.ledger.putDigest(digest))) return undefined;
  await d.ledger.markSealed(tenantId, heads);
  return digest;
}

export interface SealReport {
  sealed: number;
  chains: number;
  failed: string[];
}

/** One digest for every tenant (the scheduled sealer). A failing tenant does not stop the others. */
export async function sealAll(d: LedgerDeps): Promise<SealReport> {
  const report: SealReport = { sealed: 0, chains: 0, failed: [] };
  for (const tenantId of await d.ledger.tenantIds()) {
    try {
      const digest = await sealTenant(d, tenantId);
      if (digest) {
        report.sealed++;
        report.chains += digest.chains.length;
      }
    } catch (error) {
      d.log.error('digest not sealed', { tenantId, error: String(error) });
      report.failed.push(tenantId);
    }
  }
  return report;
}

/**
 * Verifies a tenant's whole ledger with the published key. The by-time index may not yet show
 * the newest events of a chain a digest already names: such chains are read from the table itself.
 */
export async function verifyTenant(d: LedgerDeps, tenantId: string): Promise<VerifyReport> {
  const { events, digests, latestDigest } = await d.ledger.everything(tenantId);
  const shown = new Map<string, number>();
  for (const event of events) shown.set(event.chainId, Math.max(shown.get(event.chainId) ?? 0, event.seq));
  const behind = new Set(
    digests.flatMap((digest) => digest.chains.filter((head) => head.seq > (shown.get(head.chainId) ?? 0)).map((head) => head.chainId)),
  );
  const reread = await Promise.all([...behind].map((chainId) => d.ledger.chain(chainId)));
  const all = [...events.filter((event) => !behind.has(event.chainId)), ...reread.flat()];
  return verifyLedger({
    events: all,
    digests,
    publicKeyPem: await d.digestSigner.publicKeyPem(),
    keyId: d.digestSigner.keyId,
    latestDigest,
  });
}

export interface VerificationReport {
  tenants: number;
  failed: { tenantId: string; firstBroken?: VerifyReport['firstBroken']; error?: string }[];
}

/** The scheduled verification: every tenant; any failure is reported (and alarmed by the handler). */
export async function verifyAll(d: LedgerDeps): Promise<VerificationReport> {
  const report: VerificationReport = { tenants: 0, failed: [] };
  for (const tenantId of await d.ledger.tenantIds()) {
    report.tenants++;
    try {
      const result = await verifyTenant(d, tenantId);
      if (!result.ok) report.failed.push({ tenantId, firstBroken: result.firstBroken });
    } catch (error) {
      report.failed.push({ tenantId, error: String(error) });
    }
  }
  return report;
}

export interface PublicKey {
  keyId: string;
  /** SPKI PEM. */
  pem: string;
  algorithm: typeof DIGEST_ALGORITHM;
}

export const publicKeyOf = async (signer: DigestSigner): Promise<PublicKey> => ({
  keyId: signer.keyId,
  pem: await signer.publicKeyPem(),
  algorithm: DIGEST_ALGORITHM,
});

/**
 * `GET /tenants/{id}/audit/digests`: the tenant's digests in seq order, with the key that verifies
 * them and the last digest the ledger recorded sealing (read before the page, for `verifyLedger`).
 */
export async function listDigests(
  deps: Deps,
  d: LedgerDeps,
  caller: Caller,
  tenantId: string,
  query: { from?: string; to?: string; limit: number; nextToken?: string },
): Promise<Page<Digest> & { publicKey: PublicKey; latest?: { seq: number; hash: string } }> {
  await requireAuditReader(deps, caller, tenantId);
  const latest = await d.ledger.latestSealed(tenantId);
  const page = await d.ledger.listDigests(tenantId, query, query.limit, query.nextToken);
  return { ...page, publicKey: await publicKeyOf(d.digestSigner), ...(latest ? { latest } : {}) };
}

/** `GET /tenants/{id}/audit/verify`: the server's own verification (clients can run the same verifier). */
export async function verifyAudit(deps: Deps, d: LedgerDeps, caller: Caller, tenantId: string): Promise<VerifyReport> {
  await requireAuditReader(deps, caller, tenantId);
  return verifyTenant(d, tenantId);
}
