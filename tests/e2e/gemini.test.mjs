// Understudy on gemini.google.com: the real extension in Chromium on a fake gemini.google.com
// (fake-gemini/, mapped to loopback), whose page sends over XMLHttpRequest and reads Gemini's
// length-prefixed snapshot frames. The content scripts start there by themselves; a healthy turn
// (which ends with the 1096 record Gemini appends) raises nothing; each failure family (429 and 5xx
// on the send, the usage limit 1037, the temporary error 1013 and the IP block 1060 inside the
// stream, "Something went wrong (13)" in the page, a stalled answer) shows the notice naming Gemini
// with its kind; the user quoting the error text, and an old error in an earlier turn, raise
// nothing; healthy turns are kept in the library under Gemini; the popup says what Google's status
// dashboard says of Gemini; the rescue frame carries the conversation and the failed prompt (read
// from the send's f.req) to a local provider.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { openExtensionPage, ROOT } from './browser.mjs';
import {
  ERROR_13, PREFIX, SEND_PATH, candidateFrame, errorFrame, idsFrame, metaFrame, startFakeGemini, titleFrame,
} from './fake-gemini/server.mjs';
import { provider } from './fake-providers/harness.mjs';
import { NOTICE, noticeKind, noticeText, setTiming, tabEntry, timeline } from './detect-helpers.mjs';
import { siteSuite } from './site-helpers.mjs';
import { library, waitCached } from './cache-helpers.mjs';
import { lineDecoder } from '../../extension/sw/lines.js';

const COMPOSER = 'rich-textarea .ql-editor[contenteditable="true"]';
const SEND = 'button[aria-label="Send message"]';
const ANSWER = 'model-response';
const FIRST_ANSWER = 'Here is a short answer, streamed the way Gemini streams it.';
const INCIDENTS = fs.readFileSync(`${ROOT}/tests/fixtures/status/sites/google-incidents.json`, 'utf8');
const s = siteSuite({
  id: 'gemini',
  hosts: ['gemini.google.com'],
  start: startFakeGemini,
  // Google Workspace's status dashboard: its incidents (the fixture: a Gemini outage ongoing).
  feeds: [{ host: 'www.google.com', path: '/appsstatus/dashboard/incidents.json', format: 'json', body: INCIDENTS }],
  home: 'https://gemini.google.com/app',
  composer: COMPOSER,
  send: SEND,
  answer: ANSWER,
  answerBody: 'message-content',
  first: ['Plan a weekend in Lisbon', FIRST_ANSWER],
  failing: 'Now add a day trip to Sintra',
});

/** The latest detection the worker raised (its timeline), once it is of `kind` (up to 5 s). */
async function lastRaised(kind) {
  const until = Date.now() + 5000;
  for (;;) {
    const raised = (await timeline(s.browser.context)).filter((e) => e.type === 'raised').at(-1) ?? null;
    if (raised?.kind === kind || Date.now() > until) return raised;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the s.fake writes what the native captures hold, byte for byte (frames, UTF-16 lengths, codes)', () => {
  const fixture = (name) => fs.readFileSync(`${ROOT}/tests/fixtures/sites/gemini/${name}`, 'utf8');
  const ids = ['c_4f1d2e3a5b6c7d8e', 'r_9a8b7c6d5e4f3a2b'];
  const rc = 'rc_0a1b2c3d4e5f6a7b';
  assert.equal(
    PREFIX + idsFrame(ids)
      + candidateFrame(ids, rc, 'Bonjour ', { thoughts: 'Thinking about greetings' })
      + candidateFrame(ids, rc, 'Bonjour 👋🏽 le monde ', { thoughts: 'Still thinking 🤔' })
      + candidateFrame(ids, rc, 'Bonjour 👋🏽 le monde — 𝄞 🇫🇷 日本 ok', { done: true })
      + titleFrame('Greetings in French') + metaFrame(),
    fixture('healthy.txt'),
  );
  assert.equal(PREFIX + idsFrame(ids) + errorFrame(1037), fixture('usage-limit-1037.txt'));
  assert.equal(PREFIX + idsFrame(ids) + errorFrame(1013), fixture('temporary-1013.txt'));
  assert.equal(PREFIX + candidateFrame(ids, rc, 'Done.', { done: true }) + errorFrame(1096), fixture('after-success-1096.txt'));
});

