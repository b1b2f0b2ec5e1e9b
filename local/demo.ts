import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { AuditEvent } from '../lambdas/core/domain/audit';
import { verifyLedger } from '../lambdas/core/domain/ledger-verify';
import { LOCAL_AUDIT_SETTLE_SECONDS } from './local-mode';
import { PRINCIPAL_HEADER } from './gateway';
import { PERSONAS } from './seed';

/**
 * `npm run demo` — one access request from start to end, against a running local mode
 * (`npm start` in another terminal). Each step says who acts, which call it is, and what changed;
 * the customer's approval is yours to give in the browser, from the emailed link.
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

type Who = keyof typeof PERSONAS;
const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const step = (n: number, text: string) => console.log(`\n${bold(`${n}. ${text}`)}`);
const say = (text: string) => console.log(`   ${text}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function call(method: string, path: string, as?: Who, body?: unknown): Promise<any> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(as ? { [PRINCIPAL_HEADER]: PERSONAS[as].principal } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : undefined;
  if (!response.ok) throw new Error(`${method} ${path} as ${as ?? 'nobody'}: ${response.status} ${text}`);
  return parsed;
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
    async () => ((await call('GET', '/_local/outbox')) as { to: string[]; text: string }[]).filter((mail) => mail.to.includes(email) && mail.text.includes(requestId)),
    (found) => found.some((mail) => mail.text.includes('/approvals/')),
    15_000,
  );
  const links = mails.flatMap((mail) => [...mail.text.matchAll(/https?:\/\/\S+\/approvals\/\S+/g)].map((match) => match[0]));
  const link = links.filter((candidate) => JSON.parse(Buffer.from(candidate.split('/').pop()!.split('.')[0], 'base64url').toString('utf8')).stg === stage).pop();
  if (!link) throw new Error(`No ${stage} email reached ${email}`);
  return link;
}

/** Resolves when the request leaves `status`, or on Enter (then `onEnter` runs). */
async function waitForBrowserOrEnter(requestId: string, status: string, onEnter: () => Promise<void>): Promise<void> {
  const reader = interactive ? createInterface({ input: process.stdin }) : undefined;
  let entered = false;
  const enter = new Promise<void>((resolve) => reader?.once('line', () => ((entered = true), resolve())));
  const decided = until(() => call('GET', `/requests/${requestId}`, 'bob'), (request) => request.status !== status || entered, 30 * 60_000);
  await Promise.race([enter, decided]);
  reader?.close();
  if (entered) await onEnter();
}

