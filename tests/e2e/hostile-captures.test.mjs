// A hostile chat page against the cache: a page script can post whatever the capture hook posts
// (`{source: 'understudy-capture', kind: 'conversation', json, path}`), so it floods, forges and
// targets other conversations. Each case below is refused by the worker (SECURITY.md "Captures"):
// per-tab budgets (new conversations and bytes per minute, a body at most 16 MB), a body changes
// only the conversation its request names and the tab shows, and the one capture switch (the
// settings' `capture.enabled`, the library's and the options page's checkbox alike) is obeyed by
// captures and rescued answers.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { recordRow } from './reliability.mjs';
import { launch, openExtensionPage } from './browser.mjs';
import { cached, library, send } from './cache-helpers.mjs';
import { NOTICE, openChat, sendPrompt, stopWorker } from './detect-helpers.mjs';
import { clickRescue, waitAnswer } from './rescue-frame-helpers.mjs';
import { sampleConversation, startFakeChatgpt } from './fake-chatgpt/server.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { configure, provider } from './fake-providers/harness.mjs';

const NEW_CHAT_ID = '7b2e1d4f-3c5a-4b6c-8d7e-9f0a1b2c3d4e';
const VICTIM = 'a11ce000-1111-4222-8333-444455556666';
const OTHER = 'b0b00000-1111-4222-8333-444455556666';
const PROBLEM = '#understudy-cache-problem';
let site;
let fake;
let browser;

before(async () => {
  site = await startFakeChatgpt({ defaults: { conversationId: NEW_CHAT_ID } });
  fake = await startFakeProviders();
  browser = await launch({ chatgptPort: site.port });
});

