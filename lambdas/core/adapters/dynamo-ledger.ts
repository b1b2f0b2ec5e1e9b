import { randomUUID } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  paginateScan,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type AuditEntry,
  type AuditEvent,
  type ChainHead,
  chainEvent,
  DEFAULT_AUDIT_SETTLE_MS,
  EMPTY_CHAIN,
  maxCommitDelayMs,
  settingsChainId,
} from '../domain/audit';
import { iso } from '../domain/clock';
import { type Digest, type DigestedHead, digestChainId } from '../domain/digest';
import { ConflictError } from '../domain/errors';
import type { AuditLog, AuditPage, DigestLedger, Page } from '../ports';
import { fromAuditItem } from './audit-items';
import {
  backoff,
  cancellationReasons,
  decodeNextToken,
  encodeNextToken,
  type Item,
  type RawValue,
  rawNumber,
  UpdateBuilder,
} from './dynamo-expressions';

export interface TableNames {
  requests: string;
  tenants: string;
  audit: string;
}

/** Index names of the ledger (the CDK stack creates them with these names). */
export const LEDGER_INDEXES = {
  /** Audit: a tenant's events by time (`tenantId`, `timeKey`); digests have no timeKey. */
  byTenantTime: 'byTenantTime',
  /** Requests, sparse: requests whose chain advanced since the last digest (`sealTenant`). */
  unsealedChains: 'byUnsealedChain',
} as const;

/** Attribute of the request item that puts it in the sparse unsealed-chains index. */
const SEAL_MARKER = 'sealTenant';
/** Attribute of the tenant item: the settings chain's seq the last digest covered. */
const SETTINGS_SEALED = 'sealedSeq';
/** Attributes of the tenant item: the last digest sealed (so that removing the newest digests shows). */
const DIGEST_SEQ = 'digestSeq';
const DIGEST_HASH = 'digestHash';
/** A benign race (a concurrent transaction on the item, another event moved the head) is retried this often. */
const MAX_ATTEMPTS = 8;

/** The ledger refused an event it could not commit within the commit window (see DEFAULT_AUDIT_SETTLE_MS). */
export class CommitWindowPassed extends Error {
  constructor(ageMs: number) {
    super(`audit event not committed: ${ageMs} ms after its time, beyond the ledger's commit window`);
    this.name = 'CommitWindowPassed';
  }
}

export interface LedgerOptions {
  /** Listing shows events at least this old (default 60 s); commits are refused after half of it. */
  settleMs?: number;
  /** The server clock the settle window and the commit window are measured on. */
  now?: () => number;
  newId?: () => string;
}

/** What a write of a request needs to chain to it. */
export interface RequestHead {
  requestId: string;
  tenantId: string;
  auditSeq?: number;
  auditHead?: string;
}

const headOfRequest = (request: RequestHead): ChainHead =>
  typeof request.auditSeq === 'number' && request.auditHead ? { seq: request.auditSeq, hash: request.auditHead } : EMPTY_CHAIN;

const rawHead = (item: Record<string, RawValue> | undefined): ChainHead | undefined => {
  const seq = rawNumber(item?.auditSeq);
  return seq !== undefined && item?.auditHead?.S ? { seq, hash: item.auditHead.S } : undefined;
};

/** Sort key of the by-time index: time first; no key is a prefix of another (seq has a fixed width). */
export const timeKey = (event: Pick<AuditEvent, 'at' | 'chainId' | 'seq'>) =>
  `${event.at}|${event.chainId}|${String(event.seq).padStart(10, '0')}`;
/** Sorts after every timeKey of that millisecond. */
const endOf = (at: string) => `${at}|~`;

/**
 * The audit ledger on DynamoDB. Audit table: pk `chainId` (a requestId, `tenant:<id>`, or
 * `digests:<id>` for the tenant's digests), sk `seq`; GSI `byTenantTime` lists a tenant's events.
 *
 * A write of a request commits as ONE TransactWriteItems of two items, both of that request:
 *   [0] the request item's own conditional write, which also moves the chain head (`auditSeq`,
 *       `auditHead`, on condition it is still the head we chained to) and sets the seal marker;
 *   [1] the event's put (`attribute_not_exists`, the next seq of the request's chain).
 * Requests never contend with each other. Events of no request chain on the tenant item.
 * The export to the audit bus reads the table's stream (handlers/export-audit.ts), off the writer's path.
 */
