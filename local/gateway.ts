import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import {
  GATEWAY_ERRORS,
  type GatewayError,
  gatewayErrorBody,
  HEADERS_TOO_LARGE,
  RETRY_AFTER_SECONDS,
} from '../lambdas/core/http/gateway-errors';
import { LISTEN_BACKLOG, LOCAL_ACCOUNT, LOCAL_SERVER } from './net';

/**
 * The local API Gateway: turns HTTP requests into API Gateway REST proxy events for the bundled
 * handlers, and their results back into HTTP. The routes are those of docs/architecture.md.
 *
 * Who is calling: on AWS, API Gateway verifies the SigV4 signature (AWS_IAM) and fills
 * `requestContext.identity.userArn`. Here the caller NAMES a principal in the `x-lockbox-principal`
 * header and is believed — a local-mode convenience that exists nowhere else. The server listens on
 * 127.0.0.1 only.
 */
export const PRINCIPAL_HEADER = 'x-lockbox-principal';

export interface Route {
  resource: string;
  methods: string[];
  /** The handler (bundle name) serving it. */
  handler: string;
  /** Public routes (approval links) need no principal. */
  public?: boolean;
}

export const ROUTES: Route[] = [
  { resource: '/requests', methods: ['GET', 'POST'], handler: 'api-requests' },
  { resource: '/requests/{id}', methods: ['GET'], handler: 'api-requests' },
  { resource: '/requests/{id}/manager-decision', methods: ['POST'], handler: 'api-requests' },
  { resource: '/requests/{id}/customer-decision', methods: ['POST'], handler: 'api-requests' },
  { resource: '/requests/{id}/cancel', methods: ['POST'], handler: 'api-requests' },
  { resource: '/requests/{id}/revoke', methods: ['POST'], handler: 'api-requests' },
  { resource: '/tenants', methods: ['GET', 'POST'], handler: 'api-tenants' },
  { resource: '/tenants/{id}', methods: ['GET', 'PUT'], handler: 'api-tenants' },
  { resource: '/tenants/{id}/audit', methods: ['GET'], handler: 'api-tenants' },
  { resource: '/tenants/{id}/audit/digests', methods: ['GET'], handler: 'api-tenants' },
  { resource: '/tenants/{id}/audit/verify', methods: ['GET'], handler: 'api-tenants' },
  { resource: '/approvals/{token}', methods: ['GET', 'HEAD', 'POST'], handler: 'api-approvals', public: true },
  // The console: public to the gateway, the signed session cookie is the credential.
  { resource: '/console', methods: ['GET', 'HEAD', 'POST'], handler: 'console', public: true },
  { resource: '/console/{proxy+}', methods: ['GET', 'HEAD', 'POST'], handler: 'console', public: true },
];

