// A local impersonation of https://www.perplexity.ai (as the reference records it: shared/reference
// chat-sites.md, section perplexity.ai and its corrections from real captures) for end-to-end tests.
// HTTPS on loopback on the shared fake-site server (`launch({ hostRules: { 'www.perplexity.ai': port } })`
// maps the host here), a strict CSP without 'wasm-unsafe-eval', and a minimal page with the DOM the
// adapter (src/detect/rules/perplexity.json) reads: the user's queries `[class*="group/query"]`, the
// answers `div[id^="markdown-content-"]`, the composer `#ask-input` (contenteditable), the submit
// button `button[data-testid="submit-button"]`, a stop button while an answer streams, and an error
// box `[data-testid="answer-error"]` after the latest query when the answer broke off.
//
// The send is POST /rest/sse/perplexity_ask with the page's JSON body `{"query_str", "params": {...,
// "frontend_uuid", "last_backend_uuid", "is_incognito", ...}}`; the answer streams as Perplexity's
// server-sent events, byte for byte as tests/fixtures/sites/perplexity/*.sse (CRLF line ends): each
// `event: message` is a snapshot of the WHOLE answer so far (its text in the `ask_text` block:
// `markdown_block.chunks` while it grows, `markdown_block.answer` once done), a `final: true` snapshot
// is followed by one more (without the ask_text block), and `event: end_of_stream` with `data: {}`
// ends it.
//
// Tests steer it with `site.setMode(state)` (the state given replaces the previous one over the
// defaults; POST /__control does the same). Fields:
// - mode: 'healthy' (the whole answer) | 'status' (the send answers `status` with `body`) |
//   'limit' (`event: error` with `error_code: RATE_LIMITED`, then the connection closes, as
//   rate-limited.sse) | 'failed' (a first snapshot, then a snapshot with `status: "failed"` and
//   "Something went wrong", then end_of_stream, as failed.sse) | 'cut' (the search-steps snapshot,
//   then the connection closes without end_of_stream: the page shows its error text) | 'stall' (part
//   of the answer, then silence with the connection open).
// - answer, tokenDelayMs, status, body;
// - history: entries every thread holds before the ones this fake answered, [{prompt, answer?}].
//
// The thread read (the shape of tests/fixtures/sites/perplexity/read.json): GET
// /rest/thread/{slug}?… answers `{status: "success", entries: [{uuid, backend_uuid, query_str,
// thread_title, thread_url_slug, entry_created_datetime, blocks: [..., {intended_usage:
// "ask_text", markdown_block: {answer}}]}], has_next_page: false}`: the `history` entries, then
// the ones this fake answered in that thread. The page, opened at /search/<slug>, loads the thread
// through it (fetch, as the real page does) and follows up on its last entry.
import path from 'node:path';
import { sleep, startFakeSite, tokens } from '../fake-site/server.mjs';

const HERE = path.dirname(new URL(import.meta.url).pathname);

export const PERPLEXITY_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'";

/** The page's words when an answer broke off (app.js shows them in the error box). */
export const ERROR_TEXT = 'Something went wrong. Please try again later.';

