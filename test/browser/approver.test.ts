import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { formValue } from '../../lambdas/core/http/pages';
import { EMAIL, LocalLockbox, type Mail, waitFor } from '../e2e/support/harness';
import { type Browser, CHROMIUM_ENV, launchChromium } from './support/chromium';

/**
 * The approver's experience in a real browser (Chromium from the `@sparticuz/chromium` npm package, headless) against local mode:
 * the email's button, the confirmation page, approving, denying, the refusal after, the
 * keyboard, a phone-sized screen — and link scanners, which must never decide anything.
 * Screenshots go to test-artifacts/ (git-ignored).
 */
jest.setTimeout(60_000);

/*
 * The few browser globals that the functions run inside the page use. The project compiles without
 * the DOM library (its code runs on Node), so they are declared here, for this file only.
 */
interface PageElement {
  tagName: string;
  id: string;
  className: string;
  textContent: string | null;
  parentElement: PageElement | null;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { left: number; right: number; height: number };
}
declare const document: {
  activeElement: PageElement | null;
  body: PageElement;
  documentElement: PageElement & { scrollWidth: number; lang: string };
  scripts: { length: number };
  images: { length: number };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
};
declare const window: { pwned?: number };
declare function getComputedStyle(element: PageElement): { color: string; backgroundColor: string; fontSize: string; outlineStyle: string };

const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');
const PAGE_TITLE = 'Review access request';

let lockbox: LocalLockbox;
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium(); // first: without Chromium, fail at once and say why
  lockbox = await LocalLockbox.start();
  mkdirSync(ARTIFACTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  try {
    await lockbox?.checkInvariants();
  } finally {
    await lockbox?.stop();
  }
}, 60_000);

afterEach(() => {
  // No console error, page error or dialog on any page a test opened.
  expect(browser?.takeProblems() ?? []).toEqual([]);
});

// ---- helpers ---------------------------------------------------------------------------------

/** A request of alice's, approved by the manager: the customer stage is open and its links are sent. */
async function atCustomerStage(over: Record<string, unknown> = {}): Promise<{ requestId: string; ticketId: string; link: string }> {
  const created = await lockbox.create('alice', { duration: 'PT30M', ...over });
  await lockbox.waitForStage(created.requestId, 'manager');
  const managerApproval = await lockbox.post(`/requests/${created.requestId}/manager-decision`, 'bob', { decision: 'APPROVE' });
  expect(managerApproval.status).toBe(200);
  const link = await lockbox.linkFor(EMAIL.carol, created.requestId, 'customer');
  return { requestId: created.requestId, ticketId: created.ticketId, link };
}

const headingOf = async (page: Page): Promise<string> => ((await page.locator('h1').textContent()) ?? '').trim();

/** The page's definition list as {term: description}. */
const detailsOf = (page: Page): Promise<Record<string, string>> =>
  page.$$eval('dl > dt', (terms) =>
    Object.fromEntries(terms.map((term) => [term.textContent ?? '', term.nextElementSibling?.textContent ?? ''])),
  );

/** Runs `act`, which must submit a form, and waits for the page it leads to. */
async function submit(page: Page, act: () => Promise<void>): Promise<{ status: number; heading: string }> {
  const [response] = await Promise.all([
    page.waitForResponse((candidate) => candidate.request().method() === 'POST' && candidate.request().isNavigationRequest()),
    page.waitForEvent('framenavigated', (frame) => frame === page.mainFrame()),
    act(),
  ]);
  await page.waitForLoadState('load');
  return { status: response.status(), heading: await headingOf(page) };
}

/** What has keyboard focus: a button's text, or a field's id. */
const focused = (page: Page): Promise<string> =>
  page.evaluate(() => {
    const element = document.activeElement;
    if (!element || element === document.body) return '(page)';
    return element.tagName === 'BUTTON' ? (element.textContent ?? '').trim() : `#${element.id || element.tagName.toLowerCase()}`;
  });

/** Presses Tab until `target` has focus; fails after 15 presses. */
async function tabTo(page: Page, target: string): Promise<void> {
  const seen: string[] = [];
  for (let presses = 0; presses < 15; presses++) {
    await page.keyboard.press('Tab');
    const now = await focused(page);
    if (now === target) return;
    seen.push(now);
  }
  throw new Error(`Tab never reached ${target}; focus went through: ${seen.join(' → ')}`);
}

