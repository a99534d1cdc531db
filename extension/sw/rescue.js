// Service-worker side of the rescue: carries a failed ChatGPT prompt, with the conversation as
// context, to an alternative provider and streams the answer back into the page's notice.
//
// The content script holds no key and cannot drive a provider itself (the `understudy-ask` port
// refuses content scripts). It connects a port named `understudy-rescue`; this module checks that
// the sender is our own content script on a chat site, builds the carried-over conversation with
// the Wasm core (rescuePlan: the page's transcript + the prompt the page sent), and runs the
// providers' router with the chosen provider first. Keys are read here and never leave the worker.
//
// Port protocol (content script → worker; one ask at a time per port, a new ask stops the last):
//   {type:'ask', id, provider?, kind, transcript:[{role, content}], prompt?, conversation_id?, prompt_id?}
//      conversation_id: the cached conversation the page shows; prompt_id: the failed prompt's id.
//      The answer is kept as a branch (see providers.js `saved`) of the tab's latest turn as this
//      worker decoded it from the page's stream (sw/capture.js `latestTurn`), else of these.
//   {type:'stop', id}
// worker → content script (every message carries the ask's id):
//   {type:'start', provider, label, dropped}    the provider tried first and turns left out
//   {type:'delta', provider, label, text}
//   {type:'done', provider, label, outcome: 'complete'|'length'|'cancelled'}
//   {type:'error', message}
//   {type:'saved', conversation_id, node} | {type:'saved', error}   the answer is in the cache
// While Understudy is paused (settings `paused`), asks, auto mode and handoffs are refused.
// One-shot messages (runtime.sendMessage):
//   rescue.providers {}                 -> {providers:[{id, label, available}], sites:[{id, label}]} (no key)
//   rescue.auto {kind}                  -> whether auto mode redirects on this kind
//   rescue.handoff {site, kind, transcript, prompt?} -> {label, url, clipboard}; opens the site in a new tab
//   rescue.openCache {conversation_id?} -> opens the library page (www/library.html?c=<id>)
//   rescue.sidePanel {conversation, prompt, text, provider, branch?: {conversation_id, node}} -> opens the side panel on this tab
//   rescue.continue {conversation_id}   (from the library page) -> opens the side panel on that conversation
// Storage:
//   local `settings`             the settings document; its `auto_mode` decides auto mode per kind.
//   session `rescue.panel`       the conversation handed to the side panel {conversation, prompt,
//       text, provider, conversation_id, branch, at}.
//   session `rescue.timeline`    the last rescues [{tab, kind, provider, outcome, first_token_ms, at}].
//   session `providers.health`   shared with the providers module (circuit breakers).
import { ext } from '../api.js';
import { core, onMessages, ready } from './core.js';
import { latestTurn } from './capture.js';
import { startAsk } from './providers.js';

export const RESCUE_PORT = 'understudy-rescue';
const K_SETTINGS = 'settings';
const K_PANEL = 'rescue.panel';
const K_TIMELINE = 'rescue.timeline';
const TIMELINE_MAX = 50;
const MAX_TRANSCRIPT = 2_000;
const CHAT_ORIGINS = ['https://chatgpt.com/', 'https://chat.openai.com/'];

// Read-through caches for this worker's life (storage stays the truth; cleared on change).
const cache = { settings: null };
ext.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && changes[K_SETTINGS]) cache.settings = null;
});

/** Whether the user paused Understudy (the settings document's `paused`). */
async function paused() {
  return (await ext.storage.local.get(K_SETTINGS))[K_SETTINGS]?.paused === true;
}

const PAUSED = 'Understudy is paused: turn it back on in its toolbar popup.';
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

function fromChatPage(sender) {
  const url = sender?.url ?? '';
  return sender?.id === ext.runtime.id && sender.tab && CHAT_ORIGINS.some((o) => url.startsWith(o));
}

