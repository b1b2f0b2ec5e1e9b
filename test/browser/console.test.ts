import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Page } from 'playwright-core';
import type { AuditEvent } from '../../lambdas/core/domain/audit';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/net';
import { LOCAL_TABLE_NAMES } from '../../local/tables';
import { EMAIL, LocalLockbox, waitFor } from '../e2e/support/harness';
import { type Browser, launchChromium } from './support/chromium';

/**
 * The customer console in a real browser against local mode and its real OpenID Provider
 * (oidc-provider): every persona signs in (code + PKCE, ID token verified), decides from the
 * inbox, revokes, denies with a reason, a forwarded sign-in-required link is refused for the
 * wrong person and accepted for the right one, the audit log verified (chains and signed digests)
 * and its first broken place after an event is changed in DynamoDB Local, sign-out (of the IdP
 * too) and the idle timeout; the audit and history tables and the cards of Waiting for me and
 * Active access split no word or id and the page never scrolls sideways, at 375 px and desktop.
 * Screenshots at 375 px and desktop go to docs/images/ (the README and docs/console.md show them).
 */
jest.setTimeout(120_000);

declare const document: {
  querySelectorAll(selector: string): Iterable<{ id: string; tagName: string; getAttribute(name: string): string | null }>;
  querySelector(selector: string): unknown;
};

/** The little of the DOM `wordsBrokenAcrossLines` uses (the tests have no DOM types). */
interface TextNode {
  data: string;
}
interface Dom {
  querySelectorAll(selector: string): Iterable<unknown>;
  createTreeWalker(root: unknown, whatToShow: number): { nextNode(): TextNode | null };
  createRange(): {
    setStart(node: TextNode, offset: number): void;
    setEnd(node: TextNode, offset: number): void;
    getClientRects(): Iterable<{ top: number; height: number }>;
  };
  scrollingElement: { scrollWidth: number };
}

const IMAGES = join(__dirname, '..', '..', 'docs', 'images');
const IDLE_SECONDS = 6;
let lockbox: LocalLockbox;
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
  lockbox = await LocalLockbox.start({ CONSOLE_IDLE_TIMEOUT: `PT${IDLE_SECONDS}S` });
  mkdirSync(IMAGES, { recursive: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await lockbox?.stop();
}, 60_000);

afterEach(() => {
  // No problem on any page of Lockbox. (oidc-provider's development login page asks the network
  // for a stylesheet, which this closed machine cannot reach: that page is local mode's IdP, not ours.)
  expect((browser?.takeProblems() ?? []).filter((problem) => problem.includes(lockbox.url))).toEqual([]);
});

const heading = async (page: Page) => ((await page.locator('h1').textContent()) ?? '').trim();

/** Signs in as a persona at the local OpenID Provider, from a fresh browser (no IdP session). */
async function signInAs(email: string, viewport?: { width: number; height: number }, path = '/console'): Promise<Page> {
  await browser.context.clearCookies();
  const page = await browser.newPage(viewport);
  await page.goto(`${lockbox.url}${path}`);
  expect(await heading(page)).toBe('Sign in to the Lockbox console');
  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.locator('input[name=login]').fill(email);
  await page.locator('input[name=password]').fill('any password');
  await Promise.all([page.waitForURL((url) => url.href.startsWith(`${lockbox.url}/console`)), page.locator('button[type=submit]').click()]);
  return page;
}

async function atCustomerStage(over: Record<string, unknown> = {}) {
  const created = await lockbox.create('alice', { duration: 'PT30M', ...over });
  await lockbox.waitForStage(created.requestId, 'manager');
  expect(
    (await lockbox.call('POST', `/requests/${created.requestId}/manager-decision`, { as: 'bob', json: { decision: 'APPROVE' } })).status,
  ).toBe(200);
  await lockbox.waitForStage(created.requestId, 'customer');
  return created as { requestId: string; ticketId: string };
}

/** Every form control has a label; every page has one h1 and the language set. */
async function accessible(page: Page) {
  const unlabeled = await page.evaluate(() =>
    [...document.querySelectorAll('textarea, select, input:not([type=hidden])')]
      .filter((control) => !document.querySelector(`label[for="${control.id}"]`))
      .map((control) => control.getAttribute('name')),
  );
  expect(unlabeled).toEqual([]);
  expect(await page.locator('h1').count()).toBe(1);
  expect(await page.locator('html').getAttribute('lang')).toBe('en');
}

