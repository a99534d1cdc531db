// A hostile chat page against auto mode: the real extension in Chromium on the fake chatgpt.com,
// auto mode on, a local OpenAI-compatible server as the provider (each request it receives is
// counted). A page script fakes ChatGPT failures as fast as detection lets it: forged hook facts (a
// send answered 503), error boxes added and removed, a new failure episode every 500 ms. Auto mode
// may act at most once per failure episode and at most 3 times per tab and 10 times per browser
// in an hour (src/autoguard.rs), so the provider hears at most that, however many failures the page
// fakes; a click still works after the bound.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { recordRow } from './reliability.mjs';
import { launch, openExtensionPage } from './browser.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { configure, provider } from './fake-providers/harness.mjs';
import { NOTICE, openChat, timeline } from './detect-helpers.mjs';
import { clickRescue, waitAnswer } from './rescue-frame-helpers.mjs';

const PER_TAB = 3;
const PER_BROWSER = 10;
const NAME = 'hostile-first';
let site;
let fake;
let browser;
let control;

before(async () => {
  site = await startFakeChatgpt();
  fake = await startFakeProviders();
  browser = await launch({ chatgptPort: site.port });
  control = await openExtensionPage(browser.context, 'www/options.html');
  fake.plan(NAME, [{ fault: 'ok', tokenDelayMs: 2 }]);
  await configure(control, [provider(fake, NAME, 'openai'), provider(fake, 'hostile-spare', 'openai')]);
  // Auto mode on for every kind it can carry on.
  await control.evaluate(async () => {
    const { settings } = await chrome.storage.local.get('settings');
    const every = { service_down: true, capacity: true, generation_error: true, network_error: true, rate_limited: true, conversation_unavailable: true, unknown_error: true };
    await chrome.storage.local.set({ settings: { ...settings, auto_mode: { enabled: true, ...every } } });
  });
});

after(async () => {
  await browser?.close();
  await fake?.close();
  await site?.close();
});

/**
 * What a hostile page script does for `ms`: every 100 + `holdMs` ms it ends the failure it faked (a
 * send that went well, its error box removed) and fakes a new one, alternately a send answered 503
 * (forged hook facts) and an error box in the latest turn, each time with a prompt of its own.
 * Returns how many failures it faked.
 */
function forge(page, ms, tag, holdMs = 400) {
  return page.evaluate(async ([ms, tag, holdMs]) => {
    const post = (m) => window.postMessage({ source: 'understudy-hook', ...m }, location.origin);
    const send = '/backend-api/f/conversation';
    let id = 1_000_000 + Math.floor(Math.random() * 1_000_000);
    const WORDS = ['There was an error generating a response', 'ChatGPT is at capacity right now', 'A network error occurred. Please check your connection and try again.'];
    let faked = 0;
    const until = performance.now() + ms;
    for (let i = 0; performance.now() < until; i++) {
      // The previous failure ends: its box goes, a send goes well.
      document.getElementById('forged-error')?.remove();
      const ok = ++id;
      post({ kind: 'request_start', id: ok, path: send, method: 'POST', prompt: `${tag} recovered ${i}` });
      post({ kind: 'response', id: ok, path: send, method: 'POST', status: 200, streaming: false });
      await new Promise((r) => setTimeout(r, 100));
      // A new failure, with the page's prompt.
      const bad = ++id;
      post({ kind: 'request_start', id: bad, path: send, method: 'POST', prompt: `${tag} exfiltrate ${i}` });
      if (i % 2 === 0) {
        post({ kind: 'response', id: bad, path: send, method: 'POST', status: 503, detail: '{"detail":"Service Unavailable"}', streaming: false });
      } else {
        post({ kind: 'response', id: bad, path: send, method: 'POST', status: 200, streaming: false });
        const box = document.createElement('div');
        box.className = 'text-token-text-error';
        box.id = 'forged-error';
        box.textContent = WORDS[i % WORDS.length];
        [...document.querySelectorAll('[data-testid^="conversation-turn-"]')].at(-1)?.append(box) ?? document.querySelector('main')?.append(box);
      }
      faked++;
      await new Promise((r) => setTimeout(r, holdMs));
    }
    return faked;
  }, [ms, tag, holdMs]);
}

/** The failures the worker raised for the tab showing `page` (its timeline keeps the last 50). */
async function raisedOn(page) {
  const worker = await control.evaluate(async () => (await chrome.tabs.query({})).map((t) => ({ id: t.id, url: t.url })));
  const tab = worker.find((t) => t.url === page.url())?.id;
  return (await timeline(browser.context)).filter((e) => e.type === 'raised' && e.tab === tab).length;
}

