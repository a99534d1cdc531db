// The page's fields outside the provider list: the auto-mode reasons and the "Add a provider" menu
// (built once, in the user's language), and every `data-field` input drawn from the settings, with
// a note where the organisation has locked it. Path helpers for `a.b.c` fields.
import '../../i18n.js';
import { PRESETS } from './presets.js';
import { $ } from './page.js';

const { t } = globalThis.understudyI18n;

// The reasons auto mode may carry on for (each completes "When ChatGPT fails because…").
const AUTO_KINDS = [
  ['service_down', () => t('options_auto_service_down')],
  ['capacity', () => t('options_auto_capacity')],
  ['generation_error', () => t('options_auto_generation_error')],
  ['network_error', () => t('options_auto_network_error')],
  ['rate_limited', () => t('options_auto_rate_limited')],
  ['conversation_unavailable', () => t('options_auto_conversation_unavailable')],
  ['unknown_error', () => t('options_auto_unknown_error')],
];

export function getPath(obj, path) {
  return path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
}
export function setPath(obj, path, value) {
  const keys = path.split('.');
  const last = keys.pop();
  const parent = keys.reduce((o, k) => (o[k] ??= {}), obj);
  parent[last] = value;
}

/** Every field outside the provider cards, from `draft`; `fieldLocked(path)` disables one. */
export function renderFields(draft, fieldLocked) {
  for (const el of document.querySelectorAll('main input[data-field]:not(.provider *)')) {
    const path = el.dataset.field;
    const value = getPath(draft, path);
    if (el.dataset.site) el.checked = !(Array.isArray(value) ? value : []).includes(el.dataset.site);
    else if (el.type === 'checkbox') el.checked = value === true;
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
      note.textContent = t('options_set_by_org');
      if (el.type === 'radio') el.closest('fieldset').querySelector('.locked-note') ?? el.closest('fieldset').append(note);
      else host.append(note);
    }
  }
}

export function buildAutoKinds() {
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
    label.textContent = words();
    row.append(input, label);
    box.append(row);
  }
}

export function buildAddMenu() {
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

// The chat sites Understudy watches (each can be switched off: `sites_off`). Names are names.
const SITES = [
  ['chatgpt', 'ChatGPT', 'chatgpt.com'], ['claude', 'Claude', 'claude.ai'], ['gemini', 'Gemini', 'gemini.google.com'],
  ['deepseek', 'DeepSeek', 'chat.deepseek.com'], ['grok', 'Grok', 'grok.com'], ['perplexity', 'Perplexity', 'perplexity.ai'],
  ['copilot', 'Copilot', 'copilot.microsoft.com'], ['mistral', 'Le Chat', 'chat.mistral.ai'],
];

export function buildSites() {
  const box = $('sites');
  for (const [site, name, host] of SITES) {
    const row = document.createElement('div');
    row.className = 'check';
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.id = `site-${site}`;
    input.dataset.field = 'sites_off';
    input.dataset.site = site;
    input.dataset.testid = `site-${site}`;
    const label = document.createElement('label');
    label.htmlFor = input.id;
    label.textContent = t('options_site_named', name, host);
    row.append(input, label);
    box.append(row);
  }
}

/** The sites' switches, in order. */
export const siteSwitches = () => [...document.querySelectorAll('#sites input[data-site]')];
