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

import '../i18n.js';

export const DB_NAME = 'understudy-cache';
const { t } = globalThis.understudyI18n; // the page's or the worker's language

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

/**
 * Opens (creating or migrating) the cache. `onVersionChange` is called once this connection was
 * closed because another page opened the cache in a newer version (an update of the extension):
 * the connection is closed at once so that the upgrade is never blocked, and this page must be
 * reloaded to use the cache again.
 */
export function openCache(core, { onVersionChange = null } = {}) {
  const version = core.cacheSchemaVersion();
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB_NAME, version);
    r.onupgradeneeded = (e) => upgrade(core, r.result, r.transaction, e.oldVersion);
    r.onsuccess = () => {
      const db = r.result;
      const cache = new CacheDb(core, db);
      db.onversionchange = (e) => {
        cache.closed = true;
        db.close();
        // Deleting the database (newVersion null) is not a newer schema.
        if (e.newVersion !== null) cache.newerVersion = e.newVersion;
        try {
          onVersionChange?.(e.newVersion);
        } catch (error) {
          console.warn('Understudy: versionchange handler failed', error);
        }
      };
      db.onclose = () => {
        cache.closed = true;
      };
      resolve(cache);
    };
    r.onerror = () => reject(r.error?.name === 'VersionError'
      ? Object.assign(new Error(t('library_err_upgraded')), { code: 'upgraded' })
      : r.error);
    r.onblocked = () => reject(Object.assign(new Error(t('library_err_blocked')), { code: 'blocked' }));
  });
}

/**
 * Whether a `metas` value has the shape this build writes: a string id, a number time, a string
 * (or absent) title and a number of messages. Anything else is a damaged meta.
 */
export function metaShapeOk(m) {
  return m != null && typeof m === 'object' && typeof m.id === 'string' && m.id !== ''
    && typeof m.t === 'number' && Number.isFinite(m.t)
    && (m.title == null || typeof m.title === 'string')
    && (m.message_count == null || (typeof m.message_count === 'number' && Number.isFinite(m.message_count)))
    && (m.model == null || typeof m.model === 'string');
}

/** Whether a stored record (`recordOf` a `conversations` value) has a shape the core can read. */
const recordShapeOk = (r) => typeof r === 'string' || r instanceof Uint8Array;

export class CacheDb {
  constructor(core, db) {
    this.core = core;
    this.db = db;
    /** True once the connection is closed (a newer version opened, or the browser closed it). */
    this.closed = false;
    /** The newer schema version another page opened (this connection then closed), or null. */
    this.newerVersion = null;
    /**
     * Ids of damaged conversations found so far (a meta of the wrong shape, a meta whose record
     * is missing, a record that cannot be read): left out of the list, the search index and
     * exports, never deleted (a later build may read them). `onDamaged(count)` is called when
     * the count grows.
     */
    this.damaged = new Set();
    this.onDamaged = null;
  }

  /** Notes damaged conversations (ids, or undefined for a value without a usable id). */
  markDamaged(ids) {
    const before = this.damaged.size;
    for (const id of ids) this.damaged.add(typeof id === 'string' && id !== '' ? id : `(no id ${this.damaged.size})`);
    if (this.damaged.size > before) {
      try {
        this.onDamaged?.(this.damaged.size);
      } catch (error) {
        console.warn('Understudy: onDamaged failed', error);
      }
    }
  }

  /** Metas of the expected shape and not known damaged; the others are noted as damaged. */
  sound(metas, recordKeys = null) {
    const bad = [];
    const out = metas.filter((m) => {
      if (!metaShapeOk(m) || (recordKeys && !recordKeys.has(m.id))) {
        bad.push(m?.id);
        return false;
      }
      return !this.damaged.has(m.id);
    });
    if (bad.length) this.markDamaged(bad);
    return out;
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
        out.push(...this.sound([c.value]));
        c.continue();
      };
      r.onerror = () => reject(r.error);
    });
    return out;
  }

  /**
   * Every meta, newest first; damaged ones (wrong shape, no record, or a record found unreadable)
   * are left out and noted in `damaged`.
   */
  async allMetas() {
    const tx = this.db.transaction(['metas', 'conversations']);
    const [all, metaKeys, recordKeys] = await Promise.all([
      req(tx.objectStore('metas').index('t').getAll()),
      req(tx.objectStore('metas').getAllKeys()),
      req(tx.objectStore('conversations').getAllKeys()),
    ]);
    // A meta whose `t` is not a valid key is missing from the index: damaged as well.
    if (metaKeys.length !== all.length) {
      const indexed = new Set(all.map((m) => m.id));
      this.markDamaged(metaKeys.filter((k) => !indexed.has(k)));
    }
    return this.sound(all.reverse(), new Set(recordKeys));
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
    return (await this.allEntries()).map((e) => e.record);
  }

  /**
   * Every stored record with its id (`[{id, record}]`, in id order); values of the wrong shape
   * and conversations known damaged are left out (and noted).
   */
  async allEntries() {
    const all = await req(this.db.transaction('conversations').objectStore('conversations').getAll());
    const bad = [];
    const out = [];
    for (const v of all) {
      const record = recordOf(v);
      if (!recordShapeOk(record)) bad.push(v?.id);
      else if (!this.damaged.has(v.id)) out.push({ id: v.id, record });
    }
    if (bad.length) this.markDamaged(bad);
    out.total = all.length;
    return out;
  }

  /**
   * The stored records of `ids` (every one when null) as one export document (`core.cacheExport`
   * format): `{text, count, skipped}`; records that cannot be read are skipped (and noted as
   * damaged), the rest exported.
   */
  async exportDocument(ids, format) {
    let entries;
    let asked;
    if (ids) {
      const store = this.db.transaction('conversations').objectStore('conversations');
      const values = await Promise.all(ids.map((id) => req(store.get(id))));
      const bad = [];
      entries = [];
      values.forEach((v, i) => {
        if (v == null) return;
        const record = recordOf(v);
        if (!recordShapeOk(record)) bad.push(ids[i]);
        else entries.push({ id: ids[i], record });
      });
      if (bad.length) this.markDamaged(bad);
      asked = values.filter((v) => v != null).length;
    } else {
      entries = await this.allEntries();
      asked = entries.total;
    }
    try {
      return { text: this.core.cacheExport(entries.map((e) => e.record), format), count: entries.length, skipped: asked - entries.length };
    } catch {
      // One unreadable record: find it (and any other), export the rest.
      const bad = [];
      const good = entries.filter((e) => {
        try {
          this.core.cacheView(e.record);
          return true;
        } catch {
          bad.push(e.id);
          return false;
        }
      });
      this.markDamaged(bad);
      return { text: this.core.cacheExport(good.map((e) => e.record), format), count: good.length, skipped: asked - good.length };
    }
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
   * Notes an import in progress (`{key: 'import', at, files}` in `search`), so that a library
   * opened after the browser closed mid-import can say so; cleared by `clearImportMark` once the
   * import's transactions committed (or it stopped with its own message).
   */
  async markImporting(files) {
    // Strict: the mark must outlive a browser killed a moment later (relaxed writes may not).
    const tx = this.db.transaction('search', 'readwrite', { durability: 'strict' });
    tx.objectStore('search').put({ key: 'import', at: Date.now(), files });
    await done(tx);
  }

  /** The mark of an import that started and never ended (`{at, files}`), or undefined. */
  async importMark() {
    return req(this.db.transaction('search').objectStore('search').get('import'));
  }

  async clearImportMark() {
    const tx = this.db.transaction('search', 'readwrite', WRITE);
    tx.objectStore('search').delete('import');
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
