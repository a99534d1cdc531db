// Understudy on chat.deepseek.com: the real extension in Chromium on a fake chat.deepseek.com
// (fake-deepseek/, mapped to loopback). The content scripts start there by themselves (the popup
// names the site and its status page); a healthy turn (thinking first, then the answer) raises
// nothing and is kept in the library without its thinking; each failure family (HTTP 429 and 5xx
// on the send, the server-busy hint in the stream, a biz_code envelope instead of the stream, a rate
// limit envelope inside the stream, DeepSeek's busy line in the page, a stalled answer) shows the
// notice naming DeepSeek with its kind; the user (or the model) quoting DeepSeek's error text, a
// stream cut without a word, and an error left in an earlier turn raise nothing; the rescue frame
// carries the conversation and the failed prompt to a local provider; the notice speaks the
// user's language.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openExtensionPage } from './browser.mjs';
import { BUSY_LINE, BUSY_TEXT, startFakeDeepseek } from './fake-deepseek/server.mjs';
import { provider } from './fake-providers/harness.mjs';
import { NOTICE, noticeKind, noticeText, tabEntry } from './detect-helpers.mjs';
import { keptPrompt, lastRaised, siteSuite } from './site-helpers.mjs';
import { waitCached } from './cache-helpers.mjs';

const COMPOSER = 'textarea#chat-input';
const ANSWER = '.ds-message .ds-markdown';
const FIRST_ANSWER = '你好！😊 Here is a short answer, streamed the way DeepSeek streams it.';
// status.deepseek.com's incident history (a Statuspage Atom feed; no capture in the fixtures: one
// incident, resolved).
const STATUS_ATOM = `<?xml version="1.0" encoding="UTF-8"?>
<feed xml:lang="en-US" xmlns="http://www.w3.org/2005/Atom">
  <id>tag:status.deepseek.com,2005:/history</id>
  <link rel="alternate" type="text/html" href="https://status.deepseek.com"/>
  <link rel="self" type="application/atom+xml" href="https://status.deepseek.com/history.atom"/>
  <title>DeepSeek Service Status - Incident History</title>
  <updated>2026-11-19T09:30:00Z</updated>
  <author><name>DeepSeek Service Status</name></author>
  <entry>
    <id>tag:status.deepseek.com,2005:Incident/5001</id>
    <published>2026-11-19T08:00:00Z</published>
    <updated>2026-11-19T09:30:00Z</updated>
    <link rel="alternate" type="text/html" href="https://status.deepseek.com/incidents/k9j8h7g6f5d4"/>
    <title>Web chat slow to respond</title>
    <content type="html">&lt;p&gt;&lt;strong&gt;Resolved&lt;/strong&gt; - This incident has been resolved.&lt;/p&gt;&lt;p&gt;&lt;strong&gt;Investigating&lt;/strong&gt; - We are investigating.&lt;/p&gt;</content>
  </entry>
</feed>
`;
const s = siteSuite({
  id: 'deepseek',
  hosts: ['chat.deepseek.com'],
  start: startFakeDeepseek,
  feeds: [{ host: 'status.deepseek.com', path: '/history.atom', format: 'atom', body: STATUS_ATOM }],
  home: 'https://chat.deepseek.com/',
  composer: COMPOSER,
  answer: ANSWER,
  first: ['Plan a weekend in Lisbon', FIRST_ANSWER],
  failing: 'Now add a day trip to Sintra',
});

// The page without its error lines (`?errors=off`, a switch of the fake): only the traffic and the
// stream can tell what went wrong.
const QUIET = 'https://chat.deepseek.com/?errors=off';

test('the content scripts start on chat.deepseek.com by themselves, with DeepSeek\'s adapter', async () => {
  const page = await s.open();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.understudySite), 'deepseek');
  const entry = await tabEntry(s.browser.context, page.url());
  assert.equal(entry.site, 'deepseek');
  const popup = await openExtensionPage(s.browser.context, 'www/popup.html');
  const line = await popup.waitForSelector('#tabs li[data-site="deepseek"]', { timeout: 10000 });
  assert.match(await line.textContent(), /DeepSeek · \//);
  // What DeepSeek's status page says (its incident history: nothing ongoing), polled because a
  // DeepSeek tab is open.
  const status = await popup.waitForSelector('#tabs li[data-site="deepseek"] [data-testid="understudy-site-status"]', { timeout: 10000 });
  assert.equal(await status.textContent(), 'DeepSeek status page: all systems operational.');
  assert.ok(s.feeds[0].requests.some((r) => r.path === '/history.atom'), 'the feed was read');
  await popup.close();
  await page.close();
});

