// Shared steps of the detection end-to-end tests (not a test file itself).
import { after, before } from 'node:test';
import { launch, openExtensionPage } from './browser.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';

export const NOTICE = '[data-testid="understudy-notice"]';

// An extension page kept open per browser to read the extension's storage without going through the
// service worker (which may be stopped on purpose).
const probes = new WeakMap();
async function probe(context) {
  let page = probes.get(context);
  if (!page || page.isClosed()) {
    page = await openExtensionPage(context, 'www/popup.html');
    probes.set(context, page);
  }
  return page;
}

/** The worker's saved detection entry of the tab showing `url`, or null. */
export async function tabEntry(context, url) {
  const page = await probe(context);
  return page.evaluate(async (u) => {
    const all = await chrome.storage.session.get(null);
    return Object.entries(all).find(([k, v]) => k.startsWith('detect.tab.') && v?.url === u)?.[1] ?? null;
  }, url);
}

/** Waits until the page's content script has had at least `n` observations judged by the worker. */
export async function waitObserved(context, page, n = 1, timeout = 10000) {
  const until = Date.now() + timeout;
  for (;;) {
    const entry = await tabEntry(context, page.url());
    if (entry && entry.observed >= n) return entry;
    if (Date.now() > until) throw new Error(`no observation judged for ${page.url()} (entry ${JSON.stringify(entry)})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Opens a chat page and waits until detection is running on it (its first DOM observation judged). */
export async function openChat(context, url) {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
  await waitObserved(context, page);
  return page;
}

/**
 * For a test file: a fake chatgpt.com, a browser with the extension, and a page on chatgpt.com
 * (once the extension runs there) with a page script that keeps what the MAIN-world hooks post (as
 * any page script can) in `window.__posted`: the hook's facts ('understudy-hook') and, with
 * `captures`, the capture hook's messages ('understudy-capture'). Returns {site, browser, page},
 * filled in before the file's tests run and closed after them.
 */
export function listeningChat({ captures = false } = {}) {
  const env = { site: null, browser: null, page: null };
  before(async () => {
    env.site = await startFakeChatgpt();
    env.browser = await launch({ chatgptPort: env.site.port });
    const page = await env.browser.context.newPage();
    await page.goto('https://chatgpt.com/');
    await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
    await page.evaluate((sources) => {
      window.__posted = [];
      window.addEventListener('message', (event) => {
        if (sources.includes(event.data?.source)) window.__posted.push(event.data);
      });
    }, captures ? ['understudy-hook', 'understudy-capture'] : ['understudy-hook']);
    env.page = page;
  });
  after(async () => {
    await env.browser?.close();
    await env.site?.close();
  });
  return env;
}

/** The notice's kind, or null when none shows. */
export function noticeKind(page) {
  return page.evaluate((sel) => document.querySelector(sel)?.getAttribute('data-kind') ?? null, NOTICE);
}

/** The notice's words (from its shadow root). */
export function noticeText(page) {
  return page.evaluate((sel) => document.querySelector(sel)?.shadowRoot?.querySelector('[role="status"]')?.textContent ?? null, NOTICE);
}

export async function sendPrompt(page, text) {
  await page.fill('#prompt-textarea', text);
  await page.click('[data-testid="send-button"]');
}

/**
 * On an open chat of the fake chatgpt.com: one good exchange ("Plan a weekend in Lisbon", its
 * answer whole on the page), then `prompt` sent while the site fails as `failure` says (503 by
 * default); resolves once the notice shows.
 */
export async function failAfterOneExchange(page, site, { failure = { mode: 'status', status: 503 }, prompt = 'Now add a day trip to Sintra' } = {}) {
  await sendPrompt(page, 'Plan a weekend in Lisbon');
  await page.waitForFunction(() => document.querySelector('[data-testid="conversation-turn-2"] .markdown')?.textContent.endsWith('streams it.'));
  await page.waitForTimeout(200);
  site.setMode(failure);
  await sendPrompt(page, prompt);
  await page.waitForSelector(NOTICE, { timeout: 10000 });
}

/** The timeline the worker keeps. */
export async function timeline(context) {
  const page = await probe(context);
  return page.evaluate(async () => (await chrome.storage.session.get('detect.timeline'))['detect.timeline'] ?? []);
}

/**
 * Stops the extension's service worker through CDP (as Chromium does after 30 s idle) and waits
 * until it has stopped. Do not evaluate in the worker while it is stopped; the next extension event
 * starts it again.
 */
export async function stopWorker(context, page) {
  const cdp = await context.newCDPSession(page);
  const status = new Map();
  let changed = () => {};
  cdp.on('ServiceWorker.workerVersionUpdated', (e) => {
    for (const v of e.versions) if (v.scriptURL.startsWith('chrome-extension://')) status.set(v.versionId, v.runningStatus);
    changed();
  });
  const waitFor = async (pred, what) => {
    const until = Date.now() + 10000;
    while (!pred()) {
      if (Date.now() > until) throw new Error(`service worker: ${what} (${JSON.stringify([...status])})`);
      await new Promise((r) => { changed = r; setTimeout(r, 50); });
    }
  };
  await cdp.send('ServiceWorker.enable');
  await waitFor(() => status.size > 0, 'not found');
  for (const [versionId, s] of status) if (s !== 'stopped') await cdp.send('ServiceWorker.stopWorker', { versionId });
  await waitFor(() => [...status.values()].every((s) => s === 'stopped'), 'did not stop');
  await cdp.send('ServiceWorker.disable').catch(() => {});
  await cdp.detach().catch(() => {});
}

/**
 * Scales detection's timings down for a test: `detect.timing` ({stall_ms, no_start_ms,
 * resume_grace_ms}) in the extension's chrome.storage.local, written from an extension page; null
 * removes the override. Pages opened afterwards get the scaled timings.
 */
export async function setTiming(context, timing) {
  const page = await probe(context);
  await page.evaluate((t) => (t ? chrome.storage.local.set({ 'detect.timing': t }) : chrome.storage.local.remove('detect.timing')), timing);
}

// A page script that records each notice kind the page ever shows (in `window.__noticesSeen`), so
// that a notice raised and cleared again before the test looks still counts.
function recordNotices() {
  window.__noticesSeen = [];
  let last = null;
  const look = () => {
    const kind = document.querySelector('[data-testid="understudy-notice"]')?.getAttribute('data-kind') ?? null;
    if (kind !== last && kind) window.__noticesSeen.push(kind);
    last = kind;
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-kind', 'data-testid'] });
}

/**
 * Opens a chat page that records every notice it shows (see `noticesSeen`). With `watched` (the
 * default), waits until detection is running there (its first DOM observation judged).
 */
export async function openRecordedChat(context, url, { watched = true } = {}) {
  const page = await context.newPage();
  await page.addInitScript(recordNotices);
  await page.goto(url);
  if (watched) {
    await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
    await waitObserved(context, page);
  }
  return page;
}

/** Every notice kind the page showed since it was opened with `openRecordedChat`, in order. */
export function noticesSeen(page) {
  return page.evaluate(() => window.__noticesSeen ?? []);
}

/** Waits until the last answer on the page (either renderer) reads `text` in full. */
export function waitAnswerText(page, text, timeout = 15000) {
  return page.waitForFunction(
    (t) => [...document.querySelectorAll('.markdown, [data-markdown-text-style="assistant-message"]')].at(-1)?.textContent === t,
    text,
    { timeout },
  );
}
