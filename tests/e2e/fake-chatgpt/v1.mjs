// The answer stream of the fake chatgpt.com: the turn's events in delta encoding "v1" (as the real
// site streams them in 2026: echoes of the context messages, a title, optional thoughts, then the
// answer as appends with carry-forward, a closing patch, message_stream_complete, [DONE]), rendered
// to SSE text, and written in chunks of seeded random sizes (cut anywhere: inside lines and inside
// multi-byte UTF-8 characters). The legacy snapshot format of the old fake lives here too.
import crypto from 'node:crypto';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A small seeded random generator (mulberry32): `next()` in [0, 1), `int(a, b)` in [a, b]. */
export function rng(seed) {
  let s = (Number(seed) >>> 0) || 1;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (a, b) => a + Math.floor(next() * (b - a + 1)) };
}

const b64url = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A JWT-shaped resume token (unsigned garbage as signature: nobody verifies it, nobody may store it). */
export function fakeJwt(payload) {
  return `${b64url({ alg: 'ES256', typ: 'JWT', kid: 'fake' })}.${b64url(payload)}.${crypto.randomBytes(48).toString('base64url')}`;
}

// ---- messages, shaped as the real stream and conversation bodies carry them ----

export const SECRETS = {
  profile: 'ECHO-PROFILE-SECRET',
  memory: 'ECHO-MEMORY-SECRET',
  thoughts: 'ECHO-THOUGHTS-SECRET',
};

/** One message: role, content and the rest as in a 2026 capture. */
export function message(id, role, content, { status = 'finished_successfully', endTurn = null, metadata = {}, recipient = 'all', channel = null, createTime = Date.now() / 1000 } = {}) {
  return {
    id, author: { role, name: null, metadata: {} }, create_time: createTime, update_time: null, content, status,
    end_turn: endTurn, weight: 1, metadata, recipient, channel,
  };
}

const text = (t) => ({ content_type: 'text', parts: [t] });

/** The context messages a new chat starts with (and every turn's stream echoes): ids given. */
export function contextMessages(ids, meta) {
  return [
    message(ids.system, 'system', text(''), { metadata: { ...meta, is_visually_hidden_from_conversation: true }, createTime: null }),
    message(ids.profile, 'user', {
      content_type: 'user_editable_context',
      user_profile: `The user provided the following information about themselves. ${SECRETS.profile}: Mara, a nurse in Porto, allergic to penicillin.`,
      user_instructions: `The user provided the additional info about how they would like you to respond: ${SECRETS.profile}-INSTRUCTIONS: be brief.`,
    }, { metadata: { ...meta, is_visually_hidden_from_conversation: true, user_context_message_data: { about_user_message: 'Mara' } } }),
    message(ids.memory, 'assistant', {
      content_type: 'model_editable_context',
      model_set_context: `1. [2026-10-01]. ${SECRETS.memory}: the user prefers metric units and lives at Rua das Flores 12.`,
      repository: null, repo_summary: null, structured_context: null,
    }, { metadata: { ...meta } }),
  ];
}

export function thoughtsMessage(id, meta, status = 'finished_successfully', thoughts = [thought()]) {
  return message(id, 'assistant', { content_type: 'thoughts', thoughts, source_analysis_msg_id: crypto.randomUUID() },
    { status, endTurn: false, metadata: { ...meta, reasoning_status: 'is_reasoning' }, channel: 'analysis' });
}

export function thought() {
  return { summary: 'Weighing the question', content: `${SECRETS.thoughts}: the user is a nurse; recall her allergy before answering.`, chunks: [], finished: true };
}

export function recapMessage(id, meta) {
  return message(id, 'assistant', { content_type: 'reasoning_recap', content: `Thought for 2s (${SECRETS.thoughts})` },
    { endTurn: false, metadata: { ...meta, reasoning_status: 'reasoning_ended', finished_duration_sec: 2 } });
}

export function userMessage(id, prompt, meta, createTime) {
  return message(id, 'user', text(prompt), { metadata: meta, createTime });
}

export function answerMessage(id, meta, status = 'in_progress', body = '') {
  return message(id, 'assistant', text(body), {
    status, endTurn: status === 'finished_successfully' ? true : null,
    metadata: { citations: [], content_references: [], model_slug: 'gpt-5-6', default_model_slug: 'gpt-5-6', ...meta },
    channel: 'final',
  });
}

