// Understudy on www.perplexity.ai: the real extension in Chromium on a fake www.perplexity.ai
// (fake-perplexity/, mapped to loopback). The content scripts start there by themselves; a healthy
// turn (an answer streamed as whole snapshots, `final: true` before the end) raises nothing and is
// kept in the library under Perplexity; each failure family (HTTP 429, 401/403 and 5xx on the send,
// a rate limit and a failed answer reported in the stream, the page's error text after the latest
// query, a stalled answer) shows the notice naming Perplexity with its kind; the user quoting
// Perplexity's error text and an error left by an earlier query raise nothing; the rescue frame
// carries the failed query to a local provider.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage } from './browser.mjs';
import { startFakePerplexity, ERROR_TEXT } from './fake-perplexity/server.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { configure, provider } from './fake-providers/harness.mjs';
import { NOTICE, noticeKind, noticeText, setTiming, tabEntry, waitObserved } from './detect-helpers.mjs';
import { answerState, clickRescue, rescueFrame, waitAnswer } from './rescue-frame-helpers.mjs';
import { library, waitCached } from './cache-helpers.mjs';

const HOST = 'www.perplexity.ai';
const COMPOSER = '#ask-input';
const SEND = 'button[data-testid="submit-button"]';
const ANSWER = 'div[id^="markdown-content-"]';
const FIRST_ANSWER = 'Rayleigh scattering makes the sky blue: short wavelengths scatter most.';
let site;
let fake;
let browser;
let control;

before(async () => {
  site = await startFakePerplexity();
  fake = await startFakeProviders();
  browser = await launch({ hostRules: { [HOST]: site.port } });
  control = await openExtensionPage(browser.context, 'www/options.html');
});

after(async () => {
  await browser?.close();
  await fake?.close();
  await site?.close();
});

async function openPerplexity(url = `https://${HOST}/`) {
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

/** The answers on the page, oldest first. */
const answers = (page) => page.evaluate((sel) => [...document.querySelectorAll(sel)].map((a) => a.textContent), ANSWER);
const waitAnswerText = (page, i, text) => page.waitForFunction(([sel, n, t]) => document.querySelectorAll(sel)[n]?.textContent === t, [ANSWER, i, text]);

/** A Perplexity thread with one good exchange, then a query that fails the way `failure` says. */
async function failedChat(failure, prompt = 'And why are sunsets red?') {
  site.setMode({ mode: 'healthy' });
  const page = await openPerplexity();
  await sendPrompt(page, 'Why is the sky blue?');
  await waitAnswerText(page, 0, FIRST_ANSWER);
  await page.waitForTimeout(200);
  site.setMode(failure);
  await sendPrompt(page, prompt);
  await page.waitForSelector(NOTICE, { timeout: 15000 });
  return page;
}

/**
 * The worker's detection entry of the perplexity tab that failed last (by site, not by URL: the page
 * changed its URL in place after the first answer).
 */
async function latestFailure(context) {
  const probe = await openExtensionPage(context, 'www/popup.html');
  try {
    return await probe.evaluate(async () => Object.entries(await chrome.storage.session.get(null))
      .filter(([k, v]) => k.startsWith('detect.tab.') && v?.site === 'perplexity' && v.current)
      .map(([, v]) => v)
      .sort((a, b) => b.updated_at - a.updated_at)[0] ?? null);
  } finally {
    await probe.close();
  }
}

test('the content scripts start on www.perplexity.ai by themselves, with Perplexity\'s adapter', async () => {
  const page = await openPerplexity();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.understudySite), 'perplexity');
  const entry = await tabEntry(browser.context, page.url());
  assert.equal(entry.site, 'perplexity');
  const popup = await openExtensionPage(browser.context, 'www/popup.html');
  const line = await popup.waitForSelector('#tabs li[data-site="perplexity"]', { timeout: 10000 });
  assert.match(await line.textContent(), /Perplexity · \//);
  await popup.close();
  await page.close();
});

