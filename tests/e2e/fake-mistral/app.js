// The fake chat.mistral.ai page, Le Chat (see server.mjs): a composer, the chat's turns, a new chat
// made through tRPC's message.newChat, an answer read from Le Chat's `N:payload` lines (only `0:`
// is answer text; the end is the stream closing), and the page's error text in the answer's turn
// when a stream closed without any answer.
(() => {
  const thread = document.getElementById('thread');
  const form = document.querySelector('form.composer');
  const input = form.querySelector('textarea');
  let chatId = /^\/chat\/([0-9a-f-]{36})/.exec(location.pathname)?.[1] ?? null;

  const el = (tag, attrs, text) => {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text) n.textContent = text;
    return n;
  };

  async function newChat(prompt) {
    const res = await fetch('/api/trpc/message.newChat?batch=1', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ 0: { json: { content: [{ type: 'text', text: prompt }], agentId: null, model: null, incognito: false } } }),
    });
    const batch = await res.json();
    return res.ok ? batch[0]?.result?.data?.json?.chatId ?? null : null;
  }

  async function send() {
    const prompt = input.value.trim();
    if (!prompt) return;
    input.value = '';
    const user = el('div', { 'data-message-author-role': 'user' });
    user.append(el('div', { class: 'whitespace-pre-wrap' }, prompt));
    thread.append(user);
    const turn = el('div', { 'data-message-author-role': 'assistant' });
    thread.append(turn);
    let mode = 'append';
    if (!chatId) {
      chatId = await newChat(prompt).catch(() => null);
      if (!chatId) return;
      history.replaceState(null, '', `/chat/${chatId}`);
      mode = 'start';
    }
    await answer(turn, prompt, mode);
  }

  /** Streams the answer to `prompt` into the assistant's `turn` (mode 'start' | 'append' | 'retry'). */
  async function answer(turn, prompt, mode) {
    turn.replaceChildren();
    const part = el('div', { 'data-message-part-type': 'answer' });
    const para = el('p', {});
    part.append(para);
    turn.append(part);
    const stop = el('button', { type: 'button', 'aria-label': 'Stop generation' }, 'Stop');
    form.append(stop);
    let read = false; // the stream was read to its close
    try {
      const res = await fetch('/api/chat', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ chatId, mode, messageInput: prompt, messageId: crypto.randomUUID(), features: ['beta-websearch'], clientPromptData: { currentDate: new Date().toISOString().slice(0, 10) } }),
      });
      if (!res.ok) {
        await res.text();
        return;
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n')) >= 0) {
          const text = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 1);
          const colon = text.indexOf(':');
          if (colon < 1) continue;
          const payload = JSON.parse(text.slice(colon + 1));
          if (text.slice(0, colon) === '0' && typeof payload === 'string') para.textContent += payload;
        }
      }
      read = true;
    } catch {
      // the connection broke: nothing shown
    } finally {
      stop.remove();
    }
    if (read && !para.textContent) {
      // Le Chat's own words for it (the fake reads which ones from its test state), and a retry.
      const state = await fetch('/__control').then((r) => r.json(), () => ({}));
      turn.append(el('div', { 'data-testid': 'message-error', class: 'text-red' }, state.pageError));
      const retry = el('button', { type: 'button', 'aria-label': 'Retry' }, '↻');
      retry.addEventListener('click', () => answer(turn, prompt, 'retry'));
      turn.append(retry);
    }
  }

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
