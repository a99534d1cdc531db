//# allFunctionsCalledOnLoad
// MAIN-world observer of the page's own traffic (runs in the page's JS world at document_start).
// It wraps `fetch` (and EventSource, WebSocket) and forwards facts, never content it does not
// need, to the isolated content script with window.postMessage. It holds no secrets and has no extension APIs; the page can forge
// anything it posts, so the receiving side (content/detect.js) validates every message and the Wasm
// core judges it. It never makes a request of its own.
//
// Facts posted (all with source: 'understudy-hook' and a numeric id per request):
//   request_start   {id, path, method, prompt|null}        prompt: the last user text of a JSON body
//   request_failed  {id, path, method, aborted}
//   response        {id, path, method, status, retry_after|null, challenge, streaming, detail|null}
//   stream_progress {id, path}                               at the first tick with bytes, then at most 1/s
//   stream_end      {id, path, how}                          how: 'eof' | 'abort' (the page stopped its
//                                                            read) | 'error' (the connection broke)
// What a stream says (its end marker, an error event, a handoff) is not read here: the capture hook
// hands every byte to the service worker, where the core decodes it.
// EventSource and WebSocket connections to the page's own host on the same paths give the same
// facts (method 'GET' or 'WEBSOCKET'; see watchChannel), and so do XMLHttpRequests (xhr-hook.js).
// A socket carries many answers: each answer the page asks for on it (its message that starts one,
// socketSend) is a request of its own, method 'MESSAGE', with the prompt.
//
// Shared stream tap: the page's stream is read once, here. A response this hook watches carries a
// function under Symbol.for('understudy.tap'); an observer that wraps this fetch calls it with
// {batch(chunks, gap), close(broken, how)} and gets the latest chunks the page read, in order, in
// batches (every TICK_MS while the stream is live, and the rest before close), with no clone or
// second decode of the stream; `gap` says that chunks before the batch were passed over; `how` is
// 'eof', 'abort' (the page stopped its read) or 'error'. A tap registered with `full: true` (the
// cache observer, capture-hook.js, which needs every byte) gets every chunk, never a gap, provided
// it is registered before the page takes its reader (at once when the fetch resolves).
// The chunks are the page's own bytes: read them, never change them.
(() => {
  if (window.__understudyHook) return;
  Object.defineProperty(window, '__understudyHook', { value: true });

  const SOURCE = 'understudy-hook';
  const MAX_DETAIL = 2048;
  const MAX_PROMPT = 32768;
  const PROGRESS_EVERY_MS = 1000;
  const nativeFetch = window.fetch;
  const post = window.postMessage.bind(window);
  const origin = location.origin;
  let nextId = 1;

  const send = (fact) => post({ source: SOURCE, ...fact }, origin);

  // Only the page's own API traffic is of interest; static files and third parties are not.
  // (ChatGPT's `/backend-*`, and the other sites' API roots: `/api` for Claude, DeepSeek and Le
  // Chat, `/rest` for Grok and Perplexity, `/_` for Gemini, `/c/api` for Copilot.)
  const API = /^\/(backend-api|backend-anon|backend-alt|api|rest|_|c\/api)\//;
  const watched = (url) => url.origin === origin && API.test(url.pathname);

  // The other chat sites' sends on this host (written in at build time from their adapters, as in
  // capture-hook.js): their answers stream whatever their content type (Le Chat's `N:` lines come
  // as text/plain), so a send answered with anything but a JSON document or a page is a stream. A
  // site whose answer is JSON lines (Grok's NDJSON, its `format` in the adapter) may label them
  // application/json: there that is a stream too.
  const SITE_STREAMS = /*SITE_STREAMS*/{};
  const siteStream = Object.hasOwn(SITE_STREAMS, location.host) ? SITE_STREAMS[location.host] : null;
  const siteSends = (siteStream?.sends ?? []).map((p) => new RegExp(p));
  const jsonLines = /ndjson/.test(siteStream?.format ?? '');
  function siteStreaming(method, path, headers) {
    if (method !== 'POST' || !siteSends.some((r) => r.test(path))) return false;
    const type = (headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
    return (type !== 'application/json' || jsonLines) && type !== 'text/html';
  }

  function retryAfter(headers) {
    const ms = Number(headers.get('retry-after-ms'));
    if (Number.isFinite(ms) && ms > 0) return String(Math.ceil(ms / 1000));
    const v = headers.get('retry-after');
    return v ? v.trim().slice(0, 64) : null;
  }

  // The text of the last user message of a ChatGPT-style JSON body (or the `prompt` of a
  // claude.ai-style one, the `message` of Grok's), so a failed prompt can be carried elsewhere. Nothing else of the body
  // leaves this function.
  function promptOf(body) {
    if (typeof body !== 'string' || body.length > 4 * MAX_PROMPT * 64) return null;
    try {
      const v = JSON.parse(body);
      const messages = v?.messages;
      if (messages === undefined && typeof v?.prompt === 'string') return v.prompt.slice(0, MAX_PROMPT);
      if (messages === undefined && typeof v?.message === 'string') return v.message.slice(0, MAX_PROMPT); // grok.com
      if (!Array.isArray(messages)) return null;
      for (let i = messages.length - 1; i >= 0; i--) {
        const m = messages[i];
        if (m?.author?.role !== 'user') continue;
        const parts = m?.content?.parts;
        if (!Array.isArray(parts)) return null;
        return parts.filter((p) => typeof p === 'string').join('\n').slice(0, MAX_PROMPT);
      }
    } catch {
      // not JSON
    }
    return null;
  }

  async function errorDetail(response) {
    try {
      const text = await response.clone().text();
      return text.slice(0, MAX_DETAIL);
    } catch {
      return null;
    }
  }

  // Watches an event stream as the page reads it: its progress and how it ended (read to the end,
  // stopped by the page, broken), never what it says. Nothing is done per chunk: the chunks are
  // looked at in batches by one timer shared by every live stream (every TICK_MS), once more when
  // the stream ends, and when the page is hidden; a batch goes to the taps and counts as progress.
  //
  // The usual way a page reads a stream is `response.body.getReader()`: then the promises of the
  // page's own reads are kept in a small ring (one store per read: no copy, no second stream), and a
  // tick reads back the last LOOK of them, which the page has already awaited (one promise reaction
  // each). Chunks read between two ticks before those are passed over (the batch then says `gap`):
  // without a tap that wants every chunk, only progress matters. When a full tap wants every chunk, the
  // promises of the default reader's reads are all kept instead (one store per read, in a queue with
  // no bound), and a tick (and the end) collects them in order with one reaction each, so no chunk
  // (not copied) is passed over. A BYOB reader reuses its buffers, so its chunks are copied as they come; any
  // other way of consuming the body (pipeThrough, pipeTo, tee, async iteration, text(), json(), ...)
  // goes through a pass-through TransformStream made on first use. Those push every chunk onto a
  // list, handed on at the next tick, at the end (also a cancel, an abort or an error) and on pagehide.
  const TAP = Symbol.for('understudy.tap');
  const TICK_MS = 500;
  const LOOK = 8; // the latest reads a tick looks at
  const RING = 16; // read promises kept
  const live = new Set(); // streams being read, or with chunks to look at
  let ticker = 0;
  const tick = () => {
    for (const w of live) w.tick();
    if (live.size === 0) {
      clearInterval(ticker);
      ticker = 0;
    }
  };
  const goLive = (w) => {
    live.add(w);
    if (!ticker) ticker = setInterval(tick, TICK_MS);
  };
  // The page is going away: the taps get what was read since the last tick (the look's reactions
  // run right after this listener, so the capture hook, whose listener runs next, keeps it).
  window.addEventListener('pagehide', tick);

  const ignore = () => {};
  const later = window.queueMicrotask.bind(window); // the page's own, before it can change it

  function watchStream(id, path, response, signal) {
    const body = response.body;
    if (!body) return response;
    // Other observers of the same bytes (at most a few): batches of chunks, then close(broken) once.
    const taps = [];
    let tapsClosed = false;
    let full = false; // a tap wants every chunk
    const closeTaps = (broken, how) => {
      if (tapsClosed) return;
      tapsClosed = true;
      for (const t of taps) t.close(broken, how);
    };
    Object.defineProperty(response, TAP, {
      value: (t) => {
        if (tapsClosed || taps.length >= 4 || typeof t?.batch !== 'function' || typeof t?.close !== 'function') return;
        taps.push(t);
        if (t.full === true) full = true;
      },
    });
    let lastProgress = 0;
    let ended = false; // stream_end sent
    let over = false; // the stream is over and was looked at for the last time
    let taken = false;
    let batch = []; // chunks pushed as they come (BYOB reader, other consumers)
    const ring = new Array(RING); // the page's latest read promises (default reader)
    let ringed = false; // read through a default reader: its reads are in the ring (or the queue)
    const queue = []; // full tap, default reader: the page's read promises not collected yet
    let reacted = 0; // queue[0, reacted) have their reaction
    // What the reads of the queue settled with (null: rejected), in order: a reader settles its
    // reads in the order they were made, and each read's one reaction (the same two functions for
    // all) is queued when it settles, or at once when it had settled, in that order too.
    const got = [];
    const settledRead = (r) => {
      got.push(r);
    };
    const failedRead = () => {
      got.push(null);
    };
    let reads = 0;
    let looked = 0; // reads looked at or passed over
    const end = (how) => {
      if (ended) return;
      ended = true;
      send({ kind: 'stream_end', id, path, how });
    };
    const chunk = (value) => {
      if (over || !(value instanceof Uint8Array) || value.byteLength === 0) return;
      if (batch.length === 0 && !live.has(w)) goLive(w);
      batch.push(value);
    };
    // The reads since the last look (the last LOOK of them), settled ones only, in order, to
    // `then(list, gap)`. Each read gets at most one reaction, from the first look that wants it; the
    // reactions to reads already settled run before the microtask that collects them, and a read
    // still waiting for bytes is collected by a later look.
    const settled = new Array(RING); // {n, r}: read number n settled with r
    let watchedTo = 0; // reads from here on have no reaction yet
    const look = (then) => {
      const n = reads;
      if (n <= looked) return then([], false);
      const from = Math.max(looked, n - LOOK);
      const gap = from > looked;
      for (let i = Math.max(from, watchedTo); i < n; i++) {
        ring[i % RING].then((r) => { settled[i % RING] = { n: i, r }; }, ignore);
      }
      watchedTo = n;
      later(() => {
        const list = [];
        let i = from;
        for (; i < n && settled[i % RING]?.n === i; i++) {
          const { r } = settled[i % RING];
          if (!r.done && r.value instanceof Uint8Array && r.value.byteLength > 0) list.push(r.value);
        }
        looked = i;
        then(list, gap);
      });
    };
    // Under a full tap: the reads collected so far, in order, every chunk, to `then(list)`. Each
    // read gets one reaction, from the first collect after it was made; as for `look`, the
    // reactions to reads already settled run before the microtask that collects them.
    const collect = (then) => {
      for (let i = reacted; i < queue.length; i++) queue[i].then(settledRead, failedRead);
      reacted = queue.length;
      later(() => {
        const list = [];
        const n = Math.min(got.length, queue.length); // queue[0, n) settled
        for (let i = 0; i < n; i++) {
          const r = got[i];
          if (r && !r.done && r.value instanceof Uint8Array && r.value.byteLength > 0) list.push(r.value);
        }
        got.splice(0, n);
        queue.splice(0, n);
        reacted -= n;
        then(list);
      });
    };
    // A batch of chunks, in order (`gap`: chunks before it were passed over).
    const handle = (list, gap) => {
      if (list.length === 0) return;
      if (!tapsClosed) for (const t of taps) t.batch(list, gap);
      if (ended) return;
      const now = Date.now();
      if (now - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = now;
        send({ kind: 'stream_progress', id, path });
      }
    };
    const w = {
      tick() {
        if (over) {
          live.delete(w);
        } else if (batch.length > 0) {
          const list = batch;
          batch = [];
          handle(list, false);
        } else if (queue.length > 0) {
          collect((list) => {
            if (!over) handle(list, false);
          });
        } else if (reads > looked) {
          look((list, gap) => {
            if (!over) handle(list, gap);
          });
        } else if (!ringed || ended) {
          // Back with the next pushed chunk; a stream read through the ring that already ended is
          // looked at once more when it is over.
          live.delete(w);
        }
      },
    };
    // The stream is over: what was read and not yet looked at is, then `then()`.
    const finish = (then) => {
      if (over) return;
      over = true;
      live.delete(w);
      const list = batch;
      batch = [];
      handle(list, false);
      collect((collected) => {
        handle(collected, false);
        look((rest, gap) => {
          handle(rest, gap);
          then();
        });
      });
    };
    const closed = () => finish(() => {
      end('eof');
      closeTaps(false, 'eof');
    });
    // The page stopping its own read (the stop button, an abort right after the answer's end, its
    // own resume after a silence): how that turn ended is for the worker's decoder to say.
    const stopped = () => finish(() => {
      closeTaps(true, 'abort');
      end('abort');
    });
    const broke = () => finish(() => {
      const how = signal?.aborted ? 'abort' : 'error';
      closeTaps(true, how);
      end(how);
    });

    const proto = ReadableStream.prototype;
    const getReader = body.getReader;
    body.getReader = function (...args) {
      const reader = getReader.apply(this, args);
      if (taken) return reader;
      taken = true;
      const read = reader.read;
      const cancel = reader.cancel;
      const releaseLock = reader.releaseLock;
      let released = false;
      const byob = args[0]?.mode === 'byob';
      if (byob) {
        // Each read pushes its chunk before the page sees it. A BYOB reader hands its buffer back
        // with the next read: its chunks are copied now.
        const onRead = (r) => {
          if (r.done) closed();
          else if (r.value instanceof Uint8Array) chunk(r.value.slice());
          return r;
        };
        const onBroke = (e) => {
          if (!released) broke();
          throw e;
        };
        reader.read = function understudyRead() {
          return read.apply(this, arguments).then(onRead, onBroke);
        };
      } else if (full) {
        // One store per read: every read's promise is queued, collected at the ticks and the end.
        reader.read = function understudyRead() {
          const p = read.apply(this, arguments);
          queue.push(p);
          return p;
        };
        ringed = true;
        reader.closed.then(closed, () => {
          if (!released) broke();
        });
        goLive(w);
      } else {
        // One store per read.
        reader.read = function understudyRead() {
          const p = read.apply(this, arguments);
          ring[reads++ % RING] = p;
          return p;
        };
        ringed = true;
        reader.closed.then(closed, () => {
          if (!released) broke();
        });
        goLive(w);
      }
      reader.cancel = function (...a) {
        stopped();
        return cancel.apply(this, a);
      };
      // A page that lets go of its reader may take another: that one is watched in turn.
      reader.releaseLock = function (...a) {
        released = true;
        taken = false;
        return releaseLock.apply(this, a);
      };
      return reader;
    };

    let piped = null;
    const watched = () => {
      if (piped) return piped;
      taken = true;
      const pass = new TransformStream({
        transform(value, controller) {
          controller.enqueue(value);
          chunk(value);
        },
        flush: closed,
        cancel: stopped,
      });
      piped = proto.pipeThrough.call(body, pass);
      piped.closed?.catch?.(() => {});
      return piped;
    };
    for (const name of ['pipeThrough', 'pipeTo', 'tee', 'values']) {
      body[name] = (...args) => proto[name].apply(watched(), args);
    }
    body[Symbol.asyncIterator] = (...args) => proto[Symbol.asyncIterator].apply(watched(), args);
    const head = { status: response.status, statusText: response.statusText, headers: response.headers };
    for (const name of ['text', 'json', 'arrayBuffer', 'blob', 'formData', 'bytes']) {
      if (typeof response[name] !== 'function') continue;
      response[name] = (...args) => new Response(watched(), head)[name](...args).catch((e) => {
        broke();
        throw e;
      });
    }
    return response;
  }

  // ---- EventSource and WebSocket ----
  // A page that streams over an EventSource or a WebSocket to its own host, on the watched paths,
  // gets the same facts as a streamed fetch: request_start (method 'GET', or 'WEBSOCKET' for a
  // socket), response when it opens (status 200, or 101 for a socket, streaming), stream_progress
  // (at once, then at most 1/s) while messages arrive, and stream_end when it is over: a clean close
  // (code 1000) is 'eof', close() by the page is 'abort', anything else is 'error'. What a message
  // says is not read. An EventSource that reconnects by itself is a new request each time it opens
  // again.
  const wsOrigin = (url) => `${url.protocol === 'wss:' ? 'https:' : url.protocol === 'ws:' ? 'http:' : url.protocol}//${url.host}`;
  function channelUrl(input, socket) {
    try {
      const url = new URL(String(input), location.href);
      if (socket ? wsOrigin(url) !== origin : url.origin !== origin) return null;
      return API.test(url.pathname) ? url : null;
    } catch {
      return null;
    }
  }
  // The prompt of a message the page sends on a socket when that message asks for an answer
  // (Copilot's `{"event":"send","content":[{"type":"text","text":…}],…}`; '' when it has no
  // text), or null for any other message (options, pongs, a stop). Nothing else of it leaves here.
  function socketSend(data) {
    if (typeof data !== 'string' || data.length > 4 * MAX_PROMPT * 64 || !data.includes('"send"')) return null;
    try {
      const v = JSON.parse(data);
      if (v?.event !== 'send') return null;
      const parts = Array.isArray(v.content) ? v.content : [];
      return parts.filter((c) => c?.type === 'text' && typeof c.text === 'string').map((c) => c.text).join('').slice(0, MAX_PROMPT);
    } catch {
      return null;
    }
  }

  function watchChannel(target, url, method) {
    const path = url.pathname;
    let id = 0;
    let opened = false;
    let over = true;
    let lastProgress = 0;
    // The answer asked for on this socket last, until the next one or the socket's end: its own
    // request (method 'MESSAGE'): request_start with the prompt, a response (200, streaming: the
    // open socket took it), progress from the socket's messages, stream_end with the next answer
    // ('eof') or the socket's end (its how). The socket's own request says nothing of answers.
    let answer = null; // {id, lastProgress}
    const endAnswer = (how) => {
      if (!answer) return;
      send({ kind: 'stream_end', id: answer.id, path, how });
      answer = null;
    };
    const start = () => {
      id = nextId++;
      opened = false;
      over = false;
      lastProgress = 0;
      send({ kind: 'request_start', id, path, method, prompt: null });
    };
    const finish = (how) => {
      if (over) return;
      over = true;
      endAnswer(how);
      send(opened
        ? { kind: 'stream_end', id, path, how }
        : { kind: 'request_failed', id, path, method, aborted: how === 'abort' });
    };
    start();
    target.addEventListener('open', () => {
      if (over) start(); // an EventSource that reconnected
      opened = true;
      send({ kind: 'response', id, path, method, status: method === 'WEBSOCKET' ? 101 : 200, retry_after: null, challenge: false, streaming: true, detail: null });
    });
    target.addEventListener('message', (event) => {
      if (!opened || over) return;
      const now = Date.now();
      if (now - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = now;
        send({ kind: 'stream_progress', id, path });
      }
      if (answer && now - answer.lastProgress >= PROGRESS_EVERY_MS) {
        answer.lastProgress = now;
        send({ kind: 'stream_progress', id: answer.id, path });
      }
    });
    return {
      closedByPage: () => finish('abort'),
      closed: (clean) => finish(clean ? 'eof' : 'error'),
      // The page sent `data` on the open socket.
      sent(data) {
        if (!opened || over) return;
        const prompt = socketSend(data);
        if (prompt === null) return;
        endAnswer('eof');
        answer = { id: nextId++, lastProgress: 0 };
        send({ kind: 'request_start', id: answer.id, path, method: 'MESSAGE', prompt: prompt || null });
        send({ kind: 'response', id: answer.id, path, method: 'MESSAGE', status: 200, retry_after: null, challenge: false, streaming: true, detail: null });
      },
    };
  }

  // Replaces window[name] with a subclass that watches the channels it opens to the page's own
  // host; `endEvent` ends the watch, a clean end when `clean(event)`; close() by the page is aborted.
  const channels = new WeakMap(); // EventSource or WebSocket -> its watch
  function wrapChannel(name, method, endEvent, clean) {
    const Native = window[name];
    if (typeof Native !== 'function') return;
    const Watched = class extends Native {
      constructor(input, more) {
        super(input, more);
        const url = channelUrl(input, method === 'WEBSOCKET');
        if (!url) return;
        const w = watchChannel(this, url, method);
        channels.set(this, w);
        this.addEventListener(endEvent, (event) => w.closed(clean(event)));
      }
      close(...args) {
        super.close(...args); // a WebSocket throws on a bad code: then nothing was closed
        channels.get(this)?.closedByPage();
      }
    };
    if (method === 'WEBSOCKET') {
      // What the page sends: an answer asked for (watchChannel's `sent`), once the socket took it.
      const nativeSend = Native.prototype.send;
      Object.defineProperty(Watched.prototype, 'send', {
        configurable: true,
        writable: true,
        value: function send(data) {
          nativeSend.call(this, data); // throws while the socket is still connecting: nothing sent
          channels.get(this)?.sent(data);
        },
      });
    }
    Object.defineProperty(Watched, 'name', { value: name });
    window[name] = Watched;
  }
  // An EventSource's error: the connection dropped (it may reconnect: a new request then) or
  // failed for good.
  wrapChannel('EventSource', 'GET', 'error', () => false);
  wrapChannel('WebSocket', 'WEBSOCKET', 'close', (event) => event.wasClean && event.code === 1000);

  window.fetch = async function understudyFetch(input, init) {
    let url;
    try {
      url = new URL(input instanceof Request ? input.url : String(input), location.href);
    } catch {
      return nativeFetch.apply(this, arguments);
    }
    if (!watched(url)) return nativeFetch.apply(this, arguments);
    const id = nextId++;
    const method = String(init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const path = url.pathname;
    const signal = init?.signal ?? (input instanceof Request ? input.signal : null);
    const prompt = method === 'POST' ? promptOf(init?.body) : null;
    send({ kind: 'request_start', id, path, method, prompt });
    let response;
    try {
      response = await nativeFetch.apply(this, arguments);
    } catch (e) {
      send({ kind: 'request_failed', id, path, method, aborted: e?.name === 'AbortError' || !!signal?.aborted });
      throw e;
    }
    const headers = response.headers;
    const streaming = (headers.get('content-type') ?? '').includes('text/event-stream') || siteStreaming(method, path, headers);
    const fact = {
      kind: 'response', id, path, method,
      status: response.status,
      retry_after: retryAfter(headers),
      challenge: headers.get('cf-mitigated') === 'challenge',
      streaming: response.ok && streaming,
      detail: null,
    };
    if (!response.ok) {
      errorDetail(response).then((detail) => send({ ...fact, detail }));
    } else {
      send(fact);
      if (streaming) return watchStream(id, path, response, signal);
    }
    return response;
  };
})();
