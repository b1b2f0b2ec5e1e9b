/**
 * Whole lifecycles on local mode, in this process (the same bundled handlers, state machine file
 * and DynamoDB Local as `npm start`), driven over HTTP like a client. Part of `npm run bench`;
 * asserts nothing.
 *
 * - throughput: N concurrent approved lifecycles on ONE tenant vs spread over ten tenants, each twice
 *   in mirrored order (lifecycles/s, lost, 5xx, 503 THROTTLED, revocation lag p50/p99);
 * - DynamoDB and Step Functions calls per approved lifecycle, counted by an SDK middleware on every
 *   client the handlers build (the bench's own observer clients are left out);
 * - state transitions (states entered) per approved, expired, denied and early-revoked lifecycle;
 * - p50/p99 of each write route next to a bare TransactWriteItems of the same items, replayed on
 *   copies of the items the route touched (same tables, expressions and conditions), and next to
 *   the route's design floor (read + provider revoke + that transaction + one Step Functions call).
 */
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { Client } from '@smithy/core/client';
import { LocalAccessProvider } from '../lambdas/core/adapters/local-access';
import { ENV } from '../lambdas/core/config';
import type { AccessRequest } from '../lambdas/core/domain/request';
import { PRINCIPAL_HEADER } from '../local/gateway';
import { LOCAL_ADMIN_AGENT, type LocalMode, startLocal } from '../local/local-mode';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/net';
import { DEMO_TENANT, PERSONAS } from '../local/seed';
import { LOCAL_TABLE_NAMES } from '../local/tables';

type Report = (name: string, value: string) => void;
type Item = Record<string, any>;

const BENCH_AGENT = 'lockbox-bench-observer';

// ---- counting SDK calls ---------------------------------------------------------------------------

interface Call {
  service: string;
  command: string;
  tables: string[];
  input: any;
}
const calls: Call[] = [];

/** Adds a counting middleware to every SDK client's stack on its first call (one stack per client). */
function installCounter(): void {
  const counted = new WeakSet<object>();
  const send = Client.prototype.send;
  Client.prototype.send = function (this: any, command: any, ...rest: any[]) {
    const stack = this.middlewareStack;
    if (!counted.has(stack)) {
      counted.add(stack);
      const service = String(this.config?.serviceId ?? 'unknown');
      const agent = String(this.config?.customUserAgent ?? '');
      const observer = agent.includes(BENCH_AGENT) || agent.includes(LOCAL_ADMIN_AGENT);
      if (!observer) {
        stack.add(
          (next: any, context: any) => async (args: any) => {
            const input = args.input ?? {};
            const tables = input.TransactItems
              ? input.TransactItems.map((item: any) => Object.values(item as object)[0]?.TableName)
              : input.RequestItems
                ? Object.keys(input.RequestItems)
                : [input.TableName].filter(Boolean);
            calls.push({ service, command: String(context.commandName ?? 'unknown'), tables, input });
            return next(args);
          },
          { step: 'initialize', name: 'lockboxBenchCounter' },
        );
      }
    }
    return (send as any).call(this, command, ...rest);
  } as typeof send;
}

// ---- driving local mode ---------------------------------------------------------------------------

const PEOPLE = Object.fromEntries(Object.entries(PERSONAS).map(([name, persona]) => [name, persona.principal])) as Record<
  keyof typeof PERSONAS,
  string
>;

interface Counters {
  serverErrors: number;
  throttled: number;
  connectionErrors: number;
}

class Driver {
  readonly doc: DynamoDBDocumentClient;
  readonly raw: DynamoDBClient;
  private readonly watched = new Map<string, { done: (item: Item) => boolean; resolve: (item: Item) => void }[]>();
  private polling?: NodeJS.Timeout;