test('the content scripts start on gemini.google.com by themselves, with Gemini\'s adapter', async () => {
  const page = await s.open();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.understudySite), 'gemini');
  const entry = await tabEntry(s.browser.context, page.url());
  assert.equal(entry.site, 'gemini');
  const popup = await openExtensionPage(s.browser.context, 'www/popup.html');
  const line = await popup.waitForSelector('#tabs li[data-site="gemini"]', { timeout: 10000 });
  assert.match(await line.textContent(), /Gemini · \/app/);
  // What Google's status dashboard says of Gemini, polled because a Gemini tab is open.
  const status = await popup.waitForSelector('#tabs li[data-site="gemini"] [data-testid="understudy-site-status"]', { timeout: 10000 });
  assert.match(await status.textContent(), /^Gemini status page: major outage\. Users are unable to get responses from Gemini/);
  assert.ok(s.feeds[0].requests.some((r) => r.path === '/appsstatus/dashboard/incidents.json'), 'the feed was read');
  await popup.close();
  await page.close();
});

test('a healthy Gemini turn (ending with the 1096 record) raises no notice; the page gets its answer whole', async () => {
  s.site.setMode({ mode: 'healthy' });
  const page = await s.open();
  // The page's own XMLHttpRequest listeners see what they always saw.
  await page.evaluate(() => {
    const open = XMLHttpRequest.prototype.open;
    window.__xhrLog = [];
    XMLHttpRequest.prototype.open = function (...args) {
      this.addEventListener('loadend', () => window.__xhrLog.push({ status: this.status, text: this.responseText }));
      return open.apply(this, args);
    };
  });
  await s.sendPrompt(page, 'Plan a weekend in Lisbon');
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  await s.sendPrompt(page, 'And a second day?');
  await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 2 && !document.querySelector('button[aria-label^="Stop"]'), ANSWER);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  assert.deepEqual(await s.answers(page), [FIRST_ANSWER, FIRST_ANSWER]);
  assert.deepEqual(s.site.prompts(), ['Plan a weekend in Lisbon', 'And a second day?']);
  // The second send carried the conversation the first one opened (the page's own state).
  const [first, second] = s.site.sends().slice(-2);
  assert.equal(first.metadata[0], '');
  assert.match(second.metadata[0], /^c_[0-9a-f]{16}$/);
  assert.match(page.url(), /\/app\/[0-9a-f]{16}$/);
  const log = await page.evaluate(() => window.__xhrLog);
  assert.equal(log.length, 2);
  for (const x of log) {
    assert.equal(x.status, 200);
    assert.ok(x.text.startsWith(PREFIX) && x.text.endsWith(errorFrame(1096)), x.text.slice(-200));
  }
  await page.close();
});

// What the MAIN-world hooks post about the page's XMLHttpRequest sends, as any page script hears it.
function recordHooks() {
  window.__posted = [];
  window.addEventListener('message', (e) => {
    if (e.source === window && (e.data?.source === 'understudy-hook' || e.data?.source === 'understudy-capture')) window.__posted.push(e.data);
  });
}

/** One send on a fresh page in `mode`: the facts and capture posts about it, and what the page got. */
async function hooked(mode, { stopAfterText = false, tokenDelayMs = 5 } = {}) {
  s.site.setMode({ mode, tokenDelayMs });
  const page = await s.browser.context.newPage();
  await page.addInitScript(recordHooks);
  await page.addInitScript(() => {
    const open = XMLHttpRequest.prototype.open;
    window.__xhr = [];
    XMLHttpRequest.prototype.open = function (...args) {
      this.addEventListener('loadend', (e) => window.__xhr.push({ type: e.type, status: this.status, text: this.responseText }));
      return open.apply(this, args);
    };
  });
  await page.goto('https://gemini.google.com/app');
  await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
  await s.sendPrompt(page, 'Plan a weekend in Lisbon');
  if (stopAfterText) {
    await page.waitForFunction(() => document.querySelector('model-response message-content')?.textContent.length > 0);
    await page.click('button[aria-label="Stop response"]');
  }
  await page.waitForFunction(() => window.__xhr.length === 1 && window.__posted.some((m) => m.source === 'understudy-capture' && m.end), null, { timeout: 15000 });
  await page.waitForTimeout(300);
  const got = await page.evaluate(() => ({ posted: window.__posted, xhr: window.__xhr[0] }));
  await page.close();
  const facts = got.posted.filter((m) => m.source === 'understudy-hook' && m.path === SEND_PATH);
  const stream = got.posted.filter((m) => m.source === 'understudy-capture' && m.kind === 'stream');
  return { facts, stream, xhr: got.xhr };
}

