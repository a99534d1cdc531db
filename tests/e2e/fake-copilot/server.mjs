// A local impersonation of https://copilot.microsoft.com (as the reference records it: shared/reference
// chat-sites.md, section copilot.microsoft.com, and its corrections) for end-to-end tests. HTTPS on
// loopback with the self-signed setup of the fake chatgpt.com (`launch({ hostRules:
// { 'copilot.microsoft.com': port } })`), a strict CSP without 'wasm-unsafe-eval', and a minimal page
// with the DOM the adapter (src/detect/rules/copilot.json) reads: user turns
// `[data-content="user-message"]`, answers `[data-content="ai-message"]`, the composer
// `textarea#userInput`, the send button `button[aria-label="Submit message"]`, a stop button
// `button[aria-label="Stop responding"]` while an answer streams, and an error box
// `[data-testid="error-message"]` after an answer whose socket dropped.
//
// The answer travels over the page's own WebSocket `wss://copilot.microsoft.com/c/api/chat?api-version=2`,
// opened with the page and kept for every answer (one socket, many answers). The page sends
// `{"event":"send","conversationId":"…","content":[{"type":"text","text":"…"}],"mode":"chat"}`; the
// server answers JSON events as tests/fixtures/sites/copilot/*.frames write them, byte for byte:
// connected, received, startMessage, appendText (one frame holds two appendText objects),
// partCompleted, ping, titleUpdate (a conversation's first answer), done; `error` with its
// `errorCode`; `challenge`. The page also reads GET /c/api/user (401 when signed out).
//
// Tests steer it with `site.setMode(state)` (the state given replaces the previous one over the
// defaults; POST /__control does the same). Fields:
// - mode: 'healthy' (the whole answer) | 'limit' (received, then `error` with errorCode
//   `rateLimited`) | 'error' (received, then `error` with errorCode `errorCode`) | 'challenge' (a `challenge` event) | 'cut' (part of the answer, then
//   the connection drops: the page shows "Connection lost…") | 'stall' (part of the answer, then
//   silence with the socket open) | 'silent' (nothing at all after the send) | 'refuse' (a new socket's handshake is answered with HTTP
//   `status` instead of 101) | 'signedout' (GET /c/api/user answers 401; the socket works).
// - answer, tokenDelayMs, status (for 'refuse'; default 429), errorCode (for 'error');
// - history: turns every conversation holds before the ones this fake answered, [{prompt, answer?}].
//
// The conversation read (the shape of tests/fixtures/sites/copilot/read.json): GET
// /c/api/conversations/{id}/history?api-version=2 answers `{results: [{id, author: {type:
// human|ai}, createdAt, content: [{type: "text", text}]}], next: null}`, the newest message first:
// the `history` turns, then the turns this fake answered in that conversation. The page, opened at
// /chats/<id>, loads the conversation through it (fetch, as the real page does).
import path from 'node:path';
import { sleep, startFakeSite, tokens } from '../fake-site/server.mjs';
import { accept } from '../fake-chatgpt/ws.mjs';

const HERE = path.dirname(new URL(import.meta.url).pathname);

export const COPILOT_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' wss://copilot.microsoft.com; font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'";

/** What the page shows when its socket dropped mid-answer (app.js). */
export const LOST_TEXT = 'Connection lost. Check your connection and try again.';
/** Copilot's error copy as the adapter's phrases know it (for the user quoting it). */
export const LIMIT_TEXT = "You've reached your limit for now. Please try again later.";
export const WRONG_TEXT = 'Something went wrong. Please try again.';

