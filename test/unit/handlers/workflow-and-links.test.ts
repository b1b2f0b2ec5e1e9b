import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { formValue } from '../../../lambdas/core/http/pages';
import { handler as approvals } from '../../../lambdas/handlers/api-approvals';
import { handler as close } from '../../../lambdas/handlers/close';
import { handler as notify } from '../../../lambdas/handlers/notify';
import { demoTenant, pendingRequest } from '../../support/fixtures';
import { setLambdaEnv } from '../../support/lambda-env';

setLambdaEnv();
const ddb = mockClient(DynamoDBDocumentClient);
const ses = mockClient(SESClient);
const sfn = mockClient(SFNClient);
const TASK_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAW-very-secret-task-token';
const ctx = {} as Context;

beforeEach(() => {
  ddb.reset();
  ses.reset();
  sfn.reset();
  ddb.on(GetCommand, { TableName: 'Tenants' }).resolves({ Item: demoTenant() });
  ddb.on(TransactWriteCommand).resolves({});
  ddb.on(UpdateCommand).resolves({}); // the refused-link counter: a new window each time
  ddb.on(GetCommand, { TableName: 'Requests' }).resolves({});
  ses.on(SendEmailCommand).resolves({ MessageId: 'm' });
});

describe('notify', () => {
  it('stores the task token with the deadline and link hashes, and emails each approver their own link — never the token', async () => {
    ddb.on(GetCommand, { TableName: 'Requests' }).resolves({ Item: pendingRequest({ status: 'PENDING_CUSTOMER_APPROVAL' }) });
    await notify({ requestId: pendingRequest().requestId, stage: 'customer', taskToken: TASK_TOKEN }, ctx);

    const [update, audit] = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems!;
    const values = Object.values(update.Update!.ExpressionAttributeValues!);
    expect(values).toContain(TASK_TOKEN);
    expect(values).toContain('customer');
    const hashes = values.find((value) => Array.isArray(value) && value.length === 2) as string[];
    expect(hashes.every((hash) => /^[0-9a-f]{64}$/.test(hash))).toBe(true);
    expect(audit.Put!.Item).toMatchObject({
      type: 'CustomerNotified',
      details: { recipients: ['approver@demo.example', 'approver2@demo.example'] },
    });

    const mails = ses.commandCalls(SendEmailCommand).map((call) => call.args[0].input);
    expect(mails.map((mail) => mail.Destination!.ToAddresses)).toEqual([['approver@demo.example'], ['approver2@demo.example']]);
    const links = mails.map((mail) => /https:\/\/lockbox\.example\/prod\/approvals\/([\w.-]+)/.exec(mail.Message!.Body!.Text!.Data!)![1]);
    expect(new Set(links).size).toBe(2);
    for (const mail of mails) {
      expect(JSON.stringify(mail)).not.toContain(TASK_TOKEN);
      expect(mail.Message!.Body!.Html!.Data).toContain('Review the request');
      expect(mail.Message!.Subject!.Data).toContain('[T-42]');
    }
  });

  it('keeps the deadline set by the write that opened the stage (the timer started after it)', async () => {
    const deadline = Date.now() + 590_000;
    ddb.on(GetCommand, { TableName: 'Requests' }).resolves({
      Item: pendingRequest({ openStage: 'manager', approvalDeadlineMs: deadline, approvalDeadline: new Date(deadline).toISOString() }),
    });
    await notify({ requestId: pendingRequest().requestId, stage: 'manager', taskToken: TASK_TOKEN }, ctx);
    const [update] = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems!;
    const values = Object.values(update.Update!.ExpressionAttributeValues!);
    expect(values).toContain(deadline);
    expect(values).toContain(new Date(deadline).toISOString());
  });

  it('completes its own task at once with a decision committed before it attached the token, and emails no link', async () => {
    ddb.on(GetCommand, { TableName: 'Requests' }).resolves({ Item: pendingRequest({ status: 'REJECTED' }) });
    await notify({ requestId: pendingRequest().requestId, stage: 'manager', taskToken: TASK_TOKEN }, ctx);
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0].args[0].input).toEqual({ taskToken: TASK_TOKEN, output: '{"status":"REJECTED"}' });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it('completes the task at once when the request left the stage meanwhile (cancelled between stages)', async () => {
    ddb.on(GetCommand, { TableName: 'Requests' }).resolves({ Item: pendingRequest({ status: 'CANCELLED' }) });
    sfn.on(SendTaskSuccessCommand).resolves({});
    await notify({ requestId: pendingRequest().requestId, stage: 'customer', taskToken: TASK_TOKEN }, ctx);
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0].args[0].input).toEqual({ taskToken: TASK_TOKEN, output: '{"status":"CANCELLED"}' });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it('fails with NotificationFailed when no approver could be emailed, so the workflow retries', async () => {
    ddb.on(GetCommand, { TableName: 'Requests' }).resolves({ Item: pendingRequest() });
    ses.on(SendEmailCommand).rejects(new Error('SES down'));
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
    await expect(notify({ requestId: pendingRequest().requestId, stage: 'manager', taskToken: TASK_TOKEN }, ctx)).rejects.toMatchObject({
      name: 'NotificationFailed',
    });
  });

  it('refuses a payload without a task token', async () => {
    await expect(notify({ requestId: 'r', stage: 'manager' } as never, ctx)).rejects.toThrow();
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });
});

