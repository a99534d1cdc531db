// The options page: edits the settings document (extension/settings.schema.json) through the
// service worker. The page never receives an API key: `settings.get` answers the settings without
// keys plus which providers have one; a key typed here is sent once, with `settings.save`.
// The settings are painted as soon as the worker answers; the Wasm core loads meanwhile and then
// validates as the user types (an error shows only at a field the user has typed in, or on save);
// the worker validates again on save.
// Safe DOM only: every text from settings or providers is set with textContent.
import { KIND_NAMES, needsKey, OPENAI, PRESETS, testWords } from './options/presets.js';
import { attachModelList } from './options/models.js';
import { wireDrag } from './options/drag.js';
import { freshId, rememberIds } from './options/ids.js';
import { inUnits, keyError } from './options/validation.js';
import './options/a11y.js';

const ext = globalThis.browser ?? globalThis.chrome;
const $ = (id) => document.getElementById(id);

const AUTO_KINDS = [
  ['service_down', 'ChatGPT is down'],
  ['capacity', 'ChatGPT is at capacity'],
  ['generation_error', 'an answer failed to generate'],
  ['network_error', 'the connection dropped or stalled'],
  ['rate_limited', 'you hit a rate limit or usage cap'],
  ['conversation_unavailable', 'a conversation will not load'],
  ['unknown_error', 'of an error Understudy does not know'],
];
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

function send(message) {
  return new Promise((resolve, reject) => {
    ext.runtime.sendMessage(message, (reply) => {
      const error = ext.runtime.lastError;
      if (error) return reject(new Error(error.message));
      if (!reply) return reject(new Error('no answer from the extension'));
      if (!reply.ok) return reject(new Error(reply.error));
      resolve(reply.value);
    });
  });
}

const clone = (v) => JSON.parse(JSON.stringify(v));
const locks = () => view?.locks ?? { providers: [], fields: [], user_providers: true };
const providerLocked = (id) => locks().providers.includes(id);
const fieldLocked = (path) => locks().fields.some((f) => path === f || path.startsWith(`${f}.`));

function getPath(obj, path) {
  return path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
}
function setPath(obj, path, value) {
  const keys = path.split('.');
  const last = keys.pop();
  const parent = keys.reduce((o, k) => (o[k] ??= {}), obj);
  parent[last] = value;
}

function dirty() {
  return typedKeys.size > 0 || clearKeys.size > 0 || JSON.stringify(draft) !== JSON.stringify(view.settings);
}

function setStatus(text, tone = '') {
  const s = $('status');
  s.textContent = text;
  s.className = `small ${tone}`;
}

function announce(text) {
  const a = $('announce');
  a.textContent = '';
  // A fresh text node so screen readers announce a repeated message too.
  requestAnimationFrame(() => (a.textContent = text));
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
    const name = p ? p.label || p.id : `provider ${Number(m[1]) + 1}`;
    const what = { base_url: 'Base URL', model: 'Model', id: 'Id', api_key: 'API key', max_context_tokens: 'Context size' }[m[2]];
    return what ? `${what} of ${name}` : name;
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
  if (error) setStatus('Fix the highlighted field to save.', 'bad');
  else if (changed) setStatus('Unsaved changes.');
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
  draft.providers.forEach((p, i) => list.append(providerCard(p, i)));
  $('providers-empty').hidden = draft.providers.length > 0;
  const canAdd = locks().user_providers;
  $('add').disabled = !canAdd;
  $('add-kind').disabled = !canAdd;
  if (focus) list.querySelector(`[data-id="${CSS.escape(focus.id)}"] ${focus.selector}`)?.focus();
}

