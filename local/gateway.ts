import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { LOCAL_ACCOUNT } from './net';

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
  { resource: '/tenants/{id}', methods: ['GET', 'PUT'], handler: 'api-tenants' },
  { resource: '/tenants/{id}/audit', methods: ['GET'], handler: 'api-tenants' },
  { resource: '/approvals/{token}', methods: ['GET', 'HEAD', 'POST'], handler: 'api-approvals', public: true },
];

/** A response of the local-mode pages under `/_local`. */
export interface PlainResponse {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

export type LocalPage = (request: { path: string; query: URLSearchParams; headers: IncomingMessage['headers'] }) => Promise<PlainResponse>;

export interface GatewayOptions {
  port: number;
  /** Handler name → function; set when local mode is ready (until then: 503). */
  functions?: Record<string, (event: APIGatewayProxyEvent) => Promise<unknown>>;
  /** Pages under `/_local/` by path (e.g. `/_local/outbox`); a key ending in `/*` matches a prefix. */
  pages?: Record<string, LocalPage>;
  /** One line per request (method, path, status, time, who); none when absent. */
  log?: (line: string) => void;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024; // API Gateway's payload limit

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
    const server = createServer((req, res) => {
      this.serve(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, { 'content-type': 'application/json' }, JSON.stringify({ message: 'Local gateway error', detail: String(error) }));
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, '127.0.0.1', () => resolve());
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
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    const finish = (status: number): void => {
      if (path === '/_local/health') return;
      this.options.log?.(`${method} ${path.length > 60 ? `${path.slice(0, 57)}...` : path} -> ${status} ${Date.now() - started} ms${req.headers[PRINCIPAL_HEADER] ? ` as ${String(req.headers[PRINCIPAL_HEADER]).split('/').pop()}` : ''}`);
    };

    if (body === undefined) {
      send(res, 413, { 'content-type': 'application/json' }, JSON.stringify({ message: 'Request Entity Too Large' }));
      return finish(413);
    }
    if (path === '/' && (method === 'GET' || method === 'HEAD')) {
      send(res, 302, { location: '/_local' }, '');
      return finish(302);
    }
    if (path === '/_local' || path.startsWith('/_local/')) {
      const page = this.pages[path] ?? Object.entries(this.pages).find(([key]) => key.endsWith('/*') && path.startsWith(key.slice(0, -1)))?.[1];
      if (!page || (method !== 'GET' && method !== 'HEAD')) {
        send(res, 404, { 'content-type': 'application/json' }, JSON.stringify({ message: `No local page ${method} ${path}` }));
        return finish(404);
      }
      const result = await page({ path, query: url.searchParams, headers: req.headers });
      send(res, result.status, { 'cache-control': 'no-store', ...result.headers }, result.body);
      return finish(result.status);
    }

    // API Gateway answers an unknown route or method, and an unsigned call to an AWS_IAM route,
    // with 403 "Missing Authentication Token"; local mode adds a hint beside the message.
    const missingToken = (hint: string) => {
      send(res, 403, { 'content-type': 'application/json', 'x-amzn-errortype': 'MissingAuthenticationTokenException' }, JSON.stringify({ message: 'Missing Authentication Token', localMode: hint }));
      return finish(403);
    };
    const match = matchRoute(path);
    if (!match) return missingToken(`no route ${method} ${path}`);
    if (!match.route.methods.includes(method)) return missingToken(`${match.route.resource} takes ${match.route.methods.join(', ')}`);
    const principal = headerValue(req.headers[PRINCIPAL_HEADER]);
    if (!match.route.public && !principal) return missingToken(`name the caller in the ${PRINCIPAL_HEADER} header`);
    const fn = this.functions?.[match.route.handler];
    if (!fn) {
      send(res, 503, { 'content-type': 'application/json', 'retry-after': '1' }, JSON.stringify({ message: 'Lockbox local mode is starting' }));
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
      console.error(`local gateway: ${match.route.handler} failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      send(res, 502, { 'content-type': 'application/json' }, JSON.stringify({ error: { code: 'INTERNAL', message: 'Internal server error' } }));
      return finish(502);
    }
    const headers: Record<string, string | string[]> = {};
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
    if (template.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
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

function toEvent(req: IncomingMessage, url: URL, path: string, method: string, body: Buffer, match: RouteMatch, principal: string | undefined): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const value = req.rawHeaders[i + 1];
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
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
