// The fake chatgpt.com's turns: a sent message answered on the POST's own stream, or handed off and
// continued on POST .../f/conversation/resume or on the user's WebSocket (ws.chatgpt.com), each
// answer stored in the conversation once it finished. Every stream is logged for GET /__sent.
import crypto from 'node:crypto';
import { answerMessage, closed, contextMessages, Encoder, fakeJwt, recapMessage, rng, sleep, streamLegacy, streamV1, thoughtsMessage, turnEvents, userMessage } from './v1.mjs';
import { addNode, branch, emptyConversation, sampleConversation, titleOf } from './store.mjs';

// The conversation id of every new chat in the legacy encoding (the old fake's single id).
export const LEGACY_CONVERSATION_ID = '6a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b';
export const USER_ID = 'u-123';
// What a send answers in mode 'too_long' (400), as the real site words it.
export const TOO_LONG_BODY = JSON.stringify({ detail: { message: "You've reached the maximum length for this conversation, but you can keep talking by starting a new chat.", code: 'conversation_too_large' } });

const parse = (body) => {
  try {
    return JSON.parse(body);
  } catch {
    return null;
  }
};

function promptOf(request) {
  const messages = Array.isArray(request?.messages) ? request.messages : [];
  const m = [...messages].reverse().find((x) => x?.author?.role === 'user') ?? messages.at(-1);
  const parts = Array.isArray(m?.content?.parts) ? m.content.parts.filter((p) => typeof p === 'string') : [];
  return { message: m ?? null, text: parts.join('\n') };
}

/**
 * What the turns share: `state()` (the control state), `conversations` (Map id -> export-shaped
 * conversation, the server's memory), `turns` (Map turn id -> turn), `sent` (the stream log),
 * `answers` (each finished answer), `random` (seeded by `state().seed`).
 */
export function createTurns(getState) {
  const ctx = {
    state: getState,
    conversations: new Map(),
    turns: new Map(),
    latest: new Map(), // conversation id -> its latest turn
    temporary: new Set(), // conversations started from a temporary chat
    sent: [],
    answers: [],
    seq: 0,
    random: null,
    seed: null,
  };
  ctx.rand = () => {
    const seed = getState().seed;
    if (ctx.seed !== seed || !ctx.random) {
      ctx.seed = seed;
      ctx.random = rng(seed);
    }
    return ctx.random;
  };
  ctx.log = (entry) => {
    const keep = Math.max(1, getState().sentKeep | 0 || 50);
    const full = { seq: ++ctx.seq, time: Date.now(), text: '', answer: '', complete: false, ended: false, chunks: [], ...entry };
    ctx.sent.push(full);
    while (ctx.sent.length > keep) ctx.sent.shift();
    return full;
  };
  /** The conversation `id` from memory, a seeded one (`conversations` in the state) or a sample. */
  ctx.find = (id) => ctx.conversations.get(id) ?? getState().conversations?.[id] ?? sampleConversation(id);
  ctx.ensure = (id) => {
    if (!ctx.conversations.has(id)) ctx.conversations.set(id, structuredClone(ctx.find(id)));
    return ctx.conversations.get(id);
  };
  return ctx;
}

function contextIds(conv) {
  const ids = {};
  for (const node of branch(conv)) {
    const m = node.message;
    if (!m) continue;
    if (m.author?.role === 'system' && !ids.system) ids.system = m.id;
    if (m.content?.content_type === 'user_editable_context') ids.profile = m.id;
    if (m.content?.content_type === 'model_editable_context') ids.memory = m.id;
  }
  return ids;
}

