// Popup: ChatGPT's state as Understudy sees it (page signals per chat tab, the public status page) and
// the recent detection timeline, and two quick switches (pause, auto mode) written through the
// worker's settings API (settings.quick), so validation and the managed policy apply. Thin glue: the
// worker keeps the state; the page builds DOM nodes only.
import init, { coreVersion } from '../pkg/understudy_pages.js';
import '../i18n.js';

const { t, tp, localize, lang, dateTime, relative } = globalThis.understudyI18n;
document.documentElement.lang = lang();
localize();

const ext = globalThis.browser ?? globalThis.chrome;
const status = document.getElementById('status');

// Words from the catalogue (extension/i18n/popup.json), in the browser's language; incident and
// component names, error texts and what the page showed are data and stay as they come.
const KIND = {
  healthy: () => t('popup_kind_healthy'),
  generation_error: () => t('popup_kind_generation_error'),
  network_error: () => t('popup_kind_network_error'),
  rate_limited: () => t('popup_kind_rate_limited'),
  capacity: () => t('popup_kind_capacity'),
  service_down: () => t('popup_kind_service_down'),
  blocked: () => t('popup_kind_blocked'),
  conversation_unavailable: () => t('popup_kind_conversation_unavailable'),
  unknown_error: () => t('popup_kind_unknown_error'),
  refused: () => t('popup_kind_refused'),
  conversation_too_long: () => t('popup_kind_conversation_too_long'),
};
const kindName = (kind) => KIND[kind]?.() ?? kind;
const LEVEL = {
  operational: () => t('popup_level_operational'),
  degraded: () => t('popup_level_degraded'),
  partial_outage: () => t('popup_level_partial_outage'),
  major_outage: () => t('popup_level_major_outage'),
};
const levelName = (level) => LEVEL[level]?.() ?? level;
// Another site's status page, in words that name no site (the line names it).
const SITE_LEVEL = {
  operational: () => t('popup_site_level_operational'),
  degraded: () => t('popup_site_level_degraded'),
  partial_outage: () => t('popup_site_level_partial_outage'),
  major_outage: () => t('popup_site_level_major_outage'),
};
const siteLevelName = (level) => SITE_LEVEL[level]?.() ?? String(level ?? '').replaceAll('_', ' ');
const STAGE = {
  investigating: () => t('popup_stage_investigating'),
  identified: () => t('popup_stage_identified'),
  monitoring: () => t('popup_stage_monitoring'),
  resolved: () => t('popup_stage_resolved'),
  scheduled: () => t('popup_stage_scheduled'),
  in_progress: () => t('popup_stage_in_progress'),
  verifying: () => t('popup_stage_verifying'),
  completed: () => t('popup_stage_completed'),
};
const COMPONENT = {
  operational: () => t('popup_component_operational'),
  degraded_performance: () => t('popup_component_degraded_performance'),
  partial_outage: () => t('popup_component_partial_outage'),
  major_outage: () => t('popup_component_major_outage'),
  full_outage: () => t('popup_component_full_outage'),
  under_maintenance: () => t('popup_component_under_maintenance'),
};
/** A list of names as the language writes one (Japanese and Chinese with 、). */
const list = (items) => items.join(/^(ja|zh)/.test(lang()) ? '、' : ', ');

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) if (c != null) node.append(c);
  return node;
}

/** A time on the 24-hour clock in the user's language (14:20, or 14:20:05). */
const hm = (ms, seconds = false) => {
  const opts = { hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}), hourCycle: 'h23' };
  try {
    return new Intl.DateTimeFormat(lang(), opts).format(ms);
  } catch {
    return new Date(ms).toLocaleTimeString([], opts);
  }
};

/** The message `key` with `node` (a `<time>`) where its `$1` stands; the other substitutions as text. */
function around(key, node, ...subs) {
  const MARK = '\u2063';
  const [before, after = ''] = t(key, MARK, ...subs).split(MARK);
  return [before, node, after].filter((x) => x !== '');
}

