// False alarms on healthy turns, measured in headless Chromium with the real extension on the fake
// chatgpt.com (its controls: tests/e2e/fake-chatgpt/server.mjs).
// - false_alarm_count: over a replay of TURNS healthy ChatGPT turns (delta encoding v1), the number of
//   notices Understudy raised (target 0). A turn counts the notices that showed while it ran (a page
//   MutationObserver counts each appearance of `[data-testid="understudy-notice"]`, so one that came
//   and went counts too) or the `raised` entries the worker's timeline (`detect.timeline`) gained,
//   whichever is more; a page load counts the same way (a healthy page before any turn).
// - false_alarm_turns: the number of turns replayed (informational).
// Timings are scaled 1:100: the extension's `detect.timing` override is {stall_ms: 600, no_start_ms:
// 600, resume_grace_ms: 300} (the page's 60 s and the 30 s grace given to its resume) and the fake
// page's own idle rule is `pageIdleMs: 600` (it aborts a read that got no byte for that long and
// resumes it from its offset). Every page resumes a stream that ended without [DONE]
// (`resumeOnDrop`), as the real page does.
// The turns are chosen by a seeded generator (FALSE_ALARM_SEED) and printed as a mix:
// - thinking silences of 0 to 90 s scaled (`thinkMs` 0-900; above 600 the page itself gives up the
//   silent read and resumes), some with thoughts streamed first;
// - handoffs to the resume stream and to the socket on ws.chatgpt.com;
// - recoveries: the send cut (`dropAfterMs`, no [DONE]) in the answer or in the silence, which the
//   page resumes by itself while it shows "Connection interrupted. Waiting for the complete answer";
// - downgrade and feature-limit banners shown as the answer streams (`banner`, as a test-id banner
//   or a role="alert" one);
// - both renderers, the Stop control by aria-label or test id, logged-out pages (backend-anon), the
//   page aborting its read after [DONE], after message_stream_complete or not at all, short and long
//   answers, varied chunking (`chunkMin`/`chunkMax`/`seed`) and token pace.
// Turns are grouped by page controls (one page load per group, several turns per page, each awaited
// until its answer is whole on the page, the page's Stop control gone and the fake's log shows the
// stream that carried the closing patch ended); some turns (every group's last and about one in
// four) then wait SETTLE_MS (twice the scaled stall watch: stall_ms + resume_grace_ms) before the
// next (a new send would restart a watch left running). Groups run on WORKERS
// browsers at once, each with its own fake site (the fake's controls are global to a server).
// An alarm is printed with the turn's shape, the notice's kind and words, the worker's evidence,
// the streams the fake sent and any failure surface the fake page showed (a turn that was not
// healthy after all is the fake misbehaving, not Understudy).
// A control closes each browser's run: a send that never gets a byte, on a page that shows no error
// of its own, must raise the stall notice within the scaled timings, seen by both counters (else
// the bench fails: it would have measured nothing).
// Env: FALSE_ALARM_TURNS (200), FALSE_ALARM_SEED (2026), FALSE_ALARM_WORKERS (2), FALSE_ALARM_VERBOSE
// (1: every turn's shape and the streams the fake sent for it).
import { launch, openExtensionPage } from '../e2e/browser.mjs';
import { startFakeChatgpt } from '../e2e/fake-chatgpt/server.mjs';
import { NOTICE, waitObserved } from '../e2e/detect-helpers.mjs';

const TURNS = Number(process.env.FALSE_ALARM_TURNS ?? 200);
const SEED = Number(process.env.FALSE_ALARM_SEED ?? 2026);
const WORKERS = Math.max(1, Number(process.env.FALSE_ALARM_WORKERS ?? 2));
const TIMING = { stall_ms: 600, no_start_ms: 600, resume_grace_ms: 300 };
const PAGE_IDLE_MS = 600;
const SETTLE_MS = 2 * (TIMING.stall_ms + TIMING.resume_grace_ms);
const TURN_TIMEOUT_MS = 30000;

const BANNERS = [
  "You've hit the Free plan limit for GPT-5. Responses will use another model until your limit resets after 3:54 PM.",
  'Files, images, and data analysis are unavailable until usage resets at 3:42 PM.',
  "You've reached your limit for image generation. You can create more images in 2 hours.",
];
// Plain words for prompts and answers (nothing error-like: the answer is model output, not a surface).
const WORDS = ('river bread garden light quiet seven maps notes table coffee window blue stone paper music harbor '
  + 'orange field winter market bridge candle forest letter morning pepper valley silver ticket lantern meadow '
  + 'pocket ribbon saddle timber velvet walnut yellow anchor basket cotton dinner engine feather glacier hammer '
  + 'island jacket kettle ladder marble needle ocean pillow quartz rocket sunset tunnel umbrella violin whistle').split(' ');

