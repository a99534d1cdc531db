// Detection on the 2026 chatgpt.com, end to end: the real extension in Chromium on the fake site as
// the reference page describes it (thinking silences the page waits out and resumes by itself,
// answers handed off to the resume endpoint or the socket, errors inside the stream, moderation
// blocks, the search-unit renderer with an old error upstream, each error surface, downgrade
// banners, logged-out chats, failed documents, the recovery status). Each case asserts what the user
// sees: the notice and its kind, or no notice at all once the answer is complete. Timings are scaled:
// detection's stall rule is 800 ms (+600 ms of resume grace) and the page's own idle rule is 800 ms
// (the real page's 60 s, scaled the same); every "no notice" case has a silence longer than both
// together, so a stall notice would show if detection did not follow the page.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage } from './browser.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { configure, provider } from './fake-providers/harness.mjs';
import { NOTICE, noticeKind, noticesSeen, openRecordedChat, sendPrompt, setTiming, waitAnswerText } from './detect-helpers.mjs';

const TIMING = { stall_ms: 800, no_start_ms: 800, resume_grace_ms: 600 };
const RULE_MS = TIMING.stall_ms + TIMING.resume_grace_ms; // the longest silence detection may sit through
const PAGE_IDLE_MS = 800; // the page's own 60 s without bytes, scaled like stall_ms
const SETTLE_MS = 500;
const NETWORK_ERROR = 'A network error occurred. Please check your connection and try again.';
const DOWNGRADE = "You've hit the Free plan limit for GPT-5. Responses will use another model until your limit resets after 3:54 PM.";
const words = (n, tag = 'word') => Array.from({ length: n }, (_, i) => `${tag}${i + 1}`).join(' ');

let site;
let browser;

before(async () => {
  site = await startFakeChatgpt({ defaults: { pageIdleMs: PAGE_IDLE_MS } });
  browser = await launch({ chatgptPort: site.port });
  await setTiming(browser.context, TIMING);
});

after(async () => {
  if (browser) await setTiming(browser.context, null).catch(() => {});
  await browser?.close();
  await site?.close();
});

/** A chat page on `path` (recording every notice it shows), the fake set to `state` first (page controls are read at load). */
async function chat(state, path = '/') {
  site.setMode(state);
  return openRecordedChat(browser.context, `https://chatgpt.com${path}`);
}

/** The answer is shown in full, a short settle, and no notice showed at any time. */
async function healthyEnd(page, answer) {
  await waitAnswerText(page, answer);
  await page.waitForTimeout(SETTLE_MS);
  assert.equal(await noticeKind(page), null, 'no notice once the answer is complete');
  assert.deepEqual(await noticesSeen(page), [], 'no notice at any time');
}

/** A notice of `kind` shows (any kind when null); returns its kind. */
async function noticeShows(page, kind = null, timeout = 6000) {
  await page.waitForSelector(kind ? `${NOTICE}[data-kind="${kind}"]` : NOTICE, { timeout });
  return noticeKind(page);
}

/** The streams the fake sent since `seq` (exclusive). */
const streamsSince = (seq) => site.sent(50).streams.filter((s) => s.seq > seq);
const lastSeq = () => site.sent(1).streams.at(-1)?.seq ?? 0;

test('1. a thinking turn silent for 3x the stall rule, the page resuming by itself every pageIdleMs, then the answer: no notice', async () => {
  const answer = 'After a long think: take the coastal train to Cascais.';
  const think = 3 * TIMING.stall_ms;
  assert.ok(think > RULE_MS + 500);
  const page = await chat({ thinkMs: think, thoughts: true, answer });
  const from = lastSeq();
  const t0 = Date.now();
  await sendPrompt(page, 'Think it through: a day trip from Lisbon?');
  await healthyEnd(page, answer);
  assert.ok(Date.now() - t0 >= think, 'the answer came only after the silence');
  const kinds = streamsSince(from).map((s) => s.kind);
  assert.equal(kinds[0], 'send');
  assert.ok(kinds.filter((k) => k === 'resume').length >= 2, `the page resumed by itself: ${kinds}`);
  await page.close();
});

test('2a. a resume handoff whose resume succeeds (the answer streaming there for longer than the stall rule): no notice', async () => {
  const answer = words(40, 'resumed');
  const page = await chat({ handoff: 'resume', answer, tokenDelayMs: 50 });
  const from = lastSeq();
  await sendPrompt(page, 'Hand this one off');
  await healthyEnd(page, answer);
  const streams = streamsSince(from);
  assert.deepEqual(streams.map((s) => s.kind), ['send', 'resume']);
  assert.equal(streams[0].answer, '', 'the POST itself carried no answer');
  await page.close();
});

test('2b. a socket handoff that succeeds (the answer streaming there for longer than the stall rule): no notice', async () => {
  const answer = words(40, 'socket');
  const page = await chat({ handoff: 'ws', answer, tokenDelayMs: 50 });
  const from = lastSeq();
  await sendPrompt(page, 'Use the socket');
  await healthyEnd(page, answer);
  assert.deepEqual(streamsSince(from).map((s) => s.kind), ['send', 'ws']);
  await page.close();
});

