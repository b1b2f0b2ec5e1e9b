import { randomUUID } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { chainEvent, EMPTY_CHAIN, type AuditEntry, type AuditEvent, type ChainHead } from '../domain/audit';
import { iso } from '../domain/clock';
import { ConflictError, ValidationError } from '../domain/errors';
import type { AccessRequest } from '../domain/request';
import { canApply, TRANSITIONS, type Status } from '../domain/status';
import type { Tenant } from '../domain/tenant';
import type { AuditLog, AuditPublisher, Page, RequestStore, TenantStore, Transition } from '../ports';

export interface TableNames {
  requests: string;
  tenants: string;
  audit: string;
}

/** Index names of the Requests table (the CDK stack creates them with these names). */
export const REQUEST_INDEXES = { byTenant: 'byTenant', byStatus: 'byStatus', byActiveUntil: 'byActiveUntil' } as const;
/** Partition value of the sparse active-grants index: present only while access is granted. */
const ACTIVE_GRANT = 'ACTIVE';

/**
 * How long a write keeps retrying while other writes of the same tenant move the audit chain head.
 * Every write of a tenant moves it, so a burst queues here; 30 quick retries (about 3 s) gave up
 * with 50 concurrent lifecycles, failing workflow steps and so ending requests FAILED. Within the
 * API's 29 s.
 */
const HEAD_RETRY_MS = 20_000;

type Item = Record<string, unknown>;

/** An UpdateExpression built from plain values, with every name and value as a placeholder. */
class UpdateBuilder {
  private readonly sets: string[] = [];
  private readonly removes: string[] = [];
  private readonly conditions: string[] = [];
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private counter = 0;

