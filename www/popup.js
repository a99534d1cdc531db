// Popup: ChatGPT's state as Understudy sees it (page signals per chat tab, the public status page) and
// the recent detection timeline, and two quick switches (pause, auto mode) written through the
// worker's settings API (settings.quick), so validation and the managed policy apply. Thin glue: the
// worker keeps the state; the page builds DOM nodes only.
import init, { coreVersion } from '../pkg/understudy_pages.js';

const ext = globalThis.browser ?? globalThis.chrome;
const status = document.getElementById('status');

const KIND = {
  healthy: 'Working normally',
  generation_error: 'An answer failed',
  network_error: 'The connection broke off',
  rate_limited: 'Rate-limited',
  capacity: 'At capacity',
  service_down: 'Down',
  blocked: 'Sign-in or verification needed (not an outage)',
  conversation_unavailable: 'A conversation cannot be loaded',
  unknown_error: 'An error Understudy does not recognise',
  refused: 'An answer withheld by the content policy',
  conversation_too_long: 'The conversation is too long for ChatGPT',
};
const LEVEL = {
  operational: 'All ChatGPT components operational.',
  degraded: 'Degraded performance reported.',
  partial_outage: 'Partial outage reported.',
  major_outage: 'Major outage reported.',
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) if (c != null) node.append(c);
  return node;
}

const hm = (ms, seconds = false) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}), hour12: false });

function kindWords(kind, retryAt) {
  const words = KIND[kind] ?? kind;
  return kind === 'rate_limited' && retryAt ? `${words} until ${hm(retryAt)}` : words;
}

function empty(list, text) {
  list.replaceChildren(el('li', { class: 'empty' }, text));
}

function renderTabs(tabs, activeId) {
  const list = document.getElementById('tabs');
  if (!tabs.length) return empty(list, 'No ChatGPT tab is open.');
  list.replaceChildren(...tabs.map((t) => {
    const d = t.current;
    const where = t.conversation_id ? `conversation ${t.conversation_id.slice(0, 8)}` : new URL(t.url).pathname;
    return el('li', { 'data-kind': d?.kind ?? 'healthy', 'data-tab': String(t.tab) },
      el('span', { class: `kind ${d ? 'bad' : 'good'}` }, kindWords(d?.kind ?? 'healthy', d?.retry_at)),
      el('div', { class: 'small' }, `${t.tab === activeId ? 'This tab' : 'Tab'}: ${where}`),
      d ? el('div', { class: 'small' }, `Since ${hm(d.since_ms)}. Seen: ${d.evidence.text}`) : null);
  }));
}

// Times on the status page, in the user's locale: the date and time, and how long ago.
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const UNITS = [['day', 86_400_000], ['hour', 3_600_000], ['minute', 60_000]];

function ago(ms, now = Date.now()) {
  const diff = ms - now;
  const [unit, size] = UNITS.find(([, size]) => Math.abs(diff) >= size) ?? ['minute', 60_000];
  return relative.format(Math.round(diff / size), unit);
}

/** A `<time>` for a status page time: the locale's date and time, and how long ago; the page's text when it is not a time. */
function when(text, ms) {
  if (ms == null) return el('span', {}, text);
  return el('time', { datetime: new Date(ms).toISOString(), title: text }, `${dateTime.format(ms)} (${ago(ms)})`);
}

const words = (status) => (status ? status.charAt(0).toUpperCase() + status.slice(1).replaceAll('_', ' ') : '');

/** One ongoing incident (or maintenance): its name, stage, start, affected components and latest update. */
function renderIncident(i, label) {
  const began = i.began ? el('p', { class: 'small began' }, `${words(i.status)}${i.status ? ' · ' : ''}began `, when(i.began, i.began_ms)) : null;
  const update = i.latest_update;
  return el('div', { class: 'incident', 'data-id': i.id ?? '', 'data-level': i.level ?? '' },
    el('p', { class: 'incident-name' }, `${label}: ${i.name}`),
    began,
    i.components?.length ? el('p', { class: 'small' }, `Affects ${i.components.join(', ')}`) : null,
    update ? el('blockquote', { class: 'update' }, el('p', {}, update.text),
      update.at ? el('p', { class: 'small' }, 'Updated ', when(update.at, update.at_ms)) : null) : null);
}

function renderStatusPage(s) {
  const box = document.getElementById('status-page');
  if (!s) {
    box.replaceChildren(el('p', { class: 'empty' }, 'Not checked yet. It is checked every few minutes while a ChatGPT tab is open.'));
    return;
  }
  const parts = [];
  const r = s.report;
  if (r) {
    parts.push(el('p', { 'data-level': r.level }, LEVEL[r.level] ?? r.level));
    // A report of an earlier version has only the incidents' names.
    const ongoing = r.ongoing ?? r.incidents.map((name) => ({ name }));
    for (const i of ongoing) parts.push(renderIncident(i, 'Incident'));
    for (const m of r.maintenances ?? []) parts.push(renderIncident(m, 'Maintenance'));
    for (const [name, state] of r.affected_components) parts.push(el('p', { class: 'small' }, `${name}: ${state.replaceAll('_', ' ')}`));
    for (const o of r.other_services ?? []) {
      const whose = o.services.length ? ` (${o.services.join(', ')})` : '';
      parts.push(el('p', { class: 'small other' }, `Not ChatGPT${whose}: ${o.name}`));
    }
    const from = s.source === 'statuspage' ? ' from the Statuspage summary' : '';
    if (s.ok_at) parts.push(el('p', { class: 'small' }, `Checked at ${hm(s.ok_at)}${from}.`));
  }
  if (s.error) parts.push(el('p', { class: 'small error' }, `The status page could not be read (${s.errors} in a row): ${s.error}`));
  box.replaceChildren(...parts);
}

