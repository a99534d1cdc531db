// A local impersonation of https://chatgpt.com (as the real site behaves in late 2026) for end-to-end
// tests, the demo and the benchmarks. HTTPS with a self-signed certificate (chatgpt.com,
// chat.openai.com, ws.chatgpt.com), loopback only, a strict CSP without 'wasm-unsafe-eval' (as a real
// site may send), and a small page that behaves like ChatGPT's: a composer, turns in either of the two
// DOM renderers, an answer streamed in delta encoding v1 from POST /backend-api/f/conversation (or
// handed off to .../f/conversation/resume or to a WebSocket on ws.chatgpt.com), conversations loaded
// with the paged plural GET, and ChatGPT's error boxes when the backend fails.
//
// Tests steer it with `site.setMode(state)` or POST /__control (the same: the state given replaces
// the previous one over the defaults; never reachable from outside the machine; GET /__control reads
// it). `startFakeChatgpt({defaults})` changes the defaults for a whole test file. Fields:
// Backend (take effect at the next request):
// - mode: 'healthy' (the whole answer, [DONE]) | 'status' (answers `status` with `body` and `headers`)
//   | 'stream_error' (half the answer, then an error root: v1 `{"p":"","o":"add","v":{"message":null,
//   …,"error":streamError,"error_code":streamErrorCode}}`, legacy `{"message":null,…,"error":…}`; no
//   [DONE]) | 'moderation' (half the answer, then `{"type":"moderation","conversation_id",
//   "message_id","moderation_response":{"flagged":true,"blocked":true,"disclaimers":[]}}`, then
//   [DONE]) | 'too_long' (the send is answered 400 `{"detail":{"message":"You've reached the maximum
//   length for this conversation, but you can keep talking by starting a new chat.","code":
//   "conversation_too_large"}}`) | 'stall' (half the answer, then silence, the connection open) |
//   'hang' (no byte at all) | 'drop' or anything else (half the answer, then the connection closes
//   without [DONE]). With a handoff the mode applies to where the answer continues (resume stream
//   or socket) the first time; a later resume gets the rest whole.
// - answer, tokenDelayMs (the wait after each token), status, body, headers, streamError, streamErrorCode.
// - encoding: 'v1' (default: v1 for a request whose supported_encodings has 'v1', as the real site
//   does, else the legacy snapshots) | 'legacy' (always the old snapshot stream: one full
//   `{"message":…}` per token, [DONE]; every chat is 6a1f0c3e-… unless conversationId says).
// - chunkMin, chunkMax (bytes, default 30 and 6144), seed (default 1): v1 streams are written in
//   chunks of seeded random sizes, cut anywhere (inside lines and UTF-8 characters), chunkGapMs
//   (default 2) apart within a burst so that the page reads them one by one; pad (default true):
//   delta lines padded with 0-7 trailing spaces as in real captures.
// - conversationId: the id of every new chat (default: a fresh UUID each); title: the title of new
//   chats (default: made from the prompt); thoughts: true streams a thoughts and a reasoning_recap
//   message before the answer.
// - thinkMs (default 0): a thinking model: after the echoes (and the thoughts) the turn is silent
//   (not a byte) for thinkMs, counted from when a stream of the turn first reaches that point, then
//   the answer streams. Whichever stream carries the turn then (the POST, a resume, the socket)
//   waits for the same moment: a resume during the silence sends its declaration, is silent through
//   what remains of it, and streams the answer as it is produced.
// - dropAfterMs: the send's POST stream is cut dropAfterMs after it began (a clean end without
//   [DONE], wherever it is: mid-line, in the thinking silence); the turn goes on, a resume gets the
//   rest (default null: never).
// - document: {status (default 503), kind: 'nginx' | 'cloudflare' | 'json'}: GET / and /c/* fail
//   with that status and a bare page, no app markup and no script: nginx's "<status> Service
//   Temporarily Unavailable" page, a Cloudflare error page (#cf-wrapper > #cf-error-details, title
//   "chatgpt.com | 502: Bad gateway"), or `{"detail":"Service Unavailable"}` as application/json.
// - handoff: 'resume' | 'ws': the POST answers only delta_encoding, the resume token, the echo of the
//   user message, stream_handoff and [DONE]; the rest comes from POST .../f/conversation/resume
//   {conversation_id, offset} (offset: the SSE events consumed so far, each stream's delta_encoding
//   declaration not counted, [DONE] counted: 4 after a handoff) or as JSON frames on
//   wss://ws.chatgpt.com/ws/user/u-123 (URL from GET /backend-api/celsius/ws/user; one item sent
//   twice; then {type:'done'}). wsReplay: false sends no duplicate. resumeStatus/resumeBody: the
//   resume endpoint fails so (body default: 404's `{"detail":{"message":"A network error occurred.
//   Please check your connection and try again.","code":"tokenless_resume_unavailable"}}`). Any v1
//   turn can be resumed from an offset (the rest comes whole, paced as it is produced).
// - conversations: {id: export-shaped conversation} seeds what the GETs return (others: the server's
//   memory of the chats sent to, then `sampleConversation(id)`).
// - markTemporaryChat, markDoNotRemember: conversation bodies carry is_temporary_chat /
//   is_do_not_remember true (a chat started from a temporary page carries both anyway).
// - sentKeep: how many streams GET /__sent keeps (default 50).
// Page (read when the page loads: set before page.goto):
// - renderer: 'legacy' (section[data-testid^="conversation-turn-"], [data-message-author-role],
//   .markdown.prose) | 'search-unit' ([data-turn-key] roots, [data-user-message-bubble],
//   [data-chatgpt-selection-message-id], [data-markdown-text-style="assistant-message"]).
// - window: N keeps only the last N turn roots in the DOM (0: all).
// - loadOlder: true makes /c/<id> load the older pages by itself (else a "Load older" button).
// - abortAfter: 'done' (default: the page aborts its fetch right after [DONE]) | 'complete' (right
//   after message_stream_complete) | 'none'.
// - sendHistoryDisabled, sendDoNotRemember: the send request carries history_and_training_disabled:
//   true / is_do_not_remember: true (a /?temporary-chat=true page sends is_do_not_remember: true).
// - backend: 'backend-api' (default; 'backend-anon' with loggedOut) | 'backend-anon' | 'backend-alt':
//   where the page sends (and resumes).
// - loggedOut: true: the header shows button[data-testid="login-button"] (and a sign-up button), and
//   the page sends to /backend-anon/f/conversation unless `backend` says otherwise.
// - model (default 'gpt-5-6'); pushUrl (default true): the page moves to /c/<id>
//   (history.replaceState) once a new chat has its id, as the real page does (never on a temporary
//   chat); false keeps it where it is.
// - pageIdleMs (default 60000, the real page's rule): when a read of the page (the send, a resume)
//   gets no byte for pageIdleMs (or no response at all), the page aborts it itself (its own
//   AbortController) and POSTs .../f/conversation/resume {conversation_id, offset} (offset: the SSE
//   events it consumed), again each time a resume is idle that long, at most 12 resumes a send
//   (a send that never got a byte of its turn is not resumed: it fails). The socket of a ws
//   handoff is given up after the same silence, then the page resumes. resumeOnDrop: the page also
//   resumes a stream that ended (or broke) without [DONE] (else the page shows a network error).
//   Resumes answered 408, 409, 425, 429, 502, 504 or broken are retried (300 ms doubling to 5 s).
//   While the page resumes after a drop or an idle wait, the answer's turn shows
//   div[role="status"] > span.text-chatgpt-recovery "Connection interrupted. Waiting for the
//   complete answer", removed as soon as answer text comes again (or the turn ends).
// - stop: 'aria' (default, as the 2026 page: button[aria-label="Stop streaming"], no test id) |
//   'testid' (the same button with data-testid="stop-button"); shown while an answer streams.
// - banner (text): a banner above the composer, shown as the first answer starts streaming and left
//   there (a downgrade notice, e.g. "You've hit the Free plan limit for GPT-5. Responses will use
//   another model until your limit resets after 3:54 PM."), in div[data-testid="composer-banner"];
//   bannerRole: 'alert' puts it in div[role="alert"] instead.
// - oldError (text): the chat's history shows, above the current turns, an earlier exchange whose
//   answer is a .text-token-text-error box with that text (no Retry button), then an exchange that
//   went well (the error is upstream of the latest turn), in either renderer.
// - surface: 'turn' | 'alert' | 'dialog' | 'toast' | 'surface-error', and surfaceText: every failed
//   send of the page shows surfaceText (default: its own error text) on that surface instead of its
//   own (see below).
// How the page shows a failure (never with ?quiet=1), by default: a failed send (HTTP error), a
// stream error root, a send whose connection failed, broke or ended without [DONE] (not resumed), a
// handoff left unfinished: `.text-token-text-error` in the answer's turn with
// button[data-testid="regenerate-thread-error-button"] ("Retry"); a moderation block: that box with
// "This content may violate our usage policies."; a send answered 400 conversation_too_large: that
// box with the body's message and a "Start new chat" button; a 429 on the send: a [role="dialog"]
// (not in a turn) "Too many requests" / "You're making requests too quickly. …" with "Got it"; a
// failed resume (an unretried status, e.g. 404 tokenless_resume_unavailable) or resumes exhausted:
// aside[role="alert"] above the composer with the error's message and a "Retry" button (which sends
// the prompt again). The surfaces `surface` chooses: 'turn' (the box in the answer's turn),
// 'alert' (the aside), 'dialog', 'toast' ([data-testid="toast-error"] in a toast region),
// 'surface-error' (aside[class*="surface-error"] above the composer, with Retry). A new send clears
// the alerts and toasts of the previous one. The recovery status, banners and oldError are not
// failure surfaces: they show with ?quiet=1 too.
// Page URL parameters: ?quiet=1 (no error surfaces of its own: network-only detection), ?noload=1 (no
// conversation GET on /c/<id>: a conversation seeded in `conversations` comes embedded in the HTML
// and is shown, any other is not shown at all), ?message=<id> (the singular GET, as the real page
// does for such links).
// What was sent: GET /__sent?n=N -> {streams: [{seq, kind: 'send'|'resume'|'ws', path, encoding,
// conversation_id, turn_id, request, mode, text (the SSE text sent), chunks (the sizes written),
// frames (ws), answer (the answer text this stream carried), complete (it carried the closing patch),
// ended, cut (dropAfterMs cut it), offset (a resume's)}], answers: [{conversation_id, message_id,
// text}] (each finished answer)}; DELETE /__sent
// clears it; in-process: site.sent(n), site.clearSent(), site.conversation(id) (the server's memory).
// Every request: site.requests [{method (WEBSOCKET for an upgrade), path, host, body}].
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { page, pluralBody, sampleConversation, singularBody } from './store.mjs';
import { createTurns, resume, send, socketUrl, userSocket } from './turns.mjs';
import { accept, closePayload, frame } from './ws.mjs';
import { sleep } from './v1.mjs';

