import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import type { AuditEvent } from '../../lambdas/core/domain/audit';
import { LockboxError } from '../../lambdas/core/domain/errors';
import { verifyLedger } from '../../lambdas/core/domain/ledger-verify';
import { linkTokenHash } from '../../lambdas/core/domain/link-token';
import type { Directory } from '../../lambdas/core/domain/principals';
import { type Action, canApply, isTerminal, type Stage, type Status, TRANSITIONS } from '../../lambdas/core/domain/status';
import { cancelRequest, decideAsCustomer, decideAsManager } from '../../lambdas/core/usecases/decisions';
import type { Deps } from '../../lambdas/core/usecases/deps';
import { decideByLink, viewLink } from '../../lambdas/core/usecases/links';
import { createRequest, getRequest } from '../../lambdas/core/usecases/requests';
import { revokeAccess } from '../../lambdas/core/usecases/tenants';
import { endAccess, expireStage, grantAccess, openStage } from '../../lambdas/core/usecases/workflow-steps';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb';
import { ALICE, BOB, CAROL, DAVE, DIRECTORY, demoTenant, ERIN } from '../support/fixtures';
import { freshTables, type TableNames } from '../support/tables';
import { type Harness, harness, linkIn } from '../support/use-case-deps';

/**
 * Property and model-based tests (fast-check) of the use cases on DynamoDB Local: random command
 * sequences keep invariants I1–I8 of the security notes, and racing approve / deny / cancel /
 * expire / revoke interleaved by fast-check's scheduler have exactly one winner.
 *
 * Each run gets its own tenant (its own audit chain) on one set of tables. The workflow is played
 * by the commands themselves (open a stage after it is entered, grant once approved), as the state
 * machine would; the ASL is exercised by the e2e suite.
 */
jest.setTimeout(180_000);

/** Counts reported at the end, so the run's size is visible in the test log. */
const counts = { sequences: 0, commands: 0, races: 0, raceCalls: 0, statuses: {} as Record<string, number>, inRaces: false };

let dynamo: DynamoDbLocal;
let doc: DynamoDBDocumentClient;
let tableNames: TableNames;
let h: Harness;
let tenantRun = 0;

beforeAll(async () => {
  dynamo = await startDynamoDbLocal({});
  await dynamo.ready;
  doc = DynamoDBDocumentClient.from(dynamo.client, { marshallOptions: { removeUndefinedValues: true } });
  tableNames = await freshTables(dynamo.client, 'prop');
  h = harness(doc, tableNames);
});
afterAll(async () => {
  console.log(
    `fast-check: ${counts.sequences} command sequences (${counts.commands} commands), ${counts.races} scheduled races (${counts.raceCalls} racing calls); statuses entered by the sequences: ${JSON.stringify(counts.statuses)}`,
  );
  await dynamo?.stop();
});

/**
 * The people: alice and dave file; bob manages. Alice is a manager too under the same principal,
 * and dave under a second principal that maps to him (his email): neither may decide their own.
 */
const DAVE_AS_MANAGER = 'arn:aws:sts::111111111111:assumed-role/SupportManager/dave';
const PEOPLE_DIRECTORY: Directory = {
  engineers: DIRECTORY.engineers,
  managers: [
    ...DIRECTORY.managers,
    { principal: ALICE, email: 'alice@provider.example' },
    { principal: DAVE_AS_MANAGER, email: 'dave@provider.example' },
  ],
};
const PERSON: Record<string, string> = {
  [ALICE]: 'alice',
  [DAVE]: 'dave',
  [DAVE_AS_MANAGER]: 'dave',
  [BOB]: 'bob',
  [CAROL]: 'carol',
  [ERIN]: 'erin',
};
const EMAIL_OF: Record<string, string> = {
  [CAROL]: 'approver@demo.example',
  [ERIN]: 'approver2@demo.example',
  [BOB]: 'bob@provider.example',
  [ALICE]: 'alice@provider.example',
  [DAVE_AS_MANAGER]: 'dave@provider.example',
};

