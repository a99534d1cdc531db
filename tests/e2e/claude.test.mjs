// Understudy on claude.ai: the real extension in Chromium on a fake claude.ai (fake-claude/, mapped
// to loopback). The content scripts start there by themselves; a healthy turn raises nothing; each
// failure family (a 429 on the send, a usage limit reported in the stream, Claude's capacity text in
// the page, a stalled answer) shows the notice naming Claude with its kind; the user quoting
// Claude's error text raises nothing; the rescue frame carries the failed prompt to a local provider.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage } from './browser.mjs';
import { startFakeClaude, CAPACITY_TEXT } from './fake-claude/server.mjs';
import { startFakeSite } from './fake-site/server.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { configure, provider } from './fake-providers/harness.mjs';
import { NOTICE, noticeKind, noticeText, setTiming, tabEntry, waitObserved } from './detect-helpers.mjs';
import { answerState, clickRescue, rescueFrame, waitAnswer } from './rescue-frame-helpers.mjs';
import { library, waitCached } from './cache-helpers.mjs';

const COMPOSER = '.ProseMirror[role="textbox"]';
const SEND = 'button[aria-label="Send message"]';
const ANSWER = '.font-claude-response';
const FIRST_ANSWER = 'Here is a short answer, streamed the way Claude streams it.';
const STATUS_ATOM = fs.readFileSync(new URL('../fixtures/status/sites/claude-history.atom', import.meta.url), 'utf8');
let site;
let statusPage;
let fake;
let browser;
let control;

before(async () => {
  site = await startFakeClaude();
  // status.claude.com: its incident history feed (the fixture: one incident ongoing).
  statusPage = await startFakeSite({
    host: 'status.claude.com',
    csp: "default-src 'none'",
    page: '',
    route: ({ path, res }) => {
      if (path !== '/history.atom') return false;
      res.writeHead(200, { 'content-type': 'application/atom+xml; charset=utf-8' });
      res.end(STATUS_ATOM);
      return true;
    },
  });
  fake = await startFakeProviders();
  browser = await launch({ hostRules: { 'claude.ai': site.port, 'status.claude.com': statusPage.port } });
  control = await openExtensionPage(browser.context, 'www/options.html');
});

after(async () => {
  await browser?.close();
  await fake?.close();
  await site?.close();
  await statusPage?.close();
});

async function openClaude(url = 'https://claude.ai/new') {
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

const lastAnswer = (page) => page.evaluate((sel) => [...document.querySelectorAll(sel)].at(-1)?.textContent ?? null, ANSWER);

/** A Claude chat with one good exchange, then a prompt that fails the way `failure` says. */
async function failedChat(failure, prompt = 'Now add a day trip to Sintra') {
  site.setMode({ mode: 'healthy' });
  const page = await openClaude();
  await sendPrompt(page, 'Plan a weekend in Lisbon');
  await page.waitForFunction((a) => document.querySelectorAll('.font-claude-response')[0]?.textContent === a, FIRST_ANSWER);
  await page.waitForTimeout(200);
  site.setMode(failure);
  await sendPrompt(page, prompt);
  await page.waitForSelector(NOTICE, { timeout: 15000 });
  return page;
}

test('the content scripts start on claude.ai by themselves, with Claude\'s adapter', async () => {
  const page = await openClaude();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.understudySite), 'claude');
  const entry = await tabEntry(browser.context, page.url());
  assert.equal(entry.site, 'claude');
  // The popup names the tab's site, and what Claude's own status page says (its Atom history:
  // one incident ongoing), polled because a Claude tab is open.
  const popup = await openExtensionPage(browser.context, 'www/popup.html');
  const line = await popup.waitForSelector('#tabs li[data-site="claude"]', { timeout: 10000 });
  assert.match(await line.textContent(), /Claude · \/new/);
  const status = await popup.waitForSelector('#tabs li[data-site="claude"] [data-testid="understudy-site-status"]', { timeout: 10000 });
  assert.match(await status.textContent(), /^Claude status page: .+\. .*Elevated errors on Claude Opus 4\.5/);
  assert.ok(statusPage.requests.some((r) => r.path === '/history.atom'), 'the feed was read');
  await popup.close();
  await page.close();
});

