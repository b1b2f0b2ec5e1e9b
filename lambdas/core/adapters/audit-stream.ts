import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import type { AuditEvent } from '../domain/audit';
import type { AuditPublisher } from '../ports';
import { fromAuditItem } from './audit-items';

/**
 * The Audit table's stream (NEW_IMAGE) as the export's input: each new item that is an audit event
 * (the table also holds the signed digests, which are not exported) is published, in stream order.
 * The records of events not exported are reported as batch item failures: Lambda's event source
 * mapping (and local mode's poller) retries from the first of them, so nothing is skipped; an event
 * may reach the bus twice (consumers dedupe by `eventId`). Audit items are never changed or
 * deleted, so only INSERTs count.
 */
export async function exportStreamRecords(records: DynamoDBRecord[], publisher: AuditPublisher): Promise<DynamoDBBatchResponse> {
  const exported: { event: AuditEvent; sequenceNumber: string }[] = [];
  for (const record of records) {
    const image = record.dynamodb?.NewImage;
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    if (record.eventName !== 'INSERT' || !image || !sequenceNumber) continue;
    const item = unmarshall(image as Record<string, AttributeValue>);
    if (typeof item.eventId === 'string') exported.push({ event: fromAuditItem(item), sequenceNumber });
  }
  const events = exported.map(({ event }) => event);
  const notExported = new Set(await publisher.publish(events).catch(() => events));
  return {
    batchItemFailures: exported
      .filter(({ event }) => notExported.has(event))
      .map(({ sequenceNumber }) => ({ itemIdentifier: sequenceNumber })),
  };
}
