// Understudy on copilot.microsoft.com: the real extension in Chromium on a fake Copilot (fake-copilot/,
// mapped to loopback), whose answers travel over the page's own WebSocket, one socket for every
// answer of the tab. The content scripts start there by themselves; a healthy turn raises nothing;
// each failure family (a limit or a block reported on the socket, the socket's handshake refused,
// Copilot's error text in the page, a stalled answer, signed out) shows the notice naming Copilot
// with its kind, and each answer on the socket is judged by itself (a later good answer clears an
// earlier one's failure); the user quoting Copilot's error text raises nothing, nor does an old
// error upstream; the rescue frame carries the failed prompt to a local provider.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launch, openExtensionPage } from './browser.mjs';
import { startFakeCopilot, LIMIT_TEXT, LOST_TEXT, WRONG_TEXT } from './fake-copilot/server.mjs';
import { provider } from './fake-providers/harness.mjs';
import { NOTICE, noticeKind, noticeText, setTiming, stopWorker, tabEntry, timeline, waitObserved } from './detect-helpers.mjs';
import { siteSuite } from './site-helpers.mjs';
import { waitCached } from './cache-helpers.mjs';

const HOST = 'copilot.microsoft.com';
const COMPOSER = 'textarea#userInput';
const SEND = 'button[aria-label="Submit message"]';
const ANSWER = '[data-content="ai-message"]';
const FIRST_ANSWER = 'Why did the chicken cross the road? To get to the other side. Want another one?';
const s = siteSuite({
  id: 'copilot',
  hosts: [HOST],
  start: startFakeCopilot,
  home: `https://${HOST}/`,
  composer: COMPOSER,
  send: SEND,
  answer: ANSWER,
  busy: 'button[aria-label="Stop responding"]',
  first: ['Tell me a joke', FIRST_ANSWER],
  failing: 'Tell me one about a duck',
  afterFirst: (page) => page.waitForTimeout(100),
});

/**
 * What the detection in force on the Copilot tab rests on: 'network' (the page's traffic, or the
 * socket's frames as the worker decoded them), 'dom', 'stall'.
 */
const signal = async () => (await s.failure())?.current?.evidence?.signal ?? null;

test('the content scripts start on copilot.microsoft.com by themselves, with Copilot\'s adapter', async () => {
  const page = await s.open();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.understudySite), 'copilot');
  const entry = await tabEntry(s.browser.context, page.url());
  assert.equal(entry.site, 'copilot');
  const popup = await openExtensionPage(s.browser.context, 'www/popup.html');
  const line = await popup.waitForSelector('#tabs li[data-site="copilot"]', { timeout: 10000 });
  assert.match(await line.textContent(), /Copilot · \//);
  await popup.close();
  await page.close();
});

test('healthy answers over one socket raise no notice; the page still talks to its socket untouched', async () => {
  s.site.setMode({ mode: 'healthy' });
  const sockets = s.site.sockets();
  const page = await s.open();
  await s.sendPrompt(page, 'Tell me a joke');
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  await s.sendPrompt(page, 'Another one');
  await s.waitAnswerText(page, 1, FIRST_ANSWER);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  assert.equal(s.site.sockets() - sockets, 1, 'both answers on one socket');
  assert.deepEqual(s.site.prompts().slice(-2), ['Tell me a joke', 'Another one']);
  const [send] = s.site.sends().slice(-1);
  assert.deepEqual(Object.keys(send), ['event', 'conversationId', 'content', 'mode']);
  assert.match(page.url(), new RegExp(`/chats/${send.conversationId}$`));
  assert.equal(await page.title(), 'A chicken joke');
  // Both answers of the socket are in the library, in Copilot's conversation, after their prompts.
  const all = await waitCached(s.browser.context, (cs) => cs.some((c) => c.site === 'copilot' && c.id === `copilot:${send.conversationId}`
    && c.texts.filter((x) => x === FIRST_ANSWER).length === 2));
  const conv = all.find((c) => c.id === `copilot:${send.conversationId}`);
  assert.deepEqual(conv.texts, ['Tell me a joke', FIRST_ANSWER, 'Another one', FIRST_ANSWER]);
  assert.equal(conv.title, 'A chicken joke');
  await page.close();
});

test('a limit on the socket (error rateLimited): rate_limited, the notice names Copilot; the next good answer on the same socket clears it', async () => {
  const sockets = s.site.sockets();
  const page = await s.failedChat({ mode: 'limit' });
  assert.equal(await noticeKind(page), 'rate_limited');
  assert.match(await noticeText(page), /^Copilot is rate-limiting you for now\./);
  assert.doesNotMatch(await noticeText(page), /ChatGPT/);
  assert.equal(await signal(), 'network', 'judged from the socket\'s frames');
  s.site.setMode({ mode: 'healthy' });
  await s.sendPrompt(page, 'And now?');
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await s.waitAnswerText(page, 2, FIRST_ANSWER);
  await page.waitForTimeout(800);
  assert.equal(await noticeKind(page), null);
  assert.equal(s.site.sockets() - sockets, 1, 'all three answers on one socket');
  await page.close();
});