export class DynamoAuditLog implements AuditLog, DigestLedger {
  private readonly settleMs: number;
  private readonly now: () => number;
  private readonly newId: () => string;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
    options: LedgerOptions = {},
  ) {
    this.settleMs = options.settleMs ?? DEFAULT_AUDIT_SETTLE_MS;
    this.now = options.now ?? Date.now;
    this.newId = options.newId ?? randomUUID;
  }

  /**
   * Commits a write of the request item together with the request's next event. `write` builds the
   * item's write for a head and event; it must include `moveRequestHead`. When the write's own
   * condition fails because only the head moved (an event without a status change chained in
   * between) and `stillCurrent` accepts the item as it is now, the write is retried on the new head;
   * otherwise a ConflictError.
   */
  async commitRequest(
    request: RequestHead,
    entry: AuditEntry,
    nowMs: number,
    write: (head: ChainHead, event: AuditEvent) => Item,
    stillCurrent: (old: Record<string, RawValue>) => boolean = () => false,
  ): Promise<AuditEvent> {
    let head = headOfRequest(request);
    for (let attempt = 1; ; attempt++) {
      this.checkCommitWindow(nowMs);
      const event = chainEvent(entry, request.tenantId, request.requestId, head, iso(nowMs), this.newId());
      const own = write(head, event);
      const operation = (own.Update ?? own.Put) as Item;
      operation.ReturnValuesOnConditionCheckFailure = 'ALL_OLD';
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: [own, this.putEvent(event)] }));
        return event;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const [reason] = cancellationReasons(error);
        const moved = reason?.Code === 'ConditionalCheckFailed' ? rawHead(reason.Item) : undefined;
        const retry =
          attempt < MAX_ATTEMPTS &&
          (isConflict(error) || (moved !== undefined && moved.seq !== head.seq && reason?.Item !== undefined && stillCurrent(reason.Item)));
        if (!retry) {
          if (reason?.Code === 'ConditionalCheckFailed') throw new ConflictError('condition failed');
          throw error;
        }
        if (moved && moved.seq !== head.seq) head = moved;
        await backoff(attempt);
      }
    }
  }

  /**
   * Appends an event that goes with no status change: to its request's chain when it names a
   * request that exists, else to the tenant's settings chain.
   */
  async append(tenantId: string, entry: AuditEntry, nowMs: number): Promise<AuditEvent> {
    if (entry.requestId) {
      const { Item } = await this.db.send(
        new GetCommand({
          TableName: this.tables.requests,
          Key: { requestId: entry.requestId },
          ConsistentRead: true,
          ProjectionExpression: 'requestId, tenantId, auditSeq, auditHead',
        }),
      );
      if (Item && Item.tenantId === tenantId) {
        return this.commitRequest(
          Item as RequestHead,
          entry,
          nowMs,
          (head, event) => {
            const update = moveRequestHead(new UpdateBuilder(), head, event).when('attribute_exists(requestId)');
            return { Update: { TableName: this.tables.requests, Key: { requestId: event.chainId }, ...update.build() } };
          },
          () => true,
        );
      }
    }
    return this.commitSettings(tenantId, entry, nowMs);
  }

  /**
   * Commits the tenant's next settings-chain event with a write of the tenant item (`settings`
   * adds to the head move, e.g. the new settings and their version condition). A moved head is
   * re-read from the cancellation and retried; any other failed condition is a ConflictError.
   */
  async commitSettings(
    tenantId: string,
    entry: AuditEntry,
    nowMs: number,
    settings?: (update: UpdateBuilder) => void,
  ): Promise<AuditEvent> {
    let head = await this.settingsHead(tenantId);
    for (let attempt = 1; ; attempt++) {
      this.checkCommitWindow(nowMs);
      const event = chainEvent(entry, tenantId, settingsChainId(tenantId), head, iso(nowMs), this.newId());
      const update = new UpdateBuilder();
      settings?.(update);
      update.set('auditSeq', event.seq).set('auditHead', event.hash).when(headCondition(update, head));
      const items = [
        {
          Update: { TableName: this.tables.tenants, Key: { tenantId }, ...update.build(), ReturnValuesOnConditionCheckFailure: 'ALL_OLD' },
        },
        this.putEvent(event),
      ];
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: items }));
        return event;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const [reason] = cancellationReasons(error);
        const moved = reason?.Code === 'ConditionalCheckFailed' ? (rawHead(reason.Item) ?? EMPTY_CHAIN) : undefined;
        const headMoved = moved !== undefined && moved.seq !== head.seq;
        if (attempt >= MAX_ATTEMPTS || !(isConflict(error) || headMoved)) {
          if (reason?.Code === 'ConditionalCheckFailed') throw new ConflictError('condition failed');
          throw error;
        }
        if (headMoved) head = moved;
        await backoff(attempt);
      }
    }
  }

  /**
   * A tenant's events by time, oldest first, only those at least `settleMs` old (the horizon): an
   * event's commit is refused once half that has passed since its `at`, so nothing can still
   * appear behind the horizon. `cursor` continues exactly after what this page returned (after the
   * horizon when the range is exhausted), so a poller that keeps calling with it misses nothing.
   */
  async list(tenantId: string, range: { from?: string; to?: string }, limit: number, nextToken?: string): Promise<AuditPage> {
    const horizon = this.now() - this.settleMs;
    // Normalised (milliseconds, Z), so that they compare with `at` as strings.
    const to = iso(range.to ? Math.min(Date.parse(range.to), horizon) : horizon);
    const after = nextToken ? decodeNextToken(nextToken, { t: tenantId })?.after : undefined;
    // No timeKey is a prefix of another, so `after + ' '` sorts after `after` and before every later key.
    const low = typeof after === 'string' ? `${after} ` : range.from ? iso(Date.parse(range.from)) : '0';
    const high = endOf(to);
    const cursor = (position: string) => encodeNextToken({ t: tenantId, after: position }) as string;
    if (low > high) return { items: [], cursor: nextToken ?? cursor(high) };
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.tables.audit,
        IndexName: LEDGER_INDEXES.byTenantTime,
        KeyConditionExpression: 'tenantId = :tenant AND timeKey BETWEEN :low AND :high',
        ExpressionAttributeValues: { ':tenant': tenantId, ':low': low, ':high': high },
        Limit: limit,
      }),
    );
    const items = (page.Items ?? []).map(fromAuditItem);
    const last = items.at(-1);
    if (items.length === limit && page.LastEvaluatedKey !== undefined && last) {
      const next = cursor(timeKey(last));
      return { items, nextToken: next, cursor: next };
    }
    return { items, cursor: cursor(high) };
  }

  // ---- digests (the sealer and verification) ----

  async tenantIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const page of paginateScan({ client: this.db }, { TableName: this.tables.tenants, ProjectionExpression: 'tenantId' })) {
      ids.push(...(page.Items ?? []).map((item) => String(item.tenantId)));
    }
    return ids.sort();
  }

  /** Request chains marked since their last digest (the sparse index), and the settings chain if it advanced. */
  async advancedChains(tenantId: string): Promise<DigestedHead[]> {
    const heads: DigestedHead[] = [];
    const marked = await this.queryAll({
      TableName: this.tables.requests,
      IndexName: LEDGER_INDEXES.unsealedChains,
      KeyConditionExpression: `${SEAL_MARKER} = :tenant`,
      ExpressionAttributeValues: { ':tenant': tenantId },
    });
    for (const item of marked) {
      if (typeof item.auditSeq === 'number')
        heads.push({ chainId: String(item.requestId), seq: item.auditSeq, hash: String(item.auditHead) });
    }
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tables.tenants,
        Key: { tenantId },
        ConsistentRead: true,
        ProjectionExpression: `auditSeq, auditHead, ${SETTINGS_SEALED}`,
      }),
    );
    if (typeof Item?.auditSeq === 'number' && Item.auditSeq > Number(Item[SETTINGS_SEALED] ?? 0)) {
      heads.push({ chainId: settingsChainId(tenantId), seq: Item.auditSeq, hash: String(Item.auditHead) });
    }
    return heads;
  }

  async latestDigest(tenantId: string): Promise<Digest | undefined> {
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.tables.audit,
        KeyConditionExpression: 'chainId = :chain',
        ExpressionAttributeValues: { ':chain': digestChainId(tenantId) },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    return page.Items?.[0] ? fromDigestItem(page.Items[0]) : undefined;
  }

  /**
   * Stores a digest and records it as the tenant's last, in one transaction; false if a digest
   * with its seq exists already (another sealer was first) or a later one was recorded (the
   * newest digests were removed behind the ledger's back: it does not seal over the hole).
   */
  async putDigest(digest: Digest): Promise<boolean> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tables.audit,
                Item: { ...digest, chainId: digestChainId(digest.tenantId) },
                ConditionExpression: 'attribute_not_exists(seq)',
              },
            },
            {
              Update: {
                TableName: this.tables.tenants,
                Key: { tenantId: digest.tenantId },
                UpdateExpression: `SET ${DIGEST_SEQ} = :seq, ${DIGEST_HASH} = :hash`,
                ConditionExpression: `attribute_not_exists(${DIGEST_SEQ}) OR ${DIGEST_SEQ} < :seq`,
                ExpressionAttributeValues: { ':seq': digest.seq, ':hash': digest.hash },
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (cancellationReasons(error).some((reason) => reason.Code === 'ConditionalCheckFailed')) return false;
      throw error;
    }
  }

  /** The last digest the tenant's ledger recorded sealing (read it before the digests). */
  async latestSealed(tenantId: string): Promise<{ seq: number; hash: string } | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tables.tenants,
        Key: { tenantId },
        ConsistentRead: true,
        ProjectionExpression: `${DIGEST_SEQ}, ${DIGEST_HASH}`,
      }),
    );
    return typeof Item?.[DIGEST_SEQ] === 'number' ? { seq: Item[DIGEST_SEQ], hash: String(Item[DIGEST_HASH]) } : undefined;
  }

  /** Clears the marks of the sealed heads; a chain that advanced meanwhile keeps its mark. */
  async markSealed(tenantId: string, heads: DigestedHead[]): Promise<void> {
    for (const head of heads) {
      const settings = head.chainId === settingsChainId(tenantId);
      try {
        await this.db.send(
          settings
            ? new UpdateCommand({
                TableName: this.tables.tenants,
                Key: { tenantId },
                UpdateExpression: `SET ${SETTINGS_SEALED} = :seq`,
                ConditionExpression: `attribute_not_exists(${SETTINGS_SEALED}) OR ${SETTINGS_SEALED} < :seq`,
                ExpressionAttributeValues: { ':seq': head.seq },
              })
            : new UpdateCommand({
                TableName: this.tables.requests,
                Key: { requestId: head.chainId },
                UpdateExpression: `REMOVE ${SEAL_MARKER}`,
                ConditionExpression: 'auditSeq = :seq',
                ExpressionAttributeValues: { ':seq': head.seq },
              }),
        );
      } catch (error) {
        if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      }
    }
  }

  async listDigests(tenantId: string, range: { from?: string; to?: string }, limit: number, nextToken?: string): Promise<Page<Digest>> {
    const filters: string[] = [];
    const values: Record<string, unknown> = { ':chain': digestChainId(tenantId) };
    if (range.from) {
      filters.push('periodEnd >= :from');
      values[':from'] = range.from;
    }
    if (range.to) {
      filters.push('periodEnd <= :to');
      values[':to'] = range.to;
    }
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.tables.audit,
        KeyConditionExpression: 'chainId = :chain',
        FilterExpression: filters.join(' AND ') || undefined,
        ExpressionAttributeValues: values,
        ConsistentRead: true,
        Limit: limit,
        ExclusiveStartKey: decodeNextToken(nextToken, { chainId: digestChainId(tenantId) }),
      }),
    );
    return { items: (page.Items ?? []).map(fromDigestItem), nextToken: encodeNextToken(page.LastEvaluatedKey) };
  }

  /**
   * Every event of the tenant (the by-time index, up to now), every digest and the last digest
   * recorded as sealed (read first, so a digest sealed meanwhile is among the digests).
   */
  async everything(tenantId: string): Promise<{ events: AuditEvent[]; digests: Digest[]; latestDigest?: { seq: number; hash: string } }> {
    const latestDigest = await this.latestSealed(tenantId);
    const events = (
      await this.queryAll({
        TableName: this.tables.audit,
        IndexName: LEDGER_INDEXES.byTenantTime,
        KeyConditionExpression: 'tenantId = :tenant',
        ExpressionAttributeValues: { ':tenant': tenantId },
      })
    ).map(fromAuditItem);
    const digests: Digest[] = [];
    let token: string | undefined;
    do {
      const page = await this.listDigests(tenantId, {}, 500, token);
      digests.push(...page.items);
      token = page.nextToken;
    } while (token);
    return { events, digests, ...(latestDigest ? { latestDigest } : {}) };
  }

  /** One chain read from the table itself (strongly consistent), for a chain the index may not show whole yet. */
  async chain(chainId: string): Promise<AuditEvent[]> {
    const items = await this.queryAll({
      TableName: this.tables.audit,
      KeyConditionExpression: 'chainId = :chain',
      ExpressionAttributeValues: { ':chain': chainId },
      ConsistentRead: true,
    });
    return items.map(fromAuditItem);
  }

  /** Every item a query finds, page after page. */
  private async queryAll(input: QueryCommandInput): Promise<Item[]> {
    const items: Item[] = [];
    for await (const page of paginateQuery({ client: this.db }, input)) items.push(...(page.Items ?? []));
    return items;
  }

  private putEvent(event: AuditEvent): Item {
    return {
      Put: { TableName: this.tables.audit, Item: { ...event, timeKey: timeKey(event) }, ConditionExpression: 'attribute_not_exists(seq)' },
    };
  }

  private checkCommitWindow(nowMs: number) {
    const age = this.now() - nowMs;
    if (age > maxCommitDelayMs(this.settleMs)) throw new CommitWindowPassed(age);
  }

  private async settingsHead(tenantId: string): Promise<ChainHead> {
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
}

