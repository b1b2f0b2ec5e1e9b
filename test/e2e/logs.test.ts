import { EMAIL, LocalLockbox, linksIn } from './support/harness';

/**
 * The functions' logs, as local mode prints them (Powertools in dev mode, compact lines): a whole
 * lifecycle, a denial and an early revoke leave lines with the Lambda request id, the caller's
 * kind and the requestId, count their metrics, and never show a task token or a link token.
 */
jest.setTimeout(90_000);

let lockbox: LocalLockbox;

beforeAll(async () => {
  lockbox = await LocalLockbox.start({}, 60_000, true); // with the gateway's line per call too
}, 90_000);

afterAll(async () => {
  await lockbox?.stop();
}, 30_000);

const linkTokens = (text: string) => linksIn(text).map((link) => link.slice(link.lastIndexOf('/') + 1));

async function runLifecycles(): Promise<void> {
  // To COMPLETED through both links.
  const done = await lockbox.create('alice', { duration: 'PT2S' });
  await lockbox.decideByLink(await lockbox.linkFor(EMAIL.bob, done.requestId, 'manager'), { decision: 'APPROVE' });
  await lockbox.decideByLink(await lockbox.linkFor(EMAIL.carol, done.requestId, 'customer'), { decision: 'APPROVE' });
  await lockbox.waitForStatus(done.requestId, ['COMPLETED'], 15_000);

  // Denied by the customer through the API, after the manager approved by API.
  const denied = await lockbox.create('alice');
  await lockbox.waitForStage(denied.requestId, 'manager');
  expect((await lockbox.post(`/requests/${denied.requestId}/manager-decision`, 'bob', { decision: 'APPROVE' })).status).toBe(200);
  await lockbox.waitForStage(denied.requestId, 'customer');
  expect(
    (await lockbox.post(`/requests/${denied.requestId}/customer-decision`, 'carol', { decision: 'DENY', reason: 'not now' })).status,
  ).toBe(200);
  await lockbox.waitForStatus(denied.requestId, ['DENIED']);

  // Revoked early by the customer.
  const revoked = await lockbox.create('alice', { duration: 'PT1H' });
  await lockbox.decideByLink(await lockbox.linkFor(EMAIL.bob, revoked.requestId, 'manager'), { decision: 'APPROVE' });
  await lockbox.decideByLink(await lockbox.linkFor(EMAIL.carol, revoked.requestId, 'customer'), { decision: 'APPROVE' });
  await lockbox.waitForStatus(revoked.requestId, ['ACTIVE']);
  expect((await lockbox.post(`/requests/${revoked.requestId}/revoke`, 'carol', { reason: 'done' })).status).toBe(200);
  await lockbox.waitForStatus(revoked.requestId, ['REVOKED']);
}

describe('the logs of a run', () => {
  let lines: string[];
  let requestIds: string[];

  beforeAll(async () => {
    await runLifecycles();
    lines = lockbox.log().split('\n');
    requestIds = [...new Set([...lockbox.log().matchAll(/requestId=(req-[0-9a-f]{32})/g)].map((match) => match[1]))];
  });

  it('never show a task token or a link token (nor its MAC)', async () => {
    const taskTokens: string[] = (await lockbox.call('GET', '/_local/task-tokens')).body.tokens;
    const links = (await lockbox.outbox()).flatMap((mail) => linkTokens(mail.text));
    expect(taskTokens.length).toBeGreaterThanOrEqual(6);
    expect(links.length).toBeGreaterThanOrEqual(6);
    const secrets = [...taskTokens, ...links, ...links.map((token) => token.slice(token.lastIndexOf('.') + 1))];
    const leaks = lines.filter((line) => secrets.some((secret) => line.includes(secret)));
    expect(leaks).toEqual([]);
  });

  it('carry the Lambda request id, the caller kind and the requestId, one compact line each', () => {
    const answered = lines.filter((line) => / INFO +api-requests +\[[0-9a-f-]{8}\] answered /.test(line));
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.every((line) => /callerKind=api principal=arn:aws:/.test(line))).toBe(true);
    expect(lines.some((line) => /INFO +grant +\[[0-9a-f-]{8}\] step done .*callerKind=workflow.*requestId=req-/.test(line))).toBe(true);
    expect(lines.some((line) => /INFO +api-approvals +\[[0-9a-f-]{8}\] answered .*callerKind=link/.test(line))).toBe(true);
    expect(requestIds.length).toBe(3);
    expect(lines.filter((line) => line.trimStart().startsWith('{"level"'))).toEqual([]); // none left as raw JSON
  });

  it('count decisions, grants and revokes as metrics', () => {
    const metric = (pattern: RegExp) => lines.filter((line) => / METRIC /.test(line) && pattern.test(line)).length;
    expect(metric(/Decisions=1 .*stage=manager decision=APPROVE/)).toBe(3);
    expect(metric(/Decisions=1 .*stage=customer decision=APPROVE/)).toBe(2);
    expect(metric(/Decisions=1 .*stage=customer decision=DENY/)).toBe(1);
    expect(metric(/ Grants=1/)).toBe(2);
    expect(metric(/Revokes=1 .*reason=window-ended/)).toBe(1);
    expect(metric(/Revokes=1 .*reason=early/)).toBe(1);
  });
});
