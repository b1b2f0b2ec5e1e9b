import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sparticuz from '@sparticuz/chromium';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/**
 * A real browser for the browser tests, driven by `playwright-core` (which cannot download its own
 * browsers here). By default the Chromium build that ships inside the `@sparticuz/chromium` npm
 * package, unpacked to the temp dir on first use: `npm ci` is all a fresh machine needs, no apt,
 * no download. `LOCKBOX_CHROMIUM=/usr/bin/chromium` (or any path) runs another Chromium instead.
 * Headless, with a fresh profile each run and the flags that keep Chromium off the network: this
 * machine's closed network refuses its background connections, many at a time. Nothing is
 * skipped: without a Chromium the tests fail, saying why.
 */
export const CHROMIUM_ENV = 'LOCKBOX_CHROMIUM';

/** The Chromium to run: `$LOCKBOX_CHROMIUM` when set, else the npm package's build. */
async function chromiumPath(): Promise<string> {
  const override = process.env[CHROMIUM_ENV];
  if (override) {
    if (!existsSync(override))
      throw new Error(
        `Chromium is missing: ${CHROMIUM_ENV}=${override}, and there is no such file. Unset it to use the npm package's Chromium.`,
      );
    return override;
  }
  try {
    return await sparticuz.executablePath();
  } catch (error) {
    throw new Error(
      `The Chromium of @sparticuz/chromium could not be unpacked (run \`npm ci\`, or set ${CHROMIUM_ENV} to a Chromium): ${String(error)}`,
    );
  }
}

const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface Browser {
  context: BrowserContext;
  /** Console errors, page errors and dialogs seen on any page since the last `takeProblems()`. */
  takeProblems(): string[];
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = await chromiumPath();
  const profile = await mkdtemp(join(tmpdir(), 'lockbox-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 900 },
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw new Error(`Chromium at ${executablePath} did not start: ${error instanceof Error ? error.message : String(error)}`);
  }

  let problems: string[] = [];
  const watch = (page: Page) => {
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      // Chromium logs a page's own 4xx status as "Failed to load resource" at the page's URL. The
      // refusal pages are 403/409 on purpose and the tests assert those statuses themselves; any
      // other resource failing (none should even be requested) is a problem.
      const ownStatus =
        /^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text()) &&
        message.location().url === page.url();
      if (!ownStatus) problems.push(`console error on ${page.url()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error on ${page.url()}: ${error.message}`));
    page.on('dialog', (dialog) => {
      problems.push(`dialog on ${page.url()}: ${dialog.message()}`);
      void dialog.dismiss();
    });
  };
  context.pages().forEach(watch);
  context.on('page', watch);

  return {
    context,
    takeProblems() {
      const seen = problems;
      problems = [];
      return seen;
    },
    async newPage(viewport) {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      return page;
    },
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
