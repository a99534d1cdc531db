// A local impersonation of https://claude.ai (as the reference records it: shared/reference
// chat-sites.md, section claude.ai) for end-to-end tests. HTTPS on loopback with the same
// self-signed setup as the fake chatgpt.com (the browser is started with --ignore-certificate-errors
// and `launch({ hostRules: { 'claude.ai': port } })` maps the host here), a strict CSP without
// 'wasm-unsafe-eval', and a minimal page with the DOM the adapter (src/detect/rules/claude.json)
// reads: user turns `[data-testid="user-message"]`, answers `.font-claude-response` with
// `data-is-streaming`, the composer `.ProseMirror[role="textbox"]`, a send button
// `button[aria-label="Send message"]`, and error boxes `[data-testid="message-error"]` after the
// latest answer.
//
// The send is POST /api/organizations/{org}/chat_conversations/{conversation}/completion with the
// page's JSON body ({prompt, parent_message_uuid, timezone, locale, rendering_mode, attachments,
// files}); the answer streams as Claude's SSE, byte for byte (CRLF line ends; message_start,
// content_block_start, content_block_delta text_delta, content_block_stop, message_delta,
// message_limit, message_stop).
//
// Tests steer it with `site.setMode(state)` (the state given replaces the previous one over the
// defaults; POST /__control does the same). Fields:
// - mode: 'healthy' (the whole answer) | 'status' (the send answers `status` with `body`; default
//   body for 429: Claude's `rate_limit_error` whose message is the JSON of an `exceeded_limit` with
//   its `resetsAt`) | 'limit' (message_start, then a `message_limit` event of type
//   `exceeded_limit` with `resetsAt`, then message_stop: no answer) | 'capacity' (message_start,
//   then the connection closes without message_stop; the page shows Claude's capacity text in an
//   error box after the answer) | 'stall' (message_start and part of the answer, then silence with
//   the connection open).
// - answer, tokenDelayMs, status, body, resetsAt (Unix seconds; default an hour from now);
// - readShape: 'changed' answers the read with its messages under another name (`messages`): a
//   read whose shape the core does not know; the page still shows the conversation.
//
// Conversations are kept as claude.ai keeps them: each send adds the prompt (`human`, its parent the
// request's `parent_message_uuid`) and the answer (`assistant`, its uuid the one message_start
// names, its parent the prompt) to its conversation, and the read GET
// /api/organizations/{org}/chat_conversations/{conversation}?tree=True&rendering_mode=messages
// answers the tree in the reference's shape (`chat_messages[]` with `uuid`, `sender`, `index`,
// `content[]` text blocks (an answer's thinking as a `thinking` block), `parent_message_uuid`, the
// root's all-zero parent; `current_leaf_message_uuid`, `name`). The page, opened at
// /chat/{conversation}, loads it through that read and shows its current branch. `site.seed(id,
// turns)` stores a conversation [{prompt, answer, thinking?}] as if made elsewhere.
import path from 'node:path';
import { sleep, startFakeSite, tokens } from '../fake-site/server.mjs';

const HERE = path.dirname(new URL(import.meta.url).pathname);

export const CLAUDE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'";

export const CAPACITY_TEXT = 'Due to unexpected capacity constraints, Claude is unable to respond to your message. Please try again soon.';

const DEFAULT_STATE = {
  mode: 'healthy',
  answer: 'Here is a short answer, streamed the way Claude streams it.',
  tokenDelayMs: 10,
  status: 429,
  body: null,
  resetsAt: null,
  readShape: 'tree',
};

