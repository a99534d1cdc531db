//# allFunctionsCalledOnLoad
// MAIN-world observer of the conversations another chat site's page loads (for the cache). Passive:
// it reads the responses of the page's own reads and never makes a request; it parses nothing (the
// worker's core reads each site's format). A read is one of the site's adapter's
// `conversation_read` endpoints (SITE_STREAMS `reads`, written in at build time by
// extension/sites.mjs): its method, its pathname and, for an endpoint serving many calls (Gemini's
// `batchexecute`), a `name=value` its query must hold (`rpcids=hNvQHb`). Over fetch (a clone of the
// response) or XMLHttpRequest (its text once loaded), a 2xx response's body is posted with
// window.postMessage({source: 'understudy-capture', kind: 'conversation', json, path}) (path: the
// URL's pathname and search), as capture-hook.js posts ChatGPT's conversation bodies. The page can
// forge anything posted here: the worker files a read under the tab's site and keeps it only for
// the conversation the tab shows or streamed.
(() => {
  if (window.__understudyReads) return;
  Object.defineProperty(window, '__understudyReads', { value: true });

  const SITE_STREAMS = /*SITE_STREAMS*/{};
  const site = Object.hasOwn(SITE_STREAMS, location.host) ? SITE_STREAMS[location.host] : null;
  const reads = (site?.reads ?? []).map((r) => ({ method: r.method, path: new RegExp(r.path), query: r.query?.split('=') ?? null }));
  if (!reads.length) return;

  const MAX_JSON = 32 << 20;
  const origin = location.origin;
  const isRead = (method, url) => reads.some((r) => (!r.method || r.method === method) && r.path.test(url.pathname)
    && (!r.query || (url.searchParams.get(r.query[0]) ?? '').split(',').includes(r.query[1])));
  const post = (json, url) => {
    if (typeof json === 'string' && json.length <= MAX_JSON) {
      window.postMessage({ source: 'understudy-capture', kind: 'conversation', json, path: url.pathname + url.search }, origin);
    }
  };

  // ---- fetch ----
  const pageFetch = window.fetch;
  window.fetch = function understudyReads(input, init) {
    let url;
    try {
      url = new URL(input instanceof Request ? input.url : String(input), location.href);
    } catch {
      return pageFetch.apply(this, arguments);
    }
    const method = String(init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    if (url.origin !== origin || !isRead(method, url)) return pageFetch.apply(this, arguments);
    return pageFetch.apply(this, arguments).then((response) => {
      if (response.ok) response.clone().text().then((json) => post(json, url), () => {});
      return response;
    });
  };

  // ---- XMLHttpRequest ----
  if (typeof window.XMLHttpRequest !== 'function') return;
  const proto = window.XMLHttpRequest.prototype;
  const open = proto.open;
  const opened = new WeakMap(); // XMLHttpRequest -> the URL of its latest open(), a read
  const loaded = (event) => {
    const xhr = event.target;
    const url = opened.get(xhr);
    if (!url || !(xhr.status >= 200 && xhr.status < 300)) return;
    try {
      if (xhr.responseType === '' || xhr.responseType === 'text') post(xhr.responseText, url);
      else if (xhr.responseType === 'json' && xhr.response != null) post(JSON.stringify(xhr.response), url);
    } catch {
      // a response that cannot be read as text: nothing to keep
    }
  };
  proto.open = function understudyReadOpen(method, url) {
    opened.delete(this);
    try {
      const u = new URL(String(url), location.href);
      if (u.origin === origin && isRead(String(method).toUpperCase(), u)) {
        opened.set(this, u);
        this.removeEventListener('load', loaded);
        this.addEventListener('load', loaded);
      }
    } catch {
      // not a URL: not a read
    }
    return open.apply(this, arguments);
  };
})();
