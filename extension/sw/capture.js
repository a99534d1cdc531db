// Service-worker side of the page's streams: the answer streams, resumes and sockets a chat page
// sends (content/capture-hook.js → content/capture.js) are decoded here by the Wasm core, one
// `CaptureSession` per tab. How each turn ended (done, handed off, an error, cut short) goes to
// detection (sw/detect.js `judgeTurn`), always; the turns they yield go into the cache through
// cache.js's batched writer (the same queue as `cache.capture`) only when they may be kept.
//
// Message (page port or runtime.sendMessage):
// - `cache.stream` {stream: {id, seq, stream_kind?, path?, request?, text? | frames?, end?}}: one
//   batch of stream `id` (a u32 the page picked), in order from seq 0; seq 0 carries stream_kind
//   ('send' | 'resume' | 'ws'), path and request (the request body as JSON text, or null); `text`
//   is the SSE text since the last batch, `frames` the socket's text frames; `end` ('eof' | 'abort'
//   | 'error' | 'pagehide' | 'close') closes the stream; a snapshot site's send says on seq 0
//   `encoding: 'lines'`: its text is line-delta encoded (sw/lines.js). Answers {stored: n} (n captures stored,
//   committed), {repeated: true} for a batch already taken (sent again after the port closed), or
//   {resync: true} when the stream is unknown here (the worker restarted since its seq 0) or a
//   batch is missing: the page then sends it all again from seq 0. The reply also carries `turns`:
//   the ends decoded from this batch (['handoff', 'done', ...]), for the page's stall watch.
//   Decoded but not kept (`stored: 0, kept: false`): a temporary chat, capture off, or the tab over
//   its capture budget (then with `errors`: the stream's text counts against the tab's bytes per
//   minute, and the turns it makes against its new conversations, sw/cache.js). Refused
//   ({skipped: 'paused'}) while Understudy is paused, and ({skipped: 'site off'}) on a site the user
//   switched off (sw/watched.js).
// Sessions live in this worker's memory only (a restart loses them: the resync above brings the
// streams back) and are dropped when their tab closes or after IDLE_MS without a message.
import { ext } from '../api.js';
import { captureEnabled, chargeTab, isTemporary, storeCaptures } from './cache.js';
import { core, onMessages } from './core.js';
import { judgeTurn } from './detect.js';
import { lineDecoder } from './lines.js';
import { paused, siteOff } from './watched.js';

const IDLE_MS = 10 * 60 * 1000;
const MAX_JSON = 32 << 20;
const MAX_PATH = 2048;
const MAX_SEQS = 256; // per tab: the next seq of the streams seen last
const KINDS = new Set(['send', 'resume', 'ws']);
const ENDS = new Set(['eof', 'abort', 'error', 'pagehide', 'close']);

const tabs = new Map(); // tabId -> {session, next: Map(stream id -> next seq), at, chain}

function drop(tabId) {
  const t = tabs.get(tabId);
  if (!t) return;
  tabs.delete(tabId);
  try {
    t.session.free();
  } catch {
    // already freed
  }
}
ext.tabs?.onRemoved.addListener((tabId) => drop(tabId));

function tabOf(tabId) {
  const now = Date.now();
  for (const [id, t] of tabs) if (now - t.at > IDLE_MS) drop(id);
  let t = tabs.get(tabId);
  if (!t) {
    if (typeof core.CaptureSession !== 'function') throw new Error('this build cannot decode page streams');
    t = { session: new core.CaptureSession(), next: new Map(), at: now, chain: Promise.resolve() };
    tabs.set(tabId, t);
  }
  t.at = now;
  return t;
}

/**
 * The latest turn the page of `tabId` streamed, as decoded here: {conversation_id, prompt_id}
 * (either may be null), or null when this worker has not seen one (a rescue then files its answer
 * by what the page says).
 */
export function latestTurn(tabId) {
  const t = tabId == null ? null : tabs.get(tabId);
  if (!t) return null;
  try {
    return t.session.latest() ?? null;
  } catch {
    return null;
  }
}

/**
 * The conversation (`<site>:<id>`) another site's page in `tabId` last streamed a turn of, as
 * kept here, or null (a read of it may be kept even before the tab's URL shows it).
 */
export function latestSiteConversation(tabId) {
  return (tabId == null ? null : siteTabs.get(tabId)?.latest) ?? null;
}

