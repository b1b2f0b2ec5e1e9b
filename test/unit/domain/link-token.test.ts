import { randomBytes } from 'node:crypto';
import { LocalSigner } from '../../../lambdas/core/adapters/signers';
import { canonicalJson } from '../../../lambdas/core/domain/canonical-json';
import { issueLinkToken, type LinkClaims, linkTokenHash, verifyLinkToken } from '../../../lambdas/core/domain/link-token';

const KEY_1 = randomBytes(32);
const signer = new LocalSigner('k1', { k1: KEY_1, k2: randomBytes(32) });
const NOW = Date.UTC(2026, 10, 29, 12, 0, 0);
const EXPIRES = NOW + 3_600_000;

const issue = () => issueLinkToken(signer, { requestId: 'req-1', stage: 'customer', email: 'carol@demo.example', expiresAtMs: EXPIRES });

/** Re-encodes a token's claims after `change`, keeping the original MAC. */
function tamper(token: string, change: (claims: LinkClaims) => Record<string, unknown>): string {
  const [payload, mac] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as LinkClaims;
  return `${Buffer.from(canonicalJson(change(claims))).toString('base64url')}.${mac}`;
}

describe('link tokens', () => {
  it('verifies a fresh token and returns its claims', async () => {
    const verdict = await verifyLinkToken(signer, await issue(), NOW);
    expect(verdict).toEqual({
      ok: true,
      claims: expect.objectContaining({
        rid: 'req-1',
        stg: 'customer',
        em: 'carol@demo.example',
        exp: EXPIRES / 1000,
        kid: 'k1',
        aud: 'lockbox-approval',
      }),
    });
  });

  it('carries 128 random bits, so two tokens for the same approver differ', async () => {
    const [a, b] = await Promise.all([issue(), issue()]);
    expect(a).not.toBe(b);
    expect(linkTokenHash(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('expires at exp: valid 1 ms before, refused at and after', async () => {
    const token = await issue();
    expect((await verifyLinkToken(signer, token, EXPIRES - 1)).ok).toBe(true);
    expect(await verifyLinkToken(signer, token, EXPIRES)).toMatchObject({ ok: false, reason: 'expired' });
    expect(await verifyLinkToken(signer, token, EXPIRES + 1)).toMatchObject({ ok: false, reason: 'expired' });
  });

  it.each<[string, (claims: LinkClaims) => Record<string, unknown>]>([
    ['requestId', (c) => ({ ...c, rid: 'req-2' })],
    ['stage', (c) => ({ ...c, stg: 'manager' })],
    ['approver email', (c) => ({ ...c, em: 'mallory@evil.example' })],
    ['expiry', (c) => ({ ...c, exp: c.exp + 3600 })],
    ['nonce', (c) => ({ ...c, n: 'AAAAAAAAAAAAAAAAAAAAAA' })],
    ['key id to another known key', (c) => ({ ...c, kid: 'k2' })],
    ['key id to an unknown key', (c) => ({ ...c, kid: 'nope' })],
  ])('refuses a token whose %s was changed', async (_name, change) => {
    const verdict = await verifyLinkToken(signer, tamper(await issue(), change), NOW);
    expect(verdict).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it.each<[string, (claims: LinkClaims) => Record<string, unknown>]>([
    ['audience', (c) => ({ ...c, aud: 'other' })],
    ['version', (c) => ({ ...c, v: 2 })],
    ['stage to an unknown stage', (c) => ({ ...c, stg: 'admin' })],
    ['a missing claim', ({ n: _n, ...c }) => c],
  ])('refuses a token with a wrong %s as malformed', async (_name, change) => {
    expect(await verifyLinkToken(signer, tamper(await issue(), change), NOW)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('refuses a token signed with another key under the same key id', async () => {
    const other = new LocalSigner('k1', { k1: randomBytes(32) });
    const forged = await issueLinkToken(other, {
      requestId: 'req-1',
      stage: 'customer',
      email: 'carol@demo.example',
      expiresAtMs: EXPIRES,
    });
    expect(await verifyLinkToken(signer, forged, NOW)).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it("refuses the signature of another request's token", async () => {
    const mine = await issue();
    const theirs = await issueLinkToken(signer, {
      requestId: 'req-2',
      stage: 'customer',
      email: 'carol@demo.example',
      expiresAtMs: EXPIRES,
    });
    const swapped = `${mine.split('.')[0]}.${theirs.split('.')[1]}`;
    expect(await verifyLinkToken(signer, swapped, NOW)).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('still verifies a token of a retired key that is kept for its lifetime (rotation)', async () => {
    const old = await issue();
    const rotated = new LocalSigner('k2', { k1: KEY_1, k2: randomBytes(32) });
    expect((await verifyLinkToken(rotated, old, NOW)).ok).toBe(true);
  });

  it.each([
    ['a truncated MAC', (t: string) => t.slice(0, -4)],
    ['an empty MAC', (t: string) => `${t.split('.')[0]}.`],
    ['a MAC one byte longer', (t: string) => `${t}AA`],
    ['no MAC', (t: string) => t.split('.')[0]],
    ['three parts', (t: string) => `${t}.x`],
    ['characters outside base64url', (t: string) => `${t.slice(0, 10)}+/=${t.slice(13)}`],
    ['a payload that is not JSON', (t: string) => `${Buffer.from('not json').toString('base64url')}.${t.split('.')[1]}`],
    ['a payload that is a JSON array', (t: string) => `${Buffer.from('[1]').toString('base64url')}.${t.split('.')[1]}`],
    ['an empty string', () => ''],
    ['a huge token', (t: string) => t.repeat(20)],
  ])('refuses %s without throwing', async (_name, mangle) => {
    const verdict = await verifyLinkToken(signer, mangle(await issue()), NOW);
    expect(verdict.ok).toBe(false);
  });

  it('refuses a payload with the same claims in another key order (not what was signed)', async () => {
    const token = await issue();
    const [payload, mac] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const reordered = Object.fromEntries(Object.entries(claims).reverse());
    const forged = `${Buffer.from(JSON.stringify(reordered)).toString('base64url')}.${mac}`;
    expect(await verifyLinkToken(signer, forged, NOW)).toMatchObject({ ok: false, reason: 'malformed' });
  });
});
