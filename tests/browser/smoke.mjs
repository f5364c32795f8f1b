// The harness's smoke test (tests/e2e/browser_harness.rs serves the page): open $URL, click
// the button, see its script (/app.js, under a strict CSP) change the text to $EXPECT
// ("clicked" unless set; the failure test sets another) and take a screenshot.

import { withBrowser, need, expectText, expectNoErrors, screenshot, emit } from './harness.mjs';

await withBrowser('smoke', async (session) => {
  const { page } = session;
  await page.goto(need('URL'));
  await expectText(page, '#status', 'not clicked');
  await page.click('#go');
  const text = await expectText(page, '#status', process.env.EXPECT || 'clicked', { timeout: 2_000 });
  expectNoErrors(session);
  emit({ launch_ms: session.launchMs, text: text.trim(), screenshot: await screenshot(page, 'clicked') });
});
