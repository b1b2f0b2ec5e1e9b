import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgePublisher, FilePublisher } from '../adapters/audit-publishers';
import { config } from '../config';
import { traced } from '../observability';
import type { AuditPublisher } from '../ports';
import { once } from './once';

/** Where the export-audit function sends committed audit events: the EventBridge bus, or local mode's file. */
export const auditPublisher = once(
  (): AuditPublisher =>
    config.auditPublisher() === 'eventbridge'
      ? new EventBridgePublisher(traced(new EventBridgeClient({})), config.auditBusName())
      : new FilePublisher(config.auditLogFile()),
);
