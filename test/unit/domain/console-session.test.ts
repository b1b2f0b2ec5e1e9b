import { LocalSigner } from '../../../lambdas/core/adapters/signers';
import {
  newSession,
  openSession,
  openTransaction,
  personKey,
  safeReturnPath,
  sealSession,
  sealTransaction,
} from '../../../lambdas/core/domain/console-session';

const signer = new LocalSigner('console-1', { 'console-1': Buffer.alloc(32, 7) });
const other = new LocalSigner('console-1', { 'console-1': Buffer.alloc(32, 8) });
const timeouts = { idleMs: 15 * 60_000, absoluteMs: 8 * 3_600_000 };
const signIn = { issuer: 'https://issuer.example', subject: 'sub-1', email: 'carol@demo.example', groups: ['lockbox-approvers'] };
const T0 = Date.parse('2026-12-01T10:00:00Z');

describe('console session cookie', () => {
  it('opens a genuine session with its identity and CSRF token', async () => {
    const session = newSession(signIn, T0);
    const verdict = await openSession(signer, await sealSession(signer, session), T0 + 1000, timeouts);
    expect(verdict).toEqual({ ok: true, session });
    expect(session.csrf).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('refuses a tampered payload, a tampered MAC, another key and garbage', async () => {
    const cookie = await sealSession(signer, newSession(signIn, T0));
    const [payload, mac] = cookie.split('.');
    const body = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = `${Buffer.from(JSON.stringify({ ...body, signIn: { ...signIn, email: 'mallory@demo.example' } })).toString('base64url')}.${mac}`;
    const flipped = `${payload}.${mac.slice(0, -2)}${mac.endsWith('A') ? 'B' : 'A'}A`;
    for (const value of [
      forged,
      flipped,
      await sealSession(other, newSession(signIn, T0)),
      'x',
      `${payload}`,
      `${payload}.${mac}.x`,
      '%%%.%%%',
      'a'.repeat(5000),
    ]) {
      expect(await openSession(signer, value, T0, timeouts)).toEqual({ ok: false, reason: 'invalid' });
    }
    expect(await openSession(signer, undefined, T0, timeouts)).toEqual({ ok: false, reason: 'none' });
  });

  it('ends after the idle timeout and after the absolute timeout, even when kept busy', async () => {
    const session = newSession(signIn, T0);
    const cookie = await sealSession(signer, session);
    expect((await openSession(signer, cookie, T0 + timeouts.idleMs - 1, timeouts)).ok).toBe(true);
    expect(await openSession(signer, cookie, T0 + timeouts.idleMs, timeouts)).toEqual({ ok: false, reason: 'idle' });
    const busy = await sealSession(signer, { ...session, seenAtMs: T0 + timeouts.absoluteMs - 1 });
    expect(await openSession(signer, busy, T0 + timeouts.absoluteMs, timeouts)).toEqual({ ok: false, reason: 'expired' });
  });

  it('never takes a sign-in transaction for a session, or the reverse', async () => {
    const transaction = await sealTransaction(signer, {
      state: 's',
      nonce: 'n',
      codeVerifier: 'v',
      returnTo: '/console',
      expiresAtMs: T0 + 60_000,
    });
    expect(await openSession(signer, transaction, T0, timeouts)).toEqual({ ok: false, reason: 'invalid' });
    expect(await openTransaction(signer, await sealSession(signer, newSession(signIn, T0)), T0)).toBeUndefined();
  });
});

describe('sign-in transaction cookie', () => {
  it('opens until it expires, and only genuine', async () => {
    const body = {
      state: 'state-1',
      nonce: 'nonce-1',
      codeVerifier: 'verifier-1',
      returnTo: '/console/t/demo/pending',
      expiresAtMs: T0 + 600_000,
    };
    const cookie = await sealTransaction(signer, body);
    expect(await openTransaction(signer, cookie, T0)).toEqual(body);
    expect(await openTransaction(signer, cookie, T0 + 600_000)).toBeUndefined();
    expect(await openTransaction(other, cookie, T0)).toBeUndefined();
  });
});

describe('the return URL', () => {
  it('keeps console paths', () => {
    for (const path of [
      '/console',
      '/console/t/demo/pending',
      '/console/t/demo/history?status=ACTIVE&from=2026-12-01',
      '/console/links/abc.def',
    ]) {
      expect(safeReturnPath(path)).toBe(path);
    }
  });

  it('turns anything that could leave the console into the start page (no open redirect)', () => {
    for (const path of [
      'https://evil.example/',
      '//evil.example',
      '/console//evil.example',
      '/\\evil.example',
      '/console/../approvals/x',
      '/console/%2e%2e/x',
      '/console/%2F%2Fevil',
      'javascript:alert(1)',
      '/consoleevil',
      '/other',
      '/console/\u0000',
      '/console/%0d%0aSet-Cookie:x',
      '',
      undefined,
      null,
    ]) {
      expect(safeReturnPath(path as string)).toBe('/console');
    }
  });
});

it('names the signed-in person by their verified email, lower case', () => {
  expect(personKey({ email: 'Carol@Demo.Example' })).toBe('email:carol@demo.example');
});