// ---- logical events, then SSE text ----
// An event is {delta: {c, p, o, v}} | {typed: {...}} | {done: true}, with `delay: true` when the
// writer waits tokenDelayMs after it (one per answer token), `token` (its answer text) and `gate:
// true` on the answer's first event (a thinking turn's silence ends there: see streamV1's `gate`).

/** The answer split into the tokens the stream sends (words, with their trailing spaces). */
export const tokens = (answer) => String(answer).split(/(?<= )/).filter((t) => t.length);

/**
 * The events of one turn. `turn`: {conversationId, newChat, title, ids:{system, profile, memory,
 * user, thoughts, recap, answer}, rootId, parentId (the user message's), prompt, userCreateTime,
 * turnId, requestId, answer, thoughts, model, handoff}.
 * Returns {token, echoes, userEcho, title, think, answer, partial, words}: the resume token; the
 * echo burst (context messages and the user's, as root adds, and input_message events); the user's
 * message alone (what a handoff echoes); the title (new chats); thoughts and recap (`thoughts`);
 * the answer for a healthy end (root add, markers, appends, closing patch, ...,
 * message_stream_complete, conversation_detail_metadata); `partial(upTo, error)`: the answer cut
 * after `upTo` tokens, then `error` ({message, code}) as a root on a new channel; the tokens.
 */
export function turnEvents(turn) {
  const cid = turn.conversationId;
  const meta = { turn_exchange_id: turn.turnId, working_turn_id: turn.turnId, request_id: turn.requestId };
  const root = (m, c) => ({ delta: { c, p: '', o: 'add', v: { message: m, conversation_id: cid, error: null, error_code: null } } });
  let c = 0;
  const echoes = [];
  const ctx = contextMessages(turn.ids, meta);
  const user = userMessage(turn.ids.user, turn.prompt, meta, turn.userCreateTime);
  for (const m of ctx) echoes.push(root(m, c++));
  echoes.push(root(user, c++));
  echoes.push({ typed: { type: 'input_message', input_message: { ...ctx[0], metadata: { ...ctx[0].metadata, parent_id: turn.rootId ?? null } }, conversation_id: cid } });
  echoes.push({ typed: { type: 'input_message', input_message: { ...user, metadata: { ...user.metadata, parent_id: turn.parentId } }, conversation_id: cid } });
  const token = { typed: { type: 'resume_conversation_token', kind: 'topic', token: fakeJwt({ conversation_id: cid, turn_exchange_id: turn.turnId, exp: Math.floor(Date.now() / 1000) + 600 }), conversation_id: cid } };
  const ste = { typed: { type: 'server_ste_metadata', metadata: { model_slug: turn.model, plan_type: 'plus', user_agent: 'web_desktop', resume_with_websockets: turn.handoff === 'ws', is_first_turn: turn.newChat, turn_use_case: 'text', message_id: turn.ids.user }, conversation_id: cid } };
  const title = turn.newChat ? [{ typed: { type: 'title_generation', title: turn.title, conversation_id: cid } }] : [];
  const think = [];
  if (turn.thoughts) {
    const tc = c++;
    think.push({ typed: { type: 'message_marker', conversation_id: cid, message_id: turn.ids.thoughts, marker: 'cot_token', event: 'first' } });
    think.push(root(thoughtsMessage(turn.ids.thoughts, meta, 'in_progress', []), tc));
    think.push({ delta: { c: tc, p: '/message/content/thoughts', o: 'append', v: [thought()] }, delay: true });
    think.push({ delta: { c: tc, p: '', o: 'patch', v: [{ p: '/message/status', o: 'replace', v: 'finished_successfully' }, { p: '/message/metadata', o: 'append', v: { reasoning_status: 'reasoning_ended' } }] } });
    think.push(root(recapMessage(turn.ids.recap, meta), c++));
  }
  const ac = c++;
  const aid = turn.ids.answer;
  const marker = (m, e) => ({ typed: { type: 'message_marker', conversation_id: cid, message_id: aid, marker: m, event: e } });
  const words = tokens(turn.answer);
  const head = [{ ...root(answerMessage(aid, meta), ac), gate: true }, marker('user_visible_token', 'first'), marker('final_channel_token', 'first')];
  const append = (w) => ({ delta: { c: ac, p: '/message/content/parts/0', o: 'append', v: w }, delay: true, token: w });
  const last = words.at(-1) ?? '';
  const finish = [
    { delta: { c: ac, p: '', o: 'patch', v: [
      { p: '/message/content/parts/0', o: 'append', v: last },
      { p: '/message/status', o: 'replace', v: 'finished_successfully' },
      { p: '/message/end_turn', o: 'replace', v: true },
      { p: '/message/metadata', o: 'append', v: { is_complete: true, finish_details: { type: 'stop', stop_tokens: [200002] }, can_save: true } },
    ] }, token: last, final: true },
    marker('last_token', 'last'),
    { delta: { c: ac, p: '/message/metadata/conversation_followup_suggestions_eligible', o: 'replace', v: true } },
    ste,
    { typed: { type: 'message_stream_complete', conversation_id: cid } },
    { typed: { type: 'conversation_detail_metadata', banner_info: null, blocked_features: [], model_limits: [], limits_progress: null, default_model_slug: turn.model, conversation_id: cid } },
  ];
  return {
    token,
    echoes,
    userEcho: root(user, 0),
    title,
    think,
    answer: [...head, ...words.slice(0, -1).map(append), ...finish],
    /** The answer cut after `upTo` tokens (no closing patch), then `error` as a root on a new channel. */
    partial(upTo, error = null) {
      const out = [...head, ...words.slice(0, upTo).map(append)];
      if (error) out.push({ delta: { c: c, p: '', o: 'add', v: { message: null, conversation_id: cid, error: error.message, error_code: error.code } } });
      return out;
    },
    /** The answer cut after `upTo` tokens, then a moderation block (the rest withheld by policy). */
    moderated(upTo) {
      return [
        ...head, ...words.slice(0, upTo).map(append),
        { typed: { type: 'moderation', conversation_id: cid, message_id: aid, moderation_response: { flagged: true, blocked: true, disclaimers: [] } } },
      ];
    },
    words,
  };
}

