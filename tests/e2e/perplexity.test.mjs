// Understudy on www.perplexity.ai: the real extension in Chromium on a fake www.perplexity.ai
// (fake-perplexity/, mapped to loopback). The content scripts start there by themselves; a healthy
// turn (an answer streamed as whole snapshots, `final: true` before the end) raises nothing and is
// kept in the library under Perplexity; each failure family (HTTP 429, 401/403 and 5xx on the send,
// a rate limit and a failed answer reported in the stream, the page's error text after the latest
// query, a stalled answer) shows the notice naming Perplexity with its kind; the user quoting
// Perplexity's error text and an error left by an earlier query raise nothing; the rescue frame
// carries the failed query to a local provider.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openExtensionPage } from './browser.mjs';
import { startFakePerplexity, ERROR_TEXT } from './fake-perplexity/server.mjs';
import { provider } from './fake-providers/harness.mjs';
import { NOTICE, noticeKind, noticeText, tabEntry } from './detect-helpers.mjs';
import { siteSuite } from './site-helpers.mjs';
import { library, waitCached } from './cache-helpers.mjs';

const HOST = 'www.perplexity.ai';
const COMPOSER = '#ask-input';
const SEND = 'button[data-testid="submit-button"]';
const ANSWER = 'div[id^="markdown-content-"]';
const FIRST_ANSWER = 'Rayleigh scattering makes the sky blue: short wavelengths scatter most.';
const s = siteSuite({
  id: 'perplexity',
  hosts: [HOST],
  start: startFakePerplexity,
  home: `https://${HOST}/`,
  composer: COMPOSER,
  send: SEND,
  answer: ANSWER,
  first: ['Why is the sky blue?', FIRST_ANSWER],
  failing: 'And why are sunsets red?',
});

test('the content scripts start on www.perplexity.ai by themselves, with Perplexity\'s adapter', async () => {
  const page = await s.open();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.understudySite), 'perplexity');
  const entry = await tabEntry(s.browser.context, page.url());
  assert.equal(entry.site, 'perplexity');
  const popup = await openExtensionPage(s.browser.context, 'www/popup.html');
  const line = await popup.waitForSelector('#tabs li[data-site="perplexity"]', { timeout: 10000 });
  assert.match(await line.textContent(), /Perplexity · \//);
  await popup.close();
  await page.close();
});

test('a healthy Perplexity thread (snapshots, final:true before the end) raises no notice', async () => {
  s.site.setMode({ mode: 'healthy' });
  const page = await s.open();
  await s.sendPrompt(page, 'Why is the sky blue?');
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  // A follow-up in the same thread.
  await s.sendPrompt(page, 'Is it the same on Mars?');
  await s.waitAnswerText(page, 1, FIRST_ANSWER);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  assert.deepEqual(await s.answers(page), [FIRST_ANSWER, FIRST_ANSWER]);
  assert.match(new URL(page.url()).pathname, /^\/search\/why-is-the-sky-blue-/);
  const [first, second] = s.site.sends().slice(-2);
  assert.equal(first.query_str, 'Why is the sky blue?');
  assert.equal(first.params.last_backend_uuid, null);
  assert.equal(second.query_str, 'Is it the same on Mars?');
  assert.match(second.params.last_backend_uuid, /^[0-9a-f-]{36}$/);
  await page.close();
});

test('a Perplexity thread is kept in the library under Perplexity: both queries and their whole answers, in order', async () => {
  s.site.setMode({ mode: 'healthy', answer: 'Blue light scatters more than red in the air.' });
  const page = await s.open();
  await s.sendPrompt(page, 'Why is the sky blue at noon?');
  await s.waitAnswerText(page, 0, 'Blue light scatters more than red in the air.');
  s.site.setMode({ mode: 'healthy', answer: 'At dusk the light crosses more air: 🌅 red stays.' });
  await s.sendPrompt(page, 'And at dusk?');
  await s.waitAnswerText(page, 1, 'At dusk the light crosses more air: 🌅 red stays.');
  const slug = /^\/search\/([^/]+)$/.exec(new URL(page.url()).pathname)?.[1];
  assert.ok(slug, page.url());
  const id = `perplexity:${slug}`;
  const cs = await waitCached(s.browser.context, (all) => all.some((c) => c.id === id && c.texts.length === 4 && !c.incomplete));
  const kept = cs.find((c) => c.id === id);
  assert.equal(kept.site, 'perplexity');
  // Each answer once, whole: the snapshots replaced it, never appended to it.
  assert.deepEqual(kept.texts, [
    'Why is the sky blue at noon?', 'Blue light scatters more than red in the air.',
    'And at dusk?', 'At dusk the light crosses more air: 🌅 red stays.',
  ]);
  const lib = await library(s.browser.context);
  const row = await lib.waitForSelector(`#list .row[data-id="${id}"]`);
  assert.equal(await row.getAttribute('data-site'), 'perplexity');
  assert.match(await row.textContent(), /Perplexity ·/);
  await lib.close();
  await page.close();
});

