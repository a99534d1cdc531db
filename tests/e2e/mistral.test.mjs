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
import { after, before, test } from 'node:test';
import { launch, openExtensionPage } from './browser.mjs';
import { startFakeMistral, ERROR_TEXT } from './fake-mistral/server.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { configure, provider } from './fake-providers/harness.mjs';
import { NOTICE, noticeKind, noticeText, setTiming, tabEntry, waitObserved } from './detect-helpers.mjs';
import { answerState, clickRescue, rescueFrame, waitAnswer } from './rescue-frame-helpers.mjs';
import { library, waitCached } from './cache-helpers.mjs';

const HOST = 'chat.mistral.ai';
const COMPOSER = 'form.composer textarea';
const SEND = 'button[aria-label="Send question"]';
const ANSWER = '[data-message-part-type="answer"]';
const ERROR_BOX = '[data-testid="message-error"]';
const FIRST_ANSWER = 'Bonjour ! Lyon is two hours from Paris by TGV.';
let site;
let fake;
let browser;
let control;

before(async () => {
  site = await startFakeMistral();
  fake = await startFakeProviders();
  browser = await launch({ hostRules: { [HOST]: site.port } });
  control = await openExtensionPage(browser.context, 'www/options.html');
});

after(async () => {
  await browser?.close();
  await fake?.close();
  await site?.close();
});

async function openLeChat(url = `https://${HOST}/chat`) {
  const page = await browser.context.newPage();
  await page.goto(url);
  await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
  await waitObserved(browser.context, page);
  return page;
}

async function sendPrompt(page, text) {
  await page.fill(COMPOSER, text);
  await page.click(SEND);
}

const answers = (page) => page.evaluate((sel) => [...document.querySelectorAll(sel)].map((a) => a.textContent), ANSWER);
const waitAnswerText = (page, i, text) => page.waitForFunction(([sel, n, t]) => document.querySelectorAll(sel)[n]?.textContent === t, [ANSWER, i, text]);

/** A Le Chat chat with one good exchange, then a prompt that fails the way `failure` says. */
async function failedChat(failure, prompt = 'And from Lyon to Marseille?') {
  site.setMode({ mode: 'healthy' });
  const page = await openLeChat();
  await sendPrompt(page, 'How far is Lyon from Paris?');
  await waitAnswerText(page, 0, FIRST_ANSWER);
  await page.waitForTimeout(200);
  site.setMode(failure);
  await sendPrompt(page, prompt);
  await page.waitForSelector(NOTICE, { timeout: 15000 });
  return page;
}

/**
 * The worker's detection entry of the mistral tab that failed last (by site, not by URL: the page
 * changed its URL in place after the first answer).
 */
async function latestFailure(context) {
  const probe = await openExtensionPage(context, 'www/popup.html');
  try {
    return await probe.evaluate(async () => Object.entries(await chrome.storage.session.get(null))
      .filter(([k, v]) => k.startsWith('detect.tab.') && v?.site === 'mistral' && v.current)
      .map(([, v]) => v)
      .sort((a, b) => b.updated_at - a.updated_at)[0] ?? null);
  } finally {
    await probe.close();
  }
}

test('the content scripts start on chat.mistral.ai by themselves, with Le Chat\'s adapter', async () => {
  const page = await openLeChat();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.understudySite), 'mistral');
  const entry = await tabEntry(browser.context, page.url());
  assert.equal(entry.site, 'mistral');
  const popup = await openExtensionPage(browser.context, 'www/popup.html');
  const line = await popup.waitForSelector('#tabs li[data-site="mistral"]', { timeout: 10000 });
  assert.match(await line.textContent(), /Le Chat · \/chat/);
  await popup.close();
  await page.close();
});

test('a healthy Le Chat chat (newChat, then the answer\'s lines until the stream closes) raises no notice', async () => {
  site.setMode({ mode: 'healthy' });
  const before = site.newChats().length;
  const page = await openLeChat();
  await sendPrompt(page, 'How far is Lyon from Paris?');
  await waitAnswerText(page, 0, FIRST_ANSWER);
  await sendPrompt(page, 'And by car?');
  await waitAnswerText(page, 1, FIRST_ANSWER);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  assert.deepEqual(await answers(page), [FIRST_ANSWER, FIRST_ANSWER]);
  // One new chat, then its two turns in it.
  assert.equal(site.newChats().length, before + 1);
  const chatId = /^\/chat\/([0-9a-f-]{36})$/.exec(new URL(page.url()).pathname)?.[1];
  assert.ok(chatId, page.url());
  const [start, append] = site.chats().slice(-2);
  assert.deepEqual([start.chatId, start.mode, start.messageInput], [chatId, 'start', 'How far is Lyon from Paris?']);
  assert.deepEqual([append.chatId, append.mode, append.messageInput], [chatId, 'append', 'And by car?']);
  await page.close();
});

