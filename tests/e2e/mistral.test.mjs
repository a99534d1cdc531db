// Understudy on chat.mistral.ai (Le Chat): the real extension in Chromium on a fake Le Chat
// (fake-mistral/, mapped to loopback). The content scripts start there by themselves; a healthy chat
// (tRPC newChat, then /api/chat streaming `N:` lines that end when the stream closes) raises
// nothing and is kept in the library under Le Chat; HTTP 429 and 5xx on the send (and a 429 on
// newChat), Le Chat's error text in the latest answer's turn and a stalled answer show the notice
// naming Le Chat with their kind. Le Chat's error lines are unverified: the fixtures' guesses are
// detected, and the page's own text is the net when a guess is wrong. The user quoting Le Chat's
// error text and an error left in an earlier turn raise nothing; the rescue frame carries the
// failed prompt to a local provider.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openExtensionPage } from './browser.mjs';
import { startFakeMistral, ERROR_TEXT } from './fake-mistral/server.mjs';
import { provider } from './fake-providers/harness.mjs';
import { NOTICE, noticeKind, noticeText, tabEntry } from './detect-helpers.mjs';
import { siteSuite } from './site-helpers.mjs';
import { library, waitCached } from './cache-helpers.mjs';

const HOST = 'chat.mistral.ai';
const COMPOSER = 'form.composer textarea';
const SEND = 'button[aria-label="Send question"]';
const ANSWER = '[data-message-part-type="answer"]';
const ERROR_BOX = '[data-testid="message-error"]';
const FIRST_ANSWER = 'Bonjour ! Lyon is two hours from Paris by TGV.';
const s = siteSuite({
  id: 'mistral',
  hosts: [HOST],
  start: startFakeMistral,
  home: `https://${HOST}/chat`,
  composer: COMPOSER,
  send: SEND,
  answer: ANSWER,
  first: ['How far is Lyon from Paris?', FIRST_ANSWER],
  failing: 'And from Lyon to Marseille?',
});

test('the content scripts start on chat.mistral.ai by themselves, with Le Chat\'s adapter', async () => {
  const page = await s.open();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.understudySite), 'mistral');
  const entry = await tabEntry(s.browser.context, page.url());
  assert.equal(entry.site, 'mistral');
  const popup = await openExtensionPage(s.browser.context, 'www/popup.html');
  const line = await popup.waitForSelector('#tabs li[data-site="mistral"]', { timeout: 10000 });
  assert.match(await line.textContent(), /Le Chat · \/chat/);
  await popup.close();
  await page.close();
});

test('a healthy Le Chat chat (newChat, then the answer\'s lines until the stream closes) raises no notice', async () => {
  s.site.setMode({ mode: 'healthy' });
  const before = s.site.newChats().length;
  const page = await s.open();
  await s.sendPrompt(page, 'How far is Lyon from Paris?');
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  await s.sendPrompt(page, 'And by car?');
  await s.waitAnswerText(page, 1, FIRST_ANSWER);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  assert.deepEqual(await s.answers(page), [FIRST_ANSWER, FIRST_ANSWER]);
  // One new chat, then its two turns in it.
  assert.equal(s.site.newChats().length, before + 1);
  const chatId = /^\/chat\/([0-9a-f-]{36})$/.exec(new URL(page.url()).pathname)?.[1];
  assert.ok(chatId, page.url());
  const [start, append] = s.site.chats().slice(-2);
  assert.deepEqual([start.chatId, start.mode, start.messageInput], [chatId, 'start', 'How far is Lyon from Paris?']);
  assert.deepEqual([append.chatId, append.mode, append.messageInput], [chatId, 'append', 'And by car?']);
  await page.close();
});