it('signs in every persona against the local OpenID Provider, each to what they may see', async () => {
  const expected: [string, string][] = [
    [EMAIL.carol, 'Waiting for you'],
    [EMAIL.erin, 'Waiting for you'],
    ['gina@demo.example', 'Waiting for you'], // approver through the IdP group lockbox-approvers
    ['auditor@demo.example', 'History'], // auditor through lockbox-auditors
    ['mallory@demo.example', 'No tenant for you here'],
  ];
  for (const [email, title] of expected) {
    const page = await signInAs(email);
    expect({ email, title: await heading(page) }).toEqual({ email, title });
    expect(await page.locator('header.top').textContent()).toContain(`Signed in as ${email}`);
    await page.close();
  }
});

it('decides from the inbox, then revokes now; screenshots at 375 px and desktop', async () => {
  const request = await atCustomerStage();
  const desktop = await signInAs(EMAIL.carol, { width: 1280, height: 900 });
  const card = desktop.locator('section.card', { hasText: request.ticketId });
  await expect(card.count()).resolves.toBe(1);
  await accessible(desktop);
  await desktop.screenshot({ path: join(IMAGES, 'console-pending-desktop.png'), fullPage: true });
  const phone = await browser.newPage({ width: 375, height: 800 });
  await phone.goto(desktop.url());
  expect(
    await phone.evaluate(
      () => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth,
    ),
  ).toBeLessThanOrEqual(375);
  await phone.screenshot({ path: join(IMAGES, 'console-pending-375.png'), fullPage: true });
  await phone.close();

  // The keyboard reaches Approve of this request, and Enter decides.
  await card.getByRole('button', { name: 'Approve' }).focus();
  await Promise.all([desktop.waitForLoadState('load'), desktop.keyboard.press('Enter')]);
  await desktop.waitForURL(/decision$/);
  expect(await heading(desktop)).toBe('Approved');
  expect((await lockbox.call('GET', `/requests/${request.requestId}`, { as: 'alice' })).body.customerDecision).toMatchObject({
    byEmail: EMAIL.carol,
    via: 'console',
  });

  await desktop.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Active access' }).click();
  const active = desktop.locator('section.card', { hasText: request.ticketId });
  for (let i = 0; i < 20 && (await active.count()) === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    await desktop.reload();
  }
  await accessible(desktop);
  await desktop.screenshot({ path: join(IMAGES, 'console-active-desktop.png'), fullPage: true });
  await active.getByLabel(/Reason/).fill('Work finished early');
  await active.getByRole('button', { name: 'Revoke now' }).click();
  expect(await heading(desktop)).toBe('Access revoked');
  expect((await lockbox.call('GET', `/requests/${request.requestId}`, { as: 'alice' })).body.status).toBe('REVOKED');
  await desktop.close();
});

it('denies with a reason, which the browser requires', async () => {
  const request = await atCustomerStage();
  const page = await signInAs(EMAIL.erin);
  const card = page.locator('section.card', { hasText: request.ticketId });
  await card.getByRole('button', { name: 'Deny' }).click();
  expect(await heading(page)).toBe('Waiting for you'); // `required`: nothing was posted
  await card.getByLabel(/Reason to deny/).fill('No ticket for this on our side');
  await card.getByRole('button', { name: 'Deny' }).click();
  expect(await heading(page)).toBe('Denied');
  const after = (await lockbox.call('GET', `/requests/${request.requestId}`, { as: 'alice' })).body;
  expect(after).toMatchObject({ status: 'DENIED', customerDecision: { reason: 'No ticket for this on our side', via: 'console' } });
  await page.close();
});

