// The fake ChatGPT page's answer streams: an SSE parser, the page's own tiny delta-encoding v1
// applier, and the three ways an answer reaches the page (the send POST's stream, the resume POST's,
// the user's WebSocket). Legacy snapshot events are read too.

/** Server-sent events from text pushed in any pieces: `onEvent({event, data})` per event. */
export function sseParser(onEvent) {
  let buffer = '';
  let event = '';
  let data = [];
  const line = (l) => {
    if (l.endsWith('\r')) l = l.slice(0, -1);
    if (l === '') {
      if (data.length) onEvent({ event: event || 'message', data: data.join('\n') });
      event = '';
      data = [];
      return;
    }
    if (l.startsWith(':')) return;
    const i = l.indexOf(':');
    const field = i < 0 ? l : l.slice(0, i);
    let value = i < 0 ? '' : l.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  };
  return {
    push(text) {
      buffer += text;
      let i;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const l = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        line(l);
      }
    },
  };
}

/** Delta encoding v1: channels of root objects, ops on JSON pointers, carry-forward of c/p/o. */
export class V1 {
  constructor() {
    this.roots = new Map();
    this.last = null;
  }

  /** A new stream: nothing carries forward from the previous one (the roots stay). */
  restart() {
    this.last = null;
  }

  /** Applies one delta; returns its channel. */
  apply(d) {
    const c = 'c' in d ? d.c : this.last?.c ?? 0;
    const p = 'p' in d ? d.p : this.last?.p ?? '';
    const o = 'o' in d ? d.o : this.last?.o ?? 'add';
    this.last = { c, p, o };
    this.op(c, p, o, d.v);
    return c;
  }

  op(c, p, o, v) {
    if (o === 'patch') {
      for (const s of Array.isArray(v) ? v : []) this.op(c, s?.p ?? '', s?.o, s?.v);
      return;
    }
    if (p === '') {
      if (o === 'add' || o === 'replace') this.roots.set(c, structuredClone(v));
      return;
    }
    const keys = String(p).split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    let parent = this.roots.get(c);
    for (const k of keys.slice(0, -1)) {
      if (parent == null || typeof parent !== 'object') return;
      parent = parent[Array.isArray(parent) ? Number(k) : k];
    }
    if (parent == null || typeof parent !== 'object') return;
    const k = keys.at(-1);
    const key = Array.isArray(parent) ? (k === '-' ? parent.length : Number(k)) : k;
    const cur = parent[key];
    switch (o) {
      case 'add':
        if (Array.isArray(parent)) parent.splice(key, 0, v);
        else parent[key] = v;
        break;
      case 'replace':
        parent[key] = v;
        break;
      case 'remove':
        if (Array.isArray(parent)) parent.splice(key, 1);
        else delete parent[key];
        break;
      case 'append':
        if (typeof cur === 'string') parent[key] = cur + v;
        else if (Array.isArray(cur)) cur.push(...(Array.isArray(v) ? v : [v]));
        else if (cur && typeof cur === 'object') Object.assign(cur, v);
        else parent[key] = v;
        break;
      case 'truncate':
        if (typeof cur === 'string' || Array.isArray(cur)) parent[key] = cur.slice(0, v);
        break;
      default:
        break;
    }
  }
}

/** The user-visible answer: an assistant text message to all, on the final channel, not hidden. */
export function isAnswer(m) {
  return !!m && m.author?.role === 'assistant' && m.recipient === 'all' && (m.channel === 'final' || m.channel == null)
    && ['text', 'multimodal_text'].includes(m.content?.content_type) && !m.metadata?.is_visually_hidden_from_conversation;
}

const textOf = (m) => (m?.content?.parts ?? []).filter((x) => typeof x === 'string').join('');

/**
 * One turn's reading state across its streams. `on`: {answer(message, text), error(kind) (kind
 * 'stream': an error root, a typed error, a legacy error; 'moderation': a moderation block),
 * title(t), conversation(id)}. Each event read counts toward `offset` (the delta_encoding declaration
 * does not).
 */
export class Turn {
  constructor(on) {
    this.on = on;
    this.v1 = new V1();
    this.encoding = null;
    this.answerChannel = null;
    this.answer = null; // the answer message as applied so far
    this.offset = 0;
    this.done = false;
    this.complete = false;
    this.finished = false;
    this.failed = false;
    this.handoff = null;
    this.seenItems = new Set();
  }

  /** One SSE event; returns 'done' at [DONE], 'complete' at message_stream_complete, 'error'. */
  event({ event, data }) {
    if (event === 'delta_encoding') {
      this.encoding = 'v1';
      this.v1.restart();
      return null;
    }
    this.offset += 1;
    if (data.trim() === '[DONE]') {
      this.done = true;
      return 'done';
    }
    let value;
    try {
      value = JSON.parse(data);
    } catch {
      return null;
    }
    if (!value || typeof value !== 'object') return null;
    if (event === 'delta' || (this.encoding === 'v1' && !value.type && 'v' in value)) return this.delta(value);
    if (typeof value.type === 'string') return this.typed(value);
    // Legacy snapshots: {message, conversation_id, error}.
    if (value.error) return this.fail('stream');
    if (value.conversation_id) this.on.conversation(value.conversation_id);
    if (value.message?.author?.role === 'assistant') {
      this.answer = value.message;
      this.on.answer(value.message, textOf(value.message));
    }
    return null;
  }

