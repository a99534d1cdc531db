// Where Firefox differs from Chrome (and the Chromium-based browsers, which share Chrome's build),
// in one place. The manifest's differences are in manifest.firefox.json: an event page
// (`background.scripts`) for the service worker, `sidebar_action` for `side_panel`. The content
// scripts, which cannot import, call `requestIdleCallback` as a method of `window` (Firefox refuses
// it detached from its receiver).

/** Firefox's `browser` namespace, or Chrome's `chrome`. */
export const ext = globalThis.browser ?? globalThis.chrome;

/** Firefox's sidebar (`sidebar_action`) stands in for Chrome's side panel. */
export const hasSidebar = !ext?.sidePanel && typeof ext?.sidebarAction?.open === 'function';

/**
 * Opens Firefox's sidebar. Call it synchronously in the click handler of the page clicked: Firefox
 * allows it only in a user-input handler of the calling context (a message to the worker does not
 * carry the click). True when the sidebar was asked to open; false in Chrome, whose worker opens the
 * side panel on the tab.
 */
export function openSidebarOnClick() {
  if (!hasSidebar) return false;
  ext.sidebarAction.open().catch(() => {});
  return true;
}

/**
 * Keeps a storage area away from content scripts (Chrome: `setAccessLevel`). Firefox has no such
 * switch: there the extension's own content scripts could read the area (ours never do).
 */
export function trustedContextsOnly(area) {
  try {
    area?.setAccessLevel?.({ accessLevel: 'TRUSTED_CONTEXTS' })?.catch?.(() => {});
  } catch {}
}