test('3. a handoff whose resume fails 404 tokenless_resume_unavailable: a network_error notice', async () => {
  const page = await chat({ handoff: 'resume', resumeStatus: 404 }, '/?quiet=1');
  await sendPrompt(page, 'Hand off, then fail');
  assert.equal(await noticeShows(page, 'network_error'), 'network_error');
  await page.close();
});

test('4. a v1 stream with an error root: a generation_error notice, from the network alone', async () => {
  const page = await chat({ mode: 'stream_error', answer: words(12) }, '/?quiet=1');
  await sendPrompt(page, 'Break mid-answer');
  assert.equal(await noticeShows(page, 'generation_error'), 'generation_error');
  assert.equal(await page.locator('.text-token-text-error, aside, [role="dialog"]').count(), 0, 'the page itself showed nothing');
  await page.close();
});

test('6. the search-unit renderer with an old error upstream: no notice after a healthy answer; a failed send with its error box in the latest turn: a notice', async () => {
  const oldError = 'Something went wrong while generating the response.';
  const answer = 'Fresh and whole: the tram 28 leaves from Martim Moniz.';
  const page = await chat({ renderer: 'search-unit', oldError, answer });
  // The history: an exchange that failed, then one that went well.
  assert.deepEqual(await page.evaluate(() => [...document.querySelectorAll('[data-turn-key]')].map((r) => !!r.querySelector('.text-token-text-error'))), [true, false]);
  assert.equal(await page.locator('[data-message-author-role]').count(), 0);
  await sendPrompt(page, 'How do I get to Alfama?');
  await healthyEnd(page, answer);
  // The next send breaks off; the page shows its network error in the latest turn.
  site.setMode({ renderer: 'search-unit', oldError, mode: 'drop', answer: words(12) });
  await sendPrompt(page, 'And to Belém?');
  await page.waitForFunction(() => [...document.querySelectorAll('[data-turn-key]')].at(-1)?.querySelector('.text-token-text-error'));
  assert.equal(await noticeShows(page, 'network_error'), 'network_error', 'the latest turn\'s error, not the old one');
  const after = await page.evaluate((sel) => {
    const roots = document.querySelectorAll('[data-turn-key]');
    const notice = document.querySelector(sel);
    const last = roots[roots.length - 1];
    return last.contains(notice) || !!(last.compareDocumentPosition(notice) & Node.DOCUMENT_POSITION_FOLLOWING);
  }, NOTICE);
  assert.ok(after, 'the notice sits by the latest turn');
  await page.close();
});

// Each surface shown by the page alone: the stream breaks off (no [DONE], not resumed), which the
// network does not judge by itself, and the page shows its error on the surface chosen.
const SURFACES = [
  ['aside[role="alert"]', { surface: 'alert', surfaceText: NETWORK_ERROR }, 'network_error'],
  ['[role="dialog"]', { surface: 'dialog', surfaceText: "Too many requests. You're making requests too quickly. We've temporarily limited access to your conversations to protect our systems." }, 'rate_limited'],
  ['[data-testid="toast-error"]', { surface: 'toast', surfaceText: 'Something went wrong. Please try again later.' }, null],
  ['aside[class*="surface-error"]', { surface: 'surface-error', surfaceText: 'Something went wrong. Please try again later.' }, null],
];

for (const [sel, state, kind] of SURFACES) {
  test(`7. the error surface ${sel}: ${kind ?? 'a'} notice`, async () => {
    const page = await chat({ mode: 'drop', answer: words(12), ...state });
    await sendPrompt(page, `Fail on ${state.surface}`);
    await page.waitForSelector(sel);
    const got = await noticeShows(page, kind);
    if (!kind) assert.ok(got, 'a notice');
    await page.close();
  });
}

test('7. "conversation too long" (400 conversation_too_large; the box in the turn with Start new chat): a conversation_too_long notice', async () => {
  const page = await chat({ mode: 'too_long' });
  await sendPrompt(page, 'One more thing about the trip');
  await page.waitForSelector('.text-token-text-error');
  assert.equal(await noticeShows(page, 'conversation_too_long'), 'conversation_too_long');
  await page.close();
});

for (const bannerRole of [null, 'alert']) {
  test(`8. a downgrade banner (${bannerRole ? 'div[role="alert"]' : 'div[data-testid="composer-banner"]'}) during a healthy answer: no notice`, async () => {
    const answer = words(30, 'fine');
    const page = await chat({ banner: DOWNGRADE, bannerRole, answer, tokenDelayMs: 30 });
    await sendPrompt(page, 'Plan a weekend in Porto');
    await page.waitForSelector(bannerRole ? 'div[role="alert"]' : 'div[data-testid="composer-banner"]');
    await healthyEnd(page, answer);
    assert.equal(await page.textContent(bannerRole ? 'div[role="alert"]' : 'div[data-testid="composer-banner"]'), DOWNGRADE, 'the banner is still there');
    await page.close();
  });
}

