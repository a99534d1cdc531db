// Export, import and reset of the whole settings document, through the worker; the outcome is
// written to the backup section's status line in the user's language. `adopt(view)` takes the
// settings the worker answers.
import '../../i18n.js';
import { $, announce, send } from './page.js';
import { inUnits } from './validation.js';

const { t } = globalThis.understudyI18n;

export async function exportSettings() {
  const includeKeys = $('export-keys').checked;
  const { text } = await send({ type: 'settings.export', include_keys: includeKeys });
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = includeKeys ? 'understudy-settings-with-keys.json' : 'understudy-settings.json';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  $('backup-status').textContent = includeKeys ? t('options_exported_keys') : t('options_exported');
}

/** The core's sentence about a key left behind by an import, in the user's language when known. */
function keyNotKept(message) {
  const m = /^the key of (.+) was not kept: its (address|kind) changed to (.+); enter it again$/.exec(message);
  if (!m) return `${message.charAt(0).toUpperCase()}${message.slice(1)}.`;
  return m[2] === 'address' ? t('options_key_not_kept_address', m[1], m[3]) : t('options_key_not_kept_kind', m[1], m[3]);
}

export async function importSettings(file, adopt) {
  const status = $('backup-status');
  status.className = 'small';
  let text;
  try {
    text = await file.text();
  } catch (e) {
    status.textContent = t('options_read_failed', e.message);
    return;
  }
  const result = await send({ type: 'settings.import', text });
  if (!result.saved) {
    const where = result.error.field ? `${result.error.field}: ` : '';
    status.className = 'small error';
    // The file's values are in its own units (milliseconds): the core's sentence in the user's words.
    status.textContent = t('options_not_imported', `${where}${inUnits(result.error, null)}`);
    announce(status.textContent);
    return;
  }
  adopt(result.view);
  // A stored key stays only with a provider the file left at the same address (and kind); each
  // one left behind is named, so the user knows which key to enter again.
  const notKept = (result.keys_not_kept ?? []).map((k) => String(k.message));
  status.textContent = notKept.length ? t('options_imported_some', notKept.map(keyNotKept).join(' ')) : t('options_imported');
  if (notKept.length) status.dataset.keysNotKept = String(notKept.length);
  else delete status.dataset.keysNotKept;
  announce(status.textContent);
}

export async function resetSettings(adopt) {
  const result = await send({ type: 'settings.reset' });
  if (result.saved) {
    adopt(result.view);
    $('backup-status').textContent = t('options_reset_done');
    announce(t('options_reset_done'));
  }
}
