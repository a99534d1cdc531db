//# allFunctionsCalledOnLoad
// Content script: capture (isolated world). Receives what the MAIN-world observer (capture-hook.js)
// saw, checks its shape and bounds, and hands it to the service worker, which decodes it with the
// Wasm core and stores it in the extension's IndexedDB:
// - a page stream ({kind: 'stream', ...}) goes out as `cache.stream` {stream: {id, seq, stream_kind,
//   path, request, encoding?, text | frames, end}} (stream_kind, path, request and the text's
//   encoding on seq 0 only; a line-delta encoded text is passed on as it came). Each live
//   stream's text so far is kept here (at most MAX_STREAM characters: a stream beyond that is ended
//   as broken and no longer followed; a socket's oldest frames are let go instead), so that when
//   the worker answers {resync: true} (it restarted and lost the stream) everything is sent again
//   from seq 0. One batch per stream is in flight at a
//   time (what arrives meanwhile goes with the next), so the worker sees each stream in order; only
//   the pagehide flush goes at once. While a stream is open (and had data in the last
//   KEEPALIVE_FOR_MS) an empty batch goes out when nothing else did for KEEPALIVE_MS, which keeps
//   the worker alive through a thinking model's silence. `seq` here is this script's own count.
// - a loaded conversation ({kind: 'conversation', json, path}) goes out as `cache.capture`.
// - DOM fallback: the turns shown on a conversation page (both renderers, DOM_ADAPTER; on another
//   chat site, its adapter's `user_message` and `message_body`), read when the page has settled
//   and no stream is live, go out as a `dom` capture when they changed. Traffic
//   does not stop it: it fills what traffic did not give (older turns of a long chat); the core
//   keeps what traffic gave over what the DOM shows.
// The page's answer streams go to the worker in every case but a pause: its core decodes them to
// judge how each turn ended (detection: its reply says, and `UnderstudyDetect.turnEnded` hears it;
// bytes seen are `UnderstudyDetect.activity()`), and keeps them only when it may. Nothing is kept
// in temporary chats, when capture is off (the one switch: the settings' `capture.enabled`, as
// `UnderstudyPage.settings()` gives it, live) or while Understudy is paused
// (`UnderstudyPage.paused()`: the streams kept here are dropped and nothing is sent); conversation
// bodies and DOM turns are not even sent then. What arrives before the settings are known waits for
// them. A full disk, or the worker refusing this page's captures for a minute (more than a chat
// ever sends: `cache.quota` with its message), is shown on the page.
(() => {
  const ext = UnderstudyPage.ext;
  const I18n = globalThis.understudyI18n; // the catalogue (extension/i18n/notice.json)
  const SOURCE = 'understudy-capture';
  const FLUSH_EVENT = 'understudy-capture-flush';
  const MAX_JSON = 32 << 20;
  const MAX_TEXT = 2 << 20;
  const MAX_STREAM = 32 << 20; // characters kept per stream
  const MAX_STREAMS = 32;
  const MAX_EARLY = 32;
  const MAX_PATH = 2048;
  const MAX_RESYNCS = 3;
  const KEEPALIVE_MS = 20000;
  const KEEPALIVE_FOR_MS = 5 * 60 * 1000;
  const DOM_QUIET_MS = 1500;
  const DOM_PROBE_MS = 300;
  const LIVE_MS = 5000; // a stream with data this recent is live (a socket may stay open all day)
  const STREAM_KINDS = ['send', 'resume', 'ws'];
  const ENDS = ['eof', 'abort', 'error', 'pagehide', 'close'];
  // Where each renderer keeps the turns (reference: chatgpt-page.md section 6).
  const DOM_ADAPTER = {
    message: '[data-message-author-role]', // legacy: role on it, data-message-id on it or around it
    unit: '[data-turn-key]', // search-unit: one root per exchange, keyed by the user message id
    userBubble: '[data-user-message-bubble="true"]',
    assistant: '[data-chatgpt-selection-message-id]',
    assistantBody: '[data-markdown-text-style="assistant-message"]',
  };

  let known = false; // the page's settings arrived
  const early = []; // captures that arrived before
  const streams = new Map(); // id -> stream kept
  const allowed = () => !UnderstudyPage.paused() && UnderstudyPage.settings()?.capture?.enabled !== false;

  const temporary = () => new URLSearchParams(location.search).get('temporary-chat') === 'true';
  const isId = (s) => typeof s === 'string' && s.length > 0 && s.length <= 200;
  const isPath = (s) => typeof s === 'string' && s.length <= MAX_PATH && s.startsWith('/');
  const isStrings = (a) => Array.isArray(a) && a.every((x) => typeof x === 'string');

  // The problem shown on the page: one box (a later problem replaces the text), at the top so it
  // never covers the composer, with a button that dismisses it.
  function showProblem(text) {
    document.documentElement.dataset.understudyCacheError = 'quota';
    let box = document.getElementById('understudy-cache-problem');
    if (!box) {
      box = document.createElement('div');
      box.id = 'understudy-cache-problem';
      box.setAttribute('role', 'alert');
      box.style.cssText = 'position:fixed;top:12px;right:12px;z-index:2147483647;max-width:360px;padding:10px 30px 10px 14px;'
        + 'background:#7a1f1f;color:#fff;font:13px system-ui,sans-serif;border-radius:8px;box-shadow:0 2px 8px #0005';
      const close = document.createElement('button');
      close.type = 'button';
      close.textContent = '×';
      close.setAttribute('aria-label', I18n.t('notice_dismiss'));
      close.style.cssText = 'position:absolute;top:4px;right:6px;border:0;background:none;color:inherit;font:16px system-ui,sans-serif;cursor:pointer';
      close.addEventListener('click', () => box.remove());
      box.append(document.createElement('span'), close);
      document.documentElement.append(box);
    }
    box.firstChild.textContent = text;
  }
  const FULL = () => I18n.t('notice_storage_full');
  const checkReply = (reply) => {
    if (reply && !reply.ok && /quota/i.test(reply.error ?? '')) showProblem(FULL());
  };

  async function send(capture) {
    try {
      checkReply(await UnderstudyPage.request({ type: 'cache.capture', capture }));
    } catch {
      // the extension was reloaded; nothing to do in this page any more
    }
  }

  // ---- streams ----
  const open = () => [...streams.values()].filter((st) => !st.end);

  /** A stream message of the page, checked; null if its shape is wrong. */
  function checkStream(d) {
    if (!Number.isInteger(d.id) || d.id < 0 || d.id > 0xffffffff || !Number.isSafeInteger(d.seq) || d.seq < 0) return null;
    if (d.end !== undefined && !ENDS.includes(d.end)) return null;
    if (d.seq === 0) {
      if (!STREAM_KINDS.includes(d.stream_kind) || !isPath(d.path)) return null;
      if (d.request !== null && !(typeof d.request === 'string' && d.request.length <= MAX_JSON)) return null;
      if (d.temporary !== undefined && typeof d.temporary !== 'boolean') return null;
      if (d.encoding !== undefined && (d.encoding !== 'lines' || d.stream_kind !== 'send')) return null;
    }
    if (d.text !== undefined && typeof d.text !== 'string') return null;
    if (d.frames !== undefined && !isStrings(d.frames)) return null;
    return d;
  }

  function receiveStream(d, flushing) {
    let st = streams.get(d.id);
    if (d.seq === 0) {
      // A new stream (an id seen before is a repeat or a forgery).
      if (st || streams.size >= MAX_STREAMS) return;
      st = {
        id: d.id, kind: d.stream_kind, path: d.path, request: d.request, temporary: d.temporary === true || temporary(), encoding: d.encoding,
        pageSeq: 0, parts: [], size: 0, sent: 0, seq: 0, end: null, endSent: false,
        inflight: 0, resyncs: 0, dataAt: Date.now(), sentAt: 0,
      };
      streams.set(d.id, st);
    } else if (!st || st.end) {
      return;
    }
    if (d.seq < st.pageSeq) return; // a repeat (the flush on pagehide repeats what was not delivered)
    if (d.seq > st.pageSeq) {
      // A post missing (or forged): what follows cannot be decoded.
      st.end = 'error';
    } else {
      st.pageSeq += 1;
      const add = st.kind === 'ws' ? d.frames ?? [] : d.text ? [d.text] : [];
      for (const x of add) {
        st.size += x.length;
        st.parts.push(x);
      }
      if (st.size > MAX_STREAM && st.kind === 'ws') {
        // A socket may stay open all day: its oldest frames the worker has are let go (a resync
        // then starts from the oldest kept).
        let n = 0;
        while (st.size > MAX_STREAM && n < st.sent) st.size -= st.parts[n++].length;
        st.parts.splice(0, n);
        st.sent -= n;
      }
      if (st.size > MAX_STREAM) {
        // Too long to keep: what did not fit is dropped, the stream ended as broken.
        st.parts.length -= add.length;
        st.size = 0;
        st.end = 'error';
      }
      if (add.length > 0) {
        st.dataAt = Date.now();
        UnderstudyDetect.activity();
      }
      if (d.end && !st.end) st.end = d.end;
    }
    pump(st, flushing);
    keepAlive();
    if (st.end) domSoon();
  }

  // Sends what the worker has not had of `st` (everything from seq 0 after a resync); one batch in
  // flight at a time, except `now` (the page is going away). `ping`: an empty batch is fine.
  function pump(st, now = false, ping = false) {
    if (!known || (st.inflight > 0 && !now) || streams.get(st.id) !== st) return;
    const fresh = st.sent < st.parts.length;
    if (st.seq > 0 && !fresh && !(st.end && !st.endSent) && !ping) return;
    const message = { id: st.id, seq: st.seq };
    if (st.seq === 0) Object.assign(message, { stream_kind: st.kind, path: st.path, request: st.request, temporary: st.temporary });
    if (st.seq === 0 && st.encoding) message.encoding = st.encoding; // the text's ops follow one another
    const parts = st.parts.slice(st.sent);
    if (st.kind === 'ws') message.frames = parts;
    else message.text = parts.join('');
    if (st.end) message.end = st.end;
    st.sent = st.parts.length;
    st.seq += 1;
    st.endSent = !!st.end;
    st.sentAt = Date.now();
    // The text sent is kept joined (one string), so a long stream is not thousands of pieces.
    if (st.kind !== 'ws' && st.parts.length > 64) {
      st.parts = [st.parts.join('')];
      st.sent = 1;
    }
    st.inflight += 1;
    const done = (reply) => {
      st.inflight -= 1;
      checkReply(reply);
      const ends = reply?.ok ? reply.value?.turns : null;
      if (Array.isArray(ends)) for (const end of ends) if (typeof end === 'string') UnderstudyDetect.turnEnded(end);
      if (reply?.ok && reply.value?.resync === true) {
        // The worker lost the stream (it restarted): everything again, from seq 0.
        if (++st.resyncs > MAX_RESYNCS) {
          streams.delete(st.id);
          return;
        }
        st.seq = 0;
        st.sent = 0;
        st.endSent = false;
      } else if (st.endSent && st.inflight === 0) {
        streams.delete(st.id);
        return;
      }
      pump(st);
    };
    UnderstudyPage.request({ type: 'cache.stream', stream: message }).then(done, () => {
      // the extension was reloaded: nothing more to send
      streams.delete(st.id);
    });
  }

  // Empty batches for the open streams while the worker might otherwise stop.
  let keepTimer = 0;
  function keepAlive() {
    if (keepTimer) return;
    keepTimer = setInterval(() => {
      const now = Date.now();
      const alive = open().filter((st) => now - st.dataAt < KEEPALIVE_FOR_MS);
      if (alive.length === 0) {
        clearInterval(keepTimer);
        keepTimer = 0;
        return;
      }
      if (!known || UnderstudyPage.paused()) return;
      for (const st of alive) if (st.inflight === 0 && st.seq > 0 && now - st.sentAt >= KEEPALIVE_MS) pump(st, false, true);
    }, KEEPALIVE_MS / 4);
  }

  const drop = () => {
    streams.clear();
    early.length = 0;
  };
  UnderstudyPage.onPause((paused) => {
    if (paused) drop();
  });

  // ---- page messages ----
  /** A conversation capture to send, or null if the shape is wrong. Only known fields are kept. */
  function checkConversation(d) {
    if (typeof d.json !== 'string' || d.json.length > MAX_JSON) return null;
    if (d.path !== undefined && !isPath(d.path)) return null;
    return d.path === undefined ? { kind: 'conversation', json: d.json } : { kind: 'conversation', json: d.json, path: d.path };
  }

  function receive(d, flushing = false) {
    if (!d || typeof d !== 'object' || d.source !== SOURCE) return;
    if (UnderstudyPage.paused()) {
      drop();
      return;
    }
    if (d.kind === 'stream') {
      // For detection as well: sent even when nothing is kept (the worker decides).
      const s = checkStream(d);
      if (s) receiveStream(s, flushing);
    } else if (d.kind === 'conversation') {
      if (temporary() || (known && !allowed())) return;
      const capture = checkConversation(d);
      if (!capture) return;
      if (known) send(capture);
      else if (early.length < MAX_EARLY) early.push(capture);
    }
  }
  // The MAIN-world observer keeps the stream posts it made until it hears they arrived (it sends
  // again, with its pagehide flush, those that did not): said here as each one is heard.
  const SEEN_EVENT = 'understudy-capture-seen';
  window.addEventListener('message', (event) => {
    if (event.source !== window || event.origin !== location.origin) return;
    const d = event.data;
    if (d?.source === SOURCE && d.kind === 'stream' && Number.isInteger(d.id) && Number.isSafeInteger(d.seq)) {
      document.dispatchEvent(new CustomEvent(SEEN_EVENT, { detail: `${d.id}:${d.seq}` }));
    }
    receive(d);
  });
  // What the MAIN-world observer flushes when the page is hidden mid-answer (synchronous).
  document.addEventListener(FLUSH_EVENT, (event) => {
    if (typeof event.detail !== 'string' || event.detail.length > MAX_JSON) return;
    let d;
    try {
      d = JSON.parse(event.detail);
    } catch {
      return; // not JSON
    }
    receive(d, true);
  });
  UnderstudyPage.onReady(() => {
    known = true;
    if (UnderstudyPage.paused()) {
      drop();
      return;
    }
    if (allowed() && !temporary()) for (const capture of early.splice(0)) send(capture);
    else early.length = 0;
    for (const st of streams.values()) pump(st);
  });

  ext.runtime.onMessage.addListener((message) => {
    if (message?.type === 'cache.quota') showProblem(String(message.message ?? I18n.t('notice_storage_full_short')));
    return false;
  });

  // ---- DOM fallback ----
  // The turns shown, in page order, from both renderers: [{id, role, text}].
  const textOf = (el) => (el.innerText ?? el.textContent ?? '').slice(0, MAX_TEXT);
  function domTurns() {
    const turns = [];
    const seen = new Set();
    const add = (id, role, el) => {
      if (!isId(id) || seen.has(id) || !el) return;
      const text = textOf(el);
      if (!text.trim()) return;
      seen.add(id);
      turns.push({ id, role, text });
    };
    for (const el of document.querySelectorAll(`${DOM_ADAPTER.unit}, ${DOM_ADAPTER.message}`)) {
      if (el.matches(DOM_ADAPTER.unit)) {
        add(el.getAttribute('data-turn-key'), 'user', el.querySelector(DOM_ADAPTER.userBubble));
        const answers = el.querySelectorAll(DOM_ADAPTER.assistant);
        const bodies = el.querySelectorAll(DOM_ADAPTER.assistantBody);
        for (const a of answers) {
          let body = a.matches(DOM_ADAPTER.assistantBody) ? a : a.querySelector(DOM_ADAPTER.assistantBody) ?? a.closest(DOM_ADAPTER.assistantBody);
          if (!body && answers.length === 1 && bodies.length > 0) body = bodies[bodies.length - 1];
          add(a.getAttribute('data-chatgpt-selection-message-id'), 'assistant', body);
        }
      } else {
        const role = el.getAttribute('data-message-author-role');
        if (role !== 'user' && role !== 'assistant') continue;
        const idEl = el.closest('[data-message-id]') ?? el.querySelector('[data-message-id]') ?? el;
        add(idEl.getAttribute('data-message-id'), role, el);
      }
    }
    return turns;
  }

  // Another chat site's turns, from its adapter's selectors (`user_message`, `message_body`), the
  // outermost of each in page order: [{id: '', role, text}] (the worker's core names them and the
  // conversation from the tab's URL). A site whose adapter knows no user turn gives none.
  function siteTurns(selectors) {
    const user = selectors?.user_message;
    const body = selectors?.message_body;
    if (!user || !body) return [];
    const either = `${user}, ${body}`;
    const turns = [];
    for (const el of document.querySelectorAll(either)) {
      if (el.parentElement?.closest(either)) continue; // inside a turn already read
      const text = textOf(el);
      if (text.trim()) turns.push({ id: '', role: el.matches(user) ? 'user' : 'assistant', text });
    }
    return turns;
  }

  let lastDom = null; // what was sent last: {conversation_id, turns} as JSON
  function readDom() {
    const adapter = typeof UnderstudyDetect === 'object' ? UnderstudyDetect.adapter() : null;
    if (adapter && adapter.site !== 'chatgpt') {
      readSiteDom(adapter);
      return;
    }
    const m = /(?:^|\/)c\/([0-9A-Za-z_-]{1,100})(?:\/|$)/.exec(location.pathname);
    if (!m || !known || !allowed() || temporary()) return;
    const now = Date.now();
    if (open().some((st) => now - st.dataAt < LIVE_MS)) {
      domSoon(); // again once the stream is quiet
      return;
    }
    const turns = domTurns();
    if (turns.length === 0) return;
    const key = JSON.stringify([m[1], turns]);
    if (key === lastDom) return;
    lastDom = key;
    send({ kind: 'dom', conversation_id: m[1], title: document.title || null, turns });
  }

  function readSiteDom(adapter) {
    if (!known || !allowed()) return;
    const now = Date.now();
    if (open().some((st) => now - st.dataAt < LIVE_MS)) {
      domSoon(); // again once the stream is quiet
      return;
    }
    const turns = siteTurns(adapter.selectors);
    if (turns.length === 0) return;
    const key = JSON.stringify([location.pathname, turns]);
    if (key === lastDom) return;
    lastDom = key;
    // With the address it was read at: the worker files it under that conversation only if the
    // tab still shows it.
    send({ kind: 'dom', conversation_id: '', title: document.title || null, turns, url: location.href });
  }

  // The DOM is read once it has settled: a mutation disconnects the observer and waits
  // DOM_QUIET_MS; then the observer listens DOM_PROBE_MS more, and a mutation then starts the wait
  // again. So a streamed answer's thousands of mutations cost a call or two, and the DOM is read
  // when it stands still (never while a stream is live: then it waits again).
  let observer = null;
  let waitTimer = 0;
  let probeTimer = 0;
  const root = () => document.body ?? document.documentElement;
  function domSoon() {
    if (!observer) return;
    observer.disconnect();
    clearTimeout(probeTimer);
    probeTimer = 0;
    clearTimeout(waitTimer);
    waitTimer = setTimeout(() => {
      waitTimer = 0;
      observer.observe(root(), { childList: true, subtree: true, characterData: true });
      probeTimer = setTimeout(() => {
        probeTimer = 0;
        readDom();
      }, DOM_PROBE_MS);
    }, DOM_QUIET_MS);
  }
  const start = () => {
    observer = new MutationObserver(domSoon);
    domSoon();
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start, { once: true });
  else start();
})();
