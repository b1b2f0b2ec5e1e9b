import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent } from '../../../lambdas/core/domain/audit';
import { verifyLedger } from '../../../lambdas/core/domain/ledger-verify';
import { LOCAL_AUDIT_SETTLE_SECONDS } from '../../../local/local-mode';

/**
 * End-to-end harness: local mode as a child process (`tsx local/start.ts`, exactly what `npm start`
 * runs), driven only over HTTP like a real client. Every response the tests receive is kept, so the
 * invariants after each test can check that no task token ever reached a caller.
 */
const ROOT = join(__dirname, '..', '..', '..');

export const PEOPLE = {
  alice: 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/alice',
  dave: 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/dave',
  bob: 'arn:aws:sts::111111111111:assumed-role/SupportManager/bob',
  carol: 'arn:aws:iam::222222222222:user/carol',
  erin: 'arn:aws:iam::222222222222:user/erin',
} as const;
export type Person = keyof typeof PEOPLE;

export const EMAIL = {
  alice: 'alice@provider.example',
  dave: 'dave@provider.example',
  bob: 'bob@provider.example',
  carol: 'approver@demo.example',
  erin: 'approver2@demo.example',
} as const;

export interface Response<T = any> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

export interface Mail {
  to: string[];
  subject: string;
  text: string;
  html: string;
  at: string;
}

export interface Grant {
  requestId: string;
  principal: string;
  grantedAt: string;
  expiresAt: string;
  revokedAt?: string;
}

