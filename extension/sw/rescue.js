// Service-worker side of the rescue: carries a failed prompt, with the conversation as context, to
// an alternative provider and streams the answer back into the rescue frame.
//
// The rescue's controls and the answer live in an extension frame inside the chat page's notice
// (www/rescue-frame.html, cross-origin to the page). Only that frame may ask (the port and the
// `frame` messages of SENDERS in core.js): the chat page's scripts, and the content script they
// can drive, cannot start an ask, choose its provider, stop it or read its answer. A manual ask
// comes from a person's click in the frame (www/gesture.js: trusted, visible, not covered). What
// an ask carries is chosen here: the failed prompt recorded with the tab's detection and the kind
// in force (`detect.tab.<tabId>`, sw/detect.js), the conversation as the tab's content script
// reads it from the page (context only, `rescue.transcript`), the router's provider order with
// the frame's chosen provider first. Keys are read here and never leave the worker.
//
// Port protocol (rescue frame → worker; one ask at a time per port, a new ask stops the last):
//   {type:'ask', id, provider?}   a person's choice in the frame
//   {type:'ask', id, auto: true}  auto mode: starts only if auto mode is on for the kind in force and
//      the core's bound allows it (src/autoguard.rs: only the failure this worker holds in force for
//      the sender's tab, one automatic rescue per failure episode, 3 per tab and 10 per browser in
//      an hour), and it is then recorded; it carries the failed prompt recorded with the detection
//      (none recorded, no automatic rescue) and the router's own provider order.
//   {type:'stop', id}
//   The answer is kept as a branch (see providers.js `saved`) of the tab's latest turn as this
//   worker decoded it from the page's stream (sw/capture.js `latestTurn`), else of the conversation
//   the tab's URL shows.
// worker → frame (every message carries the ask's id):
//   {type:'start', provider, label, dropped, after}   a provider asked (first, or after another
//      failed: after = {provider, label, reason} says which and why, in words) and turns left out
//   {type:'delta', provider, label, text}
//   {type:'done', provider, label, outcome: 'complete'|'length'|'cancelled'}
//   {type:'error', message}
//   {type:'saved', conversation_id, node} | {type:'saved', error}   the answer is in the cache
// While Understudy is paused (settings `paused`), asks, auto mode and handoffs are refused.
// One-shot messages (runtime.sendMessage), from the rescue frame:
//   rescue.frame {}            -> {kind, providers:[{id, label, available}], sites:[{id, label}], auto}
//                                 (no key; `auto`: auto mode would act now for this tab)
//   rescue.handoff {site}      -> {label, url, clipboard}; opens the site in a new tab
//   rescue.openCache {}        -> opens the library page on the tab's conversation (www/library.html?c=<id>)
//   rescue.sidePanel {text, provider, branch?: {conversation_id, node}} -> opens the side panel on this tab
// From the library page:
//   rescue.continue {conversation_id}   -> opens the side panel on that conversation
// To the tab's content script (top frame): rescue.transcript -> {transcript, conversation_id}.
// Storage:
//   local `settings`             the settings document; its `auto_mode` decides auto mode per kind.
//   session `rescue.panel`       the conversation handed to the side panel {conversation, prompt,
//       text, provider, conversation_id, branch, at}; sw/commands.js hands a page's selected text
//       over the same way, as the prompt, with `selection: true`.
//   session `rescue.timeline`    the last rescues [{tab, kind, provider, outcome, first_token_ms, at, auto?}].
//   session `rescue.autoGuard`   auto mode's bound: the core's AutoGuard state (JSON), written only here.
//   session `detect.tab.<tabId>` (sw/detect.js) read: the detection in force and its failed prompt.
//   session `providers.health`   shared with the providers module (circuit breakers).
import { ext, hasSidebar } from '../api.js';
import { paused } from './watched.js';
import { core, fromRescueFrame, onMessages, ready } from './core.js';
import { latestSiteConversation, latestTurn } from './capture.js';
import { loadHealth, startAsk } from './providers.js';
import { classWords, refusalWords, skipWords, t } from './words.js';

