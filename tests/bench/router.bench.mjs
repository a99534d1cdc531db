// Router costs, in headless Chromium with the real extension:
// - router_overhead_ms_p95: the work the service worker does between an 'ask' and the provider
//   fetch (create the route from the cached settings and health, start it, build the request for a 20-turn
//   conversation trimmed to an 8k context, save the health), p95 over 1000 requests.
// - router_storage_first_read_ms_p95: reading settings and health from extension storage, which
//   the worker does once per life (later requests use its caches).
// - router_chunk_overhead_ms_p95: the router's share of each streamed chunk (Router.chunk across
//   the JS/Wasm boundary), p95 over batches.
// - failover_first_token_ms_p95: in the side panel, the primary answers 503 and the fallback is an
//   instant local server; from pressing Enter to the first answer text on screen (default router
//   settings). Peer: the same with a healthy primary (no failover).
import { launch, openExtensionPage } from '../e2e/browser.mjs';
import { startFakeProviders } from '../e2e/fake-providers/server.mjs';
import { configure, openPanel, provider } from '../e2e/fake-providers/harness.mjs';

const p95 = (xs) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];

async function firstTokenTimes(panel, control, fake, providers, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const ms = await panel.evaluate(async () => {
      const answer = document.querySelector('[data-testid="understudy-answer"]');
      const prompt = document.querySelector('[data-testid="understudy-prompt"]');
      const n = Number(answer.dataset.request ?? 0);
      let t0 = 0;
      const first = new Promise((resolve) => {
        const obs = new MutationObserver(() => {
          if (Number(answer.dataset.request) === n + 1 && answer.textContent.length > 0) {
            obs.disconnect();
            resolve(performance.now() - t0);
          }
        });
        obs.observe(answer, { characterData: true, childList: true, subtree: true });
      });
      prompt.value = 'How fast is the failover?';
      t0 = performance.now();
      prompt.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
      const ms = await first;
      await new Promise((resolve) => {
        const check = () => (['done', 'error'].includes(answer.dataset.state) ? resolve() : setTimeout(check, 5));
        check();
      });
      if (answer.dataset.state !== 'done') throw new Error(`answer ended in ${answer.dataset.state}`);
      return ms;
    });
    times.push(ms);
  }
  return times;
}

export async function run() {
  const fake = await startFakeProviders();
  const browser = await launch();
  try {
    const control = await openExtensionPage(browser.context, 'www/options.html');
    // ---- per-request and per-chunk overhead ----
    fake.plan('primary', ['503']);
    fake.plan('backup', [{ fault: 'ok', tokenDelayMs: 0 }]);
    fake.plan('healthy', [{ fault: 'ok', tokenDelayMs: 0 }]);
    const providers = [provider(fake, 'primary', 'openai'), provider(fake, 'backup', 'openai')];
    await control.evaluate(async (list) => {
      await chrome.storage.local.set({ settings: { version: 1, providers: list } });
    }, providers);
    const overhead = await control.evaluate(async () => {
      const core = await import('../pkg/understudy_worker.js');
      await core.default({ module_or_path: new URL('../pkg/understudy_worker_bg.wasm', location.href) });
      const conversation = [];
      for (let i = 0; i < 20; i++) conversation.push({ role: i % 2 ? 'assistant' : 'user', content: `Turn ${i}: ${'lorem ipsum '.repeat(40)}` });
      // As the worker does it: settings and health come from its caches (storage is read once per
      // worker life, measured separately as storage_first_read).
      const settings = core.validateSettings((await chrome.storage.local.get('settings')).settings);
      const health = (await chrome.storage.session.get('providers.health'))['providers.health'] ?? '';
      // Timers in a page are coarse (0.1 ms or worse): time batches of 10 requests, p95 of their means.
      const request = [];
      for (let b = 0; b < 130; b++) {
        const t0 = performance.now();
        for (let i = 0; i < 10; i++) {
          const router = new core.Router(settings, b * 10 + i, health);
          const action = router.start(Date.now());
          const entry = settings.providers.find((p) => p.id === action.fetch.provider);
          const messages = conversation.concat([{ role: 'user', content: 'And now?' }]);
          const req = core.buildRequest({ ...entry.config, max_context_tokens: 8192 }, messages, { continue_from: null, max_output_tokens: null });
          const saved = router.saveHealth();
          if (!req.url || typeof saved !== 'string') throw new Error('no request');
          router.free();
        }
        if (b >= 30) request.push((performance.now() - t0) / 10);
      }
      const reads = [];
      for (let i = 0; i < 50; i++) {
        const t0 = performance.now();
        core.validateSettings((await chrome.storage.local.get('settings')).settings);
        await chrome.storage.session.get('providers.health');
        reads.push(performance.now() - t0);
      }
      const chunk = [];
      const router = new core.Router(core.validateSettings((await chrome.storage.local.get('settings')).settings), 1, '');
      router.start(Date.now());
      router.firstByte(Date.now());
      const BATCH = 1000;
      for (let b = 0; b < 200; b++) {
        const t0 = performance.now();
        for (let i = 0; i < BATCH; i++) router.chunk(Date.now(), 7);
        chunk.push((performance.now() - t0) / BATCH);
      }
      router.free();
      return { request, chunk, reads };
    });
    // ---- failover to first token in the side panel ----
    const panel = await openPanel(browser.context);
    await configure(control, providers, {});
    await control.evaluate(async () => {
      // Product defaults for the router, except a breaker that never opens: every run must be a
      // real failover (an open breaker would step around the primary without asking it).
      const { settings } = await chrome.storage.local.get('settings');
      const router = { breaker: { failure_threshold: 1_000_000, failure_ratio: 1 } };
      await chrome.storage.local.set({ settings: { version: 1, providers: settings.providers, router } });
    });
    await firstTokenTimes(panel, control, fake, providers, 3); // warm up
    const failover = await firstTokenTimes(panel, control, fake, providers, 60);
    await control.evaluate(async (list) => {
      await chrome.storage.local.set({ settings: { version: 1, providers: list } });
    }, [provider(fake, 'healthy', 'openai')]);
    await firstTokenTimes(panel, control, fake, null, 3);
    const direct = await firstTokenTimes(panel, control, fake, null, 60);
    const med = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.error(`failover first token ms: median ${med(failover).toFixed(1)}, p95 ${p95(failover).toFixed(1)}, max ${Math.max(...failover).toFixed(1)}; healthy median ${med(direct).toFixed(1)}; request overhead median ${med(overhead.request).toFixed(3)} ms`);
    if (!fake.to('backup').length || fake.to('primary').length < 60) throw new Error(`the failover did not happen: primary ${fake.to('primary').length}, backup ${fake.to('backup').length}, healthy ${fake.to('healthy').length}`);
    return [
      { name: 'router_overhead_ms_p95', value: p95(overhead.request), unit: 'ms', lower_is_better: true, peer: null },
      { name: 'router_storage_first_read_ms_p95', value: p95(overhead.reads), unit: 'ms', lower_is_better: true, peer: null },
      { name: 'router_chunk_overhead_ms_p95', value: p95(overhead.chunk), unit: 'ms', lower_is_better: true, peer: null },
      {
        name: 'failover_first_token_ms_p95',
        value: p95(failover),
        unit: 'ms',
        lower_is_better: true,
        peer: { name: 'healthy primary, no failover', value: p95(direct) },
      },
    ];
  } finally {
    await browser.close();
    await fake.close();
  }
}