test('9. a logged-out chat: a healthy answer raises nothing (not blocked); a 503 on /backend-anon/f/conversation: a notice', async () => {
  const answer = 'Anonymous, and still answered.';
  const page = await chat({ loggedOut: true, answer });
  assert.equal(await page.locator('button[data-testid="login-button"]').count(), 1);
  const from = lastSeq();
  await sendPrompt(page, 'Hello without an account');
  await healthyEnd(page, answer);
  assert.equal(streamsSince(from)[0].path, '/backend-anon/f/conversation');
  site.setMode({ loggedOut: true, mode: 'status', status: 503 });
  const before = site.requests.length;
  await sendPrompt(page, 'And now?');
  assert.equal(await noticeShows(page, 'service_down'), 'service_down');
  assert.ok(site.requests.slice(before).some((r) => r.method === 'POST' && r.path === '/backend-anon/f/conversation'));
  await page.close();
});

for (const kind of ['nginx', 'cloudflare']) {
  test(`10. a ${kind} 503 document: a service_down notice, fixed on the page`, async () => {
    site.setMode({ document: { status: kind === 'nginx' ? 503 : 502, kind } });
    const page = await openRecordedChat(browser.context, 'https://chatgpt.com/', { watched: false });
    try {
      assert.equal(await page.locator('#composer').count(), 0, 'no app on the page');
      assert.equal(await noticeShows(page, 'service_down', 8000), 'service_down');
      assert.equal(await page.getAttribute(NOTICE, 'data-placement'), 'fixed');
    } finally {
      site.setMode({});
      await page.close();
    }
  });
}

test('11. a drop, then the recovery status for longer than the stall rule (the page waiting on its resume), then the whole answer: no notice', async () => {
  const answer = 'Recovered: the answer came whole after the interruption.';
  // The send is cut while the model thinks; the page resumes once and waits on that resume (its own
  // idle rule is out of reach here), showing "Connection interrupted. Waiting for the complete answer".
  const page = await chat({ thinkMs: RULE_MS + 1200, dropAfterMs: 150, resumeOnDrop: true, pageIdleMs: 20000, answer });
  const from = lastSeq();
  await sendPrompt(page, 'Take your time');
  await page.waitForSelector('[role="status"] > span.text-chatgpt-recovery');
  const shownAt = Date.now();
  await healthyEnd(page, answer);
  assert.ok(Date.now() - shownAt > RULE_MS, 'the recovery status showed longer than the stall rule');
  assert.equal(await page.locator('.text-chatgpt-recovery').count(), 0, 'and went away with the answer');
  assert.deepEqual(streamsSince(from).map((s) => s.kind), ['send', 'resume'], 'one resume, silent for most of the wait');
  await page.close();
});

test('5. a moderation block: a refused notice (from the stream alone and with the page\'s own words); auto mode on for every kind asks no provider for it', async () => {
  const fake = await startFakeProviders();
  const control = await openExtensionPage(browser.context, 'www/options.html');
  try {
    const name = 'auto-first';
    fake.plan(name, [{ fault: 'ok', tokenDelayMs: 5 }]);
    await configure(control, [provider(fake, name, 'openai'), provider(fake, 'auto-second', 'openai')]);
    await control.evaluate(async () => {
      const { settings } = await chrome.storage.local.get('settings');
      const every = { service_down: true, capacity: true, generation_error: true, network_error: true, rate_limited: true, conversation_unavailable: true, unknown_error: true };
      await chrome.storage.local.set({ settings: { ...settings, auto_mode: { enabled: true, ...every } } });
    });
    for (const path of ['/?quiet=1', '/']) {
      const page = await chat({ mode: 'moderation', answer: words(12) }, path);
      await sendPrompt(page, 'Something the policy withholds');
      assert.equal(await noticeShows(page, 'refused'), 'refused', path);
      if (path === '/') assert.equal(await page.textContent('.text-token-text-error'), 'This content may violate our usage policies.');
      await page.waitForTimeout(1000); // time enough for auto mode to have started
      assert.equal(fake.to(name).length + fake.to('auto-second').length, 0, `no provider asked for a refused answer (${path})`);
      await page.close();
    }
    // The same settings do carry a failure on: auto mode was on.
    const page = await chat({ mode: 'status', status: 503, body: '{"detail":"Service Unavailable"}' }, '/?quiet=1');
    await sendPrompt(page, 'And when ChatGPT is down?');
    await noticeShows(page, 'service_down');
    // Whichever configured provider the router tries first: auto mode acted once.
    const asked = () => fake.to(name).length + fake.to('auto-second').length;
    const until = Date.now() + 15000;
    while (asked() === 0 && Date.now() < until) await page.waitForTimeout(50);
    assert.equal(asked(), 1, 'auto mode asked a provider for service_down');
    await page.close();
  } finally {
    await control.evaluate(() => chrome.storage.local.remove('settings')).catch(() => {});
    await control.close();
    await fake.close();
  }
});
