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
//   {type:'ask', id, provider?, kind, transcript:[{role, content}], prompt?}
//   {type:'stop', id}
// worker → content script (every message carries the ask's id):
//   {type:'start', provider, label, dropped}    the provider tried first and turns left out
//   {type:'delta', provider, label, text}
//   {type:'done', provider, label, outcome: 'complete'|'length'|'cancelled'}
//   {type:'error', message}
// One-shot messages (runtime.sendMessage):
//   rescue.providers {}                 -> {providers:[{id, label, available}], sites:[{id, label}]} (no key)
//   rescue.auto {kind}                  -> whether auto mode redirects on this kind
//   rescue.handoff {site, kind, transcript, prompt?} -> {label, url, clipboard}; opens the site in a new tab
//   rescue.openCache {conversation_id?} -> opens the library page (www/library.html?c=<id>)
//   rescue.sidePanel {conversation, prompt, text, provider} -> opens the side panel on this tab
//   rescue.continue {id}                (from the library page) -> opens the side panel on that conversation
// Storage:
//   local `understudy.auto_mode`  {"service_down": true, "capacity": true, ...}: auto mode per failure
//       kind, off when absent (read from `settings.auto_mode` instead once the settings format has it).
//   session `rescue.panel`       the conversation handed to the side panel {conversation, prompt,
//       text, provider, conversation_id, at}.
//   session `rescue.timeline`    the last rescues [{tab, kind, provider, outcome, first_token_ms, at}].
//   session `providers.health`   shared with the providers module (circuit breakers).
import { ext } from '../api.js';
import { core, onMessages, ready } from './core.js';

export const RESCUE_PORT = 'understudy-rescue';
const K_SETTINGS = 'settings';
const K_HEALTH = 'providers.health';
const K_AUTO = 'understudy.auto_mode';
const K_PANEL = 'rescue.panel';
const K_TIMELINE = 'rescue.timeline';
const TIMELINE_MAX = 50;
const MAX_TRANSCRIPT = 2_000;
const ERROR_BODY_MAX = 64 * 1024;
const CHAT_ORIGINS = ['https://chatgpt.com/', 'https://chat.openai.com/'];

// Read-through caches for this worker's life (storage stays the truth; cleared on change).
const cache = { settings: null, auto: undefined };
ext.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && changes[K_SETTINGS]) cache.settings = null;
  if (area === 'local' && changes[K_AUTO]) cache.auto = undefined;
});

async function loadSettings() {
  if (!cache.settings) {
    const stored = (await ext.storage.local.get(K_SETTINGS))[K_SETTINGS];
    cache.settings = core.validateSettings(stored ?? undefined);
  }
  return cache.settings;
}

const health = async () => (await ext.storage.session.get(K_HEALTH))[K_HEALTH] ?? '';
const labelOf = (entry) => entry?.label || entry?.config?.kind || entry?.id || '';

/** Settings with `first` moved to the front of the chain (the user picked it). */
function preferring(settings, first) {
  if (!first || !settings.providers.some((p) => p.id === first && p.enabled)) return settings;
  const providers = [...settings.providers.filter((p) => p.id === first), ...settings.providers.filter((p) => p.id !== first)];
  const chain = settings.router?.chain?.length ? [first, ...settings.router.chain.filter((id) => id !== first)] : settings.router?.chain;
  return { ...settings, providers, router: { ...settings.router, chain } };
}

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

// ---- one HTTP attempt (keys are used here and nowhere else) -------------------------------------

async function attempt({ entry, messages, continueFrom, maxOutputTokens, signal, onFirstByte, onText }) {
  const kind = entry.config.kind;
  if (kind === 'chrome_built_in') return attemptBuiltIn({ messages, signal, onFirstByte, onText });
  let request;
  try {
    request = core.buildRequest(entry.config, messages, { continue_from: continueFrom || null, max_output_tokens: maxOutputTokens ?? null });
  } catch (error) {
    const message = String(error?.message ?? error);
    return { ok: false, class: /API key/.test(message) ? 'auth' : 'bad_request', detail: message };
  }
  let response;
  try {
    response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body, signal, cache: 'no-store', credentials: 'omit' });
  } catch (error) {
    if (signal.aborted) return { ok: false, class: 'cancelled' };
    return { ok: false, class: 'network', detail: `could not reach ${new URL(request.url).origin}` };
  }
  if (!response.ok) {
    let body = '';
    try {
      body = (await response.text()).slice(0, ERROR_BODY_MAX);
    } catch {
      if (signal.aborted) return { ok: false, class: 'cancelled' };
    }
    const e = core.classifyHttpError(kind, response.status, [...response.headers], body);
    return { ok: false, class: e.class, detail: e.message, retry_after_ms: e.retry_after_ms ?? null };
  }
  onFirstByte();
  const decoder = new core.StreamDecoder(core.streamFormatFor(kind));
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onText(decoder.feed(value));
      if (decoder.isEnded()) {
        reader.cancel().catch(() => {});
        break;
      }
    }
  } catch {
    decoder.free();
    if (signal.aborted) return { ok: false, class: 'cancelled' };
    return { ok: false, class: 'network', detail: 'the connection dropped mid-answer' };
  }
  const end = decoder.finish();
  decoder.free();
  if (end.text) onText(end.text);
  if (end.outcome === 'complete') {
    if (end.finish === 'content_filter') return { ok: false, class: 'content_filter', detail: 'the provider stopped the answer by its content policy' };
    return { ok: true, finish: end.finish };
  }
  if (end.outcome === 'error') return { ok: false, class: end.error.class, detail: end.error.message };
  return { ok: false, class: 'network', detail: 'the stream ended before the answer was complete' };
}

