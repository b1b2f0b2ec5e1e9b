import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as fc from 'fast-check';
import { ALICE, BOB, CAROL, DAVE, ERIN } from './fixtures';

/**
 * Generated API calls that must ALL be refused: each is a valid call of one route with exactly
 * one thing made wrong (unsigned, a stranger calling, a body that is not JSON or not allowed by
 * the schema, a content type other than JSON, an unknown query parameter, a crafted nextToken,
 * an id that names nothing, a forged approval link…), plus noise that must not matter (extra
 * headers, including names such as `__proto__`). So any 2xx is an accepted-invalid call, and a
 * 5xx or a body outside the error format is a bug. Shared by the in-process fuzz suite
 * (test/integration/fuzz.test.ts) and the one over HTTP (test/e2e/fuzz.test.ts).
 */
/**
 * The generator's seed: fixed by default, so CI runs the same cases every time and a red run is a
 * regression, not a new draw; `FUZZ_SEED=<n>` (or `random`) explores other cases. Found cases
 * become fixed tests (e.g. the `//` target in test/e2e/fuzz.test.ts).
 */
export function fuzzSeed(): number {
  const given = process.env.FUZZ_SEED;
  if (given === 'random') return Date.now() % 2 ** 31;
  return given ? Number(given) : 20261201;
}

export interface FuzzCase {
  method: string;
  /** The route template the gateway matched (API Gateway's `resource`). */
  resource: string;
  pathParameters: Record<string, string>;
  query: [string, string][];
  headers: [string, string][];
  body?: string;
  /** undefined: unsigned (no principal). */
  principal?: string;
  /** What was made wrong, and the status that must answer it when only one answer is right. */
  mutation: string;
  expectStatus?: number;
}

export const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString', 'prototype', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
export const STRANGER = 'arn:aws:iam::999999999999:user/mallory';
export const KNOWN = [ALICE, DAVE, BOB, CAROL, ERIN];

/** A request id that names nothing (valid format), and the seeded request's id. */
export interface FuzzWorld {
  requestId: string;
  tenantId: string;
}

const ERROR_CODES: Record<number, string> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'VALIDATION_FAILED',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'THROTTLED',
  431: 'VALIDATION_FAILED',
};

