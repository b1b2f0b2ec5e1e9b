import { type DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AccessDetails, AccessRequest } from '../domain/request';
import type { AccessProvider, GrantInput } from '../ports';

/**
 * The `local` access provider: a grant is a row in the Grants table (request id, principal,
 * granted at, expires at, revoked at), which local mode shows and tests inspect. It grants nothing
 * real; the `iam` provider is the one for AWS.
 */
export interface GrantRecord {
  requestId: string;
  tenantId: string;
  principal: string;
  accessLevel: string;
  grantedAt: string;
  expiresAt: string;
  revokedAt?: string;
}

export class LocalAccessProvider implements AccessProvider {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => Date,
  ) {}

  async grant({ request, accessStartsAt, accessExpiresAt }: GrantInput): Promise<AccessDetails> {
    const existing = await this.find(request.requestId);
    if (!existing) {
      const record: GrantRecord = {
        requestId: request.requestId,
        tenantId: request.tenantId,
        principal: request.requestedBy,
        accessLevel: request.accessLevel,
        grantedAt: accessStartsAt,
        expiresAt: accessExpiresAt,
      };
      try {
        await this.db.send(new PutCommand({ TableName: this.table, Item: record, ConditionExpression: 'attribute_not_exists(requestId)' }));
      } catch (error) {
        if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      }
    }
    return { provider: 'local', grantId: request.requestId, principal: request.requestedBy, accessLevel: request.accessLevel };
  }

  async revoke(request: AccessRequest, onStep?: (step: string, outcome: 'done' | 'already-done') => void): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { requestId: request.requestId },
          UpdateExpression: 'SET revokedAt = :now',
          ConditionExpression: 'attribute_exists(requestId) AND attribute_not_exists(revokedAt)',
          ExpressionAttributeValues: { ':now': this.now().toISOString() },
        }),
      );
      onStep?.('mark-grant-revoked', 'done');
    } catch (error) {
      // Never granted, or revoked already: revoke is idempotent.
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      onStep?.('mark-grant-revoked', 'already-done');
    }
  }

  /** Grants past their expiry and not revoked. A scan: the local table is small. */
  async listExpired(nowMs: number): Promise<string[]> {
    const ids: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({
          TableName: this.table,
          FilterExpression: 'attribute_not_exists(revokedAt) AND expiresAt <= :now',
          ExpressionAttributeValues: { ':now': new Date(nowMs).toISOString() },
          ExclusiveStartKey: start,
        }),
      );
      ids.push(...(page.Items ?? []).map((item) => String(item.requestId)));
      start = page.LastEvaluatedKey;
    } while (start);
    return ids;
  }

  private async find(requestId: string): Promise<GrantRecord | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.table, Key: { requestId }, ConsistentRead: true }));
    return Item as GrantRecord | undefined;
  }
}
