// The options page: edits the settings document (extension/settings.schema.json) through the
// service worker. The page never receives an API key: `settings.get` answers the settings without
// keys plus which providers have one; a key typed here is sent once, with `settings.save`.
// Validation runs in the Wasm core as the user types; the worker validates again on save.
// Safe DOM only: every text from settings or providers is set with textContent.
import init, { coreVersion, settingsCheck } from '../pkg/understudy.js';

const ext = globalThis.browser ?? globalThis.chrome;
const $ = (id) => document.getElementById(id);

/** Provider kinds and presets offered by "Add a provider". */
const OPENAI = 'open_ai_compatible';
const PRESETS = [
  { group: 'OpenAI-compatible', name: 'OpenAI', kind: OPENAI, id: 'openai', base_url: 'https://api.openai.com/v1', model: 'gpt-4o-mini' },
  { group: 'OpenAI-compatible', name: 'OpenRouter', kind: OPENAI, id: 'openrouter', base_url: 'https://openrouter.ai/api/v1', model: 'openai/gpt-4o-mini' },
  { group: 'OpenAI-compatible', name: 'Groq', kind: OPENAI, id: 'groq', base_url: 'https://api.groq.com/openai/v1', model: 'llama-3.3-70b-versatile' },
  { group: 'OpenAI-compatible', name: 'Mistral', kind: OPENAI, id: 'mistral', base_url: 'https://api.mistral.ai/v1', model: 'mistral-small-latest' },
  { group: 'OpenAI-compatible', name: 'DeepSeek', kind: OPENAI, id: 'deepseek', base_url: 'https://api.deepseek.com/v1', model: 'deepseek-chat' },
  { group: 'OpenAI-compatible', name: 'Together', kind: OPENAI, id: 'together', base_url: 'https://api.together.xyz/v1', model: 'meta-llama/Llama-3.3-70B-Instruct-Turbo' },
  { group: 'OpenAI-compatible', name: 'LM Studio (this computer)', kind: OPENAI, id: 'lmstudio', base_url: 'http://localhost:1234/v1', model: 'local-model', local: true },
  { group: 'OpenAI-compatible', name: 'llama.cpp server (this computer)', kind: OPENAI, id: 'llamacpp', base_url: 'http://localhost:8080/v1', model: 'local-model', local: true },
  { group: 'OpenAI-compatible', name: 'vLLM', kind: OPENAI, id: 'vllm', base_url: 'http://localhost:8000/v1', model: 'served-model' },
  { group: 'OpenAI-compatible', name: 'My own gateway', kind: OPENAI, id: 'gateway', base_url: '', model: '' },
  { group: 'Other APIs', name: 'Anthropic', kind: 'anthropic', id: 'anthropic', base_url: 'https://api.anthropic.com/v1', model: 'claude-3-5-haiku-latest' },
  { group: 'Other APIs', name: 'Google Gemini', kind: 'gemini', id: 'gemini', base_url: 'https://generativelanguage.googleapis.com/v1beta', model: 'gemini-2.0-flash' },
  { group: 'Other APIs', name: 'Ollama (this computer)', kind: 'ollama', id: 'ollama', base_url: 'http://localhost:11434', model: 'llama3.2', local: true },
  { group: 'Other APIs', name: 'Chrome on-device model', kind: 'chrome_built_in', id: 'chrome-builtin', base_url: '', model: 'gemini-nano', local: true },
];
const KIND_NAMES = {
  open_ai_compatible: 'OpenAI-compatible',
  open_ai_responses: 'OpenAI Responses',
  anthropic: 'Anthropic',
  gemini: 'Gemini',
  ollama: 'Ollama',
  chrome_built_in: 'On-device',
};
const NEEDS_KEY = new Set(['open_ai_compatible', 'open_ai_responses', 'anthropic', 'gemini']);
const AUTO_KINDS = [
  ['service_down', 'ChatGPT is down'],
  ['capacity', 'ChatGPT is at capacity'],
  ['generation_error', 'an answer failed to generate'],
  ['network_error', 'the connection dropped or stalled'],
  ['rate_limited', 'you hit a rate limit or usage cap'],
  ['conversation_unavailable', 'a conversation will not load'],
  ['unknown_error', 'of an error Understudy does not know'],
];
/** What to do about each failure class of a test, in plain words. */
const TEST_ADVICE = {
  auth: 'The provider refused the API key. Check the key (and that it may use this model), then save and test again.',
  origin_not_allowed: 'Ollama refused the extension. Start Ollama with OLLAMA_ORIGINS=chrome-extension://* (or this extension\'s origin) and test again.',
  not_found: 'Not found. Check the model name and the base URL.',
  network: 'Could not reach the server. Check the base URL and that the server is running.',
  timeout: 'No answer in time. The server may be overloaded, or the base URL points somewhere that never answers.',
  rate_limited: 'The provider is rate-limiting this key. It works, but try again later.',
  quota_exhausted: 'The account has no credit or quota left.',
  server: 'The provider had a server error. Try again later.',
  overloaded: 'The provider is overloaded. Try again later.',
  bad_request: 'The provider refused the request. Check the model name.',
};

