/**
 * `npm run bench`: figures for the things whose speed or size matters, measured on this machine.
 * Prints a table; asserts nothing (tests check behaviour, not timings).
 *
 * - link tokens: issue + verify per second (local HMAC signer)
 * - audit chain: events hashed per second, and verifying a 10,000-event chain
 * - DynamoDB Local: latency of one status change (ONE TransactWriteItems of 3 items plus the head read)
 * - the per-tenant audit chain under contention: requests filed per second by N concurrent
 *   engineers on ONE tenant (every write of a tenant moves its chain head) vs on N tenants
 * - whole lifecycles on local mode (bench/lifecycles.ts): throughput on one tenant vs ten, calls
 *   and state transitions per lifecycle, write routes next to a bare TransactWriteItems and their
 *   design floor (read + transaction + Step Functions call)
 *   (BENCH_LIFECYCLES, default 1000; BENCH_ROUTE_SAMPLES, default 20)
 * - handler bundles as deployed, and their cold init next to a floor (bench/bundles.ts)
 * - start-up of the `lockbox` command line next to a floor (bench/cli.ts)
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { LocalDigestSigner } from '../lambdas/core/adapters/digest-signers';
import { DynamoAuditLog, DynamoRequestStore, DynamoTenantStore } from '../lambdas/core/adapters/dynamo-store';
import { LocalSigner } from '../lambdas/core/adapters/signers';
import { type AuditEvent, chainEvent, EMPTY_CHAIN, verifyChain } from '../lambdas/core/domain/audit';
import { issueLinkToken, verifyLinkToken } from '../lambdas/core/domain/link-token';
import type { Deps } from '../lambdas/core/usecases/deps';
import { type LedgerDeps, sealAll, sealTenant, verifyTenant } from '../lambdas/core/usecases/ledger';
import { createRequest } from '../lambdas/core/usecases/requests';
import { ensureTables, startDynamoDbLocal } from '../local/dynamodb';
import { deployment } from '../local/schema';
import { DIRECTORY } from '../local/seed';
import { LOCAL_TABLE_NAMES } from '../local/tables';
import { measureBundles, printBundles } from './bundles';
import { cliBench } from './cli';
import { lifecycleBench } from './lifecycles';

const ROOT = resolve(__dirname, '..');
const rows: [string, string][] = [];
const report = (name: string, value: string) => {
  rows.push([name, value]);
  console.log(`${name.padEnd(58)} ${value}`);
};

async function perSecond(seconds: number, work: () => Promise<unknown> | unknown): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let count = 0;
  while (performance.now() < end) {
    await work();
    count++;
  }
  return count / seconds;
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];

async function domain() {
  const signer = new LocalSigner('k1', { k1: randomBytes(32) });
  const expiresAtMs = Date.now() + 3_600_000;
  const rate = await perSecond(1, async () => {
    const token = await issueLinkToken(signer, {
      requestId: 'req-0123456789abcdef0123456789abcdef',
      stage: 'customer',
      email: 'approver@demo.example',
      expiresAtMs,
    });
    await verifyLinkToken(signer, token, Date.now());
  });
  report('link token issue + verify', `${Math.round(rate).toLocaleString('en')} /s`);

  const events: AuditEvent[] = [];
  let head = EMPTY_CHAIN;
  const started = performance.now();
  for (let i = 0; i < 10_000; i++) {
    const event = chainEvent(
      { type: 'RequestCreated', requestId: `req-${i}`, actor: { kind: 'engineer', id: 'alice' }, details: { i } },
      'demo',
      'req-bench',
      head,
      new Date().toISOString(),
      `e${i}`,
    );
    events.push(event);
    head = { seq: event.seq, hash: event.hash };
  }
  report(
    'audit events chained (hash of canonical JSON)',
    `${Math.round(10_000 / ((performance.now() - started) / 1000)).toLocaleString('en')} /s`,
  );
  const verifyStarted = performance.now();
  if (!verifyChain(events).ok) throw new Error('chain did not verify');
  report('verify a 10,000-event chain', `${Math.round(performance.now() - verifyStarted)} ms`);
}

async function database() {
  const dynamo = await startDynamoDbLocal({});
  await dynamo.ready;
  try {
    const { tables } = await deployment(ROOT);
    await ensureTables(dynamo.client, tables);
    const doc = DynamoDBDocumentClient.from(dynamo.client, { marshallOptions: { removeUndefinedValues: true } });
    const names = { requests: LOCAL_TABLE_NAMES.Requests, tenants: LOCAL_TABLE_NAMES.Tenants, audit: LOCAL_TABLE_NAMES.Audit };
    // One set of stores is one process (a Lambda container, or local mode); several sets race like several Lambdas.
    const depsOfOneProcess = () => {
      const chain = new DynamoAuditLog(doc, names);
      return {
        clock: { now: () => new Date() },
        requests: new DynamoRequestStore(doc, names, chain),
        tenants: new DynamoTenantStore(doc, names, chain),
        audit: chain,
        workflow: { start: async () => undefined },
        directory: DIRECTORY,
        policy: { durationFloor: 'PT1S', durationCap: 'PT4H', managerApprovalTimeout: 'PT1H', linkBaseUrl: 'http://localhost' },
        log: { info: () => undefined, warn: () => undefined, error: () => undefined },
      } as unknown as Deps;
    };
    const deps = depsOfOneProcess();
    const tenant = (tenantId: string) => ({
      tenantId,
      displayName: tenantId,
      lockboxEnabled: true,
      approvers: [{ email: 'approver@demo.example' }],
      admins: ['arn:aws:iam::222222222222:user/carol'],
      auditors: [],
      maxAccessDuration: 'PT4H',
      approvalTimeout: 'PT1H',
      accessLevels: { ReadOnly: {} },
      version: 1,
    });
    const tenants = Array.from({ length: 50 }, (_, i) => `bench-${i}`);
    await Promise.all(tenants.map((id) => doc.send(new PutCommand({ TableName: names.tenants, Item: tenant(id) }))));
    const engineer = { principal: DIRECTORY.engineers[0].principal };
    const file = (tenantId: string, i: number, using = deps) =>
      createRequest(using, engineer, { tenantId, ticketId: `B-${i}`, justification: 'bench', accessLevel: 'ReadOnly', duration: 'PT1H' });
    const rate = async (count: number, work: (i: number) => Promise<unknown>) => {
      const started = performance.now();
      await Promise.all(Array.from({ length: count }, (_, i) => work(i)));
      return (count / ((performance.now() - started) / 1000)).toFixed(0);
    };

    const latencies: number[] = [];
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      await file('bench-0', i);
      latencies.push(performance.now() - started);
    }
    report(
      'file a request, sequential (one 2-item transaction of the request)',
      `p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms`,
    );

    for (const concurrency of [10, 50]) {
      const processes = Array.from({ length: concurrency }, depsOfOneProcess);
      const queued = await rate(concurrency, (i) => file('bench-1', 1000 + concurrency + i));
      const racing = await rate(concurrency, (i) => file('bench-2', 2000 + concurrency + i, processes[i]));
      const spread = await rate(concurrency, (i) => file(tenants[i], 3000 + concurrency + i));
      report(`${concurrency} concurrent requests, one tenant: one process / ${concurrency} racing`, `${queued} /s / ${racing} /s`);
      report(`${concurrency} concurrent requests over ${concurrency} tenants, one process`, `${spread} /s`);
    }
    await ledgerFigures(deps.audit as DynamoAuditLog, tenants);
  } finally {
    await dynamo.stop();
  }
}

/**
 * The ledger's scheduled work, beside the write figures: sealing one tenant's digest (first with
 * every chain advanced, then with none), and verifying a tenant's whole ledger (events/s).
 */
