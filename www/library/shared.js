// What the library's modules share: the page's state, the cache handle, DOM helpers and the
// user's language (every visible string goes through the catalogue, extension/i18n/library.json).
import '../../i18n.js';

export const { t, tp, localize } = globalThis.understudyI18n;
export const i18n = globalThis.understudyI18n;
export const ext = globalThis.browser ?? globalThis.chrome;
export const ROW = 52;
export const STATUS_KEY = 'understudy.cache.status';
export const IMPORT_LOCK = 'understudy-import'; // a Web Lock held by each running import
export const $ = (id) => document.getElementById(id);

export function el(tag, props = {}, ...children) {
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

export const state = {
  metas: [], // newest first
  shown: [], // the metas the list shows (the site filter applied)
  site: '', // the site filter: '' for all sites
  selected: new Set(),
  active: -1, // index in metas (list mode) or in hits (search mode)
  hits: null,
  openId: null,
  library: null,
  indexReady: null,
};

/** The open cache (library-db.js), set once the page started. */
export const ctx = { db: null };

export function banner(text) {
  const b = $('banner');
  b.textContent = text;
  b.hidden = !text;
}

/** A conversation's time (seconds since the epoch), as the user's locale writes a date and time. */
export function dateOf(seconds) {
  return seconds ? i18n.dateTime(seconds * 1000) : '';
}

/** The core's English title for a conversation without one, in the user's language. */
export const titleText = (title) => (!title?.trim() || title === 'Untitled' ? t('library_untitled') : title);

/** The core's English author label of a message (render::role_label), in the user's language. */
export function roleLabel(label) {
  switch (label) {
    case 'User': return t('library_role_user');
    case 'Assistant': return t('library_role_assistant');
    case 'System': return t('library_role_system');
    case 'Tool': return t('library_role_tool');
    default: {
      const tool = /^Tool \((.*)\)$/.exec(label ?? '');
      return tool ? t('library_role_tool_named', tool[1]) : label; // ChatGPT and names stay as they are
    }
  }
}

/** The damaged-conversations part of a banner. */
export const damagedText = (n) => tp('library_damaged', n);

/** The chat sites, by the id the cache keeps (names are names: not translated). */
export const SITE_NAMES = {
  chatgpt: 'ChatGPT', claude: 'Claude', gemini: 'Gemini', deepseek: 'DeepSeek', grok: 'Grok',
  perplexity: 'Perplexity', copilot: 'Copilot', mistral: 'Le Chat',
};

/** The chat site of a conversation id: another site's are kept as `<site>:<id>`. */
export function siteOfId(id) {
  const prefix = /^([a-z]+):/.exec(id ?? '')?.[1];
  return prefix && prefix !== 'chatgpt' && Object.hasOwn(SITE_NAMES, prefix) ? prefix : 'chatgpt';
}

/** The chat site of a listed conversation (its meta's `site`, else its id). */
export const siteOf = (m) => (typeof m.site === 'string' && Object.hasOwn(SITE_NAMES, m.site) ? m.site : siteOfId(m.id));
