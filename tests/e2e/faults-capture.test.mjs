// The disk fills up in the middle of a capture: an answer is streaming on the fake chatgpt.com, its
// prompt already cached, when the extension origin's quota drops to nothing (CDP
// Storage.overrideQuotaForOrigin; cache-quota.test.mjs covers a disk already full). The user is
// told in the page and in the library, nothing cached before is lost or damaged, and once space is
// back the answer is recovered from the conversation the page loads again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { extensionId, launch, serviceWorker } from './browser.mjs';
import { library, send } from './cache-helpers.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';
import { recordRow } from './reliability.mjs';

const ID = '7b2e1d4f-3c5a-4f6e-8b9c-0d1e2f3a4b5c';
const STATUS_KEY = 'understudy.cache.status';
const ANSWER = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ') + ' THE END.';
let site;
let browser;
let cdp;

before(async () => {
  site = await startFakeChatgpt({ defaults: { conversationId: ID } });
  browser = await launch({ chatgptPort: site.port });
  await serviceWorker(browser.context);
});

after(async () => {
  await browser?.close();
  await site?.close();
});

async function setQuota(quotaSize) {
  cdp ??= await browser.context.newCDPSession(await browser.context.newPage());
  const origin = `chrome-extension://${extensionId()}`;
  await cdp.send('Storage.overrideQuotaForOrigin', quotaSize == null ? { origin } : { origin, quotaSize });
}

const view = (lib, id) => lib.evaluate(async (id) => {
  const { db, core } = window.understudyLibrary;
  const record = await db.getRecord(id);
  return record == null ? null : core.cacheView(record).messages.map((m) => m.text);
}, id);

test('quota exceeded mid-capture: the user is told, nothing cached is lost, the answer comes back with space', async () => {
  const lib = await library(browser.context);
  await lib.evaluate(() => window.understudyLibrary.db.applyCaptures([{
    kind: 'turn', conversation_id: 'kept-before', current: 'kb-1',
    nodes: [{ parent: null, message: { id: 'kb-1', author: { role: 'user' }, content: { content_type: 'text', parts: ['Kept before the disk filled: quince jam'] }, status: 'finished_successfully', create_time: 1 } }],
  }]));

  // About 9 s of answer; the disk fills once the prompt is cached.
  site.setMode({ mode: 'healthy', answer: ANSWER, tokenDelayMs: 150 });
  const chat = await browser.context.newPage();
  await chat.goto('https://chatgpt.com/');
  await send(chat, 'Will the answer survive a full disk?');
  const until = Date.now() + 15000;
  let texts = null;
  while (!(texts = await view(lib, ID))?.includes('Will the answer survive a full disk?')) {
    assert.ok(Date.now() < until, `the prompt was never cached: ${JSON.stringify(texts)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await setQuota(1);

  // The answer finishes on the page; the page and the cache status say the disk is full.
  await chat.waitForFunction(() => document.querySelector('.markdown')?.textContent.includes('THE END.'), null, { timeout: 30000 });
  await chat.waitForSelector('html[data-understudy-cache-error="quota"]', { timeout: 15000 });
  assert.match(await chat.textContent('#understudy-cache-problem'), /cannot save this conversation: .*storage.* is full/);
  const status = await lib.evaluate(async (k) => (await chrome.storage.local.get(k))[k], STATUS_KEY);
  assert.match(status.quota_error, /storage for the extension is full/);

  // What was cached is intact and readable: the earlier conversation, and this one's prompt.
  assert.deepEqual(await view(lib, 'kept-before'), ['Kept before the disk filled: quince jam']);
  const during = await view(lib, ID);
  assert.ok(during.includes('Will the answer survive a full disk?'), JSON.stringify(during));
  assert.ok(!during.some((t) => t.includes('THE END.')), 'the end of the answer was not stored (the disk was full)');
  await lib.close();
  const shown = await library(browser.context);
  assert.match(await shown.textContent('#banner'), /storage for the extension is full/);
  await shown.waitForSelector(`#list .row[data-id="${ID}"]`);
  await shown.waitForSelector('#list .row[data-id="kept-before"]');
  assert.deepEqual(shown.errors, []);

  // Space is back; the page loads the conversation again: the whole answer is kept, the error cleared.
  await setQuota(null);
  await chat.goto(`https://chatgpt.com/c/${ID}`);
  const until2 = Date.now() + 20000;
  let after;
  while (!(after = await view(shown, ID))?.some((t) => t.includes('THE END.'))) {
    assert.ok(Date.now() < until2, `the answer never came back: ${JSON.stringify(after)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(after.some((t) => t.startsWith('word0 word1') && t.endsWith('THE END.')), JSON.stringify(after));
  await shown.waitForFunction(async (k) => !(await chrome.storage.local.get(k))[k], STATUS_KEY, { timeout: 10000 });
  await chat.close();
  await shown.close();
  recordRow({ name: 'faults: quota exceeded mid-capture', kind: 'faults', tried: 1, held: 1, note: 'quota dropped to 1 byte while an answer streamed: the user told in the page and the library; the prompt and earlier conversations intact; the whole answer kept once space was back and the chat reloaded' });
});
