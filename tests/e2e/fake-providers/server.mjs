// One local HTTP server on 127.0.0.1 that speaks each provider's streaming wire format byte for byte
// (OpenAI Chat Completions SSE, Anthropic Messages SSE, Gemini SSE with CRLF, Ollama NDJSON) and
// injects faults per request. Paths: /NAME/v1/chat/completions (OpenAI), /NAME/v1/messages
// (Anthropic), /NAME/v1beta/models/MODEL:streamGenerateContent?alt=sse (Gemini), /NAME/api/chat
// (Ollama); NAME is any label, so one server plays many providers.
//
// `plan(NAME, [fault, ...])`: each request to NAME takes the next fault; the last one stays.
// A fault is a name or {fault, answer, tokenDelayMs, retryAfter, group (tokens per delta)}. Faults:
// ok, 500, 502_html, 503, 529, 429, 429_retry_after, 401, 403, 400_context, no_first_byte, stall,
// error_event, truncated, malformed, big (10 MB answer), message ({fault: 'message', status,
// message, html}: an error answer in the format's own shape carrying the test's message; with
// `html`, an HTML page titled with it). Every request is recorded with its headers, body and
// whether the client closed the connection before the answer ended.
import http from 'node:http';
import net from 'node:net';

const CLOUDFLARE_502 = `<!DOCTYPE html>
<html lang="en-US"><head><title>api.example.com | 502: Bad gateway</title></head>
<body><div id="cf-error-details"><h1>Bad gateway</h1><span>Error code 502</span>
<p>Visit <a href="https://www.cloudflare.com/5xx-error-landing">cloudflare.com</a> for more information.</p>
<span>Cloudflare Ray ID: 8f1c2b3a4d5e6f70</span></div></body></html>`;

export const DEFAULT_ANSWER = 'The quick brown fox jumps over the lazy dog, one token at a time.';