test('a Le Chat chat is kept in the library under Le Chat: both prompts and their answers, in order', async () => {
  site.setMode({ mode: 'healthy', answer: 'Take the TGV from Gare de Lyon: 2 h.' });
  const page = await openLeChat();
  await sendPrompt(page, 'Paris to Lyon, fastest way?');
  await waitAnswerText(page, 0, 'Take the TGV from Gare de Lyon: 2 h.');
  site.setMode({ mode: 'healthy', answer: 'Bouchons: try quenelles ça vaut le coup 🍽️.' });
  await sendPrompt(page, 'Where to eat there?');
  await waitAnswerText(page, 1, 'Bouchons: try quenelles ça vaut le coup 🍽️.');
  const chatId = /^\/chat\/([0-9a-f-]{36})$/.exec(new URL(page.url()).pathname)?.[1];
  assert.ok(chatId, page.url());
  const id = `mistral:${chatId}`;
  const cs = await waitCached(browser.context, (all) => all.some((c) => c.id === id && c.texts.length === 4 && !c.incomplete));
  const kept = cs.find((c) => c.id === id);
  assert.equal(kept.site, 'mistral');
  assert.deepEqual(kept.texts, [
    'Paris to Lyon, fastest way?', 'Take the TGV from Gare de Lyon: 2 h.',
    'Where to eat there?', 'Bouchons: try quenelles ça vaut le coup 🍽️.',
  ]);
  // The tRPC newChat call (no answer in it) is no conversation of its own.
  assert.equal(cs.filter((c) => c.site === 'mistral' && c.texts.length === 0).length, 0, JSON.stringify(cs.map((c) => [c.id, c.texts.length])));
  const lib = await library(browser.context);
  const row = await lib.waitForSelector(`#list .row[data-id="${id}"]`);
  assert.equal(await row.getAttribute('data-site'), 'mistral');
  assert.match(await row.textContent(), /Le Chat ·/);
  await lib.close();
  await page.close();
});

