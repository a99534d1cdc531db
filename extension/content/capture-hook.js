//# allFunctionsCalledOnLoad
// MAIN-world observer of the conversations the page loads and streams (for the cache). Passive: it
// reads clones of the page's own responses and the body of the page's own requests, never makes a
// request. It forwards, bounded, with window.postMessage({source: 'understudy-capture', ...}):
// - {kind: 'prompt', conversation_id, prompt}: the user's message, the moment it is sent;
// - {kind: 'message', conversation_id, message, prompt, pending}: the latest state of a streamed
//   answer (a snapshot at most every two seconds; the last state always goes out, also
//   when the stream breaks; when the page is hidden mid-answer, what arrived goes out at once as a
//   DOM event 'understudy-capture-flush' on the document, its `detail` this message as JSON);
// - {kind: 'conversation', json}: the body of GET /backend-api/conversation/<id>.
// Temporary chats are not forwarded. The page can forge anything posted here: the isolated script
// and the Wasm core validate everything.
(() => {
  if (window.__understudyCapture) return;
  Object.defineProperty(window, '__understudyCapture', { value: true });

  const SOURCE = 'understudy-capture';
  const MAX_JSON = 32 << 20;
  const MAX_TEXT = 2 << 20;
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

  // Follows the answer stream and posts the latest state of each message: a snapshot at most every
  // SNAPSHOT_MS (the first one SNAPSHOT_MS into the answer), the last state when the stream ends
  // (also when it breaks), and what had arrived when the page is hidden (a tab closed mid-answer).
  //
  // The bytes come in batches from the detection hook's shared tap (page-hook.js), else from a clone.
  // The tap hands on the stream's latest chunks at each look and the rest at its end, and may pass
  // over the chunks in between (a batch with `gap`): the line a gap cuts is dropped, and a message
  // whose events all fell in gaps keeps the state seen before (the conversation, loaded later, has
  // it whole). Most chunks are passed over whole: a chunk that starts a line with the same head as
  // the last event (`data: {"message": {"id": "<the same id>"`) holds the next states of that
  // message, and only the last of them matters; it is looked up (backwards, from the chunk's end)
  // when a snapshot is due. Other chunks are cut into lines on bytes; an event is decoded and parsed
  // only when it is posted, except for a short head to learn its message id. Most chunks of a batch
  // are not even looked at: when a late chunk of the batch starts a line with the same head, the
  // ones before it are older states of the same message. (A stream sends its messages one after the
  // other; one that sent a message's event, then another's, then the first one's again within one
  // batch would lose the middle one's state.)
  const DATA = [0x64, 0x61, 0x74, 0x61, 0x3a]; // data:
  const DONE = '[DONE]';
  const ID_RE = /^\s*\{\s*"message"\s*:\s*\{\s*"id"\s*:\s*"([^"\\]{1,200})"/;
  const HEAD_BYTES = 256;
  // What a crash of the browser may lose; a closed tab or a broken stream loses nothing.
  const SNAPSHOT_MS = 2000;
  const FLUSH_EVENT = 'understudy-capture-flush';
  const watches = new Set();

  // A tab closed or navigated away mid-answer: what arrived goes out at once, synchronously (a
  // window message would be delivered after the page is gone), as a DOM event the isolated script
  // hears (`detail`: the message as JSON).
  window.addEventListener('pagehide', () => {
    for (const w of watches) w.flush();
  });

  function answerWatch(sent) {
    const decoder = new TextDecoder();
    const pending = sent.conversation_id ? null : `pending-${sent.prompt.message_id}`;
    const latest = new Map(); // message id -> raw data bytes (or a parsed entry): not posted yet
    const last = new Map(); // message id -> the last raw data bytes (or parsed entry) seen
    let carry = null; // the start of a line cut by the end of a chunk
    let lineStart = true; // the next byte starts a line
    let skipped = null; // the last chunk passed over whole
    let postedAt = Date.now(); // the first snapshot is a second into the answer
    let timer = 0;
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
    const messageOf = (e) => ({ kind: 'message', conversation_id: e.conversation_id, message: e.message, prompt: sent.prompt, pending });
    // Every message whose state changed since it was last posted, parsed (once per id).
    const changed = () => {
      resolve();
      const out = [];
      for (const [id, raw] of latest) {
        const e = entryOf(raw);
        if (e && last.get(id) === raw) last.set(id, e);
        if (e) out.push(e);
      }
      latest.clear();
      return out;
    };
    const snapshot = () => {
      clearTimeout(timer);
      timer = 0;
      postedAt = Date.now();
      for (const e of changed()) post(messageOf(e));
    };

    // The head of the last event's line up to its message id (bytes) and that id: the next events
    // of the same message start with the same bytes, so they are neither decoded nor matched.
    let head = null;
    let headId = null;
    const sameHead = (b, from, to) => {
      const n = head.byteLength;
      if (to - from <= n) return false;
      for (let k = n - 1; k >= 0; k--) if (b[from + k] !== head[k]) return false;
      return true;
    };
    const onData = (b, from, i, to) => {
      const raw = b.subarray(i, to);
      let item = raw;
      let id;
      let m;
      if (head && sameHead(b, from, to)) {
        id = headId;
      } else if ((m = ID_RE.exec(decoder.decode(b.subarray(i, Math.min(to, i + HEAD_BYTES)))))) {
        // The id from a short head (ASCII up to the id's closing quote, so the lengths match).
        id = m[1];
        head = /^[\x20-\x7e]*$/.test(m[0]) ? b.slice(from, i + m[0].length) : null;
        headId = id;
      } else {
        // An event of another shape is parsed whole (rare, small).
        if (to - i <= DONE.length + 2 && decoder.decode(raw).trim() === DONE) {
          finished = true;
          return;
        }
        item = entryOf(raw);
        if (!item) return;
        id = item.message.id;
      }
      latest.set(id, item);
      last.set(id, item);
    };
    // One line b[from, to) (without its line feed).
    const line = (b, from, to) => {
      if (to > from && b[to - 1] === 0x0d) to--;
      if (to - from < DATA.length) return;
      for (let k = 0; k < DATA.length; k++) if (b[from + k] !== DATA[k]) return;
      let i = from + DATA.length;
      while (i < to && b[i] === 0x20) i++;
      if (to - i > MAX_JSON) return;
      onData(b, from, i, to);
    };
    const lines = (b) => {
      let from = 0;
      for (let cut = b.indexOf(0x0a); cut >= 0; cut = b.indexOf(0x0a, from)) {
        line(b, from, cut);
        from = cut + 1;
      }
      return from;
    };
    // Whether a chunk that starts a line starts with the head of the last event (after the blank
    // line that ends an event). Only the end of the head is compared (the end of the id, its quote):
    // a chunk passed over has its last event's id checked in full when resolved.
    const SAME_END = 12;
    const LOOK_BACK = 8;
    const sameMessage = (c) => {
      if (!head) return false;
      let from = 0;
      while (from < 2 && (c[from] === 0x0a || c[from] === 0x0d)) from++;
      const n = head.byteLength;
      if (c.byteLength - from <= n || c[from] !== head[0]) return false;
      for (let k = n - 1, stop = Math.max(1, n - SAME_END); k >= stop; k--) if (c[from + k] !== head[k]) return false;
      return true;
    };
    // The chunk passed over: its last event (found backwards from its end) is the message's latest
    // state; if that event is another message's, the chunk is cut into lines after all.
    function resolve() {
      const c = skipped;
      if (!c) return;
      skipped = null;
      const end = c.lastIndexOf(0x0a) + 1;
      if (end < c.byteLength) carry = c.byteLength - end <= MAX_JSON ? c.slice(end) : null;
      for (let to = end; to > 0;) {
        const nl = to - 1; // the line feed that ends this line
        const from = nl > 0 ? c.lastIndexOf(0x0a, nl - 1) + 1 : 0;
        const stop = nl > from && c[nl - 1] === 0x0d ? nl - 1 : nl;
        if (stop - from >= DATA.length) {
          if (head && sameHead(c, from, stop)) {
            line(c, from, nl);
            return;
          }
          let i = from + DATA.length;
          while (i < stop && c[i] === 0x20) i++;
          if (!(stop - i <= DONE.length + 2 && decoder.decode(c.subarray(i, stop)).trim() === DONE)) {
            lines(c.subarray(0, end));
            return;
          }
          finished = true;
        }
        to = from;
      }
    }
    const doneAtEnd = (c) => decoder.decode(c.byteLength > 16 ? c.subarray(c.byteLength - 16) : c).includes(DONE);
    // `other`: c starts a line and is known not to continue the last event's message.
    function take(c, other = false) {
      let b = c;
      if (!lineStart) {
        resolve();
        const nl = b.indexOf(0x0a);
        const size = (carry?.byteLength ?? 0) + (nl < 0 ? b.byteLength : nl);
        let whole = null;
        if (size <= MAX_JSON && (carry || size === 0)) {
          whole = new Uint8Array(size);
          if (carry) whole.set(carry);
          whole.set(nl < 0 ? b : b.subarray(0, nl), carry?.byteLength ?? 0);
        }
        carry = null;
        if (nl < 0) {
          carry = whole;
          return;
        }
        if (whole) line(whole, 0, whole.byteLength);
        b = b.subarray(nl + 1);
        lineStart = true;
        if (b.byteLength === 0) return;
      }
      if (!other && sameMessage(b)) {
        skipped = b; // replaces an earlier one: its states are older
        lineStart = b[b.byteLength - 1] === 0x0a;
        return;
      }
      resolve();
      const from = lines(b);
      if (from < b.byteLength) {
        carry = b.byteLength - from <= MAX_JSON ? b.slice(from) : null;
        lineStart = false;
      }
    }
    // The stream ended (or broke: what arrived is posted, still marked in progress).
    function close() {
      if (closed) return;
      closed = true;
      watches.delete(api);
      resolve();
      // A stream that ended with [DONE] is complete even if its last event still said in progress.
      if (finished) {
        for (const [id, raw] of last) {
          const e = entryOf(raw);
          if (e?.message.status === 'in_progress') {
            latest.set(id, { ...e, message: { ...e.message, status: 'finished_successfully' } });
          }
        }
      }
      snapshot();
    }
    const api = {
      batch(list, gap) {
        if (closed || !Array.isArray(list)) return;
        if (gap === true) {
          // Chunks were passed over before this batch: the line it starts in is not whole.
          resolve();
          carry = null;
          lineStart = false;
        }
        // Messages come one after the other: when a chunk of this batch starts a line with the head
        // of the last event, the chunks before it hold older states of that same message and are
        // passed over unread (looked for from the batch's end, over a few chunks).
        let start = 0;
        if (head) {
          for (let i = list.length - 1, stop = Math.max(1, list.length - LOOK_BACK); i >= stop; i--) {
            const c = list[i];
            const p = list[i - 1];
            if (!(c instanceof Uint8Array) || !(p instanceof Uint8Array)) break;
            if (p.byteLength > 0 && p[p.byteLength - 1] === 0x0a && sameMessage(c)) {
              start = i;
              lineStart = true;
              carry = null;
              break;
            }
          }
        }
        // The usual chunk (it continues the same message from a line start) is handled here, inline.
        for (let i = start; i < list.length; i++) {
          const c = list[i];
          if (!(c instanceof Uint8Array) || c.byteLength === 0) continue;
          if (!lineStart) {
            take(c);
          } else if (sameMessage(c)) {
            skipped = c; // replaces an earlier one: its states are older
            lineStart = c[c.byteLength - 1] === 0x0a;
          } else {
            take(c, true);
          }
        }
        // A [DONE] at the end of a chunk passed over is found when it is resolved.
        if (skipped && doneAtEnd(skipped)) resolve();
        if (finished) {
          close(); // a page may stop reading at [DONE]
          return;
        }
        if (latest.size === 0 && !skipped) return;
        const wait = SNAPSHOT_MS - (Date.now() - postedAt);
        if (wait <= 0) snapshot();
        else if (!timer) timer = setTimeout(snapshot, wait);
      },
      close,
      flush() {
        if (closed) return;
        for (const e of changed()) {
          try {
            document.dispatchEvent(new CustomEvent(FLUSH_EVENT, { detail: JSON.stringify({ source: SOURCE, ...messageOf(e) }) }));
          } catch {
            // not serialisable: nothing to keep
          }
        }
      },
    };
    watches.add(api);
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
        watch.batch([chunk.value]);
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
        if (typeof tap === 'function') tap({ batch: watch.batch, close: watch.close });
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