export const RESCUE_PORT = 'understudy-rescue';
const K_SETTINGS = 'settings';
const K_PANEL = 'rescue.panel';
const K_TIMELINE = 'rescue.timeline';
const K_GUARD = 'rescue.autoGuard';
const TIMELINE_MAX = 50;
const MAX_TRANSCRIPT = 2_000;
const CONTEXT_WAIT_MS = 2_000;

// Read-through caches for this worker's life (storage stays the truth; cleared on change).
const cache = { settings: null };
ext.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && changes[K_SETTINGS]) cache.settings = null;
});


const PAUSED = () => t('worker_paused');
const idOrNull = (v) => (typeof v === 'string' && /^[\w-]{1,200}$/.test(v) ? v : null);

function isTemporary(url) {
  try {
    return new URL(url).searchParams.get('temporary-chat') === 'true';
  } catch {
    return false;
  }
}

async function loadSettings() {
  if (!cache.settings) {
    const stored = (await ext.storage.local.get(K_SETTINGS))[K_SETTINGS];
    cache.settings = core.validateSettings(stored ?? undefined);
  }
  return cache.settings;
}

const labelOf = (entry) => entry?.label || entry?.config?.kind || entry?.id || '';

const fromFrame = (sender) => fromRescueFrame(ext, sender);

function cleanTranscript(transcript) {
  if (!Array.isArray(transcript)) return [];
  return transcript
    .slice(-MAX_TRANSCRIPT)
    .filter((m) => m && typeof m.content === 'string' && (m.role === 'user' || m.role === 'assistant'))
    .map((m) => ({ role: m.role, content: m.content }));
}

/**
 * What the tab's page shows: {transcript, conversation_id} from its content script (context only),
 * or empty when it does not answer in time.
 */
async function pageContext(tabId) {
  const none = { transcript: [], conversation_id: null };
  if (!Number.isInteger(tabId) || tabId < 0) return none;
  try {
    const reply = await Promise.race([
      ext.tabs.sendMessage(tabId, { type: 'rescue.transcript' }, { frameId: 0 }),
      new Promise((resolve) => setTimeout(resolve, CONTEXT_WAIT_MS, null)),
    ]);
    return { transcript: cleanTranscript(reply?.transcript), conversation_id: idOrNull(reply?.conversation_id) };
  } catch {
    return none;
  }
}

/** The detection this worker holds in force for the tab, and the prompt recorded with it. */
async function tabFailure(tabId) {
  const key = `detect.tab.${tabId}`;
  const entry = Number.isInteger(tabId) ? (await ext.storage.session.get(key))[key] ?? null : null;
  const prompt = typeof entry?.failed_prompt === 'string' && entry.failed_prompt.trim() ? entry.failed_prompt : null;
  return { kind: typeof entry?.current?.kind === 'string' ? entry.current.kind : 'unknown_error', prompt, conversation_id: idOrNull(entry?.conversation_id) };
}

/** The rescue plan: the core's carried-over conversation, with the prompt this worker recorded. */
async function planFor(tabId, context) {
  const failure = await tabFailure(tabId);
  return { plan: core.rescuePlan(context.transcript, failure.prompt, failure.kind), failure };
}

// ---- auto mode's bound (src/autoguard.rs) ---------------------------------------------------------

let guardChain = Promise.resolve(); // one decision at a time: a start reads and writes the state

/**
 * Whether auto mode may act now on the failure of kind `kind` (the content script's word) in the
 * sender's tab, as the worker's own detection state says; with `start`, records the automatic
 * rescue when allowed. Answers {allowed, words?, current, prompt}: the detection in force and the
 * failed prompt recorded with it.
 */
