// Capture on the 2026 chatgpt.com, end to end: the fake site streams delta encoding v1 (echo burst,
// typed events, padded lines, chunks of 30 bytes to 6 KB, the page aborting its read after [DONE]),
// hands answers off to the resume endpoint and to a socket on ws.chatgpt.com, loads chats with the
// paged plural GET and renders turns two ways. The cache must hold every answer the page showed,
// with the page's title, and nothing the page echoed (profile, memory, thoughts, resume token);
// temporary chats are never kept, under each of their four signs; a tab closed mid-answer keeps
// what had arrived.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch } from './browser.mjs';
import { cached, library, send, waitCached } from './cache-helpers.mjs';
import { sampleConversation, startFakeChatgpt } from './fake-chatgpt/server.mjs';

const SECRETS = ['ECHO-PROFILE-SECRET', 'ECHO-MEMORY-SECRET', 'ECHO-THOUGHTS-SECRET', 'resume_conversation_token'];
let site;
let browser;

before(async () => {
  site = await startFakeChatgpt();
  browser = await launch({ chatgptPort: site.port });
});

after(async () => {
  await browser?.close();
  await site?.close();
});

async function open(url) {
  const page = await browser.context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e));
  await page.goto(url);
  return page;
}

/** Waits until the page shows `text` as its last answer. */
const shown = (page, text) => page.waitForFunction(
  (t) => [...document.querySelectorAll('.markdown, [data-markdown-text-style="assistant-message"]')].at(-1)?.textContent === t,
  text,
  { timeout: 15000 },
);

/** The conversation id the fake gave the latest answer. */
function latestConversation() {
  const answers = site.sent(1).answers;
  assert.ok(answers.length > 0, 'the fake finished an answer');
  return answers.at(-1).conversation_id;
}

const noEcho = (c) => SECRETS.every((s) => !c.raw.includes(s));

test('a chat of three turns is kept whole: streamed directly, resumed after a handoff, and over the socket', async () => {
  const answers = [
    'Start in Alfama, then take tram 28 — ça vaut le coup 😀.',
    'Porto is three hours north by train; the Douro valley is worth a day.',
    'Bring layers: evenings by the river are cool, even in June.',
  ];
  site.setMode({ answer: answers[0], tokenDelayMs: 1, thoughts: true });
  const page = await open('https://chatgpt.com/');
  await send(page, 'Plan three days in Lisbon');
  await shown(page, answers[0]);
  const id = latestConversation();
  site.setMode({ answer: answers[1], tokenDelayMs: 1, handoff: 'resume' });
  await send(page, 'And a day trip to Porto?');
  await shown(page, answers[1]);
  site.setMode({ answer: answers[2], tokenDelayMs: 1, handoff: 'ws' });
  await send(page, 'What should I pack?');
  await shown(page, answers[2]);
  const kinds = site.sent(6).streams.map((s) => s.kind);
  assert.ok(kinds.includes('resume') && kinds.includes('ws'), `the fake handed off both ways: ${kinds}`);
  const want = ['Plan three days in Lisbon', answers[0], 'And a day trip to Porto?', answers[1], 'What should I pack?', answers[2]];
  const all = await waitCached(browser.context, (cs) => cs.some((c) => c.id === id && JSON.stringify(c.texts) === JSON.stringify(want) && !c.incomplete));
  const conv = all.find((c) => c.id === id);
  assert.equal(conv.title, site.conversation(id).title, 'the page\'s title, not "Untitled"');
  assert.ok(noEcho(conv), 'nothing the page echoed reached the cache');
  assert.ok(!all.some((c) => c.id.startsWith('pending-')), 'the pending prompt record was dropped');
  // The library lists it under its title.
  const lib = await library(browser.context);
  assert.match(await lib.textContent('#list'), new RegExp(conv.title));
  assert.doesNotMatch(await lib.textContent('#list'), /Untitled/);
  await lib.close();
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a reopened chat is merged from the paged plural GET, older pages included, in both renderers', async () => {
  for (const renderer of ['legacy', 'search-unit']) {
    const id = `long-chat-${renderer}`;
    // 14 turns: the plural GET gives the last 10, the older page the first 4.
    const turns = Array.from({ length: 14 }, (_, i) => [`Question ${i + 1} (${renderer})`, `Answer ${i + 1}: détails 🙂`]);
    // Only the last 4 turns are in the DOM (windowed): the rest can only come from the traffic.
    site.setMode({ renderer, loadOlder: true, window: 4, conversations: { [id]: sampleConversation(id, { title: `Long chat ${renderer}`, turns }) } });
    const page = await open(`https://chatgpt.com/c/${id}`);
    const want = turns.flat();
    const all = await waitCached(browser.context, (cs) => cs.some((c) => c.id === id && JSON.stringify(c.texts) === JSON.stringify(want)));
    const conv = all.find((c) => c.id === id);
    assert.equal(conv.title, `Long chat ${renderer}`);
    assert.ok(noEcho(conv));
    const paths = site.requests.filter((r) => r.path.startsWith(`/backend-api/conversations/${id}`)).map((r) => r.path);
    assert.ok(paths.some((p) => p.endsWith('/messages')), `the older page was loaded: ${paths}`);
    await page.close();
  }
});

