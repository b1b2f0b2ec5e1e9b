import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { AUDIT_EVENT_SOURCE } from '../lambdas/core/adapters/audit-publishers';

/** The EventBridge bus every committed audit event is exported to, archived indefinitely. */
export class AuditBus extends Construct {
  /** Audit events, `source: ["lockbox.audit"]`, `detail-type` = event type. */
  readonly bus: events.EventBus;
  readonly archive: events.Archive;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bus = new events.EventBus(this, 'Bus', {
      description: `Lockbox audit events: source ${AUDIT_EVENT_SOURCE}, detail-type = event type`,
    });
    this.archive = this.bus.archive('Archive', {
      description: 'Every Lockbox audit event, kept indefinitely',
      eventPattern: { source: [AUDIT_EVENT_SOURCE] },
    });
  }
}
