// Service-worker side of the cache feature: captures from the content script land here and are
// written to the extension origin's IndexedDB (never the page's) through the Wasm core.
//
// Messages:
// - `cache.capture` {capture}: one capture (see src/conversation/capture.rs). Captures arriving
//   while a write is in flight share the next transaction. Answers {id, changed, committed_ms}; a full disk answers an
//   error `storage quota exceeded` and the tab gets `cache.quota`.
// - `cache.delete` {id}, `cache.deleteAll`: privacy controls (the library page calls them too).
// - `cache.status`: {count, quota_error}. A quota error is also kept in storage.local
//   (`understudy.cache.status`, {quota_error, at}) for the popup and the library, and cleared by
//   the next capture that is stored.
// What a chat tab may capture (the core decides, src/conversation/capture.rs; SECURITY.md
// "Captures"): each tab has a budget (`CaptureBudget`: new conversations and bytes per minute; a
// body at most 16 MB), and a body or DOM reading may change only the conversation the tab shows
// (its URL's `/c/<id>`, waited for a moment: the page loads a chat just before its URL shows it)
// or the one its own streams decoded, under the id its request path names. A refusal is an error
// to the page; over the budget the tab is told once a minute (`cache.quota`) and the refusal is
// kept in `understudy.cache.status`. Understudy's own pages are not bounded.
// The one capture switch is the settings document's `capture.enabled` (storage.local `settings`,
// policy applied); the library's old `understudy.preferences.capture_enabled: false` is moved
// there once, then no longer read.
// The IndexedDB connection stays open for the worker's life (opened again after a restart, or
// when the browser closed it). A newer schema opened elsewhere (an update of the extension) closes
// it at once, never blocking the upgrade; until this worker restarts, captures are refused with
// that reason, kept in `understudy.cache.status` and told to the tab (as for a full disk).
// Exports for other worker modules: `captureEnabled()`, `isTemporary(url)`, `storeCaptures(captures,
// tabId)` (captures the page streams' decoders made, sw/capture.js, into the same batched writer),
// `chargeTab(tabId, bytes)` (the tab's byte budget: throws over it, the tab told),
// `updateRecord(id, fn)` (the rescue keeps answers from other providers in the cached conversation
// with it).
import { ext } from '../api.js';
import { MIN_FREE, openCache, QuotaError, recordOf, recordText, storageLeft } from '../www/library-db.js';
import { latestSiteConversation, latestTurn } from './capture.js';
import { siteOff } from './watched.js';
import { core, fromExtensionPage, onMessages, ready } from './core.js';
import { budgetWords, t } from './words.js';

const OLD_PREFS_KEY = 'understudy.preferences'; // before the one switch: {capture_enabled}
const K_SETTINGS = 'settings';
const K_MANAGED_IDS = 'settings.managedIds';
const STATUS_KEY = 'understudy.cache.status';
const SHOWN_WAIT_MS = 3000; // how long a body of another conversation waits for the tab's URL
const UPGRADED = () => t('worker_cache_upgraded');

let dbPromise = null;
let openDb = null;
function db() {
  if (openDb?.closed) {
    dbPromise = null;
    openDb = null;
  }
  dbPromise ??= ready.then(() => openCache(core, { onVersionChange: () => reportQuota([], UPGRADED()) })).then((cache) => (openDb = cache), (e) => {
    dbPromise = null;
    throw e;
  });
  return dbPromise;
}

// Free space, from the browser's storage estimate: a verdict of "room" is trusted for 5 s (checked
// again in the background), "full" is checked again before every write. A write refused for
// space is reported like a QuotaExceededError from IndexedDB.
const ROOM_TTL_MS = 5000;
let room = { ok: null, at: 0, checking: null };

function checkRoom() {
  room.checking ??= storageLeft().then((left) => {
    room = { ok: left >= MIN_FREE, at: performance.now(), checking: null };
    return room.ok;
  });
  return room.checking;
}

async function hasRoom() {
  if (room.ok === true) {
    if (performance.now() - room.at > ROOM_TTL_MS) checkRoom();
    return true;
  }
  return checkRoom();
}

// Batching: a capture is written at once when no write is in flight; captures that arrive while one
// is (a burst of streamed events) wait for it and then share the next transaction.
let queue = [];
let writing = false;

