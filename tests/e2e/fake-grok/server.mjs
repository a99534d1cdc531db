// A local impersonation of https://grok.com (as the reference records it: shared/reference
// chat-sites.md, section grok.com and its corrections; the streams are shaped on the captures in
// tests/fixtures/sites/grok/) for end-to-end tests. HTTPS on loopback (`launch({ hostRules: {
// 'grok.com': port } })`), a strict CSP without 'wasm-unsafe-eval', and a page with the DOM the
// adapter (src/detect/rules/grok.json) reads: turns `[id^="response-"]` (the user's and the
// answer's), the answer body `.response-content-markdown` (thinking is shown apart), a textarea
// composer, a stop button `button[aria-label="Stop model response"]` while an answer streams, and a
// red error line (`text-red-…`) in the answer's turn.
//
// A new chat's send is POST /rest/app-chat/conversations/new, a later one POST
// /rest/app-chat/conversations/{id}/responses, each with the page's JSON body ({message,
// modelName, parentResponseId, ...}). The answer streams as NDJSON (one JSON object a line, no
// `data:`): on a new chat (under `result.response`) the conversation (its id) on the first line,
// then the user's response echoed, thinking tokens (`isThinking: true`), a header token, the
// answer's tokens (`messageTag: "final"`), `isSoftStop`, `finalMetadata`, the whole `modelResponse`
// (with its `thinkingTrace`), and the title as `result.title.newTitle`; on the responses endpoint
// (directly under `result`, as tests/fixtures/sites/grok/responses-endpoint.ndjson) the tokens and
// `isSoftStop` only. The content type is application/json (the reference
// does not say which; the hooks follow a site's send whatever it is).
//
// Tests steer it with `site.setMode(state)` (the state given replaces the previous one over the
// defaults). Fields:
// - mode: 'healthy' (the whole answer) | 'status' (the send answers `status` with `body`; default
//   for 429: Grok's `{"error":{"code":8,...}}` limit message) | 'antibot' (the anti-bot refusal
//   `{"error":{"code":7,"message":"Request rejected by anti-bot rules.","details":[]}}` as the
//   answer's only line, HTTP 200; the same body on an error status is mode 'status' with `body`) |
//   'limit' (the stream starts, then an
//   `error` line of code 8, the message limit) | 'cut' (the answer begins, then the connection ends
//   without `isSoftStop`; the page shows its red "Something went wrong" line) | 'stall' (part of
//   the answer, then silence with the connection open).
// - answer, thinking (tokens streamed with `isThinking: true` before the answer, or null),
//   tokenDelayMs, status, body;
// - history: turns every chat holds before the ones this fake answered, [{prompt, answer?,
//   thinking?}].
//
// The conversation reads (the shapes of tests/fixtures/sites/grok/read-*.json): GET
// /rest/app-chat/conversations/{id}/response-node answers the tree, `{responseNodes: [{responseId,
// sender, parentResponseId}], inflightResponses: []}`; POST …/{id}/load-responses (`{responseIds}`)
// the messages, `{responses: [{responseId, message, sender, createTime, parentResponseId, partial,
// thinkingTrace, …}]}`: the `history` turns, then the turns this fake answered in that chat. The
// page, opened at /c/<id>, loads the chat through both (fetch, as the real page does): the tree,
// then the texts of its current branch, and continues from its last response.
import path from 'node:path';
import { sleep, startFakeSite, tokens } from '../fake-site/server.mjs';

const HERE = path.dirname(new URL(import.meta.url).pathname);

export const GROK_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

export const ANTI_BOT = { error: { code: 7, message: 'Request rejected by anti-bot rules.', details: [] } };
export const LIMIT_TEXT = "You've reached your limit of 15 Grok questions per 2 hours for now. Please sign up for SuperGrok to increase your limit.";
/** The red line the page shows in the answer's place when its stream broke off. */
export const WRONG_LINE = 'Something went wrong. Please try again.';

