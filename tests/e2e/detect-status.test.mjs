// Detection beyond one page: the popup (empty states, page signals, the status page of a fake
// status.openai.com: incident.io's native feed and the Statuspage summary it falls back to), the
// toolbar badge, and a detection that survives a service-worker restart.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage } from './browser.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';
import { FEED_PATH, SUMMARY_PATH, feed, startFakeStatus, summary } from './fake-status/server.mjs';
import { NOTICE, openChat, sendPrompt, stopWorker, tabEntry, timeline } from './detect-helpers.mjs';

let site;
let statusPage;
let browser;

before(async () => {
  site = await startFakeChatgpt();
  statusPage = await startFakeStatus();
  statusPage.set(summary(
    [['Conversations', 'major_outage'], ['Login', 'operational'], ['Sora', 'operational']],
    [['Elevated error rates in ChatGPT', 'critical']],
  ));
  browser = await launch({ chatgptPort: site.port, hostRules: { 'status.openai.com': statusPage.port } });
});

after(async () => {
  await browser?.close();
  await site?.close();
  await statusPage?.close();
});

const text = (page, sel) => page.evaluate((s) => document.querySelector(s)?.textContent ?? '', sel);

test('the popup has clear empty states before any ChatGPT tab is open', async () => {
  const popup = await openExtensionPage(browser.context, 'www/popup.html');
  await popup.waitForFunction(() => document.querySelector('#version')?.textContent.startsWith('Core'));
  assert.match(await text(popup, '#tabs'), /No ChatGPT tab is open/);
  assert.match(await text(popup, '#timeline'), /Nothing has failed yet/);
  assert.match(await text(popup, '#status-page'), /Not checked yet/);
  assert.equal(await text(popup, '#status'), 'Watching ChatGPT. Nothing has failed.');
  assert.equal(statusPage.polls.length, 0, 'no status poll without a chat tab');
  await popup.close();
});

test('with a chat tab open the status page is polled (once per two minutes at most) and shown in the popup and badge', async () => {
  const a = await openChat(browser.context, 'https://chatgpt.com/');
  const b = await openChat(browser.context, 'https://chat.openai.com/');
  const popup = await openExtensionPage(browser.context, 'www/popup.html');
  await popup.waitForFunction(() => document.querySelector('#status-page')?.textContent.includes('Elevated error rates in ChatGPT'), null, { timeout: 10000 })
    .catch(async (e) => { throw new Error(`${e.message}: ${await text(popup, 'body')} ${JSON.stringify(statusPage.polls)}`); });
  const shown = await text(popup, '#status-page');
  assert.match(shown, /Major outage reported/);
  assert.match(shown, /Conversations: major outage/);
  assert.doesNotMatch(shown, /Sora/, 'only ChatGPT components count');
  assert.match(await text(popup, '#status'), /status page: Major outage/);
  // No native feed yet (404): the summary was read instead.
  assert.deepEqual(statusPage.polls.map((p) => p.path), [FEED_PATH, SUMMARY_PATH]);
  assert.equal(await popup.evaluate(async () => (await chrome.storage.session.get('detect.status'))['detect.status'].source), 'statuspage');
  assert.equal(await popup.evaluate(() => chrome.action.getBadgeText({})), '!!');
  const alarm = await popup.evaluate(() => chrome.alarms.get('detect.status'));
  assert.ok(alarm && alarm.scheduledTime - Date.now() > 60_000, 'next poll scheduled about two minutes later');
  await Promise.all([a.close(), b.close(), popup.close()]);
});

/**
 * Forgets the last status poll (the worker polls at most every two minutes), opens a chat tab so the
 * worker polls again, and returns a popup showing the new report and the paths that poll fetched.
 */
async function pollAgain() {
  const probe = await openExtensionPage(browser.context, 'www/popup.html');
  await probe.evaluate(async () => {
    await chrome.alarms.clear('detect.status');
    await chrome.storage.session.remove('detect.status');
  });
  await probe.close();
  const from = statusPage.polls.length;
  const chat = await openChat(browser.context, 'https://chatgpt.com/');
  const popup = await openExtensionPage(browser.context, 'www/popup.html');
  await popup.waitForFunction(() => document.body.dataset.ready === 'true' && /Checked at/.test(document.querySelector('#status-page')?.textContent), null, { timeout: 10000 })
    .catch(async (e) => { throw new Error(`${e.message}: ${await text(popup, '#status-page')} ${JSON.stringify(statusPage.polls)}`); });
  const stored = await popup.evaluate(async () => (await chrome.storage.session.get('detect.status'))['detect.status']);
  await chat.close();
  return { popup, stored, paths: statusPage.polls.slice(from).map((p) => p.path) };
}

const badge = (page) => page.evaluate(() => chrome.action.getBadgeText({}));

