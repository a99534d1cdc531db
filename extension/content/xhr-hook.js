//# allFunctionsCalledOnLoad
// MAIN-world observer of the page's own XMLHttpRequests (runs after page-hook.js, at
// document_start), for detection: gemini.google.com sends over XMLHttpRequest, not fetch. It
// posts the same facts as page-hook.js (source 'understudy-hook', checked by content/traffic.js)
// for requests to the page's own API paths, never their content:
//   request_start   at send() (prompt: null; the worker reads a site's prompt from the request the
//                   capture hook hands over, and the page's last user message is the fallback)
//   response        when the headers arrive; a 2xx answer to one of the site's sends (SITE_STREAMS,
//                   written in at build time from the adapters) is a stream, other 2xx answers are
//                   not; an error status is posted at the end, with its body as detail
//   stream_progress while a stream's bytes come (at once, then at most 1/s)
//   stream_end      'eof' (load), 'abort' (the page's abort(), or open() again), 'error' (an error,
//                   a timeout)
//   request_failed  a request that got no answer
// Listeners only, added when the page sends: what the page gets is not changed. Its request ids
// are its own (from 2^40), apart from the fetch hook's.
(() => {
  if (window.__understudyXhrHook || typeof window.XMLHttpRequest !== 'function') return;
  Object.defineProperty(window, '__understudyXhrHook', { value: true });

  const SOURCE = 'understudy-hook';
  const MAX_DETAIL = 2048;
  const PROGRESS_EVERY_MS = 1000;
  const post = window.postMessage.bind(window);
  const origin = location.origin;
  let nextId = 2 ** 40;
  const send = (fact) => post({ source: SOURCE, ...fact }, origin);

  // The same API roots as page-hook.js watches.
  const API = /^\/(backend-api|backend-anon|backend-alt|api|rest|_|c\/api)\//;
  const SITE_STREAMS = /*SITE_STREAMS*/{};
  const siteSends = (Object.hasOwn(SITE_STREAMS, location.host) ? SITE_STREAMS[location.host].sends ?? [] : []).map((p) => new RegExp(p));

  function retryAfter(xhr) {
    const ms = Number(xhr.getResponseHeader('retry-after-ms'));
    if (Number.isFinite(ms) && ms > 0) return String(Math.ceil(ms / 1000));
    const v = xhr.getResponseHeader('retry-after');
    return v ? v.trim().slice(0, 64) : null;
  }
  function detail(xhr) {
    try {
      return xhr.responseType === '' || xhr.responseType === 'text' ? xhr.responseText.slice(0, MAX_DETAIL) : null;
    } catch {
      return null;
    }
  }

  const xhrs = new WeakMap(); // XMLHttpRequest -> {method, path, stream, watch} of its latest open()
  function watch(xhr, o) {
    const id = nextId++;
    const { method, path } = o;
    send({ kind: 'request_start', id, path, method, prompt: null });
    let fact = null; // the response fact, once the headers came
    let lastProgress = 0;
    let over = false;
    const mine = () => xhrs.get(xhr)?.watch === w;
    const head = () => {
      if (fact || !mine() || xhr.readyState < 2 || xhr.status < 100 || xhr.status > 599) return;
      const ok = xhr.status >= 200 && xhr.status < 300;
      fact = {
        kind: 'response', id, path, method, status: xhr.status, retry_after: retryAfter(xhr),
        challenge: xhr.getResponseHeader('cf-mitigated') === 'challenge', streaming: ok && o.stream, detail: null,
      };
      if (ok) send(fact);
    };
    const w = {
      end(how) {
        if (over) return;
        over = true;
        if (!fact) send({ kind: 'request_failed', id, path, method, aborted: how === 'abort' });
        else if (fact.streaming) send({ kind: 'stream_end', id, path, how });
        else if (fact.status >= 300) send({ ...fact, detail: how === 'eof' ? detail(xhr) : null });
      },
    };
    xhr.addEventListener('readystatechange', head);
    xhr.addEventListener('progress', () => {
      head();
      if (over || !fact?.streaming || !mine()) return;
      const now = Date.now();
      if (now - lastProgress < PROGRESS_EVERY_MS) return;
      lastProgress = now;
      send({ kind: 'stream_progress', id, path });
    });
    for (const [type, how] of [['load', 'eof'], ['abort', 'abort'], ['error', 'error'], ['timeout', 'error']]) {
      xhr.addEventListener(type, () => {
        if (!mine()) return;
        head();
        w.end(how);
      });
    }
    return w;
  }

  const proto = window.XMLHttpRequest.prototype;
  const open = proto.open;
  const sendXhr = proto.send;
  proto.open = function understudyXhrOpen(method, url) {
    xhrs.get(this)?.watch?.end('abort'); // open() again drops the request in flight
    let o = null;
    try {
      const u = new URL(String(url), location.href);
      if (u.origin === origin && API.test(u.pathname)) {
        const m = String(method).toUpperCase();
        o = { method: m, path: u.pathname, stream: m === 'POST' && siteSends.some((r) => r.test(u.pathname)), watch: null };
      }
    } catch {
      o = null;
    }
    if (o) xhrs.set(this, o);
    else xhrs.delete(this);
    return open.apply(this, arguments);
  };
  proto.send = function understudyXhrSend() {
    const o = xhrs.get(this);
    if (!o || o.watch) return sendXhr.apply(this, arguments);
    o.watch = watch(this, o);
    try {
      return sendXhr.apply(this, arguments);
    } catch (e) {
      o.watch.end('error');
      throw e;
    }
  };
})();