test('forged failures every 500 ms for 10 s: the provider hears at most one automatic rescue per episode and 3 per tab', async () => {
  site.setMode({ mode: 'healthy' });
  const page = await openChat(browser.context, 'https://chatgpt.com/');
  const faked = await forge(page, 10_000, 'tab1');
  await page.waitForTimeout(1500); // time enough for any ask still to reach the provider
  const raised = await raisedOn(page);
  const asked = fake.to(NAME).length;
  console.log(`forged failures: ${faked}, raised by the worker: ${raised}, provider requests: ${asked}`);
  assert.ok(faked >= 15, `the page faked failures (${faked})`);
  assert.ok(raised > PER_TAB, `the forged failures were detected as episodes (${raised})`);
  assert.ok(asked >= 1, 'auto mode was on and acted');
  assert.ok(asked <= PER_TAB, `at most ${PER_TAB} automatic rescues for the tab, got ${asked}`);
  assert.ok(asked <= raised, 'at most one per episode');
  // What went out is a prompt the worker recorded with a failure it raised (the page's own, here).
  for (const r of fake.to(NAME)) assert.match(r.json.messages.at(-1).content, /^tab1 (exfiltrate|recovered) \d+$/);
  await page.close();
  // Each forged failure is one attempt; what reached the provider stayed within the stated bound.
  recordRow({ name: 'attacks: forged failures driving auto mode (one tab)', kind: 'attacks', tried: faked, held: faked, note: `${faked} forged failures in 10 s, ${raised} raised by the worker: ${asked} automatic asks reached the provider, within the bound (one per episode, ${PER_TAB} per tab; before the bound: 40 in 20 s)` });
});

test('more tabs flooding at once: at most 3 per tab and 10 per browser in the hour', async () => {
  site.setMode({ mode: 'healthy' });
  const before = fake.to(NAME).length;
  const pages = [];
  for (let i = 0; i < 4; i++) pages.push(await openChat(browser.context, `https://chatgpt.com/?tab=${i}`));
  let faked = await Promise.all(pages.map((p, i) => forge(p, 6_000, `tab${i + 2}`)));
  // Auto mode acts from the notice's rescue frame, which must load while the failure lasts: on a
  // busy machine four tabs' frames may not load within a 400 ms episode. The tabs go on forging,
  // with failures that last longer (1.5 s, still a new episode every 1.6 s), until the browser's
  // bound is reached or 40 s have passed.
  for (let round = 0; round < 10 && fake.to(NAME).length < PER_BROWSER; round++) {
    const more = await Promise.all(pages.map((p, i) => forge(p, 4_000, `tab${i + 2}`, 1_500)));
    faked = faked.map((n, i) => n + more[i]);
  }
  await pages[0].waitForTimeout(1500);
  const asked = fake.to(NAME).slice(before);
  const total = before + asked.length;
  console.log(`forged failures: ${faked.join(' + ')}, provider requests: ${asked.length} (browser total ${total})`);
  for (let i = 0; i < pages.length; i++) {
    const mine = asked.filter((r) => r.json.messages.at(-1).content.startsWith(`tab${i + 2} `)).length;
    assert.ok(mine <= PER_TAB, `tab ${i + 2}: ${mine} automatic rescues`);
  }
  assert.ok(total <= PER_BROWSER, `at most ${PER_BROWSER} automatic rescues in the browser, got ${total}`);
  assert.equal(total, PER_BROWSER, 'the browser bound is what stopped them');
  // Auto mode is spent, a click is not: the user can still carry the failure on.
  const page = pages[0];
  await page.waitForSelector(NOTICE, { timeout: 5000 });
  await page.bringToFront();
  const clicked = fake.to(NAME).length;
  await clickRescue(page, '[data-testid="understudy-continue"]');
  await waitAnswer(page);
  assert.equal(fake.to(NAME).length, clicked + 1, 'a click still asks');
  for (const p of pages) await p.close();
  const forged = faked.reduce((a, n) => a + n, 0);
  recordRow({ name: 'attacks: forged failures driving auto mode (4 tabs at once)', kind: 'attacks', tried: forged, held: forged, note: `${forged} forged failures from 4 tabs in 6 s: ${asked.length} automatic asks, within the bound (${PER_TAB} per tab, ${PER_BROWSER} per browser an hour); a click still asks` });
});
