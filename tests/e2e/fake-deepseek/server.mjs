// A local impersonation of https://chat.deepseek.com (as the reference records it: shared/reference
// chat-sites.md, section chat.deepseek.com and its corrections; the streams are shaped on the
// captures in tests/fixtures/sites/deepseek/) for end-to-end tests. HTTPS on loopback
// (`launch({ hostRules: { 'chat.deepseek.com': port } })`), a strict CSP without
// 'wasm-unsafe-eval', and a page with the DOM the adapter (src/detect/rules/deepseek.json) reads:
// turns `.ds-message` (the user's and the answer's), the answer body `.ds-markdown` (thinking is
// shown apart, in `.ds-think-content`), the composer `textarea#chat-input`, and an error line whose
// class holds "error" in the answer's turn.
//
// A new chat is made with POST /api/v0/chat_session/create; each send first fetches a proof-of-work
// challenge (POST /api/v0/chat/create_pow_challenge), then is POST /api/v0/chat/completion with the
// page's JSON body ({chat_session_id, parent_message_id, prompt, ref_file_ids, thinking_enabled,
// search_enabled}). The answer streams as DeepSeek's SSE (LF line ends, compact JSON): `event:
// ready`, `event: update_session`, the first `{"v":{"response":{...}}}` document, then `{v, p, o}`
// patches (APPEND, SET, BATCH; `-1` is the last fragment; a bare `{"v"}` continues the last path and
// op), THINK and RESPONSE fragments, `event: finish`, `event: title` (a new chat's first answer),
// `event: close`.
//
// Tests steer it with `site.setMode(state)` (the state given replaces the previous one over the
// defaults). Fields:
// - mode: 'healthy' (the whole answer) | 'status' (the send answers `status` with `body`; default:
//   DeepSeek's `{code, msg, data}` envelope for 429, an nginx page for 502/503, an envelope for
//   others) | 'busy' (`event: ready`, then `event: hint` of type error with the server-busy text
//   and `finish_reason: "server_busy"`, then `event: close`: no answer) | 'biz' (HTTP 200, a JSON
//   `{code: 0, data: {biz_code: 3, biz_msg: <server busy>}}` envelope instead of a stream) |
//   'envelope' (an SSE whose only event is `data: {"code":40003,"msg":"Too many requests, please
//   slow down","data":null}`) | 'cut' (ready and the first document, then the connection ends
//   without `finish`; the page shows DeepSeek's server-busy line in the turn) | 'stall' (part of
//   the answer, then silence with the connection open).
// - answer, thinking (text of a THINK fragment streamed before the answer, or null), tip (the text
//   of an `event: hint` of type tip sent before `finish`, or null), tokenDelayMs, status, body;
// - history: turns every chat holds before the ones this fake answered, [{prompt, answer?,
//   thinking?}].
//
// The conversation read: GET /api/v0/chat/history_messages?chat_session_id=<id> answers the
// envelope around `{chat_session: {id, title, current_message_id, …}, chat_messages: [{message_id,
// parent_id, role, status, inserted_at, fragments: [{type: REQUEST|THINK|RESPONSE, content}]}]}`
// (the shape of tests/fixtures/sites/deepseek/read.json): the `history` turns, then the turns this
// fake answered in that session (a first send without a parent follows the history). The page,
// opened at /a/chat/s/<id>, loads the chat through it (over XMLHttpRequest, as the real page does)
// and continues from its current message.
import path from 'node:path';
import { sleep, startFakeSite, tokens } from '../fake-site/server.mjs';

const HERE = path.dirname(new URL(import.meta.url).pathname);

export const DEEPSEEK_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

/** DeepSeek's server-busy text, as its stream and its envelopes carry it. */
export const BUSY_TEXT = '服务器繁忙，请稍后再试。';
/** The line the (English) page shows in the answer's place when the server is busy. */
export const BUSY_LINE = 'The server is busy. Please try again later.';

const DEFAULT_STATE = {
  mode: 'healthy',
  answer: '你好！😊 Here is a short answer, streamed the way DeepSeek streams it.',
  thinking: null,
  tip: null,
  tokenDelayMs: 10,
  status: 429,
  body: null,
  history: [],
};

