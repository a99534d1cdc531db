// The library page: the cached conversations, offline. Lists them (virtualised: only the visible
// rows exist), opens one (its Markdown rendered by the core and built as DOM nodes by markdown.js:
// model text is data, never HTML), searches all of them (the core's index, saved in IndexedDB), imports the official export
// (streamed in chunks through the core) and exports Markdown, JSON or HTML. The modules, by
// concern: library/shared.js (state, DOM helpers, the user's language), library/list.js (list,
// conversation, search), library/import.js (index upkeep, import), library/actions.js (export,
// delete, capture switch). Every visible string is in extension/i18n/library.json.
// Stable hooks: [data-testid="understudy-library-continue"] on an opened conversation sends
// {type: 'rescue.continue', conversation_id}; `window.understudyLibrary` is for tests and benchmarks.
import init, * as core from '../pkg/understudy_pages.js';
import { openCache } from './library-db.js';
import { markdownFragment } from './markdown.js';
import { banner, ctx, damagedText, IMPORT_LOCK, localize, ROW, state, t } from './library/shared.js';
import { list, openConversation, refreshMetas, resetList } from './library/list.js';
import { importFiles, indexed, loadIndex } from './library/import.js';
import { exportIds, initPrefs } from './library/actions.js';

document.documentElement.lang = globalThis.understudyI18n.lang();
localize();

async function start() {
  await init({ module_or_path: new URL('../pkg/understudy_pages_bg.wasm', import.meta.url) });
  const db = await openCache(core, {
    onVersionChange: () => banner(t('library_upgraded_reload')),
  });
  ctx.db = db;
  db.onDamaged = (n) => {
    banner(t('library_damaged_rest', damagedText(n)));
    state.metas = state.metas.filter((m) => !db.damaged.has(m.id));
    resetList();
  };
  const mark = await db.importMark();
  const running = (await navigator.locks?.query().catch(() => null))?.held?.some((l) => l.name === IMPORT_LOCK);
  if (mark && !running) {
    banner(t('library_interrupted', (mark.files ?? []).join(', ') || t('library_an_export')));
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
    banner(t('library_start_failed', error?.message ?? error));
    throw error;
  }),
  core,
  get db() { return ctx.db; },
  index: indexed,
  importFiles,
  exportIds,
  renderMarkdown: markdownFragment,
  lastSearchMs: () => state.lastSearchMs,
};