// The old library switch, moved once into the settings document (a stored `false` becomes
// `capture.enabled: false`, through the same validation and policy as a save), then removed.
async function migrateOldSwitch() {
  const old = (await ext.storage.local.get(OLD_PREFS_KEY))[OLD_PREFS_KEY];
  if (old === undefined) return;
  if (old?.capture_enabled === false) {
    await ready;
    const local = await ext.storage.local.get([K_SETTINGS, K_MANAGED_IDS]);
    const stored = local[K_SETTINGS] === undefined ? '' : JSON.stringify(local[K_SETTINGS]);
    let policy = {};
    try {
      policy = (await ext.storage.managed?.get(null)) ?? {};
    } catch {}
    const previous = JSON.stringify(local[K_MANAGED_IDS] ?? []);
    const current = core.settingsApply(stored, JSON.stringify(policy), previous);
    if (current.ok && current.public.settings.capture?.enabled !== false) {
      const doc = structuredClone(current.public.settings);
      doc.capture = { ...(doc.capture ?? {}), enabled: false };
      const outcome = core.settingsSave(JSON.stringify({ settings: doc, clear_keys: [] }), stored, JSON.stringify(policy), previous);
      // Refused (a policy locks capture on): the organisation's choice stands.
      if (outcome.ok) await ext.storage.local.set({ [K_SETTINGS]: outcome.document, [K_MANAGED_IDS]: outcome.managed_ids });
    }
  }
  await ext.storage.local.remove(OLD_PREFS_KEY);
}
const migrated = migrateOldSwitch().catch((e) => console.warn('understudy: capture switch not migrated:', e?.message ?? e));

// The capture switch, read once per worker life and again when the settings change.
let enabledPromise = null;
ext.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && changes[K_SETTINGS]) enabledPromise = null;
});

/** Whether captures and rescued answers may be kept: the settings document's `capture.enabled`. */
export function captureEnabled() {
  enabledPromise ??= migrated
    .then(() => ext.storage.local.get(K_SETTINGS))
    .then((v) => v?.[K_SETTINGS]?.capture?.enabled !== false, () => true);
  return enabledPromise;
}

// ---- what a tab may capture ----
const budgets = new Map(); // tabId -> core.CaptureBudget (this worker's life)
const waiting = new Map(); // tabId -> bodies waiting for the tab's URL
const MAX_WAITING = 4;
ext.tabs?.onRemoved.addListener((tabId) => {
  budgets.get(tabId)?.free();
  budgets.delete(tabId);
});

function budgetOf(tabId) {
  let b = budgets.get(tabId);
  if (!b) {
    b = new core.CaptureBudget();
    budgets.set(tabId, b);
  }
  return b;
}


/** Runs a budget charge for `tabId`; over the bound the tab is told (once a window) and it throws. */
function charged(tabId, charge) {
  const b = budgetOf(tabId);
  try {
    charge(b, Date.now());
  } catch (error) {
    if (b.refused() === 1) reportQuota([tabId], t('worker_cache_over', budgetWords(String(error?.message ?? error).replace(/^capture refused: /, ''))));
    throw error;
  }
}

/** Charges `bytes` of capture to the tab's budget; throws (the tab told) over it. */
export function chargeTab(tabId, bytes) {
  if (tabId != null) charged(tabId, (b, now) => b.chargeBytes(bytes, now));
}