test('the worker restarted while the socket stays open: the page sends the socket again, its earlier answers are not judged again', async () => {
  const page = await s.failedChat({ mode: 'limit' });
  s.site.setMode({ mode: 'healthy' });
  await s.sendPrompt(page, 'And now?');
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await s.waitAnswerText(page, 2, FIRST_ANSWER);
  const tabId = await s.control.evaluate(async () => Object.entries(await chrome.storage.session.get(null))
    .filter(([k, v]) => k.startsWith('detect.tab.') && v?.site === 'copilot').map(([k]) => Number(k.slice('detect.tab.'.length))));
  assert.equal(tabId.length, 1);
  const events = async () => (await timeline(s.browser.context)).filter((e) => e.tab === tabId[0]).map((e) => `${e.type} ${e.kind}`);
  const before = await events();
  assert.deepEqual(before, ['raised rate_limited', 'recovered rate_limited']);
  await stopWorker(s.browser.context, page);
  // The next answer on the same socket reaches a worker that lost it: the page sends it all again.
  await s.sendPrompt(page, 'One more');
  await s.waitAnswerText(page, 3, FIRST_ANSWER);
  const conv = await waitCached(s.browser.context, (cs) => cs.some((c) => c.site === 'copilot' && c.texts.at(-2) === 'One more' && c.texts.at(-1) === FIRST_ANSWER));
  assert.deepEqual(conv.find((c) => c.texts.at(-2) === 'One more').texts.filter((x) => x === 'And now?').length, 1, 'the replayed answers are kept once');
  await page.waitForTimeout(800);
  assert.equal(await noticeKind(page), null);
  assert.deepEqual(await events(), before, 'the old limit was not judged again');
  await page.close();
});

for (const [name, failure] of [['a challenge event', { mode: 'challenge' }], ['an error with errorCode unauthorized', { mode: 'error', errorCode: 'unauthorized' }]]) {
  test(`${name} on the socket: blocked, "Copilot wants you to sign in or prove you are human."`, async () => {
    const page = await s.failedChat(failure);
    assert.equal(await noticeKind(page), 'blocked');
    assert.match(await noticeText(page), /^Copilot wants you to sign in or prove you are human\./);
    assert.equal(await signal(), 'network');
    await page.close();
  });
}

for (const status of [429, 503]) {
  test(`the socket's handshake refused with HTTP ${status} (the browser tells the page no status): network_error`, async () => {
    s.site.setMode({ mode: 'refuse', status });
    const page = await s.open();
    await s.sendPrompt(page, 'Tell me a joke');
    await page.waitForSelector(NOTICE, { timeout: 15000 });
    assert.equal(await noticeKind(page), 'network_error');
    assert.match(await noticeText(page), /^The connection to Copilot broke off\./);
    await page.close();
  });
}

// Copilot lets visitors chat without signing in: a 401 on /c/api/user is no failure (the adapter
// does not watch that endpoint), and raising "sign in" there would be a false alarm for every one
// of them. A socket that refuses them says so itself (`unauthorized`, above).
test('signed out (401 on /c/api/user) while the socket answers: no notice, the answer is kept', async () => {
  s.site.setMode({ mode: 'signedout' });
  const page = await s.open();
  await s.sendPrompt(page, 'Tell me a joke');
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  assert.ok(s.site.requests.some((r) => r.path === '/c/api/user'), 'the page asked who is signed in');
  await page.close();
});

test('Copilot\'s error text in the latest turn (the socket dropped mid-answer): network_error, "The connection to Copilot broke off."', async () => {
  const page = await s.failedChat({ mode: 'cut' });
  assert.equal(await page.textContent('[data-testid="error-message"]'), LOST_TEXT);
  assert.equal(await noticeKind(page), 'network_error');
  assert.match(await noticeText(page), /^The connection to Copilot broke off\./);
  assert.equal(await signal(), 'dom', 'a cut answer is no verdict of the stream: the page\'s text speaks');
  // An old error upstream does not count: a good answer after it (on a new socket) clears the notice,
  // which stays away.
  s.site.setMode({ mode: 'healthy' });
  await s.sendPrompt(page, 'Try again please');
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await s.waitAnswerText(page, 2, FIRST_ANSWER);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  assert.equal(await page.locator('[data-testid="error-message"]').count(), 1, 'the old error is still on the page');
  await page.close();
});

