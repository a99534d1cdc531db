// Understudy on claude.ai: the real extension in Chromium on a fake claude.ai (fake-claude/, mapped
// to loopback). The content scripts start there by themselves; a healthy turn raises nothing; each
// failure family (a 429 on the send, a usage limit reported in the stream, Claude's capacity text in
// the page, a stalled answer) shows the notice naming Claude with its kind; the user quoting
// Claude's error text raises nothing; the rescue frame carries the failed prompt to a local provider.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { openExtensionPage } from './browser.mjs';
import { startFakeClaude, CAPACITY_TEXT } from './fake-claude/server.mjs';
import { provider } from './fake-providers/harness.mjs';
import { NOTICE, noticeKind, noticeText, tabEntry } from './detect-helpers.mjs';
import { siteSuite } from './site-helpers.mjs';
import { cached, library, waitCached } from './cache-helpers.mjs';

const COMPOSER = '.ProseMirror[role="textbox"]';
const SEND = 'button[aria-label="Send message"]';
const ANSWER = '.font-claude-response';
const FIRST_ANSWER = 'Here is a short answer, streamed the way Claude streams it.';
const STATUS_ATOM = fs.readFileSync(new URL('../fixtures/status/sites/claude-history.atom', import.meta.url), 'utf8');
const s = siteSuite({
  id: 'claude',
  hosts: ['claude.ai'],
  start: startFakeClaude,
  // status.claude.com: its incident history feed (the fixture: one incident ongoing).
  feeds: [{ host: 'status.claude.com', path: '/history.atom', format: 'atom', body: STATUS_ATOM }],
  home: 'https://claude.ai/new',
  composer: COMPOSER,
  send: SEND,
  answer: ANSWER,
  first: ['Plan a weekend in Lisbon', FIRST_ANSWER],
  failing: 'Now add a day trip to Sintra',
});

test('the content scripts start on claude.ai by themselves, with Claude\'s adapter', async () => {
  const page = await s.open();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.understudySite), 'claude');
  const entry = await tabEntry(s.browser.context, page.url());
  assert.equal(entry.site, 'claude');
  // The popup names the tab's site, and what Claude's own status page says (its Atom history:
  // one incident ongoing), polled because a Claude tab is open.
  const popup = await openExtensionPage(s.browser.context, 'www/popup.html');
  const line = await popup.waitForSelector('#tabs li[data-site="claude"]', { timeout: 10000 });
  assert.match(await line.textContent(), /Claude · \/new/);
  const status = await popup.waitForSelector('#tabs li[data-site="claude"] [data-testid="understudy-site-status"]', { timeout: 10000 });
  assert.match(await status.textContent(), /^Claude status page: .+\. .*Elevated errors on Claude Opus 4\.5/);
  assert.ok(s.feeds[0].requests.some((r) => r.path === '/history.atom'), 'the feed was read');
  await popup.close();
  await page.close();
});

test('a healthy Claude turn raises no notice', async () => {
  s.site.setMode({ mode: 'healthy' });
  const page = await s.open();
  await s.sendPrompt(page, 'Plan a weekend in Lisbon');
  await page.waitForFunction((a) => document.querySelector('.font-claude-response')?.textContent === a, FIRST_ANSWER);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  assert.deepEqual(s.site.prompts().at(-1), 'Plan a weekend in Lisbon');
  await page.close();
});

