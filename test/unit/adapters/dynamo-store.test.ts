import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoAuditLog, DynamoRequestStore, DynamoTenantStore } from '../../../lambdas/core/adapters/dynamo-store';
import { type AuditEvent, GENESIS_HASH, hashEvent } from '../../../lambdas/core/domain/audit';
import { ChangedMeanwhile, ConflictError, ThrottledError, ValidationError } from '../../../lambdas/core/domain/errors';
import { BOB, demoTenant, pendingRequest } from '../../support/fixtures';

const ddb = mockClient(DynamoDBDocumentClient);
const tables = { requests: 'Requests', tenants: 'Tenants', audit: 'Audit' };
const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const chain = new DynamoAuditLog(client, tables, { newId: () => 'event-1', now: () => NOW });
const store = new DynamoRequestStore(client, tables, chain);
const NOW = Date.UTC(2026, 10, 29, 10, 5, 0);

const cancelled = (codes: string[], item?: Record<string, { N?: string; S?: string }>) =>
  new TransactionCanceledException({
    message: 'cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code, i) => (i === 0 && item ? { Code, Item: item as never } : { Code })),
  });

const managerApproval = (head = { auditSeq: 7, auditHead: 'a'.repeat(64) }) => ({
  request: pendingRequest({ openStage: 'manager' as const, taskToken: 'tt', approvalDeadlineMs: NOW + 1000, linkHashes: ['h1'], ...head }),
  action: 'managerApprove' as const,
  set: {
    managerDecision: {
      by: BOB,
      byEmail: 'bob@provider.example',
      decision: 'APPROVE' as const,
      at: new Date(NOW).toISOString(),
      via: 'api' as const,
    },
  },
  remove: ['openStage' as const, 'linkHashes' as const],
  require: { openStage: 'manager' as const, separateFrom: ['principal:' + BOB], linkHash: 'h1' },
  addParties: ['principal:' + BOB],
  audit: {
    type: 'ManagerApproved' as const,
    requestId: 'req-0123456789abcdef0123456789abcdef',
    actor: { kind: 'manager' as const, id: BOB },
  },
  nowMs: NOW,
});

beforeEach(() => {
  ddb.reset();
});

describe('DynamoRequestStore.transition when the store does not answer in time', () => {
  const timeout = () => Object.assign(new Error('socket timed out'), { name: 'TimeoutError' });

  it('fences the version, so the timed-out write can never commit later, and answers THROTTLED', async () => {
    ddb.on(TransactWriteCommand).rejects(timeout());
    ddb.on(UpdateCommand).resolves({});
    await expect(store.transition(managerApproval())).rejects.toBeInstanceOf(ThrottledError);
    const fence = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(fence.Key).toEqual({ requestId: pendingRequest().requestId });
    expect(Object.values(fence.ExpressionAttributeValues!)).toEqual([2, 1]); // version 1 -> 2, only if still 1
    expect(fence.ConditionExpression).toContain('= :v1');
  });

  it('returns the transition when the fence finds it committed after all', async () => {
    ddb.on(TransactWriteCommand).rejects(timeout());
    ddb.on(UpdateCommand).rejects(Object.assign(new Error('no'), { name: 'ConditionalCheckFailedException' }));
    ddb.on(GetCommand).resolves({ Item: pendingRequest({ status: 'PENDING_CUSTOMER_APPROVAL', version: 2 }) });
    await expect(store.transition(managerApproval())).resolves.toMatchObject({ status: 'PENDING_CUSTOMER_APPROVAL', version: 2 });
  });

  it('reports another write that got there first as changed meanwhile (the use case reads again)', async () => {
    ddb.on(TransactWriteCommand).rejects(timeout());
    ddb.on(UpdateCommand).rejects(Object.assign(new Error('no'), { name: 'ConditionalCheckFailedException' }));
    ddb.on(GetCommand).resolves({ Item: pendingRequest({ status: 'CANCELLED', version: 2 }) });
    await expect(store.transition(managerApproval())).rejects.toBeInstanceOf(ChangedMeanwhile);
  });
});

