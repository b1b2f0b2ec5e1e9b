import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignature } from '../support/sigv4-reference';
import { expectOneLine, lockbox } from './support/cli';

/**
 * The `lockbox` bin against stand-ins, no local mode: a stand-in Lockbox API that verifies every
 * SigV4 signature with the test's own implementation (test/support/sigv4-reference.ts) and serves
 * granted requests of the `iam` provider, and a stand-in STS speaking the AssumeRole query/XML
 * protocol that records what it was asked. What only a real account proves — that IAM accepts
 * exactly these values and sessions end with the window — is `npm run test:aws` (docs/cli.md).
 * Also every kind of bad input: one line on stderr, the documented exit code, never a stack trace.
 */
jest.setTimeout(60_000);

const ENGINEER = { accessKeyId: 'AKIAENGINEER0000TEST', secretAccessKey: 'engineer-secret-key-for-the-stand-in' };
const EXPIRED = { accessKeyId: 'AKIAEXPIRED00000TEST', secretAccessKey: 'expired-secret' };
const ROLE = 'arn:aws:iam::222222222222:role/lockbox/lockbox-req-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const ids = {
  active: `req-${'a'.repeat(32)}`,
  ending: `req-${'b'.repeat(32)}`,
  completed: `req-${'c'.repeat(32)}`,
  pending: `req-${'d'.repeat(32)}`,
};

let api: Server;
let sts: Server;
let endpoint: string;
let stsEndpoint: string;
const stsCalls: { params: URLSearchParams; accessKeyId?: string; signed: boolean }[] = [];
const apiCalls: { method: string; url: string; signed: boolean; service?: string; region?: string }[] = [];
let expiresAt: Record<string, string>;

const env = (over: Record<string, string> = {}) => ({
  LOCKBOX_ENDPOINT: endpoint,
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: ENGINEER.accessKeyId,
  AWS_SECRET_ACCESS_KEY: ENGINEER.secretAccessKey,
  AWS_ENDPOINT_URL_STS: stsEndpoint,
  ...over,
});

const read = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};
const secretFor = (key: string) =>
  ({ [ENGINEER.accessKeyId]: ENGINEER.secretAccessKey, [EXPIRED.accessKeyId]: EXPIRED.secretAccessKey })[key];

function request(requestId: string, status: string, accessExpiresAt: string) {
  return {
    requestId,
    tenantId: 'acme',
    ticketId: 'SUP-1',
    justification: 'Read the backup logs',
    accessLevel: 'ReadOnly',
    duration: 'PT1H',
    requestedBy: 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/alice',
    status,
    createdAt: new Date(Date.now() - 600_000).toISOString(),
    accessStartsAt: new Date(Date.now() - 60_000).toISOString(),
    accessExpiresAt,
    ...(status === 'ACTIVE'
      ? {
          access: {
            provider: 'iam',
            roleArn: ROLE,
            externalId: 'acme-lockbox-3f9c',
            roleSessionName: requestId,
            sourceIdentity: 'alice',
            maxSessionSeconds: 3600,
          },
        }
      : { endedAt: accessExpiresAt, endReason: 'window-ended' }),
    version: 5,
  };
}