  constructor(
    readonly local: LocalMode,
    endpoint: string,
  ) {
    this.raw = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, customUserAgent: BENCH_AGENT });
    this.doc = DynamoDBDocumentClient.from(this.raw);
  }

  async call(
    method: string,
    path: string,
    as: keyof typeof PERSONAS,
    body: unknown,
    counters: Counters,
  ): Promise<{ status: number; body: any; ms: number }> {
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      let response: globalThis.Response;
      try {
        response = await fetch(new URL(path, this.local.url), {
          method,
          headers: { 'content-type': 'application/json', [PRINCIPAL_HEADER]: PEOPLE[as] },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (error) {
        // The client's own connection failed (a thousand sockets on a loaded machine): try again.
        counters.connectionErrors++;
        if (attempt >= 8) throw error;
        await sleep(Math.random() * 1000);
        continue;
      }
      const text = await response.text();
      const ms = performance.now() - started;
      const parsed = text ? JSON.parse(text) : {};
      if (response.status < 500 || attempt >= 8) return { status: response.status, body: parsed, ms };
      // A well-behaved client: retry a 5xx after Retry-After (or backoff); creates carry an idempotency key.
      if (response.status === 503 && parsed?.error?.code === 'THROTTLED') counters.throttled++;
      else counters.serverErrors++;
      const retryAfter = Number(response.headers.get('retry-after'));
      await sleep(retryAfter > 0 ? retryAfter * 1000 * Math.random() + 100 : Math.random() * Math.min(4000, 250 * 2 ** attempt));
    }
  }

  /** Resolves when the request item satisfies `done` (one BatchGet loop polls every watched request). */
  until(requestId: string, done: (item: Item) => boolean): Promise<Item> {
    return new Promise((resolve) => {
      const list = this.watched.get(requestId) ?? [];
      list.push({ done, resolve });
      this.watched.set(requestId, list);
      this.polling ??= setInterval(() => void this.poll(), 150);
    });
  }

  private busy = false;
  private async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const item of await this.requests([...this.watched.keys()])) {
        const waiting = this.watched.get(item.requestId) ?? [];
        const left = waiting.filter((waiter) => {
          if (!waiter.done(item)) return true;
          waiter.resolve(item);
          return false;
        });
        if (left.length) this.watched.set(item.requestId, left);
        else this.watched.delete(item.requestId);
      }
      if (!this.watched.size && this.polling) {
        clearInterval(this.polling);
        this.polling = undefined;
      }
    } catch {
      // a failed poll is tried again at the next tick
    } finally {
      this.busy = false;
    }
  }

  /** The request items, read consistently 100 at a time (one missing from an answer is skipped). */
  async requests(ids: string[]): Promise<Item[]> {
    const items: Item[] = [];
    for (let i = 0; i < ids.length; i += 100) {
      const result = await this.doc.send(
        new BatchGetCommand({
          RequestItems: {
            [LOCAL_TABLE_NAMES.Requests]: { Keys: ids.slice(i, i + 100).map((requestId) => ({ requestId })), ConsistentRead: true },
          },
        }),
      );
      items.push(...(result.Responses?.[LOCAL_TABLE_NAMES.Requests] ?? []));
    }
    return items;
  }

  stop(): void {
    if (this.polling) clearInterval(this.polling);
    this.raw.destroy();
  }

  async grant(requestId: string): Promise<Item | undefined> {
    return (await this.doc.send(new GetCommand({ TableName: LOCAL_TABLE_NAMES.Grants, Key: { requestId }, ConsistentRead: true }))).Item;
  }

  async transitions(requestId: string): Promise<number> {
    const { history } = await this.execution(requestId);
    return (history ?? []).filter((event) => event.type.endsWith('StateEntered')).length;
  }

  /**
   * Resolves when no workflow step of the request runs: the execution waits on a task whose
   * Lambda has returned (TaskSubmitted is its last event), or it has ended.
   */
  async quiet(requestId: string): Promise<void> {
    await this.executionUntil(
      requestId,
      (execution) => execution.status !== 'RUNNING' || execution.history?.at(-1)?.type === 'TaskSubmitted',
    );
  }

  async executionEnded(requestId: string): Promise<string> {
    return (await this.executionUntil(requestId, (execution) => execution.status !== 'RUNNING')).status ?? 'UNKNOWN';
  }

  private async execution(requestId: string): Promise<Execution> {
    const response = await fetch(new URL(`/_local/executions/${requestId}`, this.local.url));
    return (await response.json()) as Execution;
  }

  /** The execution once `done` holds of it, or as it is after `timeoutMs`. */
  private async executionUntil(requestId: string, done: (execution: Execution) => boolean, timeoutMs = 30_000): Promise<Execution> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const execution = await this.execution(requestId);
      if (done(execution) || Date.now() > end) return execution;
      await sleep(50);
    }
  }
}

