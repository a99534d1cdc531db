// Detection and its cost on the other chat sites, in headless Chromium with the real extension on
// the e2e fakes of gemini.google.com (its sends over XMLHttpRequest, length-prefixed snapshot
// frames) and claude.ai (fetch, SSE deltas). The same measurements as detect.bench.mjs makes on the
// fake chatgpt.com, per site:
// - detect_network_latency_ms_p95_<site>: the page's send answered 503 or 429 -> the notice; and one
//   run in three an answer stream that carries the site's usage limit (Gemini: code 1037 at
//   [5,2,0,1,0]; Claude: a message_limit event of type exceeded_limit) -> the notice, from the moment
//   the page has read the stream to its end (the worker's core decodes the bytes the capture hook
//   hands over and judges the turn). A healthy send clears the notice between runs. p95 over RUNS.
// - content_script_overhead_pct_<site>: the extra main-thread time while the page streams a
//   2,000-token answer on a fresh page, as a share of the page's own main-thread time (CPU samples
//   under the extension's scripts over the rest of the run's TaskDuration; see extensionMs in
//   detect.bench.mjs). Median over STREAM_RUNS. Gemini's answer comes as snapshots of the whole text
//   so far, WORDS_PER_FRAME words more each (about 200 frames: the page itself re-reads and re-renders
//   the growing text); Claude's as one delta per token.
// SITES_BENCH_SITES=gemini (or claude) runs one site; SITES_BENCH_PARTS=latency or stream one part.
import { launch } from '../e2e/browser.mjs';
import { startFakeClaude } from '../e2e/fake-claude/server.mjs';
import { SEND_PATH, startFakeGemini } from '../e2e/fake-gemini/server.mjs';
import { extensionMs, installWaiter, median, p95 } from './detect.bench.mjs';

const RUNS = Number(process.env.DETECT_BENCH_RUNS ?? 40);
const STREAM_RUNS = Number(process.env.DETECT_BENCH_STREAM_RUNS ?? 7);
const SITES = (process.env.SITES_BENCH_SITES ?? 'gemini,claude').split(',');
const PARTS = process.env.SITES_BENCH_PARTS ?? 'latency,stream';
const TOKENS = 2000;
const WORDS_PER_FRAME = 10;
const PAUSE_MS = 100;
const NOTICE_TIMEOUT_MS = 15000;

// How each site's page is driven: its fake, its host and first page, its composer, and one send of
// the site's own kind made from the page (resolves with performance.now() once the page has read
// the answer to its end, or has its error status).
const DRIVERS = {
  gemini: {
    start: startFakeGemini,
    host: 'gemini.google.com',
    url: 'https://gemini.google.com/app',
    composer: 'rich-textarea .ql-editor[contenteditable="true"]',
    sendButton: 'button[aria-label="Send message"]',
    answered: (n) => ([...document.querySelectorAll('model-response')].at(-1)?.querySelector('message-content')?.textContent.length ?? 0) >= n,
    healthy: { mode: 'healthy', answer: 'fine', tokenDelayMs: 0 },
    limit: { mode: 'code', code: 1037 },
    long: { mode: 'healthy', answer: 'tok '.repeat(TOKENS), tokenDelayMs: 10, wordsPerFrame: WORDS_PER_FRAME },
    send: (page) => page.evaluate((path) => new Promise((resolve) => {
      const inner = [['bench', 0, null, null, null, null, 0], ['en'], ['', '', '']];
      const body = new URLSearchParams({ 'f.req': JSON.stringify([null, JSON.stringify(inner)]), at: 'bench' });
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `${path}?bl=bench&_reqid=${Math.floor(Math.random() * 1e6)}&rt=c`);
      xhr.setRequestHeader('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
      xhr.addEventListener('loadend', () => resolve(performance.now()));
      xhr.send(body.toString());
    }), SEND_PATH),
  },
  claude: {
    start: startFakeClaude,
    host: 'claude.ai',
    url: 'https://claude.ai/new',
    composer: '.ProseMirror[role="textbox"]',
    sendButton: 'button[aria-label="Send message"]',
    answered: (n) => ([...document.querySelectorAll('.font-claude-response')].at(-1)?.textContent.length ?? 0) >= n,
    healthy: { mode: 'healthy', answer: 'fine', tokenDelayMs: 0 },
    limit: { mode: 'limit' },
    long: { mode: 'healthy', answer: 'tok '.repeat(TOKENS), tokenDelayMs: 1 },
    send: (page) => page.evaluate(async () => {
      const url = `/api/organizations/org-bench/chat_conversations/${crypto.randomUUID()}/completion`;
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ prompt: 'bench', parent_message_uuid: '00000000-0000-4000-8000-000000000000', rendering_mode: 'messages', attachments: [], files: [] }),
      });
      let answered = performance.now();
      if (!response.ok) {
        response.text();
        return answered;
      }
      const reader = response.body.getReader();
      for (let x = await reader.read(); !x.done; x = await reader.read()) answered = performance.now();
      return answered;
    }),
  },
};