// ---- state ------------------------------------------------------------------------------------
let view = null; // {settings, has_key, locks} as last answered by the worker
let draft = null; // the settings being edited (no keys)
const typedKeys = new Map(); // provider id → a key typed in this page, not yet saved
const clearKeys = new Set(); // provider ids whose key is to be removed
let checkTimer = 0;

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

function showError(error, { focus = false, speak = true } = {}) {
  clearErrors();
  if (!error) return;
  const el = elementFor(error.field || '');
  const text = `${error.message.charAt(0).toUpperCase()}${error.message.slice(1)}`;
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

function check({ focus = false, speak = true } = {}) {
  clearTimeout(checkTimer);
  let error = null;
  try {
    error = settingsCheck(JSON.stringify(draft));
  } catch (e) {
    error = { field: '', message: String(e?.message ?? e) };
  }
  showError(error, { focus, speak });
  updateSaveBar(error);
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
function freshId(base) {
  const taken = new Set(draft.providers.map((p) => p.id));
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

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
  li.setAttribute('aria-label', `${p.label || p.id}, ${index + 1} of ${draft.providers.length}`);
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
  enabled.setAttribute('aria-label', `Use ${p.label || p.id}`);
  enabled.checked = p.enabled;

  q('input.label').value = p.label;
  q('input.label').placeholder = KIND_NAMES[p.config.kind] ?? '';
  q('input.model').value = p.config.model;
  q('input.base').value = p.config.base_url;
  q('input.base').placeholder = 'https://…/v1';

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
  keyInput.placeholder = locked ? (hasKey ? 'Set by your organisation' : 'None') : hasKey ? 'Saved (type to replace)' : NEEDS_KEY.has(kind) ? 'Paste your API key' : 'Only if your server needs one';
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

  q('.up').setAttribute('aria-label', `Move ${p.label || p.id} up`);
  q('.down').setAttribute('aria-label', `Move ${p.label || p.id} down`);
  q('.remove').setAttribute('aria-label', `Remove ${p.label || p.id}`);
  q('.test').setAttribute('aria-label', `Test ${p.label || p.id}`);
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
  if (t.classList.contains('label')) {
    p.label = t.value;
    t.closest('.provider').querySelector('.p-name').textContent = t.value || KIND_NAMES[p.config.kind] || p.id;
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

// Drag and drop, started from the handle only.
let dragId = null;
function wireDrag(list) {
  list.addEventListener('pointerdown', (e) => {
    const handle = e.target.closest('.handle');
    if (handle && !handle.disabled) handle.closest('.provider').draggable = true;
  });
  list.addEventListener('dragstart', (e) => {
    const li = e.target.closest?.('.provider');
    if (!li?.draggable) return e.preventDefault();
    dragId = li.dataset.id;
    li.classList.add('dragging');
    e.dataTransfer.effectAllowed = 'move';
    e.dataTransfer.setData('text/plain', dragId);
  });
  const target = (e) => {
    const li = e.target.closest?.('.provider');
    if (!li || !dragId || li.dataset.id === dragId || li.dataset.locked === 'true') return null;
    const r = li.getBoundingClientRect();
    return { li, after: e.clientY > r.top + r.height / 2 };
  };
  const clearMarks = () => list.querySelectorAll('.drop-before, .drop-after').forEach((el) => el.classList.remove('drop-before', 'drop-after'));
  list.addEventListener('dragover', (e) => {
    const t = target(e);
    clearMarks();
    if (!t) return;
    e.preventDefault();
    t.li.classList.add(t.after ? 'drop-after' : 'drop-before');
  });
  list.addEventListener('drop', (e) => {
    const t = target(e);
    clearMarks();
    if (!t) return;
    e.preventDefault();
    const from = draft.providers.findIndex((p) => p.id === dragId);
    let to = draft.providers.findIndex((p) => p.id === t.li.dataset.id) + (t.after ? 1 : 0);
    if (from < to) to -= 1;
    const p = draft.providers[from];
    if (move(from, to)) {
      renderProviders({ id: p.id, selector: '.handle' });
      announce(`${p.label || p.id} moved to position ${to + 1} of ${draft.providers.length}.`);
      check({ speak: false });
    }
  });
  list.addEventListener('dragend', () => {
    clearMarks();
    for (const li of list.querySelectorAll('.provider')) {
      li.draggable = false;
      li.classList.remove('dragging');
    }
    dragId = null;
  });
}

function addProvider() {
  const preset = PRESETS[Number($('add-kind').value)];
  if (!preset) return;
  const id = freshId(preset.id);
  const label = draft.providers.some((p) => p.label === preset.name) ? `${preset.name} (${id})` : preset.name;
  draft.providers.push({
    id,
    label,
    enabled: true,
    config: { kind: preset.kind, base_url: preset.base_url, model: preset.model, api_key: null, max_context_tokens: null },
  });
  const field = preset.base_url ? (NEEDS_KEY.has(preset.kind) ? 'input.key' : 'input.model') : 'input.base';
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
    if (r.ok) {
      const said = r.text?.trim() ? ` It said “${r.text.trim().slice(0, 60)}”.` : '';
      text = `✓ Works: answered in ${r.first_byte_ms ?? r.total_ms} ms.${said}`;
    } else {
      text = `✗ ${TEST_ADVICE[r.class] ?? 'Failed.'} (${r.message})`;
    }
  } catch (e) {
    cls = 'error';
    text = `✗ Not tested: ${e.message}.`;
  }
  out.className = `test-result ${good ? 'good' : 'bad'}`;
  out.textContent = text;
  out.dataset.class = cls;
  button.disabled = false;
  announce(text);
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
  typedKeys.clear();
  clearKeys.clear();
  $('policy-note').hidden = next.locks.providers.length === 0 && next.locks.fields.length === 0 && next.locks.user_providers;
  renderProviders();
  renderFields();
  clearErrors();
  updateSaveBar(null);
}

async function load() {
  adopt(await send({ type: 'settings.get' }));
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
  const error = check({ focus: true });
  if (error) return false;
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
  buildAutoKinds();
  buildAddMenu();
  const list = $('providers');
  list.addEventListener('input', onProviderInput);
  list.addEventListener('change', onProviderInput);
  list.addEventListener('click', onProviderClick);
  list.addEventListener('keydown', onProviderKey);
  wireDrag(list);
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
    if ((area === 'managed' || (area === 'local' && changes.settings)) && view && !dirty()) load().catch(() => {});
  });

  await init({ module_or_path: new URL('../pkg/understudy_bg.wasm', import.meta.url) });
  $('version').textContent = `Understudy core ${coreVersion()}`;
  await load();
  document.body.dataset.ready = 'true';
}

start().catch((error) => {
  $('version').textContent = '';
  setStatus(`Understudy could not load its settings: ${error?.message ?? error}`, 'bad');
  document.body.dataset.ready = 'error';
});