/** What local mode's `/_local/executions/{name}` shows of an execution. */
interface Execution {
  status?: string;
  history?: { type: string }[];
}

type Kind = 'approved' | 'denied' | 'expired' | 'revoked';
/** Not ended within the bound: looked at again after the runs, where it either ended late or is lost. */
const LATE = 'LATE';
const TERMINAL = ['COMPLETED', 'REVOKED', 'REJECTED', 'DENIED', 'EXPIRED', 'CANCELLED', 'FAILED'];

interface Outcome {
  requestId?: string;
  status: string;
  lagMs?: number;
  error?: string;
}

/** The stage is open for decisions: its pending status shows with a deadline (as the API shows it). */
const stageOpen = (status: string) => (item: Item) => item.status !== status || item.approvalDeadline !== undefined;

/** One lifecycle as a client runs it: decides as soon as the API shows each stage open. */
async function lifecycle(
  driver: Driver,
  tenantId: string,
  kind: Kind,
  tag: string,
  counters: Counters,
  duration = 'PT3S',
  boundMs = 120_000,
): Promise<Outcome> {
  const created = await driver.call(
    'POST',
    '/requests',
    'alice',
    { tenantId, ticketId: tag, justification: 'bench', accessLevel: 'ReadOnly', duration, idempotencyKey: tag },
    counters,
  );
  if (created.status !== 201 && created.status !== 200)
    return { status: `create ${created.status}`, error: JSON.stringify(created.body).slice(0, 200) };
  const requestId: string = created.body.requestId;
  const bounded = <T>(work: Promise<T>) => Promise.race([work, sleep(boundMs).then(() => undefined)]);
  const decide = async (stage: 'manager' | 'customer', as: keyof typeof PERSONAS, decision: string) => {
    const pending = stage === 'manager' ? 'PENDING_MANAGER_APPROVAL' : 'PENDING_CUSTOMER_APPROVAL';
    const open = await bounded(driver.until(requestId, stageOpen(pending)));
    if (!open || open.status !== pending) return;
    const response = await driver.call('POST', `/requests/${requestId}/${stage}-decision`, as, { decision, reason: 'bench' }, counters);
    // A 409 after a retried 5xx is the first attempt's commit; anything else is a refusal.
    if (response.status !== 200 && !(response.status === 409 && response.body?.error?.details?.status !== pending)) {
      throw new Error(`${stage} decision: ${response.status} ${JSON.stringify(response.body).slice(0, 200)}`);
    }
  };
  try {
    await decide('manager', 'bob', 'APPROVE');
    if (kind === 'expired') {
      const ended = await bounded(driver.until(requestId, (item) => TERMINAL.includes(item.status)));
      return { requestId, status: ended?.status ?? LATE };
    }
    await decide('customer', 'carol', kind === 'denied' ? 'DENY' : 'APPROVE');
    if (kind === 'revoked') {
      const active = await bounded(
        driver.until(requestId, (item) => item.status !== 'APPROVED' && item.status !== 'PENDING_CUSTOMER_APPROVAL'),
      );
      if (active?.status === 'ACTIVE') {
        const revoked = await driver.call('POST', `/requests/${requestId}/revoke`, 'carol', { reason: 'bench' }, counters);
        if (revoked.status !== 200) throw new Error(`revoke: ${revoked.status} ${JSON.stringify(revoked.body).slice(0, 200)}`);
      }
    }
    const ended = await bounded(driver.until(requestId, (item) => TERMINAL.includes(item.status)));
    if (!ended) return { requestId, status: LATE };
    if (ended.status !== 'COMPLETED') return { requestId, status: ended.status };
    const grant = await driver.grant(requestId);
    return {
      requestId,
      status: ended.status,
      lagMs: grant?.revokedAt ? Date.parse(grant.revokedAt) - Date.parse(grant.expiresAt) : undefined,
    };
  } catch (error) {
    return { requestId, status: 'REFUSED', error: String(error) };
  }
}

const percentile = (values: number[], p: number) =>
  values.length ? [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] : Number.NaN;

async function putTenant(driver: Driver, tenantId: string, over: Item = {}): Promise<void> {
  const { auditSeq: _seq, auditHead: _head, ...demo } = DEMO_TENANT as Item;
  await driver.doc.send(
    new PutCommand({ TableName: LOCAL_TABLE_NAMES.Tenants, Item: { ...demo, tenantId, displayName: tenantId, ...over } }),
  );
}

