// The conversation cache in the extension origin's IndexedDB, shared by the service worker (captures)
// and the library page (list, search, import, export). Thin glue: the Wasm core (passed in as `core`)
// merges captures, migrates records, renders and indexes; this file only moves strings in and out of
// transactions.
//
// Database `understudy-cache`, version = core.cacheSchemaVersion():
// - `conversations` {id, data}: the whole record (ConversationRecord as JSON, UTF-8 bytes in a
//   Uint8Array: IndexedDB clones one flat buffer, half the size of a JS string of non-Latin text,
//   and the core reads it without decoding). Records written by earlier builds are `{id, json}`
//   (JSON text); every reader takes both, and a record is rewritten as `data` when it changes.
// - `metas` {id, title, update_time, model, incomplete, message_count, source, version, t}: index `t`
//   (update time) lists the library newest first without reading records.
// - `dirty` {id}: conversations changed by captures since the library last updated its search index.
// - `search` {key: 'main', bytes}: the saved search index; {key: 'stale'} while an import's
//   conversations are stored but not yet covered by the saved index (the library then rebuilds
//   the index when it opens: a closed tab never leaves conversations unsearchable).
// History: v1 had `conversations` and `metas` only (v1 records); v2 adds the `t` index, `dirty`,
// `search`, and migrates every v1 record and meta through the core.

export const DB_NAME = 'understudy-cache';

/** A store write refused because the origin's storage is full. */
export class QuotaError extends Error {
  constructor(message) {
    super(message || 'storage quota exceeded');
    this.name = 'QuotaExceededError';
  }
}

/**
 * Bytes the browser still lets the extension store (quota minus usage, from
 * navigator.storage.estimate()), or Infinity when it cannot tell. With `unlimitedStorage` the quota
 * is what the disk has free, so this is what a write can still use.
 */
export async function storageLeft() {
  try {
    const e = await navigator.storage?.estimate?.();
    return e && Number.isFinite(e.quota) && Number.isFinite(e.usage) ? e.quota - e.usage : Infinity;
  } catch {
    return Infinity;
  }
}

/** Below this, a write is refused up front as a quota error (the disk is as good as full). */
export const MIN_FREE = 1 << 20;

const req = (r) => new Promise((resolve, reject) => {
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
});

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    const fail = () => {
      const e = tx.error;
      reject(e?.name === 'QuotaExceededError' ? new QuotaError(e.message) : e ?? new Error('transaction aborted'));
    };
    tx.onerror = fail;
    tx.onabort = fail;
  });
}

const withT = (meta) => ({ ...meta, t: meta.update_time ?? 0 });

/** The stored record of a `conversations` value: UTF-8 bytes, or JSON text (earlier builds). */
export const recordOf = (value) => value?.data ?? value?.json;

const decoder = new TextDecoder();
/** A stored record as JSON text. */
export const recordText = (record) => (record == null || typeof record === 'string' ? record : decoder.decode(record));

// Writes ask for relaxed durability: the browser may acknowledge the commit before the disk
// flush (a power cut can lose the last moments, never corrupt the store).
const WRITE = { durability: 'relaxed' };

function upgrade(core, db, tx, oldVersion) {
  if (oldVersion < 1) {
    db.createObjectStore('conversations', { keyPath: 'id' });
    db.createObjectStore('metas', { keyPath: 'id' });
  }
  if (oldVersion < 2) {
    tx.objectStore('metas').createIndex('t', 't');
    db.createObjectStore('dirty', { keyPath: 'id' });
    db.createObjectStore('search', { keyPath: 'key' });
    if (oldVersion >= 1) {
      // Every stored record and meta through the core's migrations; records that cannot be read
      // are kept as they are (never lost) and left out of the list.
      const records = tx.objectStore('conversations');
      const metas = tx.objectStore('metas');
      const dirty = tx.objectStore('dirty');
      records.openCursor().onsuccess = (e) => {
        const cursor = e.target.result;
        if (!cursor) return;
        try {
          const out = core.cacheMigrateRecord(cursor.value.json);
          cursor.update({ id: out.id, json: out.json });
          metas.put(withT(out.meta));
          dirty.put({ id: out.id });
        } catch (error) {
          console.warn('Understudy: unreadable cached record', cursor.key, error);
        }
        cursor.continue();
      };
    }
  }
}

/** Opens (creating or migrating) the cache. */
export function openCache(core) {
  const version = core.cacheSchemaVersion();
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB_NAME, version);
    r.onupgradeneeded = (e) => upgrade(core, r.result, r.transaction, e.oldVersion);
    r.onsuccess = () => {
      const db = r.result;
      const cache = new CacheDb(core, db);
      db.onversionchange = () => {
        cache.closed = true;
        db.close();
      };
      db.onclose = () => {
        cache.closed = true;
      };
      resolve(cache);
    };
    r.onerror = () => reject(r.error);
    r.onblocked = () => reject(new Error('the cache is open in an older version elsewhere'));
  });
}

export class CacheDb {
  constructor(core, db) {
    this.core = core;
    this.db = db;
    /** True once the connection is closed (a newer version opened, or the browser closed it). */
    this.closed = false;
  }

