import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import * as fc from 'fast-check';
import { createRequest } from '../../lambdas/core/usecases/requests';
import { openStage } from '../../lambdas/core/usecases/workflow-steps';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/net';
import { ALICE, demoTenant } from '../support/fixtures';
import { eventOf, type FuzzCase, type FuzzWorld, fuzzCases, fuzzSeed, notARefusal } from '../support/fuzz';
import { setLambdaEnv } from '../support/lambda-env';
import { freshTables, type TableNames } from '../support/tables';
import { harness } from '../support/use-case-deps';

/**
 * The fuzz suite, in process: 10,000 generated calls (test/support/fuzz.ts — every one invalid by
 * construction) straight into the three API handlers, which run on their real adapters and
 * DynamoDB Local. Step Functions and SES point at a closed port: a call that got as far as
 * starting a workflow or sending an email would fail loudly (5xx) instead of passing unseen.
 * Every answer must be a 4xx in the documented format, and no table may change except by
 * LinkRefused events (and the counters that limit them).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
jest.setTimeout(240_000);

let dynamo: DynamoDbLocal;
let doc: DynamoDBDocumentClient;
let tables: TableNames;
let world: FuzzWorld;
type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
let handlers: { requests: Handler; tenants: Handler; approvals: Handler };

beforeAll(async () => {
  dynamo = await startDynamoDbLocal({});
  await dynamo.ready;
  doc = DynamoDBDocumentClient.from(dynamo.client, { marshallOptions: { removeUndefinedValues: true } });
  tables = await freshTables(dynamo.client, 'fuzz');
  setLambdaEnv();
  Object.assign(process.env, {
    // DynamoDB Local keeps tables per region and access key: the handlers use the harness's.
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SFN: 'http://127.0.0.1:9',
    AWS_ENDPOINT_URL_SES: 'http://127.0.0.1:9',
    REQUESTS_TABLE: tables.requests,
    TENANTS_TABLE: tables.tenants,
    AUDIT_TABLE: tables.audit,
    GRANTS_TABLE: tables.grants,
  });
  // Loaded after the environment is set: their clients are built on first use from it.
  handlers = {
    requests: (await import('../../lambdas/handlers/api-requests')).handler as unknown as Handler,
    tenants: (await import('../../lambdas/handlers/api-tenants')).handler as unknown as Handler,
    approvals: (await import('../../lambdas/handlers/api-approvals')).handler as unknown as Handler,
  };
  // One tenant and one request whose manager stage is open now: the refusals meet real state.
  const h = harness(doc, tables);
  h.clock.set(Date.now());
  await h.seedTenant(demoTenant({ approvalTimeout: 'PT1H' }));
  const { request } = await createRequest(
    h.deps,
    { principal: ALICE },
    { tenantId: 'demo', ticketId: 'T-1', justification: 'Fuzz', accessLevel: 'ReadOnly', duration: 'PT1H' },
  );
  await openStage(h.deps, request.requestId, 'manager', 'task-token-fuzz');
  world = { requestId: request.requestId, tenantId: 'demo' };
}, 120_000);

afterAll(async () => dynamo?.stop());

const handlerOf = (fuzzCase: FuzzCase) =>
  fuzzCase.resource === '/approvals/{token}'
    ? handlers.approvals
    : fuzzCase.resource.startsWith('/tenants')
      ? handlers.tenants
      : handlers.requests;

/** Every item of a table; chain heads (LinkRefused events move them) and refusal counters left out. */
async function snapshot(table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }));
    for (const { auditSeq: _seq, auditHead: _head, ...item } of page.Items ?? []) {
      const chainHeadOnly = Object.keys(item).length === 1; // e.g. the `_system` chain's item
      if (!chainHeadOnly && !String(item.requestId ?? '').startsWith('refusals#')) items.push(item);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return items.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

describe(`fuzz: ${RUNS} generated invalid calls into the handlers`, () => {
  it('refuses every one with a 4xx in the error format, and changes no state', async () => {
    const before = {
      requests: await snapshot(tables.requests),
      tenants: await snapshot(tables.tenants),
      audit: await snapshot(tables.audit),
    };
    const byMutation = new Map<string, number>();
    const started = Date.now();
    // Sampled, then sent 8 at a time (each case is independent, and all must be refused): about
    // four times faster than one by one on DynamoDB Local. A failure names its case and the seed.
    const seed = fuzzSeed();
    const cases = fc.sample(fuzzCases(world), { numRuns: RUNS, seed });
    const failures: string[] = [];
    const spent = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < cases.length && failures.length < 5) {
        const fuzzCase = cases[next++];
        byMutation.set(fuzzCase.mutation, (byMutation.get(fuzzCase.mutation) ?? 0) + 1);
        const t0 = Date.now();
        const response = await handlerOf(fuzzCase)(eventOf(fuzzCase), {} as Context);
        spent.set(fuzzCase.mutation, (spent.get(fuzzCase.mutation) ?? 0) + Date.now() - t0);
        const headers = Object.fromEntries(
          Object.entries(response.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
        );
        const problem = notARefusal(fuzzCase, response.statusCode, headers['content-type'], response.body);
        if (problem) failures.push(`${problem} (seed ${seed})\n${JSON.stringify(fuzzCase)}\n${response.body.slice(0, 300)}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(failures).toEqual([]);
    const after = {
      requests: await snapshot(tables.requests),
      tenants: await snapshot(tables.tenants),
      audit: await snapshot(tables.audit),
    };
    expect(after.requests).toEqual(before.requests);
    expect(after.tenants).toEqual(before.tenants);
    const added = after.audit.filter((event) => !before.audit.some((old) => old.eventId === event.eventId));
    expect(new Set(added.map((event) => event.type))).toEqual(new Set(added.length ? ['LinkRefused'] : []));
    // Refused links were recorded, but not one event per call (T-1.11).
    const links = byMutation.get('forged-link') ?? 0;
    expect(added.length).toBeGreaterThan(0);
    expect(added.length).toBeLessThan(links / 10);
    console.log(
      `fuzz: ${RUNS} calls in ${Date.now() - started} ms; ${added.length} LinkRefused events for ${links} forged links; by mutation ${JSON.stringify(Object.fromEntries(byMutation))} ms ${JSON.stringify(Object.fromEntries(spent))}`,
    );
  });
});
