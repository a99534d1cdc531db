// The fake ChatGPT page: composer, turns, an answer streamed in delta encoding v1 (applied by the
// page itself), the handoff to the resume endpoint or the user's WebSocket, its own idle rule and
// resumes (with the recovery status), conversations loaded with the paged plural GET, and the error
// surfaces ChatGPT shows when its backend fails (the box in the turn, the alert above the composer,
// the rate-limit dialog, toasts), banners that are not failures, an error left in the history, the
// logged-out header. Only what the tests and the demo need. Its behaviour is set by the server when
// the page loads (see server.mjs).
import { createRenderer } from './render.js';
import { isAnswer, readResponse, readSocket, Turn } from './stream.js';

const config = JSON.parse(document.getElementById('fake-config').textContent || '{}');
const params = new URLSearchParams(location.search);
const thread = document.getElementById('thread');
const composer = document.getElementById('composer');
const input = document.getElementById('prompt-textarea');
const stop = document.getElementById('stop-button');
const older = document.getElementById('load-older');
const view = createRenderer(config.renderer, thread, { window: config.window });
const backend = ['backend-api', 'backend-anon', 'backend-alt'].includes(config.backend) ? config.backend : 'backend-api';
// `?quiet=1`: the page shows no error boxes of its own, so only the network reveals a failure.
const quiet = params.get('quiet') === '1';
const temporaryPage = params.get('temporary-chat') === 'true';

const ERRORS = {
  generic: 'Something went wrong. If this issue persists please contact us through our help center at help.openai.com.',
  network: 'A network error occurred. Please check your connection and try again. If this issue persists please contact us through our help center at help.openai.com.',
  resume: 'A network error occurred. Please check your connection and try again.',
  moderation: 'This content may violate our usage policies.',
  tooManyTitle: 'Too many requests',
  tooMany: "You're making requests too quickly. We've temporarily limited access to your conversations to protect our systems. Please wait a few minutes before trying again.",
};
const RETRY_STATUS = new Set([408, 409, 425, 429, 502, 504]);
const MAX_RESUMES = 12;
const SURFACES = new Set(['turn', 'alert', 'dialog', 'toast', 'surface-error']);
// The page's own rule: a read with no byte this long is given up and resumed (60 s on the real page).
const pageIdleMs = Number(config.pageIdleMs) > 0 ? Number(config.pageIdleMs) : 60000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The Stop control: only its aria-label on the 2026 page; `stop: 'testid'` adds the old test id.
if (config.stop === 'testid') stop.dataset.testid = 'stop-button';

// Logged out: the header offers to log in (and the page sends to backend-anon: see server.mjs).
if (config.loggedOut) {
  const header = document.createElement('header');
  header.id = 'page-header';
  const login = document.createElement('button');
  login.type = 'button';
  login.dataset.testid = 'login-button';
  login.textContent = 'Log in';
  const signup = document.createElement('button');
  signup.type = 'button';
  signup.dataset.testid = 'signup-button';
  signup.textContent = 'Sign up for free';
  header.append(login, signup);
  document.querySelector('main').prepend(header);
}

const entries = []; // every message shown: {role, id, text, error, state, view}
let conversationId = null;
let currentNode = null;
let cursor = null; // the plural GET's start cursor while older pages remain
const live = new Set(); // AbortControllers of the streams being read

function add(role, id, text) {
  const entry = { role, id, text, error: null, errorButton: 'retry', recovering: false, state: null, view: null };
  entries.push(entry);
  view.add(entry);
  return entry;
}

const update = (entry) => view.update(entry);

// ---- the error surfaces ----

const pageSurfaces = []; // the alerts and toasts of the latest send (a new send clears them)

function button(text, onClick, testid = null) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  if (testid) b.dataset.testid = testid;
  if (onClick) b.addEventListener('click', onClick);
  return b;
}

function paragraph(text) {
  const p = document.createElement('p');
  p.textContent = text;
  return p;
}

/** An element of the page outside the turns, kept until the next send (or its own button). */
function place(el, where) {
  if (where === 'body') document.body.append(el);
  else composer.before(el);
  pageSurfaces.push(el);
  return el;
}

function clearPageSurfaces() {
  for (const el of pageSurfaces.splice(0)) el.remove();
}

function toastRegion() {
  let region = document.getElementById('toast-region');
  if (!region) {
    region = document.createElement('div');
    region.id = 'toast-region';
    region.setAttribute('aria-live', 'polite');
    document.body.append(region);
  }
  return region;
}