it('with sign-in required, a forwarded link is refused for the wrong person and accepted for the one it was sent to', async () => {
  const tenant = (await lockbox.call('GET', '/tenants/demo', { as: 'carol' })).body;
  const { tenantId: _id, ...settings } = tenant;
  expect((await lockbox.call('PUT', '/tenants/demo', { as: 'carol', json: { ...settings, signInRequired: true } })).status).toBe(200);
  try {
    const request = await atCustomerStage();
    const link = await lockbox.linkFor(EMAIL.erin, request.requestId, 'customer');
    const token = decodeURIComponent(link.split('/approvals/')[1]);

    const wrong = await signInAs('mallory@demo.example', undefined, `/console/links/${encodeURIComponent(token)}`);
    expect(await heading(wrong)).toBe('This link is not yours');
    await wrong.close();
    const other = await signInAs(EMAIL.carol, undefined, `/console/links/${encodeURIComponent(token)}`);
    expect(await heading(other)).toBe('This link is not yours');
    await other.close();

    // The link page itself says to sign in, and links there.
    await browser.context.clearCookies();
    const linkPage = await browser.newPage();
    await linkPage.goto(link);
    expect(await heading(linkPage)).toBe('Sign in to decide');
    expect(await linkPage.locator('form').count()).toBe(0);
    await linkPage.close();

    const right = await signInAs(EMAIL.erin, undefined, `/console/links/${encodeURIComponent(token)}`);
    expect(await heading(right)).toBe('Review access request');
    await right.getByRole('button', { name: 'Approve' }).click();
    expect(await heading(right)).toBe('Approved');
    expect((await lockbox.call('GET', `/requests/${request.requestId}`, { as: 'alice' })).body.customerDecision).toMatchObject({
      byEmail: EMAIL.erin,
      via: 'console',
    });
    await right.close();
  } finally {
    const now = (await lockbox.call('GET', '/tenants/demo', { as: 'carol' })).body;
    const { tenantId: _tid, ...restore } = now;
    await lockbox.call('PUT', '/tenants/demo', { as: 'carol', json: { ...restore, signInRequired: false } });
  }
});

/** The verification box of the audit page: its heading and its first list, term → value. */
async function verification(page: Page) {
  const box = page.locator('section[aria-labelledby=verify-h]');
  const first = box.locator('dl').first();
  const terms = await first.locator('dt').allTextContents();
  const values = await first.locator('dd').allTextContents();
  return {
    title: ((await box.locator('h2').textContent()) ?? '').trim(),
    fields: Object.fromEntries(terms.map((term, index) => [term, values[index]])),
  };
}

const verifyReport = async () => (await lockbox.call('GET', '/tenants/demo/audit/verify', { as: 'carol' })).body;

it('shows the audit log verified as audit/verify does: every hash chain and the signed digests; screenshot', async () => {
  await atCustomerStage();
  // The local sealer signs a digest every few seconds.
  const before = await waitFor('a signed digest', verifyReport, (report) => report.ok && report.verified.digests >= 1, 30_000, 250);
  const page = await signInAs('auditor@demo.example', { width: 1280, height: 900 }, '/console/t/demo/audit');
  expect(await heading(page)).toBe('Audit log');
  const shown = await verification(page);
  expect(shown.title).toBe('Verified: nothing was changed, removed or inserted');
  expect(shown.fields.Events).toMatch(/^\d+ in \d+ hash chains, each recomputed from its first event$/);
  const digests = Number(/^(\d+) verified with the published key$/.exec(shown.fields['Signed digests'] ?? '')?.[1]);
  expect(digests).toBeGreaterThanOrEqual(before.verified.digests);
  expect(shown.fields['Sealed up to']).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}.* \(\d+ events?\)/);
  await accessible(page);
  await page.screenshot({ path: join(IMAGES, 'console-audit-desktop.png'), fullPage: false });
  await page.close();
});

/**
 * Every `word` (by default a timestamp, or a run of letters and digits) in the cells matching `selector` that the
 * browser split over two lines, and how many it checked. A Range over a word has one client rect
 * per line it lies on.
 */
const wordsBrokenAcrossLines = (page: Page, selector: string, word = '\\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z|[\\p{L}\\p{N}_]+') =>
  page.evaluate(
    ([cells, pattern]) => {
      const dom = (globalThis as unknown as { document: Dom }).document;
      const SHOW_TEXT = 4;
      const broken: string[] = [];
      let checked = 0;
      for (const cell of dom.querySelectorAll(cells)) {
        const walker = dom.createTreeWalker(cell, SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          for (const match of node.data.matchAll(new RegExp(pattern, 'gu'))) {
            const range = dom.createRange();
            range.setStart(node, match.index);
            range.setEnd(node, match.index + match[0].length);
            const rects = [...range.getClientRects()];
            checked++;
            if (rects.some((rect) => Math.abs(rect.top - rects[0].top) > rect.height / 2)) broken.push(match[0]);
          }
        }
      }
      return { broken, checked };
    },
    [selector, word],
  );

const pageOverflow = (page: Page) =>
  page.evaluate(() => {
    const scope = globalThis as unknown as { document: Dom; innerWidth: number };
    return { scrollWidth: scope.document.scrollingElement.scrollWidth, innerWidth: scope.innerWidth };
  });