interface World {
  deps: Deps;
  tenantId: string;
  ids: string[];
  requester: Map<string, string>;
  /** Every status each request was seen in, in order. */
  seen: Map<string, Status[]>;
  /** Successful link decisions per token. */
  linkWins: Map<string, number>;
}

const stored = async (requestId: string) => (await doc.send(new GetCommand({ TableName: tableNames.requests, Key: { requestId } }))).Item!;
const grants = async () => (await doc.send(new ScanCommand({ TableName: tableNames.grants }))).Items ?? [];

/** Refusals are domain errors (4xx); anything else fails the property. */
async function attempt<T>(work: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: LockboxError }> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    if (error instanceof LockboxError && error.statusCode < 500) return { ok: false, error };
    throw error;
  }
}

const linkOf = (requestId: string, stage: Stage, email: string): string | undefined => {
  const emails = h.outbox.filter((mail) => mail.to[0] === email && mail.text.includes('/approvals/'));
  for (const mail of emails.reverse()) {
    const token = linkIn(mail);
    const claims = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));
    if (claims.rid === requestId && claims.stg === stage) return token;
  }
  return undefined;
};

/** What an audit event does to a status; events that change none are undefined. */
function actionOf(event: AuditEvent): Action | undefined {
  const byType: Partial<Record<AuditEvent['type'], Action>> = {
    ManagerApproved: 'managerApprove',
    ManagerRejected: 'managerReject',
    CustomerApproved: 'customerApprove',
    CustomerDenied: 'customerDeny',
    RequestExpired: 'expire',
    RequestCancelled: 'cancel',
    AccessGranted: 'grant',
    AccessGrantFailed: 'fail',
    RequestFailed: 'fail',
  };
  if (event.type === 'AccessRevoked') {
    const reason = event.details?.reason;
    return reason === 'window-ended' ? 'complete' : reason === 'revoked-by-customer' ? 'revoke' : undefined;
  }
  return byType[event.type];
}

async function tenantEvents(tenantId: string): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await h.deps.audit.list(tenantId, {}, 100, nextToken);
    events.push(...page.items);
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/** I1–I8 over every request of the run, against the stored items, grants and audit chain. */
async function checkInvariants(world: World): Promise<void> {
  const events = await tenantEvents(world.tenantId);
  // I7: every chain verifies, and each request's transitions replay, one event each, to its stored status.
  expect(verifyLedger({ events, digests: [], publicKeyPem: '' })).toMatchObject({ ok: true });
  const allGrants = await grants();
  for (const requestId of world.ids) {
    const item = await stored(requestId);
    const status = item.status as Status;
    let replayed: Status = 'PENDING_MANAGER_APPROVAL';
    const mine = events.filter((event) => event.requestId === requestId);
    for (const event of mine) {
      const action = actionOf(event);
      if (!action) continue;
      expect({ requestId, event: event.type, from: replayed, legal: canApply(action, replayed) }).toEqual({
        requestId,
        event: event.type,
        from: replayed,
        legal: true,
      });
      replayed = TRANSITIONS[action].to;
    }
    expect({ requestId, replayed }).toEqual({ requestId, replayed: status });

    // I3, I6: a terminal status never changes; nothing refused, expired or cancelled becomes ACTIVE.
    const seen = world.seen.get(requestId)!;
    if (seen.at(-1) !== status) {
      seen.push(status);
      if (!counts.inRaces) counts.statuses[status] = (counts.statuses[status] ?? 0) + 1;
    }
    const firstTerminal = seen.findIndex(isTerminal);
    if (firstTerminal >= 0) expect(seen.slice(firstTerminal)).toEqual([seen[firstTerminal]]);

    // I1: a grant only after both approvals, in order, by three distinct people.
    const granted = mine.some((event) => event.type === 'AccessGranted');
    if (granted || ['ACTIVE', 'COMPLETED', 'REVOKED'].includes(status)) {
      expect(item.managerDecision?.decision).toBe('APPROVE');
      expect(item.customerDecision?.decision).toBe('APPROVE');
      expect(Date.parse(item.managerDecision.at)).toBeLessThanOrEqual(Date.parse(item.customerDecision.at));
      expect(Date.parse(item.customerDecision.at)).toBeLessThanOrEqual(Date.parse(item.accessStartsAt));
      const people = [PERSON[world.requester.get(requestId)!], PERSON[item.managerDecision.by], PERSON[item.customerDecision.by]];
      expect(new Set(people).size).toBe(3);
      const persons = ['RequestCreated', 'ManagerApproved', 'CustomerApproved'].map(
        (type) => mine.find((event) => event.type === type)?.actor.person,
      );
      expect(new Set(persons).size).toBe(3);
    }

    // I2: a grant is live only while its request is ACTIVE and within the window; ended means revoked.
    for (const grant of allGrants.filter((record) => record.requestId === requestId)) {
      if (grant.revokedAt === undefined) {
        expect(status).toBe('ACTIVE');
        expect(grant.expiresAt).toBe(item.accessExpiresAt);
      }
    }
    if (status !== 'ACTIVE') expect(item.activeUntil).toBeUndefined();

    // I4: a link decides at most once; a link's hash is recorded once.
    const used = (item.usedLinkHashes ?? []) as string[];
    expect(new Set(used).size).toBe(used.length);
  }
  for (const wins of world.linkWins.values()) expect(wins).toBeLessThanOrEqual(1);
}