function autoGuard(sender, kind, start) {
  const run = async () => {
    const tabId = sender?.tab?.id;
    if (!Number.isInteger(tabId) || tabId < 0) return { allowed: false, words: t('worker_auto_only_tab') };
    const key = `detect.tab.${tabId}`;
    const [got, stored] = await Promise.all([ext.storage.session.get([key, K_GUARD]), ext.storage.local.get(K_SETTINGS)]);
    if (stored[K_SETTINGS]?.paused === true) return { allowed: false, words: t('worker_auto_paused') };
    const entry = got[key] ?? null;
    const current = entry?.current ?? null;
    if (!current || !core.autoModeRedirects(JSON.stringify(stored[K_SETTINGS] ?? {}), String(current.kind ?? ''))) {
      return { allowed: false, words: t('worker_auto_off') };
    }
    const prompt = typeof entry.failed_prompt === 'string' && entry.failed_prompt.trim() ? entry.failed_prompt : null;
    if (!prompt) return { allowed: false, words: t('worker_auto_no_prompt') };
    // The frame claims nothing: the kind is the one in force (a claim, when given, must match it).
    const claimed = typeof kind === 'string' ? kind : String(current.kind ?? '');
    let verdict;
    try {
      verdict = (start ? core.autoGuardStart : core.autoGuardCheck)(got[K_GUARD] ?? undefined, tabId, claimed, current, Date.now());
    } catch {
      // An unreadable state (it is written only here): refuse now, start afresh next time.
      await ext.storage.session.remove(K_GUARD);
      return { allowed: false, words: t('worker_auto_unreadable') };
    }
    if (!verdict.allowed) return { allowed: false, words: refusalWords(verdict) };
    if (start) await ext.storage.session.set({ [K_GUARD]: verdict.state });
    return { allowed: true, current, prompt, conversation_id: entry.conversation_id ?? null };
  };
  const next = guardChain.then(run, run);
  guardChain = next.catch(() => {});
  return next;
}

function record(entry) {
  ext.storage.session.get(K_TIMELINE).then(async (got) => {
    const next = (got[K_TIMELINE] ?? []).concat({ ...entry, at: Date.now() });
    await ext.storage.session.set({ [K_TIMELINE]: next.slice(-TIMELINE_MAX) });
  }).catch(() => {});
}

// ---- one rescue, run by the providers' engine (keys stay there) ---------------------------------

/** Why a provider did not answer, in a few words, from a router decision's outcome (or null). */
function failureWords(outcome) {
  switch (outcome?.kind) {
    case 'failed': return classWords(outcome.class) ?? t('worker_why_failed');
    case 'timeout': return outcome.reason === 'stalled' ? t('worker_why_stalled') : t('worker_why_no_answer_in_time');
    case 'skipped': return skipWords(outcome.reason?.kind);
    default: return null;
  }
}

class Rescue {
  constructor(port, message) {
    this.port = port;
    this.id = message.id ?? null;
    this.message = message;
    this.provider = null;
    this.startedAt = Date.now();
    this.firstTokenMs = null;
    this.ended = false;
    this.ask = null;
    this.stopped = false;
    this.auto = message.auto === true;
  }

  post(message) {
    try {
      this.port?.postMessage({ ...message, id: this.id });
    } catch {
      this.port = null;
    }
  }