async function mailTo(email: string, requestId: string, matches: (mail: Mail) => boolean): Promise<Mail> {
  const mails = await waitFor(
    `mail to ${email} about ${requestId}`,
    () => lockbox.mailsTo(email, requestId),
    (found) => found.some(matches),
    15_000,
  );
  return mails.find(matches)!;
}

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

function expectStrictCsp(csp: string | null | undefined): void {
  expect(csp).toMatch(/default-src 'none'/);
  expect(csp).toMatch(/frame-ancestors 'none'/);
  expect(csp).toMatch(/form-action 'self'/);
  expect(csp).not.toMatch(/script-src|unsafe-inline|unsafe-eval/);
}

// ---- the tests -------------------------------------------------------------------------------

describe('Chromium', () => {
  it('is required: a missing override fails with a message that says how to use the npm package instead', async () => {
    const saved = process.env[CHROMIUM_ENV];
    process.env[CHROMIUM_ENV] = '/nonexistent/chromium';
    try {
      await expect(launchChromium()).rejects.toThrow(/Chromium is missing: LOCKBOX_CHROMIUM=\/nonexistent\/chromium[\s\S]*Unset it/);
    } finally {
      if (saved === undefined) delete process.env[CHROMIUM_ENV];
      else process.env[CHROMIUM_ENV] = saved;
    }
  });
});

describe('approving from the email', () => {
  it('opens the page from the email button, shows every detail as text, and approving makes the request ACTIVE', async () => {
    const justification = 'Backups fail <script>window.pwned = 1</script> & "quotes" <img src=x onerror=alert(1)>';
    const { requestId, ticketId, link } = await atCustomerStage({ justification });
    const before = await lockbox.request(requestId);

    // The email from the outbox, rendered as a mail client would, and its one button.
    const mail = await mailTo(EMAIL.carol, requestId, (candidate) => candidate.text.includes(link));
    const page = await browser.newPage();
    await page.setContent(mail.html);
    const button = page.getByRole('link', { name: 'Review the request' });
    expect(await button.getAttribute('href')).toBe(link);
    const [response] = await Promise.all([page.waitForResponse((candidate) => candidate.url() === link), button.click()]);
    await page.waitForLoadState('load');

    expect(response.status()).toBe(200);
    expect(response.headers()).toMatchObject(SECURITY_HEADERS);
    expectStrictCsp(response.headers()['content-security-policy']);
    expect(await headingOf(page)).toBe(PAGE_TITLE);
    const details = await detailsOf(page);
    expect(details).toMatchObject({
      Tenant: 'demo',
      Ticket: ticketId,
      Justification: justification, // shown as text, character for character
      'Access level': 'ReadOnly',
      Duration: '30 min (PT30M)',
      'Approved by manager': expect.stringContaining(EMAIL.bob),
      'Request id': requestId,
    });
    expect(details['Requested by']).toContain('alice (role SupportEngineer, AWS account 111111111111)');
    expect(await page.locator('.deadline').textContent()).toMatch(/Decide by \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(expires in \d+ min\)/);
    expect(await page.evaluate(() => ({ scripts: document.scripts.length, images: document.images.length, pwned: window.pwned }))).toEqual({
      scripts: 0,
      images: 0,
      pwned: undefined,
    });
    // Reading the page changed nothing.
    expect(await lockbox.request(requestId)).toMatchObject({ status: 'PENDING_CUSTOMER_APPROVAL', version: before.version });

    const result = await submit(page, () => page.getByRole('button', { name: 'Approve' }).click());
    expect(result).toEqual({ status: 200, heading: 'Approved' });
    expect(await page.locator('main').textContent()).toContain('Access is granted now');

    const active = await lockbox.waitForStatus(requestId, ['ACTIVE']);
    expect(active.customerDecision).toMatchObject({ decision: 'APPROVE', via: 'link', byEmail: EMAIL.carol });
    const granted = await mailTo(EMAIL.alice, requestId, (candidate) => candidate.subject.includes('Access granted'));
    expect(granted.subject).toBe(
      `[${ticketId}] Access granted: ReadOnly on demo until ${active.accessExpiresAt.slice(0, 19).replace('T', ' ')} UTC`,
    );

    // The other approver is told, and her own link now says who decided, changing nothing.
    const told = await mailTo(EMAIL.erin, requestId, (candidate) => candidate.subject.includes('already approved'));
    expect(told.subject).toBe(`[${ticketId}] Access request already approved by ${EMAIL.carol}: no action needed`);
    const erinsLink = await lockbox.linkFor(EMAIL.erin, requestId, 'customer');
    expect((await page.goto(erinsLink))?.status()).toBe(409);
    expect(await headingOf(page)).toBe('Already decided');
    expect(await page.locator('main').textContent()).toContain(`${EMAIL.carol} already approved this request`);
    expect(await page.getByRole('button').count()).toBe(0);
    await page.close();
  });
});