async function main(): Promise<void> {
  try {
    await call('GET', '/_local/health');
  } catch {
    console.error(`No local mode answers at ${base}. Start it first (npm start), then run npm run demo again.`);
    process.exit(1);
  }
  console.log(`Lockbox demo against ${base} — local mode: the caller is named by the ${PRINCIPAL_HEADER} header.`);

  step(1, `alice, a support engineer, asks for ReadOnly access to tenant "demo" for ${values.duration}`);
  say(`POST /requests as ${PERSONAS.alice.principal}`);
  const created = await call('POST', '/requests', 'alice', {
    tenantId: 'demo',
    ticketId: `DEMO-${Math.floor(Math.random() * 9000 + 1000)}`,
    justification: 'Customer reports failing nightly backups; need to read the job logs',
    accessLevel: 'ReadOnly',
    duration: values.duration,
  });
  const id: string = created.requestId;
  say(`-> ${id} is ${created.status}. Its workflow execution is named after it: ${base}/_local/executions/${id}`);

  step(2, 'The support managers are emailed a signed approval link');
  const managerLink = await linkTo(PERSONAS.bob.email, id, 'manager');
  say(`to ${PERSONAS.bob.email}: ${managerLink}`);
  say('bob, the support manager, approves through the API: POST /requests/{id}/manager-decision');
  await call('POST', `/requests/${id}/manager-decision`, 'bob', { decision: 'APPROVE' });
  say(`-> ${(await call('GET', `/requests/${id}`, 'bob')).status}`);

  step(3, "The customer's approvers are emailed their own links; nothing is granted unless one approves");
  const customerLink = await linkTo(PERSONAS.carol.email, id, 'customer');
  say(`to ${PERSONAS.carol.email} (carol): ${customerLink}`);
  say(`(every email: ${base}/_local/outbox)`);
  if (interactive) {
    say(bold('Open the link above in your browser, read the request and click Approve (or Deny, with a reason).'));
    say('Waiting for your decision... or press Enter to approve as carol through the API.');
  } else {
    say('Not interactive: carol approves through the API.');
  }
  const approveAsCarol = async () => {
    say('POST /requests/{id}/customer-decision as carol');
    await call('POST', `/requests/${id}/customer-decision`, 'carol', { decision: 'APPROVE' });
  };
  if (interactive) await waitForBrowserOrEnter(id, 'PENDING_CUSTOMER_APPROVAL', approveAsCarol);
  else await approveAsCarol();

  const decided = await until(() => call('GET', `/requests/${id}`, 'alice'), (request) => !['PENDING_CUSTOMER_APPROVAL', 'APPROVED'].includes(request.status), 15_000);
  if (decided.status !== 'ACTIVE') {
    step(4, `The request ended ${decided.status}${decided.customerDecision?.reason ? `: "${decided.customerDecision.reason}"` : ''} — nothing was granted`);
    await closing(id);
    return;
  }

  step(4, `Access is granted until ${decided.accessExpiresAt}`);
  say(`alice sees what she needs to use it: ${JSON.stringify(decided.access)}`);
  const grant = ((await call('GET', '/_local/grants')) as { requestId: string }[]).find((candidate) => candidate.requestId === id);
  say(`the local access provider's grant (${base}/_local/grants): ${JSON.stringify(grant)}`);
  say(`carol could end it early: POST /requests/${id}/revoke as ${PERSONAS.carol.principal}`);

  step(5, 'The window ends: the workflow revokes access by itself');
  const remainingMs = Date.parse(decided.accessExpiresAt) - Date.now();
  say(`waiting ${Math.max(0, Math.round(remainingMs / 1000))} s...`);
  const ended = await until(() => call('GET', `/requests/${id}`, 'alice'), (request) => request.status !== 'ACTIVE', remainingMs + 30_000);
  const revoked = ((await call('GET', '/_local/grants')) as { requestId: string; revokedAt?: string }[]).find((candidate) => candidate.requestId === id);
  say(`-> ${ended.status} (${ended.endReason}); grant revoked at ${revoked?.revokedAt}`);
  await closing(id);
}

async function closing(id: string): Promise<void> {
  step(6, 'Everything was recorded in the tenant\'s tamper-evident audit log');
  // The listing shows events once they are settled (LOCAL_AUDIT_SETTLE_SECONDS old).
  await new Promise((resolve) => setTimeout(resolve, LOCAL_AUDIT_SETTLE_SECONDS * 1000 + 300));
  const events: AuditEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await call('GET', `/tenants/demo/audit?limit=100${nextToken ? `&nextToken=${encodeURIComponent(nextToken)}` : ''}`, 'carol');
    events.push(...page.items);
    nextToken = page.nextToken;
  } while (nextToken);
  for (const event of events.filter((candidate) => candidate.requestId === id)) {
    say(`#${event.seq} ${event.at} ${event.type.padEnd(17)} by ${event.actor.kind} ${event.actor.id}`);
  }
  const verdict = verifyLedger({ events, digests: [], publicKeyPem: '' });
  say(verdict.ok ? `the hash chains of all ${events.length} events of "demo" verify` : `THE LEDGER IS BROKEN: ${verdict.firstBroken?.message}`);
  const execution = await call('GET', `/_local/executions/${id}`);
  say(`workflow execution: ${execution.status} (${base}/_local/executions/${id})`);
  console.log('\nDone. Try another path: deny with a reason, let a stage expire, or cancel as alice.');
}

main().catch((error: unknown) => {
  console.error(`\nThe demo stopped: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
