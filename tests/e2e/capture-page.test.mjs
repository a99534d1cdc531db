// Capture on the page, end to end: the MAIN-world hooks hand every byte of the page's answer
// streams (and its socket frames) to the worker, in order, however the page ends its read, and the
// worker's core turns them into the cached conversation. A small HTTPS chatgpt.com of this file's
// own serves delta-encoding-v1 streams (long and fast, cut at random places, multi-byte characters
// cut too), a handoff to the resume endpoint and to a socket on ws.chatgpt.com, and conversation
// bodies. The page's posts are kept by a page script (as any page script could).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import https from 'node:https';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage } from './browser.mjs';
import { stopWorker } from './detect-helpers.mjs';
import { certificate, STRICT_CSP } from './fake-chatgpt/server.mjs';

const PAGE = '<!doctype html><html><head><meta charset="utf-8"><title>Capture test</title></head><body><main id="thread"></main></body></html>';
// The fake's strict policy, with the answer socket's host allowed (as chatgpt.com allows it).
const CSP = STRICT_CSP.replace("connect-src 'self'", "connect-src 'self' wss://ws.chatgpt.com");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- v1 streams ----
let seed = 11;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const WORDS = [' the', ' answer', ' streams', ',', ' café', ' naïve', ' 🙂', ' 日本語', ' **bold**', '\n\n'];
const event = (data, name) => `${name ? `event: ${name}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
const message = (id, role, text, status, extra = {}) => ({
  id, author: { role, name: null, metadata: {} }, create_time: 1790565733.25, update_time: null,
  content: { content_type: 'text', parts: [text] }, status, end_turn: null, weight: 1, metadata: {}, recipient: 'all', channel: role === 'assistant' ? 'final' : null, ...extra,
});

/** A send's request body and its v1 answer stream: {request, events, answer, prompt}. */
function turn({ conversation, user, assistant, prompt, tokens = 200, title = null }) {
  const root = (c, m, first) => event({ ...(first ? { p: '', o: 'add' } : {}), v: { message: m, conversation_id: conversation, error: null, error_code: null }, c }, 'delta');
  const request = JSON.stringify({
    action: 'next', conversation_id: conversation, parent_message_id: 'client-created-root', model: 'gpt-5-6',
    messages: [{ id: user, author: { role: 'user' }, create_time: 1790565733, content: { content_type: 'text', parts: [prompt] } }],
    supported_encodings: ['v1'],
  });
  const head = [
    event('"v1"', 'delta_encoding'),
    event({ type: 'resume_conversation_token', kind: 'topic', token: 'x'.repeat(64), conversation_id: conversation }),
    root(0, message(`${user}-sys`, 'system', '', 'finished_successfully', { metadata: { is_visually_hidden_from_conversation: true } }), true),
    root(2, message(user, 'user', prompt, 'finished_successfully', { metadata: { parent_id: `${user}-sys` } })),
  ];
  if (title) head.push(event({ type: 'title_generation', title, conversation_id: conversation }));
  const body = [root(5, message(assistant, 'assistant', '', 'in_progress', { metadata: { parent_id: user } }), true)];
  let answer = '';
  const words = [];
  for (let i = 0; i < tokens; i++) {
    const w = WORDS[Math.floor(rand() * WORDS.length)];
    answer += w;
    words.push(w);
    body.push(event(i === 0 ? { p: '/message/content/parts/0', o: 'append', v: w } : { v: w }, 'delta'));
  }
  const tail = [
    event({ p: '', o: 'patch', v: [{ p: '/message/status', o: 'replace', v: 'finished_successfully' }, { p: '/message/end_turn', o: 'replace', v: true }, { p: '/message/metadata', o: 'append', v: { can_save: true } }] }, 'delta'),
    event({ type: 'message_stream_complete', conversation_id: conversation }),
    event('[DONE]'),
  ];
  return { request, head, body, tail, events: [...head, ...body, ...tail], answer, words, prompt };
}