beforeAll(async () => {
  expiresAt = {
    [ids.active]: new Date(Date.now() + 3 * 3600_000).toISOString(),
    [ids.ending]: new Date(Date.now() + 5 * 60_000).toISOString(),
    [ids.completed]: new Date(Date.now() - 60_000).toISOString(),
  };
  api = createServer(async (req, res) => {
    const body = await read(req);
    const verdict = verifySignature({ method: req.method!, url: req.url!, headers: req.headers, body }, secretFor);
    apiCalls.push({ method: req.method!, url: req.url!, signed: verdict.ok, service: verdict.service, region: verdict.region });
    const send = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(value));
    };
    // As the deployed gateway answers (lib/api-inputs.ts), and as one without those responses does.
    if (verdict.accessKeyId === EXPIRED.accessKeyId)
      return send(
        401,
        { error: { code: 'UNAUTHENTICATED', message: 'The signature or credentials of the call have expired' } },
        { 'x-amzn-errortype': 'ExpiredTokenException' },
      );
    if (!verdict.ok)
      return send(
        403,
        { message: 'The request signature we calculated does not match the signature you provided.' },
        { 'x-amzn-errortype': 'InvalidSignatureException' },
      );
    const id = /^\/v1\/requests\/(req-[0-9a-f]{32})$/.exec(req.url ?? '')?.[1];
    if (req.method === 'GET' && id === ids.pending)
      return send(200, {
        ...request(id, 'PENDING_CUSTOMER_APPROVAL', ''),
        accessStartsAt: undefined,
        accessExpiresAt: undefined,
        endedAt: undefined,
        endReason: undefined,
      });
    if (req.method === 'GET' && id && expiresAt[id])
      return send(200, request(id, id === ids.completed ? 'COMPLETED' : 'ACTIVE', expiresAt[id]));
    if (req.method === 'POST' && req.url === '/v1/requests')
      return send(400, {
        error: {
          code: 'VALIDATION_FAILED',
          message: 'The request is not valid',
          details: { issues: [{ path: 'ticketId', message: 'Too small' }] },
        },
      });
    return send(404, { error: { code: 'NOT_FOUND', message: 'No such request' } });
  });
  sts = createServer(async (req, res) => {
    const body = await read(req);
    const verdict = verifySignature({ method: req.method!, url: req.url!, headers: req.headers, body }, secretFor);
    const params = new URLSearchParams(body);
    stsCalls.push({ params, accessKeyId: verdict.accessKeyId, signed: verdict.ok && verdict.service === 'sts' });
    const expiration = new Date(Date.now() + Number(params.get('DurationSeconds')) * 1000).toISOString();
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>ASIAGRANTED00000TEST</AccessKeyId><SecretAccessKey>granted-secret</SecretAccessKey><SessionToken>granted-session-token</SessionToken><Expiration>${expiration}</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::222222222222:assumed-role/lockbox-req/${params.get('RoleSessionName')}</Arn><AssumedRoleId>AROAEXAMPLE:${params.get('RoleSessionName')}</AssumedRoleId></AssumedRoleUser>
<SourceIdentity>${params.get('SourceIdentity')}</SourceIdentity></AssumeRoleResult><ResponseMetadata><RequestId>stand-in</RequestId></ResponseMetadata></AssumeRoleResponse>`);
  });
  for (const server of [api, sts]) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(api.address() as AddressInfo).port}/v1`;
  stsEndpoint = `http://127.0.0.1:${(sts.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const server of [api, sts]) await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  stsCalls.length = 0;
  apiCalls.length = 0;
});

describe('lockbox credentials', () => {
  it('assumes the granted role with its external id, source identity and session name, and prints export lines', async () => {
    const result = await lockbox(['credentials', ids.active], { env: env() });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^export AWS_ACCESS_KEY_ID=ASIAGRANTED00000TEST\nexport AWS_SECRET_ACCESS_KEY=granted-secret\nexport AWS_SESSION_TOKEN=granted-session-token\n# arn:aws:iam::222222222222:role\/lockbox\/.* valid until /,
    );
    expect(apiCalls).toEqual([
      { method: 'GET', url: `/v1/requests/${ids.active}`, signed: true, service: 'execute-api', region: 'eu-west-1' },
    ]);
    expect(stsCalls).toHaveLength(1);
    const [call] = stsCalls;
    expect(call).toMatchObject({ accessKeyId: ENGINEER.accessKeyId, signed: true });
    expect(Object.fromEntries(call.params)).toEqual({
      Action: 'AssumeRole',
      Version: '2011-06-15',
      RoleArn: ROLE,
      RoleSessionName: ids.active,
      ExternalId: 'acme-lockbox-3f9c',
      SourceIdentity: 'alice',
      DurationSeconds: '3600',
    });
  });

  it('speaks credential_process, and never outlasts the window (a session asked for near its end is cut at accessExpiresAt)', async () => {
    const result = await lockbox(['credentials', ids.ending, '--credential-process'], { env: env() });
    expect(result.code).toBe(0);
    const output = result.json();
    expect(output).toEqual({
      Version: 1,
      AccessKeyId: 'ASIAGRANTED00000TEST',
      SecretAccessKey: 'granted-secret',
      SessionToken: 'granted-session-token',
      Expiration: expiresAt[ids.ending],
    });
    // STS takes 900 s at least: asked for that, and the credentials say when the window ends.
    expect(stsCalls[0].params.get('DurationSeconds')).toBe('900');
  });

  it('assumes again on every run (the AWS CLI calls it whenever its credentials expire)', async () => {
    await lockbox(['credentials', ids.active, '--credential-process'], { env: env() });
    await lockbox(['credentials', ids.active, '--credential-process'], { env: env() });
    expect(stsCalls).toHaveLength(2);
  });

  it('fails clearly after the window and before the grant, exit 7, without calling STS', async () => {
    expectOneLine(
      await lockbox(['credentials', ids.completed, '--credential-process'], { env: env() }),
      7,
      /is COMPLETED: its access window ended .* nothing to assume/,
    );
    expectOneLine(
      await lockbox(['credentials', ids.pending], { env: env() }),
      7,
      /is PENDING_CUSTOMER_APPROVAL: access is not granted yet/,
    );
    expect(stsCalls).toEqual([]);
  });
});

describe('credentials of the caller', () => {
  it('missing: exit 5, one line that says where it looked', async () => {
    const result = await lockbox(['request', 'show', ids.active], { env: env({ AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' }) });
    expectOneLine(result, 5, /^lockbox: no AWS credentials found \(environment, profile, SSO, instance role\)/);
  });

  it("expired (the gateway refuses the token): exit 5 with the gateway's code and message", async () => {
    const result = await lockbox(['request', 'show', ids.active], {
      env: env({ AWS_ACCESS_KEY_ID: EXPIRED.accessKeyId, AWS_SECRET_ACCESS_KEY: EXPIRED.secretAccessKey }),
    });
    expectOneLine(
      result,
      5,
      /^lockbox: UNAUTHENTICATED: The signature or credentials of the call have expired — check your AWS credentials/,
    );
  });

  it('wrong (the signature does not verify): exit 5', async () => {
    const result = await lockbox(['request', 'show', ids.active], { env: env({ AWS_SECRET_ACCESS_KEY: 'not-the-secret' }) });
    expectOneLine(result, 5, /^lockbox: InvalidSignatureException: /);
  });

  it('--debug shows more: the HTTP exchange and the stack', async () => {
    const result = await lockbox(['--debug', 'request', 'show', ids.active], { env: env({ AWS_SECRET_ACCESS_KEY: 'not-the-secret' }) });
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/lockbox debug: GET \/v1\/requests\/req-a+ -> 403/);
    expect(result.stderr).toMatch(/\n\s+at /);
  });
});

describe('bad input', () => {
  const cases: [string, number, string[], RegExp][] = [
    [
      'an unknown flag',
      2,
      ['request', 'create', '--tenant', 'acme', '--bogus'],
      /^lockbox: unknown option '--bogus' \(see lockbox request create --help\)$/,
    ],
    ['an unknown command, with a suggestion', 2, ['requets', 'list'], /^lockbox: unknown command 'requets' \(Did you mean request\?\)/],
    [
      'missing required values',
      2,
      ['request', 'create', '--tenant', 'acme'],
      /^lockbox: missing --ticket, --justification, --level, --duration/,
    ],
    ['a required option left out', 2, ['deny', ids.active], /required option '-r, --reason <text>' not specified/],
    [
      'a bad duration',
      2,
      ['request', 'create', '-t', 'acme', '--ticket', 'X', '-l', 'ReadOnly', '-j', 'x', '-d', '2 hours'],
      /^lockbox: --duration must be an ISO-8601 duration such as PT30M/,
    ],
    ['a bad wait timeout', 2, ['request', 'wait', ids.active, '--timeout', 'soon'], /^lockbox: --timeout must be a duration such as 30s/],
    ['a bad request id', 2, ['request', 'show', 'REQ-1'], /^lockbox: not a request id: "REQ-1"/],
    ['a bad choice', 2, ['audit', 'export', '-t', 'acme', '--format', 'xml'], /argument 'xml' is invalid\. Allowed choices are jsonl, csv/],
    ['an unreadable file', 2, ['request', 'create', '--file', 'no-such-file.json'], /^lockbox: cannot read no-such-file.json: ENOENT$/],
    [
      'an unknown persona',
      2,
      ['--local-as', 'mallory', 'request', 'show', ids.active],
      /^lockbox: --local-as: no persona "mallory" \(known: alice, dave, bob, carol, erin, olivia; or give an ARN\)$/,
    ],
  ];
  it.each(cases)('%s: exit %d', async (_what, code, args, pattern) => {
    expectOneLine(await lockbox(args, { env: env() }), code, pattern);
  });

  it('no endpoint anywhere: exit 2, says how to give one', async () => {
    expectOneLine(
      await lockbox(['request', 'show', ids.active]),
      2,
      /^lockbox: no endpoint: pass --endpoint URL, set LOCKBOX_ENDPOINT, or run lockbox configure/,
    );
  });

  it('an unreachable endpoint: exit 4 after the retries, one line', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expectOneLine(
      await lockbox(['request', 'show', ids.active], { env: env({ LOCKBOX_ENDPOINT: `http://127.0.0.1:${port}/v1` }) }),
      4,
      /^lockbox: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/,
    );
  });

  it("an API 4xx: exit 3 with the API's error code, message and the field", async () => {
    const result = await lockbox(['request', 'create', '-t', 'acme', '--ticket', ' ', '-l', 'ReadOnly', '-j', 'x', '-d', 'PT1H'], {
      env: env(),
    });
    expect(result.code).toBe(2); // a blank ticket is caught before anything is sent
    const refused = await lockbox(['request', 'create', '-t', 'acme', '--ticket', 'X', '-l', 'ReadOnly', '-j', 'x', '-d', 'PT1H'], {
      env: env(),
    });
    expectOneLine(refused, 3, /^lockbox: VALIDATION_FAILED: The request is not valid \(ticketId: Too small\)$/);
  });

  it('plain http only to localhost', async () => {
    expectOneLine(
      await lockbox(['request', 'show', ids.active], { env: env({ LOCKBOX_ENDPOINT: 'http://lockbox.example.com/v1' }) }),
      2,
      /must use https/,
    );
  });
});

describe('--help', () => {
  const commands = [
    [],
    ['request'],
    ['request', 'create'],
    ['request', 'show'],
    ['request', 'list'],
    ['request', 'wait'],
    ['request', 'cancel'],
    ['credentials'],
    ['pending'],
    ['approve'],
    ['reject'],
    ['deny'],
    ['revoke'],
    ['tenants', 'list'],
    ['tenants', 'show'],
    ['tenants', 'create'],
    ['tenants', 'update'],
    ['audit', 'list'],
    ['audit', 'export'],
    ['audit', 'verify'],
    ['audit', 'digests'],
    ['configure'],
  ];
  it('every command has help, exit 0, on stdout', async () => {
    for (const command of commands) {
      const result = await lockbox([...command, '--help']);
      expect({ command, code: result.code, stderr: result.stderr }).toEqual({ command, code: 0, stderr: '' });
      expect(result.stdout).toMatch(new RegExp(`^Usage: lockbox ${command.join(' ')}`));
    }
  });
});
