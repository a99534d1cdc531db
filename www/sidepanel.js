// Side panel: a small chat that streams answers from the alternative providers through the service
// worker (port 'understudy-ask'). Answers are Markdown, rendered by the core and built as DOM nodes
// by markdown.js (never HTML); while an answer streams only its tail is rebuilt, once per frame.
// A conversation handed over by the in-page rescue or the library is continued as a branch of the
// cached conversation: every ask carries `branch: {conversation_id, parent}` and the worker keeps
// the answer there (its `saved` message names the node the next follow-up extends). Answers kept
// that way show "answered by <provider>".
import '../i18n.js';
import init, * as core from '../pkg/understudy_pages.js';
import { openCache } from './library-db.js';
import { renderMarkdownInto } from './markdown.js';
import { hasSidebar } from '../api.js';
import '../i18n.js';

const { t, tp, localize, lang, number } = globalThis.understudyI18n;
const ext = globalThis.browser ?? globalThis.chrome;
const $ = (id) => document.getElementById(id);
document.documentElement.lang = lang();
localize(document);
const status = $('status');
const answer = $('answer');
const errorBox = $('error');
const promptBox = $('prompt');
const sendButton = $('send');
const stopButton = $('stop');
const continueButton = $('continue');
const decisions = $('decisions');
const decisionsCount = $('decisions-count');
const history = $('history');

/** The conversation so far: [{role, content}]. */
const turns = [];
/** The request on screen: {id, prompt, text, provider, state}. */
let current = null;
/** Where answers are kept in the cache: {conversation_id, parent} or null (a chat of its own). */
let branch = null;
/** The ask id of the answer the handed-over conversation ends with (its decisions are shown). */
let lastAnswerKey = null;
let ping = null;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  node.append(...children.map((c) => (typeof c === 'string' ? document.createTextNode(c) : c)));
  return node;
}