// The chat sites' names (not translated); a tab of a site other than ChatGPT is named by it.
const SITE_NAMES = {
  claude: 'Claude', gemini: 'Gemini', deepseek: 'DeepSeek', grok: 'Grok',
  perplexity: 'Perplexity', copilot: 'Copilot', mistral: 'Le Chat',
};
const siteName = (site) => (site && site !== 'chatgpt' && Object.hasOwn(SITE_NAMES, site) ? SITE_NAMES[site] : null);

function kindWords(kind, retryAt, site = null) {
  const name = siteName(site);
  const words = name && kind === 'conversation_too_long' ? t('popup_kind_conversation_too_long_site', name) : kindName(kind);
  return kind === 'rate_limited' && retryAt ? t('popup_kind_until', words, hm(retryAt)) : words;
}

function empty(list, text) {
  list.replaceChildren(el('li', { class: 'empty' }, text));
}

/** Another site's status page, one line under its tab: its level and ongoing incidents' names. */
function siteStatus(site, page) {
  const r = page?.report;
  if (!r) return page?.error ? el('div', { class: 'small', 'data-testid': 'understudy-site-status' }, tp('popup_status_unread', page.errors, page.error)) : null;
  const names = (r.ongoing ?? []).map((i) => i.name).filter(Boolean);
  const text = t('popup_site_status', siteName(site) ?? site, siteLevelName(r.level));
  return el('div', { class: 'small', 'data-testid': 'understudy-site-status', 'data-level': r.level ?? '' }, names.length ? `${text} ${names.join(' · ')}` : text);
}

function renderTabs(tabs, activeId, statuses = {}) {
  const list = document.getElementById('tabs');
  if (!tabs.length) return empty(list, t('popup_no_tabs'));
  list.replaceChildren(...tabs.map((tab) => {
    const d = tab.current;
    const path = tab.conversation_id ? t('popup_conversation', tab.conversation_id.slice(0, 8)) : new URL(tab.url).pathname;
    const name = siteName(tab.site);
    const where = name ? `${name} · ${path}` : path;
    return el('li', { 'data-kind': d?.kind ?? 'healthy', 'data-tab': String(tab.tab), 'data-site': tab.site ?? 'chatgpt' },
      el('span', { class: `kind ${d ? 'bad' : 'good'}` }, kindWords(d?.kind ?? 'healthy', d?.retry_at, tab.site)),
      el('div', { class: 'small' }, tab.tab === activeId ? t('popup_this_tab', where) : t('popup_tab', where)),
      d ? el('div', { class: 'small' }, t('popup_since', hm(d.since_ms), d.evidence.text)) : null,
      tab.site && tab.site !== 'chatgpt' ? siteStatus(tab.site, statuses[tab.site]) : null);
  }));
}

// Times on the status page, in the user's locale: the date and time, and how long ago.
const UNITS = [['day', 86_400_000], ['hour', 3_600_000], ['minute', 60_000]];

function ago(ms, now = Date.now()) {
  const diff = ms - now;
  const [unit, size] = UNITS.find(([, size]) => Math.abs(diff) >= size) ?? ['minute', 60_000];
  try {
    return new Intl.RelativeTimeFormat(lang(), { numeric: 'auto' }).format(Math.round(diff / size), unit);
  } catch {
    return relative(ms, now);
  }
}

/** A `<time>` for a status page time: the locale's date and time, and how long ago; the page's text when it is not a time. */
function when(text, ms) {
  if (ms == null) return el('span', {}, text);
  return el('time', { datetime: new Date(ms).toISOString(), title: text }, `${dateTime(ms)} (${ago(ms)})`);
}

const words = (status) => (status ? STAGE[status]?.() ?? status.charAt(0).toUpperCase() + status.slice(1).replaceAll('_', ' ') : '');