/** Bytes cut at random places (multi-byte characters are cut too), from `min` to `max` bytes. */
function cuts(text, min = 1, max = 300) {
  const bytes = Buffer.from(text);
  const out = [];
  for (let i = 0; i < bytes.length;) {
    const n = min + Math.floor(rand() * (max - min + 1));
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

// ---- the server ----
// `plan` says how the next request of each kind is answered; tests set it.
const plan = { send: null, resume: null, conversations: {}, frames: [] };
let server;
let browser;
let page;
const requests = [];

async function serve(req, res) {
  const url = new URL(req.url, 'https://chatgpt.com');
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks).toString('utf8');
  requests.push({ method: req.method, path: url.pathname, body });
  const common = { 'content-security-policy': CSP, 'cache-control': 'no-store' };
  if (req.method === 'POST' && /^\/(backend-api|backend-anon)\/f\/conversation(\/resume)?$/.test(url.pathname)) {
    const answer = url.pathname.endsWith('/resume') ? plan.resume : plan.send;
    res.writeHead(200, { ...common, 'content-type': 'text/event-stream; charset=utf-8' });
    await answer(res, body);
    return;
  }
  const conv = /^\/backend-api\/conversations?\/([\w-]+)/.exec(url.pathname);
  if (req.method === 'GET' && conv && plan.conversations[url.pathname]) {
    res.writeHead(200, { ...common, 'content-type': 'application/json' });
    res.end(JSON.stringify(plan.conversations[url.pathname]));
    return;
  }
  if (req.method === 'GET' && (url.pathname === '/' || url.pathname.startsWith('/c/'))) {
    res.writeHead(200, { ...common, 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
    return;
  }
  res.writeHead(404, { ...common, 'content-type': 'application/json' });
  res.end('{"detail":"Not Found"}');
}

/** Writes the chunks as fast as the socket takes them (many land in one read, many don't). */
async function writeAll(res, list) {
  for (const c of list) {
    if (!res.write(c)) await new Promise((r) => res.once('drain', r));
    if (rand() < 0.2) await new Promise((r) => setImmediate(r));
  }
}

// A socket on ws.chatgpt.com: sends plan.frames (text), then closes cleanly.
function upgrade(req, socket) {
  const key = req.headers['sec-websocket-key'];
  if (!key || req.headers.host?.split(':')[0] !== 'ws.chatgpt.com') {
    socket.destroy();
    return;
  }
  socket.on('error', () => {});
  const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  const frame = (opcode, payload) => {
    const bytes = Buffer.from(payload);
    const n = bytes.length;
    const head = n < 126 ? Buffer.from([0x80 | opcode, n])
      : n < 65536 ? Buffer.from([0x80 | opcode, 126, n >> 8, n & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; })()]);
    return Buffer.concat([head, bytes]);
  };
  (async () => {
    for (const f of plan.frames) {
      socket.write(frame(1, f));
      await sleep(2);
    }
    socket.end(frame(8, Buffer.from([0x03, 0xe8])));
  })();
}

before(async () => {
  server = https.createServer(certificate(), (req, res) => serve(req, res).catch(() => res.destroy()));
  server.on('upgrade', upgrade);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  browser = await launch({ chatgptPort: port, hostRules: { 'ws.chatgpt.com': port } });
  page = await openChat('https://chatgpt.com/');
});

after(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r()));
});

/** A chat page with the extension running and a page script keeping the capture hook's posts. */
async function openChat(url) {
  const p = await browser.context.newPage();
  await p.goto(url);
  await p.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
  await p.evaluate(() => {
    window.__posted = [];
    window.addEventListener('message', (e) => {
      if (e.data?.source === 'understudy-capture') window.__posted.push(e.data);
    });
  });
  return p;
}

/** The stream posts of the page, grouped: [{id, kind, path, request, text, frames, seqs, end}]. */
async function streams(p = page) {
  const posted = await p.evaluate(() => window.__posted.filter((m) => m.kind === 'stream'));
  const out = new Map();
  for (const m of posted) {
    if (!out.has(m.id)) out.set(m.id, { id: m.id, text: '', frames: [], seqs: [], end: null });
    const s = out.get(m.id);
    if (m.seq === 0) Object.assign(s, { kind: m.stream_kind, path: m.path, request: m.request, temporary: m.temporary });
    s.seqs.push(m.seq);
    s.text += m.text ?? '';
    s.frames.push(...(m.frames ?? []));
    if (m.end) s.end = m.end;
  }
  return [...out.values()];
}

async function waitStream(pred, p = page) {
  const until = Date.now() + 10000;
  for (;;) {
    const found = (await streams(p)).find(pred);
    if (found?.end) return found;
    if (Date.now() > until) assert.fail(`no such stream ended; posted: ${JSON.stringify(await streams(p)).slice(0, 1500)}`);
    await sleep(50);
  }
}

