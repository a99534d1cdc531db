// Service-worker side of the providers feature: the streaming engine driven by the Wasm router.
//
// Port protocol (chrome.runtime.connect({name: 'understudy-ask'}); one port may carry many asks,
// one at a time: a new ask stops the previous one). `id` is the page's id for an ask, optional,
// echoed in every message about it.
//   page → worker  {type:'ask', id?, conversation:[{role, content}], prompt, partial?,
//                   branch?: {conversation_id, parent?}}   keep the answer in that cached conversation
//                  {type:'stop', id?}       cancel: the fetch is aborted, everything released
//                  {type:'ping'}            keeps the worker alive during long waits (no answer)
//   worker → page  {type:'delta', provider, text}
//                  {type:'decision', provider, attempt, outcome, elapsed_ms, at_ms}
//                  {type:'notice', provider, text}   e.g. older turns left out to fit the context
//                  {type:'done', provider, outcome: 'complete'|'length'|'cancelled', text}
//                  {type:'error', message, class, partial, providers}
//                  {type:'saved', conversation_id, node, changed} | {type:'saved', error}   after an
//                      ask with `branch`: the answer (or what arrived of it) is in the cache, as a
//                      branch of the conversation (src/conversation/branch.rs); `node` is its node.
// One-shot messages (runtime.sendMessage): providers.chain, providers.last, providers.timeline,
// providers.test {provider}.
// Storage: local `settings` (the Settings object, API keys included: read here only, never sent
// to a page); session `providers.health` (circuit breakers, JSON), `providers.timeline` (last
// decisions), `providers.lastStream` (the running or last answer, throttled while it grows).
import { ext } from '../api.js';
import { captureEnabled, updateRecord } from './cache.js';
import { core, onMessages, ready } from './core.js';
import { attempt, messagesFor } from './attempt.js';
import { coreSentence, t, withDetail } from './words.js';

export const PORT_NAME = 'understudy-ask';

/**
 * The router's clock: wall-clock milliseconds read once when the worker starts, then advanced by
 * the monotonic clock. A system clock moved while an answer streams (a laptop waking up, a
 * corrected time) then neither freezes a timer for hours nor fires them all at once; across
 * worker lives the breakers' saved times are bounded by the core (src/router/health.rs).
 */
export const routerNow = () => Math.round(performance.timeOrigin + performance.now());
const K_SETTINGS = 'settings';
const K_HEALTH = 'providers.health';
const K_TIMELINE = 'providers.timeline';
const K_LAST = 'providers.lastStream';
const TIMELINE_MAX = 200;
const PERSIST_EVERY_MS = 300;
const PERSIST_MAX_CHARS = 2_000_000;

// ---- storage helpers (writes to one key are chained so read-modify-write cannot interleave) ----
let writes = Promise.resolve();
function queued(fn) {
  writes = writes.then(fn, fn).catch(() => {});
  return writes;
}

// Read-through caches for this worker's life: settings and health are read from storage once, then
// kept current by storage.onChanged (and by our own writes), so a request reaches its fetch without
// waiting on storage. Storage stays the source of truth: a restarted worker reads it again.
const cache = { settings: null, health: null };

async function loadSettings() {
  if (cache.settings) return cache.settings;
  const stored = (await ext.storage.local.get(K_SETTINGS))[K_SETTINGS];
  const settings = core.validateSettings(stored ?? undefined);
  cache.settings = settings;
  return settings;
}

export async function loadHealth() {
  if (cache.health !== null) return cache.health;
  const health = (await ext.storage.session.get(K_HEALTH))[K_HEALTH] ?? '';
  if (cache.health === null) cache.health = health;
  return cache.health;
}

function saveHealth(router) {
  let json;
  try {
    json = router.saveHealth();
  } catch {
    return;
  }
  if (json === cache.health) return;
  cache.health = json;
  queued(() => ext.storage.session.set({ [K_HEALTH]: json }));
}