/** The model: how many requests exist (the rest of what to expect is derived from the stored item before each command). */
interface Model {
  requests: number;
}
type Cmd = fc.AsyncCommand<Model, World, false>;
const pick = (world: World, i: number) => world.ids[i % world.ids.length];
const someRequest = (model: Model) => model.requests > 0;

class Create implements Cmd {
  constructor(readonly engineer: string) {}
  check = () => true;
  async run(model: Model, world: World) {
    model.requests += 1;
    const { request } = await createRequest(
      world.deps,
      { principal: this.engineer },
      {
        tenantId: world.tenantId,
        ticketId: `T-${world.ids.length}`,
        justification: 'property run',
        accessLevel: 'ReadOnly',
        duration: 'PT1H',
      },
    );
    world.ids.push(request.requestId);
    world.requester.set(request.requestId, this.engineer);
    world.seen.set(request.requestId, ['PENDING_MANAGER_APPROVAL']);
    await openStage(world.deps, request.requestId, 'manager', `tt-${request.requestId}-m`);
  }
  toString = () => `create(${PERSON[this.engineer]})`;
}

class ManagerDecides implements Cmd {
  constructor(
    readonly i: number,
    readonly manager: string,
    readonly approve: boolean,
    readonly byLink: boolean,
  ) {}
  check = someRequest;
  async run(_m: Model, world: World) {
    const requestId = pick(world, this.i);
    const before = await stored(requestId);
    const samePerson = PERSON[this.manager] === PERSON[world.requester.get(requestId)!];
    const decision = this.approve ? 'APPROVE' : 'REJECT';
    let ok: boolean;
    if (this.byLink) {
      const token = linkOf(requestId, 'manager', EMAIL_OF[this.manager]);
      // A party of the request is never sent a link.
      if (samePerson) expect(token).toBeUndefined();
      if (!token) return;
      const outcome = await decideByLink(world.deps, token, { decision, reason: 'r' });
      ok = outcome.ok;
      if (ok) world.linkWins.set(token, (world.linkWins.get(token) ?? 0) + 1);
    } else {
      ok = (await attempt(() => decideAsManager(world.deps, { principal: this.manager }, requestId, { decision, reason: 'r' }))).ok;
    }
    const open = before.status === 'PENDING_MANAGER_APPROVAL' && before.approvalDeadlineMs > world.deps.clock.now().getTime();
    expect({ ok, samePerson, open }).toEqual({ ok: open && !samePerson, samePerson, open });
    if (ok && this.approve) await openStage(world.deps, requestId, 'customer', `tt-${requestId}-c`);
  }
  toString = () => `manager(${this.i}, ${PERSON[this.manager]}, ${this.approve ? 'approve' : 'reject'}${this.byLink ? ', link' : ''})`;
}

