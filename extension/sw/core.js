// The Wasm core, started once per service-worker life. Import `ready` and await it before any call.
import init, * as core from '../pkg/understudy.js';

export const ready = init({ module_or_path: new URL('../pkg/understudy_bg.wasm', import.meta.url) });
export { core };

/**
 * Registers a runtime.onMessage handler for the message types in `types`. The handler may be async;
 * its value is answered as `{ok: true, value}` and a thrown error as `{ok: false, error}`. Other
 * types are left to other listeners. Call this at the top level of a module (synchronously).
 */
const claimed = new Set();

export function onMessages(ext, types, handler) {
  const wanted = new Set(types);
  for (const t of types) claimed.add(t);
  ext.runtime.onMessage.addListener((message, sender, sendResponse) => {
    if (!message || !wanted.has(message.type)) return false;
    (async () => {
      try {
        await ready;
        sendResponse({ ok: true, value: await handler(message, sender) });
      } catch (error) {
        sendResponse({ ok: false, error: String(error?.message ?? error) });
      }
    })();
    return true; // answered asynchronously
  });
}

/**
 * Answers every message that no module claims with the core's refusal, so a forged or outdated
 * message gets a clear error instead of silence. Register it last.
 */
export function refuseUnclaimed(ext) {
  ext.runtime.onMessage.addListener((message, _sender, sendResponse) => {
    if (message && claimed.has(message.type)) return false;
    ready
      .then(() => core.handleMessage(message))
      .then(
        (value) => sendResponse({ ok: true, value }),
        (error) => sendResponse({ ok: false, error: String(error?.message ?? error) }),
      );
    return true;
  });
}