/** A small seeded generator (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = (xs) => xs[Math.floor(next() * xs.length)];
  const chance = (p) => next() < p;
  return { next, int, pick, chance };
}

const CHUNKINGS = [
  { name: 'default', chunkMin: 30, chunkMax: 6144 },
  { name: 'small', chunkMin: 34, chunkMax: 512 },
  { name: 'mid', chunkMin: 200, chunkMax: 2000 },
  { name: 'large', chunkMin: 2000, chunkMax: 16384 },
  { name: 'tiny', chunkMin: 8, chunkMax: 96 },
];

/**
 * The page controls of the groups (read when a page loads). Pages are few (one per 4-10 turns), so
 * each control is dealt from a shuffled deck of its values in the wanted shares, not drawn at
 * random: every value gets its share of pages.
 */
function pageDecks(r) {
  const deck = (values) => {
    let cards = [];
    return () => {
      if (!cards.length) {
        cards = values.slice();
        for (let i = cards.length - 1; i > 0; i--) {
          const j = r.int(0, i);
          [cards[i], cards[j]] = [cards[j], cards[i]];
        }
      }
      return cards.pop();
    };
  };
  const renderer = deck(['legacy', 'search-unit']);
  const stop = deck(['aria', 'aria', 'aria', 'testid', 'testid']);
  const loggedOut = deck([true, false, false, false, false]);
  // No banner on about half the pages; each banner as a test-id banner and as role="alert".
  const banner = deck([null, null, null, null, null, null, ...BANNERS.flatMap((b) => [[b, null], [b, 'alert']])]);
  const abortAfter = deck(['done', 'done', 'done', 'done', 'complete', 'none']);
  return () => {
    const [text, role] = banner() ?? [null, null];
    return {
      renderer: renderer(), stop: stop(), loggedOut: loggedOut(), banner: text, bannerRole: role,
      abortAfter: abortAfter(), resumeOnDrop: true, pageIdleMs: PAGE_IDLE_MS,
    };
  };
}

/** The backend controls of one healthy turn, and its prompt and answer. */
function turnControls(r, n) {
  const h = r.next();
  const handoff = h < 0.55 ? null : h < 0.8 ? 'resume' : 'ws';
  // A recovery (about a third of the turns answered on the send itself): the send cut without
  // [DONE], mostly in the answer, else in the thinking silence; the page resumes from its offset.
  // (A silence the page gives up first, at pageIdleMs, ends the send before any cut.)
  const recovery = !handoff && r.chance(0.35) ? (r.chance(0.75) ? 'answer' : 'silence') : null;
  const long = recovery === 'answer' || r.chance(0.35);
  const words = long ? r.int(recovery ? 150 : 80, 400) : r.int(2, 24);
  const tokenDelayMs = long ? r.int(recovery ? 2 : 1, 4) : r.int(2, 15);
  let thinkMs;
  if (recovery === 'answer') thinkMs = r.chance(0.4) ? 0 : r.int(1, PAGE_IDLE_MS - 100);
  else if (recovery === 'silence') thinkMs = r.int(300, 900);
  else {
    const think = r.next();
    thinkMs = think < 0.35 ? 0 : think < 0.6 ? r.int(1, PAGE_IDLE_MS - 1) : r.int(PAGE_IDLE_MS, 900);
  }
  const chunking = r.pick(recovery ? CHUNKINGS.filter((c) => c.name !== 'tiny') : CHUNKINGS);
  let dropAfterMs = null;
  if (recovery === 'answer') dropAfterMs = Math.round(thinkMs + 60 + (0.1 + 0.5 * r.next()) * words * (tokenDelayMs + 1.5));
  else if (recovery === 'silence') dropAfterMs = r.int(60, Math.min(thinkMs, PAGE_IDLE_MS) - 40);
  const thoughts = thinkMs > 0 && r.chance(0.5);
  const answer = [`Answer ${n}:`, ...Array.from({ length: words }, () => r.pick(WORDS))].join(' ') + '.';
  return {
    prompt: `Question ${n}: ${Array.from({ length: r.int(3, 9) }, () => r.pick(WORDS)).join(' ')}?`,
    shape: { long, thinkMs, thoughts, handoff, recovery, dropAfterMs, chunking: chunking.name, tokenDelayMs },
    backend: {
      mode: 'healthy', answer, tokenDelayMs, thinkMs, thoughts, handoff, dropAfterMs,
      chunkMin: chunking.chunkMin, chunkMax: chunking.chunkMax, seed: r.int(1, 1 << 30),
    },
  };
}

