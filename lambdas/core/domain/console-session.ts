import { randomBytes } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import type { MacSigner } from './link-token';

/**
 * The console's cookies: a session (who signed in, and when) and a sign-in transaction (what the
 * callback must find: `state`, `nonce`, the PKCE verifier, where to go after). Both are
 * `base64url(canonical JSON) "." base64url(HMAC-SHA256)`, made and checked by a `MacSigner` — a
 * KMS HMAC key on AWS (the key never leaves KMS), a local key in local mode. The purpose is inside
 * the MAC, so a transaction cookie never passes as a session or the reverse.
 *
 * A session holds the verified identity only, never roles: every request checks the person
 * against the tenant as it is now, so someone removed as an approver can do nothing with an old
 * session (T-5.7).
 */
export interface SignIn {
  issuer: string;
  subject: string;
  /** The verified email, lower case. */
  email: string;
  groups: string[];
}

export interface Session {
  signIn: SignIn;
  /** The CSRF token every form of this session carries. */
  csrf: string;
  issuedAtMs: number;
  seenAtMs: number;
}

export interface SignInTransaction {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  expiresAtMs: number;
}

export interface SessionTimeouts {
  idleMs: number;
  absoluteMs: number;
}

type Purpose = 'session' | 'sign-in';
const MAX_COOKIE_LENGTH = 3800;

const b64 = (data: Buffer | string) => Buffer.from(data).toString('base64url');

async function seal(signer: MacSigner, purpose: Purpose, body: object): Promise<string> {
  const payload = b64(canonicalJson({ ...body, kid: signer.currentKeyId }));
  const mac = await signer.sign(signer.currentKeyId, Buffer.from(`${purpose}.${payload}`));
  return `${payload}.${b64(mac)}`;
}

async function unseal(signer: MacSigner, purpose: Purpose, value: string | undefined): Promise<Record<string, unknown> | undefined> {
  if (!value || value.length > MAX_COOKIE_LENGTH) return undefined;
  const parts = value.split('.');
  if (parts.length !== 2 || !parts.every((part) => /^[A-Za-z0-9_-]+$/.test(part))) return undefined;
  const [payload, mac] = parts;
  if (payload === undefined || mac === undefined) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const kid = (body as Record<string, unknown>).kid;
  if (typeof kid !== 'string') return undefined;
  const valid = await signer.verify(kid, Buffer.from(`${purpose}.${payload}`), Buffer.from(mac, 'base64url'));
  return valid ? (body as Record<string, unknown>) : undefined;
}

export const newSession = (signIn: SignIn, nowMs: number): Session => ({
  signIn,
  csrf: randomBytes(24).toString('base64url'),
  issuedAtMs: nowMs,
  seenAtMs: nowMs,
});

export const sealSession = (signer: MacSigner, session: Session): Promise<string> => seal(signer, 'session', session);

export type SessionVerdict = { ok: true; session: Session } | { ok: false; reason: 'none' | 'invalid' | 'idle' | 'expired' };

/** The session in a cookie, if it is genuine and neither idle too long nor too old. */
export async function openSession(
  signer: MacSigner,
  value: string | undefined,
  nowMs: number,
  timeouts: SessionTimeouts,
): Promise<SessionVerdict> {
  if (!value) return { ok: false, reason: 'none' };
  const body = await unseal(signer, 'session', value);
  if (!body || !isSession(body)) return { ok: false, reason: 'invalid' };
  if (nowMs - body.issuedAtMs >= timeouts.absoluteMs) return { ok: false, reason: 'expired' };
  if (nowMs - body.seenAtMs >= timeouts.idleMs) return { ok: false, reason: 'idle' };
  const { signIn, csrf, issuedAtMs, seenAtMs } = body;
  return { ok: true, session: { signIn, csrf, issuedAtMs, seenAtMs } };
}

export const sealTransaction = (signer: MacSigner, transaction: SignInTransaction): Promise<string> => seal(signer, 'sign-in', transaction);

export async function openTransaction(signer: MacSigner, value: string | undefined, nowMs: number): Promise<SignInTransaction | undefined> {
  const body = await unseal(signer, 'sign-in', value);
  if (!body) return undefined;
  const { state, nonce, codeVerifier, returnTo, expiresAtMs } = body;
  if (![state, nonce, codeVerifier, returnTo].every((field) => typeof field === 'string') || typeof expiresAtMs !== 'number')
    return undefined;
  if (expiresAtMs <= nowMs) return undefined;
  return { state, nonce, codeVerifier, returnTo: safeReturnPath(returnTo as string), expiresAtMs } as SignInTransaction;
}

function isSession(body: Record<string, unknown>): body is Record<string, unknown> & Session {
  const signIn = body.signIn as Record<string, unknown> | undefined;
  return (
    typeof body.csrf === 'string' &&
    typeof body.issuedAtMs === 'number' &&
    typeof body.seenAtMs === 'number' &&
    typeof signIn === 'object' &&
    signIn !== null &&
    typeof signIn.issuer === 'string' &&
    typeof signIn.subject === 'string' &&
    typeof signIn.email === 'string' &&
    Array.isArray(signIn.groups) &&
    signIn.groups.every((group) => typeof group === 'string')
  );
}

/**
 * Where to go after signing in: a path of the console and nothing else. Anything that could leave
 * it — another host, `//host`, a backslash, a scheme, dot segments, control characters — becomes
 * the console's start page, so the return URL is never an open redirect.
 */
export function safeReturnPath(value: string | undefined | null): string {
  const home = '/console';
  if (!value || value.length > 512) return home;
  if (!/^\/console(\/[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?$/.test(value)) return home;
  if (value.includes('//') || value.includes('\\') || /(^|\/)\.\.?(\/|$|\?)/.test(value) || /%(2e|2f|5c|0|1)/i.test(value)) return home;
  return value;
}

/** The person key of a signed-in caller (docs/design.md §3a): their verified email. */
export const personKey = (signIn: Pick<SignIn, 'email'>): string => `email:${signIn.email.toLowerCase()}`;