  async start() {
    await ready;
    const pausedNow = paused().catch(() => false); // read beside the plan: no wait added to a click
    let auto = null;
    if (this.auto) {
      // An automatic rescue: bounded, recorded, and carrying only what this worker checked.
      auto = await autoGuard(this.port?.sender, null, true);
      if (!auto.allowed) return this.finish({ type: 'error', message: t('worker_auto_refused', auto.words) });
    }
    const tabId = this.port?.sender?.tab?.id;
    const context = await pageContext(tabId);
    let plan;
    try {
      if (auto) {
        this.kind = auto.current.kind;
        plan = core.rescuePlan(context.transcript, auto.prompt, auto.current.kind);
      } else {
        let failure;
        ({ plan, failure } = await planFor(tabId, context));
        this.kind = failure.kind;
      }
    } catch (error) {
      return this.finish({ type: 'error', message: t('worker_cannot_carry', error?.message ?? error) });
    }
    if (await pausedNow) return this.finish({ type: 'error', message: PAUSED() });
    if (this.stopped) return this.finish({ type: 'done', provider: null, label: '', outcome: 'cancelled' });
    const labels = new Map();
    const why = new Map(); // provider -> why it did not answer, in words (from the router's decisions)
    // The engine's messages, translated for the frame (which names providers by label): each
    // provider asked in turn, and why the one before did not answer.
    const sink = {
      postMessage: (m) => {
        if (m.type === 'attempt') {
          labels.set(m.provider, m.label);
          if (this.provider !== m.provider) {
            const before = this.provider;
            this.provider = m.provider;
            // The engine posts the decisions of the step that led here right after this attempt:
            // say why the one before did not answer once they are in.
            queueMicrotask(() => {
              const after = before ? { provider: before, label: labels.get(before) ?? before, reason: why.get(before) ?? t('worker_why_no_answer') } : null;
              this.post({ type: 'start', provider: m.provider, label: m.label, dropped: plan.dropped, after });
            });
          }
        } else if (m.type === 'decision') {
          const words = failureWords(m.outcome);
          if (words && m.provider) why.set(m.provider, words);
        } else if (m.type === 'delta') {
          if (this.firstTokenMs === null) this.firstTokenMs = Date.now() - this.startedAt;
          this.post({ type: 'delta', provider: m.provider, label: labels.get(m.provider) ?? m.provider, text: m.text });
        } else if (m.type === 'done') {
          this.finish({ type: 'done', provider: m.provider, label: labels.get(m.provider) ?? m.provider ?? '', outcome: m.outcome });
        } else if (m.type === 'error') {
          this.finish({ type: 'error', message: m.message });
        } else if (m.type === 'saved') {
          this.post(m.error ? { type: 'saved', error: m.error } : { type: 'saved', conversation_id: m.conversation_id, node: m.node });
        }
      },
    };
    // The answer is kept in the cached conversation (not for temporary chats): the one this tab's
    // latest turn belongs to, as decoded from the page's stream, else the one the page shows.
    // An automatic rescue takes only the worker's own ids (decoded turn, detection state).
    // On another site: the conversation its streams or its address name, as the cache keys it
    // (`<site>:<id>`; a `/c/<id>` there, Grok's, is not ChatGPT's).
    const tabUrl = this.port?.sender?.tab?.url ?? '';
    const site = core.detectSite(tabUrl);
    const latest = latestTurn(tabId);
    const branch = isTemporary(tabUrl) ? null : site && site !== 'chatgpt' ? {
      conversation_id: latestSiteConversation(tabId) ?? core.captureShownKey(tabUrl) ?? null,
      prompt_id: null,
    } : {
      conversation_id: idOrNull(latest?.conversation_id) ?? (auto ? idOrNull(auto.conversation_id) : null) ?? context.conversation_id,
      prompt_id: idOrNull(latest?.prompt_id),
    };
    const prefer = !auto && typeof this.message.provider === 'string' ? this.message.provider : null;
    this.ask = startAsk(sink, { conversation: plan.conversation, prompt: plan.prompt }, { prefer, persist: false, branch });
  }

  stop() {
    this.stopped = true;
    this.ask?.stop();
  }

  finish(message) {
    if (this.ended) return;
    this.ended = true;
    this.post(message);
    record({
      tab: this.port?.sender?.tab?.id ?? null, kind: this.kind ?? null, provider: this.provider,
      outcome: message.type === 'error' ? 'error' : message.outcome, first_token_ms: this.firstTokenMs,
      ...(this.auto ? { auto: true } : {}),
    });
  }
}

// ---- listeners (registered synchronously) ---------------------------------------------------------