test('Claude turns are kept in the library under Claude: two prompts and their answers in order, shown and filtered by site', async () => {
  s.site.setMode({ mode: 'healthy', answer: 'Alfama at dawn, then the tram 28.' });
  const page = await s.open();
  await s.sendPrompt(page, 'A morning walk in Lisbon?');
  await page.waitForFunction(() => document.querySelectorAll('.font-claude-response')[0]?.getAttribute('data-is-streaming') === 'false');
  s.site.setMode({ mode: 'healthy', answer: 'Belém for pastéis de nata.' });
  await s.sendPrompt(page, 'And for lunch?');
  await page.waitForFunction(() => document.querySelectorAll('.font-claude-response')[1]?.getAttribute('data-is-streaming') === 'false');
  const conversation = /\/chat\/([0-9a-f-]{36})/.exec(page.url())?.[1];
  assert.ok(conversation, page.url());
  const cs = await waitCached(s.browser.context, (all) => all.some((c) => c.id === `claude:${conversation}` && c.texts.length === 4 && !c.incomplete));
  const kept = cs.find((c) => c.id === `claude:${conversation}`);
  assert.equal(kept.site, 'claude');
  assert.deepEqual(kept.texts, ['A morning walk in Lisbon?', 'Alfama at dawn, then the tram 28.', 'And for lunch?', 'Belém for pastéis de nata.']);
  // The library names the site and filters by it.
  const lib = await library(s.browser.context);
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
  const page = await s.failedChat({ mode: 'status', status: 429 });
  assert.equal(await noticeKind(page), 'rate_limited');
  // The body's exceeded_limit says when it resets (an hour from now).
  assert.match(await noticeText(page), /^Claude is rate-limiting you until \d\d:\d\d\./);
  assert.doesNotMatch(await noticeText(page), /ChatGPT/);
  // A later send that goes well clears it.
  s.site.setMode({ mode: 'healthy' });
  await s.sendPrompt(page, 'And now?');
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await page.waitForFunction(() => document.querySelectorAll('.font-claude-response')[2]?.textContent.length > 0);
  await page.waitForTimeout(500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

for (const [status, kind, words] of [[500, 'service_down', 'Claude is down.'], [529, 'capacity', 'Claude is at capacity right now.']]) {
  test(`HTTP ${status} on the send (Claude's error body): ${kind}, "${words}"`, async () => {
    const page = await s.failedChat({ mode: 'status', status });
    assert.equal(await noticeKind(page), kind);
    assert.ok((await noticeText(page)).startsWith(words), await noticeText(page));
    await page.close();
  });
}

test('a usage limit reported inside the stream (message_limit exceeded_limit): rate_limited until its reset', async () => {
  const resetsAt = Math.floor(Date.now() / 1000) + 2 * 3600;
  const page = await s.failedChat({ mode: 'limit', resetsAt });
  assert.equal(await noticeKind(page), 'rate_limited');
  assert.match(await noticeText(page), /^Claude is rate-limiting you until \d\d:\d\d\./);
  await page.close();
});

test('Claude\'s capacity text in the page: capacity, "Claude is at capacity right now."', async () => {
  const page = await s.failedChat({ mode: 'capacity' });
  assert.equal(await noticeKind(page), 'capacity');
  assert.match(await noticeText(page), /^Claude is at capacity right now\./);
  await page.close();
});

test('the user quoting Claude\'s error text in their own message raises nothing', async () => {
  s.site.setMode({ mode: 'healthy' });
  const page = await s.open();
  await s.sendPrompt(page, `Why did I see "${CAPACITY_TEXT}" and "5-hour limit reached - resets 14:00" yesterday?`);
  await page.waitForFunction((a) => document.querySelector('.font-claude-response')?.textContent === a, FIRST_ANSWER);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('the rescue: the frame shows in the notice, Ask elsewhere leaves Claude out, Continue carries the failed prompt to a local provider', () => s.rescue({ failure: { mode: 'capacity' }, answer: 'Take the train from Rossio: 40 minutes.' }));

test('a stalled answer: network_error, "Claude stopped answering."', () => s.stalled(/^Claude stopped answering\./));

test('Claude switched off in the options: a failure there raises nothing and nothing of it is kept', async () => {
  const options = await openExtensionPage(s.browser.context, 'www/options.html');
  await options.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  const box = options.locator('[data-testid="site-claude"]');
  assert.equal(await box.isChecked(), true, 'every site is watched by default');
  assert.equal(await options.locator('label[for="site-claude"]').textContent(), 'Claude (claude.ai)');
  await box.uncheck();
  await options.click('[data-testid="save"]');
  await options.waitForFunction(async () => (await chrome.storage.local.get('settings')).settings?.sites_off?.includes('claude') === true, null, { timeout: 10000 });
  try {
    s.site.setMode({ mode: 'status', status: 503 });
    const page = await s.browser.context.newPage();
    await page.goto('https://claude.ai/new');
    await page.waitForTimeout(1000);
    await s.sendPrompt(page, 'Switched off: nothing should happen');
    await page.waitForTimeout(2500);
    assert.equal(await noticeKind(page), null);
    // Understudy answered the page, as no chat site of its own: its content scripts stay idle.
    await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
    assert.equal(await page.evaluate(() => document.documentElement.dataset.understudySite), '');
    assert.equal((await tabEntry(s.browser.context, page.url()))?.current ?? null, null);
    // Nothing of it is kept (on a watched site the prompt of a failed send is).
    const lib = await library(s.browser.context);
    const kept = await cached(lib);
    await lib.close();
    assert.ok(!kept.some((c) => c.texts.includes('Switched off: nothing should happen')), JSON.stringify(kept.map((c) => c.id)));
    await page.close();
  } finally {
    s.site.setMode({ mode: 'healthy' });
    await box.check();
    await options.click('[data-testid="save"]');
    await options.waitForFunction(async () => !((await chrome.storage.local.get('settings')).settings?.sites_off ?? []).includes('claude'), null, { timeout: 10000 });
    await options.close();
  }
});

test('in German, the notice names Claude in German words', () => s.inLanguage({
  lang: 'de', failure: { mode: 'capacity' }, prompt: 'Plane ein Wochenende in Lissabon', kind: 'capacity',
  words: /^Claude ist gerade ausgelastet\./,
}));