/** A new turn for a send request; its user message is stored at once. */
function newTurn(ctx, request, { legacy }) {
  const state = ctx.state();
  const now = Date.now() / 1000;
  const { message: sentMessage, text: prompt } = promptOf(request);
  const asked = typeof request?.conversation_id === 'string' && request.conversation_id ? request.conversation_id : null;
  const temporary = request?.is_do_not_remember === true || request?.history_and_training_disabled === true;
  let conv;
  let newChat = false;
  if (asked && !legacy) {
    conv = ctx.ensure(asked);
  } else {
    newChat = true;
    const id = state.conversationId ?? (legacy ? LEGACY_CONVERSATION_ID : crypto.randomUUID());
    conv = emptyConversation(id, state.title ?? titleOf(prompt), now);
    if (temporary) ctx.temporary.add(id);
    else ctx.temporary.delete(id);
    ctx.conversations.set(id, conv);
  }
  const turnId = crypto.randomUUID();
  const meta = { turn_exchange_id: turnId };
  const ids = contextIds(conv);
  if (newChat) {
    const fresh = { system: crypto.randomUUID(), profile: crypto.randomUUID(), memory: crypto.randomUUID() };
    for (const m of contextMessages(fresh, meta)) addNode(conv, conv.current_node, m);
    Object.assign(ids, fresh);
  }
  ids.system ??= crypto.randomUUID();
  ids.profile ??= crypto.randomUUID();
  ids.memory ??= crypto.randomUUID();
  const parentId = typeof request?.parent_message_id === 'string' && conv.mapping[request.parent_message_id] ? request.parent_message_id : conv.current_node;
  ids.user = typeof sentMessage?.id === 'string' && sentMessage.id ? sentMessage.id : crypto.randomUUID();
  ids.thoughts = crypto.randomUUID();
  ids.recap = crypto.randomUUID();
  ids.answer = legacy ? `m-${Date.now()}` : crypto.randomUUID();
  const userCreateTime = Number.isFinite(sentMessage?.create_time) ? sentMessage.create_time : now;
  addNode(conv, parentId, userMessage(ids.user, prompt, meta, userCreateTime));
  const turn = {
    conversationId: conv.conversation_id ?? conv.id, newChat, title: conv.title, prompt, userCreateTime, ids, parentId,
    rootId: branch(conv)[0]?.id ?? null,
    turnId, requestId: crypto.randomUUID(), topicId: `conversation-turn-${turnId}`,
    answer: String(state.answer), thoughts: !!state.thoughts, model: typeof request?.model === 'string' ? request.model : 'gpt-5-6',
    handoff: legacy ? null : state.handoff ?? null, temporary, finished: false, deliveries: 0,
    // A thinking turn: silent this long before its answer (from when a stream first reaches it).
    thinkMs: Math.max(0, Number(state.thinkMs) || 0), thinkUntil: null,
  };
  turn.events = turnEvents(turn);
  ctx.turns.set(turnId, turn);
  ctx.latest.set(turn.conversationId, turn);
  return turn;
}

/** The finished answer goes into the conversation (once): thoughts and recap first when streamed. */
function finish(ctx, turn) {
  if (turn.finished) return;
  turn.finished = true;
  const conv = ctx.conversations.get(turn.conversationId);
  const meta = { turn_exchange_id: turn.turnId };
  if (conv) {
    let parent = turn.ids.user;
    if (turn.thoughts) {
      parent = addNode(conv, parent, thoughtsMessage(turn.ids.thoughts, meta));
      parent = addNode(conv, parent, recapMessage(turn.ids.recap, meta));
    }
    addNode(conv, parent, answerMessage(turn.ids.answer, meta, 'finished_successfully', turn.answer));
  }
  ctx.answers.push({ conversation_id: turn.conversationId, message_id: turn.ids.answer, text: turn.answer });
  while (ctx.answers.length > 200) ctx.answers.shift();
}

const upTo = (turn) => Math.ceil(turn.events.words.length / 2);

/** The answer's events as `mode` ends them: whole, cut, or cut and followed by an error root. */
function answerFor(turn, state) {
  const e = turn.events;
  if (state.mode === 'healthy') return { events: e.answer, end: 'done' };
  if (state.mode === 'stream_error') return { events: e.partial(upTo(turn), { message: state.streamError, code: state.streamErrorCode ?? null }), end: 'end' };
  if (state.mode === 'moderation') return { events: e.moderated(upTo(turn)), end: 'done' };
  if (state.mode === 'stall') return { events: e.partial(upTo(turn)), end: 'hold' };
  return { events: e.partial(upTo(turn)), end: 'end' }; // drop, or any other mode
}

/**
 * When a thinking turn's answer may start (epoch ms): `thinkMs` after the first stream of the turn
 * reached it, whichever stream that was; every later stream (a resume, the socket) waits for the
 * same moment, so the answer comes as it is produced.
 */
const thinkGate = (turn) => () => (turn.thinkUntil ??= Date.now() + turn.thinkMs);

/** How a v1 stream of `turn` is written; its answer is kept as its closing patch goes out. */
function streamOptions(ctx, log, turn) {
  const s = ctx.state();
  return {
    random: ctx.rand(), chunkMin: s.chunkMin, chunkMax: s.chunkMax, chunkGapMs: s.chunkGapMs, tokenDelayMs: s.tokenDelayMs,
    pad: s.pad !== false, log, onFinal: () => finish(ctx, turn), gate: thinkGate(turn),
  };
}

function endStream(res, end) {
  if (end === 'hold') return; // the connection stays open without another byte
  if (!closed(res)) res.end();
}