  delta(d) {
    const c = this.v1.apply(d);
    const root = this.v1.roots.get(c);
    if (!root) return null;
    if (root.error || root.error_code) return this.fail('stream');
    if (typeof root.conversation_id === 'string') this.on.conversation(root.conversation_id);
    if (this.answerChannel === null && isAnswer(root.message)) this.answerChannel = c;
    if (c === this.answerChannel) {
      const m = root.message;
      this.answer = m;
      this.on.answer(m, textOf(m));
      if (m.status === 'finished_successfully' && m.end_turn === true) this.finished = true;
    }
    return null;
  }

  typed(t) {
    if (typeof t.conversation_id === 'string' && t.conversation_id) this.on.conversation(t.conversation_id);
    if (t.type === 'title_generation') this.on.title(t.title);
    else if (t.type === 'stream_handoff') this.handoff = t;
    else if (t.type === 'message_stream_complete') {
      this.complete = true;
      return 'complete';
    } else if (t.type === 'error') return this.fail('stream');
    else if (t.type === 'moderation' && t.moderation_response?.blocked === true) return this.fail('moderation');
    return null;
  }

  fail(kind) {
    if (this.failed) return 'error';
    this.failed = true;
    this.on.error(kind);
    return 'error';
  }
}

/**
 * Reads a fetched SSE response into `turn` with getReader() and a streaming TextDecoder; aborts the
 * fetch (`controller`) right after [DONE] or message_stream_complete as `abortAfter` says, as the
 * real page does ('none': reads on to the end of the body). `idleMs` without a byte: the page
 * aborts the fetch itself (`controller`) and the read ends 'idle' (the real page's rule, 60 s).
 * Resolves to how it ended: 'done' | 'complete' | 'eof' | 'error' | 'idle' | 'broken'.
 */
export async function readResponse(response, turn, { controller, abortAfter = 'done', idleMs = 60000 }) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let outcome = null;
  const parser = sseParser((e) => {
    if (outcome) return;
    const r = turn.event(e);
    if (r === 'error') outcome = 'error';
    else if (r === 'done' && abortAfter !== 'none') outcome = 'done';
    else if (r === 'complete' && abortAfter === 'complete') outcome = 'complete';
  });
  let timer = 0;
  let idle = false;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      idle = true;
      controller.abort(); // the page gives up on this read itself
    }, idleMs);
  };
  arm();
  try {
    while (!outcome) {
      const chunk = await reader.read();
      if (chunk.done) break;
      arm();
      parser.push(decoder.decode(chunk.value, { stream: true }));
    }
    if (!outcome) parser.push(decoder.decode());
  } catch {
    if (!outcome) return idle ? 'idle' : 'broken';
  } finally {
    clearTimeout(timer);
  }
  if (idle && !outcome) return 'idle';
  if (outcome === 'done' || outcome === 'complete') controller.abort(); // the page stops its own read
  return outcome ?? (turn.done ? 'done' : 'eof');
}

/**
 * The rest of a handed-off turn on the user's socket: GET /backend-api/celsius/ws/user for its
 * URL, then JSON frames whose stream items (deduplicated by stream_item_id) carry SSE text, until
 * {type:'done'}; `idleMs` without a frame closes it ('idle'). Resolves to 'done' | 'error' |
 * 'closed' | 'idle'.
 */
export async function readSocket(turn, topicId, { idleMs = 30000 } = {}) {
  const r = await fetch('/backend-api/celsius/ws/user');
  const { websocket_url: url } = await r.json();
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    let ended = false;
    let idle = 0;
    const wake = () => {
      clearTimeout(idle);
      idle = setTimeout(() => end('idle'), idleMs);
    };
    const end = (how) => {
      if (ended) return;
      ended = true;
      clearTimeout(idle);
      if (ws.readyState <= 1) ws.close(1000);
      resolve(how);
    };
    ws.addEventListener('open', () => ws.send(JSON.stringify({ type: 'subscribe', topic_id: topicId })));
    wake();
    ws.addEventListener('message', (event) => {
      wake();
      let m;
      try {
        m = JSON.parse(event.data);
      } catch {
        return;
      }
      if (m?.type === 'done') {
        end('done');
        return;
      }
      const item = m?.payload?.payload;
      if (m?.type !== 'message' || item?.type !== 'stream-item' || typeof item.encoded_item !== 'string') return;
      if (turn.seenItems.has(item.stream_item_id)) return; // a replay
      turn.seenItems.add(item.stream_item_id);
      const parser = sseParser((e) => {
        if (turn.event(e) === 'error') end('error');
      });
      parser.push(item.encoded_item);
    });
    ws.addEventListener('close', () => end('closed'));
  });
}