test('a temporary chat is never kept, under each of its four signs', async () => {
  const cases = [
    { name: 'the ?temporary-chat=true page', url: 'https://chatgpt.com/?temporary-chat=true', mode: {} },
    { name: 'history_and_training_disabled on the request', url: 'https://chatgpt.com/', mode: { sendHistoryDisabled: true } },
    { name: 'is_do_not_remember on the request', url: 'https://chatgpt.com/', mode: { sendDoNotRemember: true } },
  ];
  const kept = [];
  for (const c of cases) {
    site.setMode({ answer: `Secret answer for ${c.name}`, tokenDelayMs: 1, ...c.mode });
    const page = await open(c.url);
    await send(page, `Temporary prompt: ${c.name}`);
    await shown(page, `Secret answer for ${c.name}`);
    kept.push(latestConversation());
    await page.close();
  }
  // A conversation body that says the chat is temporary.
  site.setMode({ markTemporaryChat: true, conversations: { 'temp-body': sampleConversation('temp-body', { title: 'Temporary body', answer: 'Secret answer in a temporary body' }) } });
  let page = await open('https://chatgpt.com/c/temp-body');
  await page.waitForSelector('text=Secret answer in a temporary body');
  await page.close();
  // Then an ordinary chat: once it is kept, everything before it was handled.
  site.setMode({ answer: 'An ordinary answer.', tokenDelayMs: 1 });
  page = await open('https://chatgpt.com/');
  await send(page, 'An ordinary prompt');
  await shown(page, 'An ordinary answer.');
  const all = await waitCached(browser.context, (cs) => cs.some((c) => c.texts.includes('An ordinary answer.')));
  await page.close();
  for (const id of [...kept, 'temp-body']) assert.ok(!all.some((c) => c.id === id), `${id} was kept`);
  const everything = all.map((c) => c.raw).join('\n');
  assert.doesNotMatch(everything, /Secret answer|Temporary prompt/);
});

test('a tab closed mid-answer keeps the prompt and what had arrived', async () => {
  const words = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
  site.setMode({ answer: words, tokenDelayMs: 15 });
  const page = await open('https://chatgpt.com/');
  await send(page, 'Write a very long answer');
  await page.waitForFunction(() => ([...document.querySelectorAll('.markdown')].at(-1)?.textContent ?? '').length > 300, null, { timeout: 15000 });
  const seen = await page.evaluate(() => [...document.querySelectorAll('.markdown')].at(-1).textContent);
  const id = site.sent(1).streams.at(-1).conversation_id;
  await page.close({ runBeforeUnload: false });
  const all = await waitCached(browser.context, (cs) => cs.some((c) => c.id === id && c.texts.length === 2 && c.texts[1].length >= seen.length));
  const conv = all.find((c) => c.id === id);
  assert.equal(conv.texts[0], 'Write a very long answer');
  assert.ok(words.startsWith(conv.texts[1]), 'what was kept is the start of the answer');
  assert.ok(conv.texts[1].startsWith(seen), 'at least what the page showed');
  assert.equal(conv.incomplete, true, 'marked incomplete');
});

test('the DOM fallback reads the search-unit renderer when no traffic was seen', async () => {
  const id = 'dom-only-chat';
  site.setMode({ renderer: 'search-unit', conversations: { [id]: sampleConversation(id, { title: 'Seen only in the page', question: 'Where is Belém?', answer: 'West of the centre, by the river.' }) } });
  const page = await open(`https://chatgpt.com/c/${id}?noload=1`);
  // ?noload=1: the page renders the chat without a conversation GET the hook could see.
  const all = await waitCached(browser.context, (cs) => cs.some((c) => c.id === id && c.texts.includes('West of the centre, by the river.')));
  const conv = all.find((c) => c.id === id);
  assert.deepEqual(conv.texts, ['Where is Belém?', 'West of the centre, by the river.']);
  await page.close();
  const lib = await library(browser.context);
  assert.ok((await cached(lib)).some((c) => c.id === id));
  await lib.close();
});