/** The batch checked (shape and bounds); throws when malformed. */
function checked(s) {
  const ok = s && typeof s === 'object'
    && Number.isInteger(s.id) && s.id >= 0 && s.id <= 0xffffffff
    && Number.isSafeInteger(s.seq) && s.seq >= 0
    && (s.end === undefined || ENDS.has(s.end))
    && (s.text === undefined || typeof s.text === 'string')
    && (s.frames === undefined || (Array.isArray(s.frames) && s.frames.every((f) => typeof f === 'string')))
    && (s.encoding === undefined || (s.seq === 0 && s.encoding === 'lines' && s.stream_kind === 'send'))
    && (s.seq > 0 || (KINDS.has(s.stream_kind) && typeof s.path === 'string' && s.path.length <= MAX_PATH
      && (s.request == null || (typeof s.request === 'string' && s.request.length <= MAX_JSON))));
  if (!ok) throw new Error('malformed stream batch');
  return s;
}

/** Applies one batch to the tab's session (in arrival order); resolves to the reply. */
async function apply(t, s, sender) {
  if (await paused()) return { skipped: 'paused' };
  if (s.encoding !== undefined) throw new Error('malformed stream batch'); // a snapshot site's only
  let keep = !(sender.tab.url && isTemporary(sender.tab.url)) && (await captureEnabled());
  const { session, next } = t;
  const expected = next.get(s.id) ?? 0;
  if (s.seq < expected) return { repeated: true };
  if (s.seq > expected || (s.seq > 0 && !session.knows(s.id))) {
    // Unknown here, or a batch went missing (then what was decoded is ended): start over.
    if (session.knows(s.id)) session.end(s.id, 'error');
    next.delete(s.id);
    return { resync: true };
  }
  if (s.seq === 0) session.open(s.id, s.stream_kind, s.path, s.request ?? null, s.temporary === true);
  if (s.frames) for (const f of s.frames) session.frame(s.id, f);
  else if (s.text) session.push(s.id, s.text);
  if (s.end) session.end(s.id, s.end);
  // Taken: a batch sent again (the port closed before the answer) is recognised by its seq.
  next.delete(s.id);
  next.set(s.id, s.seq + 1);
  if (next.size > MAX_SEQS) next.delete(next.keys().next().value);
  const captures = session.take();
  const verdicts = session.verdicts();
  for (const v of verdicts) judgeTurn(sender, v).catch(() => {});
  const turns = verdicts.map((v) => v.end);
  // The text counts against the tab's budget: over it, decoded (for detection) but not kept.
  let over = null;
  if (keep) {
    try {
      chargeTab(sender.tab.id, (s.text?.length ?? 0) + (s.frames ?? []).reduce((n, f) => n + f.length, 0));
    } catch (error) {
      over = String(error?.message ?? error);
      keep = false;
    }
  }
  // Queued now, in order; committed later (the reply waits for it).
  if (!keep) return over ? { stored: null, kept: false, turns, errors: [over] } : { stored: null, kept: false, turns };
  return { stored: captures.length ? storeCaptures(captures, sender.tab.id) : null, turns };
}

// ---- the other chat sites (claude.ai, gemini.google.com, ...) ----
// Their answer streams are decoded by the site's own decoder (`SiteStream`, one per stream). How the
// turn ended goes to `judgeTurn` once (at the stream's end, or as soon as it reports an error
// before any answer text), with the prompt the core read from the send's request
// (`core.sitePrompt`). What the turn showed is kept in the cache (`SiteStream.capture`: the
// conversation `<site>:<id>`, the prompt and the answer) at each batch that changed it, under the
// same rules as ChatGPT's: not while paused, not with capture off, within the tab's budget.
const siteTabs = new Map(); // tabId -> {streams: Map(stream id -> {decoder, next, prompt, judged}), at, chain}

function freeStream(st) {
  try {
    st.decoder?.free();
  } catch {
    // already freed
  }
}
function dropSiteTab(tabId) {
  const t = siteTabs.get(tabId);
  if (!t) return;
  siteTabs.delete(tabId);
  for (const st of t.streams.values()) freeStream(st);
}
ext.tabs?.onRemoved.addListener((tabId) => dropSiteTab(tabId));

function siteTabOf(tabId) {
  const now = Date.now();
  for (const [id, t] of siteTabs) if (now - t.at > IDLE_MS) dropSiteTab(id);
  let t = siteTabs.get(tabId);
  if (!t) {
    t = { streams: new Map(), at: now, chain: Promise.resolve() };
    siteTabs.set(tabId, t);
  }
  t.at = now;
  return t;
}

/** The prompt of a send's request body of `site` (the core reads each site's format), or null. */
function sitePrompt(site, request) {
  if (typeof request !== 'string' || typeof core.sitePrompt !== 'function') return null;
  try {
    return core.sitePrompt(site, request) ?? null;
  } catch {
    return null;
  }
}