test('a healthy Claude turn raises no notice', async () => {
  site.setMode({ mode: 'healthy' });
  const page = await openClaude();
  await sendPrompt(page, 'Plan a weekend in Lisbon');
  await page.waitForFunction((a) => document.querySelector('.font-claude-response')?.textContent === a, FIRST_ANSWER);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  assert.deepEqual(site.prompts().at(-1), 'Plan a weekend in Lisbon');
  await page.close();
});

test('Claude turns are kept in the library under Claude: two prompts and their answers in order, shown and filtered by site', async () => {
  site.setMode({ mode: 'healthy', answer: 'Alfama at dawn, then the tram 28.' });
  const page = await openClaude();
  await sendPrompt(page, 'A morning walk in Lisbon?');
  await page.waitForFunction(() => document.querySelectorAll('.font-claude-response')[0]?.getAttribute('data-is-streaming') === 'false');
  site.setMode({ mode: 'healthy', answer: 'Belém for pastéis de nata.' });
  await sendPrompt(page, 'And for lunch?');
  await page.waitForFunction(() => document.querySelectorAll('.font-claude-response')[1]?.getAttribute('data-is-streaming') === 'false');
  const conversation = /\/chat\/([0-9a-f-]{36})/.exec(page.url())?.[1];
  assert.ok(conversation, page.url());
  const cs = await waitCached(browser.context, (all) => all.some((c) => c.id === `claude:${conversation}` && c.texts.length === 4 && !c.incomplete));
  const kept = cs.find((c) => c.id === `claude:${conversation}`);
  assert.equal(kept.site, 'claude');
  assert.deepEqual(kept.texts, ['A morning walk in Lisbon?', 'Alfama at dawn, then the tram 28.', 'And for lunch?', 'Belém for pastéis de nata.']);
  // The library names the site and filters by it.
  const lib = await library(browser.context);
  const row = await lib.waitForSelector(`#list .row[data-id="claude:${conversation}"]`);
  assert.equal(await row.getAttribute('data-site'), 'claude');
  assert.match(await row.textContent(), /Claude ·/);
  await lib.selectOption('[data-testid="understudy-library-site"]', 'claude');
  const sites = await lib.evaluate(() => [...document.querySelectorAll('#list .row')].map((r) => r.dataset.site));
  assert.ok(sites.length > 0 && sites.every((x) => x === 'claude'), JSON.stringify(sites));
  await lib.close();
  await page.close();
});