test("incident.io's feed: the popup shows a ChatGPT incident's name, latest update and start time", async () => {
  const began = '2026-02-04T09:12:00.123Z';
  statusPage.setFeed(feed({
    affected: [['Conversations', 'partial_outage'], ['Responses', 'full_outage']],
    incidents: [{
      name: 'Elevated error rates for ChatGPT conversations',
      status: 'identified',
      published_at: began,
      impact: 'partial_outage',
      components: ['Conversations'],
      updates: [
        { message: 'We have identified the cause and are rolling out a fix.', published_at: '2026-02-04T09:40:00Z' },
        { message: 'We are investigating elevated error rates.', published_at: began },
      ],
    }],
  }));
  const { popup, stored, paths } = await pollAgain();
  assert.deepEqual(paths, [FEED_PATH], 'the feed alone was read');
  assert.equal(stored.source, 'incident.io');
  assert.deepEqual([stored.errors, stored.error], [0, null]);
  const shown = await popup.evaluate(() => {
    const box = document.querySelector('#status-page');
    const incident = box.querySelector('.incident');
    const time = incident?.querySelector('.began time');
    return {
      level: box.querySelector('[data-level]')?.dataset.level,
      name: incident?.querySelector('.incident-name')?.textContent,
      began: incident?.querySelector('.began')?.textContent,
      datetime: time?.getAttribute('datetime'),
      time: time?.textContent,
      update: incident?.querySelector('.update p')?.textContent,
      all: box.textContent,
    };
  });
  assert.equal(shown.level, 'partial_outage');
  assert.equal(shown.name, 'Incident: Elevated error rates for ChatGPT conversations');
  assert.equal(shown.update, 'We have identified the cause and are rolling out a fix.', 'the latest update');
  assert.equal(shown.datetime, began);
  // When it began, in the browser's locale, and how long ago.
  const local = await popup.evaluate((ms) => {
    const days = Math.round((ms - Date.now()) / 86_400_000);
    return `${new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(ms)} (${new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }).format(days, 'day')})`;
  }, Date.parse(began));
  assert.equal(shown.time, local);
  assert.match(shown.began, /^Identified · began /);
  assert.match(shown.all, /Affects Conversations/);
  assert.match(shown.all, /Conversations: partial outage/);
  assert.doesNotMatch(shown.all, /Responses/, "the API's components are not ChatGPT's");
  assert.match(await text(popup, '#status'), /status page: Partial outage/);
  assert.equal(await badge(popup), '!');
  await popup.screenshot({ path: 'target/e2e/popup-status-incident.png', fullPage: true }).catch(() => {});
  await popup.close();
});

test('an incident of the API alone leaves ChatGPT operational: no badge, listed apart', async () => {
  statusPage.setFeed(feed({
    affected: [['Chat Completions', 'partial_outage'], ['Responses', 'full_outage']],
    incidents: [{
      name: 'Increased error rates for Chat Completions and Responses',
      published_at: '2026-02-04T10:05:30.500Z',
      impact: 'full_outage',
      components: ['Chat Completions', 'Responses'],
      updates: [{ message: 'We are seeing elevated errors on the API.', published_at: '2026-02-04T10:05:30.500Z' }],
    }],
  }));
  const { popup, stored, paths } = await pollAgain();
  assert.deepEqual(paths, [FEED_PATH]);
  assert.equal(stored.report.level, 'operational');
  assert.deepEqual(stored.report.incidents, []);
  assert.equal(await popup.getAttribute('#status-page [data-level]', 'data-level'), 'operational');
  assert.equal(await popup.$('#status-page .incident'), null, 'no ChatGPT incident shown');
  assert.match(await text(popup, '#status-page'), /Not ChatGPT \(API\): Increased error rates for Chat Completions and Responses/);
  assert.equal(await text(popup, '#status'), 'Watching ChatGPT. Nothing has failed.');
  assert.equal(await badge(popup), '');
  await popup.close();
});