function tokens(text) {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

/** The wire format of each path. */
function formatOf(pathname) {
  if (pathname.endsWith('/chat/completions')) return 'openai';
  if (pathname.endsWith('/messages')) return 'anthropic';
  if (pathname.includes(':streamGenerateContent')) return 'gemini';
  if (pathname.endsWith('/api/chat')) return 'ollama';
  return null;
}

// ---- frames per format ----
const FRAMES = {
  openai: {
    type: 'text/event-stream',
    start: () => `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1700000000, model: 'fake', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`,
    token: (t) => `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1700000000, model: 'fake', choices: [{ index: 0, delta: { content: t }, finish_reason: null }] })}\n\n`,
    end: () => `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1700000000, model: 'fake', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`,
    error: () => `data: ${JSON.stringify({ error: { message: 'The upstream model failed while generating.', type: 'server_error', code: 500 } })}\n\n`,
    malformed: () => 'data: {"id":"chatcmpl-1","choices":[{"delta":{"content":"oops"\n\n',
  },
  anthropic: {
    type: 'text/event-stream',
    start: () =>
      `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], model: 'fake', stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } } })}\n\n` +
      `event: content_block_start\ndata: ${JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })}\n\n` +
      `event: ping\ndata: ${JSON.stringify({ type: 'ping' })}\n\n`,
    token: (t) => `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } })}\n\n`,
    end: () =>
      `event: content_block_stop\ndata: ${JSON.stringify({ type: 'content_block_stop', index: 0 })}\n\n` +
      `event: message_delta\ndata: ${JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 15 } })}\n\n` +
      `event: message_stop\ndata: ${JSON.stringify({ type: 'message_stop' })}\n\n`,
    error: () => `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`,
    malformed: () => 'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":\n\n',
  },
  gemini: {
    type: 'text/event-stream',
    start: () => '',
    token: (t) => `data: ${JSON.stringify({ candidates: [{ content: { parts: [{ text: t }], role: 'model' }, index: 0 }], modelVersion: 'fake' })}\r\n\r\n`,
    end: () => `data: ${JSON.stringify({ candidates: [{ content: { parts: [{ text: '' }], role: 'model' }, finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 12 } })}\r\n\r\n`,
    error: () => `data: ${JSON.stringify({ error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } })}\r\n\r\n`,
    malformed: () => 'data: {"candidates":[{"content":\r\n\r\n',
  },
  ollama: {
    type: 'application/x-ndjson',
    start: () => '',
    token: (t) => `${JSON.stringify({ model: 'fake', created_at: '2026-01-01T00:00:00Z', message: { role: 'assistant', content: t }, done: false })}\n`,
    end: () => `${JSON.stringify({ model: 'fake', created_at: '2026-01-01T00:00:00Z', message: { role: 'assistant', content: '' }, done_reason: 'stop', done: true, total_duration: 1000, eval_count: 12 })}\n`,
    error: () => `${JSON.stringify({ error: 'model runner has unexpectedly stopped' })}\n`,
    malformed: () => '{"model":"fake","message":{"content":\n',
  },
};

function errorBody(format, status) {
  const message = {
    500: 'The server had an error while processing your request.',
    503: 'The service is temporarily unavailable.',
    529: 'Overloaded',
    429: 'Rate limit reached for requests.',
    401: 'Incorrect API key provided.',
    403: 'Forbidden',
  }[status] ?? 'Error';
  if (format === 'anthropic') {
    const type = { 529: 'overloaded_error', 429: 'rate_limit_error', 401: 'authentication_error', 500: 'api_error', 503: 'api_error' }[status] ?? 'api_error';
    return JSON.stringify({ type: 'error', error: { type, message } });
  }
  if (format === 'gemini') {
    const s = { 429: 'RESOURCE_EXHAUSTED', 401: 'UNAUTHENTICATED', 500: 'INTERNAL', 503: 'UNAVAILABLE' }[status] ?? 'UNKNOWN';
    return JSON.stringify({ error: { code: status, message, status: s } });
  }
  if (format === 'ollama') return status === 403 ? '' : JSON.stringify({ error: message });
  return JSON.stringify({ error: { message, type: status === 401 ? 'invalid_request_error' : 'server_error', code: status === 401 ? 'invalid_api_key' : null } });
}

/** An error body in FORMAT's shape carrying MESSAGE. */
function messageBody(format, status, message) {
  if (format === 'anthropic') return JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message } });
  if (format === 'gemini') return JSON.stringify({ error: { code: status, message, status: 'INVALID_ARGUMENT' } });
  if (format === 'ollama') return JSON.stringify({ error: message });
  return JSON.stringify({ error: { message, type: 'invalid_request_error', code: null } });
}

