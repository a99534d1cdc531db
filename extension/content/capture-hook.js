//# allFunctionsCalledOnLoad
// MAIN-world observer of the conversations the page loads and streams (for the cache). Passive: it
// reads the page's own traffic (the detection hook's shared tap, clones of responses, the bodies of
// the page's own requests, the frames of its sockets, the text of another site's XMLHttpRequest
// sends) and never makes a request. It parses nothing: the worker's core decodes the streams. It
// posts with window.postMessage({source: 'understudy-capture', ...}):
// - {kind: 'stream', id, seq, stream_kind?, path?, request?, temporary?, text?, frames?, end?}: one
//   stream of the page, in order (seq 0, 1, 2, ...). `id` is a u32 unique in this tab. seq 0 carries
//   stream_kind ('send': POST .../f/conversation, or another site's send (SITE_STREAMS); 'resume':
//   POST .../f/conversation/resume; 'ws': a socket to a WEBSOCKET_HOSTS host, or a site's own
//   answer socket with the frames the page sends on it among the others), path (the URL's pathname), request (the request body as
//   text, or null) and temporary (the page is a temporary chat); `text` is the stream's text since
//   the last post (send, resume: UTF-8 decoded with one streaming TextDecoder), `frames` the
//   socket's text frames since the last post (ws); `end` ('eof' | 'abort' | 'error' | 'pagehide' |
//   'close') is on the last post. A snapshot site's send has `encoding: 'lines'` on seq 0: its
//   `text` is then line-delta encoded (below). A send is posted at once with its request (its prompt is kept even
//   when the send fails), then about once a second while bytes flow (at the detection hook's ticks
//   once LIVE_POST_MS passed since the last post; a clone read without a tap every BATCH_MS), and
//   at once at the end (also an abort or an error). When the page is hidden (a tab closed or navigated
//   away mid-answer), what arrived goes out synchronously (a window message would be delivered after
//   the page is gone) as the DOM event 'understudy-capture-flush' on the document, its `detail` the
//   same message as JSON, with end 'pagehide' (and before it, again, the stream posts not delivered
//   yet: a repeated seq is to be ignored).
// - {kind: 'conversation', json, path}: the body of a conversation the page loads (GET
//   /backend-api/conversations/{id}, .../conversations/{id}/messages?before=..., or the singular
//   /backend-api/conversation/{id}); path: the URL's pathname and search. (Another site's reads:
//   read-hook.js.)
// The page can forge anything posted here: the isolated script and the Wasm core validate everything.
(() => {
  if (window.__understudyCapture) return;
  Object.defineProperty(window, '__understudyCapture', { value: true });

  const SOURCE = 'understudy-capture';
  const FLUSH_EVENT = 'understudy-capture-flush';
  const MAX_JSON = 32 << 20;
  const BATCH_MS = 500;
  const LIVE_POST_MS = 1000; // a live send's text is posted about this often
  const SEND = /^\/(?:backend-api|backend-anon|backend-alt)\/(?:f\/)?conversation(\/resume)?$/;
  const LOAD = /^\/backend-api\/(?:conversations\/[0-9A-Za-z_-]{1,100}(?:\/messages)?|conversation\/[0-9A-Za-z_-]{1,100})$/;
  // The other chat sites' streams, by host: {site, transport ('fetch' | 'xhr' | 'websocket'), sends:
  // [RegExp source of a send's pathname]}, written in at build time from their adapters
  // (src/detect/rules/<site>.json, `conversation_send` endpoints; extension/sites.mjs). A send is
  // posted as stream_kind 'send' and decoded by the worker with the site's decoder.
  const SITE_STREAMS = /*SITE_STREAMS*/{};
  const siteStream = Object.hasOwn(SITE_STREAMS, location.host) ? SITE_STREAMS[location.host] : null;
  const siteSends = (siteStream?.sends ?? []).map((p) => new RegExp(p));
  const isSiteSend = (pathname) => siteSends.some((r) => r.test(pathname));
  // Hosts whose sockets carry the answer when a send hands it off (reference section 3).
  const WEBSOCKET_HOSTS = ['ws.chatgpt.com'];
  const TAP = Symbol.for('understudy.tap');
  const nativeFetch = window.fetch;
  const origin = location.origin;

  const post = (m) => window.postMessage({ source: SOURCE, ...m }, origin);
  // Stream posts not delivered yet (a window message is delivered in a later task: one posted just
  // before the page is hidden would be lost, and the flush after it would leave a hole). The
  // isolated script says which it got (the DOM event SEEN_EVENT on the document, its detail
  // '<id>:<seq>', dispatched as it hears the post: this world never copies the posts back); those
  // not said when the page is hidden go out again with the flush (the isolated script ignores a
  // repeat). A page can forge that event: it could as well keep the posts from the isolated script.
  const SEEN_EVENT = 'understudy-capture-seen';
  const unseen = [];
  const postStream = (m) => {
    if (unseen.push(m) > 256) unseen.shift(); // delivered long ago (a page that hides messages from us)
    post(m);
  };
  document.addEventListener(SEEN_EVENT, (event) => {
    const m = typeof event.detail === 'string' ? /^(\d{1,10}):(\d{1,16})$/.exec(event.detail) : null;
    if (!m) return;
    const i = unseen.findIndex((u) => u.id === Number(m[1]) && u.seq === Number(m[2]));
    if (i >= 0) unseen.splice(0, i + 1);
  });
  const flushEvent = (m) => {
    try {
      document.dispatchEvent(new CustomEvent(FLUSH_EVENT, { detail: JSON.stringify({ source: SOURCE, ...m }) }));
    } catch {
      // not serialisable: nothing to keep
    }
  };
  const temporaryPage = () => new URLSearchParams(location.search).get('temporary-chat') === 'true';
  // Stream ids start at a random u32, so a page loaded again in the same tab does not reuse them.
  let nextId = crypto.getRandomValues(new Uint32Array(1))[0];
  const newId = () => {
    const id = nextId;
    nextId = (nextId + 1) >>> 0;
    return id;
  };

  // ---- line-delta encoding (snapshot sites) ----
  // A site whose frames are snapshots (SITE_STREAMS `snapshot`: Gemini, Perplexity) sends each line
  // again with a little more in it: its text is handed over encoded, so the page pays for the new
  // part only (the port's serialisation costs per character). The encoding knows nothing of the
  // site's format: the text is cut at '\n' only, and a segment of a line (from the line's offset
  // `o` to its '\n' or the batch's end) may copy the start of the latest complete line of at least
  // MIN_LINE units (`ref`) from `o` on, and, when the line is complete, the end of `ref`. Ops, one
  // after another (a batch's ops follow the last batch's): `=<n>,<n units>` literal text, `<<n>,`
  // n units of ref from the current line's offset, `><n>,` the last n units of ref. Lengths count
  // UTF-16 units. The worker decodes it (sw/lines.js, the same line state) before its core reads
  // the stream: every character reaches it, in order.
  const MIN_LINE = 64;
  const MIN_COPY = 32;
  const lineState = () => ({
    cur: '', // the line so far (no '\n' yet)
    ref: '', // the latest complete line of MIN_LINE units or more
    feed(piece) {
      const k = piece.lastIndexOf('\n');
      if (k < 0) {
        this.cur += piece;
        return;
      }
      for (let end = k; ;) {
        const nl = end > 0 ? piece.lastIndexOf('\n', end - 1) : -1;
        if (nl < 0) {
          if (this.cur.length + end >= MIN_LINE) this.ref = this.cur + piece.slice(0, end);
          break;
        }
        if (end - nl - 1 >= MIN_LINE) {
          this.ref = piece.slice(nl + 1, end);
          break;
        }
        end = nl;
      }
      this.cur = piece.slice(k + 1);
    },
  });
  // How many units a[ai..] and b[bi..] have in common from the start (at most max), compared a
  // block at a time (native string comparison), then narrowed down; from `hint` on when the first
  // `hint` units are the same (a snapshot's line shares about as much with the last as that did).
  function commonStart(a, ai, b, bi, max, hint) {
    let k = hint > 0 && hint <= max && a.slice(ai, ai + hint) === b.slice(bi, bi + hint) ? hint : 0;
    for (let step = 32; k < max; step *= 2) {
      const n = Math.min(step, max - k);
      if (a.slice(ai + k, ai + k + n) === b.slice(bi + k, bi + k + n)) {
        k += n;
        continue;
      }
      for (let hi = k + n; hi - k > 1;) {
        const m = (k + hi) >> 1;
        if (a.slice(ai + k, ai + m) === b.slice(bi + k, bi + m)) k = m;
        else hi = m;
      }
      return k;
    }
    return k;
  }
  // The same from the ends a[..ae) and b[..be).
  function commonEnd(a, ae, b, be, max, hint) {
    let k = hint > 0 && hint <= max && a.slice(ae - hint, ae) === b.slice(be - hint, be) ? hint : 0;
    for (let step = 32; k < max; step *= 2) {
      const n = Math.min(step, max - k);
      if (a.slice(ae - k - n, ae - k) === b.slice(be - k - n, be - k)) {
        k += n;
        continue;
      }
      for (let hi = k + n; hi - k > 1;) {
        const m = (k + hi) >> 1;
        if (a.slice(ae - m, ae - k) === b.slice(be - m, be - k)) k = m;
        else hi = m;
      }
      return k;
    }
    return k;
  }
  const lineEncoder = () => {
    const st = lineState();
    let lastStart = 0; // what the last encoded line had in common with its ref, at the start
    let lastEnd = 0; // and at the end
    return {
      encode(text) {
        const ops = [];
        let lit = 0; // text[lit..] is not encoded yet
        const literal = (to) => {
          if (to > lit) ops.push(`=${to - lit},`, text.slice(lit, to));
        };
        for (let i = 0; i < text.length;) {
          const nl = text.indexOf('\n', i);
          const end = nl < 0 ? text.length : nl;
          const { ref } = st;
          const o = st.cur.length;
          const n = end - i;
          if (n >= MIN_LINE && ref.length - o >= MIN_COPY) {
            let p = commonStart(text, i, ref, o, Math.min(n, ref.length - o), lastStart);
            if (p < MIN_COPY) p = 0;
            let e = nl < 0 ? 0 : commonEnd(text, end, ref, ref.length, Math.min(n - p, ref.length), lastEnd);
            if (e < MIN_COPY) e = 0;
            lastStart = p;
            lastEnd = e;
            if (p || e) {
              literal(i);
              if (p) ops.push(`<${p},`);
              lit = i + p;
              literal(end - e);
              if (e) ops.push(`>${e},`);
              lit = end;
            }
          }
          const next = nl < 0 ? text.length : nl + 1;
          st.feed(text.slice(i, next));
          i = next;
        }
        literal(text.length);
        return ops.join('');
      },
    };
  };

  // ---- streams ----
  const live = new Set(); // streams not ended yet
  // The page is going away: the tap's last batch (handed on by the detection hook's own pagehide
  // listener, which runs before ours) is kept for the flush, not posted.
  let hiding = false;
  window.addEventListener('pagehide', () => {
    hiding = true;
  }, true);
  window.addEventListener('pageshow', () => {
    hiding = false;
  });
  window.addEventListener('pagehide', () => {
    for (const m of unseen.splice(0)) flushEvent(m);
    for (const s of [...live]) s.end('pagehide');
  });

  /**
   * One stream of the page. `request` is set once known (`undefined` until then: the stream waits
   * for it, keeping what arrives). Posts are made by `flush()`; nothing is posted after the end.
   */
  function openStream(kind, path, temporary) {
    const s = {
      id: newId(),
      seq: 0,
      request: undefined,
      text: '',
      frames: [],
      size: 0,
      how: null, // the end, once known
      over: false, // the last post went out
      decoder: kind === 'ws' ? null : new TextDecoder(),
      lines: kind === 'send' && siteStream?.snapshot === true ? lineEncoder() : null,
      timer: 0,
      postedAt: 0,
      // The next post: seq 0 carries what the stream is.
      message() {
        const m = { kind: 'stream', id: s.id, seq: s.seq };
        if (s.seq === 0) Object.assign(m, { stream_kind: kind, path, request: s.request, temporary });
        if (s.seq === 0 && s.lines) m.encoding = 'lines';
        if (kind === 'ws') m.frames = s.frames;
        else m.text = s.lines && s.text ? s.lines.encode(s.text) : s.text;
        if (s.how) m.end = s.how;
        s.seq += 1;
        s.text = '';
        s.frames = [];
        s.size = 0;
        return m;
      },
      flush() {
        clearTimeout(s.timer);
        s.timer = 0;
        if (s.over || s.request === undefined) return;
        // A socket is posted from its first frame on; a send at once (its prompt).
        const empty = s.text === '' && s.frames.length === 0 && !s.how;
        if (empty && (s.seq > 0 || kind === 'ws')) return;
        if (s.how && kind === 'ws' && s.seq === 0 && s.frames.length === 0) {
          s.over = true; // a socket that carried nothing
          return;
        }
        if (s.how) s.over = true;
        s.postedAt = Date.now();
        if (s.how === 'pagehide') flushEvent(s.message());
        else postStream(s.message());
      },
      // What a tap's batch brought is posted when the last post is LIVE_POST_MS old (less 100 ms:
      // a tick's jitter), else by a timer then (the next batch or the end usually comes first).
      batched() {
        if (hiding) return;
        const wait = LIVE_POST_MS - 100 - (Date.now() - s.postedAt);
        if (wait <= 0) s.flush();
        else if (!s.timer) s.timer = setTimeout(s.flush, wait + 100);
      },
      // Posted at the next batch (BATCH_MS), unless the page is going away.
      soon() {
        if (!s.timer && !hiding) s.timer = setTimeout(s.flush, BATCH_MS);
      },
      setRequest(text) {
        s.request = typeof text === 'string' && text.length <= MAX_JSON ? text : null;
        s.flush();
      },
      grow(n) {
        s.size += n;
        if (s.size <= MAX_JSON) return true;
        // More than a post may carry: what is waiting is dropped, the stream ends broken.
        s.text = '';
        s.frames = [];
        s.end('error');
        return false;
      },
      chunks(list) {
        if (s.how) return;
        // The batch's chunks copied into one buffer and decoded once.
        const bytes = list.filter((c) => c instanceof Uint8Array);
        let buf = bytes[0];
        if (bytes.length > 1) {
          let n = 0;
          for (const c of bytes) n += c.byteLength;
          buf = new Uint8Array(n);
          n = 0;
          for (const c of bytes) {
            buf.set(c, n);
            n += c.byteLength;
          }
        }
        const text = buf ? s.decoder.decode(buf, { stream: true }) : '';
        if (text && s.grow(text.length)) s.text += text;
      },
      frame(data) {
        if (s.how || !s.grow(data.length)) return;
        s.frames.push(data);
        s.soon();
      },
      // Text read from the page (an XMLHttpRequest's responseText growing), posted at the next flush.
      more(text) {
        if (!s.how && text && s.grow(text.length)) s.text += text;
      },
      end(how) {
        if (s.how) return;
        s.pull?.(); // what an XMLHttpRequest holds and was not read yet
        if (s.decoder) {
          const rest = s.decoder.decode();
          if (rest) s.text += rest;
        }
        s.how = how;
        live.delete(s);
        s.flush();
      },
    };
    live.add(s);
    return s;
  }

  // The request body as text (resolves to null when there is none or it cannot be read without
  // taking it from the page). A Request's body is cloned now, before the page's fetch uses it.
  function bodyText(input, init) {
    try {
      const body = init?.body;
      if (typeof body === 'string') return Promise.resolve(body);
      if (body == null) return input instanceof Request && !input.bodyUsed ? input.clone().text() : Promise.resolve(null);
      if (body instanceof ReadableStream) return Promise.resolve(null);
      return new Response(body).text();
    } catch {
      return Promise.resolve(null);
    }
  }

  // The response's bytes: from the detection hook's tap (every chunk the page reads, in order),
  // else from a clone read to its end.
  function follow(s, response, signal) {
    const tap = response[TAP];
    if (typeof tap === 'function') {
      tap({
        full: true,
        batch(list, gap) {
          if (gap === true) {
            s.end('error'); // bytes were passed over: the rest could not be decoded
            return;
          }
          s.chunks(list);
          s.batched();
        },
        close(broken, how) {
          s.end(signal?.aborted ? 'abort' : ['eof', 'abort', 'error'].includes(how) ? how : broken ? 'error' : 'eof');
        },
      });
      return;
    }
    readClone(s, response.clone(), signal);
  }

  async function readClone(s, response, signal) {
    const reader = response.body?.getReader();
    if (!reader) {
      s.end('error');
      return;
    }
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        s.chunks([r.value]);
        if (s.how) {
          reader.cancel().catch(() => {});
          return;
        }
        s.soon();
      }
      s.end('eof');
    } catch {
      s.end(signal?.aborted ? 'abort' : 'error');
    }
  }

  async function watchSend(kind, path, input, init, args, site = false) {
    const s = openStream(kind, path, temporaryPage());
    bodyText(input, init).then(s.setRequest, () => s.setRequest(null));
    const signal = init?.signal ?? (input instanceof Request ? input.signal : null);
    let response;
    try {
      response = await nativeFetch.apply(window, args);
    } catch (e) {
      s.end(signal?.aborted || e?.name === 'AbortError' ? 'abort' : 'error');
      throw e;
    }
    // Attached now, before the page gets the response and takes its reader. Another site's send is
    // followed whatever its type (Grok's NDJSON, Le Chat's lines): its decoder knows its framing.
    if (response.ok && response.body && (site || (response.headers.get('content-type') ?? '').includes('text/event-stream'))) {
      follow(s, response, signal);
    } else {
      s.end('error');
    }
    return response;
  }

  window.fetch = function understudyCapture(input, init) {
    let url;
    try {
      url = new URL(input instanceof Request ? input.url : String(input), location.href);
    } catch {
      return nativeFetch.apply(this, arguments);
    }
    if (url.origin !== origin) return nativeFetch.apply(this, arguments);
    const method = String(init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    if (siteStream?.transport === 'fetch' && method === 'POST' && isSiteSend(url.pathname)) return watchSend('send', url.pathname, input, init, arguments, true);
    const send = method === 'POST' ? SEND.exec(url.pathname) : null;
    if (send) return watchSend(send[1] ? 'resume' : 'send', url.pathname, input, init, arguments);
    if (method === 'GET' && LOAD.test(url.pathname) && !temporaryPage()) {
      const path = url.pathname + url.search;
      return nativeFetch.apply(this, arguments).then((response) => {
        if (response.ok && (response.headers.get('content-type') ?? '').includes('json')) {
          response.clone().text().then((json) => {
            if (json.length <= MAX_JSON) post({ kind: 'conversation', json, path });
          }, () => {});
        }
        return response;
      });
    }
    return nativeFetch.apply(this, arguments);
  };

  // ---- XMLHttpRequest ----
  // Another site's sends over XMLHttpRequest (SITE_STREAMS transport 'xhr': gemini.google.com): a
  // 'send' stream of the response's text as it grows (responseText, looked at as the page sees it
  // grow, posted about every LIVE_POST_MS, at the end and when the page is hidden), in order; its
  // end 'eof' (load), 'abort', or 'error' (an error, a timeout, an error status). Listeners only:
  // what the page gets is not changed.
  function xhrBody(body) {
    try {
      if (typeof body === 'string') return Promise.resolve(body);
      if (body == null || (typeof Document === 'function' && body instanceof Document)) return Promise.resolve(null);
      return new Response(body).text();
    } catch {
      return Promise.resolve(null);
    }
  }
  function watchXhrSend(xhr, path, body) {
    const s = openStream('send', path, temporaryPage());
    xhrBody(body).then(s.setRequest, () => s.setRequest(null));
    let seen = 0;
    // The longest responseText seen (an abort or a network error empties it: what the page had read
    // stays). Looked at when the page's readystatechange handlers have run (the page reads it there:
    // the text it has read costs nothing to read again, while the first read of new bytes makes the
    // whole string), at the page's abort() before it empties it, and at the end.
    let latest = '';
    let timer = 0;
    let failed = false;
    const look = () => {
      try {
        const text = xhr.responseText;
        if (typeof text === 'string' && text.length > latest.length) latest = text;
      } catch {
        // a responseType other than text: nothing to read
      }
    };
    s.pull = () => {
      clearTimeout(timer);
      timer = 0;
      if (failed) return;
      look();
      if (latest.length <= seen) return;
      s.more(latest.slice(seen));
      seen = latest.length;
    };
    xhr.addEventListener('readystatechange', () => {
      if (s.watch !== xhr) return;
      if (xhr.readyState === 2 && !(xhr.status >= 200 && xhr.status < 300)) {
        failed = true;
        s.end('error');
      } else if (xhr.readyState === 3 && !failed) {
        look();
      }
    });
    s.aborting = () => {
      if (!failed) look();
    };
    // Posted about once a second while it grows (as a fetch send's text: each post costs the page).
    xhr.addEventListener('progress', () => {
      if (s.watch !== xhr) return;
      if (!timer && !hiding) timer = setTimeout(() => {
        s.pull();
        s.flush();
      }, Math.max(BATCH_MS, LIVE_POST_MS - (Date.now() - s.postedAt)));
    });
    for (const [type, how] of [['load', 'eof'], ['abort', 'abort'], ['error', 'error'], ['timeout', 'error']]) {
      xhr.addEventListener(type, () => {
        if (s.watch === xhr) s.end(how);
      });
    }
    s.watch = xhr;
    return s;
  }
  if (siteStream?.transport === 'xhr' && typeof window.XMLHttpRequest === 'function') {
    const proto = window.XMLHttpRequest.prototype;
    const open = proto.open;
    const sendXhr = proto.send;
    const sends = new WeakMap(); // XMLHttpRequest -> {path, stream} of its latest open(), a site's send
    proto.open = function understudyCaptureOpen(method, url) {
      const prev = sends.get(this);
      if (prev?.stream) {
        prev.stream.end('abort'); // open() again drops the request in flight
        prev.stream.watch = null;
      }
      sends.delete(this);
      try {
        const u = new URL(String(url), location.href);
        if (u.origin === origin && String(method).toUpperCase() === 'POST' && isSiteSend(u.pathname)) sends.set(this, { path: u.pathname, stream: null });
      } catch {
        // not a URL: not a send
      }
      return open.apply(this, arguments);
    };
    const abortXhr = proto.abort;
    // The page's abort() empties responseText: what it had is taken first.
    proto.abort = function understudyCaptureAbort() {
      sends.get(this)?.stream?.aborting?.();
      return abortXhr.apply(this, arguments);
    };
    proto.send = function understudyCaptureSend(body) {
      const o = sends.get(this);
      if (!o || o.stream) return sendXhr.apply(this, arguments);
      o.stream = watchXhrSend(this, o.path, body);
      try {
        return sendXhr.apply(this, arguments);
      } catch (e) {
        o.stream.end('error');
        throw e;
      }
    };
  }

  // ---- sockets ----
  // The page's sockets to WEBSOCKET_HOSTS: their text frames, in order (a subclass of the detection
  // hook's WebSocket, so both see the same socket). The path is the pathname only: the query holds
  // the socket's credentials.
  // A site whose answers travel over its own socket (SITE_STREAMS transport 'websocket': Copilot's
  // /c/api/chat): a socket to the page's own host on a send path is posted the same way, and the
  // text frames the page sends on it go in the same list, in order, before the answer they ask for
  // (the site's decoder reads the client's `send` events: where an answer starts, and its prompt).
  const siteSocket = (url) => siteStream?.transport === 'websocket' && url.host === location.host && isSiteSend(url.pathname);
  const sockets = new WeakMap(); // a site socket -> its stream
  const PageSocket = window.WebSocket;
  if (typeof PageSocket === 'function') {
    const Captured = class extends PageSocket {
      constructor(...args) {
        super(...args);
        let url;
        try {
          url = new URL(String(args[0]), location.href);
        } catch {
          return;
        }
        const site = siteSocket(url);
        if (!site && !WEBSOCKET_HOSTS.includes(url.hostname)) return;
        const s = openStream('ws', url.pathname, temporaryPage());
        s.setRequest(null);
        if (site) sockets.set(this, s);
        this.addEventListener('message', (event) => {
          if (typeof event.data === 'string') s.frame(event.data);
        });
        this.addEventListener('close', () => s.end('close'));
      }

      send(data) {
        super.send(data); // throws while connecting: then nothing was sent
        if (typeof data === 'string') sockets.get(this)?.frame(data);
      }
    };
    Object.defineProperty(Captured, 'name', { value: 'WebSocket' });
    window.WebSocket = Captured;
  }
})();