export { sampleConversation };

const HERE = path.dirname(new URL(import.meta.url).pathname);
const ROOT = path.resolve(HERE, '../../..');
const CERT_DIR = path.join(ROOT, 'target', 'e2e', 'cert');
const HOSTS = ['chatgpt.com', 'chat.openai.com', 'ws.chatgpt.com'];

const covers = (pem) => {
  try {
    const names = (new crypto.X509Certificate(pem).subjectAltName ?? '').split(', ');
    return HOSTS.every((h) => names.includes(`DNS:${h}`));
  } catch {
    return false;
  }
};
const paired = (key, cert) => {
  try {
    return new crypto.X509Certificate(cert).checkPrivateKey(crypto.createPrivateKey(key));
  } catch {
    return false;
  }
};

/**
 * A self-signed certificate for chatgpt.com and its other hosts, made once with openssl and reused
 * (made again when the list of hosts changed).
 */
export function certificate() {
  const key = path.join(CERT_DIR, 'key.pem');
  const cert = path.join(CERT_DIR, 'cert.pem');
  if (!fs.existsSync(cert) || !fs.existsSync(key) || !covers(fs.readFileSync(cert))) {
    fs.mkdirSync(CERT_DIR, { recursive: true });
    const tmp = `.${process.pid}-${Date.now()}`;
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key + tmp, '-out', cert + tmp, '-days', '3650',
      '-subj', '/CN=chatgpt.com', '-addext', `subjectAltName=${HOSTS.map((h) => `DNS:${h}`).join(',')}`,
    ], { stdio: 'ignore' });
    fs.renameSync(key + tmp, key);
    fs.renameSync(cert + tmp, cert);
  }
  // Another process may be between its two renames: wait for a matching pair.
  for (let i = 0; ; i++) {
    const pair = { key: fs.readFileSync(key), cert: fs.readFileSync(cert) };
    if (paired(pair.key, pair.cert) || i >= 40) return pair;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}

