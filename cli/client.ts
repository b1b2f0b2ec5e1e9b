import { CliError, EXIT } from './errors';
import type { Settings } from './settings';
import type { Credentials } from './sigv4';

/**
 * The API over HTTPS. Signs each call with SigV4 from the standard AWS credential chain — or, in
 * local mode (`--local-as`), names the caller in local mode's `x-lockbox-principal` header instead.
 * Every failure becomes a CliError with the exit code of its kind and the API's own error code
 * and message. The AWS SDK is loaded only when a call is signed, so local mode starts faster.
 */
export const PRINCIPAL_HEADER = 'x-lockbox-principal';
const TIMEOUT_MS = 30_000;
const ATTEMPTS = 4;

export interface ApiResponse<T> {
  status: number;
  body: T;
}

export interface CallOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
}

export class Api {
  private credentials?: Promise<Credentials>;

  constructor(
    readonly settings: Settings,
    private readonly debug: (line: string) => void = () => undefined,
  ) {}

  async call<T = any>(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse<T>> {
    const url = new URL(this.settings.endpoint.href.replace(/\/+$/, '') + path);
    for (const [name, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(name, value);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    for (let attempt = 1; ; attempt++) {
      const headers = await this.headers(method, url, body);
      const started = Date.now();
      let response: Response;
      try {
        response = await fetch(url, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
      } catch (error) {
        // Only reads are retried after a network failure: a write may have been committed.
        if (method === 'GET' && attempt < ATTEMPTS) {
          await backoff(attempt);
          continue;
        }
        throw unreachable(this.settings.endpoint, error);
      }
      const text = await response.text();
      this.debug(
        `${method} ${url.pathname}${url.search} -> ${response.status} (${Date.now() - started} ms, ${response.headers.get('x-amzn-requestid') ?? 'no request id'})`,
      );
      // 429 and 503 (THROTTLED) commit nothing: safe to repeat, after the server's Retry-After.
      if ((response.status === 429 || response.status === 503) && attempt < ATTEMPTS) {
        await sleep(retryAfterMs(response.headers.get('retry-after'), attempt));
        continue;
      }
      const parsed = parseJson(text);
      if (response.ok) return { status: response.status, body: parsed as T };
      throw apiError(response, parsed, text, this.settings);
    }
  }

  /** Every item of a paged list (`{items, nextToken}`), page after page, as they arrive. */
  async *items<T = any>(path: string, query: Record<string, string | undefined> = {}): AsyncGenerator<T> {
    let nextToken: string | undefined;
    do {
      const { body } = await this.call<{ items: T[]; nextToken?: string }>('GET', path, { query: { ...query, nextToken } });
      yield* body.items ?? [];
      nextToken = body.nextToken;
    } while (nextToken);
  }

  private async headers(method: string, url: URL, body: string | undefined): Promise<Record<string, string>> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'lockbox-cli' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.settings.localPrincipal) return { ...headers, [PRINCIPAL_HEADER]: this.settings.localPrincipal };
    const region = this.settings.region;
    if (!region) {
      throw new CliError(
        EXIT.usage,
        isLocal(this.settings.endpoint)
          ? 'this is a local endpoint: local mode takes no signature, name the caller with --local-as <persona> (alice, bob, carol, erin, olivia) or an ARN'
          : "no region to sign for: pass --region, set AWS_REGION, or use the API's execute-api URL as the endpoint",
      );
    }
    const credentials = await this.awsCredentials();
    const { signRequest } = require('./sigv4') as typeof import('./sigv4'); // lazy: the signer loads only to sign
    return signRequest({ method, url, headers, body }, credentials, region);
  }

  /**
   * The caller's AWS credentials from the standard chain (env, profile, SSO, web identity,
   * container, instance role), resolved once per run: they sign the calls, and `credentials`
   * assumes the granted role with them.
   */
  awsCredentials(): Promise<Credentials> {
    this.credentials ??= (async () => {
      const { fromNodeProviderChain } = require('@aws-sdk/credential-providers') as typeof import('@aws-sdk/credential-providers'); // lazy: the SDK costs start-up time
      return fromNodeProviderChain(this.settings.profile ? { profile: this.settings.profile } : {})();
    })().catch((error: unknown) => {
      throw credentialsError(error, this.settings.profile);
    });
    return this.credentials;
  }
}

function credentialsError(error: unknown, profile: string | undefined): CliError {
  const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
  const expired = /expired|refresh/i.test(message);
  return new CliError(
    EXIT.credentials,
    expired
      ? `your AWS credentials${profile ? ` (profile ${profile})` : ''} have expired: ${message} — sign in again (e.g. aws sso login${profile ? ` --profile ${profile}` : ''})`
      : `no AWS credentials found${profile ? ` for profile ${profile}` : ''} (environment, profile, SSO, instance role): ${message} — or, against local mode, use --local-as <persona>`,
    error,
  );
}

function unreachable(endpoint: URL, error: unknown): CliError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why =
    (error as Error).name === 'TimeoutError'
      ? `no answer in ${TIMEOUT_MS / 1000} s`
      : (cause?.code ?? cause?.message ?? (error as Error).message);
  const hint = isLocal(endpoint) ? ' — is local mode running (npm start)?' : '';
  return new CliError(EXIT.unavailable, `cannot reach ${endpoint.origin}: ${why}${hint}`, error);
}

const isLocal = (endpoint: URL) => ['localhost', '127.0.0.1'].includes(endpoint.hostname);

/**
 * The API and its gateway answer `{"error": {code, message, details}}` (gateway refusals too,
 * lib/api-inputs.ts); an API Gateway without those responses answers `{"message"}` with
 * `x-amzn-errortype`. Both are understood. A 401 is a credentials problem — or, as API Gateway
 * cannot tell them apart, a route this deployment does not have.
 */
function apiError(response: Response, parsed: unknown, text: string, settings: Settings): CliError {
  const status = response.status;
  const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
  const debug = { status, body: parsed ?? text, requestId: response.headers.get('x-amzn-requestid') ?? undefined };
  if (error?.code) {
    const code = status === 401 ? EXIT.credentials : status >= 500 ? EXIT.unavailable : EXIT.refused;
    const localHint = (error.details as { localMode?: string } | undefined)?.localMode;
    const hint = localHint
      ? ` — local mode: ${localHint}${settings.localPrincipal ? '' : ' (or add --local-as <persona>)'}`
      : status === 401
        ? ' — check your AWS credentials, and that --endpoint includes the stage (e.g. /v1)'
        : '';
    return new CliError(
      code,
      `${error.code}: ${error.message ?? 'no message'}${localHint ? '' : describeDetails(error.details)}${hint}`,
      debug,
    );
  }
  const gatewayMessage = (parsed as { message?: string } | undefined)?.message ?? (text.trim().slice(0, 200) || `HTTP ${status}`);
  const type = response.headers.get('x-amzn-errortype')?.split(':')[0];
  if (status === 403 || status === 401) {
    const hint =
      type === 'MissingAuthenticationTokenException'
        ? settings.localPrincipal
          ? ' — no such route on this endpoint'
          : isLocal(settings.endpoint)
            ? ' — local mode takes no signature: add --local-as <persona>'
            : ' — the call was not signed, or the route does not exist: check --endpoint (it includes the stage, e.g. /v1)'
        : '';
    return new CliError(EXIT.credentials, `${type ?? 'UNAUTHENTICATED'}: ${gatewayMessage}${hint}`, debug);
  }
  return new CliError(status >= 500 ? EXIT.unavailable : EXIT.refused, `${type ?? `HTTP ${status}`}: ${gatewayMessage}`, debug);
}

/** The details a person needs on the one line: which field, what is allowed, the current status. */
function describeDetails(details: unknown): string {
  if (!details || typeof details !== 'object') return '';
  const d = details as Record<string, unknown>;
  const parts: string[] = [];
  if (Array.isArray(d.issues))
    parts.push(...d.issues.slice(0, 3).map((issue: { path?: string; message?: string }) => `${issue.path || 'body'}: ${issue.message}`));
  if (typeof d.field === 'string' && !Array.isArray(d.issues)) parts.push(`field ${d.field}`);
  if (Array.isArray(d.allowed)) parts.push(`allowed: ${d.allowed.join(', ')}`);
  if (typeof d.status === 'string') parts.push(`status ${d.status}`);
  return parts.length ? ` (${parts.join('; ')})` : '';
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function retryAfterMs(header: string | null, attempt: number): number {
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 10) * 1000 : 250 * 2 ** attempt;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const backoff = (attempt: number) => sleep(Math.random() * 250 * 2 ** attempt);