function cleanTranscript(transcript) {
  if (!Array.isArray(transcript)) return [];
  return transcript
    .slice(-MAX_TRANSCRIPT)
    .filter((m) => m && typeof m.content === 'string' && (m.role === 'user' || m.role === 'assistant'))
    .map((m) => ({ role: m.role, content: m.content }));
}

/** The rescue plan: the core's carried-over conversation; the prompt the page sent is preferred. */
async function planFor(message, tabId) {
  let prompt = typeof message.prompt === 'string' && message.prompt.trim() ? message.prompt : null;
  if (!prompt && tabId !== undefined) {
    const key = `detect.tab.${tabId}`;
    prompt = (await ext.storage.session.get(key))[key]?.failed_prompt ?? null;
  }
  const kind = typeof message.kind === 'string' ? message.kind : 'unknown_error';
  return core.rescuePlan(cleanTranscript(message.transcript), prompt, kind);
}

function record(entry) {
  ext.storage.session.get(K_TIMELINE).then(async (got) => {
    const next = (got[K_TIMELINE] ?? []).concat({ ...entry, at: Date.now() });
    await ext.storage.session.set({ [K_TIMELINE]: next.slice(-TIMELINE_MAX) });
  }).catch(() => {});
}

// ---- one rescue, run by the providers' engine (keys stay there) ---------------------------------

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
    let plan;
    try {
      plan = await planFor(this.message, this.port.sender?.tab?.id);
    } catch (error) {
      return this.finish({ type: 'error', message: `Understudy cannot carry this over: ${error?.message ?? error}.` });
    }
    if (await pausedNow) return this.finish({ type: 'error', message: PAUSED });
    if (this.stopped) return this.finish({ type: 'done', provider: null, label: '', outcome: 'cancelled' });
    const labels = new Map();
    // The engine's messages, translated for the notice (which names providers by label).
    const sink = {
      postMessage: (m) => {
        if (m.type === 'attempt') {
          labels.set(m.provider, m.label);
          if (this.provider !== m.provider) {
            this.provider = m.provider;
            this.post({ type: 'start', provider: m.provider, label: m.label, dropped: plan.dropped });
          }
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
    const latest = latestTurn(this.port?.sender?.tab?.id);
    const branch = isTemporary(this.port?.sender?.tab?.url ?? this.port?.sender?.url ?? '') ? null : {
      conversation_id: idOrNull(latest?.conversation_id) ?? idOrNull(this.message.conversation_id),
      prompt_id: idOrNull(latest?.prompt_id) ?? idOrNull(this.message.prompt_id),
    };
    this.ask = startAsk(sink, { conversation: plan.conversation, prompt: plan.prompt }, { prefer: this.message.provider, persist: false, branch });
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
      tab: this.port?.sender?.tab?.id ?? null, kind: this.message.kind ?? null, provider: this.provider,
      outcome: message.type === 'error' ? 'error' : message.outcome, first_token_ms: this.firstTokenMs,
    });
  }
}

// ---- listeners (registered synchronously) ---------------------------------------------------------

