import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { exportStreamRecords } from '../core/adapters/audit-stream';
import { log, observed } from '../core/observability';
import { auditPublisher } from '../core/wiring/audit-export';

/**
 * The Audit table's stream (an event source mapping; local mode's poller): exports every new
 * audit event to the audit bus, off the API path. Reports the records not exported, which the
 * mapping retries (a bounded number of times, then its on-failure queue).
 */
export const handler = observed<DynamoDBStreamEvent, DynamoDBBatchResponse>().handler(async (event) => {
  const response = await exportStreamRecords(event.Records, auditPublisher());
  const failed = response.batchItemFailures.length;
  if (failed) log.warn('audit events not exported yet: the stream retries them', { failed, records: event.Records.length });
  return response;
});