export const STRICT_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' wss://ws.chatgpt.com; object-src 'none'; base-uri 'none'";

const DEFAULT_STATE = {
  mode: 'healthy',
  answer: 'Here is a short answer, streamed the way ChatGPT streams it.',
  tokenDelayMs: 5,
  status: 503,
  body: '{"detail":"Hmm...something seems to have gone wrong. Maybe try me again in a little bit."}',
  headers: {},
  streamError: 'Something went wrong while generating the response.',
  streamErrorCode: null,
  encoding: 'v1',
  chunkMin: 30,
  chunkMax: 6144,
  chunkGapMs: 2,
  seed: 1,
  pad: true,
  conversationId: null,
  title: null,
  thoughts: false,
  handoff: null,
  wsReplay: true,
  resumeStatus: null,
  resumeBody: null,
  // GET /backend-api/conversation(s)/<id>: export-shaped conversations by id (others: memory, then a small default).
  conversations: {},
  markTemporaryChat: false,
  markDoNotRemember: false,
  sentKeep: 50,
  // The page's own behaviour (read when it loads).
  renderer: 'legacy',
  window: 0,
  loadOlder: false,
  abortAfter: 'done',
  sendHistoryDisabled: false,
  sendDoNotRemember: false,
  backend: null, // 'backend-api', or 'backend-anon' when loggedOut
  model: 'gpt-5-6',
  resumeOnDrop: false,
  pushUrl: true,
  pageIdleMs: 60000,
  surface: null,
  surfaceText: null,
  banner: null,
  bannerRole: null,
  oldError: null,
  stop: 'aria',
  loggedOut: false,
  // The backend: thinking silence, a send cut mid-stream, a failed document.
  thinkMs: 0,
  dropAfterMs: null,
  document: null,
};

