// The fake claude.ai page (see server.mjs): a composer, turns, an answer read from Claude's SSE, and
// Claude's capacity text after an answer whose stream broke off.
(() => {
  const ORG = 'org-5f0c1e2d';
  const CAPACITY = 'Due to unexpected capacity constraints, Claude is unable to respond to your message. Please try again soon.';
  const thread = document.getElementById('thread');
  const input = document.querySelector('.ProseMirror');
  const button = document.querySelector('button[aria-label="Send message"]');
  let conversation = /^\/chat\/([0-9a-f-]{36})/.exec(location.pathname)?.[1] ?? null;
  let parent = '00000000-0000-4000-8000-000000000000';

  const el = (tag, attrs, text) => {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text) n.textContent = text;
    return n;
  };

  async function send() {
    const prompt = input.textContent.trim();
    if (!prompt) return;
    input.textContent = '';
    if (!conversation) {
      conversation = crypto.randomUUID();
      history.replaceState(null, '', `/chat/${conversation}`);
    }
    const user = el('div', { 'data-testid': 'user-message' });
    user.append(el('p', { class: 'whitespace-pre-wrap' }, prompt));
    thread.append(user);
    const answer = el('div', { class: 'font-claude-response', 'data-is-streaming': 'true' });
    const body = el('div', { class: 'standard-markdown' });
    const para = el('p', {});
    body.append(para);
    answer.append(body);
    thread.append(answer);
    const stop = el('button', { type: 'button', 'aria-label': 'Stop response' }, 'Stop');
    button.after(stop);
    let finished = false;
    try {
      const res = await fetch(`/api/organizations/${ORG}/chat_conversations/${conversation}/completion`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({
          prompt, parent_message_uuid: parent, timezone: 'Europe/Lisbon', locale: 'en-US',
          rendering_mode: 'messages', attachments: [], files: [],
        }),
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
        while ((cut = buffer.indexOf('\r\n\r\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 4);
          const data = block.split('\r\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          const v = JSON.parse(data.slice(6));
          if (v.type === 'message_start') parent = v.message.uuid;
          if (v.type === 'content_block_delta' && v.delta?.type === 'text_delta') para.textContent += v.delta.text;
          if (v.type === 'message_stop') finished = true;
        }
      }
      if (!finished && !para.textContent) {
        answer.after(el('div', { 'data-testid': 'message-error', class: 'text-danger-000' }, CAPACITY));
      }
    } catch {
      // the connection broke: nothing shown
    } finally {
      answer.setAttribute('data-is-streaming', 'false');
      stop.remove();
    }
  }

  // A conversation opened at its URL: read from the site, its current branch shown.
  async function load() {
    if (!conversation) return;
    const res = await fetch(`/api/organizations/${ORG}/chat_conversations/${conversation}?tree=True&rendering_mode=messages&render_all_tools=true`);
    if (!res.ok) return;
    const c = await res.json();
    const byId = new Map((c.chat_messages ?? c.messages).map((m) => [m.uuid, m]));
    const line = [];
    for (let m = byId.get(c.current_leaf_message_uuid); m; m = byId.get(m.parent_message_uuid)) line.unshift(m);
    for (const m of line) {
      const text = m.content.filter((b) => b.type === 'text').map((b) => b.text).join('\n\n');
      if (m.sender === 'human') {
        const user = el('div', { 'data-testid': 'user-message' });
        user.append(el('p', { class: 'whitespace-pre-wrap' }, text));
        thread.append(user);
      } else {
        const answer = el('div', { class: 'font-claude-response', 'data-is-streaming': 'false' });
        answer.append(el('div', { class: 'standard-markdown' }, text));
        thread.append(answer);
      }
    }
    if (c.current_leaf_message_uuid) parent = c.current_leaf_message_uuid;
  }
  load().catch(() => {});

  button.addEventListener('click', send);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      send();
    }
  });
})();
