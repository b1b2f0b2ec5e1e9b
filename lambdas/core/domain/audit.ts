import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';

/**
 * The tamper-evident audit ledger: one hash chain per request (its head on the request item), and
 * one per tenant for events that belong to no request (the tenant's *settings* chain, head on the
 * tenant item). Each event's hash covers the previous event's hash and the canonical JSON of
 * everything else in the event, so changing, removing or inserting an event breaks every hash
 * after it; signed digests (`digest.ts`) pin the heads so that truncation shows too.
 */
export const AUDIT_EVENT_TYPES = [
  'RequestCreated',
  'ManagersNotified',
  'ManagerApproved',
  'ManagerRejected',
  'CustomerNotified',
  'CustomerApproved',
  'CustomerDenied',
  'RequestExpired',
  'RequestCancelled',
  'RequestFailed',
  'AccessGranted',
  'AccessGrantFailed',
  'AccessRevoked',
  'RevokeFailed',
  'LinkRefused',
  'ConsoleRefused',
  'TenantUpdated',
  'DigestSealed',
  'TenantCreated',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export type ActorKind = 'engineer' | 'manager' | 'approver' | 'admin' | 'system' | 'anonymous';
export interface Actor {
  kind: ActorKind;
  id: string;
  /** The person key of a human actor (docs/design.md §3a: `email:…`, `idp-user:…` or `principal:…`). */
  person?: string;
}

/** What a use case says happened; the chain fields are added when it is appended. */
export interface AuditEntry {
  type: AuditEventType;
  requestId?: string;
  actor: Actor;
  sourceIp?: string;
  details?: Record<string, unknown>;
}

export interface AuditEvent extends AuditEntry {
  tenantId: string;
  /** The request's id, or `settingsChainId(tenantId)` for events that belong to no request. */
  chainId: string;
  seq: number;
  eventId: string;
  at: string;
  prevHash: string;
  hash: string;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);
export const EMPTY_CHAIN: ChainHead = { seq: 0, hash: GENESIS_HASH };

/** Audit events that cannot be attributed to a tenant (a forged link naming no known request). */
export const SYSTEM_CHAIN = '_system';

/** The chain of a tenant's events that belong to no request. Request ids never contain ':'. */
export const settingsChainId = (tenantId: string): string => `tenant:${tenantId}`;

/**
 * Listing by time never misses an event: the API lists only events whose `at` is at least
 * `settleMs` old, and the ledger refuses to commit an event more than `maxCommitDelayMs` after
 * its `at` (half the settle window; the other half covers index propagation and clock skew).
 * 60 s on AWS: longer than the API's 29 s timeout, so no API write can commit behind the horizon.
 */
export const DEFAULT_AUDIT_SETTLE_MS = 60_000;
export const maxCommitDelayMs = (settleMs: number): number => Math.floor(settleMs / 2);

export function hashEvent(event: Omit<AuditEvent, 'hash'>): string {
  return createHash('sha256').update(event.prevHash).update(canonicalJson(event)).digest('hex');
}

/** The next event of chain `chainId` (whose head is `head`). */
export function chainEvent(entry: AuditEntry, tenantId: string, chainId: string, head: ChainHead, at: string, eventId: string): AuditEvent {
  const actor = { kind: entry.actor.kind, id: entry.actor.id, person: entry.actor.person ?? '' };
  const unhashed = { ...entry, actor, tenantId, chainId, seq: head.seq + 1, eventId, at, prevHash: head.hash };
  return { ...unhashed, hash: hashEvent(unhashed) };
}

export type ChainVerdict = { ok: true; head: ChainHead } | { ok: false; brokenAt: number; reason: string };

/**
 * Recomputes a chain (events in `seq` order, from the first event or from `start`) and reports the
 * first broken link.
 */
export function verifyChain(events: readonly AuditEvent[], start: ChainHead = EMPTY_CHAIN): ChainVerdict {
  let head = start;
  for (const event of events) {
    if (event.seq !== head.seq + 1) {
      return { ok: false, brokenAt: event.seq, reason: `expected seq ${head.seq + 1}, found ${event.seq}` };
    }
    if (event.prevHash !== head.hash) {
      return { ok: false, brokenAt: event.seq, reason: 'prevHash does not match the previous event' };
    }
    const { hash, ...unhashed } = event;
    if (hashEvent(unhashed) !== hash) {
      return { ok: false, brokenAt: event.seq, reason: 'hash does not match the event' };
    }
    head = { seq: event.seq, hash };
  }
  return { ok: true, head };
}
