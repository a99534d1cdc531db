// Keyboard shortcuts (`commands` in the manifest) and the context menu's "Ask another model".
//
// - `continue-elsewhere` (Alt+Shift+U): on a tab whose failure this worker holds in force
//   (`detect.tab.<tabId>`, sw/detect.js), the tab's rescue frame is told to do what its
//   "Continue with <first provider>" button does (`rescue.command` to the tab's frames; only the
//   rescue frame answers it, and only from the extension itself, never from a tab; it acts once
//   the browser saw its button visible, so the notice is scrolled into view first): the ask then
//   goes over the frame's own `understudy-rescue` port, the same path as the click (sw/rescue.js),
//   with the failed prompt and the kind taken from the worker's detection state. A tab without a
//   failure opens the side panel instead.
// - `open-side-panel` (Alt+Shift+S): the side panel on the active tab (Chrome's `sidePanel.open`,
//   Firefox's `sidebarAction.open`; `_execute_action` would open the popup).
// - The context menu on selected text: the side panel opens with the selection as its prompt (not
//   sent: the person reads it and presses Send). The selection is handed over as `rescue.panel`
//   in storage.session with `selection: true`, the way the rescue frame hands a conversation over;
//   it is text, shown in the prompt's textarea, never markup.
//
// Both browsers open a side panel only in the handler of the person's action, synchronously
// (Chrome: the shortcut's or the click's user gesture ends at the first await): so the panel
// opens first and the handover follows, and whether the active tab has a failure is known
// without waiting, from a copy of the detection state kept here (read once when the worker
// starts, then followed through storage.onChanged). A shortcut that wakes the worker before that
// read is done, on a chat site's tab, waits for it; Chrome may then refuse the side panel (its
// gesture is over) and the shortcut must be pressed again.
import { ext } from '../api.js';
import '../i18n.js';

const { t } = globalThis.understudyI18n;

export const COMMAND_CONTINUE = 'continue-elsewhere';
export const COMMAND_PANEL = 'open-side-panel';
export const MENU_ASK = 'understudy-ask-selection';
const K_PANEL = 'rescue.panel';
const TAB_PREFIX = 'detect.tab.';
const MAX_SELECTION = 32_768;
const HANDOVER_PATH = 'www/sidepanel.html?from=rescue';

// ---- which tabs have a failure in force (a copy: storage.session is the truth) ----

const failing = new Set();
let known = false;
const loaded = ext.storage.session.get(null).then((all) => {
  for (const [key, value] of Object.entries(all)) {
    if (key.startsWith(TAB_PREFIX) && value?.current) failing.add(Number(key.slice(TAB_PREFIX.length)));
  }
}).catch(() => {}).finally(() => {
  known = true;
});
ext.storage.onChanged.addListener((changes, area) => {
  if (area !== 'session') return;
  for (const [key, change] of Object.entries(changes)) {
    if (!key.startsWith(TAB_PREFIX)) continue;
    const tabId = Number(key.slice(TAB_PREFIX.length));
    if (change.newValue?.current) failing.add(tabId);
    else failing.delete(tabId);
  }
});

/** Whether `url` is on a site our content scripts watch (the manifest's matches). */
function onChatSite(url) {
  const matches = (ext.runtime.getManifest().content_scripts ?? []).flatMap((c) => c.matches ?? []);
  return typeof url === 'string' && matches.some((m) => url.startsWith(m.replace(/\*$/, '')));
}

// ---- the side panel ----

/**
 * Opens the side panel on `tab` (Chrome) or the sidebar (Firefox); `path`, when given, is the page
 * it shows on that tab (Chrome: the handover's page; Firefox's sidebar always loads its default
 * page, which picks the handover up). Call it synchronously in the person's action.
 */
function openPanel(tab, path = null) {
  try {
    if (ext.sidePanel) {
      if (Number.isInteger(tab?.id) && tab.id >= 0) {
        if (path) ext.sidePanel.setOptions({ tabId: tab.id, path, enabled: true }).catch(() => {});
        return ext.sidePanel.open({ tabId: tab.id });
      }
      if (Number.isInteger(tab?.windowId)) return ext.sidePanel.open({ windowId: tab.windowId });
      return Promise.reject(new Error('no tab to open the side panel on'));
    }
    if (ext.sidebarAction) return ext.sidebarAction.open();
    return Promise.reject(new Error('this browser has no side panel'));
  } catch (error) {
    return Promise.reject(error);
  }
}

const settle = (open) => open.then(() => ({ opened: true }), (error) => ({ opened: false, error: String(error?.message ?? error) }));