test('a 429 on the send: rate_limited, the notice names Claude', async () => {
  const page = await failedChat({ mode: 'status', status: 429 });
  assert.equal(await noticeKind(page), 'rate_limited');
  // The body's exceeded_limit says when it resets (an hour from now).
  assert.match(await noticeText(page), /^Claude is rate-limiting you until \d\d:\d\d\./);
  assert.doesNotMatch(await noticeText(page), /ChatGPT/);
  // A later send that goes well clears it.
  site.setMode({ mode: 'healthy' });
  await sendPrompt(page, 'And now?');
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await page.waitForFunction(() => document.querySelectorAll('.font-claude-response')[2]?.textContent.length > 0);
  await page.waitForTimeout(500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

for (const [status, kind, words] of [[500, 'service_down', 'Claude is down.'], [529, 'capacity', 'Claude is at capacity right now.']]) {
  test(`HTTP ${status} on the send (Claude's error body): ${kind}, "${words}"`, async () => {
    const page = await failedChat({ mode: 'status', status });
    assert.equal(await noticeKind(page), kind);
    assert.ok((await noticeText(page)).startsWith(words), await noticeText(page));
    await page.close();
  });
}

test('a usage limit reported inside the stream (message_limit exceeded_limit): rate_limited until its reset', async () => {
  const resetsAt = Math.floor(Date.now() / 1000) + 2 * 3600;
  const page = await failedChat({ mode: 'limit', resetsAt });
  assert.equal(await noticeKind(page), 'rate_limited');
  assert.match(await noticeText(page), /^Claude is rate-limiting you until \d\d:\d\d\./);
  await page.close();
});

test('Claude\'s capacity text in the page: capacity, "Claude is at capacity right now."', async () => {
  const page = await failedChat({ mode: 'capacity' });
  assert.equal(await noticeKind(page), 'capacity');
  assert.match(await noticeText(page), /^Claude is at capacity right now\./);
  await page.close();
});

test('the user quoting Claude\'s error text in their own message raises nothing', async () => {
  site.setMode({ mode: 'healthy' });
  const page = await openClaude();
  await sendPrompt(page, `Why did I see "${CAPACITY_TEXT}" and "5-hour limit reached - resets 14:00" yesterday?`);
  await page.waitForFunction((a) => document.querySelector('.font-claude-response')?.textContent === a, FIRST_ANSWER);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('the rescue: the frame shows in the notice, Ask elsewhere leaves Claude out, Continue carries the failed prompt to a local provider', async () => {
  const name = 'local-claude';
  const answer = 'Take the train from Rossio: 40 minutes.';
  fake.plan(name, [{ fault: 'ok', tokenDelayMs: 5, answer }]);
  await configure(control, [provider(fake, name, 'openai')]);
  const page = await failedChat({ mode: 'capacity' });
  const frame = await rescueFrame(page);
  const sites = await frame.evaluate(() => [...document.querySelectorAll('[data-testid="understudy-handoff-item"]')].map((b) => b.dataset.site));
  assert.ok(sites.length > 0, 'other sites are offered');
  assert.ok(!sites.includes('claude'), `Claude is not offered on Claude: ${sites}`);
  await clickRescue(page, '[data-testid="understudy-continue"]');
  const seen = await waitAnswer(page);
  assert.equal(seen.state, 'done', JSON.stringify(seen));
  assert.equal(seen.provider, name);
  assert.equal(seen.text.trim(), answer);
  const [req] = fake.to(name);
  assert.deepEqual(req.json.messages, [
    { role: 'user', content: 'Plan a weekend in Lisbon' },
    { role: 'assistant', content: FIRST_ANSWER },
    { role: 'user', content: 'Now add a day trip to Sintra' },
  ]);
  assert.equal((await answerState(page)).state, 'done');
  await page.close();
});

test('a stalled answer: network_error, "Claude stopped answering."', async () => {
  await setTiming(browser.context, { stall_ms: 1500, no_start_ms: 3000, resume_grace_ms: 0 });
  try {
    const page = await failedChat({ mode: 'stall', tokenDelayMs: 5 });
    assert.equal(await noticeKind(page), 'network_error');
    assert.match(await noticeText(page), /^Claude stopped answering\./);
    await page.close();
  } finally {
    await setTiming(browser.context, null);
  }
});

test('Claude switched off in the options: a failure there raises nothing and nothing of it is kept', async () => {
  const options = await openExtensionPage(browser.context, 'www/options.html');
  await options.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  const box = options.locator('[data-testid="site-claude"]');
  assert.equal(await box.isChecked(), true, 'every site is watched by default');
  assert.equal(await options.locator('label[for="site-claude"]').textContent(), 'Claude (claude.ai)');
  await box.uncheck();
  await options.click('[data-testid="save"]');
  await options.waitForFunction(async () => (await chrome.storage.local.get('settings')).settings?.sites_off?.includes('claude') === true, null, { timeout: 10000 });
  try {
    site.setMode({ mode: 'status', status: 503 });
    const page = await browser.context.newPage();
    await page.goto('https://claude.ai/new');
    await page.waitForTimeout(1000);
    await sendPrompt(page, 'Switched off: nothing should happen');
    await page.waitForTimeout(2500);
    assert.equal(await noticeKind(page), null);
    // Understudy answered the page, as no chat site of its own: its content scripts stay idle.
    await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
    assert.equal(await page.evaluate(() => document.documentElement.dataset.understudySite), '');
    assert.equal((await tabEntry(browser.context, page.url()))?.current ?? null, null);
    await page.close();
  } finally {
    site.setMode({ mode: 'healthy' });
    await box.check();
    await options.click('[data-testid="save"]');
    await options.waitForFunction(async () => !((await chrome.storage.local.get('settings')).settings?.sites_off ?? []).includes('claude'), null, { timeout: 10000 });
    await options.close();
  }
});

test('in German, the notice names Claude in German words', async () => {
  const de = await launch({ hostRules: { 'claude.ai': site.port }, lang: 'de' });
  try {
    site.setMode({ mode: 'healthy' });
    const page = await de.context.newPage();
    await page.goto('https://claude.ai/new');
    await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
    await waitObserved(de.context, page);
    site.setMode({ mode: 'capacity' });
    await sendPrompt(page, 'Plane ein Wochenende in Lissabon');
    await page.waitForSelector(NOTICE, { timeout: 15000 });
    assert.equal(await noticeKind(page), 'capacity');
    assert.match(await noticeText(page), /^Claude ist gerade ausgelastet\./);
  } finally {
    await de.close();
  }
});
