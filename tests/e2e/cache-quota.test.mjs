// A full extension storage is reported to the user, never silently dropped: the extension origin's
// quota is shrunk with CDP (Storage.overrideQuotaForOrigin), then a conversation is captured on the
// fake chatgpt.com and an export imported into the library. The user sees the error in the page,
// in the library's banner and in the cache status (`understudy.cache.status`, what the popup
// reads); the library keeps working, and once space is back the next capture clears the error.
// The extension has `unlimitedStorage`: Chromium then reports the overridden quota through
// navigator.storage.estimate() (for an unlimited origin, what the disk has free) but does not
// enforce it on IndexedDB writes, so what is tested here is the extension reading the estimate
// and refusing the write up front; the QuotaExceededError a really full disk raises takes the
// same reporting path.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { extensionId, launch, openExtensionPage, serviceWorker } from './browser.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';

const STATUS_KEY = 'understudy.cache.status';
const STREAMED_ID = '6a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b';
let site;
let browser;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'understudy-quota-'));

before(async () => {
  // Every new chat gets this id (the fake gives each a fresh one by default).
  site = await startFakeChatgpt({ defaults: { conversationId: STREAMED_ID } });
  browser = await launch({ chatgptPort: site.port });
  await serviceWorker(browser.context);
});

after(async () => {
  await browser?.close();
  await site?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function library() {
  const page = await openExtensionPage(browser.context, 'www/library.html');
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  page.errors = errors;
  await page.waitForSelector('body[data-listed="1"]', { timeout: 15000 });
  return page;
}

/** Sets the extension origin's quota (bytes), or restores the default with `null`. The override
 * lives as long as the DevTools session that set it, so one session (on a page of its own) is kept. */
let cdp = null;
async function setQuota(quotaSize) {
  cdp ??= await browser.context.newCDPSession(await browser.context.newPage());
  const origin = `chrome-extension://${extensionId()}`;
  await cdp.send('Storage.overrideQuotaForOrigin', quotaSize == null ? { origin } : { origin, quotaSize });
}

const status = (page) => page.evaluate(async (key) => (await chrome.storage.local.get(key))[key] ?? null, STATUS_KEY);

async function send(page, text) {
  await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
  await page.fill('#prompt-textarea', text);
  await page.click('#composer-submit-button');
}

test('a full storage is reported for captures and imports, and the library keeps working', async () => {
  // Something cached before the storage fills up.
  const lib = await library();
  await lib.evaluate(() => window.understudyLibrary.db.applyCaptures([{
    kind: 'turn', conversation_id: 'before-full', nodes: [{ parent: null, message: { id: 'bf-1', author: { role: 'user' }, content: { content_type: 'text', parts: ['Saved before the disk filled up: sourdough starter'] }, status: 'finished_successfully', create_time: 1 } }], current: 'bf-1',
  }]));
  await setQuota(1);

  // A capture on chatgpt.com cannot be stored: the page and the cache status say so.
  site.setMode({ mode: 'healthy', answer: 'This answer cannot be stored.' });
  const chat = await browser.context.newPage();
  await chat.goto('https://chatgpt.com/');
  await send(chat, 'Will this be kept when the disk is full?');
  await chat.waitForFunction(() => document.querySelector('.markdown')?.textContent.includes('cannot be stored.'));
  await chat.waitForSelector('html[data-understudy-cache-error="quota"]', { timeout: 10000 });
  assert.match(await chat.textContent('#understudy-cache-problem'), /cannot save this conversation: .*storage.* is full/);
  await lib.waitForFunction(async (key) => Boolean((await chrome.storage.local.get(key))[key]?.quota_error), STATUS_KEY, { timeout: 10000 });
  assert.match((await status(lib)).quota_error, /storage for the extension is full/);
  const reply = await lib.evaluate(() => chrome.runtime.sendMessage({ type: 'cache.status' }));
  assert.equal(reply.ok, true);
  assert.match(reply.value.quota_error, /full/);

  // An import into the library stops with a clear banner.
  const generated = await lib.evaluate(() => window.understudyLibrary.core.cacheGenerateExport(30, 6, 5));
  const file = path.join(tmp, 'conversations.json');
  fs.writeFileSync(file, generated);
  await lib.setInputFiles('#import-file', file);
  await lib.waitForFunction(() => /storage for the extension is full/.test(document.getElementById('banner').textContent), null, { timeout: 30000 });
  assert.equal(await lib.isHidden('#banner'), false);
  assert.match(await lib.textContent('#import-status'), /The import stopped: the browser storage for the extension is full/);
  assert.match((await status(lib)).quota_error, /storage for the extension is full/);
  await chat.close();
  await lib.close();

  // The library still opens, shows the problem, lists and searches what was kept.
  const again = await library();
  assert.match(await again.textContent('#banner'), /storage for the extension is full/);
  await again.waitForSelector('#list .row[data-id="before-full"]');
  await again.waitForSelector('body[data-search-ready="1"]');
  await again.fill('#search', 'sourdough');
  await again.waitForSelector('#results li[data-id="before-full"] mark');
  assert.deepEqual(again.errors, []);

  // Space is back: the next capture is stored and clears the error.
  await setQuota(null);
  site.setMode({ mode: 'healthy', answer: 'Stored again now.' });
  const chat2 = await browser.context.newPage();
  await chat2.goto('https://chatgpt.com/');
  await send(chat2, 'Is there room again?');
  await chat2.waitForFunction(() => document.querySelector('.markdown')?.textContent.includes('Stored again now.'));
  await again.waitForFunction(async (key) => !(await chrome.storage.local.get(key))[key], STATUS_KEY, { timeout: 10000 });
  // The prompt clears the error; the answer lands with the stream's end (captures are batched).
  const readTexts = () => again.evaluate(async (id) => {
    const { db, core } = window.understudyLibrary;
    const record = await db.getRecord(id);
    return record == null ? [] : core.cacheView(record).messages.map((m) => m.text);
  }, STREAMED_ID);
  let texts = await readTexts();
  for (let i = 0; i < 100 && !texts.includes('Stored again now.'); i++) {
    await again.waitForTimeout(50);
    texts = await readTexts();
  }
  assert.ok(texts.includes('Is there room again?') && texts.includes('Stored again now.'), JSON.stringify(texts));
  await chat2.close();
  await again.close();
});