test('when the feed fails (HTTP 500, or an unreadable answer) the Statuspage summary is read instead', async () => {
  statusPage.set(summary([['Conversations', 'degraded_performance'], ['Chat Completions', 'major_outage']], [['Elevated latency in ChatGPT', 'major']]));
  statusPage.failFeed(true);
  try {
    let { popup, stored, paths } = await pollAgain();
    assert.deepEqual(paths, [FEED_PATH, SUMMARY_PATH], 'the feed first, then the summary');
    assert.equal(stored.source, 'statuspage');
    assert.deepEqual([stored.errors, stored.error], [0, null]);
    let shown = await text(popup, '#status-page');
    assert.match(shown, /Incident: Elevated latency in ChatGPT/);
    assert.match(shown, /Conversations: degraded performance/);
    assert.doesNotMatch(shown, /Chat Completions/);
    assert.match(shown, /from the Statuspage summary/);
    assert.equal(await badge(popup), '!');
    await popup.close();

    statusPage.failFeed(false);
    statusPage.setFeed({ status: 200, body: '<!doctype html><title>Status</title>' });
    ({ popup, stored, paths } = await pollAgain());
    assert.deepEqual(paths, [FEED_PATH, SUMMARY_PATH]);
    assert.equal(stored.source, 'statuspage');
    assert.match(await text(popup, '#status-page'), /Incident: Elevated latency in ChatGPT/);
    await popup.close();

    // Both fail: an error is recorded, the last report kept.
    statusPage.setFeed({ status: 503, body: '' });
    statusPage.set({ status: 502, body: '<html>Bad gateway</html>' });
    const probe = await openExtensionPage(browser.context, 'www/popup.html');
    await probe.evaluate(async () => {
      const { 'detect.status': s } = await chrome.storage.session.get('detect.status');
      await chrome.alarms.clear('detect.status');
      await chrome.storage.session.set({ 'detect.status': { ...s, at: 0, next_at: 0 } });
    });
    const chat = await openChat(browser.context, 'https://chatgpt.com/');
    let failed;
    for (const until = Date.now() + 10000; !(failed?.errors >= 1); await new Promise((r) => setTimeout(r, 50))) {
      assert.ok(Date.now() < until, `no failed poll recorded: ${JSON.stringify(failed)}`);
      failed = await probe.evaluate(async () => (await chrome.storage.session.get('detect.status'))['detect.status']);
    }
    assert.equal(failed.errors, 1);
    assert.equal(failed.error, 'incident.io: HTTP 503; statuspage: HTTP 502');
    assert.equal(failed.source, 'statuspage');
    assert.equal(failed.report.incidents[0], 'Elevated latency in ChatGPT');
    await Promise.all([chat.close(), probe.close()]);
  } finally {
    statusPage.failFeed(false);
    statusPage.setFeed(null);
  }
});

test('a detection survives a service-worker restart: the popup shows it and recovery still clears it', async () => {
  site.setMode({ mode: 'healthy' });
  const page = await openChat(browser.context, 'https://chatgpt.com/?quiet=1');
  site.setMode({ mode: 'status', status: 503, body: '{"detail":"Service Unavailable"}' });
  await sendPrompt(page, 'Is it down?');
  await page.waitForSelector(`${NOTICE}[data-kind="service_down"]`);
  const tab = await tabEntry(browser.context, page.url());
  assert.equal(tab.current.kind, 'service_down');

  await stopWorker(browser.context, page);

  // The popup wakes the worker, which reads the state back from storage.
  const popup = await openExtensionPage(browser.context, 'www/popup.html');
  await popup.waitForSelector('#tabs li[data-kind="service_down"]', { timeout: 10000 });
  assert.match(await text(popup, '#status'), /ChatGPT: Down/);
  assert.match(await text(popup, '#timeline'), /Down/);
  const tabId = Number(await popup.getAttribute('#tabs li[data-kind="service_down"]', 'data-tab'));
  assert.equal(await popup.evaluate((id) => chrome.action.getBadgeText({ tabId: id }), tabId), 'DOWN');
  await popup.close();

  // The same failure again raises no second event; a successful answer clears it (restored state).
  await stopWorker(browser.context, page);
  const raisedBefore = (await timeline(browser.context)).filter((e) => e.type === 'raised').length;
  await sendPrompt(page, 'Still down?');
  await page.waitForTimeout(500);
  assert.equal((await timeline(browser.context)).filter((e) => e.type === 'raised').length, raisedBefore);
  await stopWorker(browser.context, page);
  site.setMode({ mode: 'healthy' });
  await sendPrompt(page, 'Back?');
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  // The timeline is written after the answer went back to the tab: wait for it a moment.
  let last = null;
  for (const until = Date.now() + 5000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
    last = (await timeline(browser.context)).at(-1);
    if (last?.type === 'recovered') break;
  }
  assert.deepEqual([last.type, last.kind], ['recovered', 'service_down']);
  const check = await openExtensionPage(browser.context, 'www/popup.html');
  assert.equal(await check.evaluate((id) => chrome.action.getBadgeText({ tabId: id }), tabId), '');
  await check.close();
  await page.close();
});

test('closing a tab forgets its detection state', async () => {
  const page = await openChat(browser.context, 'https://chatgpt.com/fixtures/capacity-full-page.html');
  await page.waitForSelector(`${NOTICE}[data-kind="capacity"]`);
  const url = page.url();
  assert.ok(await tabEntry(browser.context, url));
  await page.close();
  const until = Date.now() + 5000;
  while (await tabEntry(browser.context, url)) {
    assert.ok(Date.now() < until, 'state removed after the tab closed');
    await new Promise((r) => setTimeout(r, 50));
  }
});