/**
 * Shows a failure of `entry`'s send on a surface: `surface` ('turn' | 'alert' | 'dialog' | 'toast'
 * | 'surface-error'), `text`, `heading` (a dialog's title), `button` (the turn box's: 'retry' |
 * 'new-chat'), `prompt` (what Retry sends again). The page control `surface` (and `surfaceText`)
 * overrides where (and what). Nothing shows with ?quiet=1; the turn goes stale either way.
 */
function showFailure(entry, { surface = 'turn', text, heading = null, button: kind = 'retry', prompt = null }) {
  entry.state = entry.state === 'in_progress' ? 'in_progress' : null; // goes stale, as on the real page
  entry.recovering = false;
  update(entry);
  if (quiet) return;
  const forced = SURFACES.has(config.surface);
  const where = forced ? config.surface : surface;
  const words = typeof config.surfaceText === 'string' && config.surfaceText ? config.surfaceText : text;
  const title = forced && words !== text ? null : heading;
  const retry = () => {
    clearPageSurfaces();
    if (prompt) send(prompt);
  };
  if (where === 'turn') {
    entry.error = words;
    entry.errorButton = kind;
    update(entry);
  } else if (where === 'alert') {
    const aside = document.createElement('aside');
    aside.setAttribute('role', 'alert');
    aside.className = 'page-alert';
    aside.append(paragraph(words), button('Retry', retry));
    place(aside, 'composer');
  } else if (where === 'surface-error') {
    const aside = document.createElement('aside');
    aside.className = 'border-token-surface-error/15 bg-token-surface-error/5 rounded-2xl page-alert';
    aside.append(paragraph(words), button('Retry', retry));
    place(aside, 'composer');
  } else if (where === 'toast') {
    const toast = document.createElement('div');
    toast.dataset.testid = 'toast-error';
    toast.className = 'toast';
    toast.append(paragraph(words));
    toastRegion().append(toast);
    pageSurfaces.push(toast);
  } else if (where === 'dialog') {
    const dialog = document.createElement('div');
    dialog.setAttribute('role', 'dialog');
    dialog.setAttribute('aria-modal', 'true');
    dialog.className = 'dialog';
    if (title) {
      const h = document.createElement('h2');
      h.id = 'dialog-title';
      h.textContent = title;
      dialog.setAttribute('aria-labelledby', h.id);
      dialog.append(h);
    }
    dialog.append(paragraph(words), button('Got it', () => dialog.remove()));
    place(dialog, 'body');
  }
}

/** The body of a failed response: {text, code} from `detail` (a string, or {message, code}). */
function errorOf(bodyText) {
  try {
    const detail = JSON.parse(bodyText).detail;
    if (typeof detail === 'string') return { text: detail, code: null };
    if (typeof detail?.message === 'string') return { text: detail.message, code: typeof detail.code === 'string' ? detail.code : null };
  } catch {
    // not JSON: fall through
  }
  return { text: ERRORS.generic, code: null };
}

const errorText = (bodyText) => errorOf(bodyText).text;

/** A send answered with an HTTP error: the rate-limit dialog, "conversation too long", or the box in the turn. */
function sendFailed(entry, { status, text }, prompt) {
  const error = errorOf(text);
  if (status === 429) showFailure(entry, { surface: 'dialog', heading: ERRORS.tooManyTitle, text: ERRORS.tooMany, prompt });
  else if (error.code === 'conversation_too_large') showFailure(entry, { surface: 'turn', text: error.text, button: 'new-chat', prompt });
  else showFailure(entry, { surface: 'turn', text: error.text, prompt });
}

// ---- banners that are not failures, and the history ----

let bannerShown = false;
/** The `banner` control: shown above the composer once an answer streams, and left there. */
function showBanner() {
  if (bannerShown || typeof config.banner !== 'string' || !config.banner) return;
  bannerShown = true;
  const el = document.createElement('div');
  if (config.bannerRole === 'alert') el.setAttribute('role', 'alert');
  else el.dataset.testid = 'composer-banner';
  el.className = 'composer-banner';
  el.textContent = config.banner;
  composer.before(el);
}

/**
 * The `oldError` control: the chat's history, above the current turns: an earlier exchange whose
 * answer failed, then one that went well (so the error is upstream of the latest turn).
 */
function addHistory() {
  if (typeof config.oldError !== 'string' || !config.oldError) return;
  add('user', 'old-user-1', 'Can you summarise the article I pasted earlier?');
  const failed = add('assistant', 'old-assistant-1', '');
  failed.error = config.oldError;
  failed.errorButton = 'none';
  update(failed);
  add('user', 'old-user-2', 'Let me try again: summarise it in three points.');
  add('assistant', 'old-assistant-2', 'Here are the three points: cost, schedule and risk.');
}

function refreshStop() {
  stop.hidden = live.size === 0;
}