test('a healthy Perplexity thread (snapshots, final:true before the end) raises no notice', async () => {
  site.setMode({ mode: 'healthy' });
  const page = await openPerplexity();
  await sendPrompt(page, 'Why is the sky blue?');
  await waitAnswerText(page, 0, FIRST_ANSWER);
  // A follow-up in the same thread.
  await sendPrompt(page, 'Is it the same on Mars?');
  await waitAnswerText(page, 1, FIRST_ANSWER);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  assert.deepEqual(await answers(page), [FIRST_ANSWER, FIRST_ANSWER]);
  assert.match(new URL(page.url()).pathname, /^\/search\/why-is-the-sky-blue-/);
  const [first, second] = site.sends().slice(-2);
  assert.equal(first.query_str, 'Why is the sky blue?');
  assert.equal(first.params.last_backend_uuid, null);
  assert.equal(second.query_str, 'Is it the same on Mars?');
  assert.match(second.params.last_backend_uuid, /^[0-9a-f-]{36}$/);
  await page.close();
});

test('a Perplexity thread is kept in the library under Perplexity: both queries and their whole answers, in order', async () => {
  site.setMode({ mode: 'healthy', answer: 'Blue light scatters more than red in the air.' });
  const page = await openPerplexity();
  await sendPrompt(page, 'Why is the sky blue at noon?');
  await waitAnswerText(page, 0, 'Blue light scatters more than red in the air.');
  site.setMode({ mode: 'healthy', answer: 'At dusk the light crosses more air: 🌅 red stays.' });
  await sendPrompt(page, 'And at dusk?');
  await waitAnswerText(page, 1, 'At dusk the light crosses more air: 🌅 red stays.');
  const slug = /^\/search\/([^/]+)$/.exec(new URL(page.url()).pathname)?.[1];
  assert.ok(slug, page.url());
  const id = `perplexity:${slug}`;
  const cs = await waitCached(browser.context, (all) => all.some((c) => c.id === id && c.texts.length === 4 && !c.incomplete));
  const kept = cs.find((c) => c.id === id);
  assert.equal(kept.site, 'perplexity');
  // Each answer once, whole: the snapshots replaced it, never appended to it.
  assert.deepEqual(kept.texts, [
    'Why is the sky blue at noon?', 'Blue light scatters more than red in the air.',
    'And at dusk?', 'At dusk the light crosses more air: 🌅 red stays.',
  ]);
  const lib = await library(browser.context);
  const row = await lib.waitForSelector(`#list .row[data-id="${id}"]`);
  assert.equal(await row.getAttribute('data-site'), 'perplexity');
  assert.match(await row.textContent(), /Perplexity ·/);
  await lib.close();
  await page.close();
});

test('a 429 on the send: rate_limited, the notice names Perplexity; a later good send clears it', async () => {
  const page = await failedChat({ mode: 'status', status: 429 });
  assert.equal(await noticeKind(page), 'rate_limited');
  assert.match(await noticeText(page), /^Perplexity is rate-limiting you for now\./);
  assert.doesNotMatch(await noticeText(page), /ChatGPT/);
  site.setMode({ mode: 'healthy' });
  await sendPrompt(page, 'And now?');
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await waitAnswerText(page, 1, FIRST_ANSWER);
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
    const page = await failedChat({ mode: 'status', status });
    assert.equal(await noticeKind(page), kind);
    assert.ok((await noticeText(page)).startsWith(words), await noticeText(page));
    await page.close();
  });
}

test('a rate limit reported inside the stream (event: error, RATE_LIMITED): rate_limited', async () => {
  const page = await failedChat({ mode: 'limit' });
  assert.equal(await noticeKind(page), 'rate_limited');
  assert.match(await noticeText(page), /^Perplexity is rate-limiting you for now\./);
  // The page itself shows no error: the stream alone said it.
  assert.equal(await page.locator('[data-testid="answer-error"]').count(), 0);
  await page.close();
});

