// The library page: the cached conversations, offline. Lists them (virtualised: only the visible
// rows exist), opens one (its Markdown rendered by the core and built as DOM nodes by markdown.js:
// model text is data, never HTML), searches all of them (the core's index, saved in IndexedDB), imports the official export
// (streamed in chunks through the core) and exports Markdown, JSON or HTML.
// An import stores its conversations first (the import is done when they are committed); their
// search documents wait in the index's queue and are indexed in slices while the page is idle,
// then the index is saved. Until then the saved index is marked stale, so a tab closed early
// makes the next library open rebuild it.
// Stable hooks: [data-testid="understudy-library-continue"] on an opened conversation sends
// {type: 'rescue.continue', conversation_id}; `window.understudyLibrary` is for tests and benchmarks.
import init, * as core from '../pkg/understudy_pages.js';
import { MIN_FREE, openCache, QuotaError, storageLeft } from './library-db.js';
import { markdownFragment, renderMarkdownInto } from './markdown.js';
import { openSidebarOnClick } from '../api.js';
import '../i18n.js';

const { t } = globalThis.understudyI18n;

const ext = globalThis.browser ?? globalThis.chrome;
const ROW = 52;
const CHUNK = 1 << 20; // small enough that no task blocks the page for long
const TX_BYTES = 4 << 20; // an import's transaction holds about this much of the file
const STATUS_KEY = 'understudy.cache.status';
const IMPORT_LOCK = 'understudy-import'; // a Web Lock held by each running import
const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

const state = {
  metas: [], // newest first
  selected: new Set(),
  active: -1, // index in metas (list mode) or in hits (search mode)
  hits: null,
  openId: null,
  library: null,
  indexReady: null,
};
let db;

function banner(text) {
  const b = $('banner');
  b.textContent = text;
  b.hidden = !text;
}

function dateOf(t) {
  return t ? new Date(t * 1000).toLocaleString() : '';
}

// ---------- list (virtualised) ----------
const list = $('list');
const spacer = $('list-spacer');
const rows = new Map(); // index -> element

function rowFor(i) {
  const m = state.metas[i];
  const check = el('input', { type: 'checkbox', checked: state.selected.has(m.id), title: 'Select' });
  check.addEventListener('click', (e) => {
    e.stopPropagation();
    if (check.checked) state.selected.add(m.id);
    else state.selected.delete(m.id);
  });
  // A list item holding two controls side by side (never one inside the other): the checkbox, named
  // after the conversation, and the title as the button that opens it (`aria-current` on the open one).
  const title = el('button', { type: 'button', class: 'title', text: m.title?.trim() || 'Untitled' });
  check.setAttribute('aria-label', t('a11y_library_select', title.textContent));
  if (m.incomplete) title.append(el('span', { class: 'badge', text: 'incomplete', title: 'The answer was still arriving when it was saved' }));
  const row = el('div', { class: 'row', role: 'listitem', 'data-id': m.id, 'aria-posinset': String(i + 1), 'aria-setsize': String(state.metas.length) }, check, title,
    el('div', { class: 'sub', text: [dateOf(m.update_time), m.model, `${m.message_count} messages`].filter(Boolean).join(' · ') }));
  row.style.top = `${i * ROW}px`;
  if (i === state.active && !state.hits) markActive(row, true);
  row.addEventListener('click', () => activate(i));
  return row;
}

function renderList() {
  spacer.style.height = `${state.metas.length * ROW}px`;
  const first = Math.max(0, Math.floor(list.scrollTop / ROW) - 4);
  const last = Math.min(state.metas.length, Math.ceil((list.scrollTop + (list.clientHeight || 800)) / ROW) + 4);
  for (const [i, r] of rows) {
    if (i < first || i >= last) {
      r.remove();
      rows.delete(i);
    }
  }
  for (let i = first; i < last; i++) {
    if (!rows.has(i)) {
      const r = rowFor(i);
      rows.set(i, r);
      list.append(r);
    }
  }
}