/**
 * Moves a request's chain head to `event` (on condition it is still `head`) and marks the chain
 * as advanced since the last digest, in the request item's own update.
 */
export function moveRequestHead(update: UpdateBuilder, head: ChainHead, event: AuditEvent): UpdateBuilder {
  update.set('auditSeq', event.seq).set('auditHead', event.hash).set(SEAL_MARKER, event.tenantId);
  return update.when(headCondition(update, head));
}

/** The chain attributes of a new request item (its first event). */
export const requestHeadAttributes = (event: AuditEvent): Item => ({
  auditSeq: event.seq,
  auditHead: event.hash,
  [SEAL_MARKER]: event.tenantId,
});

/** Ledger attributes of a request item that are not part of the request. */
export const LEDGER_REQUEST_ATTRIBUTES = [SEAL_MARKER] as const;
export const LEDGER_TENANT_ATTRIBUTES = [SETTINGS_SEALED, DIGEST_SEQ, DIGEST_HASH] as const;

function headCondition(update: UpdateBuilder, head: ChainHead): string {
  return head.seq === 0 ? `attribute_not_exists(${update.name('auditSeq')})` : `${update.name('auditSeq')} = ${update.value(head.seq)}`;
}

const isConflict = (error: unknown) => cancellationReasons(error).some((reason) => reason.Code === 'TransactionConflict');

function fromDigestItem(item: Item): Digest {
  const { chainId: _chainId, ...digest } = item;
  return digest as unknown as Digest;
}
