// 1,000 consecutive rescues through the worker's `understudy-ask` port (what the side panel and the
// notice use), against two fake providers that fail at random (seeded: 500, 429, a stall, a stream
// cut or broken mid-answer, no first byte). Every prompt must end in exactly one of: the answer
// done, or a clear error; none hangs, none ends twice, and what streamed is what is kept. The
// worker's memory (JS heap after garbage collection, plus the Wasm core's memory) must not grow by
// more than GROWTH_BOUND.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage, serviceWorker } from './browser.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { configure, provider } from './fake-providers/harness.mjs';
import { askAll, seeded, workerSession } from './load-helpers.mjs';
import { recordRow } from './reliability.mjs';

const PROMPTS = 1000;
const BATCH = 100;
const GROWTH_BOUND = 8 * 1024 * 1024; // bytes of worker memory growth (JS heap + Wasm) allowed over the run
// Weighted faults per request; `ok` answers in full.
const FAULTS = [['ok', 50], ['500', 12], ['429', 8], ['truncated', 10], ['error_event', 8], ['stall', 5], ['no_first_byte', 3], ['502_html', 4]];

let fake;
let browser;
let page;

before(async () => {
  fake = await startFakeProviders();
  browser = await launch();
  await serviceWorker(browser.context);
  page = await openExtensionPage(browser.context, 'www/options.html');
});

after(async () => {
  await browser?.close();
  await fake?.close();
});

function plan(random, n) {
  const total = FAULTS.reduce((s, [, w]) => s + w, 0);
  return Array.from({ length: n }, () => {
    let r = random() * total;
    for (const [fault, w] of FAULTS) {
      if ((r -= w) < 0) return { fault, tokenDelayMs: 0 };
    }
    return { fault: 'ok', tokenDelayMs: 0 };
  });
}

test('1,000 rescues with random provider faults: every prompt accounted for, the worker memory bounded', async () => {
  const random = seeded(20260204);
  // Enough planned faults for every request (each ask makes one to a few); the last one stays `ok`.
  fake.plan('alpha', [...plan(random, 4000), { fault: 'ok', tokenDelayMs: 0 }]);
  fake.plan('beta', [...plan(random, 4000), { fault: 'ok', tokenDelayMs: 0 }]);
  await configure(page, [provider(fake, 'alpha', 'openai'), provider(fake, 'beta', 'anthropic')], {
    first_byte_timeout_ms: 300,
    stall_timeout_ms: 250,
    backoff: { initial_ms: 5, cap_ms: 20, jitter_percent: 0 },
    // Breakers open and close again within the run: the router steps around, then probes.
    breaker: { cooldown_ms: 400 },
  });
  const worker = await workerSession(browser.context, page);
  const results = [];
  const samples = [];
  let base = null;
  let end = NaN;
  const started = Date.now();
  try {
    for (let b = 0; b < PROMPTS / BATCH; b++) {
      const prompts = Array.from({ length: BATCH }, (_, i) => ({ id: b * BATCH + i + 1, prompt: `Prompt number ${b * BATCH + i + 1}: what is the capital of Eldoria?` }));
      results.push(...await askAll(page, prompts, { ports: 4, timeoutMs: 20000 }));
      samples.push((await worker.memory()).total);
      // The first batch warms the worker up (Wasm, code, caches): growth is measured from there.
      if (b === 0) base = (await worker.memory({ gc: true })).total;
    }
  } finally {
    end = (await worker.memory({ gc: true }).catch(() => ({ total: NaN }))).total;
    await worker.close();
  }
  const seconds = (Date.now() - started) / 1000;

  assert.equal(results.length, PROMPTS);
  const hung = results.filter((r) => r.hung);
  assert.deepEqual(hung.map((r) => r.id), [], 'no prompt hangs');
  const twice = results.filter((r) => r.ends.length !== 1 || r.after > 0);
  assert.deepEqual(twice.map((r) => ({ id: r.id, ends: r.ends.length, after: r.after })), [], 'each prompt ends exactly once');
  let done = 0;
  let errors = 0;
  for (const r of results) {
    const [end1] = r.ends;
    if (end1.type === 'done') {
      done++;
      assert.ok(end1.text.trim(), `prompt ${r.id}: an answer`);
      assert.ok(['alpha', 'beta'].includes(end1.provider), `prompt ${r.id}: by ${end1.provider}`);
      assert.equal(end1.text, r.deltas, `prompt ${r.id}: what streamed is the answer kept`);
    } else {
      errors++;
      assert.match(end1.message ?? '', /\w{3,}/, `prompt ${r.id}: a clear error`);
      assert.doesNotMatch(end1.message, /undefined|\[object|Understudy failed/, `prompt ${r.id}: ${end1.message}`);
      assert.equal(end1.partial ?? '', r.deltas, `prompt ${r.id}: the partial answer is kept`);
    }
  }
  // Every prompt reached a provider at least once unless both breakers were open (a clear error then).
  const asked = new Set(fake.requests.map((q) => q.json?.messages?.at(-1)?.content).filter(Boolean));
  const lost = results.filter((r) => r.ends[0].type === 'done' && !asked.has(`Prompt number ${r.id}: what is the capital of Eldoria?`));
  assert.deepEqual(lost.map((r) => r.id), []);
  const faults = fake.requests.filter((q) => q.fault && q.fault !== 'ok').length;
  const growth = end - base;
  const peak = Math.max(...samples);
  assert.ok(Number.isFinite(growth) && growth < GROWTH_BOUND, `worker memory grew ${growth} bytes (bound ${GROWTH_BOUND})`);
  assert.ok(done > PROMPTS / 2, `${done} answered`);
  const mb = (n) => (n / 1048576).toFixed(1);
  console.log(`# ${PROMPTS} prompts in ${seconds.toFixed(0)} s: ${done} done, ${errors} clear errors; ${fake.requests.length} provider requests, ${faults} faults; memory (JS heap + Wasm) ${mb(base)} → ${mb(end)} MB after GC, peak ${mb(peak)} MB`);
  recordRow({
    name: 'load: 1,000 rescues with random provider faults', kind: 'load', tried: PROMPTS, held: done + errors,
    note: `${done} answered, ${errors} clear errors, 0 hung, 0 duplicated; ${faults} faults in ${fake.requests.length} requests; worker memory (JS heap + Wasm) peak ${mb(peak)} MB, growth ${mb(growth)} MB after GC (bound ${mb(GROWTH_BOUND)} MB); ${seconds.toFixed(0)} s`,
  });
  recordRow({ name: 'faults: random provider faults during rescues', kind: 'faults', tried: faults, held: faults, note: `500/429/502 HTML/stall/no first byte/cut or broken stream at random (seeded), ${PROMPTS} prompts: none lost, partial answers kept` });
});
