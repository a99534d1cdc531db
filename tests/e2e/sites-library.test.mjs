// The library holds the conversations of several chat sites side by side: one browser, a healthy
// turn on the fake chatgpt.com, claude.ai, gemini.google.com and chat.deepseek.com; the library
// lists all four, each named by its site, filters them by site, and its search finds each site's
// answer (and, filtered, only that site's).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch } from './browser.mjs';
import { library, send, waitCached } from './cache-helpers.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';
import { startFakeClaude } from './fake-claude/server.mjs';
import { startFakeDeepseek } from './fake-deepseek/server.mjs';
import { startFakeGemini } from './fake-gemini/server.mjs';

// Each site: its fake, how a prompt is sent there, and an answer with a word of its own.
const SITES = [
  { id: 'claude', host: 'claude.ai', url: 'https://claude.ai/new', start: startFakeClaude, composer: '.ProseMirror[role="textbox"]', button: 'button[aria-label="Send message"]', word: 'marmalade' },
  { id: 'gemini', host: 'gemini.google.com', url: 'https://gemini.google.com/app', start: startFakeGemini, composer: 'rich-textarea .ql-editor[contenteditable="true"]', button: 'button[aria-label="Send message"]', word: 'tangerine' },
  { id: 'deepseek', host: 'chat.deepseek.com', url: 'https://chat.deepseek.com/', start: startFakeDeepseek, composer: 'textarea#chat-input', button: null, word: 'persimmon' },
];
const answerOf = (word) => `A short answer about ${word} jam.`;

let chatgpt;
const fakes = {};
let browser;

before(async () => {
  chatgpt = await startFakeChatgpt();
  for (const s of SITES) fakes[s.id] = await s.start();
  browser = await launch({ chatgptPort: chatgpt.port, hostRules: Object.fromEntries(SITES.map((s) => [s.host, fakes[s.id].port])) });
});

after(async () => {
  await browser?.close();
  for (const f of Object.values(fakes)) await f.close();
  await chatgpt?.close();
});

test('one healthy turn on ChatGPT, Claude, Gemini and DeepSeek: the library lists the four side by side, each under its site', async () => {
  chatgpt.setMode({ mode: 'healthy', answer: answerOf('quince') });
  const page = await browser.context.newPage();
  await page.goto('https://chatgpt.com/');
  await send(page, 'Jam ideas?');
  for (const s of SITES) {
    fakes[s.id].setMode({ mode: 'healthy', answer: answerOf(s.word) });
    const tab = await browser.context.newPage();
    await tab.goto(s.url);
    await tab.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
    await tab.waitForTimeout(300);
    await tab.fill(s.composer, 'Jam ideas?');
    if (s.button) await tab.click(s.button);
    else await tab.press(s.composer, 'Enter');
  }
  const all = await waitCached(browser.context, (cs) => ['quince', ...SITES.map((s) => s.word)]
    .every((w) => cs.some((c) => c.texts.includes(answerOf(w)) && c.texts.includes('Jam ideas?') && !c.incomplete)), 30000);
  const siteOf = (w) => {
    const c = all.find((x) => x.texts.includes(answerOf(w)));
    return c ? c.site : 'missing';
  };
  // One conversation each: a turn kept before its stream named the conversation joined it.
  assert.equal(all.length, 4, JSON.stringify(all.map((c) => [c.id, c.texts])));
  assert.equal(siteOf('quince'), null, 'ChatGPT\'s conversation has no site of its own');
  for (const s of SITES) {
    assert.equal(siteOf(s.word), s.id);
    assert.ok(all.find((c) => c.site === s.id).id.startsWith(`${s.id}:`));
  }

  const lib = await library(browser.context);
  const rows = await lib.evaluate(() => [...document.querySelectorAll('#list .row')].map((r) => [r.dataset.site, r.querySelector('.sub').textContent.split(' · ')[0]]));
  assert.deepEqual(new Map(rows), new Map([['chatgpt', 'ChatGPT'], ['claude', 'Claude'], ['gemini', 'Gemini'], ['deepseek', 'DeepSeek']]));
  // The filter offers the sites the cache holds, and shows one site's conversations only.
  const filter = '[data-testid="understudy-library-site"]';
  assert.deepEqual(await lib.$$eval(`${filter} option`, (os) => os.map((o) => o.value)), ['', 'chatgpt', 'claude', 'gemini', 'deepseek']);
  await lib.selectOption(filter, 'gemini');
  assert.deepEqual(await lib.$$eval('#list .row', (rs) => rs.map((r) => r.dataset.site)), ['gemini']);
  assert.match(await lib.textContent('#count'), /\b1\b/);
  // Search: every site's answer is found; filtered by site, only that site's.
  await lib.selectOption(filter, '');
  await lib.fill('#search', 'jam');
  await lib.waitForFunction(() => document.querySelectorAll('#results li').length === 4);
  await lib.selectOption(filter, 'claude');
  await lib.waitForFunction(() => document.querySelectorAll('#results li').length === 1);
  assert.match(await lib.getAttribute('#results li', 'data-id'), /^claude:/);
  await lib.click('#results li');
  await lib.waitForSelector('#view article.msg.assistant .body');
  assert.equal((await lib.textContent('#view article.msg.assistant .body')).trim(), answerOf('marmalade'));
  assert.deepEqual(lib.errors, []);
  await lib.close();
});
