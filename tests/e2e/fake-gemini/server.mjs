// A local impersonation of https://gemini.google.com (as the reference records it: shared/reference
// chat-sites.md, section gemini.google.com and its "Corrections from real captures"; the native
// captures in tests/fixtures/sites/gemini/ are the model of what the server writes) for end-to-end
// tests. HTTPS on loopback (fake-site/server.mjs; `launch({ hostRules: { 'gemini.google.com': port } })`),
// a strict CSP without 'wasm-unsafe-eval', and a page with the DOM the adapter
// (src/detect/rules/gemini.json) reads: turns `user-query` (`.query-text`) and `model-response`
// (`message-content.model-response-text`), the composer `rich-textarea .ql-editor[contenteditable]`,
// a send button `button[aria-label="Send message"]`, a stop button while an answer streams, and an
// error box `.error-message` in the latest `model-response`.
//
// The send is an XMLHttpRequest: POST /_/BardChatUi/data/assistant.lamda.BardFrontendService/
// StreamGenerate?bl=…&f.sid=…&hl=en&_reqid=…&rt=c with a form body `f.req=[null,"<inner JSON>"]`
// (inner `[[prompt, 0, null, null, null, null, 0], ["en"], [conversation, response, choice]]`) and
// `at`. The answer is `)]}'\n`, then frames `\n<length>\n<json>\n` whose length counts the JSON's
// UTF-16 units plus both newlines; each frame carries the whole text so far (a snapshot). A
// healthy answer: the ids frame, growing snapshots (thoughts at candidate index 37), the last with
// the completion marker `[8]=[2]`, the title `{"11":[title]}` on a new chat, the `{"26":…}` frame,
// and the error record with code 1096 Gemini appends after successful turns.
//
// Tests steer it with `site.setMode(state)` (the state given replaces the previous one over the
// defaults). Fields:
// - mode: 'healthy' | 'status' (the send answers `status` with Google's HTML error page) | 'code'
//   (the ids frame, then an error record with `code` at [5,2,0,1,0]; the page shows no text of its
//   own: the stream alone says it) | 'dom' (the ids frame and the end of the stream, no answer; the
//   page shows "Something went wrong (13)" in the answer's error box) |
//   'stall' (the ids frame and half the answer's snapshots, then silence with the connection open) |
//   'drop' (the same half, then the connection breaks).
// - answer, title, tokenDelayMs (before each frame), wordsPerFrame (the words a snapshot adds), status, code;
// - history: turns every chat holds before the ones this fake answered, [{prompt, answer?,
//   error?}] (a turn with an `error`, or without an answer, produced nothing: its answer has no
//   text, and the page shows Gemini's "Something went wrong (13)" in its error box).
//
// The conversation read: POST /_/BardChatUi/data/batchexecute?rpcids=hNvQHb&source-path=/app/<id>&…
// (form `f.req=[[["hNvQHb","[\"c_<id>\",10,null,1,[1],[4],null,1]",null,"generic"]]]`, `at`) answers
// `)]}'` and frames like the stream's, the first holding the envelope `["wrb.fr","hNvQHb","<inner
// JSON>",null,null,null,"generic"]` (the shape of tests/fixtures/sites/gemini/read.txt): `inner[0]`
// lists the turns newest first, `[[conversation, response], [conversation, response, choice],
// [[prompt], …], [[candidate]], [seconds, nanos]]`, a candidate `[choice, [text], …]` with its
// thoughts at 37: the `history` turns, then the turns this fake answered in that chat. The page,
// opened at /app/<id>, loads the chat through it (over XMLHttpRequest, as the real page does) and
// continues from its last turn.
import path from 'node:path';
import { sleep, startFakeSite, tokens } from '../fake-site/server.mjs';

const HERE = path.dirname(new URL(import.meta.url).pathname);

export const SEND_PATH = '/_/BardChatUi/data/assistant.lamda.BardFrontendService/StreamGenerate';
export const READ_PATH = '/_/BardChatUi/data/batchexecute';

export const GEMINI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'";

export const ERROR_13 = 'Something went wrong (13)';

const ERROR_TYPE = 'type.googleapis.com/assistant.boq.bard.application.BardErrorInfo';