function captureBytes(c) {
  if (c.kind === 'conversation') return typeof c.json === 'string' ? c.json.length : 0;
  if (c.kind === 'dom') {
    return (Array.isArray(c.turns) ? c.turns : []).reduce((n, t) => n + String(t?.text ?? '').length + 64, String(c.title ?? '').length);
  }
  return 0;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The capture checked against the tab it came from (the core's rule), at the tab's current URL
 * (a page port's sender keeps the URL the port opened on); a body of a conversation the tab does
 * not show yet waits up to SHOWN_WAIT_MS for the tab's URL to show it. Throws when refused.
 */
async function checkOrigin(capture, tab) {
  const urlNow = async () => (await ext.tabs.get(tab.id).catch(() => null))?.url ?? tab.url;
  const check = (url) => core.cacheCaptureOrigin(capture, url ?? null, (capture.site ? latestSiteConversation(tab.id) : latestTurn(tab.id)?.conversation_id) ?? null);
  const later = (error) => /not the conversation this tab shows/.test(error?.message ?? '');
  try {
    return check(await urlNow());
  } catch (error) {
    // A few may wait per tab; a flood of bodies for other conversations is refused at once.
    if (!later(error) || (waiting.get(tab.id) ?? 0) >= MAX_WAITING) throw error;
  }
  waiting.set(tab.id, (waiting.get(tab.id) ?? 0) + 1);
  try {
    const deadline = performance.now() + SHOWN_WAIT_MS;
    for (;;) {
      await sleep(250);
      try {
        return check(await urlNow());
      } catch (error) {
        if (!later(error) || performance.now() > deadline) throw error;
      }
    }
  } finally {
    waiting.set(tab.id, waiting.get(tab.id) - 1);
  }
}

export function isTemporary(url) {
  try {
    return new URL(url).searchParams.get('temporary-chat') === 'true';
  } catch {
    return false;
  }
}

// Whether storage.local holds a quota error to clear (null: not read yet in this worker's life).
let quotaShown = null;

async function clearQuota() {
  quotaShown ??= ext.storage.local.get(STATUS_KEY).then((v) => Boolean(v?.[STATUS_KEY]?.quota_error), () => false);
  if (!(await quotaShown)) return;
  quotaShown = Promise.resolve(false);
  await ext.storage.local.remove(STATUS_KEY).catch(() => {});
}

async function reportQuota(tabIds, message) {
  const status = { quota_error: message, at: Date.now() };
  quotaShown = Promise.resolve(true);
  try {
    await ext.storage.local.set({ [STATUS_KEY]: status });
  } catch {
    // storage.local may be full as well; the tab message below still tells the user
  }
  for (const tabId of tabIds) {
    ext.tabs?.sendMessage(tabId, { type: 'cache.quota', message }).catch(() => {});
  }
}

async function flush() {
  if (writing || queue.length === 0) return;
  writing = true;
  const batch = queue;
  queue = [];
  try {
    if (!(await hasRoom())) throw new QuotaError('the browser storage for the extension is full');
    const cache = await db();
    const timing = batch.some((b) => b.profile) ? {} : null;
    const started = performance.now();
    const admitNew = (i) => chargeNew(batch[i].tabId);
    const results = await cache.applyCaptures(batch.map((b) => b.capture), timing, admitNew);
    if (timing) timing.total = performance.now() - started;
    batch.forEach((b, i) => b.resolve(timing ? { ...results[i], timing } : results[i]));
    // A refusal of this very batch (over a tab's budget) stays reported.
    if (results.some((r) => r?.ok && r.changed) && !results.some((r) => /^capture refused/.test(r?.error ?? ''))) clearQuota();
  } catch (error) {
    const tabs = [...new Set(batch.map((b) => b.tabId).filter((t) => t != null))];
    if (error instanceof QuotaError || error?.name === 'QuotaExceededError') {
      await reportQuota(tabs, t('worker_cache_full'));
    } else if (error?.code === 'upgraded' || /upgraded by a newer version/.test(error?.message ?? '')) {
      await reportQuota(tabs, UPGRADED());
    }
    batch.forEach((b) => b.reject(error));
  } finally {
    writing = false;
    if (queue.length) flush();
  }
}

const encoder = new TextEncoder();

/**
 * One read-modify-write of the record `id` in its own transaction: `fn(storedJson | undefined)`
 * returns a core result `{json, meta, changed}` or throws (nothing is written then). Resolves to
 * fn's result once committed; rejects with QuotaError when the browser refuses the write.
 */
export async function updateRecord(id, fn) {
  if (!(await hasRoom())) throw new QuotaError('the browser storage for the extension is full');
  const idb = (await db()).db;
  const tx = idb.transaction(['conversations', 'metas', 'dirty'], 'readwrite', { durability: 'relaxed' });
  const committed = new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error?.name === 'QuotaExceededError' ? new QuotaError(tx.error.message) : tx.error ?? new Error('transaction aborted'));
  });
  committed.catch(() => {});
  const stored = await new Promise((resolve, reject) => {
    const r = tx.objectStore('conversations').get(id);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  let out;
  try {
    out = fn(recordText(recordOf(stored)) ?? undefined);
  } catch (error) {
    tx.abort();
    throw error;
  }
  if (out.changed) {
    tx.objectStore('conversations').put({ id, data: encoder.encode(out.json) });
    tx.objectStore('metas').put({ ...out.meta, t: out.meta.update_time ?? 0 });
    tx.objectStore('dirty').put({ id });
  }
  await committed;
  return out;
}

/** A new conversation charged to the tab's budget (none for Understudy's own pages). */
function chargeNew(tabId) {
  if (tabId != null) charged(tabId, (b, now) => b.admitNew(now));
}

/** Queues a capture; `tabId`: the chat tab whose budget it counts against, or null. */
function enqueue(capture, tabId, profile) {
  return new Promise((resolve, reject) => {
    queue.push({ capture, tabId, profile, resolve, reject });
    flush();
  });
}

/**
 * Stores captures made in the worker (sw/capture.js) through the same batched writer as
 * `cache.capture`: resolves to one result per capture ({ok, id, changed} or {ok: false, error});
 * rejects with QuotaError when the browser refuses the write (the tab is told, as for a capture).
 */
export function storeCaptures(captures, tabId) {
  return Promise.all(captures.map((capture) => enqueue(capture, tabId, false)));
}

onMessages(ext, ['cache.capture', 'cache.delete', 'cache.deleteAll', 'cache.status'], async (message, sender) => {
  switch (message.type) {
    case 'cache.capture': {
      const arrived = performance.now();
      if (!message.capture || typeof message.capture !== 'object') throw new Error('malformed capture');
      if (sender?.tab?.url && isTemporary(sender.tab.url)) return { skipped: 'temporary chat' };
      if (!(await captureEnabled())) return { skipped: 'capture is off' };
      const own = fromExtensionPage(ext, sender);
      const tab = own ? null : sender?.tab;
      let capture = message.capture;
      if (!own) {
        if (tab?.id == null) throw new Error('cache.capture comes from a tab');
        // Another chat site's read is that site's (the tab's, whatever the page claims).
        const site = core.detectSite(tab.url ?? '');
        if (site && site !== 'chatgpt') {
          if (await siteOff(site)) return { skipped: 'site is off' };
          if (capture.kind === 'conversation') {
            capture = { kind: 'conversation', json: capture.json, path: capture.path, site };
          } else if (capture.kind === 'dom') {
            // The page's turns belong to the conversation the tab's URL shows, if it shows one.
            const url = (await ext.tabs.get(tab.id).catch(() => null))?.url ?? tab.url ?? '';
            const shown = core.captureShownKey(url);
            if (!shown) return { skipped: 'no conversation shown' };
            // Read at another address than the tab shows now (the user opened another chat
            // before this arrived): those turns are not this conversation's.
            const readAt = typeof capture.url === 'string' ? core.captureShownKey(capture.url) : shown;
            if (readAt !== shown) return { skipped: 'the page showed another conversation' };
            capture = { kind: 'dom', conversation_id: shown, title: capture.title ?? null, turns: capture.turns, site };
          } else {
            throw new Error('malformed capture');
          }
        } else if (capture.kind === 'conversation') {
          capture = { kind: 'conversation', json: capture.json, path: capture.path };
        }
        chargeTab(tab.id, captureBytes(capture));
        await checkOrigin(capture, tab);
      }
      const result = await enqueue(capture, tab?.id ?? null, message.profile === true);
      if (!result.ok) throw new Error(result.error);
      // committed_ms: from arrival in the worker until the transaction committed; `timing`
      // (asked for with `profile: true`, by the benchmark) splits the write into its stages.
      const reply = { id: result.id, changed: result.changed, committed_ms: performance.now() - arrived };
      if (result.timing) reply.timing = { ...result.timing, queued: reply.committed_ms - result.timing.total };
      return reply;
    }
    case 'cache.delete':
      if (typeof message.id !== 'string') throw new Error('malformed delete');
      await (await db()).delete(message.id);
      return { deleted: message.id };
    case 'cache.deleteAll':
      await (await db()).deleteAll();
      return { deleted: 'all' };
    case 'cache.status': {
      const status = (await ext.storage.local.get(STATUS_KEY))[STATUS_KEY] ?? {};
      return { count: await (await db()).count(), quota_error: status.quota_error ?? null };
    }
    default:
      throw new Error('unknown cache message');
  }
});