const DEFAULT_STATE = {
  mode: 'healthy',
  answer: 'Why did the chicken cross the road? To get to the other side. Want another one?',
  tokenDelayMs: 10,
  status: 429,
  errorCode: 'unauthorized',
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
<title>Microsoft Copilot: Your AI companion</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<main>
  <div id="thread"></div>
  <form class="composer" action="#">
    <textarea id="userInput" data-testid="composer-input" placeholder="Message Copilot" aria-label="Message Copilot"></textarea>
    <button type="submit" aria-label="Submit message">Send</button>
  </form>
</main>
</body>
</html>
`;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** An id in Copilot's style (`ic1ekKWy3E2ZctSTqCLHT`: 21 letters and digits). */
const nanoid = (n = 21) => Array.from({ length: n }, () => ALPHABET[Math.floor(Math.random() * ALPHABET.length)]).join('');
const frame = (v) => JSON.stringify(v);

export async function startFakeCopilot({ port = 0, defaults = {} } = {}) {
  const sends = []; // the `send` frames received, parsed
  let sockets = 0; // sockets accepted
  let requestNo = 0;
  let site = null;
  const chats = new Map(); // conversation id → the messages answered in it, oldest first

  /** The read of conversation `id`: the history turns, then the answered ones, newest first. */
  function historyRead(id, s) {
    const base = Date.now() - 3600_000;
    const old = [];
    (s.history ?? []).forEach((h, i) => {
      old.push({ id: `hist${String(2 * i + 1).padStart(17, '0')}`, author: { type: 'human' }, createdAt: new Date(base + 2 * i * 1000).toISOString(), content: [{ type: 'text', text: h.prompt }] });
      if (h.answer != null) old.push({ id: `hist${String(2 * i + 2).padStart(17, '0')}`, author: { type: 'ai' }, createdAt: new Date(base + (2 * i + 1) * 1000).toISOString(), content: [{ type: 'text', text: h.answer }] });
    });
    return { results: [...old, ...(chats.get(id) ?? [])].reverse(), next: null };
  }

  /** One answer to a `send`, as the current state says. */
  async function answer(ws, send, s, first) {
    const conversationId = send.conversationId;
    const live = () => ws.open();
    if (s.mode === 'silent') return; // the send taken, nothing said
    ws.send(frame({ event: 'connected', requestId: `r-${++requestNo}` }));
    const received = `um-${nanoid(4)}`;
    const asked = new Date().toISOString();
    ws.send(frame({ event: 'received', messageId: received, createdAt: asked }));
    if (s.mode === 'limit') {
      ws.send(frame({ event: 'error', errorCode: 'rateLimited', message: "You've reached the limit for now." }));
      return;
    }
    if (s.mode === 'error') {
      ws.send(frame({ event: 'error', errorCode: s.errorCode, message: 'Hmm, it looks like something unexpected happened' }));
      return;
    }
    if (s.mode === 'challenge') {
      ws.send(frame({ event: 'challenge', id: `c-${requestNo}`, method: 'cloudflare' }));
      return;
    }
    const messageId = nanoid();
    const partId = nanoid();
    ws.send(frame({ event: 'startMessage', messageId }));
    const words = tokens(s.answer);
    const upTo = s.mode === 'cut' || s.mode === 'stall' ? Math.max(1, Math.floor(words.length / 2)) : words.length;
    const append = (text) => frame({ event: 'appendText', messageId, partId, text });
    for (let i = 0; i < upTo; i++) {
      if (!live()) return;
      // One frame can hold two JSON objects (reference, corrections): the second and third pieces.
      if (i === 1 && i + 1 < upTo) {
        ws.send(append(words[i]) + append(words[i + 1]));
        i += 1;
      } else {
        ws.send(append(words[i]));
      }
      await sleep(s.tokenDelayMs);
    }
    if (s.mode === 'cut') {
      await sleep(50);
      ws.destroy(); // the connection drops: no close frame
      return;
    }
    if (s.mode === 'stall') return; // silence, the socket open
    ws.send(frame({ event: 'partCompleted', messageId, partId }));
    ws.send(frame({ event: 'ping' }));
    if (first) ws.send(frame({ event: 'titleUpdate', title: 'A chicken joke', conversationId }));
    ws.send(frame({ event: 'done', messageId }));
    if (typeof conversationId === 'string') {
      if (!chats.has(conversationId)) chats.set(conversationId, []);
      const prompt = (send.content ?? []).filter((c) => c?.type === 'text').map((c) => c.text).join('');
      chats.get(conversationId).push(
        { id: received, author: { type: 'human' }, createdAt: asked, content: [{ type: 'text', text: prompt }] },
        { id: messageId, author: { type: 'ai' }, createdAt: new Date().toISOString(), content: [{ type: 'text', text: s.answer }] },
      );
    }
  }

  site = await startFakeSite({
    host: 'copilot.microsoft.com',
    csp: COPILOT_CSP,
    page: PAGE,
    dir: HERE,
    files: STATIC,
    defaults: { ...DEFAULT_STATE, ...defaults },
    port,
    pages: (p) => p === '/' || /^\/chats\/[0-9A-Za-z]{1,40}$/.test(p),
    route: ({ method, path: p, state, json }) => {
      if (method === 'GET' && p === '/c/api/user') {
        if (state.mode === 'signedout') json(401, { message: 'Unauthorized' });
        else json(200, { id: 'u-4b1d', displayName: 'Ada', isSignedIn: true });
        return true;
      }
      const read = /^\/c\/api\/conversations\/([0-9A-Za-z]{1,40})\/history$/.exec(p);
      if (method === 'GET' && read) {
        json(200, historyRead(read[1], state));
        return true;
      }
      if (p.startsWith('/c/api/')) {
        json(404, { message: 'Not found' });
        return true;
      }
      return false;
    },
    upgrade: (req, socket, _head, { hold }) => {
      const url = new URL(req.url, 'https://copilot.microsoft.com');
      const s = site?.state() ?? DEFAULT_STATE;
      if (url.pathname !== '/c/api/chat' || url.searchParams.get('api-version') !== '2') {
        socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
        return;
      }
      if (s.mode === 'refuse') {
        socket.end(`HTTP/1.1 ${s.status} Refused\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
        return;
      }
      const ws = accept(req, socket);
      if (!ws) return;
      hold(socket); // ended by close()
      sockets += 1;
      const conversations = new Set();
      ws.on('message', (text) => {
        let v;
        try {
          v = JSON.parse(text);
        } catch {
          return;
        }
        if (v?.event !== 'send') return;
        sends.push(v);
        const first = !conversations.has(v.conversationId);
        conversations.add(v.conversationId);
        answer(ws, v, site.state(), first).catch(() => ws.destroy());
      });
    },
  });

  return {
    ...site,
    /** The prompts of the `send` frames received, in order. */
    prompts: () => sends.map((v) => v.content?.filter((c) => c.type === 'text').map((c) => c.text).join('') ?? null),
    /** The `send` frames received, parsed. */
    sends: () => sends,
    /** How many sockets were accepted. */
    sockets: () => sockets,
  };
}
