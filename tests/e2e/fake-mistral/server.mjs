// A local impersonation of https://chat.mistral.ai, Le Chat (as the reference records it:
// shared/reference chat-sites.md, section chat.mistral.ai) for end-to-end tests. HTTPS on loopback
// on the shared fake-site server (`launch({ hostRules: { 'chat.mistral.ai': port } })` maps the host
// here), a strict CSP without 'wasm-unsafe-eval', and a minimal page with the DOM the adapter
// (src/detect/rules/mistral.json) reads: turns `[data-message-author-role]` ("user" | "assistant"),
// the answer `[data-message-part-type="answer"]` inside the assistant's turn, the composer (a
// textarea), a stop button while an answer streams, and the page's error box
// `[data-testid="message-error"]` inside the assistant's turn when the answer broke off.
//
// A new chat first calls POST /api/trpc/message.newChat?batch=1 (tRPC batch: `{"0":{"json":{...}}}`,
// answered `[{"result":{"data":{"json":{"chatId":...}}}}]`), then every turn is POST /api/chat
// `{"chatId","mode":"start"|"append"|"retry","messageInput",...}`. The answer streams as lines
// `N:payload`, byte for byte as tests/fixtures/sites/mistral/*.txt: `0:"text delta"` (JSON strings,
// appended), `1:{...}` metadata (messageId, chatId), `2:[...]` references; the end is the stream
// closing (no end line). The content type is the AI SDK data stream's (`text/plain; charset=utf-8`,
// `x-vercel-ai-data-stream: v1`): unverified, as are Le Chat's error lines (the fixtures' guesses
// `3:"message"` and `1:{"error":{...}}` are what the 'frame' mode writes).
//
// Tests steer it with `site.setMode(state)` (the state given replaces the previous one over the
// defaults; POST /__control does the same). Fields:
// - mode: 'healthy' (the whole answer) | 'status' (/api/chat answers `status` with `body`) |
//   'newchat' (the tRPC newChat call answers `status` with a tRPC error) | 'cut' (a metadata line,
//   then the connection closes: the page shows `pageError` in the answer's turn) | 'frame' (the
//   first token, then `frame` as a line, then the close; the page shows nothing) | 'stall' (part of
//   the answer, then silence with the connection open). The page's error box comes with a retry
//   button that streams the answer again into the same turn (mode 'retry').
// - answer, tokenDelayMs, status, body, pageError, frame; extra: more lines written after the
//   first token and the metadata line of a healthy answer (kinds of line the reference does not
//   show).
import path from 'node:path';
import { sleep, startFakeSite, tokens } from '../fake-site/server.mjs';

const HERE = path.dirname(new URL(import.meta.url).pathname);

export const MISTRAL_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'";

/** The page's words when an answer broke off (the default `pageError`). */
export const ERROR_TEXT = 'An error occurred while generating the response. Please try again.';

const DEFAULT_STATE = {
  mode: 'healthy',
  answer: 'Bonjour ! Lyon is two hours from Paris by TGV.',
  tokenDelayMs: 10,
  status: 429,
  body: null,
  pageError: ERROR_TEXT,
  frame: '3:"Rate limit exceeded. Please try again later."',
  extra: [],
};