/** `dropAfterMs`: the stream is cut (ended cleanly, without [DONE]) that long after it began, wherever it is. */
function cutLater(res, state, log) {
  const ms = Number(state.dropAfterMs);
  if (state.dropAfterMs == null || !Number.isFinite(ms) || ms < 0) return () => {};
  const timer = setTimeout(() => {
    if (closed(res)) return;
    log.cut = true;
    res.end();
  }, ms);
  return () => clearTimeout(timer);
}

/** POST .../f/conversation: the answer on the stream itself, or a handoff (state `handoff`). */
export async function send(ctx, req, res, body, common) {
  const state = ctx.state();
  if (state.mode === 'hang') return; // no headers, no body: the request stays open until the client gives up
  if (state.mode === 'too_long') {
    res.writeHead(400, { ...common, 'content-type': 'application/json' });
    res.end(TOO_LONG_BODY);
    return;
  }
  if (state.mode === 'status') {
    const isHtml = String(state.body).trimStart().startsWith('<');
    res.writeHead(state.status, { ...common, 'content-type': isHtml ? 'text/html; charset=utf-8' : 'application/json', ...state.headers });
    res.end(state.body);
    return;
  }
  const request = parse(body);
  const wantsV1 = Array.isArray(request?.supported_encodings) && request.supported_encodings.includes('v1');
  const legacy = state.encoding === 'legacy' || !wantsV1;
  const turn = newTurn(ctx, request, { legacy });
  res.writeHead(200, { ...common, 'content-type': 'text/event-stream; charset=utf-8' });
  const path = new URL(req.url, 'https://chatgpt.com').pathname;
  const log = ctx.log({ kind: 'send', path, encoding: legacy ? 'legacy' : 'v1', conversation_id: turn.conversationId, turn_id: turn.turnId, request, mode: state.mode, handoff: turn.handoff });
  if (legacy) {
    const words = turn.events.words;
    const end = { healthy: 'done', stream_error: 'error', stall: 'hold', moderation: 'moderation' }[state.mode] ?? 'end';
    await streamLegacy(res, {
      conversationId: turn.conversationId, messageId: turn.ids.answer, words, upTo: end === 'done' ? words.length : upTo(turn),
      tokenDelayMs: state.tokenDelayMs, end, streamError: state.streamError, log,
    });
    if (log.complete) finish(ctx, turn);
    log.ended = true;
    return;
  }
  const e = turn.events;
  if (turn.handoff === 'resume' || turn.handoff === 'ws') {
    const option = turn.handoff === 'ws' ? 'subscribe_ws_topic' : 'resume_sse_endpoint';
    const handoff = { typed: { type: 'stream_handoff', conversation_id: turn.conversationId, turn_exchange_id: turn.turnId, options: [{ type: option, topic_id: turn.topicId }] } };
    const head = [e.token, e.userEcho, handoff, { done: true }];
    // The rest continues elsewhere; an offset counts the events before it (this stream's 4).
    turn.base = head.length;
    turn.rest = [...e.title, ...e.think, ...e.answer, { done: true }];
    turn.mode = state.mode;
    const uncut = cutLater(res, state, log);
    await streamV1(res, head, streamOptions(ctx, log, turn));
    uncut();
    endStream(res, 'end');
    log.ended = true;
    return;
  }
  const prelude = [e.token, ...e.echoes, ...e.title, ...e.think];
  turn.base = 0;
  turn.rest = [...prelude, ...e.answer, { done: true }];
  turn.deliveries = 1; // the mode applied to this stream; a resume continues whole
  const { events, end } = answerFor(turn, state);
  const all = end === 'done' ? [...prelude, ...events, { done: true }] : [...prelude, ...events];
  const uncut = cutLater(res, state, log);
  await streamV1(res, all, streamOptions(ctx, log, turn));
  uncut();
  endStream(res, end);
  log.ended = end !== 'hold' || !!log.cut;
}

/** The rest of a turn from `offset` (events consumed, the declaration not counted), as `mode` ends it the first time. */
function restFrom(ctx, turn, offset) {
  const state = ctx.state();
  const skip = Math.max(0, (Number.isInteger(offset) ? offset : 0) - turn.base);
  const first = turn.deliveries++ === 0;
  if (!first || turn.mode === 'healthy' || turn.mode === undefined) return { events: turn.rest.slice(skip), end: 'done' };
  const cut = answerFor(turn, { ...state, mode: turn.mode });
  const before = turn.rest.length - turn.events.answer.length - 1; // title and thoughts
  const tail = cut.end === 'done' ? [{ done: true }] : []; // a moderation block still ends with [DONE]
  return { events: [...turn.rest.slice(0, before), ...cut.events, ...tail].slice(skip), end: cut.end };
}

