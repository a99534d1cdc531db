// The other chat sites, measured like ChatGPT in detect.bench.mjs, with the real extension in
// headless Chromium on each site's fake (tests/e2e/fake-<site>/):
// - content_script_overhead_pct_<site>: the extension's main-thread time while the site's page
//   streams a 2,000-token answer on a fresh page, as a share of the page's own (CPU samples under
//   the extension's scripts over the rest of TaskDuration; detect.bench.mjs `extensionMs`). Median
//   over STREAM_RUNS.
// - detect_network_latency_ms_p95_<site>: the site's send answered 429 or 5xx -> the notice in the
//   page, from the moment the page has the response. p95 over RUNS.
import { launch } from '../e2e/browser.mjs';
import { NOTICE } from '../e2e/detect-helpers.mjs';
import { startFakeClaude } from '../e2e/fake-claude/server.mjs';
import { extensionMs, taskSeconds } from './detect.bench.mjs';

const RUNS = Number(process.env.SITES_BENCH_RUNS ?? 30);
const STREAM_RUNS = Number(process.env.SITES_BENCH_STREAM_RUNS ?? 5);
const TOKENS = 2000;
const PAUSE_MS = 100;

const p95 = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(s.length * 0.95) - 1)];
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Each site: its fake, its page, how a prompt is typed and sent, when the answer is whole, and a
// send the page's own fetch makes (path and body) for the latency runs.
export const SITES = [
  {
    site: 'claude',
    host: 'claude.ai',
    url: 'https://claude.ai/new',
    start: () => startFakeClaude(),
    composer: '.ProseMirror[role="textbox"]',
    send: 'button[aria-label="Send message"]',
    done: (n) => document.querySelectorAll('.font-claude-response')[n - 1]?.getAttribute('data-is-streaming') === 'false',
    sendPath: '/api/organizations/org-bench/chat_conversations/5e1f0c2a-1111-4222-8333-444455556666/completion',
    body: JSON.stringify({ prompt: 'bench', parent_message_uuid: '00000000-0000-4000-8000-000000000000' }),
    failures: [{ mode: 'status', status: 429 }, { mode: 'status', status: 500 }],
  },
];

function installWaiter(page) {
  return page.evaluate((sel) => {
    window.__benchNotice = (present) => new Promise((resolve) => {
      const ok = () => {
        const host = document.querySelector(sel);
        return present ? !!host?.getAttribute('data-kind') : !host;
      };
      if (ok()) return resolve(performance.now());
      const mo = new MutationObserver(() => {
        if (ok()) {
          mo.disconnect();
          resolve(performance.now());
        }
      });
      mo.observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-kind'] });
    });
  }, NOTICE);
}

async function ready(page) {
  await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
  await page.waitForTimeout(300);
}

/** One failed send: the page's fetch answered with an error -> the notice; then a good send clears it. */
async function networkRun(page, fake, s, i) {
  fake.setMode(s.failures[i % s.failures.length]);
  const ms = await page.evaluate(async ({ path, body }) => {
    const shown = window.__benchNotice(true);
    const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const answered = performance.now();
    response.text();
    return (await shown) - answered;
  }, { path: s.sendPath, body: s.body });
  fake.setMode({ mode: 'healthy', answer: 'fine ', tokenDelayMs: 0 });
  await page.evaluate(async ({ path, body }) => {
    const gone = window.__benchNotice(false);
    const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await response.text();
    await gone;
  }, { path: s.sendPath, body: s.body });
  await page.waitForTimeout(PAUSE_MS);
  return ms;
}

/** One 2,000-token answer streamed on a fresh page, the extension's share of the main thread (%). */
async function streamRun(browser, fake, s) {
  const page = await browser.context.newPage();
  await page.goto(s.url);
  await ready(page);
  fake.setMode({ mode: 'healthy', answer: 'tok '.repeat(TOKENS), tokenDelayMs: 1 });
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  const before = await taskSeconds(cdp);
  await page.fill(s.composer, 'Stream a long answer');
  await page.click(s.send);
  await page.waitForFunction(s.done, 1, { polling: 100, timeout: 60000 });
  const busyMs = ((await taskSeconds(cdp)) - before) * 1000;
  const { profile } = await cdp.send('Profiler.stop');
  const extMs = extensionMs(profile);
  await cdp.detach();
  await page.close();
  return (extMs / (busyMs - extMs)) * 100;
}

export async function run() {
  const metrics = [];
  for (const s of SITES) {
    const fake = await s.start();
    const browser = await launch({ hostRules: { [s.host]: fake.port } });
    try {
      const page = await browser.context.newPage();
      await page.goto(s.url);
      await ready(page);
      await installWaiter(page);
      for (let i = 0; i < 3; i++) await networkRun(page, fake, s, i); // warm-up
      const net = [];
      for (let i = 0; i < RUNS; i++) net.push(await networkRun(page, fake, s, i));
      await page.close();
      await streamRun(browser, fake, s); // warm-up
      const overhead = [];
      for (let i = 0; i < STREAM_RUNS; i++) overhead.push(await streamRun(browser, fake, s));
      console.error(`${s.site}: network latency median ${median(net).toFixed(1)} ms; stream overhead % ${overhead.map((x) => x.toFixed(2)).join(' ')}`);
      metrics.push(
        { name: `content_script_overhead_pct_${s.site}`, value: median(overhead), unit: '%', lower_is_better: true, peer: null },
        { name: `detect_network_latency_ms_p95_${s.site}`, value: p95(net), unit: 'ms', lower_is_better: true, peer: null },
      );
    } finally {
      await browser.close();
      await fake.close();
    }
  }
  return metrics;
}
