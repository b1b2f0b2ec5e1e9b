import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { exportStreamRecords } from '../../lambdas/core/adapters/audit-stream';
import type { AuditEntry, AuditEvent } from '../../lambdas/core/domain/audit';
import { startAuditStream } from '../../local/audit-stream';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb';
import { waitFor } from '../e2e/support/harness';
import { demoTenant } from '../support/fixtures';
import { freshTables, type TableNames } from '../support/tables';
import { type Harness, harness } from '../support/use-case-deps';

/**
 * Local mode's stand-in for the export's event source mapping, on DynamoDB Local's real stream:
 * it hands the export function the Audit table's new records in order, retries from the first
 * record the function reports as failed, and goes on after its checkpoint when started again.
 */
jest.setTimeout(60_000);

let dynamo: DynamoDbLocal;
let doc: DynamoDBDocumentClient;
let tables: TableNames;
let h: Harness;
let dir: string;

beforeAll(async () => {
  dynamo = await startDynamoDbLocal({});
  await dynamo.ready;
  doc = DynamoDBDocumentClient.from(dynamo.client, { marshallOptions: { removeUndefinedValues: true } });
  dir = await mkdtemp(join(tmpdir(), 'lockbox-audit-stream-'));
});
afterAll(async () => {
  await dynamo?.stop();
  await rm(dir, { recursive: true, force: true });
});

let count = 0;
beforeEach(async () => {
  tables = await freshTables(dynamo.client, `as${++count}`);
  h = harness(doc, tables);
  await h.seedTenant(demoTenant());
});

const refused = (n: number): AuditEntry => ({ type: 'LinkRefused', actor: { kind: 'anonymous', id: 'link' }, details: { n } });
const ledger = async () =>
  (
    (
      await doc.send(
        new QueryCommand({
          TableName: tables.audit,
          KeyConditionExpression: 'chainId = :chain',
          ExpressionAttributeValues: { ':chain': 'tenant:demo' },
          ConsistentRead: true,
        }),
      )
    ).Items ?? []
  ).map(({ timeKey: _timeKey, ...event }) => event as AuditEvent);

/** The export function as deployed, with a bus that records what it accepted and refuses as told. */
function exporter(refuse: (event: AuditEvent, call: number) => boolean = () => false) {
  const accepted: AuditEvent[] = [];
  const batches: number[] = [];
  const invoke = async (event: unknown) => {
    const { Records } = event as DynamoDBStreamEvent;
    batches.push(Records.length);
    const call = batches.length;
    return exportStreamRecords(Records, {
      publish: async (events) => {
        const first = events.findIndex((candidate) => refuse(candidate, call));
        accepted.push(...(first < 0 ? events : events.slice(0, first)));
        return first < 0 ? [] : events.slice(first);
      },
    });
  };
  return { accepted, batches, invoke };
}

const start = (invoke: (event: unknown) => Promise<unknown>, checkpointFile?: string) =>
  startAuditStream({ dynamo: dynamo.client, endpoint: dynamo.endpoint, tableName: tables.audit, invoke, checkpointFile, idleMs: 50 });

/** Waits until the bus has taken `count` events. */
const exportedAtLeast = (bus: { accepted: unknown[] }, count: number) =>
  waitFor(
    `${count} exported event(s)`,
    async () => bus.accepted.length,
    (n) => n >= count,
  );

describe('the local audit stream', () => {
  it('exports every new event in order, and retries from the first record the function reports as failed', async () => {
    for (let n = 1; n <= 3; n++) await h.deps.audit.append('demo', refused(n), h.clock.now().getTime());
    const events = await ledger();
    const bus = exporter((event, call) => call === 1 && event.seq === 2);
    const poller = await start(bus.invoke);
    try {
      await exportedAtLeast(bus, 3);
    } finally {
      await poller.stop();
    }
    expect(bus.accepted).toEqual(events);
    // The first batch had all three; the retry began at the refused one.
    expect(bus.batches).toEqual([3, 2]);
  });

  it('goes on after its checkpoint when started again (a data directory), and stops cleanly', async () => {
    const checkpoint = join(dir, `checkpoint-${count}.json`);
    await h.deps.audit.append('demo', refused(1), h.clock.now().getTime());
    const first = exporter();
    const poller = await start(first.invoke, checkpoint);
    await exportedAtLeast(first, 1);
    await poller.stop();

    await h.deps.audit.append('demo', refused(2), h.clock.now().getTime());
    const second = exporter();
    const again = await start(second.invoke, checkpoint);
    try {
      await exportedAtLeast(second, 1);
    } finally {
      await again.stop();
    }
    const [one, two] = await ledger();
    expect(first.accepted).toEqual([one]);
    expect(second.accepted).toEqual([two]);
  });
});