/** POST .../f/conversation/resume {conversation_id, offset}: the rest of the latest turn. */
export async function resume(ctx, req, res, body, common) {
  const state = ctx.state();
  const request = parse(body);
  const turn = ctx.latest.get(request?.conversation_id);
  if (state.resumeStatus || !turn || !turn.rest) {
    res.writeHead(state.resumeStatus || 404, { ...common, 'content-type': 'application/json' });
    res.end(state.resumeBody ?? JSON.stringify({ detail: { message: 'A network error occurred. Please check your connection and try again.', code: 'tokenless_resume_unavailable' } }));
    return;
  }
  res.writeHead(200, { ...common, 'content-type': 'text/event-stream; charset=utf-8' });
  const path = new URL(req.url, 'https://chatgpt.com').pathname;
  const log = ctx.log({ kind: 'resume', path, encoding: 'v1', conversation_id: turn.conversationId, turn_id: turn.turnId, request, mode: turn.mode ?? state.mode, offset: request?.offset ?? null });
  const { events, end } = restFrom(ctx, turn, request?.offset);
  await streamV1(res, events, streamOptions(ctx, log, turn));
  endStream(res, end === 'done' ? 'end' : end);
  log.ended = end !== 'hold';
}

/** GET /backend-api/celsius/ws/user: where the user's socket is. */
export function socketUrl() {
  return { websocket_url: `wss://ws.chatgpt.com/ws/user/${USER_ID}?verify=${Math.floor(Date.now() / 1000)}-${crypto.randomBytes(24).toString('base64url')}` };
}

/**
 * The user's socket (wss://ws.chatgpt.com/ws/user/<id>): the turns handed off to it are streamed
 * as it connects (and when the page subscribes to a pending topic), one JSON frame per SSE event,
 * one item sent twice (a replay), then {type: 'done'}.
 */
export function userSocket(ctx, ws, path) {
  const deliver = async (turn) => {
    if (turn.wsStarted) return;
    turn.wsStarted = true;
    const state = ctx.state();
    const log = ctx.log({ kind: 'ws', path, encoding: 'v1', conversation_id: turn.conversationId, turn_id: turn.turnId, request: null, mode: turn.mode, frames: [], chunks: undefined });
    const { events, end } = restFrom(ctx, turn, turn.base);
    const items = events.filter((e) => !e.done);
    const gate = thinkGate(turn);
    const enc = new Encoder(ctx.rand(), { pad: state.pad !== false });
    const base = Date.now();
    const frames = items.map((event, i) => {
      const encoded = enc.render(event);
      const id = `${base}-${i}`;
      return {
        event, encoded,
        text: JSON.stringify({
          type: 'message', topic_id: turn.topicId,
          payload: { type: 'conversation-turn-stream', payload: { type: 'stream-item', conversation_id: turn.conversationId, turn_id: turn.turnId, encoded_item: encoded, stream_item_id: id } },
          offset: id,
        }),
      };
    });
    // The item replayed: the second token's, sent again right after the third.
    const tokensAt = frames.map((f, i) => (f.event.token !== undefined ? i : -1)).filter((i) => i >= 0);
    const replay = state.wsReplay === false ? -1 : tokensAt[1] ?? tokensAt[0] ?? -1;
    const put = (text) => {
      log.frames.push(text);
      ws.send(text);
    };
    for (let i = 0; i < frames.length; i++) {
      if (!ws.open()) return;
      const f = frames[i];
      if (f.event.gate && gate() > Date.now()) {
        await sleep(gate() - Date.now()); // thinking: the socket is silent
        if (!ws.open()) return;
      }
      log.text += f.encoded;
      if (f.event.token !== undefined) log.answer += f.event.token;
      if (f.event.final) {
        log.complete = true;
        finish(ctx, turn);
      }
      put(f.text);
      if (replay >= 0 && i === Math.min(replay + 1, frames.length - 1)) put(frames[replay].text);
      if (f.event.delay && state.tokenDelayMs) await sleep(state.tokenDelayMs);
    }
    if (end === 'hold') return;
    if (end === 'end' && turn.mode !== 'stream_error') ws.destroy();
    else put(JSON.stringify({ type: 'done', topic_id: turn.topicId, conversation_id: turn.conversationId, turn_id: turn.turnId }));
    log.ended = true;
  };
  const pending = () => [...ctx.turns.values()].filter((t) => t.handoff === 'ws' && !t.wsStarted && t.rest);
  ws.on('message', (text) => {
    const m = parse(text);
    if (m?.type === 'subscribe') {
      const turn = [...ctx.turns.values()].find((t) => t.topicId === m.topic_id);
      if (turn?.handoff === 'ws' && turn.rest) deliver(turn);
    }
  });
  setTimeout(() => {
    for (const turn of pending()) deliver(turn);
  }, 20);
}

export { fakeJwt };