test('a 429 on the send: rate_limited, the notice names Perplexity; a later good send clears it', async () => {
  const page = await s.failedChat({ mode: 'status', status: 429 });
  assert.equal(await noticeKind(page), 'rate_limited');
  assert.match(await noticeText(page), /^Perplexity is rate-limiting you for now\./);
  assert.doesNotMatch(await noticeText(page), /ChatGPT/);
  s.site.setMode({ mode: 'healthy' });
  await s.sendPrompt(page, 'And now?');
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await s.waitAnswerText(page, 1, FIRST_ANSWER);
  await page.waitForTimeout(500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

for (const [status, kind, words] of [
  [401, 'blocked', 'Perplexity wants you to sign in or prove you are human.'],
  [403, 'blocked', 'Perplexity wants you to sign in or prove you are human.'],
  [500, 'generation_error', 'Perplexity could not finish this answer.'],
  [502, 'service_down', 'Perplexity is down.'],
]) {
  test(`HTTP ${status} on the send: ${kind}, "${words}"`, async () => {
    const page = await s.failedChat({ mode: 'status', status });
    assert.equal(await noticeKind(page), kind);
    assert.ok((await noticeText(page)).startsWith(words), await noticeText(page));
    await page.close();
  });
}

test('a rate limit reported inside the stream (event: error, RATE_LIMITED): rate_limited', async () => {
  const page = await s.failedChat({ mode: 'limit' });
  assert.equal(await noticeKind(page), 'rate_limited');
  assert.match(await noticeText(page), /^Perplexity is rate-limiting you for now\./);
  // The page itself shows no error: the stream alone said it.
  assert.equal(await page.locator('[data-testid="answer-error"]').count(), 0);
  await page.close();
});

test('a failed snapshot inside the stream (status "failed"): generation_error', async () => {
  const page = await s.failedChat({ mode: 'failed' });
  assert.equal(await noticeKind(page), 'generation_error');
  assert.match(await noticeText(page), /^Perplexity could not finish this answer\./);
  assert.equal(await page.locator('[data-testid="answer-error"]').count(), 0);
  await page.close();
});

test('Perplexity\'s error text after the latest query (the stream broke off): generation_error', async () => {
  const page = await s.failedChat({ mode: 'cut' });
  assert.equal(await noticeKind(page), 'generation_error');
  assert.match(await noticeText(page), /^Perplexity could not finish this answer\./);
  assert.equal(await page.locator('[data-testid="answer-error"]').textContent(), ERROR_TEXT);
  await page.close();
});

test('the user quoting Perplexity\'s error text, and an answer quoting it, raise nothing', async () => {
  s.site.setMode({ mode: 'healthy', answer: 'A 429 means "Too many requests": slow down.' });
  const page = await s.open();
  await s.sendPrompt(page, `Why did I see "${ERROR_TEXT}" and "Too many requests" yesterday?`);
  await s.waitAnswerText(page, 0, 'A 429 means "Too many requests": slow down.');
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('an error left by an earlier query does not count once a later answer arrived', async () => {
  s.site.setMode({ mode: 'cut' });
  const page = await s.open();
  await s.sendPrompt(page, 'Why is the sky blue?');
  await page.waitForSelector(NOTICE, { timeout: 15000 });
  assert.equal(await noticeKind(page), 'generation_error');
  s.site.setMode({ mode: 'healthy' });
  await s.sendPrompt(page, 'Why is the sky blue?');
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await page.waitForTimeout(1500);
  // The old error is still on the page, above the new query and its answer.
  assert.equal(await page.locator('[data-testid="answer-error"]').count(), 1);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('the rescue: the frame shows in the notice, Ask elsewhere leaves Perplexity out, Continue carries the failed query (from the send\'s request) to a local provider', () => s.rescue({ failure: { mode: 'failed' }, answer: 'Sunlight crosses more air at dusk, so the blue scatters away.' }));

test('a stalled answer: network_error, "Perplexity stopped answering."', () => s.stalled(/^Perplexity stopped answering\./));

test('a Perplexity thread opened at its address is loaded through the thread read and follows up on its last entry', async () => {
  s.site.setMode({ mode: 'healthy', history: [{ prompt: 'Earlier: what is Rayleigh scattering?', answer: 'Light scattered by particles smaller than its wavelength.' }] });
  const page = await s.open();
  await s.sendPrompt(page, 'Why is the sky blue?');
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  await page.waitForFunction(() => /^\/search\/[^/]+$/.test(location.pathname));
  const url = page.url();
  await page.close();
  const again = await s.open(url);
  await s.waitAnswerText(again, 1, FIRST_ANSWER);
  assert.deepEqual(await s.answers(again), ['Light scattered by particles smaller than its wavelength.', FIRST_ANSWER]);
  assert.deepEqual(await again.$$eval('[class*="group/query"]', (e) => e.map((n) => n.textContent)), ['Earlier: what is Rayleigh scattering?', 'Why is the sky blue?']);
  const slug = new URL(url).pathname.split('/').at(-1);
  assert.ok(s.site.requests.some((r) => r.method === 'GET' && r.path === `/rest/thread/${slug}`), 'the thread was read');
  // The follow-up continues the thread from its last entry.
  await s.sendPrompt(again, 'And at sunset?');
  await s.waitAnswerText(again, 2, FIRST_ANSWER);
  const follow = s.site.sends().at(-1);
  assert.equal(follow.query_str, 'And at sunset?');
  assert.ok(follow.params.last_backend_uuid, JSON.stringify(follow.params));
  assert.equal(new URL(again.url()).pathname, `/search/${slug}`);
  assert.equal(await noticeKind(again), null);
  await again.close();
  s.site.setMode({ mode: 'healthy' });
});