/** A response of the local-mode pages under `/_local`. */
export interface PlainResponse {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

export type LocalPage = (request: {
  path: string;
  method: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
}) => Promise<PlainResponse>;

export interface GatewayOptions {
  port: number;
  /** Handler name → function; set when local mode is ready (until then: 503). */
  functions?: Record<string, (event: APIGatewayProxyEvent) => Promise<unknown>>;
  /** Pages under `/_local/` by path (e.g. `/_local/outbox`); a key ending in `/*` matches a prefix. */
  pages?: Record<string, LocalPage>;
  /** One line per request (method, path, status, time, who); none when absent. */
  log?: (line: string) => void;
  /** Whether a call to a route may start now (waits its turn); false answers 503 THROTTLED. @default always */
  admit?: (resource: string, method: string) => Promise<boolean>;
}

const AT_CAPACITY: GatewayError = {
  status: 503,
  code: 'THROTTLED',
  message: 'Lockbox local mode is at capacity; nothing was changed. Try again in a moment.',
};
const MAX_BODY_BYTES = 10 * 1024 * 1024; // API Gateway's payload limit
const MAX_HEADER_BYTES = 10 * 1024; // API Gateway's limit on the request line and headers together
const JSON_TYPE = { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

export class LocalGateway {
  private server?: Server;
  functions?: GatewayOptions['functions'];
  pages: Record<string, LocalPage>;

  constructor(private readonly options: GatewayOptions) {
    this.functions = options.functions;
    this.pages = options.pages ?? {};
  }

  /** Listens on 127.0.0.1; returns the port (useful with port 0). */
  async listen(): Promise<number> {
    const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES, ...LOCAL_SERVER }, (req, res) => {
      this.serve(req, res).catch((error: unknown) => {
        console.error(`local gateway: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
        if (!res.headersSent) refuse(res, GATEWAY_ERRORS.DEFAULT_5XX);
      });
    });
    // Refused by Node's HTTP parser before any request exists: headers too large (431), or a
    // request that is not HTTP. Answered in the API's error format all the same.
    server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      const refusal = error.code === 'HPE_HEADER_OVERFLOW' ? HEADERS_TOO_LARGE : GATEWAY_ERRORS.DEFAULT_4XX;
      const body = gatewayErrorBody(refusal);
      const reason = refusal.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
      socket.end(
        `HTTP/1.1 ${refusal.status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.options.port, host: '127.0.0.1', backlog: LISTEN_BACKLOG }, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    // Appended, not resolved against a base: a request target such as `//x` would otherwise be
    // read as a host name (and `//` alone throws).
    const url = new URL(`http://localhost${req.url?.startsWith('/') ? req.url : '/'}`);
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    const finish = (status: number): void => {
      if (path === '/_local/health') return;
      // A link's token is its credential: logged as the route, like API Gateway's access log.
      const shown = path.startsWith('/approvals/') ? '/approvals/{token}' : path;
      this.options.log?.(
        `${method} ${shown.length > 60 ? `${shown.slice(0, 57)}...` : shown} -> ${status} ${Date.now() - started} ms${req.headers[PRINCIPAL_HEADER] ? ` as ${String(req.headers[PRINCIPAL_HEADER]).split('/').pop()}` : ''}`,
      );
    };

    if (body === undefined) {
      refuse(res, GATEWAY_ERRORS.REQUEST_TOO_LARGE, undefined, { connection: 'close' });
      return finish(413);
    }
    if (path === '/' && (method === 'GET' || method === 'HEAD')) {
      send(res, 302, { location: '/_local' }, '');
      return finish(302);
    }
    if (path === '/_local' || path.startsWith('/_local/')) {
      const page =
        (Object.hasOwn(this.pages, path) ? this.pages[path] : undefined) ??
        Object.entries(this.pages).find(([key]) => key.endsWith('/*') && path.startsWith(key.slice(0, -1)))?.[1];
      if (!page || !['GET', 'HEAD', 'POST'].includes(method)) {
        refuse(res, GATEWAY_ERRORS.RESOURCE_NOT_FOUND, { localMode: `no local page ${method} ${path}` });
        return finish(404);
      }
      const result = await page({ path, method, query: url.searchParams, headers: req.headers });
      send(res, result.status, { 'cache-control': 'no-store', ...result.headers }, result.body);
      return finish(result.status);
    }

    // API Gateway cannot tell an unknown route or method from an unsigned call to an AWS_IAM
    // route (both MISSING_AUTHENTICATION_TOKEN, answered 401: see gateway-errors.ts); local mode
    // answers the same and says which it was.
    const unauthenticated = (hint: string) => {
      refuse(res, GATEWAY_ERRORS.MISSING_AUTHENTICATION_TOKEN, { localMode: hint });
      return finish(401);
    };
    const match = matchRoute(path);
    if (!match) return unauthenticated(`no route ${method} ${path}`);
    if (!match.route.methods.includes(method)) return unauthenticated(`${match.route.resource} takes ${match.route.methods.join(', ')}`);
    const principal = headerValue(req.headers[PRINCIPAL_HEADER]);
    if (!match.route.public && !principal) return unauthenticated(`name the caller in the ${PRINCIPAL_HEADER} header`);
    const fn = this.functions?.[match.route.handler];
    if (!fn) {
      refuse(res, { status: 503, code: 'THROTTLED', message: 'Lockbox local mode is starting' }, undefined, {
        'retry-after': String(RETRY_AFTER_SECONDS),
      });
      return finish(503);
    }
    if (this.options.admit && !(await this.options.admit(match.route.resource, method))) {
      refuse(res, AT_CAPACITY, undefined, { 'retry-after': String(RETRY_AFTER_SECONDS) });
      return finish(503);
    }
    const event = toEvent(req, url, path, method, body, match, principal);
    let result: APIGatewayProxyResult;
    try {
      result = (await fn(event)) as APIGatewayProxyResult;
      if (!result || typeof result.statusCode !== 'number') throw new Error('the handler returned no statusCode');
    } catch (error) {
      // API Gateway's answer to a failed or malformed Lambda proxy response, in the API's error
      // shape as the deployed gateway response (DEFAULT_5XX) writes it.
      console.error(
        `local gateway: ${match.route.handler} failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
      );
      refuse(res, { ...GATEWAY_ERRORS.DEFAULT_5XX, status: 502 });
      return finish(502);
    }
    const headers: Record<string, string | string[]> = Object.create(null);
    for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
    for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) headers[name] = values.map(String);
    const payload = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? '');
    send(res, result.statusCode, headers, payload);
    return finish(result.statusCode);
  }
}

interface RouteMatch {
  route: Route;
  pathParameters: Record<string, string>;
}

export function matchRoute(path: string): RouteMatch | undefined {
  const segments = path.split('/').slice(1);
  for (const route of ROUTES) {
    const template = route.resource.split('/').slice(1);
    const pathParameters: Record<string, string> = Object.create(null);
    // A greedy `{name+}` (API Gateway's proxy resource) takes one or more remaining segments.
    const greedy = template.at(-1)?.match(/^\{(\w+)\+\}$/);
    if (greedy) {
      const fixed = template.slice(0, -1);
      if (segments.length <= fixed.length || !fixed.every((part, index) => part === segments[index])) continue;
      const rest = segments.slice(fixed.length);
      if (rest.some((segment) => segment === '')) continue;
      pathParameters[greedy[1]] = rest.map(safeDecode).join('/');
      return { route, pathParameters };
    }
    if (template.length !== segments.length) continue;
    const matches = template.every((part, index) => {
      const segment = segments[index];
      if (part.startsWith('{') && part.endsWith('}')) {
        if (!segment) return false;
        pathParameters[part.slice(1, -1)] = safeDecode(segment);
        return true;
      }
      return part === segment;
    });
    if (matches) return { route, pathParameters };
  }
  return undefined;
}

function toEvent(
  req: IncomingMessage,
  url: URL,
  path: string,
  method: string,
  body: Buffer,
  match: RouteMatch,
  principal: string | undefined,
): APIGatewayProxyEvent {
  // Null-prototype maps: a header or query parameter named `__proto__`, `constructor` or
  // `toString` is a name like any other, never an inherited member.
  const headers: Record<string, string> = Object.create(null);
  const multiValueHeaders: Record<string, string[]> = Object.create(null);
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const value = req.rawHeaders[i + 1];
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query: Record<string, string> = Object.create(null);
  const multiQuery: Record<string, string[]> = Object.create(null);
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    (multiQuery[name] ??= []).push(value);
  }
  const hasQuery = Object.keys(query).length > 0;
  const now = new Date();
  const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  return {
    resource: match.route.resource,
    path,
    httpMethod: method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: Object.keys(match.pathParameters).length ? match.pathParameters : null,
    stageVariables: null,
    body: body.length ? body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: LOCAL_ACCOUNT,
      apiId: 'local',
      authorizer: null,
      protocol: `HTTP/${req.httpVersion}`,
      httpMethod: method,
      path: `/local${path}`,
      stage: 'local',
      requestId: randomUUID(),
      requestTimeEpoch: now.getTime(),
      resourceId: 'local',
      resourcePath: match.route.resource,
      domainName: headerValue(req.headers.host),
      identity: {
        accessKey: null,
        accountId: principal ? (principal.split(':')[4] ?? null) : null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp,
        user: null,
        userAgent: headerValue(req.headers['user-agent']) ?? null,
        userArn: match.route.public ? null : (principal ?? null),
      },
    },
  } as APIGatewayProxyEvent;
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A refusal of the gateway itself, in the API's error format. */
function refuse(res: ServerResponse, error: GatewayError, details?: Record<string, unknown>, headers: Record<string, string> = {}): void {
  send(res, error.status, { ...JSON_TYPE, ...headers }, gatewayErrorBody(error, details));
}

function send(res: ServerResponse, status: number, headers: Record<string, string | string[]>, body: string | Buffer): void {
  res.writeHead(status, headers);
  res.end(body);
}

const headerValue = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[value.length - 1] : value);

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
