import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { action, type Context } from '../context';
import { CliError, EXIT, usage } from '../errors';
import { Progress } from '../output';
import { isoDuration, isoTime, relative, waitMs } from '../time';
import { type RequestView, requestFields, requestTable, TERMINAL } from '../views';

/** Engineers: `request create|show|list|wait|cancel`. */
export function registerRequests(program: Command): void {
  const request = program.command('request').description('file, follow and cancel access requests (support engineers)');

  request
    .command('create')
    .description('ask for access to a tenant; prints the new request')
    .option('-t, --tenant <id>', 'the tenant to reach')
    .option('--ticket <id>', 'the support ticket this work is for')
    .option('-j, --justification <text>', 'why, in words the approvers will read')
    .option('-l, --level <name>', 'an access level the tenant offers (e.g. ReadOnly)')
    .option('-d, --duration <iso>', "how long, as ISO-8601 (PT30M, PT2H); at most the tenant's cap")
    .option(
      '-f, --file <path>',
      'read the fields from a JSON file {tenantId, ticketId, justification, accessLevel, duration} (flags override it; - for stdin)',
    )
    .option('--idempotency-key <key>', 'the key that makes a retry return the same request (default: derived from the fields)')
    .option('--new', 'file a new request even if the same one was filed before (a fresh idempotency key)')
    .option('-w, --wait', 'then wait until access is granted or the request ends (see request wait)')
    .option('--timeout <duration>', 'with --wait: give up after this long (30s, 10m, PT1H)')
    .addHelpText(
      'after',
      `
By default the idempotency key is derived from the fields, so running the same command again
(after a timeout, a lost connection) returns the request filed the first time instead of filing
a second one; it says so on stderr. Use --new to file the same request again on purpose.

Examples:
  lockbox request create -t acme --ticket SUP-4821 -l ReadOnly -d PT2H -j "Nightly backups fail; read the job logs"
  lockbox request create --file request.json --wait`,
    )
    .action(action(createRequest));

  request
    .command('show')
    .description('one request: status, decisions, window, how to use the grant')
    .argument('<requestId>')
    .action(
      action(async (context, requestId) => {
        const { body } = await (await context.api()).call<RequestView>('GET', `/requests/${requestPath(requestId)}`);
        context.out.result(body, () => requestFields(context.out, body));
      }),
    );

  request
    .command('list')
    .description("list requests: a tenant's (managers; its approvers, admins, auditors) or all in one status (managers)")
    .option('-t, --tenant <id>', 'only this tenant')
    .addOption(
      new Option('-s, --status <status>', 'only this status').choices([
        'PENDING_MANAGER_APPROVAL',
        'PENDING_CUSTOMER_APPROVAL',
        'APPROVED',
        'ACTIVE',
        ...TERMINAL,
      ]),
    )
    .option('--since <time>', 'only requests created after this time (2026-12-01 or an ISO time)')
    .option('-n, --limit <n>', 'at most this many (newest first)', positiveInt('--limit'), 50)
    .option('--all', 'every matching request, page after page')
    .action(
      action(async (context: Context<{ tenant?: string; status?: string; since?: string; limit: number; all?: boolean }>) => {
        const { tenant, status, since, limit, all } = context.flags;
        if (!tenant && !status) throw usage('give --tenant or --status (managers may list one status across tenants)');
        const items = await collectItems<RequestView>(
          (await context.api()).items('/requests', {
            tenantId: tenant,
            status,
            createdAfter: since && isoTime(since, '--since'),
            limit: String(Math.min(limit, 100)),
          }),
          all ? Infinity : limit,
        );
        context.out.result({ items }, () => requestTable(context.out, items));
      }),
    );

  request
    .command('wait')
    .description('wait until access is granted (or the request ends), showing progress on stderr')
    .argument('<requestId>')
    .addOption(
      new Option('--for <what>', 'active: until access is granted; end: until the request is over')
        .choices(['active', 'end'])
        .default('active'),
    )
    .option('--timeout <duration>', 'give up after this long (30s, 10m, PT1H); default: no limit')
    .option('--interval <duration>', 'how often to look', '2s')
    .addHelpText(
      'after',
      `
Exit codes: 0 when reached (ACTIVE; with --for end, any end), 7 when the request ended without
(REJECTED, DENIED, EXPIRED, CANCELLED, FAILED, or access already over), 8 on --timeout.`,
    )
    .action(
      action(async (context: Context<{ for: 'active' | 'end'; timeout?: string; interval: string }>, requestId) => {
        const final = await waitFor(context, requestId, context.flags.for, context.flags.timeout, context.flags.interval);
        context.out.result(final, () => requestFields(context.out, final));
        failUnlessReached(final, context.flags.for);
      }),
    );

  request
    .command('cancel')
    .description('withdraw your request (any time before access is granted)')
    .argument('<requestId>')
    .action(
      action(async (context, requestId) => {
        const { body } = await (await context.api()).call<RequestView>('POST', `/requests/${requestPath(requestId)}/cancel`, { body: {} });
        context.out.result(body, () => `${body.requestId} is ${context.out.status(body.status)}`);
      }),
    );
}

interface CreateFlags {
  tenant?: string;
  ticket?: string;
  justification?: string;
  level?: string;
  duration?: string;
  file?: string;
  idempotencyKey?: string;
  new?: boolean;
  wait?: boolean;
  timeout?: string;
}

