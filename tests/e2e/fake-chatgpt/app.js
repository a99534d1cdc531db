// The fake ChatGPT page: composer, turns, and a streamed answer read from server-sent events, with the
// error boxes ChatGPT shows when its backend fails. Only what the tests and the demo need.
(() => {
  const thread = document.getElementById('thread');
  const composer = document.getElementById('composer');
  const input = document.getElementById('prompt-textarea');
  let turn = 0;

  const ERRORS = {
    generic: 'Something went wrong. If this issue persists please contact us through our help center at help.openai.com.',
    network: 'A network error occurred. Please check your connection and try again. If this issue persists please contact us through our help center at help.openai.com.',
  };

  function addTurn(role, text) {
    turn += 1;
    const article = document.createElement('article');
    article.dataset.testid = `conversation-turn-${turn}`;
    article.dataset.turn = role;
    const message = document.createElement('div');
    message.dataset.messageAuthorRole = role;
    message.dataset.messageId = `msg-${turn}`;
    const body = document.createElement('div');
    body.className = role === 'assistant' ? 'markdown prose' : 'whitespace-pre-wrap';
    body.textContent = text;
    message.append(body);
    article.append(message);
    thread.append(article);
    return { article, body };
  }

  // `?quiet=1`: the page shows no error boxes of its own, so only the network reveals a failure.
  const quiet = new URLSearchParams(location.search).get('quiet') === '1';

  function showError(article, text) {
    if (quiet) return;
    const box = document.createElement('div');
    box.className = 'text-token-text-error';
    box.setAttribute('role', 'alert');
    box.textContent = text;
    const retry = document.createElement('button');
    retry.dataset.testid = 'regenerate-thread-error-button';
    retry.textContent = 'Retry';
    article.append(box, retry);
  }

  function errorText(bodyText) {
    try {
      const detail = JSON.parse(bodyText).detail;
      if (typeof detail === 'string') return detail;
    } catch {
      // not JSON: fall through
    }
    return ERRORS.generic;
  }

  async function send(prompt) {
    addTurn('user', prompt);
    const { article, body } = addTurn('assistant', '');
    let response;
    try {
      response = await fetch('/backend-api/f/conversation', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({
          action: 'next',
          messages: [{ author: { role: 'user' }, content: { content_type: 'text', parts: [prompt] } }],
          ...(new URLSearchParams(location.search).get('temporary-chat') === 'true' ? { history_and_training_disabled: true } : {}),
        }),
      });
    } catch {
      showError(article, ERRORS.network);
      return;
    }
    if (!response.ok) {
      showError(article, errorText(await response.text()));
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let done = false;
    let stallTimer;
    const resetStall = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => {
        reader.cancel().catch(() => {});
        showError(article, ERRORS.network);
      }, 60000);
    };
    resetStall();
    try {
      while (!done) {
        const chunk = await reader.read();
        if (chunk.done) break;
        resetStall();
        buffer += decoder.decode(chunk.value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = event.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (data === '[DONE]') {
            done = true;
            break;
          }
          const parsed = JSON.parse(data);
          if (parsed.error) {
            showError(article, ERRORS.generic);
            done = true;
            break;
          }
          body.textContent = parsed.message.content.parts[0];
        }
      }
    } catch {
      showError(article, ERRORS.network);
    } finally {
      clearTimeout(stallTimer);
    }
  }

  // A conversation page loads its conversation, as ChatGPT does, and shows the main line
  // (`?noload=1` skips it, as when the page had the conversation already).
  const open = /^\/c\/([0-9A-Za-z_-]{1,100})$/.exec(location.pathname);
  if (open && !new URLSearchParams(location.search).has('noload')) {
    fetch(`/backend-api/conversation/${open[1]}`).then((r) => (r.ok ? r.json() : null)).then((conv) => {
      if (!conv?.mapping) return;
      const line = [];
      for (let id = conv.current_node; id && conv.mapping[id]; id = conv.mapping[id].parent) line.unshift(conv.mapping[id]);
      for (const node of line) {
        const m = node.message;
        if (!m || !['user', 'assistant'].includes(m.author?.role)) continue;
        const { article } = addTurn(m.author.role, (m.content?.parts ?? []).filter((p) => typeof p === 'string').join('\n'));
        article.querySelector('[data-message-id]').dataset.messageId = m.id;
      }
    }, () => {});
  }

  composer.addEventListener('submit', (event) => {
    event.preventDefault();
    const prompt = input.textContent.trim();
    if (!prompt) return;
    input.textContent = '';
    send(prompt);
  });
})();
