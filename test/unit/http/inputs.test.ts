import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { toView } from '../../../lambdas/core/domain/request';
import { confirmationPage } from '../../../lambdas/core/http/pages';
import { createRequestBody, linkForm, managerDecisionBody, tenantBody } from '../../../lambdas/core/http/schemas';
import { approvalRequestEmail, escapeHtml } from '../../../lambdas/core/messages';
import type * as z from '../../../lambdas/core/zod';
import { handler as requestsHandler } from '../../../lambdas/handlers/api-requests';
import { handler as tenantsHandler } from '../../../lambdas/handlers/api-tenants';
import { BOB, CAROL, demoTenant, pendingRequest } from '../../support/fixtures';
import { setLambdaEnv } from '../../support/lambda-env';

/**
 * The input threats of issue 12, one test each: ill-formed text (T-1.10), bidi controls shown,
 * crafted paging tokens (T-4.9), content types (415) and prototype names.
 */
setLambdaEnv();
const ddb = mockClient(DynamoDBDocumentClient);
const valid = {
  tenantId: 'demo',
  ticketId: 'T-42',
  justification: 'Investigate failing backups',
  accessLevel: 'ReadOnly',
  duration: 'PT2H',
};
const errorsOf = (schema: z.ZodMiniType, value: unknown) => schema.safeParse(value).error?.issues.map((issue) => issue.message) ?? [];

function call(
  handler: unknown,
  method: string,
  resource: string,
  options: { query?: Record<string, string>; id?: string; body?: string; type?: string; principal?: string } = {},
) {
  const event = {
    httpMethod: method,
    resource,
    path: resource,
    pathParameters: options.id ? { id: options.id } : null,
    queryStringParameters: options.query ?? null,
    headers: options.type ? { 'Content-Type': options.type } : {},
    body: options.body ?? null,
    isBase64Encoded: false,
    requestContext: { identity: { userArn: options.principal ?? BOB, sourceIp: '203.0.113.9' } },
  } as unknown as APIGatewayProxyEvent;
  return (handler as (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>)(event, {} as Context);
}
const errorOf = (response: APIGatewayProxyResult) => (JSON.parse(response.body) as { error: { code: string; details?: unknown } }).error;

beforeEach(() => {
  ddb.reset();
  ddb.on(GetCommand, { TableName: 'Tenants' }).resolves({ Item: { ...demoTenant(), auditors: [CAROL] } });
});

describe('T-1.10 well-formed text only', () => {
  it.each([
    ['a lone high surrogate', 'backups \ud800'],
    ['a lone low surrogate', '\udc00 backups'],
    ['NUL', 'back\u0000ups'],
    ['an escape sequence', '\u001b[2Jbackups'],
    ['a C1 control', 'backups\u0085'],
    ['DEL', 'backups\u007f'],
    ['a line separator', 'backups\u2028'],
    ['a noncharacter', 'backups\uffff'],
  ])('refuses a justification with %s (400), in every free-text field', (_name, text) => {
    expect(errorsOf(createRequestBody, { ...valid, justification: text })).toHaveLength(1);
    expect(errorsOf(createRequestBody, { ...valid, ticketId: text.slice(0, 60) })).toHaveLength(1);
    expect(errorsOf(managerDecisionBody, { decision: 'REJECT', reason: text })).toHaveLength(1);
    expect(errorsOf(tenantBody, { ...demoTenant(), tenantId: undefined, displayName: text, version: 1 })).not.toHaveLength(0);
    expect(linkForm.safeParse({ form: 'x', decision: 'DENY', reason: text }).success).toBe(false);
  });

  it('keeps line breaks and tabs in multi-line fields, but not in one-line ones', () => {
    expect(createRequestBody.parse({ ...valid, justification: 'line 1\r\n\tline 2' }).justification).toBe('line 1\r\n\tline 2');
    expect(errorsOf(createRequestBody, { ...valid, ticketId: 'T-1\nBcc: x' })).toEqual([
      'must not contain control characters (it contains U+000A)',
    ]);
  });

  it('accepts text with emoji and other astral characters (surrogate pairs)', () => {
    expect(createRequestBody.parse({ ...valid, justification: 'Backups 💾 失败' }).justification).toBe('Backups 💾 失败');
  });

  it('answers a lone surrogate through the API with 400 VALIDATION_FAILED naming the field, and writes nothing', async () => {
    const response = await call(requestsHandler, 'POST', '/requests', {
      body: JSON.stringify({ ...valid, justification: '\ud83d' }),
      type: 'application/json',
    });
    expect(response.statusCode).toBe(400);
    expect(errorOf(response)).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { issues: [{ path: 'justification', message: expect.stringContaining('lone surrogate') }] },
    });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });
});

