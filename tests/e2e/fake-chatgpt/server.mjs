// A local impersonation of https://chatgpt.com for end-to-end tests and the demo.
// HTTPS with a self-signed certificate, loopback only, a strict CSP without 'wasm-unsafe-eval' (as a
// real site may send), and a small page that behaves like ChatGPT's: a composer, turns, a streamed
// answer from POST /backend-api/f/conversation, and ChatGPT's error boxes when the backend fails.
// Tests steer failures through POST /__control (never reachable from outside the machine).
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';

const HERE = path.dirname(new URL(import.meta.url).pathname);
const ROOT = path.resolve(HERE, '../../..');
const CERT_DIR = path.join(ROOT, 'target', 'e2e', 'cert');

/** A self-signed certificate for chatgpt.com, made once with openssl and reused. */
export function certificate() {
  const key = path.join(CERT_DIR, 'key.pem');
  const cert = path.join(CERT_DIR, 'cert.pem');
  if (!fs.existsSync(cert)) {
    fs.mkdirSync(CERT_DIR, { recursive: true });
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '3650',
      '-subj', '/CN=chatgpt.com', '-addext', 'subjectAltName=DNS:chatgpt.com,DNS:chat.openai.com',
    ], { stdio: 'ignore' });
  }
  return { key: fs.readFileSync(key), cert: fs.readFileSync(cert) };
}

export const STRICT_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'";

/**
 * Backend behaviours for the conversation endpoint, steered by tests:
 * - healthy: streams `answer` token by token as server-sent events, ending with [DONE].
 * - status: answers `status` with `body` (JSON or HTML) and optional headers.
 * - stream_error: streams some tokens, then an error object inside the stream, no [DONE].
 * - stall: streams some tokens, then stops sending (the connection stays open).
 * - hang: never answers (no headers, no byte) until the client gives up.
 * The page itself takes `?quiet=1` to show no error boxes of its own (network-only detection).
 * `conversations` ({id: conversation}) answers GET /backend-api/conversation/<id>, which the page
 * loads on /c/<id> (any other id gets `sampleConversation(id)`).
 */
const DEFAULT_STATE = {
  mode: 'healthy',
  answer: 'Here is a short answer, streamed the way ChatGPT streams it.',
  tokenDelayMs: 5,
  status: 503,
  body: '{"detail":"Hmm...something seems to have gone wrong. Maybe try me again in a little bit."}',
  headers: {},
  streamError: 'Something went wrong while generating the response.',
  // GET /backend-api/conversation/<id>: export-shaped conversations by id (others get a small default).
  conversations: {},
};

/** A small export-shaped conversation, as GET /backend-api/conversation/<id> returns it. */
export function sampleConversation(id, { title = 'Trip planning for Lisbon', question = 'What should I see in Lisbon?', answer = 'Start in **Alfama**, then take tram 28.' } = {}) {
  const t = 1767225600;
  const msg = (mid, role, text, dt) => ({
    id: mid, author: { role, name: null, metadata: {} }, create_time: t + dt, update_time: null,
    content: { content_type: 'text', parts: [text] }, status: 'finished_successfully', end_turn: role === 'assistant' ? true : null,
    weight: 1, metadata: role === 'assistant' ? { model_slug: 'gpt-4o' } : {}, recipient: 'all',
  });
  return {
    id, conversation_id: id, title, create_time: t, update_time: t + 60, current_node: `${id}-a1`,
    default_model_slug: 'gpt-4o', is_archived: false,
    mapping: {
      [`${id}-root`]: { id: `${id}-root`, parent: null, children: [`${id}-u1`], message: null },
      [`${id}-u1`]: { id: `${id}-u1`, parent: `${id}-root`, children: [`${id}-a1`], message: msg(`${id}-u1`, 'user', question, 1) },
      [`${id}-a1`]: { id: `${id}-a1`, parent: `${id}-u1`, children: [], message: msg(`${id}-a1`, 'assistant', answer, 2) },
    },
  };
}

