// The options page: edits the settings document (extension/settings.schema.json) through the
// service worker. The page never receives an API key: `settings.get` answers the settings without
// keys plus which providers have one; a key typed here is sent once, with `settings.save`.
// The settings are painted as soon as the worker answers; the Wasm core loads meanwhile and then
// validates as the user types (an error shows only at a field the user has typed in, or on save);
// the worker validates again on save.
// Safe DOM only: every text from settings or providers is set with textContent. Every text of the
// page is in the user's language (extension/i18n/options.json): the HTML's through `localize`.
// The page's parts: options/cards.js (a provider's card), options/tester.js (its Test button),
// options/backup.js (export, import, reset), options/fields.js (the other fields), options/page.js.
import '../i18n.js';
import { KIND_NAMES, needsKey, PRESETS } from './options/presets.js';
import { wireDrag } from './options/drag.js';
import { freshId, rememberIds } from './options/ids.js';
import { inUnits, keyError } from './options/validation.js';
import { $, announce, send, setStatus } from './options/page.js';
import { nameButtons, providerCard } from './options/cards.js';
import { testProvider } from './options/tester.js';
import { exportSettings, importSettings, resetSettings } from './options/backup.js';
import { buildAddMenu, buildAutoKinds, buildSites, renderFields, setPath, siteSwitches } from './options/fields.js';
import './options/a11y.js';

const { t, localize, lang } = globalThis.understudyI18n;
const ext = globalThis.browser ?? globalThis.chrome;

// ---- state ------------------------------------------------------------------------------------
let view = null; // {settings, has_key, locks} as last answered by the worker
let draft = null; // the settings being edited (no keys)
const typedKeys = new Map(); // provider id → a key typed in this page, not yet saved
const clearKeys = new Set(); // provider ids whose key is to be removed
let checkTimer = 0;
const touched = new Set(); // field paths the user has typed in or changed
const testResults = new Map(); // provider id → the last test's {text, cls, good}, until it is edited
const placeholders = new Map(); // provider id → its preset's example base URL (added in this page)
let coreLoaded = null; // the Wasm core's init, started once the settings are shown, awaited only to validate
let coreReady = false;
let core = null; // the core's module once loaded (imported apart, so the first paint does not wait for it)

const clone = (v) => JSON.parse(JSON.stringify(v));
const locks = () => view?.locks ?? { providers: [], fields: [], user_providers: true };
const providerLocked = (id) => locks().providers.includes(id);
const fieldLocked = (path) => locks().fields.some((f) => path === f || path.startsWith(`${f}.`));

function dirty() {
  return typedKeys.size > 0 || clearKeys.size > 0 || JSON.stringify(draft) !== JSON.stringify(view.settings);
}

// ---- validation shown next to the field --------------------------------------------------------
function clearErrors() {
  for (const el of document.querySelectorAll('.field-error')) el.remove();
  for (const el of document.querySelectorAll('[aria-invalid="true"]')) {
    el.removeAttribute('aria-invalid');
    el.removeAttribute('aria-describedby');
  }
}

/** The input for a field path, or the closest enclosing element (`providers[1]` → its card). */
function elementFor(field) {
  let path = field;
  while (path) {
    const el = document.querySelector(`[data-field="${CSS.escape(path)}"]`);
    if (el) return el;
    const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
    path = cut > 0 ? path.slice(0, cut) : '';
  }
  return null;
}

/** Whether the user has typed in `field` (or in a field inside it). */
const wasTouched = (field) => [...touched].some((t) => t === field || t.startsWith(`${field}.`) || t.startsWith(`${field}[`) || field.startsWith(`${t}.`));

function showError(error, { focus = false, speak = true } = {}) {
  clearErrors();
  if (!error) return;
  const el = elementFor(error.field || '');
  const message = inUnits(error, el);
  const text = `${message.charAt(0).toUpperCase()}${message.slice(1)}`;
  if (el) {
    const p = document.createElement('p');
    p.className = 'field-error';
    p.id = `err-${Math.random().toString(36).slice(2, 8)}`;
    p.dataset.testid = 'field-error';
    p.dataset.field = error.field;
    p.textContent = text;
    const host = el.closest('.field') ?? el.closest('.provider')?.querySelector('.p-body') ?? el.parentElement;
    host.append(p);
    if (el.matches('input, select')) {
      el.setAttribute('aria-invalid', 'true');
      el.setAttribute('aria-describedby', p.id);
      if (focus) el.focus();
    }
  }
  const where = labelOf(error.field);
  if (speak) announce(where ? `${where}: ${text}` : text);
}