// ---- the measurements -----------------------------------------------------------------------------

async function throughput(driver: Driver, report: Report, count: number): Promise<void> {
  const tenants = Array.from({ length: 10 }, (_, i) => (i === 0 ? 'demo' : `bench-t${i}`));
  const configs: Record<string, (i: number) => string> = { 'one tenant': () => 'demo', 'ten tenants': (i) => tenants[i % 10] };
  // ABBA: each configuration runs twice, in mirrored order, so neither gains from running second
  // (a warmer process, a fuller table).
  const order = ['one tenant', 'ten tenants', 'ten tenants', 'one tenant'];
  const totals: Record<string, { seconds: number; outcomes: Outcome[]; counters: Counters; loopDelays: string[] }> = {};
  for (const label of order) {
    const total = (totals[label] ??= {
      seconds: 0,
      outcomes: [],
      counters: { serverErrors: 0, throttled: 0, connectionErrors: 0 },
      loopDelays: [],
    });
    const run = randomUUID().slice(0, 8);
    // Every "Lambda", the workflow and this client share one event loop: how late it ran is how
    // late every timer (a window's end) and every socket's turn came.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const started = performance.now();
    const outcomes = await Promise.all(
      Array.from({ length: count }, (_, i) => lifecycle(driver, configs[label](i), 'approved', `bench-${run}-${i}`, total.counters)),
    );
    total.seconds += (performance.now() - started) / 1000;
    loop.disable();
    total.loopDelays.push(`${(loop.percentile(99) / 1e6).toFixed(0)} / ${(loop.max / 1e6).toFixed(0)} ms`);
    total.outcomes.push(...outcomes);
  }
  // Every lifecycle not ended within its bound is read again once all runs are over (minutes later):
  // ended by then is late, anything else is lost.
  const late = Object.values(totals).flatMap(({ outcomes }) => outcomes.filter((outcome) => outcome.status === LATE && outcome.requestId));
  const now = new Map(
    (await driver.requests(late.map((outcome) => outcome.requestId!))).map((item) => [item.requestId as string, item.status as string]),
  );
  for (const outcome of late) {
    const status = now.get(outcome.requestId!) ?? 'UNREAD';
    outcome.status = TERMINAL.includes(status) ? `LATE ${status}` : `LOST ${status}`;
  }
  const rates: number[] = [];
  for (const [label, { seconds, outcomes, counters, loopDelays }] of Object.entries(totals)) {
    const lost = outcomes.filter((outcome) => outcome.status !== 'COMPLETED');
    const lags = outcomes.flatMap((outcome) => (outcome.lagMs === undefined ? [] : [outcome.lagMs]));
    const rate = outcomes.length / seconds;
    rates.push(rate);
    const kinds = [...new Set(lost.map((outcome) => outcome.status))]
      .map((status) => `${lost.filter((outcome) => outcome.status === status).length} ${status}`)
      .join(', ');
    let row = `${rate.toFixed(1)} lifecycles/s; not COMPLETED in time ${lost.length}${kinds ? ` (${kinds})` : ''}; 5xx ${counters.serverErrors}; 503 THROTTLED ${counters.throttled}; client connection retries ${counters.connectionErrors}; revocation lag p50 ${percentile(lags, 50).toFixed(0)} ms, p99 ${percentile(lags, 99).toFixed(0)} ms; event-loop delay p99 / max ${loopDelays.join(', ')}`;
    const refusal = lost.find((outcome) => outcome.error);
    if (refusal) row += `; e.g. ${refusal.error}`;
    report(`${count} concurrent approved lifecycles, ${label} (2 runs)`, row);
  }
  report('  ratio one tenant / ten tenants (goal >= 0.9)', (rates[0] / rates[1]).toFixed(2));
}