describe('T-1.10 bidi controls are shown, never applied', () => {
  const hidden = 'Read logs\u202Edaeh-on\u202C \u2066x\u2069 \u200F';
  const request = pendingRequest({ justification: hidden, ticketId: 'T-\u202E24' });

  it('marks each one as its code in the HTML of pages and emails', () => {
    expect(escapeHtml('a\u202Eb')).toBe('a<mark>&lt;U+202E&gt;</mark>b');
    const page = confirmationPage(
      {
        request: toView(request, { isRequester: false }),
        stage: 'manager',
        email: 'bob@provider.example',
        deadline: '2026-11-29T12:00:00.000Z',
      },
      'token',
      Date.parse('2026-11-29T10:00:00Z'),
    ).body;
    const email = approvalRequestEmail(
      request,
      'manager',
      'https://lockbox.example/approvals/t',
      Date.parse('2026-11-29T12:00:00Z'),
      Date.parse('2026-11-29T10:00:00Z'),
    );
    for (const html of [page, email.html]) {
      expect(html).not.toMatch(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
      for (const code of ['202E', '202C', '2066', '2069', '200F']) expect(html).toContain(`<mark>&lt;U+${code}&gt;</mark>`);
    }
    expect(email.text).not.toMatch(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
    expect(email.text).toContain('Read logs<U+202E>daeh-on<U+202C>');
    expect(email.subject).toContain('T-<U+202E>24');
  });

  it('renders a lone surrogate stored before this rule as U+FFFD, so SES can encode every part', () => {
    const email = approvalRequestEmail(
      pendingRequest({ justification: 'old \ud800 item' }),
      'manager',
      'https://lockbox.example/approvals/t',
      Date.now() + 60_000,
      Date.now(),
    );
    // What the SES client does with each part (a URIError here failed every email of a stage).
    for (const part of [email.subject, email.text, email.html]) expect(() => encodeURIComponent(part)).not.toThrow();
    expect(email.text).toContain('old \ufffd item');
  });
});

describe('T-4.9 crafted paging tokens', () => {
  const b64 = (value: string) => Buffer.from(value).toString('base64url');

  it.each([
    ['a string seq', b64('{"tenantId":"demo","seq":"7"}')],
    ['1e400', b64('{"tenantId":"demo","seq":1e400}')],
    ['missing keys', b64('{}')],
    ['extra keys', b64('{"tenantId":"demo","seq":7,"x":1}')],
    ['the old unsigned format', b64('{"tenantId":"demo","seq":7}')],
    ['junk', '!!!'],
  ])('answers %s with 400 on /tenants/{id}/audit and /requests, and queries nothing', async (_name, token) => {
    const audit = await call(tenantsHandler, 'GET', '/tenants/{id}/audit', { id: 'demo', query: { nextToken: token }, principal: CAROL });
    const requests = await call(requestsHandler, 'GET', '/requests', { query: { tenantId: 'demo', nextToken: token } });
    for (const response of [audit, requests]) {
      expect(response.statusCode).toBe(400);
      expect(errorOf(response)).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'nextToken' } });
    }
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it("refuses another route's token and another tenant's token", async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    // The audit page always carries `cursor` (where a poller continues): sealed like nextToken.
    const { cursor } = JSON.parse(
      (await call(tenantsHandler, 'GET', '/tenants/{id}/audit', { id: 'demo', query: { limit: '1' }, principal: CAROL })).body,
    ) as { cursor: string };
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const page = { nextToken: cursor };
    // The same token works again for the same listing…
    expect(
      (await call(tenantsHandler, 'GET', '/tenants/{id}/audit', { id: 'demo', query: { nextToken: page.nextToken }, principal: CAROL }))
        .statusCode,
    ).toBe(200);
    // …but not for another tenant, another route, or other filters.
    ddb.on(GetCommand, { TableName: 'Tenants' }).resolves({ Item: { ...demoTenant({ tenantId: 'other' }), auditors: [CAROL] } });
    const other = await call(tenantsHandler, 'GET', '/tenants/{id}/audit', {
      id: 'other',
      query: { nextToken: page.nextToken },
      principal: CAROL,
    });
    const route = await call(requestsHandler, 'GET', '/requests', { query: { tenantId: 'demo', nextToken: page.nextToken } });
    const filters = await call(tenantsHandler, 'GET', '/tenants/{id}/audit', {
      id: 'demo',
      query: { from: '2026-01-01T00:00:00Z', nextToken: page.nextToken },
      principal: CAROL,
    });
    expect([other.statusCode, route.statusCode, filters.statusCode]).toEqual([400, 400, 400]);
  });

  it('takes a limit only as decimal digits', async () => {
    for (const limit of ['0x10', '1e1', ' 5', '5.0', '101', '0']) {
      expect((await call(requestsHandler, 'GET', '/requests', { query: { tenantId: 'demo', limit } })).statusCode).toBe(400);
    }
  });
});

