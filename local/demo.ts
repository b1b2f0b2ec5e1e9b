import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { PRINCIPAL_HEADER } from './gateway';
import { LOCAL_AUDIT_SETTLE_SECONDS } from './local-mode';
import { PERSONAS } from './seed';

/**
 * `npm run demo` — one access request from start to end, against a running local mode
 * (`npm start` in another terminal), every step through the `lockbox` command line as the persona
 * who takes it: each command is printed before it runs, so you can type the same ones yourself.
 * The customer's approval is yours to give in the browser, from the emailed link.
 *
 *   npm run demo -- [--url http://localhost:3000] [--duration PT1M] [--auto]
 */
const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.LOCKBOX_URL ?? `http://localhost:${process.env.PORT ?? 3000}` },
    duration: { type: 'string', default: 'PT1M' },
    auto: { type: 'boolean', default: false },
  },
});
const base = values.url!.replace(/\/+$/, '');
const interactive = !values.auto && process.stdin.isTTY === true;
const CLI = join(resolve(__dirname, '..'), 'bin', 'lockbox');

type Who = keyof typeof PERSONAS;
const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const step = (n: number, text: string) => console.log(`\n${bold(`${n}. ${text}`)}`);
const say = (text: string) => console.log(`   ${text}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);

/**
 * Runs `lockbox --local-as <as> ...args` as a user would (LOCKBOX_ENDPOINT points it at local
 * mode), printing the command first. With `json`, returns what it printed with --json instead of
 * showing it. An exit code not in `allow` (default: 0) stops the demo.
 */
function lockbox(as: Who, args: string[], options: { json?: boolean; allow?: number[] } = {}): Promise<any> {
  console.log(`   ${bold(`$ lockbox --local-as ${as} ${args.map(quote).join(' ')}`)}`);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, '--local-as', as, ...(options.json ? ['--json'] : []), ...args], {
      env: { ...process.env, LOCKBOX_ENDPOINT: base },
      stdio: ['ignore', options.json ? 'pipe' : 'inherit', 'inherit'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', fail);
    child.once('close', (code) => {
      if (!(options.allow ?? [0]).includes(code ?? -1))
        return fail(new Error(`lockbox exited ${code}${output ? `: ${output.trim()}` : ''}`));
      done(options.json ? JSON.parse(output) : undefined);
    });
  });
}

/** A local-mode page (/_local/...), or the API as `as` for the demo's own polling. */
async function call(path: string, as?: Who): Promise<any> {
  const response = await fetch(`${base}${path}`, { headers: as ? { [PRINCIPAL_HEADER]: PERSONAS[as].principal } : {} });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(250);
  }
}

/** The approval link emailed to `email` for the request (the outbox is local mode's SES). */
async function linkTo(email: string, requestId: string, stage: 'manager' | 'customer'): Promise<string> {
  const mails = await until(
    async () =>
      ((await call('/_local/outbox')) as { to: string[]; text: string }[]).filter(
        (mail) => mail.to.includes(email) && mail.text.includes(requestId),
      ),
    (found) => found.some((mail) => mail.text.includes('/approvals/')),
    15_000,
  );
  const links = mails.flatMap((mail) => [...mail.text.matchAll(/https?:\/\/\S+\/approvals\/\S+/g)].map((match) => match[0]));
  const link = links
    .filter((candidate) => JSON.parse(Buffer.from(candidate.split('/').pop()!.split('.')[0], 'base64url').toString('utf8')).stg === stage)
    .pop();
  if (!link) throw new Error(`No ${stage} email reached ${email}`);
  return link;
}

/** Resolves when the request leaves `status`, or on Enter (then `onEnter` runs). */
async function waitForBrowserOrEnter(requestId: string, status: string, onEnter: () => Promise<void>): Promise<void> {
  const reader = interactive ? createInterface({ input: process.stdin }) : undefined;
  let entered = false;
  const enter = new Promise<void>((resolve) => reader?.once('line', () => ((entered = true), resolve())));
  const decided = until(
    () => call(`/requests/${requestId}`, 'bob'),
    (request) => request.status !== status || entered,
    30 * 60_000,
  );
  await Promise.race([enter, decided]);
  reader?.close();
  if (entered) await onEnter();
}

async function main(): Promise<void> {
  try {
    await call('/_local/health');
  } catch {
    console.error(`No local mode answers at ${base}. Start it first (npm start), then run npm run demo again.`);
    process.exit(1);
  }
  console.log(`Lockbox demo against ${base}, with the command line: export LOCKBOX_ENDPOINT=${base}`);
  console.log(`Local mode: --local-as names the caller in the ${PRINCIPAL_HEADER} header instead of an AWS signature.`);

  step(1, `alice, a support engineer, asks for ReadOnly access to tenant "demo" for ${values.duration}`);
  const created = await lockbox(
    'alice',
    [
      'request',
      'create',
      '-t',
      'demo',
      '--ticket',
      `DEMO-${Math.floor(Math.random() * 9000 + 1000)}`,
      '-l',
      'ReadOnly',
      '-d',
      values.duration!,
      '-j',
      'Customer reports failing nightly backups; need to read the job logs',
    ],
    { json: true },
  );
  const id: string = created.requestId;
  say(`-> ${id} is ${created.status}. Its workflow execution is named after it: ${base}/_local/executions/${id}`);

  step(2, 'The support managers are emailed a signed approval link; bob approves from the command line');
  const managerLink = await linkTo(PERSONAS.bob.email, id, 'manager');
  say(`to ${PERSONAS.bob.email}: ${managerLink}`);
  await lockbox('bob', ['pending']);
  await lockbox('bob', ['approve', id]);

  step(3, "The customer's approvers are emailed their own links; nothing is granted unless one approves");
  const customerLink = await linkTo(PERSONAS.carol.email, id, 'customer');
  say(`to ${PERSONAS.carol.email} (carol): ${customerLink}`);
  say(`(every email: ${base}/_local/outbox)`);
  const approveAsCarol = () => lockbox('carol', ['approve', id, '--reason', 'Ticket checked with our ops team']);
  if (interactive) {
    say(bold('Open the link above in your browser, read the request and click Approve (or Deny, with a reason).'));
    say('Waiting for your decision... or press Enter to approve as carol from the command line.');
    await waitForBrowserOrEnter(id, 'PENDING_CUSTOMER_APPROVAL', approveAsCarol);
  } else {
    say('Not interactive: carol approves from the command line.');
    await approveAsCarol();
  }

  step(4, 'alice waits for access (progress on stderr)');
  // Exit 0 once access is granted, 7 if the request ended without (denied, expired).
  await lockbox('alice', ['request', 'wait', id, '--interval', '500ms'], { allow: [0, 7] });
  const now = await call(`/requests/${id}`, 'alice');
  if (now.status !== 'ACTIVE') {
    say(`The request ended ${now.status}${now.customerDecision?.reason ? `: "${now.customerDecision.reason}"` : ''} — nothing was granted`);
    await closing(id);
    return;
  }
  say(`Access is granted until ${now.accessExpiresAt}. On AWS, alice would now run: eval "$(lockbox credentials ${id})"`);
  const grant = ((await call('/_local/grants')) as { requestId: string }[]).find((candidate) => candidate.requestId === id);
  say(`the local access provider's grant (${base}/_local/grants): ${JSON.stringify(grant)}`);
  say(`carol could end it early: lockbox --local-as carol revoke ${id} --reason "done"`);

  step(5, 'The window ends: the workflow revokes access by itself');
  await lockbox('alice', ['request', 'wait', id, '--for', 'end', '--interval', '1s']);
  const revoked = ((await call('/_local/grants')) as { requestId: string; revokedAt?: string }[]).find(
    (candidate) => candidate.requestId === id,
  );
  say(`grant revoked at ${revoked?.revokedAt}`);
  await closing(id);
}

async function closing(id: string): Promise<void> {
  step(6, "Everything was recorded in the tenant's tamper-evident audit log; carol checks it on her machine");
  // The listing shows events once they are settled (LOCAL_AUDIT_SETTLE_SECONDS old).
  await sleep(LOCAL_AUDIT_SETTLE_SECONDS * 1000 + 300);
  await lockbox('carol', ['audit', 'list', '-t', 'demo', '--request', id]);
  await lockbox('carol', ['audit', 'verify', '-t', 'demo']);
  const execution = await call(`/_local/executions/${id}`);
  say(`workflow execution: ${execution.status} (${base}/_local/executions/${id})`);
  console.log('\nDone. Try another path: lockbox deny <id> --reason "...", let a stage expire, or lockbox request cancel <id> as alice.');
}

main().catch((error: unknown) => {
  console.error(`\nThe demo stopped: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