class CustomerDecides implements Cmd {
  constructor(
    readonly i: number,
    readonly approver: string,
    readonly approve: boolean,
    readonly byLink: boolean,
    readonly grantsAtOnce = false,
  ) {}
  check = someRequest;
  async run(_m: Model, world: World) {
    const requestId = pick(world, this.i);
    const before = await stored(requestId);
    const decision = this.approve ? 'APPROVE' : 'DENY';
    let ok: boolean;
    let reused = false;
    if (this.byLink) {
      const token = linkOf(requestId, 'customer', EMAIL_OF[this.approver]);
      if (!token) return;
      reused = (before.usedLinkHashes ?? []).includes(linkTokenHash(token));
      const outcome = await decideByLink(world.deps, token, { decision, reason: 'r' });
      ok = outcome.ok;
      if (ok) world.linkWins.set(token, (world.linkWins.get(token) ?? 0) + 1);
    } else {
      ok = (await attempt(() => decideAsCustomer(world.deps, { principal: this.approver }, requestId, { decision, reason: 'r' }))).ok;
    }
    const open = before.status === 'PENDING_CUSTOMER_APPROVAL' && before.approvalDeadlineMs > world.deps.clock.now().getTime();
    expect({ ok, open }).toEqual({ ok: open && !reused, open });
    // The workflow grants at once; half the time it is slow, so a cancel can land first.
    if (ok && this.approve && this.grantsAtOnce) await grantAccess(world.deps, requestId);
  }
  toString = () => `customer(${this.i}, ${PERSON[this.approver]}, ${this.approve ? 'approve' : 'deny'}${this.byLink ? ', link' : ''})`;
}

class Cancel implements Cmd {
  constructor(
    readonly i: number,
    readonly byRequester: boolean,
  ) {}
  check = someRequest;
  async run(_m: Model, world: World) {
    const requestId = pick(world, this.i);
    const requester = world.requester.get(requestId)!;
    const before = (await stored(requestId)).status as Status;
    const outcome = await attempt(() =>
      cancelRequest(world.deps, { principal: this.byRequester ? requester : requester === ALICE ? DAVE : ALICE }, requestId),
    );
    expect(outcome.ok).toBe(this.byRequester && canApply('cancel', before));
  }
  toString = () => `cancel(${this.i}${this.byRequester ? '' : ', by someone else'})`;
}

class Expire implements Cmd {
  constructor(readonly i: number) {}
  check = someRequest;
  async run(_m: Model, world: World) {
    const requestId = pick(world, this.i);
    const item = await stored(requestId);
    const stage =
      item.status === 'PENDING_MANAGER_APPROVAL' ? 'manager' : item.status === 'PENDING_CUSTOMER_APPROVAL' ? 'customer' : undefined;
    if (!stage) return;
    h.clock.set(Math.max(h.clock.now().getTime(), item.approvalDeadlineMs));
    await expect(expireStage(world.deps, requestId, stage)).resolves.toEqual({ status: 'EXPIRED' });
  }
  toString = () => `expire(${this.i})`;
}

class Grant implements Cmd {
  constructor(readonly i: number) {}
  check = someRequest;
  async run(_m: Model, world: World) {
    const requestId = pick(world, this.i);
    const before = (await stored(requestId)).status;
    const { status } = await grantAccess(world.deps, requestId);
    expect(status).toBe(before === 'APPROVED' ? 'ACTIVE' : before);
  }
  toString = () => `grant(${this.i})`;
}

