// The XSS corpus (xss-corpus.mjs) through the rescue frame, the surface where another provider's
// answer is shown on the chat page: each family's payloads streamed as one answer, each payload as
// a provider's error message, and hostile Markdown (200,000 backticks, deep nesting) — all inert in
// the frame, and the chat page itself untouched: the answer never enters its DOM and its main thread
// is not held up (the frame is another origin, rendered out of the page's process in Chromium).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage } from './browser.mjs';
import { NOTICE, openChat, sendPrompt } from './detect-helpers.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { configure, provider } from './fake-providers/harness.mjs';
import { recordRow } from './reliability.mjs';
import { clickRescue, rescueFrame, waitAnswer } from './rescue-frame-helpers.mjs';
import { assertInert, assertQuiet, FAMILIES, PAYLOADS, TRAP, watchPage } from './xss-corpus.mjs';

/** The longest the frame's main thread may be busy rendering one answer, and the chat page's longest task. */
const FRAME_BUDGET_MS = 1000;
const PAGE_TASK_MS = 200;
const REGIONS = '#root';
const loneSurrogate = (s) => /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s); // no JSON decoder takes it: its stream is refused

let site;
let fake;
let browser;
let control;

before(async () => {
  site = await startFakeChatgpt({});
  fake = await startFakeProviders();
  browser = await launch({ chatgptPort: site.port });
  control = await openExtensionPage(browser.context, 'www/options.html');
});

after(async () => {
  await browser?.close();
  await fake?.close();
  await site?.close();
});

/** A failed chat with the trap in the page and in its rescue frame. */
async function failedChat() {
  await configure(control, [provider(fake, 'xss', 'openai')]);
  site.setMode({ mode: 'healthy' });
  const page = await browser.context.newPage();
  const watch = await watchPage(page);
  await page.goto('https://chatgpt.com/');
  await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
  await page.bringToFront();
  await sendPrompt(page, 'Plan a weekend in Lisbon');
  await page.waitForFunction(() => document.querySelector('[data-testid="conversation-turn-2"] .markdown')?.textContent.length > 0);
  site.setMode({ mode: 'status', status: 503 });
  await sendPrompt(page, 'Now add a day trip to Sintra');
  await page.waitForSelector(NOTICE, { timeout: 10000 });
  const frame = await rescueFrame(page);
  // The page's init script reaches its frames too (the trap is then in place); otherwise install it.
  await frame.evaluate((trap) => {
    if (window[`${trap}Hits`]) return;
    const hits = [];
    Object.defineProperty(window, `${trap}Hits`, { value: hits });
    window[trap] = (id) => hits.push(String(id));
    const long = [];
    Object.defineProperty(window, '__longTasks', { value: long });
    new PerformanceObserver((list) => { for (const e of list.getEntries()) long.push(e.duration); }).observe({ type: 'longtask', buffered: true });
  }, TRAP);
  // The long-task watch works in this frame: a busy 120 ms is seen (else the budgets below prove nothing).
  await frame.evaluate(() => setTimeout(() => {
    const t = performance.now();
    while (performance.now() - t < 120);
  }, 0));
  await frame.waitForFunction(() => window.__longTasks?.some((d) => d >= 100), null, { timeout: 5000 });
  await takeLong(frame);
  await page.evaluate(() => setTimeout(() => {
    const t = performance.now();
    while (performance.now() - t < 120);
  }, 0));
  await page.waitForFunction(() => window.__longTasks?.some((d) => d >= 100), null, { timeout: 5000 });
  await takeLong(page);
  return { page, frame, watch };
}

const takeLong = (target) => target.evaluate(() => (window.__longTasks ? window.__longTasks.splice(0) : []));