/**
 * Renders events to SSE text with one carry-forward encoder per stream (a delta leaves out the
 * channel, path and op it shares with the previous delta), `data:` lines of deltas padded with
 * 0 to 7 trailing spaces (seeded), typed events unpadded, [DONE] as is.
 */
export class Encoder {
  constructor(random, { pad = true } = {}) {
    this.random = random;
    this.pad = pad;
    this.last = null;
  }

  declaration() {
    return 'event: delta_encoding\ndata: "v1"\n\n';
  }

  render(event) {
    if (event.done) return 'data: [DONE]\n\n';
    if (event.typed) return `data: ${JSON.stringify(event.typed)}\n\n`;
    const { c, p, o, v } = event.delta;
    const out = {};
    if (!this.last || p !== this.last.p) out.p = p;
    if (!this.last || o !== this.last.o) out.o = o;
    out.v = v;
    if (!this.last || c !== this.last.c) out.c = c;
    this.last = { c, p, o };
    const spaces = this.pad ? ' '.repeat(this.random.int(0, 7)) : '';
    return `event: delta\ndata: ${JSON.stringify(out)}${spaces}\n\n`;
  }
}

/**
 * Writes text to `res` in chunks of seeded random sizes between `min` and `max` bytes, cut on
 * bytes (so inside lines and inside UTF-8 characters). `breathe()` before a wait: what is pending
 * goes out, sometimes all of it, sometimes all but a short tail (a line cut until the next write).
 * `flush()` sends everything. Every byte written is also appended to `log.text` (and each chunk's
 * size to `log.chunks`). Chunks written one
 * after the other are `gapMs` apart, else the network would merge them before the page reads.
 */
export class ChunkWriter {
  constructor(res, random, { min = 30, max = 6144, gapMs = 2, log = null } = {}) {
    this.res = res;
    this.random = random;
    this.min = Math.max(1, min | 0);
    this.max = Math.max(this.min, max | 0);
    this.pending = Buffer.alloc(0);
    this.target = this.pick();
    this.log = log;
    this.gapMs = gapMs;
    this.wrote = false;
  }

  pick() {
    return this.random.int(this.min, this.max);
  }