ext.runtime.onConnect.addListener((port) => {
  if (port.name !== RESCUE_PORT) return;
  if (!fromFrame(port.sender)) {
    port.disconnect();
    return;
  }
  let rescue = null;
  port.onMessage.addListener((message) => {
    if (!message || typeof message !== 'object') return;
    if (message.type === 'ask') {
      rescue?.stop();
      rescue = new Rescue(port, message);
      const mine = rescue;
      mine.start().catch((error) => mine.finish({ type: 'error', message: t('worker_failed', error?.message ?? error) }));
    } else if (message.type === 'stop' && (message.id === undefined || message.id === rescue?.id)) {
      rescue?.stop();
    }
  });
  port.onDisconnect.addListener(() => {
    if (rescue) {
      rescue.port = null;
      rescue.stop();
    }
  });
});

async function builtInReady() {
  try {
    return typeof globalThis.LanguageModel?.availability === 'function' && (await globalThis.LanguageModel.availability()) === 'available';
  } catch {
    return false;
  }
}

// sidePanel.open() must run while the click's user gesture lasts, i.e. synchronously in the
// message listener (onMessages awaits the Wasm core first, which ends the gesture). This raw
// listener opens the panel at once and leaves the answer to the onMessages handler below, which
// waits for the outcome kept here.
const opening = new Map(); // tab id -> the open() promise
ext.runtime.onMessage.addListener((message, sender) => {
  if (message?.type !== 'rescue.sidePanel' && message?.type !== 'rescue.continue') return false;
  const tabId = sender?.tab?.id;
  if (tabId === undefined) return false;
  const ours = message.type === 'rescue.sidePanel' ? fromFrame(sender) : (sender.url ?? '').startsWith(ext.runtime.getURL(''));
  if (!ours || sender.id !== ext.runtime.id) return false;
  const given = message.conversation_id ?? message.id;
  const id = typeof given === 'string' ? given.slice(0, 120) : '';
  const path = message.type === 'rescue.continue' ? `www/sidepanel.html?c=${encodeURIComponent(id)}` : 'www/sidepanel.html?from=rescue';
  let open;
  try {
    if (message.opened === true && hasSidebar) {
      open = Promise.resolve(); // Firefox: the page clicked opened the sidebar in its click handler
    } else if (hasSidebar && message.type === 'rescue.sidePanel') {
      // Firefox gives the rescue frame (an extension page inside a web page) no sidebarAction, and a
      // message does not carry the click: the panel opens in a tab next to the chat, once the
      // handover is stored.
      const index = sender.tab.index + 1;
      open = () => ext.tabs.create({ url: ext.runtime.getURL(path), index, openerTabId: tabId });
    } else if (ext.sidePanel) {
      ext.sidePanel.setOptions({ tabId, path, enabled: true }).catch(() => {});
      open = ext.sidePanel.open({ tabId });
    } else if (ext.sidebarAction) {
      open = ext.sidebarAction.open(); // Firefox's sidebar
    } else {
      open = Promise.reject(new Error(t('worker_no_side_panel')));
    }
  } catch (error) {
    open = Promise.reject(error);
  }
  open.catch?.(() => {});
  opening.set(tabId, open);
  return false; // answered by the onMessages handler
});

async function openedPanel(tabId) {
  const open = opening.get(tabId);
  opening.delete(tabId);
  if (!open) throw new Error(t('worker_panel_needs_click'));
  await (typeof open === 'function' ? open() : open);
}

/** The handoff id (`rescueHandoffSites`) of the chat site of the sender's tab, or null. */
function ownHandoffSite(sender) {
  let site = null;
  try {
    site = core.detectSite(sender.tab?.url ?? '') ?? null;
  } catch {
    site = null;
  }
  return site === 'mistral' ? 'le_chat' : site;
}

