// The fake ChatGPT page: composer, turns, an answer streamed in delta encoding v1 (applied by the
// page itself), the handoff to the resume endpoint or the user's WebSocket, conversations loaded with
// the paged plural GET, and the error boxes ChatGPT shows when its backend fails. Only what the
// tests and the demo need. Its behaviour is set by the server when the page loads (see server.mjs).
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
};
const RETRY_STATUS = new Set([408, 409, 425, 429, 502, 504]);

const entries = []; // every message shown: {role, id, text, error, state, view}
let conversationId = null;
let currentNode = null;
let cursor = null; // the plural GET's start cursor while older pages remain
const live = new Set(); // AbortControllers of the streams being read

function add(role, id, text) {
  const entry = { role, id, text, error: null, state: null, view: null };
  entries.push(entry);
  view.add(entry);
  return entry;
}

const update = (entry) => view.update(entry);

function showError(entry, text) {
  entry.state = entry.state === 'in_progress' ? 'in_progress' : null; // goes stale, as on the real page
  if (!quiet) entry.error = text;
  update(entry);
}

function errorText(bodyText) {
  try {
    const detail = JSON.parse(bodyText).detail;
    if (typeof detail === 'string') return detail;
    if (typeof detail?.message === 'string') return detail.message;
  } catch {
    // not JSON: fall through
  }
  return ERRORS.generic;
}

function refreshStop() {
  stop.hidden = live.size === 0;
}

/** POSTs `body` to `path` and reads the answer stream into `turn`; returns how it ended or {status, text}. */
async function stream(path, body, turn) {
  const controller = new AbortController();
  live.add(controller);
  refreshStop();
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
      return controller.signal.aborted ? 'stopped' : 'network';
    }
    if (!response.ok) return { status: response.status, text: await response.text() };
    const how = await readResponse(response, turn, { controller, abortAfter: config.abortAfter });
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
  const userId = crypto.randomUUID();
  const body = sendBody(prompt, userId);
  add('user', userId, prompt);
  const answer = add('assistant', null, '');
  answer.state = 'in_progress';
  update(answer);
  const turn = new Turn({
    answer(m, text) {
      answer.id = m.id;
      answer.text = text;
      update(answer);
    },
    error() {
      showError(answer, ERRORS.generic);
    },
    title(t) {
      if (typeof t === 'string') document.title = t;
    },
    conversation: adopt,
  });
  let how = await stream(`/${backend}/f/conversation`, body, turn);
  if (typeof how === 'object') {
    showError(answer, errorText(how.text));
    return;
  }
  const finished = () => turn.finished || (turn.encoding !== 'v1' && turn.done && !turn.handoff);
  // The answer continues elsewhere: on the user's socket, else (or when that closes early) by resuming.
  if (!finished() && !turn.failed && turn.handoff?.options?.[0]?.type === 'subscribe_ws_topic') {
    try {
      how = await readSocket(turn, turn.handoff.options[0].topic_id);
    } catch {
      how = 'closed';
    }
  }
  const resumable = turn.handoff || (config.resumeOnDrop && how === 'eof');
  for (let attempt = 0; resumable && !temporaryPage && !finished() && !turn.failed && attempt < 12; attempt++) {
    if (how === 'stopped' || how === 'stalled' || how === 'error') break;
    if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(5000, 300 * 2 ** (attempt - 1))));
    how = await stream(`/${backend}/f/conversation/resume`, { conversation_id: conversationId, offset: turn.offset }, turn);
    if (typeof how === 'object') {
      if (RETRY_STATUS.has(how.status)) continue;
      showError(answer, errorText(how.text));
      return;
    }
  }
  if (finished()) {
    answer.state = null;
    currentNode = answer.id ?? userId;
    update(answer);
  } else if (how !== 'stopped' && !turn.failed && (how === 'stalled' || how === 'network' || how === 'broken' || turn.handoff)) {
    showError(answer, ERRORS.network);
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