function setState(state) {
  answer.dataset.state = state;
  answer.setAttribute('aria-busy', String(state === 'streaming'));
  stopButton.disabled = state !== 'streaming';
  sendButton.disabled = state === 'streaming';
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

function label(provider) {
  return chainLabels.get(provider) ?? provider ?? '';
}

const chainLabels = new Map();
async function renderChain() {
  const reply = await ext.runtime.sendMessage({ type: 'providers.chain' });
  const list = $('chain');
  list.replaceChildren();
  if (!reply?.ok) {
    list.append(el('li', { class: 'error' }, t('sidepanel_chain_error', reply?.error ?? t('sidepanel_no_answer'))));
    return;
  }
  if (reply.value.length === 0) list.append(el('li', {}, t('sidepanel_chain_empty')));
  for (const p of reply.value) {
    chainLabels.set(p.id, p.label);
    const a = p.availability?.kind ?? 'available';
    const tag = a === 'open' ? t('sidepanel_tag_open') : a === 'misconfigured' ? t('sidepanel_tag_misconfigured') : a === 'probe' ? t('sidepanel_tag_probe') : '';
    list.append(el('li', { dataset: { provider: p.id, availability: a } }, p.label, ...(tag ? [el('span', { class: 'tag' }, tag)] : [])));
  }
}

function describeDecision(d) {
  const o = d.outcome ?? {};
  const who = label(d.provider);
  const reason = () => o.reason?.kind?.replace('_', ' ');
  switch (o.kind) {
    case 'started': return o.continue_partial ? t('sidepanel_d_started_partial', who, d.attempt) : t('sidepanel_d_started', who, d.attempt);
    case 'first_byte': return t('sidepanel_d_first_byte', who, number(d.elapsed_ms));
    case 'completed': return t('sidepanel_d_completed', who);
    case 'failed': return t('sidepanel_d_failed', who, o.class);
    case 'timeout': return o.reason === 'stalled' ? t('sidepanel_d_stalled', who) : t('sidepanel_d_no_first_byte', who);
    case 'skipped': return t('sidepanel_d_skipped', who, reason());
    case 'tried_anyway': return t('sidepanel_d_tried_anyway', who, reason());
    case 'retry_scheduled': return o.server_retry_after ? t('sidepanel_d_retry_server', who, number(o.wait_ms)) : t('sidepanel_d_retry', who, number(o.wait_ms));
    case 'switched': return t('sidepanel_d_switched', who, label(o.to));
    case 'breaker_opened': return t('sidepanel_d_breaker', who);
    case 'marked_misconfigured': return t('sidepanel_d_misconfigured', who);
    case 'gave_up': return t('sidepanel_d_gave_up');
    case 'cancelled': return t('sidepanel_d_cancelled');
    default: return t('sidepanel_d_other', who, o.kind ?? 'event');
  }
}

function addDecision(d) {
  decisions.append(el('li', { dataset: { kind: d.outcome?.kind ?? '' } }, describeDecision(d)));
  decisionsCount.textContent = `(${number(decisions.children.length)})`;
}

/** One turn of the history; `by` marks an answer kept by Understudy ("answered by <provider>"). */
function historyItem(role, text, by = null, who = null, rendered = null) {
  const head = role === 'user' ? t('sidepanel_you') : by ? t('sidepanel_answer') : who ?? t('sidepanel_answer');
  let body = text;
  if (role !== 'user') {
    body = el('div', { class: 'body understudy-markdown' });
    // The answer on screen is already rendered: its nodes move; anything else is rendered here.
    if (rendered) body.append(...rendered);
    else renderMarkdownInto(body, text);
  }
  const item = el('li', role === 'user' ? { class: 'user' } : {}, el('span', { class: 'who' }, head), body);
  if (by) item.firstChild.append(' · ', el('span', { class: 'answered-by', 'data-testid': 'understudy-answered-by' }, t('sidepanel_answered_by', by)));
  return item;
}

/** Moves the answer on screen into the history list. */
function archiveCurrent() {
  if (!current || current.archived) return;
  current.archived = true;
  history.append(historyItem('user', current.prompt));
  if (!current.text) return;
  const shown = answer.dataset.request === String(current.id) ? [...answer.childNodes] : null;
  history.append(historyItem('assistant', current.text, current.saved ? label(current.provider) : null, label(current.provider), shown));
}

function ask({ prompt, partial = '' }) {
  if (current?.state === 'streaming') return;
  if (current?.state === 'done' && !current.archived) archiveCurrent();
  answer.replaceChildren();
  paint(partial, true);
  answer.dataset.provider = '';
  delete answer.dataset.outcome;
  decisions.replaceChildren();
  decisionsCount.textContent = '';
  showError('');
  continueButton.hidden = true;
  answer.dataset.request = String(Number(answer.dataset.request ?? 0) + 1);
  const port = connection();
  const me = { id: ++asked, port, prompt, text: partial, provider: null, state: 'streaming', archived: false, conversation: turns.slice() };
  current = me;
  setState('streaming');
  clearInterval(ping);
  ping = setInterval(() => me.state === 'streaming' && send({ type: 'ping' }), 15_000);
  send({ type: 'ask', id: me.id, conversation: me.conversation, prompt, partial, ...(branch ? { branch } : {}) });
  status.textContent = t('sidepanel_asking');
}

/** Shows `text` as the answer: streaming frames rebuild only the tail of the rendered Markdown. */
function paint(text, streaming) {
  renderMarkdownInto(answer, text, { streaming });
}

/** Later tokens are painted once per frame; the first one at once. */
let frame = 0;
function schedule(me) {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    if (current === me && me.state === 'streaming') paint(me.text, true);
  });
}

function end(me, state) {
  me.state = state;
  clearInterval(ping);
  if (frame) cancelAnimationFrame(frame);
  frame = 0;
  paint(me.text, false);
  setState(state);
}

// One port for the panel's life (opened at load, reopened after the worker stopped): each ask is
// one message on it, so asking costs no connection setup. Every answer message carries its ask's id.
let port = null;
let asked = 0;

function connection() {
  if (port) return port;
  port = ext.runtime.connect({ name: 'understudy-ask' });
  port.onMessage.addListener(onMessage);
  port.onDisconnect.addListener(() => {
    port = null;
    const me = current;
    if (me && me.state === 'streaming') {
      end(me, 'error');
      answer.dataset.errorClass = 'interrupted';
      showError(t('sidepanel_worker_stopped'));
      continueButton.hidden = !me.text;
    }
  });
  return port;
}

function send(message) {
  try {
    connection().postMessage(message);
  } catch {
    port = null;
    connection().postMessage(message);
  }
}

