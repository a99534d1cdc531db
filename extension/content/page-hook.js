// MAIN-world observer of the page's own traffic (runs in the page's JS world at document_start).
// It wraps `fetch` and forwards facts, never content it does not need, to the isolated content
// script with window.postMessage. It holds no secrets and has no extension APIs; the page can forge
// anything it posts, so the receiving side (content/detect.js) validates every message and the Wasm
// core judges it. It never makes a request of its own.
//
// Facts posted (all with source: 'understudy-hook' and a numeric id per request):
//   request_start   {id, path, method, prompt|null}        prompt: the last user text of a JSON body
//   request_failed  {id, path, method, aborted}
//   response        {id, path, method, status, retry_after|null, challenge, streaming, detail|null}
//   stream_progress {id, path}                               at the first chunk, then at most 1/s
//   stream_end      {id, path, done, error|null, interrupted, aborted}
//                   error: {message|null, code|null, clears_in|null} from an error event in the stream
//
// Shared stream tap: the page's stream is read once, here. A response this hook watches carries a
// function under Symbol.for('understudy.tap'); the cache observer (capture-hook.js, which wraps this
// fetch) calls it with {chunk(bytes), close(broken)} to see the same chunks as the page reads them,
// with no clone or second decode of the stream.
(() => {
  if (window.__understudyHook) return;
  Object.defineProperty(window, '__understudyHook', { value: true });

  const SOURCE = 'understudy-hook';
  const MAX_DETAIL = 2048;
  const MAX_PROMPT = 32768;
  const SCAN_BYTES = 512;
  const PROGRESS_EVERY_MS = 1000;
  // An SSE event whose `error` (or `detail`) is set to something other than null.
  const ERROR_RE = /"(?:error|detail)"\s*:\s*(?!null\b)["{]/;
  const nativeFetch = window.fetch;
  const post = window.postMessage.bind(window);
  const origin = location.origin;
  let nextId = 1;

  const send = (fact) => post({ source: SOURCE, ...fact }, origin);

  // Only the page's own API traffic is of interest; static files and third parties are not.
  const watched = (url) => url.origin === origin && /^\/(backend-api|api)\//.test(url.pathname);

  function retryAfter(headers) {
    const ms = Number(headers.get('retry-after-ms'));
    if (Number.isFinite(ms) && ms > 0) return String(Math.ceil(ms / 1000));
    const v = headers.get('retry-after');
    return v ? v.trim().slice(0, 64) : null;
  }

  // The text of the last user message of a ChatGPT-style JSON body, so a failed prompt can be
  // carried elsewhere. Nothing else of the body leaves this function.
  function promptOf(body) {
    if (typeof body !== 'string' || body.length > 4 * MAX_PROMPT * 64) return null;
    try {
      const messages = JSON.parse(body)?.messages;
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

  // The error object of one SSE data line, compact: {message, code, clears_in}.
  function errorOf(line) {
    const data = line.replace(/^data:\s*/, '');
    try {
      const v = JSON.parse(data);
      const e = v?.error ?? v?.detail;
      if (typeof e === 'string') return { message: e.slice(0, MAX_DETAIL), code: null, clears_in: null };
      if (e && typeof e === 'object') {
        const clears = Number.isSafeInteger(e.clears_in) && e.clears_in >= 0 ? e.clears_in : null;
        return {
          message: typeof e.message === 'string' ? e.message.slice(0, MAX_DETAIL) : null,
          code: typeof e.code === 'string' ? e.code.slice(0, 128) : null,
          clears_in: clears,
        };
      }
    } catch {
      // cut or not JSON
    }
    return { message: data.slice(0, 256), code: null, clears_in: null };
  }

  async function errorDetail(response) {
    try {
      const text = await response.clone().text();
      return text.slice(0, MAX_DETAIL);
    } catch {
      return null;
    }
  }

  // Whether the bytes hold `"error":` or `"detail":` followed by a string or an object (not null):
  // a cheap byte scan, so the text is decoded only when an error event may be there.
  const ERROR_KEY = [0x65, 0x72, 0x72, 0x6f, 0x72, 0x22]; // error"
  const DETAIL_KEY = [0x64, 0x65, 0x74, 0x61, 0x69, 0x6c, 0x22]; // detail"
  function keyAt(b, i, key) {
    if (i + key.length > b.length) return -1;
    for (let k = 0; k < key.length; k++) if (b[i + k] !== key[k]) return -1;
    return i + key.length;
  }
  function hasErrorKey(b) {
    for (let i = b.indexOf(0x22); i >= 0; i = b.indexOf(0x22, i + 1)) {
      let j = keyAt(b, i + 1, ERROR_KEY);
      if (j < 0) j = keyAt(b, i + 1, DETAIL_KEY);
      if (j < 0) continue;
      while (j < b.length && (b[j] === 0x20 || b[j] === 0x3a)) j++;
      if (j < b.length && (b[j] === 0x22 || b[j] === 0x7b)) return true;
    }
    return false;
  }

  const DONE = [0x44, 0x4f, 0x4e, 0x45, 0x5d]; // DONE]
  function hasDone(b) {
    for (let i = b.indexOf(0x5b); i >= 0; i = b.indexOf(0x5b, i + 1)) if (keyAt(b, i + 1, DONE) > 0) return true;
    return false;
  }

  const tailOf = (chunk, n) => (chunk.byteLength > n ? chunk.subarray(chunk.byteLength - n) : chunk);

  // Watches an event stream as the page reads it: progress (throttled), an error event, and whether
  // it ended with [DONE]. Only the tail of each chunk is decoded, where ChatGPT's small error events
  // sit; never the answer.
  //
  // The usual way a page reads a stream is `response.body.getReader()`: then the page's own reads
  // are watched (one extra promise step per chunk, no copy, no second stream). Any other way of
  // consuming the body (pipeThrough, pipeTo, tee, async iteration, text(), json(), ...) goes through
  // a pass-through TransformStream made on first use.
  const TAP = Symbol.for('understudy.tap');

  function watchStream(id, path, response, signal) {
    const body = response.body;
    if (!body) return response;
    // Other observers of the same bytes (at most a few): every chunk, then close(broken) once.
    const taps = [];
    let tapsClosed = false;
    const closeTaps = (broken) => {
      if (tapsClosed) return;
      tapsClosed = true;
      for (const t of taps) t.close(broken);
    };
    Object.defineProperty(response, TAP, {
      value: (t) => {
        if (!tapsClosed && taps.length < 4 && typeof t?.chunk === 'function' && typeof t?.close === 'function') taps.push(t);
      },
    });
    const decoder = new TextDecoder();
    let lastProgress = 0;
    let error = null;
    let prev = null;
    let last = null;
    let ended = false;
    let taken = false;
    const end = (fact) => {
      if (ended) return;
      ended = true;
      send({ kind: 'stream_end', id, path, done: false, error, interrupted: false, aborted: false, ...fact });
    };
    const chunk = (value) => {
      if (taps.length && !tapsClosed && value instanceof Uint8Array) for (const t of taps) t.chunk(value);
      if (ended) return;
      const now = Date.now();
      if (now - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = now;
        send({ kind: 'stream_progress', id, path });
      }
      if (!(value instanceof Uint8Array) || value.byteLength === 0) return;
      prev = last;
      last = value;
      const tailBytes = tailOf(value, SCAN_BYTES);
      // A page may stop reading right after [DONE] or an error event: end the watch there.
      if (hasDone(tailOf(value, 32))) {
        finish();
        return;
      }
      if (!hasErrorKey(tailBytes)) return;
      const text = decoder.decode(tailBytes);
      if (ERROR_RE.test(text)) {
        for (const line of text.split('\n')) {
          if (ERROR_RE.test(line)) {
            error = errorOf(line);
            end({});
            break;
          }
        }
      }
    };
    const finish = () => {
      const tail = (prev ? decoder.decode(tailOf(prev, 16)) : '') + (last ? decoder.decode(tailOf(last, 32)) : '');
      end({ done: tail.includes('[DONE]') });
    };
    // The page stopping its own read (stop button, abort) is not a failure.
    const stopped = () => {
      closeTaps(true);
      end({ interrupted: true, aborted: true });
    };
    const broke = () => {
      closeTaps(true);
      end({ interrupted: true, aborted: !!signal?.aborted });
    };
    const closed = () => {
      closeTaps(false);
      finish();
    };

    const proto = ReadableStream.prototype;
    const getReader = body.getReader;
    body.getReader = function (...args) {
      const reader = getReader.apply(this, args);
      if (taken) return reader;
      taken = true;
      const read = reader.read;
      const cancel = reader.cancel;
      reader.read = function (...a) {
        return read.apply(this, a).then((r) => {
          if (r.done) closed();
          else chunk(r.value);
          return r;
        }, (e) => {
          broke();
          throw e;
        });
      };
      reader.cancel = function (...a) {
        stopped();
        return cancel.apply(this, a);
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
    const streaming = (headers.get('content-type') ?? '').includes('text/event-stream');
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