test('a 429 on the send: rate_limited, the notice names Le Chat; a later good send clears it', async () => {
  const page = await failedChat({ mode: 'status', status: 429 });
  assert.equal(await noticeKind(page), 'rate_limited');
  assert.match(await noticeText(page), /^Le Chat is rate-limiting you for now\./);
  assert.doesNotMatch(await noticeText(page), /ChatGPT/);
  site.setMode({ mode: 'healthy' });
  await sendPrompt(page, 'And now?');
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await waitAnswerText(page, 2, FIRST_ANSWER);
  await page.waitForTimeout(500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('a 429 on the new chat (tRPC message.newChat): rate_limited', async () => {
  site.setMode({ mode: 'newchat', status: 429 });
  const page = await openLeChat();
  await sendPrompt(page, 'How far is Lyon from Paris?');
  await page.waitForSelector(NOTICE, { timeout: 15000 });
  assert.equal(await noticeKind(page), 'rate_limited');
  assert.match(await noticeText(page), /^Le Chat is rate-limiting you for now\./);
  await page.close();
});

for (const [status, kind, words] of [[500, 'generation_error', 'Le Chat could not finish this answer.'], [503, 'service_down', 'Le Chat is down.']]) {
  test(`HTTP ${status} on the send: ${kind}, "${words}"`, async () => {
    const page = await failedChat({ mode: 'status', status });
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
    const page = await failedChat({ mode: 'cut', pageError: text });
    assert.equal(await noticeKind(page), kind);
    assert.ok((await noticeText(page)).startsWith(words), await noticeText(page));
    assert.equal(await page.locator(ERROR_BOX).textContent(), text);
    await page.close();
  });
}

test('Le Chat\'s own retry (mode "retry") that comes through clears the notice', async () => {
  const page = await failedChat({ mode: 'cut' });
  assert.equal(await noticeKind(page), 'generation_error');
  site.setMode({ mode: 'healthy' });
  await page.click('[data-message-author-role="assistant"] button[aria-label="Retry"]');
  await waitAnswerText(page, 1, FIRST_ANSWER);
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await page.waitForTimeout(500);
  assert.equal(await noticeKind(page), null);
  assert.equal(await page.locator(ERROR_BOX).count(), 0);
  const last = site.chats().at(-1);
  assert.deepEqual([last.mode, last.messageInput], ['retry', 'And from Lyon to Marseille?']);
  await page.close();
});

for (const [frame, kind] of [
  ['3:"Rate limit exceeded. Please try again later."', 'rate_limited'],
  ['1:{"error":{"message":"Service tier capacity exceeded for this model.","code":"3505"}}', 'capacity'],
]) {
  test(`an error line as the fixtures guess it (${frame.slice(0, 12)}…), the page silent: ${kind}`, async () => {
    const page = await failedChat({ mode: 'frame', frame });
    assert.equal(await noticeKind(page), kind);
    assert.equal(await page.locator(ERROR_BOX).count(), 0);
    await page.close();
  });
}

test('lines of kinds the reference does not show (AI SDK steps, annotations, a null error) raise nothing', async () => {
  site.setMode({
    mode: 'healthy',
    extra: [
      `f:{"messageId":"${crypto.randomUUID()}"}`,
      '8:[{"type":"status","value":"searching"}]',
      '1:{"type":"metadata","error":null}',
      'e:{"finishReason":"stop","usage":{"promptTokens":9,"completionTokens":4},"isContinued":false}',
    ],
  });
  const page = await openLeChat();
  await sendPrompt(page, 'How far is Lyon from Paris?');
  await waitAnswerText(page, 0, FIRST_ANSWER);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('the user quoting Le Chat\'s error text, and an answer quoting it, raise nothing', async () => {
  const quoted = '"Rate limit exceeded" means you sent too much.';
  site.setMode({ mode: 'healthy', answer: quoted });
  const page = await openLeChat();
  await sendPrompt(page, `Why did I see "${ERROR_TEXT}" and "Service tier capacity exceeded for this model." yesterday?`);
  await waitAnswerText(page, 0, quoted);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('an error left in an earlier turn does not count once a later answer arrived', async () => {
  site.setMode({ mode: 'cut' });
  const page = await openLeChat();
  await sendPrompt(page, 'How far is Lyon from Paris?');
  await page.waitForSelector(NOTICE, { timeout: 15000 });
  assert.equal(await noticeKind(page), 'generation_error');
  site.setMode({ mode: 'healthy' });
  await sendPrompt(page, 'How far is Lyon from Paris?');
  await waitAnswerText(page, 1, FIRST_ANSWER);
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await page.waitForTimeout(1500);
  // The old error is still on the page, in the first answer's turn.
  assert.equal(await page.locator(ERROR_BOX).count(), 1);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('the rescue: the frame shows in the notice, Ask elsewhere leaves Le Chat out, Continue carries the failed prompt (from the send\'s request) to a local provider', async () => {
  const name = 'local-lechat';
  const answer = 'About three hours by car, less by TGV.';
  fake.plan(name, [{ fault: 'ok', tokenDelayMs: 5, answer }]);
  await configure(control, [provider(fake, name, 'openai')]);
  const page = await failedChat({ mode: 'frame', frame: '1:{"error":{"message":"Service tier capacity exceeded for this model.","code":"3505"}}' });
  // The failed prompt, as the send's request carried it (the answer failed inside the stream).
  assert.equal((await latestFailure(browser.context)).failed_prompt, 'And from Lyon to Marseille?');
  const frame = await rescueFrame(page);
  const sites = await frame.evaluate(() => [...document.querySelectorAll('[data-testid="understudy-handoff-item"]')].map((b) => b.dataset.site));
  assert.ok(sites.length > 0, 'other sites are offered');
  assert.ok(!sites.includes('le_chat'), `Le Chat is not offered on Le Chat: ${sites}`);
  await clickRescue(page, '[data-testid="understudy-continue"]');
  const seen = await waitAnswer(page);
  assert.equal(seen.state, 'done', JSON.stringify(seen));
  assert.equal(seen.provider, name);
  assert.equal(seen.text.trim(), answer);
  const [req] = fake.to(name);
  assert.deepEqual(req.json.messages, [
    { role: 'user', content: 'How far is Lyon from Paris?' },
    { role: 'assistant', content: FIRST_ANSWER },
    { role: 'user', content: 'And from Lyon to Marseille?' },
  ]);
  assert.equal((await answerState(page)).state, 'done');
  await page.close();
});

test('a stalled answer: network_error, "Le Chat stopped answering."', async () => {
  await setTiming(browser.context, { stall_ms: 1500, no_start_ms: 3000, resume_grace_ms: 0 });
  try {
    const page = await failedChat({ mode: 'stall', tokenDelayMs: 5 });
    assert.equal(await noticeKind(page), 'network_error');
    assert.match(await noticeText(page), /^Le Chat stopped answering\./);
    await page.close();
  } finally {
    await setTiming(browser.context, null);
  }
});