const PAGE_FIELDS = [
  'renderer', 'window', 'loadOlder', 'abortAfter', 'sendHistoryDisabled', 'sendDoNotRemember', 'backend', 'model', 'resumeOnDrop', 'pushUrl',
  'pageIdleMs', 'surface', 'surfaceText', 'banner', 'bannerRole', 'oldError', 'stop', 'loggedOut',
];
const STATIC = { '/app.js': 'text/javascript', '/stream.js': 'text/javascript', '/render.js': 'text/javascript', '/app.css': 'text/css' };
const SEND = /^\/backend-(?:api|anon|alt)\/f\/conversation$/;
const RESUME = /^\/backend-(?:api|anon|alt)\/f\/conversation\/resume$/;
const ID = '([0-9A-Za-z_-]{1,100})';
const PLURAL = new RegExp(`^/backend-api/conversations/${ID}$`);
const OLDER = new RegExp(`^/backend-api/conversations/${ID}/messages$`);
const SINGULAR = new RegExp(`^/backend-api/conversation/${ID}$`);
const STREAM_STATUS = new RegExp(`^/backend-api/conversation/${ID}/stream_status$`);
const USER_SOCKET = /^(?:\/p24)?\/ws\/user\/[0-9A-Za-z_-]{1,100}$/;

/**
 * Starts the fake site on loopback (`port` 0: any free port). `defaults` are merged over the
 * built-in defaults, and every later state over them.
 */
