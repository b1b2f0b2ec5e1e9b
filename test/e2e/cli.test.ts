import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../../lambdas/core/domain/audit';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/net';
import { LOCAL_TABLE_NAMES } from '../../local/tables';
import { csvRecordOf, csvRecords, jsonLines } from '../support/audit-export';
import { type CliResult, lockbox as cli, expectOneLine } from './support/cli';
import { LocalLockbox, PEOPLE } from './support/harness';

/**
 * The `lockbox` command line end to end: the real bin, spawned, against local mode — every
 * persona through the CLI alone (`--local-as`), the audit export in both formats, and `audit
 * verify` recomputing the ledger on the client before and after an item is changed in DynamoDB
 * Local behind the API's back.
 */
jest.setTimeout(90_000);

let local: LocalLockbox;
const as = (persona: string, ...args: string[]) => cli(['--local-as', persona, ...args], { env: { LOCKBOX_ENDPOINT: local.url } });
const ok = (result: CliResult) => {
  if (result.code !== 0) throw new Error(`exit ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
};
const file = (ticket: string, over: string[] = []) =>
  as(
    'alice',
    '--json',
    'request',
    'create',
    '-t',
    'demo',
    '--ticket',
    ticket,
    '-l',
    'ReadOnly',
    '-d',
    'PT10M',
    '-j',
    'Nightly backups fail; read the job logs',
    ...over,
  );

/** `tenants create globex` as the deployment admin, with these global flags, approver, admin and access level. */
const createGlobex = (flags: string[], approver: string, admin: string, level: string) =>
  as(
    'olivia',
    ...flags,
    'tenants',
    'create',
    'globex',
    '--name',
    'Globex',
    '--approver',
    approver,
    '--admin',
    admin,
    '--level',
    level,
    '--max-duration',
    'PT2H',
    '--approval-timeout',
    'PT1H',
    '--account',
    '333333333333',
  );

beforeAll(async () => {
  local = await LocalLockbox.start();
}, 120_000);

afterAll(async () => {
  await local?.stop();
}, 30_000);

describe('a whole lifecycle driven by the CLI alone', () => {
  it('engineer files, manager and customer approve, the engineer waits for access, the customer revokes', async () => {
    const created = ok(await file('CLI-1')).json();
    expect(created).toMatchObject({ status: 'PENDING_MANAGER_APPROVAL', requestedBy: PEOPLE.alice, tenantId: 'demo' });
    const id: string = created.requestId;

    // Filing the same command again returns the same request (the derived idempotency key).
    const again = ok(await file('CLI-1'));
    expect(again.json().requestId).toBe(id);
    expect(again.errors.join('\n')).toMatch(/filed before/);

    const pendingForBob = ok(await as('bob', 'pending'));
    expect(pendingForBob.stdout).toContain(id);
    expect(ok(await as('bob', '--json', 'approve', id)).json()).toMatchObject({ status: 'PENDING_CUSTOMER_APPROVAL' });

    // The manager cannot act twice; the requester cannot approve: a 4xx is one line, exit 3.
    expectOneLine(await as('alice', 'approve', id), 3, /^lockbox: FORBIDDEN: /);

    const pendingForCarol = ok(await as('carol', '--json', 'pending', '-t', 'demo')).json();
    expect(pendingForCarol.items.map((request: { requestId: string }) => request.requestId)).toContain(id);
    ok(await as('carol', 'approve', id, '--reason', 'ticket CLI-1 checked'));

    const waited = await as('alice', 'request', 'wait', id, '--interval', '300ms', '--timeout', '60s');
    expect(waited.code).toBe(0);
    expect(waited.stdout).toMatch(/Status\s+ACTIVE/);
    expect(waited.stdout).toMatch(/Customer\s+APPROVE by approver@demo\.example via api/);

    // In local mode the grant is the local provider's: there is no AWS role, and it says so.
    expectOneLine(await as('alice', 'credentials', id), 3, /"local" access provider: there is no AWS role/);

    expect(ok(await as('carol', '--json', 'revoke', id, '-r', 'work finished')).json()).toMatchObject({
      status: 'REVOKED',
      endReason: 'revoked-by-customer',
    });
    expectOneLine(await as('alice', 'credentials', id), 7, /is REVOKED: its access window ended .* nothing to assume/);
    expect(ok(await as('alice', 'request', 'show', id)).stdout).toMatch(/Status\s+REVOKED/);

    const events = await local.eventsOf(id);
    expect(events).toEqual(
      expect.arrayContaining(['RequestCreated', 'ManagerApproved', 'CustomerApproved', 'AccessGranted', 'AccessRevoked']),
    );
  });

  it('request create --wait follows the request to its end and exits 7 when the manager rejects', async () => {
    const filing = as(
      'dave',
      'request',
      'create',
      '-t',
      'demo',
      '--ticket',
      'CLI-2',
      '-l',
      'ReadOnly',
      '-d',
      'PT5M',
      '-j',
      'Look at the queue',
      '--wait',
    );
    const id = await waitForPending('CLI-2');
    ok(await as('bob', 'reject', id, '--reason', 'no ticket of that name'));
    const result = await filing;
    expect(result.code).toBe(7);
    expect(result.stdout).toMatch(/Status\s+REJECTED/);
    // Progress went to stderr, then one closing line; stdout has only the result.
    expect(result.stderr).toMatch(/waiting for a support manager/);
    expect(result.errors.at(-1)).toMatch(/ended REJECTED: no ticket of that name/);
  });

  it('cancel, and --new files the same request again on purpose', async () => {
    const first = ok(await file('CLI-3')).json();
    const second = ok(await file('CLI-3', ['--new'])).json();
    expect(second.requestId).not.toBe(first.requestId);
    expect(ok(await as('alice', '--json', 'request', 'cancel', second.requestId)).json()).toMatchObject({ status: 'CANCELLED' });
    expectOneLine(await as('alice', 'request', 'cancel', second.requestId), 3, /^lockbox: CONFLICT: /);
    const listed = ok(await as('bob', '--json', 'request', 'list', '-t', 'demo', '--all')).json();
    expect(listed.items.map((request: { requestId: string }) => request.requestId)).toEqual(
      expect.arrayContaining([first.requestId, second.requestId]),
    );
  });

  it('refuses bad input from the API as one line with its error code', async () => {
    expectOneLine(
      await as('alice', 'request', 'create', '-t', 'demo', '--ticket', 'X', '-l', 'Nope', '-d', 'PT1H', '-j', 'x'),
      3,
      /^lockbox: VALIDATION_FAILED: .*allowed: ReadOnly/,
    );
    expectOneLine(
      await as('alice', 'request', 'create', '-t', 'demo', '--ticket', 'X', '-l', 'ReadOnly', '-d', 'PT9H', '-j', 'x'),
      3,
      /^lockbox: VALIDATION_FAILED: duration must be at most/,
    );
    expectOneLine(await as('alice', 'request', 'show', `req-${'0'.repeat(32)}`), 3, /^lockbox: NOT_FOUND: /);
    expectOneLine(
      await cli(['request', 'list', '-t', 'demo'], { env: { LOCKBOX_ENDPOINT: local.url } }),
      2,
      /local mode takes no signature.*--local-as/,
    );
  });
});

describe('tenants', () => {
  it('a deployment admin creates and lists tenants; the tenant admin changes one; others are refused', async () => {
    const created = ok(
      await createGlobex(
        ['--json'],
        'hank@globex.example=arn:aws:iam::333333333333:user/hank',
        'arn:aws:iam::333333333333:user/root-admin',
        'ReadOnly=arn:aws:iam::aws:policy/ReadOnlyAccess',
      ),
    ).json();
    expect(created).toMatchObject({
      tenantId: 'globex',
      displayName: 'Globex',
      lockboxEnabled: true,
      version: 1,
      approvers: [{ email: 'hank@globex.example' }],
    });
    expectOneLine(await createGlobex([], 'h@globex.example', 'arn:aws:iam::333333333333:user/a', 'ReadOnly'), 3, /^lockbox: CONFLICT: /);
    expectOneLine(await as('carol', 'tenants', 'list'), 3, /^lockbox: FORBIDDEN: Only the deployment's admins/);

    const listed = ok(await as('olivia', '--json', 'tenants', 'list')).json();
    expect(listed.items.map((tenant: { tenantId: string }) => tenant.tenantId).sort()).toEqual(expect.arrayContaining(['demo', 'globex']));
    expect(ok(await as('olivia', 'tenants', 'show', 'globex')).stdout).toMatch(/Approvers\s+hank@globex\.example/);

    const updated = ok(
      await as('carol', '--json', 'tenants', 'update', 'demo', '--add-approver', 'third@demo.example', '--max-duration', 'PT3H'),
    ).json();
    expect(updated).toMatchObject({ maxAccessDuration: 'PT3H', version: 2 });
    expect(updated.approvers.map((approver: { email: string }) => approver.email)).toContain('third@demo.example');

    const types = (await local.auditLog()).map((event) => event.type);
    expect(types).toContain('TenantUpdated');
  });
});

describe('the audit log from the CLI', () => {
  it('exports every event as JSON Lines and as CSV, the same as the API serves', async () => {
    const served = await local.auditLog();
    const jsonl = ok(await as('carol', 'audit', 'export', '-t', 'demo', '--format', 'jsonl'));
    expect(jsonLines(jsonl.stdout)).toEqual(served);
    expect(jsonl.errors).toEqual([`lockbox: exported ${served.length} event(s)`]);

    // Every column of every row, in the documented order; details survive the quoting as the same JSON.
    const csv = csvRecords(ok(await as('carol', 'audit', 'export', '-t', 'demo', '--format', 'csv')).stdout);
    expect(csv.header).toEqual(Object.keys(csvRecordOf(served[0])));
    expect(csv.records).toEqual(served.map(csvRecordOf));

    const from = served[2].at;
    const ranged = jsonLines(ok(await as('carol', 'audit', 'export', '-t', 'demo', '--from', from)).stdout);
    expect(ranged.map((event) => event.eventId)).toEqual(served.filter((event) => event.at >= from).map((event) => event.eventId));
  });

  it('audit verify passes, then fails with exit 6 at the event changed in DynamoDB Local', async () => {
    const passed = ok(await as('carol', '--json', 'audit', 'verify', '-t', 'demo')).json();
    const count = (await local.auditLog()).length;
    expect(passed).toMatchObject({ ok: true, verified: { events: count } });
    expect(ok(await as('carol', 'audit', 'verify', '-t', 'demo')).stdout).toMatch(/^OK: \d+ event\(s\)/);

    // Behind the API's back: one event's details are rewritten in the Audit table.
    const db = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: local.dynamoEndpoint(), region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
    );
    const items = ((await db.send(new ScanCommand({ TableName: LOCAL_TABLE_NAMES.Audit }))).Items ?? []) as AuditEvent[];
    const victim = items.find((item) => item.tenantId === 'demo' && item.type === 'CustomerApproved')!;
    await db.send(
      new PutCommand({
        TableName: LOCAL_TABLE_NAMES.Audit,
        Item: { ...victim, details: { ...victim.details, reason: 'nothing to see here' } },
      }),
    );
    db.destroy();

    const failed = await as('carol', '--json', 'audit', 'verify', '-t', 'demo');
    expect(failed.code).toBe(6);
    expect(failed.json()).toMatchObject({ ok: false, firstBroken: { kind: 'event-hash', chainId: victim.chainId, seq: victim.seq } });
    expectOneLine(
      await as('carol', 'audit', 'verify', '-t', 'demo'),
      6,
      /^lockbox: the audit log of demo does not verify: event \d+ of req-[0-9a-f]+ does not match its hash$/,
    );
  });
});

/** The request dave's `--wait` just filed, once the API lists it. */
async function waitForPending(ticket: string): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const listed = (await local.get('/requests', 'bob', { status: 'PENDING_MANAGER_APPROVAL', limit: '100' })).body as {
      items: { requestId: string; ticketId: string; approvalDeadline?: string }[];
    };
    const found = listed.items.find((request) => request.ticketId === ticket && request.approvalDeadline);
    if (found) return found.requestId;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no pending request with ticket ${ticket}`);
}
