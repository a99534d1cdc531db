// Content script on chat sites (isolated world). Plain JS: no Wasm, no secrets. It observes the
// page and messages the service worker, where the Wasm core decides.
(() => {
  const ext = globalThis.browser ?? globalThis.chrome;

  async function hello() {
    const reply = await ext.runtime.sendMessage({ type: 'hello', url: location.href });
    if (!reply?.ok) {
      console.warn('Understudy: the extension did not answer', reply?.error);
      return;
    }
    // A stable, documented hook: the page (and users' own automation) can see that Understudy is
    // active and which core version answered.
    document.documentElement.dataset.understudyCore = reply.value.core_version;
    document.documentElement.dataset.understudySite = reply.value.site ?? '';
  }

  hello().catch((error) => console.warn('Understudy: cannot reach the extension', error));
})();
