import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from '../domain/audit';
import { ChangedMeanwhile, ConflictError, ThrottledError } from '../domain/errors';
import type { AccessRequest } from '../domain/request';
import { canApply, type Status, TRANSITIONS } from '../domain/status';
import type { Tenant } from '../domain/tenant';
import type { Page, RequestStore, TenantStore, Transition } from '../ports';
import { decodeNextToken, encodeNextToken, type Item, type RawValue, UpdateBuilder } from './dynamo-expressions';
import {
  type DynamoAuditLog,
  LEDGER_REQUEST_ATTRIBUTES,
  LEDGER_TENANT_ATTRIBUTES,
  moveRequestHead,
  requestHeadAttributes,
  type TableNames,
} from './dynamo-ledger';

export { DynamoAuditLog, type TableNames } from './dynamo-ledger';

/** On a placeholder item that stops timed-out creates (`fenceCreate`): the attempts it stopped. */
const FENCED_ATTEMPTS = 'fencedAttempts';
/** Index names of the Requests table (the CDK stack creates them with these names). */
export const REQUEST_INDEXES = { byTenant: 'byTenant', byStatus: 'byStatus', byActiveUntil: 'byActiveUntil' } as const;
/** Partition value of the sparse active-grants index: present only while access is granted. */
const ACTIVE_GRANT = 'ACTIVE';