test('the user quoting Copilot\'s error texts in their own message raises nothing', async () => {
  s.site.setMode({ mode: 'healthy' });
  const page = await s.open();
  await s.sendPrompt(page, `Why did I see "${LIMIT_TEXT}", "${WRONG_TEXT}" and "${LOST_TEXT}" yesterday?`);
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('the rescue: the frame shows in the notice, Ask elsewhere leaves Copilot out, Continue carries the failed prompt to a local provider', () => s.rescue({ failure: { mode: 'limit' }, answer: 'A duck walks into a bar and says: put it on my bill.' }));

test('a stalled answer (the socket open and silent): network_error, "Copilot stopped answering."', async () => {
  await setTiming(s.browser.context, { stall_ms: 1500, no_start_ms: 3000, resume_grace_ms: 0 });
  try {
    const page = await s.failedChat({ mode: 'stall', tokenDelayMs: 5 });
    assert.equal(await noticeKind(page), 'network_error');
    assert.match(await noticeText(page), /^Copilot stopped answering\./);
    assert.equal(await signal(), 'stall');
    await page.close();
  } finally {
    await setTiming(s.browser.context, null);
  }
});

test('no answer started (the socket silent after the send): network_error after the adapter\'s no-start wait, not its shorter stall wait', async () => {
  await setTiming(s.browser.context, { stall_ms: 1000, no_start_ms: 5000, resume_grace_ms: 0 });
  try {
    s.site.setMode({ mode: 'healthy' });
    const page = await s.open();
    s.site.setMode({ mode: 'silent' });
    await s.sendPrompt(page, 'Tell me a joke');
    const sent = Date.now();
    await page.waitForSelector(NOTICE, { timeout: 15000 });
    const waited = Date.now() - sent;
    assert.ok(waited >= 4500, `the notice came after ${waited} ms`);
    assert.equal(await noticeKind(page), 'network_error');
    assert.equal(await signal(), 'stall');
    await page.close();
  } finally {
    await setTiming(s.browser.context, null);
  }
});

test('an idle socket before and between answers is no stall', async () => {
  await setTiming(s.browser.context, { stall_ms: 1000, no_start_ms: 1500, resume_grace_ms: 0 });
  try {
    s.site.setMode({ mode: 'healthy' });
    const sockets = s.site.sockets();
    const page = await s.open();
    // The page opened its socket with the page: no answer is asked for yet.
    await page.waitForTimeout(2500);
    assert.equal(s.site.sockets() - sockets, 1);
    assert.equal(await noticeKind(page), null);
    await s.sendPrompt(page, 'Tell me a joke');
    await s.waitAnswerText(page, 0, FIRST_ANSWER);
    await page.waitForTimeout(2500);
    assert.equal(await noticeKind(page), null);
    await page.close();
  } finally {
    await setTiming(s.browser.context, null);
  }
});

test('in German, the notice names Copilot in German words', async () => {
  const de = await launch({ hostRules: { [HOST]: s.site.port }, lang: 'de' });
  try {
    s.site.setMode({ mode: 'healthy' });
    const page = await de.context.newPage();
    await page.goto(`https://${HOST}/`);
    await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
    await waitObserved(de.context, page);
    s.site.setMode({ mode: 'limit' });
    await s.sendPrompt(page, 'Erzähl mir einen Witz');
    await page.waitForSelector(NOTICE, { timeout: 15000 });
    assert.equal(await noticeKind(page), 'rate_limited');
    assert.match(await noticeText(page), /^Copilot begrenzt Ihre Anfragen vorübergehend\./);
  } finally {
    await de.close();
  }
});

test('a Copilot conversation opened at its address is loaded through its history read, oldest message first', async () => {
  s.site.setMode({ mode: 'healthy', history: [{ prompt: 'Earlier: tell me a pun', answer: 'I used to be a banker, but I lost interest.' }] });
  const page = await s.open();
  await s.sendPrompt(page, 'Tell me a joke');
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  await page.waitForFunction(() => /^\/chats\/[0-9A-Za-z]+$/.test(location.pathname));
  const url = page.url();
  await page.close();
  const again = await s.open(url);
  await s.waitAnswerText(again, 1, FIRST_ANSWER);
  assert.deepEqual(await s.answers(again), ['I used to be a banker, but I lost interest.', FIRST_ANSWER]);
  assert.deepEqual(await again.$$eval('[data-content="user-message"]', (e) => e.map((n) => n.textContent)), ['Earlier: tell me a pun', 'Tell me a joke']);
  const id = new URL(url).pathname.split('/').at(-1);
  assert.ok(s.site.requests.some((r) => r.method === 'GET' && r.path === `/c/api/conversations/${id}/history` && r.search === '?api-version=2'), 'the conversation was read');
  // The next answer goes on in the same conversation.
  await s.sendPrompt(again, 'Another one?');
  await s.waitAnswerText(again, 2, FIRST_ANSWER);
  assert.equal(s.site.sends().at(-1).conversationId, id);
  assert.equal(await noticeKind(again), null);
  await again.close();
  s.site.setMode({ mode: 'healthy' });
});
