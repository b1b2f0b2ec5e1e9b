import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand, TaskTimedOut } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { identityKeys } from '../../../lambdas/core/domain/principals';
import { handler } from '../../../lambdas/handlers/api-requests';
import { ALICE, BOB, CAROL, DIRECTORY, demoTenant, pendingRequest } from '../../support/fixtures';
import { setLambdaEnv } from '../../support/lambda-env';

// Alice is also configured as a manager here, to prove she still cannot approve her own request.
setLambdaEnv({ ...DIRECTORY, managers: [...DIRECTORY.managers, { principal: ALICE, email: 'alice@provider.example' }] });
const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const NOW = Date.now();
const REQUEST_ID = pendingRequest().requestId;

function call(
  method: string,
  resource: string,
  options: { body?: string; principal?: string | null; id?: string; query?: Record<string, string> } = {},
) {
  const event = {
    httpMethod: method,
    resource,
    path: resource,
    pathParameters: options.id ? { id: options.id } : null,
    queryStringParameters: options.query ?? null,
    headers: options.body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: options.body ?? null,
    isBase64Encoded: false,
    requestContext: { identity: { userArn: options.principal === undefined ? ALICE : options.principal, sourceIp: '203.0.113.9' } },
  } as unknown as APIGatewayProxyEvent;
  return handler(event, {} as Context) as Promise<APIGatewayProxyResult>;
}
const bodyOf = (response: APIGatewayProxyResult) =>
  JSON.parse(response.body) as { error?: { code: string; message: string; details?: Record<string, unknown> } } & Record<string, unknown>;
const validBody = {
  tenantId: 'demo',
  ticketId: 'T-42',
  justification: 'Investigate failing backups',
  accessLevel: 'ReadOnly',
  duration: 'PT2H',
};

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  ddb.on(GetCommand, { TableName: 'Tenants' }).resolves({ Item: { ...demoTenant(), auditSeq: 1, auditHead: 'f'.repeat(64) } });
  ddb.on(TransactWriteCommand).resolves({});
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'x', startDate: new Date() });
});

const wrote = () =>
  ddb.commandCalls(TransactWriteCommand).length + ddb.commandCalls(PutCommand).length + ddb.commandCalls(UpdateCommand).length;