test('a Le Chat chat is kept in the library under Le Chat: both prompts and their answers, in order', async () => {
  s.site.setMode({ mode: 'healthy', answer: 'Take the TGV from Gare de Lyon: 2 h.' });
  const page = await s.open();
  await s.sendPrompt(page, 'Paris to Lyon, fastest way?');
  await s.waitAnswerText(page, 0, 'Take the TGV from Gare de Lyon: 2 h.');
  s.site.setMode({ mode: 'healthy', answer: 'Bouchons: try quenelles ça vaut le coup 🍽️.' });
  await s.sendPrompt(page, 'Where to eat there?');
  await s.waitAnswerText(page, 1, 'Bouchons: try quenelles ça vaut le coup 🍽️.');
  const chatId = /^\/chat\/([0-9a-f-]{36})$/.exec(new URL(page.url()).pathname)?.[1];
  assert.ok(chatId, page.url());
  const id = `mistral:${chatId}`;
  const cs = await waitCached(s.browser.context, (all) => all.some((c) => c.id === id && c.texts.length === 4 && !c.incomplete));
  const kept = cs.find((c) => c.id === id);
  assert.equal(kept.site, 'mistral');
  assert.deepEqual(kept.texts, [
    'Paris to Lyon, fastest way?', 'Take the TGV from Gare de Lyon: 2 h.',
    'Where to eat there?', 'Bouchons: try quenelles ça vaut le coup 🍽️.',
  ]);
  // The tRPC newChat call (no answer in it) is no conversation of its own.
  assert.equal(cs.filter((c) => c.site === 'mistral' && c.texts.length === 0).length, 0, JSON.stringify(cs.map((c) => [c.id, c.texts.length])));
  const lib = await library(s.browser.context);
  const row = await lib.waitForSelector(`#list .row[data-id="${id}"]`);
  assert.equal(await row.getAttribute('data-site'), 'mistral');
  assert.match(await row.textContent(), /Le Chat ·/);
  await lib.close();
  await page.close();
});

