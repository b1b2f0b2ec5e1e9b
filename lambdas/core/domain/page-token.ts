import { createHmac, timingSafeEqual } from 'node:crypto';
import * as z from '../zod';
import { canonicalJson } from './canonical-json';
import { ValidationError } from './errors';

/**
 * The API's paging tokens (`nextToken`): opaque to callers and tamper-proof. A token is
 * `base64url(payload) "." base64url(HMAC-SHA256)`, where the MAC covers the payload AND the
 * token's *scope* — the route and every query parameter that shapes the listing (tenant, status,
 * time range). So a token edited by hand, one of another route or another tenant, or one for
 * other filters fails the MAC; only then is the payload parsed, with a strict schema
 * (`{v: 1, c: <the store's own cursor>}`), so even a token we signed in an older format cannot
 * reach a store. Every refusal is the same 400 VALIDATION_FAILED.
 *
 * Not encrypted: the payload is the last key of the page (ids and times of items the caller has
 * just been shown), nothing more. The key is injected (a local key, or one derived once per
 * container from KMS: see adapters/signers.ts).
 */
export interface PageScope {
  /** The route, as the handler routes it: `GET /requests`, `GET /tenants/{id}/audit`… */
  route: string;
  [binding: string]: string | number | undefined;
}

const payloadSchema = z.strictObject({ v: z.literal(1), c: z.string().check(z.minLength(1), z.maxLength(1536)) });
const TOKEN = /^([A-Za-z0-9_-]{1,2048})\.([A-Za-z0-9_-]{43})$/;

export class PageTokens {
  private key?: Promise<Buffer>;

  /** `key` is called once, on first use (a KMS derivation costs one call per container). */
  constructor(private readonly loadKey: () => Promise<Buffer>) {}

  /** The token for the page after `cursor` (the store's own cursor string), bound to `scope`. */
  async seal(scope: PageScope, cursor: string): Promise<string> {
    const payload = Buffer.from(JSON.stringify({ v: 1, c: cursor })).toString('base64url');
    return `${payload}.${(await this.mac(scope, payload)).toString('base64url')}`;
  }

  /** The store's cursor inside `token`, or a ValidationError; no token, no cursor. */
  async open(scope: PageScope, token: string | undefined): Promise<string | undefined> {
    if (token === undefined) return undefined;
    const [, body, mac] = TOKEN.exec(token) ?? [];
    if (body === undefined || mac === undefined) throw invalid();
    // Compared as canonical base64url text: decoding first would accept a last character that
    // differs only in its unused low bits (two spellings of one MAC).
    const expected = Buffer.from((await this.mac(scope, body)).toString('base64url'));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw invalid();
    }
    const parsed = payloadSchema.safeParse(payload);
    if (!parsed.success) throw invalid();
    return parsed.data.c;
  }

  private async mac(scope: PageScope, payload: string): Promise<Buffer> {
    this.key ??= this.loadKey().catch((error: unknown) => {
      this.key = undefined; // a failed KMS call is retried by the next request
      throw error;
    });
    return createHmac('sha256', await this.key)
      .update(`lockbox-page-token\n${canonicalJson(scope)}\n${payload}`)
      .digest();
  }
}

const invalid = () => new ValidationError('nextToken is not valid for this query', { field: 'nextToken' });

/**
 * A listing route's page, with its tokens sealed: `query` is the route's parsed query (its
 * `nextToken` is opened here, its `limit` may change between pages, every other field binds the
 * token), `bindings` the path parameters (e.g. the tenant id). `list` gets the query with the
 * store's own cursor in place of the token. Every position the page hands out — `nextToken`, and
 * the audit log's `cursor` (where a poller continues later) — is sealed the same way. E.g.
 * `pageOf(pageTokens, 'GET /tenants/{id}/audit', { tenantId }, query, (q) => listAudit(deps, caller, tenantId, q))`.
 */
export async function pageOf<Q extends { nextToken?: string; limit?: number }, P extends { nextToken?: string; cursor?: string }>(
  tokens: PageTokens,
  route: string,
  bindings: Record<string, string>,
  query: Q,
  list: (query: Q) => Promise<P>,
): Promise<P> {
  const { nextToken, limit: _limit, ...filters } = query;
  const scope = { ...(filters as Record<string, string | number | undefined>), ...bindings, route };
  const page = await list({ ...query, nextToken: await tokens.open(scope, nextToken) });
  const sealed = { ...page };
  for (const field of ['nextToken', 'cursor'] as const) {
    if (typeof page[field] === 'string') sealed[field] = (await tokens.seal(scope, page[field])) as P[typeof field];
  }
  return sealed;
}
