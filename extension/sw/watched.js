// Whether Understudy acts on a chat page now: not while paused (the settings document's `paused`),
// and not on a site the user switched off (`sites_off`). Read from storage once per worker life and
// again when the settings change (the worker may die between two messages: nothing else is kept).
import { ext } from '../api.js';

const K_SETTINGS = 'settings';
let flags = null; // Promise<{paused, off: Set<site id>}>

ext.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && changes[K_SETTINGS]) flags = null;
});

function read() {
  flags ??= ext.storage.local.get(K_SETTINGS).then((v) => {
    const s = v?.[K_SETTINGS] ?? {};
    return { paused: s.paused === true, off: new Set(Array.isArray(s.sites_off) ? s.sites_off.filter((x) => typeof x === 'string') : []) };
  }, () => ({ paused: false, off: new Set() }));
  return flags;
}

/** Whether Understudy is paused. */
export const paused = () => read().then((f) => f.paused);

/** Whether the user left the chat site `site` (an id) alone. */
export const siteOff = (site) => read().then((f) => f.off.has(site));