/** One ongoing incident (or maintenance): its name, stage, start, affected components and latest update. */
function renderIncident(i, label) {
  const began = i.began ? el('p', { class: 'small began' }, `${words(i.status)}${i.status ? ' · ' : ''}`, ...around('popup_began', when(i.began, i.began_ms))) : null;
  const update = i.latest_update;
  return el('div', { class: 'incident', 'data-id': i.id ?? '', 'data-level': i.level ?? '' },
    el('p', { class: 'incident-name' }, label(i.name)),
    began,
    i.components?.length ? el('p', { class: 'small' }, t('popup_affects', list(i.components))) : null,
    update ? el('blockquote', { class: 'update' }, el('p', {}, update.text),
      update.at ? el('p', { class: 'small' }, ...around('popup_updated', when(update.at, update.at_ms))) : null) : null);
}

function renderStatusPage(s) {
  const box = document.getElementById('status-page');
  if (!s) {
    box.replaceChildren(el('p', { class: 'empty' }, t('popup_not_checked')));
    return;
  }
  const parts = [];
  const r = s.report;
  if (r) {
    parts.push(el('p', { 'data-level': r.level }, levelName(r.level)));
    // A report of an earlier version has only the incidents' names.
    const ongoing = r.ongoing ?? r.incidents.map((name) => ({ name }));
    for (const i of ongoing) parts.push(renderIncident(i, (name) => t('popup_incident', name)));
    for (const m of r.maintenances ?? []) parts.push(renderIncident(m, (name) => t('popup_maintenance', name)));
    for (const [name, state] of r.affected_components) parts.push(el('p', { class: 'small' }, `${name}: ${COMPONENT[state]?.() ?? state.replaceAll('_', ' ')}`));
    for (const o of r.other_services ?? []) {
      const other = o.services.length ? t('popup_not_chatgpt_services', list(o.services), o.name) : t('popup_not_chatgpt', o.name);
      parts.push(el('p', { class: 'small other' }, other));
    }
    const checked = s.source === 'statuspage' ? t('popup_checked_statuspage', hm(s.ok_at)) : t('popup_checked', hm(s.ok_at));
    if (s.ok_at) parts.push(el('p', { class: 'small' }, checked));
  }
  if (s.error) parts.push(el('p', { class: 'small error' }, tp('popup_status_unread', s.errors, s.error)));
  box.replaceChildren(...parts);
}

function renderTimeline(items) {
  const list = document.getElementById('timeline');
  if (!items.length) return empty(list, t('popup_nothing_failed_yet'));
  list.replaceChildren(...items.slice().reverse().slice(0, 20).map((e) => el('li', { 'data-kind': e.kind, 'data-type': e.type },
    el('span', { class: 'kind' }, `${hm(e.at, true)} ${e.type === 'raised' ? kindWords(e.kind, e.retry_at) : t('popup_recovered', kindName(e.kind))}`),
    e.evidence ? el('div', { class: 'small' }, t('popup_evidence', signalName(e.signal), e.evidence)) : null)));
}

const SIGNAL = {
  dom: () => t('popup_signal_dom'),
  network: () => t('popup_signal_network'),
  stall: () => t('popup_signal_stall'),
  status_page: () => t('popup_signal_status_page'),
};
const signalName = (signal) => SIGNAL[signal]?.() ?? String(signal);

// ---- quick switches ----

const AUTO_WORDS = {
  service_down: () => t('popup_auto_service_down'),
  capacity: () => t('popup_auto_capacity'),
  generation_error: () => t('popup_auto_generation_error'),
  network_error: () => t('popup_auto_network_error'),
  rate_limited: () => t('popup_auto_rate_limited'),
  conversation_unavailable: () => t('popup_auto_conversation_unavailable'),
  unknown_error: () => t('popup_auto_unknown_error'),
};
const LOCKED = () => t('popup_locked');
let settingsView = null; // {settings, locks} as the worker last answered
const fieldLocked = (path) => (settingsView?.locks?.fields ?? []).some((f) => path === f || path.startsWith(`${f}.`));
const isPaused = () => settingsView?.settings?.paused === true;

function autoKinds(auto) {
  const on = Object.keys(AUTO_WORDS).filter((k) => auto?.[k] === true);
  return on.length ? on : ['service_down', 'capacity']; // what turning it on chooses when none is
}

