// The fake gemini.google.com page (see server.mjs): a composer, turns, and an answer read the way
// Gemini's page reads it: an XMLHttpRequest whose responseText grows, cut into `<length>\n<json>\n`
// frames (the length in UTF-16 units, from the newline after the digits), each frame's snapshot
// replacing the answer's text. An error record (code at [5,2,0,1,0]) other than 1096 ends the
// answer with nothing shown; a stream that ends with no answer shows "Something went wrong (13)"
// in the answer's error box.
(() => {
  const SEND = '/_/BardChatUi/data/assistant.lamda.BardFrontendService/StreamGenerate';
  const BL = 'boq_assistant-bard-web-server_20261201.08_p0';
  const AT = 'AJvLN6M_fake-xsrf-token:1764930000000';
  const SID = '-4920383927345720781';
  const HEALTHY_CODE = 1096;
  const ERROR_13 = 'Something went wrong (13)';
  const chat = document.getElementById('chat-history');
  const input = document.querySelector('rich-textarea .ql-editor');
  const button = document.querySelector('button[aria-label="Send message"]');
  let conversation = /^\/app\/([0-9a-f]{16})$/.exec(location.pathname)?.[1] ?? null;
  let response = null;
  let choice = null;
  let reqid = 100000 + Math.floor(Math.random() * 9000);

  const el = (tag, attrs, text) => {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text) n.textContent = text;
    return n;
  };

  /** The frames complete in `text` from `pos`: [values, the position after them]. */
  function frames(text, pos) {
    const out = [];
    for (;;) {
      while (pos < text.length && /\s/.test(text[pos])) pos++;
      const digits = /^\d+/.exec(text.slice(pos, pos + 12))?.[0];
      if (!digits) return [out, pos];
      const start = pos + digits.length;
      const len = Number(digits);
      if (text.length < start + len) return [out, pos];
      out.push(JSON.parse(text.slice(start, start + len)));
      pos = start + len;
    }
  }

  /** The user's query as the page shows it. */
  function userQuery(prompt) {
    const user = el('user-query', {});
    const query = el('div', { class: 'query-content' });
    const queryText = el('div', { class: 'query-text' });
    queryText.append(el('p', { class: 'query-text-line' }, prompt));
    query.append(queryText);
    user.append(query);
    return user;
  }

  /** A turn as the page shows it: the query, and the answer's text (or, when it has none, Gemini's error). */
  function showTurn(prompt, answer) {
    const pair = el('div', { class: 'conversation-container' });
    const user = userQuery(prompt);
    const model = el('model-response', {});
    const container = el('div', { class: 'response-container' });
    if (answer) {
      const content = el('message-content', { class: 'model-response-text' });
      const markdown = el('div', { class: 'markdown markdown-main-panel' });
      markdown.append(el('p', {}, answer));
      content.append(markdown);
      container.append(content);
    } else {
      container.append(el('div', { class: 'error-message' }, ERROR_13));
    }
    model.append(container);
    pair.append(user, model);
    chat.append(pair);
  }

  // A chat opened at its address: loaded through the read (`batchexecute`, rpc hNvQHb, over
  // XMLHttpRequest as Gemini's page does), its turns shown oldest first; the next send continues
  // from its last turn.
  function load() {
    if (!conversation) return;
    const call = [[['hNvQHb', JSON.stringify([`c_${conversation}`, 10, null, 1, [1], [4], null, 1]), null, 'generic']]];
    const body = new URLSearchParams({ 'f.req': JSON.stringify(call), at: AT });
    reqid += 100000;
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/_/BardChatUi/data/batchexecute?rpcids=hNvQHb&source-path=${encodeURIComponent(`/app/${conversation}`)}&bl=${encodeURIComponent(BL)}&f.sid=${SID}&hl=en&_reqid=${reqid}&rt=c`);
    xhr.setRequestHeader('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
    xhr.setRequestHeader('x-same-domain', '1');
    xhr.onload = () => {
      const text = xhr.responseText;
      const [values] = frames(text, text.startsWith(")]}'") ? 4 : 0);
      for (const v of values) {
        for (const env of v) {
          if (!Array.isArray(env) || env[0] !== 'wrb.fr' || env[1] !== 'hNvQHb' || typeof env[2] !== 'string') continue;
          const turns = JSON.parse(env[2])?.[0] ?? [];
          for (const turn of turns.slice().reverse()) {
            const candidate = turn?.[3]?.[0]?.[0];
            showTurn(turn?.[2]?.[0]?.[0] ?? '', candidate?.[1]?.[0] ?? '');
            response = turn?.[0]?.[1] ?? response;
            choice = candidate?.[0] ?? choice;
          }
        }
      }
    };
    xhr.send(body.toString());
  }

  function send() {
    const prompt = input.textContent.trim();
    if (!prompt) return;
    input.textContent = '';
    const pair = el('div', { class: 'conversation-container' });
    const user = userQuery(prompt);
    const model = el('model-response', {});
    const container = el('div', { class: 'response-container' });
    const content = el('message-content', { class: 'model-response-text' });
    const markdown = el('div', { class: 'markdown markdown-main-panel' });
    const para = el('p', {});
    markdown.append(para);
    content.append(markdown);
    container.append(content);
    model.append(container);
    pair.append(user, model);
    chat.append(pair);
    const stop = el('button', { type: 'button', 'aria-label': 'Stop response' }, 'Stop');
    button.after(stop);

    const inner = [[prompt, 0, null, null, null, null, 0], ['en'], [conversation ? `c_${conversation}` : '', response ?? '', choice ?? '']];
    const body = new URLSearchParams({ 'f.req': JSON.stringify([null, JSON.stringify(inner)]), at: AT });
    reqid += 100000;
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${SEND}?bl=${encodeURIComponent(BL)}&f.sid=${SID}&hl=en&_reqid=${reqid}&rt=c`);
    xhr.setRequestHeader('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
    xhr.setRequestHeader('x-same-domain', '1');
    let pos = 0;
    let failed = null; // an error code other than the healthy one
    const read = () => {
      const text = xhr.responseText;
      if (pos === 0) {
        if (text.length < 4) return;
        pos = text.startsWith(")]}'") ? 4 : 0;
      }
      const [values, next] = frames(text, pos);
      pos = next;
      for (const v of values) {
        for (const env of v) {
          if (!Array.isArray(env) || env[0] !== 'wrb.fr') continue;
          const code = env[5]?.[2]?.[0]?.[1]?.[0];
          if (typeof code === 'number' && code !== HEALTHY_CODE) failed = code;
          if (typeof env[2] !== 'string') continue;
          const data = JSON.parse(env[2]);
          if (Array.isArray(data)) {
            const ids = data[1];
            if (Array.isArray(ids) && !conversation) {
              conversation = String(ids[0]).replace(/^c_/, '');
              chat.dataset.conversation = conversation;
              history.replaceState(null, '', `/app/${conversation}`);
            }
            if (Array.isArray(ids)) response = ids[1];
            const candidate = data[4]?.[0];
            if (candidate) {
              choice = candidate[0];
              para.textContent = candidate[1][0];
            }
          } else if (data && Array.isArray(data['11'])) {
            document.title = `${data['11'][0]} - Gemini`;
          }
        }
      }
    };
    const finish = () => {
      stop.remove();
      // Gemini's own words for a turn that produced nothing (not one the user stopped).
      if (!stopped && xhr.status === 200 && failed === null && !para.textContent) container.append(el('div', { class: 'error-message' }, ERROR_13));
    };
    xhr.onreadystatechange = () => {
      if (xhr.readyState >= 3 && xhr.status === 200) read();
      if (xhr.readyState === 4) finish();
    };
    xhr.onerror = finish;
    xhr.onabort = finish;
    let stopped = false;
    stop.addEventListener('click', () => {
      stopped = true;
      xhr.abort();
    });
    xhr.send(body.toString());
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