/** The whole replay: groups of turns sharing a page. */
function plan(seed, total) {
  const r = rng(seed);
  const groups = [];
  const groupControls = pageDecks(r);
  let n = 0;
  while (n < total) {
    const size = Math.min(total - n, r.int(4, 10));
    const page = groupControls();
    const turns = [];
    for (let i = 0; i < size; i++) {
      const t = turnControls(r, ++n);
      t.settle = i === size - 1 || r.chance(0.25);
      turns.push(t);
    }
    groups.push({ id: groups.length + 1, page, turns });
  }
  return groups;
}

function printMix(groups) {
  const turns = groups.flatMap((g) => g.turns.map((t) => ({ ...t.shape, page: g.page })));
  const count = (f) => turns.filter(f).length;
  const pages = groups.map((g) => g.page);
  const pcount = (f) => pages.filter(f).length;
  const lines = [
    `${turns.length} turns on ${groups.length} pages, seed ${SEED}, ${WORKERS} browser(s)`,
    `  thinking: none ${count((t) => t.thinkMs === 0)}, 1-599 ms ${count((t) => t.thinkMs > 0 && t.thinkMs < PAGE_IDLE_MS)}, `
      + `600-900 ms (the page resumes in the silence) ${count((t) => t.thinkMs >= PAGE_IDLE_MS)}; with thoughts ${count((t) => t.thoughts)}`,
    `  handoff: none ${count((t) => !t.handoff)}, resume ${count((t) => t.handoff === 'resume')}, socket ${count((t) => t.handoff === 'ws')}`,
    `  recoveries (the send cut, the page resumes): in the answer ${count((t) => t.recovery === 'answer')}, in the silence ${count((t) => t.recovery === 'silence')}`,
    `  answers: short ${count((t) => !t.long)}, long ${count((t) => t.long)}; chunking: `
      + CHUNKINGS.map((c) => `${c.name} ${count((t) => t.chunking === c.name)}`).join(', '),
    `  pages (turns): legacy ${pcount((p) => p.renderer === 'legacy')} (${count((t) => t.page.renderer === 'legacy')}), `
      + `search-unit ${pcount((p) => p.renderer === 'search-unit')} (${count((t) => t.page.renderer === 'search-unit')}); `
      + `stop by aria-label ${pcount((p) => p.stop === 'aria')}, by test id ${pcount((p) => p.stop === 'testid')}; `
      + `logged out ${pcount((p) => p.loggedOut)} (${count((t) => t.page.loggedOut)})`,
    `  banners: ${pcount((p) => p.banner)} pages (${count((t) => t.page.banner)} turns), as role="alert" ${pcount((p) => p.bannerRole === 'alert')}; `
      + BANNERS.map((b, i) => `#${i + 1} ${pcount((p) => p.banner === b)}`).join(', '),
    `  the page aborts its read: after [DONE] ${pcount((p) => p.abortAfter === 'done')}, after message_stream_complete `
      + `${pcount((p) => p.abortAfter === 'complete')}, never ${pcount((p) => p.abortAfter === 'none')} pages`,
  ];
  console.error(`false alarms: replay mix\n${lines.join('\n')}`);
}