describe('denying', () => {
  it('needs a reason, ends DENIED, tells the engineer the reason, and the used link then shows the refusal', async () => {
    const { requestId, ticketId, link } = await atCustomerStage();
    const before = await lockbox.request(requestId);
    const page = await browser.newPage();
    expect((await page.goto(link))?.status()).toBe(200);

    // Deny without a reason: the browser refuses to send the form.
    await page.getByRole('button', { name: 'Deny' }).click();
    expect(
      await page
        .locator('#reason')
        .evaluate((field) => (field as unknown as { validity: { valueMissing: boolean } }).validity.valueMissing),
    ).toBe(true);
    expect(await headingOf(page)).toBe(PAGE_TITLE);
    expect(await lockbox.request(requestId)).toMatchObject({ status: 'PENDING_CUSTOMER_APPROVAL', version: before.version });

    const reason = 'Not during the change freeze <b>until Monday</b>; ask again then.';
    await page.getByLabel('Reason to deny').fill(reason);
    const result = await submit(page, () => page.getByRole('button', { name: 'Deny' }).click());
    expect(result).toEqual({ status: 200, heading: 'Refused' });
    expect(await page.locator('blockquote').textContent()).toBe(reason);

    const denied = await lockbox.waitForStatus(requestId, ['DENIED']);
    expect(denied.customerDecision).toMatchObject({ decision: 'DENY', reason, via: 'link', byEmail: EMAIL.carol });
    const toEngineer = await mailTo(EMAIL.alice, requestId, (mail) => mail.subject.includes('denied'));
    expect(toEngineer.subject).toBe(`[${ticketId}] Access request denied by the customer`);
    expect(toEngineer.text).toContain(`Reason:        ${reason}`);
    expect(toEngineer.html).toContain('Not during the change freeze &#60;b&#62;until Monday&#60;/b&#62;');
    expect(toEngineer.html).not.toContain('<b>until Monday</b>');
    // The workflow's closing step records that the engineer was told (a new version); then nothing moves.
    await lockbox.waitForExecution(requestId);
    const closed = await lockbox.request(requestId);

    // The link again, as a reload or a second click in the email would open it.
    const again = await page.goto(link);
    expect(again?.status()).toBe(403);
    expect(again?.headers()).toMatchObject(SECURITY_HEADERS);
    expect(await headingOf(page)).toBe('This link cannot be used');
    expect(await page.locator('h2').textContent()).toBe('What you can do');
    expect(await page.getByRole('button').count()).toBe(0);
    expect((await lockbox.request(requestId)).version).toBe(closed.version);
    await page.close();
  });
});

describe('the keyboard', () => {
  it('reaches Approve, the reason and the refusal button in order with Tab, and Enter submits', async () => {
    const created = await lockbox.create('alice', { duration: 'PT30M' });
    const managerLink = await lockbox.linkFor(EMAIL.bob, created.requestId, 'manager');
    const page = await browser.newPage();
    await page.goto(managerLink);

    await tabTo(page, 'Approve');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).not.toBe('none'); // focus is visible
    const order = ['Approve'];
    for (let i = 0; i < 2; i++) {
      await page.keyboard.press('Tab');
      order.push(await focused(page));
    }
    expect(order).toEqual(['Approve', '#reason', 'Reject']);

    // The manager approves: Shift+Tab back to Approve, then Enter.
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    expect(await focused(page)).toBe('Approve');
    expect(await submit(page, () => page.keyboard.press('Enter'))).toEqual({ status: 200, heading: 'Approved' });
    await lockbox.waitForStage(created.requestId, 'customer');

    // A customer approver denies: Tab to the reason, type it, Tab to Deny, Enter.
    const customerLink = await lockbox.linkFor(EMAIL.erin, created.requestId, 'customer');
    await page.goto(customerLink);
    await tabTo(page, '#reason');
    await page.keyboard.type('Typed with the keyboard only');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('Deny');
    expect(await submit(page, () => page.keyboard.press('Enter'))).toEqual({ status: 200, heading: 'Refused' });
    const denied = await lockbox.waitForStatus(created.requestId, ['DENIED']);
    expect(denied.customerDecision).toMatchObject({ decision: 'DENY', reason: 'Typed with the keyboard only', byEmail: EMAIL.erin });
    await page.close();
  });
});

