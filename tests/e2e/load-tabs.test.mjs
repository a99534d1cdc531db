// 50 chat tabs on the fake chatgpt.com failing at once (every send answered 503), with auto mode on
// and two providers, one of them down (500 to everything): the status page is polled once per
// interval however many tabs load, the providers hear a bounded number of automatic rescues (the
// auto-mode bound and the down provider's breaker), every tab shows its notice, and the worker's
// memory (JS heap and Wasm) stays under HEAP_BOUND.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage, serviceWorker } from './browser.mjs';
import { NOTICE, sendPrompt, timeline } from './detect-helpers.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';
import { configure, provider } from './fake-providers/harness.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { FEED_PATH, feed, startFakeStatus } from './fake-status/server.mjs';
import { workerSession } from './load-helpers.mjs';
import { recordRow } from './reliability.mjs';

const TABS = 50;
const PER_BROWSER = 10; // automatic rescues per browser per hour (src/autoguard.rs)
const HEAP_BOUND = 32 * 1024 * 1024; // the worker's memory: JS heap plus the Wasm core's memory
let site;
let statusPage;
let fake;
let browser;
let control;

before(async () => {
  site = await startFakeChatgpt();
  statusPage = await startFakeStatus();
  statusPage.setFeed(feed({ affected: [['Conversations', 'partial_outage']], incidents: [{ name: 'Elevated errors in ChatGPT', published_at: '2026-02-04T09:00:00Z', components: ['Conversations'], impact: 'partial_outage', updates: [{ message: 'We are investigating.', published_at: '2026-02-04T09:05:00Z' }] }] }));
  fake = await startFakeProviders();
  browser = await launch({ chatgptPort: site.port, hostRules: { 'status.openai.com': statusPage.port } });
  await serviceWorker(browser.context);
  control = await openExtensionPage(browser.context, 'www/options.html');
  fake.plan('down', ['500']);
  fake.plan('up', [{ fault: 'ok', tokenDelayMs: 2 }]);
  await configure(control, [provider(fake, 'down', 'openai'), provider(fake, 'up', 'anthropic')], { breaker: { cooldown_ms: 600_000 } });
  await control.evaluate(async () => {
    const { settings } = await chrome.storage.local.get('settings');
    await chrome.storage.local.set({ settings: { ...settings, auto_mode: { enabled: true, service_down: true, capacity: true, generation_error: true, network_error: true, unknown_error: true } } });
  });
});

after(async () => {
  await browser?.close();
  await fake?.close();
  await site?.close();
  await statusPage?.close();
});

const feedPolls = () => statusPage.polls.filter((p) => p.path === FEED_PATH).length;

async function openTabs(n) {
  const tabs = [];
  for (let i = 0; i < n; i += 10) {
    tabs.push(...await Promise.all(Array.from({ length: Math.min(10, n - i) }, async (_, k) => {
      const page = await browser.context.newPage();
      await page.goto(`https://chatgpt.com/?tab=${i + k}`);
      await page.waitForSelector('html[data-understudy-core]', { timeout: 30000 });
      return page;
    })));
  }
  return tabs;
}

