import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { OidcSignIn, SignInRefused } from '../../../lambdas/core/adapters/oidc';

/**
 * ID token verification by the console's OIDC adapter (openid-client), against a small issuer on
 * 127.0.0.1 whose token endpoint can be made to misbehave: wrong issuer, wrong audience, expired,
 * another nonce, a signature by a key not in its JWKS, a PKCE verifier that does not match.
 * (The happy path against a certified provider is in the browser tests, on local mode.)
 */
const CLIENT_ID = 'console-test';
let server: Server;
let issuer: string;
let key: CryptoKey;
let rogueKey: CryptoKey;
let jwk: JWK;
/** What the next token response does; reset before each test. */
let misbehave: { iss?: string; aud?: string; expSeconds?: number; nonce?: string; rogue?: boolean; emailVerified?: boolean } = {};
/** code → its PKCE challenge and nonce, as a real issuer remembers them (codes work once). */
const codes = new Map<string, { challenge: string; nonce: string }>();
/** Whether discovery publishes an end-session endpoint (RP-Initiated Logout). */
let publishEndSession = false;

beforeAll(async () => {
  ({ privateKey: key } = await generateKeyPair('RS256', { extractable: true }));
  ({ privateKey: rogueKey } = await generateKeyPair('RS256'));
  jwk = { ...(await exportJWK(await publicOf(key))), kid: 'k1', alg: 'RS256', use: 'sig' };
  server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(200, {
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        ...(publishEndSession ? { end_session_endpoint: `${issuer}/session/end` } : {}),
      });
    }
    if (url.pathname === '/jwks') return json(200, { keys: [jwk] });
    if (url.pathname === '/token') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      const issued = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      if (!issued) return json(400, { error: 'invalid_grant', error_description: 'code used or unknown' });
      const challenge = createHash('sha256')
        .update(form.get('code_verifier') ?? '')
        .digest('base64url');
      if (challenge !== issued.challenge) return json(400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
      const now = Math.floor(Date.now() / 1000);
      const idToken = await new SignJWT({
        email: 'Carol@Demo.Example',
        email_verified: misbehave.emailVerified ?? true,
        groups: ['lockbox-approvers'],
        nonce: misbehave.nonce ?? issued.nonce,
      })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(misbehave.iss ?? issuer)
        .setAudience(misbehave.aud ?? CLIENT_ID)
        .setSubject('carol')
        .setIssuedAt(now - 5)
        .setExpirationTime(now + (misbehave.expSeconds ?? 300))
        .sign(misbehave.rogue ? rogueKey : key);
      return json(200, { access_token: 'at', token_type: 'Bearer', expires_in: 300, id_token: idToken });
    }
    json(404, {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://localhost:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  misbehave = {};
});

async function publicOf(privateKey: CryptoKey): Promise<CryptoKey> {
  const { importJWK } = await import('jose');
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = await exportJWK(privateKey);
  return (await importJWK(pub, 'RS256')) as CryptoKey;
}

const BACK = 'http://localhost:3000/console/signed-out';
const signIn = (logoutUrl?: string) =>
  new OidcSignIn({
    issuer,
    clientId: CLIENT_ID,
    redirectUri: 'http://localhost:3000/console/callback',
    groupsClaim: 'groups',
    postLogoutRedirectUri: BACK,
    logoutUrl,
  });

/** Starts a sign-in and has the issuer "authorize" it: the callback query the browser would bring back. */
async function authorized(client: OidcSignIn) {
  const started = await client.start();
  const url = new URL(started.url);
  expect(url.searchParams.get('code_challenge_method')).toBe('S256');
  expect(url.searchParams.get('state')).toBe(started.state);
  expect(url.searchParams.get('nonce')).toBe(started.nonce);
  const code = `code-${Math.random().toString(36).slice(2)}`;
  codes.set(code, { challenge: url.searchParams.get('code_challenge')!, nonce: started.nonce });
  return { started, query: new URLSearchParams({ code, state: started.state }) };
}

const refusalOf = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SignInRefused);
  return (error as SignInRefused).code;
};