function resetList() {
  for (const r of rows.values()) r.remove();
  rows.clear();
  renderList();
  $('count').textContent = `${state.metas.length} conversation${state.metas.length === 1 ? '' : 's'} cached`;
}

list.addEventListener('scroll', renderList, { passive: true });

/** The open conversation's row or search hit: highlighted, and announced as the current one. */
function markActive(row, on) {
  row.classList.toggle('active', on);
  const target = row.querySelector('button.title') ?? row;
  if (on) target.setAttribute('aria-current', 'true');
  else target.removeAttribute('aria-current');
}

function activate(i) {
  if (state.hits) {
    state.active = i;
    for (const [j, li] of [...$('results').children].entries()) markActive(li, j === i);
    const hit = state.hits[i];
    if (hit) openConversation(hit.id);
    return;
  }
  if (i < 0 || i >= state.metas.length) return;
  state.active = i;
  for (const [j, r] of rows) markActive(r, j === i);
  const top = i * ROW;
  if (top < list.scrollTop) list.scrollTop = top;
  else if (top + ROW > list.scrollTop + list.clientHeight) list.scrollTop = top + ROW - list.clientHeight;
  renderList();
  // Arrows moving through the list carry the keyboard focus with them.
  if (list.contains(document.activeElement)) rows.get(i)?.querySelector('.title')?.focus();
  openConversation(state.metas[i].id);
}

// ---------- one conversation ----------
async function openConversation(id) {
  state.openId = id;
  const record = await db.getRecord(id);
  if (state.openId !== id) return;
  const view = $('view');
  view.replaceChildren();
  if (record == null) {
    view.append(el('p', { class: 'muted', text: 'This conversation is no longer cached.' }));
    return;
  }
  // With the answers Understudy kept from other providers (branches), each marked.
  let v;
  try {
    v = core.cacheView(record);
  } catch {
    db.markDamaged([id]);
    view.append(el('p', { class: 'muted', text: 'This conversation cannot be read: its stored copy is damaged.' }));
    return;
  }
  const title = el('h1', { text: v.title, 'data-testid': 'understudy-library-title' });
  const sub = el('p', { class: 'muted', text: [dateOf(v.update_time), v.model, v.incomplete ? 'incomplete: the answer was still arriving when saved' : null].filter(Boolean).join(' · ') });
  const actions = el('div', { class: 'actions' });
  const cont = el('button', { type: 'button', class: 'primary', text: 'Continue with another provider', 'data-testid': 'understudy-library-continue' });
  cont.addEventListener('click', async () => {
    const opened = openSidebarOnClick(); // Firefox: only here, in the click's own handler
    const reply = await ext.runtime.sendMessage({ type: 'rescue.continue', conversation_id: id, opened }).catch((e) => ({ ok: false, error: String(e) }));
    if (!reply?.ok) banner(`Continuing is not available: ${reply?.error ?? 'no answer'}`);
  });
  actions.append(cont);
  for (const [fmt, label] of [['markdown', 'Markdown'], ['json', 'JSON'], ['html', 'HTML']]) {
    const b = el('button', { type: 'button', text: `Export ${label}`, 'data-testid': `understudy-library-export-${fmt}` });
    b.addEventListener('click', () => exportIds([id], fmt));
    actions.append(b);
  }
  const del = el('button', { type: 'button', class: 'danger', text: 'Delete', 'data-testid': 'understudy-library-delete' });
  del.addEventListener('click', () => deleteOne(id));
  actions.append(del);
  view.append(title, sub, actions);
  for (const m of v.messages) {
    const who = el('div', { class: 'who', text: m.label + (m.incomplete ? ' (incomplete)' : '') });
    if (m.answered_by) who.append(' · ', el('span', { class: 'muted', text: `answered by ${m.answered_by}`, 'data-testid': 'understudy-answered-by' }));
    const body = el('div', { class: 'body' });
    renderMarkdownInto(body, m.text);
    view.append(el('article', { class: `msg ${m.role}`, 'data-message-id': m.id }, who, body));
  }
  view.scrollTop = 0;
}