let seq = 0;
function providerCard(p, index) {
  const li = $('provider-tpl').content.firstElementChild.cloneNode(true);
  const q = (sel) => li.querySelector(sel);
  const locked = providerLocked(p.id);
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
  keyInput.placeholder = locked ? (hasKey ? 'Set by your organisation' : 'None') : hasKey ? 'Saved (type to replace)' : needsKey(p.config) ? 'Paste your API key (required)' : 'Only if your server needs one';
  keyInput.required = !locked && !hasKey && needsKey(p.config);
  q('.key-hint').textContent = locked
    ? 'Provided by your organisation.'
    : 'Stored only in this browser, never synced, never shown to web pages.';
  q('.clear-key').hidden = !hasKey || locked;

  const note = q('.p-note');
  if (kind === 'ollama') {
    note.textContent = `Ollama must allow the extension: start it with OLLAMA_ORIGINS=${location.origin} (or chrome-extension://*).`;
  } else if (builtIn) {
    note.textContent = 'Gemini Nano, running in Chrome itself: no key, nothing leaves the computer. Needs a Chrome with built-in AI.';
    builtInAvailability(note);
  } else {
    note.remove();
  }

  nameButtons(li, p, index);
  if (testResults.has(p.id)) showTestResult(q('.test-result'), testResults.get(p.id));
  if (!builtIn) {
    attachModelList(q('input.model'), {
      uid,
      request: () => {
        const now = draft.providers.find((x) => x.id === p.id) ?? p;
        const key = typedKeys.get(p.id);
        const saved = view.has_key.includes(p.id) && !clearKeys.has(p.id);
        if (needsKey(now.config) && !key && !saved) return null; // no key: no list to ask for
        return { type: 'providers.models', provider: p.id, kind: now.config.kind, base_url: now.config.base_url, ...(key ? { api_key: key } : {}) };
      },
      send,
    });
  }
  q('.up').disabled = locked || index <= Math.max(0, firstMovable());
  q('.down').disabled = locked || index === draft.providers.length - 1;
  q('.handle').disabled = locked;
  li.draggable = false;

  if (locked) {
    for (const el of li.querySelectorAll('input, .remove, .show, .clear-key')) el.disabled = true;
    const lockNote = document.createElement('p');
    lockNote.className = 'locked-note wide';
    lockNote.textContent = 'Set by your organisation: it cannot be changed here.';
    q('.p-body').prepend(lockNote);
  }
  return li;
}

/** The accessible names of a card and its buttons, which follow the provider's current name. */
function nameButtons(li, p, index) {
  const name = p.label || p.id;
  const q = (sel) => li.querySelector(sel);
  li.setAttribute('aria-label', `${name}, ${index + 1} of ${draft.providers.length}`);
  q('input.enabled').setAttribute('aria-label', `Use ${name}`);
  q('.up').setAttribute('aria-label', `Move ${name} up`);
  q('.down').setAttribute('aria-label', `Move ${name} down`);
  q('.remove').setAttribute('aria-label', `Remove ${name}`);
  q('.test').setAttribute('aria-label', `Test ${name}`);
  q('.handle').setAttribute('aria-label', `Reorder ${name}`);
}

async function builtInAvailability(note) {
  const LM = globalThis.LanguageModel;
  let state = 'unavailable';
  try {
    if (LM?.availability) state = await LM.availability();
  } catch {}
  const words = {
    available: 'Available in this browser.',
    downloadable: 'Chrome can download it when first used.',
    downloading: 'Chrome is downloading it.',
    unavailable: 'Not available in this browser.',
  };
  note.textContent += ` ${words[state] ?? ''}`;
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
    nameButtons(li, p, i);
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
      announce(`${p.label || p.id} moved to position ${to + 1} of ${draft.providers.length}.`);
      check({ speak: false });
    }
  } else if (button.classList.contains('remove')) {
    draft.providers.splice(i, 1);
    typedKeys.delete(p.id);
    renderProviders();
    announce(`${p.label || p.id} removed. Save to confirm.`);
    const next = $('providers').children[Math.min(i, draft.providers.length - 1)];
    (next?.querySelector('.up:not(:disabled), .down:not(:disabled), input') ?? $('add-kind')).focus();
    check({ speak: false });
  } else if (button.classList.contains('show')) {
    const input = button.parentElement.querySelector('input.key');
    const showing = input.type === 'text';
    input.type = showing ? 'password' : 'text';
    button.setAttribute('aria-pressed', String(!showing));
    button.textContent = showing ? 'Show' : 'Hide';
  } else if (button.classList.contains('clear-key')) {
    clearKeys.add(p.id);
    typedKeys.delete(p.id);
    renderProviders({ id: p.id, selector: 'input.key' });
    announce(`The key of ${p.label || p.id} will be removed when you save.`);
    updateSaveBar(null);
  } else if (button.classList.contains('test')) {
    testProvider(p.id, button.closest('.provider'));
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
    announce(`${p.label || p.id} moved to position ${to + 1} of ${draft.providers.length}.`);
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
      announce(`${p.label || p.id} moved to position ${to + 1} of ${draft.providers.length}.`);
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
  announce(`${label} added at position ${draft.providers.length}. Save to keep it.`);
  check({ speak: false });
}

