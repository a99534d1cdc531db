// Outage detection with the real extension on the fake chatgpt.com: every saved page judged right in
// the browser, each failure kind from the DOM and from the network, stalls, recovery, hostile pages.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage, ROOT, serviceWorker } from './browser.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';
import { NOTICE, noticeKind, noticeText, openChat, sendPrompt, tabEntry, timeline, waitObserved } from './detect-helpers.mjs';

const PAGES = path.join(ROOT, 'tests', 'fixtures', 'pages');
const EXPECTED = JSON.parse(fs.readFileSync(path.join(PAGES, 'expected.json'), 'utf8')).pages;
const SETTLE_MS = 300;
let site;
let browser;

before(async () => {
  site = await startFakeChatgpt();
  browser = await launch({ chatgptPort: site.port });
});

after(async () => {
  await browser?.close();
  await site?.close();
});

async function judgeFixture(name) {
  const page = await openChat(browser.context, `https://chatgpt.com/fixtures/${name}`);
  try {
    const expected = EXPECTED[name].kind;
    if (expected === 'healthy') {
      await page.waitForTimeout(SETTLE_MS);
      return { name, expected, got: (await noticeKind(page)) ?? 'healthy' };
    }
    const got = await page
      .waitForSelector(NOTICE, { timeout: 2000 })
      .then(() => noticeKind(page))
      .catch(() => 'healthy');
    return { name, expected, got };
  } finally {
    await page.close();
  }
}

test('every saved page is judged right in the browser (notice kind = expected kind; none on healthy and trap pages)', async () => {
  const names = Object.keys(EXPECTED);
  assert.equal(names.length, fs.readdirSync(PAGES).filter((f) => f.endsWith('.html')).length, 'every fixture has an expectation');
  const results = [];
  const queue = [...names];
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (queue.length) results.push(await judgeFixture(queue.shift()));
  }));
  const wrong = results.filter((r) => r.got !== r.expected);
  assert.deepEqual(wrong, [], `${wrong.length} of ${results.length} pages judged wrong`);
});

const DOM_CASES = [
  ['generation_error', 'There was an error generating a response', /could not finish/],
  ['network_error', 'A network error occurred. Please check your connection and try again.', /connection to ChatGPT broke off/],
  // Past 14:20 local time the notice names tomorrow's date as well.
  ['rate_limited', "You've reached the current usage cap for GPT-5. You can continue with the default model now, or try again after 14:20.", /rate-limiting you until (?:\w+ \d+ )?14:20/],
  ['capacity', 'ChatGPT is at capacity right now', /at capacity/],
  ['service_down', 'Hmm...something seems to have gone wrong. Maybe try me again in a little bit.', /ChatGPT is down/],
  ['blocked', 'Our systems have detected unusual activity from your system. Please try again later.', /not an outage/],
  ['conversation_unavailable', 'Unable to load conversation 6a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b', /cannot load this conversation/],
  ['unknown_error', 'Beim Generieren der Antwort ist ein Fehler aufgetreten.', /does not recognise/],
];

test('each failure kind is detected from the DOM as ChatGPT renders it, next to the failed turn, and cleared on recovery', async () => {
  site.setMode({ mode: 'healthy' });
  const page = await openChat(browser.context, 'https://chatgpt.com/');
  await sendPrompt(page, 'Plan a weekend in Lisbon');
  await page.waitForFunction(() => document.querySelector('[data-testid="conversation-turn-2"] .markdown')?.textContent.endsWith('streams it.'));
  await page.waitForTimeout(SETTLE_MS); // the end of the stream is judged (a successful send clears everything)
  for (const [kind, text, words] of DOM_CASES) {
    await page.evaluate((t) => {
      const turns = document.querySelectorAll('[data-testid^="conversation-turn-"]');
      const box = document.createElement('div');
      box.className = 'text-token-text-error';
      box.id = 'injected-error';
      box.textContent = t;
      turns[turns.length - 1].append(box);
    }, text);
    await page.waitForSelector(`${NOTICE}[data-kind="${kind}"]`, { timeout: 3000 });
    assert.match(await noticeText(page), words, kind);
    // Placed right after the failed turn, not floating.
    const placed = await page.evaluate((sel) => {
      const host = document.querySelector(sel);
      return host.previousElementSibling?.dataset.testid ?? null;
    }, NOTICE);
    assert.match(placed, /^conversation-turn-/);
    await page.evaluate(() => document.getElementById('injected-error').remove());
    await page.waitForSelector(NOTICE, { state: 'detached', timeout: 3000 });
  }
  const kinds = (await timeline(browser.context)).filter((e) => e.type === 'raised' && e.signal === 'dom').map((e) => e.kind);
  for (const [kind] of DOM_CASES) assert.ok(kinds.includes(kind), `timeline has ${kind}`);
  await page.close();
});