describe('on a phone', () => {
  it('fits a 375 px screen with large buttons, labels and 4.5:1 contrast; screenshots are saved', async () => {
    const { requestId, link } = await atCustomerStage({
      ticketId: 'SUP-4821',
      justification:
        'Nightly backups fail since 1 Nov with AccessDenied on the backup vault; we need to read the backup plan and its IAM role.',
      duration: 'PT2H',
    });
    const before = await lockbox.request(requestId);

    const phone = await browser.newPage({ width: 375, height: 812 });
    const mail = await mailTo(EMAIL.carol, requestId, (candidate) => candidate.text.includes(link));
    await phone.setContent(mail.html);
    await phone.screenshot({ path: join(ARTIFACTS, 'approval-email-375.png'), fullPage: true });
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);

    await phone.goto(link);
    await phone.screenshot({ path: join(ARTIFACTS, 'approval-page-375.png'), fullPage: true });
    const layout = await phone.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      lang: document.documentElement.lang,
      viewport: document.querySelector('meta[name=viewport]')?.getAttribute('content'),
      fontSize: parseFloat(getComputedStyle(document.body).fontSize),
      controls: [...document.querySelectorAll('button, textarea')].map((element) => {
        const box = element.getBoundingClientRect();
        return { name: element.textContent?.trim() || element.id, left: box.left, right: box.right, height: box.height };
      }),
    }));
    expect(layout).toMatchObject({ lang: 'en', viewport: 'width=device-width, initial-scale=1' });
    expect(layout.scrollWidth).toBeLessThanOrEqual(375); // no sideways scrolling
    expect(layout.fontSize).toBeGreaterThanOrEqual(16);
    expect(layout.controls.map((control) => control.name)).toEqual(['Approve', 'reason', 'Deny']);
    for (const control of layout.controls) {
      expect({ ...control, fits: control.left >= 0 && control.right <= 375, tall: control.height >= 44 }).toMatchObject({
        fits: true,
        tall: true,
      });
    }

    // Every control has an accessible name: the field by its label, the buttons by their text.
    expect(await phone.getByLabel('Reason to deny').evaluate((field) => field.tagName)).toBe('TEXTAREA');
    expect(await phone.getByRole('button', { name: 'Approve' }).count()).toBe(1);
    expect(await phone.getByRole('button', { name: 'Deny' }).count()).toBe(1);

    // WCAG AA: text at least 4.5:1 against the background it is drawn on.
    const lowContrast = await phone.evaluate(() => {
      const rgb = (color: string) => (color.match(/[\d.]+/g) ?? []).map(Number);
      const luminance = ([r, g, b]: number[]) =>
        [r, g, b]
          .map((v) => v / 255)
          .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
          .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
      const background = (element: PageElement | null): number[] => {
        for (let at = element; at; at = at.parentElement) {
          const color = rgb(getComputedStyle(at).backgroundColor);
          if (color.length === 3 || color[3] > 0) return color;
        }
        return [255, 255, 255];
      };
      return [...document.querySelectorAll('h1, h2, p, li, dt, dd, span, label, button, strong, time, textarea')]
        .filter((element) => (element.textContent ?? '').trim() !== '' || element.tagName === 'TEXTAREA')
        .map((element) => {
          const [front, back] = [luminance(rgb(getComputedStyle(element).color)), luminance(background(element))];
          const ratio = (Math.max(front, back) + 0.05) / (Math.min(front, back) + 0.05);
          return {
            element: `${element.tagName.toLowerCase()}.${element.className}`,
            text: (element.textContent ?? '').slice(0, 30),
            ratio: Math.round(ratio * 10) / 10,
          };
        })
        .filter((entry) => entry.ratio < 4.5);
    });
    expect(lowContrast).toEqual([]);

    const desktop = await browser.newPage({ width: 1280, height: 900 });
    await desktop.goto(link);
    await desktop.screenshot({ path: join(ARTIFACTS, 'approval-page-desktop.png'), fullPage: true });
    const mailClient = await browser.newPage({ width: 720, height: 900 }); // a blank page: no CSP of ours
    await mailClient.setContent(mail.html);
    await mailClient.screenshot({ path: join(ARTIFACTS, 'approval-email.png'), fullPage: true });

    // Looking changed nothing: the link still works.
    expect(await lockbox.request(requestId)).toMatchObject({ status: 'PENDING_CUSTOMER_APPROVAL', version: before.version });
    await Promise.all([phone.close(), desktop.close(), mailClient.close()]);
  });
});