onMessages(ext, ['rescue.frame', 'rescue.handoff', 'rescue.openCache', 'rescue.sidePanel'], async (message, sender) => {
  const tabId = sender.tab?.id;
  switch (message.type) {
    case 'rescue.frame': {
      const settings = await loadSettings();
      let availability = {};
      try {
        const router = new core.Router(settings, 0, await loadHealth());
        availability = router.availability(Date.now());
        router.free();
      } catch {}
      // Chrome's on-device model is offered only where this browser has it ready: a user without
      // keys then sees the web handoff first instead of a button that cannot answer.
      const builtIn = await builtInReady();
      const providers = settings.providers
        .filter((p) => p.enabled && (p.config.kind !== 'chrome_built_in' || builtIn))
        .map((p) => ({ id: p.id, label: labelOf(p), available: (availability[p.id]?.kind ?? 'available') === 'available' }));
      // Auto mode is a preference of the settings document (off by default; never on `blocked` or
      // `refused`, never while paused), bounded by the core (autoGuard); this only looks: the ask
      // itself is checked again and recorded.
      const [failure, auto] = await Promise.all([tabFailure(tabId), autoGuard(sender, null, false)]);
      // "Ask elsewhere" never offers the site that is failing in this tab.
      const own = ownHandoffSite(sender);
      const sites = core.rescueHandoffSites().filter((s) => s.id !== own);
      return { kind: failure.kind, providers, sites, auto: auto.allowed === true };
    }
    case 'rescue.handoff': {
      if (await paused()) throw new Error(PAUSED());
      const { plan, failure } = await planFor(tabId, await pageContext(tabId));
      const handoff = core.rescueHandoff(String(message.site ?? ''), plan);
      await ext.tabs.create({ url: handoff.url, index: sender.tab.index + 1, openerTabId: tabId });
      record({ tab: tabId, kind: failure.kind, provider: `web:${handoff.site}`, outcome: handoff.clipboard ? 'clipboard' : 'url', first_token_ms: null });
      return { label: handoff.label, url: handoff.url, clipboard: handoff.clipboard };
    }
    case 'rescue.openCache': {
      const id = (await pageContext(tabId)).conversation_id ?? (await tabFailure(tabId)).conversation_id ?? '';
      const url = ext.runtime.getURL(`www/library.html${id ? `?c=${encodeURIComponent(id)}` : ''}`);
      await ext.tabs.create({ url, index: sender.tab.index + 1 });
      return { url };
    }
    case 'rescue.sidePanel': {
      const [context, failure] = await Promise.all([pageContext(tabId), tabFailure(tabId)]);
      const panel = {
        conversation: context.transcript,
        prompt: failure.prompt ?? '',
        text: typeof message.text === 'string' ? message.text : '',
        provider: typeof message.provider === 'string' ? message.provider : null,
        conversation_id: null,
        // Where the answer was kept: follow-ups in the panel extend that branch.
        branch: idOrNull(message.branch?.conversation_id) ? { conversation_id: message.branch.conversation_id, parent: idOrNull(message.branch.node) } : null,
        at: Date.now(),
      };
      await ext.storage.session.set({ [K_PANEL]: panel });
      await openedPanel(tabId);
      return { opened: true };
    }
    default:
      throw new Error('unknown rescue message');
  }
});

// From the library page: continue a cached conversation in the side panel of the current tab.
onMessages(ext, ['rescue.continue'], async (message, sender) => {
  if (sender?.id !== ext.runtime.id || !(sender.url ?? '').startsWith(ext.runtime.getURL(''))) throw new Error('extension pages only');
  const given = message.conversation_id ?? message.id;
  const id = typeof given === 'string' ? given.slice(0, 120) : '';
  if (!id) throw new Error('rescue.continue needs a conversation id');
  await ext.storage.session.set({ [K_PANEL]: { conversation: [], prompt: '', text: '', provider: null, conversation_id: id, at: Date.now() } });
  await openedPanel(sender.tab?.id);
  return { opened: true, conversation_id: id };
});