test('a healthy DeepSeek turn that thinks first raises no notice; the page shows the answer apart from the thinking', async () => {
  const thinking = 'The user wants a plan. Two days: Alfama, then Belém.';
  s.site.setMode({ mode: 'healthy', thinking });
  const page = await s.open();
  await s.sendPrompt(page, 'Plan a weekend in Lisbon');
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  assert.equal(await page.textContent('.ds-think-content'), thinking);
  await page.waitForURL(/\/a\/chat\/s\/[0-9a-f-]{36}$/);
  await page.waitForFunction(() => document.title.startsWith('Chat about'));
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  assert.equal(s.site.prompts().at(-1), 'Plan a weekend in Lisbon');
  // The turn is in the library under DeepSeek (the chat session of the URL): the prompt and the
  // answer, not the thinking.
  const session = /\/a\/chat\/s\/([0-9a-f-]{36})$/.exec(page.url())[1];
  const cs = await waitCached(s.browser.context, (all) => all.some((c) => c.site === 'deepseek' && c.texts.includes(FIRST_ANSWER)));
  const kept = cs.find((c) => c.site === 'deepseek' && c.texts.includes(FIRST_ANSWER));
  assert.equal(kept.id, `deepseek:${session}`);
  assert.deepEqual(kept.texts, ['Plan a weekend in Lisbon', FIRST_ANSWER]);
  assert.equal(kept.title, 'Chat about Plan a weekend in'); // event: title
  assert.ok(!kept.raw.includes('Two days: Alfama'), 'the thinking is not kept as answer text');
  await page.close();
});