export async function startFakeChatgpt({ port = 0, defaults = {} } = {}) {
  const base = { ...DEFAULT_STATE, ...defaults };
  let state = { ...base };
  const requests = [];
  const turns = createTurns(() => state);
  const setState = (next) => {
    state = { ...base, ...next };
    // Seeded conversations replace what the server remembered of them.
    for (const id of Object.keys(next?.conversations ?? {})) turns.conversations.delete(id);
  };
  const sent = (n = 20) => ({ streams: turns.sent.slice(-Math.max(1, n)), answers: turns.answers.slice() });
  const marks = (id) => ({
    temporary: state.markTemporaryChat || turns.temporary.has(id),
    doNotRemember: state.markDoNotRemember || turns.temporary.has(id),
  });
  const server = https.createServer(certificate(), async (req, res) => {
    const url = new URL(req.url, 'https://chatgpt.com');
    const body = await readBody(req);
    requests.push({ method: req.method, path: url.pathname, host: req.headers.host ?? null, body });
    const common = { 'content-security-policy': STRICT_CSP, 'cache-control': 'no-store' };
    const json = (status, value) => {
      res.writeHead(status, { ...common, 'content-type': 'application/json' });
      res.end(typeof value === 'string' ? value : JSON.stringify(value));
    };
    const p = url.pathname;

    if (p === '/__control' && req.method === 'POST') {
      setState(JSON.parse(body || '{}'));
      res.writeHead(204).end();
      return;
    }
    if (p === '/__control' && req.method === 'GET') return json(200, state);
    if (p === '/__sent' && req.method === 'GET') return json(200, sent(Number(url.searchParams.get('n')) || 20));
    if (p === '/__sent' && req.method === 'DELETE') {
      turns.sent.length = 0;
      turns.answers.length = 0;
      res.writeHead(204).end();
      return;
    }
    if (STATIC[p]) {
      res.writeHead(200, { ...common, 'content-type': STATIC[p] });
      res.end(fs.readFileSync(path.join(HERE, p.slice(1))));
      return;
    }
    if (p === '/backend-api/test-events' && req.method === 'GET') {
      // An event stream for an EventSource: two messages, then as `mode` says: `error` (an error
      // event, then the connection drops), `hold` (stays open), else the connection drops.
      const mode = url.searchParams.get('mode');
      res.writeHead(200, { ...common, 'content-type': 'text/event-stream' });
      res.write('retry: 600000\n\ndata: {"v": "one"}\n\n');
      await sleep(50);
      res.write('data: {"v": "two"}\n\n');
      if (mode === 'error') res.write(`data: ${JSON.stringify({ message: null, error: ERRORS_IN_STREAM })}\n\n`);
      if (mode !== 'hold') res.end();
      return;
    }
    if (SEND.test(p) && req.method === 'POST') return send(turns, req, res, body, common);
    if (RESUME.test(p) && req.method === 'POST') return resume(turns, req, res, body, common);
    if (p === '/backend-api/celsius/ws/user' && req.method === 'GET') return json(200, socketUrl());
    if (p === '/backend-api/stop_conversation' && req.method === 'POST') return json(200, {});
    let m;
    if ((m = PLURAL.exec(p)) && req.method === 'GET') {
      const numTurns = Number(url.searchParams.get('num_turns')) || 10;
      return json(200, pluralBody(turns.find(m[1]), { numTurns, ...marks(m[1]) }));
    }
    if ((m = OLDER.exec(p)) && req.method === 'GET') {
      const numTurns = Number(url.searchParams.get('num_turns')) || 10;
      return json(200, page(turns.find(m[1]), { numTurns, before: url.searchParams.get('before') }));
    }
    if ((m = SINGULAR.exec(p)) && req.method === 'GET') return json(200, singularBody(turns.find(m[1]), marks(m[1])));
    if ((m = STREAM_STATUS.exec(p)) && req.method === 'GET') {
      const turn = turns.latest.get(m[1]);
      return json(200, { status: !turn || turn.finished ? 'COMPLETE' : 'IS_STREAMING' });
    }
    if (p.startsWith('/fixtures/')) {
      // Saved pages from tests/fixtures/pages, served as the whole document.
      const file = path.join(ROOT, 'tests', 'fixtures', 'pages', path.basename(p));
      if (fs.existsSync(file)) {
        res.writeHead(200, { ...common, 'content-type': 'text/html; charset=utf-8' });
        res.end(fs.readFileSync(file));
        return;
      }
    }
    if ((p === '/' || p.startsWith('/c/')) && state.document) return failedDocument(res, state.document);
    if (p === '/' || p.startsWith('/c/')) {
      const config = Object.fromEntries(PAGE_FIELDS.map((k) => [k, state[k]]));
      config.backend = state.backend ?? (state.loggedOut ? 'backend-anon' : 'backend-api');
      // ?noload=1 on a seeded conversation: its first page comes in the HTML (no GET to watch).
      const open = /^\/c\/([0-9A-Za-z_-]{1,100})$/.exec(p)?.[1];
      if (open && url.searchParams.has('noload') && state.conversations?.[open]) {
        config.embedded = pluralBody(turns.find(open), { numTurns: 10, ...marks(open) });
      }
      const html = fs.readFileSync(path.join(HERE, 'index.html'), 'utf8')
        .replace('{"fake":"config"}', JSON.stringify(config).replace(/</g, '\\u003c'));
      res.writeHead(200, { ...common, 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
      return;
    }
    json(404, '{"detail":"Not Found"}');
  });
  // WebSockets: the user's socket on ws.chatgpt.com (handed-off answers), and a test socket at
  // /backend-api/test-socket?mode=...: two text messages, then `clean` (close 1000), `abrupt` (the
  // connection drops), `error` (an error message, then it stays open) or `hold`. A close from the
  // page is answered with close 1000.
  const sockets = new Set();
  server.on('upgrade', (req, socket) => {
    const url = new URL(req.url, 'https://chatgpt.com');
    const host = String(req.headers.host ?? '').replace(/:\d+$/, '');
    const user = host === 'ws.chatgpt.com' && USER_SOCKET.test(url.pathname);
    const test = host !== 'ws.chatgpt.com' && url.pathname === '/backend-api/test-socket';
    const ws = user || test ? accept(req, socket) : null;
    if (!ws) {
      socket.destroy();
      return;
    }
    requests.push({ method: 'WEBSOCKET', path: url.pathname, host: req.headers.host ?? null, body: '' });
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (user) {
      userSocket(turns, ws, url.pathname);
      return;
    }
    const mode = url.searchParams.get('mode');
    ws.send('{"v": "one"}');
    setTimeout(() => {
      if (!ws.open()) return;
      ws.send('{"v": "two"}');
      if (mode === 'error') ws.send(JSON.stringify({ message: null, error: ERRORS_IN_STREAM }));
      else if (mode === 'clean') socket.end(frame(8, closePayload(1000)));
      else if (mode === 'abrupt') ws.destroy();
    }, 50);
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    requests,
    /** Changes how the backend (and pages loaded from now on) behave. */
    setMode: setState,
    /** The current state. */
    state: () => state,
    /** The last `n` streams sent and every finished answer (as GET /__sent). */
    sent,
    clearSent() {
      turns.sent.length = 0;
      turns.answers.length = 0;
    },
    /** The server's memory of a conversation (export-shaped), or null. */
    conversation: (id) => turns.conversations.get(id) ?? null,
    close: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

const REASONS = { 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Temporarily Unavailable', 504: 'Gateway Time-out', 520: 'Web server is returning an unknown error', 521: 'Web server is down', 522: 'Connection timed out', 524: 'A timeout occurred' };
const CF_REASONS = { 500: 'Internal server error', 502: 'Bad gateway', 503: 'Service unavailable', 504: 'Gateway time-out', 520: 'Web server is returning an unknown error', 521: 'Web server is down', 522: 'Connection timed out', 524: 'A timeout occurred' };

/**
 * The `document` control: the chat page itself fails, as an edge in front of it answers. A bare
 * page with no app markup and no script: nginx's "503 Service Temporarily Unavailable", a
 * Cloudflare error page (#cf-error-details), or a JSON error body.
 */
function failedDocument(res, { status = 503, kind = 'nginx' } = {}) {
  const code = Number.isInteger(status) && status >= 400 && status <= 599 ? status : 503;
  if (kind === 'json') {
    res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end('{"detail":"Service Unavailable"}');
    return;
  }
  let html;
  if (kind === 'cloudflare') {
    const reason = CF_REASONS[code] ?? 'Error';
    const ray = crypto.randomBytes(8).toString('hex');
    html = `<!DOCTYPE html>
<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<html class="no-js" lang="en-US">
<head>
<title>chatgpt.com | ${code}: ${reason}</title>
<meta charset="UTF-8" />
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
<meta name="robots" content="noindex, nofollow" />
<meta name="viewport" content="width=device-width,initial-scale=1" />
</head>
<body>
<div id="cf-wrapper">
  <div id="cf-error-details" class="p-0">
    <header class="mx-auto pt-10 lg:pt-6 lg:px-8 w-240 lg:w-full mb-8">
      <h1 class="inline-block sm:block sm:mb-2 font-light text-60 lg:text-4xl text-black-dark leading-tight mr-2">
        <span class="inline-block">${reason}</span>
        <span class="code-label">Error code ${code}</span>
      </h1>
      <div>Visit <a href="https://www.cloudflare.com/5xx-error-landing?utm_source=errorcode_${code}&amp;utm_campaign=chatgpt.com" target="_blank" rel="noopener noreferrer">cloudflare.com</a> for more information.</div>
      <div class="mt-3">${new Date().toISOString().replace('T', ' ').slice(0, 19)} UTC</div>
    </header>
    <div class="my-8 bg-gradient-gray">
      <div class="w-240 lg:w-full mx-auto">
        <div class="clearfix md:px-8">
          <div id="cf-browser-status" class="cf-column relative w-1/3 md:w-full py-15 md:py-8 md:px-0 px-8 text-center">
            <span class="md:block w-full truncate">You</span> <h3 class="md:inline-block mt-3 md:mt-0 text-2xl text-gray-600 font-light leading-1.3">Browser</h3> <span class="leading-1.3 text-2xl text-green-success">Working</span>
          </div>
          <div id="cf-cloudflare-status" class="cf-column relative w-1/3 md:w-full py-15 md:py-8 md:px-0 px-8 text-center">
            <span class="md:block w-full truncate">Frankfurt</span> <h3 class="md:inline-block mt-3 md:mt-0 text-2xl text-gray-600 font-light leading-1.3">Cloudflare</h3> <span class="leading-1.3 text-2xl text-green-success">Working</span>
          </div>
          <div id="cf-host-status" class="cf-error-source cf-column relative w-1/3 md:w-full py-15 md:py-8 md:px-0 px-8 text-center">
            <span class="md:block w-full truncate">chatgpt.com</span> <h3 class="md:inline-block mt-3 md:mt-0 text-2xl text-gray-600 font-light leading-1.3">Host</h3> <span class="leading-1.3 text-2xl text-red-error">Error</span>
          </div>
        </div>
      </div>
    </div>
    <div class="w-240 lg:w-full mx-auto mb-8 lg:px-8">
      <div class="clearfix">
        <div class="w-1/2 md:w-full float-left pr-6 md:pb-10 md:pr-0 leading-relaxed">
          <h2 class="text-3xl font-normal leading-1.3 mb-4">What happened?</h2>
          <p>The web server reported a ${reason.toLowerCase()} error.</p>
        </div>
        <div class="w-1/2 md:w-full float-left leading-relaxed">
          <h2 class="text-3xl font-normal leading-1.3 mb-4">What can I do?</h2>
          <p class="mb-6">Please try again in a few minutes.</p>
        </div>
      </div>
    </div>
    <div class="cf-error-footer cf-wrapper w-240 lg:w-full py-10 sm:py-4 sm:px-8 mx-auto text-center sm:text-left border-solid border-0 border-t border-gray-300">
      <p class="text-13">
        <span class="cf-footer-item sm:block sm:mb-1">Cloudflare Ray ID: <strong class="font-semibold">${ray}</strong></span>
        <span class="cf-footer-separator sm:hidden">&bull;</span>
        <span class="cf-footer-item sm:block sm:mb-1">Performance &amp; security by Cloudflare</span>
      </p>
    </div>
  </div>
</div>
</body>
</html>
`;
  } else {
    const line = `${code} ${REASONS[code] ?? 'Error'}`;
    html = `<html>\r\n<head><title>${line}</title></head>\r\n<body>\r\n<center><h1>${line}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
  }
  res.writeHead(code, { 'content-type': 'text/html', 'cache-control': 'no-store' });
  res.end(html);
}

// The error a stream or a socket reports in the channel tests (a short ChatGPT error text).
const ERRORS_IN_STREAM = 'Error in message stream';
