// The Wasm core, started once per service-worker life. Import `ready` and await it before any call.
import init, * as core from '../pkg/understudy_worker.js';

export const ready = init({ module_or_path: new URL('../pkg/understudy_worker_bg.wasm', import.meta.url) });
export { core };

// ---- who may send what ----------------------------------------------------------------------
// Every message type a module answers is declared here, with who may send it; `onMessages`
// refuses to register a type missing from this table, and checks the sender of every message
// before its handler runs, so no module can forget. A chat page's own scripts can drive our
// content script (a page can forge anything a content script hears), so what a content script
// may ask is what the page may ask:
// - `page`: our content scripts on a chat site (a tab of chatgpt.com or chat.openai.com), and our
//   own pages. What a chat page needs about itself; handlers take the tab from `sender.tab.id`,
//   never from the message.
// - `frame`: the rescue frame only (`www/rescue-frame.html`, our page framed in a chat site's tab,
//   cross-origin to it): the rescue's actions, which a page must not be able to start. The page
//   cannot script that frame, dispatch events into it or read it; it can only load it (the frame
//   is web-accessible on chat sites), and a frame it loads itself learns only what the worker
//   holds for its tab and acts only on a person's click (www/gesture.js). Handlers take the tab
//   from `sender.tab.id`.
// - `extension`: our own pages only (popup, options, side panel, library, onboarding): anything
//   that reads other tabs, deletes, reads or writes settings, or runs a provider on its own.
// A refused message is answered `{ok: false, error: '<type> may be sent only by …'}`.
export const SENDERS = Object.freeze({
  hello: 'page',
  'settings.page': 'page',
  'detect.adapter': 'page',
  'detect.observe': 'page',
  'cache.capture': 'page',
  'cache.stream': 'page',
  'rescue.frame': 'frame',
  'rescue.handoff': 'frame',
  'rescue.openCache': 'frame',
  'rescue.sidePanel': 'frame',
  'detect.state': 'extension',
  'cache.status': 'extension',
  'cache.delete': 'extension',
  'cache.deleteAll': 'extension',
  'settings.get': 'extension',
  'settings.save': 'extension',
  'settings.import': 'extension',
  'settings.reset': 'extension',
  'settings.export': 'extension',
  'settings.quick': 'extension',
  'providers.chain': 'extension',
  'providers.last': 'extension',
  'providers.timeline': 'extension',
  'providers.test': 'extension',
  'providers.models': 'extension',
  'rescue.continue': 'extension',
});

/** The sites our content scripts run on, as URL prefixes (`https://chatgpt.com/`), from the manifest. */
let sites = null;
function chatSites(ext) {
  if (sites) return sites;
  const matches = (ext.runtime.getManifest().content_scripts ?? []).flatMap((c) => c.matches ?? []);
  sites = [...new Set(matches.map((m) => m.replace(/\*$/, '')).filter((m) => /^https:\/\/[^*/]+\/$/.test(m)))];
  return sites;
}

/**
 * Whether `sender` is one of our own pages: our extension's id and origin, and either no tab (the
 * popup, the side panel) or the top frame of a tab that shows our page (options, library). Our page
 * framed inside a web page (a web-accessible frame on a chat site) is not: the site chose its URL.
 */
export function fromExtensionPage(ext, sender) {
  const own = ext.runtime.getURL('');
  if (sender?.id !== ext.runtime.id || typeof sender.url !== 'string' || !sender.url.startsWith(own)) return false;
  if (!sender.tab) return true;
  return sender.frameId === 0 && !/^https?:/i.test(sender.tab.url ?? '');
}

/** Whether `sender` is the rescue frame (www/rescue-frame.html) inside a tab of a chat site. */
export function fromRescueFrame(ext, sender) {
  if (sender?.id !== ext.runtime.id || !sender.tab || sender.tab.id == null || sender.tab.id < 0) return false;
  if (typeof sender.url !== 'string' || !sender.url.startsWith(ext.runtime.getURL('www/rescue-frame.html'))) return false;
  if (!Number.isInteger(sender.frameId) || sender.frameId === 0) return false;
  const top = typeof sender.tab.url === 'string' ? sender.tab.url : '';
  return chatSites(ext).some((site) => top.startsWith(site));
}

/** Whether `sender` is our content script in a tab of a chat site. */
export function fromChatPage(ext, sender) {
  if (sender?.id !== ext.runtime.id || !sender.tab || sender.tab.id == null || sender.tab.id < 0) return false;
  const url = typeof sender.url === 'string' ? sender.url : '';
  return chatSites(ext).some((site) => url.startsWith(site));
}

const WHO = {
  page: "Understudy's content script in a chat site's tab, or Understudy's own pages",
  extension: "Understudy's own pages (own pages only, never a chat page's content script)",
  frame: "Understudy's rescue frame in a chat site's tab (never the page's content script)",
};

/** Throws unless `sender` may send a message of `type` (see SENDERS). */
export function permit(ext, type, sender) {
  const who = SENDERS[type];
  const ok = who === 'extension' ? fromExtensionPage(ext, sender)
    : who === 'page' ? fromExtensionPage(ext, sender) || fromChatPage(ext, sender)
      : who === 'frame' ? fromRescueFrame(ext, sender) : false;
  if (!ok) throw new Error(`${String(type).slice(0, 64)} may be sent only by ${WHO[who] ?? 'nobody'}`);
}

/**
 * Registers a runtime.onMessage handler for the message types in `types`, each of which must be
 * declared in SENDERS. The sender is checked first (a refusal is answered as an error); the handler
 * may be async; its value is answered as `{ok: true, value}` and a thrown error as `{ok: false,
 * error}`. Other types are left to other listeners. Call this at the top level of a module
 * (synchronously).
 */
const claimed = new Set();
const handlers = new Map(); // type -> handler, for the page port

export function onMessages(ext, types, handler) {
  for (const t of types) {
    if (!Object.hasOwn(SENDERS, t)) throw new Error(`message type ${t} has no entry in SENDERS (core.js): say who may send it`);
  }
  const wanted = new Set(types);
  for (const t of types) {
    claimed.add(t);
    handlers.set(t, handler);
  }
  ext.runtime.onMessage.addListener((message, sender, sendResponse) => {
    if (!message || !wanted.has(message.type)) return false;
    (async () => {
      try {
        permit(ext, message.type, sender);
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
// by the same handlers (each a `page` message of SENDERS, checked again per message).
const PAGE_PORT_TYPES = new Set(['cache.capture', 'cache.stream', 'detect.observe']);
for (const t of PAGE_PORT_TYPES) if (SENDERS[t] !== 'page') throw new Error(`${t} is not a page message`);

/**
 * Serves the page port: each `{id, message}` is answered `{id, reply}` by the handler that
 * onMessages registered for its type, with the port's sender as the sender. Per message this costs
 * the page one post instead of a one-off channel (runtime.sendMessage opens and closes one per
 * message). Call this at the top level (synchronously), after the feature modules.
 */
export function servePagePort(ext) {
  ext.runtime.onConnect.addListener((port) => {
    if (port.name !== PAGE_PORT) return;
    if (!fromChatPage(ext, port.sender)) {
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
          permit(ext, type, port.sender);
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
