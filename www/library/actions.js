// The library's export, delete and capture switch.
import * as core from '../../pkg/understudy_pages.js';
import { $, banner, ctx, damagedText, el, ext, state, STATUS_KEY, t, tp } from './shared.js';
import { refreshMetas, runSearch } from './list.js';
import { scheduleSave } from './import.js';

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

export async function exportIds(ids, format) {
  // Damaged records are left out of the file and counted in the banner.
  const { text, count, skipped } = await ctx.db.exportDocument(ids, format);
  if (count === 0) return banner(skipped ? t('library_nothing_to_export_damaged', damagedText(skipped)) : t('library_nothing_to_export'));
  const [extName, type] = TYPES[format];
  const name = count === 1 && ids?.length === 1 ? `${ids[0]}.${extName}` : format === 'json' ? 'conversations.json' : `understudy-export.${extName}`;
  download(name, text, type);
  if (skipped) banner(tp('library_exported', count, damagedText(skipped)));
  return text;
}

$('export-selected').addEventListener('click', () => {
  const ids = state.selected.size ? [...state.selected] : state.openId ? [state.openId] : [];
  if (!ids.length) return banner(t('library_select_first'));
  exportIds(ids, $('export-format').value);
});
$('export-all').addEventListener('click', () => exportIds(null, $('export-format').value));

export async function deleteOne(id) {
  await ctx.db.delete(id);
  const library = await state.indexReady;
  library.remove(id);
  scheduleSave([id]);
  state.selected.delete(id);
  state.openId = null;
  $('view').replaceChildren(el('p', { class: 'muted', text: t('library_deleted') }));
  await refreshMetas();
  if (state.hits) runSearch();
}

$('delete-all').addEventListener('click', async () => {
  if (!confirm(t('library_delete_all_confirm'))) return;
  await ctx.db.deleteAll();
  state.indexReady = Promise.resolve(new core.Library());
  state.selected.clear();
  $('view').replaceChildren(el('p', { class: 'muted', text: t('library_all_deleted') }));
  await refreshMetas();
  runSearch();
});

// ---------- capture preference ----------
// The one capture switch: the settings document's `capture.enabled` (the options page's "Keep my
// ChatGPT conversations"), written through the worker (`settings.quick`, as the popup's switches),
// so that validation, policy and locks apply; a switch the organisation locked is shown disabled.
async function settingsCall(message) {
  const reply = await ext.runtime.sendMessage(message);
  if (!reply?.ok) throw new Error(reply?.error ?? t('library_no_answer'));
  return reply.value;
}

export async function initPrefs() {
  const box = $('capture-enabled');
  const show = (view) => {
    box.checked = view.settings?.capture?.enabled !== false;
    box.disabled = view.locks?.fields?.includes('capture.enabled') === true;
    box.title = box.disabled ? t('library_locked') : '';
  };
  settingsCall({ type: 'settings.get' }).then(show, (e) => banner(t('library_settings_unavailable', e.message)));
  box.addEventListener('change', async () => {
    const want = box.checked;
    try {
      // One read-modify-write in the worker: a switch flipped elsewhere meanwhile is not undone.
      const result = await settingsCall({ type: 'settings.quick', capture: want });
      if (!result.saved) throw new Error(result.error?.message ?? t('library_not_saved'));
      show(result.view);
    } catch (e) {
      box.checked = !want;
      banner(t('library_capture_not_switched', e.message));
    }
  });
  const status = (await ext.storage.local.get(STATUS_KEY))[STATUS_KEY];
  if (status?.quota_error) banner(status.quota_error);
}