class Revoke implements Cmd {
  constructor(
    readonly i: number,
    readonly who: string,
  ) {}
  check = someRequest;
  async run(_m: Model, world: World) {
    const requestId = pick(world, this.i);
    const before = (await stored(requestId)).status;
    const outcome = await attempt(() => revokeAccess(world.deps, { principal: this.who }, requestId, {}));
    const allowed = this.who === CAROL || this.who === ERIN;
    expect(outcome.ok).toBe(allowed && before === 'ACTIVE');
    if (outcome.ok) {
      // I8: revoke is idempotent: again, and the window's end after it, leave REVOKED.
      expect((await attempt(() => revokeAccess(world.deps, { principal: this.who }, requestId, {}))).ok).toBe(false);
      await expect(endAccess(world.deps, requestId, { reason: 'window-ended' })).resolves.toMatchObject({ status: 'REVOKED' });
    }
  }
  toString = () => `revoke(${this.i}, ${PERSON[this.who]})`;
}

class WindowEnds implements Cmd {
  constructor(readonly i: number) {}
  check = someRequest;
  async run(_m: Model, world: World) {
    const requestId = pick(world, this.i);
    const item = await stored(requestId);
    if (item.status !== 'ACTIVE') return;
    h.clock.set(Math.max(h.clock.now().getTime(), Date.parse(item.accessExpiresAt)));
    await expect(endAccess(world.deps, requestId, { reason: 'window-ended' })).resolves.toMatchObject({ status: 'COMPLETED' });
  }
  toString = () => `window-ends(${this.i})`;
}

class Reads implements Cmd {
  constructor(
    readonly i: number,
    readonly who: string,
  ) {}
  check = someRequest;
  async run(_m: Model, world: World) {
    const requestId = pick(world, this.i);
    const { auditSeq: _seq, auditHead: _head, ...before } = await stored(requestId);
    // I5: reading, by API or link, changes no request and uses no link (a refused link is audited:
    // only the request's chain head moves).
    await attempt(() => getRequest(world.deps, { principal: this.who }, requestId));
    for (const stage of ['manager', 'customer'] as const) {
      for (const email of Object.values(EMAIL_OF)) {
        const token = linkOf(requestId, stage, email);
        if (token) await viewLink(world.deps, token);
      }
    }
    const { auditSeq: _seqAfter, auditHead: _headAfter, ...after } = await stored(requestId);
    expect(after).toEqual(before);
  }
  toString = () => `read(${this.i}, ${PERSON[this.who]})`;
}

class Later implements Cmd {
  constructor(readonly minutes: number) {}
  check = () => true;
  async run() {
    h.clock.advance(this.minutes * 60_000);
  }
  toString = () => `later(${this.minutes} min)`;
}

/** Runs a command, then checks every invariant. */
class Checked implements Cmd {
  constructor(readonly inner: Cmd) {}
  check(model: Readonly<Model>) {
    return this.inner.check(model);
  }
  async run(model: Model, world: World) {
    counts.commands += 1;
    await this.inner.run(model, world);
    await checkInvariants(world);
  }
  toString() {
    return this.inner.toString();
  }
}

