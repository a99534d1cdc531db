//# allFunctionsCalledOnLoad
// Content script: detect (isolated world). Plain JS, no Wasm, no secrets.
//
// Watches the chat page with one batched MutationObserver (extracting the DOM observation with
// UnderstudyObserve at most once per frame, and only when something error-like changed), listens to
// the MAIN-world fetch hook (content/page-hook.js) through window messages that it treats as
// untrusted input, checks for stalls (one periodic timer while a send is pending, against the time
// of its last progress), and sends observations to the service worker, where the Wasm core judges
// them. It shows the in-page notice. While Understudy is paused (UnderstudyPage.onPause) it does
// none of this: no observer, no timer, nothing sent, no notice; on resume it starts afresh.
//
// Stable hooks for other features (the rescue builds on these):
// - The notice: a host element `[data-testid="understudy-notice"]` with `data-kind="<kind>"`, an
//   open shadow root holding `[role=alert]`, the words, `[data-testid="understudy-actions"]` (an
//   empty container reserved for actions such as "Continue with a provider") and
//   `[data-testid="understudy-dismiss"]`.
// - `UnderstudyDetect` (a global of the extension's isolated world, shared with the other content
//   scripts): `current()`, `onChange(fn)` (fn(detection | null) on every change), `actions()` (the
//   actions container of the notice on screen, or null), `onNotice(fn)` (fn(actions, detection)
//   each time a notice is built).
// - The service worker also sends `{type: 'detect.event', event, current}` to the tab.
const UnderstudyDetect = (() => {
  const ext = UnderstudyPage.ext;
  const HOOK = 'understudy-hook';
  const MIN_GAP_MS = 16; // at most one DOM extraction per frame under steady change
  const BURST = 4;
  const SAMPLE_MS = 500;
  const MAX_PENDING = 64;
  const MAX_PATH = 2048;
  const MAX_DETAIL = 2048;
  const MAX_PROMPT = 32768;
  const FACTS_PER_SECOND = 200;
  const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'WEBSOCKET']);

  let adapter = null;
  let endpoints = [];
  let hotSel = '';
  let regionSel = '';
  let current = null; // the detection in force, as the worker presents it
  let lastDomJson = '';
  let lastExtract = -Infinity;
  let extractTimer = 0;
  let burst = BURST;
  let observer = null;
  let lastPrompt = null;
  let sending = Promise.resolve();
  const early = []; // hook facts that arrived before the adapter
  const pending = new Map(); // hook request id -> request
  const changeListeners = [];
  const noticeListeners = [];
  const cold = new WeakSet(); // elements known to sit outside every error-like region
  let bucket = FACTS_PER_SECOND;
  let bucketAt = 0;
  let paused = UnderstudyPage.paused();

  // ---- talking to the worker ----

  function lastUserText() {
    const s = adapter?.selectors;
    if (!s?.role || !s.role_attr) return null;
    try {
      const users = document.querySelectorAll(`${s.role}[${s.role_attr}="user"]`);
      const last = users[users.length - 1];
      return last ? (last.textContent || '').trim().slice(0, MAX_PROMPT) || null : null;
    } catch {
      return null;
    }
  }

  // The page as the worker last judged it healthy from a DOM observation with nothing wrong in it
  // (its URL), or ''. While nothing is wrong, another such observation of the same page would change
  // nothing in the worker (the answer growing, a turn added): it is not sent.
  let healthyAt = '';
  const noNews = (obs) => !current && benign(obs) && healthyAt === location.href;

  function send(observation) {
    if (paused) return sending;
    const message = { type: 'detect.observe', observation, prompt: lastPrompt ?? lastUserText(), url: location.href };
    const quiet = observation.type === 'dom' && benign(observation);
    healthyAt = '';
    sending = sending.then(async () => {
      try {
        const reply = await UnderstudyPage.request(message);
        if (reply?.ok) {
          apply(reply.value?.current ?? null);
          if (quiet && !current) healthyAt = message.url;
        }
      } catch {
        // the extension was reloaded or the worker is restarting; the next observation retries
      }
    });
    return sending;
  }

  ext.runtime.onMessage.addListener((message) => {
    if (message?.type === 'detect.event' && adapter && !paused) apply(message.current ?? null);
    return false;
  });

  // ---- DOM ----

  // While a send is in flight and no failure shows, a DOM observation with nothing wrong in it (the
  // turns the page adds, the answer growing) would change nothing in the worker: it is held back
  // and sent when the send is over (if no newer one replaced it).
  let held = null; // {obs, json}
  const benign = (o) => o.errors.length === 0 && !o.retry_button && !o.signed_out && !o.page_error;
  const sendInFlight = () => {
    for (const r of pending.values()) if (r.endpoint === 'conversation_send') return true;
    return false;
  };
  // Nothing error-like anywhere, on a page with its turns or composer (so no whole-page error):
  // an observation would be benign. Two queries instead of an extraction.
  const quietDom = () => {
    try {
      return document.querySelector(sampleSel) === null && document.querySelector(appSel) !== null;
    } catch {
      return false;
    }
  };
  function extractNow() {
    extractTimer = 0;
    lastExtract = performance.now();
    if (!adapter || paused || document.readyState === 'loading') return;
    // On a page the worker already judged healthy, a benign observation would change nothing (see
    // noNews): when the page is quiet it is not even taken.
    if (!current && healthyAt === location.href && quietDom()) {
      lastDomJson = '';
      held = null;
      return;
    }
    const obs = UnderstudyObserve.extract(document, adapter);
    const json = JSON.stringify(obs);
    if (json === lastDomJson || noNews(obs)) {
      lastDomJson = json;
      held = null;
      return;
    }
    if (!current && benign(obs) && sendInFlight()) {
      held = { obs, json };
      return;
    }
    held = null;
    lastDomJson = json;
    send(obs);
  }
  // A send is over: the observation held back goes out, unless an extraction is on its way.
  function release() {
    if (!held || extractTimer || sendInFlight()) return;
    if (noNews(held.obs)) {
      lastDomJson = held.json;
      held = null;
      return;
    }
    lastDomJson = held.json;
    send(held.obs);
    held = null;
  }

  // A small burst of extractions runs at once (an error right after another change is not delayed);
  // under a steady stream of changes they settle to one per frame.
  function schedule() {
    if (extractTimer) return;
    const now = performance.now();
    burst = Math.min(BURST, burst + (now - lastExtract) / MIN_GAP_MS);
    if (burst >= 1) {
      burst -= 1;
      extractNow();
    } else {
      extractTimer = setTimeout(extractNow, MIN_GAP_MS * (1 - burst));
    }
  }

  // While the page streams an answer (the hook says so), its thousands of text mutations are not
  // worth a callback each, nor even a record: the observer is disconnected, and every SAMPLE_MS one
  // querySelector looks for anything error-like (error boxes, alerts, banners, retry and login
  // buttons, an edge error page); only then, or while a failure shows, or when such an element
  // just went away, is the DOM extracted. The observer resumes when the last stream ends, with one
  // more sample at once (so an extraction then only if anything is error-like).
  let streams = 0;
  let sampler = 0;
  let sampleSel = '';
  let appSel = ''; // the app's turns and composer
  let sampledHot = false;
  const OBSERVE = {
    childList: true, subtree: true, characterData: true,
    attributes: true, attributeFilter: ['class', 'style', 'hidden', 'aria-hidden', 'open'],
  };
  function sample() {
    let hit = true;
    try { hit = document.querySelector(sampleSel) !== null; } catch { hit = true; }
    if (current || hit || sampledHot) schedule();
    sampledHot = hit;
  }
  function streamStarted() {
    streams += 1;
    if (streams !== 1 || !observer) return;
    observer.disconnect();
    sampledHot = false;
    sampler = setInterval(sample, SAMPLE_MS);
  }
  function streamEnded() {
    if (streams === 0) return;
    streams -= 1;
    if (streams !== 0 || !observer) return;
    clearInterval(sampler);
    sampler = 0;
    observer.observe(document, OBSERVE);
    sample(); // what changed since the last sample: extracted only if anything is error-like
  }

  const matches = (el, sel) => {
    try { return el.matches(sel); } catch { return false; }
  };
  const contains = (el, sel) => {
    try { return el.firstElementChild !== null && el.querySelector(sel) !== null; } catch { return false; }
  };
  // Whether an element (where text changed) sits inside an error-like region; cached when not.
  function inRegion(el) {
    if (!el || cold.has(el)) return false;
    let hit = false;
    try { hit = el.closest(regionSel) !== null; } catch { hit = false; }
    if (!hit) cold.add(el);
    return hit;
  }
  const isNotice = (n) => n.localName === 'understudy-notice';
  const ours = (r) => r.type === 'childList' && [...r.addedNodes].every(isNotice) && [...r.removedNodes].every(isNotice);
  const hotNode = (n) => n.nodeType === 1 && (matches(n, hotSel) || contains(n, hotSel));

  function hot(records) {
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const t = r.target;
      if (r.type === 'childList') {
        const quietTarget = cold.has(t);
        for (const list of [r.addedNodes, r.removedNodes]) {
          for (let j = 0; j < list.length; j++) {
            const n = list[j];
            if (n.nodeType === 1) {
              if (hotNode(n)) return true;
            } else if (!quietTarget && n.nodeType === 3 && inRegion(t)) {
              return true;
            }
          }
        }
      } else if (r.type === 'characterData') {
        if (inRegion(t.parentElement)) return true;
      } else if (t.nodeType === 1) {
        if (matches(t, hotSel) || inRegion(t)) return true;
        if (r.attributeName !== 'class' && contains(t, hotSel)) return true;
      }
    }
    return false;
  }

  function startObserving() {
    const s = adapter.selectors;
    regionSel = [s.error, s.toast, s.banner].filter(Boolean).join(', ');
    hotSel = [s.error, s.toast, s.banner, s.retry_button, s.login_button, s.turn, s.composer, s.cloudflare, s.challenge]
      .filter(Boolean).join(', ');
    sampleSel = [s.error, s.toast, s.banner, s.retry_button, s.login_button, s.cloudflare, s.challenge].filter(Boolean).join(', ');
    appSel = [s.turn, s.composer].filter(Boolean).join(', ');
    observer = new MutationObserver((records) => {
      // Our own notice coming or going says nothing about the page (and extracting then would
      // delay the notice's first frame).
      if (records.every(ours)) return;
      // While a failure is shown, any change may be the recovery; otherwise only error-like ones count.
      if (current || hot(records)) schedule();
    });
    observer.observe(document, OBSERVE);
    if (document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', schedule, { once: true });
    } else {
      schedule();
    }
    window.addEventListener('load', schedule, { once: true });
  }

  // ---- network facts from the MAIN world ----

  function endpointOf(method, path) {
    for (const e of endpoints) {
      if (e.method && e.method !== method) continue;
      if (e.parts.length !== path.length) continue;
      let ok = true;
      for (let i = 0; i < e.parts.length && ok; i++) ok = e.parts[i] === null ? path[i] !== '' : e.parts[i] === path[i];
      if (ok) return e.kind;
    }
    return 'other';
  }
  const segments = (p) => p.replace(/\/+$/, '').split('/');

  const isStr = (max) => (v) => typeof v === 'string' && v.length <= max;
  const isStrOrNull = (max) => (v) => v === null || (typeof v === 'string' && v.length <= max);
  const isBool = (v) => typeof v === 'boolean';
  const isId = (v) => Number.isSafeInteger(v) && v > 0;
  const isPath = (v) => typeof v === 'string' && v.length <= MAX_PATH && v.startsWith('/');
  const isMethod = (v) => typeof v === 'string' && METHODS.has(v);
  const isStatus = (v) => Number.isInteger(v) && v >= 100 && v <= 599;
  const isError = (v) => {
    if (v === null) return true;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
    let n = 0;
    for (const k in v) {
      if (++n > 3) return false;
      if (k === 'message' || k === 'code') {
        if (!isStrOrNull(k === 'code' ? 128 : MAX_DETAIL)(v[k])) return false;
      } else if (k === 'clears_in') {
        if (v[k] !== null && !(Number.isSafeInteger(v[k]) && v[k] >= 0)) return false;
      } else return false;
    }
    return true;
  };
  const SPECS = {
    request_start: { id: isId, path: isPath, method: isMethod, prompt: isStrOrNull(MAX_PROMPT) },
    request_failed: { id: isId, path: isPath, method: isMethod, aborted: isBool },
    response: {
      id: isId, path: isPath, method: isMethod, status: isStatus, retry_after: isStrOrNull(64),
      challenge: isBool, streaming: isBool, detail: isStrOrNull(MAX_DETAIL),
    },
    stream_progress: { id: isId, path: isPath },
    stream_end: { id: isId, path: isPath, done: isBool, error: isError, interrupted: isBool, aborted: isBool },
  };
  const OPTIONAL = new Set(['prompt', 'retry_after', 'detail', 'error', 'aborted', 'interrupted', 'challenge', 'streaming']);

  /** The fact if it has exactly the expected shape, else null. */
  function validFact(d) {
    if (!d || typeof d !== 'object' || Array.isArray(d) || d.source !== HOOK) return null;
    const spec = typeof d.kind === 'string' && Object.hasOwn(SPECS, d.kind) ? SPECS[d.kind] : null;
    if (!spec) return null;
    let n = 0;
    for (const k in d) {
      if (++n > 12) return null;
      if (k === 'source' || k === 'kind') continue;
      if (!Object.hasOwn(spec, k) || !spec[k](d[k])) return null;
    }
    for (const k in spec) if (!(k in d) && !OPTIONAL.has(k)) return null;
    return d;
  }

  function allowFact() {
    const now = performance.now();
    bucket = Math.min(FACTS_PER_SECOND, bucket + ((now - bucketAt) * FACTS_PER_SECOND) / 1000);
    bucketAt = now;
    if (bucket < 1) return false;
    bucket -= 1;
    return true;
  }

  // The error object of an error response body, compact; `challenge` for a challenge page.
  function bodyError(detail) {
    if (!detail) return { error: null, challenge: false };
    const text = detail.trim();
    if (text.startsWith('<')) {
      return { error: null, challenge: /challenge-form|cf-challenge|just a moment/i.test(text) };
    }
    try {
      const v = JSON.parse(text);
      const e = v && typeof v === 'object' ? ('detail' in v ? v.detail : v.error) : null;
      if (typeof e === 'string') return { error: { message: e.slice(0, MAX_DETAIL), code: null, clears_in: null }, challenge: false };
      if (e && typeof e === 'object' && !Array.isArray(e)) {
        return {
          error: {
            message: typeof e.message === 'string' ? e.message.slice(0, MAX_DETAIL) : null,
            code: typeof e.code === 'string' ? e.code.slice(0, 128) : null,
            clears_in: Number.isSafeInteger(e.clears_in) && e.clears_in >= 0 ? e.clears_in : null,
          },
          challenge: false,
        };
      }
    } catch {
      // not JSON: the status speaks
    }
    return { error: null, challenge: false };
  }

  // A request that went well says something only while a failure shows (it may be the recovery):
  // otherwise the worker would judge it healthy and change nothing, so it is not sent.
  function network(req, fields) {
    const fine = !fields.failed && !(fields.status >= 400) && !fields.error && !fields.incomplete && !fields.challenge;
    if (fine && !current) return;
    send({
      type: 'network', endpoint: req.endpoint, status: null, failed: false, retry_after: null,
      challenge: false, error: null, incomplete: false, ...fields,
    });
  }

  // Stalls: a send has a deadline for its first progress (no_start_ms) and, once it streams, for
  // the next (stall_ms after the last); one periodic timer checks them while any is set.
  let watchdog = 0;
  function clearTimers(req) {
    req.noStartAt = req.stallAt = 0;
  }
  function checkStalls() {
    const now = performance.now();
    let armed = false;
    for (const req of pending.values()) {
      if (req.noStartAt && now >= req.noStartAt) {
        req.noStartAt = 0;
        send({ type: 'stall', phase: 'no_start', ms: Math.round(now - req.started) });
      }
      if (req.stallAt && now >= req.stallAt) {
        req.stallAt = 0;
        send({ type: 'stall', phase: 'stalled', ms: Math.round(now - req.progressAt) });
      }
      armed ||= !!(req.noStartAt || req.stallAt);
    }
    if (!armed) {
      clearInterval(watchdog);
      watchdog = 0;
    }
  }
  function armWatchdog() {
    if (watchdog) return;
    const t = adapter.timing;
    watchdog = setInterval(checkStalls, Math.max(50, Math.min(1000, t.stall_ms / 4, t.no_start_ms / 4)));
  }

  function onFact(d) {
    if (d.kind === 'request_start') {
      if (pending.has(d.id) || pending.size >= MAX_PENDING) return;
      const endpoint = endpointOf(d.method, segments(d.path));
      if (endpoint === 'other') return;
      const started = performance.now();
      const req = { id: d.id, path: d.path, method: d.method, endpoint, noStartAt: 0, stallAt: 0, started, progressAt: started };
      pending.set(d.id, req);
      if (endpoint === 'conversation_send') {
        if (typeof d.prompt === 'string' && d.prompt) lastPrompt = d.prompt;
        req.noStartAt = started + adapter.timing.no_start_ms;
        armWatchdog();
      }
      return;
    }
    const req = pending.get(d.id);
    if (!req || req.path !== d.path || (d.method && d.method !== req.method)) return;
    switch (d.kind) {
      case 'request_failed':
        clearTimers(req);
        pending.delete(d.id);
        if (!d.aborted) network(req, { failed: true });
        release();
        break;
      case 'response':
        if (d.status >= 400) {
          clearTimers(req);
          pending.delete(d.id);
          const body = bodyError(d.detail);
          network(req, {
            status: d.status, retry_after: d.retry_after ?? null, challenge: !!d.challenge || body.challenge, error: body.error,
          });
          release();
        } else if (!d.streaming) {
          clearTimers(req);
          pending.delete(d.id);
          // A successful send clears everything; other endpoints only matter while a failure shows.
          if (req.endpoint === 'conversation_send' || current) network(req, { status: d.status });
          release();
        } else if (!req.streaming) {
          req.streaming = true;
          streamStarted();
        }
        break;
      case 'stream_progress':
        if (!req.streaming) return;
        req.noStartAt = 0;
        req.progressAt = performance.now();
        req.stallAt = req.progressAt + adapter.timing.stall_ms;
        armWatchdog();
        break;
      case 'stream_end':
        if (!req.streaming) return;
        clearTimers(req);
        pending.delete(d.id);
        streamEnded();
        if (!d.aborted) { // else the user stopped the answer
          if (d.error) network(req, { status: 200, error: d.error });
          else if (!d.done) network(req, { status: 200, incomplete: true });
          else network(req, { status: 200 });
        }
        release();
        break;
      default:
        break;
    }
  }

  window.addEventListener('message', (event) => {
    if (paused || event.source !== window || event.origin !== location.origin) return;
    const data = event.data;
    if (!data || typeof data !== 'object' || data.source !== HOOK) return;
    if (!allowFact()) return;
    const fact = validFact(data);
    if (!fact) return;
    if (!adapter) {
      if (early.length < MAX_PENDING) early.push(fact);
      return;
    }
    onFact(fact);
  });

  // ---- the notice ----

  const WORDS = {
    generation_error: () => 'ChatGPT could not finish this answer.',
    network_error: (d) => (d.evidence?.signal === 'stall' ? 'ChatGPT stopped answering.' : 'The connection to ChatGPT broke off.'),
    rate_limited: (d) => (d.retry_at ? `ChatGPT is rate-limiting you until ${clock(d.retry_at)}.` : 'ChatGPT is rate-limiting you for now.'),
    capacity: () => 'ChatGPT is at capacity right now.',
    service_down: () => 'ChatGPT is down.',
    blocked: () => 'ChatGPT wants you to sign in or prove you are human. This is not an outage.',
    conversation_unavailable: () => 'ChatGPT cannot load this conversation right now.',
    unknown_error: () => 'ChatGPT shows an error that Understudy does not recognise.',
  };

  function clock(ms) {
    const at = new Date(ms);
    const hm = `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
    if (ms - Date.now() < 20 * 3600 * 1000) return hm;
    return `${at.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${hm}`;
  }

  const CSS = `
    :host { all: initial; display: block; }
    :host([data-placement="spare"]) { display: none; }
    .box { box-sizing: border-box; margin: 8px auto; max-width: 48rem; padding: 10px 14px; border-radius: 10px;
      font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; display: flex; flex-wrap: wrap;
      align-items: center; gap: 8px 12px; border: 1px solid #e4b4ae; background: #fff4f2; color: #3b0d08; }
    .box.dark { background: #2b1714; color: #f6d9d4; border-color: #6b2a22; }
    :host([data-placement="fixed"]) { position: fixed; left: 50%; bottom: 88px; transform: translateX(-50%);
      z-index: 2147483646; width: min(48rem, calc(100vw - 32px)); }
    :host([data-placement="fixed"]) .box { margin: 0; box-shadow: 0 4px 18px rgba(0,0,0,.18); }
    .words { flex: 1 1 16rem; margin: 0; }
    .what { display: block; font-size: 12px; opacity: .75; margin-top: 2px; overflow-wrap: anywhere; }
    .actions { display: flex; gap: 8px; flex-wrap: wrap; }
    .actions:empty { display: none; }
    button { font: inherit; border-radius: 8px; border: 1px solid currentColor; background: transparent; color: inherit;
      padding: 4px 12px; cursor: pointer; }
    button:focus-visible { outline: 2px solid #1a735c; outline-offset: 2px; }
  `;
  let sheet = null;
  let notice = null; // {host, box, words, what, actions, key}
  // A notice built ahead of time (host, shadow root, adopted sheet) and kept attached but hidden
  // (no test id until shown), so showing one on an event is filling text and a move.
  let spare = null;
  const prepare = () => {
    spare ??= build();
    if (!spare.host.isConnected && document.body) {
      spare.host.setAttribute('data-placement', 'spare');
      document.body.append(spare.host);
    }
  };
  const prepareLater = () => (window.requestIdleCallback ?? setTimeout)(prepare);
  let dismissed = '';

  const keyOf = (d) => `${d.kind}|${d.since_ms ?? ''}`;

  function pageIsDark() {
    const root = document.documentElement;
    if (root.classList.contains('dark')) return true;
    if (root.classList.contains('light')) return false;
    const bg = getComputedStyle(document.body || root).backgroundColor;
    const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*([\d.]+))?/.exec(bg);
    if (m && (m[4] === undefined || Number(m[4]) > 0.5)) return 0.2126 * m[1] + 0.7152 * m[2] + 0.0722 * m[3] < 128;
    return matchMedia('(prefers-color-scheme: dark)').matches;
  }

  function latestTurn() {
    const s = adapter?.selectors;
    if (!s?.turn) return null;
    try {
      const turns = document.querySelectorAll(s.turn);
      return turns[turns.length - 1] ?? null;
    } catch {
      return null;
    }
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs ?? {})) node.setAttribute(k, v);
    if (text) node.textContent = text;
    return node;
  }

  function build() {
    const host = document.createElement('understudy-notice');
    const root = host.attachShadow({ mode: 'open' });
    try {
      sheet ??= new CSSStyleSheet();
      if (!sheet.cssRules.length) sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch {
      root.append(el('style', {}, CSS));
    }
    const box = el('div', { class: 'box', role: 'alert', 'aria-live': 'assertive', 'aria-atomic': 'true' });
    const words = el('p', { class: 'words' });
    const what = el('span', { class: 'what' });
    const actions = el('div', { class: 'actions', 'data-testid': 'understudy-actions' });
    const dismiss = el('button', { type: 'button', 'data-testid': 'understudy-dismiss' }, 'Dismiss');
    dismiss.addEventListener('click', () => {
      if (notice) dismissed = notice.key;
      removeNotice();
    });
    box.append(words, actions, dismiss);
    root.append(box);
    return { host, box, words, what, actions, key: '' };
  }

  function removeNotice() {
    if (!notice) return;
    notice.host.remove();
    notice = null;
    prepareLater();
  }

  function render(d) {
    if (!d || d.kind === 'healthy') {
      removeNotice();
      return;
    }
    const key = keyOf(d);
    if (key === dismissed) return;
    const created = !notice;
    if (created) {
      notice = spare ?? build();
      spare = null;
    }
    const n = notice;
    n.key = key;
    n.host.setAttribute('data-testid', 'understudy-notice');
    n.host.setAttribute('data-kind', d.kind);
    n.words.textContent = (WORDS[d.kind] ?? WORDS.unknown_error)(d);
    n.what.textContent = d.evidence?.text ? `What Understudy saw: ${d.evidence.text}` : '';
    n.words.append(n.what);
    n.box.classList.toggle('dark', pageIsDark());
    const turn = latestTurn();
    if (turn && turn.isConnected) {
      n.host.setAttribute('data-placement', 'turn');
      if (turn.nextSibling !== n.host) {
        try {
          turn.parentNode.moveBefore(n.host, turn.nextSibling); // keeps the attached host's state
        } catch {
          turn.after(n.host);
        }
      }
    } else {
      n.host.setAttribute('data-placement', 'fixed');
      const parent = document.body || document.documentElement;
      if (n.host.parentNode !== parent) parent.append(n.host);
    }
    if (created) for (const fn of noticeListeners) safe(fn, n.actions, d);
  }

  function safe(fn, ...args) {
    try { fn(...args); } catch (error) { console.warn('Understudy: a detection listener failed', error); }
  }

  function apply(next) {
    const before = current ? keyOf(current) : '';
    current = next && next.kind !== 'healthy' ? next : null;
    if (current) healthyAt = '';
    render(current);
    if ((current ? keyOf(current) : '') !== before) for (const fn of changeListeners) safe(fn, current);
  }

  // ---- start ----

  UnderstudyPage.onReady(async (hello) => {
    if (!hello.site) return;
    let reply;
    try {
      reply = await ext.runtime.sendMessage({ type: 'detect.adapter' });
    } catch {
      return;
    }
    if (!reply?.ok || !reply.value?.selectors) return;
    adapter = reply.value;
    endpoints = (adapter.endpoints ?? []).map((e) => ({
      kind: e.kind,
      method: (e.method ?? '').toUpperCase(),
      parts: segments(e.path).map((p) => (p.startsWith('{') && p.endsWith('}') ? null : p)),
    }));
    if (!paused) startObserving();
    for (const fact of early.splice(0)) onFact(fact);
    prepareLater();
  });

  // ---- pause ----

  UnderstudyPage.onPause((p) => {
    paused = p;
    if (paused) {
      observer?.disconnect();
      clearInterval(sampler);
      clearInterval(watchdog);
      clearTimeout(extractTimer);
      sampler = watchdog = extractTimer = 0;
      streams = 0;
      pending.clear();
      early.length = 0;
      held = null;
      lastDomJson = '';
      healthyAt = '';
      dismissed = '';
      apply(null);
    } else if (adapter) {
      if (observer) {
        observer.observe(document, OBSERVE);
        schedule();
      } else {
        startObserving();
      }
    }
  });

  return {
    /** The detection in force on this page, or null. */
    current: () => current,
    /** Calls fn(detection | null) whenever the detection in force changes. */
    onChange(fn) { changeListeners.push(fn); },
    /** The actions container of the notice on screen, or null. */
    actions: () => notice?.actions ?? null,
    /** Calls fn(actionsContainer, detection) each time a notice is built (at once if one shows). */
    onNotice(fn) {
      noticeListeners.push(fn);
      if (notice && current) safe(fn, notice.actions, current);
    },
  };
})();