ext.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && changes[K_SETTINGS]) cache.settings = null;
  if (area === 'session' && changes[K_HEALTH]) {
    const value = changes[K_HEALTH].newValue;
    // Our own writes come back here too; only a change made elsewhere (or a removal) replaces the cache.
    if (value === undefined) cache.health = null;
  }
});

function appendTimeline(entries) {
  if (entries.length === 0) return;
  queued(async () => {
    const old = (await ext.storage.session.get(K_TIMELINE))[K_TIMELINE] ?? [];
    const next = old.concat(entries);
    await ext.storage.session.set({ [K_TIMELINE]: next.slice(Math.max(0, next.length - TIMELINE_MAX)) });
  });
}

function publicEntry(entry) {
  const { id, label, enabled, config } = entry;
  return { id, label: label || config.kind, enabled, kind: config.kind, model: config.model, base_url: config.base_url };
}

// ---- one request driven by the router ------------------------------------------------------------

class Ask {
  constructor(port, message, options = {}) {
    this.port = port;
    this.options = options; // {prefer: provider id asked first, persist: keep the answer in storage.session}
    this.askId = message.id ?? null; // the page's id for this ask, echoed in every message
    this.id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    this.conversation = Array.isArray(message.conversation) ? message.conversation : [];
    this.prompt = typeof message.prompt === 'string' ? message.prompt : '';
    this.text = typeof message.partial === 'string' ? message.partial : '';
    this.router = null;
    this.settings = null;
    this.timer = null;
    this.controller = null;
    this.attemptSeq = 0;
    this.current = null; // {provider, attempt, seq}
    this.provider = null;
    this.writers = new Set(); // the providers that wrote some of the answer
    this.lastWriter = null;
    this.seen = 0;
    this.ended = false;
    this.lastPersist = 0;
    this.persistTimer = null;
    this.keepAlive = null;
    this.startedAt = Date.now();
    // Where to keep the answer in the cache: {conversation_id?, parent?, prompt_id?} or null.
    this.branch = branchOf(options.branch ?? message.branch);
  }

  post(message) {
    if (this.ended && message.type === 'delta') return;
    try {
      this.port?.postMessage(this.askId === null ? message : { ...message, id: this.askId });
    } catch {
      this.port = null; // the page went away
    }
  }

  async start() {
    await ready;
    if (this.ended) return; // stopped while it was starting
    try {
      const stored = await loadSettings();
      this.settings = preferring(await runnableHere(stored), this.options.prefer);
      this.skippedHere = this.settings.providers.some((p) => !p.enabled && stored.providers.find((q) => q.id === p.id)?.enabled);
    } catch (error) {
      return this.fail({ message: t('worker_settings_invalid', error?.message ?? error), class: 'bad_request' });
    }
    if (!this.prompt.trim() && !this.text) return this.fail({ message: t('worker_nothing_to_ask'), class: 'bad_request' });
    const seed = Math.floor(Math.random() * 2 ** 52);
    try {
      const health = await loadHealth();
      if (this.ended) return;
      this.router = new core.Router(this.settings, seed, health);
      this.healthSeen = health;
    } catch (error) {
      return this.fail({ message: t('worker_router_invalid', error?.message ?? error), class: 'bad_request' });
    }
    // Extension API calls keep the worker alive while we wait (retry waits can exceed 30 s).
    this.keepAlive = setInterval(() => ext.runtime.getPlatformInfo?.().catch?.(() => {}), 20_000);
    this.persist(true);
    this.perform(this.router.start(routerNow()));
  }

