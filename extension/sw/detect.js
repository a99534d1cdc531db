// Service-worker side of the detect feature: per-tab detection state judged by the Wasm core, the
// typed detection event, the timeline and the toolbar badge (the status page: status.js).
//
// Messages handled (from content scripts unless noted):
//   detect.adapter {}                              -> the site's adapter (selectors, endpoints, timing) or null
//   detect.observe {observation, prompt, url}      -> {event, current}; event is also broadcast to the tab
//   detect.state   {} (extension pages)            -> {tabs, status, timeline}
// Messages sent to a tab (chrome.tabs.sendMessage): {type: 'detect.event', event, current}.
//
// Storage (chrome.storage.session unless noted):
//   detect.tab.<tabId>  {site, url, conversation_id, state, current, failed_prompt, observed, updated_at}
//   detect.timeline     [{type, kind, signal, evidence, retry_at, tab, conversation_id, at}] newest last, <= 50
//   detect.status       (status.js) {report, source, at, ok_at, errors, error, next_at}
//   detect.status.<site> (status.js) another site's status page, the same shape
//   detect.timing       (chrome.storage.local) {stall_ms, no_start_ms, resume_grace_ms}: overrides the
//                       stall thresholds (tests scale them down)
import { ext } from '../api.js';
import { core, onMessages } from './core.js';
import { badgeText } from './words.js';
import { ensureStatusPolling, STATUS_KEY } from './status.js';
import { siteOff } from './watched.js';

const TAB_PREFIX = 'detect.tab.';
const TIMELINE_KEY = 'detect.timeline';
const TIMING_KEY = 'detect.timing';
const TIMELINE_MAX = 50;
const MAX_PROMPT = 32768;

// [the English badge (the catalogue's worker_badge_<kind>, see words.js), its colour]
const BADGE = {
  generation_error: ['ERR', '#b42318'],
  network_error: ['NET', '#b42318'],
  rate_limited: ['WAIT', '#b54708'],
  capacity: ['FULL', '#b54708'],
  service_down: ['DOWN', '#b42318'],
  blocked: ['AUTH', '#57606a'],
  conversation_unavailable: ['HIST', '#b54708'],
  unknown_error: ['ERR', '#b42318'],
  refused: ['POL', '#57606a'],
  conversation_too_long: ['LONG', '#b54708'],
};

// In-memory caches, write-through to storage: only speed, never the truth after a restart.
const tabs = new Map();
const chains = new Map();
let timeline = null;
let timing; // undefined: not loaded yet

const session = ext.storage.session;
const tabKey = (id) => `${TAB_PREFIX}${id}`;

/** The conversation id in a chat URL (`/c/<id>`), or null. */
export function conversationId(url) {
  const m = /^https:\/\/[^/]+\/(?:g\/[^/]+\/)?c\/([0-9A-Za-z-]{1,80})(?:[/?#]|$)/.exec(url ?? '');
  return m ? m[1] : null;
}

async function getTiming() {
  if (timing === undefined) {
    const got = await ext.storage.local.get(TIMING_KEY);
    timing = got[TIMING_KEY] ?? null;
  }
  return timing;
}

ext.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && TIMING_KEY in changes) timing = changes[TIMING_KEY].newValue ?? null;
});

async function loadTab(tabId) {
  let entry = tabs.get(tabId);
  if (entry) return entry;
  const got = await session.get(tabKey(tabId));
  entry = got[tabKey(tabId)] ?? null;
  if (entry) tabs.set(tabId, entry);
  return entry;
}

function freshTab(site, url) {
  return {
    site, url, conversation_id: conversationId(url), state: null, current: null,
    failed_prompt: null, observed: 0, updated_at: Date.now(),
  };
}

function saveTab(tabId, entry) {
  tabs.set(tabId, entry);
  return session.set({ [tabKey(tabId)]: entry });
}

async function forgetTab(tabId) {
  tabs.delete(tabId);
  await session.remove(tabKey(tabId));
}