const factKinds = (facts) => facts.map((f) => f.kind).filter((k) => k !== 'stream_progress');
// The text the capture hook handed over: a snapshot site's send is line-delta encoded (seq 0 says
// so), decoded here as the worker decodes it.
function handedText(stream) {
  const text = stream.map((m) => m.text ?? '').join('');
  return stream[0]?.encoding === 'lines' ? lineDecoder().decode(text) : text;
}

test('XMLHttpRequest sends: the hook\'s facts, and the capture hook hands over the whole responseText in order', async () => {
  // Read to its end (about 1.3 s of answer: the capture hook posts while it streams).
  let { facts, stream, xhr } = await hooked('healthy', { tokenDelayMs: 120 });
  assert.equal(xhr.status, 200);
  assert.ok(xhr.text.startsWith(PREFIX) && xhr.text.endsWith(errorFrame(1096)));
  assert.deepEqual(factKinds(facts), ['request_start', 'response', 'stream_end'], JSON.stringify(facts));
  assert.ok(facts.some((f) => f.kind === 'stream_progress'));
  assert.ok(facts.every((f) => f.id === facts[0].id));
  assert.equal(facts[0].method, 'POST');
  assert.deepEqual([facts[1].status, facts[1].streaming], [200, true]);
  assert.equal(facts.at(-1).how, 'eof');
  assert.doesNotMatch(JSON.stringify(facts), /short answer/, 'facts only, no text');
  assert.deepEqual(stream.map((m) => m.seq), stream.map((_, i) => i));
  assert.ok(stream.every((m) => m.id === stream[0].id));
  assert.equal(stream[0].stream_kind, 'send');
  assert.equal(stream[0].path, SEND_PATH);
  assert.match(stream[0].request, /^f\.req=.*&at=/);
  assert.equal(stream[0].encoding, 'lines');
  assert.equal(handedText(stream), xhr.text);
  assert.ok(stream.map((m) => m.text).join('').length < xhr.text.length / 2, 'snapshots handed over as what is new in them');
  assert.equal(stream.at(-1).end, 'eof');
  assert.ok(stream.filter((m) => m.text).length >= 2, 'the text comes in batches while it streams');

  // The page stops it.
  ({ facts, stream, xhr } = await hooked('stall', { stopAfterText: true }));
  assert.equal(xhr.type, 'loadend');
  assert.deepEqual(factKinds(facts), ['request_start', 'response', 'stream_end']);
  assert.equal(facts.at(-1).how, 'abort');
  assert.equal(stream.at(-1).end, 'abort');
  assert.ok(handedText(stream).startsWith(PREFIX));

  // The connection breaks.
  ({ facts, stream, xhr } = await hooked('drop'));
  assert.equal(xhr.status, 0);
  assert.deepEqual(factKinds(facts), ['request_start', 'response', 'stream_end']);
  assert.equal(facts.at(-1).how, 'error');
  assert.equal(stream.at(-1).end, 'error');

  // An error status: its body is the detail; the capture stream ends as an error, with no text.
  ({ facts, stream, xhr } = await hooked('status'));
  assert.equal(xhr.status, 429);
  assert.deepEqual(factKinds(facts), ['request_start', 'response']);
  assert.equal(facts[1].status, 429);
  assert.equal(facts[1].streaming, false);
  assert.match(facts[1].detail, /Error 429 \(Too Many Requests\)/);
  assert.equal(handedText(stream), '');
  assert.equal(stream.at(-1).end, 'error');
});

