// The options page's first open, in headless Chromium with the real extension:
// - options_ready_ms (median) and options_ready_ms_p95: a cold open (a fresh browser profile, so the
//   service worker has just started and nothing is cached) from the navigation's start to the page
//   showing the settings filled in (`body[data-ready="true"]`, set after the first render), target
//   ≤ 300. Peer: the same page opened again in the same browser (warm: worker and code cached).
import { launch, openExtensionPage, serviceWorker } from '../e2e/browser.mjs';

const RUNS = Number(process.env.OPTIONS_BENCH_RUNS ?? 7);
const p95 = (xs) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x) => Math.round(x * 10) / 10;

// Records when the page says it is ready, on the page's own clock (0 = the navigation's start).
const WATCH = () => {
  const mark = () => {
    if (document.body?.dataset.ready === 'true' && !globalThis.__readyAt) globalThis.__readyAt = performance.now();
  };
  new MutationObserver(mark).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-ready'], childList: true });
};

async function openOnce(context) {
  const page = await openExtensionPage(context, 'www/options.html');
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
  const ms = await page.evaluate(() => globalThis.__readyAt ?? performance.now());
  await page.close();
  return ms;
}

export async function run() {
  const cold = [];
  const warm = [];
  for (let i = 0; i < RUNS; i++) {
    const browser = await launch();
    try {
      await browser.context.addInitScript(WATCH);
      await serviceWorker(browser.context); // the browser is up; the worker has just started
      cold.push(await openOnce(browser.context));
      warm.push(await openOnce(browser.context));
    } finally {
      await browser.close();
    }
  }
  return [
    { name: 'options_ready_ms', value: round(median(cold)), unit: 'ms', lower_is_better: true, peer: { name: 'warm open', value: round(median(warm)) } },
    { name: 'options_ready_ms_p95', value: round(p95(cold)), unit: 'ms', lower_is_better: true, peer: { name: 'warm open', value: round(p95(warm)) } },
  ];
}
