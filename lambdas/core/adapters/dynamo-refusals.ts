import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RefusalCounter } from '../ports';

/**
 * Refusal counters as items of the Requests table, `requestId = "refusals#<sha256 of the key>"`:
 * the approval-link function can already update that table, the items carry none of the
 * attributes its indexes are keyed on (so no listing or reconciler ever sees them), and their id
 * is longer than any request id a link may claim (64), so a link can never name one.
 *
 * A conditional update decides, so concurrent refusals count exactly once each: the first after
 * the window opens a new one (and returns how many the old one counted); the others add 1.
 */
export class DynamoRefusalCounter implements RefusalCounter {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly requestsTable: string,
  ) {}

  async count(key: string, nowMs: number, windowMs: number) {
    const Key = { requestId: `refusals#${createHash('sha256').update(key).digest('hex')}` };
    // Within a window (the common case of a flood) one read and one unconditional add: no
    // failed condition per refusal.
    const { Item } = await this.db.send(new GetCommand({ TableName: this.requestsTable, Key, ConsistentRead: true }));
    if (typeof Item?.recordedAt === 'number' && Item.recordedAt > nowMs - windowMs) return this.add(Key);
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.requestsTable,
          Key,
          UpdateExpression: 'SET recordedAt = :now, unrecorded = :zero',
          ConditionExpression: 'attribute_not_exists(recordedAt) OR recordedAt <= :windowStart',
          ExpressionAttributeValues: { ':now': nowMs, ':zero': 0, ':windowStart': nowMs - windowMs },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { record: true as const, unrecorded: typeof Attributes?.unrecorded === 'number' ? Attributes.unrecorded : 0 };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    return this.add(Key);
  }

  private async add(Key: Record<string, string>) {
    await this.db.send(
      new UpdateCommand({
        TableName: this.requestsTable,
        Key,
        UpdateExpression: 'ADD unrecorded :one',
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
    return { record: false as const };
  }
}