// ---------- search ----------
function highlighted(text, ranges, tag = 'span') {
  const out = el(tag);
  let at = 0;
  for (const [a, b] of ranges) {
    if (a < at || b <= a) continue;
    out.append(text.slice(at, a), el('mark', { text: text.slice(a, b) }));
    at = b;
  }
  out.append(text.slice(at));
  return out;
}

let searchSeq = 0;
async function runSearch() {
  const q = $('search').value;
  const seq = ++searchSeq;
  const results = $('results');
  if (!q.trim()) {
    state.hits = null;
    results.hidden = true;
    list.hidden = false;
    $('count').textContent = `${state.metas.length} conversations cached`;
    return;
  }
  const library = await state.indexReady;
  if (seq !== searchSeq) return;
  const t0 = performance.now();
  const hits = library.search(q, 100);
  state.lastSearchMs = performance.now() - t0;
  state.hits = hits;
  state.active = -1;
  list.hidden = true;
  results.hidden = false;
  results.replaceChildren(...hits.map((h, i) => {
    const li = el('li', { 'data-id': h.id }, highlighted(h.title || 'Untitled', h.title_highlights, 'div'),
      highlighted(h.snippet, h.highlights, 'div'));
    li.lastChild.className = 'snippet';
    li.addEventListener('click', () => activate(i));
    return li;
  }));
  $('count').textContent = `${hits.length} result${hits.length === 1 ? '' : 's'}`;
}

$('search').addEventListener('input', runSearch);

document.addEventListener('keydown', (e) => {
  const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement;
  if (e.key === '/' && !typing) {
    e.preventDefault();
    $('search').focus();
    return;
  }
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    if (typing && e.target !== $('search')) return;
    e.preventDefault();
    const n = state.hits ? state.hits.length : state.metas.length;
    if (n === 0) return;
    const next = Math.max(0, Math.min(n - 1, state.active + (e.key === 'ArrowDown' ? 1 : -1)));
    activate(next);
  }
});

// ---------- search index upkeep ----------
let saveTimer = null;
function scheduleSave(covered = []) {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(async () => {
    const library = await state.indexReady;
    await db.saveIndex(library.toBytes(), covered).catch((e) => banner(`Cannot save the search index: ${e.message}`));
  }, 300);
}

async function loadIndex() {
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
        indexStatus.textContent = library.pending() ? `Indexing for search: ${library.pending()} conversations left` : '';
        await new Promise((r) => setTimeout(r, 0));
      }
      indexStatus.textContent = '';
      if (library !== (await state.indexReady)) return; // everything was deleted meanwhile
      await db.saveIndex(library.toBytes(), [], { complete: true });
      if (state.hits) runSearch();
    } catch (e) {
      banner(`Cannot save the search index: ${e.message}`);
    } finally {
      indexing = null;
      delete document.body.dataset.indexing;
    }
  })();
  return indexing;
}

