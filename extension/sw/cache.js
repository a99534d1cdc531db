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
// The IndexedDB connection stays open for the worker's life (opened again after a restart, or
// when the browser closed it).
// Exports for other worker modules: `captureEnabled()`, `isTemporary(url)`, `storeCaptures(captures,
// tabId)` (captures the page streams' decoders made, sw/capture.js, into the same batched writer),
// `updateRecord(id, fn)` (the rescue keeps answers from other providers in the cached conversation
// with it).
import { ext } from '../api.js';
import { MIN_FREE, openCache, QuotaError, recordOf, recordText, storageLeft } from '../www/library-db.js';
import { core, onMessages, ready } from './core.js';

const PREFS_KEY = 'understudy.preferences';
const STATUS_KEY = 'understudy.cache.status';

let dbPromise = null;
let openDb = null;
function db() {
  if (openDb?.closed) {
    dbPromise = null;
    openDb = null;
  }
  dbPromise ??= ready.then(() => openCache(core)).then((cache) => (openDb = cache), (e) => {
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

// The capture preference, read once per worker life and kept current by storage.onChanged.
let enabledPromise = null;
ext.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && changes[PREFS_KEY]) enabledPromise = Promise.resolve(changes[PREFS_KEY].newValue?.capture_enabled !== false);
});

export function captureEnabled() {
  enabledPromise ??= ext.storage.local.get(PREFS_KEY).then(
    (v) => v?.[PREFS_KEY]?.capture_enabled !== false,
    () => true,
  );
  return enabledPromise;
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
    const results = await cache.applyCaptures(batch.map((b) => b.capture), timing);
    if (timing) timing.total = performance.now() - started;
    batch.forEach((b, i) => b.resolve(timing ? { ...results[i], timing } : results[i]));
    if (results.some((r) => r?.ok && r.changed)) clearQuota();
  } catch (error) {
    if (error instanceof QuotaError || error?.name === 'QuotaExceededError') {
      const tabs = [...new Set(batch.map((b) => b.tabId).filter((t) => t != null))];
      await reportQuota(tabs, 'Understudy cannot save this conversation: the browser storage for the extension is full.');
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
      const result = await enqueue(message.capture, sender?.tab?.id, message.profile === true);
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