ext.runtime.onConnect.addListener((port) => {
  if (port.name !== RESCUE_PORT) return;
  if (!fromChatPage(port.sender)) {
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
      mine.start().catch((error) => mine.finish({ type: 'error', message: `Understudy failed: ${error?.message ?? error}` }));
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
  const ours = message.type === 'rescue.sidePanel' ? fromChatPage(sender) : (sender.url ?? '').startsWith(ext.runtime.getURL(''));
  if (!ours || sender.id !== ext.runtime.id) return false;
  const given = message.conversation_id ?? message.id;
  const id = typeof given === 'string' ? given.slice(0, 120) : '';
  const path = message.type === 'rescue.continue' ? `www/sidepanel.html?c=${encodeURIComponent(id)}` : 'www/sidepanel.html?from=rescue';
  let open;
  try {
    if (ext.sidePanel) {
      ext.sidePanel.setOptions({ tabId, path, enabled: true }).catch(() => {});
      open = ext.sidePanel.open({ tabId });
    } else if (ext.sidebarAction) {
      open = ext.sidebarAction.open(); // Firefox's sidebar
    } else {
      open = Promise.reject(new Error('this browser has no side panel'));
    }
  } catch (error) {
    open = Promise.reject(error);
  }
  open.catch(() => {});
  opening.set(tabId, open);
  return false; // answered by the onMessages handler
});

async function openedPanel(tabId) {
  const open = opening.get(tabId);
  opening.delete(tabId);
  if (!open) throw new Error('the side panel opens only from a click');
  await open;
}

onMessages(ext, ['rescue.providers', 'rescue.auto', 'rescue.handoff', 'rescue.openCache', 'rescue.sidePanel'], async (message, sender) => {
  if (!fromChatPage(sender) && !(sender?.id === ext.runtime.id && (sender.url ?? '').startsWith(ext.runtime.getURL('')))) {
    throw new Error('the rescue answers only Understudy on a chat site');
  }
  switch (message.type) {
    case 'rescue.providers': {
      const settings = await loadSettings();
      let availability = {};
      try {
        const router = new core.Router(settings, 0, await health());
        availability = router.availability(Date.now());
        router.free();
      } catch {}
      // Chrome's on-device model is offered only where this browser has it ready: a user without
      // keys then sees the web handoff first instead of a button that cannot answer.
      const builtIn = await builtInReady();
      const providers = settings.providers
        .filter((p) => p.enabled && (p.config.kind !== 'chrome_built_in' || builtIn))
        .map((p) => ({ id: p.id, label: labelOf(p), available: (availability[p.id]?.kind ?? 'available') === 'available' }));
      return { providers, sites: core.rescueHandoffSites() };
    }
    case 'rescue.auto':
      // Auto mode is a preference of the settings document (off by default); never on `blocked`,
      // never while paused.
      if (await paused()) return false;
      return core.autoModeRedirects(JSON.stringify((await ext.storage.local.get(K_SETTINGS))[K_SETTINGS] ?? {}), String(message.kind ?? ''));
    case 'rescue.handoff': {
      if (await paused()) throw new Error(PAUSED);
      const plan = await planFor(message, sender.tab?.id);
      const handoff = core.rescueHandoff(String(message.site ?? ''), plan);
      await ext.tabs.create({ url: handoff.url, index: sender.tab ? sender.tab.index + 1 : undefined, openerTabId: sender.tab?.id });
      record({ tab: sender.tab?.id ?? null, kind: message.kind ?? null, provider: `web:${handoff.site}`, outcome: handoff.clipboard ? 'clipboard' : 'url', first_token_ms: null });
      return { label: handoff.label, url: handoff.url, clipboard: handoff.clipboard };
    }
    case 'rescue.openCache': {
      const id = typeof message.conversation_id === 'string' ? message.conversation_id.slice(0, 120) : '';
      const url = ext.runtime.getURL(`www/library.html${id ? `?c=${encodeURIComponent(id)}` : ''}`);
      await ext.tabs.create({ url, index: sender.tab ? sender.tab.index + 1 : undefined });
      return { url };
    }
    case 'rescue.sidePanel': {
      const panel = {
        conversation: cleanTranscript(message.conversation),
        prompt: typeof message.prompt === 'string' ? message.prompt : '',
        text: typeof message.text === 'string' ? message.text : '',
        provider: typeof message.provider === 'string' ? message.provider : null,
        conversation_id: null,
        // Where the answer was kept: follow-ups in the panel extend that branch.
        branch: idOrNull(message.branch?.conversation_id) ? { conversation_id: message.branch.conversation_id, parent: idOrNull(message.branch.node) } : null,
        at: Date.now(),
      };
      await ext.storage.session.set({ [K_PANEL]: panel });
      await openedPanel(sender.tab?.id);
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