function contextBody(format) {
  const message = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9100 tokens.";
  if (format === 'anthropic') return JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 210000 tokens > 200000 maximum' } });
  if (format === 'gemini') return JSON.stringify({ error: { code: 400, message: 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).', status: 'INVALID_ARGUMENT' } });
  if (format === 'ollama') return JSON.stringify({ error: 'the input length exceeds the context length' });
  return JSON.stringify({ error: { message, type: 'invalid_request_error', code: 'context_length_exceeded', param: 'messages' } });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A loopback port nothing listens on (for "connection refused"). */
export async function closedPort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

export async function startFakeProviders({ port = 0 } = {}) {
  const plans = new Map();
  const requests = [];
  const open = new Set();

  function nextFault(name) {
    const plan = plans.get(name) ?? ['ok'];
    const f = plan.length > 1 ? plan.shift() : plan[0];
    return typeof f === 'string' ? { fault: f } : { ...f };
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString('utf8');
    const name = url.pathname.split('/')[1] ?? '';
    const format = formatOf(url.pathname);
    const record = { name, format, method: req.method, path: url.pathname + url.search, headers: req.headers, body, json: null, fault: null, clientClosed: false, finished: false, at: Date.now() };
    try {
      record.json = JSON.parse(body);
    } catch {}
    requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.clientClosed = true;
    });
    if (!format || req.method !== 'POST') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `unknown path ${url.pathname}` } }));
      return;
    }
    const f = nextFault(name);
    record.fault = f.fault;
    const frames = FRAMES[format];
    const answer = f.answer ?? `${DEFAULT_ANSWER} [${name}]`;
    const delay = f.tokenDelayMs ?? 8;
    const json = (status, text, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(text);
    };
    switch (f.fault) {
      case '500': case '503': case '401': case '403':
        return json(Number(f.fault), errorBody(format, Number(f.fault)));
      case '529':
        return json(529, errorBody(format, 529));
      case '502_html':
        res.writeHead(502, { 'content-type': 'text/html; charset=UTF-8', server: 'cloudflare', 'cf-ray': '8f1c2b3a4d5e6f70-CDG' });
        return res.end(CLOUDFLARE_502);
      case '429':
        return json(429, errorBody(format, 429));
      case '429_retry_after':
        return json(429, errorBody(format, 429), { 'retry-after': String(f.retryAfter ?? 1) });
      case '400_context':
        return json(400, contextBody(format));
      case 'message':
        if (f.html) {
          res.writeHead(f.status ?? 502, { 'content-type': 'text/html; charset=UTF-8' });
          return res.end(`<!DOCTYPE html><html><head><title>${f.message}</title></head><body>${f.message}</body></html>`);
        }
        return json(f.status ?? 400, messageBody(format, f.status ?? 400, f.message ?? 'Error'));
      case 'no_first_byte':
        open.add(res);
        res.on('close', () => open.delete(res));
        return; // headers never sent
      default:
        break;
    }
    res.writeHead(200, { 'content-type': frames.type, 'cache-control': 'no-cache', connection: 'keep-alive' });
    open.add(res);
    res.on('close', () => open.delete(res));
    const write = (s) => !res.destroyed && res.write(s);
    write(frames.start());
    if (f.fault === 'big') {
      // 10 MB of answer text in large writes; the answer is 'x' repeated, split into 1000-char deltas.
      const delta = 'x'.repeat(999) + ' ';
      const frame = frames.token(delta);
      const per = 200;
      const total = Math.ceil((10 * 1024 * 1024) / delta.length);
      for (let i = 0; i < total && !res.destroyed; i += per) {
        const ok = res.write(frame.repeat(Math.min(per, total - i)));
        if (!ok) await new Promise((r) => res.once('drain', r));
      }
      write(frames.end());
      record.finished = true;
      return res.end();
    }
    // `group`: that many tokens per delta (default 1), as providers that batch their deltas send them.
    const group = Math.max(1, f.group ?? 1);
    const toks = tokens(answer).reduce((out, t, i) => {
      if (i % group === 0) out.push(t);
      else out[out.length - 1] += t;
      return out;
    }, []);
    const cut = Math.max(1, Math.floor(toks.length / 2));
    const midFault = ['stall', 'error_event', 'truncated', 'malformed'].includes(f.fault);
    for (let i = 0; i < toks.length && !res.destroyed; i++) {
      if (midFault && i === cut) break;
      write(frames.token(toks[i]));
      if (delay) await sleep(delay);
    }
    if (res.destroyed) return;
    if (f.fault === 'stall') return; // stays open, silent
    if (f.fault === 'error_event') write(frames.error());
    else if (f.fault === 'malformed') write(frames.malformed());
    else if (f.fault !== 'truncated') write(frames.end());
    record.finished = true;
    res.end();
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  const actual = server.address().port;
  return {
    port: actual,
    /** The base URL for provider NAME, as a provider's settings want it. */
    base(name, format) {
      const root = `http://127.0.0.1:${actual}/${name}`;
      return { openai: `${root}/v1`, anthropic: `${root}/v1`, gemini: `${root}/v1beta`, ollama: root }[format];
    },
    plan(name, faults) {
      plans.set(name, faults.slice());
    },
    reset() {
      plans.clear();
      requests.length = 0;
    },
    requests,
    /** The requests to provider NAME. */
    to(name) {
      return requests.filter((r) => r.name === name);
    },
    async close() {
      for (const res of open) res.destroy();
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}

/** The first `[...]` half of the default answer a fault cuts at (for asserting partial text). */
export function firstHalf(name, answer = `${DEFAULT_ANSWER} [${name}]`) {
  const toks = tokens(answer);
  return toks.slice(0, Math.max(1, Math.floor(toks.length / 2))).join('');
}