describe('close', () => {
  it('refuses to close a request that has not ended, so the execution fails loudly', async () => {
    ddb.on(GetCommand, { TableName: 'Requests' }).resolves({ Item: pendingRequest() });
    await expect(close({ requestId: pendingRequest().requestId, kind: 'outcome' }, ctx)).rejects.toThrow('not closed');
  });
});

describe('/approvals/{token}', () => {
  const call = (method: string, token: string, body?: string) =>
    approvals(
      {
        httpMethod: method,
        resource: '/approvals/{token}',
        pathParameters: { token },
        body: body ?? null,
        isBase64Encoded: false,
        headers: method === 'POST' ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {},
        requestContext: { identity: { sourceIp: '203.0.113.1' } },
      } as unknown as APIGatewayProxyEvent,
      ctx,
    ) as Promise<APIGatewayProxyResult>;

  it('answers a forged link with the generic refusal page, safe headers, and a LinkRefused event', async () => {
    ddb.on(GetCommand, { TableName: 'Requests' }).resolves({});
    const response = await call('GET', 'bm90LWEtdG9rZW4.AAAA');
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain('This link cannot be used');
    expect(response.headers).toMatchObject({
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'content-security-policy': expect.stringMatching(/default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'/),
    });
    expect(response.headers!['content-security-policy']).not.toContain('script-src');
    const [, put] = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems!;
    expect(put.Put!.Item).toMatchObject({ type: 'LinkRefused', tenantId: '_system', chainId: 'tenant:_system', sourceIp: '203.0.113.1' });
  });

  it('answers every kind of wrong token with the same page', async () => {
    ddb.on(GetCommand, { TableName: 'Requests' }).resolves({});
    const bodies = await Promise.all(['', 'x', 'a.b.c', 'A'.repeat(5000)].map(async (token) => (await call('GET', token)).body));
    expect(new Set(bodies).size).toBe(1);
  });

  /** What a refused POST may write: LinkRefused events (and their chain heads), never a request. */
  const onlyRefusalsRecorded = (why: string) => {
    const items = ddb.commandCalls(TransactWriteCommand).flatMap((call) => call.args[0].input.TransactItems!);
    expect(items.some((item) => item.Put?.Item?.type === 'LinkRefused' && item.Put.Item.details?.why === why)).toBe(true);
    for (const item of items) expect(item.Put?.TableName ?? item.Update?.TableName).not.toBe('Requests');
    for (const update of ddb.commandCalls(UpdateCommand)) expect(String(update.args[0].input.Key?.requestId)).toMatch(/^refusals#/);
  };

  it('refuses a POST without a decision with 400, audited, and changes nothing', async () => {
    const response = await call('POST', 'whatever', `reason=because&form=${formValue('whatever')}`);
    expect(response.statusCode).toBe(400);
    onlyRefusalsRecorded('no-decision');
  });

  it('refuses a POST without the confirmation page form value (a scanner, a forged form) with 400, audited, and changes nothing', async () => {
    for (const body of [
      'decision=APPROVE',
      'decision=APPROVE&form=',
      `decision=APPROVE&form=${'x'.repeat(43)}`,
      'decision=APPROVE&form=%C3%A9%C3%A9',
      `decision=APPROVE&form=${formValue('another-link')}`,
    ]) {
      ddb.resetHistory();
      const response = await call('POST', 'whatever', body);
      expect(response.statusCode).toBe(400);
      onlyRefusalsRecorded('not-from-page');
    }
  });

  it('refuses a POST that is not a form with 415, audited, and changes nothing', async () => {
    const response = await approvals(
      {
        httpMethod: 'POST',
        resource: '/approvals/{token}',
        pathParameters: { token: 'whatever' },
        body: JSON.stringify({ decision: 'APPROVE', form: formValue('whatever') }),
        isBase64Encoded: false,
        headers: { 'content-type': 'application/json' },
        requestContext: { identity: { sourceIp: '203.0.113.1' } },
      } as unknown as APIGatewayProxyEvent,
      ctx,
    );
    expect(response.statusCode).toBe(415);
    onlyRefusalsRecorded('not-a-form');
  });

  it('refuses a deny without a reason with 400, audited, and changes nothing', async () => {
    const response = await call('POST', 'whatever', `decision=DENY&reason=&form=${formValue('whatever')}`);
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('reason');
    onlyRefusalsRecorded('no-reason');
  });

  it('does not serve other methods', async () => {
    expect((await call('DELETE', 'whatever')).statusCode).toBe(405);
  });
});
