// Understudy on grok.com: the real extension in Chromium on a fake grok.com (fake-grok/, mapped to
// loopback). The content scripts start there by themselves (the popup names the site and xAI's
// status feed); healthy turns (thinking first, then the answer, over NDJSON: a new conversation,
// then its responses endpoint) raise nothing and are kept in the library without the thinking; each
// failure family (HTTP 429 and 5xx on the send, the anti-bot refusal "code 7" in the stream or on a
// 403, a message limit in the stream, Grok's red error line in the page, a stalled answer) shows the
// notice naming Grok with its kind; the user (or the model) quoting Grok's error text, a stream cut
// without a word, and an error left in an earlier turn raise nothing; the rescue frame carries the
// conversation and the failed prompt to a local provider; the notice speaks the user's language.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { openExtensionPage } from './browser.mjs';
import { ANTI_BOT, LIMIT_TEXT, WRONG_LINE, startFakeGrok } from './fake-grok/server.mjs';
import { provider } from './fake-providers/harness.mjs';
import { NOTICE, noticeKind, noticeText, tabEntry } from './detect-helpers.mjs';
import { keptPrompt, lastRaised, siteSuite } from './site-helpers.mjs';
import { waitCached } from './cache-helpers.mjs';

const COMPOSER = 'textarea[aria-label="Ask Grok anything"]';
const ANSWER = '[id^="response-"] .response-content-markdown';
const FIRST_ANSWER = 'Hi, hola, こんにちは 👋 Here is a short answer, streamed the way Grok streams it.';
// The page without its error lines (`?errors=off`, a switch of the fake): only the traffic and the
// stream can tell what went wrong.
const QUIET = 'https://grok.com/?errors=off';
const STATUS_RSS = fs.readFileSync(new URL('../fixtures/status/sites/xai-feed.xml', import.meta.url), 'utf8');
const s = siteSuite({
  id: 'grok',
  hosts: ['grok.com'],
  start: startFakeGrok,
  feeds: [{ host: 'status.x.ai', path: '/feed.xml', format: 'rss', body: STATUS_RSS }],
  home: 'https://grok.com/',
  composer: COMPOSER,
  answer: ANSWER,
  first: ['Plan a weekend in Lisbon', FIRST_ANSWER],
  failing: 'Now add a day trip to Sintra',
  // The first answer made the conversation: its responses endpoint takes the next prompt.
  afterFirst: (page) => page.waitForURL(/\/c\/[0-9a-f-]{36}/),
});

test('the content scripts start on grok.com by themselves, with Grok\'s adapter', async () => {
  const page = await s.open();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.understudySite), 'grok');
  const entry = await tabEntry(s.browser.context, page.url());
  assert.equal(entry.site, 'grok');
  const popup = await openExtensionPage(s.browser.context, 'www/popup.html');
  const line = await popup.waitForSelector('#tabs li[data-site="grok"]', { timeout: 10000 });
  assert.match(await line.textContent(), /Grok · \//);
  // What xAI's status page says (its RSS feed), polled because a Grok tab is open.
  const status = await popup.waitForSelector('#tabs li[data-site="grok"] [data-testid="understudy-site-status"]', { timeout: 10000 });
  assert.match(await status.textContent(), /^Grok status page: degraded performance\. Grok responses failing for some users$/);
  assert.ok(s.feeds[0].requests.some((r) => r.path === '/feed.xml'), 'the feed was read');
  await popup.close();
  await page.close();
});

test('healthy Grok turns (thinking first; a new conversation, then its responses endpoint) raise no notice; the page shows the answer apart from the thinking', async () => {
  const thinking = 'The user wants a plan. Two days: Alfama, then Belém.';
  s.site.setMode({ mode: 'healthy', thinking });
  const page = await s.open();
  await s.sendPrompt(page, 'Plan a weekend in Lisbon');
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  assert.equal(await page.textContent('.thinking-trace'), thinking);
  await page.waitForURL(/\/c\/[0-9a-f-]{36}$/);
  await page.waitForFunction(() => document.title.startsWith('About Plan'));
  s.site.setMode({ mode: 'healthy' });
  await s.sendPrompt(page, 'And a second one?');
  await s.waitAnswerText(page, 1, FIRST_ANSWER);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  assert.deepEqual(s.site.prompts().slice(-2), ['Plan a weekend in Lisbon', 'And a second one?']);
  assert.match(s.site.sends().at(-1), /^\/rest\/app-chat\/conversations\/[0-9a-f-]{36}\/responses$/);
  // Both turns are in the library under Grok (the conversation of the first line, as in the URL):
  // the prompts and the answers, not the thinking.
  const conversation = /\/c\/([0-9a-f-]{36})$/.exec(page.url())[1];
  const cs = await waitCached(s.browser.context, (all) => all.some((c) => c.site === 'grok' && c.texts.length === 4 && c.texts.includes(FIRST_ANSWER)));
  const kept = cs.find((c) => c.site === 'grok' && c.texts.includes(FIRST_ANSWER));
  assert.equal(kept.id, `grok:${conversation}`);
  assert.deepEqual(kept.texts, ['Plan a weekend in Lisbon', FIRST_ANSWER, 'And a second one?', FIRST_ANSWER]);
  assert.equal(kept.title, 'About Plan a weekend in'); // result.title.newTitle
  assert.ok(!kept.raw.includes('Two days: Alfama'), 'the thinking is not kept as answer text');
  await page.close();
});