describe('link scanners', () => {
  const USER_AGENTS = [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
    'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17531; Pro)',
    'Mozilla/5.0 (compatible; Barracuda Sentinel (EE))',
    'Proofpoint URL Defense',
    'Mimecast URL Protect',
    'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'curl/8.5.0',
    'python-requests/2.32.3',
  ];

  it('20 GET and HEAD requests with browser and scanner user agents change nothing; the link then works exactly once', async () => {
    const { requestId, link } = await atCustomerStage();
    const before = await lockbox.request(requestId);
    const eventsBefore = await lockbox.eventsOf(requestId);

    const probes = await Promise.all(
      USER_AGENTS.flatMap((userAgent) =>
        (['GET', 'HEAD'] as const).map(async (method) => {
          const response = await fetch(link, { method, headers: { 'user-agent': userAgent }, redirect: 'manual' });
          const body = await response.text();
          return {
            method,
            userAgent,
            status: response.status,
            headers: Object.fromEntries(response.headers),
            page: method === 'GET' ? body.includes(PAGE_TITLE) : body === '',
          };
        }),
      ),
    );
    expect(probes).toHaveLength(20);
    for (const probe of probes) {
      expect(probe).toMatchObject({ status: 200, page: true, headers: expect.objectContaining(SECURITY_HEADERS) });
      expectStrictCsp(probe.headers['content-security-policy']);
    }
    // A scanner that renders pages in a browser, with its own user agent: it sees the page and clicks nothing.
    const scanner = await browser.newPage();
    await scanner.setExtraHTTPHeaders({ 'user-agent': 'Mozilla/5.0 (compatible; SafeLinks scanner)' });
    expect((await scanner.goto(link))?.status()).toBe(200);
    await scanner.close();

    expect(await lockbox.request(requestId)).toMatchObject({ status: 'PENDING_CUSTOMER_APPROVAL', version: before.version });
    expect(await lockbox.eventsOf(requestId)).toEqual(eventsBefore);

    // A POST without the page's anti-forgery value, or with a wrong one, is refused before anything else.
    for (const form of [{ decision: 'APPROVE' }, { decision: 'APPROVE', form: formValue('another-token') }] as Record<string, string>[]) {
      const forged = await lockbox.call('POST', new URL(link).pathname, { form });
      expect({ status: forged.status, refused: forged.text.includes('Use the buttons on the page') }).toEqual({
        status: 400,
        refused: true,
      });
    }
    expect(await lockbox.request(requestId)).toMatchObject({ status: 'PENDING_CUSTOMER_APPROVAL', version: before.version });

    // The approver, after all that: the link works once.
    const page = await browser.newPage();
    await page.goto(link);
    expect(await submit(page, () => page.getByRole('button', { name: 'Approve' }).click())).toEqual({ status: 200, heading: 'Approved' });
    await lockbox.waitForStatus(requestId, ['APPROVED', 'ACTIVE']);
    const token = new URL(link).pathname.split('/').pop()!;
    const twice = await lockbox.postLink(link, { form: formValue(token) }, { decision: 'APPROVE' });
    expect(twice.status).toBe(403);
    expect(twice.text).toContain('This link cannot be used');
    await page.close();
  });
});