// ---- the actions ----

/** "Open the side panel" on the active tab. */
export function openSidePanel(tab) {
  return settle(openPanel(tab));
}

const REVEAL_WAIT_MS = 3_000;
const RETRY_MS = 150;
let commands = 0;

/**
 * Tells the tab's rescue frame to continue with its first provider: {rescue, started, why?}. The
 * frame acts only once the browser has seen its button visible (as for a click): until then the
 * notice is scrolled into view (`rescue.reveal` to the tab's content script) and the frame asked
 * again, with the same id (a frame acts on an id once).
 */
async function rescueIn(tab) {
  const message = { type: 'rescue.command', command: COMMAND_CONTINUE, id: `${Date.now()}-${++commands}` };
  const until = Date.now() + REVEAL_WAIT_MS;
  let revealed = false;
  for (;;) {
    const reply = await ext.tabs.sendMessage(tab.id, message).catch(() => null);
    if (reply?.started === true) return { rescue: true, started: true };
    if (reply?.why === 'no provider' || Date.now() > until) return { rescue: true, started: false, why: reply?.why ?? 'no rescue frame' };
    if (!revealed) {
      revealed = true;
      ext.tabs.sendMessage(tab.id, { type: 'rescue.reveal' }, { frameId: 0 }).catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

/**
 * "Continue elsewhere": a rescue in the active tab when this worker holds a failure for it (the
 * same path as the notice's "Continue with …"), the side panel otherwise.
 */
export function continueElsewhere(tab) {
  const tabId = tab?.id;
  if (known) {
    // Decided now, inside the person's gesture.
    return Number.isInteger(tabId) && failing.has(tabId) ? rescueIn(tab) : openSidePanel(tab);
  }
  // A tab that is not a chat site (or whose address this extension may not read) has no failure:
  // the panel opens at once, while the gesture lasts.
  if (!Number.isInteger(tabId) || !onChatSite(tab.url)) return openSidePanel(tab);
  return loaded.then(() => (failing.has(tabId) ? rescueIn(tab) : openSidePanel(tab)));
}

/**
 * "Ask another model" on selected text: the side panel opens (first, inside the click), then the
 * selection is handed over as its prompt. `info` is the context menu's `OnClickData`.
 */
export function askSelection(info, tab) {
  const text = typeof info?.selectionText === 'string' ? info.selectionText.trim().slice(0, MAX_SELECTION) : '';
  if (!text) return Promise.resolve({ opened: false, error: 'no selected text' });
  const open = settle(openPanel(tab, HANDOVER_PATH));
  const handover = ext.storage.session.set({
    [K_PANEL]: { conversation: [], prompt: text, text: '', provider: null, conversation_id: null, branch: null, selection: true, at: Date.now() },
  });
  return Promise.all([open, handover]).then(([opened]) => opened);
}

/** A keyboard shortcut, by its name in the manifest's `commands`. */
export function runCommand(command, tab) {
  if (command === COMMAND_CONTINUE) return continueElsewhere(tab);
  if (command === COMMAND_PANEL) return openSidePanel(tab);
  return Promise.resolve(null);
}

// ---- listeners (registered synchronously) ----

const menus = ext.contextMenus ?? ext.menus;

function createMenu() {
  if (!menus) return;
  // The menu persists in the browser; made afresh so its title follows the browser's language.
  Promise.resolve(menus.removeAll()).catch(() => {}).then(() => {
    menus.create({ id: MENU_ASK, title: t('store_menu_ask'), contexts: ['selection'] }, () => void ext.runtime.lastError);
  });
}
ext.runtime.onInstalled.addListener(createMenu);
ext.runtime.onStartup?.addListener(createMenu);

menus?.onClicked.addListener((info, tab) => {
  if (info?.menuItemId === MENU_ASK) askSelection(info, tab).catch(() => {});
});

ext.commands?.onCommand.addListener((command, tab) => {
  // Chrome passes the active tab; Firefox (and older Chrome) may not.
  if (tab) {
    runCommand(command, tab).catch(() => {});
    return;
  }
  if (command === COMMAND_PANEL && ext.sidebarAction) {
    settle(openPanel(null)); // Firefox's sidebar needs no tab, and must open now
    return;
  }
  ext.tabs.query({ active: true, currentWindow: true }).then(([active]) => runCommand(command, active)).catch(() => {});
});

// For the end-to-end tests, which cannot press a browser shortcut or click the browser's own menu:
// what the listeners above call, with the tab and the click data the browser would pass.
globalThis.understudyCommands = Object.freeze({ runCommand, askSelection });