test('a 429 on the send: rate_limited, the notice names Grok; a later good send clears it', async () => {
  const page = await s.failedChat({ mode: 'status', status: 429 }, { url: QUIET });
  assert.equal(await noticeKind(page), 'rate_limited');
  assert.match(await noticeText(page), /^Grok is rate-limiting you/);
  assert.doesNotMatch(await noticeText(page), /ChatGPT/);
  assert.equal((await lastRaised(s.browser.context)).signal, 'network');
  // The failed prompt, read from the send's body, is kept for the rescue.
  assert.equal(await keptPrompt(s.browser.context, 'grok'), 'Now add a day trip to Sintra');
  s.site.setMode({ mode: 'healthy' });
  await s.sendPrompt(page, 'And now?');
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await s.waitAnswerText(page, 2, FIRST_ANSWER);
  await page.waitForTimeout(500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

for (const [status, kind, words] of [[500, 'generation_error', 'Grok could not finish this answer.'], [503, 'service_down', 'Grok is down.']]) {
  test(`HTTP ${status} on the send: ${kind}, "${words}"`, async () => {
    const page = await s.failedChat({ mode: 'status', status }, { url: QUIET });
    assert.equal(await noticeKind(page), kind);
    assert.ok((await noticeText(page)).startsWith(words), await noticeText(page));
    await page.close();
  });
}

const BLOCKED = 'Grok wants you to sign in or prove you are human.';

// What the stream says, with the page showing nothing: the notice comes from the core's decoding of
// Grok's NDJSON.
for (const [mode, what, kind, words, evidence] of [
  ['antibot', 'the anti-bot refusal as the answer\'s line (code 7)', 'blocked', BLOCKED, /^error in the answer stream \[7\]: Request rejected by anti-bot rules/],
  ['limit', 'a message limit inside the stream (code 8)', 'rate_limited', 'Grok is rate-limiting you', /^error in the answer stream \[8\]: You've reached your limit/],
]) {
  test(`${what}: ${kind}`, async () => {
    const page = await s.failedChat({ mode }, { url: QUIET });
    assert.equal(await noticeKind(page), kind);
    assert.ok((await noticeText(page)).startsWith(words), await noticeText(page));
    const raised = await lastRaised(s.browser.context);
    assert.equal(raised.signal, 'network', JSON.stringify(raised));
    assert.match(raised.evidence, evidence);
    // The failed prompt, read by the core from the send's request, is kept for the rescue.
    assert.equal(await keptPrompt(s.browser.context, 'grok'), 'Now add a day trip to Sintra');
    await page.close();
  });
}

test('the anti-bot refusal on a 403: blocked', async () => {
  const page = await s.failedChat({ mode: 'status', status: 403, body: JSON.stringify(ANTI_BOT) }, { url: QUIET });
  assert.equal(await noticeKind(page), 'blocked');
  assert.ok((await noticeText(page)).startsWith(BLOCKED), await noticeText(page));
  await page.close();
});

test('the anti-bot refusal on the page as Grok shows it (red line in the turn): blocked', async () => {
  const page = await s.failedChat({ mode: 'antibot' });
  assert.equal(await noticeKind(page), 'blocked');
  assert.equal(await page.evaluate(() => [...document.querySelectorAll('[id^="response-"]')].at(-1).textContent), ANTI_BOT.error.message);
  await page.close();
});

test('Grok\'s red error line in the latest turn after the stream broke off (no verdict in the stream): generation_error from the page', async () => {
  const page = await s.failedChat({ mode: 'cut' });
  assert.equal(await noticeKind(page), 'generation_error');
  assert.match(await noticeText(page), /^Grok could not finish this answer\./);
  const raised = await lastRaised(s.browser.context);
  assert.equal(raised.signal, 'dom', JSON.stringify(raised));
  assert.equal(raised.evidence, WRONG_LINE);
  await page.close();
});

test('a stream that broke off raises nothing by itself (the page shows no error line)', async () => {
  s.site.setMode({ mode: 'healthy' });
  const page = await s.open(QUIET);
  await s.sendPrompt(page, 'Plan a weekend in Lisbon');
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  s.site.setMode({ mode: 'cut' });
  await s.sendPrompt(page, 'Now add a day trip to Sintra');
  await page.waitForSelector('button[aria-label="Submit"]');
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('the user and the model quoting Grok\'s error texts raise nothing', async () => {
  const answer = `The error "${ANTI_BOT.error.message}" means a bot check failed; "${LIMIT_TEXT}" is the message limit.`;
  s.site.setMode({ mode: 'healthy', answer });
  const page = await s.open();
  await s.sendPrompt(page, `Why did I see "${ANTI_BOT.error.message}" and "${WRONG_LINE}" yesterday?`);
  await s.waitAnswerText(page, 0, answer);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('a red line left in an earlier turn does not count once a later turn went well', async () => {
  const page = await s.failedChat({ mode: 'cut' });
  assert.equal(await noticeKind(page), 'generation_error');
  s.site.setMode({ mode: 'healthy' });
  await s.sendPrompt(page, 'Try again please');
  await s.waitAnswerText(page, 1, FIRST_ANSWER);
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await page.waitForTimeout(1500);
  // The old line is still on the page, in the second turn of three.
  assert.equal(await page.evaluate(() => document.querySelectorAll('.text-red-400').length), 1);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('the rescue: the frame shows in the notice, Ask elsewhere leaves Grok out, Continue carries the conversation and the failed prompt to a local provider', () => s.rescue({ failure: { mode: 'antibot' }, answer: 'Take the train from Rossio: 40 minutes.' }));

test('a stalled answer: network_error, "Grok stopped answering."', () => s.stalled(/^Grok stopped answering\./));

test('in German, the notice names Grok in German words', () => s.inLanguage({
  lang: 'de', failure: { mode: 'antibot' }, prompt: 'Plane ein Wochenende in Lissabon', kind: 'blocked',
  words: /^Grok möchte, dass Sie sich anmelden oder bestätigen, dass Sie ein Mensch sind\./,
}));

test('a Grok chat opened at its address is loaded through its two reads (response-node, then load-responses) and continues from its last response', async () => {
  s.site.setMode({ mode: 'healthy', history: [{ prompt: 'Earlier: what is Sintra?', answer: 'A town of palaces near Lisbon.', thinking: 'Recall Sintra.' }] });
  const page = await s.open();
  await s.sendPrompt(page, 'Plan a weekend in Lisbon');
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  await page.waitForFunction(() => /^\/c\/[0-9a-f-]{36}$/.test(location.pathname));
  const url = page.url();
  await page.close();
  const again = await s.open(url);
  await s.waitAnswerText(again, 1, FIRST_ANSWER);
  assert.deepEqual(await s.answers(again), ['A town of palaces near Lisbon.', FIRST_ANSWER]);
  assert.deepEqual(await again.$$eval('[id^="response-"] .whitespace-pre-wrap', (e) => e.map((n) => n.textContent)), ['Earlier: what is Sintra?', 'Plan a weekend in Lisbon']);
  const conversation = new URL(url).pathname.split('/').at(-1);
  const reads = s.site.requests.filter((r) => r.path.startsWith(`/rest/app-chat/conversations/${conversation}/`)).map((r) => `${r.method} ${r.path.split('/').at(-1)}`);
  assert.deepEqual(reads.slice(-2), ['GET response-node', 'POST load-responses']);
  // The next send continues from the last response the reads named.
  const last = await again.evaluate(() => [...document.querySelectorAll('[id^="response-"]')].at(-1).id.slice('response-'.length));
  await s.sendPrompt(again, 'And a day trip?');
  await s.waitAnswerText(again, 2, FIRST_ANSWER);
  const send = s.site.requests.filter((r) => r.path === `/rest/app-chat/conversations/${conversation}/responses`).at(-1);
  assert.equal(JSON.parse(send.body).parentResponseId, last);
  assert.equal(await noticeKind(again), null);
  await again.close();
  s.site.setMode({ mode: 'healthy' });
});