test('Gemini turns are kept in the library under Gemini: two prompts and their answers in order, shown and filtered by site', async () => {
  s.site.setMode({ mode: 'healthy', answer: 'Alfama at dawn, then the tram 28.' });
  const page = await s.open();
  await s.sendPrompt(page, 'A morning walk in Lisbon?');
  await s.waitAnswerText(page, 0, 'Alfama at dawn, then the tram 28.');
  await page.waitForFunction(() => !document.querySelector('button[aria-label^="Stop"]'));
  s.site.setMode({ mode: 'healthy', answer: 'Belém for pastéis de nata.' });
  await s.sendPrompt(page, 'And for lunch?');
  await s.waitAnswerText(page, 1, 'Belém for pastéis de nata.');
  const conversation = /\/app\/([0-9a-f]{16})$/.exec(page.url())?.[1];
  assert.ok(conversation, page.url());
  const id = `gemini:c_${conversation}`; // Gemini's conversation ids keep their c_ prefix
  const cs = await waitCached(s.browser.context, (all) => all.some((c) => c.id === id && c.texts.length === 4 && !c.incomplete));
  const kept = cs.find((c) => c.id === id);
  assert.equal(kept.site, 'gemini');
  assert.equal(kept.title, 'A weekend in Lisbon'); // the title frame {"11":[title]} of the new chat
  assert.deepEqual(kept.texts, ['A morning walk in Lisbon?', 'Alfama at dawn, then the tram 28.', 'And for lunch?', 'Belém for pastéis de nata.']);
  const lib = await library(s.browser.context);
  const row = await lib.waitForSelector(`#list .row[data-id="${id}"]`);
  assert.equal(await row.getAttribute('data-site'), 'gemini');
  assert.match(await row.textContent(), /Gemini ·/);
  await lib.selectOption('[data-testid="understudy-library-site"]', 'gemini');
  const sites = await lib.evaluate(() => [...document.querySelectorAll('#list .row')].map((r) => r.dataset.site));
  assert.ok(sites.length > 0 && sites.every((x) => x === 'gemini'), JSON.stringify(sites));
  await lib.close();
  await page.close();
});