  name(attribute: string): string {
    const placeholder = `#${attribute}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }
  value(value: unknown): string {
    const placeholder = `:v${this.counter++}`;
    this.values[placeholder] = value;
    return placeholder;
  }
  set(attribute: string, value: unknown): this {
    if (value !== undefined) this.sets.push(`${this.name(attribute)} = ${this.value(value)}`);
    return this;
  }
  setExpression(expression: string): this {
    this.sets.push(expression);
    return this;
  }
  remove(attribute: string): this {
    this.removes.push(this.name(attribute));
    return this;
  }
  when(condition: string): this {
    this.conditions.push(condition);
    return this;
  }
  build() {
    const parts = [this.sets.length && `SET ${this.sets.join(', ')}`, this.removes.length && `REMOVE ${this.removes.join(', ')}`];
    return {
      UpdateExpression: parts.filter(Boolean).join(' '),
      ConditionExpression: this.conditions.join(' AND ') || undefined,
      ExpressionAttributeNames: this.names,
      ExpressionAttributeValues: Object.keys(this.values).length ? this.values : undefined,
    };
  }
}

/**
 * The audit chain: the Audit table plus the chain head on the tenant's item. Every change of the
 * other stores commits through `commit`, as ONE TransactWriteItems:
 *   [0] the change's own conditional write (if any),
 *   [1] the audit event's put (the next `seq` of the tenant's chain),
 *   [2] the tenant's chain-head move (conditional on the head we chained to).
 * If [0] fails the change lost a race (ConflictError). If only [1] or [2] fail, another write of
 * the same tenant moved the head first: re-read the head and try again. Committed events are then
 * handed to the publisher (best effort: the table is the record, the bus an export).
 */
export class DynamoAuditLog implements AuditLog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
    private readonly publisher: AuditPublisher,
    private readonly newId: () => string = randomUUID,
  ) {}

  append(tenantId: string, entry: AuditEntry, nowMs: number): Promise<AuditEvent> {
    return this.commit(tenantId, entry, nowMs);
  }

  async list(tenantId: string, range: { from?: string; to?: string }, limit: number, nextToken?: string): Promise<Page<AuditEvent>> {
    const filters: string[] = [];
    const values: Record<string, unknown> = { ':tenant': tenantId };
    if (range.from) {
      filters.push('#at >= :from');
      values[':from'] = range.from;
    }
    if (range.to) {
      filters.push('#at <= :to');
      values[':to'] = range.to;
    }
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.tables.audit,
        KeyConditionExpression: 'tenantId = :tenant',
        FilterExpression: filters.length ? filters.join(' AND ') : undefined,
        ExpressionAttributeNames: filters.length ? { '#at': 'at' } : undefined,
        ExpressionAttributeValues: values,
        ConsistentRead: true,
        Limit: limit,
        ExclusiveStartKey: decodeNextToken(nextToken, { tenantId }),
      }),
    );
    return { items: (page.Items ?? []) as AuditEvent[], nextToken: encodeNextToken(page.LastEvaluatedKey) };
  }

  /** Appends of one tenant within this process, one after the other (see `commit`). */
  private readonly queues = new Map<string, Promise<unknown>>();

  /**
   * Commits `write` with the tenant's next event. `headWrite` instead merges the head move into a
   * write of the tenant item itself. Within one process the appends of a tenant queue up instead
   * of racing for its head: they would serialise anyway, and racing wastes transactions (measured
   * in `npm run bench`). Across processes the conditional head move still decides.
   */
  commit(
    tenantId: string,
    entry: AuditEntry,
    nowMs: number,
    write?: Item,
    headWrite?: (head: ChainHead, event: AuditEvent) => Item,
  ): Promise<AuditEvent> {
    const previous = this.queues.get(tenantId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.commitNow(tenantId, entry, nowMs, write, headWrite));
    this.queues.set(tenantId, next);
    void next.finally(() => {
      if (this.queues.get(tenantId) === next) this.queues.delete(tenantId);
    }).catch(() => undefined);
    return next;
  }

  private async commitNow(
    tenantId: string,
    entry: AuditEntry,
    nowMs: number,
    write?: Item,
    headWrite?: (head: ChainHead, event: AuditEvent) => Item,
  ): Promise<AuditEvent> {
    const started = Date.now();
    let known: ChainHead | undefined;
    for (let attempt = 1; ; attempt++) {
      const head = known ?? (await this.head(tenantId));
      const event = chainEvent(entry, tenantId, head, iso(nowMs), this.newId());
      const headItem: Item = headWrite ? headWrite(head, event) : { Update: { TableName: this.tables.tenants, Key: { tenantId }, ...moveHead(new UpdateBuilder(), head, event).build() } };
      // On a moved head, DynamoDB returns the tenant item as it is: the retry needs no extra read.
      (headItem.Update as Item).ReturnValuesOnConditionCheckFailure = 'ALL_OLD';
      const items = [
        ...(write ? [write] : []),
        { Put: { TableName: this.tables.audit, Item: event, ConditionExpression: 'attribute_not_exists(seq)' } },
        headItem,
      ];
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: items }));
        await this.publish([event]);
        return event;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = error.CancellationReasons ?? [];
        if (write && reasons[0]?.Code === 'ConditionalCheckFailed') throw new ConflictError('condition failed');
        if (!isRetryableCancel(error) || Date.now() - started >= HEAD_RETRY_MS) throw error;
        known = headOf(reasons.at(-1)?.Item);
        await backoff(attempt);
      }
    }
  }

  private async head(tenantId: string): Promise<ChainHead> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tables.tenants,
        Key: { tenantId },
        ConsistentRead: true,
        ProjectionExpression: 'auditSeq, auditHead',
      }),
    );
    return typeof Item?.auditSeq === 'number' ? { seq: Item.auditSeq, hash: String(Item.auditHead) } : EMPTY_CHAIN;
  }

  private async publish(events: AuditEvent[]) {
    try {
      await this.publisher.publish(events);
    } catch (error) {
      console.error(JSON.stringify({ level: 'error', message: 'audit export failed', error: String(error) }));
    }
  }
}

/** The Requests table. Status changes are conditional writes committed with their audit event. */
export class DynamoRequestStore implements RequestStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
    private readonly chain: DynamoAuditLog,
  ) {}

  async get(requestId: string): Promise<AccessRequest | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tables.requests, Key: { requestId }, ConsistentRead: true }),
    );
    return Item ? fromRequestItem(Item) : undefined;
  }

  async create(request: AccessRequest, audit: AuditEntry): Promise<boolean> {
    try {
      await this.chain.commit(request.tenantId, audit, Date.parse(request.createdAt), {
        Put: { TableName: this.tables.requests, Item: request, ConditionExpression: 'attribute_not_exists(requestId)' },
      });
      return true;
    } catch (error) {
      if (error instanceof ConflictError) return false;
      throw error;
    }
  }

  async transition(change: Transition): Promise<AccessRequest> {
    const { request, action } = change;
    if (!canApply(action, request.status)) {
      throw new ConflictError(`Cannot ${action} a request in status ${request.status}`, { status: request.status });
    }
    const next: AccessRequest = { ...request, ...stripUndefined(change.set), status: TRANSITIONS[action].to, version: request.version + 1 };
    for (const key of change.remove ?? []) delete next[key];
    if (change.addParties?.length) next.parties = [...request.parties, ...change.addParties];

    const update = new UpdateBuilder();
    for (const [key, value] of Object.entries(change.set)) update.set(key, value);
    update.set('status', next.status).set('version', next.version);
    for (const key of change.remove ?? []) update.remove(key);
    if (change.addParties?.length) {
      update.setExpression(`${update.name('parties')} = list_append(${update.name('parties')}, ${update.value(change.addParties)})`);
    }
    // The sparse index of live grants holds a request exactly while it is ACTIVE.
    if (next.status === 'ACTIVE') update.set('activeGrant', ACTIVE_GRANT);
    if (request.status === 'ACTIVE') update.remove('activeGrant');
    update
      .when(`${update.name('status')} = ${update.value(request.status)}`)
      .when(`${update.name('version')} = ${update.value(request.version)}`);
    const require = change.require ?? {};
    if (require.openStage) {
      update
        .when(`${update.name('openStage')} = ${update.value(require.openStage)}`)
        .when(`attribute_exists(${update.name('taskToken')})`)
        .when(`${update.name('approvalDeadlineMs')} > ${update.value(change.nowMs)}`);
    }
    for (const key of require.separateFrom ?? []) {
      update.when(`NOT contains(${update.name('parties')}, ${update.value(key)})`);
    }
    if (require.linkHash !== undefined) {
      update.when(`contains(${update.name('linkHashes')}, ${update.value(require.linkHash)})`);
    }
    await this.commitUpdate(request, update, change.audit, change.nowMs);
    return next;
  }

  async update(request: AccessRequest, expectedStatus: Status, set: Partial<AccessRequest>, nowMs: number, audit?: AuditEntry): Promise<AccessRequest> {
    const next: AccessRequest = { ...request, ...stripUndefined(set), version: request.version + 1 };
    const update = new UpdateBuilder();
    for (const [key, value] of Object.entries(set)) update.set(key, value);
    update
      .set('version', next.version)
      .when(`${update.name('status')} = ${update.value(expectedStatus)}`)
      .when(`${update.name('version')} = ${update.value(request.version)}`);
    if (audit) {
      await this.commitUpdate(request, update, audit, nowMs);
      return next;
    }
    try {
      await this.db.send(new UpdateCommand({ TableName: this.tables.requests, Key: { requestId: request.requestId }, ...update.build() }));
    } catch (error) {
      if ((error as Error | undefined)?.name === 'ConditionalCheckFailedException') throw await this.conflict(request.requestId);
      throw error;
    }
    return next;
  }

  private async commitUpdate(request: AccessRequest, update: UpdateBuilder, audit: AuditEntry, nowMs: number) {
    try {
      await this.chain.commit(request.tenantId, audit, nowMs, {
        Update: { TableName: this.tables.requests, Key: { requestId: request.requestId }, ...update.build() },
      });
    } catch (error) {
      if (error instanceof ConflictError) throw await this.conflict(request.requestId);
      throw error;
    }
  }

  /** A lost race: the error carries the status the winner left. */
  private async conflict(requestId: string): Promise<ConflictError> {
    const current = await this.get(requestId);
    return new ConflictError('The request changed meanwhile; it is no longer in the state this action needs', {
      status: current?.status,
    });
  }

  listByTenant(tenantId: string, filter: { status?: Status; createdAfter?: string }, limit: number, nextToken?: string) {
    return this.query(REQUEST_INDEXES.byTenant, 'tenantId', tenantId, filter, limit, nextToken);
  }

  listByStatus(status: Status, filter: { createdAfter?: string }, limit: number, nextToken?: string) {
    return this.query(REQUEST_INDEXES.byStatus, 'status', status, filter, limit, nextToken);
  }

  async listOverdueGrants(nowMs: number, limit: number): Promise<AccessRequest[]> {
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.tables.requests,
        IndexName: REQUEST_INDEXES.byActiveUntil,
        KeyConditionExpression: 'activeGrant = :active AND activeUntil <= :now',
        ExpressionAttributeValues: { ':active': ACTIVE_GRANT, ':now': nowMs },
        Limit: limit,
      }),
    );
    return (page.Items ?? []).map(fromRequestItem);
  }

  private async query(
    index: string,
    partitionKey: 'tenantId' | 'status',
    partition: string,
    filter: { status?: Status; createdAfter?: string },
    limit: number,
    nextToken?: string,
  ): Promise<Page<AccessRequest>> {
    const names: Record<string, string> = { '#pk': partitionKey };
    const values: Record<string, unknown> = { ':pk': partition };
    let keyCondition = '#pk = :pk';
    if (filter.createdAfter) {
      keyCondition += ' AND #createdAt > :after';
      names['#createdAt'] = 'createdAt';
      values[':after'] = filter.createdAfter;
    }
    let filterExpression: string | undefined;
    if (partitionKey === 'tenantId' && filter.status) {
      filterExpression = '#status = :status';
      names['#status'] = 'status';
      values[':status'] = filter.status;
    }
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.tables.requests,
        IndexName: index,
        KeyConditionExpression: keyCondition,
        FilterExpression: filterExpression,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: decodeNextToken(nextToken, { [partitionKey]: partition }),
      }),
    );
    return { items: (page.Items ?? []).map(fromRequestItem), nextToken: encodeNextToken(page.LastEvaluatedKey) };
  }
}

/** The Tenants table. A tenant's settings and its audit chain head share its item. */
export class DynamoTenantStore implements TenantStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
    private readonly chain: DynamoAuditLog,
  ) {}

  async get(tenantId: string): Promise<Tenant | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tables.tenants, Key: { tenantId }, ConsistentRead: true }));
    // The item of a chain without a tenant (SYSTEM_CHAIN) holds only a head.
    return Item && typeof Item.displayName === 'string' ? (Item as Tenant) : undefined;
  }

  /** Settings, version and chain head move in one conditional Update, with the event's Put. */
  async update(tenant: Tenant, audit: AuditEntry, nowMs: number): Promise<Tenant> {
    const { tenantId, version, auditSeq: _seq, auditHead: _head, ...settings } = tenant;
    try {
      const event = await this.chain.commit(tenantId, audit, nowMs, undefined, (head, next) => {
        const update = new UpdateBuilder();
        for (const [key, value] of Object.entries(settings)) update.set(key, value);
        update.set('version', version + 1).when(`${update.name('version')} = ${update.value(version)}`);
        return { Update: { TableName: this.tables.tenants, Key: { tenantId }, ...moveHead(update, head, next).build() } };
      });
      return { ...tenant, version: version + 1, auditSeq: event.seq, auditHead: event.hash };
    } catch (error) {
      const current = await this.get(tenantId);
      if (current && current.version !== version) {
        throw new ConflictError('The tenant changed meanwhile; read it again', { version: current.version });
      }
      throw error;
    }
  }
}

/** The head in a cancellation reason's item (raw attribute values: the document client does not convert errors). */
function headOf(item: Record<string, { N?: string; S?: string }> | undefined): ChainHead | undefined {
  const seq = Number(item?.auditSeq?.N);
  return Number.isSafeInteger(seq) && item?.auditHead?.S ? { seq, hash: item.auditHead.S } : undefined;
}

/** Moves the chain head to `event`, on condition that it is still the head we chained to. */
function moveHead(update: UpdateBuilder, head: ChainHead, event: AuditEvent): UpdateBuilder {
  update.set('auditSeq', event.seq).set('auditHead', event.hash);
  return update.when(
    head.seq === 0
      ? `attribute_not_exists(${update.name('auditSeq')})`
      : `${update.name('auditSeq')} = ${update.value(head.seq)}`,
  );
}

/** Cancelled because another transaction got there first (head moved, or a concurrent transaction). */
function isRetryableCancel(error: unknown): boolean {
  if (!(error instanceof TransactionCanceledException)) return false;
  return (error.CancellationReasons ?? []).some((reason) =>
    ['ConditionalCheckFailed', 'TransactionConflict'].includes(reason.Code ?? ''),
  );
}

/** Full jitter, growing to at most 1 s. */
const backoff = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(1000, 10 * 2 ** Math.min(attempt, 7))));

const stripUndefined = <T extends object>(value: T): Partial<T> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;

function fromRequestItem(item: Item): AccessRequest {
  const { activeGrant: _activeGrant, ...request } = item;
  return request as unknown as AccessRequest;
}

/** Page tokens: the last key, base64url JSON. A token for another partition is refused. */
function encodeNextToken(key: Item | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

function decodeNextToken(token: string | undefined, mustMatch: Item): Item | undefined {
  if (!token) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  const valid =
    key !== null &&
    typeof key === 'object' &&
    !Array.isArray(key) &&
    Object.values(key).every((value) => typeof value === 'string' || typeof value === 'number') &&
    Object.entries(mustMatch).every(([name, value]) => (key as Item)[name] === value);
  if (!valid) throw new ValidationError('nextToken is not valid for this query', { field: 'nextToken' });
  return key as Item;
}
