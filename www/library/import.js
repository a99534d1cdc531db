// The library's search index upkeep and the import of the official export (streamed in chunks
// through the core). An import stores its conversations first (the import is done when they are
// committed); their search documents wait in the index's queue and are indexed in slices while the
// page is idle, then the index is saved. Until then the saved index is marked stale, so a tab
// closed early makes the next library open rebuild it.
import * as core from '../../pkg/understudy_pages.js';
import { MIN_FREE, QuotaError, storageLeft } from '../library-db.js';
import { $, banner, ctx, ext, i18n, IMPORT_LOCK, state, STATUS_KEY, t, tp } from './shared.js';
import { refreshMetas, resetList, runSearch } from './list.js';

const CHUNK = 1 << 20; // small enough that no task blocks the page for long
const TX_BYTES = 4 << 20; // an import's transaction holds about this much of the file

/** Megabytes, one decimal, as the user's locale writes them. */
const mb = (bytes) => new Intl.NumberFormat(i18n.lang(), { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(bytes / 1e6);

// ---------- search index upkeep ----------
let saveTimer = null;
export function scheduleSave(covered = []) {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(async () => {
    const library = await state.indexReady;
    await ctx.db.saveIndex(library.toBytes(), covered).catch((e) => banner(t('library_index_not_saved', e.message)));
  }, 300);
}

export async function loadIndex() {
  const db = ctx.db;
  let library = null;
  const [bytes, stale] = await Promise.all([db.loadIndex(), db.indexStale()]);
  if (bytes && !stale) {
    try {
      library = core.Library.fromBytes(bytes);
    } catch (error) {
      console.warn('Understudy: rebuilding the search index', error);
    }
  }
  let covered;
  const rebuilt = !library;
  if (!library) {
    library = new core.Library();
    covered = await db.dirtyIds();
    // A damaged record is skipped (and reported, see db.onDamaged), the rest indexed.
    const damaged = [];
    for (const { id, record } of await db.allEntries()) {
      try {
        library.upsertRecord(record);
      } catch {
        damaged.push(id);
      }
    }
    db.markDamaged(damaged);
  } else {
    covered = await db.dirtyIds();
    for (const id of covered) {
      const record = await db.getRecord(id);
      try {
        if (record != null) library.upsertRecord(record);
        else library.remove(id);
      } catch {
        db.markDamaged([id]);
      }
    }
  }
  if (covered.length || rebuilt) {
    // The index works from memory even when it cannot be saved (e.g. the storage is full).
    await db.saveIndex(library.toBytes(), covered, { complete: rebuilt }).catch((e) => console.warn('Understudy: search index not saved', e));
  }
  document.body.dataset.searchReady = '1';
  return library;
}

// Imports in progress (the indexer waits for them: the import's writes come first).
let importing = 0;
let indexing = null;
const indexStatus = $('index-status');

/**
 * Indexes the queued import documents in slices of about 25 ms (the page stays responsive),
 * then saves the index; resolves when the index covers everything imported and is saved.
 */
function drainIndex() {
  indexing ??= (async () => {
    const library = await state.indexReady;
    document.body.dataset.indexing = '1';
    try {
      for (;;) {
        if (importing > 0) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        if (library.pending() === 0) break;
        const t0 = performance.now();
        while (library.pending() > 0 && performance.now() - t0 < 25) library.indexPending(4);
        indexStatus.textContent = library.pending() ? tp('library_indexing', library.pending()) : '';
        await new Promise((r) => setTimeout(r, 0));
      }
      indexStatus.textContent = '';
      if (library !== (await state.indexReady)) return; // everything was deleted meanwhile
      await ctx.db.saveIndex(library.toBytes(), [], { complete: true });
      if (state.hits) runSearch();
    } catch (e) {
      banner(t('library_index_not_saved', e.message));
    } finally {
      indexing = null;
      delete document.body.dataset.indexing;
    }
  })();
  return indexing;
}

/** The search index once it covers every import (for tests and benchmarks). */
export async function indexed() {
  const library = await state.indexReady;
  while (importing > 0 || library.pending() > 0 || indexing) await (indexing ?? drainIndex());
  return library;
}

// ---------- import ----------
const progressRow = $('progress-row');
const progress = $('import-progress');
const importStatus = $('import-status');

/**
 * Imports files (JSON, split JSON or the zip); returns {imported, issues, bytes, ms} once every
 * conversation is stored (the search index catches up right after, see drainIndex). `profile`
 * (an object) receives the time spent per stage: read, feed (parse in the core), store (merge
 * and hand the records to IndexedDB), commit (waiting for the browser to commit), meta.
 */
export async function importFiles(files, { chunk = CHUNK, profile = null } = {}) {
  const db = ctx.db;
  await state.indexReady;
  const importer = new core.Importer();
  const total = files.reduce((s, f) => s + f.size, 0);
  let read = 0;
  const t0 = performance.now();
  const p = profile ?? {};
  for (const k of ['read', 'feed', 'store', 'commit', 'meta']) p[k] ??= 0;
  if (profile) p.stages ??= {};
  // At most two transactions in flight: the browser commits one while the next chunk is parsed.
  let inflight = Promise.resolve();
  importing++;
  // Held while this import runs (the browser releases it if the tab or the browser dies): another
  // library tab opened meanwhile does not take this import for an interrupted one.
  let unlock = () => {};
  navigator.locks?.request(IMPORT_LOCK, { mode: 'shared' }, () => new Promise((r) => (unlock = r))).catch(() => {});
  progressRow.hidden = false;
  progress.hidden = false; // the bar shows only while an import runs; its outcome stays in words
  progress.value = 0;
  document.body.dataset.importing = '1';
  const metas = new Map(); // id -> meta of what this import stored
  let unstored = 0; // bytes fed since the last transaction
  const store = async () => {
    let mark = performance.now();
    unstored = 0;
    const { committed, batch, conflicts, stored } = await db.importPending(importer, known, p.stages);
    for (const m of stored) metas.set(m.id, m);
    p.store += performance.now() - mark;
    mark = performance.now();
    await inflight;
    p.commit += performance.now() - mark;
    // The search documents join the index queue once their records are committed; a
    // conversation a capture stored meanwhile is merged, and its merged copy queued after.
    inflight = committed.then(
      async () => {
        const library = await state.indexReady;
        if (batch) library.queue(batch);
        for (const record of await db.mergeImported(conflicts)) library.queueRecord(record);
      },
      (error) => {
        batch?.free();
        throw error;
      },
    );
  };
  // Ids listed when the import starts: their stored copies are read and merged; any other id is
  // added only if still absent (see importPending), so this list needs no extra read.
  const known = new Set(state.metas.map((m) => m.id));
  try {
    // Refused up front when the browser says there is no room for it (the records take about
    // the size of the file): better than stopping half-way.
    const left = await storageLeft();
    if (left < MIN_FREE + total) throw new QuotaError(t('library_no_room', mb(Math.max(0, left)), mb(total)));
    await db.markIndexStale();
    await db.markImporting(files.map((f) => f.name));
    for (const file of files) {
      const head = new Uint8Array(await file.slice(0, 4).arrayBuffer());
      if (head[0] === 0x50 && head[1] === 0x4b) {
        importer.feedZip(new Uint8Array(await file.arrayBuffer()));
        read += file.size;
        await store();
      } else {
        let next = file.slice(0, chunk).arrayBuffer();
        for (let at = 0; at < file.size; at += chunk) {
          let mark = performance.now();
          const buf = await next;
          if (at + chunk < file.size) next = file.slice(at + chunk, at + 2 * chunk).arrayBuffer();
          p.read += performance.now() - mark;
          mark = performance.now();
          importer.feed(new Uint8Array(buf));
          p.feed += performance.now() - mark;
          read += buf.byteLength;
          unstored += buf.byteLength;
          if (unstored >= TX_BYTES) await store();
          progress.value = total ? read / total : 1;
          importStatus.textContent = tp('library_importing', importer.imported(), file.name, Math.round((100 * read) / Math.max(1, total)));
        }
        importer.finish();
        await store();
      }
    }
    let mark = performance.now();
    await inflight;
    p.commit += performance.now() - mark;
    await db.clearImportMark();
    const issues = importer.issues();
    progress.value = 1;
    const done = tp('library_imported', importer.imported());
    importStatus.textContent = issues.length ? t('library_import_result_skipped', done, tp('library_malformed_skipped', issues.length)) : t('library_import_result', done);
    if (issues.length) {
      // The entries' reasons are the core's (technical detail).
      banner(tp('library_skipped_banner', issues.length, issues.slice(0, 3).map((i) => `#${i.index}${i.id ? ` (${i.id})` : ''}: ${i.reason}`).join('; ')));
    }
    mark = performance.now();
    // The list gains what was stored (metas kept from the import: no read of every meta).
    const listed = state.metas.filter((m) => !metas.has(m.id));
    state.metas = [...listed, ...metas.values()].sort((a, b) => b.t - a.t || (a.id < b.id ? 1 : -1));
    resetList();
    p.meta += performance.now() - mark;
    const ms = performance.now() - t0;
    return { imported: importer.imported(), issues, bytes: total, ms };
  } catch (error) {
    const quota = error instanceof QuotaError || error?.name === 'QuotaExceededError';
    const text = quota ? t('library_import_full', error.message) : t('library_import_failed', error?.message ?? error);
    banner(text);
    importStatus.textContent = text;
    // This import said why it stopped: no "interrupted" message at the next open.
    await db.clearImportMark().catch(() => {});
    if (quota) {
      await ext.storage.local.set({ [STATUS_KEY]: { quota_error: text, at: Date.now() } }).catch(() => {});
    }
    await inflight.catch(() => {});
    await refreshMetas().catch(() => {});
    throw error;
  } finally {
    importing--;
    if (importing === 0) progress.hidden = true;
    unlock();
    delete document.body.dataset.importing;
    importer.free();
    drainIndex();
  }
}

// The file input stays hidden; a real button (in the Tab order) opens it.
$('import-button').addEventListener('click', () => $('import-file').click());
$('import-file').addEventListener('change', (e) => {
  const files = [...e.target.files].sort((a, b) => a.name.localeCompare(b.name));
  e.target.value = '';
  if (files.length) importFiles(files).catch(() => {});
});
