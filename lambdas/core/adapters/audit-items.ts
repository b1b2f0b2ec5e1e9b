import type { AuditEvent } from '../domain/audit';

/**
 * An Audit table item as the event it stores (without the by-time index key). Shared by the
 * ledger adapter and the stream export, which must publish exactly what the ledger reads.
 */
export function fromAuditItem(item: Record<string, unknown>): AuditEvent {
  const { timeKey: _timeKey, ...event } = item;
  return event as unknown as AuditEvent;
}