export async function startFakeChatgpt({ port = 0 } = {}) {
  let state = { ...DEFAULT_STATE };
  const requests = [];
  const pageDir = HERE;
  const server = https.createServer(certificate(), async (req, res) => {
    const url = new URL(req.url, 'https://chatgpt.com');
    const body = await readBody(req);
    requests.push({ method: req.method, path: url.pathname, body });
    const common = { 'content-security-policy': STRICT_CSP, 'cache-control': 'no-store' };

    if (url.pathname === '/__control' && req.method === 'POST') {
      state = { ...DEFAULT_STATE, ...JSON.parse(body || '{}') };
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/app.js' || url.pathname === '/app.css') {
      const type = url.pathname.endsWith('.js') ? 'text/javascript' : 'text/css';
      res.writeHead(200, { ...common, 'content-type': type });
      res.end(fs.readFileSync(path.join(pageDir, url.pathname.slice(1))));
      return;
    }
    if (url.pathname === '/backend-api/test-events' && req.method === 'GET') {
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
    if (url.pathname === '/backend-api/f/conversation' && req.method === 'POST') {
      await conversation(state, res, common);
      return;
    }
    const load = /^\/backend-api\/conversation\/([0-9A-Za-z_-]{1,100})$/.exec(url.pathname);
    if (load && req.method === 'GET') {
      res.writeHead(200, { ...common, 'content-type': 'application/json' });
      res.end(JSON.stringify(state.conversations?.[load[1]] ?? sampleConversation(load[1])));
      return;
    }
    if (url.pathname.startsWith('/fixtures/')) {
      // Saved pages from tests/fixtures/pages, served as the whole document.
      const file = path.join(ROOT, 'tests', 'fixtures', 'pages', path.basename(url.pathname));
      if (fs.existsSync(file)) {
        res.writeHead(200, { ...common, 'content-type': 'text/html; charset=utf-8' });
        res.end(fs.readFileSync(file));
        return;
      }
    }
    if (url.pathname === '/' || url.pathname.startsWith('/c/')) {
      res.writeHead(200, { ...common, 'content-type': 'text/html; charset=utf-8' });
      res.end(fs.readFileSync(path.join(pageDir, 'index.html')));
      return;
    }
    res.writeHead(404, { ...common, 'content-type': 'application/json' });
    res.end('{"detail":"Not Found"}');
  });
  // A WebSocket at /backend-api/test-socket?mode=...: two text messages, then `clean` (close 1000),
  // `abrupt` (the connection drops), `error` (an error message, then it stays open) or `hold`. A close
  // from the page is answered with close 1000. Frames are small (payloads under 126 bytes).
  const sockets = new Set();
  server.on('upgrade', (req, socket) => {
    const url = new URL(req.url, 'https://chatgpt.com');
    const key = req.headers['sec-websocket-key'];
    if (url.pathname !== '/backend-api/test-socket' || !key) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const frame = (opcode, payload) => {
      const bytes = Buffer.from(payload);
      return Buffer.concat([Buffer.from([0x80 | opcode, bytes.length]), bytes]);
    };
    const CLOSE_1000 = Buffer.from([0x03, 0xe8]);
    socket.on('data', (data) => {
      if ((data[0] & 0x0f) === 8) socket.end(frame(8, CLOSE_1000)); // the page closed
    });
    const mode = url.searchParams.get('mode');
    socket.write(frame(1, '{"v": "one"}'));
    setTimeout(() => {
      if (socket.destroyed) return;
      socket.write(frame(1, '{"v": "two"}'));
      if (mode === 'error') socket.write(frame(1, JSON.stringify({ message: null, error: ERRORS_IN_STREAM })));
      else if (mode === 'clean') socket.end(frame(8, CLOSE_1000));
      else if (mode === 'abrupt') socket.destroy();
    }, 50);
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    requests,
    /** Changes how the backend behaves from now on. */
    setMode(next) {
      state = { ...DEFAULT_STATE, ...next };
    },
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// The error a stream or a socket reports in the channel tests (a short ChatGPT error text).
const ERRORS_IN_STREAM = 'Error in message stream';

async function conversation(state, res, common) {
  if (state.mode === 'hang') {
    return; // no headers, no body: the request stays open until the client gives up
  }
  if (state.mode === 'status') {
    const isHtml = String(state.body).trimStart().startsWith('<');
    res.writeHead(state.status, {
      ...common,
      'content-type': isHtml ? 'text/html; charset=utf-8' : 'application/json',
      ...state.headers,
    });
    res.end(state.body);
    return;
  }
  res.writeHead(200, { ...common, 'content-type': 'text/event-stream; charset=utf-8' });
  const conversationId = '6a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b';
  const messageId = `m-${Date.now()}`;
  const words = state.answer.split(/(?<= )/);
  const upTo = state.mode === 'healthy' ? words.length : Math.ceil(words.length / 2);
  let text = '';
  for (let i = 0; i < upTo; i++) {
    text += words[i];
    const event = {
      message: { id: messageId, author: { role: 'assistant' }, content: { content_type: 'text', parts: [text] }, status: 'in_progress' },
      conversation_id: conversationId,
    };
    res.write(`data: ${JSON.stringify(event)}\n\n`);
    if (state.tokenDelayMs) await sleep(state.tokenDelayMs);
  }
  if (state.mode === 'healthy') {
    res.end('data: [DONE]\n\n');
  } else if (state.mode === 'stream_error') {
    res.end(`data: ${JSON.stringify({ message: null, conversation_id: conversationId, error: state.streamError })}\n\n`);
  } else if (state.mode === 'stall') {
    // Keep the connection open without another byte until the client gives up.
  } else {
    res.end();
  }
}