// A site's answer socket (Copilot: stream_kind 'ws', the client's frames among the server's) carries
// many answers: each is one turn for detection, from the client's `send` frame to the next one (or
// the socket's end), decoded by a decoder of its own and judged once, as soon as it is done or
// failed (else at the socket's end, as it stands). Frames before the first `send` (an error at
// connect) make an answer of their own.

/** Whether a frame the page sent on a site socket asks for a new answer (Copilot's `send` event). */
function asksAnswer(frame) {
  if (!frame.startsWith('{') || !frame.includes('"send"')) return false;
  try {
    return JSON.parse(frame)?.event === 'send';
  } catch {
    return false; // two JSON objects in one frame: the server's
  }
}

/** Judges the socket's current answer if it is over (or `final`: the socket ended); once. */
function judgeAnswer(st, sender, turns, final = false) {
  if (st.judged) return;
  const turn = st.decoder.turn();
  const end = turn.error && turn.end !== 'done' ? 'error' : turn.end;
  if (!final && end !== 'done' && end !== 'error') return;
  st.judged = true;
  judgeTurn(sender, { end, error: end === 'error' ? turn.error ?? null : null, prompt: st.prompt }).catch(() => {});
  turns.push(end);
}

/** The capture of the socket's current answer as it stands (sw/cache.js), or null. */
function answerCapture(st, sender) {
  try {
    return st.decoder.capture(st.path, st.request, sender.tab.url ?? sender.url ?? '', st.key) ?? null;
  } catch {
    return null;
  }
}

/**
 * Applies a batch of a site socket's frames: a `send` frame starts a new answer (its request, for
 * the cache: the frame itself, whose prompt and conversation id the core reads; its own stream key).
 * The captures of the answers that ended in the batch are pushed on `ended`.
 */
function socketFrames(site, st, s, sender, turns, ended) {
  const frames = s.frames ?? [];
  // A first batch holding answers the page asked for one after another is the socket sent again
  // from its start (this worker restarted and lost it; the page keeps its frames): the answers
  // before the last one were judged in the worker's previous life, and are only kept again (under
  // the same keys). A live first batch is half a second of a new socket: one send at most.
  const replayed = s.seq === 0 ? frames.findLastIndex(asksAnswer) : -1;
  frames.forEach((f, i) => {
    if (asksAnswer(f)) {
      judgeAnswer(st, sender, turns); // done or failed in the batch before: judged now, else never
      ended.push(answerCapture(st, sender));
      freeStream(st);
      st.decoder = new core.SiteStream(site);
      st.answers += 1;
      Object.assign(st, { request: f, prompt: sitePrompt(site, f), key: `${sender.tab.id}-${s.id}-${st.answers}`, judged: i < replayed });
    }
    st.decoder.frame(f);
  });
  judgeAnswer(st, sender, turns);
}

/**
 * `sender` with its tab's URL as it is now: a page's port keeps the URL it was opened at, and a
 * chat page moves within its site (`/new` → `/chat/<id>`) without loading again. The detection
 * entry and the conversation a turn is filed under follow the page.
 */
async function tabNow(sender, site) {
  try {
    const tab = await ext.tabs.get(sender.tab.id);
    if (tab?.url && core.detectSite(tab.url) === site) return { ...sender, url: tab.url, tab: { ...sender.tab, url: tab.url } };
  } catch {
    // the tab went: what the port said stays
  }
  return sender;
}