  write(chunk) {
    if (this.res.destroyed || this.res.writableEnded || chunk.length === 0) return;
    this.res.write(chunk);
    this.log?.chunks?.push(chunk.length);
  }

  /** Adds text; full chunks go out, `gapMs` apart (so the page's reads see them one by one). */
  async push(text) {
    if (this.log) this.log.text += text;
    this.pending = Buffer.concat([this.pending, Buffer.from(text, 'utf8')]);
    while (this.pending.length >= this.target) {
      if (this.wrote && this.gapMs) await sleep(this.gapMs);
      this.write(this.pending.subarray(0, this.target));
      this.wrote = true;
      this.pending = this.pending.subarray(this.target);
      this.target = this.pick();
    }
  }

  breathe() {
    this.wrote = false; // a wait follows: the next chunk needs no gap of its own
    const n = this.pending.length;
    if (n === 0) return;
    let keep = 0;
    if (n > this.min && this.random.next() < 0.5) keep = this.random.int(1, Math.min(n - this.min, 24));
    this.write(this.pending.subarray(0, n - keep));
    this.pending = this.pending.subarray(n - keep);
  }

  flush() {
    if (this.pending.length) this.write(this.pending);
    this.pending = Buffer.alloc(0);
  }
}

/** Whether a response can take no more bytes (the client went away, or the server ended it). */
export const closed = (res) => res.destroyed || res.writableEnded;

/**
 * Streams `events` (v1) on `res` after the declaration: chunked, waiting `tokenDelayMs` after each
 * token. `log` ({text, answer}) collects the text sent and the answer text the stream carried;
 * `onFinal()` runs as the answer's closing patch goes out. `gate()` (optional) gives the time
 * (epoch ms) before which an event marked `gate` may not go out: what came before it is sent
 * whole, then the stream is silent (no byte) until then (a thinking model).
 * Returns false when the client went away (or the server cut the stream) before the end.
 */
export async function streamV1(res, events, { random, chunkMin, chunkMax, chunkGapMs = 2, tokenDelayMs, pad, log, declare = true, onFinal = null, gate = null }) {
  const enc = new Encoder(random, { pad });
  const out = new ChunkWriter(res, random, { min: chunkMin, max: chunkMax, gapMs: chunkGapMs, log });
  if (declare) await out.push(enc.declaration());
  for (const event of events) {
    if (closed(res)) return false;
    if (event.gate && gate) {
      const wait = gate() - Date.now();
      if (wait > 0) {
        out.flush();
        out.wrote = false;
        await sleep(wait);
        if (closed(res)) return false;
      }
    }
    await out.push(enc.render(event));
    if (event.token !== undefined && log) log.answer += event.token;
    if (event.final) {
      if (log) log.complete = true;
      onFinal?.();
    }
    if (event.delay && tokenDelayMs) {
      out.breathe();
      await sleep(tokenDelayMs);
    }
  }
  out.flush();
  return !closed(res);
}

/** The old fake's stream: one full snapshot of the answer per token, then [DONE], an error or a moderation block and [DONE]. */
export async function streamLegacy(res, { conversationId, messageId, words, upTo, tokenDelayMs, end, streamError, log }) {
  let body = '';
  const write = (t) => {
    if (log) log.text += t;
    if (!res.destroyed) res.write(t);
  };
  for (let i = 0; i < upTo; i++) {
    body += words[i];
    const event = {
      message: { id: messageId, author: { role: 'assistant' }, content: { content_type: 'text', parts: [body] }, status: 'in_progress' },
      conversation_id: conversationId,
    };
    write(`data: ${JSON.stringify(event)}\n\n`);
    if (tokenDelayMs) await sleep(tokenDelayMs);
  }
  if (log) {
    log.answer = body;
    log.complete = end === 'done';
  }
  if (end === 'done') write('data: [DONE]\n\n');
  else if (end === 'moderation') {
    write(`data: ${JSON.stringify({ type: 'moderation', conversation_id: conversationId, message_id: messageId, moderation_response: { flagged: true, blocked: true, disclaimers: [] } })}\n\n`);
    write('data: [DONE]\n\n');
  } else if (end === 'error') write(`data: ${JSON.stringify({ message: null, conversation_id: conversationId, error: streamError })}\n\n`);
  if (end !== 'hold' && !res.destroyed) res.end();
}