test('50 chat tabs failing at once: one status poll per interval, bounded provider asks, worker memory bounded', async () => {
  const started = Date.now();
  const tabs = await openTabs(TABS);
  const opened = Date.now();
  assert.equal(feedPolls(), 1, `one status poll for ${TABS} tabs loading`);

  const worker = await workerSession(browser.context, control);
  const base = (await worker.memory({ gc: true })).total;
  let peak = base;
  const sample = async () => {
    peak = Math.max(peak, (await worker.memory()).total);
  };

  // Every tab sends, and ChatGPT fails them all (503).
  site.setMode({ mode: 'status', status: 503, body: '{"detail":"Service Unavailable"}' });
  await Promise.all(tabs.map((t, i) => sendPrompt(t, `Tab ${i}: summarise the meeting notes`)));
  await sample();
  // Every tab tells its user.
  const deadline = Date.now() + 60000;
  let shown = 0;
  for (const t of tabs) {
    await t.waitForSelector(NOTICE, { timeout: Math.max(1000, deadline - Date.now()) });
    shown++;
  }
  await sample();
  // One rescue per prompt: its requests (a retry, or a continuation that ends with the partial
  // answer as the assistant's turn, followed, for an OpenAI-compatible provider, by a user turn
  // asking to go on) all carry the tab's prompt as their last user message of the tab's own.
  const promptOf = (q) => q.json?.messages?.filter((m) => m.role === 'user' && /^Tab \d+: /.test(m.content)).at(-1)?.content;
  const rescues = () => new Set([...fake.to('down'), ...fake.to('up')].map(promptOf)).size;
  // Time for the automatic rescues to reach a provider (their frames load in 50 background tabs on
  // 2 cores, late in a long run): until the first arrives (at most 60 s), then 3 s more for any
  // others.
  const noticed = Date.now();
  const until = noticed + 60000;
  while (rescues() === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
  console.log(`first automatic rescue ${rescues() ? `${Date.now() - noticed} ms` : 'never'} after the last notice`);
  await new Promise((r) => setTimeout(r, 3000));
  await sample();
  const down = fake.to('down').length;
  const up = fake.to('up').length;
  const asks = rescues();
  if (asks === 0) {
    // What the tabs show, to say why (the frames not there, or there and silent).
    const frames = await Promise.all(tabs.map((t) => t.evaluate((sel) => !!document.querySelector(sel)?.shadowRoot?.querySelector('iframe'), NOTICE).catch(() => false)));
    assert.fail(`auto mode did not act: ${frames.filter(Boolean).length} of ${tabs.length} notices hold their rescue frame; worker timeline: ${JSON.stringify((await timeline(browser.context)).slice(-8))}`);
  }
  assert.ok(asks >= 1, 'auto mode acted');
  assert.ok(asks <= PER_BROWSER, `at most ${PER_BROWSER} automatic rescues in the browser, got ${asks}: ${JSON.stringify([...fake.to('down'), ...fake.to('up')].map((q) => [q.path, promptOf(q)]))}`);
  // The down provider is not hammered: its breaker opens after 3 failures; the rescues that
  // were already under way when it opened reach it at most once each, none retries it.
  const downPrompts = fake.to('down').map(promptOf);
  assert.equal(new Set(downPrompts).size, down, `the down provider got ${down} requests for ${asks} rescues: none retried it`);
  assert.equal(feedPolls(), 1, 'no status poll caused by the failures themselves');

  // The interval passes (the worker's clock moves 3 minutes on); all 50 tabs reload at once:
  // exactly one more poll.
  const sw = await serviceWorker(browser.context);
  await sw.evaluate(() => {
    const real = Date.now.bind(Date);
    Date.now = () => real() + 180_000;
  });
  site.setMode({ mode: 'healthy' });
  await Promise.all(tabs.map((t) => t.reload().then(() => t.waitForSelector('html[data-understudy-core]', { timeout: 30000 }))));
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(feedPolls(), 2, `one poll per interval (polls at ${statusPage.polls.map((p) => p.at - started).join(', ')} ms)`);
  await sample();
  const end = (await worker.memory({ gc: true })).total;
  await worker.close();
  assert.ok(peak < HEAP_BOUND && end < HEAP_BOUND, `worker memory peak ${peak}, after GC ${end} (bound ${HEAP_BOUND})`);
  const mb = (n) => (n / 1048576).toFixed(1);
  const note = `${TABS} tabs (opened in ${((opened - started) / 1000).toFixed(0)} s) failing at once: ${shown} notices; status polled once per interval (2 polls: load, then after the interval with 50 reloads); ${asks} automatic rescues (bound ${PER_BROWSER}), ${down} requests to the down provider, ${up} to the working one; worker memory (JS heap + Wasm) peak ${mb(peak)} MB, ${mb(end)} MB after GC (bound ${mb(HEAP_BOUND)} MB)`;
  console.log(`# ${note}`);
  recordRow({ name: 'load: 50 chat tabs failing at once', kind: 'load', tried: TABS, held: shown, note });
  for (const t of tabs) await t.close();
});