/** A human name for a field path (`providers[1].config.model` → "Model of Groq"). */
function labelOf(field) {
  if (!field) return '';
  const m = /^providers\[(\d+)\](?:\.config)?\.?(\w*)/.exec(field);
  if (m) {
    const p = draft?.providers?.[Number(m[1])];
    const name = p ? p.label || p.id : t('options_provider_n', Number(m[1]) + 1);
    const what = { base_url: () => t('options_base_url'), model: () => t('options_model'), id: () => t('options_id'), api_key: () => t('options_api_key'), max_context_tokens: () => t('options_context_size') }[m[2]];
    return what ? t('options_field_of', what(), name) : name;
  }
  const el = elementFor(field);
  const label = el?.id ? document.querySelector(`label[for="${el.id}"]`) : null;
  return label?.textContent.trim() ?? field;
}

/**
 * Validates the draft: the core's check (once loaded), then the keys the providers need. The error
 * is shown only at a field the user has typed in, unless `all` (on save). Returns the error.
 */
function check({ focus = false, speak = true, all = false } = {}) {
  clearTimeout(checkTimer);
  let error = null;
  if (coreReady) {
    try {
      error = core.settingsCheck(JSON.stringify(draft));
    } catch (e) {
      error = { field: '', message: String(e?.message ?? e) };
    }
  }
  error ??= keyError(draft, { hasKey: (id) => view.has_key.includes(id) && !clearKeys.has(id), typed: (id) => typedKeys.has(id), locked: providerLocked });
  const shown = error && (all || wasTouched(error.field || '')) ? error : null;
  showError(shown, { focus, speak });
  updateSaveBar(shown);
  return error;
}

function scheduleCheck() {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(() => check(), 250);
  updateSaveBar(null);
}

function updateSaveBar(error) {
  const changed = dirty();
  $('discard').disabled = !changed;
  if (error) setStatus(t('options_status_fix'), 'bad');
  else if (changed) setStatus(t('options_status_unsaved'));
  else if (!$('status').classList.contains('good')) setStatus('');
}

// ---- providers -----------------------------------------------------------------------------------
function firstMovable() {
  return draft.providers.findIndex((p) => !providerLocked(p.id));
}

function move(index, to) {
  if (to < 0 || to >= draft.providers.length || to === index) return false;
  const min = Math.max(0, firstMovable());
  if (providerLocked(draft.providers[index].id) || to < min) return false;
  const [entry] = draft.providers.splice(index, 1);
  draft.providers.splice(to, 0, entry);
  return true;
}

function renderProviders(focus = null) {
  const list = $('providers');
  list.replaceChildren();
  draft.providers.forEach((p, i) => list.append(providerCard(p, i, ctx)));
  $('providers-empty').hidden = draft.providers.length > 0;
  const canAdd = locks().user_providers;
  $('add').disabled = !canAdd;
  $('add-kind').disabled = !canAdd;
  if (focus) list.querySelector(`[data-id="${CSS.escape(focus.id)}"] ${focus.selector}`)?.focus();
}

function indexOfCard(el) {
  const li = el.closest('.provider');
  return li ? draft.providers.findIndex((p) => p.id === li.dataset.id) : -1;
}

function onProviderInput(event) {
  const i = indexOfCard(event.target);
  if (i < 0) return;
  const p = draft.providers[i];
  const t = event.target;
  if (t.dataset.field) touched.add(t.dataset.field);
  testResults.delete(p.id);
  if (t.classList.contains('label')) {
    p.label = t.value;
    const li = t.closest('.provider');
    li.querySelector('.p-name').textContent = t.value || KIND_NAMES[p.config.kind] || p.id;
    nameButtons(li, p, i, draft.providers.length);
  } else if (t.classList.contains('model')) p.config.model = t.value.trim();
  else if (t.classList.contains('base')) p.config.base_url = t.value.trim();
  else if (t.classList.contains('key')) {
    if (t.value) typedKeys.set(p.id, t.value);
    else typedKeys.delete(p.id);
  } else if (t.classList.contains('enabled')) {
    p.enabled = t.checked;
    t.closest('.provider').classList.toggle('off', !t.checked);
  }
  scheduleCheck();
}