describe('POST /requests', () => {
  it('stores the request with its audit event, starts the execution named by its id, returns 201', async () => {
    const response = await call('POST', '/requests', { body: JSON.stringify(validBody) });
    expect(response.statusCode).toBe(201);
    const request = bodyOf(response);
    expect(request).toMatchObject({ ...validBody, status: 'PENDING_MANAGER_APPROVAL', requestedBy: ALICE, version: 1 });
    expect(request.requestId).toMatch(/^req-[0-9a-f]{32}$/);
    expect(request).not.toHaveProperty('parties');
    const [put, audit] = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems!;
    expect(put.Put!.Item).toMatchObject({ requestId: request.requestId, status: 'PENDING_MANAGER_APPROVAL' });
    // The manager stage opens with this write: its deadline is on the request the API returns.
    expect(put.Put!.Item).toMatchObject({ openStage: 'manager', approvalDeadlineMs: expect.any(Number) });
    expect(Date.parse(String(request.approvalDeadline))).toBe(put.Put!.Item!.approvalDeadlineMs);
    expect(audit.Put!.Item).toMatchObject({ type: 'RequestCreated', actor: { kind: 'engineer', id: ALICE }, sourceIp: '203.0.113.9' });
    expect(sfn.commandCalls(StartExecutionCommand)[0].args[0].input.name).toBe(request.requestId);
  });

  it('returns the same request for a repeated idempotency key (200), and starts nothing new', async () => {
    const first = bodyOf(await call('POST', '/requests', { body: JSON.stringify({ ...validBody, idempotencyKey: 'k-1' }) }));
    ddb.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'x',
        $metadata: {},
        CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }, { Code: 'None' }],
      }),
    );
    ddb
      .on(GetCommand, { TableName: 'Requests' })
      .resolves({ Item: { ...pendingRequest(), ...validBody, requestId: first.requestId, idempotencyKey: 'k-1' } });
    const again = await call('POST', '/requests', { body: JSON.stringify({ ...validBody, idempotencyKey: 'k-1' }) });
    expect(again.statusCode).toBe(200);
    expect(bodyOf(again).requestId).toBe(first.requestId);
    const names = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name);
    expect(new Set(names)).toEqual(new Set([first.requestId]));
  });

  it('refuses the same idempotency key with a different body (409)', async () => {
    const first = bodyOf(await call('POST', '/requests', { body: JSON.stringify({ ...validBody, idempotencyKey: 'k-2' }) }));
    ddb
      .on(TransactWriteCommand)
      .rejects(
        new TransactionCanceledException({ message: 'x', $metadata: {}, CancellationReasons: [{ Code: 'ConditionalCheckFailed' }] }),
      );
    ddb.on(GetCommand, { TableName: 'Requests' }).resolves({ Item: { ...pendingRequest(), ...validBody, requestId: first.requestId } });
    const response = await call('POST', '/requests', { body: JSON.stringify({ ...validBody, idempotencyKey: 'k-2', duration: 'PT3H' }) });
    expect(response.statusCode).toBe(409);
    expect(bodyOf(response).error?.code).toBe('CONFLICT');
  });

  it.each([
    ['malformed JSON', '{"tenantId": ', 'The body is not valid JSON'],
    ['an unknown field', JSON.stringify({ ...validBody, status: 'ACTIVE' }), 'The request is not valid'],
    ['a missing field', JSON.stringify({ ...validBody, ticketId: undefined }), 'The request is not valid'],
    ['a wrong type', JSON.stringify({ ...validBody, duration: 2 }), 'The request is not valid'],
    ['a zero duration', JSON.stringify({ ...validBody, duration: 'PT0S' }), 'duration must be at least PT15M'],
    ['a duration over the cap', JSON.stringify({ ...validBody, duration: 'PT5H' }), 'duration must be at most PT4H'],
    ['a duration that is not ISO-8601', JSON.stringify({ ...validBody, duration: '2 hours' }), 'ISO-8601'],
    ['an access level the tenant does not offer', JSON.stringify({ ...validBody, accessLevel: 'Admin' }), 'accessLevel is not offered'],
  ])('answers %s with 400 VALIDATION_FAILED and writes nothing', async (_name, body, message) => {
    const response = await call('POST', '/requests', { body });
    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining(message) });
    expect(wrote()).toBe(0);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('names the offending field of a schema failure', async () => {
    const response = await call('POST', '/requests', { body: JSON.stringify({ ...validBody, requestedBy: BOB }) });
    expect(JSON.stringify(bodyOf(response).error?.details)).toContain('requestedBy');
  });

  it('answers an unsigned call with 401 and a caller with no engineer role with 403', async () => {
    expect((await call('POST', '/requests', { body: JSON.stringify(validBody), principal: null })).statusCode).toBe(401);
    const forbidden = await call('POST', '/requests', { body: JSON.stringify(validBody), principal: CAROL });
    expect(forbidden.statusCode).toBe(403);
    expect(bodyOf(forbidden).error?.code).toBe('FORBIDDEN');
    expect(wrote()).toBe(0);
  });

  it('answers an unknown tenant with 404', async () => {
    ddb.on(GetCommand, { TableName: 'Tenants' }).resolves({});
    const response = await call('POST', '/requests', { body: JSON.stringify({ ...validBody, tenantId: 'nobody' }) });
    expect(response.statusCode).toBe(404);
    expect(bodyOf(response).error?.code).toBe('NOT_FOUND');
  });

  it('answers a throttled store with 503 THROTTLED and Retry-After (nothing committed)', async () => {
    ddb
      .on(TransactWriteCommand)
      .rejects(Object.assign(new Error('Rate of requests exceeds the allowed throughput'), { name: 'ThrottlingException' }));
    const logged: string[] = [];
    const writes = (['stdout', 'stderr'] as const).map((stream) =>
      jest.spyOn(process[stream], 'write').mockImplementation((chunk: string | Uint8Array) => logged.push(String(chunk)) > 0),
    );
    const response = await call('POST', '/requests', { body: JSON.stringify(validBody) });
    expect(response.statusCode).toBe(503);
    expect(bodyOf(response).error?.code).toBe('THROTTLED');
    expect(response.headers?.['retry-after']).toBe('1');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    // The operator learns which service was too slow; the client's answer does not say.
    for (const write of writes) write.mockRestore();
    const warning = logged.map((line) => JSON.parse(line)).find((line) => line.level === 'WARN');
    expect(warning?.cause).toBe('ThrottlingException: Rate of requests exceeds the allowed throughput');
    expect(response.body).not.toContain('ThrottlingException');
  });

  it('answers an internal failure with 500 and leaks nothing of it', async () => {
    ddb.on(TransactWriteCommand).rejects(new Error('arn:aws:dynamodb:eu-west-1:123:table/Requests exploded'));
    jest.spyOn(console, 'error').mockImplementationOnce(() => undefined);
    const response = await call('POST', '/requests', { body: JSON.stringify(validBody) });
    expect(response.statusCode).toBe(500);
    expect(bodyOf(response)).toEqual({ error: { code: 'INTERNAL', message: expect.any(String) } });
    expect(response.body).not.toMatch(/arn:|exploded|Requests/);
  });
});