/** Every cached conversation as the user sees it: [{id, title, incomplete, texts}]. */
async function waitCached(pred) {
  const lib = await openExtensionPage(browser.context, 'www/library.html');
  try {
    await lib.waitForSelector('body[data-listed="1"]', { timeout: 15000 });
    const until = Date.now() + 15000;
    let last;
    for (;;) {
      last = await lib.evaluate(async () => {
        const { db, core } = window.understudyLibrary;
        const out = [];
        for (const json of await db.allJsons()) {
          const v = core.cacheView(json);
          out.push({ id: v.id, title: v.title, incomplete: v.incomplete, texts: v.messages.map((m) => m.text) });
        }
        return out;
      });
      const hit = last.find(pred);
      if (hit) return hit;
      if (Date.now() > until) assert.fail(`cache never matched; it holds ${JSON.stringify(last).slice(0, 2000)}`);
      await sleep(150);
    }
  } finally {
    await lib.close();
  }
}

/** The page sends `request` (a string body, or a Request object with `asRequest`) and reads the answer. */
function pageSend(p, request, { path = '/backend-api/f/conversation', asRequest = false, abortAtDone = false } = {}) {
  return p.evaluate(async ({ request, path, asRequest, abortAtDone }) => {
    const controller = new AbortController();
    const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: request, signal: controller.signal };
    const r = await (asRequest ? fetch(new Request(path, init)) : fetch(path, init));
    const reader = r.body.getReader();
    const utf8 = new TextDecoder();
    let text = '';
    try {
      for (;;) {
        const x = await reader.read();
        if (x.done) break;
        text += utf8.decode(x.value, { stream: true });
        // As the real page does: it aborts its own read right after the terminal event.
        if (abortAtDone && text.includes('data: [DONE]\n\n')) {
          controller.abort();
          break;
        }
      }
    } catch (e) {
      return { text, error: e.name };
    }
    return { text: text + utf8.decode(), error: null };
  }, { request, path, asRequest, abortAtDone });
}

test('every byte of a long, fast stream reaches the worker in order, and the answer is cached whole', async () => {
  const t = turn({ conversation: 'cp-long-1', user: 'cp-long-u1', assistant: 'cp-long-a1', prompt: 'Write a long answer', tokens: 3000, title: 'A long answer' });
  const sent = t.events.join('');
  plan.send = async (res) => {
    await writeAll(res, cuts(sent, 1, 400));
    res.end();
  };
  const got = await pageSend(page, t.request);
  assert.equal(got.text, sent, 'the page got every byte');
  const s = await waitStream((x) => x.kind === 'send' && x.request === t.request);
  assert.equal(s.path, '/backend-api/f/conversation');
  assert.equal(s.temporary, false);
  assert.deepEqual(s.seqs, s.seqs.map((_, i) => i), 'posts numbered in order');
  assert.ok(s.seqs.length >= 2, 'posted in batches');
  assert.equal(s.text.length, sent.length);
  assert.ok(s.text === sent, 'the posts carry exactly the stream');
  assert.equal(s.end, 'eof');
  const conv = await waitCached((c) => c.id === 'cp-long-1' && c.texts.at(-1) === t.answer);
  assert.deepEqual(conv.texts, ['Write a long answer', t.answer]);
  assert.equal(conv.incomplete, false);
  assert.equal(conv.title, 'A long answer');
});

test('a page that aborts its read right after [DONE] loses nothing', async () => {
  const t = turn({ conversation: 'cp-abort-1', user: 'cp-abort-u1', assistant: 'cp-abort-a1', prompt: 'Answer and stop', tokens: 400 });
  const sent = t.events.join('');
  plan.send = async (res) => {
    // The last chunk ends with [DONE]; the connection stays open (the page ends it).
    await writeAll(res, cuts(sent, 20, 200));
  };
  const got = await pageSend(page, t.request, { abortAtDone: true });
  assert.ok(got.text.endsWith('data: [DONE]\n\n'));
  const s = await waitStream((x) => x.request === t.request);
  assert.equal(s.end, 'abort');
  assert.equal(s.text, sent, 'every chunk the page read was posted');
  const conv = await waitCached((c) => c.id === 'cp-abort-1' && c.texts.at(-1) === t.answer);
  assert.equal(conv.incomplete, false);
});

