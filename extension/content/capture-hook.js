// MAIN-world observer of the conversations the page loads and streams (for the cache). Passive: it
// reads clones of the page's own responses and the body of the page's own requests, never makes a
// request. It forwards, bounded, with window.postMessage({source: 'understudy-capture', ...}):
// - {kind: 'prompt', conversation_id, prompt}: the user's message, the moment it is sent;
// - {kind: 'message', conversation_id, message, prompt, pending}: the latest state of a streamed
//   answer (throttled; the last state always goes out, also when the stream breaks);
// - {kind: 'conversation', json}: the body of GET /backend-api/conversation/<id>.
// Temporary chats are not forwarded. The page can forge anything posted here: the isolated script
// and the Wasm core validate everything.
(() => {
  if (window.__understudyCapture) return;
  Object.defineProperty(window, '__understudyCapture', { value: true });

  const SOURCE = 'understudy-capture';
  const MAX_JSON = 32 << 20;
  const MAX_TEXT = 2 << 20;
  const THROTTLE_MS = 250;
  const SEND = /^\/backend-api\/(?:f\/)?conversation$/;
  const LOAD = /^\/backend-api\/conversation\/([0-9A-Za-z_-]{1,100})$/;
  const nativeFetch = window.fetch;

  const post = (m) => window.postMessage({ source: SOURCE, ...m }, location.origin);
  const temporaryPage = () => new URLSearchParams(location.search).get('temporary-chat') === 'true';
  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : `u-${Date.now()}-${Math.random().toString(16).slice(2)}`);

  function textOf(content) {
    if (!content || typeof content !== 'object') return '';
    if (Array.isArray(content.parts)) return content.parts.filter((p) => typeof p === 'string').join('\n');
    return typeof content.text === 'string' ? content.text : '';
  }

  /** The prompt in a send request body, or null; `temporary` when history is off. */
  function readPrompt(body) {
    if (typeof body !== 'string' || body.length > MAX_JSON) return null;
    let b;
    try {
      b = JSON.parse(body);
    } catch {
      return null;
    }
    if (!b || typeof b !== 'object' || !Array.isArray(b.messages)) return null;
    const m = [...b.messages].reverse().find((x) => x?.author?.role === 'user');
    if (!m) return null;
    const text = textOf(m.content).slice(0, MAX_TEXT);
    if (typeof m.id !== 'string' || !m.id) m.id = newId();
    return {
      temporary: b.history_and_training_disabled === true,
      conversation_id: typeof b.conversation_id === 'string' && b.conversation_id ? b.conversation_id : null,
      prompt: {
        message_id: m.id,
        parent_id: typeof b.parent_message_id === 'string' ? b.parent_message_id : null,
        text,
        model: typeof b.model === 'string' ? b.model : null,
        create_time: Date.now() / 1000,
      },
    };
  }

  // Follows the answer stream, posting the latest state of each message, throttled. The bytes come
  // from the detection hook's shared tap (page-hook.js) when it is there, else from a clone. Lines
  // are cut on bytes; an event is decoded and parsed only when it is posted (at most every
  // THROTTLE_MS per message, plus the last state), except for a short head to learn its message id.
  const DATA = [0x64, 0x61, 0x74, 0x61, 0x3a]; // data:
  const DONE = '[DONE]';
  const ID_RE = /^\s*\{\s*"message"\s*:\s*\{\s*"id"\s*:\s*"([^"\\]{1,200})"/;
  const HEAD_BYTES = 256;

  function answerWatch(sent) {
    const decoder = new TextDecoder();
    const pending = sent.conversation_id ? null : `pending-${sent.prompt.message_id}`;
    const latest = new Map(); // message id -> raw data bytes (or a parsed entry): not posted yet
    const last = new Map(); // message id -> the last raw data bytes (or parsed entry) seen
    const postedAt = new Map();
    const timers = new Map();
    let carry = null;
    let finished = false;
    let closed = false;

    // {conversation_id, message} of one data payload, or null.
    const entryOf = (raw) => {
      if (typeof raw !== 'object' || !(raw instanceof Uint8Array)) return raw;
      let ev;
      try {
        ev = JSON.parse(decoder.decode(raw));
      } catch {
        return null;
      }
      const message = ev?.message;
      if (!message || typeof message !== 'object' || typeof message.id !== 'string') return null;
      if (typeof ev.conversation_id !== 'string') return null;
      return { conversation_id: ev.conversation_id, message };
    };
    const postEntry = (e) => {
      if (e) post({ kind: 'message', conversation_id: e.conversation_id, message: e.message, prompt: sent.prompt, pending });
    };
    const emit = (id) => {
      clearTimeout(timers.get(id));
      timers.delete(id);
      if (!latest.has(id)) return;
      const raw = latest.get(id);
      latest.delete(id);
      postedAt.set(id, Date.now());
      const e = entryOf(raw);
      if (e && last.get(id) === raw) last.set(id, e); // parsed once
      postEntry(e);
    };
    // The head of the last event up to its message id (bytes) and that id: the next events of the
    // same message start with the same bytes, so they are neither decoded nor matched.
    let head = null;
    let headId = null;
    const sameHead = (raw) => {
      if (!head || raw.byteLength <= head.byteLength) return false;
      for (let k = head.byteLength - 1; k >= 0; k--) if (raw[k] !== head[k]) return false;
      return true;
    };
    const onData = (raw) => {
      let item = raw;
      let id;
      let m;
      if (sameHead(raw)) {
        id = headId;
      } else if ((m = ID_RE.exec(decoder.decode(raw.subarray(0, HEAD_BYTES))))) {
        // The id from a short head (ASCII up to the id's closing quote, so the lengths match).
        id = m[1];
        head = /^[\x20-\x7e]*$/.test(m[0]) ? raw.slice(0, m[0].length) : null;
        headId = id;
      } else {
        // An event of another shape is parsed whole (rare, small).
        if (raw.byteLength <= DONE.length + 2 && decoder.decode(raw).trim() === DONE) {
          finished = true;
          close(); // a page may stop reading at [DONE]
          return;
        }
        item = entryOf(raw);
        if (!item) return;
        id = item.message.id;
      }
      latest.set(id, item);
      last.set(id, item);
      const wait = THROTTLE_MS - (Date.now() - (postedAt.get(id) ?? 0));
      if (wait <= 0) emit(id);
      else if (!timers.has(id)) timers.set(id, setTimeout(() => emit(id), wait));
    };
    const line = (b, from, to) => {
      if (to > from && b[to - 1] === 0x0d) to--;
      if (to - from < DATA.length) return;
      for (let k = 0; k < DATA.length; k++) if (b[from + k] !== DATA[k]) return;
      let i = from + DATA.length;
      while (i < to && b[i] === 0x20) i++;
      if (to - i > MAX_JSON) return;
      onData(b.subarray(i, to));
    };
    // The stream ended (or broke: what arrived is posted, still marked in progress).
    function close() {
      if (closed) return;
      closed = true;
      // A stream that ended with [DONE] is complete even if its last event still said in progress.
      if (finished) {
        for (const [id, raw] of last) {
          const e = entryOf(raw);
          if (e?.message.status === 'in_progress') {
            latest.set(id, { ...e, message: { ...e.message, status: 'finished_successfully' } });
          }
        }
      }
      for (const id of [...latest.keys()]) emit(id);
    }
    const api = {
      chunk(value) {
        if (closed || !(value instanceof Uint8Array) || value.byteLength === 0) return;
        let b = value;
        if (carry) {
          b = new Uint8Array(carry.byteLength + value.byteLength);
          b.set(carry);
          b.set(value, carry.byteLength);
          carry = null;
        }
        let from = 0;
        for (let cut = b.indexOf(0x0a); cut >= 0; cut = b.indexOf(0x0a, from)) {
          if (closed) return;
          line(b, from, cut);
          from = cut + 1;
        }
        if (from < b.byteLength && b.byteLength - from <= MAX_JSON) carry = b.slice(from);
      },
      close,
    };
    return api;
  }

  // Without the shared tap: read a clone.
  async function readClone(response, watch) {
    const reader = response.body?.getReader();
    if (!reader) return;
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        watch.chunk(chunk.value);
      }
    } catch {
      // the stream broke
    }
    watch.close();
  }

  window.fetch = async function understudyCapture(input, init) {
    let url;
    try {
      url = new URL(input instanceof Request ? input.url : String(input), location.href);
    } catch {
      return nativeFetch.apply(this, arguments);
    }
    if (url.origin !== location.origin) return nativeFetch.apply(this, arguments);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    if (method === 'POST' && SEND.test(url.pathname)) {
      let sent = null;
      try {
        let body = init?.body;
        if (body === undefined && input instanceof Request) body = await input.clone().text();
        sent = readPrompt(body);
      } catch {
        sent = null;
      }
      if (sent && (sent.temporary || temporaryPage())) sent = null;
      if (sent) post({ kind: 'prompt', conversation_id: sent.conversation_id, prompt: sent.prompt });
      const response = await nativeFetch.apply(this, arguments);
      if (sent && response.ok && (response.headers.get('content-type') ?? '').includes('text/event-stream')) {
        const watch = answerWatch(sent);
        const tap = response[Symbol.for('understudy.tap')];
        if (typeof tap === 'function') tap({ chunk: watch.chunk, close: watch.close });
        else readClone(response.clone(), watch);
      }
      return response;
    }
    if (method === 'GET' && LOAD.test(url.pathname) && !temporaryPage()) {
      const response = await nativeFetch.apply(this, arguments);
      if (response.ok && (response.headers.get('content-type') ?? '').includes('json')) {
        response.clone().text().then((json) => {
          if (json.length <= MAX_JSON) post({ kind: 'conversation', json });
        }, () => {});
      }
      return response;
    }
    return nativeFetch.apply(this, arguments);
  };
})();