describe('decisions', () => {
  const openManagerStage = (over = {}) =>
    ddb.on(GetCommand, { TableName: 'Requests' }).resolves({
      Item: pendingRequest({
        openStage: 'manager',
        taskToken: 'task-token-secret',
        taskStage: 'manager',
        approvalDeadlineMs: NOW + 600_000,
        approvalDeadline: new Date(NOW + 600_000).toISOString(),
        ...over,
      }),
    });

  it('commits the manager approval, then tells the waiting task, and returns the request without the token', async () => {
    openManagerStage();
    const order: string[] = [];
    ddb.on(TransactWriteCommand).callsFake(() => order.push('commit') && {});
    sfn.on(SendTaskSuccessCommand).callsFake(() => order.push('deliver') && {});
    const response = await call('POST', '/requests/{id}/manager-decision', {
      id: REQUEST_ID,
      principal: BOB,
      body: '{"decision":"APPROVE"}',
    });
    expect(order).toEqual(['commit', 'deliver']);
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toMatchObject({
      status: 'PENDING_CUSTOMER_APPROVAL',
      managerDecision: { by: BOB, decision: 'APPROVE', via: 'api' },
    });
    expect(response.body).not.toContain('task-token-secret');
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0].args[0].input).toEqual({
      taskToken: 'task-token-secret',
      output: '{"status":"PENDING_CUSTOMER_APPROVAL"}',
    });
  });

  it('still answers 200 when the task timed out after the commit (the expiry step reads the decision)', async () => {
    openManagerStage();
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'x', $metadata: {} }));
    jest.spyOn(console, 'log').mockImplementationOnce(() => undefined);
    const response = await call('POST', '/requests/{id}/manager-decision', {
      id: REQUEST_ID,
      principal: BOB,
      body: '{"decision":"APPROVE"}',
    });
    expect(response.statusCode).toBe(200);
  });

  it('refuses the requester deciding their own request (403), even when configured as a manager', async () => {
    openManagerStage();
    const response = await call('POST', '/requests/{id}/manager-decision', {
      id: REQUEST_ID,
      principal: ALICE,
      body: '{"decision":"APPROVE"}',
    });
    expect(response.statusCode).toBe(403);
    expect(wrote()).toBe(0);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it('refuses a decision in the wrong state with 409 and the current status', async () => {
    openManagerStage({ status: 'CANCELLED' });
    const response = await call('POST', '/requests/{id}/manager-decision', {
      id: REQUEST_ID,
      principal: BOB,
      body: '{"decision":"APPROVE"}',
    });
    expect(response.statusCode).toBe(409);
    expect(bodyOf(response).error).toMatchObject({ code: 'CONFLICT', details: { status: 'CANCELLED' } });
    expect(wrote()).toBe(0);
  });

  it('accepts a decision before the notify step attached its token, and tells no task (the notify step completes its own)', async () => {
    openManagerStage({ taskToken: undefined, taskStage: undefined });
    const response = await call('POST', '/requests/{id}/manager-decision', {
      id: REQUEST_ID,
      principal: BOB,
      body: '{"decision":"APPROVE"}',
    });
    expect(response.statusCode).toBe(200);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it("opens the customer stage with the manager's approval, in the same write, with its deadline", async () => {
    openManagerStage();
    const response = await call('POST', '/requests/{id}/manager-decision', {
      id: REQUEST_ID,
      principal: BOB,
      body: '{"decision":"APPROVE"}',
    });
    const deadline = Date.parse(String(bodyOf(response).approvalDeadline));
    expect(deadline).toBeGreaterThanOrEqual(NOW + pendingRequest().timeouts.customerSeconds * 1000);
    const [update] = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems!;
    expect(Object.values(update.Update!.ExpressionAttributeValues!)).toEqual(expect.arrayContaining(['customer', deadline]));
  });

  it('reads again and retries when the notify step attached its token meanwhile (version bumped)', async () => {
    let reads = 0;
    ddb.on(GetCommand, { TableName: 'Requests' }).callsFake(() => {
      reads++;
      const attached = reads > 1;
      return {
        Item: pendingRequest({
          openStage: 'manager',
          approvalDeadlineMs: NOW + 600_000,
          version: attached ? 2 : 1,
          ...(attached ? { taskToken: 'late-token', taskStage: 'manager' } : {}),
        }),
      };
    });
    let commits = 0;
    ddb.on(TransactWriteCommand).callsFake(() => {
      if (commits++ === 0)
        throw new TransactionCanceledException({
          message: 'x',
          $metadata: {},
          CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }, { Code: 'None' }],
        });
      return {};
    });
    const response = await call('POST', '/requests/{id}/manager-decision', {
      id: REQUEST_ID,
      principal: BOB,
      body: '{"decision":"APPROVE"}',
    });
    expect(response.statusCode).toBe(200);
    expect(commits).toBe(2);
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0].args[0].input.taskToken).toBe('late-token');
  });

  it('refuses a decision before the stage opened or after its deadline (409)', async () => {
    openManagerStage({ openStage: undefined });
    expect(
      (await call('POST', '/requests/{id}/manager-decision', { id: REQUEST_ID, principal: BOB, body: '{"decision":"APPROVE"}' }))
        .statusCode,
    ).toBe(409);
    openManagerStage({ approvalDeadlineMs: NOW - 1 });
    expect(
      (await call('POST', '/requests/{id}/manager-decision', { id: REQUEST_ID, principal: BOB, body: '{"decision":"APPROVE"}' }))
        .statusCode,
    ).toBe(409);
    expect(wrote()).toBe(0);
  });

  it('refuses a customer decision by someone who is not an approver of the tenant (403)', async () => {
    ddb.on(GetCommand, { TableName: 'Requests' }).resolves({
      Item: pendingRequest({
        status: 'PENDING_CUSTOMER_APPROVAL',
        openStage: 'customer',
        taskToken: 't',
        approvalDeadlineMs: NOW + 60_000,
      }),
    });
    const response = await call('POST', '/requests/{id}/customer-decision', {
      id: REQUEST_ID,
      principal: BOB,
      body: '{"decision":"APPROVE"}',
    });
    expect(response.statusCode).toBe(403);
  });

  it('refuses the manager who approved from also approving as customer (403)', async () => {
    ddb
      .on(GetCommand, { TableName: 'Tenants' })
      .resolves({ Item: demoTenant({ approvers: [{ email: 'bob@provider.example', principal: BOB }] }) });
    ddb.on(GetCommand, { TableName: 'Requests' }).resolves({
      Item: pendingRequest({
        status: 'PENDING_CUSTOMER_APPROVAL',
        openStage: 'customer',
        taskToken: 't',
        approvalDeadlineMs: NOW + 60_000,
        parties: [...pendingRequest().parties, ...identityKeys(BOB, 'bob@provider.example')],
      }),
    });
    const response = await call('POST', '/requests/{id}/customer-decision', {
      id: REQUEST_ID,
      principal: BOB,
      body: '{"decision":"APPROVE"}',
    });
    expect(response.statusCode).toBe(403);
    expect(wrote()).toBe(0);
  });

  it('requires a reason to reject (400)', async () => {
    openManagerStage();
    const response = await call('POST', '/requests/{id}/manager-decision', {
      id: REQUEST_ID,
      principal: BOB,
      body: '{"decision":"REJECT"}',
    });
    expect(response.statusCode).toBe(400);
    expect(JSON.stringify(bodyOf(response).error)).toContain('reason');
  });

  it('answers a malformed or unknown request id with 404', async () => {
    expect((await call('GET', '/requests/{id}', { id: '../etc' })).statusCode).toBe(404);
    ddb.on(GetCommand, { TableName: 'Requests' }).resolves({});
    expect((await call('GET', '/requests/{id}', { id: REQUEST_ID })).statusCode).toBe(404);
  });
});

describe('routing', () => {
  it('answers a route it does not serve with 404 in the error format', async () => {
    const response = await call('DELETE', '/requests/{id}', { id: REQUEST_ID });
    expect(response.statusCode).toBe(404);
    expect(bodyOf(response).error?.code).toBe('NOT_FOUND');
  });
});