function onProviderClick(event) {
  const button = event.target.closest('button');
  if (!button || button.disabled) return;
  const i = indexOfCard(button);
  if (i < 0) return;
  const p = draft.providers[i];
  if (button.classList.contains('up') || button.classList.contains('down')) {
    const to = button.classList.contains('up') ? i - 1 : i + 1;
    if (move(i, to)) {
      const cls = button.classList.contains('up') ? (to === Math.max(0, firstMovable()) ? '.down' : '.up') : to === draft.providers.length - 1 ? '.up' : '.down';
      renderProviders({ id: p.id, selector: cls });
      announce(t('options_moved', p.label || p.id, to + 1, draft.providers.length));
      check({ speak: false });
    }
  } else if (button.classList.contains('remove')) {
    draft.providers.splice(i, 1);
    typedKeys.delete(p.id);
    renderProviders();
    announce(t('options_removed', p.label || p.id));
    const next = $('providers').children[Math.min(i, draft.providers.length - 1)];
    (next?.querySelector('.up:not(:disabled), .down:not(:disabled), input') ?? $('add-kind')).focus();
    check({ speak: false });
  } else if (button.classList.contains('show')) {
    const input = button.parentElement.querySelector('input.key');
    const showing = input.type === 'text';
    input.type = showing ? 'password' : 'text';
    button.setAttribute('aria-pressed', String(!showing));
    button.textContent = showing ? t('options_show') : t('options_hide');
  } else if (button.classList.contains('clear-key')) {
    clearKeys.add(p.id);
    typedKeys.delete(p.id);
    renderProviders({ id: p.id, selector: 'input.key' });
    announce(t('options_key_will_clear', p.label || p.id));
    updateSaveBar(null);
  } else if (button.classList.contains('test')) {
    testProvider(p.id, button.closest('.provider'), ctx);
  }
}

function onProviderKey(event) {
  if (!event.altKey || (event.key !== 'ArrowUp' && event.key !== 'ArrowDown')) return;
  const i = indexOfCard(event.target);
  if (i < 0) return;
  event.preventDefault();
  const p = draft.providers[i];
  const to = event.key === 'ArrowUp' ? i - 1 : i + 1;
  if (move(i, to)) {
    renderProviders({ id: p.id, selector: '.handle' });
    announce(t('options_moved', p.label || p.id, to + 1, draft.providers.length));
    check({ speak: false });
  }
}

function wireProviderDrag(list) {
  wireDrag(list, {
    indexOf: (id) => draft.providers.findIndex((p) => p.id === id),
    move: (from, to) => {
      const p = draft.providers[from];
      if (!move(from, to)) return;
      renderProviders({ id: p.id, selector: '.handle' });
      announce(t('options_moved', p.label || p.id, to + 1, draft.providers.length));
      check({ speak: false });
    },
  });
}

function addProvider() {
  const preset = PRESETS[Number($('add-kind').value)];
  if (!preset) return;
  const id = freshId(preset.id, draft.providers.map((p) => p.id));
  if (preset.placeholder) placeholders.set(id, preset.placeholder);
  const label = draft.providers.some((p) => p.label === preset.name) ? `${preset.name} (${id})` : preset.name;
  draft.providers.push({
    id,
    label,
    enabled: true,
    config: { kind: preset.kind, base_url: preset.base_url, model: preset.model, api_key: null, max_context_tokens: null },
  });
  const field = !preset.base_url && preset.kind !== 'chrome_built_in' ? 'input.base' : needsKey(preset) ? 'input.key' : 'input.model';
  renderProviders({ id, selector: preset.kind === 'chrome_built_in' ? '.test' : field });
  announce(t('options_added', label, draft.providers.length));
  check({ speak: false });
}

// ---- the other fields ---------------------------------------------------------------------------
function onFieldInput(event) {
  const el = event.target;
  const path = el.dataset.field;
  if (!path || el.closest('.provider')) return;
  touched.add(path);
  let value;
  // A chat site's switch: watched when checked; `sites_off` lists the ones switched off.
  if (el.dataset.site) value = siteSwitches().filter((x) => !x.checked).map((x) => x.dataset.site);
  else if (el.type === 'checkbox') value = el.checked;
  else if (el.type === 'radio') value = el.value;
  else if (el.type === 'number') {
    // An empty or impossible number is kept as text so the check names the field.
    const n = el.valueAsNumber;
    value = Number.isFinite(n) ? Math.round(n * Number(el.dataset.scale ?? 1)) : el.value === '' ? '' : el.value;
  } else value = el.value;
  setPath(draft, path, value);
  scheduleCheck();
}

// ---- load, save, import, export, reset ---------------------------------------------------------------
function adopt(next) {
  view = next;
  draft = clone(next.settings);
  rememberIds(draft.providers.map((p) => p.id));
  typedKeys.clear();
  clearKeys.clear();
  touched.clear();
  $('policy-note').hidden = next.locks.providers.length === 0 && next.locks.fields.length === 0 && next.locks.user_providers;
  renderProviders();
  renderFields(draft, fieldLocked);
  clearErrors();
  updateSaveBar(null);
}

async function load(asked = send({ type: 'settings.get' })) {
  adopt(await asked);
}

/** Origins outside the manifest's host permissions that the enabled providers need. */
function neededOrigins() {
  const out = new Set();
  for (const p of draft.providers) {
    if (!p.enabled || !p.config.base_url || providerLocked(p.id)) continue;
    try {
      const u = new URL(p.config.base_url);
      if (u.protocol === 'https:' || u.protocol === 'http:') out.add(`${u.protocol}//${u.hostname}/*`);
    } catch {}
  }
  return [...out];
}