test('the notice is a polite live status with a keyboard-reachable Dismiss button and a place for actions', async () => {
  const page = await openChat(browser.context, 'https://chatgpt.com/fixtures/network-error-turn-box.html');
  await page.waitForSelector(NOTICE);
  const info = await page.evaluate((sel) => {
    const root = document.querySelector(sel).shadowRoot;
    const status = root.querySelector('[role="status"]');
    return {
      live: status.getAttribute('aria-live'),
      actions: !!root.querySelector('[data-testid="understudy-actions"]'),
      html: document.documentElement.outerHTML.includes('understudy-dismiss'),
    };
  }, NOTICE);
  assert.equal(info.live, 'polite', 'announced without interrupting');
  assert.ok(info.actions);
  assert.equal(info.html, false, 'the notice lives in a shadow root, not in the page markup');
  await page.focus(`${NOTICE} >> [data-testid="understudy-dismiss"]`);
  await page.keyboard.press('Enter');
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 2000 });
  await page.close();
});

async function quietChat() {
  site.setMode({ mode: 'healthy' });
  return openChat(browser.context, 'https://chatgpt.com/?quiet=1');
}

const NETWORK_CASES = [
  [{ mode: 'status', status: 503, body: '{"detail":"Service Unavailable"}' }, 'service_down'],
  [{ mode: 'status', status: 502, body: '<html><title>chatgpt.com | 502: Bad gateway</title></html>' }, 'service_down'],
  [{ mode: 'status', status: 500, body: '{"detail":"Internal error"}' }, 'generation_error'],
  [{ mode: 'status', status: 429, body: '{"detail":"Too many requests in 1 hour. Try again later."}', headers: { 'retry-after': '120' } }, 'rate_limited'],
  [{ mode: 'status', status: 429, body: '{"detail":{"code":"model_cap_exceeded","clears_in":1800}}' }, 'rate_limited'],
  [{ mode: 'status', status: 403, body: '{"detail":"Our systems have detected unusual activity from your system. Please try again later."}' }, 'blocked'],
  [{ mode: 'stream_error' }, 'generation_error'],
];

