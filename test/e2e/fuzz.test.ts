import { request as httpRequest } from 'node:http';
import * as fc from 'fast-check';
import { wellFormed } from '../../lambdas/core/domain/text';
import { type FuzzCase, fuzzCases, fuzzSeed, notARefusal, PROTOTYPE_NAMES } from '../support/fuzz';
import { EMAIL, LocalLockbox, PEOPLE } from './support/harness';

/**
 * The fuzz suite over HTTP, against local mode as `npm start` runs it: the generated calls of
 * test/support/fuzz.ts through the local gateway (raw paths, any header names, any method), and
 * the refusals only a gateway makes (unknown routes, unsigned calls, bodies and headers too
 * large, prototype names). Every answer a 4xx in the documented format; no state changed.
 */
const RUNS = Number(process.env.FUZZ_HTTP_RUNS ?? 400);
jest.setTimeout(120_000);

let lockbox: LocalLockbox;
let requestId: string;

beforeAll(async () => {
  lockbox = await LocalLockbox.start();
  requestId = (await lockbox.create('dave', { duration: 'PT1H' })).requestId;
  // The stage opens at the create; the notify step then attaches its token (a benign write that
  // bumps the version). Wait for its emails so the snapshot the fuzz compares with is final.
  await lockbox.linkFor(EMAIL.bob, requestId, 'manager');
}, 90_000);

afterAll(async () => lockbox?.stop(), 30_000);

interface Raw {
  status: number;
  contentType?: string;
  body: string;
}