test('answers streaming the payloads, and provider errors quoting them, are inert in the rescue frame; the chat page never holds them', { timeout: 240_000 }, async () => {
  const { page, frame, watch } = await failedChat();
  const families = [...new Set(PAYLOADS.map((p) => p.family))];
  let frameBusy = 0;
  let worst = { ms: 0, id: '' };
  const pageLong = [];
  await takeLong(page);
  for (const family of families) {
    const ps = PAYLOADS.filter((p) => p.family === family && !loneSurrogate(p.text));
    if (!ps.length) continue;
    const answer = ps.map((p) => p.text).join('\n\n');
    fake.plan('xss', [{ fault: 'ok', answer, tokenDelayMs: 0, group: 20 }]);
    await takeLong(frame);
    await clickRescue(page, '[data-testid="understudy-continue"]');
    const seen = await waitAnswer(page, ['done', 'error'], { timeout: 60000 });
    assert.equal(seen.state, 'done', `${family}: ${seen.status}`);
    const busy = (await takeLong(frame)).reduce((a, t) => a + t, 0);
    frameBusy += busy;
    if (busy > worst.ms) worst = { ms: busy, id: family };
    await assertInert(frame, REGIONS, null, `the rescue frame answering ${family}`);
    // The chat page holds none of it.
    const inPage = await page.evaluate((t) => document.documentElement.outerHTML.includes(t), ps[0].text.slice(0, 40));
    assert.equal(inPage, false, `${family}: the answer is not in the chat page`);
  }
  pageLong.push(...(await takeLong(page)));
  assert.ok(worst.ms <= FRAME_BUDGET_MS, `the frame was busy ${Math.round(worst.ms)} ms on ${worst.id} (budget ${FRAME_BUDGET_MS})`);

  // Each payload as a provider's error message (400 JSON or a 502 HTML page).
  for (const [i, p] of PAYLOADS.entries()) {
    fake.plan('xss', [{ fault: 'message', status: i % 2 ? 502 : 400, message: p.text, html: i % 2 === 1 }]);
    await control.evaluate(() => chrome.storage.session.remove(['providers.health', 'providers.lastStream']));
    await clickRescue(page, '[data-testid="understudy-continue"]');
    const seen = await waitAnswer(page, ['error', 'done'], { timeout: 30000 });
    assert.equal(seen.state, 'error', `${p.id}: the ask failed`);
    await assertInert(frame, REGIONS, null, `the rescue frame's error for ${p.id}`);
  }
  pageLong.push(...(await takeLong(page)));
  assertQuiet(watch, 'the chat page');
  const hits = await frame.evaluate((trap) => [...window[`${trap}Hits`]], TRAP);
  assert.deepEqual(hits, []);
  const pageWorst = Math.max(0, ...pageLong);
  assert.ok(pageWorst <= PAGE_TASK_MS, `the chat page had a ${Math.round(pageWorst)} ms task`);
  console.log(`rescue frame: ${PAYLOADS.length} payloads in ${Object.keys(FAMILIES).length} families; frame busy ${Math.round(frameBusy)} ms in all, longest ${Math.round(worst.ms)} ms (${worst.id}); chat page longest task ${Math.round(pageWorst)} ms`);
  recordRow({
    name: 'xss: rescue frame (answers and provider errors)', kind: 'payloads', tried: PAYLOADS.length, held: PAYLOADS.length,
    note: `${PAYLOADS.length} payloads streamed as answers (one per family; a lone surrogate's stream is refused as unreadable) and each as a provider error, in the rescue frame on the fake chatgpt.com; frame busy ${Math.round(frameBusy)} ms in all, longest ${Math.round(worst.ms)} ms; the chat page's longest task ${Math.round(pageWorst)} ms; no trap call, script or handler; the answer never in the page's DOM`,
  });
  await page.close();
});

test('hostile Markdown (200,000 backticks, deep nesting, 100,000 brackets) renders inert in the frame without holding up the chat page', { timeout: 120_000 }, async () => {
  const { page, frame, watch } = await failedChat();
  const hostile = [
    ['backticks', '`'.repeat(200_000)],
    ['quotes', '>'.repeat(10_000) + ' deep'],
    ['brackets', '['.repeat(100_000)],
    ['emphasis', '*a '.repeat(50_000)],
  ];
  const figures = [];
  for (const [id, text] of hostile) {
    fake.plan('xss', [{ fault: 'ok', answer: text, tokenDelayMs: 0, group: 2000 }]);
    await takeLong(page);
    await takeLong(frame);
    const t0 = Date.now();
    await clickRescue(page, '[data-testid="understudy-continue"]');
    const seen = await waitAnswer(page, ['done', 'error'], { timeout: 60000 });
    const wall = Date.now() - t0;
    assert.equal(seen.state, 'done', `${id}: ${seen.status}`);
    const frameLong = await takeLong(frame);
    const pageLong = await takeLong(page);
    const frameWorst = Math.max(0, ...frameLong);
    const pageWorst = Math.max(0, ...pageLong);
    figures.push(`${id}: ${wall} ms to the end, frame's longest task ${Math.round(frameWorst)} ms, page's ${Math.round(pageWorst)} ms`);
    assert.ok(frameWorst <= FRAME_BUDGET_MS, `${id}: the frame was blocked ${Math.round(frameWorst)} ms`);
    assert.ok(pageWorst <= PAGE_TASK_MS, `${id}: the chat page was blocked ${Math.round(pageWorst)} ms`);
    await assertInert(frame, REGIONS, null, `the rescue frame showing ${id}`);
  }
  assertQuiet(watch, 'the chat page');
  console.log(`hostile Markdown in the rescue frame: ${figures.join('; ')}`);
  recordRow({ name: 'hostile Markdown: rescue frame', kind: 'payloads', tried: hostile.length, held: hostile.length, note: figures.join('; ') });
  await page.close();
});
