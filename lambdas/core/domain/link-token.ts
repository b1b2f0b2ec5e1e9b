import { createHash, randomBytes } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import type { Stage } from './status';

/**
 * Approval link tokens: `base64url(canonical claims) "." base64url(HMAC-SHA256(claims))`.
 * The MAC is made and checked by a `MacSigner` (KMS on AWS, a local key in local mode); the token
 * is only the credential to reach the confirmation page — the decision itself is one conditional
 * write that also requires the token's hash to be among those issued for the open stage.
 */
export const LINK_AUDIENCE = 'lockbox-approval';
const VERSION = 1;
const MAX_TOKEN_LENGTH = 2048;

export interface LinkClaims {
  v: number;
  aud: string;
  rid: string;
  stg: Stage;
  em: string;
  /** Expiry, epoch seconds; never after the stage's deadline. */
  exp: number;
  kid: string;
  /** 128 random bits, so two links for the same approver differ. */
  n: string;
}

export interface MacSigner {
  /** The key id new tokens are signed with. */
  readonly currentKeyId: string;
  sign(keyId: string, message: Buffer): Promise<Buffer>;
  /** False (never an exception) for an unknown key id or a wrong MAC. */
  verify(keyId: string, message: Buffer, mac: Buffer): Promise<boolean>;
}

export type LinkVerdict =
  | { ok: true; claims: LinkClaims }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired'; claims?: Partial<LinkClaims> };

const b64 = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export async function issueLinkToken(
  signer: MacSigner,
  claims: { requestId: string; stage: Stage; email: string; expiresAtMs: number },
): Promise<string> {
  const body: LinkClaims = {
    v: VERSION,
    aud: LINK_AUDIENCE,
    rid: claims.requestId,
    stg: claims.stage,
    em: claims.email,
    exp: Math.floor(claims.expiresAtMs / 1000),
    kid: signer.currentKeyId,
    n: randomBytes(16).toString('base64url'),
  };
  const payload = b64(canonicalJson(body));
  const mac = await signer.sign(body.kid, Buffer.from(payload));
  return `${payload}.${b64(mac)}`;
}

/** Only this hash of a token is stored. */
export const linkTokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function parseClaims(payload: string): Partial<LinkClaims> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Partial<LinkClaims>) : undefined;
  } catch {
    return undefined;
  }
}

function wellFormed(claims: Partial<LinkClaims>): claims is LinkClaims {
  return (
    claims.v === VERSION &&
    claims.aud === LINK_AUDIENCE &&
    typeof claims.rid === 'string' &&
    (claims.stg === 'manager' || claims.stg === 'customer') &&
    typeof claims.em === 'string' &&
    Number.isSafeInteger(claims.exp) &&
    typeof claims.kid === 'string' &&
    typeof claims.n === 'string'
  );
}

/**
 * Checks a token's form, MAC and expiry. Never throws on bad input: every way a token can be wrong
 * is a verdict, so the caller can answer with the same generic refusal.
 */
export async function verifyLinkToken(signer: MacSigner, token: string, nowMs: number): Promise<LinkVerdict> {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 2 || !parts.every((part) => BASE64URL.test(part))) return { ok: false, reason: 'malformed' };
  const [payload, mac] = parts;
  if (payload === undefined || mac === undefined) return { ok: false, reason: 'malformed' };
  const claims = parseClaims(payload);
  if (!claims) return { ok: false, reason: 'malformed' };
  // The claims must be exactly what we sign: re-encoding catches reordered or padded payloads.
  if (!wellFormed(claims) || b64(canonicalJson(claims)) !== payload) return { ok: false, reason: 'malformed', claims };
  let valid = false;
  try {
    valid = await signer.verify(claims.kid, Buffer.from(payload), Buffer.from(mac, 'base64url'));
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: 'bad-signature', claims };
  if (claims.exp * 1000 <= nowMs) return { ok: false, reason: 'expired', claims };
  return { ok: true, claims };
}