/** Runs `fn` after every earlier operation on the same tab (observations are judged in order). */
function serial(tabId, fn) {
  const prev = chains.get(tabId) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const tail = next.catch(() => {});
  chains.set(tabId, tail);
  tail.then(() => {
    if (chains.get(tabId) === tail) chains.delete(tabId);
  });
  return next;
}

async function loadTimeline() {
  if (!timeline) timeline = (await session.get(TIMELINE_KEY))[TIMELINE_KEY] ?? [];
  return timeline;
}

async function record(item) {
  const list = await loadTimeline();
  list.push(item);
  if (list.length > TIMELINE_MAX) list.splice(0, list.length - TIMELINE_MAX);
  await session.set({ [TIMELINE_KEY]: list });
}

function setBadge(tabId, kind) {
  const action = ext.action;
  if (!action) return;
  const [, color] = BADGE[kind] ?? ['', '#57606a'];
  const text = badgeText(kind); // a few letters in the user's language (ERR, WAIT… in English)
  action.setBadgeText({ tabId, text }).catch(() => {});
  if (text) action.setBadgeBackgroundColor({ tabId, color }).catch(() => {});
}

/** The detection in force, as content scripts and pages see it. */
function present(current, sinceMs) {
  if (!current) return null;
  const retryAt = current.retry_after_s != null && sinceMs != null ? sinceMs + current.retry_after_s * 1000 : null;
  return { ...current, since_ms: sinceMs ?? null, retry_at: retryAt };
}

function validObserve(message) {
  const o = message.observation;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error('malformed message: observation must be an object');
  if (message.prompt != null && typeof message.prompt !== 'string') throw new Error('malformed message: prompt must be a string');
  if (message.url != null && typeof message.url !== 'string') throw new Error('malformed message: url must be a string');
}

async function observe(message, sender) {
  const tabId = sender.tab?.id;
  if (tabId == null || tabId < 0) throw new Error('detect.observe comes from a tab only');
  validObserve(message);
  // How a turn's stream ended is the core's judgement of the bytes, made here (judgeTurn): a page
  // that claims it is not heard.
  if (message.observation.type === 'turn') throw new Error('turn observations are made by the worker');
  const url = message.url ?? sender.tab.url ?? sender.url ?? '';
  const site = core.detectSite(sender.url ?? url);
  if (!site) throw new Error('not a watched page');
  const prompt = typeof message.prompt === 'string' ? message.prompt.slice(0, MAX_PROMPT) : null;
  return judge(tabId, site, url, JSON.stringify(message.observation), prompt);
}

/**
 * Judges how a turn of the page in `sender`'s tab ended, as the core decoded its stream
 * (`CaptureSession.verdicts()`: {conversation_id, end, error, prompt}); from sw/capture.js.
 */
export async function judgeTurn(sender, verdict) {
  const tabId = sender.tab?.id;
  const url = sender.tab?.url ?? sender.url ?? '';
  const site = core.detectSite(sender.url ?? url);
  if (tabId == null || tabId < 0 || !site) return null;
  const observation = { type: 'turn', end: verdict.end, error: verdict.error ?? null };
  const prompt = typeof verdict.prompt === 'string' ? verdict.prompt.slice(0, MAX_PROMPT) : null;
  return judge(tabId, site, url, JSON.stringify(observation), prompt);
}

