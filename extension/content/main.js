// Content script on chat sites (isolated world). Plain JS: no Wasm, no secrets. It introduces the
// page to the service worker, where the Wasm core decides, and shares what it learns with the other
// content scripts through `UnderstudyPage`.
const UnderstudyPage = (() => {
  const ext = globalThis.browser ?? globalThis.chrome;
  const listeners = [];
  let hello = null;

  async function start() {
    const reply = await ext.runtime.sendMessage({ type: 'hello', url: location.href });
    if (!reply?.ok) {
      console.warn('Understudy: the extension did not answer', reply?.error);
      return;
    }
    hello = reply.value;
    // A stable, documented hook: the page (and users' own automation) can see that Understudy is
    // active and which core version answered.
    document.documentElement.dataset.understudyCore = hello.core_version;
    document.documentElement.dataset.understudySite = hello.site ?? '';
    for (const fn of listeners) fn(hello);
  }

  start().catch((error) => console.warn('Understudy: cannot reach the extension', error));

  return {
    ext,
    /** Calls `fn(hello)` once the service worker has answered (at once if it already has). */
    onReady(fn) {
      if (hello) fn(hello);
      else listeners.push(fn);
    },
  };
})();