async function ledgerFigures(ledger: DynamoAuditLog, tenants: string[]) {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const d: LedgerDeps = {
    ledger,
    digestSigner: new LocalDigestSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    clock: { now: () => new Date() },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
  };
  const timed = async (work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    return performance.now() - started;
  };
  const busy = 'bench-0';
  const chains = (await ledger.advancedChains(busy)).length;
  const first = await timed(() => sealTenant(d, busy));
  const quiet: number[] = [];
  for (let i = 0; i < 20; i++) quiet.push(await timed(() => sealTenant(d, busy)));
  report(
    `seal one tenant's digest: ${chains} chains advanced / none`,
    `${first.toFixed(1)} ms / p50 ${percentile(quiet, 50).toFixed(1)} ms`,
  );
  const all = await timed(() => sealAll(d));
  report(`seal every tenant (${tenants.length} tenants)`, `${(all / tenants.length).toFixed(1)} ms per tenant`);
  let events = 0;
  const verifying = await timed(async () => {
    const verdict = await verifyTenant(d, busy);
    if (!verdict.ok) throw new Error(`ledger did not verify: ${verdict.firstBroken?.message}`);
    events = verdict.verified.events;
  });
  report(
    `verify a tenant's ledger (${events} events, ${1 + quiet.length} digests, read + check)`,
    `${(events / (verifying / 1000)).toFixed(0)} events/s`,
  );
}

/** Runs of each cold import (`BENCH_COLD_RUNS`, default 11). */
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 11);

/** `npm run bench -- bundles [handler…]`: every handler, or the ones named. */
async function bundles() {
  printBundles(await measureBundles(ROOT, COLD_RUNS, process.argv.slice(3)), COLD_RUNS, report);
}

async function main() {
  console.log(`Lockbox benchmarks — node ${process.version}, ${new Date().toISOString()}\n`);
  // `npm run bench -- bundles` runs only the bundle figures (or domain, database, lifecycles, cli).
  const only = process.argv[2];
  if (!only || only === 'domain') await domain();
  if (!only || only === 'database') await database();
  if (!only || only === 'lifecycles') {
    await lifecycleBench(report, {
      lifecycles: Number(process.env.BENCH_LIFECYCLES ?? 1000),
      routeSamples: Number(process.env.BENCH_ROUTE_SAMPLES ?? 20),
    });
  }
  if (!only || only === 'bundles') await bundles();
  if (!only || only === 'cli') await cliBench(ROOT, COLD_RUNS, report);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