async function testProvider(id, card) {
  const parts = (li) => ({ out: li.querySelector('.test-result'), button: li.querySelector('.test') });
  let { out, button } = parts(card);
  out.className = 'test-result';
  out.textContent = 'Testing…';
  button.disabled = true;
  let text;
  let good = false;
  let cls = '';
  try {
    if (dirty()) {
      out.textContent = 'Saving, then testing…';
      const saved = await save({ quiet: true });
      // Saving redraws the list: find this provider's card again.
      const li = $('providers').querySelector(`[data-id="${CSS.escape(id)}"]`);
      if (li) ({ out, button } = parts(li));
      if (!saved) throw new Error('fix the settings first');
      out.textContent = 'Testing…';
      button.disabled = true;
    }
    const r = await send({ type: 'providers.test', provider: id });
    good = r.ok;
    cls = r.ok ? 'ok' : r.class;
    text = testWords(r, draft.providers.find((x) => x.id === id)?.config.kind);
  } catch (e) {
    cls = 'error';
    text = `✗ Not tested: ${e.message}.`;
  }
  // The list may have been redrawn meanwhile (the saved settings coming back): the result is kept
  // per provider and shown on its current card.
  testResults.set(id, { text, cls, good });
  const li = $('providers').querySelector(`[data-id="${CSS.escape(id)}"]`);
  if (li) ({ out, button } = parts(li));
  showTestResult(out, testResults.get(id));
  button.disabled = false;
  announce(text);
}

function showTestResult(out, result) {
  out.className = `test-result ${result.good ? 'good' : 'bad'}`;
  out.textContent = result.text;
  out.dataset.class = result.cls;
}

// ---- the other fields ---------------------------------------------------------------------------
function renderFields() {
  for (const el of document.querySelectorAll('main input[data-field]:not(.provider *)')) {
    const path = el.dataset.field;
    const value = getPath(draft, path);
    if (el.type === 'checkbox') el.checked = value === true;
    else if (el.type === 'radio') el.checked = el.value === value;
    else if (el.dataset.scale) el.value = value == null ? '' : String(value / Number(el.dataset.scale));
    else el.value = value ?? '';
    const locked = fieldLocked(path);
    el.disabled = locked;
    const host = el.closest('.field, .check');
    host?.querySelector('.locked-note')?.remove();
    if (locked && host && !host.querySelector('.locked-note')) {
      const note = document.createElement('p');
      note.className = 'locked-note';
      note.textContent = 'Set by your organisation';
      if (el.type === 'radio') el.closest('fieldset').querySelector('.locked-note') ?? el.closest('fieldset').append(note);
      else host.append(note);
    }
  }
}

function onFieldInput(event) {
  const el = event.target;
  const path = el.dataset.field;
  if (!path || el.closest('.provider')) return;
  touched.add(path);
  let value;
  if (el.type === 'checkbox') value = el.checked;
  else if (el.type === 'radio') value = el.value;
  else if (el.type === 'number') {
    // An empty or impossible number is kept as text so the check names the field.
    const n = el.valueAsNumber;
    value = Number.isFinite(n) ? Math.round(n * Number(el.dataset.scale ?? 1)) : el.value === '' ? '' : el.value;
  } else value = el.value;
  setPath(draft, path, value);
  scheduleCheck();
}

function buildAutoKinds() {
  const box = $('auto-kinds');
  for (const [kind, words] of AUTO_KINDS) {
    const row = document.createElement('div');
    row.className = 'check';
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.id = `auto-${kind}`;
    input.dataset.field = `auto_mode.${kind}`;
    input.dataset.testid = `auto-${kind}`;
    const label = document.createElement('label');
    label.htmlFor = input.id;
    label.textContent = words;
    row.append(input, label);
    box.append(row);
  }
}

