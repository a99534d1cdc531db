// Detection beyond one page: the popup (empty states, page signals, the status page of a fake
// status.openai.com), the toolbar badge, and a detection that survives a service-worker restart.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage } from './browser.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';
import { startFakeStatus, summary } from './fake-status/server.mjs';
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
  assert.equal(statusPage.polls.filter((p) => p.path === '/api/v2/summary.json').length, 1);
  assert.equal(await popup.evaluate(() => chrome.action.getBadgeText({})), '!!');
  const alarm = await popup.evaluate(() => chrome.alarms.get('detect.status'));
  assert.ok(alarm && alarm.scheduledTime - Date.now() > 60_000, 'next poll scheduled about two minutes later');
  await Promise.all([a.close(), b.close(), popup.close()]);
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