const DEFAULT_STATE = {
  mode: 'healthy',
  answer: 'Here is a short answer, streamed the way Gemini streams it.',
  title: 'A weekend in Lisbon',
  tokenDelayMs: 10,
  wordsPerFrame: 1,
  status: 429,
  code: 1037,
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
<title>Gemini</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<chat-app>
<main>
  <div id="chat-history" class="chat-history"></div>
  <input-area-v2 class="input-area">
    <rich-textarea class="text-input-field"><div class="ql-editor textarea" contenteditable="true" role="textbox" aria-multiline="true" aria-label="Enter a prompt here" data-placeholder="Ask Gemini"></div></rich-textarea>
    <button type="button" class="send-button" aria-label="Send message">Send</button>
  </input-area-v2>
</main>
</chat-app>
</body>
</html>
`;

/** One frame as gemini.google.com writes it: the length counts the JSON's UTF-16 units and both newlines. */
export const frame = (value) => {
  const json = typeof value === 'string' ? value : JSON.stringify(value);
  return `\n${json.length + 2}\n${json}\n`;
};
/** A `wrb.fr` envelope frame around an inner value (an array, or a sparse object keyed by index). */
export const wrb = (inner) => frame([['wrb.fr', null, JSON.stringify(inner)]]);
/** The ids frame: `[1]` = [conversation id, response id]. */
export const idsFrame = (ids) => wrb([null, ids, null, null, null]);
/** A snapshot of the candidate: its whole text so far, thoughts at 37, `[8]=[2]` once complete. */
export function candidateFrame(ids, choice, text, { thoughts = null, done = false } = {}) {
  const candidate = new Array(38).fill(null);
  candidate[0] = choice;
  candidate[1] = [text];
  if (done) candidate[8] = [2];
  if (thoughts) candidate[37] = [[thoughts]];
  return wrb([null, ids, null, null, [candidate]]);
}
/** The error record: its code at envelope path [5,2,0,1,0]. */
export const errorFrame = (code) => frame([['wrb.fr', null, null, null, null, [3, null, [[ERROR_TYPE, [code]]]]]]);
export const titleFrame = (title) => wrb({ 11: [title] });
export const metaFrame = () => frame('[["wrb.fr",null,"{\\"26\\":[\\"meta\\"]}"],["di",512],["af.httprm",511,"-1234567890",7]]');
export const PREFIX = ")]}'\n";

const hex = (n) => [...crypto.getRandomValues(new Uint8Array(n))].map((b) => b.toString(16).padStart(2, '0')).join('');

/** The prompt and the conversation metadata of a send's form body, or nulls. */
export function readSend(body) {
  try {
    const outer = JSON.parse(new URLSearchParams(body).get('f.req'));
    const inner = JSON.parse(outer[1]);
    return { prompt: inner[0][0], metadata: inner[2] ?? null, at: new URLSearchParams(body).get('at') };
  } catch {
    return { prompt: null, metadata: null, at: null };
  }
}

/** A turn of the read: [[conversation, response], [conversation, response, choice], [[prompt], …], [[candidate]], [seconds, nanos]]. */
function readTurn(conversation, { response, choice, prompt, answer, thoughts, at }) {
  const candidate = new Array(38).fill(null);
  candidate[0] = choice;
  candidate[1] = [answer];
  candidate[8] = [2];
  if (thoughts) candidate[37] = [[thoughts]];
  return [[conversation, response], [conversation, response, choice], [[prompt], 1, null, 0, 'e1b9'], [[candidate], null, null, [1]], [Math.floor(at / 1000), (at % 1000) * 1e6]];
}

export async function startFakeGemini({ port = 0, defaults = {} } = {}) {
  const chats = new Map(); // conversation id (c_…) → the turns answered in it, oldest first

  /** The `batchexecute` reply to a read of the chat its form names (`f.req`), or its `source-path`. */
  function batchExecute(res, url, body, common, s) {
    let rpc = null;
    let conversation = null;
    try {
      const call = JSON.parse(new URLSearchParams(body).get('f.req'))[0][0];
      rpc = call[0];
      conversation = JSON.parse(call[1])[0];
    } catch {
      rpc = url.searchParams.get('rpcids');
    }
    conversation ||= `c_${/^\/app\/([0-9a-f]{16})$/.exec(url.searchParams.get('source-path') ?? '')?.[1] ?? ''}`;
    res.writeHead(200, { ...common, 'content-type': 'application/json; charset=utf-8', 'x-content-type-options': 'nosniff' });
    if (rpc !== 'hNvQHb') {
      res.end(PREFIX + frame([['wrb.fr', rpc, null, null, null, [3], 'generic'], ['di', 12], ['af.httprm', 11, '-1234567890', 7]]) + frame([['e', 4, null, null, 120]]));
      return;
    }
    const base = Date.now() - 3600_000;
    const old = (s.history ?? []).map((h, i) => ({
      response: `r_hist${String(i + 1).padStart(10, '0')}`,
      choice: `rc_hist${String(i + 1).padStart(10, '0')}`,
      prompt: h.prompt,
      answer: h.error ? '' : h.answer ?? '',
      thoughts: null,
      at: base + i * 1000,
    }));
    const turns = [...old, ...(chats.get(conversation) ?? [])].map((t) => readTurn(conversation, t)).reverse();
    const inner = JSON.stringify([turns, null, null, []]);
    res.end(PREFIX + frame([['wrb.fr', 'hNvQHb', inner, null, null, null, 'generic'], ['di', 97], ['af.httprm', 97, '-1407962530451788640', 23]]) + frame([['e', 4, null, null, inner.length + 200]]));
  }

  const site = await startFakeSite({
    host: 'gemini.google.com',
    csp: GEMINI_CSP,
    page: null,
    dir: HERE,
    files: STATIC,
    defaults: { ...DEFAULT_STATE, ...defaults },
    port,
    route: ({ req, res, url, path: p, body, state, headers, hold }) => {
      if (req.method === 'GET' && (p === '/' || p === '/app' || /^\/app\/[0-9a-f]{16}$/.test(p))) {
        res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' });
        res.end(PAGE);
        return true;
      }
      if (p === SEND_PATH && req.method === 'POST') return streamGenerate(res, body, headers, state, hold).then(() => true);
      if (p === READ_PATH && req.method === 'POST') {
        batchExecute(res, url, body, headers, state);
        return true;
      }
      if (p.startsWith('/_/')) {
        res.writeHead(404, { ...headers, 'content-type': 'text/html; charset=utf-8' });
        res.end(googleError(404, 'Not Found'));
        return true;
      }
      return false;
    },
  });

  async function streamGenerate(res, body, common, s, hold) {
    if (s.mode === 'status') {
      const words = { 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' }[s.status] ?? 'Error';
      res.writeHead(s.status, { ...common, 'content-type': 'text/html; charset=UTF-8' });
      res.end(googleError(s.status, words));
      return;
    }
    const { metadata } = readSend(body);
    const fresh = !metadata?.[0];
    const conversation = metadata?.[0] || `c_${hex(8)}`;
    const ids = [conversation, `r_${hex(8)}`];
    const choice = `rc_${hex(8)}`;
    res.writeHead(200, { ...common, 'content-type': 'application/json; charset=utf-8', 'x-content-type-options': 'nosniff' });
    res.write(PREFIX);
    res.write(idsFrame(ids));
    if (s.mode === 'code') {
      await sleep(30);
      res.end(errorFrame(s.code));
      return;
    }
    if (s.mode === 'dom') {
      await sleep(30);
      res.end();
      return;
    }
    const words = tokens(s.answer);
    const upTo = s.mode === 'stall' || s.mode === 'drop' ? Math.max(1, Math.floor(words.length / 2)) : words.length;
    let text = '';
    const per = Math.max(1, s.wordsPerFrame);
    for (let i = per - 1; i < upTo + per - 1; i += per) {
      if (res.destroyed) return;
      await sleep(s.tokenDelayMs);
      const n = Math.min(i, upTo - 1);
      text = words.slice(0, n + 1).join('');
      const last = n === words.length - 1;
      // The finished snapshot carries the whole text, trimmed, and the completion marker.
      res.write(candidateFrame(ids, choice, last ? text.trimEnd() : text, { thoughts: i === per - 1 ? 'Thinking about the question' : null, done: last }));
    }
    if (s.mode === 'stall') {
      hold(res);
      return; // silence, the connection open
    }
    if (s.mode === 'drop') {
      res.destroy(); // the connection breaks mid-answer
      return;
    }
    if (fresh) res.write(titleFrame(s.title));
    if (!chats.has(conversation)) chats.set(conversation, []);
    chats.get(conversation).push({ response: ids[1], choice, prompt: readSend(body).prompt ?? '', answer: text.trimEnd(), thoughts: 'Thinking about the question', at: Date.now() });
    res.write(metaFrame());
    res.end(errorFrame(1096));
  }

  return {
    ...site,
    /** The prompts of the sends received, in order (read from their `f.req`). */
    prompts: () => site.requests.filter((r) => r.method === 'POST' && r.path === SEND_PATH).map((r) => readSend(r.body).prompt),
    /** The sends received: {prompt, metadata, at, search}. */
    sends: () => site.requests.filter((r) => r.method === 'POST' && r.path === SEND_PATH).map((r) => ({ ...readSend(r.body), search: r.search })),
  };
}

/** Google's HTML error page (what its front ends answer an error status with). */
function googleError(status, words) {
  return `<!DOCTYPE html>
<html lang=en>
  <meta charset=utf-8>
  <title>Error ${status} (${words})!!1</title>
  <p><b>${status}.</b> <ins>That’s an error.</ins>
  <p>That’s all we know.
`;
}