test('a 429 on the send: rate_limited, the notice names Le Chat; a later good send clears it', async () => {
  const page = await s.failedChat({ mode: 'status', status: 429 });
  assert.equal(await noticeKind(page), 'rate_limited');
  assert.match(await noticeText(page), /^Le Chat is rate-limiting you for now\./);
  assert.doesNotMatch(await noticeText(page), /ChatGPT/);
  s.site.setMode({ mode: 'healthy' });
  await s.sendPrompt(page, 'And now?');
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await s.waitAnswerText(page, 2, FIRST_ANSWER);
  await page.waitForTimeout(500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('a 429 on the new chat (tRPC message.newChat): rate_limited', async () => {
  s.site.setMode({ mode: 'newchat', status: 429 });
  const page = await s.open();
  await s.sendPrompt(page, 'How far is Lyon from Paris?');
  await page.waitForSelector(NOTICE, { timeout: 15000 });
  assert.equal(await noticeKind(page), 'rate_limited');
  assert.match(await noticeText(page), /^Le Chat is rate-limiting you for now\./);
  await page.close();
});

for (const [status, kind, words] of [[500, 'generation_error', 'Le Chat could not finish this answer.'], [503, 'service_down', 'Le Chat is down.']]) {
  test(`HTTP ${status} on the send: ${kind}, "${words}"`, async () => {
    const page = await s.failedChat({ mode: 'status', status });
    assert.equal(await noticeKind(page), kind);
    assert.ok((await noticeText(page)).startsWith(words), await noticeText(page));
    await page.close();
  });
}

for (const [text, kind, words] of [
  [ERROR_TEXT, 'generation_error', 'Le Chat could not finish this answer.'],
  ['Service tier capacity exceeded for this model.', 'capacity', 'Le Chat is at capacity right now.'],
  ['Rate limit exceeded. Please try again later.', 'rate_limited', 'Le Chat is rate-limiting you for now.'],
]) {
  test(`Le Chat's error text in the latest answer's turn ("${text}"): ${kind}`, async () => {
    const page = await s.failedChat({ mode: 'cut', pageError: text });
    assert.equal(await noticeKind(page), kind);
    assert.ok((await noticeText(page)).startsWith(words), await noticeText(page));
    assert.equal(await page.locator(ERROR_BOX).textContent(), text);
    await page.close();
  });
}

test('Le Chat\'s own retry (mode "retry") that comes through clears the notice', async () => {
  const page = await s.failedChat({ mode: 'cut' });
  assert.equal(await noticeKind(page), 'generation_error');
  s.site.setMode({ mode: 'healthy' });
  await page.click('[data-message-author-role="assistant"] button[aria-label="Retry"]');
  await s.waitAnswerText(page, 1, FIRST_ANSWER);
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await page.waitForTimeout(500);
  assert.equal(await noticeKind(page), null);
  assert.equal(await page.locator(ERROR_BOX).count(), 0);
  const last = s.site.chats().at(-1);
  assert.deepEqual([last.mode, last.messageInput], ['retry', 'And from Lyon to Marseille?']);
  await page.close();
});

for (const [frame, kind] of [
  ['3:"Rate limit exceeded. Please try again later."', 'rate_limited'],
  ['1:{"error":{"message":"Service tier capacity exceeded for this model.","code":"3505"}}', 'capacity'],
]) {
  test(`an error line as the fixtures guess it (${frame.slice(0, 12)}…), the page silent: ${kind}`, async () => {
    const page = await s.failedChat({ mode: 'frame', frame });
    assert.equal(await noticeKind(page), kind);
    assert.equal(await page.locator(ERROR_BOX).count(), 0);
    await page.close();
  });
}

test('lines of kinds the reference does not show (AI SDK steps, annotations, a null error) raise nothing', async () => {
  s.site.setMode({
    mode: 'healthy',
    extra: [
      `f:{"messageId":"${crypto.randomUUID()}"}`,
      '8:[{"type":"status","value":"searching"}]',
      '1:{"type":"metadata","error":null}',
      'e:{"finishReason":"stop","usage":{"promptTokens":9,"completionTokens":4},"isContinued":false}',
    ],
  });
  const page = await s.open();
  await s.sendPrompt(page, 'How far is Lyon from Paris?');
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('the user quoting Le Chat\'s error text, and an answer quoting it, raise nothing', async () => {
  const quoted = '"Rate limit exceeded" means you sent too much.';
  s.site.setMode({ mode: 'healthy', answer: quoted });
  const page = await s.open();
  await s.sendPrompt(page, `Why did I see "${ERROR_TEXT}" and "Service tier capacity exceeded for this model." yesterday?`);
  await s.waitAnswerText(page, 0, quoted);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('an error left in an earlier turn does not count once a later answer arrived', async () => {
  s.site.setMode({ mode: 'cut' });
  const page = await s.open();
  await s.sendPrompt(page, 'How far is Lyon from Paris?');
  await page.waitForSelector(NOTICE, { timeout: 15000 });
  assert.equal(await noticeKind(page), 'generation_error');
  s.site.setMode({ mode: 'healthy' });
  await s.sendPrompt(page, 'How far is Lyon from Paris?');
  await s.waitAnswerText(page, 1, FIRST_ANSWER);
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await page.waitForTimeout(1500);
  // The old error is still on the page, in the first answer's turn.
  assert.equal(await page.locator(ERROR_BOX).count(), 1);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('the rescue: the frame shows in the notice, Ask elsewhere leaves Le Chat out, Continue carries the failed prompt (from the send\'s request) to a local provider', () => s.rescue({ failure: { mode: 'frame', frame: '1:{"error":{"message":"Service tier capacity exceeded for this model.","code":"3505"}}' }, answer: 'About three hours by car, less by TGV.', handoff: 'le_chat' }));

test('a stalled answer: network_error, "Le Chat stopped answering."', () => s.stalled(/^Le Chat stopped answering\./));
