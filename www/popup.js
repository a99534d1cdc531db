// Popup: ChatGPT's state as Understudy sees it (page signals per chat tab, the public status page) and
// the recent detection timeline. Thin glue: the worker keeps the state; the page builds DOM nodes only.
import init, { coreVersion } from '../pkg/understudy.js';

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

function renderStatusPage(s) {
  const box = document.getElementById('status-page');
  if (!s) {
    box.replaceChildren(el('p', { class: 'empty' }, 'Not checked yet. It is checked every few minutes while a ChatGPT tab is open.'));
    return;
  }
  const parts = [];
  if (s.report) {
    parts.push(el('p', { 'data-level': s.report.level }, LEVEL[s.report.level] ?? s.report.level));
    for (const title of s.report.incidents) parts.push(el('p', { class: 'incident' }, `Incident: ${title}`));
    for (const [name, state] of s.report.affected_components) parts.push(el('p', { class: 'small' }, `${name}: ${state.replaceAll('_', ' ')}`));
    if (s.ok_at) parts.push(el('p', { class: 'small' }, `Checked at ${hm(s.ok_at)}.`));
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

function summary(tabs, activeId, page) {
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
  status.classList.toggle('error', tabs.some((t) => t.current));
  renderTabs(tabs, activeId);
  renderStatusPage(page);
  renderTimeline(timeline);
}

try {
  await init({ module_or_path: new URL('../pkg/understudy_bg.wasm', import.meta.url) });
  document.getElementById('version').textContent = `Core ${coreVersion()}`;
  await refresh();
  ext.storage.onChanged.addListener((_changes, area) => {
    if (area === 'session') refresh().catch(() => {});
  });
} catch (error) {
  status.textContent = `Understudy could not start: ${error?.message ?? error}`;
  status.classList.add('error');
}