const index = fc.nat({ max: 5 });
const manager = fc.constantFrom(BOB, BOB, ALICE, DAVE_AS_MANAGER);
const approver = fc.constantFrom(CAROL, ERIN);
/** Weighted so that sequences often get as far as a grant, and sometimes wait out a deadline. */
const command = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(ALICE, DAVE).map((engineer): Cmd => new Create(engineer)) },
  { weight: 4, arbitrary: fc.tuple(index, manager, fc.boolean()).map(([i, who, link]): Cmd => new ManagerDecides(i, who, true, link)) },
  { weight: 1, arbitrary: fc.tuple(index, manager, fc.boolean()).map(([i, who, link]): Cmd => new ManagerDecides(i, who, false, link)) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(index, approver, fc.boolean(), fc.boolean())
      .map(([i, who, link, now]): Cmd => new CustomerDecides(i, who, true, link, now)),
  },
  { weight: 1, arbitrary: fc.tuple(index, approver, fc.boolean()).map(([i, who, link]): Cmd => new CustomerDecides(i, who, false, link)) },
  { weight: 1, arbitrary: fc.tuple(index, fc.boolean()).map(([i, own]): Cmd => new Cancel(i, own)) },
  { weight: 1, arbitrary: index.map((i): Cmd => new Expire(i)) },
  { weight: 4, arbitrary: index.map((i): Cmd => new Grant(i)) },
  { weight: 2, arbitrary: fc.tuple(index, fc.constantFrom(CAROL, ERIN, DAVE)).map(([i, who]): Cmd => new Revoke(i, who)) },
  { weight: 2, arbitrary: index.map((i): Cmd => new WindowEnds(i)) },
  { weight: 2, arbitrary: fc.tuple(index, fc.constantFrom(ALICE, BOB, CAROL, DAVE)).map(([i, who]): Cmd => new Reads(i, who)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 30 }).map((minutes): Cmd => new Later(minutes)) },
);
const commands = [command.map((cmd) => new Checked(cmd))];

async function newWorld(): Promise<World> {
  const tenantId = `prop-${++tenantRun}`;
  await h.seedTenant(demoTenant({ tenantId, approvalTimeout: 'PT1H', accessTarget: { accountId: '222222222222' } }));
  h.deps.directory = PEOPLE_DIRECTORY;
  return { deps: h.deps, tenantId, ids: [], requester: new Map(), seen: new Map(), linkWins: new Map() };
}

describe('random command sequences over the use cases keep I1–I8', () => {
  it('holds for every generated sequence', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 25, size: 'max' }), async (cmds) => {
        const world = await newWorld();
        counts.sequences += 1;
        // Every sequence starts with one request, so commands on requests have something to act on.
        const model = { requests: 0 };
        await new Create(ALICE).run(model, world);
        await fc.asyncModelRun(() => ({ model, real: world }), cmds);
      }),
      { numRuns: 25, endOnFailure: true },
    );
  });
});

/**
 * Races: each racing call waits at every read and write of the request store for the scheduler,
 * which releases them in an order it picks — so a read-check-write of one call can interleave
 * with another's anywhere.
 */
function scheduled(s: fc.Scheduler, deps: Deps): Deps {
  const requests = deps.requests;
  const gate =
    <A extends unknown[], R>(label: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await s.schedule(Promise.resolve(), label);
      return fn.apply(requests, args);
    };
  return {
    ...deps,
    requests: Object.assign(Object.create(requests), {
      get: gate('get', requests.get),
      transition: gate('transition', requests.transition),
      update: gate('update', requests.update),
    }),
  };
}

type Racer = 'approve' | 'deny' | 'cancel' | 'expire';
const RACE_OUTCOME: Record<Racer, Status> = { approve: 'APPROVED', deny: 'DENIED', cancel: 'CANCELLED', expire: 'EXPIRED' };