/**
 * At `width`: no word or timestamp in `words` lies on two lines, no id, ticket, date or ARN part
 * in `ids` is split at a hyphen, the page never scrolls sideways, and no table scrolls inside its
 * box either (on a phone each row is a card). Returns how many words it checked.
 */
async function expectReadable(page: Page, width: number, words: string, ids: string): Promise<number> {
  await page.setViewportSize({ width, height: 800 });
  const cells = await wordsBrokenAcrossLines(page, words);
  expect({ width, broken: cells.broken }).toEqual({ width, broken: [] });
  const hyphenated = await wordsBrokenAcrossLines(page, ids, '[\\p{L}\\p{N}_-]+');
  expect({ width, broken: hyphenated.broken }).toEqual({ width, broken: [] });
  const { scrollWidth, innerWidth } = await pageOverflow(page);
  expect(innerWidth).toBe(width);
  expect({ width, sideways: scrollWidth > innerWidth }).toEqual({ width, sideways: false });
  const boxes = await page.locator('div.scroll').evaluateAll((elements) =>
    elements.map((element) => {
      const { scrollWidth: inner, clientWidth: shown } = element as unknown as { scrollWidth: number; clientWidth: number };
      return inner <= shown;
    }),
  );
  expect({ width, fits: boxes }).toEqual({ width, fits: boxes.map(() => true) });
  return cells.checked;
}

/** At 375 px, a screenshot from the top of the page down to the bottom of `last` (and a little more). */
async function screenshotDownTo(page: Page, last: string, name: string) {
  await page.setViewportSize({ width: 375, height: 800 });
  const box = await page.locator(last).boundingBox();
  expect(box).not.toBeNull();
  const height = Math.ceil((box?.y ?? 0) + (box?.height ?? 0) + 16);
  await page.screenshot({ path: join(IMAGES, name), fullPage: true, clip: { x: 0, y: 0, width: 375, height } });
}

it('audit log at 375 px and desktop: no word broken inside a table cell, no sideways page scroll; screenshot at 375 px', async () => {
  const since = new Date().toISOString();
  const request = await atCustomerStage();
  // The listing shows events once they have settled: wait until this request's are listed.
  await waitFor(
    'the request listed in the audit log',
    async () => (await lockbox.call('GET', `/tenants/demo/audit?limit=100&from=${since}`, { as: 'carol' })).body.items as AuditEvent[],
    (items) => items.some((event) => event.requestId === request.requestId && event.type === 'ManagerApproved'),
    30_000,
    250,
  );
  const page = await signInAs('auditor@demo.example', { width: 375, height: 800 }, '/console/t/demo/audit');
  expect(await heading(page)).toBe('Audit log');
  for (const width of [375, 1280]) {
    await page.setViewportSize({ width, height: 800 });
    const types = await page.locator('table tbody td:nth-child(2)').allTextContents();
    expect({ width, created: types.includes('RequestCreated') }).toEqual({ width, created: true });
    // The event types, each one word; then no word or timestamp of any cell; then no id, date or
    // actor split at a hyphen either ("req-…", "2026-12-01", "lockbox-workflow").
    const events = await wordsBrokenAcrossLines(page, 'table tbody td:nth-child(2)');
    expect({ width, broken: events.broken, checked: events.checked }).toEqual({ width, broken: [], checked: types.length });
    const checked = await expectReadable(page, width, 'table td, table th', 'table tbody td:not(:last-child)');
    expect(checked).toBeGreaterThan(types.length);
  }
  // The verification, the range form and the first two events.
  await screenshotDownTo(page, 'table tbody tr >> nth=1', 'console-audit-375.png');
  await page.close();
});