function onMessage(m) {
  if (m.type === 'saved') {
    // The answer is in the cache: the next follow-up extends the branch from it.
    const me = [current].find((c) => c && c.id === m.id);
    if (me && typeof m.conversation_id === 'string' && branch) {
      branch = { conversation_id: m.conversation_id, parent: m.node };
      me.saved = true;
      answer.dataset.saved = 'true';
    }
    return;
  }
  const me = current;
  if (!me || m.id !== me.id || me.state !== 'streaming') return;
  if (m.type === 'delta') {
    if (me.provider !== m.provider) {
      me.provider = m.provider;
      answer.dataset.provider = m.provider;
    }
    const first = me.text === '';
    me.text += m.text;
    if (first) paint(me.text, true);
    else schedule(me);
  } else if (m.type === 'decision') {
    addDecision(m);
  } else if (m.type === 'notice') {
    decisions.append(el('li', { dataset: { kind: 'notice' } }, `${label(m.provider)}: ${m.text}`));
    decisionsCount.textContent = `(${number(decisions.children.length)})`;
  } else if (m.type === 'done') {
    end(me, 'done');
    answer.dataset.outcome = m.outcome;
    if (m.provider) answer.dataset.provider = m.provider;
    if (m.outcome === 'cancelled') {
      status.textContent = me.text ? t('sidepanel_stopped_partial') : t('sidepanel_stopped');
      continueButton.hidden = !me.text;
    } else {
      turns.push({ role: 'user', content: me.prompt }, { role: 'assistant', content: me.text });
      promptBox.value = '';
      status.textContent = m.outcome === 'length' ? t('sidepanel_answered_cut', label(m.provider)) : t('sidepanel_answered', label(m.provider));
    }
  } else if (m.type === 'error') {
    end(me, 'error');
    answer.dataset.errorClass = m.class ?? '';
    const said = /[.!?]$/.test(m.message.trim()) ? m.message.trim() : `${m.message.trim()}.`;
    showError(`${said}${me.text ? ` ${t('sidepanel_partial_kept')}` : ''} ${t('sidepanel_try_again')}`);
    continueButton.hidden = !me.text;
    status.textContent = t('sidepanel_no_answer_status');
  }
}

document.getElementById('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const prompt = promptBox.value.trim();
  if (!prompt) {
    promptBox.focus();
    return;
  }
  ask({ prompt });
});

promptBox.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    document.getElementById('composer').requestSubmit();
  }
});

stopButton.addEventListener('click', () => {
  if (current?.state === 'streaming') send({ type: 'stop', id: current.id });
});

continueButton.addEventListener('click', () => {
  const prev = current;
  if (!prev || prev.state === 'streaming') return;
  ask({ prompt: prev.prompt, partial: prev.text });
});

/** The router's decisions for the answer a handed-over conversation ends with (while this browser
 * session still has them), shown discreetly in "What happened". */
async function showPastDecisions(key) {
  if (!key) return;
  const reply = await ext.runtime.sendMessage({ type: 'providers.timeline' }).catch(() => null);
  const past = reply?.ok ? reply.value.filter((d) => d.request === key) : [];
  for (const d of past) addDecision(d);
  if (past.length) $('decisions-box').dataset.past = 'true';
}

async function restoreInterrupted() {
  const reply = await ext.runtime.sendMessage({ type: 'providers.last' });
  const last = reply?.ok ? reply.value : null;
  if (!last || last.state !== 'streaming' || !last.text) return;
  // An answer that was streaming when the worker or this panel stopped: show it, offer to continue.
  answer.replaceChildren();
  paint(last.text, false);
  answer.dataset.provider = last.provider ?? '';
  setState('error');
  answer.dataset.errorClass = 'interrupted';
  current = { prompt: last.prompt, text: last.text, provider: last.provider, state: 'error', archived: false };
  turns.push(...(last.conversation ?? []));
  promptBox.value = last.prompt;
  showError(t('sidepanel_interrupted'));
  continueButton.hidden = false;
}

/**
 * A conversation handed over by the in-page rescue ("Continue in side panel") or the library
 * ("Continue with another provider"): its turns become this chat's history, read from the cache
 * when only its id was handed over.
 */