test('the body of a Request object is the stream\'s request, also on backend-anon', async () => {
  const t = turn({ conversation: 'cp-req-1', user: 'cp-req-u1', assistant: 'cp-req-a1', prompt: 'Sent as a Request object', tokens: 20 });
  plan.send = async (res) => {
    await writeAll(res, cuts(t.events.join(''), 50, 500));
    res.end();
  };
  await pageSend(page, t.request, { asRequest: true, path: '/backend-anon/f/conversation' });
  const s = await waitStream((x) => x.request === t.request);
  assert.equal(s.kind, 'send');
  assert.equal(s.path, '/backend-anon/f/conversation');
  assert.equal(requests.at(-1).body, t.request, 'the page\'s request went out unchanged');
  const conv = await waitCached((c) => c.id === 'cp-req-1' && c.texts.at(-1) === t.answer);
  assert.equal(conv.texts[0], 'Sent as a Request object');
});

test('a handed-off answer continues on the resume stream', async () => {
  const t = turn({ conversation: 'cp-resume-1', user: 'cp-resume-u1', assistant: 'cp-resume-a1', prompt: 'A handed-off answer', tokens: 300 });
  const handoff = [
    ...t.head,
    event({ type: 'stream_handoff', conversation_id: 'cp-resume-1', turn_exchange_id: 'tx-1', options: [{ type: 'resume_sse_endpoint', topic_id: 'topic-1' }] }),
    event('[DONE]'),
  ].join('');
  plan.send = async (res) => res.end(handoff);
  plan.resume = async (res) => {
    await writeAll(res, cuts(['event: delta_encoding\ndata: "v1"\n\n', ...t.body, ...t.tail].join(''), 1, 300));
    res.end();
  };
  await pageSend(page, t.request);
  // offset: the events the page read (all but the delta_encoding declaration).
  const resume = JSON.stringify({ conversation_id: 'cp-resume-1', offset: t.head.length + 1 });
  await pageSend(page, resume, { path: '/backend-api/f/conversation/resume' });
  const s = await waitStream((x) => x.kind === 'resume' && x.request === resume);
  assert.equal(s.path, '/backend-api/f/conversation/resume');
  assert.equal(s.end, 'eof');
  await waitCached((c) => c.id === 'cp-resume-1' && c.texts.at(-1) === t.answer);
});

test('a socket on ws.chatgpt.com: its text frames reach the worker in order, never its query', async () => {
  const t = turn({ conversation: 'cp-ws-1', user: 'cp-ws-u1', assistant: 'cp-ws-a1', prompt: 'Answered over the socket', tokens: 150 });
  // The send hands off; the answer's SSE text comes in socket frames (stream items).
  plan.send = async (res) => res.end([...t.head, event({ type: 'stream_handoff', conversation_id: 'cp-ws-1', turn_exchange_id: 'tx-2', options: [{ type: 'subscribe_ws_topic', topic_id: 'conversation-turn-tx-2' }] }), event('[DONE]')].join(''));
  const items = [...t.body, ...t.tail];
  plan.frames = items.map((item, i) => JSON.stringify({
    type: 'message', topic_id: 'conversation-turn-tx-2',
    payload: { type: 'conversation-turn-stream', payload: { type: 'stream-item', conversation_id: 'cp-ws-1', turn_id: 'tx-2', encoded_item: item, stream_item_id: `item-${i}` } },
    offset: String(i),
  }));
  plan.frames.push(JSON.stringify({ type: 'done', topic_id: 'conversation-turn-tx-2', conversation_id: 'cp-ws-1' }));
  await pageSend(page, t.request);
  const seen = await page.evaluate(() => new Promise((resolve) => {
    const ws = new WebSocket('wss://ws.chatgpt.com/ws/user/user-1?verify=secret-token');
    let n = 0;
    ws.onmessage = () => { n += 1; };
    ws.onclose = () => resolve(n);
    setTimeout(() => resolve(-1), 10000);
  }));
  assert.equal(seen, plan.frames.length, 'the page got every frame');
  const s = await waitStream((x) => x.kind === 'ws');
  assert.equal(s.path, '/ws/user/user-1');
  assert.ok(!JSON.stringify(await page.evaluate(() => window.__posted)).includes('secret-token'), 'the socket\'s query is never posted');
  assert.deepEqual(s.frames, plan.frames);
  assert.equal(s.end, 'close');
  await waitCached((c) => c.id === 'cp-ws-1' && c.texts.at(-1) === t.answer);
});