/** Runs one observation (JSON) of tab `tabId` through its detector; broadcasts an event. */
async function judge(tabId, site, url, json, prompt) {
  const t = await getTiming();
  return serial(tabId, async () => {
    let entry = await loadTab(tabId);
    const conv = conversationId(url);
    // Another conversation in the same tab: what was wrong with the previous one is over.
    if (!entry || entry.site !== site || (entry.conversation_id && conv && entry.conversation_id !== conv)) {
      if (entry?.current) setBadge(tabId, null);
      entry = freshTab(site, url);
    }
    let result;
    try {
      result = core.detectObserve(entry.state, site, json, Date.now(), t);
    } catch (error) {
      if (!entry.state) throw error;
      // A corrupt saved state must not wedge the tab: judge from a fresh one.
      result = core.detectObserve(null, site, json, Date.now(), t);
    }
    const current = present(result.current, result.since_ms);
    const next = {
      ...entry, url, conversation_id: conv ?? entry.conversation_id, state: result.state, current,
      observed: entry.observed + 1, updated_at: Date.now(),
    };
    // A failure raised without its prompt (an HTTP error heard before the send's body was read)
    // learns it from a later observation of the same failure (the send's stream, decoded here).
    if (current && !next.failed_prompt && prompt) next.failed_prompt = prompt;
    let event = null;
    if (result.event) {
      const raised = result.event.event === 'raised';
      const d = raised ? result.event.detection : null;
      if (raised) next.failed_prompt = prompt || null;
      event = {
        type: result.event.event,
        kind: raised ? d.kind : result.event.kind,
        evidence: raised ? d.evidence : null,
        retry_after_s: raised ? d.retry_after_s : null,
        retry_at: raised ? current?.retry_at ?? null : null,
        tab: tabId,
        url,
        conversation_id: next.conversation_id,
        failed_prompt: raised ? next.failed_prompt : null,
        at: result.event.at_ms,
      };
    }
    // Write-through: the memory cache answers at once; the write is issued now (in order) and the
    // answer does not wait for it.
    saveTab(tabId, next).catch(() => {});
    if (event) {
      // After the answer has gone back to the tab: the badge, the broadcast and the timeline are
      // browser calls of their own and must not delay it.
      setTimeout(() => {
        setBadge(tabId, event.type === 'raised' ? event.kind : null);
        ext.tabs.sendMessage(tabId, { type: 'detect.event', event, current }).catch(() => {});
        record({
          type: event.type, kind: event.kind, signal: event.evidence?.signal ?? null,
          evidence: event.evidence?.text ?? null, retry_at: event.retry_at, tab: tabId,
          conversation_id: event.conversation_id, at: event.at,
        }).catch(() => {});
      }, 0);
    }
    return { event, current };
  });
}

async function adapter(_message, sender) {
  const tabId = sender.tab?.id;
  const url = sender.url ?? sender.tab?.url ?? '';
  const site = core.detectSite(url);
  // A site the user switched off gets no adapter: its content scripts stay idle there.
  if (!site || (await siteOff(site))) return null;
  if (tabId != null && tabId >= 0) {
    // A page (re)loaded in this tab: start its detection afresh.
    await serial(tabId, async () => {
      const old = await loadTab(tabId);
      if (old?.current) setBadge(tabId, null);
      await saveTab(tabId, freshTab(site, url));
    });
  }
  // Each site's public status page is polled while a tab of that site is open (status.js).
  ensureStatusPolling(site).catch(() => {});
  return core.detectAdapter(site, await getTiming());
}

async function state() {
  const all = await session.get(null);
  const list = [];
  for (const [key, value] of Object.entries(all)) {
    if (key.startsWith(TAB_PREFIX)) list.push({ tab: Number(key.slice(TAB_PREFIX.length)), ...value, state: undefined });
  }
  list.sort((a, b) => b.updated_at - a.updated_at);
  // The other sites' status pages, by site (ChatGPT's stays `status`).
  const statuses = {};
  for (const [key, value] of Object.entries(all)) {
    if (key.startsWith(`${STATUS_KEY}.`)) statuses[key.slice(STATUS_KEY.length + 1)] = value;
  }
  return { tabs: list, status: all[STATUS_KEY] ?? null, statuses, timeline: all[TIMELINE_KEY] ?? [] };
}

// ---- tabs ----

ext.tabs.onRemoved.addListener((tabId) => {
  serial(tabId, () => forgetTab(tabId)).catch(() => {});
});

onMessages(ext, ['detect.adapter'], adapter);
onMessages(ext, ['detect.observe'], observe);
onMessages(ext, ['detect.state'], state);