async function siteApply(site, t, batch, sender) {
  if (await paused()) return { skipped: 'paused' };
  if (await siteOff(site)) return { skipped: 'site off' };
  let s = batch;
  let st = t.streams.get(s.id);
  const expected = st?.next ?? 0;
  if (s.seq < expected) return { repeated: true };
  if (s.seq > expected) {
    if (st) freeStream(st);
    t.streams.delete(s.id);
    return { resync: true };
  }
  if (s.seq === 0) {
    if (typeof core.SiteStream !== 'function') throw new Error('this build cannot decode page streams');
    // A send (or a site's answer socket) carries turns; another stream is taken (by its seq) and
    // not decoded.
    const send = s.stream_kind === 'send' || s.stream_kind === 'ws';
    st = {
      decoder: send ? new core.SiteStream(site) : null, next: 0, judged: !send,
      path: s.path, request: s.request ?? null, prompt: send ? sitePrompt(site, s.request) : null,
      key: `${sender.tab.id}-${s.id}`, kept: 0, socket: s.stream_kind === 'ws', answers: 0,
      lines: s.encoding === 'lines' ? lineDecoder() : null,
    };
    t.streams.set(s.id, st);
    if (t.streams.size > MAX_SEQS) {
      const [oldest, old] = t.streams.entries().next().value;
      freeStream(old);
      t.streams.delete(oldest);
    }
  }
  if (st.lines && s.text) {
    // The page's line-delta encoded text (a snapshot site's send), decoded in order.
    try {
      s = { ...s, text: st.lines.decode(s.text) };
    } catch (error) {
      freeStream(st);
      t.streams.delete(s.id);
      throw error;
    }
  }
  st.next = s.seq + 1;
  const turns = [];
  const ended = []; // a socket's answers that ended in this batch (their captures)
  if (st.socket) {
    socketFrames(site, st, s, sender, turns, ended);
    if (s.end) {
      st.decoder.end();
      judgeAnswer(st, sender, turns, true);
    }
  } else if (st.decoder) {
    if (s.frames) for (const f of s.frames) st.decoder.frame(f);
    else if (s.text) st.decoder.push(s.text);
    if (s.end) st.decoder.end();
  }
  if (!st.judged && !st.socket) {
    const turn = st.decoder.turn();
    const early = turn.error && !turn.messages.some((m) => m.role === 'assistant' && m.text);
    if (s.end || early) {
      st.judged = true;
      const end = turn.error && turn.end !== 'done' ? 'error' : turn.end;
      judgeTurn(sender, { end, error: end === 'error' ? turn.error ?? null : null, prompt: st.prompt }).catch(() => {});
      turns.push(end);
    }
  }
  const stored = st.decoder ? await keepSiteTurn(st, s, sender, ended) : { stored: 0, kept: false };
  if (s.end) {
    freeStream(st);
    t.streams.delete(s.id);
  }
  return { ...stored, turns };
}

/**
 * Keeps what the send's turn showed so far (when capture may keep it), after the `earlier`
 * captures (a socket's answers that ended in this batch); the reply's fields.
 */
async function keepSiteTurn(st, s, sender, earlier = []) {
  if ((sender.tab.url && isTemporary(sender.tab.url)) || !(await captureEnabled())) return { stored: 0, kept: false };
  try {
    chargeTab(sender.tab.id, (s.text?.length ?? 0) + (s.frames ?? []).reduce((n, f) => n + f.length, 0));
  } catch (error) {
    return { stored: 0, kept: false, errors: [String(error?.message ?? error)] };
  }
  // Only a batch that brought something (or the end) is worth a write.
  if (!s.text && !s.frames?.length && !s.end && st.kept > 0) return { stored: 0 };
  const captures = [...earlier, st.decoder.capture(st.path, st.request, sender.tab.url ?? sender.url ?? '', st.key)].filter(Boolean);
  if (!captures.length) return { stored: 0 };
  const tab = siteTabs.get(sender.tab.id);
  if (tab) tab.latest = captures.at(-1).conversation_id ?? tab.latest ?? null;
  st.kept += 1;
  const results = await storeCaptures(captures, sender.tab.id);
  const failed = results.filter((r) => !r?.ok);
  return failed.length ? { stored: 0, errors: failed.map((r) => r?.error ?? 'not stored') } : { stored: results.length };
}

onMessages(ext, ['cache.stream'], async (message, sender) => {
  const s = checked(message.stream);
  if (sender?.tab?.id == null) throw new Error('cache.stream comes from a tab');
  const site = core.detectSite(sender.url ?? sender.tab.url ?? '');
  if (site && site !== 'chatgpt') {
    const st = siteTabOf(sender.tab.id);
    const run = st.chain.then(async () => siteApply(site, st, s, await tabNow(sender, site)));
    st.chain = run.catch(() => {});
    return run;
  }
  const t = tabOf(sender.tab.id);
  // Entered synchronously: batches of one tab are applied in the order they arrived.
  const run = t.chain.then(() => apply(t, s, sender));
  t.chain = run.catch(() => {});
  const reply = await run;
  if (!('stored' in reply)) return reply;
  const { turns } = reply;
  if (reply.kept === false) return reply.errors ? { stored: 0, kept: false, errors: reply.errors, turns } : { stored: 0, kept: false, turns };
  const results = reply.stored ? await reply.stored : [];
  const failed = results.filter((r) => !r?.ok);
  return failed.length
    ? { stored: results.length - failed.length, errors: failed.map((r) => r?.error ?? 'not stored'), turns }
    : { stored: results.length, turns };
});
