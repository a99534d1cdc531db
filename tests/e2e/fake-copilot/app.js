// The fake copilot.microsoft.com page (see server.mjs): a composer, turns, an answer read from
// Copilot's socket events (one socket, opened with the page, for every answer of the tab; opened
// again at the next send when it closed), and an error box when the socket dropped mid-answer. An
// `error` or `challenge` event ends the turn with nothing shown.
(() => {
  const LOST = 'Connection lost. Check your connection and try again.';
  const thread = document.getElementById('thread');
  const form = document.querySelector('form.composer');
  const input = document.getElementById('userInput');
  const button = document.querySelector('button[aria-label="Submit message"]');
  let conversationId = /^\/chats\/([0-9A-Za-z]+)/.exec(location.pathname)?.[1] ?? null;
  let socket = null; // open, or opening (a promise of it)
  let turn = null; // the answer being written: {answer, para, parts: Map(partId -> text), stop, lost}

  // The signed-in user (401 when signed out).
  fetch('/c/api/user', { credentials: 'include' }).then((r) => r.text()).catch(() => {});

  const el = (tag, attrs, text) => {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text) n.textContent = text;
    return n;
  };
  const newId = () => {
    const a = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    return Array.from(crypto.getRandomValues(new Uint8Array(13)), (b) => a[b % a.length]).join('');
  };

  // The JSON objects of one frame (a frame can hold two: `{…}{…}`).
  function objects(text) {
    const out = [];
    let depth = 0;
    let start = 0;
    let inString = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{') {
        if (depth++ === 0) start = i;
      } else if (c === '}' && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)));
    }
    return out;
  }

  function finish(errorText) {
    if (!turn) return;
    const t = turn;
    turn = null;
    t.stop.remove();
    if (errorText) t.answer.after(el('div', { 'data-testid': 'error-message', class: 'error' }, errorText));
  }

  function onEvent(v) {
    if (!turn) return;
    switch (v.event) {
      case 'appendText':
      case 'replaceText': {
        const before = turn.parts.get(v.partId) ?? '';
        turn.parts.set(v.partId, v.event === 'appendText' ? before + v.text : v.text);
        turn.para.textContent = [...turn.parts.values()].join('');
        break;
      }
      case 'titleUpdate':
        document.title = v.title;
        break;
      case 'done':
        finish(null);
        break;
      case 'error': // shown by the page's own copy elsewhere; the turn just ends here
      case 'challenge':
        finish(null);
        break;
      default:
        break;
    }
  }

  function connect() {
    if (socket) return socket;
    socket = new Promise((resolve, reject) => {
      const ws = new WebSocket(`wss://${location.host}/c/api/chat?api-version=2`);
      let opened = false;
      ws.addEventListener('open', () => {
        opened = true;
        resolve(ws);
      });
      ws.addEventListener('message', (event) => {
        for (const v of objects(String(event.data))) onEvent(v);
      });
      ws.addEventListener('close', () => {
        socket = null;
        if (!opened) reject(new Error('refused'));
        else finish(turn && turn.parts.size > 0 ? LOST : null);
      });
    });
    socket.catch(() => {});
    return socket;
  }

  async function send() {
    const prompt = input.value.trim();
    if (!prompt || turn) return;
    input.value = '';
    if (!conversationId) {
      conversationId = newId();
      history.replaceState(null, '', `/chats/${conversationId}`);
    }
    const user = el('div', { 'data-content': 'user-message' });
    user.append(el('p', {}, prompt));
    const answer = el('div', { 'data-content': 'ai-message' });
    const para = el('p', {});
    answer.append(para);
    thread.append(user, answer);
    const stop = el('button', { type: 'button', 'aria-label': 'Stop responding' }, 'Stop');
    button.after(stop);
    turn = { answer, para, parts: new Map(), stop };
    let ws;
    try {
      ws = await connect();
    } catch {
      finish(null); // the socket was refused: nothing shown
      return;
    }
    ws.send(JSON.stringify({ event: 'send', conversationId, content: [{ type: 'text', text: prompt }], mode: 'chat' }));
  }

  // A conversation opened at its address: loaded through its history read (fetch, as
  // copilot.microsoft.com does; the newest message first), its text parts shown oldest first.
  async function load() {
    if (!conversationId) return;
    try {
      const res = await fetch(`/c/api/conversations/${conversationId}/history?api-version=2`, { credentials: 'include' });
      const v = await res.json();
      const messages = (v.results ?? []).slice().sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
      for (const m of messages) {
        const text = (m.content ?? []).filter((c) => c?.type === 'text').map((c) => c.text).join('');
        const turn = el('div', { 'data-content': m.author?.type === 'human' ? 'user-message' : 'ai-message' });
        turn.append(el('p', {}, text));
        thread.append(turn);
      }
    } catch {
      // an unreadable conversation shows empty
    }
  }

  load();
  // The socket is opened with the page, before any send, and kept for every answer.
  connect();

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    send();
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      send();
    }
  });
})();
