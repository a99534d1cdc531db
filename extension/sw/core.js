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
const handlers = new Map(); // type -> handler, for the page port

export function onMessages(ext, types, handler) {
  const wanted = new Set(types);
  for (const t of types) {
    claimed.add(t);
    handlers.set(t, handler);
  }
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

/** The port a chat page's content scripts keep open for their frequent messages. */
export const PAGE_PORT = 'understudy-page';
// What may come over it: the same messages a chat page sends with runtime.sendMessage, answered
// by the same handlers.
const PAGE_PORT_TYPES = new Set(['cache.capture', 'cache.stream', 'detect.observe']);

/**
 * Serves the page port: each `{id, message}` is answered `{id, reply}` by the handler that
 * onMessages registered for its type, with the port's sender as the sender. Per message this costs
 * the page one post instead of a one-off channel (runtime.sendMessage opens and closes one per
 * message). Call this at the top level (synchronously), after the feature modules.
 */
export function servePagePort(ext) {
  ext.runtime.onConnect.addListener((port) => {
    if (port.name !== PAGE_PORT) return;
    if (port.sender?.id !== ext.runtime.id || !port.sender?.tab) {
      port.disconnect(); // content scripts of chat pages only
      return;
    }
    port.onMessage.addListener((m) => {
      if (!m || typeof m !== 'object' || !Number.isSafeInteger(m.id)) return;
      const type = m.message?.type;
      const handler = PAGE_PORT_TYPES.has(type) ? handlers.get(type) : null;
      (async () => {
        let reply;
        try {
          if (!handler) throw new Error(`not a page port message: ${String(type).slice(0, 64)}`);
          await ready;
          reply = { ok: true, value: await handler(m.message, port.sender) };
        } catch (error) {
          reply = { ok: false, error: String(error?.message ?? error) };
        }
        try {
          port.postMessage({ id: m.id, reply });
        } catch {
          // the page went away
        }
      })();
    });
  });
}