const STATIC = {
  '/app.js': 'text/javascript; charset=utf-8',
  '/app.css': 'text/css; charset=utf-8',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Claude</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<main>
  <div id="thread"></div>
  <fieldset class="composer">
    <div class="ProseMirror" role="textbox" contenteditable="true" aria-label="Write your prompt to Claude" data-testid="chat-input"></div>
    <button type="button" aria-label="Send message" data-testid="send-button">Send</button>
  </fieldset>
</main>
</body>
</html>
`;

/** One SSE event as claude.ai writes it (CRLF line ends). */
const event = (name, data) => `event: ${name}\r\ndata: ${JSON.stringify(data)}\r\n\r\n`;

const uuid = () => crypto.randomUUID();

const ROOT = '00000000-0000-4000-8000-000000000000';

export async function startFakeClaude({ port = 0, defaults = {} } = {}) {
  const site = await startFakeSite({
    host: 'claude.ai',
    csp: CLAUDE_CSP,
    page: PAGE,
    dir: HERE,
    files: STATIC,
    defaults: { ...DEFAULT_STATE, ...defaults },
    port,
    pages: (p) => p === '/' || p === '/new' || p.startsWith('/chat/'),
    route: ({ req, res, path: p, body, state, json, headers, hold }) => {
      const send = /^\/api\/organizations\/([^/]+)\/chat_conversations\/([^/]+)\/(?:retry_)?completion$/.exec(p);
      if (send && req.method === 'POST') return completion(res, body, headers, send[2], state, hold).then(() => true);
      const read = /^\/api\/organizations\/([^/]+)\/chat_conversations\/([^/]+)$/.exec(p);
      if (read && req.method === 'GET') {
        const c = conversations.get(read[2]);
        if (c && state.readShape === 'changed') {
          // A read in a shape the core does not know (the site changed it): its page still shows it.
          const { chat_messages: messages, ...rest } = tree(read[2], c);
          json(200, { ...rest, messages });
        } else if (c) json(200, tree(read[2], c));
        else json(404, { type: 'error', error: { type: 'not_found_error', message: 'Not found' } });
        return true;
      }
      if (p.startsWith('/api/')) {
        json(404, { type: 'error', error: { type: 'not_found_error', message: 'Not found' } });
        return true;
      }
      return false;
    },
  });

  // conversation id -> {name, created_at, messages: [{uuid, sender, text, thinking?, parent, at}], leaf}
  const conversations = new Map();
  const now = () => new Date().toISOString();

  /** Adds a message to `conversation` (made when new); returns its uuid. */
  function keep(conversation, sender, text, parent, id = uuid(), thinking = null) {
    let c = conversations.get(conversation);
    if (!c) {
      c = { name: sender === 'human' ? text.slice(0, 40) : '', created_at: now(), messages: [], leaf: null };
      conversations.set(conversation, c);
    }
    c.messages.push({ uuid: id, sender, text, thinking, parent: parent ?? ROOT, at: now() });
    c.leaf = id;
    return id;
  }

  /** A conversation as the read answers it. */
  function tree(id, c) {
    return {
      uuid: id, name: c.name, summary: '', model: 'claude-sonnet-4-5', created_at: c.created_at, updated_at: c.messages.at(-1)?.at ?? c.created_at,
      settings: {}, is_starred: false, current_leaf_message_uuid: c.leaf,
      chat_messages: c.messages.map((m, index) => ({
        uuid: m.uuid, text: '', sender: m.sender, index, created_at: m.at, updated_at: m.at, truncated: false,
        stop_reason: m.sender === 'assistant' ? 'stop_sequence' : null, attachments: [], files: [], files_v2: [], sync_sources: [],
        parent_message_uuid: m.parent,
        content: [
          ...(m.thinking ? [{ start_timestamp: m.at, stop_timestamp: m.at, type: 'thinking', thinking: m.thinking, summaries: [], cut_off: false }] : []),
          { start_timestamp: m.at, stop_timestamp: m.at, type: 'text', text: m.text, citations: [] },
        ],
      })),
    };
  }

  async function completion(res, body, common, conversation, s, hold) {
    const resetsAt = s.resetsAt ?? Math.floor(Date.now() / 1000) + 3600;
    if (s.mode === 'status') {
      const fallback = s.status === 429
        ? { type: 'error', error: { type: 'rate_limit_error', message: JSON.stringify({ type: 'exceeded_limit', resetsAt }) } }
        : { type: 'error', error: { type: s.status === 529 ? 'overloaded_error' : 'api_error', message: s.status === 529 ? 'Overloaded' : 'Internal server error' } };
      res.writeHead(s.status, { ...common, 'content-type': 'application/json' });
      res.end(s.body ?? JSON.stringify(fallback));
      return;
    }
    let request = {};
    try {
      request = JSON.parse(body) ?? {};
    } catch {
      request = {};
    }
    res.writeHead(200, { ...common, 'content-type': 'text/event-stream; charset=utf-8', 'x-accel-buffering': 'no' });
    const id = uuid();
    const parent = request.parent_message_uuid && request.parent_message_uuid !== ROOT ? request.parent_message_uuid : null;
    const human = keep(conversation, 'human', String(request.prompt ?? ''), parent);
    res.write(event('message_start', {
      type: 'message_start',
      message: { id: `chatcompl_${id.slice(0, 8)}`, type: 'message', role: 'assistant', model: '', parent_uuid: human, uuid: id, content: [], stop_reason: null, stop_sequence: null, conversation_uuid: conversation },
    }));
    if (s.mode === 'limit') {
      res.write(event('message_limit', { type: 'message_limit', message_limit: { type: 'exceeded_limit', resetsAt, remaining: 0, perModelLimit: false } }));
      res.end(event('message_stop', { type: 'message_stop' }));
      return;
    }
    if (s.mode === 'capacity') {
      await sleep(50);
      res.end();
      return;
    }
    res.write(event('content_block_start', { type: 'content_block_start', index: 0, content_block: { start_timestamp: new Date().toISOString(), stop_timestamp: null, type: 'text', text: '', citations: [] } }));
    const words = tokens(s.answer);
    const upTo = s.mode === 'stall' ? Math.max(1, Math.floor(words.length / 2)) : words.length;
    for (let i = 0; i < upTo; i++) {
      if (res.destroyed) return;
      res.write(event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: words[i] } }));
      await sleep(s.tokenDelayMs);
    }
    if (s.mode === 'stall') {
      hold(res);
      return; // silence, the connection open
    }
    keep(conversation, 'assistant', s.answer, human, id);
    res.write(event('content_block_stop', { type: 'content_block_stop', index: 0, stop_timestamp: new Date().toISOString() }));
    res.write(event('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null } }));
    res.write(event('message_limit', { type: 'message_limit', message_limit: { type: 'within_limit', resetsAt: null, remaining: null, perModelLimit: null, windows: { '5h': { status: 'within_limit', resets_at: resetsAt, utilization: 0.384 } } } }));
    res.end(event('message_stop', { type: 'message_stop' }));
  }

  return {
    ...site,
    /** Stores conversation `id` with `turns` [{prompt, answer, thinking?}], as if made elsewhere. */
    seed(id, turns) {
      conversations.delete(id);
      let parent = null;
      for (const t of turns) {
        parent = keep(id, 'human', t.prompt, parent);
        parent = keep(id, 'assistant', t.answer, parent, uuid(), t.thinking ?? null);
      }
    },
    /** The prompts of the sends received, in order. */
    prompts: () => site.requests.filter((r) => r.method === 'POST' && /\/completion$/.test(r.path)).map((r) => {
      try {
        return JSON.parse(r.body).prompt;
      } catch {
        return null;
      }
    }),
  };
}
