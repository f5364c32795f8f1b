// The dashboard in a real browser, against `timmybot serve --listen` and the fake Discord
// (cli/tests/cli/dashboard.rs starts both, queues four tones with /play, and checks what the
// voice server heard afterwards). Logs in as a member, opens the guild, sees the queue,
// watches the position move, skips, adds a track, reorders the queue; then logs in as the
// owner and approves a pending request. Screenshots of each main page; no page may log an
// error (a Content-Security-Policy violation is one).

import { withBrowser, need, expectText, expectNoErrors, screenshot, emit } from './harness.mjs';

const BASE = need('BASE');
const GUILD_NAME = need('GUILD_NAME');
const MEMBER = need('MEMBER_NAME');
const OWNER = need('OWNER_NAME');
const REQUEST = need('REQUEST_NAME');
// Polls come every 5 s: a change made elsewhere shows within two of them.
const POLLED = { timeout: 15_000 };

async function logIn(page, who) {
  await page.goto(`${BASE}/dashboard`);
  await page.getByRole('link', { name: 'Log in with Discord' }).click();
  // Discord's authorize page (the fake's): approving as `who` stands in for being logged in.
  await page.getByRole('button', { name: `Authorize as ${who}` }).click();
  await page.waitForURL(`${BASE}/dashboard`);
  await expectText(page, 'header .who', who);
}

async function queueTitles(page) {
  return page.locator('ol.queue li .title').allTextContents();
}

await withBrowser('dashboard', async (session) => {
  const { page } = session;

  await page.goto(`${BASE}/dashboard`);
  await expectText(page, 'h1', 'TimmyBot');
  emit({ shot: await screenshot(page, 'login') });

  await logIn(page, MEMBER);
  await expectText(page, 'h1', 'Your servers');
  emit({ shot: await screenshot(page, 'servers') });

  // The guild: what /play queued in Discord is here.
  await page.getByRole('link', { name: GUILD_NAME }).click();
  await expectText(page, 'h2.now', /one/);
  const queued = await queueTitles(page);
  if (queued.join(',') !== 'two,three,four') throw new Error(`the queue shows ${queued}`);
  emit({ queued });

  // The position moves between polls.
  const before = await page.locator('.progress .pos').textContent();
  await page.waitForTimeout(2_100);
  const after = await page.locator('.progress .pos').textContent();
  if (before === after) throw new Error(`the position stayed at ${before}`);
  emit({ position: [before, after] });
  emit({ shot: await screenshot(page, 'guild') });

  // Skip: the player moves to the next track, and the page follows.
  await page.getByRole('button', { name: '⏭ Skip' }).click();
  await expectText(page, '.said', /Sent to the player|Skipped/);
  await expectText(page, 'h2.now', /two/, POLLED);
  emit({ skipped: true });

  // Add a track by query: it joins the end of the queue.
  await page.fill('#query', 'local:five.wav');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expectText(page, '.said', /Sent to the player|Queued/);
  await page.waitForFunction(
    () => [...document.querySelectorAll('ol.queue li .title')].some((t) => /five/.test(t.textContent)),
    null,
    POLLED,
  );
  if ((await page.inputValue('#query')) !== '') throw new Error('the add box kept its text');
  emit({ added: await queueTitles(page) });

  // Reorder: #2 (four) moves up.
  await page.getByRole('button', { name: 'Move #2 up' }).click();
  await expectText(page, '.said', /Moved four to #1/);
  const reordered = await queueTitles(page);
  if (reordered[0] !== 'four' || reordered[1] !== 'three') {
    throw new Error(`after moving #2 up the queue shows ${reordered}`);
  }
  emit({ reordered });
  emit({ shot: await screenshot(page, 'guild-after') });

  // The same page on a phone.
  await page.setViewportSize({ width: 390, height: 844 });
  emit({ shot: await screenshot(page, 'guild-phone') });
  await page.setViewportSize({ width: 1280, height: 800 });

  // The owner: log out, log in again as the owner, approve the pending request.
  await page.getByRole('button', { name: 'Log out' }).click();
  await expectText(page, 'a.button', 'Log in with Discord');
  await logIn(page, OWNER);
  await page.getByRole('link', { name: 'Owner' }).click();
  await expectText(page, 'ul.requests', new RegExp(REQUEST));
  emit({ shot: await screenshot(page, 'owner') });
  await page.getByRole('button', { name: `Approve ${REQUEST}` }).click();
  await expectText(page, '.said', /Approved/);
  await expectText(page, 'ul.allowed', new RegExp(need('REQUEST_GUILD')));
  emit({ approved: true });
  emit({ shot: await screenshot(page, 'owner-after') });

  expectNoErrors(session);
});
