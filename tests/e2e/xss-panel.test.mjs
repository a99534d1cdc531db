// The XSS corpus (xss-corpus.mjs) through the side panel, as a user meets it there: answers from a
// fake provider streaming the payloads (one answer per family, a tag arriving in pieces), and
// providers failing with the payloads as their error messages (JSON bodies and HTML error pages).
// Inert as xss.test.mjs says; the frame budget holds the panel's main thread: its long tasks while
// each answer streams (RENDER_MS_ONE an answer, RENDER_MS_ALL the corpus), except for the families
// PANEL_OVER_BUDGET names (an open item in SECURITY.md), which are measured and reported.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { extensionId, launch } from './browser.mjs';
import { ask, configure, provider } from './fake-providers/harness.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { recordRow } from './reliability.mjs';
import { assertInert, assertQuiet, frameBudget, loneSurrogate, PAYLOADS, squash, tagShown, takeLongTasks, watchPage } from './xss-corpus.mjs';

let browser;
const figures = {};

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
  for (const [surface, f] of Object.entries(figures)) console.log(`xss ${surface}: ${JSON.stringify(f)}`);
});

async function openWatched(pagePath) {
  const page = await browser.context.newPage();
  const watch = await watchPage(page);
  await page.goto(`chrome-extension://${extensionId()}/${pagePath}`);
  return { page, watch };
}

const budget = (surface, times, allMs) => frameBudget(figures, surface, times, allMs);

const PANEL_REGIONS = '#status, #chain, #history, #answer, #error, #decisions';
/** Families whose answer is known to hold the side panel over the frame budget (an open item):
 * none since the answers are rendered by the core's Markdown renderer, only their tail each frame,
 * without `overflow-wrap: anywhere` (with it, one long word took seconds; see SECURITY.md). */
const PANEL_OVER_BUDGET = new Set([]);