describe('interleavings have exactly one winner', () => {
  beforeAll(() => void (counts.inRaces = true));

  it('approve, deny, cancel and expire at the customer stage', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.uniqueArray(fc.constantFrom<Racer>('approve', 'deny', 'cancel', 'expire'), { minLength: 2, maxLength: 4 }),
        async (s, racers) => {
          const world = await newWorld();
          counts.races += 1;
          counts.raceCalls += racers.length;
          await new Create(ALICE).run({ requests: 0 }, world);
          const requestId = world.ids[0];
          await decideAsManager(world.deps, { principal: BOB }, requestId, { decision: 'APPROVE' });
          await openStage(world.deps, requestId, 'customer', 'tt');
          // The race at the deadline (T-3.1): the deciders' clocks are 1 ms before it, the expiry's at it.
          const deadlineMs = (await stored(requestId)).approvalDeadlineMs as number;
          h.clock.set(deadlineMs - 1);
          const deps = scheduled(s, world.deps);
          const atDeadline = { ...deps, clock: { now: () => new Date(deadlineMs) } };
          const call: Record<Racer, () => Promise<{ status: string }>> = {
            approve: () => decideAsCustomer(deps, { principal: CAROL }, requestId, { decision: 'APPROVE' }),
            deny: () => decideAsCustomer(deps, { principal: ERIN }, requestId, { decision: 'DENY', reason: 'no' }),
            cancel: () => cancelRequest(deps, { principal: ALICE }, requestId),
            expire: () => expireStage(atDeadline, requestId, 'customer'),
          };
          const outcomes = await s.waitFor(Promise.allSettled(racers.map((racer) => attempt(call[racer]))));
          h.clock.set(deadlineMs); // the audit listing reads up to its own clock
          const final = (await stored(requestId)).status as Status;
          const winners = racers.filter((racer, i) => {
            const outcome = outcomes[i];
            if (outcome.status === 'rejected') throw outcome.reason;
            // expire reports the status it found; it won only if it made it EXPIRED.
            return outcome.value.ok && (racer !== 'expire' || outcome.value.value.status === 'EXPIRED');
          });
          // Exactly one closes the stage. A cancel may also follow the approval (APPROVED is not yet
          // granted, so it may be cancelled): then both succeeded, one after the other, and it ends CANCELLED.
          const closedTheStage = winners.filter((racer) => racer !== 'cancel' || !winners.includes('approve'));
          expect(closedTheStage).toHaveLength(1);
          expect(final).toBe(winners.includes('cancel') ? 'CANCELLED' : RACE_OUTCOME[closedTheStage[0]]);
          await checkInvariants(world);
        },
      ),
      { numRuns: 50, endOnFailure: true },
    );
  });

  it('two revokes and the window end on active access', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const world = await newWorld();
        counts.races += 1;
        counts.raceCalls += 3;
        await new Create(DAVE).run({ requests: 0 }, world);
        const requestId = world.ids[0];
        await decideAsManager(world.deps, { principal: BOB }, requestId, { decision: 'APPROVE' });
        await openStage(world.deps, requestId, 'customer', 'tt');
        await decideAsCustomer(world.deps, { principal: CAROL }, requestId, { decision: 'APPROVE' });
        await grantAccess(world.deps, requestId);
        const deps = scheduled(s, world.deps);
        const outcomes = await s.waitFor(
          Promise.all([
            attempt(() => revokeAccess(deps, { principal: CAROL }, requestId, {})),
            attempt(() => revokeAccess(deps, { principal: ERIN }, requestId, {})),
            attempt(() => endAccess(deps, requestId, { reason: 'window-ended' })),
          ]),
        );
        const final = (await stored(requestId)).status;
        // One transition ends access: one AccessRevoked event. A revoke that started while access was
        // ACTIVE and lost to another revoke answers REVOKED (idempotent, I8); one that started after
        // it ended is refused with the final status.
        const ended = (await tenantEvents(world.tenantId)).filter(
          (event) => event.requestId === requestId && event.type === 'AccessRevoked',
        );
        expect(ended).toHaveLength(1);
        expect(final).toBe(ended[0].details?.reason === 'window-ended' ? 'COMPLETED' : 'REVOKED');
        expect(outcomes[2]).toMatchObject({ ok: true, value: { status: final } });
        for (const revoke of outcomes.slice(0, 2)) {
          if (revoke.ok) expect(revoke.value.status).toBe('REVOKED');
          else expect(revoke.error.details?.status).toBe(final);
        }
        if (final === 'COMPLETED') expect(outcomes.slice(0, 2).some((revoke) => revoke.ok)).toBe(false);
        expect((await grants()).filter((grant) => grant.requestId === requestId && grant.revokedAt === undefined)).toEqual([]);
        await checkInvariants(world);
      }),
      { numRuns: 25, endOnFailure: true },
    );
  });
});
