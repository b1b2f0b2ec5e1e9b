import { appendFile } from 'node:fs/promises';
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { AuditEvent } from '../domain/audit';
import type { AuditPublisher } from '../ports';

/** Source and detail-type of audit events on the bus; a customer routes them with this pattern. */
export const AUDIT_EVENT_SOURCE = 'lockbox.audit';

/** Exports committed audit events to an EventBridge bus (detail-type = event type). */
export class EventBridgePublisher implements AuditPublisher {
  constructor(
    private readonly events: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(events: AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    const { FailedEntryCount } = await this.events.send(
      new PutEventsCommand({
        Entries: events.map((event) => ({
          EventBusName: this.busName,
          Source: AUDIT_EVENT_SOURCE,
          DetailType: event.type,
          Detail: JSON.stringify(event),
          Time: new Date(event.at),
        })),
      }),
    );
    if (FailedEntryCount) throw new Error(`${FailedEntryCount} audit events were not accepted by the bus`);
  }
}

/** Local mode: the "bus" is a JSON-lines file. */
export class FilePublisher implements AuditPublisher {
  constructor(private readonly path: string) {}

  async publish(events: AuditEvent[]): Promise<void> {
    await appendFile(this.path, events.map((event) => `${JSON.stringify(event)}\n`).join(''));
  }
}