/** One raw HTTP request: names and paths exactly as given (fetch would normalise or refuse some). */
function send(method: string, path: string, headers: [string, string][], body?: string | Buffer): Promise<Raw> {
  const target = new URL(lockbox.url);
  return new Promise((resolve, reject) => {
    // Raw headers (a flat list) carry any name as it is; Node then adds no Host of its own.
    const raw = [['host', target.host], ...headers].flat();
    const req = httpRequest(
      { host: '127.0.0.1', port: target.port, method, path, headers: raw as unknown as Record<string, string> },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const printable = (text: string) => text.replace(/[^\x20-\x7e]/g, '?');

function pathOf(fuzzCase: FuzzCase): string {
  const segment = (part: string) => {
    const param = /^\{(\w+)\}$/.exec(part);
    return encodeURIComponent(wellFormed(param ? (fuzzCase.pathParameters[param[1]] ?? '') : part));
  };
  const path = fuzzCase.resource.split('/').map(segment).join('/');
  const query = new URLSearchParams(fuzzCase.query).toString();
  return query ? `${path}?${query}` : path;
}

async function state() {
  const request = (await lockbox.get(`/requests/${requestId}`, 'dave')).body;
  const tenant = (await lockbox.get('/tenants/demo', 'carol')).body;
  const events = await lockbox.auditLog();
  return { request, tenant, events };
}

describe(`fuzz over HTTP: ${RUNS} generated invalid calls to local mode`, () => {
  it('refuses every one with a 4xx in the error format, and changes no state', async () => {
    const before = await state();
    const world = { requestId, tenantId: 'demo' };
    // Cases a gateway routes differently from a handler are left to the gateway test below.
    const cases = fc
      .sample(
        fuzzCases(world).filter(
          (c) => Object.values(c.pathParameters).every((value) => value !== '') && !c.resource.startsWith('/_local') && c.resource !== '/',
        ),
        { numRuns: RUNS, seed: fuzzSeed() },
      )
      // The gateway answers a method no route has (as API Gateway does) before any handler.
      .map((c) =>
        c.mutation === 'unknown-route' || (c.resource === '/approvals/{token}' && !['GET', 'HEAD', 'POST'].includes(c.method))
          ? { ...c, mutation: 'unknown-route', expectStatus: 401 }
          : c,
      );
    const failures: string[] = [];
    for (const fuzzCase of cases) {
      const headers: [string, string][] = fuzzCase.headers.map(([name, value]) => [name, printable(value)]);
      if (fuzzCase.principal) headers.push(['x-lockbox-principal', fuzzCase.principal]);
      const response = await send(fuzzCase.method, pathOf(fuzzCase), headers, fuzzCase.body);
      const problem = notARefusal(fuzzCase, response.status, response.contentType, response.body);
      if (problem) failures.push(`${problem}\n${JSON.stringify(fuzzCase)}\n${response.body.slice(0, 300)}`);
      if (failures.length >= 5) break;
    }
    expect(failures).toEqual([]);
    const after = await state();
    expect(after.request).toEqual(before.request);
    expect(after.tenant).toEqual(before.tenant);
    const added = after.events.filter((event) => !before.events.some((old) => old.eventId === event.eventId));
    expect(added.every((event) => event.type === 'LinkRefused')).toBe(true);
  });
});

describe('the local gateway', () => {
  const errorOf = (response: Raw) =>
    (JSON.parse(response.body) as { error: { code: string; message: string; details?: { localMode?: string } } }).error;

  it('answers an unknown route, an unknown method and an unsigned call 401 UNAUTHENTICATED, as API Gateway does', async () => {
    for (const [method, path, principal] of [
      ['GET', '/nothing/here', PEOPLE.bob],
      ['DELETE', '/requests', PEOPLE.bob],
      ['GET', '/requests?tenantId=demo', undefined],
      // Request targets that a URL parser would read as a host name (`//` alone once answered 500).
      ['PATCH', '//', PEOPLE.bob],
      ['GET', '//nothing/here', PEOPLE.bob],
    ] as const) {
      const response = await send(method, path, principal ? [['x-lockbox-principal', principal]] : []);
      expect(response.status).toBe(401);
      expect(response.contentType).toMatch(/^application\/json/);
      expect(errorOf(response)).toEqual({
        code: 'UNAUTHENTICATED',
        message: expect.stringContaining('not signed'),
        details: { localMode: expect.any(String) },
      });
    }
  });

  it('answers a body over 10 MB 413 and headers over 10 KB 431, in the error format', async () => {
    const large = await send(
      'POST',
      '/requests',
      [
        ['x-lockbox-principal', PEOPLE.alice],
        ['content-type', 'application/json'],
      ],
      Buffer.alloc(10 * 1024 * 1024 + 1, 0x20),
    );
    expect([large.status, errorOf(large).code]).toEqual([413, 'VALIDATION_FAILED']);
    const headers = await send('GET', '/requests?tenantId=demo', [
      ['x-lockbox-principal', PEOPLE.bob],
      ['x-padding', 'p'.repeat(12 * 1024)],
    ]);
    expect([headers.status, errorOf(headers).code]).toEqual([431, 'VALIDATION_FAILED']);
  });

  it('takes header and query names such as __proto__, constructor and toString as plain names', async () => {
    const names = PROTOTYPE_NAMES.map((name): [string, string] => [name, 'x']);
    const valid = await send('GET', `/requests?tenantId=demo`, [...names, ['x-lockbox-principal', PEOPLE.bob]]);
    expect(valid.status).toBe(200);
    const query = new URLSearchParams([['tenantId', 'demo'], ...names]).toString();
    const refused = await send('GET', `/requests?${query}`, [...names, ['x-lockbox-principal', PEOPLE.bob]]);
    expect([refused.status, errorOf(refused).code]).toEqual([400, 'VALIDATION_FAILED']);
    const page = await send('GET', '/_local/__proto__', names);
    expect([page.status, errorOf(page).code]).toEqual([404, 'NOT_FOUND']);
    const link = await send(
      'POST',
      `/approvals/__proto__?constructor=1`,
      [...names, ['content-type', 'application/x-www-form-urlencoded']],
      '__proto__=1&toString=2',
    );
    expect(link.status).toBe(400);
  });

  it('refuses a JSON route body sent as another type with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const response = await send(
      'POST',
      '/requests',
      [
        ['x-lockbox-principal', PEOPLE.alice],
        ['content-type', 'text/plain'],
      ],
      '{}',
    );
    expect([response.status, errorOf(response).code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
  });
});