test('the worker restarted mid-answer: the page sends the stream again and nothing is lost', async () => {
  const t = turn({ conversation: 'cp-restart-1', user: 'cp-restart-u1', assistant: 'cp-restart-a1', prompt: 'Survive a restart', tokens: 600 });
  const half = t.events.length >> 1;
  let release;
  const released = new Promise((r) => { release = r; });
  plan.send = async (res) => {
    await writeAll(res, cuts(t.events.slice(0, half).join(''), 50, 400));
    await released;
    await writeAll(res, cuts(t.events.slice(half).join(''), 50, 400));
    res.end();
  };
  const reading = pageSend(page, t.request);
  // The first half is in the cache, then the worker stops (as after 30 s idle).
  await waitCached((c) => c.id === 'cp-restart-1' && c.texts.length === 2 && c.texts[1].length > 0);
  await stopWorker(browser.context, page);
  release();
  await reading;
  await waitStream((x) => x.request === t.request);
  const conv = await waitCached((c) => c.id === 'cp-restart-1' && c.texts.at(-1) === t.answer);
  assert.equal(conv.incomplete, false);
});

test('a tab closed mid-answer keeps every byte it had read, whenever it closes', async () => {
  // Closed at different moments against the hook's ticks (500 ms): right after a batch was posted,
  // the flush on pagehide still has all of it.
  for (const delay of [0, 130, 260, 390, 520]) {
    const t = turn({ conversation: `cp-close-${delay}`, user: `cp-close-u${delay}`, assistant: `cp-close-a${delay}`, prompt: `Closed after ${delay} ms`, tokens: 3000 });
    plan.send = async (res) => {
      for (const e of t.events.slice(0, -3)) {
        if (res.destroyed) return;
        res.write(e);
        await sleep(2);
      }
    };
    const p = await openChat('https://chatgpt.com/');
    p.evaluate((request) => {
      window.__read = '';
      fetch('/backend-api/f/conversation', { method: 'POST', headers: { 'content-type': 'application/json' }, body: request }).then(async (r) => {
        const reader = r.body.getReader();
        const utf8 = new TextDecoder();
        for (;;) {
          const x = await reader.read();
          if (x.done) break;
          window.__read += utf8.decode(x.value, { stream: true });
        }
      }).catch(() => {});
    }, t.request).catch(() => {});
    await p.waitForFunction(() => window.__read.split('\n\n').length > 100);
    await sleep(delay);
    const events = await p.evaluate(() => window.__read.split('\n\n').length - 1);
    await p.close();
    const shown = t.words.slice(0, Math.max(0, events - t.head.length - 1)).join('');
    const conv = await waitCached((c) => c.id === `cp-close-${delay}` && c.texts.length === 2 && c.texts[1].length >= shown.length);
    assert.ok(t.answer.startsWith(conv.texts[1]), `the answer kept is the start of the answer (closed after ${delay} ms)`);
    assert.equal(conv.incomplete, true);
  }
});

test('the conversation bodies the page loads are posted with their path and cached', async () => {
  const id = 'cp-load-1';
  const msgs = [
    message('cp-load-u1', 'user', 'An older question', 'finished_successfully'),
    message('cp-load-a1', 'assistant', 'An older answer', 'finished_successfully', { end_turn: true, metadata: { parent_id: 'cp-load-u1' } }),
  ];
  const newer = [
    message('cp-load-u2', 'user', 'The latest question', 'finished_successfully', { metadata: { parent_id: 'cp-load-a1' } }),
    message('cp-load-a2', 'assistant', 'The latest answer', 'finished_successfully', { end_turn: true, metadata: { parent_id: 'cp-load-u2' } }),
  ];
  plan.conversations = {
    [`/backend-api/conversations/${id}`]: {
      conversation_id: id, title: 'Loaded in pages', create_time: 1790000000, update_time: 1790000100, current_node: 'cp-load-a2',
      messages: newer, page_info: { start_cursor: 'cur-1', end_cursor: 'cur-2', has_previous_page: true, has_next_page: false },
      is_do_not_remember: false, is_temporary_chat: false,
    },
    [`/backend-api/conversations/${id}/messages`]: { messages: msgs, page_info: { start_cursor: null, end_cursor: 'cur-1', has_previous_page: false, has_next_page: true } },
  };
  const p = await openChat(`https://chatgpt.com/c/${id}`);
  await p.evaluate(async (id) => {
    await (await fetch(`/backend-api/conversations/${id}?include_has_versions=true&num_turns=10`)).json();
    await (await fetch(`/backend-api/conversations/${id}/messages?before=cur-1&include_has_versions=true&num_turns=10`)).json();
  }, id);
  await p.waitForFunction(() => window.__posted.filter((m) => m.kind === 'conversation').length === 2);
  const paths = await p.evaluate(() => window.__posted.filter((m) => m.kind === 'conversation').map((m) => m.path));
  assert.deepEqual(paths, [
    `/backend-api/conversations/${id}?include_has_versions=true&num_turns=10`,
    `/backend-api/conversations/${id}/messages?before=cur-1&include_has_versions=true&num_turns=10`,
  ]);
  const conv = await waitCached((c) => c.id === id && c.texts.length === 4);
  assert.deepEqual(conv.texts, ['An older question', 'An older answer', 'The latest question', 'The latest answer']);
  await p.close();
});