async function save({ quiet = false } = {}) {
  if (!coreReady) await coreLoaded?.catch(() => {});
  const error = check({ focus: true, all: true });
  if (error) return false;
  rememberIds(draft.providers.map((p) => p.id));
  // Ask for access to the providers' hosts while the click still counts as a user gesture.
  const origins = neededOrigins();
  const granted = origins.length && ext.permissions?.request ? ext.permissions.request({ origins }).catch(() => false) : Promise.resolve(true);
  const settings = clone(draft);
  for (const p of settings.providers) {
    const key = typedKeys.get(p.id);
    p.config.api_key = key ? key.trim() : null;
  }
  setStatus(t('options_saving'));
  let result;
  try {
    result = await send({ type: 'settings.save', settings, clear_keys: [...clearKeys] });
  } catch (e) {
    setStatus(t('options_not_saved', e.message), 'bad');
    announce(t('options_not_saved', e.message));
    return false;
  }
  if (!result.saved) {
    showError(result.error, { focus: true });
    setStatus(t('options_not_saved_field', labelOf(result.error.field) || t('options_settings_word'), inUnits(result.error, elementFor(result.error.field || ''))), 'bad');
    return false;
  }
  adopt(result.view);
  setStatus(t('options_saved'), 'good');
  if (!quiet) announce(t('options_saved'));
  granted.then((ok) => {
    if (!ok) setStatus(t('options_saved_no_access'), 'good');
  });
  return true;
}

// The page's state as its modules see it.
const ctx = {
  get view() {
    return view;
  },
  get draft() {
    return draft;
  },
  typedKeys,
  clearKeys,
  placeholders,
  testResults,
  providerLocked,
  firstMovable,
  send,
  dirty,
  save,
};

// ---- start ------------------------------------------------------------------------------------------
/** The page's fixed texts in the user's language (the provider card's template too). */
function localizePage() {
  document.documentElement.lang = lang();
  localize(document);
  localize($('provider-tpl').content);
  document.title = t('options_page_title');
}

async function start() {
  // The settings are asked for first: the worker answers while the page builds itself.
  const asked = send({ type: 'settings.get' });
  localizePage();
  buildAutoKinds();
  buildSites();
  buildAddMenu();
  const list = $('providers');
  list.addEventListener('input', onProviderInput);
  list.addEventListener('change', onProviderInput);
  list.addEventListener('click', onProviderClick);
  list.addEventListener('keydown', onProviderKey);
  wireProviderDrag(list);
  $('main').addEventListener('input', onFieldInput);
  $('main').addEventListener('change', onFieldInput);
  $('add').addEventListener('click', addProvider);
  $('save').addEventListener('click', () => save());
  $('discard').addEventListener('click', () => {
    adopt(view);
    setStatus(t('options_discarded'));
  });
  $('export').addEventListener('click', () => exportSettings().catch((e) => ($('backup-status').textContent = t('options_export_failed', e.message))));
  $('import').addEventListener('change', (e) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (file) importSettings(file, adopt).catch((err) => ($('backup-status').textContent = t('options_import_failed', err.message)));
  });
  const dialog = $('reset-dialog');
  $('reset').addEventListener('click', () => dialog.showModal());
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'reset') resetSettings(adopt).catch((e) => setStatus(t('options_reset_failed', e.message), 'bad'));
  });
  window.addEventListener('beforeunload', (e) => {
    if (view && dirty()) e.preventDefault();
  });
  // Another tab (or a policy) changed the settings: take them when nothing is being edited here.
  ext.storage?.onChanged?.addListener((changes, area) => {
    const ours = area === 'local' && (changes.settings || changes['settings.policy']);
    if ((area === 'managed' || ours) && view && !dirty()) load().catch(() => {});
  });

  // The settings first (painted as soon as the worker answers); then the core, for validation
  // (it is not needed before the user types, and its download and compilation would compete
  // with the first paint).
  await load(asked);
  document.body.dataset.ready = 'true';
  performance.mark('understudy-options-ready');
  coreLoaded = import('../pkg/understudy_pages.js').then(async (m) => {
    await m.default({ module_or_path: new URL('../pkg/understudy_pages_bg.wasm', import.meta.url) });
    core = m;
    coreReady = true;
    $('version').textContent = t('options_core_version', m.coreVersion());
    if (view) check({ speak: false });
  });
  await coreLoaded;
}

start().catch((error) => {
  $('version').textContent = '';
  setStatus(t('options_load_failed', error?.message ?? error), 'bad');
  document.body.dataset.ready = 'error';
});