// Installed in the page before its scripts: counts each appearance of the notice (a new one, or
// another kind), with its words, even when it goes again before anyone looks.
function countNotices(sel) {
  const seen = [];
  Object.defineProperty(window, '__benchNotices', { value: seen });
  let visible = false;
  let lastKind = null;
  new MutationObserver((records) => {
    for (const r of records) {
      const t = r.target;
      if (r.type === 'attributes' && t.localName === 'understudy-notice' && r.attributeName === 'data-kind'
          && t.matches(sel)) {
        const kind = t.getAttribute('data-kind');
        if (!visible || kind !== lastKind) {
          seen.push({ kind, words: t.shadowRoot?.querySelector('[role="status"] .words')?.textContent ?? null, at: Date.now() });
        }
        visible = true;
        lastKind = kind;
      } else if (r.type === 'childList') {
        for (const n of r.removedNodes) if (n.localName === 'understudy-notice' && !n.isConnected) visible = false;
      }
    }
    if (!document.querySelector(sel)) visible = false;
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-kind', 'data-testid'] });
}

const noticesSince = (page, from) => page.evaluate((i) => (window.__benchNotices ?? []).slice(i), from);

// The failure surfaces of the fake page itself (a turn that failed there was not healthy).
const PAGE_FAILURES = '.text-token-text-error, aside[role="alert"], aside[class*="surface-error"], [role="dialog"], [data-testid="toast-error"]';

async function waitTurn(page, site, prompt, answer) {
  const until = Date.now() + TURN_TIMEOUT_MS;
  await page.waitForFunction(([text, failures]) => {
    const bodies = document.querySelectorAll('.markdown, [data-markdown-text-style="assistant-message"]');
    const stop = document.getElementById('stop-button');
    return (bodies[bodies.length - 1]?.textContent === text && (!stop || stop.hidden)) || !!document.querySelector(failures);
  }, [answer, PAGE_FAILURES], { polling: 25, timeout: TURN_TIMEOUT_MS });
  if (await page.$(PAGE_FAILURES)) throw new Error('the fake page shows a failure');
  // The fake's log: the stream that carried the closing patch ended.
  for (;;) {
    const { streams } = site.sent(50);
    const turnId = streams.find((s) => s.kind === 'send' && s.request?.messages?.[0]?.content?.parts?.[0] === prompt)?.turn_id;
    if (turnId && streams.some((s) => s.turn_id === turnId && s.complete && s.ended)) return streams.filter((s) => s.turn_id === turnId);
    if (Date.now() > until) throw new Error(`turn not ended in the fake's log: ${JSON.stringify(streams.map(brief))}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// As detect-helpers' sendPrompt, without the click's wait for a stable layout: after a turn, with
// the extension loaded, headless Chromium may run the page's animation frames about once a second,
// and that wait then costs more than a second a turn (the click itself is the same real one).
async function send(page, prompt) {
  await page.fill('#prompt-textarea', prompt);
  await page.click('[data-testid="send-button"]', { force: true });
}

const brief = (s) => ({ kind: s.kind, complete: s.complete, ended: s.ended, cut: !!s.cut, offset: s.offset ?? null, answer_chars: s.answer.length });

async function worker(index, groups, results) {
  const site = await startFakeChatgpt({ defaults: { pageIdleMs: PAGE_IDLE_MS, resumeOnDrop: true } });
  const browser = await launch({ chatgptPort: site.port });
  const { context } = browser;
  try {
    const probe = await openExtensionPage(context, 'www/popup.html');
    await probe.evaluate((t) => chrome.storage.local.set({ 'detect.timing': t }), TIMING);
    const timelineSeen = new Set();
    // The worker's `raised` entries new since the last look (its timeline keeps the newest 50).
    const raisedSince = async () => {
      const list = await probe.evaluate(async () => (await chrome.storage.session.get('detect.timeline'))['detect.timeline'] ?? []);
      const fresh = list.filter((e) => !timelineSeen.has(JSON.stringify(e)));
      for (const e of fresh) timelineSeen.add(JSON.stringify(e));
      return fresh.filter((e) => e.type === 'raised');
    };
    for (const group of groups) {
      site.setMode({ ...group.page, ...group.turns[0].backend });
      const page = await context.newPage();
      await page.addInitScript(countNotices, NOTICE);
      await page.goto(`https://chatgpt.com/?bench=w${index}g${group.id}`);
      await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
      await waitObserved(context, page);
      let noticeIndex = 0;
      const account = async (what, extra) => {
        const notices = await noticesSince(page, noticeIndex);
        noticeIndex += notices.length;
        const raised = await raisedSince();
        const alarms = Math.max(notices.length, raised.length);
        const failures = await page.evaluate((sel) => [...document.querySelectorAll(sel)].map((e) => e.textContent.trim().slice(0, 160)), PAGE_FAILURES);
        results.push({ what, group: group.id, page: group.page, alarms, notices, raised, failures, ...extra });
      };
      await account('page load', {});
      for (const turn of group.turns) {
        site.setMode({ ...group.page, ...turn.backend });
        site.clearSent();
        const started = Date.now();
        let streams = [];
        let error = null;
        await send(page, turn.prompt);
        try {
          streams = await waitTurn(page, site, turn.prompt, turn.backend.answer);
        } catch (e) {
          error = String(e?.message ?? e).split('\n')[0];
        }
        if (turn.settle) await page.waitForTimeout(SETTLE_MS);
        await account('turn', { shape: turn.shape, prompt: turn.prompt, ms: Date.now() - started, streams: streams.map(brief), error });
      }
      await page.close();
    }
    // The control: a send that never gets a byte, on a page that shows no error of its own
    // (?quiet=1), must raise the stall notice within the scaled timings, seen by the page's counter
    // and in the worker's timeline; else the replay above proved nothing.
    site.setMode({ mode: 'hang' });
    const page = await context.newPage();
    await page.addInitScript(countNotices, NOTICE);
    await page.goto(`https://chatgpt.com/?quiet=1&bench=w${index}control`);
    await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
    await waitObserved(context, page);
    await send(page, 'Question: a send that hangs');
    const sentAt = Date.now();
    await page.waitForSelector(`${NOTICE}[data-kind]`, { timeout: 15000 });
    const ms = Date.now() - sentAt;
    await page.waitForTimeout(200);
    const notices = await noticesSince(page, 0);
    const raised = await raisedSince();
    if (!notices.length || !raised.some((e) => e.signal === 'stall') || ms > 3 * (TIMING.no_start_ms + TIMING.resume_grace_ms)) {
      throw new Error(`control: a hung send was not seen as a stall in the scaled time (${ms} ms; notices ${JSON.stringify(notices)}, timeline ${JSON.stringify(raised)})`);
    }
    results.push({ what: 'control', notices, raised, ms });
    await page.close();
  } finally {
    await browser.close();
    await site.close();
  }
}

export async function run() {
  const groups = plan(SEED, TURNS);
  printMix(groups);
  const shares = Array.from({ length: WORKERS }, () => []);
  groups.forEach((g, i) => shares[i % WORKERS].push(g));
  const results = [];
  const started = Date.now();
  await Promise.all(shares.map((share, i) => (share.length ? worker(i + 1, share, results) : null)));
  const turns = results.filter((r) => r.what === 'turn');
  const controls = results.filter((r) => r.what === 'control');
  const counted = results.filter((r) => r.what !== 'control');
  const alarms = counted.reduce((n, r) => n + r.alarms, 0);
  const cut = turns.filter((t) => t.streams.some((s) => s.cut));
  const cutInAnswer = cut.filter((t) => t.streams.some((s) => s.cut && s.answer_chars > 0));
  const resumed = turns.filter((t) => t.streams.some((s) => s.kind === 'resume'));
  console.error(`false alarms: ${turns.length} turns in ${((Date.now() - started) / 1000).toFixed(1)} s (mean ${(turns.reduce((n, t) => n + t.ms, 0) / Math.max(1, turns.length)).toFixed(0)} ms a turn); `
    + `sends cut ${cut.length} (${cutInAnswer.length} in the answer, ${cut.length - cutInAnswer.length} in the silence or before), turns with a resume stream ${resumed.length}`);
  if (process.env.FALSE_ALARM_VERBOSE) for (const t of turns) console.error(`  ${t.ms} ms ${JSON.stringify(t.shape)} ${JSON.stringify(t.streams)}`);
  console.error(`false alarms: control (a hung send, per browser): ${controls.map((c) => `${c.notices.map((x) => x.kind).join('+')} shown after ${c.ms} ms, ${c.raised.map((x) => `${x.kind}/${x.signal}`).join('+')} raised`).join('; ')}`);
  for (const r of counted) {
    if (r.error) console.error(`false alarms: turn of page ${r.group} did not complete (${r.error}); shape ${JSON.stringify(r.shape)}`);
    if (r.failures.length) console.error(`false alarms: the fake page of group ${r.group} shows a failure after a healthy ${r.what} (the fake misbehaved): ${JSON.stringify(r.failures)}`);
    if (!r.alarms) continue;
    console.error(`FALSE ALARM after ${r.what} of page ${r.group} ${JSON.stringify(r.page)}`
      + (r.shape ? `\n  turn: ${JSON.stringify(r.shape)} (${r.ms} ms)\n  streams: ${JSON.stringify(r.streams)}` : '')
      + `\n  notices: ${JSON.stringify(r.notices)}\n  worker: ${JSON.stringify(r.raised.map((e) => ({ kind: e.kind, signal: e.signal, evidence: e.evidence })))}`);
  }
  return [
    { name: 'false_alarm_count', value: alarms, unit: 'count', lower_is_better: true, peer: null },
    { name: 'false_alarm_turns', value: turns.length, unit: 'turns', lower_is_better: false, peer: null },
  ];
}
