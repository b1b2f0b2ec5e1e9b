import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { AUDIT_EVENT_SOURCE } from '../../../lambdas/core/adapters/audit-publishers';
import { type AuditEvent, chainEvent, EMPTY_CHAIN } from '../../../lambdas/core/domain/audit';
import { handler } from '../../../lambdas/handlers/export-audit';

Object.assign(process.env, {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AUDIT_PUBLISHER: 'eventbridge',
  AUDIT_BUS_NAME: 'lockbox-audit',
});
const bus = mockClient(EventBridgeClient);
beforeEach(() => bus.reset());

/** A chain of `count` events of one request, as the ledger writes them. */
function chainOf(count: number, requestId = 'req-0123456789abcdef0123456789abcdef'): AuditEvent[] {
  const events: AuditEvent[] = [];
  let head = EMPTY_CHAIN;
  for (let i = 0; i < count; i++) {
    const entry = { type: 'LinkRefused' as const, requestId, actor: { kind: 'anonymous' as const, id: 'link' }, details: { n: i } };
    const event = chainEvent(entry, 'demo', requestId, head, new Date(Date.UTC(2026, 11, 1, 9, 0, i)).toISOString(), `event-${i}`);
    events.push(event);
    head = { seq: event.seq, hash: event.hash };
  }
  return events;
}

let sequence = 100;
const record = (eventName: DynamoDBRecord['eventName'], item: object): DynamoDBRecord => ({
  eventID: `id-${sequence}`,
  eventName,
  eventSource: 'aws:dynamodb',
  eventVersion: '1.1',
  awsRegion: 'eu-west-1',
  dynamodb: {
    Keys: marshall({ chainId: (item as AuditEvent).chainId, seq: (item as AuditEvent).seq }) as never,
    NewImage: marshall(item, { removeUndefinedValues: true }) as never,
    SequenceNumber: String(sequence++),
    StreamViewType: 'NEW_IMAGE',
  },
});
/** What the table holds: the event and its by-time index key. */
const inserted = (event: AuditEvent) => record('INSERT', { ...event, timeKey: `${event.at}|${event.chainId}|${event.seq}` });

const run = (records: DynamoDBRecord[]) =>
  handler({ Records: records } as DynamoDBStreamEvent, {} as Context) as Promise<DynamoDBBatchResponse>;
const sent = () => bus.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries!.map((entry) => JSON.parse(entry.Detail!)));

describe('export-audit (the Audit table stream → the audit bus)', () => {
  it('publishes every inserted event as it is in the ledger, ten entries per PutEvents, in order', async () => {
    bus.on(PutEventsCommand).callsFake(({ Entries }) => ({ FailedEntryCount: 0, Entries: Entries.map(() => ({ EventId: 'x' })) }));
    const events = chainOf(23);
    const response = await run(events.map(inserted));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(sent().map((batch) => batch.length)).toEqual([10, 10, 3]);
    expect(sent().flat()).toEqual(events);
    expect(bus.commandCalls(PutEventsCommand)[0].args[0].input.Entries![0]).toMatchObject({
      EventBusName: 'lockbox-audit',
      Source: AUDIT_EVENT_SOURCE,
      DetailType: 'LinkRefused',
      Time: new Date(events[0].at),
    });
  });

  it('ignores what is not a new event: digests, and any MODIFY or REMOVE', async () => {
    bus.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'x' }] });
    const [event, other] = chainOf(2);
    const digest = { chainId: 'digests:demo', seq: 1, tenantId: 'demo', hash: 'd'.repeat(64), signature: 'c2ln', chains: [] };
    const response = await run([record('INSERT', digest), record('MODIFY', other), record('REMOVE', other), inserted(event)]);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(sent()).toEqual([[event]]);
  });

  it('reports an entry the bus refused, and every event after it, as batch item failures (and sends no later batch)', async () => {
    bus.on(PutEventsCommand).callsFake(({ Entries }) => ({
      FailedEntryCount: 1,
      Entries: Entries.map((_: unknown, i: number) =>
        i === 4 ? { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' } : { EventId: 'x' },
      ),
    }));
    const records = chainOf(15).map(inserted);
    const response = await run(records);

    expect(bus.commandCalls(PutEventsCommand)).toHaveLength(1);
    expect(response.batchItemFailures).toEqual(records.slice(4).map((r) => ({ itemIdentifier: r.dynamodb!.SequenceNumber })));
  });

  it('reports the whole batch when the bus cannot be reached, so the stream retries it', async () => {
    bus.on(PutEventsCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    const records = chainOf(3).map(inserted);
    const response = await run(records);
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(records.map((r) => r.dynamodb!.SequenceNumber));
  });
});
