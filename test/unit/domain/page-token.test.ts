import { createHmac, randomBytes } from 'node:crypto';
import { canonicalJson } from '../../../lambdas/core/domain/canonical-json';
import { ValidationError } from '../../../lambdas/core/domain/errors';
import { PageTokens, pageOf } from '../../../lambdas/core/domain/page-token';

// T-4.9: a crafted paging token (valid encoding, wrong shape, another route's or tenant's) is a 400.
const key = randomBytes(32);
const tokens = new PageTokens(async () => key);
const AUDIT = { route: 'GET /tenants/{id}/audit', tenantId: 'demo' };
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A token MAC'd with `signingKey` over any payload, as seal does: what only a holder of the key could make. */
const signedWith = (payload: string, scope = AUDIT, signingKey = key) =>
  `${payload}.${createHmac('sha256', signingKey)
    .update(`lockbox-page-token\n${canonicalJson(scope)}\n${payload}`)
    .digest('base64url')}`;

const refused = async (token: string, scope = AUDIT) => {
  const error = await tokens.open(scope, token).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).toJSON()).toEqual({
    code: 'VALIDATION_FAILED',
    message: 'nextToken is not valid for this query',
    details: { field: 'nextToken' },
  });
};

/** The base64url alphabet, in value order. */
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('paging tokens', () => {
  it('round-trip the store cursor for the same route and scope', async () => {
    const token = await tokens.seal(AUDIT, 'eyJzZXEiOjd9');
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    await expect(tokens.open({ tenantId: 'demo', route: 'GET /tenants/{id}/audit' }, token)).resolves.toBe('eyJzZXEiOjd9');
    await expect(tokens.open(AUDIT, undefined)).resolves.toBeUndefined();
  });

  it.each([
    ['a token for another tenant', { ...AUDIT, tenantId: 'other' }],
    ["another route's token", { route: 'GET /requests', tenantId: 'demo' }],
    ['the same route with other filters', { ...AUDIT, from: '2026-01-01T00:00:00Z' }],
  ])('refuse %s', async (_name, scope) => {
    await refused(await tokens.seal(AUDIT, 'cursor'), scope);
  });

  it.each([
    ['a string seq', b64({ tenantId: 'demo', seq: '7' })],
    ['1e400', b64('{"v":1,"c":1e400}')],
    ['missing keys', b64({ v: 1 })],
    ['extra keys', b64({ v: 1, c: 'cursor', admin: true })],
    ['a number cursor', b64({ v: 1, c: 7 })],
    ['another version', b64({ v: 2, c: 'cursor' })],
    ['not JSON', b64('{"v":1,')],
    ['__proto__', b64('{"__proto__":{"v":1},"c":"x"}')],
  ])('refuse a well-signed payload of the wrong shape: %s', async (_name, payload) => {
    await refused(signedWith(payload));
  });

  it.each([
    ['an unsigned base64 JSON token (the old format)', b64({ tenantId: 'demo', seq: 7 })],
    ['a flipped MAC', async () => (await tokens.seal(AUDIT, 'c')).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))],
    [
      'a MAC spelt differently in its unused low bits',
      async () => (await tokens.seal(AUDIT, 'c')).replace(/.$/, (c) => B64URL[B64URL.indexOf(c) ^ 1] ?? c),
    ],
    ['a truncated MAC', async () => (await tokens.seal(AUDIT, 'c')).slice(0, -2)],
    ['an edited payload', async () => `${b64({ v: 1, c: 'other' })}.${(await tokens.seal(AUDIT, 'c')).split('.')[1]}`],
    ['a key other than ours', signedWith(b64({ v: 1, c: 'c' }), AUDIT, randomBytes(32))],
    ['empty', ''],
    ['huge', 'A'.repeat(5000)],
    ['a lone surrogate', '\ud800.x'],
  ])('refuse %s', async (_name, make) => {
    await refused(typeof make === 'string' ? make : await make());
  });

  it('pageOf opens the token before the listing and seals the next one for the same scope', async () => {
    const seen: (string | undefined)[] = [];
    const list = async (query: { limit: number; nextToken?: string; status?: string }) => {
      seen.push(query.nextToken);
      return { items: [1], nextToken: `after-${seen.length}` };
    };
    const first = await pageOf(tokens, 'GET /requests', {}, { limit: 1, status: 'ACTIVE' }, list);
    const second = await pageOf(tokens, 'GET /requests', {}, { limit: 5, status: 'ACTIVE', nextToken: first.nextToken }, list);
    expect(seen).toEqual([undefined, 'after-1']);
    expect(second.nextToken).toBeDefined();
    await expect(
      pageOf(tokens, 'GET /requests', {}, { limit: 1, status: 'DENIED', nextToken: first.nextToken }, list),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(seen).toHaveLength(2);
  });

  it('derives the key once, and again after a failed derivation', async () => {
    let calls = 0;
    const flaky = new PageTokens(async () => {
      calls += 1;
      if (calls === 1) throw new Error('KMS unavailable');
      return key;
    });
    await expect(flaky.seal(AUDIT, 'c')).rejects.toThrow('KMS unavailable');
    await flaky.seal(AUDIT, 'c');
    await flaky.open(AUDIT, await flaky.seal(AUDIT, 'c'));
    expect(calls).toBe(2);
  });
});