/** Why `response` is not a refusal in the documented format, or undefined when it is. */
export function notARefusal(fuzzCase: FuzzCase, status: number, contentType: string | undefined, body: string): string | undefined {
  if (status < 400 || status >= 500) return `status ${status}`;
  if (fuzzCase.expectStatus !== undefined && status !== fuzzCase.expectStatus) return `status ${status}, expected ${fuzzCase.expectStatus}`;
  if (fuzzCase.resource === '/approvals/{token}' && fuzzCase.mutation !== 'unknown-route') {
    return contentType?.startsWith('text/html') ? undefined : `approval page as ${contentType}`;
  }
  if (!contentType?.startsWith('application/json')) return `content type ${contentType}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return 'body is not JSON';
  }
  const error = (parsed as { error?: Record<string, unknown> })?.error;
  if (!error || Object.keys(parsed as object).length !== 1) return `not {"error": …}: ${body.slice(0, 200)}`;
  const keys = Object.keys(error).filter((key) => !['code', 'message', 'details'].includes(key));
  if (keys.length || typeof error.message !== 'string' || typeof error.code !== 'string')
    return `error of the wrong shape: ${body.slice(0, 200)}`;
  if (ERROR_CODES[status] !== error.code) return `code ${String(error.code)} with status ${status}`;
  return undefined;
}

// ---- generators --------------------------------------------------------------------------------

const illFormedText = fc.oneof(
  fc.constantFrom('\ud800', 'a\udfffb', 'x\u0000y', 'bell\u0007', '\u001b[31mred', 'del\u007f', 'c1\u0085', 'sep\u2028', '\ufffe'),
  fc
    .tuple(fc.string({ maxLength: 20 }), fc.constantFrom('\ud83d', '\udc00', '\u0001', '\u000b', '\u009f'))
    .map(([text, bad]) => `${text}${bad}`),
);
const anyJson = fc.jsonValue({ maxDepth: 2 });
const notAnObject = fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.boolean());
const notJson = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 40 }),
    fc.constantFrom('{', '{"a":', "{'a':1}", '[1,', '{"a":1}}', 'undefined', 'NaN', '1e400x'),
  )
  .filter((text) => {
    if (text.trim() === '') return false;
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  });
const badMediaType = fc.constantFrom(
  'text/plain',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/jsonx',
  'json',
  '',
  'application/json-patch+json',
  'text/json',
);
const goodJsonType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'Application/JSON',
  'application/json;charset=UTF-8',
);
const headerName = fc
  .oneof(fc.constantFrom(...PROTOTYPE_NAMES), fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/))
  .filter((name) => name.toLowerCase() !== 'content-type');
const noiseHeaders = fc.array(fc.tuple(headerName, fc.string({ maxLength: 30 })), { maxLength: 4 });
const queryName = fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES), fc.string({ minLength: 1, maxLength: 12 }));
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const craftedToken = fc.oneof(
  fc.constantFrom(
    b64({ tenantId: 'demo', seq: '7' }),
    b64('{"tenantId":"demo","seq":1e400}'),
    b64({ requestId: 'req-0', tenantId: 'demo' }),
    b64({ tenantId: 'demo', createdAt: 5, requestId: {} }),
    b64('{"__proto__":{"x":1}}'),
    `${b64({ v: 1, c: 'x' })}.${'A'.repeat(43)}`,
    'null',
  ),
  fc.string({ minLength: 1, maxLength: 80 }),
  fc.jsonValue({ maxDepth: 2 }).map(b64),
  fc
    .tuple(fc.jsonValue({ maxDepth: 1 }), fc.base64String({ minLength: 4, maxLength: 60 }))
    .map(([payload, mac]) => `${b64({ v: 1, c: JSON.stringify(payload) })}.${mac.replace(/=/g, '')}`),
);

/** A JSON object text with one more member: built as text, so `__proto__` really is a member. */
const withMember = (base: object, name: string, value: unknown) => {
  const text = JSON.stringify(base);
  return `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}${JSON.stringify(name)}:${JSON.stringify(value ?? null)}}`;
};

interface BodyRoute {
  method: string;
  resource: string;
  id?: 'request' | 'tenant';
  valid: object;
  keys: string[];
  /** Fields that take free text, and fields that take anything else (for wrong-type mutations). */
  textFields: string[];
}

const TENANT_SETTINGS = {
  displayName: 'Demo Corp',
  lockboxEnabled: true,
  approvers: [{ email: 'approver@demo.example' }],
  admins: [CAROL],
  maxAccessDuration: 'PT4H',
  approvalTimeout: 'PT1H',
  accessLevels: { ReadOnly: { description: 'Read-only' } },
};

export function bodyRoutes(world: FuzzWorld): BodyRoute[] {
  return [
    {
      method: 'POST',
      resource: '/requests',
      valid: { tenantId: world.tenantId, ticketId: 'T-1', justification: 'Look at the backups', accessLevel: 'ReadOnly', duration: 'PT1H' },
      keys: ['tenantId', 'ticketId', 'justification', 'accessLevel', 'duration', 'idempotencyKey'],
      textFields: ['ticketId', 'justification', 'accessLevel'],
    },
    {
      method: 'POST',
      resource: '/requests/{id}/manager-decision',
      id: 'request',
      valid: { decision: 'APPROVE' },
      keys: ['decision', 'reason'],
      textFields: ['reason'],
    },
    {
      method: 'POST',
      resource: '/requests/{id}/customer-decision',
      id: 'request',
      valid: { decision: 'DENY', reason: 'No' },
      keys: ['decision', 'reason'],
      textFields: ['reason'],
    },
    { method: 'POST', resource: '/requests/{id}/cancel', id: 'request', valid: {}, keys: [], textFields: [] },
    {
      method: 'POST',
      resource: '/requests/{id}/revoke',
      id: 'request',
      valid: { reason: 'Done' },
      keys: ['reason'],
      textFields: ['reason'],
    },
    {
      method: 'PUT',
      resource: '/tenants/{id}',
      id: 'tenant',
      valid: { ...TENANT_SETTINGS, version: 1 },
      keys: [
        'displayName',
        'lockboxEnabled',
        'approvers',
        'admins',
        'auditors',
        'maxAccessDuration',
        'approvalTimeout',
        'accessLevels',
        'accessTarget',
        'version',
      ],
      textFields: ['displayName'],
    },
    {
      method: 'POST',
      resource: '/tenants',
      valid: { ...TENANT_SETTINGS, tenantId: 'fuzz-new' },
      keys: [
        'tenantId',
        'displayName',
        'lockboxEnabled',
        'approvers',
        'admins',
        'auditors',
        'maxAccessDuration',
        'approvalTimeout',
        'accessLevels',
        'accessTarget',
      ],
      textFields: ['displayName'],
    },
  ];
}

const LIST_ROUTES = [
  {
    resource: '/requests',
    valid: (world: FuzzWorld): [string, string][] => [['tenantId', world.tenantId]],
    keys: ['tenantId', 'status', 'createdAfter', 'limit', 'nextToken'],
  },
  { resource: '/tenants/{id}/audit', valid: (): [string, string][] => [], keys: ['from', 'to', 'limit', 'nextToken'] },
  // Takes no parameters at all: each one is refused.
  { resource: '/tenants', valid: (): [string, string][] => [], keys: [] },
];

const hex32 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => `req-${Buffer.from(bytes).toString('hex')}`);
const requestIdArb = (world: FuzzWorld) => fc.oneof(fc.constant(world.requestId), hex32);

/** Every generated case, with the route and the seeded world it refers to. */
export function fuzzCases(world: FuzzWorld): fc.Arbitrary<FuzzCase> {
  const signed = fc.constantFrom(...KNOWN, STRANGER);
  // Built once: building arbitraries (stringMatching above all) inside chain() made sampling slow.
  const paths = {
    request: requestIdArb(world).map((value): Record<string, string> => ({ id: value })),
    tenant: fc.constant<Record<string, string>>({ id: world.tenantId }),
    none: fc.constant<Record<string, string>>({}),
  };
  const pathFor = (id: BodyRoute['id']) => paths[id ?? 'none'];

  // A body route with one thing wrong with its body or its content type.
  const badBody = fc.oneof(
    ...bodyRoutes(world).map((route) => {
      const jsonType = goodJsonType.map((type): [string, string][] => [['Content-Type', type]]);
      const bodies: fc.Arbitrary<{ body: string; mutation: string; types: fc.Arbitrary<[string, string][]>; expectStatus?: number }> =
        fc.oneof(
          fc.tuple(badMediaType, fc.constantFrom(JSON.stringify(route.valid), '{"decision":"APPROVE"}')).map(([type, body]) => ({
            body,
            mutation: 'content-type',
            types: fc.constant<[string, string][]>([['content-type', type]]),
            expectStatus: 415,
          })),
          fc.constant({
            body: JSON.stringify(route.valid),
            mutation: 'no-content-type',
            types: fc.constant<[string, string][]>([]),
            expectStatus: 415,
          }),
          notJson.map((body) => ({ body, mutation: 'not-json', types: jsonType, expectStatus: 400 })),
          notAnObject.map((value) => ({ body: JSON.stringify(value), mutation: 'not-an-object', types: jsonType, expectStatus: 400 })),
          fc
            .tuple(
              fc.oneof(
                fc.constantFrom(...PROTOTYPE_NAMES, 'status', 'requestedBy', 'expiry', 'approver'),
                fc.string({ minLength: 1, maxLength: 10 }),
              ),
              anyJson,
            )
            .filter(([name]) => !route.keys.includes(name))
            .map(([name, value]) => ({
              body: withMember(route.valid, name, value),
              mutation: 'extra-member',
              types: jsonType,
              expectStatus: 400,
            })),
          ...(route.textFields.length
            ? [
                fc.tuple(fc.constantFrom(...route.textFields), illFormedText).map(([field, text]) => ({
                  body: JSON.stringify({
                    ...route.valid,
                    ...(field === 'reason' && 'decision' in route.valid ? { decision: 'REJECT' } : {}),
                    [field]: text,
                  }),
                  mutation: 'ill-formed-text',
                  types: jsonType,
                  expectStatus: 400,
                })),
                fc.constantFrom(...route.textFields).map((field) => ({
                  body: JSON.stringify({ ...route.valid, [field]: 'x'.repeat(2001) }),
                  mutation: 'too-long',
                  types: jsonType,
                  expectStatus: 400,
                })),
              ]
            : []),
          ...(route.keys.length
            ? [
                fc
                  // Values no field of any body accepts (not even an optional one).
                  .tuple(fc.constantFrom(...route.keys), fc.constantFrom<unknown>(null, [1], { nested: 1 }, -0.5))
                  .map(([field, value]) => ({
                    body: JSON.stringify({ ...route.valid, [field]: value }),
                    mutation: 'wrong-type',
                    types: jsonType,
                    expectStatus: 400,
                  })),
              ]
            : []),
        );
      return fc
        .record({ bodyCase: bodies, principal: signed, path: pathFor(route.id), noise: noiseHeaders })
        .chain(({ bodyCase, principal, path, noise }) =>
          bodyCase.types.map(
            (types): FuzzCase => ({
              method: route.method,
              resource: route.resource,
              pathParameters: path,
              query: [],
              headers: [...noise, ...types],
              body: bodyCase.body,
              principal,
              mutation: bodyCase.mutation,
              expectStatus: bodyCase.expectStatus,
            }),
          ),
        );
    }),
  );

  const allRoutes = [
    ...bodyRoutes(world).map((route) => ({
      method: route.method,
      resource: route.resource,
      id: route.id,
      body: JSON.stringify(route.valid),
    })),
    { method: 'GET', resource: '/requests', id: undefined, body: undefined },
    { method: 'GET', resource: '/requests/{id}', id: 'request' as const, body: undefined },
    { method: 'GET', resource: '/tenants/{id}', id: 'tenant' as const, body: undefined },
    { method: 'GET', resource: '/tenants/{id}/audit', id: 'tenant' as const, body: undefined },
    { method: 'GET', resource: '/tenants', id: undefined, body: undefined },
  ];
  /** Any route with a valid call, by `principal` (undefined: unsigned). */
  const anyRoute = (principal: string | undefined, mutation: string, expectStatus?: number) =>
    fc.record({ route: fc.constantFrom(...allRoutes), noise: noiseHeaders }).chain(({ route, noise }) =>
      pathFor(route.id).map(
        (path): FuzzCase => ({
          method: route.method,
          resource: route.resource,
          pathParameters: path,
          query: route.resource === '/requests' ? [['tenantId', world.tenantId]] : [],
          headers: [...noise, ...(route.body ? ([['content-type', 'application/json']] as [string, string][]) : [])],
          body: route.body,
          principal,
          mutation,
          expectStatus,
        }),
      ),
    );
  const unsigned = anyRoute(undefined, 'unsigned', 401);
  // A stranger (signed, but no role anywhere): refused, whatever the code.
  const stranger = anyRoute(STRANGER, 'stranger');

  // A list route with a query parameter that is not allowed, or a crafted nextToken.
  const badQuery = fc.oneof(
    ...LIST_ROUTES.map((route) => {
      const mutated: fc.Arbitrary<{ extra: [string, string][]; mutation: string }> = fc.oneof(
        fc
          .tuple(queryName, fc.string({ maxLength: 10 }))
          .filter(([name]) => !route.keys.includes(name))
          .map(([name, value]) => ({ extra: [[name, value]] as [string, string][], mutation: 'unknown-parameter' })),
        craftedToken.map((token) => ({ extra: [['nextToken', token]] as [string, string][], mutation: 'crafted-next-token' })),
        fc
          .constantFrom('0', '101', '-1', 'abc', '1e400', '1.5', '', 'NaN', '0x10')
          .map((limit) => ({ extra: [['limit', limit]] as [string, string][], mutation: 'bad-limit' })),
        fc.constantFrom('yesterday', '2026-13-01T00:00:00Z', '2026-01-01T00:00:00+01:00', '1e400', '\ud800').map((time) => ({
          extra: [[route.resource === '/requests' ? 'createdAfter' : 'from', time]] as [string, string][],
          mutation: 'bad-time',
        })),
      );
      return fc.record({ mutated, principal: signed, noise: noiseHeaders }).map(
        ({ mutated: { extra, mutation }, principal, noise }): FuzzCase => ({
          method: 'GET',
          resource: route.resource,
          pathParameters: route.resource === '/tenants/{id}/audit' ? { id: world.tenantId } : {},
          query: [...route.valid(world), ...extra],
          headers: noise,
          principal,
          mutation,
          expectStatus: 400,
        }),
      );
    }),
  );

  // An id that names nothing, or is no id at all.
  const badId = fc
    .record({
      route: fc.constantFrom(...allRoutes.filter((route) => route.id)),
      value: fc.oneof(fc.string({ maxLength: 70 }), fc.constantFrom(...PROTOTYPE_NAMES), hex32),
      principal: signed,
      noise: noiseHeaders,
    })
    .filter(({ value }) => value !== world.requestId && value !== world.tenantId)
    .map(
      ({ route, value, principal, noise }): FuzzCase => ({
        method: route.method,
        resource: route.resource,
        pathParameters: { id: value },
        query: [],
        headers: [...noise, ...(route.body ? ([['content-type', 'application/json']] as [string, string][]) : [])],
        body: route.body,
        principal,
        mutation: 'no-such-id',
      }),
    );

  // A method or resource no handler serves (in process the gateway would have refused it first).
  const unknownRoute = fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
      resource: fc.oneof(
        fc.constantFrom(
          '/requests',
          '/requests/{id}',
          '/requests/{id}/approve',
          '/tenants/{id}',
          '/tenants',
          '/',
          '/__proto__',
          '/constructor',
        ),
        fc.string({ maxLength: 20 }).map((path) => `/${path}`),
      ),
      principal: signed,
    })
    .filter(
      ({ method, resource }) =>
        !resource.startsWith('/approvals') && !allRoutes.some((route) => route.method === method && route.resource === resource),
    )
    .map(
      ({ method, resource, principal }): FuzzCase => ({
        method,
        resource,
        pathParameters: { id: world.requestId },
        query: [],
        headers: [],
        principal,
        mutation: 'unknown-route',
        expectStatus: 404,
      }),
    );

  // Approval links: forged or junk tokens, by any method, with any form or none.
  const forgedLinks = fc
    .record({
      method: fc.constantFrom('GET', 'HEAD', 'POST', 'POST', 'PUT', 'DELETE'),
      token: fc.oneof(
        fc.string({ maxLength: 60 }),
        fc.constantFrom(...PROTOTYPE_NAMES),
        fc
          .tuple(fc.jsonValue({ maxDepth: 1 }), fc.base64String({ maxLength: 50 }))
          .map(([claims, mac]) => `${b64(claims)}.${mac.replace(/=/g, '')}`),
        fc.constant(
          `${b64({ rid: world.requestId, stg: 'manager', em: 'bob@provider.example', exp: 4102444800, kid: 'k1', n: 'x' })}.${'A'.repeat(43)}`,
        ),
      ),
      form: fc.oneof(
        fc.constant(undefined),
        fc.constantFrom(
          'decision=APPROVE',
          'decision=APPROVE&form=x',
          'decision=DENY&reason=%ED%A0%80',
          '__proto__=1&constructor=2',
          'decision=APPROVE&decision=DENY',
        ),
        fc.string({ maxLength: 40 }),
      ),
      type: fc.constantFrom(
        'application/x-www-form-urlencoded',
        'application/x-www-form-urlencoded; charset=utf-8',
        'application/json',
        'text/plain',
        undefined,
      ),
      noise: noiseHeaders,
    })
    .map(
      ({ method, token, form, type, noise }): FuzzCase => ({
        method,
        resource: '/approvals/{token}',
        pathParameters: { token },
        query: [],
        headers: [...noise, ...(type ? ([['Content-Type', type]] as [string, string][]) : [])],
        body: method === 'POST' ? form : undefined,
        mutation: 'forged-link',
      }),
    );

  // Weighted towards what the handlers refuse before touching a table, so 10,000 fit in about a
  // minute on a busy machine's DynamoDB Local; every kind still comes up hundreds of times.
  return fc.oneof(
    { arbitrary: badBody, weight: 16 },
    { arbitrary: unsigned, weight: 4 },
    { arbitrary: stranger, weight: 1 },
    { arbitrary: badQuery, weight: 8 },
    { arbitrary: badId, weight: 1 },
    { arbitrary: unknownRoute, weight: 4 },
    { arbitrary: forgedLinks, weight: 1 },
  );
}

/** The API Gateway proxy event of a case, as API Gateway would hand it to the handler. */
export function eventOf(fuzzCase: FuzzCase, sourceIp = '198.51.100.20'): APIGatewayProxyEvent {
  const query = fuzzCase.query.length ? Object.fromEntries(fuzzCase.query) : null;
  const path = fuzzCase.resource.replace(/\{(\w+)\}/g, (_whole, name: string) => encodeURIComponent(fuzzCase.pathParameters[name] ?? ''));
  return {
    httpMethod: fuzzCase.method,
    resource: fuzzCase.resource,
    path,
    pathParameters: Object.keys(fuzzCase.pathParameters).length ? fuzzCase.pathParameters : null,
    queryStringParameters: query,
    multiValueQueryStringParameters: null,
    headers: Object.fromEntries(fuzzCase.headers),
    multiValueHeaders: {},
    body: fuzzCase.body ?? null,
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: { identity: { userArn: fuzzCase.principal ?? null, sourceIp } },
  } as unknown as APIGatewayProxyEvent;
}