export class LocalLockbox {
  /** Every body received from the API and the approval pages. */
  readonly received: string[] = [];

  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly output: () => string,
  ) {}

  /**
   * Starts `tsx local/start.ts` on a free port with `env` added; resolves at its ready line.
   * `logCalls`: also log each API call (npm start's default; the tests run it `--quiet`).
   */
  static async start(env: Record<string, string> = {}, timeoutMs = 60_000, logCalls = false): Promise<LocalLockbox> {
    // Node 22 (aws-local-stepfunctions needs it): the project's own, as npm scripts use.
    const localNode = join(ROOT, 'node_modules', '.bin', 'node');
    const node = existsSync(localNode) ? localNode : process.execPath;
    const child = spawn(
      node,
      [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'local/start.ts', '--port', '0', ...(logCalls ? [] : ['--quiet'])],
      {
        cwd: ROOT,
        env: { ...process.env, ...env, PORT: '', LOCKBOX_LOCAL_PARENT_PID: String(process.pid) },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, with DynamoDB Local's java in it: if it does not stop by itself,
        // the whole group is killed, and no java outlives the tests.
        detached: true,
      },
    );
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-200_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`local mode did not start in ${timeoutMs} ms:\n${output}`)), timeoutMs);
      const onData = () => {
        const match = /Lockbox local mode ready on (http:\/\/localhost:\d+)/.exec(output);
        // The banner (which names DynamoDB Local's endpoint) follows the ready line in another write.
        if (match && output.includes('Walk through one request')) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`local mode exited (${code}) before it was ready:\n${output}`));
      });
    });
    const lockbox = new LocalLockbox(url, child, () => output);
    child.once('exit', () => {
      // Kept for whoever reads a failure: test-artifacts/ is git-ignored.
      mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
      writeFileSync(join(ROOT, 'test-artifacts', `e2e-local-mode-${child.pid}.log`), output);
    });
    return lockbox;
  }

  /** Stops it as Ctrl-C does; the child must exit by itself, DynamoDB Local included. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGINT');
      const timer = setTimeout(() => this.killGroup(), 20_000);
      await exited;
      clearTimeout(timer);
    }
    this.killGroup(); // anything left in its group (nothing, when it stopped cleanly)
  }

  private killGroup(): void {
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  }

  /** What local mode warned about at start-up (where it cannot stand in for the deployment). */
  startupWarnings(): string[] {
    const banner = this.output().split('Personas')[0];
    return banner
      .split('\n')
      .filter((line) => line.includes('WARNING:'))
      .map((line) => line.trim());
  }

  /** DynamoDB Local's endpoint, from the start-up banner (for tests that change items behind the API's back). */
  dynamoEndpoint(): string {
    const match = /DynamoDB\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(this.output());
    if (!match) throw new Error('local mode did not print its DynamoDB endpoint');
    return match[1];
  }

  /** The last lines local mode printed (for failure messages). */
  log(): string {
    return this.output();
  }

  // ---- HTTP ------------------------------------------------------------------------------------

  async call<T = any>(
    method: string,
    path: string,
    options: { as?: Person; json?: unknown; form?: Record<string, string>; query?: Record<string, string> } = {},
  ): Promise<Response<T>> {
    const headers: Record<string, string> = {};
    if (options.as) headers['x-lockbox-principal'] = PEOPLE[options.as];
    let body: string | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    }
    const target = new URL(path, this.url);
    for (const [name, value] of Object.entries(options.query ?? {})) target.searchParams.set(name, value);
    const response = await fetch(target, { method, headers, body, redirect: 'manual' });
    const text = await response.text();
    if (!target.pathname.startsWith('/_local/task-tokens')) this.received.push(text);
    let parsed: unknown = text;
    if ((response.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, text, body: parsed as T };
  }

  /**
   * As a well-behaved client under load: a 5xx is retried with backoff (a failed commit changed
   * nothing; creates carry an idempotency key, so a retry finds the first request). Returns the
   * first answer that is not a 5xx, and counts the retries.
   */
  async callRetrying<T = any>(
    method: string,
    path: string,
    options: Parameters<LocalLockbox['call']>[2] = {},
    attempts = 8,
  ): Promise<Response<T>> {
    for (let attempt = 1; ; attempt++) {
      const response = await this.call<T>(method, path, options);
      if (response.status < 500 || attempt >= attempts) return response;
      this.serverErrors++;
      await sleep(Math.random() * Math.min(4000, 250 * 2 ** attempt));
    }
  }

  /** 5xx answers `callRetrying` retried. */
  serverErrors = 0;

  get = <T = any>(path: string, as?: Person, query?: Record<string, string>) => this.call<T>('GET', path, { as, query });
  post = <T = any>(path: string, as: Person | undefined, json: unknown = {}) => this.call<T>('POST', path, { as, json });

  // ---- the lifecycle ---------------------------------------------------------------------------

  async create(as: Person, over: Record<string, unknown> = {}): Promise<any> {
    const response = await this.post('/requests', as, {
      tenantId: 'demo',
      ticketId: `T-${Math.floor(Math.random() * 1e6)}`,
      justification: 'Customer reports failing nightly backups',
      accessLevel: 'ReadOnly',
      duration: 'PT2S',
      ...over,
    });
    if (response.status !== 201) throw new Error(`create: ${response.status} ${response.text}`);
    return response.body;
  }

  request = async (requestId: string, as: Person = 'bob') => {
    const response = await this.get(`/requests/${requestId}`, as);
    if (response.status !== 200) throw new Error(`get ${requestId}: ${response.status} ${response.text}`);
    return response.body;
  };

  /** Polls until the request is in one of `statuses` (bounded). */
  async waitForStatus(requestId: string, statuses: string[], timeoutMs = 15_000, intervalMs = 100): Promise<any> {
    return waitFor(
      `${requestId} in ${statuses.join('|')}`,
      () => this.request(requestId),
      (request) => statuses.includes(request.status),
      timeoutMs,
      intervalMs,
    );
  }

  /** Polls until the stage is open for decisions: the request shows its status and deadline (the notify step may not have run yet). */
  async waitForStage(requestId: string, stage: 'manager' | 'customer', timeoutMs = 10_000, intervalMs = 100): Promise<any> {
    const status = stage === 'manager' ? 'PENDING_MANAGER_APPROVAL' : 'PENDING_CUSTOMER_APPROVAL';
    return waitFor(
      `${requestId} ${stage} stage open`,
      () => this.request(requestId),
      (request) => request.status === status && Boolean(request.approvalDeadline),
      timeoutMs,
      intervalMs,
    );
  }

  async outbox(): Promise<Mail[]> {
    return (await this.get<Mail[]>('/_local/outbox')).body;
  }

  /** Mail to `email` about `requestId` (its text names the request id). */
  async mailsTo(email: string, requestId: string): Promise<Mail[]> {
    return (await this.outbox()).filter((mail) => mail.to.includes(email) && mail.text.includes(requestId));
  }

  /** The approval link emailed to `email` for `requestId` at `stage`, waiting for the email (bounded). */
  async linkFor(email: string, requestId: string, stage: 'manager' | 'customer'): Promise<string> {
    const links = await waitFor(
      `${stage} link to ${email} for ${requestId}`,
      async () =>
        (await this.mailsTo(email, requestId)).flatMap((mail) => linksIn(mail.text)).filter((link) => claimsOf(link).stg === stage),
      (found) => found.length > 0,
      10_000,
    );
    return links[links.length - 1];
  }

  /** Opens a link as a browser does (GET): the confirmation page. */
  async openLink(link: string): Promise<Response<string>> {
    return this.call<string>('GET', new URL(link).pathname);
  }

  /** The hidden fields of the confirmation page's form (what a browser posts back with the choice). */
  async formOf(link: string): Promise<Record<string, string>> {
    const page = await this.openLink(link);
    if (page.status !== 200) throw new Error(`the page of ${link} answered ${page.status}`);
    return Object.fromEntries(
      [...page.text.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((match) => [match[1], match[2]]),
    );
  }

  /** Posts the page's form with a choice, as a browser does: `fields` are the page's hidden fields. */
  async postLink(link: string, fields: Record<string, string>, choice: { decision: string; reason?: string }): Promise<Response<string>> {
    return this.call<string>('POST', new URL(link).pathname, {
      form: { ...fields, reason: choice.reason ?? '', decision: choice.decision },
    });
  }

  /** Opens the link and decides on its page. */
  async decideByLink(link: string, choice: { decision: string; reason?: string }): Promise<Response<string>> {
    return this.postLink(link, await this.formOf(link), choice);
  }

  async grants(): Promise<Grant[]> {
    return (await this.get<Grant[]>('/_local/grants')).body;
  }

  async execution(requestId: string): Promise<any> {
    return (await this.get(`/_local/executions/${requestId}`)).body;
  }

  /** Waits for the request's execution to end; returns it (status, output, history). */
  async waitForExecution(requestId: string, timeoutMs = 15_000, intervalMs = 100): Promise<any> {
    return waitFor(
      `execution ${requestId} ended`,
      () => this.execution(requestId),
      (execution) => execution.status && execution.status !== 'RUNNING',
      timeoutMs,
      intervalMs,
    );
  }

  /**
   * The audit log of `demo`, every page, as its approver carol reads it. The listing shows only
   * settled events (older than the settle window), so this first waits one window.
   */
  async auditLog(): Promise<AuditEvent[]> {
    await new Promise((resolve) => setTimeout(resolve, LOCAL_AUDIT_SETTLE_SECONDS * 1000 + 300));
    const events: AuditEvent[] = [];
    let nextToken: string | undefined;
    do {
      const response = await this.get<{ items: AuditEvent[]; nextToken?: string }>('/tenants/demo/audit', 'carol', {
        limit: '100',
        ...(nextToken ? { nextToken } : {}),
      });
      if (response.status !== 200) throw new Error(`audit: ${response.status} ${response.text}`);
      events.push(...response.body.items);
      nextToken = response.body.nextToken;
    } while (nextToken);
    return events;
  }

  /** The audit events as exported to local mode's "bus" (a JSON-lines file), oldest first. */
  async exported(): Promise<AuditEvent[]> {
    return (await this.get<AuditEvent[]>('/_local/events')).body;
  }

  /**
   * The exported copies of `events` (from the ledger), once every one of them was exported: the
   * export runs on the Audit table's stream, after the write that committed them.
   */
  async waitForExport(events: AuditEvent[], timeoutMs = 15_000): Promise<AuditEvent[]> {
    const exported = await waitFor(
      `the export of ${events.length} audit event(s)`,
      async () => new Map((await this.exported()).map((event) => [event.eventId, event])),
      (byId) => events.every((event) => byId.has(event.eventId)),
      timeoutMs,
    );
    return events.map((event) => exported.get(event.eventId)!);
  }

  async eventsOf(requestId: string): Promise<string[]> {
    return (await this.auditLog()).filter((event) => event.requestId === requestId).map((event) => event.type);
  }

  // ---- invariants after every test ---------------------------------------------------------------

  /**
   * 1. No grant outlives its window: revoked by its expiry (plus `slackMs`), or not yet expired.
   * 2. The tenant's audit chain verifies, every page of it.
   * 3. Every listed event was exported (asynchronously: the Audit table's stream) exactly as the
   *    ledger holds it, same hash.
   * 4. No task token in any email, any exported audit event, or any response a caller received.
   */
  async checkInvariants(slackMs = 2500): Promise<void> {
    const now = Date.now();
    const overdue = (await this.grants())
      .map((grant) => ({ grant, endMs: grant.revokedAt ? Date.parse(grant.revokedAt) : now }))
      .filter(({ grant, endMs }) => endMs > Date.parse(grant.expiresAt) + slackMs)
      .map(({ grant, endMs }) => ({ ...grant, overdueMs: endMs - Date.parse(grant.expiresAt) }));
    expect(overdue).toEqual([]);

    const events = await this.auditLog();
    const chain = verifyLedger({ events, digests: [], publicKeyPem: '' });
    expect(chain).toMatchObject({ ok: true });
    expect(await this.waitForExport(events)).toEqual(events);

    const tokens: string[] = (await this.call('GET', '/_local/task-tokens')).body.tokens;
    const mails = await this.outbox();
    const exported = (await this.get('/_local/events')).text;
    const places = [...mails.map((mail) => `${mail.subject}\n${mail.text}\n${mail.html}`), exported, ...this.received];
    const leaks = tokens.filter((token) => places.some((place) => place.includes(token)));
    expect(leaks).toEqual([]);
  }
}

export const linksIn = (text: string): string[] =>
  [...text.matchAll(/https?:\/\/\S+\/approvals\/[A-Za-z0-9_.-]+/g)].map((match) => match[0]);

/** The (unverified) claims a link token carries: `base64url(JSON).base64url(MAC)`. */
export function claimsOf(link: string): { rid?: string; stg?: string; em?: string } {
  const token = link.slice(link.lastIndexOf('/') + 1);
  try {
    return JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8')) as { rid?: string; stg?: string; em?: string };
  } catch {
    return {};
  }
}

/** Polls `read` until `done` holds, every `intervalMs`, at most `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 10_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (done(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(last).slice(0, 800)}`);
    await sleep(intervalMs);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Until `at` (epoch ms). */
export const sleepUntil = (at: number) => sleep(Math.max(0, at - Date.now()));