test('a 429 on the send: rate_limited, the notice names DeepSeek; a later good send clears it', async () => {
  const page = await s.failedChat({ mode: 'status', status: 429 }, { url: QUIET });
  assert.equal(await noticeKind(page), 'rate_limited');
  assert.match(await noticeText(page), /^DeepSeek is rate-limiting you/);
  assert.doesNotMatch(await noticeText(page), /ChatGPT/);
  assert.equal((await lastRaised(s.browser.context)).signal, 'network');
  // The failed prompt, read from the send's body, is kept for the rescue.
  assert.equal(await keptPrompt(s.browser.context, 'deepseek'), 'Now add a day trip to Sintra');
  s.site.setMode({ mode: 'healthy' });
  await s.sendPrompt(page, 'And now?');
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await s.waitAnswerText(page, 2, FIRST_ANSWER);
  await page.waitForTimeout(500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

for (const [status, kind, words] of [[500, 'generation_error', 'DeepSeek could not finish this answer.'], [502, 'service_down', 'DeepSeek is down.']]) {
  test(`HTTP ${status} on the send: ${kind}, "${words}"`, async () => {
    const page = await s.failedChat({ mode: 'status', status });
    assert.equal(await noticeKind(page), kind);
    assert.ok((await noticeText(page)).startsWith(words), await noticeText(page));
    await page.close();
  });
}

// What the stream (or the envelope in its place) says, with the page showing nothing: the notice
// comes from the core's decoding of DeepSeek's bytes.
for (const [mode, what, kind, words, evidence] of [
  ['busy', 'the server-busy hint inside the stream (event: hint, 服务器繁忙)', 'capacity', 'DeepSeek is at capacity right now.', /^error in the answer stream .*服务器繁忙/],
  ['biz', 'a biz_code envelope answered instead of the stream (server busy)', 'capacity', 'DeepSeek is at capacity right now.', /^error in the answer stream \[3\]: 服务器繁忙/],
  ['envelope', 'a rate-limit envelope inside the stream (code 40003, "Too many requests")', 'rate_limited', 'DeepSeek is rate-limiting you', /^error in the answer stream \[40003\]: Too many requests/],
]) {
  test(`${what}: ${kind}`, async () => {
    const page = await s.failedChat({ mode }, { url: QUIET });
    assert.equal(await noticeKind(page), kind);
    assert.ok((await noticeText(page)).startsWith(words), await noticeText(page));
    const raised = await lastRaised(s.browser.context);
    assert.equal(raised.signal, 'network', JSON.stringify(raised));
    assert.match(raised.evidence, evidence);
    // The failed prompt, read by the core from the send's request, is kept for the rescue.
    assert.equal(await keptPrompt(s.browser.context, 'deepseek'), 'Now add a day trip to Sintra');
    await page.close();
  });
}

test('the server-busy hint on the page as DeepSeek shows it: the busy line in the turn, capacity', async () => {
  const page = await s.failedChat({ mode: 'busy' });
  assert.equal(await noticeKind(page), 'capacity');
  assert.equal(await page.evaluate(() => [...document.querySelectorAll('.ds-message')].at(-1).textContent), BUSY_LINE);
  await page.close();
});

test('DeepSeek\'s busy line in the latest turn after the stream broke off (no verdict in the stream): capacity from the page', async () => {
  const page = await s.failedChat({ mode: 'cut' });
  assert.equal(await noticeKind(page), 'capacity');
  assert.equal(await page.evaluate(() => [...document.querySelectorAll('.ds-message')].at(-1).textContent), BUSY_LINE);
  const raised = await lastRaised(s.browser.context);
  assert.equal(raised.signal, 'dom', JSON.stringify(raised));
  assert.equal(raised.evidence, BUSY_LINE);
  await page.close();
});

test('a stream that broke off raises nothing by itself (the page shows no error line)', async () => {
  s.site.setMode({ mode: 'healthy' });
  const page = await s.open(QUIET);
  await s.sendPrompt(page, 'Plan a weekend in Lisbon');
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  s.site.setMode({ mode: 'cut' });
  await s.sendPrompt(page, 'Now add a day trip to Sintra');
  await page.waitForFunction(() => document.querySelectorAll('.ds-message').length === 4);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('the user and the model quoting DeepSeek\'s error texts raise nothing', async () => {
  const answer = `"${BUSY_TEXT}" means the server is busy. Too many requests can also slow it down.`;
  s.site.setMode({ mode: 'healthy', answer, tip: 'Answers may contain mistakes' });
  const page = await s.open();
  await s.sendPrompt(page, `Why did I see "${BUSY_TEXT}" and "${BUSY_LINE}" yesterday?`);
  await s.waitAnswerText(page, 0, answer);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('a busy line left in an earlier turn does not count once a later turn went well', async () => {
  const page = await s.failedChat({ mode: 'cut' });
  assert.equal(await noticeKind(page), 'capacity');
  s.site.setMode({ mode: 'healthy' });
  await s.sendPrompt(page, 'Try again please');
  await s.waitAnswerText(page, 1, FIRST_ANSWER);
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await page.waitForTimeout(1500);
  // The old line is still on the page, in the second turn of three.
  assert.equal(await page.evaluate(() => document.querySelectorAll('.ds-message-error').length), 1);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('the rescue: the frame shows in the notice, Ask elsewhere leaves DeepSeek out, Continue carries the failed prompt to a local provider', () => s.rescue({ failure: { mode: 'busy' }, answer: 'Take the train from Rossio: 40 minutes.' }));

test('a stalled answer: network_error, "DeepSeek stopped answering."', () => s.stalled(/^DeepSeek stopped answering\./));

test('in Chinese, the notice names DeepSeek in Chinese words', () => s.inLanguage({
  lang: 'zh-CN', failure: { mode: 'busy' }, prompt: '帮我规划里斯本的周末', kind: 'capacity',
  words: /^DeepSeek 当前负载已满。/,
}));

test('a DeepSeek chat opened at its address is loaded through its read (history_messages, over XMLHttpRequest) and continues from its current message', async () => {
  s.site.setMode({ mode: 'healthy', history: [{ prompt: 'Earlier: what is Sintra?', answer: 'A town of palaces near Lisbon.', thinking: 'Recall Sintra.' }] });
  const page = await s.open();
  await s.sendPrompt(page, 'Plan a weekend in Lisbon');
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  await page.waitForFunction(() => /^\/a\/chat\/s\/[0-9a-f-]{36}$/.test(location.pathname));
  const url = page.url();
  await page.close();
  const again = await s.open(url);
  await s.waitAnswerText(again, 1, FIRST_ANSWER);
  assert.deepEqual(await s.answers(again), ['A town of palaces near Lisbon.', FIRST_ANSWER]);
  assert.deepEqual(await again.$$eval('.ds-message .fbb737a4', (e) => e.map((n) => n.textContent)), ['Earlier: what is Sintra?', 'Plan a weekend in Lisbon']);
  const session = new URL(url).pathname.split('/').at(-1);
  assert.ok(s.site.requests.some((r) => r.method === 'GET' && r.path === '/api/v0/chat/history_messages' && r.search === `?chat_session_id=${session}`), 'the chat was read');
  // The next send continues from the read's current message.
  await s.sendPrompt(again, 'And a day trip?');
  await s.waitAnswerText(again, 2, FIRST_ANSWER);
  const send = s.site.requests.filter((r) => r.path === '/api/v0/chat/completion').at(-1);
  assert.ok(Number.isInteger(JSON.parse(send.body).parent_message_id), send.body);
  assert.equal(await noticeKind(again), null);
  await again.close();
  s.site.setMode({ mode: 'healthy' });
});