test('the side panel: answers streaming the payloads and provider errors quoting them are inert', { timeout: 300_000 }, async () => {
  const fake = await startFakeProviders();
  try {
    const { page: panel, watch } = await openWatched('www/sidepanel.html');
    await panel.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
    await configure(panel, [provider(fake, 'xss', 'openai')]);
    await panel.reload();
    await panel.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
    watch.navigations.length = 0; // the reload above

    // Each family's payloads are one answer, 20 tokens a delta (a tag arrives in pieces). The frame
    // budget holds for the panel's main thread: its long tasks while the answers stream. The
    // families over the budget come one payload an answer, in one delta (streamed token by token
    // they hold the panel for tens of seconds, which this file cannot afford on every run).
    const times = [];
    await takeLongTasks(panel);
    const families = [...new Set(PAYLOADS.map((p) => p.family))];
    const answers = [];
    for (const family of families) {
      const ps = PAYLOADS.filter((p) => p.family === family && !loneSurrogate(p.text));
      if (PANEL_OVER_BUDGET.has(family)) for (const p of ps) answers.push({ id: family, ps: [p], group: 1e6 });
      else answers.push({ id: family, ps, group: 20 });
    }
    for (const { id, ps, group } of answers) {
      fake.plan('xss', [{ fault: 'ok', answer: ps.map((p) => p.text).join('\n\n'), tokenDelayMs: 0, group }]);
      const t0 = Date.now();
      const seen = await ask(panel, `Tell me about ${ps.length === 1 ? ps[0].id : id}`, { timeout: 90_000 });
      const long = await takeLongTasks(panel);
      const ms = long.reduce((a, t) => a + t, 0);
      const wall = Date.now() - t0;
      const same = times.find((t) => t.id === id);
      if (same) {
        same.ms += ms;
        same.wall += wall;
      } else times.push({ id, ms, wall });
      assert.equal(seen.state, 'done', `${id}: ${seen.error}`);
      for (const p of ps) assert.ok(tagShown(p, seen.text), `${p.id}: HTML in the answer shows as text`);
      await assertInert(panel, PANEL_REGIONS, watch, `the side panel answering ${ps.length === 1 ? ps[0].id : id}`);
    }
    // A lone surrogate escape: no JSON decoder takes it; the stream is refused, and said so.
    for (const p of PAYLOADS.filter((q) => loneSurrogate(q.text))) {
      fake.plan('xss', [{ fault: 'ok', answer: p.text, tokenDelayMs: 0 }]);
      const seen = await ask(panel, `Tell me about ${p.id}`, { timeout: 30000 });
      assert.equal(seen.state, 'error', `${p.id}: refused`);
      assert.match(seen.error, /could not be read/);
      await assertInert(panel, PANEL_REGIONS, watch, `the side panel refusing ${p.id}`);
    }
    // A family named in PANEL_OVER_BUDGET is measured and reported, not held to the budget.
    const slow = times.filter((t) => PANEL_OVER_BUDGET.has(t.id));
    const f = budget('side panel answers', times.filter((t) => !PANEL_OVER_BUDGET.has(t.id)));
    f.wall_ms = times.reduce((a, t) => a + t.wall, 0);
    figures['side panel answers'].wall_ms = f.wall_ms;
    figures['side panel answers'].over_budget = slow.map((t) => `${t.id}: ${Math.round(t.ms)} ms of long tasks`).join('; ');

    // Providers failing with the payloads as their error messages (500 JSON, 502 HTML page title,
    // alternately), ten a chain: the panel's final error names each provider's failure.
    let quoted = 0;
    const errors = [];
    for (let i = 0; i < PAYLOADS.length; i += 10) {
      const batch = PAYLOADS.slice(i, i + 10);
      const names = batch.map((_, k) => `e${k}`);
      batch.forEach((p, k) => fake.plan(names[k], [{ fault: 'message', status: k % 2 ? 502 : 500, message: p.text, html: k % 2 === 1 }]));
      await configure(panel, names.map((n) => provider(fake, n, 'openai')), { max_retries_per_provider: 0 });
      const t0 = Date.now();
      const seen = await ask(panel, `Fail with ${batch[0].id}…`, { timeout: 30000 });
      errors.push({ id: batch[0].id, ms: Date.now() - t0 });
      assert.equal(seen.state, 'error', `${batch[0].id}…: the ask failed`);
      assert.ok(seen.error.length > 0, `${batch[0].id}…: an error shows`);
      const shown = squash(seen.error) + squash(seen.decisions.join(' '));
      for (const p of batch) {
        const start = squash(p.text).split(' ')[0].slice(0, 20);
        if (start && shown.includes(start)) quoted++;
      }
      await assertInert(panel, PANEL_REGIONS, watch, `the side panel's error for ${batch[0].id}…`);
    }
    figures['side panel errors'] = { payloads: PAYLOADS.length, quoted, total_ms: errors.reduce((a, e) => a + e.ms, 0) };
    assert.ok(quoted > 0, `the providers' messages are quoted (${quoted})`);
    assertQuiet(watch, 'the side panel');
    await panel.close();
    recordRow({ name: 'xss: side panel (streamed answers)', kind: 'payloads', tried: PAYLOADS.length, held: PAYLOADS.length, note: `${PAYLOADS.length} payloads streamed by a fake OpenAI-compatible provider (one answer per family, 20 tokens a delta; the long and nesting payloads one an answer, in one delta; ${Math.round(f.wall_ms / 1000)} s from ask to answer in all); the panel's long tasks ${f.all_ms} ms in all, longest ${f.max_ms} ms (${f.slowest}), over the budget: ${figures['side panel answers'].over_budget}; the lone surrogate's stream refused as unreadable; no trap call, dialog, CSP refusal, script or handler in the DOM` });
    recordRow({ name: 'xss: side panel (provider errors)', kind: 'payloads', tried: PAYLOADS.length, held: PAYLOADS.length, note: `${PAYLOADS.length} provider errors (500 JSON message, 502 HTML page title, alternately; 10 providers a chain) carrying a payload; ${quoted} quoted in the error or the decisions shown, all as text` });
  } finally {
    await fake.close();
  }
});