async function ready(page) {
  await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
  await page.waitForTimeout(300);
}

const notice = (page, present) => page.evaluate(([p, ms]) => Promise.race([
  window.__benchNotice(p),
  new Promise((_, reject) => setTimeout(() => reject(new Error(`the notice did not ${p ? 'show' : 'go'} within ${ms} ms`)), ms)),
]), [present, NOTICE_TIMEOUT_MS]);

async function networkRun(page, site, d, i) {
  const inStream = i % 3 === 2;
  site.setMode(inStream ? d.limit : { mode: 'status', status: i % 2 ? 429 : 503 });
  const shown = notice(page, true);
  const answered = await d.send(page);
  const ms = (await shown) - answered;
  site.setMode(d.healthy);
  const gone = notice(page, false);
  await d.send(page);
  await gone;
  await page.waitForTimeout(PAUSE_MS);
  return ms;
}

async function taskSeconds(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return metrics.find((m) => m.name === 'TaskDuration').value;
}

// One 2,000-token answer streamed on a fresh page of the site, profiled.
async function streamRun(browser, site, d) {
  const page = await browser.context.newPage();
  await page.goto(d.url);
  await ready(page);
  site.setMode(d.long);
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  const before = await taskSeconds(cdp);
  await page.fill(d.composer, 'Stream a long answer');
  await page.click(d.sendButton);
  await page.waitForFunction(d.answered, TOKENS * 4 - 1, { polling: 100, timeout: 60000 });
  const busyMs = ((await taskSeconds(cdp)) - before) * 1000;
  const { profile } = await cdp.send('Profiler.stop');
  const extMs = extensionMs(profile);
  await cdp.detach();
  await page.close();
  return (extMs / (busyMs - extMs)) * 100;
}

async function measure(name) {
  const d = DRIVERS[name];
  const site = await d.start();
  const browser = await launch({ hostRules: { [d.host]: site.port } });
  const metrics = [];
  try {
    if (PARTS.includes('latency')) {
      site.setMode(d.healthy);
      const page = await browser.context.newPage();
      await page.goto(d.url);
      await ready(page);
      await installWaiter(page);
      for (let i = 0; i < 3; i++) await networkRun(page, site, d, i); // warm-up
      const net = [];
      for (let i = 0; i < RUNS; i++) net.push(await networkRun(page, site, d, i));
      await page.close();
      metrics.push({ name: `detect_network_latency_ms_p95_${name}`, value: p95(net), unit: 'ms', lower_is_better: true, peer: null });
      console.error(`${name} network detection: median ${median(net).toFixed(1)} ms, p95 ${p95(net).toFixed(1)} ms`);
    }
    if (PARTS.includes('stream')) {
      await streamRun(browser, site, d); // warm-up
      const runs = [];
      for (let i = 0; i < STREAM_RUNS; i++) runs.push(await streamRun(browser, site, d));
      metrics.push({ name: `content_script_overhead_pct_${name}`, value: median(runs), unit: '%', lower_is_better: true, peer: null });
      console.error(`${name} stream overhead %: ${runs.map((x) => x.toFixed(2)).join(' ')}`);
    }
  } finally {
    await browser.close();
    await site.close();
  }
  return metrics;
}

export async function run() {
  const metrics = [];
  for (const name of SITES) metrics.push(...(await measure(name)));
  return metrics;
}
