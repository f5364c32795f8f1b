// The browser tests' harness: Debian's Chromium, headless, driven by playwright-core.
// scripts/dev-setup installs both; the Rust side (tests/src/browser.rs) runs a script as
// `node <script>` with its settings in the environment and reads the JSON lines it prints.
//
//   import { withBrowser, need, expectText, screenshot, emit } from './harness.mjs';
//   await withBrowser('smoke', async ({ page }) => {
//     await page.goto(need('URL'));
//     await expectText(page, '#status', 'ready');
//     emit({ screenshot: await screenshot(page, 'ready') });
//   });
//
// stdout is for emit()'s JSON lines only; everything else goes to stderr.

import { access, mkdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FIX = "run scripts/dev-setup (it installs Debian's chromium and playwright-core)";

/** The Chromium it starts: $CHROMIUM, else Debian's. */
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** Chromium's flags, on top of Playwright's own (which already include most of them; they are
 * spelled out so an upgrade cannot drop them). --headless and --no-sandbox (the tests may run
 * as root, where Chromium refuses to start with its sandbox) are needed; the rest keep it
 * from reaching out to Google's services or doing first-run work, since the tests run
 * offline. --disable-dev-shm-usage because a container's /dev/shm may be tiny (Docker's is
 * 64 MB) and Chromium crashes when it fills. */
export const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** How long a Playwright action or wait may take before it fails (its own default is 30 s). */
export const TIMEOUT_MS = 10_000;

/**
 * Starts Chromium with a fresh temporary profile (Playwright makes a new user-data-dir for
 * each launch and removes it on close) and opens one page.
 *
 * Returns { browser, context, page, errors, launchMs, close }: `errors` collects every
 * uncaught page error, console error (a Content-Security-Policy violation is one) and failed
 * request of any page in the context, as strings; `launchMs` is how long Chromium took to
 * start; `close()` shuts it all down.
 */
export async function launch({ viewport = { width: 1280, height: 800 } } = {}) {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    throw new Error(`playwright-core is not installed in tests/browser/node_modules (${e.message}); ${FIX}`);
  }
  try {
    await access(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`Chromium is not at ${CHROMIUM} (set CHROMIUM to use another); ${FIX}`);
  }
  const started = Date.now();
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      timeout: 60_000,
    });
  } catch (e) {
    throw new Error(`Chromium (${CHROMIUM}) failed to start; ${FIX}.\n${e.message}`);
  }
  const launchMs = Date.now() - started;
  const errors = [];
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(TIMEOUT_MS);
  context.on('page', (page) => watch(page, errors));
  const page = await context.newPage();
  return {
    browser,
    context,
    page,
    errors,
    launchMs,
    close: () => browser.close(),
  };
}

/** Collects a page's errors into `errors` (launch() does it for every page of its context).
 * A missing /favicon.ico, which Chromium asks every site for, is not one. */
export function watch(page, errors) {
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // "Failed to load resource: ... 404" names no URL; the message's location does.
    const where = m.location()?.url ?? '';
    if (m.text().startsWith('Failed to load resource') && new URL(where, 'http://x/').pathname === '/favicon.ico') {
      return;
    }
    errors.push(`console error: ${m.text()}${where ? ` (${where})` : ''}`);
  });
  page.on('requestfailed', (r) =>
    errors.push(`request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`),
  );
}

/** Where screenshots go: $SCREENSHOT_DIR, else a folder in the temp dir. */
export function screenshotDir() {
  return process.env.SCREENSHOT_DIR || join(tmpdir(), 'timmybot-screenshots');
}

/** Saves a full-page PNG of `page` as `<screenshot dir>/<name>.png` and returns its path. */
export async function screenshot(page, name) {
  const dir = screenshotDir();
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Prints one JSON line on stdout for the Rust side (browser::json_lines parses them). */
export function emit(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** An environment variable the script cannot run without. */
export function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`this script needs ${name} in its environment`);
  return value;
}

/** The page's visible text, for failure messages (never throws). */
export async function pageText(page) {
  try {
    return (await page.locator('body').innerText({ timeout: 1_000 })).trim();
  } catch (e) {
    return `<could not read the page's text: ${e.message}>`;
  }
}

/**
 * Waits until the first element matching `selector` has the text `expected` (a string, equal
 * after trimming, or a RegExp). On timeout it throws with what the element had and the page's
 * whole text.
 */
export async function expectText(page, selector, expected, { timeout = TIMEOUT_MS } = {}) {
  const matches = (t) =>
    t !== null && (expected instanceof RegExp ? expected.test(t) : t.trim() === expected);
  const locator = page.locator(selector).first();
  const deadline = Date.now() + timeout;
  let actual = null;
  for (;;) {
    actual = await locator.textContent({ timeout: 250 }).catch(() => null);
    if (matches(actual)) return actual;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const had = actual === null ? 'no such element' : `it has ${JSON.stringify(actual.trim())}`;
  throw new Error(
    `expected ${selector} to have the text ${expected instanceof RegExp ? expected : JSON.stringify(expected)}` +
      ` within ${timeout} ms; ${had}.\n` +
      `page ${page.url()} says:\n${await pageText(page)}`,
  );
}

/** Throws, listing them, if any page of the session had errors (see launch()). */
export function expectNoErrors({ errors }) {
  if (errors.length) {
    throw new Error(`the page had ${errors.length} error(s):\n  ${errors.join('\n  ')}`);
  }
}

/**
 * Runs `body(session)` with a fresh Chromium (see launch()), then closes it. If the body
 * throws, it saves a screenshot `<name>-failure.png`, prints the error and the page's errors
 * on stderr and sets a non-zero exit code, so the Rust side fails with all of that.
 */
export async function withBrowser(name, body, options) {
  let session;
  try {
    session = await launch(options);
    await body(session);
  } catch (e) {
    process.exitCode = 1;
    console.error(`${name}: ${e?.stack ?? e}`);
    if (session) {
      if (session.errors.length) console.error(`page errors:\n  ${session.errors.join('\n  ')}`);
      try {
        console.error(`screenshot: ${await screenshot(session.page, `${name}-failure`)}`);
      } catch (s) {
        console.error(`(no failure screenshot: ${s.message})`);
      }
    }
  } finally {
    await session?.close().catch(() => {});
  }
}
