// The fake www.perplexity.ai page (see server.mjs): a composer, the thread's queries and answers, an
// answer read from Perplexity's snapshot SSE (each snapshot replaces the answer; `final: true` is
// not the end, `end_of_stream` is), and the page's error text after a query whose stream broke off.
(() => {
  const ERROR = 'Something went wrong. Please try again later.';
  const thread = document.getElementById('thread');
  const input = document.getElementById('ask-input');
  const button = document.querySelector('button[data-testid="submit-button"]');
  const frontendContext = crypto.randomUUID();
  let lastBackend = null;
  let answers = 0;

  const el = (tag, attrs, text) => {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text) n.textContent = text;
    return n;
  };

  /** The answer text of a snapshot: the ask_text block's `answer`, else its chunks; null without it. */
  function askText(v) {
    const block = (v.blocks ?? []).find((b) => b.intended_usage === 'ask_text');
    const md = block?.markdown_block;
    if (!md) return null;
    return typeof md.answer === 'string' ? md.answer : (md.chunks ?? []).join('');
  }

  async function send() {
    const query = input.textContent.trim();
    if (!query) return;
    input.textContent = '';
    const q = el('div', { class: 'group/query mb-2' });
    q.append(el('h1', { class: 'select-text' }, query));
    thread.append(q);
    let answer = null; // the answer's markdown-content div, once text arrives
    const show = (text) => {
      if (!answer) {
        answer = el('div', { id: `markdown-content-${answers++}`, class: 'prose' });
        answer.append(el('p', {}));
        thread.append(answer);
      }
      answer.firstChild.textContent = text;
    };
    const stop = el('button', { type: 'button', 'aria-label': 'Stop generating response' }, 'Stop');
    button.after(stop);
    let ended = false; // end_of_stream, or the site's own error event
    try {
      const res = await fetch('/rest/sse/perplexity_ask', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({
          query_str: query,
          params: {
            attachments: [], frontend_context_uuid: frontendContext, frontend_uuid: crypto.randomUUID(),
            is_incognito: false, language: 'en-US', last_backend_uuid: lastBackend, mode: 'concise',
            model_preference: 'turbo', source: 'default', sources: ['web'], version: '2.18',
          },
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
          const lines = block.split('\r\n');
          const name = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
          const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
          if (name === 'end_of_stream' || name === 'error') {
            ended = true;
            continue;
          }
          if (name !== 'message' || !data) continue;
          const v = JSON.parse(data);
          if (v.backend_uuid) lastBackend = v.backend_uuid;
          if (v.thread_url_slug && location.pathname !== `/search/${v.thread_url_slug}`) {
            history.replaceState(null, '', `/search/${v.thread_url_slug}`);
          }
          const text = askText(v);
          if (text !== null) show(text);
        }
      }
    } catch {
      // the connection broke: the error text below
    } finally {
      stop.remove();
    }
    if (!ended) thread.append(el('div', { 'data-testid': 'answer-error', class: 'text-red-500' }, ERROR));
  }

  // A thread opened at its address: loaded through the thread read (fetch, as perplexity.ai
  // does), each entry's query and answer shown; a follow-up continues from its last entry.
  async function load() {
    const slug = /^\/search\/([^/]+)$/.exec(location.pathname)?.[1];
    if (!slug) return;
    try {
      const res = await fetch(`/rest/thread/${slug}?with_parent_info=true&with_schematized_response=true&version=2.18&source=default&limit=10&offset=0&from_first=true`);
      const v = await res.json();
      for (const entry of v.entries ?? []) {
        const q = el('div', { class: 'group/query mb-2' });
        q.append(el('h1', { class: 'select-text' }, entry.query_str ?? ''));
        thread.append(q);
        const text = askText(entry);
        if (text !== null) {
          const answer = el('div', { id: `markdown-content-${answers++}`, class: 'prose' });
          answer.append(el('p', {}, text));
          thread.append(answer);
        }
        if (entry.backend_uuid) lastBackend = entry.backend_uuid;
      }
    } catch {
      // an unreadable thread shows empty
    }
  }

  load();
  button.addEventListener('click', send);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      send();
    }
  });
})();