it('Waiting for me, Active access and History at 375 px (and History at desktop) split no id or word, never scroll sideways; screenshots', async () => {
  const request = await atCustomerStage();
  const page = await signInAs(EMAIL.carol, { width: 375, height: 800 }, '/console/t/demo/pending');
  expect(await heading(page)).toBe('Waiting for you');
  await expect(page.locator('section.card', { hasText: request.ticketId }).count()).resolves.toBe(1);
  // Tickets, request ids, ARNs ("assumed-role") and dates whole in every card's heading and details.
  await expectReadable(page, 375, 'section.card h2, section.card dd', 'section.card h2, section.card dd');

  const approved = await lockbox.call('POST', `/requests/${request.requestId}/customer-decision`, {
    as: 'carol',
    json: { decision: 'APPROVE' },
  });
  expect(approved.status).toBe(200);
  await lockbox.waitForStatus(request.requestId, ['ACTIVE'], 30_000);
  await page.goto(`${lockbox.url}/console/t/demo/active`);
  expect(await heading(page)).toBe('Active access');
  await expect(page.locator('section.card', { hasText: request.ticketId }).count()).resolves.toBe(1);
  await expectReadable(page, 375, 'section.card h2, section.card dd', 'section.card h2, section.card dd');

  const history = `${lockbox.url}/console/t/demo/history`;
  const row = page.locator('table tbody tr', { hasText: request.requestId });
  await waitFor(
    'the request listed as active in the history',
    async () => {
      await page.goto(history);
      return (await row.allTextContents()).join('');
    },
    (text) => /active/.test(text),
    30_000,
    250,
  );
  expect(await heading(page)).toBe('History');
  await accessible(page);
  for (const width of [375, 1280]) {
    // Every cell's words and dates whole; ids, tickets, dates and ARNs not split at a hyphen
    // either (the customer decision's reason is free text: it may).
    const checked = await expectReadable(page, width, 'table td, table th', 'table tbody td:not(:nth-child(6))');
    expect(checked).toBeGreaterThan(0);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: join(IMAGES, 'console-history-desktop.png'), fullPage: false });
  // The filter and the first two requests.
  await screenshotDownTo(page, 'table tbody tr >> nth=1', 'console-history-375.png');
  await page.close();
});

it('reports the first broken place when a stored event was changed in DynamoDB Local, and verifies again once it is back', async () => {
  const request = await atCustomerStage();
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: lockbox.dynamoEndpoint(), region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
  );
  const key = { chainId: request.requestId, seq: 1 };
  const original = (await db.send(new GetCommand({ TableName: LOCAL_TABLE_NAMES.Audit, Key: key, ConsistentRead: true })))
    .Item as AuditEvent;
  expect(original).toMatchObject({ tenantId: 'demo', seq: 1 });
  try {
    // Behind the API's back: the first event of this request's chain says something else now.
    await db.send(
      new PutCommand({
        TableName: LOCAL_TABLE_NAMES.Audit,
        Item: { ...original, details: { ...(original.details ?? {}), justification: 'edited behind its back' } },
      }),
    );
    const page = await signInAs('auditor@demo.example', undefined, '/console/t/demo/audit');
    const shown = await verification(page);
    expect(shown.title).toBe('Verification FAILED: the audit log was changed');
    expect(shown.fields).toMatchObject({ What: 'an event does not match its hash (it was edited)', Chain: request.requestId, Event: '1' });
    expect(await page.getByRole('alert').count()).toBe(1);
    // The same first broken place as the API's own verification.
    expect((await verifyReport()).firstBroken).toMatchObject({ kind: 'event-hash', chainId: request.requestId, seq: 1 });
    await page.close();
  } finally {
    await db.send(new PutCommand({ TableName: LOCAL_TABLE_NAMES.Audit, Item: original }));
    db.destroy();
  }
  expect((await verifyReport()).ok).toBe(true);
});

it('signs out of the console and of the IdP: the next sign-in asks at the IdP again', async () => {
  const page = await signInAs(EMAIL.carol);
  await page.getByRole('button', { name: 'Sign out' }).click();
  // RP-initiated logout: the IdP asks, ends its session, and sends the browser back to the console.
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await page.waitForURL(`${lockbox.url}/console/signed-out`);
  expect(await heading(page)).toBe('Signed out');
  await page.goto(`${lockbox.url}/console/t/demo/pending`);
  expect(await heading(page)).toBe('Sign in to the Lockbox console');
  // Not silently signed back in: the IdP asks who you are.
  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.locator('input[name=login]').waitFor();
  expect(new URL(page.url()).origin).not.toBe(lockbox.url);
  await page.locator('input[name=login]').fill(EMAIL.carol);
  await page.locator('input[name=password]').fill('any password');
  await Promise.all([page.waitForURL(/\/console\/t\/demo\/pending$/), page.locator('button[type=submit]').click()]);
  expect(await heading(page)).toBe('Waiting for you');
  await page.close();
});

it('times out after the idle timeout', async () => {
  const idle = await signInAs(EMAIL.carol);
  expect(await heading(idle)).toBe('Waiting for you');
  await new Promise((resolve) => setTimeout(resolve, (IDLE_SECONDS + 1) * 1000));
  await idle.reload();
  expect(await heading(idle)).toBe('Sign in to the Lockbox console');
  expect(await idle.getByText('without activity').count()).toBe(1);
  await idle.close();
});