/** The Requests table. Status changes are conditional writes committed with their audit event. */
export class DynamoRequestStore implements RequestStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
    private readonly chain: DynamoAuditLog,
  ) {}

  async get(requestId: string): Promise<AccessRequest | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tables.requests, Key: { requestId }, ConsistentRead: true }));
    return Item && !Item[FENCED_ATTEMPTS] ? fromRequestItem(Item) : undefined;
  }

  /**
   * Puts a new request with its first audit event, if its id is new (false: it exists — a repeat
   * of the same idempotency key). Each attempt has its own id, so a fence (below) can stop exactly
   * the attempt that timed out while a retry of the same request id still goes in.
   */
  async create(request: AccessRequest, audit: AuditEntry): Promise<boolean> {
    const attempt = randomUUID();
    try {
      await this.chain.commitRequest(request, audit, Date.parse(request.createdAt), (_head, event) => ({
        Put: {
          TableName: this.tables.requests,
          Item: { ...request, ...requestHeadAttributes(event) },
          ConditionExpression: `attribute_not_exists(requestId) OR (attribute_exists(${FENCED_ATTEMPTS}) AND NOT contains(${FENCED_ATTEMPTS}, :attempt))`,
          ExpressionAttributeValues: { ':attempt': attempt },
        },
      }));
      return true;
    } catch (error) {
      if (error instanceof ConflictError) return false;
      if (isAmbiguous(error)) return this.fenceCreate(request, attempt, error);
      throw error;
    }
  }

  /**
   * A create timed out with its outcome unknown. A placeholder item naming the attempt makes its
   * late commit impossible (503: nothing will commit); it is no request (`get` skips it, no index
   * holds it), and a retry replaces it. If a request is there instead, the create committed (or
   * the same idempotency key filed it first).
   */
  private async fenceCreate(request: AccessRequest, attempt: string, cause: unknown): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tables.requests,
          Key: { requestId: request.requestId },
          UpdateExpression: `ADD ${FENCED_ATTEMPTS} :attempt`,
          ConditionExpression: `attribute_not_exists(requestId) OR attribute_exists(${FENCED_ATTEMPTS})`,
          ExpressionAttributeValues: { ':attempt': new Set([attempt]) },
        }),
      );
    } catch (error) {
      if ((error as Error | undefined)?.name !== 'ConditionalCheckFailedException')
        throw new ThrottledError('The store did not answer in time', 1, { cause: error });
      return (await this.get(request.requestId))?.createdAt === request.createdAt;
    }
    throw new ThrottledError('The store did not answer in time; the request was fenced and will not be filed', 1, { cause });
  }

  async transition(change: Transition): Promise<AccessRequest> {
    const { request, action } = change;
    if (!canApply(action, request.status)) {
      throw new ConflictError(`Cannot ${action} a request in status ${request.status}`, { status: request.status });
    }
    const next: AccessRequest = { ...request, ...stripUndefined(change.set), status: TRANSITIONS[action].to, version: request.version + 1 };
    for (const key of change.remove ?? []) delete next[key];
    if (change.addParties?.length) next.parties = [...request.parties, ...change.addParties];

    const build = (update: UpdateBuilder) => {
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
          .when(`${update.name('approvalDeadlineMs')} > ${update.value(change.nowMs)}`);
      }
      if (require.deadlinePassed) update.when(`${update.name('approvalDeadlineMs')} <= ${update.value(change.nowMs)}`);
      for (const key of require.separateFrom ?? []) {
        update.when(`NOT contains(${update.name('parties')}, ${update.value(key)})`);
      }
      if (require.linkHash !== undefined) {
        update.when(`contains(${update.name('linkHashes')}, ${update.value(require.linkHash)})`);
      }
    };
    return this.commitUpdate(request, next, build, change.audit, change.nowMs);
  }

  async update(
    request: AccessRequest,
    expectedStatus: Status,
    set: Partial<AccessRequest>,
    nowMs: number,
    audit?: AuditEntry,
  ): Promise<AccessRequest> {
    const next: AccessRequest = { ...request, ...stripUndefined(set), version: request.version + 1 };
    const build = (update: UpdateBuilder) => {
      for (const [key, value] of Object.entries(set)) update.set(key, value);
      update
        .set('version', next.version)
        .when(`${update.name('status')} = ${update.value(expectedStatus)}`)
        .when(`${update.name('version')} = ${update.value(request.version)}`);
    };
    if (audit) return this.commitUpdate({ ...request, status: expectedStatus }, next, build, audit, nowMs);
    const update = new UpdateBuilder();
    build(update);
    try {
      await this.db.send(new UpdateCommand({ TableName: this.tables.requests, Key: { requestId: request.requestId }, ...update.build() }));
    } catch (error) {
      if ((error as Error | undefined)?.name === 'ConditionalCheckFailedException') throw await this.conflict(request.requestId);
      throw error;
    }
    return next;
  }

  /**
   * The update `build` makes, the chain-head move and the event, in one transaction. If only the
   * head moved meanwhile (an event with no status change, e.g. a refused link), the write is
   * retried on the new head: the request itself is as this write expects it.
   */
  private async commitUpdate(
    request: AccessRequest,
    next: AccessRequest,
    build: (update: UpdateBuilder) => void,
    audit: AuditEntry,
    nowMs: number,
  ): Promise<AccessRequest> {
    const unchanged = (old: Record<string, RawValue>) => old.status?.S === request.status && old.version?.N === String(request.version);
    try {
      const event = await this.chain.commitRequest(
        request,
        audit,
        nowMs,
        (head, event) => {
          const update = new UpdateBuilder();
          build(update);
          return {
            Update: {
              TableName: this.tables.requests,
              Key: { requestId: request.requestId },
              ...moveRequestHead(update, head, event).build(),
            },
          };
        },
        unchanged,
      );
      return { ...next, auditSeq: event.seq, auditHead: event.hash };
    } catch (error) {
      if (error instanceof ConflictError) throw await this.conflict(request.requestId);
      if (isAmbiguous(error)) return this.fence(request, next, error);
      throw error;
    }
  }

  /**
   * The write timed out (or the service failed) with its outcome unknown: it may still be in flight
   * and commit later. Every write here is conditional on the version it read, so one more write
   * that moves the version (and nothing else) makes a late commit impossible. Then: if the item
   * shows our transition, it committed; if the fence went in, it never will (ThrottledError, 503);
   * if another write moved it, the use case reads again (ChangedMeanwhile).
   */
  private async fence(request: AccessRequest, next: AccessRequest, cause: unknown): Promise<AccessRequest> {
    const update = new UpdateBuilder();
    update.set('version', request.version + 1).when(`${update.name('version')} = ${update.value(request.version)}`);
    try {
      await this.db.send(new UpdateCommand({ TableName: this.tables.requests, Key: { requestId: request.requestId }, ...update.build() }));
    } catch (error) {
      if ((error as Error | undefined)?.name !== 'ConditionalCheckFailedException')
        throw new ThrottledError('The store did not answer in time', 1, { cause: error });
      const current = await this.get(request.requestId);
      if (current && current.version === next.version && current.status === next.status) return current;
      throw await this.conflict(request.requestId);
    }
    throw new ThrottledError('The store did not answer in time; the write was fenced and will not commit', 1, { cause });
  }

  /** A lost race: the error carries the status the winner left. */
  private async conflict(requestId: string): Promise<ConflictError> {
    const current = await this.get(requestId);
    return new ChangedMeanwhile('The request changed meanwhile; it is no longer in the state this action needs', {
      status: current?.status,
    });
  }

  async attachTask(
    requestId: string,
    status: Status,
    task: Pick<AccessRequest, 'taskToken' | 'taskStage'>,
  ): ReturnType<RequestStore['attachTask']> {
    const update = new UpdateBuilder();
    update
      .set('taskToken', task.taskToken)
      .set('taskStage', task.taskStage)
      // A new version: a write that read the request before the token was attached (an early
      // revoke) conflicts, reads again and finds the token to complete.
      .setExpression(`${update.name('version')} = ${update.name('version')} + ${update.value(1)}`)
      .when(`${update.name('status')} = ${update.value(status)}`);
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.tables.requests,
          Key: { requestId },
          ...update.build(),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { attached: fromRequestItem(Attributes ?? {}) };
    } catch (error) {
      if ((error as Error | undefined)?.name !== 'ConditionalCheckFailedException') throw error;
      const old = (error as { Item?: Record<string, RawValue> }).Item;
      return { status: (old?.status?.S as Status | undefined) ?? (await this.get(requestId))?.status };
    }
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
    if (!Item || typeof Item.displayName !== 'string') return undefined;
    for (const attribute of LEDGER_TENANT_ATTRIBUTES) delete Item[attribute];
    return Item as Tenant;
  }

  async list(): Promise<Tenant[]> {
    const tenants: Tenant[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(new ScanCommand({ TableName: this.tables.tenants, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) {
        if (typeof item.displayName !== 'string') continue; // a chain head without a tenant (SYSTEM_CHAIN)
        for (const attribute of LEDGER_TENANT_ATTRIBUTES) delete item[attribute];
        tenants.push(item as Tenant);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return tenants;
  }

  /** Settings, version and chain head move in one conditional Update, with the event's Put. */
  async update(tenant: Tenant, audit: AuditEntry, nowMs: number): Promise<Tenant> {
    const { tenantId, version, auditSeq: _seq, auditHead: _head, ...settings } = tenant;
    try {
      const event = await this.chain.commitSettings(tenantId, audit, nowMs, (update) => {
        for (const [key, value] of Object.entries(settings)) update.set(key, value);
        update.set('version', version + 1).when(`${update.name('version')} = ${update.value(version)}`);
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

  /**
   * The tenant item and the first event of its settings chain (TenantCreated) in one transaction,
   * on condition that no tenant has the id: of two creates, exactly one wins.
   */
  async create(tenant: Tenant, audit: AuditEntry, nowMs: number): Promise<boolean> {
    const { tenantId, auditSeq: _seq, auditHead: _head, ...settings } = tenant;
    try {
      await this.chain.commitSettings(tenantId, audit, nowMs, (update) => {
        for (const [key, value] of Object.entries(settings)) update.set(key, value);
        update.when(`attribute_not_exists(${update.name('tenantId')})`);
      });
      return true;
    } catch (error) {
      if (error instanceof ConflictError) return false;
      throw error;
    }
  }
}

const stripUndefined = <T extends object>(value: T): Partial<T> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;

function fromRequestItem(item: Item): AccessRequest {
  const { activeGrant: _activeGrant, ...request } = item;
  for (const attribute of LEDGER_REQUEST_ATTRIBUTES) delete request[attribute];
  return request as unknown as AccessRequest;
}

/** A failure after which the write may or may not have committed (the service may still apply it). */
const isAmbiguous = (error: unknown): boolean =>
  error instanceof Error &&
  (['TimeoutError', 'InternalServerError', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(error.name) ||
    ['ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(String((error as { code?: string }).code)));