async function restoreHandoff() {
  const params = new URLSearchParams(location.search);
  const panel = (await ext.storage.session.get('rescue.panel'))['rescue.panel'] ?? {};
  if (!params.has('c') && params.get('from') !== 'rescue') {
    // Firefox's sidebar opens on its default page: a handover stored just now is its own.
    if (inSidebar && Date.now() - (panel.at ?? 0) < HANDOVER_FRESH_MS) location.replace(handoverUrl(panel));
    return;
  }
  let conversation = Array.isArray(panel.conversation) ? panel.conversation : [];
  let title = '';
  const id = params.get('c') || panel.conversation_id;
  if (conversation.length === 0 && id) {
    const db = await openCache(core);
    const json = await db.getJson(id);
    if (!json) {
      showError(t('sidepanel_gone'));
      return;
    }
    // The line up to where the conversation last went (a rescued branch when it is the newest),
    // rescued answers marked; follow-ups extend it.
    const view = core.cacheView(json);
    title = view.title;
    conversation = view.tip_turns;
    branch = view.tip ? { conversation_id: id, parent: view.tip } : { conversation_id: id, parent: null };
    lastAnswerKey = /^understudy-(.+)-answer$/.exec(view.tip ?? '')?.[1] ?? null;
  } else if (panel.branch?.conversation_id) {
    branch = { conversation_id: panel.branch.conversation_id, parent: panel.branch.parent ?? null };
    lastAnswerKey = /^understudy-(.+)-answer$/.exec(panel.branch.parent ?? '')?.[1] ?? null;
  }
  // The page's transcript ends with the failed turn (its prompt, an empty answer): the handover's
  // prompt and answer below take its place.
  const failed = conversation.findLastIndex((t) => t?.role === 'user');
  if (panel.prompt && !params.has('c') && failed >= 0 && conversation[failed].content === panel.prompt && conversation.slice(failed + 1).every((t) => !String(t?.content ?? '').trim())) {
    conversation = conversation.slice(0, failed);
  }
  for (const turn of conversation) {
    if (typeof turn?.content !== 'string') continue;
    turns.push({ role: turn.role === 'assistant' ? 'assistant' : 'user', content: turn.content });
    history.append(historyItem(turn.role === 'assistant' ? 'assistant' : 'user', turn.content, turn.answered_by ?? null, turn.answered_by ?? null));
  }
  if (typeof panel.prompt === 'string' && panel.prompt && !params.has('c')) {
    if (panel.text) {
      turns.push({ role: 'user', content: panel.prompt }, { role: 'assistant', content: panel.text });
      history.append(historyItem('user', panel.prompt));
      history.append(historyItem('assistant', panel.text, panel.branch ? label(panel.provider) : null, label(panel.provider)));
    } else {
      promptBox.value = panel.prompt;
    }
  }
  document.body.dataset.handoff = String(turns.length);
  if (panel.selection === true && !params.has('c')) {
    // Text selected in a page ("Ask another model", sw/commands.js): the prompt, not yet sent.
    status.textContent = globalThis.understudyI18n.t('store_panel_selection');
    return;
  }
  await showPastDecisions(lastAnswerKey);
  status.textContent = title ? tp('sidepanel_continuing_titled', turns.length, title) : tp('sidepanel_continuing', turns.length);
}

// Firefox's sidebar opens on its default page (sidebarAction.open takes no page), often before the
// worker has stored the handover: one that arrives while the sidebar shows is loaded as Chrome's
// side panel is, with the page's `?from=rescue` or `?c=<id>`.
const HANDOVER_FRESH_MS = 10_000;
const inSidebar = hasSidebar && (ext.extension?.getViews?.({ type: 'sidebar' }) ?? []).includes(window);
function handoverUrl(panel) {
  return panel.conversation_id ? `sidepanel.html?c=${encodeURIComponent(panel.conversation_id)}` : 'sidepanel.html?from=rescue';
}
if (inSidebar) {
  ext.storage.onChanged.addListener((changes, area) => {
    const panel = area === 'session' ? changes['rescue.panel']?.newValue : null;
    if (panel?.at) location.replace(handoverUrl(panel));
  });
}

try {
  await init({ module_or_path: new URL('../pkg/understudy_pages_bg.wasm', import.meta.url) });
  status.textContent = t('sidepanel_ready', core.coreVersion());
  await renderChain();
  await restoreInterrupted();
  await restoreHandoff();
  connection(); // wakes the worker now, so the first ask is as quick as the next
  document.body.dataset.ready = 'true';
  ext.storage.onChanged.addListener((changes, area) => {
    if ((area === 'local' && changes.settings) || (area === 'session' && changes['providers.health'])) renderChain().catch(() => {});
  });
} catch (error) {
  status.textContent = t('sidepanel_start_failed', error?.message ?? error);
  status.classList.add('error');
}
