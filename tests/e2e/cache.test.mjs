// The conversation cache end to end: capture on the fake chatgpt.com, the extension's IndexedDB,
// survival across worker and browser restarts, the library page offline, import and export.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage, serviceWorker } from './browser.mjs';
import { cached, library as openLibrary, send, waitCached as waitCachedIn } from './cache-helpers.mjs';
import { sampleConversation, startFakeChatgpt } from './fake-chatgpt/server.mjs';

const STREAMED_ID = '6a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b';
let site;
let browser;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'understudy-cache-'));

before(async () => {
  // Every new chat gets this id (the fake gives each a fresh one by default).
  site = await startFakeChatgpt({ defaults: { conversationId: STREAMED_ID } });
  browser = await launch({ chatgptPort: site.port });
});

after(async () => {
  await browser?.close();
  await site?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const library = (context = browser.context) => openLibrary(context);
const waitCached = (pred, context = browser.context) => waitCachedIn(context, pred, 10000);

test('an earlier schema version is migrated when the cache opens', async () => {
  const page = await openExtensionPage(browser.context, 'www/popup.html');
  await page.evaluate(async (conv) => {
    await new Promise((resolve, reject) => {
      const r = indexedDB.open('understudy-cache', 1);
      r.onupgradeneeded = () => {
        const db = r.result;
        const recs = db.createObjectStore('conversations', { keyPath: 'id' });
        const metas = db.createObjectStore('metas', { keyPath: 'id' });
        // v1: no version field on the record, no `incomplete` nor `source` on the meta.
        recs.put({ id: conv.id, json: JSON.stringify({ id: conv.id, conversation: conv }) });
        metas.put({ version: 1, id: conv.id, title: conv.title, update_time: conv.update_time, model: null, message_count: 2 });
      };
      r.onsuccess = () => { r.result.close(); resolve(); };
      r.onerror = () => reject(r.error);
    });
  }, { ...sampleConversation('v1-conversation', { title: 'Kept from version one', answer: 'Old answer about sourdough' }) });
  await page.close();
  const lib = await library();
  assert.match(await lib.textContent('#list'), /Kept from version one/);
  const meta = await lib.evaluate(async () => (await window.understudyLibrary.db.allMetas()).find((m) => m.id === 'v1-conversation'));
  assert.equal(meta.version, 2);
  assert.equal(meta.source, 'unknown');
  assert.equal(meta.incomplete, false);
  // The migrated record is searchable.
  await lib.waitForSelector('body[data-search-ready="1"]');
  await lib.fill('#search', 'sourdough');
  await lib.waitForSelector('#results li[data-id="v1-conversation"] mark');
  await lib.close();
});

test('records an earlier build stored as JSON text stay readable and are rewritten as bytes', async () => {
  // A profile of its own: the database as a version-2 build left it ({id, json} records, a saved
  // index that does not know the conversation yet, its id in `dirty`).
  const b = await launch({ chatgptPort: site.port });
  try {
    const page = await openExtensionPage(b.context, 'www/popup.html');
    await page.evaluate(async (conv) => {
      await new Promise((resolve, reject) => {
        const r = indexedDB.open('understudy-cache', 2);
        r.onupgradeneeded = () => {
          const db = r.result;
          const recs = db.createObjectStore('conversations', { keyPath: 'id' });
          const metas = db.createObjectStore('metas', { keyPath: 'id' });
          metas.createIndex('t', 't');
          db.createObjectStore('dirty', { keyPath: 'id' }).put({ id: conv.id });
          db.createObjectStore('search', { keyPath: 'key' });
          recs.put({ id: conv.id, json: JSON.stringify({ version: 2, id: conv.id, source: 'capture', conversation: { ...conv, understudy_source: 'capture' } }) });
          metas.put({ version: 2, id: conv.id, title: conv.title, update_time: conv.update_time, model: null, incomplete: false, message_count: 2, source: 'capture', t: conv.update_time });
        };
        r.onsuccess = () => { r.result.close(); resolve(); };
        r.onerror = () => reject(r.error);
      });
    }, sampleConversation('v2-conversation', { title: 'Kept from version two', answer: 'An answer about kombucha' }));
    await page.close();
    const lib = await library(b.context);
    assert.match(await lib.textContent('#list'), /Kept from version two/);
    await lib.waitForSelector('body[data-search-ready="1"]');
    await lib.fill('#search', 'kombucha');
    await lib.waitForSelector('#results li[data-id="v2-conversation"] mark');
    const shapes = () => lib.evaluate(async () => {
      const { db, core } = window.understudyLibrary;
      const raw = await new Promise((resolve) => {
        db.db.transaction('conversations').objectStore('conversations').get('v2-conversation').onsuccess = (e) => resolve(e.target.result);
      });
      const view = core.cacheView(await db.getRecord('v2-conversation'));
      return { json: typeof raw.json, data: raw.data?.constructor?.name ?? null, texts: view.messages.map((m) => m.text), exported: JSON.parse(await window.understudyLibrary.exportIds(['v2-conversation'], 'json'))[0].title };
    });
    const before = await shapes();
    assert.deepEqual({ json: before.json, data: before.data, exported: before.exported }, { json: 'string', data: null, exported: 'Kept from version two' });
    // A capture into it: merged, and the record is now stored as bytes.
    await lib.evaluate(() => window.understudyLibrary.db.applyCaptures([{
      kind: 'turn', conversation_id: 'v2-conversation', nodes: [{ parent: 'v2-conversation-a1', message: { id: 'v2-u2', author: { role: 'user' }, content: { content_type: 'text', parts: ['And how long does it ferment?'] }, status: 'finished_successfully', create_time: 1800000000 } }], current: 'v2-u2',
    }]));
    const after = await shapes();
    assert.equal(after.data, 'Uint8Array');
    assert.equal(after.json, 'undefined');
    assert.ok(after.texts.includes('An answer about kombucha') && after.texts.includes('And how long does it ferment?'), JSON.stringify(after.texts));
    const meta = await lib.evaluate(async () => (await window.understudyLibrary.db.allMetas()).find((m) => m.id === 'v2-conversation'));
    assert.equal(meta.source, 'capture');
    assert.deepEqual(lib.errors, []);
    await lib.close();
  } finally {
    await b.close();
  }
});

test('a streamed answer is captured with its prompt', async () => {
  site.setMode({ mode: 'healthy', answer: 'Bring a warm jacket for the evenings.' });
  const page = await browser.context.newPage();
  await page.goto('https://chatgpt.com/');
  await send(page, 'What should I pack for Lisbon in March?');
  await page.waitForFunction(() => document.querySelector('.markdown')?.textContent.includes('evenings.'));
  const all = await waitCached((cs) => cs.some((c) => c.id === STREAMED_ID && c.texts.at(-1) === 'Bring a warm jacket for the evenings.'));
  const conv = all.find((c) => c.id === STREAMED_ID);
  assert.deepEqual(conv.texts, ['What should I pack for Lisbon in March?', 'Bring a warm jacket for the evenings.']);
  assert.equal(conv.incomplete, false);
  // The pending copy of the prompt was folded into the conversation.
  assert.ok(!all.some((c) => c.id.startsWith('pending-')));
  // Passive: the extension made no request of its own to the page's API.
  assert.deepEqual(site.requests.filter((r) => r.path.startsWith('/backend-api')).map((r) => r.method), ['POST']);
  await page.close();
});

test('a prompt whose send failed is still cached', async () => {
  site.setMode({ mode: 'status', status: 503 });
  const page = await browser.context.newPage();
  await page.goto('https://chatgpt.com/');
  await send(page, 'Draft a letter to my landlord about the heating');
  await page.waitForSelector('.text-token-text-error');
  const all = await waitCached((cs) => cs.some((c) => c.texts.includes('Draft a letter to my landlord about the heating')));
  assert.ok(all.find((c) => c.texts.includes('Draft a letter to my landlord about the heating')).id.startsWith('pending-'));
  await page.close();
  site.setMode({ mode: 'healthy' });
});

test('a tab closed mid-answer keeps what arrived, marked incomplete', async () => {
  site.setMode({ mode: 'stall', answer: 'The first half arrives and then the rest never comes at all.', tokenDelayMs: 20 });
  const page = await browser.context.newPage();
  await page.goto('https://chatgpt.com/');
  await send(page, 'Tell me a long story');
  await page.waitForFunction(() => document.querySelector('.markdown')?.textContent.includes('arrives'));
  await new Promise((r) => setTimeout(r, 400));
  await page.close();
  const all = await waitCached((cs) => cs.some((c) => c.texts[0] === 'Tell me a long story' && c.texts.length === 2));
  const conv = all.find((c) => c.texts[0] === 'Tell me a long story');
  assert.equal(conv.incomplete, true);
  assert.match(conv.texts[1], /^The first half arrives/);
  const lib = await library();
  assert.match(await lib.textContent(`#list .row[data-id="${STREAMED_ID}"]`), /incomplete/);
  await lib.close();
  site.setMode({ mode: 'healthy' });
});

test('a temporary chat is not captured', async () => {
  site.setMode({ mode: 'healthy', answer: 'Temporary answer.' });
  const page = await browser.context.newPage();
  await page.goto('https://chatgpt.com/?temporary-chat=true');
  await send(page, 'This temporary question must stay private');
  await page.waitForFunction(() => document.querySelector('.markdown')?.textContent.includes('Temporary answer.'));
  await new Promise((r) => setTimeout(r, 600));
  await page.close();
  const lib = await library();
  const all = await cached(lib);
  assert.ok(!JSON.stringify(all).includes('must stay private'));
  assert.ok(!JSON.stringify(all).includes('Temporary answer.'));
  await lib.close();
});

/** Waits until the settings document's capture switch (the one switch) is `on`. */
async function captureSwitchIs(page, on) {
  for (let i = 0; i < 100; i++) {
    if ((await page.evaluate(async () => (await chrome.storage.local.get('settings')).settings?.capture?.enabled)) === on) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the capture switch never became ${on}`);
}

test('capture can be turned off from the library', async () => {
  const lib = await library();
  await lib.uncheck('#capture-enabled');
  await captureSwitchIs(lib, false);
  site.setMode({ mode: 'healthy', answer: 'Not kept.' });
  const page = await browser.context.newPage();
  await page.goto('https://chatgpt.com/');
  await send(page, 'Nobody should keep this one');
  await page.waitForFunction(() => document.querySelector('.markdown')?.textContent.includes('Not kept.'));
  await new Promise((r) => setTimeout(r, 600));
  await page.close();
  assert.ok(!JSON.stringify(await cached(lib)).includes('Nobody should keep this one'));
  await lib.check('#capture-enabled');
  await captureSwitchIs(lib, true);
  await lib.close();
});

const HOSTILE_ID = 'c0ffee00-1111-4222-8333-444455556666';

test('a conversation the page loads is captured, and hostile content renders as text', async () => {
  site.setMode({
    conversations: {
      [HOSTILE_ID]: sampleConversation(HOSTILE_ID, {
        title: '<img src=x onerror="window.__pwned=1">Hostile',
        question: '<script>window.__pwned=2</script> what is this?',
        answer: 'Here: <img src=x onerror="window.__pwned=3"> and a table\n\n| a | b |\n|---|---|\n| `<b>` | **bold** |\n\n```html\n<script>alert(1)</script>\n```',
      }),
    },
  });
  const page = await browser.context.newPage();
  await page.goto(`https://chatgpt.com/c/${HOSTILE_ID}`);
  await waitCached((cs) => cs.some((c) => c.id === HOSTILE_ID));
  await page.close();
  const lib = await library();
  await lib.click(`#list .row[data-id="${HOSTILE_ID}"]`);
  await lib.waitForSelector('[data-testid="understudy-library-title"]');
  assert.equal(await lib.textContent('[data-testid="understudy-library-title"]'), '<img src=x onerror="window.__pwned=1">Hostile');
  assert.equal(await lib.locator('#view img, #view script').count(), 0);
  assert.equal(await lib.textContent('#view .understudy-code-lang'), 'html');
  assert.equal(await lib.getAttribute('#view pre code', 'class'), 'language-html');
  assert.equal((await lib.textContent('#view pre code')).trimEnd(), '<script>alert(1)</script>');
  assert.equal(await lib.textContent('#view table td code'), '<b>');
  assert.equal(await lib.textContent('#view table td strong'), 'bold');
  assert.equal(await lib.evaluate(() => window.__pwned ?? null), null);
  // The continue hook exists and sends its message.
  assert.equal(await lib.locator('[data-testid="understudy-library-continue"]').count(), 1);
  site.setMode({ mode: 'healthy' });
  await lib.close();
});

test('"Continue with another provider" hands the cached conversation to the side panel', async () => {
  const lib = await library();
  await lib.click(`#list .row[data-id="${HOSTILE_ID}"]`);
  await lib.waitForSelector('[data-testid="understudy-library-continue"]');
  const reply = await lib.evaluate((id) => chrome.runtime.sendMessage({ type: 'rescue.continue', conversation_id: id }), HOSTILE_ID);
  assert.deepEqual(reply, { ok: true, value: { opened: true, conversation_id: HOSTILE_ID } });
  // The side panel, opened on that conversation, carries its turns over as the chat's history.
  const panel = await openExtensionPage(browser.context, `www/sidepanel.html?c=${HOSTILE_ID}`);
  await panel.waitForSelector('body[data-ready="true"]');
  const carried = Number(await panel.getAttribute('body', 'data-handoff'));
  assert.ok(carried >= 2, `turns carried over: ${carried}`);
  assert.match(await panel.textContent('#history'), /<script>alert\(1\)<\/script>/);
  assert.equal(await panel.locator('#history script, #history img').count(), 0);
  await panel.close();
  await lib.close();
});

test('without traffic, the turns are read from the DOM', async () => {
  const page = await browser.context.newPage();
  await page.goto('https://chatgpt.com/c/dom-only-1?noload=1');
  await page.evaluate(() => {
    for (const [id, role, text] of [['d-u1', 'user', 'Seen only in the DOM'], ['d-a1', 'assistant', 'An answer read from the page']]) {
      const turn = document.createElement('article');
      const msg = document.createElement('div');
      msg.dataset.messageAuthorRole = role;
      msg.dataset.messageId = id;
      msg.textContent = text;
      turn.append(msg);
      document.getElementById('thread').append(turn);
    }
  });
  const all = await waitCached((cs) => cs.some((c) => c.id === 'dom-only-1'));
  assert.deepEqual(all.find((c) => c.id === 'dom-only-1').texts, ['Seen only in the DOM', 'An answer read from the page']);
  await page.close();
});

test('the cache survives a service-worker restart', async () => {
  const lib = await library();
  const cdp = await browser.context.newCDPSession(lib);
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await lib.close();
  site.setMode({ mode: 'healthy', answer: 'After the restart, still here.' });
  const page = await browser.context.newPage();
  await page.goto('https://chatgpt.com/');
  await send(page, 'Is the worker back?');
  await serviceWorker(browser.context);
  const all = await waitCached((cs) => cs.some((c) => c.id === STREAMED_ID && c.texts.includes('After the restart, still here.')));
  // Earlier captures are all still there.
  assert.ok(all.some((c) => c.id === HOSTILE_ID));
  assert.ok(all.some((c) => c.texts.includes('Draft a letter to my landlord about the heating')));
  await page.close();
});

test('the library opens, searches and renders offline', async () => {
  await browser.context.setOffline(true);
  try {
    const lib = await library();
    assert.deepEqual(lib.errors, []);
    await lib.waitForSelector('body[data-search-ready="1"]');
    await lib.press('body', '/');
    assert.equal(await lib.evaluate(() => document.activeElement.id), 'search');
    await lib.keyboard.type('landl');
    await lib.waitForSelector('#results li mark');
    assert.equal(await lib.textContent('#results li .snippet mark'), 'landlord');
    await lib.keyboard.press('ArrowDown');
    await lib.waitForSelector('#view .msg');
    assert.match(await lib.textContent('#view'), /Draft a letter to my landlord/);
    // Non-ASCII: highlight ranges are JS string indices.
    await lib.evaluate(() => window.understudyLibrary.db.applyCaptures([{
      kind: 'turn', conversation_id: 'unicode-1', nodes: [{ parent: null, message: { id: 'u-1', author: { role: 'user' }, content: { content_type: 'text', parts: ['Ça coûte 5 € — naïve café théâtre 😀 déjà vu'] }, status: 'finished_successfully', create_time: 1 } }], current: 'u-1',
    }]));
    await lib.reload();
    await lib.waitForSelector('body[data-search-ready="1"]');
    await lib.fill('#search', 'théâtre');
    await lib.waitForSelector('#results li .snippet mark');
    assert.equal(await lib.textContent('#results li .snippet mark'), 'théâtre');
    await lib.close();
  } finally {
    await browser.context.setOffline(false);
  }
});

test('a generated export imports with progress and exports back equal', async () => {
  const lib = await library();
  // No title of its own (a prompt whose send failed): listed by its prompt's words, not "Untitled".
  await lib.waitForFunction(() => /Draft a letter to my landlord about the heating/.test(document.getElementById('list').textContent));
  // Nothing in progress: no progress bar.
  assert.equal(await lib.isVisible('#import-progress'), false);
  const generated = await lib.evaluate(() => window.understudyLibrary.core.cacheGenerateExport(40, 6, 11));
  const original = JSON.parse(generated);
  // One malformed entry in the middle is reported and skipped.
  const withBad = `${generated.slice(0, -1)}, {"title": 5, "mapping": 7}, ${JSON.stringify(sampleConversation('after-bad', { title: 'After the bad one' }))}]`;
  const file = path.join(tmp, 'conversations.json');
  fs.writeFileSync(file, withBad);
  await lib.setInputFiles('#import-file', file);
  await lib.waitForFunction(() => /Imported \d+ conversations/.test(document.getElementById('import-status').textContent), null, { timeout: 30000 });
  assert.equal(await lib.evaluate(() => document.getElementById('import-progress').value), 1);
  assert.equal(await lib.isVisible('#import-progress'), false, 'the bar goes once the import is done');
  assert.match(await lib.textContent('#import-status'), /Imported 41 conversations; 1 malformed entry skipped/);
  assert.match(await lib.textContent('#banner'), /Skipped 1 malformed entry/);
  const ids = original.map((c) => c.id);
  const exported = JSON.parse(await lib.evaluate((ids) => window.understudyLibrary.exportIds(ids, 'json'), ids));
  const strip = (c) => JSON.parse(JSON.stringify(c, (k, v) => (k.startsWith('understudy_') ? undefined : v)));
  const byId = new Map(exported.map((c) => [c.id, strip(c)]));
  for (const c of original) assert.deepEqual(byId.get(c.id), c, `conversation ${c.id} round-trips`);
  // A download through the page's own button.
  const [download] = await Promise.all([
    lib.waitForEvent('download'),
    lib.selectOption('#export-format', 'markdown').then(() => lib.click('#export-all')),
  ]);
  assert.equal(download.suggestedFilename(), 'understudy-export.md');
  await lib.close();
});

test('delete one and delete all', async () => {
  const lib = await library();
  await lib.click(`#list .row[data-id="${HOSTILE_ID}"]`);
  await lib.click('[data-testid="understudy-library-delete"]');
  await lib.waitForFunction((id) => !document.querySelector(`#list .row[data-id="${id}"]`), HOSTILE_ID);
  lib.on('dialog', (d) => d.accept());
  await lib.click('#delete-all');
  await lib.waitForFunction(() => /^0 conversations/.test(document.getElementById('count').textContent));
  assert.deepEqual(await cached(lib), []);
  await lib.close();
});

test('the cache survives a browser restart with the same profile', async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'understudy-profile-'));
  let b = null;
  try {
    b = await launch({ chatgptPort: site.port, userDataDir: profile });
    site.setMode({ mode: 'healthy', answer: 'Persisted across restarts.' });
    const page = await b.context.newPage();
    await page.goto('https://chatgpt.com/');
    await send(page, 'Remember me after a restart');
    await waitCached((cs) => cs.some((c) => c.texts.includes('Persisted across restarts.')), b.context);
    await b.close();
    b = null;
    b = await launch({ chatgptPort: site.port, userDataDir: profile });
    await waitCached((cs) => cs.some((c) => c.texts.includes('Remember me after a restart') && c.texts.includes('Persisted across restarts.')), b.context);
  } finally {
    // A browser left open would keep the test run alive after a failure.
    await b?.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});
