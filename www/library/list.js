// The library's list (virtualised: only the visible rows exist), the opened conversation (its
// Markdown rendered by the core and built as DOM nodes by markdown.js: model text is data, never
// HTML) and the search over the core's index.
import * as core from '../../pkg/understudy_pages.js';
import { renderMarkdownInto } from '../markdown.js';
import { openSidebarOnClick } from '../../api.js';
import { $, ctx, dateOf, el, ext, banner, ROW, roleLabel, SITE_NAMES, siteOf, siteOfId, state, t, titleText, tp } from './shared.js';
import { deleteOne, exportIds } from './actions.js';

// ---------- list (virtualised) ----------
export const list = $('list');
const spacer = $('list-spacer');
const rows = new Map(); // index -> element

// A row names its site once the cache holds another site than ChatGPT (a ChatGPT-only library
// reads as it always did).
const named = (site) => (site !== 'chatgpt' || !$('site-filter').hidden ? SITE_NAMES[site] ?? site : null);

function rowFor(i) {
  const m = state.shown[i];
  const check = el('input', { type: 'checkbox', checked: state.selected.has(m.id), title: t('library_select') });
  check.addEventListener('click', (e) => {
    e.stopPropagation();
    if (check.checked) state.selected.add(m.id);
    else state.selected.delete(m.id);
  });
  // A list item holding two controls side by side (never one inside the other): the checkbox, named
  // after the conversation, and the title as the button that opens it (`aria-current` on the open one).
  const title = el('button', { type: 'button', class: 'title', text: titleText(m.title?.trim()) });
  check.setAttribute('aria-label', t('a11y_library_select', title.textContent));
  if (m.incomplete) title.append(el('span', { class: 'badge', text: t('library_badge_incomplete'), title: t('library_badge_incomplete_title') }));
  const site = siteOf(m);
  const row = el('div', { class: 'row', role: 'listitem', 'data-id': m.id, 'data-site': site, 'aria-posinset': String(i + 1), 'aria-setsize': String(state.shown.length) }, check, title,
    el('div', { class: 'sub', text: [named(site), dateOf(m.update_time), m.model, tp('library_messages', m.message_count)].filter(Boolean).join(' · ') }));
  row.style.top = `${i * ROW}px`;
  if (i === state.active && !state.hits) markActive(row, true);
  row.addEventListener('click', () => activate(i));
  return row;
}

function renderList() {
  spacer.style.height = `${state.shown.length * ROW}px`;
  const first = Math.max(0, Math.floor(list.scrollTop / ROW) - 4);
  const last = Math.min(state.shown.length, Math.ceil((list.scrollTop + (list.clientHeight || 800)) / ROW) + 4);
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

export function resetList() {
  for (const r of rows.values()) r.remove();
  rows.clear();
  // The site filter: the conversations of one chat site, or all of them.
  state.shown = state.site ? state.metas.filter((m) => siteOf(m) === state.site) : state.metas;
  offerSites();
  renderList();
  $('count').textContent = tp('library_count', state.shown.length);
}

/** The site filter offers "All sites" and every site the cache holds conversations of. */
function offerSites() {
  const select = $('site-filter');
  const present = new Set(state.metas.map(siteOf));
  if (state.site) present.add(state.site);
  const have = [...select.options].slice(1).map((o) => o.value);
  const want = Object.keys(SITE_NAMES).filter((s) => present.has(s));
  // Shown once another site than ChatGPT has conversations here (a ChatGPT-only cache needs none).
  select.hidden = !want.some((s) => s !== 'chatgpt') && !state.site;
  if (want.join() === have.join()) return;
  select.replaceChildren(select.options[0], ...want.map((s) => el('option', { value: s, text: SITE_NAMES[s] })));
  select.value = state.site;
}

$('site-filter').addEventListener('change', (e) => {
  state.site = e.target.value;
  state.active = -1;
  list.scrollTop = 0;
  resetList();
  if (state.hits) runSearch();
});

list.addEventListener('scroll', renderList, { passive: true });

export async function refreshMetas() {
  state.metas = await ctx.db.allMetas();
  resetList();
}

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
  if (i < 0 || i >= state.shown.length) return;
  state.active = i;
  for (const [j, r] of rows) markActive(r, j === i);
  const top = i * ROW;
  if (top < list.scrollTop) list.scrollTop = top;
  else if (top + ROW > list.scrollTop + list.clientHeight) list.scrollTop = top + ROW - list.clientHeight;
  renderList();
  // Arrows moving through the list carry the keyboard focus with them.
  if (list.contains(document.activeElement)) rows.get(i)?.querySelector('.title')?.focus();
  openConversation(state.shown[i].id);
}