describe('415 and prototype names', () => {
  it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['application/jsonx'], ['']])(
    'refuses a JSON body sent as "%s" with 415 UNSUPPORTED_MEDIA_TYPE',
    async (type) => {
      const response = await call(requestsHandler, 'POST', '/requests', {
        body: JSON.stringify(valid),
        type,
        principal: 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/alice',
      });
      expect([response.statusCode, errorOf(response).code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    },
  );

  it('refuses a JSON body without a content type (415), but takes an empty one without', async () => {
    const untyped = await call(requestsHandler, 'POST', '/requests', {
      body: JSON.stringify(valid),
      principal: 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/alice',
    });
    expect(untyped.statusCode).toBe(415);
    ddb.on(GetCommand, { TableName: 'Requests' }).resolves({});
    const cancel = await call(requestsHandler, 'POST', '/requests/{id}/cancel', { id: pendingRequest().requestId });
    expect(cancel.statusCode).toBe(404); // past the body check: the request does not exist
  });

  it('accepts application/json with a charset, in any case', async () => {
    const response = await call(requestsHandler, 'POST', '/requests/{id}/manager-decision', {
      id: 'not-an-id',
      body: '{"decision":"APPROVE"}',
      type: 'Application/JSON; charset=UTF-8',
    });
    expect(response.statusCode).toBe(404); // past the content type: the id names nothing
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])(
    'refuses a query or body member named %s with 400, never a crash',
    async (name) => {
      const query = Object.fromEntries([
        ['tenantId', 'demo'],
        [name, 'x'],
      ]);
      expect((await call(requestsHandler, 'GET', '/requests', { query })).statusCode).toBe(400);
      const body = `{"decision":"APPROVE",${JSON.stringify(name)}:{"polluted":true}}`;
      const response = await call(requestsHandler, 'POST', '/requests/{id}/manager-decision', {
        id: pendingRequest().requestId,
        body,
        type: 'application/json',
      });
      expect([response.statusCode, errorOf(response).code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    },
  );
});
