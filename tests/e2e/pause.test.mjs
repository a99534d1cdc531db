// Pause, end to end: the real extension on the fake chatgpt.com, the pause switch set through the
// worker's settings API as the popup sets it. While paused a failing page shows no notice and nothing
// is kept; the switch is followed live (no reload) both ways. Also: what arrived of an answer is kept
// when the tab is closed before the first snapshot (the flush on pagehide).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage } from './browser.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';
import { NOTICE, noticeKind, sendPrompt, tabEntry } from './detect-helpers.mjs';

const SETTLE_MS = 1200; // longer than a capture snapshot and a DOM sample
let site;
let browser;
let control;

before(async () => {
  site = await startFakeChatgpt();
  browser = await launch({ chatgptPort: site.port });
  control = await openExtensionPage(browser.context, 'www/popup.html');
});

after(async () => {
  await browser?.close();
  await site?.close();
});

/** Sets the pause switch the way the popup does: settings.get, then settings.save. */
async function setPaused(paused) {
  const saved = await control.evaluate(async (p) => {
    const got = await chrome.runtime.sendMessage({ type: 'settings.get' });
    const settings = { ...got.value.settings, paused: p };
    return chrome.runtime.sendMessage({ type: 'settings.save', settings, clear_keys: [] });
  }, paused);
  assert.equal(saved.ok && saved.value.saved, true, JSON.stringify(saved));
}

/** Every text in the conversation cache. */
async function cachedTexts() {
  const lib = await openExtensionPage(browser.context, 'www/library.html');
  await lib.waitForSelector('body[data-listed="1"]', { timeout: 15000 });
  const texts = await lib.evaluate(async () => {
    const { db, core } = window.understudyLibrary;
    const out = [];
    for (const json of await db.allJsons()) out.push(...core.cacheView(json).messages.map((m) => m.text));
    return out;
  });
  await lib.close();
  return texts;
}

async function waitCached(pred, timeout = 10000) {
  const until = Date.now() + timeout;
  let texts;
  do {
    texts = await cachedTexts();
    if (pred(texts)) return texts;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < until);
  assert.fail(`cache never matched: ${JSON.stringify(texts).slice(0, 1000)}`);
}

async function openPage(url = 'https://chatgpt.com/') {
  const page = await browser.context.newPage();
  await page.goto(url);
  await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
  return page;
}

test('paused: a failing page shows no notice and nothing is kept; on resume the notice shows and capture works again', async () => {
  await setPaused(true);
  try {
    const page = await openPage();
    site.setMode({ mode: 'status', status: 503 });
    await sendPrompt(page, 'A paused prompt that nobody keeps');
    await page.waitForSelector('.text-token-text-error'); // the page itself shows the failure
    await page.waitForTimeout(SETTLE_MS);
    assert.equal(await noticeKind(page), null, 'no notice while paused');
    const entry = await tabEntry(browser.context, page.url());
    assert.ok(!entry?.current && !(entry?.observed > 0), `no detection sent while paused: ${JSON.stringify(entry)}`);
    assert.ok(!(await cachedTexts()).includes('A paused prompt that nobody keeps'), 'nothing captured while paused');

    // Resumed live: the failure on screen is noticed without a reload.
    await setPaused(false);
    await page.waitForSelector(`${NOTICE}[data-kind="service_down"]`, { timeout: 5000 });

    // Paused live again: the notice goes; back again: it returns.
    await setPaused(true);
    await page.waitForSelector(NOTICE, { state: 'detached', timeout: 5000 });
    await setPaused(false);
    await page.waitForSelector(`${NOTICE}[data-kind="service_down"]`, { timeout: 5000 });

    // Capture works again.
    site.setMode({ mode: 'healthy', answer: 'Kept again after the pause.' });
    await sendPrompt(page, 'A prompt after the pause');
    await waitCached((t) => t.includes('A prompt after the pause') && t.includes('Kept again after the pause.'));
    await page.waitForSelector(NOTICE, { state: 'detached', timeout: 5000 });
    await page.close();
  } finally {
    await setPaused(false);
    site.setMode({ mode: 'healthy' });
  }
});

test('paused while an answer streams: the rest of it is not kept, and a stall raises nothing', async () => {
  await control.evaluate(() => chrome.storage.local.set({ 'detect.timing': { stall_ms: 800, no_start_ms: 800 } }));
  try {
    const page = await openPage('https://chatgpt.com/?quiet=1');
    site.setMode({ mode: 'stall', answer: 'one two three four five six seven eight nine ten', tokenDelayMs: 20 });
    await sendPrompt(page, 'Stall while paused');
    await page.waitForFunction(() => document.querySelector('.markdown')?.textContent.includes('two'));
    await setPaused(true);
    await page.waitForTimeout(SETTLE_MS + 800);
    assert.equal(await noticeKind(page), null, 'no stall notice while paused');
    await page.close();
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!(await cachedTexts()).some((t) => t.startsWith('one two three four five')), 'the stalled answer was not kept after the pause');
  } finally {
    await control.evaluate(() => chrome.storage.local.remove('detect.timing'));
    await setPaused(false);
    site.setMode({ mode: 'healthy' });
  }
});

test('a tab closed right after the answer started keeps what had arrived (flushed on pagehide)', async () => {
  site.setMode({ mode: 'stall', answer: 'Only this much had arrived before the tab was closed, the rest never came.', tokenDelayMs: 10 });
  const page = await openPage();
  await page.fill('#prompt-textarea', 'Closed before the first snapshot');
  const response = page.waitForResponse((r) => r.url().endsWith('/backend-api/f/conversation'));
  await page.click('[data-testid="send-button"]');
  await response;
  await page.waitForFunction(() => document.querySelector('.markdown')?.textContent.includes('arrived'));
  await page.close(); // well before the first snapshot, a second into the answer
  const texts = await waitCached((t) => t.some((x) => x.startsWith('Only this much had arrived')));
  assert.ok(texts.includes('Closed before the first snapshot'));
  site.setMode({ mode: 'healthy' });
});
