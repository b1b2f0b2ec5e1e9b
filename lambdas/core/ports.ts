import type { AuditEntry, AuditEvent } from './domain/audit';
import type { Digest, DigestedHead } from './domain/digest';
import type { AccessDetails, AccessRequest } from './domain/request';
import type { Action, Status } from './domain/status';
import type { Tenant } from './domain/tenant';

/**
 * The secondary ports: everything a use case needs from the outside world. One adapter per AWS
 * concern implements each (`adapters/`); tests give fakes or mocked clients.
 */

/** A page of results; `nextToken` is opaque to callers. */
export interface Page<T> {
  items: T[];
  nextToken?: string;
}

/**
 * One status change, committed atomically with its audit event and the request's chain-head move
 * (the head lives on the request item: only items of this request are written).
 * The write succeeds only if the request is still in one of `from` at `version`, and every extra
 * condition holds; otherwise it fails with a ChangedMeanwhile (a ConflictError) carrying the current status.
 */
export interface Transition {
  request: AccessRequest;
  action: Action;
  /** Attributes to set (dotted paths are not supported; whole attributes only). */
  set: Partial<AccessRequest>;
  remove?: (keyof AccessRequest)[];
  /** Extra conditions checked inside the write, against the server clock `nowMs`. */
  require?: {
    /** The stage's decision window is open (the write that entered the stage opened it) and its deadline is ahead. */
    openStage?: AccessRequest['openStage'];
    /** The open stage's deadline has passed (expiry). */
    deadlinePassed?: boolean;
    /** None of these identity keys is among the request's parties (separation of duties). */
    separateFrom?: string[];
    /** This link token hash was issued for the open stage. */
    linkHash?: string;
  };
  /** Identity keys to add to `parties`. */
  addParties?: string[];
  audit: AuditEntry;
  nowMs: number;
}

export interface RequestStore {
  get(requestId: string): Promise<AccessRequest | undefined>;
  /** Stores a new request with its RequestCreated event; false if the id exists already. */
  create(request: AccessRequest, audit: AuditEntry): Promise<boolean>;
  /** Returns the request as written. */
  transition(change: Transition): Promise<AccessRequest>;
  /** A conditional update that is not a status change (stage opening, outcome notified). */
  update(
    request: AccessRequest,
    expectedStatus: Status,
    set: Partial<AccessRequest>,
    nowMs: number,
    audit?: AuditEntry,
  ): Promise<AccessRequest>;
  /**
   * Attaches the waiting task's token while the request is in `status`, in one write with no read
   * first (no version condition: the writes that race it check the version and read again).
   * Returns the request as attached (no read), or the status it was in instead.
   */
  attachTask(
    requestId: string,
    status: Status,
    task: Pick<AccessRequest, 'taskToken' | 'taskStage'>,
  ): Promise<{ attached: AccessRequest } | { attached?: undefined; status: Status | undefined }>;
  listByTenant(
    tenantId: string,
    filter: { status?: Status; createdAfter?: string },
    limit: number,
    nextToken?: string,
  ): Promise<Page<AccessRequest>>;
  listByStatus(status: Status, filter: { createdAfter?: string }, limit: number, nextToken?: string): Promise<Page<AccessRequest>>;
  /** Requests still ACTIVE whose window ended at or before `nowMs` (the sparse active-grants index). */
  listOverdueGrants(nowMs: number, limit: number): Promise<AccessRequest[]>;
}

export interface TenantStore {
  get(tenantId: string): Promise<Tenant | undefined>;
  /** Every tenant (a scan: tenants are few), for the console to find those a person has a role in. */
  list(): Promise<Tenant[]>;
  /** Replaces the settings at `version` (conditional), with a TenantUpdated event. */
  update(tenant: Tenant, audit: AuditEntry, nowMs: number): Promise<Tenant>;
  /** Stores a new tenant with the first event of its chain (TenantCreated); false if the id exists. */
  create(tenant: Tenant, audit: AuditEntry, nowMs: number): Promise<boolean>;
}

/**
 * A page of the audit log. `nextToken` while more settled events follow now; `cursor` always:
 * pass it back as `nextToken` later to continue exactly after this page (a poller misses nothing).
 */
export interface AuditPage extends Page<AuditEvent> {
  cursor: string;
}

export interface AuditLog {
  /**
   * Appends an event that goes with no status change (e.g. LinkRefused): to the chain of the
   * request it names, or to the tenant's settings chain when it names none (or none that exists).
   */
  append(tenantId: string, entry: AuditEntry, nowMs: number): Promise<AuditEvent>;
  /** A tenant's settled events by time (see `AuditPage`). */
  list(tenantId: string, range: { from?: string; to?: string }, limit: number, nextToken?: string): Promise<AuditPage>;
}