  /**
   * Applies captures in one transaction (a burst of streamed events costs one commit). Returns one
   * `{ok, id, changed}` or `{ok: false, error}` per capture, in order. Rejects with QuotaError when
   * the browser refuses the write. `admitNew(i)`, when given, is asked before capture `i` creates
   * a conversation not stored yet, and throws to refuse it (the worker's per-tab budget).
   */
  async applyCaptures(captures, timing = null, admitNew = null) {
    const core = this.core;
    const results = captures.map(() => null);
    const groups = new Map(); // key -> [index]
    captures.forEach((c, i) => {
      try {
        const key = core.cacheCaptureKey(c);
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key).push(i);
      } catch (error) {
        results[i] = { ok: false, error: String(error?.message ?? error) };
      }
    });
    if (groups.size === 0) return results;
    let t = performance.now();
    const tx = this.db.transaction(['conversations', 'metas', 'dirty'], 'readwrite', WRITE);
    const finished = done(tx);
    const records = tx.objectStore('conversations');
    const metas = tx.objectStore('metas');
    const dirty = tx.objectStore('dirty');
    const now = Date.now() / 1000;
    await Promise.all([...groups].map(async ([key, indices]) => {
      let record = recordOf(await req(records.get(key)));
      if (timing) {
        timing.read = performance.now() - t;
        t = performance.now();
      }
      let changed = false;
      let meta = null;
      for (const i of indices) {
        try {
          // A new chat's record replacing its pending placeholder is not another conversation.
          if (record == null && admitNew && typeof captures[i].pending !== 'string') admitNew(i);
          const out = core.cacheApplyRecord(record, captures[i], now);
          if (out.changed) {
            changed = true;
            record = out.data;
            meta = out.meta;
          }
          results[i] = { ok: true, id: key, changed: out.changed };
          const pending = captures[i].pending;
          if (typeof pending === 'string' && pending !== key) {
            records.delete(pending);
            metas.delete(pending);
            dirty.put({ id: pending });
          }
        } catch (error) {
          results[i] = { ok: false, error: String(error?.message ?? error) };
        }
      }
      if (changed) {
        records.put({ id: key, data: record });
        metas.put(withT(meta));
        dirty.put({ id: key });
      }
      if (timing) {
        timing.apply = performance.now() - t;
        t = performance.now();
      }
    }));
    await finished;
    if (timing) timing.commit = performance.now() - t;
    return results;
  }

  /** The newest `n` metas (for the first screen). */
  async firstMetas(n) {
    const tx = this.db.transaction('metas');
    const out = [];
    await new Promise((resolve, reject) => {
      const r = tx.objectStore('metas').index('t').openCursor(null, 'prev');
      r.onsuccess = () => {
        const c = r.result;
        if (!c || out.length >= n) return resolve();
        out.push(c.value);
        c.continue();
      };
      r.onerror = () => reject(r.error);
    });
    return out;
  }

  /** Every meta, newest first. */
  async allMetas() {
    const all = await req(this.db.transaction('metas').objectStore('metas').index('t').getAll());
    return all.reverse();
  }

  async count() {
    return req(this.db.transaction('metas').objectStore('metas').count());
  }

  /** The stored record of `id` (Uint8Array or JSON text, as the core's functions take it), or undefined. */
  async getRecord(id) {
    return recordOf(await req(this.db.transaction('conversations').objectStore('conversations').get(id)));
  }

  /** Stored records of `ids` (missing ones left out). */
  async getRecords(ids) {
    const store = this.db.transaction('conversations').objectStore('conversations');
    const all = await Promise.all(ids.map((id) => req(store.get(id))));
    return all.map(recordOf).filter((r) => r != null);
  }

  /** Every stored record (in id order). */
  async allRecords() {
    const all = await req(this.db.transaction('conversations').objectStore('conversations').getAll());
    return all.map(recordOf).filter((r) => r != null);
  }

  /** The stored record JSON of `id`, or undefined. */
  async getJson(id) {
    return recordText(await this.getRecord(id));
  }

  /** Record JSONs of `ids` (missing ones left out). */
  async getJsons(ids) {
    return (await this.getRecords(ids)).map(recordText);
  }

  /** Every record JSON (in id order). */
  async allJsons() {
    return (await this.allRecords()).map(recordText);
  }

  async delete(id) {
    const tx = this.db.transaction(['conversations', 'metas', 'dirty'], 'readwrite', WRITE);
    tx.objectStore('conversations').delete(id);
    tx.objectStore('metas').delete(id);
    tx.objectStore('dirty').put({ id });
    await done(tx);
  }

  async deleteAll() {
    const tx = this.db.transaction(['conversations', 'metas', 'dirty', 'search'], 'readwrite', WRITE);
    for (const s of ['conversations', 'metas', 'dirty', 'search']) tx.objectStore(s).clear();
    await done(tx);
  }

  /** Ids changed by captures since the search index was last saved. */
  async dirtyIds() {
    return req(this.db.transaction('dirty').objectStore('dirty').getAllKeys());
  }

  /** The saved search index bytes, or undefined. */
  async loadIndex() {
    return (await req(this.db.transaction('search').objectStore('search').get('main')))?.bytes;
  }

  /** True while an import's conversations are stored but not yet in the saved index. */
  async indexStale() {
    return (await req(this.db.transaction('search').objectStore('search').getKey('stale'))) !== undefined;
  }

  /** Marks the saved index as not covering everything stored (before an import writes). */
  async markIndexStale() {
    const tx = this.db.transaction('search', 'readwrite', WRITE);
    tx.objectStore('search').put({ key: 'stale', at: Date.now() });
    await done(tx);
  }

  /**
   * Saves the search index and clears the dirty ids it covers; `complete` (it covers every
   * stored conversation, no import pending) also clears the stale mark.
   */
  async saveIndex(bytes, coveredDirty = [], { complete = false } = {}) {
    const tx = this.db.transaction(['search', 'dirty'], 'readwrite', WRITE);
    tx.objectStore('search').put({ key: 'main', bytes });
    if (complete) tx.objectStore('search').delete('stale');
    const dirty = tx.objectStore('dirty');
    for (const id of coveredDirty) dirty.delete(id);
    await done(tx);
  }

  /**
   * Stores what an Importer read so far, merged with stored copies, in one transaction.
   * Resolves once the records are handed to the transaction with `{count, committed, batch,
   * conflicts, stored}` (`stored`: the metas written): `committed` settles when the transaction commits (or fails, e.g. with
   * QuotaError), so the caller parses the next chunk while the browser writes this one; `batch`
   * holds the search documents of what was stored, for `Library.queue` once committed.
   * `known` (a Set of ids stored when the import started, optional): stored copies are read and
   * merged for those ids; the others are added without waiting for any read, only if still
   * absent: a conversation a capture stored meanwhile is left as is and listed in `conflicts`
   * (filled by commit time) for `mergeImported`. Without `known` every id is read and merged.
   * `profile` (optional) adds the time spent per stage: lookup (reading stored copies), drain
   * (merge, record bytes and metas out of the core), put (handing records to IndexedDB).
   */
  async importPending(importer, known = null, profile = null) {
    let t = performance.now();
    const lap = (k) => {
      if (!profile) return;
      const now = performance.now();
      profile[k] = (profile[k] ?? 0) + now - t;
      t = now;
    };
    const ids = importer.pendingIds();
    const conflicts = [];
    const stored = [];
    if (ids.length === 0) return { count: 0, committed: Promise.resolve(), batch: null, conflicts, stored };
    const tx = this.db.transaction(['conversations', 'metas'], 'readwrite', WRITE);
    const committed = done(tx);
    committed.catch(() => {}); // observed by the caller
    const records = tx.objectStore('conversations');
    const metas = tx.objectStore('metas');
    const wanted = ids.map((id) => !known || known.has(id));
    const existing = wanted.some(Boolean)
      ? await Promise.all(ids.map((id, i) => (wanted[i] ? req(records.get(id)).then(recordOf) : undefined)))
      : [];
    lap('lookup');
    const merged = importer.drain(existing);
    lap('drain');
    const keep = (e) => {
      e.preventDefault(); // a key already there is not an error of the transaction
      e.stopPropagation();
    };
    merged.forEach((r, i) => {
      if (!r.changed) return;
      const meta = withT(r.meta);
      stored.push(meta);
      if (wanted[i]) {
        records.put({ id: r.id, data: r.data });
        metas.put(meta);
        return;
      }
      let conflict = false;
      records.add({ id: r.id, data: r.data }).onerror = (e) => {
        keep(e);
        conflict = true;
        conflicts.push(r);
      };
      metas.add(meta).onerror = (e) => {
        keep(e);
        // A meta left without its record (never written by this build): the new record's wins.
        if (!conflict) metas.put(meta);
      };
    });
    lap('put');
    if (known) for (const id of ids) known.add(id);
    return { count: merged.length, committed, batch: importer.takeIndex(), conflicts, stored };
  }

  /**
   * Merges imported records (`{id, data}` from importPending's `conflicts`) into the copies
   * stored meanwhile, in one transaction; a conversation deleted since stays deleted. Returns the
   * merged records (for the search index).
   */
  async mergeImported(conflicts) {
    if (conflicts.length === 0) return [];
    const tx = this.db.transaction(['conversations', 'metas', 'dirty'], 'readwrite', WRITE);
    const finished = done(tx);
    const records = tx.objectStore('conversations');
    const stored = await Promise.all(conflicts.map((r) => req(records.get(r.id)).then(recordOf)));
    const out = [];
    conflicts.forEach((r, i) => {
      if (stored[i] == null) return;
      const m = this.core.cacheMergeRecords(stored[i], r.data);
      if (!m.changed) return;
      records.put({ id: m.id, data: m.data });
      tx.objectStore('metas').put(withT(m.meta));
      tx.objectStore('dirty').put({ id: m.id });
      out.push(m.data);
    });
    await finished;
    return out;
  }
}