async function attemptBuiltIn({ messages, signal, onFirstByte, onText }) {
  const LM = globalThis.LanguageModel;
  if (!LM || typeof LM.availability !== 'function' || (await LM.availability().catch(() => 'no')) !== 'available') {
    return { ok: false, class: 'not_found', detail: "Chrome's on-device model is not available in this browser" };
  }
  let session;
  try {
    const turns = messages.slice();
    const last = turns.pop();
    session = await LM.create({ initialPrompts: turns, signal });
    let first = true;
    for await (const chunk of session.promptStreaming(last?.content ?? '', { signal })) {
      if (first) onFirstByte();
      first = false;
      onText(String(chunk));
    }
    if (first) onFirstByte();
    return { ok: true, finish: 'stop' };
  } catch (error) {
    if (signal.aborted) return { ok: false, class: 'cancelled' };
    return { ok: false, class: 'server', detail: `Chrome's on-device model failed: ${error?.message ?? error}` };
  } finally {
    try { session?.destroy(); } catch {}
  }
}

// ---- one rescue, driven by the providers' router -------------------------------------------------

class Rescue {
  constructor(port, message) {
    this.port = port;
    this.id = message.id ?? null;
    this.message = message;
    this.text = '';
    this.ended = false;
    this.router = null;
    this.timer = null;
    this.controller = null;
    this.seq = 0;
    this.live = 0;
    this.provider = null;
    this.startedAt = Date.now();
    this.firstTokenMs = null;
    this.keepAlive = null;
  }

  post(message) {
    try {
      this.port?.postMessage({ ...message, id: this.id });
    } catch {
      this.port = null;
    }
  }

  label(id) {
    return labelOf(this.settings?.providers.find((p) => p.id === id)) || id;
  }

  async start() {
    await ready;
    const tabId = this.port.sender?.tab?.id;
    let plan;
    try {
      plan = await planFor(this.message, tabId);
    } catch (error) {
      return this.fail(`Understudy cannot carry this over: ${error?.message ?? error}.`);
    }
    this.plan = plan;
    try {
      this.settings = preferring(await loadSettings(), this.message.provider);
      this.router = new core.Router(this.settings, Math.floor(Math.random() * 2 ** 52), await health());
    } catch (error) {
      return this.fail(`The provider settings are invalid: ${error?.message ?? error}. Fix them in the options page.`);
    }
    this.keepAlive = setInterval(() => ext.runtime.getPlatformInfo?.().catch?.(() => {}), 20_000);
    this.perform(this.router.start(Date.now()));
  }

  perform(action) {
    if (this.ended || !action) return;
    switch (action.action) {
      case 'fetch':
        this.arm(action.timer_at_ms);
        this.launch(action.fetch);
        break;
      case 'wait_until':
      case 'set_timer':
        this.arm(action.at_ms);
        break;
      case 'abort':
        this.abort();
        this.perform(action.then);
        return;
      case 'finished':
        this.finish({ type: 'done', provider: action.provider, label: this.label(action.provider), outcome: this.finishReason === 'length' ? 'length' : 'complete' });
        break;
      case 'gave_up':
        this.fail(giveUpWords(action, (id) => this.label(id)));
        break;
      case 'cancelled':
        this.finish({ type: 'done', provider: this.provider, label: this.label(this.provider), outcome: 'cancelled' });
        break;
      default:
        break;
    }
    if (action.action !== 'continue') this.saveHealth();
  }

  saveHealth() {
    try {
      const json = this.router.saveHealth();
      ext.storage.session.set({ [K_HEALTH]: json }).catch(() => {});
    } catch {}
  }

  arm(at) {
    clearTimeout(this.timer);
    if (typeof at === 'number') this.timer = setTimeout(() => this.event((now) => this.router.tick(now)), Math.max(0, at - Date.now()));
  }

