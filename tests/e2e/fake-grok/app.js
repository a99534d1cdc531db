// The fake grok.com page (see server.mjs): a composer, turns, an answer read from Grok's NDJSON
// (thinking shown apart from the answer), a stop button while it streams, and a red error line in
// the answer's turn when the server refuses or the stream breaks off.
(() => {
  const WRONG = 'Something went wrong. Please try again.';
  const thread = document.getElementById('last-reply-container');
  const form = document.querySelector('form.query-bar');
  const input = form.querySelector('textarea');
  const submit = form.querySelector('button[type="submit"]');
  // `?errors=off` (tests only): the page shows no error line, so that only the stream tells.
  const quiet = new URLSearchParams(location.search).get('errors') === 'off';
  let conversation = /^\/c\/([0-9a-f-]{36})$/.exec(location.pathname)?.[1] ?? null;
  let parent = '';
  let busy = false;
  let pending = 0;

  const el = (tag, attrs, text) => {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text) n.textContent = text;
    return n;
  };

  function errorLine(turn, text) {
    if (quiet) return;
    turn.querySelector('.message-bubble')?.remove();
    turn.querySelector('.thinking-container')?.remove();
    turn.append(el('div', { class: 'text-red-400 text-sm mt-2' }, text));
  }

  async function send() {
    const message = input.value.trim();
    if (!message || busy) return;
    busy = true;
    input.value = '';
    pending += 1;
    const user = el('div', { id: `response-pending-user-${pending}`, class: 'relative group flex flex-col w-full items-end' });
    user.append(el('div', { class: 'message-bubble rounded-3xl' }, ''));
    user.firstChild.append(el('span', { class: 'whitespace-pre-wrap' }, message));
    const turn = el('div', { id: `response-pending-${pending}`, class: 'relative group flex flex-col w-full items-start' });
    const think = el('details', { class: 'thinking-container', hidden: '' });
    think.append(el('summary', {}, 'Thinking'), el('div', { class: 'thinking-trace' }));
    const bubble = el('div', { class: 'message-bubble' });
    const markdown = el('div', { class: 'response-content-markdown markdown' });
    const para = el('p', {});
    markdown.append(para);
    bubble.append(markdown);
    turn.append(think, bubble);
    thread.append(user, turn);
    const stop = el('button', { type: 'button', 'aria-label': 'Stop model response' }, 'Stop');
    submit.replaceWith(stop);
    let finished = false;
    try {
      const url = conversation ? `/rest/app-chat/conversations/${conversation}/responses` : '/rest/app-chat/conversations/new';
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-xai-request-id': crypto.randomUUID() },
        body: JSON.stringify({
          temporary: false, modelName: 'grok-3', message, parentResponseId: parent || undefined, fileAttachments: [], imageAttachments: [],
          disableSearch: false, enableImageGeneration: true, returnImageBytes: false, returnRawGrokInXaiRequest: false,
          enableImageStreaming: true, imageGenerationCount: 2, forceConcise: false, toolOverrides: {}, enableSideBySide: true,
          sendFinalMetadata: true, isReasoning: false, disableTextFollowUps: true,
        }),
      });
      if (!res.ok) {
        let text = WRONG;
        try {
          text = (await res.json())?.error?.message || WRONG;
        } catch {
          // not JSON: the general line
        }
        errorLine(turn, text);
        finished = true;
        return;
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      let thinking = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n')) >= 0) {
          const text = buffer.slice(0, cut).trim();
          buffer = buffer.slice(cut + 1);
          if (!text) continue;
          const v = JSON.parse(text);
          if (v.error) {
            errorLine(turn, v.error.message || WRONG);
            finished = true;
            continue;
          }
          const result = v.result ?? {};
          if (result.conversation?.conversationId) {
            conversation = result.conversation.conversationId;
            history.replaceState(null, '', `/c/${conversation}`);
          }
          if (result.title?.newTitle) document.title = `${result.title.newTitle} - Grok`;
          const r = result.response ?? result;
          if (r.userResponse) user.id = `response-${r.userResponse.responseId}`;
          if (typeof r.token === 'string') {
            turn.id = `response-${r.responseId}`;
            parent = r.responseId;
            if (r.isThinking) {
              thinking += r.token;
              think.querySelector('.thinking-trace').textContent = thinking;
              think.hidden = false;
            } else if (!r.messageTag || r.messageTag === 'final') {
              para.textContent += r.token;
            }
          }
          if (r.modelResponse) {
            para.textContent = r.modelResponse.message;
            parent = r.modelResponse.responseId;
          }
          if (r.isSoftStop) finished = true;
        }
      }
    } catch {
      // the connection broke: the line below says so
    } finally {
      if (!finished) errorLine(turn, WRONG);
      stop.replaceWith(submit);
      busy = false;
    }
  }

  // A chat opened at its address: loaded through its reads (fetch, as grok.com does): the tree
  // (`response-node`), then the texts of its current branch (`load-responses`); the next send
  // continues from its last response.
  async function load() {
    if (!conversation) return;
    busy = true;
    try {
      const base = `/rest/app-chat/conversations/${conversation}`;
      const tree = await (await fetch(`${base}/response-node?includeThreads=true`)).json();
      const nodes = tree.responseNodes ?? [];
      const byId = new Map(nodes.map((n) => [n.responseId, n]));
      const line = [];
      for (let n = nodes.at(-1); n && line.length <= nodes.length; n = byId.get(n.parentResponseId)) line.unshift(n.responseId);
      if (!line.length) return;
      const res = await fetch(`${base}/load-responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ responseIds: line }) });
      const texts = new Map(((await res.json()).responses ?? []).map((r) => [r.responseId, r]));
      for (const rid of line) {
        const r = texts.get(rid);
        if (!r) continue;
        if (r.sender === 'human') {
          const user = el('div', { id: `response-${rid}`, class: 'relative group flex flex-col w-full items-end' });
          user.append(el('div', { class: 'message-bubble rounded-3xl' }, ''));
          user.firstChild.append(el('span', { class: 'whitespace-pre-wrap' }, r.message));
          thread.append(user);
        } else {
          const turn = el('div', { id: `response-${rid}`, class: 'relative group flex flex-col w-full items-start' });
          const think = el('details', { class: 'thinking-container' });
          think.append(el('summary', {}, 'Thinking'), el('div', { class: 'thinking-trace' }, r.thinkingTrace ?? ''));
          think.hidden = !r.thinkingTrace;
          const bubble = el('div', { class: 'message-bubble' });
          const markdown = el('div', { class: 'response-content-markdown markdown' });
          markdown.append(el('p', {}, r.message));
          bubble.append(markdown);
          turn.append(think, bubble);
          thread.append(turn);
        }
      }
      parent = line.at(-1);
    } catch {
      // an unreadable chat shows empty
    } finally {
      busy = false;
    }
  }

  load();
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