/** The search index once it covers every import (for tests and benchmarks). */
async function indexed() {
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
async function importFiles(files, { chunk = CHUNK, profile = null } = {}) {
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
    let t = performance.now();
    unstored = 0;
    const { committed, batch, conflicts, stored } = await db.importPending(importer, known, p.stages);
    for (const m of stored) metas.set(m.id, m);
    p.store += performance.now() - t;
    t = performance.now();
    await inflight;
    p.commit += performance.now() - t;
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
    if (left < MIN_FREE + total) throw new QuotaError(`${Math.max(0, left / 1e6).toFixed(1)} MB free, the import needs about ${(total / 1e6).toFixed(1)} MB`);
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
          let t = performance.now();
          const buf = await next;
          if (at + chunk < file.size) next = file.slice(at + chunk, at + 2 * chunk).arrayBuffer();
          p.read += performance.now() - t;
          t = performance.now();
          importer.feed(new Uint8Array(buf));
          p.feed += performance.now() - t;
          read += buf.byteLength;
          unstored += buf.byteLength;
          if (unstored >= TX_BYTES) await store();
          progress.value = total ? read / total : 1;
          importStatus.textContent = `Importing ${file.name}: ${Math.round((100 * read) / Math.max(1, total))}% (${importer.imported()} conversations)`;
        }
        importer.finish();
        await store();
      }
    }
    let t = performance.now();
    await inflight;
    p.commit += performance.now() - t;
    await db.clearImportMark();
    const issues = importer.issues();
    progress.value = 1;
    importStatus.textContent = `Imported ${importer.imported()} conversations` + (issues.length ? `; ${issues.length} malformed entr${issues.length === 1 ? 'y' : 'ies'} skipped` : '') + '.';
    if (issues.length) {
      banner(`Skipped ${issues.length} malformed entr${issues.length === 1 ? 'y' : 'ies'}: ${issues.slice(0, 3).map((i) => `#${i.index}${i.id ? ` (${i.id})` : ''}: ${i.reason}`).join('; ')}`);
    }
    t = performance.now();
    // The list gains what was stored (metas kept from the import: no read of every meta).
    const listed = state.metas.filter((m) => !metas.has(m.id));
    state.metas = [...listed, ...metas.values()].sort((a, b) => b.t - a.t || (a.id < b.id ? 1 : -1));
    resetList();
    p.meta += performance.now() - t;
    const ms = performance.now() - t0;
    return { imported: importer.imported(), issues, bytes: total, ms };
  } catch (error) {
    const quota = error instanceof QuotaError || error?.name === 'QuotaExceededError';
    const text = quota
      ? `The import stopped: the browser storage for the extension is full (${error.message}). Free some space (or delete cached conversations) and import again.`
      : `The import failed: ${error?.message ?? error}`;
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

// ---------- export, delete ----------
function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

const TYPES = { markdown: ['md', 'text/markdown'], json: ['json', 'application/json'], html: ['html', 'text/html'] };

async function exportIds(ids, format) {
  // Damaged records are left out of the file and counted in the banner.
  const { text, count, skipped } = await db.exportDocument(ids, format);
  if (count === 0) return banner(skipped ? `Nothing to export: ${damagedText(skipped)}.` : 'Nothing to export.');
  const [extName, type] = TYPES[format];
  const name = count === 1 && ids?.length === 1 ? `${ids[0]}.${extName}` : format === 'json' ? 'conversations.json' : `understudy-export.${extName}`;
  download(name, text, type);
  if (skipped) banner(`Exported ${count} conversation${count === 1 ? '' : 's'}; ${damagedText(skipped)}.`);
  return text;
}

$('export-selected').addEventListener('click', () => {
  const ids = state.selected.size ? [...state.selected] : state.openId ? [state.openId] : [];
  if (!ids.length) return banner('Select conversations to export first.');
  exportIds(ids, $('export-format').value);
});
$('export-all').addEventListener('click', () => exportIds(null, $('export-format').value));

async function deleteOne(id) {
  await db.delete(id);
  const library = await state.indexReady;
  library.remove(id);
  scheduleSave([id]);
  state.selected.delete(id);
  state.openId = null;
  $('view').replaceChildren(el('p', { class: 'muted', text: 'Deleted.' }));
  await refreshMetas();
  if (state.hits) runSearch();
}

$('delete-all').addEventListener('click', async () => {
  if (!confirm('Delete every cached conversation? This cannot be undone.')) return;
  await db.deleteAll();
  state.indexReady = Promise.resolve(new core.Library());
  state.selected.clear();
  $('view').replaceChildren(el('p', { class: 'muted', text: 'Every cached conversation was deleted.' }));
  await refreshMetas();
  runSearch();
});

// ---------- capture preference ----------
// The one capture switch: the settings document's `capture.enabled` (the options page's "Keep my
// ChatGPT conversations"), written through the worker (`settings.quick`, as the popup's switches),
// so that validation, policy and locks apply; a switch the organisation locked is shown disabled.
async function settingsCall(message) {
  const reply = await ext.runtime.sendMessage(message);
  if (!reply?.ok) throw new Error(reply?.error ?? 'no answer');
  return reply.value;
}

async function initPrefs() {
  const box = $('capture-enabled');
  const show = (view) => {
    box.checked = view.settings?.capture?.enabled !== false;
    box.disabled = view.locks?.fields?.includes('capture.enabled') === true;
    box.title = box.disabled ? 'Set by your organisation' : '';
  };
  settingsCall({ type: 'settings.get' }).then(show, (e) => banner(`Settings unavailable: ${e.message}`));
  box.addEventListener('change', async () => {
    const want = box.checked;
    try {
      // One read-modify-write in the worker: a switch flipped elsewhere meanwhile is not undone.
      const result = await settingsCall({ type: 'settings.quick', capture: want });
      if (!result.saved) throw new Error(result.error?.message ?? 'not saved');
      show(result.view);
    } catch (e) {
      box.checked = !want;
      banner(`Capture not switched: ${e.message}`);
    }
  });
  const status = (await ext.storage.local.get(STATUS_KEY))[STATUS_KEY];
  if (status?.quota_error) banner(status.quota_error);
}

/** The damaged-conversations part of a banner. */
function damagedText(n) {
  return `${n} damaged conversation${n === 1 ? '' : 's'} in the cache could not be read and ${n === 1 ? 'was' : 'were'} skipped`;
}

async function refreshMetas() {
  state.metas = await db.allMetas();
  resetList();
}

// ---------- start ----------
async function start() {
  await init({ module_or_path: new URL('../pkg/understudy_pages_bg.wasm', import.meta.url) });
  db = await openCache(core, {
    onVersionChange: () => banner('A newer version of Understudy updated the cache: reload this page to go on using the library.'),
  });
  db.onDamaged = (n) => {
    banner(`${damagedText(n)}: the rest is listed, searched and exported as usual.`);
    state.metas = state.metas.filter((m) => !db.damaged.has(m.id));
    resetList();
  };
  const mark = await db.importMark();
  const running = (await navigator.locks?.query().catch(() => null))?.held?.some((l) => l.name === IMPORT_LOCK);
  if (mark && !running) {
    banner(`An import of ${(mark.files ?? []).join(', ') || 'an export'} was interrupted (the page or the browser closed): what it stored is kept; import the same file again to complete it (nothing is duplicated).`);
  }
  state.metas = await db.firstMetas(Math.ceil((list.clientHeight || 1200) / ROW) + 8);
  resetList();
  // `?c=<id>` ("Open my cached conversation" in the notice): that conversation opens at once.
  const asked = new URLSearchParams(location.search).get('c');
  if (asked) openConversation(asked).catch(() => {});
  // Since navigation started (performance.now() counts from the time origin).
  const firstScreenMs = performance.now();
  document.body.dataset.ready = '1';
  document.body.dataset.firstScreenMs = String(firstScreenMs);
  state.indexReady = loadIndex();
  initPrefs().catch(() => {});
  await refreshMetas();
  document.body.dataset.listed = '1';
  await state.indexReady;
}

window.understudyLibrary = {
  started: start().catch((error) => {
    banner(`The library could not start: ${error?.message ?? error}`);
    throw error;
  }),
  core,
  get db() { return db; },
  index: indexed,
  importFiles,
  exportIds,
  renderMarkdown: markdownFragment,
  lastSearchMs: () => state.lastSearchMs,
};