describe('DynamoRequestStore.transition', () => {
  it('commits the request update with its chain-head move and the audit event in ONE transaction of that request alone', async () => {
    ddb.on(TransactWriteCommand).resolves({});

    const next = await store.transition(managerApproval());

    const calls = ddb.commandCalls(TransactWriteCommand);
    expect(calls).toHaveLength(1);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    const items = calls[0].args[0].input.TransactItems!;
    expect(items).toHaveLength(2);
    const [update, put] = items;
    const u = update.Update!;
    expect(u.TableName).toBe('Requests');
    expect(u.Key).toEqual({ requestId: 'req-0123456789abcdef0123456789abcdef' });
    const values = Object.values(u.ExpressionAttributeValues!);
    const condition = Object.entries(u.ExpressionAttributeValues!).reduce(
      (text, [placeholder, value]) => text.replaceAll(new RegExp(`${placeholder}(?!\\d)`, 'g'), JSON.stringify(value)),
      Object.entries(u.ExpressionAttributeNames!).reduce(
        (text, [placeholder, name]) => text.replaceAll(placeholder, name),
        u.ConditionExpression!,
      ),
    );
    expect(condition).toBe(
      'status = "PENDING_MANAGER_APPROVAL" AND version = 1 AND openStage = "manager" AND ' +
        `approvalDeadlineMs > ${NOW} AND NOT contains(parties, "principal:${BOB}") AND contains(linkHashes, "h1") AND auditSeq = 7`,
    );
    expect(values).toEqual(expect.arrayContaining(['PENDING_CUSTOMER_APPROVAL', 2]));
    expect(u.UpdateExpression).toMatch(/^SET .* REMOVE #openStage, #linkHashes$/);
    expect(u.UpdateExpression).toContain('#parties = list_append(#parties, ');

    expect(put.Put).toMatchObject({ TableName: 'Audit', ConditionExpression: 'attribute_not_exists(seq)' });
    const event = put.Put!.Item as AuditEvent;
    const { timeKey, ...stored } = event as AuditEvent & { timeKey: string };
    expect(stored).toMatchObject({
      tenantId: 'demo',
      chainId: 'req-0123456789abcdef0123456789abcdef',
      seq: 8,
      prevHash: 'a'.repeat(64),
      type: 'ManagerApproved',
      eventId: 'event-1',
    });
    expect(stored.actor).toEqual({ kind: 'manager', id: BOB, person: '' });
    expect(timeKey).toBe(`${stored.at}|${stored.chainId}|0000000008`);
    const { hash, ...unhashed } = stored;
    expect(hash).toBe(hashEvent(unhashed));
    expect(values).toEqual(expect.arrayContaining([8, hash, 'demo']));
    expect(u.UpdateExpression).toContain('#auditSeq = ');
    expect(u.UpdateExpression).toContain('#sealTenant = ');

    expect(next).toMatchObject({
      status: 'PENDING_CUSTOMER_APPROVAL',
      version: 2,
      auditSeq: 8,
      auditHead: hash,
      parties: expect.arrayContaining(['principal:' + BOB]),
    });
    expect(next).not.toHaveProperty('openStage');
  });

  it('starts a new chain at seq 1 from the genesis hash', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    await store.transition(managerApproval({} as never));
    const [update, put] = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems!;
    expect(put.Put!.Item).toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    expect(update.Update!.ConditionExpression).toMatch(/ AND attribute_not_exists\(#auditSeq\)$/);
  });

  it('turns a failed request condition into CONFLICT carrying the current status', async () => {
    ddb.on(GetCommand, { TableName: 'Requests' }).resolves({ Item: pendingRequest({ status: 'CANCELLED', version: 2 }) });
    ddb.on(TransactWriteCommand).rejects(
      cancelled(['ConditionalCheckFailed', 'None'], {
        status: { S: 'CANCELLED' },
        version: { N: '2' },
        auditSeq: { N: '8' },
        auditHead: { S: 'b'.repeat(64) },
      }),
    );

    const error = await store.transition(managerApproval()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).details).toEqual({ status: 'CANCELLED' });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  it('retries on the new head, with no extra read, when only an event without a status change moved it', async () => {
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(
        cancelled(['ConditionalCheckFailed', 'None'], {
          status: { S: 'PENDING_MANAGER_APPROVAL' },
          version: { N: '1' },
          auditSeq: { N: '8' },
          auditHead: { S: 'd'.repeat(64) },
        }),
      )
      .resolves({});

    await store.transition(managerApproval());

    const attempts = ddb.commandCalls(TransactWriteCommand).map((call) => call.args[0].input.TransactItems![1].Put!.Item);
    expect(attempts).toEqual([
      expect.objectContaining({ seq: 8, prevHash: 'a'.repeat(64) }),
      expect.objectContaining({ seq: 9, prevHash: 'd'.repeat(64) }),
    ]);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('refuses to commit an event after the commit window (so listing by time never misses it)', async () => {
    const late = new DynamoRequestStore(client, tables, new DynamoAuditLog(client, tables, { settleMs: 60_000, now: () => NOW + 30_001 }));
    await expect(late.transition(managerApproval())).rejects.toThrow('commit window');
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('refuses a transition the status does not allow, without writing', async () => {
    await expect(store.transition({ ...managerApproval(), request: pendingRequest({ status: 'DENIED' }) })).rejects.toThrow(ConflictError);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it("commits with one call, the transaction: the export to the bus reads the table's stream later", async () => {
    ddb.on(TransactWriteCommand).resolves({});
    await expect(store.transition(managerApproval())).resolves.toMatchObject({ status: 'PENDING_CUSTOMER_APPROVAL' });
    expect(ddb.calls()).toHaveLength(1);
  });
});

describe('DynamoRequestStore.create', () => {
  it('puts the request only if its id is new, and reports a repeat as false', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled(['ConditionalCheckFailed', 'None']));
    await expect(
      store.create(pendingRequest({ createdAt: new Date(NOW).toISOString() }), {
        type: 'RequestCreated',
        actor: { kind: 'engineer', id: 'a' },
      }),
    ).resolves.toBe(false);
    const [put] = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems!;
    expect(put.Put).toMatchObject({
      TableName: 'Requests',
      ConditionExpression: expect.stringMatching(/^attribute_not_exists\(requestId\) OR /),
    });
    expect(put.Put!.Item).toMatchObject({ auditSeq: 1, sealTenant: 'demo' });
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
    const updated = await tenants.update(
      demoTenant({ displayName: 'Renamed' }),
      { type: 'TenantUpdated', actor: { kind: 'admin', id: 'carol' } },
      NOW,
    );
    const [update, put] = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems!;
    expect(put.Put!.Item).toMatchObject({ type: 'TenantUpdated', seq: 3, chainId: 'tenant:demo' });
    expect(update.Update!.ConditionExpression).toMatch(/^#version = :v\d+ AND #auditSeq = :v\d+$/);
    expect(updated).toMatchObject({ version: 2, auditSeq: 3, displayName: 'Renamed' });
  });
});