const DEFAULT_STATE = {
  mode: 'healthy',
  answer: 'Hi, hola, こんにちは 👋 Here is a short answer, streamed the way Grok streams it.',
  thinking: null,
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
<html lang="en" class="dark">
<head>
<meta charset="utf-8">
<title>Grok</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<main>
  <div id="last-reply-container"></div>
  <form class="query-bar">
    <textarea aria-label="Ask Grok anything" placeholder="What do you want to know?" rows="1"></textarea>
    <button type="submit" aria-label="Submit">Send</button>
  </form>
</main>
</body>
</html>
`;

/** One NDJSON line as grok.com writes it. */
const line = (value) => `${JSON.stringify(value)}\n`;
const id = () => crypto.randomUUID();

export async function startFakeGrok({ port = 0, defaults = {} } = {}) {
  const chats = new Map(); // conversation id → the responses answered in it

  /** Every response of chat `conversation`: the history turns, then the answered ones. */
  function responses(conversation, s) {
    const list = [];
    let last = '';
    const at = new Date(Date.now() - 3600_000).toISOString();
    (s.history ?? []).forEach((h, i) => {
      const asked = `00000000-0000-4000-8000-${String(2 * i + 1).padStart(12, '0')}`;
      list.push({ responseId: asked, message: h.prompt, sender: 'human', createTime: at, parentResponseId: last, manual: false, partial: false, shared: false, query: '', queryType: '' });
      last = asked;
      if (h.answer != null) {
        const answered = `00000000-0000-4000-8000-${String(2 * i + 2).padStart(12, '0')}`;
        list.push({ responseId: answered, message: h.answer, sender: 'ASSISTANT', createTime: at, parentResponseId: asked, manual: false, partial: false, shared: false, query: '', queryType: '', thinkingTrace: h.thinking ?? '', model: 'grok-3' });
        last = answered;
      }
    });
    for (const r of chats.get(conversation) ?? []) list.push(r.parentResponseId === '' && r.sender === 'human' ? { ...r, parentResponseId: last } : r);
    return list;
  }

  const site = await startFakeSite({
    host: 'grok.com',
    csp: GROK_CSP,
    page: PAGE,
    dir: HERE,
    files: STATIC,
    defaults: { ...DEFAULT_STATE, ...defaults },
    port,
    pages: (p) => p === '/' || /^\/c\/[0-9a-f-]{36}$/.test(p),
    route: ({ req, res, path: p, body, state, json, headers, hold }) => {
      if (req.method === 'POST' && p === '/rest/app-chat/conversations/new') return answer(res, body, headers, state, hold, null).then(() => true);
      const more = /^\/rest\/app-chat\/conversations\/([0-9a-f-]{36})\/responses$/.exec(p);
      if (req.method === 'POST' && more) return answer(res, body, headers, state, hold, more[1]).then(() => true);
      const tree = /^\/rest\/app-chat\/conversations\/([0-9a-f-]{36})\/response-node$/.exec(p);
      if (req.method === 'GET' && tree) {
        const nodes = responses(tree[1], state).map((r) => ({ responseId: r.responseId, sender: r.sender, ...(r.parentResponseId ? { parentResponseId: r.parentResponseId } : {}) }));
        json(200, { responseNodes: nodes, inflightResponses: [] });
        return true;
      }
      const load = /^\/rest\/app-chat\/conversations\/([0-9a-f-]{36})\/load-responses$/.exec(p);
      if (req.method === 'POST' && load) {
        let wanted = null;
        try {
          wanted = JSON.parse(body).responseIds ?? null;
        } catch {
          wanted = null;
        }
        const all = responses(load[1], state);
        json(200, { responses: Array.isArray(wanted) ? all.filter((r) => wanted.includes(r.responseId)) : all });
        return true;
      }
      if (p.startsWith('/rest/')) {
        json(404, { error: { code: 5, message: 'Not found', details: [] } });
        return true;
      }
      return false;
    },
  });

  // The answer to a send: on a new chat (`conversation` null) lines under `result.response`, on
  // the responses endpoint directly under `result`.
  async function answer(res, body, common, s, hold, conversation) {
    if (s.mode === 'status') {
      res.writeHead(s.status, { ...common, 'content-type': 'application/json' });
      const fallback = s.status === 429
        ? { error: { code: 8, message: LIMIT_TEXT, details: [] } }
        : { error: { code: 13, message: 'Internal error', details: [] } };
      res.end(s.body ?? JSON.stringify(fallback));
      return;
    }
    if (s.mode === 'antibot') {
      res.writeHead(200, { ...common, 'content-type': 'application/json' });
      res.end(line(ANTI_BOT));
      return;
    }
    let request = {};
    try {
      request = JSON.parse(body);
    } catch {
      request = {};
    }
    res.writeHead(200, { ...common, 'content-type': 'application/json' });
    const fresh = conversation === null;
    const put = (response) => res.write(line({ result: fresh ? { response } : response }));
    const startedAs = id();
    if (fresh) res.write(line({ result: { conversation: { conversationId: startedAs, title: 'New conversation', starred: false, createTime: new Date().toISOString(), modifyTime: new Date().toISOString(), systemPromptName: '', temporary: false, mediaTypes: [] } } }));
    const userId = id();
    const answerId = id();
    if (fresh) put({ userResponse: { responseId: userId, message: request.message ?? '', sender: 'human', createTime: new Date().toISOString(), parentResponseId: request.parentResponseId ?? '', manual: false, partial: false, shared: false, query: '', queryType: '' }, isThinking: false, isSoftStop: false, responseId: userId });
    if (s.mode === 'limit') {
      await sleep(30);
      res.end(line({ error: { code: 8, message: LIMIT_TEXT, details: [] } }));
      return;
    }
    for (const t of s.thinking ? tokens(s.thinking) : []) {
      put({ token: t, isThinking: true, isSoftStop: false, responseId: answerId });
      await sleep(s.tokenDelayMs);
    }
    put({ token: '', messageTag: 'header', isThinking: false, responseId: answerId });
    const words = tokens(s.answer);
    const upTo = s.mode === 'stall' || s.mode === 'cut' ? Math.max(1, Math.floor(words.length / 2)) : words.length;
    for (let i = 0; i < upTo; i++) {
      if (res.destroyed) return;
      put({ token: words[i], isThinking: false, isSoftStop: false, responseId: answerId, messageTag: 'final' });
      await sleep(s.tokenDelayMs);
    }
    if (s.mode === 'stall') {
      hold(res);
      return; // silence, the connection open
    }
    if (s.mode === 'cut') {
      res.end();
      return;
    }
    put({ isThinking: false, isSoftStop: true, responseId: answerId });
    const chat = conversation ?? startedAs;
    if (!chats.has(chat)) chats.set(chat, []);
    const now = new Date().toISOString();
    chats.get(chat).push(
      { responseId: userId, message: String(request.message ?? ''), sender: 'human', createTime: now, parentResponseId: typeof request.parentResponseId === 'string' ? request.parentResponseId : '', manual: false, partial: false, shared: false, query: '', queryType: '' },
      { responseId: answerId, message: s.answer, sender: 'ASSISTANT', createTime: now, parentResponseId: userId, manual: false, partial: false, shared: false, query: '', queryType: '', thinkingTrace: s.thinking ?? '', model: 'grok-3' },
    );
    if (!fresh) {
      res.end();
      return;
    }
    put({ finalMetadata: { followUpSuggestions: [], feedbackLabels: [], toolsUsed: {} } });
    put({ modelResponse: { responseId: answerId, message: s.answer, sender: 'ASSISTANT', createTime: new Date().toISOString(), parentResponseId: userId, manual: false, partial: false, shared: false, query: '', queryType: '', webSearchResults: [], xpostIds: [], xposts: [], generatedImageUrls: [], imageAttachments: [], fileAttachments: [], thinkingTrace: s.thinking ?? '', isControl: false } });
    if (fresh) res.write(line({ result: { title: { newTitle: `About ${String(request.message ?? '').split(/\s+/).slice(0, 4).join(' ')}` } } }));
    res.end();
  }

  return {
    ...site,
    /** The prompts (`message`) of the sends received, in order. */
    prompts: () => site.requests.filter((r) => r.method === 'POST' && /^\/rest\/app-chat\/conversations\/[^/]+(?:\/responses)?$/.test(r.path)).map((r) => {
      try {
        return JSON.parse(r.body).message;
      } catch {
        return null;
      }
    }),
    /** The paths of the sends received, in order. */
    sends: () => site.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/rest/app-chat/conversations/')).map((r) => r.path),
  };
}