  event(fn) {
    if (this.ended) return;
    let action;
    try {
      action = fn(Date.now());
    } catch {
      return; // a late event the route no longer expects
    }
    this.perform(action);
  }

  abort() {
    this.live = 0;
    const c = this.controller;
    this.controller = null;
    c?.abort();
  }

  launch(spec) {
    this.abort();
    const seq = ++this.seq;
    this.live = seq;
    const live = () => this.live === seq && !this.ended;
    const entry = this.settings.providers.find((p) => p.id === spec.provider);
    if (!entry) {
      queueMicrotask(() => live() && this.event((now) => this.router.failed(now, { class: 'not_found', detail: 'this provider is not configured' })));
      return;
    }
    if (this.provider !== spec.provider) {
      this.provider = spec.provider;
      this.post({ type: 'start', provider: spec.provider, label: this.label(spec.provider), dropped: this.plan.dropped });
    }
    const controller = new AbortController();
    this.controller = controller;
    const messages = [...this.plan.conversation, { role: 'user', content: this.plan.prompt }];
    attempt({
      entry,
      messages,
      continueFrom: spec.continue_partial || this.text ? this.text : null,
      maxOutputTokens: this.settings.max_output_tokens,
      signal: controller.signal,
      onFirstByte: () => live() && this.event((now) => this.router.firstByte(now)),
      onText: (text) => {
        if (!live()) return;
        if (text) {
          if (this.firstTokenMs === null) this.firstTokenMs = Date.now() - this.startedAt;
          this.text += text;
          this.post({ type: 'delta', provider: spec.provider, label: this.label(spec.provider), text });
        }
        let action;
        try {
          action = this.router.chunk(Date.now(), text.length);
        } catch {
          return;
        }
        if (action !== undefined) this.perform(action);
      },
    }).then(
      (result) => {
        if (!live()) return;
        this.controller = null;
        if (result.ok) {
          this.finishReason = result.finish;
          this.event((now) => this.router.completed(now));
        } else {
          const failure = { class: result.class, partial_text_len: this.text.length, detail: result.detail ?? null, retry_after_ms: result.retry_after_ms ?? null };
          this.event((now) => this.router.failed(now, failure));
        }
      },
      (error) => live() && this.event((now) => this.router.failed(now, { class: 'network', partial_text_len: this.text.length, detail: String(error?.message ?? error) })),
    );
  }

  stop() {
    if (this.ended) return;
    if (!this.router) {
      this.ended = true;
      return;
    }
    this.event((now) => this.router.cancel(now));
  }

  fail(message) {
    this.finish({ type: 'error', message });
  }

  finish(message) {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    clearInterval(this.keepAlive);
    this.abort();
    this.post(message);
    try { this.router?.free(); } catch {}
    this.router = null;
    record({
      tab: this.port?.sender?.tab?.id ?? null, kind: this.message.kind ?? null, provider: this.provider,
      outcome: message.type === 'error' ? 'error' : message.outcome, first_token_ms: this.firstTokenMs,
    });
  }
}

function giveUpWords(action, label) {
  if (action.reason === 'empty_chain') return 'No alternative provider is enabled. Add one (an API key, or a local Ollama) in the options page, or ask another chat site.';
  if (!action.providers?.length) return String(action.message ?? 'No provider could answer.');
  const lines = action.providers.map((p) => `${label(p.provider)}: ${p.message}`);
  return `No provider could answer. ${lines.join(' · ')}`;
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
      mine.start().catch((error) => mine.fail(`Understudy failed: ${error?.message ?? error}`));
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

async function autoSwitches() {
  if (cache.auto === undefined) {
    const settings = (await ext.storage.local.get(K_SETTINGS))[K_SETTINGS];
    const fromSettings = settings && typeof settings.auto_mode === 'object' ? settings.auto_mode : null;
    const stored = fromSettings ?? (await ext.storage.local.get(K_AUTO))[K_AUTO] ?? null;
    cache.auto = stored ? JSON.stringify(stored) : '';
  }
  return cache.auto;
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
  const id = typeof message.id === 'string' ? message.id.slice(0, 120) : '';
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
      return core.rescueAutoRedirects(await autoSwitches(), String(message.kind ?? 'unknown_error'));
    case 'rescue.handoff': {
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
  const id = typeof message.id === 'string' ? message.id.slice(0, 120) : '';
  if (!id) throw new Error('rescue.continue needs a conversation id');
  await ext.storage.session.set({ [K_PANEL]: { conversation: [], prompt: '', text: '', provider: null, conversation_id: id, at: Date.now() } });
  await openedPanel(sender.tab?.id);
  return { opened: true, conversation_id: id };
});