function buildAddMenu() {
  const select = $('add-kind');
  const groups = new Map();
  PRESETS.forEach((p, i) => {
    if (!groups.has(p.group)) {
      const g = document.createElement('optgroup');
      g.label = p.group;
      groups.set(p.group, g);
      select.append(g);
    }
    const o = document.createElement('option');
    o.value = String(i);
    o.textContent = p.name;
    groups.get(p.group).append(o);
  });
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
  renderFields();
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
  setStatus('Saving…');
  let result;
  try {
    result = await send({ type: 'settings.save', settings, clear_keys: [...clearKeys] });
  } catch (e) {
    setStatus(`Not saved: ${e.message}`, 'bad');
    announce(`Not saved: ${e.message}`);
    return false;
  }
  if (!result.saved) {
    showError(result.error, { focus: true });
    setStatus(`Not saved: ${labelOf(result.error.field) || 'settings'}: ${result.error.message}`, 'bad');
    return false;
  }
  adopt(result.view);
  setStatus('Saved.', 'good');
  if (!quiet) announce('Saved.');
  granted.then((ok) => {
    if (!ok) setStatus('Saved. Without access to some providers’ sites, requests to them may be blocked.', 'good');
  });
  return true;
}

async function exportSettings() {
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
  $('backup-status').textContent = includeKeys ? 'Exported, with API keys: keep the file private.' : 'Exported, without API keys.';
}

async function importSettings(file) {
  const status = $('backup-status');
  status.className = 'small';
  let text;
  try {
    text = await file.text();
  } catch (e) {
    status.textContent = `Could not read the file: ${e.message}`;
    return;
  }
  const result = await send({ type: 'settings.import', text });
  if (!result.saved) {
    const where = result.error.field ? `${result.error.field}: ` : '';
    status.className = 'small error';
    status.textContent = `Not imported. ${where}${result.error.message}`;
    announce(status.textContent);
    return;
  }
  adopt(result.view);
  // A stored key stays only with a provider the file left at the same address (and kind); each
  // one left behind is named, so the user knows which key to enter again.
  const notKept = (result.keys_not_kept ?? []).map((k) => String(k.message));
  const sentence = (m) => `${m.charAt(0).toUpperCase()}${m.slice(1)}.`;
  status.textContent = notKept.length
    ? `Imported. ${notKept.map(sentence).join(' ')}`
    : 'Imported. API keys absent from the file were kept (same provider, same address).';
  if (notKept.length) status.dataset.keysNotKept = String(notKept.length);
  else delete status.dataset.keysNotKept;
  announce(status.textContent);
}

async function resetSettings() {
  const result = await send({ type: 'settings.reset' });
  if (result.saved) {
    adopt(result.view);
    $('backup-status').textContent = 'Every setting is back to its default.';
    announce('Every setting is back to its default.');
  }
}

// ---- start ------------------------------------------------------------------------------------------
async function start() {
  // The settings are asked for first: the worker answers while the page builds itself.
  const asked = send({ type: 'settings.get' });
  buildAutoKinds();
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
    setStatus('Changes discarded.');
  });
  $('export').addEventListener('click', () => exportSettings().catch((e) => ($('backup-status').textContent = `Export failed: ${e.message}`)));
  $('import').addEventListener('change', (e) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (file) importSettings(file).catch((err) => ($('backup-status').textContent = `Import failed: ${err.message}`));
  });
  const dialog = $('reset-dialog');
  $('reset').addEventListener('click', () => dialog.showModal());
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'reset') resetSettings().catch((e) => setStatus(`Reset failed: ${e.message}`, 'bad'));
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
    $('version').textContent = `Understudy core ${m.coreVersion()}`;
    if (view) check({ speak: false });
  });
  await coreLoaded;
}

start().catch((error) => {
  $('version').textContent = '';
  setStatus(`Understudy could not load its settings: ${error?.message ?? error}`, 'bad');
  document.body.dataset.ready = 'error';
});