async function perLifecycle(driver: Driver, report: Report): Promise<void> {
  const counters: Counters = { serverErrors: 0, throttled: 0, connectionErrors: 0 };
  // No background timer runs during these counts (the reconciler and sealer are set to 600 s;
  // the audit stream poller is the DynamoDB Streams service, not counted here).
  const samples = 5;
  // One lifecycle first, not counted: every function loaded and its caches filled, as in steady use.
  const warmUp = await lifecycle(driver, 'demo', 'approved', `warm-up-${randomUUID()}`, counters, 'PT1S');
  if (warmUp.requestId) await driver.executionEnded(warmUp.requestId);
  const dynamo: number[] = [];
  const lockboxTables: number[] = [];
  const sfn: number[] = [];
  const byCommand = new Map<string, number>();
  for (let i = 0; i < samples; i++) {
    const first = calls.length;
    const outcome = await lifecycle(driver, 'demo', 'approved', `count-${randomUUID()}`, counters, 'PT1S');
    if (outcome.requestId) await driver.executionEnded(outcome.requestId);
    await sleep(500); // anything the lifecycle set off after its last step (notices, export)
    const mine = calls.slice(first);
    const db = mine.filter((call) => call.service === 'DynamoDB');
    dynamo.push(db.length);
    lockboxTables.push(db.filter((call) => !call.tables.includes(LOCAL_TABLE_NAMES.Grants)).length);
    sfn.push(mine.filter((call) => call.service === 'SFN').length);
    for (const call of [...db, ...mine.filter((call) => call.service === 'SFN')]) {
      const name = `${call.service === 'SFN' ? 'SFN ' : ''}${call.command.replace(/Command$/, '')}${call.tables.length ? ` ${[...new Set(call.tables)].join('+')}` : ''}`;
      byCommand.set(name, (byCommand.get(name) ?? 0) + 1 / samples);
    }
  }
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  report(
    'DynamoDB calls per approved lifecycle (goal <= 15)',
    `${mean(lockboxTables).toFixed(1)} on Lockbox's tables (+${(mean(dynamo) - mean(lockboxTables)).toFixed(1)} on the local access provider's Grants table, IAM on AWS)`,
  );
  report(
    '  by command',
    [...byCommand]
      .sort((a, b) => b[1] - a[1])
      .map(([command, n]) => `${command} ${n.toFixed(1)}`)
      .join(', '),
  );
  report('Step Functions calls per approved lifecycle', mean(sfn).toFixed(1));

  await putTenant(driver, 'bench-expiry', { approvalTimeout: 'PT2S' });
  for (const [kind, tenant] of [
    ['approved', 'demo'],
    ['denied', 'demo'],
    ['revoked', 'demo'],
    ['expired', 'bench-expiry'],
  ] as const) {
    const outcome = await lifecycle(
      driver,
      tenant,
      kind,
      `transitions-${kind}-${randomUUID()}`,
      counters,
      kind === 'revoked' ? 'PT1M' : 'PT1S',
    );
    const ended = outcome.requestId ? await driver.executionEnded(outcome.requestId) : 'none';
    const transitions = outcome.requestId ? await driver.transitions(outcome.requestId) : Number.NaN;
    report(
      `state transitions, ${kind} lifecycle${kind === 'approved' ? ' (goal <= 8)' : ''}`,
      `${transitions} (request ${outcome.status}, execution ${ended})`,
    );
  }
}

/**
 * Each write route sequentially, next to two floors replayed by the bench's own clients on copies
 * of the items the route touched, each once the workflow's steps are done (quiet, as the route
 * ran):
 * - bare: the route's TransactWriteItems alone;
 * - design: what a route is by design, one call after the other — a GetItem of the request
 *   (create has none), the access provider's revoke (revoke only: the local Grants UpdateItem),
 *   the same TransactWriteItems, and one Step Functions round trip (DescribeExecution, which
 *   continues nothing, in place of the route's StartExecution / SendTask* call).
 */
