import * as client from 'openid-client';
import type { SignIn } from '../domain/console-session';

/**
 * Sign-in with OpenID Connect (authorization code + PKCE) through `openid-client`, the same code
 * against Cognito, the customer's own issuer, and local mode's oidc-provider.
 *
 * What is checked before anyone counts as signed in: the authorization response's `state` (and
 * `iss`, when the issuer sends it) against the sign-in transaction; the code is redeemed with the
 * PKCE verifier; the ID token's signature against the issuer's published keys (JWKS), its `iss`,
 * `aud` (this client), `exp`, `iat` and `nonce`; then the email must be verified by the issuer.
 * The issuer's metadata is discovered once per container.
 *
 * Sign-out ends the IdP's session too (RP-Initiated Logout: the browser goes to the issuer's
 * `end_session_endpoint` with `client_id` and a registered `post_logout_redirect_uri`), or
 * Cognito's `/logout` (`client_id`, `logout_uri`), which Cognito's discovery does not publish.
 */
export interface OidcSettings {
  issuer: string;
  clientId: string;
  /**
   * A confidential client's secret (or how to fetch it: Secrets Manager on AWS); without it the
   * client is public and PKCE alone binds the code to this browser.
   */
  clientSecret?: string | (() => Promise<string>);
  redirectUri: string;
  /** The ID token claim that lists the person's groups (Cognito: `cognito:groups`). */
  groupsClaim: string;
  /** Where the IdP sends the browser back after its sign-out (registered with the IdP). */
  postLogoutRedirectUri: string;
  /** Cognito's `https://<domain>/logout`: its end-session endpoint, which its discovery omits. */
  logoutUrl?: string;
}

/** Why a sign-in was refused, in words a person can act on; `code` goes to the log. */
export class SignInRefused extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'SignInRefused';
  }
}

export interface SignInStart {
  url: string;
  state: string;
  nonce: string;
  codeVerifier: string;
}

const SCOPE = 'openid email profile';

/** Plain http only for an issuer on this machine (local mode, tests); anything else must be https. */
const isLoopback = (url: URL) => url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);

export class OidcSignIn {
  private configuration?: Promise<client.Configuration>;

  constructor(private readonly settings: OidcSettings) {}

  private config(): Promise<client.Configuration> {
    this.configuration ??= this.discover().catch((error: unknown) => {
      this.configuration = undefined; // try again on the next sign-in
      throw error;
    });
    return this.configuration;
  }

  private async discover(): Promise<client.Configuration> {
    const issuer = new URL(this.settings.issuer);
    const options = isLoopback(issuer) ? { execute: [client.allowInsecureRequests] } : undefined;
    const { clientSecret } = this.settings;
    const secret = typeof clientSecret === 'function' ? await clientSecret() : clientSecret;
    const auth = secret ? client.ClientSecretPost(secret) : client.None();
    let config = await client.discovery(issuer, this.settings.clientId, undefined, auth, options);
    if (this.settings.logoutUrl) {
      const { supportsPKCE: _helper, ...metadata } = config.serverMetadata();
      config = new client.Configuration(
        { ...metadata, end_session_endpoint: this.settings.logoutUrl },
        this.settings.clientId,
        undefined,
        auth,
      );
      if (options) client.allowInsecureRequests(config);
    }
    // Verify the ID token's signature too, not only that it came over TLS from the token endpoint.
    client.enableNonRepudiationChecks(config);
    return config;
  }

  /** Where to send the browser, and what the callback must find again. */
  async start(): Promise<SignInStart> {
    const config = await this.config();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUri,
      scope: SCOPE,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url: url.href, state, nonce, codeVerifier };
  }

  /** The origin the browser goes to for the IdP's sign-out (the console's CSP lets its form go there). */
  get signOutOrigin(): string {
    return new URL(this.settings.logoutUrl ?? this.settings.issuer).origin;
  }

  /** Where to send the browser to end the IdP's session too; undefined when the issuer has no end-session endpoint. */
  async endSessionUrl(): Promise<string | undefined> {
    const config = await this.config();
    if (!config.serverMetadata().end_session_endpoint) return undefined;
    const back = this.settings.postLogoutRedirectUri;
    // openid-client adds client_id; Cognito's /logout names the way back `logout_uri`.
    return client.buildEndSessionUrl(config, this.settings.logoutUrl ? { logout_uri: back } : { post_logout_redirect_uri: back }).href;
  }

  /** The callback: redeems the code and returns the verified person, or throws SignInRefused. */
  async finish(query: URLSearchParams, expected: { state: string; nonce: string; codeVerifier: string }): Promise<SignIn> {
    const config = await this.config();
    const callback = new URL(this.settings.redirectUri);
    callback.search = query.toString();
    let claims: client.IDToken | undefined;
    try {
      const tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: expected.codeVerifier,
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims();
    } catch (error) {
      throw refusal(error);
    }
    if (!claims) throw new SignInRefused('The sign-in returned no ID token.', 'no-id-token');
    const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : undefined;
    // Cognito sends email_verified as a boolean; some federated issuers send the string.
    const verified = claims.email_verified === true || claims.email_verified === 'true';
    if (!email || !verified) {
      throw new SignInRefused(
        'Your sign-in did not come with a verified email address, so Lockbox cannot tell who you are.',
        'email-not-verified',
      );
    }
    const raw = claims[this.settings.groupsClaim];
    // An array (Cognito's cognito:groups, most IdPs), or one string as Cognito passes a federated
    // IdP's groups through a custom attribute: "[a, b]" or "a,b".
    const groups = Array.isArray(raw)
      ? raw.filter((group): group is string => typeof group === 'string')
      : typeof raw === 'string'
        ? raw
            .replace(/^\[|\]$/g, '')
            .split(',')
            .map((group) => group.trim())
            .filter(Boolean)
        : [];
    return { issuer: claims.iss, subject: claims.sub, email, groups };
  }
}

/** What openid-client found wrong, as a refusal. Messages name the check, never a token. */
function refusal(error: unknown): SignInRefused {
  if (error instanceof client.AuthorizationResponseError) {
    return new SignInRefused(`The sign-in service refused: ${error.error}.`, `authorization-${error.error}`);
  }
  if (error instanceof client.ResponseBodyError) {
    // invalid_grant: a code used before, expired, or a PKCE verifier that does not match.
    return new SignInRefused('The sign-in could not be completed (the code was refused). Sign in again.', `token-${error.error}`);
  }
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return new SignInRefused(
    'The sign-in could not be verified. Sign in again.',
    `${typeof code === 'string' ? code : 'error'}: ${message}`.slice(0, 300),
  );
}