async function createRequest(context: Context<CreateFlags>): Promise<void> {
  const flags = context.flags;
  const fromFile = flags.file ? readJsonFile(flags.file) : {};
  const pick = (flag: string | undefined, key: string) =>
    flag ?? (typeof fromFile[key] === 'string' ? (fromFile[key] as string) : undefined);
  const fields = {
    tenantId: pick(flags.tenant, 'tenantId'),
    ticketId: pick(flags.ticket, 'ticketId'),
    justification: pick(flags.justification, 'justification'),
    accessLevel: pick(flags.level, 'accessLevel'),
    duration: pick(flags.duration, 'duration'),
  };
  const flagOf = {
    tenantId: '--tenant',
    ticketId: '--ticket',
    justification: '--justification',
    accessLevel: '--level',
    duration: '--duration',
  };
  const missing = (Object.keys(fields) as (keyof typeof fields)[]).filter((key) => !fields[key]?.trim());
  if (missing.length) throw usage(`missing ${missing.map((key) => flagOf[key]).join(', ')} (or the same fields in --file)`);
  if (flags.new && flags.idempotencyKey) throw usage('--new and --idempotency-key exclude each other');
  const body = { ...(fields as Record<keyof typeof fields, string>), duration: isoDuration(fields.duration!, '--duration') };
  const idempotencyKey =
    flags.idempotencyKey ?? pick(undefined, 'idempotencyKey') ?? (flags.new ? `cli-${randomUUID()}` : derivedKey(body));
  if (flags.timeout !== undefined) waitMs(flags.timeout, '--timeout'); // a bad value fails before anything is filed

  const { status, body: created } = await (await context.api()).call<RequestView>('POST', '/requests', {
    body: { ...body, idempotencyKey },
  });
  if (status === 200) {
    context.out.note(
      `this request was filed before (${created.createdAt}, now ${created.status}): returned as it is; use --new to file it again`,
    );
  }
  if (!flags.wait) {
    context.out.result(created, () => requestFields(context.out, created));
    return;
  }
  if (!context.out.json) process.stderr.write(`${created.requestId} filed; waiting for the approvals...\n`);
  const final = await waitFor(context, created.requestId, 'active', flags.timeout, '2s');
  context.out.result(final, () => requestFields(context.out, final));
  failUnlessReached(final, 'active');
}

/** The same fields give the same key: a repeated command finds the request instead of filing twice. */
const derivedKey = (body: Record<string, string>): string =>
  `cli-${createHash('sha256')
    .update(JSON.stringify([body.tenantId, body.ticketId, body.justification, body.accessLevel, body.duration]))
    .digest('hex')
    .slice(0, 40)}`;

/** Polls the request until it reaches `until` or ends; progress on stderr. */
export async function waitFor(
  context: Context<unknown>,
  requestId: string,
  until: 'active' | 'end',
  timeoutText: string | undefined,
  intervalText: string,
): Promise<RequestView> {
  const timeoutMs = timeoutText === undefined ? Infinity : waitMs(timeoutText, '--timeout');
  const intervalMs = Math.max(200, waitMs(intervalText, '--interval'));
  const api = await context.api();
  const started = Date.now();
  const progress = new Progress();
  const p = context.out.err;
  try {
    for (;;) {
      const { body } = await api.call<RequestView>('GET', `/requests/${requestPath(requestId)}`);
      if (TERMINAL.includes(body.status) || (until === 'active' && body.status === 'ACTIVE')) return body;
      const waited = Math.round((Date.now() - started) / 1000);
      const deadline =
        body.approvalDeadline && body.status.startsWith('PENDING') ? `; stage deadline ${relative(body.approvalDeadline)}` : '';
      const window = body.status === 'ACTIVE' ? `; window ends ${relative(body.accessExpiresAt)}` : '';
      progress.update(
        `${p.cyan('…')} ${body.requestId} ${context.out.status(body.status, p)} — ${stageText(body.status)} (${waited} s${deadline}${window})`,
        body.status,
      );
      if (Date.now() - started + intervalMs > timeoutMs) {
        throw new CliError(EXIT.timeout, `gave up waiting after ${timeoutText}: ${body.requestId} is still ${body.status}`);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  } finally {
    progress.done();
  }
}

const stageText = (status: string): string =>
  ({
    PENDING_MANAGER_APPROVAL: 'waiting for a support manager',
    PENDING_CUSTOMER_APPROVAL: "waiting for the customer's approver",
    APPROVED: 'approved; granting access',
    ACTIVE: 'access granted',
  })[status] ?? status;

function failUnlessReached(request: RequestView, until: 'active' | 'end'): void {
  if (until === 'end' || request.status === 'ACTIVE') return;
  const why = request.customerDecision?.reason ?? request.managerDecision?.reason ?? request.endReason;
  throw new CliError(EXIT.wrongState, `${request.requestId} ended ${request.status}${why ? `: ${why}` : ''} — access is not granted`);
}

export async function collectItems<T>(items: AsyncIterable<T>, limit: number): Promise<T[]> {
  const found: T[] = [];
  if (limit <= 0) return found;
  for await (const item of items) {
    found.push(item);
    if (found.length >= limit) break;
  }
  return found;
}

/** A request id as a path segment; the API answers 404 for anything that is not one. */
export const requestPath = (requestId: string): string => {
  if (!/^req-[0-9a-f]{32}$/.test(requestId)) throw usage(`not a request id: "${requestId}" (they look like req- and 32 hex digits)`);
  return requestId;
};

export function readJsonFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (error) {
    throw usage(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw usage(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw usage(`${path} must hold a JSON object`);
  return parsed as Record<string, unknown>;
}

export const positiveInt =
  (flag: string) =>
  (text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw usage(`${flag} must be a whole number of at least 1 (got "${text}")`);
    return value;
  };