// ---------- one conversation ----------
export async function openConversation(id) {
  const db = ctx.db;
  state.openId = id;
  const record = await db.getRecord(id);
  if (state.openId !== id) return;
  const view = $('view');
  view.replaceChildren();
  if (record == null) {
    view.append(el('p', { class: 'muted', text: t('library_gone') }));
    return;
  }
  // With the answers Understudy kept from other providers (branches), each marked.
  let v;
  try {
    v = core.cacheView(record);
  } catch {
    db.markDamaged([id]);
    view.append(el('p', { class: 'muted', text: t('library_unreadable') }));
    return;
  }
  const title = el('h1', { text: titleText(v.title), 'data-testid': 'understudy-library-title' });
  const sub = el('p', { class: 'muted', text: [dateOf(v.update_time), v.model, v.incomplete ? t('library_incomplete_note') : null].filter(Boolean).join(' · ') });
  const actions = el('div', { class: 'actions' });
  const cont = el('button', { type: 'button', class: 'primary', text: t('library_continue'), 'data-testid': 'understudy-library-continue' });
  cont.addEventListener('click', async () => {
    const opened = openSidebarOnClick(); // Firefox: only here, in the click's own handler
    const reply = await ext.runtime.sendMessage({ type: 'rescue.continue', conversation_id: id, opened }).catch((e) => ({ ok: false, error: String(e) }));
    if (!reply?.ok) banner(t('library_continue_failed', reply?.error ?? t('library_no_answer')));
  });
  actions.append(cont);
  for (const [fmt, label] of [['markdown', 'Markdown'], ['json', 'JSON'], ['html', 'HTML']]) {
    const b = el('button', { type: 'button', text: t('library_export_as', label), 'data-testid': `understudy-library-export-${fmt}` });
    b.addEventListener('click', () => exportIds([id], fmt));
    actions.append(b);
  }
  const del = el('button', { type: 'button', class: 'danger', text: t('library_delete'), 'data-testid': 'understudy-library-delete' });
  del.addEventListener('click', () => deleteOne(id));
  actions.append(del);
  view.append(title, sub, actions);
  for (const m of v.messages) {
    const label = roleLabel(m.label);
    const who = el('div', { class: 'who', text: m.incomplete ? t('library_label_incomplete', label) : label });
    if (m.answered_by) who.append(' · ', el('span', { class: 'muted', text: t('library_answered_by', m.answered_by), 'data-testid': 'understudy-answered-by' }));
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
export async function runSearch() {
  const q = $('search').value;
  const seq = ++searchSeq;
  const results = $('results');
  if (!q.trim()) {
    state.hits = null;
    results.hidden = true;
    list.hidden = false;
    $('count').textContent = tp('library_count', state.shown.length);
    return;
  }
  const library = await state.indexReady;
  if (seq !== searchSeq) return;
  const t0 = performance.now();
  const found = library.search(q, state.site ? 1000 : 100);
  const hits = (state.site ? found.filter((h) => siteOfId(h.id) === state.site) : found).slice(0, 100);
  state.lastSearchMs = performance.now() - t0;
  state.hits = hits;
  state.active = -1;
  list.hidden = true;
  results.hidden = false;
  results.replaceChildren(...hits.map((h, i) => {
    // The highlight ranges index the title as stored: a missing one is shown in words, unmarked.
    const head = h.title ? highlighted(h.title, h.title_highlights, 'div') : el('div', { text: t('library_untitled') });
    const li = el('li', { 'data-id': h.id }, head, highlighted(h.snippet, h.highlights, 'div'));
    li.lastChild.className = 'snippet';
    li.addEventListener('click', () => activate(i));
    return li;
  }));
  $('count').textContent = tp('library_results', hits.length);
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
    const n = state.hits ? state.hits.length : state.shown.length;
    if (n === 0) return;
    const next = Math.max(0, Math.min(n - 1, state.active + (e.key === 'ArrowDown' ? 1 : -1)));
    activate(next);
  }
});
