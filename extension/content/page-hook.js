// MAIN-world observer of the page's own traffic (runs in the page's JS world at document_start).
// It wraps `fetch` and forwards facts, never content it does not need, to the isolated content
// script with window.postMessage. It holds no secrets and has no extension APIs; the page can forge
// anything it posts, so the receiving side validates every message and the Wasm core judges it.
// It never makes a request of its own.
(() => {
  if (window.__understudyHook) return;
  Object.defineProperty(window, '__understudyHook', { value: true });

  const SOURCE = 'understudy-hook';
  const MAX_DETAIL = 2048;
  const PROGRESS_EVERY_MS = 1000;
  const nativeFetch = window.fetch;
  let nextId = 1;

  const post = (fact) => window.postMessage({ source: SOURCE, ...fact }, location.origin);

  // Only the page's own API traffic is of interest; static files and third parties are not.
  const watched = (url) => url.origin === location.origin && /^\/(backend-api|api)\//.test(url.pathname);

  function retryAfter(headers) {
    const ms = Number(headers.get('retry-after-ms'));
    if (Number.isFinite(ms) && ms > 0) return Math.ceil(ms / 1000);
    const s = headers.get('retry-after');
    if (s && /^\d+$/.test(s.trim())) return Number(s.trim());
    return null;
  }

  async function errorDetail(response) {
    try {
      const text = await response.clone().text();
      return text.slice(0, MAX_DETAIL);
    } catch {
      return '';
    }
  }

  // Reads a clone of an event stream: progress (throttled), an error object inside the stream,
  // and whether it ended with [DONE]. Only error texts leave this function, never the answer.
  async function watchStream(id, path, response) {
    const reader = response.clone().body?.getReader();
    if (!reader) return;
    const decoder = new TextDecoder();
    let lastProgress = 0;
    let tail = '';
    let done = false;
    let error = null;
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        const now = Date.now();
        if (now - lastProgress >= PROGRESS_EVERY_MS) {
          lastProgress = now;
          post({ kind: 'stream_progress', id, path });
        }
        const text = tail + decoder.decode(chunk.value, { stream: true });
        if (text.includes('[DONE]')) done = true;
        const at = text.indexOf('"error"');
        if (at >= 0 && error === null) {
          const line = text.slice(text.lastIndexOf('\n', at) + 1, text.indexOf('\n', at) >>> 0 || undefined);
          error = line.replace(/^data:\s*/, '').slice(0, MAX_DETAIL);
        }
        tail = text.slice(-16);
      }
      post({ kind: 'stream_end', id, path, done, error });
    } catch {
      post({ kind: 'stream_end', id, path, done, error: error ?? 'stream interrupted', interrupted: true });
    }
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
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const path = url.pathname;
    post({ kind: 'request_start', id, path, method });
    let response;
    try {
      response = await nativeFetch.apply(this, arguments);
    } catch (e) {
      post({ kind: 'request_failed', id, path, method, aborted: e?.name === 'AbortError' });
      throw e;
    }
    const type = response.headers.get('content-type') ?? '';
    const fact = { kind: 'response', id, path, method, status: response.status, retry_after_s: retryAfter(response.headers) };
    if (!response.ok) {
      post({ ...fact, detail: await errorDetail(response) });
    } else {
      post({ ...fact, streaming: type.includes('text/event-stream') });
      if (type.includes('text/event-stream')) watchStream(id, path, response);
    }
    return response;
  };
})();
