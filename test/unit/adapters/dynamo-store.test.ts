import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoAuditLog, DynamoRequestStore, DynamoTenantStore } from '../../../lambdas/core/adapters/dynamo-store';
import { GENESIS_HASH, hashEvent, type AuditEvent } from '../../../lambdas/core/domain/audit';
import { ConflictError, ValidationError } from '../../../lambdas/core/domain/errors';
import { BOB, demoTenant, pendingRequest } from '../../support/fixtures';

const ddb = mockClient(DynamoDBDocumentClient);
const tables = { requests: 'Requests', tenants: 'Tenants', audit: 'Audit' };
const published: AuditEvent[][] = [];
const publisher = { publish: jest.fn(async (events: AuditEvent[]) => void published.push(events)) };
const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const chain = new DynamoAuditLog(client, tables, publisher, () => 'event-1');
const store = new DynamoRequestStore(client, tables, chain);
const NOW = Date.UTC(2026, 10, 29, 10, 5, 0);

const cancelled = (codes: string[]) =>
  new TransactionCanceledException({ message: 'cancelled', $metadata: {}, CancellationReasons: codes.map((Code) => ({ Code })) });

const managerApproval = () => ({
  request: pendingRequest({ openStage: 'manager' as const, taskToken: 'tt', approvalDeadlineMs: NOW + 1000, linkHashes: ['h1'] }),
  action: 'managerApprove' as const,
  set: { managerDecision: { by: BOB, byEmail: 'bob@provider.example', decision: 'APPROVE' as const, at: new Date(NOW).toISOString(), via: 'api' as const } },
  remove: ['openStage' as const, 'linkHashes' as const],
  require: { openStage: 'manager' as const, separateFrom: ['principal:' + BOB], linkHash: 'h1' },
  addParties: ['principal:' + BOB],
  audit: { type: 'ManagerApproved' as const, requestId: 'req-0123456789abcdef0123456789abcdef', actor: { kind: 'manager' as const, id: BOB } },
  nowMs: NOW,
});

beforeEach(() => {
  ddb.reset();
  publisher.publish.mockClear();
  published.length = 0;
});