function renderSwitches() {
  const s = settingsView?.settings ?? {};
  const pause = document.getElementById('pause');
  const auto = document.getElementById('auto');
  const pauseLocked = fieldLocked('paused');
  const autoLocked = fieldLocked('auto_mode.enabled');
  pause.checked = s.paused === true;
  pause.disabled = !settingsView || pauseLocked;
  pause.parentElement.dataset.locked = String(pauseLocked);
  document.getElementById('pause-note').textContent = pauseLocked ? LOCKED() : t('popup_pause_note');
  auto.checked = s.auto_mode?.enabled === true;
  auto.disabled = !settingsView || autoLocked;
  auto.parentElement.dataset.locked = String(autoLocked);
  const words = list(autoKinds(s.auto_mode).map((k) => AUTO_WORDS[k]()));
  const note = auto.checked ? t('popup_auto_on', words) : t('popup_auto_off', words);
  document.getElementById('auto-note').textContent = autoLocked ? `${note} ${LOCKED()}` : note;
}

function switchError(text) {
  const box = document.getElementById('switch-error');
  box.textContent = text;
  box.hidden = !text;
}

async function loadSwitches() {
  const reply = await ext.runtime.sendMessage({ type: 'settings.get' });
  if (!reply?.ok) throw new Error(reply?.error ?? t('popup_no_answer_extension'));
  settingsView = reply.value;
  renderSwitches();
}

async function flip(change) {
  switchError('');
  const reply = await ext.runtime.sendMessage({ type: 'settings.quick', ...change }).catch((e) => ({ ok: false, error: String(e?.message ?? e) }));
  if (!reply?.ok) switchError(t('popup_not_changed', reply?.error ?? t('popup_no_answer')));
  else if (!reply.value.saved) switchError(t('popup_not_changed', reply.value.error?.message ?? t('popup_refused')));
  else settingsView = reply.value.view;
  renderSwitches();
  await refresh().catch(() => {});
}

document.getElementById('pause').addEventListener('change', (e) => flip({ paused: e.target.checked }));
document.getElementById('auto').addEventListener('change', (e) => flip({ auto: e.target.checked }));

function summary(tabs, activeId, page) {
  if (isPaused()) return t('popup_summary_paused');
  const mine = tabs.find((x) => x.tab === activeId);
  const failing = mine?.current ?? tabs.find((x) => x.current)?.current;
  if (failing) return t('popup_summary_failing', kindWords(failing.kind, failing.retry_at));
  const level = page?.report?.level;
  if (level && level !== 'operational') return t('popup_summary_status_page', levelName(level));
  return t('popup_summary_ok');
}

async function refresh() {
  const [reply, active] = await Promise.all([
    ext.runtime.sendMessage({ type: 'detect.state' }),
    ext.tabs.query({ active: true, currentWindow: true }).catch(() => []),
  ]);
  if (!reply?.ok) throw new Error(reply?.error ?? t('popup_no_answer_extension'));
  const { tabs, status: page, statuses, timeline } = reply.value;
  const activeId = active[0]?.id;
  status.textContent = summary(tabs, activeId, page);
  status.classList.toggle('error', !isPaused() && tabs.some((x) => x.current));
  status.dataset.paused = String(isPaused());
  renderTabs(tabs, activeId, statuses ?? {});
  renderStatusPage(page);
  renderTimeline(timeline);
}

try {
  await init({ module_or_path: new URL('../pkg/understudy_pages_bg.wasm', import.meta.url) });
  await loadSwitches().catch((e) => switchError(t('popup_switches_unavailable', e?.message ?? e)));
  await refresh();
  // Shown once everything is filled in (tests and the demo wait for it).
  document.getElementById('version').textContent = t('popup_core', coreVersion());
  document.body.dataset.ready = 'true';
  ext.storage.onChanged.addListener((changes, area) => {
    if (area === 'session') refresh().catch(() => {});
    if ((area === 'local' && changes.settings) || area === 'managed') loadSwitches().then(() => refresh()).catch(() => {});
  });
} catch (error) {
  status.textContent = t('popup_could_not_start', error?.message ?? error);
  status.classList.add('error');
}
