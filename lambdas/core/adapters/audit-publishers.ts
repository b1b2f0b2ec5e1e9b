import { appendFile } from 'node:fs/promises';
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { AuditEvent } from '../domain/audit';
import type { AuditPublisher } from '../ports';

/** Source and detail-type of audit events on the bus; a customer routes them with this pattern. */
export const AUDIT_EVENT_SOURCE = 'lockbox.audit';

/** PutEvents takes at most this many entries per call. */
export const PUT_EVENTS_MAX_ENTRIES = 10;

/**
 * Exports audit events to an EventBridge bus (detail-type = event type), ten per PutEvents, in
 * order. It stops at the first call with a refused entry (or that fails): the stream retries from
 * the first event not exported, so sending the later ones now would only send them twice.
 */
export class EventBridgePublisher implements AuditPublisher {
  constructor(
    private readonly events: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(events: AuditEvent[]): Promise<AuditEvent[]> {
    for (let start = 0; start < events.length; start += PUT_EVENTS_MAX_ENTRIES) {
      const batch = events.slice(start, start + PUT_EVENTS_MAX_ENTRIES);
      const refused = await this.put(batch);
      if (refused >= 0) return events.slice(start + refused);
    }
    return [];
  }

  /** The index of the first entry the bus did not accept, or -1 when it accepted all. */
  private async put(batch: AuditEvent[]): Promise<number> {
    try {
      const { FailedEntryCount, Entries } = await this.events.send(
        new PutEventsCommand({
          Entries: batch.map((event) => ({
            EventBusName: this.busName,
            Source: AUDIT_EVENT_SOURCE,
            DetailType: event.type,
            Detail: JSON.stringify(event),
            Time: new Date(event.at),
          })),
        }),
      );
      if (!FailedEntryCount) return -1;
      const first = (Entries ?? []).findIndex((entry) => entry.ErrorCode !== undefined);
      return Math.max(first, 0);
    } catch {
      // Throttled or unreachable after the SDK's retries: none of this batch is known to be on the bus.
      return 0;
    }
  }
}

/** Local mode: the "bus" is a JSON-lines file. */
export class FilePublisher implements AuditPublisher {
  constructor(private readonly path: string) {}

  async publish(events: AuditEvent[]): Promise<AuditEvent[]> {
    if (events.length) await appendFile(this.path, events.map((event) => `${JSON.stringify(event)}\n`).join(''));
    return [];
  }
}