describe('DynamoRequestStore.transition', () => {
  it('commits the request update, the audit event and the chain-head move in ONE transaction', async () => {
    ddb.on(GetCommand, { TableName: 'Tenants' }).resolves({ Item: { auditSeq: 7, auditHead: 'a'.repeat(64) } });
    ddb.on(TransactWriteCommand).resolves({});

    const next = await store.transition(managerApproval());

    const calls = ddb.commandCalls(TransactWriteCommand);
    expect(calls).toHaveLength(1);
    const [update, put, head] = calls[0].args[0].input.TransactItems!;
    const u = update.Update!;
    expect(u.TableName).toBe('Requests');
    expect(u.Key).toEqual({ requestId: 'req-0123456789abcdef0123456789abcdef' });
    const values = Object.values(u.ExpressionAttributeValues!);
    const condition = Object.entries(u.ExpressionAttributeValues!).reduce(
      (text, [placeholder, value]) => text.replaceAll(new RegExp(`${placeholder}(?!\\d)`, 'g'), JSON.stringify(value)),
      Object.entries(u.ExpressionAttributeNames!).reduce((text, [placeholder, name]) => text.replaceAll(placeholder, name), u.ConditionExpression!),
    );
    expect(condition).toBe(
      'status = "PENDING_MANAGER_APPROVAL" AND version = 1 AND openStage = "manager" AND attribute_exists(taskToken) AND ' +
        `approvalDeadlineMs > ${NOW} AND NOT contains(parties, "principal:${BOB}") AND contains(linkHashes, "h1")`,
    );
    expect(values).toEqual(expect.arrayContaining(['PENDING_CUSTOMER_APPROVAL', 2]));
    expect(u.UpdateExpression).toMatch(/^SET .* REMOVE #openStage, #linkHashes$/);
    expect(u.UpdateExpression).toContain('#parties = list_append(#parties, ');

    expect(put.Put).toMatchObject({ TableName: 'Audit', ConditionExpression: 'attribute_not_exists(seq)' });
    const event = put.Put!.Item as AuditEvent;
    expect(event).toMatchObject({ tenantId: 'demo', seq: 8, prevHash: 'a'.repeat(64), type: 'ManagerApproved', eventId: 'event-1' });
    const { hash, ...unhashed } = event;
    expect(hash).toBe(hashEvent(unhashed));

    expect(head.Update).toMatchObject({ TableName: 'Tenants', Key: { tenantId: 'demo' }, ConditionExpression: '#auditSeq = :v2' });
    expect(head.Update!.ExpressionAttributeValues).toEqual({ ':v0': 8, ':v1': hash, ':v2': 7 });

    expect(next).toMatchObject({ status: 'PENDING_CUSTOMER_APPROVAL', version: 2, parties: expect.arrayContaining(['principal:' + BOB]) });
    expect(next).not.toHaveProperty('openStage');
    expect(published).toEqual([[event]]);
  });

  it('starts a new chain at seq 1 from the genesis hash', async () => {
    ddb.on(GetCommand, { TableName: 'Tenants' }).resolves({});
    ddb.on(TransactWriteCommand).resolves({});
    await store.transition(managerApproval());
    const [, put, head] = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems!;
    expect(put.Put!.Item).toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    expect(head.Update!.ConditionExpression).toBe('attribute_not_exists(#auditSeq)');
  });

  it('turns a failed request condition into CONFLICT carrying the current status', async () => {
    ddb.on(GetCommand, { TableName: 'Tenants' }).resolves({ Item: { auditSeq: 1, auditHead: 'b'.repeat(64) } });
    ddb.on(GetCommand, { TableName: 'Requests' }).resolves({ Item: pendingRequest({ status: 'CANCELLED', version: 2 }) });
    ddb.on(TransactWriteCommand).rejects(cancelled(['ConditionalCheckFailed', 'None', 'None']));

    const error = await store.transition(managerApproval()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).details).toEqual({ status: 'CANCELLED' });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(publisher.publish).not.toHaveBeenCalled();
  });

  it('re-reads the head and retries when another write of the tenant moved it first', async () => {
    ddb
      .on(GetCommand, { TableName: 'Tenants' })
      .resolvesOnce({ Item: { auditSeq: 3, auditHead: 'c'.repeat(64) } })
      .resolves({ Item: { auditSeq: 4, auditHead: 'd'.repeat(64) } });
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled(['None', 'None', 'ConditionalCheckFailed'])).resolves({});

    await store.transition(managerApproval());

    const attempts = ddb.commandCalls(TransactWriteCommand).map((call) => call.args[0].input.TransactItems![1].Put!.Item);
    expect(attempts).toEqual([expect.objectContaining({ seq: 4, prevHash: 'c'.repeat(64) }), expect.objectContaining({ seq: 5, prevHash: 'd'.repeat(64) })]);
  });

  it('refuses a transition the status does not allow, without writing', async () => {
    await expect(store.transition({ ...managerApproval(), request: pendingRequest({ status: 'DENIED' }) })).rejects.toThrow(ConflictError);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('commits even when the export to the bus fails (the table is the record)', async () => {
    ddb.on(GetCommand).resolves({});
    ddb.on(TransactWriteCommand).resolves({});
    publisher.publish.mockRejectedValueOnce(new Error('bus down'));
    jest.spyOn(console, 'error').mockImplementationOnce(() => undefined);
    await expect(store.transition(managerApproval())).resolves.toMatchObject({ status: 'PENDING_CUSTOMER_APPROVAL' });
  });
});

describe('DynamoRequestStore.create', () => {
  it('puts the request only if its id is new, and reports a repeat as false', async () => {
    ddb.on(GetCommand).resolves({});
    ddb.on(TransactWriteCommand).rejects(cancelled(['ConditionalCheckFailed', 'None', 'None']));
    await expect(store.create(pendingRequest(), { type: 'RequestCreated', actor: { kind: 'engineer', id: 'a' } })).resolves.toBe(false);
    const [put] = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems!;
    expect(put.Put).toMatchObject({ TableName: 'Requests', ConditionExpression: 'attribute_not_exists(requestId)' });
  });
});

describe('page tokens', () => {
  it("refuses a nextToken that points into another tenant's partition", async () => {
    const foreign = Buffer.from(JSON.stringify({ tenantId: 'other', requestId: 'req-x', createdAt: 'x' })).toString('base64url');
    await expect(store.listByTenant('demo', {}, 10, foreign)).rejects.toThrow(ValidationError);
    await expect(store.listByTenant('demo', {}, 10, 'not-base64-json')).rejects.toThrow(ValidationError);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('round-trips the last key of a page', async () => {
    const last = { tenantId: 'demo', requestId: 'req-x', createdAt: '2026-11-29T00:00:00.000Z' };
    ddb.on(QueryCommand).resolves({ Items: [pendingRequest()], LastEvaluatedKey: last });
    const page = await store.listByTenant('demo', { status: 'PENDING_MANAGER_APPROVAL' }, 1);
    await store.listByTenant('demo', {}, 1, page.nextToken);
    const second = ddb.commandCalls(QueryCommand)[1].args[0].input;
    expect(second.ExclusiveStartKey).toEqual(last);
    expect(ddb.commandCalls(QueryCommand)[0].args[0].input).toMatchObject({ IndexName: 'byTenant', FilterExpression: '#status = :status' });
  });
});

describe('DynamoTenantStore.update', () => {
  it('moves settings, version and chain head in one conditional update of the tenant item', async () => {
    const tenants = new DynamoTenantStore(client, tables, chain);
    ddb.on(GetCommand).resolves({ Item: { auditSeq: 2, auditHead: 'e'.repeat(64) } });
    ddb.on(TransactWriteCommand).resolves({});
    const updated = await tenants.update(demoTenant({ displayName: 'Renamed' }), { type: 'TenantUpdated', actor: { kind: 'admin', id: 'carol' } }, NOW);
    const [put, update] = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems!;
    expect(put.Put!.Item).toMatchObject({ type: 'TenantUpdated', seq: 3 });
    expect(update.Update!.ConditionExpression).toMatch(/^#version = :v\d+ AND #auditSeq = :v\d+$/);
    expect(updated).toMatchObject({ version: 2, auditSeq: 3, displayName: 'Renamed' });
  });
});
