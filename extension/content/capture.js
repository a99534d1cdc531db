//# allFunctionsCalledOnLoad
// Content script: capture (isolated world). Receives what the MAIN-world observer (capture-hook.js)
// saw, checks its shape and bounds, and hands it to the service worker (`cache.capture`), which
// stores it in the extension's IndexedDB. When no traffic was seen on a conversation page, the turns
// are read from the DOM instead. Nothing is captured in temporary chats, when capture is off
// (`capture_enabled: false` in `understudy.preferences`, or `capture.enabled: false` in the settings)
// or while Understudy is paused (`UnderstudyPage.paused()`; captures that arrive before the settings
// are known wait for them). A full disk is shown on the page.
(() => {
  const ext = UnderstudyPage.ext;
  const SOURCE = 'understudy-capture';
  const PREFS_KEY = 'understudy.preferences';
  const MAX_JSON = 32 << 20;
  const MAX_TEXT = 2 << 20;
  const DOM_DELAY_MS = 1500;
  const MAX_EARLY = 32;
  const FLUSH_EVENT = 'understudy-capture-flush';
  let enabled = true;
  let trafficSeen = false;
  let known = false; // the page's settings arrived
  const early = []; // captures that arrived before
  const allowed = () => enabled && !UnderstudyPage.paused() && UnderstudyPage.settings()?.capture?.enabled !== false;

  ext.storage?.local.get(PREFS_KEY).then((v) => {
    enabled = v?.[PREFS_KEY]?.capture_enabled !== false;
  }, () => {});
  ext.storage?.onChanged.addListener((changes, area) => {
    if (area === 'local' && changes[PREFS_KEY]) enabled = changes[PREFS_KEY].newValue?.capture_enabled !== false;
  });

  const temporary = () => new URLSearchParams(location.search).get('temporary-chat') === 'true';
  const isId = (s) => typeof s === 'string' && s.length > 0 && s.length <= 200;
  const isText = (s) => typeof s === 'string' && s.length <= MAX_TEXT;
  const isPrompt = (p) => p && typeof p === 'object' && isId(p.message_id) && isText(p.text)
    && (p.parent_id == null || isId(p.parent_id)) && (p.model == null || typeof p.model === 'string')
    && (p.create_time == null || Number.isFinite(p.create_time));

  /** The capture to send, or null if the shape is wrong. Only known fields are kept. */
  function validate(d) {
    switch (d.kind) {
      case 'prompt':
        if (!isPrompt(d.prompt) || !(d.conversation_id == null || isId(d.conversation_id))) return null;
        return { kind: 'prompt', conversation_id: d.conversation_id ?? null, prompt: d.prompt };
      case 'message':
        if (!isId(d.conversation_id) || !d.message || typeof d.message !== 'object' || !isId(d.message.id)) return null;
        if (d.prompt != null && !isPrompt(d.prompt)) return null;
        if (d.pending != null && !isId(d.pending)) return null;
        return { kind: 'message', conversation_id: d.conversation_id, message: d.message, prompt: d.prompt ?? null, pending: d.pending ?? null };
      case 'conversation':
        if (typeof d.json !== 'string' || d.json.length > MAX_JSON) return null;
        return { kind: 'conversation', json: d.json };
      default:
        return null;
    }
  }

  function showProblem(text) {
    document.documentElement.dataset.understudyCacheError = 'quota';
    let box = document.getElementById('understudy-cache-problem');
    if (!box) {
      box = document.createElement('div');
      box.id = 'understudy-cache-problem';
      box.setAttribute('role', 'alert');
      box.style.cssText = 'position:fixed;bottom:12px;right:12px;z-index:2147483647;max-width:360px;padding:10px 14px;'
        + 'background:#7a1f1f;color:#fff;font:13px system-ui,sans-serif;border-radius:8px;box-shadow:0 2px 8px #0005';
      document.documentElement.append(box);
    }
    box.textContent = text;
  }

  async function send(capture) {
    try {
      const reply = await UnderstudyPage.request({ type: 'cache.capture', capture });
      if (reply && !reply.ok && /quota/i.test(reply.error ?? '')) {
        showProblem('Understudy cannot save this conversation: the extension storage is full.');
      }
    } catch {
      // the extension was reloaded; nothing to do in this page any more
    }
  }

  function receive(d) {
    if (!d || typeof d !== 'object' || d.source !== SOURCE) return;
    const capture = validate(d);
    if (!capture || temporary()) return;
    if (!known) {
      if (early.length < MAX_EARLY) early.push(capture);
      return;
    }
    if (!allowed()) return;
    trafficSeen = true;
    send(capture);
  }
  window.addEventListener('message', (event) => {
    if (event.source !== window || event.origin !== location.origin) return;
    receive(event.data);
  });
  // What the MAIN-world observer flushes when the page is hidden mid-answer (synchronous).
  document.addEventListener(FLUSH_EVENT, (event) => {
    if (typeof event.detail !== 'string' || event.detail.length > MAX_JSON) return;
    try {
      receive(JSON.parse(event.detail));
    } catch {
      // not JSON
    }
  });
  UnderstudyPage.onReady(() => {
    known = true;
    for (const capture of early.splice(0)) {
      if (!allowed()) break;
      trafficSeen = true;
      send(capture);
    }
    early.length = 0;
  });

  ext.runtime.onMessage.addListener((message) => {
    if (message?.type === 'cache.quota') showProblem(String(message.message ?? 'Understudy: storage full'));
    return false;
  });

  // DOM fallback: a conversation page whose traffic was not seen (e.g. served from the page's own
  // cache). Reads the visible turns once the page settles. The observer only wakes the timer: it is
  // disconnected until the timer ran, so a streamed answer's thousands of mutations cost one call.
  let domTimer = null;
  let observer = null;
  const root = () => document.body ?? document.documentElement;
  function readDom() {
    domTimer = null;
    const m = /^\/c\/([0-9A-Za-z_-]{1,100})/.exec(location.pathname);
    if (!trafficSeen && observer) observer.observe(root(), { childList: true, subtree: true });
    if (trafficSeen || !known || !allowed() || temporary() || !m) return;
    const turns = [];
    for (const el of document.querySelectorAll('[data-message-author-role]')) {
      const idEl = el.closest('[data-message-id]') ?? el.querySelector('[data-message-id]') ?? el;
      const id = idEl.getAttribute('data-message-id');
      const role = el.getAttribute('data-message-author-role');
      const text = (el.innerText ?? el.textContent ?? '').slice(0, MAX_TEXT);
      if (isId(id) && (role === 'user' || role === 'assistant') && text.trim()) turns.push({ id, role, text });
    }
    if (turns.length === 0) return;
    send({ kind: 'dom', conversation_id: m[1], title: document.title || null, turns });
  }
  const schedule = () => {
    if (trafficSeen || domTimer !== null) return;
    observer?.disconnect();
    domTimer = setTimeout(readDom, DOM_DELAY_MS);
  };
  const start = () => {
    observer = new MutationObserver(schedule);
    schedule();
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start, { once: true });
  else start();
})();