test('each failure answer of the conversation endpoint is detected from the network alone, and a later answer clears it', async () => {
  const page = await quietChat();
  for (const [mode, kind] of NETWORK_CASES) {
    site.setMode(mode);
    const sentAt = Date.now();
    await sendPrompt(page, `Try ${kind}`);
    await page.waitForSelector(`${NOTICE}[data-kind="${kind}"]`, { timeout: 5000 });
    const last = (await timeline(browser.context)).filter((e) => e.type === 'raised').at(-1);
    assert.equal(last.kind, kind);
    assert.equal(last.signal, 'network', JSON.stringify(last));
    if (mode.headers?.['retry-after']) {
      const until = new Date(sentAt + 120_000);
      const hm = (d) => `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
      const text = await noticeText(page);
      assert.ok(text.includes(`until ${hm(until)}`) || text.includes(`until ${hm(new Date(until.getTime() + 60_000))}`), text);
    }
    site.setMode({ mode: 'healthy' });
    await sendPrompt(page, 'And now?');
    await page.waitForSelector(NOTICE, { state: 'detached', timeout: 5000 });
  }
  const entry = await tabEntry(browser.context, page.url());
  assert.equal(entry.current, null);
  await page.close();
});

test('the typed event carries the tab, the conversation id and the failed prompt', async () => {
  site.setMode({ mode: 'healthy' });
  const page = await openChat(browser.context, 'https://chatgpt.com/c/6a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b?quiet=1');
  site.setMode({ mode: 'status', status: 503, body: '{"detail":"Service Unavailable"}' });
  await sendPrompt(page, 'Summarise the Lisbon plan');
  await page.waitForSelector(`${NOTICE}[data-kind="service_down"]`);
  const entry = await tabEntry(browser.context, page.url());
  assert.equal(entry.conversation_id, '6a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b');
  assert.equal(entry.failed_prompt, 'Summarise the Lisbon plan');
  const last = (await timeline(browser.context)).at(-1);
  assert.equal(last.conversation_id, '6a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b');
  assert.equal(typeof last.tab, 'number');
  await page.close();
});

test('stalls: an answer that never starts and one that stops are network errors (short timings)', async () => {
  const worker = await serviceWorker(browser.context);
  await worker.evaluate(() => chrome.storage.local.set({ 'detect.timing': { stall_ms: 1200, no_start_ms: 1200 } }));
  try {
    for (const [mode, words] of [['hang', /stopped answering/], ['stall', /stopped answering/]]) {
      const page = await quietChat();
      site.setMode({ mode, answer: 'one two three four five six seven eight nine ten', tokenDelayMs: 20 });
      const t0 = Date.now();
      await sendPrompt(page, `Will it ${mode}?`);
      await page.waitForSelector(`${NOTICE}[data-kind="network_error"]`, { timeout: 6000 });
      assert.ok(Date.now() - t0 >= 1100, 'not before the stall time');
      assert.match(await noticeText(page), words);
      const last = (await timeline(browser.context)).at(-1);
      assert.equal(last.signal, 'stall');
      await page.close();
    }
  } finally {
    await worker.evaluate(() => chrome.storage.local.remove('detect.timing'));
  }
});

test('a healthy conversation with a long streamed answer raises nothing', async () => {
  site.setMode({ mode: 'healthy', answer: 'word '.repeat(400), tokenDelayMs: 1 });
  const page = await openChat(browser.context, 'https://chatgpt.com/');
  const before = (await timeline(browser.context)).length;
  await sendPrompt(page, 'Write a long answer');
  await page.waitForFunction(() => document.querySelector('[data-testid="conversation-turn-2"] .markdown')?.textContent.length > 1900);
  await page.waitForTimeout(SETTLE_MS);
  assert.equal(await noticeKind(page), null);
  assert.equal((await timeline(browser.context)).length, before);
  await page.close();
});

test('a hostile page posting forged hook messages causes no crash, no hang and no false notice', async () => {
  site.setMode({ mode: 'healthy' });
  const page = await openChat(browser.context, 'https://chatgpt.com/?quiet=1');
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  const started = Date.now();
  await page.evaluate(() => {
    const post = (m) => window.postMessage(m, location.origin);
    const base = { source: 'understudy-hook' };
    // Wrong shapes.
    for (const m of [
      null, 42, 'understudy-hook', [], { source: 'understudy-hook' },
      { ...base, kind: 'response', id: 1, path: '/backend-api/f/conversation', method: 'POST', status: '503' },
      { ...base, kind: 'response', id: -1, path: '/backend-api/f/conversation', method: 'POST', status: 503 },
      { ...base, kind: 'response', id: 1, path: 'backend-api/f/conversation', method: 'POST', status: 503 },
      { ...base, kind: 'response', id: 1, path: '/backend-api/f/conversation', method: 'POST', status: 503, extra: 1 },
      { ...base, kind: 'constructor', id: 1, path: '/', method: 'GET' },
      { ...base, kind: '__proto__', id: 1 },
      { ...base, kind: 'stream_end', id: 1, path: '/backend-api/f/conversation', done: false, error: { message: 1 } },
    ]) post(m);
    // A response without its request, and a stream end for a request that never streamed.
    post({ ...base, kind: 'response', id: 7, path: '/backend-api/f/conversation', method: 'POST', status: 503, detail: null });
    post({ ...base, kind: 'stream_end', id: 8, path: '/backend-api/f/conversation', done: false, error: null });
    // Huge payloads.
    const huge = 'x'.repeat(10 * 1024 * 1024);
    post({ ...base, kind: 'request_start', id: 9, path: `/backend-api/${huge}`, method: 'POST' });
    post({ ...base, kind: 'request_start', id: 10, path: '/backend-api/f/conversation', method: 'POST', prompt: huge });
    const deep = {};
    let cur = deep;
    for (let i = 0; i < 400; i++) cur = cur.error = {};
    post({ ...base, kind: 'stream_end', id: 11, path: '/backend-api/f/conversation', done: false, error: deep });
    // A flood of well-formed requests that never end.
    for (let i = 0; i < 20000; i++) post({ ...base, kind: 'request_start', id: 1000 + i, path: '/backend-api/models', method: 'GET' });
  });
  // The page stays responsive and nothing false shows.
  await page.waitForTimeout(SETTLE_MS);
  assert.equal(await page.evaluate(() => 1 + 1), 2);
  assert.ok(Date.now() - started < 20000, 'no hang');
  assert.equal(await noticeKind(page), null);
  assert.deepEqual(errors, []);
  // Detection still works afterwards.
  site.setMode({ mode: 'status', status: 503, body: '{"detail":"Service Unavailable"}' });
  await page.waitForTimeout(1100); // the flood's budget refills
  await sendPrompt(page, 'Still there?');
  await page.waitForSelector(`${NOTICE}[data-kind="service_down"]`, { timeout: 5000 });
  await page.close();
});

test('the core refuses malformed observations with a reason, and the worker refuses observations not from a tab', async () => {
  const page = await openExtensionPage(browser.context, 'www/popup.html');
  const answer = await page.evaluate(async () => {
    const core = await import('../pkg/understudy_worker.js');
    await core.default({ module_or_path: new URL('../pkg/understudy_worker_bg.wasm', location.href) });
    const tries = [
      '{"type":"dom","errors":[{"region":"nowhere","text":"x"}]}',
      '{"type":"network","endpoint":"conversation_send","status":"503"}',
      `{"type":"dom","errors":[{"region":"turn","text":"${'y'.repeat(600 * 1024)}"}]}`,
      'not json',
    ];
    const judged = tries.map((t) => {
      try {
        core.detectObserve(null, 'chatgpt', t, Date.now(), null);
        return 'accepted';
      } catch (e) {
        return String(e.message);
      }
    });
    const fromPage = await chrome.runtime.sendMessage({ type: 'detect.observe', observation: { type: 'stall', phase: 'no_start', ms: 99999 } });
    return { judged, fromPage };
  });
  assert.match(answer.judged[0], /malformed observation/);
  assert.match(answer.judged[1], /malformed observation/);
  assert.match(answer.judged[2], /too large/);
  assert.match(answer.judged[3], /malformed observation/);
  assert.equal(answer.fromPage.ok, false);
  assert.match(answer.fromPage.error, /tab only|not a watched page/);
  await page.close();
});