test('a 429 on the send: rate_limited, the notice names Gemini; a later good turn clears it', async () => {
  const page = await s.failedChat({ mode: 'status', status: 429 });
  assert.equal(await noticeKind(page), 'rate_limited');
  assert.match(await noticeText(page), /^Gemini is rate-limiting you for now\./);
  assert.doesNotMatch(await noticeText(page), /ChatGPT/);
  s.site.setMode({ mode: 'healthy' });
  await s.sendPrompt(page, 'And now?');
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 10000 });
  await s.waitAnswerText(page, 2, FIRST_ANSWER);
  await page.waitForTimeout(500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

for (const [status, kind, words] of [[503, 'service_down', 'Gemini is down.'], [500, 'generation_error', 'Gemini could not finish this answer.']]) {
  test(`HTTP ${status} on the send (Google's error page): ${kind}, "${words}"`, async () => {
    const page = await s.failedChat({ mode: 'status', status });
    assert.equal(await noticeKind(page), kind);
    assert.ok((await noticeText(page)).startsWith(words), await noticeText(page));
    await page.close();
  });
}

for (const [code, kind, words] of [
  [1037, 'rate_limited', /^Gemini is rate-limiting you for now\./],
  [1013, 'generation_error', /^Gemini could not finish this answer\./],
  [1060, 'blocked', /^Gemini wants you to sign in or prove you are human\./],
]) {
  test(`code ${code} inside the stream (the page shows nothing): ${kind}`, async () => {
    const page = await s.failedChat({ mode: 'code', code });
    assert.equal(await noticeKind(page), kind);
    assert.match(await noticeText(page), words);
    // Read from the stream the capture hook handed over: the page shows no error of its own.
    const raised = await lastRaised(kind);
    assert.equal(raised?.signal, 'network', JSON.stringify(raised));
    assert.match(raised.evidence, new RegExp(`stream \\[${code}\\]`));
    assert.equal(await page.$('.error-message'), null);
    await page.close();
  });
}

test('"Something went wrong (13)" in the latest answer: rate_limited', async () => {
  const page = await s.failedChat({ mode: 'dom' });
  assert.equal(await noticeKind(page), 'rate_limited');
  assert.match(await noticeText(page), /^Gemini is rate-limiting you for now\./);
  const raised = await lastRaised('rate_limited');
  assert.equal(raised?.signal, 'dom', JSON.stringify(raised));
  assert.equal(raised.evidence, ERROR_13);
  await page.close();
});

test('the user quoting Gemini\'s error text in their own prompt raises nothing', async () => {
  s.site.setMode({ mode: 'healthy' });
  const page = await s.open();
  await s.sendPrompt(page, `Why did I see "${ERROR_13}" and "You've reached your limit" yesterday?`);
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  await page.close();
});

test('an old error in an earlier turn does not count; the same error in the latest turn does', async () => {
  const history = [
    { prompt: 'Plan a weekend in Lisbon', error: ERROR_13 },
    { prompt: 'Plan a weekend in Lisbon', answer: 'Start in Alfama, then Belém.' },
  ];
  s.site.setMode({ mode: 'healthy', history });
  const page = await s.open('https://gemini.google.com/app/0123456789abcdef');
  // The page loads the chat through its read.
  await page.waitForSelector('.conversation-container:nth-child(2) message-content');
  assert.equal(await page.$$eval('.error-message', (e) => e.length), 1);
  await page.waitForTimeout(1000);
  assert.equal(await noticeKind(page), null);
  await s.sendPrompt(page, 'What about food?');
  await s.waitAnswerText(page, 2, FIRST_ANSWER);
  await page.waitForTimeout(1500);
  assert.equal(await noticeKind(page), null);
  await page.close();
  // The control: a chat whose latest answer holds that error (another chat: the first one now
  // holds the answer to "What about food?", and the page loads it through the read).
  s.site.setMode({ mode: 'healthy', history: history.slice().reverse() });
  const failing = await s.open('https://gemini.google.com/app/fedcba9876543210');
  await failing.waitForSelector(NOTICE, { timeout: 15000 });
  assert.equal(await noticeKind(failing), 'rate_limited');
  await failing.close();
});

test('the rescue: the frame shows in the notice, Ask elsewhere leaves Gemini out, Continue carries the conversation and the failed prompt to a local provider', () => s.rescue({ failure: { mode: 'code', code: 1037 }, answer: 'Take the train from Rossio: 40 minutes.' }));

test('a stalled answer: network_error, "Gemini stopped answering."', async () => {
  await setTiming(s.browser.context, { stall_ms: 1500, no_start_ms: 3000, resume_grace_ms: 0 });
  try {
    const page = await s.failedChat({ mode: 'stall', tokenDelayMs: 5 });
    assert.equal(await noticeKind(page), 'network_error');
    assert.match(await noticeText(page), /^Gemini stopped answering\./);
    // Half the answer had arrived: the stall came after the stream started.
    assert.ok((await s.answers(page))[1].length > 0);
    await page.close();
  } finally {
    await setTiming(s.browser.context, null);
  }
});

test('a connection broken mid-answer: network_error at once, without waiting the stall time', async () => {
  // Gemini's own stall time (90 s) is far longer than the 15 s the notice is waited for: the
  // XMLHttpRequest's error says the answer broke off (Gemini does not resume an answer).
  const page = await s.failedChat({ mode: 'drop', tokenDelayMs: 5 });
  assert.equal(await noticeKind(page), 'network_error');
  assert.match(await noticeText(page), /^The connection to Gemini broke off\./);
  await page.close();
});

test('the user stopping an answer (the page aborts its XMLHttpRequest) raises nothing, even past the stall time', async () => {
  await setTiming(s.browser.context, { stall_ms: 1500, no_start_ms: 3000, resume_grace_ms: 0 });
  try {
    s.site.setMode({ mode: 'stall', tokenDelayMs: 5 });
    const page = await s.open();
    await s.sendPrompt(page, 'Plan a weekend in Lisbon');
    await page.waitForFunction(() => document.querySelector('model-response message-content')?.textContent.length > 0);
    await page.click('button[aria-label="Stop response"]');
    // The same silence unstopped is a stall (the test above); stopped, it is the user's choice.
    await page.waitForTimeout(3500);
    assert.equal(await noticeKind(page), null);
    assert.ok((await s.answers(page))[0].length > 0);
    await page.close();
  } finally {
    await setTiming(s.browser.context, null);
  }
});

test('in German, the notice names Gemini in German words', () => s.inLanguage({
  lang: 'de', failure: { mode: 'code', code: 1037 }, prompt: 'Plane ein Wochenende in Lissabon', kind: 'rate_limited',
  words: /^Gemini begrenzt Ihre Anfragen vorübergehend\./,
}));

test('a Gemini chat opened at its address is loaded through its read (batchexecute hNvQHb, over XMLHttpRequest) and continues from its last turn', async () => {
  s.site.setMode({ mode: 'healthy', history: [{ prompt: 'Earlier: what is Sintra?', answer: 'A town of palaces near Lisbon.' }] });
  const page = await s.open();
  await s.sendPrompt(page, 'Plan a weekend in Lisbon');
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  await page.waitForFunction(() => /^\/app\/[0-9a-f]{16}$/.test(location.pathname));
  const url = page.url();
  await page.close();
  const again = await s.open(url);
  await s.waitAnswerText(again, 1, FIRST_ANSWER);
  assert.deepEqual(await s.answers(again), ['A town of palaces near Lisbon.', FIRST_ANSWER]);
  assert.deepEqual(await again.$$eval('user-query .query-text', (e) => e.map((n) => n.textContent)), ['Earlier: what is Sintra?', 'Plan a weekend in Lisbon']);
  const id = new URL(url).pathname.split('/').at(-1);
  const read = s.site.requests.filter((r) => r.method === 'POST' && r.path === '/_/BardChatUi/data/batchexecute').at(-1);
  assert.equal(new URLSearchParams(read.search).get('rpcids'), 'hNvQHb');
  assert.equal(new URLSearchParams(read.search).get('source-path'), `/app/${id}`);
  // The next send continues the chat from its last turn (the read's response and choice ids).
  await s.sendPrompt(again, 'What about food?');
  await s.waitAnswerText(again, 2, FIRST_ANSWER);
  const [conversation, response, choice] = s.site.sends().at(-1).metadata;
  assert.equal(conversation, `c_${id}`);
  assert.match(response, /^r_/);
  assert.match(choice, /^rc_/);
  assert.equal(await noticeKind(again), null);
  await again.close();
  s.site.setMode({ mode: 'healthy' });
});

test('a page forging a line-delta stream that would decode to gigabytes: refused, the worker goes on keeping real turns', async () => {
  const page = await s.open();
  // A long line for `ref`, then ops that each copy its end again: 4 MB of ops standing for 50 GB.
  const sent = await page.evaluate(async (path) => {
    const id = 4_000_000_000;
    const post = (m) => window.postMessage({ source: 'understudy-capture', kind: 'stream', id, ...m }, location.origin);
    const line = 'y'.repeat(100_000);
    post({ seq: 0, stream_kind: 'send', path, request: null, encoding: 'lines', text: `=${line.length + 1},${line}\n` });
    post({ seq: 1, text: '>100000,'.repeat(500_000) });
    post({ seq: 2, text: '', end: 'eof' });
    return true;
  }, SEND_PATH);
  assert.ok(sent);
  await page.waitForTimeout(1500);
  // The worker still decodes and keeps a real turn of the same tab, at once.
  s.site.setMode({ mode: 'healthy' });
  await s.sendPrompt(page, 'Still listening?');
  await s.waitAnswerText(page, 0, FIRST_ANSWER);
  await waitCached(s.browser.context, (cs) => cs.some((c) => c.site === 'gemini' && c.texts.includes('Still listening?') && !c.incomplete));
  const all = await waitCached(s.browser.context, () => true);
  assert.ok(!all.some((c) => c.raw.length > 10 << 20), 'nothing of the forged stream grew the cache');
  await page.close();
});