describe('console sign-in (openid-client, authorization code + PKCE)', () => {
  it('signs in the verified email, lower case, with the groups claim', async () => {
    const client = signIn();
    const { started, query } = await authorized(client);
    await expect(client.finish(query, started)).resolves.toEqual({
      issuer,
      subject: 'carol',
      email: 'carol@demo.example',
      groups: ['lockbox-approvers'],
    });
  });

  it.each([
    ['another issuer', { iss: 'https://evil.example' }],
    ['another audience', { aud: 'someone-else' }],
    ['an expired token', { expSeconds: -120 }],
    ['another nonce (a replayed ID token)', { nonce: 'nonce-of-another-sign-in' }],
    ['a signature by a key not in the JWKS', { rogue: true }],
  ])('refuses an ID token with %s', async (_what, bad) => {
    const client = signIn();
    const { started, query } = await authorized(client);
    misbehave = bad;
    await refusalOf(client.finish(query, started));
  });

  it('refuses an email the issuer has not verified', async () => {
    const client = signIn();
    const { started, query } = await authorized(client);
    misbehave = { emailVerified: false };
    expect(await refusalOf(client.finish(query, started))).toBe('email-not-verified');
  });

  it('refuses a missing or other state', async () => {
    const client = signIn();
    const { started, query } = await authorized(client);
    await refusalOf(client.finish(new URLSearchParams({ code: query.get('code')! }), started));
    const second = await authorized(client);
    await refusalOf(client.finish(new URLSearchParams({ code: second.query.get('code')!, state: 'forged' }), second.started));
  });

  it('refuses a wrong PKCE verifier and a code used twice (the issuer says invalid_grant)', async () => {
    const client = signIn();
    const { started, query } = await authorized(client);
    expect(await refusalOf(client.finish(query, { ...started, codeVerifier: 'x'.repeat(43) }))).toBe('token-invalid_grant');
    const fresh = await authorized(client);
    await client.finish(fresh.query, fresh.started);
    expect(await refusalOf(client.finish(fresh.query, fresh.started))).toBe('token-invalid_grant');
  });

  it('refuses an error the issuer sends back instead of a code', async () => {
    const client = signIn();
    const { started } = await authorized(client);
    expect(await refusalOf(client.finish(new URLSearchParams({ error: 'access_denied', state: started.state }), started))).toBe(
      'authorization-access_denied',
    );
  });
});

describe('console sign-out at the IdP', () => {
  afterEach(() => {
    publishEndSession = false;
  });

  it("sends the browser to the issuer's end_session_endpoint with client_id and post_logout_redirect_uri", async () => {
    publishEndSession = true;
    const url = new URL((await signIn().endSessionUrl())!);
    expect(`${url.origin}${url.pathname}`).toBe(`${issuer}/session/end`);
    expect(Object.fromEntries(url.searchParams)).toEqual({ client_id: CLIENT_ID, post_logout_redirect_uri: BACK });
  });

  it('has no IdP sign-out where the issuer publishes none', async () => {
    const client = signIn();
    await expect(client.endSessionUrl()).resolves.toBeUndefined();
    expect(client.signOutOrigin).toBe(issuer);
  });

  it("uses Cognito's /logout (client_id, logout_uri) where it is configured, and still verifies sign-ins", async () => {
    const client = signIn('https://lockbox.auth.eu-west-1.amazoncognito.com/logout');
    const url = new URL((await client.endSessionUrl())!);
    expect(`${url.origin}${url.pathname}`).toBe('https://lockbox.auth.eu-west-1.amazoncognito.com/logout');
    expect(Object.fromEntries(url.searchParams)).toEqual({ client_id: CLIENT_ID, logout_uri: BACK });
    expect(client.signOutOrigin).toBe('https://lockbox.auth.eu-west-1.amazoncognito.com');
    const { started, query } = await authorized(client);
    await expect(client.finish(query, started)).resolves.toMatchObject({ email: 'carol@demo.example' });
    // A rogue signature is refused as without the logout URL (the same checks on the rebuilt configuration).
    const plain = signIn();
    const [again, other] = [await authorized(client), await authorized(plain)];
    misbehave = { rogue: true };
    const code = await refusalOf(client.finish(again.query, again.started));
    expect(code).toBe(await refusalOf(plain.finish(other.query, other.started)));
  });
});