test('a failed snapshot inside the stream (status "failed"): generation_error', async () => {
  const page = await failedChat({ mode: 'failed' });
  assert.equal(await noticeKind(page), 'generation_error');
  assert.match(await noticeText(page), /^Perplexity could not finish this answer\./);
  assert.equal(await page.locator('[data-testid="answer-error"]').count(), 0);
  await page.close();
});

test('Perplexity\'s error text after the latest query (the stream broke off): generation_error', async () => {
  const page = await failedChat({ mode: 'cut' });
  assert.equal(await noticeKind(page), 'generation_error');
  assert.match(await noticeText(page), /^Perplexity could not finish this answer\./);
  assert.equal(await page.locator('[data-testid="answer-error"]').textContent(), ERROR_TEXT);
  await page.close();
});

test('the user quoting Perplexity\'s error text, and an answer quoting it, raise nothing', async () => {
  site.setMode({ mode: 'healthy', answer: 'A 429 means "Too many requests": slow down.' });
  const page = await openPerplexity();
  await sendPrompt(page, `Why did I see "${ERROR_TEXT}" and "Too many requests" yesterday?`);
  await waitAnswerText(page, 0, 'A 429 means "Too many requests": slow down.');
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('an error left by an earlier query does not count once a later answer arrived', async () => {
  site.setMode({ mode: 'cut' });
  const page = await openPerplexity();
  await sendPrompt(page, 'Why is the sky blue?');
  await page.waitForSelector(NOTICE, { timeout: 15000 });
  assert.equal(await noticeKind(page), 'generation_error');
  site.setMode({ mode: 'healthy' });
  await sendPrompt(page, 'Why is the sky blue?');
  await waitAnswerText(page, 0, FIRST_ANSWER);
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await page.waitForTimeout(1500);
  // The old error is still on the page, above the new query and its answer.
  assert.equal(await page.locator('[data-testid="answer-error"]').count(), 1);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('the rescue: the frame shows in the notice, Ask elsewhere leaves Perplexity out, Continue carries the failed query (from the send\'s request) to a local provider', async () => {
  const name = 'local-perplexity';
  const answer = 'Sunlight crosses more air at dusk, so the blue scatters away.';
  fake.plan(name, [{ fault: 'ok', tokenDelayMs: 5, answer }]);
  await configure(control, [provider(fake, name, 'openai')]);
  const page = await failedChat({ mode: 'failed' });
  // The failed prompt, as the send's request carried it (the answer failed inside the stream).
  assert.equal((await latestFailure(browser.context)).failed_prompt, 'And why are sunsets red?');
  const frame = await rescueFrame(page);
  const sites = await frame.evaluate(() => [...document.querySelectorAll('[data-testid="understudy-handoff-item"]')].map((b) => b.dataset.site));
  assert.ok(sites.length > 0, 'other sites are offered');
  assert.ok(!sites.includes('perplexity'), `Perplexity is not offered on Perplexity: ${sites}`);
  await clickRescue(page, '[data-testid="understudy-continue"]');
  const seen = await waitAnswer(page);
  assert.equal(seen.state, 'done', JSON.stringify(seen));
  assert.equal(seen.provider, name);
  assert.equal(seen.text.trim(), answer);
  const [req] = fake.to(name);
  assert.deepEqual(req.json.messages, [
    { role: 'user', content: 'Why is the sky blue?' },
    { role: 'assistant', content: FIRST_ANSWER },
    { role: 'user', content: 'And why are sunsets red?' },
  ]);
  assert.equal((await answerState(page)).state, 'done');
  await page.close();
});

test('a stalled answer: network_error, "Perplexity stopped answering."', async () => {
  await setTiming(browser.context, { stall_ms: 1500, no_start_ms: 3000, resume_grace_ms: 0 });
  try {
    const page = await failedChat({ mode: 'stall', tokenDelayMs: 5 });
    assert.equal(await noticeKind(page), 'network_error');
    assert.match(await noticeText(page), /^Perplexity stopped answering\./);
    await page.close();
  } finally {
    await setTiming(browser.context, null);
  }
});