/** What the digest sealer and the verification read and write (the ledger's digest side). */
export interface DigestLedger {
  tenantIds(): Promise<string[]>;
  /** Heads of the tenant's chains that advanced since they were last sealed (never a scan of all chains). */
  advancedChains(tenantId: string): Promise<DigestedHead[]>;
  latestDigest(tenantId: string): Promise<Digest | undefined>;
  /** Stores it and records it as the last sealed; false when that seq exists already (another sealer won) or a later one was recorded. */
  putDigest(digest: Digest): Promise<boolean>;
  /** The last digest recorded as sealed. */
  latestSealed(tenantId: string): Promise<{ seq: number; hash: string } | undefined>;
  /** Clears the "advanced" marks of these heads (a chain that moved on since keeps its mark). */
  markSealed(tenantId: string, heads: DigestedHead[]): Promise<void>;
  listDigests(tenantId: string, range: { from?: string; to?: string }, limit: number, nextToken?: string): Promise<Page<Digest>>;
  /** Every event and digest of the tenant and the last digest recorded as sealed (read first), for verification. */
  everything(tenantId: string): Promise<{ events: AuditEvent[]; digests: Digest[]; latestDigest?: { seq: number; hash: string } }>;
  /** One chain straight from the table (strongly consistent). */
  chain(chainId: string): Promise<AuditEvent[]>;
}

/** Signs digests (KMS ECC_NIST_P256 on AWS, a local P-256 key in local mode). */
export interface DigestSigner {
  readonly keyId: string;
  /** DER ECDSA signature over SHA-256 of `payload`. */
  sign(payload: Buffer): Promise<Buffer>;
  /** The public key as SPKI PEM. */
  publicKeyPem(): Promise<string>;
}

/**
 * Counts refusals of one kind from one source (e.g. one link from one IP) so they cannot flood
 * the audit log: the first of each window is recorded as an event, the rest only counted.
 */
export interface RefusalCounter {
  /**
   * Counts one refusal under `key`. `record: true` for the first of a window (`windowMs` after the
   * last recorded one), with how many were counted but not recorded since that one.
   */
  count(key: string, nowMs: number, windowMs: number): Promise<{ record: true; unrecorded: number } | { record: false }>;
}

/**
 * Exports committed audit events, in order (EventBridge on AWS, a JSON-lines file in local mode).
 * Resolves with the events not exported: the first one refused and every one after it, so that
 * the caller (the Audit table's stream) retries from there.
 */
export interface AuditPublisher {
  publish(events: AuditEvent[]): Promise<AuditEvent[]>;
}

export interface Email {
  to: string[];
  subject: string;
  text: string;
  html: string;
}
export interface Mailer {
  send(email: Email): Promise<void>;
}

/** The running workflow of a request (Step Functions). */
export interface Workflow {
  /** Starts the request's execution, named by its id; starting it twice is harmless. */
  start(requestId: string, input: { managerSeconds: number; customerSeconds: number }): Promise<void>;
  /**
   * Delivers a committed decision to the waiting task. Returns 'lost-race' when the task is
   * gone (timed out, already settled) — the database then already holds the outcome.
   */
  succeed(taskToken: string, output: { status: Status }): Promise<'delivered' | 'lost-race'>;
  fail(taskToken: string, error: 'RequestCancelled', cause: string): Promise<'delivered' | 'lost-race'>;
  /** Names (request ids) of the executions still running, for the reconciler. */
  runningExecutions(): Promise<Set<string>>;
  /** Whether the request's execution runs, has ended, or was never started. */
  executionStatus(requestId: string): Promise<'running' | 'ended' | 'never-started'>;
}

export interface GrantInput {
  request: AccessRequest;
  tenant: Tenant;
  accessStartsAt: string;
  accessExpiresAt: string;
}

/** Real access to the tenant. Both calls are idempotent: a repeat converges on the same result. */
export interface AccessProvider {
  grant(input: GrantInput): Promise<AccessDetails>;
  /** `onStep` hears each step as it completes, for the audit event (e.g. the `iam` provider's five steps). */
  revoke(request: AccessRequest, onStep?: (step: string, outcome: 'done' | 'already-done') => void): Promise<void>;
  /** Request ids whose provider-side access outlived its expiry (a role left behind), for the reconciler. */
  listExpired(nowMs: number): Promise<string[]>;
}