const STATIC = {
  '/app.js': 'text/javascript; charset=utf-8',
  '/app.css': 'text/css; charset=utf-8',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>DeepSeek - Into the Unknown</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<div id="root">
  <div class="chat-scroll"><div id="thread"></div></div>
  <div class="composer">
    <textarea id="chat-input" rows="2" placeholder="Message DeepSeek"></textarea>
    <div role="button" tabindex="0" class="ds-button send-button" aria-label="Send">Send</div>
  </div>
</div>
</body>
</html>
`;

/** One SSE event as chat.deepseek.com writes it (LF line ends, compact JSON). */
const sse = (data, name = null) => `${name ? `event: ${name}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
/** DeepSeek's `{code, msg, data}` envelope around a `biz_data`. */
const envelope = (bizData, bizCode = 0, bizMsg = '') => ({ code: 0, msg: '', data: { biz_code: bizCode, biz_msg: bizMsg, biz_data: bizData } });
const CLOSE = { click_behavior: 'none', auto_resume: false };

const NGINX = (status, words) => `<html>\r\n<head><title>${status} ${words}</title></head>\r\n<body>\r\n<center><h1>${status} ${words}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;

/** One message of the read, as `history_messages` lists it. */
const readMessage = (id, parent, role, fragments, at) => ({
  message_id: id, parent_id: parent, model: '', role, thinking_enabled: fragments.some(([t]) => t === 'THINK'),
  ban_edit: false, ban_regenerate: false, status: 'FINISHED', accumulated_token_usage: 0, files: [], inserted_at: at,
  search_enabled: false, feedback: null, has_pending_fragment: false, auto_continue: false, conversation_mode: 'DEFAULT',
  fragments: fragments.map(([type, content], i) => ({ id: i + 1, type, content, references: [], stage_id: 1 })),
});

export async function startFakeDeepseek({ port = 0, defaults = {} } = {}) {
  let nextMessage = 1;
  const titled = new Set(); // sessions whose title was sent
  const chats = new Map(); // session id → {title, messages: [...]} of the turns answered

  /** The conversation read of session `id`: the history turns, then the answered ones. */
  function historyMessages(id, s) {
    const messages = [];
    let last = null;
    let n = 100001;
    const at = Date.now() / 1000 - 3600;
    for (const h of s.history ?? []) {
      const asked = n++;
      messages.push(readMessage(asked, last, 'USER', [['REQUEST', h.prompt]], at));
      last = asked;
      if (h.answer != null) {
        const answered = n++;
        messages.push(readMessage(answered, asked, 'ASSISTANT', [...(h.thinking ? [['THINK', h.thinking]] : []), ['RESPONSE', h.answer]], at));
        last = answered;
      }
    }
    const chat = chats.get(id);
    for (const m of chat?.messages ?? []) messages.push(m.parent_id === null && m.role === 'USER' ? { ...m, parent_id: last } : m);
    const current = messages.at(-1)?.message_id ?? null;
    return envelope({
      chat_session: { id, seq_id: 1, agent: 'chat', title: chat?.title ?? null, title_type: chat?.title ? 'SYSTEM' : 'WIP', version: messages.length, current_message_id: current, pinned: false, inserted_at: at, updated_at: Date.now() / 1000 },
      chat_messages: messages,
    });
  }
  const site = await startFakeSite({
    host: 'chat.deepseek.com',
    csp: DEEPSEEK_CSP,
    page: PAGE,
    dir: HERE,
    files: STATIC,
    defaults: { ...DEFAULT_STATE, ...defaults },
    port,
    pages: (p) => p === '/' || /^\/a\/chat\/s\/[0-9a-f-]{36}$/.test(p),
    route: ({ req, res, url, path: p, body, state, json, headers, hold }) => {
      if (req.method === 'POST' && p === '/api/v0/chat_session/create') {
        json(200, envelope({ id: crypto.randomUUID(), seq_id: 1, agent: 'chat', title: null, title_type: 'WIP', updated_at: Date.now() / 1000 }));
        return true;
      }
      if (req.method === 'POST' && p === '/api/v0/chat/create_pow_challenge') {
        json(200, envelope({ challenge: { algorithm: 'DeepSeekHashV1', challenge: crypto.randomUUID().replace(/-/g, ''), salt: 'a1b2c3d4e5f6', difficulty: 144000, expire_at: Date.now() + 300000, signature: 'f'.repeat(64), target_path: '/api/v0/chat/completion' } }));
        return true;
      }
      if (req.method === 'POST' && p === '/api/v0/chat/completion') return completion(res, body, headers, state, hold).then(() => true);
      if (req.method === 'GET' && p === '/api/v0/chat/history_messages') {
        json(200, historyMessages(url.searchParams.get('chat_session_id') ?? '', state));
        return true;
      }
      if (p.startsWith('/api/')) {
        json(404, { code: 404, msg: 'Not Found', data: null });
        return true;
      }
      return false;
    },
  });

  async function completion(res, body, common, s, hold) {
    if (s.mode === 'status') {
      const html = s.status === 502 || s.status === 503;
      res.writeHead(s.status, { ...common, 'content-type': html ? 'text/html' : 'application/json' });
      const fallback = s.status === 429
        ? JSON.stringify({ code: 40003, msg: 'Too many requests, please slow down', data: null })
        : html ? NGINX(s.status, s.status === 502 ? 'Bad Gateway' : 'Service Temporarily Unavailable') : JSON.stringify({ code: s.status, msg: 'Internal Server Error', data: null });
      res.end(s.body ?? fallback);
      return;
    }
    if (s.mode === 'biz') {
      res.writeHead(200, { ...common, 'content-type': 'application/json' });
      res.end(JSON.stringify(envelope(null, 3, BUSY_TEXT.slice(0, -1))));
      return;
    }
    let request = {};
    try {
      request = JSON.parse(body);
    } catch {
      request = {};
    }
    res.writeHead(200, { ...common, 'content-type': 'text/event-stream; charset=utf-8', 'x-accel-buffering': 'no' });
    if (s.mode === 'envelope') {
      res.end(sse({ code: 40003, msg: 'Too many requests, please slow down', data: null }));
      return;
    }
    const asked = nextMessage++;
    const answered = nextMessage++;
    res.write(sse({ request_message_id: asked, response_message_id: answered }, 'ready'));
    if (s.mode === 'busy') {
      await sleep(30);
      res.write(sse({ type: 'error', content: BUSY_TEXT, clear_response: true, finish_reason: 'server_busy' }, 'hint'));
      res.end(sse(CLOSE, 'close'));
      return;
    }
    res.write(sse({ updated_at: Date.now() / 1000 }, 'update_session'));
    res.write(sse({ v: { response: { message_id: answered, parent_id: asked, model: '', role: 'ASSISTANT', thinking_enabled: !!s.thinking, status: 'WIP', accumulated_token_usage: 0, fragments: [] } } }));
    if (s.mode === 'cut') {
      await sleep(50);
      res.end();
      return;
    }
    let fragment = 1;
    if (s.thinking) {
      const thought = tokens(s.thinking);
      res.write(sse({ v: [{ id: fragment++, type: 'THINK', content: thought[0], elapsed_secs: null }], p: 'response/fragments', o: 'APPEND' }));
      for (let i = 1; i < thought.length; i++) {
        await sleep(s.tokenDelayMs);
        res.write(sse(i === 1 ? { v: thought[i], p: 'response/fragments/-1/content', o: 'APPEND' } : { v: thought[i] }));
      }
      res.write(sse({ v: [{ v: 1.5, p: 'elapsed_secs' }], p: 'response/fragments/-1', o: 'BATCH' }));
    }
    const words = tokens(s.answer);
    const upTo = s.mode === 'stall' ? Math.max(2, Math.floor(words.length / 2)) : words.length;
    // The answer's fragment: appended to the list, then its text to the last fragment.
    if (s.thinking) {
      res.write(sse({ v: [{ id: fragment, type: 'RESPONSE', content: words[0], elapsed_secs: null, references: [], stage_id: 1 }], p: 'response/fragments', o: 'APPEND' }));
    } else {
      res.write(sse({ v: [{ v: false, p: 'has_pending_fragment' }, { v: [{ id: fragment, type: 'RESPONSE', content: words[0], elapsed_secs: null, references: [], stage_id: 1 }], p: 'fragments', o: 'APPEND' }], p: 'response', o: 'BATCH' }));
    }
    for (let i = 1; i < upTo; i++) {
      if (res.destroyed) return;
      await sleep(s.tokenDelayMs);
      res.write(sse(i === 1 ? { v: words[i], p: 'response/fragments/-1/content', o: 'APPEND' } : { v: words[i] }));
    }
    if (s.mode === 'stall') {
      hold(res);
      return; // silence, the connection open
    }
    if (s.thinking) res.write(sse({ v: 'FINISHED', p: 'response/status', o: 'SET' }));
    else res.write(sse({ v: [{ v: 'FINISHED', p: 'status' }, { v: 20 + words.length, p: 'accumulated_token_usage' }], p: 'response', o: 'BATCH' }));
    if (s.tip) res.write(sse({ type: 'tip', content: s.tip }, 'hint'));
    res.write(sse({}, 'finish'));
    const session = request.chat_session_id;
    if (typeof session === 'string') {
      const chat = chats.get(session) ?? { title: null, messages: [] };
      chats.set(session, chat);
      const now = Date.now() / 1000;
      const parent = Number.isInteger(request.parent_message_id) ? request.parent_message_id : null;
      chat.messages.push(readMessage(asked, parent, 'USER', [['REQUEST', String(request.prompt ?? '')]], now));
      chat.messages.push(readMessage(answered, asked, 'ASSISTANT', [...(s.thinking ? [['THINK', s.thinking]] : []), ['RESPONSE', s.answer]], now));
    }
    if (session && !titled.has(session)) {
      titled.add(session);
      const title = `Chat about ${String(request.prompt ?? '').split(/\s+/).slice(0, 4).join(' ')}`;
      if (chats.has(session)) chats.get(session).title = title;
      res.write(sse({ content: title }, 'title'));
    }
    res.end(sse(CLOSE, 'close'));
  }

  return {
    ...site,
    /** The prompts of the sends received, in order. */
    prompts: () => site.requests.filter((r) => r.method === 'POST' && r.path === '/api/v0/chat/completion').map((r) => {
      try {
        return JSON.parse(r.body).prompt;
      } catch {
        return null;
      }
    }),
  };
}