/**
 * POSTs `body` to `path` and reads the answer stream into `turn`; returns how it ended ('done' |
 * 'complete' | 'eof' | 'error' | 'idle' (no byte for pageIdleMs: the page aborted it) | 'broken' |
 * 'network' | 'stopped') or {status, text}.
 */
async function stream(path, body, turn) {
  const controller = new AbortController();
  live.add(controller);
  refreshStop();
  let idle = false;
  const opening = setTimeout(() => {
    idle = true;
    controller.abort(); // no response at all: the page gives up on it
  }, pageIdleMs);
  try {
    let response;
    try {
      response = await fetch(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
    } catch {
      return idle ? 'idle' : controller.signal.aborted ? 'stopped' : 'network';
    } finally {
      clearTimeout(opening);
    }
    if (!response.ok) return { status: response.status, text: await response.text() };
    const how = await readResponse(response, turn, { controller, abortAfter: config.abortAfter, idleMs: pageIdleMs });
    return how === 'broken' && controller.signal.aborted ? 'stopped' : how;
  } finally {
    live.delete(controller);
    refreshStop();
  }
}

function adopt(id) {
  if (conversationId) return;
  conversationId = id;
  if (config.pushUrl && !temporaryPage && location.pathname === '/') history.replaceState(null, '', `/c/${id}`);
}

function sendBody(prompt, userId) {
  return {
    action: 'next',
    messages: [{
      id: userId, author: { role: 'user' }, create_time: Date.now() / 1000,
      content: { content_type: 'text', parts: [prompt] },
      metadata: { selected_github_repos: [], serialization_metadata: { custom_symbol_offsets: [] } },
    }],
    ...(conversationId ? { conversation_id: conversationId } : {}),
    parent_message_id: currentNode ?? 'client-created-root',
    model: config.model || 'gpt-5-6',
    timezone_offset_min: new Date().getTimezoneOffset(),
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    conversation_mode: { kind: 'primary_assistant' },
    enable_message_followups: true,
    system_hints: [],
    supports_buffering: true,
    supported_encodings: ['v1'],
    client_contextual_info: { is_dark_mode: false, time_since_loaded: Math.round(performance.now() / 1000), page_height: innerHeight, page_width: innerWidth, pixel_ratio: devicePixelRatio, screen_height: screen.height, screen_width: screen.width },
    paragen_cot_summary_display_override: 'allow',
    force_parallel_switch: 'auto',
    ...(config.sendHistoryDisabled ? { history_and_training_disabled: true } : {}),
    is_do_not_remember: temporaryPage || !!config.sendDoNotRemember,
  };
}

async function send(prompt) {
  clearPageSurfaces();
  const userId = crypto.randomUUID();
  const body = sendBody(prompt, userId);
  add('user', userId, prompt);
  const answer = add('assistant', null, '');
  answer.state = 'in_progress';
  update(answer);
  const turn = new Turn({
    answer(m, text) {
      const grew = text.length > answer.text.length;
      answer.id = m.id;
      answer.text = text;
      if (grew) {
        answer.recovering = false; // the answer resumed
        showBanner();
      }
      update(answer);
    },
    error(kind) {
      showFailure(answer, { surface: 'turn', text: kind === 'moderation' ? ERRORS.moderation : ERRORS.generic, prompt });
    },
    title(t) {
      if (typeof t === 'string') document.title = t;
    },
    conversation: adopt,
  });
  let how = await stream(`/${backend}/f/conversation`, body, turn);
  if (typeof how === 'object') {
    sendFailed(answer, how, prompt);
    return;
  }
  const finished = () => turn.finished || (turn.encoding !== 'v1' && turn.done && !turn.handoff);
  // The answer continues elsewhere: on the user's socket, else (or when that closes early) by resuming.
  if (!finished() && !turn.failed && turn.handoff?.options?.[0]?.type === 'subscribe_ws_topic') {
    try {
      how = await readSocket(turn, turn.handoff.options[0].topic_id, { idleMs: pageIdleMs });
    } catch {
      how = 'closed';
    }
  }
  // Resuming: after a handoff; after pageIdleMs without a byte (once the turn had begun); after a
  // stream that ended without [DONE] (resumeOnDrop). Once resuming, until the answer is whole, the
  // turn fails, or 12 resumes went by; statuses worth a retry and broken reads back off.
  const resumable = (h) => (h === 'idle' ? turn.offset > 0 : !!turn.handoff || (config.resumeOnDrop && (h === 'eof' || h === 'broken')));
  let resumes = 0;
  let retries = 0;
  while (!finished() && !turn.failed && how !== 'stopped' && (resumes > 0 || resumable(how))) {
    if (temporaryPage || !conversationId || resumes >= MAX_RESUMES) break;
    if (how !== 'done') {
      answer.recovering = true; // an interruption, not the handoff itself
      update(answer);
    }
    if (how === 'retry' || how === 'broken' || how === 'network') await sleep(Math.min(5000, 300 * 2 ** retries++));
    else retries = 0;
    resumes += 1;
    how = await stream(`/${backend}/f/conversation/resume`, { conversation_id: conversationId, offset: turn.offset }, turn);
    if (typeof how === 'object') {
      if (RETRY_STATUS.has(how.status)) {
        how = 'retry';
        continue;
      }
      showFailure(answer, { surface: 'alert', text: errorText(how.text), prompt });
      return;
    }
  }
  answer.recovering = false;
  if (finished()) {
    answer.state = null;
    currentNode = answer.id ?? userId;
    update(answer);
  } else if (how === 'stopped' || turn.failed) {
    update(answer);
  } else if (resumes > 0 || how === 'idle') {
    showFailure(answer, { surface: 'alert', text: ERRORS.resume, prompt }); // resumes exhausted, or none possible
  } else {
    showFailure(answer, { surface: 'turn', text: ERRORS.network, prompt }); // failed, broke, or ended without [DONE]
  }
}

/** The visible messages of a conversation body, in order. */
const visible = (messages) => messages.filter((m) => (m.author?.role === 'user'
  ? ['text', 'multimodal_text'].includes(m.content?.content_type) && !m.metadata?.is_visually_hidden_from_conversation
  : isAnswer(m)));
const textOf = (m) => (m.content?.parts ?? []).filter((p) => typeof p === 'string').join('\n');

function show(messages) {
  view.clear();
  entries.length = 0;
  addHistory();
  for (const m of visible(messages)) add(m.author.role, m.id, textOf(m));
}

async function getJson(url) {
  const r = await fetch(url);
  return r.ok ? r.json() : null;
}

// A conversation page loads its conversation, as ChatGPT does: the plural GET (the newest turns),
// then older pages by cursor (by itself with `loadOlder`, else on "Load older"); a `?message=` link
// uses the singular GET and its mapping. `?noload=1` skips it, as when the page had it already: a
// conversation the test seeded then comes embedded in the page (`config.embedded`), others not at all.
let loaded = [];
async function loadOlderPage(id) {
  const page = await getJson(`/backend-api/conversations/${id}/messages?before=${encodeURIComponent(cursor)}&include_has_versions=true&num_turns=10`);
  if (!page) return false;
  loaded = [...(page.messages ?? []), ...loaded];
  cursor = page.page_info?.has_previous_page ? page.page_info.start_cursor : null;
  return true;
}

async function load(id) {
  if (params.has('message')) {
    const conv = await getJson(`/backend-api/conversation/${id}`);
    if (!conv?.mapping) return;
    const line = [];
    for (let n = conv.current_node; n && conv.mapping[n]; n = conv.mapping[n].parent) if (conv.mapping[n].message) line.unshift(conv.mapping[n].message);
    currentNode = conv.current_node ?? null;
    show(line);
    return;
  }
  await showBody(id, await getJson(`/backend-api/conversations/${id}?include_has_versions=true&num_turns=10`));
}

/** Shows a plural conversation body (its newest turns), then older pages as `loadOlder` says. */
async function showBody(id, conv) {
  if (!conv || !Array.isArray(conv.messages)) return;
  loaded = conv.messages;
  currentNode = conv.current_node ?? null;
  if (typeof conv.title === 'string') document.title = conv.title;
  cursor = conv.page_info?.has_previous_page ? conv.page_info.start_cursor : null;
  while (config.loadOlder && cursor) if (!(await loadOlderPage(id))) break;
  show(loaded);
  older.hidden = !cursor;
  older.onclick = async () => {
    if (cursor && (await loadOlderPage(id))) show(loaded);
    older.hidden = !cursor;
  };
}

addHistory();
const open = /^\/c\/([0-9A-Za-z_-]{1,100})$/.exec(location.pathname);
if (open) {
  conversationId = open[1];
  if (!params.has('noload')) load(open[1]).catch(() => {});
  else if (config.embedded) showBody(open[1], config.embedded).catch(() => {}); // came with the page
}

stop.addEventListener('click', () => {
  for (const c of live) c.abort();
  if (conversationId) fetch('/backend-api/stop_conversation', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ conversation_id: conversationId, exclude_async_types: [] }) }).catch(() => {});
});

composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const prompt = input.textContent.trim();
  if (!prompt) return;
  input.textContent = '';
  send(prompt);
});
