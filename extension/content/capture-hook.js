// MAIN-world observer of the conversations the page loads and streams (for the cache). Passive: it
// reads clones of the page's own responses and the body of the page's own requests, never makes a
// request. It forwards, bounded, with window.postMessage({source: 'understudy-capture', ...}):
// - {kind: 'prompt', conversation_id, prompt}: the user's message, the moment it is sent;
// - {kind: 'message', conversation_id, message, prompt, pending}: the latest state of a streamed
//   answer (throttled; the last state always goes out, also when the stream breaks);
// - {kind: 'conversation', json}: the body of GET /backend-api/conversation/<id>.
// Temporary chats are not forwarded. The page can forge anything posted here: the isolated script
// and the Wasm core validate everything.
(() => {
  if (window.__understudyCapture) return;
  Object.defineProperty(window, '__understudyCapture', { value: true });

  const SOURCE = 'understudy-capture';
  const MAX_JSON = 32 << 20;
  const MAX_TEXT = 2 << 20;
  const THROTTLE_MS = 150;
  const SEND = /^\/backend-api\/(?:f\/)?conversation$/;
  const LOAD = /^\/backend-api\/conversation\/([0-9A-Za-z_-]{1,100})$/;
  const nativeFetch = window.fetch;

  const post = (m) => window.postMessage({ source: SOURCE, ...m }, location.origin);
  const temporaryPage = () => new URLSearchParams(location.search).get('temporary-chat') === 'true';
  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : `u-${Date.now()}-${Math.random().toString(16).slice(2)}`);

  function textOf(content) {
    if (!content || typeof content !== 'object') return '';
    if (Array.isArray(content.parts)) return content.parts.filter((p) => typeof p === 'string').join('\n');
    return typeof content.text === 'string' ? content.text : '';
  }

  /** The prompt in a send request body, or null; `temporary` when history is off. */
  function readPrompt(body) {
    if (typeof body !== 'string' || body.length > MAX_JSON) return null;
    let b;
    try {
      b = JSON.parse(body);
    } catch {
      return null;
    }
    if (!b || typeof b !== 'object' || !Array.isArray(b.messages)) return null;
    const m = [...b.messages].reverse().find((x) => x?.author?.role === 'user');
    if (!m) return null;
    const text = textOf(m.content).slice(0, MAX_TEXT);
    if (typeof m.id !== 'string' || !m.id) m.id = newId();
    return {
      temporary: b.history_and_training_disabled === true,
      conversation_id: typeof b.conversation_id === 'string' && b.conversation_id ? b.conversation_id : null,
      prompt: {
        message_id: m.id,
        parent_id: typeof b.parent_message_id === 'string' ? b.parent_message_id : null,
        text,
        model: typeof b.model === 'string' ? b.model : null,
        create_time: Date.now() / 1000,
      },
    };
  }

  // Follows a clone of the answer stream; posts the latest state of each message, throttled.
  async function watchAnswer(response, sent) {
    const reader = response.body?.getReader();
    if (!reader) return;
    const decoder = new TextDecoder();
    const pending = sent.conversation_id ? null : `pending-${sent.prompt.message_id}`;
    const latest = new Map(); // message id -> {conversation_id, message}: not posted yet
    const last = new Map(); // message id -> the last state seen
    const postedAt = new Map();
    const timers = new Map();
    let buffer = '';
    let finished = false;
    const emit = (id) => {
      clearTimeout(timers.get(id));
      timers.delete(id);
      const e = latest.get(id);
      if (!e) return;
      latest.delete(id);
      postedAt.set(id, Date.now());
      post({ kind: 'message', conversation_id: e.conversation_id, message: e.message, prompt: sent.prompt, pending });
    };
    const onData = (data) => {
      if (data === '[DONE]') {
        finished = true;
        return;
      }
      if (data.length > MAX_JSON) return;
      let ev;
      try {
        ev = JSON.parse(data);
      } catch {
        return;
      }
      const message = ev?.message;
      if (!message || typeof message !== 'object' || typeof message.id !== 'string') return;
      if (typeof ev.conversation_id !== 'string') return;
      const entry = { conversation_id: ev.conversation_id, message };
      latest.set(message.id, entry);
      last.set(message.id, entry);
      const wait = THROTTLE_MS - (Date.now() - (postedAt.get(message.id) ?? 0));
      if (wait <= 0) emit(message.id);
      else if (!timers.has(message.id)) timers.set(message.id, setTimeout(() => emit(message.id), wait));
    };
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, cut).replace(/\r$/, '');
          buffer = buffer.slice(cut + 1);
          if (line.startsWith('data:')) onData(line.slice(5).trimStart());
        }
        if (buffer.length > MAX_JSON) buffer = '';
      }
    } catch {
      // the stream broke: what arrived is posted below, still marked in progress
    }
    // A stream that ended with [DONE] is complete even if its last event still said in progress.
    if (finished) {
      for (const [id, e] of last) {
        if (e.message.status === 'in_progress') {
          latest.set(id, { ...e, message: { ...e.message, status: 'finished_successfully' } });
        }
      }
    }
    for (const id of [...latest.keys()]) emit(id);
  }

  window.fetch = async function understudyCapture(input, init) {
    let url;
    try {
      url = new URL(input instanceof Request ? input.url : String(input), location.href);
    } catch {
      return nativeFetch.apply(this, arguments);
    }
    if (url.origin !== location.origin) return nativeFetch.apply(this, arguments);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    if (method === 'POST' && SEND.test(url.pathname)) {
      let sent = null;
      try {
        let body = init?.body;
        if (body === undefined && input instanceof Request) body = await input.clone().text();
        sent = readPrompt(body);
      } catch {
        sent = null;
      }
      if (sent && (sent.temporary || temporaryPage())) sent = null;
      if (sent) post({ kind: 'prompt', conversation_id: sent.conversation_id, prompt: sent.prompt });
      const response = await nativeFetch.apply(this, arguments);
      if (sent && response.ok && (response.headers.get('content-type') ?? '').includes('text/event-stream')) {
        watchAnswer(response.clone(), sent);
      }
      return response;
    }
    if (method === 'GET' && LOAD.test(url.pathname) && !temporaryPage()) {
      const response = await nativeFetch.apply(this, arguments);
      if (response.ok && (response.headers.get('content-type') ?? '').includes('json')) {
        response.clone().text().then((json) => {
          if (json.length <= MAX_JSON) post({ kind: 'conversation', json });
        }, () => {});
      }
      return response;
    }
    return nativeFetch.apply(this, arguments);
  };
})();
