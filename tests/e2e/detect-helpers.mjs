// Shared steps of the detection end-to-end tests (not a test file itself).
import { serviceWorker } from './browser.mjs';

export const NOTICE = '[data-testid="understudy-notice"]';

/** The worker's saved detection entry of the tab showing `url`, or null. */
export async function tabEntry(context, url) {
  const worker = await serviceWorker(context);
  return worker.evaluate(async (u) => {
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

/** The notice's kind, or null when none shows. */
export function noticeKind(page) {
  return page.evaluate((sel) => document.querySelector(sel)?.getAttribute('data-kind') ?? null, NOTICE);
}

/** The notice's words (from its shadow root). */
export function noticeText(page) {
  return page.evaluate((sel) => document.querySelector(sel)?.shadowRoot?.querySelector('[role="alert"]')?.textContent ?? null, NOTICE);
}

export async function sendPrompt(page, text) {
  await page.fill('#prompt-textarea', text);
  await page.click('[data-testid="send-button"]');
}

/** The timeline the worker keeps. */
export async function timeline(context) {
  const worker = await serviceWorker(context);
  return worker.evaluate(async () => (await chrome.storage.session.get('detect.timeline'))['detect.timeline'] ?? []);
}