after(async () => {
  await browser?.close();
  await fake?.close();
  await site?.close();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A forged body of the plural endpoint: `{conversation_id, title, messages}`. */
const forged = (id, title, text = 'forged text', pad = '') =>
  JSON.stringify({
    conversation_id: id,
    title,
    current_node: `${id}-m`,
    messages: [{ id: `${id}-m`, author: { role: 'user' }, content: { content_type: 'text', parts: [text] }, status: 'finished_successfully' }],
    pad,
  });

async function chatPage(url) {
  const page = await browser.context.newPage();
  await page.goto(url);
  await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
  return page;
}

/** The cache's ids and the stored status, read from the library. */
async function cacheState() {
  const lib = await library(browser.context);
  try {
    const all = await cached(lib);
    const status = await lib.evaluate(async () => (await chrome.storage.local.get('understudy.cache.status'))['understudy.cache.status'] ?? null);
    return { all, status };
  } finally {
    await lib.close();
  }
}

test('a flood of forged conversations stores at most the bound, the page keeps working, the user is told', async () => {
  site.setMode({ mode: 'healthy' });
  const page = await chatPage('https://chatgpt.com/');
  // Forged bodies, each under its own id and path, the page's URL moved to each as if it showed
  // it: 40 paced (so the worker surely sees each URL: they pass the origin rule and meet the
  // budget), then 3,000 as fast as the page can post them.
  const started = Date.now();
  await page.evaluate(async ({ fast, paced }) => {
    const body = (id) => JSON.stringify({ conversation_id: id, title: 'Forged', messages: [{ id: `${id}-m`, author: { role: 'user' }, content: { content_type: 'text', parts: ['spam'] } }] });
    const post = (id) => {
      history.replaceState(null, '', `/c/${id}`);
      window.postMessage({ source: 'understudy-capture', kind: 'conversation', json: body(id), path: `/backend-api/conversations/${id}` }, location.origin);
    };
    for (let i = 0; i < paced; i++) {
      post(`paced-${i}`);
      await new Promise((r) => setTimeout(r, 150));
    }
    for (let i = 0; i < fast; i++) post(`flood-${i}`);
    history.replaceState(null, '', '/');
  }, { fast: 3000, paced: 40 });
  // The user is told, once, on the page.
  await page.waitForSelector(PROBLEM, { timeout: 15000 });
  assert.match(await page.textContent(PROBLEM), /stopped saving this page's conversations for a minute/);
  await sleep(4000); // bodies that waited for the URL are decided
  const { all, status } = await cacheState();
  const stored = all.filter((c) => /^(flood|paced)-/.test(c.id)).length;
  console.log(`# forged conversations: 3040 tried, ${stored} stored, in ${Date.now() - started} ms`);
  assert.ok(stored <= 30, `at most 30 new conversations a minute: ${stored}`);
  assert.ok(stored > 0, 'what looks like browsing is still kept');
  assert.match(status?.quota_error ?? '', /30 conversations in a minute/);
  // The page keeps working: a real exchange still goes through and is kept... in a minute, so
  // here it at least answers.
  assert.equal(await page.evaluate(() => 1 + 1), 2);
  await send(page, 'Still working?');
  await page.waitForFunction(() => document.querySelector('.markdown')?.textContent.length > 0, null, { timeout: 10000 });
  await page.close();
  recordRow({ name: 'attacks: a flood of forged conversations', kind: 'attacks', tried: 3040, held: 3040, note: `3,040 forged bodies, each under its own id with the page's URL moved to it: ${stored} stored (the bound: 30 new conversations a minute per tab; before: 3,040), the user told once, the page still answers` });
});

test('8 forged bodies of 30 MB are refused, the user is told', async () => {
  site.setMode({ mode: 'healthy', conversations: { [OTHER]: sampleConversation(OTHER, { title: 'Other chat' }) } });
  const page = await chatPage(`https://chatgpt.com/c/${OTHER}`);
  await page.evaluate(async (id) => {
    const pad = 'x'.repeat(30 << 20);
    for (let i = 0; i < 8; i++) {
      const json = JSON.stringify({ conversation_id: id, title: `Huge ${i}`, messages: [{ id: `huge-${i}`, author: { role: 'user' }, content: { content_type: 'text', parts: ['big'] } }], pad });
      window.postMessage({ source: 'understudy-capture', kind: 'conversation', json, path: `/backend-api/conversations/${id}` }, location.origin);
      await new Promise((r) => setTimeout(r, 50));
    }
  }, OTHER);
  await page.waitForSelector(PROBLEM, { timeout: 30000 });
  assert.match(await page.textContent(PROBLEM), /more than 16 MB/);
  await sleep(1000);
  const { all } = await cacheState();
  const other = all.find((c) => c.id === OTHER);
  assert.ok(!other || !/Huge/.test(other.title ?? ''), 'no huge body stored');
  assert.ok(!all.some((c) => c.raw.length > (16 << 20)), 'no record over 16 MB');
  await page.close();
  recordRow({ name: 'attacks: forged 30 MB bodies', kind: 'attacks', tried: 8, held: 8, note: '8 forged conversation bodies of 30 MB: none stored (bound 16 MB a body, 16 MB a minute per tab), the user told' });
});

test('a forged capture cannot rewrite another cached conversation', async () => {
  site.setMode({ mode: 'healthy', conversations: { [VICTIM]: sampleConversation(VICTIM, { title: 'My real chat', question: 'Real question', answer: 'Real answer' }) } });
  const victimPage = await chatPage(`https://chatgpt.com/c/${VICTIM}`);
  for (let i = 0; i < 100; i++) {
    if ((await cacheState()).all.some((c) => c.id === VICTIM && c.title === 'My real chat')) break;
    await sleep(200);
  }
  await victimPage.close();
  const before = (await cacheState()).all.find((c) => c.id === VICTIM);
  assert.ok(before, 'the victim conversation is cached');

  // Another tab, on another conversation, forges the victim's body three ways.
  site.setMode({ mode: 'healthy', conversations: { [OTHER]: sampleConversation(OTHER, { title: 'Other chat' }) } });
  const page = await chatPage(`https://chatgpt.com/c/${OTHER}`);
  await page.evaluate(({ victim, other, bodies }) => {
    const post = (json, path) => window.postMessage({ source: 'understudy-capture', kind: 'conversation', json, path }, location.origin);
    post(bodies[0], `/backend-api/conversations/${victim}`); // the victim's own path
    post(bodies[1], `/backend-api/conversations/${other}`); // filed under this tab's path
    post(bodies[2], `/backend-api/conversations/${victim}/messages?before=x`); // an "older page"
    window.postMessage({ source: 'understudy-capture', kind: 'conversation', json: bodies[0] }, location.origin); // no path
  }, {
    victim: VICTIM,
    other: OTHER,
    bodies: [forged(VICTIM, 'Pwned 1', 'injected 1'), forged(VICTIM, 'Pwned 2', 'injected 2'), forged(VICTIM, 'Pwned 3', 'injected 3')],
  });
  await sleep(5000); // longer than a body waits for the tab's URL
  const after = (await cacheState()).all.find((c) => c.id === VICTIM);
  assert.equal(after.title, 'My real chat');
  assert.deepEqual(after.texts, before.texts);
  assert.ok(!after.raw.includes('injected'), 'no forged message in the victim');
  await page.close();
  recordRow({ name: 'attacks: forged captures of another conversation', kind: 'attacks', tried: 4, held: 4, note: "forged bodies for another cached conversation (its own path, this tab's path, an older page, no path): that conversation unchanged (before: retitled)" });
});

test("a chatgpt.com stream naming another site's conversation cannot write into it", async () => {
  // A Claude conversation in the cache (kept as Claude's own captures keep it: `claude:<id>`).
  const lib = await library(browser.context);
  const key = 'claude:0c1a0de0-1111-4222-8333-444455556666';
  const user = { id: 'cl-u1', author: { role: 'user' }, content: { content_type: 'text', parts: ['A question for Claude'] }, status: 'finished_successfully', create_time: 1 };
  const seeded = await lib.evaluate((c) => chrome.runtime.sendMessage({ type: 'cache.capture', capture: c }), { kind: 'turn', conversation_id: key, site: 'claude', title: 'Claude chat', nodes: [{ parent: null, message: user }], current: 'cl-u1', pending: null });
  assert.equal(seeded.ok, true, JSON.stringify(seeded));
  await lib.close();
  const before = (await cacheState()).all.find((c) => c.id === key);
  assert.deepEqual(before.texts, ['A question for Claude']);
  // The chatgpt.com page's own stream says its conversation is that key (the page can say anything).
  site.setMode({ mode: 'healthy', conversationId: key, answer: 'injected into Claude' });
  const page = await chatPage('https://chatgpt.com/');
  await send(page, 'A prompt whose stream names Claude');
  await page.waitForFunction(() => document.querySelector('.markdown')?.textContent.includes('injected into Claude'));
  await sleep(2500); // the stream's batches and their captures
  const after = (await cacheState()).all.find((c) => c.id === key);
  assert.deepEqual(after.texts, before.texts, 'the Claude conversation is unchanged');
  assert.equal(after.site, 'claude');
  assert.ok(!after.raw.includes('injected'), 'no message of the ChatGPT page in it');
  await page.close();
  site.setMode({ mode: 'healthy' });
  recordRow({ name: "attacks: a ChatGPT stream naming another site's conversation", kind: 'attacks', tried: 1, held: 1, note: 'a chatgpt.com stream whose conversation id is claude:<id>: the Claude conversation unchanged (before: the ChatGPT turn was merged into it)' });
});

/** Waits until the settings document's capture switch is `on`. */
async function switchIs(page, on) {
  for (let i = 0; i < 100; i++) {
    if ((await page.evaluate(async () => (await chrome.storage.local.get('settings')).settings?.capture?.enabled)) === on) return;
    await sleep(100);
  }
  assert.fail(`the capture switch never became ${on}`);
}

test('capture off (the options page and the library: one switch): no capture and no rescued answer is kept', async () => {
  // Providers for the rescue (the fake answers), capture on.
  const control = await openExtensionPage(browser.context, 'www/options.html');
  const name = 'nokeep';
  fake.plan(name, [{ fault: 'ok', tokenDelayMs: 5 }]);
  await configure(control, [provider(fake, name, 'openai')]);
  await control.reload();
  await control.waitForSelector('#capture');

  // Off from the options page ("Keep my ChatGPT conversations").
  await control.waitForFunction(() => document.getElementById('capture')?.checked === true);
  await control.uncheck('#capture');
  await control.click('#save');
  await switchIs(control, false);

  // A chat the page loads, and a body forged for it: not kept.
  const id = 'c0de0000-1111-4222-8333-444455556666';
  site.setMode({ mode: 'healthy', conversations: { [id]: sampleConversation(id, { title: 'Private chat', question: 'Private question' }) } });
  const loaded = await openChat(browser.context, `https://chatgpt.com/c/${id}`);
  await loaded.evaluate((i) => {
    const json = JSON.stringify({ conversation_id: i, title: 'Forged while off', messages: [] });
    window.postMessage({ source: 'understudy-capture', kind: 'conversation', json, path: `/backend-api/conversations/${i}` }, location.origin);
  }, id);
  await sleep(1000);
  await loaded.close();
  // A new chat: its stream, then a failure and a rescue with the local provider.
  const secret = 'Never keep this prompt';
  site.setMode({ mode: 'healthy' });
  const page = await openChat(browser.context, 'https://chatgpt.com/');
  await sendPrompt(page, secret);
  await page.waitForFunction(() => document.querySelector('[data-testid="conversation-turn-2"] .markdown')?.textContent.length > 0, null, { timeout: 10000 });
  await page.waitForTimeout(300);
  site.setMode({ mode: 'status', status: 503 });
  await sendPrompt(page, 'A prompt that fails, rescued elsewhere');
  await page.waitForSelector(NOTICE, { timeout: 10000 });
  await clickRescue(page, '[data-testid="understudy-continue"]');
  const answered = (await waitAnswer(page)).text;
  assert.match(answered, /one token at a time/, 'the rescue answered');
  await sleep(1500);
  await page.close();
  const { all } = await cacheState();
  const text = JSON.stringify(all);
  assert.ok(!all.some((c) => c.id === id), 'nothing of the chat kept');
  assert.ok(!text.includes(secret) && !text.includes('Private question') && !text.includes('one token at a time'), 'no capture, no rescued answer');

  // The library shows the same switch off; on again from there, the options page shows it on.
  const lib = await library(browser.context);
  await lib.waitForFunction(() => document.getElementById('capture-enabled').checked === false);
  await lib.check('#capture-enabled');
  await switchIs(lib, true);
  await lib.close();
  await control.reload();
  await control.waitForFunction(() => document.getElementById('capture')?.checked === true);
  await control.close();
  site.setMode({ mode: 'healthy' });
  recordRow({ name: 'attacks: captures while capture is off', kind: 'attacks', tried: 4, held: 4, note: 'with capture off: a loaded chat, a forged body, a streamed exchange and a rescued answer: nothing kept (before: the exchange and the answer kept)' });
});

test('the old library switch, stored off by an earlier version, is moved into the settings once', async () => {
  const control = await openExtensionPage(browser.context, 'www/options.html');
  await control.evaluate(async () => chrome.storage.local.set({ 'understudy.preferences': { capture_enabled: false } }));
  // A new worker life reads it.
  await stopWorker(browser.context, control);
  for (let i = 0; i < 100; i++) {
    const local = await control.evaluate(async () => chrome.storage.local.get(['settings', 'understudy.preferences']));
    if (local.settings?.capture?.enabled === false && !local['understudy.preferences']) return control.close();
    // Any message starts the worker again.
    await control.evaluate(async () => chrome.runtime.sendMessage({ type: 'cache.status' }).catch(() => null));
    await sleep(100);
  }
  assert.fail('the old switch was not moved');
});