async function routes(driver: Driver, report: Report, samples: number): Promise<void> {
  const counters: Counters = { serverErrors: 0, throttled: 0, connectionErrors: 0 };
  const keys = new Map<string, string[]>();
  for (const table of [LOCAL_TABLE_NAMES.Requests, LOCAL_TABLE_NAMES.Tenants, LOCAL_TABLE_NAMES.Audit]) {
    const described = await driver.raw.send(new DescribeTableCommand({ TableName: table }));
    keys.set(
      table,
      (described.Table?.KeySchema ?? []).map((key) => key.AttributeName!),
    );
  }
  const sfn = new SFNClient({
    endpoint: process.env.AWS_ENDPOINT_URL_SFN,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    customUserAgent: BENCH_AGENT,
  });
  // The access provider's own revoke, on the bench's client (the route's floor pays the same call).
  const grants = new LocalAccessProvider(driver.doc, LOCAL_TABLE_NAMES.Grants, () => new Date());
  const executionArn = (requestId: string) => `${process.env[ENV.stateMachineArn]!.replace(':stateMachine:', ':execution:')}:${requestId}`;
  const latencies: Record<string, number[]> = {};
  const bare: Record<string, number[]> = {};
  const design: Record<string, number[]> = {};
  const bareFailures: Record<string, number> = {};
  /** Replays of the routes measured since the last quiet moment. */
  let replays: (() => Promise<void>)[] = [];
  const replayWhenQuiet = async (requestId: string) => {
    await driver.quiet(requestId);
    for (const replay of replays) await replay();
    replays = [];
  };

  /** Runs `route`, timing it; its replay (both floors) runs at the next `replayWhenQuiet`. */
  const measure = async (
    name: string,
    requestId: string | undefined,
    tenantId: string,
    route: () => Promise<{ status: number; body: any; ms: number }>,
    revokesGrant = false,
  ) => {
    const before = new Map<string, Item>();
    const snapshot = async (table: string, key: Item) => {
      const item = (await driver.doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
      if (item) before.set(`${table}|${JSON.stringify(key)}`, item);
      return item;
    };
    if (requestId) await snapshot(LOCAL_TABLE_NAMES.Requests, { requestId });
    await snapshot(LOCAL_TABLE_NAMES.Tenants, { tenantId });
    const grant = revokesGrant && requestId ? await driver.grant(requestId) : undefined;
    const first = calls.length;
    const response = await route();
    if (response.status >= 300) throw new Error(`${name}: ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`);
    (latencies[name] ??= []).push(response.ms);
    const transaction = calls
      .slice(first)
      .find((call) => call.command.startsWith('TransactWriteItems') && JSON.stringify(call.input).includes(response.body.requestId));
    if (!transaction) return response;
    replays.push(async () => {
      // Copies of what the route's transaction touched, under fresh keys, as they were before the route.
      const suffix = `-bare-${randomUUID()}`;
      const items: Item[] = JSON.parse(JSON.stringify(transaction.input.TransactItems));
      for (const item of items) {
        const [op, body] = Object.entries(item)[0] as [string, Item];
        const keyNames = keys.get(body.TableName) ?? [];
        if (op === 'Put') {
          for (const key of keyNames) body.Item[key] = freshKey(body.Item[key], suffix);
          continue;
        }
        const original = Object.fromEntries(keyNames.map((key) => [key, unmarshallKey(body.Key[key])]));
        const copy = before.get(`${body.TableName}|${JSON.stringify(original)}`);
        for (const key of keyNames) body.Key[key] = freshKey(body.Key[key], suffix);
        if (copy)
          await driver.doc.send(
            new PutCommand({
              TableName: body.TableName,
              Item: { ...copy, ...Object.fromEntries(keyNames.map((key) => [key, unmarshallKey(body.Key[key])])) },
            }),
          );
      }
      const grantCopy = grant && { ...grant, requestId: `${grant.requestId}${suffix}` };
      if (grantCopy) await driver.doc.send(new PutCommand({ TableName: LOCAL_TABLE_NAMES.Grants, Item: grantCopy }));
      const started = performance.now();
      try {
        if (requestId) {
          await driver.doc.send(new GetCommand({ TableName: LOCAL_TABLE_NAMES.Requests, Key: { requestId }, ConsistentRead: true }));
        }
        if (grantCopy) await grants.revoke({ requestId: grantCopy.requestId } as AccessRequest);
        const transacting = performance.now();
        await driver.doc.send(new TransactWriteCommand({ TransactItems: items as never }));
        (bare[name] ??= []).push(performance.now() - transacting);
        await sfn.send(new DescribeExecutionCommand({ executionArn: executionArn(response.body.requestId) }));
        (design[name] ??= []).push(performance.now() - started);
      } catch (error) {
        if (process.env.BENCH_DEBUG) console.error(name, error, JSON.stringify(items));
        bareFailures[name] = (bareFailures[name] ?? 0) + 1;
      }
    });
    return response;
  };

  try {
    for (let i = 0; i < samples; i++) {
      const tag = `route-${randomUUID()}`;
      const created = await measure('POST /requests', undefined, 'demo', () =>
        driver.call(
          'POST',
          '/requests',
          'alice',
          { tenantId: 'demo', ticketId: tag, justification: 'bench', accessLevel: 'ReadOnly', duration: 'PT1M', idempotencyKey: tag },
          counters,
        ),
      );
      const requestId: string = created.body.requestId;
      await driver.until(requestId, (item) => item.taskToken !== undefined);
      await replayWhenQuiet(requestId);
      await measure('POST /requests/{id}/manager-decision', requestId, 'demo', () =>
        driver.call('POST', `/requests/${requestId}/manager-decision`, 'bob', { decision: 'APPROVE' }, counters),
      );
      await driver.until(requestId, (item) => item.taskToken !== undefined && item.status === 'PENDING_CUSTOMER_APPROVAL');
      await replayWhenQuiet(requestId);
      if (i % 2 === 1) {
        await measure('POST /requests/{id}/cancel', requestId, 'demo', () =>
          driver.call('POST', `/requests/${requestId}/cancel`, 'alice', {}, counters),
        );
        await driver.executionEnded(requestId);
        await replayWhenQuiet(requestId);
        continue;
      }
      await measure('POST /requests/{id}/customer-decision', requestId, 'demo', () =>
        driver.call('POST', `/requests/${requestId}/customer-decision`, 'carol', { decision: 'APPROVE' }, counters),
      );
      await driver.until(requestId, (item) => item.status === 'ACTIVE' && item.taskStage === 'access');
      await replayWhenQuiet(requestId);
      await measure(
        'POST /requests/{id}/revoke',
        requestId,
        'demo',
        () => driver.call('POST', `/requests/${requestId}/revoke`, 'carol', { reason: 'bench' }, counters),
        true,
      );
      await driver.executionEnded(requestId);
      await replayWhenQuiet(requestId);
    }
  } finally {
    sfn.destroy();
  }
  for (const name of Object.keys(latencies)) {
    const route = latencies[name];
    const floor = bare[name] ?? [];
    const minimal = design[name] ?? [];
    const p50 = percentile(route, 50);
    report(
      `${name} (goal p50 <= 1.5x bare)`,
      `p50 ${p50.toFixed(1)} ms, p99 ${percentile(route, 99).toFixed(1)} ms; bare TransactWriteItems p50 ${percentile(floor, 50).toFixed(1)} ms, p99 ${percentile(floor, 99).toFixed(1)} ms; ${(p50 / percentile(floor, 50)).toFixed(1)}x; design floor p50 ${percentile(minimal, 50).toFixed(1)} ms, ${(p50 / percentile(minimal, 50)).toFixed(1)}x${bareFailures[name] ? ` (${bareFailures[name]} replays refused)` : ''}`,
    );
  }
}

function freshKey(value: any, suffix: string): any {
  if (value && typeof value === 'object' && 'S' in value) return { S: `${value.S}${suffix}` };
  if (value && typeof value === 'object' && 'N' in value) return { N: String(Math.floor(Math.random() * 1e12)) };
  if (typeof value === 'string') return `${value}${suffix}`;
  if (typeof value === 'number') return Math.floor(Math.random() * 1e12);
  return value;
}

const unmarshallKey = (value: any) => (value && typeof value === 'object' ? (value.S ?? Number(value.N)) : value);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function lifecycleBench(report: Report, options: { lifecycles: number; routeSamples: number }): Promise<void> {
  installCounter();
  // The reconciler and the sealer run on their own schedules (per tenant, not per lifecycle): kept
  // out of the per-lifecycle counts; the database part of the bench times sealing.
  const local = await startLocal({ port: 0, reconcileEverySeconds: 600, digestEverySeconds: 600 });
  const driver = new Driver(local, process.env.AWS_ENDPOINT_URL_DYNAMODB!);
  try {
    for (let i = 1; i < 10; i++) await putTenant(driver, `bench-t${i}`);
    await perLifecycle(driver, report);
    await routes(driver, report, options.routeSamples);
    if (options.lifecycles > 0) await throughput(driver, report, options.lifecycles);
  } finally {
    driver.stop();
    await local.stop();
  }
}