const DEFAULT_STATE = {
  mode: 'healthy',
  answer: 'Rayleigh scattering makes the sky blue: short wavelengths scatter most.',
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
<title>Perplexity</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<main>
  <div id="thread"></div>
  <div class="composer">
    <div id="ask-input" contenteditable="true" role="textbox" aria-placeholder="Ask anything…" aria-label="Ask anything…"></div>
    <button type="button" data-testid="submit-button" aria-label="Submit">Ask</button>
  </div>
</main>
</body>
</html>
`;

/** One server-sent event as www.perplexity.ai writes it (CRLF line ends). */
const event = (name, data) => `event: ${name}\r\ndata: ${JSON.stringify(data)}\r\n\r\n`;
const END = 'event: end_of_stream\r\ndata: {}\r\n\r\n';

const uuid = () => crypto.randomUUID();
const slugOf = (query) => `${query.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60)}-${uuid().slice(0, 8)}`;

export async function startFakePerplexity({ port = 0, defaults = {} } = {}) {
  const threads = new Map(); // backend_uuid of an answer -> its thread {slug, title, context}
  const entries = new Map(); // slug -> the entries answered in that thread

  /** The entries of thread `slug`: the history ones, then the answered ones. */
  function threadEntries(slug, s) {
    const at = new Date(Date.now() - 3600_000).toISOString();
    const title = (s.history ?? [])[0]?.prompt ?? entries.get(slug)?.[0]?.thread_title ?? slug;
    const context = '3739f1db-3b5b-43a7-ae12-a3b2dd330e18';
    const old = (s.history ?? []).map((h, i) => {
      const backend = `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`;
      if (!threads.has(backend)) threads.set(backend, { slug, title, context });
      return {
        uuid: `10000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`, backend_uuid: backend, context_uuid: context,
        query_str: h.prompt, thread_title: title, thread_url_slug: slug, status: 'COMPLETED', mode: 'CONCISE',
        entry_created_datetime: at, updated_datetime: at,
        blocks: h.answer == null ? [] : [{ intended_usage: 'ask_text', markdown_block: { progress: 'DONE', chunks: [], answer: h.answer } }],
      };
    });
    return { status: 'success', entries: [...old, ...(entries.get(slug) ?? [])], has_next_page: false, next_cursor: null };
  }

  const site = await startFakeSite({
    host: 'www.perplexity.ai',
    csp: PERPLEXITY_CSP,
    page: PAGE,
    dir: HERE,
    files: STATIC,
    defaults: { ...DEFAULT_STATE, ...defaults },
    port,
    pages: (p) => p === '/' || p.startsWith('/search/'),
    route: ({ req, res, path: p, body, state, json, headers, hold }) => {
      if (p === '/rest/sse/perplexity_ask' && req.method === 'POST') return ask(res, body, headers, state, hold).then(() => true);
      const read = /^\/rest\/thread\/([^/]+)$/.exec(p);
      if (read && req.method === 'GET') {
        json(200, threadEntries(decodeURIComponent(read[1]), state));
        return true;
      }
      if (p.startsWith('/rest/')) {
        json(404, { detail: 'Not Found' });
        return true;
      }
      return false;
    },
  });

  async function ask(res, body, common, s, hold) {
    if (s.mode === 'status') {
      const fallback = s.status === 429
        ? { error_code: 'RATE_LIMITED', detail: 'Too many requests. Please try again later.' }
        : s.status === 401 || s.status === 403
          ? { detail: 'Not authenticated' }
          : { detail: 'Internal Server Error' };
      res.writeHead(s.status, { ...common, 'content-type': 'application/json' });
      res.end(s.body ?? JSON.stringify(fallback));
      return;
    }
    let query = '';
    let params = {};
    try {
      ({ query_str: query, params = {} } = JSON.parse(body));
    } catch {
      query = '';
    }
    // A follow-up (last_backend_uuid) stays in its thread; a new query starts one.
    const thread = threads.get(params.last_backend_uuid) ?? { slug: slugOf(query || 'thread'), title: query, context: uuid() };
    const backend = uuid();
    threads.set(backend, thread);
    const head = {
      backend_uuid: backend, context_uuid: thread.context, uuid: params.frontend_uuid ?? uuid(),
      frontend_context_uuid: params.frontend_context_uuid ?? uuid(), thread_url_slug: thread.slug,
      thread_title: thread.title, query_str: query,
    };
    const steps = { intended_usage: 'pro_search_steps', plan_block: { goals: [{ description: 'Searching' }] } };
    const snapshot = (status, final, blocks) => event('message', { ...head, status, final, text_completed: final, blocks });
    const growing = (chunks) => snapshot('PENDING', false, [steps, { intended_usage: 'ask_text', markdown_block: { progress: 'IN_PROGRESS', chunks } }]);
    res.writeHead(200, { ...common, 'content-type': 'text/event-stream; charset=utf-8', 'x-accel-buffering': 'no' });
    if (s.mode === 'limit') {
      res.end(event('error', { error_code: 'RATE_LIMITED', message: 'Too many requests. Please try again later.' }));
      return;
    }
    res.write(snapshot('PENDING', false, [steps]));
    if (s.mode === 'cut') {
      await sleep(50);
      res.end();
      return;
    }
    const words = tokens(s.answer);
    if (s.mode === 'failed') {
      res.write(growing(words.slice(0, 1)));
      await sleep(s.tokenDelayMs);
      res.write(event('message', { status: 'failed', error_code: null, text: '', message: 'Something went wrong' }));
      res.end(END);
      return;
    }
    const upTo = s.mode === 'stall' ? Math.max(1, Math.floor(words.length / 2)) : words.length;
    for (let i = 1; i <= upTo; i++) {
      if (res.destroyed) return;
      res.write(growing(words.slice(0, i)));
      await sleep(s.tokenDelayMs);
    }
    if (s.mode === 'stall') {
      hold(res);
      return; // silence, the connection open
    }
    // `final: true` is not the end: one more snapshot (without the answer block), then the end.
    res.write(snapshot('COMPLETED', true, [steps, { intended_usage: 'ask_text', markdown_block: { progress: 'DONE', chunks: [], answer: s.answer } }]));
    res.write(snapshot('COMPLETED', true, [steps]));
    const now = new Date().toISOString();
    if (!entries.has(thread.slug)) entries.set(thread.slug, []);
    entries.get(thread.slug).push({
      ...head, status: 'COMPLETED', mode: 'CONCISE', entry_created_datetime: now, updated_datetime: now,
      blocks: [steps, { intended_usage: 'ask_text', markdown_block: { progress: 'DONE', chunks: [], answer: s.answer } }],
    });
    res.end(END);
  }

  return {
    ...site,
    /** The bodies of the sends received, in order (parsed; null when not JSON). */
    sends: () => site.requests.filter((r) => r.method === 'POST' && r.path === '/rest/sse/perplexity_ask').map((r) => {
      try {
        return JSON.parse(r.body);
      } catch {
        return null;
      }
    }),
    /** The queries of the sends received, in order. */
    prompts() {
      return this.sends().map((b) => b?.query_str ?? null);
    },
  };
}
