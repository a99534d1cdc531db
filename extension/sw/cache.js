// Service-worker side of the cache feature: captures from the content script land here and are
// written to the extension origin's IndexedDB (never the page's) through the Wasm core.
//
// Messages:
// - `cache.capture` {capture}: one capture (see src/conversation/capture.rs). Captures arriving
//   while a write is in flight share the next transaction. Answers {id, changed, committed_ms}; a full disk answers an
//   error `storage quota exceeded` and the tab gets `cache.quota`.
// - `cache.delete` {id}, `cache.deleteAll`: privacy controls (the library page calls them too).
// - `cache.status`: {count, quota_error}.
// Exports for other worker modules: `captureEnabled()`, `updateRecord(id, fn)` (the rescue keeps
// answers from other providers in the cached conversation with it).
import { ext } from '../api.js';
import { openCache, QuotaError } from '../www/library-db.js';
import { core, onMessages, ready } from './core.js';

const PREFS_KEY = 'understudy.preferences';
const STATUS_KEY = 'understudy.cache.status';

let dbPromise = null;
const db = () => (dbPromise ??= ready.then(() => openCache(core)).catch((e) => {
  dbPromise = null;
  throw e;
}));

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

function isTemporary(url) {
  try {
    return new URL(url).searchParams.get('temporary-chat') === 'true';
  } catch {
    return false;
  }
}

async function reportQuota(tabIds, message) {
  const status = { quota_error: message, at: Date.now() };
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
    const cache = await db();
    const results = await cache.applyCaptures(batch.map((b) => b.capture));
    batch.forEach((b, i) => b.resolve(results[i]));
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

/**
 * One read-modify-write of the record `id` in its own transaction (after any capture in flight):
 * `fn(storedJson | undefined)` returns a core result `{json, meta, changed}` or throws (nothing is
 * written then). Resolves to fn's result once committed.
 */
export async function updateRecord(id, fn) {
  const idb = (await db()).db;
  const tx = idb.transaction(['conversations', 'metas', 'dirty'], 'readwrite');
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
    out = fn(stored?.json);
  } catch (error) {
    tx.abort();
    throw error;
  }
  if (out.changed) {
    tx.objectStore('conversations').put({ id, json: out.json });
    tx.objectStore('metas').put({ ...out.meta, t: out.meta.update_time ?? 0 });
    tx.objectStore('dirty').put({ id });
  }
  await committed;
  return out;
}

function enqueue(capture, tabId) {
  return new Promise((resolve, reject) => {
    queue.push({ capture, tabId, resolve, reject });
    flush();
  });
}

onMessages(ext, ['cache.capture', 'cache.delete', 'cache.deleteAll', 'cache.status'], async (message, sender) => {
  switch (message.type) {
    case 'cache.capture': {
      const arrived = performance.now();
      if (!message.capture || typeof message.capture !== 'object') throw new Error('malformed capture');
      if (sender?.tab?.url && isTemporary(sender.tab.url)) return { skipped: 'temporary chat' };
      if (!(await captureEnabled())) return { skipped: 'capture is off' };
      const result = await enqueue(message.capture, sender?.tab?.id);
      if (!result.ok) throw new Error(result.error);
      // committed_ms: from arrival in the worker until the transaction committed.
      return { id: result.id, changed: result.changed, committed_ms: performance.now() - arrived };
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
