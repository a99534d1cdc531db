// Content script: capture (isolated world). Receives what the MAIN-world observer (capture-hook.js)
// saw, checks its shape and bounds, and hands it to the service worker (`cache.capture`), which
// stores it in the extension's IndexedDB. When no traffic was seen on a conversation page, the turns
// are read from the DOM instead. Nothing is captured in temporary chats or when capture is off
// (`capture_enabled: false` in `understudy.preferences`). A full disk is shown on the page.
(() => {
  const ext = globalThis.browser ?? globalThis.chrome;
  const SOURCE = 'understudy-capture';
  const PREFS_KEY = 'understudy.preferences';
  const MAX_JSON = 32 << 20;
  const MAX_TEXT = 2 << 20;
  const DOM_DELAY_MS = 1500;
  let enabled = true;
  let trafficSeen = false;

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
      const reply = await ext.runtime.sendMessage({ type: 'cache.capture', capture });
      if (reply && !reply.ok && /quota/i.test(reply.error ?? '')) {
        showProblem('Understudy cannot save this conversation: the extension storage is full.');
      }
    } catch {
      // the extension was reloaded; nothing to do in this page any more
    }
  }

  window.addEventListener('message', (event) => {
    if (event.source !== window || event.origin !== location.origin) return;
    const d = event.data;
    if (!d || typeof d !== 'object' || d.source !== SOURCE) return;
    const capture = validate(d);
    if (!capture || !enabled || temporary()) return;
    trafficSeen = true;
    send(capture);
  });

  ext.runtime.onMessage.addListener((message) => {
    if (message?.type === 'cache.quota') showProblem(String(message.message ?? 'Understudy: storage full'));
    return false;
  });

  // DOM fallback: a conversation page whose traffic was not seen (e.g. served from the page's own
  // cache). Reads the visible turns once the page settles.
  let domTimer = null;
  function readDom() {
    domTimer = null;
    const m = /^\/c\/([0-9A-Za-z_-]{1,100})/.exec(location.pathname);
    if (trafficSeen || !enabled || temporary() || !m) return;
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
    if (!trafficSeen && domTimer === null) domTimer = setTimeout(readDom, DOM_DELAY_MS);
  };
  const start = () => {
    schedule();
    new MutationObserver(schedule).observe(document.body ?? document.documentElement, { childList: true, subtree: true });
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start, { once: true });
  else start();
})();