function renderTimeline(items) {
  const list = document.getElementById('timeline');
  if (!items.length) return empty(list, 'Nothing has failed yet.');
  list.replaceChildren(...items.slice().reverse().slice(0, 20).map((e) => el('li', { 'data-kind': e.kind, 'data-type': e.type },
    el('span', { class: 'kind' }, `${hm(e.at, true)} ${e.type === 'raised' ? kindWords(e.kind, e.retry_at) : `Recovered from: ${KIND[e.kind] ?? e.kind}`}`),
    e.evidence ? el('div', { class: 'small' }, `${e.signal}: ${e.evidence}`) : null)));
}

// ---- quick switches ----

const AUTO_WORDS = {
  service_down: 'ChatGPT down', capacity: 'at capacity', generation_error: 'a failed answer', network_error: 'a broken connection',
  rate_limited: 'rate limits', conversation_unavailable: 'a conversation that cannot load', unknown_error: 'unrecognised errors',
};
const LOCKED = 'Set by your organisation: it cannot be changed here.';
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
  document.getElementById('pause-note').textContent = pauseLocked ? LOCKED
    : 'No notice actions and no automatic answers on chat pages while paused.';
  auto.checked = s.auto_mode?.enabled === true;
  auto.disabled = !settingsView || autoLocked;
  auto.parentElement.dataset.locked = String(autoLocked);
  const words = autoKinds(s.auto_mode).map((k) => AUTO_WORDS[k]).join(', ');
  document.getElementById('auto-note').textContent = `${auto.checked ? 'Carries on elsewhere without asking on' : 'When on, carries on elsewhere without asking on'}: ${words}. Choose the kinds in Settings.${autoLocked ? ` ${LOCKED}` : ''}`;
}

function switchError(text) {
  const box = document.getElementById('switch-error');
  box.textContent = text;
  box.hidden = !text;
}

async function loadSwitches() {
  const reply = await ext.runtime.sendMessage({ type: 'settings.get' });
  if (!reply?.ok) throw new Error(reply?.error ?? 'no answer from the extension');
  settingsView = reply.value;
  renderSwitches();
}

async function flip(change) {
  switchError('');
  const reply = await ext.runtime.sendMessage({ type: 'settings.quick', ...change }).catch((e) => ({ ok: false, error: String(e?.message ?? e) }));
  if (!reply?.ok) switchError(`Not changed: ${reply?.error ?? 'no answer'}`);
  else if (!reply.value.saved) switchError(`Not changed: ${reply.value.error?.message ?? 'refused'}`);
  else settingsView = reply.value.view;
  renderSwitches();
  await refresh().catch(() => {});
}

document.getElementById('pause').addEventListener('change', (e) => flip({ paused: e.target.checked }));
document.getElementById('auto').addEventListener('change', (e) => flip({ auto: e.target.checked }));

function summary(tabs, activeId, page) {
  if (isPaused()) return 'Paused: Understudy does nothing on chat pages until you turn it back on.';
  const mine = tabs.find((t) => t.tab === activeId);
  const failing = mine?.current ?? tabs.find((t) => t.current)?.current;
  if (failing) return `ChatGPT: ${kindWords(failing.kind, failing.retry_at)}.`;
  const level = page?.report?.level;
  if (level && level !== 'operational') return `ChatGPT's status page: ${LEVEL[level]}`;
  return 'Watching ChatGPT. Nothing has failed.';
}

async function refresh() {
  const [reply, active] = await Promise.all([
    ext.runtime.sendMessage({ type: 'detect.state' }),
    ext.tabs.query({ active: true, currentWindow: true }).catch(() => []),
  ]);
  if (!reply?.ok) throw new Error(reply?.error ?? 'no answer from the extension');
  const { tabs, status: page, timeline } = reply.value;
  const activeId = active[0]?.id;
  status.textContent = summary(tabs, activeId, page);
  status.classList.toggle('error', !isPaused() && tabs.some((t) => t.current));
  status.dataset.paused = String(isPaused());
  renderTabs(tabs, activeId);
  renderStatusPage(page);
  renderTimeline(timeline);
}

try {
  await init({ module_or_path: new URL('../pkg/understudy_pages_bg.wasm', import.meta.url) });
  await loadSwitches().catch((e) => switchError(`The switches are not available: ${e?.message ?? e}`));
  await refresh();
  // Shown once everything is filled in (tests and the demo wait for it).
  document.getElementById('version').textContent = `Core ${coreVersion()}`;
  document.body.dataset.ready = 'true';
  ext.storage.onChanged.addListener((changes, area) => {
    if (area === 'session') refresh().catch(() => {});
    if ((area === 'local' && changes.settings) || area === 'managed') loadSwitches().then(() => refresh()).catch(() => {});
  });
} catch (error) {
  status.textContent = `Understudy could not start: ${error?.message ?? error}`;
  status.classList.add('error');
}