  /** Performs a router action, then records the decisions it made. */
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
      case 'continue':
        break;
      case 'abort':
        this.abortCurrent();
        this.flushDecisions();
        this.perform(action.then);
        return;
      case 'finished':
        this.finish({ type: 'done', provider: action.provider, outcome: this.finishReason === 'length' ? 'length' : 'complete', text: this.text });
        break;
      case 'gave_up': {
        const providers = action.providers.map((p) => ({ provider: p.provider, class: p.class, message: p.message }));
        this.finish({ type: 'error', message: humanGiveUp(action, this.settings, this.skippedHere), class: action.last_class ?? 'bad_request', partial: this.text, providers });
        break;
      }
      case 'cancelled':
        this.finish({ type: 'done', provider: this.provider, outcome: 'cancelled', text: this.text });
        break;
      default:
        break;
    }
    this.flushDecisions();
    if (action.action !== 'continue') {
      saveHealth(this.router);
      this.healthSeen = cache.health;
    }
    if (this.ended && this.router) {
      // Its decisions and health are out: its Wasm memory is given back now, not at some later GC.
      this.router.free();
      this.router = null;
    }
  }

  flushDecisions() {
    let all;
    try {
      all = this.router.decisions();
    } catch {
      return;
    }
    const fresh = all.slice(Math.min(this.seen, all.length));
    this.seen = all.length;
    for (const d of fresh) this.post({ type: 'decision', ...d });
    appendTimeline(fresh.map((d) => ({ request: this.id, ...d })));
  }

  arm(at) {
    clearTimeout(this.timer);
    if (typeof at !== 'number') return;
    this.timer = setTimeout(() => this.event((now) => this.router.tick(now)), Math.max(0, at - routerNow()));
  }

  // The health book is shared by every ask (and by the fix of a key): each router event starts
  // from the latest copy, and what it makes of it is saved in the same step (no await between),
  // so one ask's opened breaker or probe is not undone by another's older copy.
  syncHealth() {
    if (!this.router || cache.health === null || cache.health === this.healthSeen) return;
    try {
      this.router.setHealth(cache.health);
    } catch {
      // an unreadable copy: this route keeps its own
    }
    this.healthSeen = cache.health;
  }

  event(fn) {
    if (this.ended) return;
    this.syncHealth();
    let action;
    try {
      action = fn(routerNow());
    } catch (error) {
      // A late or misplaced event: the route refused it and is unchanged.
      console.warn('understudy: router refused an event:', error?.message ?? error);
      return;
    }
    this.perform(action);
  }

  abortCurrent() {
    this.current = null;
    const c = this.controller;
    this.controller = null;
    c?.abort();
  }

  launch(fetchSpec) {
    this.abortCurrent();
    const entry = this.settings.providers.find((p) => p.id === fetchSpec.provider);
    const seq = ++this.attemptSeq;
    this.current = { ...fetchSpec, seq };
    this.provider = fetchSpec.provider;
    const live = () => this.current?.seq === seq && !this.ended;
    if (!entry) {
      queueMicrotask(() => live() && this.event((now) => this.router.failed(now, { class: 'not_found', detail: 'this provider is not configured' })));
      return;
    }
    this.post({ type: 'attempt', provider: fetchSpec.provider, label: entry.label || entry.id, attempt: fetchSpec.attempt });
    const controller = new AbortController();
    this.controller = controller;
    const messages = messagesFor(this.conversation, this.prompt);
    const continueFrom = fetchSpec.continue_partial || this.text ? this.text : null;
    attempt({
      entry,
      messages,
      continueFrom,
      maxOutputTokens: this.settings.max_output_tokens,
      signal: controller.signal,
      onFirstByte: () => live() && this.event((now) => this.router.firstByte(now)),
      onNote: (text) => live() && this.post({ type: 'notice', provider: fetchSpec.provider, text }),
      onText: (text) => {
        if (!live()) return;
        if (text) {
          this.writers.add(fetchSpec.provider);
          this.lastWriter = fetchSpec.provider;
          this.text += text;
          this.post({ type: 'delta', provider: fetchSpec.provider, text });
          this.persist(false);
        }
        let action;
        try {
          this.syncHealth();
          action = this.router.chunk(routerNow(), text.length);
        } catch {
          return; // a chunk the route no longer expects (the attempt was just aborted)
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
      // Stopped while it was starting: it ends now, as stopped (start() goes no further).
      this.finish({ type: 'done', provider: null, outcome: 'cancelled', text: this.text });
      return;
    }
    this.event((now) => this.router.cancel(now));
  }

  fail({ message, class: cls }) {
    this.finish({ type: 'error', message, class: cls, partial: this.text, providers: [] });
  }

  finish(message) {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    clearInterval(this.keepAlive);
    this.abortCurrent();
    this.state = message.type === 'error' ? 'error' : message.outcome === 'cancelled' ? 'stopped' : 'done';
    this.post(message);
    this.persist(true, message);
    this.keep(message);
  }

  /**
   * Keeps the answer (or what arrived of it, marked incomplete) in the cached conversation, as a
   * branch of the node the ask continued from. Written here, in the worker, so a closed page loses
   * nothing; node ids derive from this ask's id, so a second write changes nothing.
   */
  keep(end) {
    const b = this.branch;
    if (!b || !this.text.trim()) return;
    // Credited to the provider that finished it if it wrote any of it, else to the last that
    // wrote (one cut off and not continued, or continued with nothing, still wrote this text).
    const id = end.provider && this.writers.has(end.provider) ? end.provider : this.lastWriter ?? end.provider ?? this.provider;
    const entry = this.settings?.providers.find((p) => p.id === id);
    if (!entry) return;
    // No conversation id: the failed prompt's own pending record (src/conversation/capture.rs
    // `pending_key`), else a conversation of its own.
    const conversationId = b.conversation_id ?? (b.prompt_id ? `pending-${b.prompt_id}` : `understudy-${this.id}`);
    const answer = {
      conversation_id: conversationId, key: this.id, parent: b.parent ?? null, prompt_id: b.prompt_id ?? null,
      prompt: this.prompt, answer: this.text,
      provider: { id: entry.id, kind: entry.config?.kind ?? 'unknown', model: entry.config?.model ?? null, label: entry.label || null },
      outcome: end.type === 'error' ? 'error' : end.outcome ?? 'complete',
      started_s: this.startedAt / 1000, ended_s: Date.now() / 1000,
    };
    keepAnswer(answer).then(
      (out) => out && this.post({ type: 'saved', conversation_id: out.id, node: out.answer_node, changed: out.changed }),
      (error) => this.post({ type: 'saved', error: String(error?.message ?? error) }),
    );
  }

  /** Keeps the growing answer in storage.session (throttled) so a stopped worker loses nothing. */
  persist(now, end = null) {
    if (this.options.persist === false) return;
    const write = () => {
      this.persistTimer = null;
      this.lastPersist = performance.now(); // monotonic: a clock moved back never delays the next write
      const record = {
        id: this.id,
        prompt: this.prompt,
        conversation: this.conversation,
        text: this.text.length > PERSIST_MAX_CHARS ? this.text.slice(0, PERSIST_MAX_CHARS) : this.text,
        truncated: this.text.length > PERSIST_MAX_CHARS,
        provider: this.provider,
        state: this.state ?? 'streaming',
        error: end?.type === 'error' ? { message: end.message, class: end.class } : null,
        updated_at: Date.now(),
      };
      queued(() => ext.storage.session.set({ [K_LAST]: record }));
    };
    if (now) {
      clearTimeout(this.persistTimer);
      write();
    } else if (!this.persistTimer) {
      this.persistTimer = setTimeout(write, Math.min(PERSIST_EVERY_MS, Math.max(0, PERSIST_EVERY_MS - (performance.now() - this.lastPersist))));
    }
  }
}

// A cache key: ChatGPT's id, or another site's `<site>:<id>`.
const ID = /^(?:[a-z_]{1,20}:)?[\w.-]{1,200}$/;
const idOrNull = (v) => (typeof v === 'string' && ID.test(v) ? v : null);

/** A branch target from a page or module, checked: {conversation_id, parent, prompt_id} or null. */
function branchOf(b) {
  if (!b || typeof b !== 'object') return null;
  return { conversation_id: idOrNull(b.conversation_id), parent: idOrNull(b.parent), prompt_id: idOrNull(b.prompt_id) };
}

// Answers are kept one at a time (a follow-up's parent is the previous answer's node).
let keeping = Promise.resolve();
function keepAnswer(answer) {
  const run = keeping.then(async () => {
    if (!(await captureEnabled())) return null; // the user turned the cache off
    return updateRecord(answer.conversation_id, (json) => core.rescueSaveBranch(json, answer));
  });
  keeping = run.catch(() => {});
  return run;
}

/** Whether Chrome's on-device model can answer in this browser now (not to be downloaded first). */
export async function builtInReady() {
  try {
    return typeof globalThis.LanguageModel?.availability === 'function' && (await globalThis.LanguageModel.availability()) === 'available';
  } catch {
    return false;
  }
}

/**
 * Settings without what cannot run in this browser: Chrome's on-device model where the browser has
 * none is turned off for this ask, so the router skips it at once instead of trying it (and waiting).
 */
export async function runnableHere(settings) {
  if (!settings.providers.some((p) => p.enabled && p.config.kind === 'chrome_built_in') || (await builtInReady())) return settings;
  return { ...settings, providers: settings.providers.map((p) => (p.config.kind === 'chrome_built_in' ? { ...p, enabled: false } : p)) };
}

/** Settings with `first` moved to the front of the chain (the user picked it). */
function preferring(settings, first) {
  if (!first || !settings.providers.some((p) => p.id === first && p.enabled)) return settings;
  const providers = [...settings.providers.filter((p) => p.id === first), ...settings.providers.filter((p) => p.id !== first)];
  const chain = settings.router?.chain?.length ? [first, ...settings.router.chain.filter((id) => id !== first)] : settings.router?.chain;
  return { ...settings, providers, router: { ...settings.router, chain } };
}

/**
 * Starts one request driven by the router, for other worker modules (the in-page rescue). `sink`
 * receives the same messages as the `understudy-ask` port (`attempt`, `delta`, `decision`, `notice`,
 * `done`, `error`) through `sink.postMessage`. Keys never leave the worker. Returns a handle with
 * `stop()`.
 */
export function startAsk(sink, message, options = {}) {
  const ask = new Ask(sink, message, options);
  ask.start().catch((error) => ask.fail({ message: t('worker_failed', error?.message ?? error), class: 'bad_request' }));
  return { stop: () => ask.stop() };
}

function humanGiveUp(action, settings, skippedHere = false) {
  const label = (id) => {
    const e = settings?.providers.find((p) => p.id === id);
    return e?.label || id;
  };
  if (action.reason === 'empty_chain' && skippedHere) return t('worker_builtin_empty_chain');
  if (action.reason === 'empty_chain') return t('worker_empty_chain');
  // The router's sentences are the core's (English): the class leads in the user's language.
  if (action.providers.length === 0) return withDetail(t('worker_lead_none'), action.message);
  const lines = action.providers.map((p) => `${label(p.provider)}: ${coreSentence(p.class, p.message, label(p.provider))}`);
  const lead = action.reason === 'request_rejected' ? t('worker_lead_refused') : t('worker_lead_none');
  return `${lead} ${lines.join(' · ')}`;
}

// ---- listeners (registered synchronously) -------------------------------------------------------

ext.runtime.onConnect.addListener((port) => {
  if (port.name !== PORT_NAME) return;
  const page = port.sender?.url ?? '';
  if (port.sender?.id !== ext.runtime.id || !page.startsWith(ext.runtime.getURL(''))) {
    port.disconnect(); // pages only: a content script never drives a provider
    return;
  }
  let ask = null;
  port.onMessage.addListener((message) => {
    if (!message || typeof message !== 'object') return;
    if (message.type === 'ask') {
      ask?.stop();
      ask = new Ask(port, message);
      ask.start().catch((error) => ask.fail({ message: t('worker_failed', error?.message ?? error), class: 'bad_request' }));
    } else if (message.type === 'stop' && (message.id === undefined || message.id === ask?.askId)) {
      ask?.stop();
    }
  });
  port.onDisconnect.addListener(() => {
    if (ask) {
      ask.port = null;
      ask.stop();
    }
  });
});

// Editing a provider's settings clears its "misconfigured" flag (the user fixed the key).
ext.storage.onChanged.addListener((changes, area) => {
  if (area !== 'local' || !changes[K_SETTINGS]) return;
  const { oldValue, newValue } = changes[K_SETTINGS];
  const before = new Map((oldValue?.providers ?? []).map((p) => [p.id, JSON.stringify(p.config)]));
  const changed = (newValue?.providers ?? []).filter((p) => before.get(p.id) !== JSON.stringify(p.config)).map((p) => p.id);
  if (changed.length === 0) return;
  queued(async () => {
    await ready;
    const settings = core.validateSettings(newValue);
    const router = new core.Router(settings, 0, await loadHealth());
    for (const id of changed) router.markFixed(id);
    cache.health = router.saveHealth();
    await ext.storage.session.set({ [K_HEALTH]: cache.health });
    router.free();
  });
});

// Extension pages only (core.js SENDERS): content scripts run beside pages that must not drive providers.
onMessages(ext, ['providers.chain', 'providers.last', 'providers.timeline', 'providers.test'], async (message) => {
  if (message.type === 'providers.last') return (await ext.storage.session.get(K_LAST))[K_LAST] ?? null;
  if (message.type === 'providers.timeline') return (await ext.storage.session.get(K_TIMELINE))[K_TIMELINE] ?? [];
  const settings = message.type === 'providers.chain' ? await runnableHere(await loadSettings()) : await loadSettings();
  if (message.type === 'providers.chain') {
    const router = new core.Router(settings, 0, await loadHealth());
    const availability = router.availability(routerNow());
    router.free();
    // The effective chain, in order: router.chain when set, else the list order; enabled only.
    const byId = new Map(settings.providers.map((p) => [p.id, p]));
    const ids = settings.router.chain.length > 0 ? settings.router.chain : settings.providers.map((p) => p.id);
    const chain = ids.map((id) => byId.get(id)).filter((p) => p?.enabled);
    return chain.map((p) => ({ ...publicEntry(p), availability: availability[p.id] ?? { kind: 'available' } }));
  }
  // providers.test: one tiny request to one provider, no router, no retries.
  const entry = settings.providers.find((p) => p.id === message.provider);
  if (!entry) throw new Error(t('worker_no_provider_id', JSON.stringify(message.provider)));
  const controller = new AbortController();
  const started = Date.now();
  const timeout = setTimeout(() => controller.abort(), settings.router.first_byte_timeout_ms + settings.router.stall_timeout_ms);
  let text = '';
  let firstByteMs = null;
  const result = await attempt({
    entry,
    messages: [{ role: 'user', content: 'Reply with the single word OK.' }],
    continueFrom: null,
    maxOutputTokens: 1, // a real request, one token: what the key, the model and the limits allow
    signal: controller.signal,
    onFirstByte: () => (firstByteMs = Date.now() - started),
    onText: (t) => (text += t),
  });
  clearTimeout(timeout);
  const timedOut = controller.signal.aborted;
  return {
    provider: entry.id,
    ok: result.ok,
    class: result.ok ? null : timedOut ? 'timeout' : result.class,
    message: result.ok ? t('worker_test_answered', entry.label || entry.id) : timedOut ? t('worker_test_no_answer') : (result.core ? coreSentence(result.class, result.detail, entry.label || entry.id, result.retry_after_ms) : result.detail) ?? result.class,
    retry_after_ms: result.ok ? null : result.retry_after_ms ?? null,
    text: text.slice(0, 200),
    first_byte_ms: firstByteMs,
    total_ms: Date.now() - started,
  };
});