const STATIC = {
  '/app.js': 'text/javascript; charset=utf-8',
  '/app.css': 'text/css; charset=utf-8',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Le Chat - Mistral AI</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<main>
  <div id="thread"></div>
  <form class="composer">
    <textarea name="message.text" rows="1" placeholder="Ask Le Chat anything" aria-label="Ask Le Chat anything"></textarea>
    <button type="submit" aria-label="Send question">Send</button>
  </form>
</main>
</body>
</html>
`;

/** One line of Le Chat's stream: `N:` and the payload's JSON. */
const line = (prefix, payload) => `${prefix}:${JSON.stringify(payload)}\n`;

const uuid = () => crypto.randomUUID();

export async function startFakeMistral({ port = 0, defaults = {} } = {}) {
  const site = await startFakeSite({
    host: 'chat.mistral.ai',
    csp: MISTRAL_CSP,
    page: PAGE,
    dir: HERE,
    files: STATIC,
    defaults: { ...DEFAULT_STATE, ...defaults },
    port,
    pages: (p) => p === '/' || p === '/chat' || p.startsWith('/chat/'),
    route: ({ req, res, url, path: p, body, state, json, headers, hold }) => {
      if (p === '/api/trpc/message.newChat' && req.method === 'POST') {
        newChat(url, body, state, json);
        return true;
      }
      if (p === '/api/chat' && req.method === 'POST') return chat(res, body, headers, state, hold).then(() => true);
      if (p.startsWith('/api/')) {
        json(404, { error: 'Not found' });
        return true;
      }
      return false;
    },
  });

  function newChat(url, body, s, json) {
    if (s.mode === 'newchat') {
      const code = s.status === 429 ? 'TOO_MANY_REQUESTS' : 'INTERNAL_SERVER_ERROR';
      json(s.status, [{ error: { json: { message: s.status === 429 ? 'Rate limit exceeded' : 'Internal server error', code: s.status === 429 ? -32029 : -32603, data: { code, httpStatus: s.status, path: 'message.newChat' } } } }]);
      return;
    }
    let input = null;
    try {
      input = JSON.parse(body)['0'].json;
    } catch {
      input = null;
    }
    if (url.searchParams.get('batch') !== '1' || !input) {
      json(400, [{ error: { json: { message: 'Bad request', code: -32600, data: { code: 'BAD_REQUEST', httpStatus: 400, path: 'message.newChat' } } } }]);
      return;
    }
    json(200, [{ result: { data: { json: { chatId: uuid(), title: null, createdAt: new Date().toISOString() } } } }]);
  }

  async function chat(res, body, common, s, hold) {
    if (s.mode === 'status') {
      res.writeHead(s.status, { ...common, 'content-type': 'application/json' });
      res.end(s.body ?? JSON.stringify({ error: s.status === 429 ? 'Rate limit exceeded' : 'Internal server error' }));
      return;
    }
    let chatId = null;
    try {
      chatId = JSON.parse(body).chatId ?? null;
    } catch {
      chatId = null;
    }
    res.writeHead(200, { ...common, 'content-type': 'text/plain; charset=utf-8', 'x-vercel-ai-data-stream': 'v1' });
    const meta = line('1', { type: 'metadata', messageId: uuid(), chatId });
    if (s.mode === 'cut') {
      res.write(meta);
      await sleep(50);
      res.end();
      return;
    }
    const words = tokens(s.answer);
    if (s.mode === 'frame') {
      res.write(line('0', words[0]));
      await sleep(s.tokenDelayMs);
      res.end(`${s.frame}\n`);
      return;
    }
    const upTo = s.mode === 'stall' ? Math.max(1, Math.floor(words.length / 2)) : words.length;
    for (let i = 0; i < upTo; i++) {
      if (res.destroyed) return;
      res.write(line('0', words[i]));
      if (i === 0) res.write(meta + s.extra.map((l) => `${l}\n`).join(''));
      await sleep(s.tokenDelayMs);
    }
    if (s.mode === 'stall') {
      hold(res);
      return; // silence, the connection open
    }
    res.end(line('2', [{ references: [] }])); // the end: the stream closes
  }

  const posts = (p) => site.requests.filter((r) => r.method === 'POST' && r.path === p).map((r) => {
    try {
      return JSON.parse(r.body);
    } catch {
      return null;
    }
  });
  return {
    ...site,
    /** The bodies of the /api/chat sends received, in order (parsed; null when not JSON). */
    chats: () => posts('/api/chat'),
    /** The bodies of the tRPC newChat calls received, in order. */
    newChats: () => posts('/api/trpc/message.newChat'),
  };
}
