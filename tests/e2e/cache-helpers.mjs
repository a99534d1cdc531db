// What the end-to-end cache tests share: the library page as the user opens it, the cache as the
// user would read it there, and sending a prompt on the fake chatgpt.com.
import assert from 'node:assert/strict';
import { openExtensionPage } from './browser.mjs';

/** Opens the library and waits until it listed the cache. */
export async function library(context) {
  const page = await openExtensionPage(context, 'www/library.html');
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  page.errors = errors;
  await page.waitForSelector('body[data-listed="1"]', { timeout: 15000 });
  return page;
}

/** Every cached conversation as the user sees it: [{id, site, title, incomplete, texts, raw}] (site: null for ChatGPT's). */
export function cached(page) {
  return page.evaluate(async () => {
    const { db, core } = window.understudyLibrary;
    const out = [];
    for (const json of await db.allJsons()) {
      const v = core.cacheView(json);
      const raw = typeof json === 'string' ? json : new TextDecoder().decode(json);
      out.push({ id: v.id, site: v.site ?? null, title: v.title, incomplete: v.incomplete, texts: v.messages.map((m) => m.text), raw });
    }
    return out;
  });
}

/** Polls the cache until `pred(conversations)` holds; returns them. */
export async function waitCached(context, pred, timeout = 15000) {
  const page = await library(context);
  const deadline = Date.now() + timeout;
  let last;
  try {
    while (Date.now() < deadline) {
      last = await cached(page);
      if (pred(last)) return last;
      await new Promise((r) => setTimeout(r, 150));
    }
  } finally {
    await page.close();
  }
  assert.fail(`cache never matched; it holds ${JSON.stringify(last?.map(({ raw, ...c }) => c)).slice(0, 3000)}`);
}

/** Types `text` into the fake chatgpt.com's composer and sends it. */
export async function send(page, text) {
  await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
  await page.fill('#prompt-textarea', text);
  await page.click('[data-testid="send-button"]');
}
