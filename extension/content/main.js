//# allFunctionsCalledOnLoad
// Content script on chat sites (isolated world). Plain JS: no Wasm, no secrets. It introduces the
// page to the service worker, where the Wasm core decides, and shares what it learns with the other
// content scripts through `UnderstudyPage`:
//
// - `UnderstudyPage.ext`: the extension API (`browser` or `chrome`).
// - `UnderstudyPage.onReady(fn)`: fn(hello) once the worker has answered `hello` and the page's
//   settings are known (at once if they are).
// - `UnderstudyPage.settings()`: what the worker answers to `settings.page` ({paused, capture,
//   auto_mode, answer_in}), or null before it answered.
// - `UnderstudyPage.paused()`: whether Understudy is paused ("does nothing on chat pages while
//   paused"): no notice, no detection sent, nothing captured, no action offered. False until the
//   settings are known (onReady comes after them).
// - `UnderstudyPage.onPause(fn)`: fn(paused) each time it changes, live (no reload): the worker
//   sends `{type: 'settings.page.changed', value}` to chat tabs when those settings change.
// - `UnderstudyPage.request(message)`: like runtime.sendMessage (resolves with the worker's reply),
//   over one port kept open by the page (port 'understudy-page'; only the types the worker serves
//   there: captures and detection observations). Cheaper per message than a one-off channel. When
//   the port closes (the worker stopped, the page went to the back/forward cache), what was not
//   answered is sent again with runtime.sendMessage, which wakes the worker: nothing is lost (the
//   worker takes a capture or an observation twice without harm).
const UnderstudyPage = (() => {
  const ext = globalThis.browser ?? globalThis.chrome;
  const listeners = [];
  const pauseListeners = [];
  let hello = null;
  let page = null;
  let paused = false;

  const safe = (fn, arg) => {
    try {
      fn(arg);
    } catch (error) {
      console.warn('Understudy: a page listener failed', error);
    }
  };

  function setPage(value) {
    if (!value || typeof value !== 'object') return;
    page = value;
    const next = value.paused === true;
    if (next === paused) return;
    paused = next;
    for (const fn of pauseListeners) safe(fn, paused);
  }

  ext.runtime.onMessage.addListener((message) => {
    if (message?.type === 'settings.page.changed') setPage(message.value);
    return false;
  });

  let port = null;
  let lastId = 0;
  const waiting = new Map(); // id -> {message, resolve, reject}
  const direct = (w) => ext.runtime.sendMessage(w.message).then(w.resolve, w.reject);
  function connection() {
    if (port) return port;
    const p = ext.runtime.connect({ name: 'understudy-page' });
    p.onMessage.addListener((m) => {
      const w = m && typeof m === 'object' ? waiting.get(m.id) : undefined;
      if (!w) return;
      waiting.delete(m.id);
      w.resolve(m.reply);
    });
    p.onDisconnect.addListener(() => {
      if (port === p) port = null;
      const left = [...waiting.values()];
      waiting.clear();
      for (const w of left) direct(w);
    });
    port = p;
    return p;
  }
  function request(message) {
    return new Promise((resolve, reject) => {
      const id = ++lastId;
      const w = { message, resolve, reject };
      try {
        connection().postMessage({ id, message });
        waiting.set(id, w);
      } catch {
        port = null; // disconnected meanwhile (or the extension was reloaded)
        direct(w);
      }
    });
  }

  async function start() {
    const settings = ext.runtime.sendMessage({ type: 'settings.page' }).catch(() => null);
    const reply = await ext.runtime.sendMessage({ type: 'hello', url: location.href });
    if (!reply?.ok) {
      console.warn('Understudy: the extension did not answer', reply?.error);
      return;
    }
    const s = await settings;
    if (s?.ok && !page) setPage(s.value); // a change sent meanwhile is newer
    hello = reply.value;
    // The page port opened now, so the first capture of an answer does not wait for it.
    if (hello.site && !paused) {
      try {
        connection();
      } catch {
        // the extension was reloaded: requests fall back to runtime.sendMessage
      }
    }
    // A stable, documented hook: the page (and users' own automation) can see that Understudy is
    // active and which core version answered.
    document.documentElement.dataset.understudyCore = hello.core_version;
    document.documentElement.dataset.understudySite = hello.site ?? '';
    for (const fn of listeners) safe(fn, hello);
  }

  start().catch((error) => console.warn('Understudy: cannot reach the extension', error));

  return {
    ext,
    /** Calls `fn(hello)` once the service worker has answered (at once if it already has). */
    onReady(fn) {
      if (hello) fn(hello);
      else listeners.push(fn);
    },
    /** The page's settings as the worker answers `settings.page`, or null before that. */
    settings: () => page,
    /** Whether Understudy is paused on chat pages. */
    paused: () => paused,
    /** Calls `fn(paused)` each time the pause switch changes. */
    onPause(fn) {
      pauseListeners.push(fn);
    },
    /** Sends a capture or an observation to the worker over the page's port; resolves with its reply. */
    request,
  };
})();
