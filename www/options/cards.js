// One provider's card in the options page's list: its fields, key, notes, buttons and accessible
// names, built from the <template> (already localized) with texts in the user's language. The page
// passes its state as `ctx` ({view, draft, typedKeys, clearKeys, placeholders, testResults,
// providerLocked, firstMovable, send}). Every text from settings or providers is set with textContent.
import '../../i18n.js';
import { KIND_NAMES, needsKey, OPENAI, PRESETS } from './presets.js';
import { attachModelList } from './models.js';
import { $ } from './page.js';

const { t } = globalThis.understudyI18n;
let seq = 0;

export function providerCard(p, index, ctx) {
  const { view, draft, typedKeys, clearKeys, placeholders, testResults } = ctx;
  const li = $('provider-tpl').content.firstElementChild.cloneNode(true);
  const q = (sel) => li.querySelector(sel);
  const locked = ctx.providerLocked(p.id);
  const base = `providers[${index}]`;
  const uid = `p${++seq}`;
  li.dataset.id = p.id;
  li.dataset.field = base;
  li.dataset.locked = String(locked);
  li.classList.toggle('off', !p.enabled);
  q('.p-name').textContent = p.label || KIND_NAMES[p.config.kind] || p.id;
  q('.p-kind').textContent = KIND_NAMES[p.config.kind] ?? p.config.kind;
  q('.locked').hidden = !locked;

  // Each label points at its input.
  for (const [cls, field] of [['label', 'label'], ['model', 'config.model'], ['base', 'config.base_url'], ['key', 'config.api_key']]) {
    const input = q(`input.${cls}`);
    input.id = `${uid}-${cls}`;
    input.dataset.field = `${base}.${field}`;
    input.closest('.field').querySelector('label').htmlFor = input.id;
  }
  const enabled = q('input.enabled');
  enabled.id = `${uid}-on`;
  enabled.dataset.field = `${base}.enabled`;
  enabled.nextElementSibling.htmlFor = enabled.id;
  enabled.checked = p.enabled;

  q('input.label').value = p.label;
  q('input.label').placeholder = KIND_NAMES[p.config.kind] ?? '';
  q('input.model').value = p.config.model;
  q('input.base').value = p.config.base_url;
  q('input.base').placeholder = placeholders.get(p.id) ?? 'https://…/v1';

  const kind = p.config.kind;
  const builtIn = kind === 'chrome_built_in';
  q('.base-field').hidden = builtIn;
  q('input.model').readOnly = builtIn;
  if (kind === OPENAI) {
    const list = document.createElement('datalist');
    list.id = `${uid}-presets`;
    for (const preset of PRESETS.filter((x) => x.kind === OPENAI && x.base_url)) {
      const o = document.createElement('option');
      o.value = preset.base_url;
      o.label = preset.name;
      list.append(o);
    }
    q('.base-field').append(list);
    q('input.base').setAttribute('list', list.id);
  }

  // The key: never shown as saved text; only whether one is saved.
  const keyField = q('.key-field');
  const keyInput = q('input.key');
  const hasKey = view.has_key.includes(p.id) && !clearKeys.has(p.id);
  keyField.hidden = builtIn;
  keyInput.value = typedKeys.get(p.id) ?? '';
  keyInput.placeholder = locked
    ? hasKey ? t('options_set_by_org') : t('options_key_none')
    : hasKey ? t('options_key_saved') : needsKey(p.config) ? t('options_key_required') : t('options_key_optional');
  keyInput.required = !locked && !hasKey && needsKey(p.config);
  q('.key-hint').textContent = locked ? t('options_key_hint_org') : t('options_key_hint');
  q('.clear-key').hidden = !hasKey || locked;

  const note = q('.p-note');
  if (kind === 'ollama') {
    note.textContent = t('options_ollama_note', location.origin);
  } else if (builtIn) {
    note.textContent = t('options_builtin_note');
    builtInAvailability(note);
  } else {
    note.remove();
  }

  nameButtons(li, p, index, draft.providers.length);
  if (testResults.has(p.id)) showTestResult(q('.test-result'), testResults.get(p.id));
  if (!builtIn) {
    attachModelList(q('input.model'), {
      uid,
      request: () => {
        const now = ctx.draft.providers.find((x) => x.id === p.id) ?? p;
        const key = typedKeys.get(p.id);
        const saved = ctx.view.has_key.includes(p.id) && !clearKeys.has(p.id);
        if (needsKey(now.config) && !key && !saved) return null; // no key: no list to ask for
        return { type: 'providers.models', provider: p.id, kind: now.config.kind, base_url: now.config.base_url, ...(key ? { api_key: key } : {}) };
      },
      send: ctx.send,
    });
  }
  q('.up').disabled = locked || index <= Math.max(0, ctx.firstMovable());
  q('.down').disabled = locked || index === draft.providers.length - 1;
  q('.handle').disabled = locked;
  li.draggable = false;

  if (locked) {
    for (const el of li.querySelectorAll('input, .remove, .show, .clear-key')) el.disabled = true;
    const lockNote = document.createElement('p');
    lockNote.className = 'locked-note wide';
    lockNote.textContent = t('options_locked_note');
    q('.p-body').prepend(lockNote);
  }
  return li;
}

/** The accessible names of a card and its buttons, which follow the provider's current name. */
export function nameButtons(li, p, index, total) {
  const name = p.label || p.id;
  const q = (sel) => li.querySelector(sel);
  li.setAttribute('aria-label', t('options_card_aria', name, index + 1, total));
  q('input.enabled').setAttribute('aria-label', t('options_use_aria', name));
  q('.up').setAttribute('aria-label', t('options_up_aria', name));
  q('.down').setAttribute('aria-label', t('options_down_aria', name));
  q('.remove').setAttribute('aria-label', t('options_remove_aria', name));
  q('.test').setAttribute('aria-label', t('options_test_aria', name));
  q('.handle').setAttribute('aria-label', t('options_reorder_aria', name));
}

async function builtInAvailability(note) {
  const LM = globalThis.LanguageModel;
  let state = 'unavailable';
  try {
    if (LM?.availability) state = await LM.availability();
  } catch {}
  const words = {
    available: () => t('options_builtin_available'),
    downloadable: () => t('options_builtin_downloadable'),
    downloading: () => t('options_builtin_downloading'),
    unavailable: () => t('options_builtin_unavailable'),
  };
  note.textContent += ` ${words[state]?.() ?? ''}`;
}

/** A test's result ({text, cls, good}) in a card's output. */
export function showTestResult(out, result) {
  out.className = `test-result ${result.good ? 'good' : 'bad'}`;
  out.textContent = result.text;
  out.dataset.class = result.cls;
}
