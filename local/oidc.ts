import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';
import { CONSOLE_PERSONAS } from './seed';

/**
 * Local mode's sign-in: a real OpenID Provider (`oidc-provider`, a certified implementation) on
 * 127.0.0.1, with the seeded customer personas as its accounts. The console signs in against it
 * exactly as against Cognito: discovery, authorization code + PKCE, an RS256 ID token verified
 * against its JWKS.
 *
 * Signing in: its development login page asks for a login and a password; the login is the
 * persona's email and any password is accepted (local mode only — there is no password to
 * remember). An unknown login cannot sign in. Consent is given on the persona's behalf.
 */
export const CONSOLE_CLIENT_ID = 'lockbox-console-local';

export interface LocalOidc {
  issuer: string;
  clientId: string;
  stop(): Promise<void>;
}

const byEmail = new Map<string, (typeof CONSOLE_PERSONAS)[keyof typeof CONSOLE_PERSONAS]>(
  Object.values(CONSOLE_PERSONAS).map((persona) => [persona.email, persona]),
);

export async function startOidc(options: { consoleBaseUrl: string; port?: number }): Promise<LocalOidc> {
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const issuer = `http://localhost:${(server.address() as AddressInfo).port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const configuration: Configuration = {
    clients: [
      {
        client_id: CONSOLE_CLIENT_ID,
        token_endpoint_auth_method: 'none',
        redirect_uris: [`${options.consoleBaseUrl}/console/callback`],
        post_logout_redirect_uris: [`${options.consoleBaseUrl}/console/signed-out`],
        response_types: ['code'],
        grant_types: ['authorization_code'],
      },
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
    // The ID token carries email and groups itself, as Cognito's does.
    conformIdTokenClaims: false,
    jwks: { keys: [{ ...(privateKey.export({ format: 'jwk' }) as object), kid: 'local-1', alg: 'RS256', use: 'sig' }] as never },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      // The console's sign-out ends this session too (RP-Initiated Logout), after the IdP asks.
      rpInitiatedLogout: { enabled: true, logoutSource },
    },
    ttl: { IdToken: 600, AccessToken: 600, Session: 3600, Interaction: 600, Grant: 3600 },
    async findAccount(_ctx, id) {
      const persona = byEmail.get(id.trim().toLowerCase());
      if (!persona) return undefined;
      return {
        accountId: persona.email,
        claims: async () => ({
          sub: persona.email,
          email: persona.email,
          email_verified: true,
          name: persona.name,
          groups: [...persona.groups],
        }),
      };
    },
    // Consent on the persona's behalf: the console asks only for who they are.
    async loadExistingGrant(ctx) {
      const accountId = ctx.oidc.session?.accountId;
      if (!accountId || !ctx.oidc.client) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  };
  const provider = withoutDevWarnings(() => new Provider(issuer, configuration));
  // An unknown login is refused at the login step, not later at the token endpoint.
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && /^\/interaction\/[^/]+$/.test(ctx.path)) {
      const body = await readForm(ctx.req);
      if (body.prompt === 'login' && !byEmail.has((body.login ?? '').trim().toLowerCase())) {
        ctx.status = 400;
        ctx.type = 'html';
        ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unknown persona</title></head><body><h1>Unknown persona</h1><p>Local mode knows these logins: ${[...byEmail.keys()].join(', ')}.</p><p><a href="${ctx.path}">Try again</a></p></body></html>`;
        return;
      }
      (ctx.req as { body?: unknown }).body = body;
    }
    await next();
  });
  server.on('request', provider.callback());
  return {
    issuer,
    clientId: CONSOLE_CLIENT_ID,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The IdP's "sign out here too?" page: plain, no third-party stylesheet (oidc-provider's default loads one). */
async function logoutSource(ctx: { body: unknown; type: string }, form: string): Promise<void> {
  ctx.type = 'html';
  ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign out</title></head><body><h1>Sign out of the local sign-in too?</h1>${form}<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button> <button type="submit" form="op.logoutForm">No, stay signed in</button></body></html>`;
}

async function readForm(req: AsyncIterable<unknown>): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

/**
 * oidc-provider warns, rightly, that its in-memory store and its development login page are not
 * for production. Here they are the point (a local stand-in for the customer's IdP, documented in
 * docs/local-mode.md), so those two known warnings are kept out of local mode's start-up
 * warnings, which list only where local mode cannot stand in for the deployment. Any other
 * warning still goes through.
 */
function withoutDevWarnings<T>(build: () => T): T {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    const text = args.map(String).join(' ');
    if (/oidc-provider WARNING: a quick start development-only (in-memory adapter|feature devInteractions)/.test(text)) return;
    warn(...args);
  };
  try {
    return build();
  } finally {
    console.warn = warn;
  }
}