test('the search-unit renderer\'s turns are read from the DOM once the page settles', async () => {
  const p = await openChat('https://chatgpt.com/c/cp-dom-su-1');
  await p.evaluate(() => {
    const turns = [['su-u1', 'su-a1', 'Asked in the new renderer', 'Answered in the new renderer'], ['su-u2', 'su-a2', 'A second question', 'A second answer']];
    for (const [u, a, q, ans] of turns) {
      const root = document.createElement('div');
      root.dataset.turnKey = u;
      const user = document.createElement('div');
      user.dataset.userMessageBubble = 'true';
      user.textContent = q;
      const unit = document.createElement('div');
      unit.dataset.chatgptSelectionMessageId = a;
      const body = document.createElement('div');
      body.dataset.markdownTextStyle = 'assistant-message';
      body.textContent = ans;
      unit.append(body);
      root.append(user, unit);
      document.getElementById('thread').append(root);
    }
  });
  const conv = await waitCached((c) => c.id === 'cp-dom-su-1');
  assert.deepEqual(conv.texts, ['Asked in the new renderer', 'Answered in the new renderer', 'A second question', 'A second answer']);
  await p.close();
});

test('after traffic, the DOM still fills what traffic did not give, and traffic wins where both speak', async () => {
  const id = 'cp-mix-1';
  const t = turn({ conversation: id, user: 'cp-mix-u2', assistant: 'cp-mix-a2', prompt: 'The question streamed', tokens: 40 });
  plan.send = async (res) => {
    await writeAll(res, cuts(t.events.join(''), 50, 500));
    res.end();
  };
  const p = await openChat(`https://chatgpt.com/c/${id}`);
  await pageSend(p, t.request);
  await waitCached((c) => c.id === id && c.texts.at(-1) === t.answer);
  // The page shows an older turn traffic never carried (a windowed chat scrolled up), and the
  // streamed turn as rendered text (its markdown gone).
  await p.evaluate(({ answer }) => {
    for (const [mid, role, text] of [['cp-mix-u1', 'user', 'An older question only the page shows'], ['cp-mix-a1', 'assistant', 'An older answer only the page shows'],
      ['cp-mix-u2', 'user', 'The question streamed'], ['cp-mix-a2', 'assistant', `${answer.replaceAll('**', '')} (as rendered)`]]) {
      const section = document.createElement('section');
      section.dataset.testid = `conversation-turn-${mid}`;
      const msg = document.createElement('div');
      msg.dataset.messageAuthorRole = role;
      msg.dataset.messageId = mid;
      msg.textContent = text;
      section.append(msg);
      document.getElementById('thread').append(section);
    }
  }, { answer: t.answer });
  // The record holds every message the page showed; where both spoke, the traffic's text.
  const lib = await openExtensionPage(browser.context, 'www/library.html');
  try {
    await lib.waitForSelector('body[data-listed="1"]', { timeout: 15000 });
    let texts = {};
    for (const until = Date.now() + 15000; !texts['cp-mix-a1'] && Date.now() < until; await sleep(150)) {
      texts = await lib.evaluate(async (id) => {
        const [conv] = JSON.parse(await window.understudyLibrary.exportIds([id], 'json'));
        const out = {};
        for (const node of Object.values(conv?.mapping ?? {})) {
          if (node.message) out[node.message.id] = (node.message.content?.parts ?? []).join('');
        }
        return out;
      }, id);
    }
    assert.equal(texts['cp-mix-u1'], 'An older question only the page shows');
    assert.equal(texts['cp-mix-a1'], 'An older answer only the page shows');
    assert.equal(texts['cp-mix-a2'], t.answer, 'the streamed answer is kept as the traffic gave it');
  } finally {
    await lib.close();
  }
  await p.close();
});
