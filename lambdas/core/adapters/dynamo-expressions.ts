import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { ValidationError } from '../domain/errors';

/** Helpers shared by the DynamoDB adapters (requests, tenants, the ledger). */
export type Item = Record<string, unknown>;

/** An UpdateExpression built from plain values, with every name and value as a placeholder. */
export class UpdateBuilder {
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

/** The reasons a transaction was cancelled, by item position. */
export const cancellationReasons = (error: unknown): { Code?: string; Item?: Record<string, RawValue> }[] =>
  error instanceof TransactionCanceledException
    ? ((error.CancellationReasons ?? []) as { Code?: string; Item?: Record<string, RawValue> }[])
    : [];

/** A raw attribute value, as cancellation reasons carry them (the document client does not convert errors). */
export type RawValue = { N?: string; S?: string };

export const rawNumber = (value: RawValue | undefined): number | undefined => {
  const n = Number(value?.N);
  return value?.N !== undefined && Number.isSafeInteger(n) ? n : undefined;
};

/** Full jitter, growing to at most 1 s. */
export const backoff = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(1000, 10 * 2 ** Math.min(attempt, 7))));

/** Page tokens: the last key, base64url JSON. A token for another partition is refused. */
export function encodeNextToken(key: Item | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

export function decodeNextToken(token: string | undefined, mustMatch: Item): Item | undefined {
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
