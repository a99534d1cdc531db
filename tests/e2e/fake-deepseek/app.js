// The fake chat.deepseek.com page (see server.mjs): a composer, turns, an answer read from
// DeepSeek's SSE of `{v, p, o}` patches (thinking shown apart from the answer), and DeepSeek's
// server-busy line in the answer's turn when the server says so or the stream breaks off.
(() => {
  const BUSY_LINE = 'The server is busy. Please try again later.';
  const thread = document.getElementById('thread');
  const input = document.getElementById('chat-input');
  const button = document.querySelector('.send-button');
  let session = /^\/a\/chat\/s\/([0-9a-f-]{36})$/.exec(location.pathname)?.[1] ?? null;
  let parent = null;
  let busy = false;
  // `?errors=off` (tests only): the page shows no error line, so that only the stream tells.
  const quiet = new URLSearchParams(location.search).get('errors') === 'off';

  const el = (tag, attrs, text) => {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text) n.textContent = text;
    return n;
  };

  // ---- DeepSeek's patches: a document changed at `/` paths (`-1` is an array's last item) ----
  function slot(root, path) {
    const segs = path.split('/').filter(Boolean);
    let at = root;
    for (let i = 0; i < segs.length - 1; i++) {
      const k = Array.isArray(at) && segs[i] === '-1' ? at.length - 1 : segs[i];
      at[k] ??= {};
      at = at[k];
    }
    const last = segs.at(-1);
    return [at, Array.isArray(at) && last === '-1' ? at.length - 1 : last];
  }
  function apply(doc, path, op, v) {
    if (op === 'BATCH') {
      for (const p of v) apply(doc, p.p ? `${path}/${p.p}` : path, p.o ?? 'SET', p.v);
      return;
    }
    const [at, key] = slot(doc, path);
    if (op === 'APPEND') at[key] = Array.isArray(at[key]) ? at[key].concat(v) : (at[key] ?? '') + v;
    else at[key] = v;
  }

  function errorLine(answer, text) {
    if (quiet) return;
    answer.querySelector('.ds-markdown')?.remove();
    answer.querySelector('.ds-think-content')?.remove();
    answer.append(el('div', { class: 'ds-message-error' }, text));
  }

  async function api(path, body) {
    const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return res.json();
  }

  async function send() {
    const prompt = input.value.trim();
    if (!prompt || busy) return;
    busy = true;
    input.value = '';
    const user = el('div', { class: 'ds-message _9663006' });
    user.append(el('div', { class: 'fbb737a4' }, prompt));
    thread.append(user);
    const answer = el('div', { class: 'ds-message _63c77b1' });
    const think = el('div', { class: 'ds-think-content', hidden: '' });
    const markdown = el('div', { class: 'ds-markdown ds-markdown--block' });
    const para = el('p', {});
    markdown.append(para);
    answer.append(think, markdown);
    thread.append(answer);
    let finished = false;
    try {
      if (!session) {
        session = (await api('/api/v0/chat_session/create', { agent: 'chat' })).data.biz_data.id;
        history.replaceState(null, '', `/a/chat/s/${session}`);
      }
      const pow = (await api('/api/v0/chat/create_pow_challenge', { target_path: '/api/v0/chat/completion' })).data.biz_data.challenge;
      const res = await fetch('/api/v0/chat/completion', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-ds-pow-response': btoa(JSON.stringify({ algorithm: pow.algorithm, challenge: pow.challenge, salt: pow.salt, answer: 4242, signature: pow.signature, target_path: pow.target_path })),
        },
        body: JSON.stringify({ chat_session_id: session, parent_message_id: parent, prompt, ref_file_ids: [], thinking_enabled: false, search_enabled: false }),
      });
      if (!res.ok) {
        await res.text();
        // A 429 says so in the turn; another status leaves the turn empty.
        if (res.status === 429) errorLine(answer, 'You have sent too many messages. Please wait a moment and try again.');
        else answer.remove();
        finished = true;
        return;
      }
      if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
        // An envelope instead of a stream: its message is shown.
        const v = await res.json();
        errorLine(answer, v?.data?.biz_code ? BUSY_LINE : v?.msg || 'Something went wrong. Please try again.');
        finished = true;
        return;
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      const doc = {};
      let lastPath = null;
      let lastOp = 'SET';
      let buffer = '';
      const render = () => {
        const fragments = doc.response?.fragments ?? [];
        const text = (type) => fragments.filter((f) => f?.type === type).map((f) => f.content ?? '').join('');
        para.textContent = text('RESPONSE');
        think.textContent = text('THINK');
        think.hidden = !think.textContent;
      };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const name = block.split('\n').find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          const v = JSON.parse(data.slice(6));
          if (name === 'ready') parent = v.response_message_id;
          else if (name === 'title') document.title = v.content;
          else if (name === 'finish' || name === 'close') finished = finished || name === 'finish';
          else if (name === 'hint' && v.type === 'error') {
            errorLine(answer, BUSY_LINE);
            finished = true;
          } else if (name === 'message') {
            if ('code' in v && !('v' in v)) {
              errorLine(answer, v.msg);
              finished = true;
            } else if (v.p === undefined && v.o === undefined && lastPath === null) {
              Object.assign(doc, v.v);
            } else if (v.p === undefined) {
              apply(doc, lastPath, v.o ?? lastOp, v.v);
            } else {
              lastPath = v.p;
              lastOp = v.o ?? 'SET';
              apply(doc, lastPath, lastOp, v.v);
            }
            render();
          }
        }
      }
    } catch {
      // the connection broke: the line below says so
    } finally {
      if (!finished) errorLine(answer, BUSY_LINE);
      busy = false;
    }
  }

  // A chat opened at its address: loaded through the read, over XMLHttpRequest as DeepSeek's page
  // does, its current branch shown, the next send continuing from its current message.
  function load() {
    if (!session) return;
    busy = true;
    const xhr = new XMLHttpRequest();
    xhr.open('GET', `/api/v0/chat/history_messages?chat_session_id=${encodeURIComponent(session)}`);
    xhr.onloadend = () => {
      busy = false;
      let biz = null;
      try {
        biz = JSON.parse(xhr.responseText)?.data?.biz_data ?? null;
      } catch {
        biz = null;
      }
      if (!biz) return;
      const byId = new Map((biz.chat_messages ?? []).map((m) => [m.message_id, m]));
      const line = [];
      for (let m = byId.get(biz.chat_session?.current_message_id); m && line.length <= byId.size; m = byId.get(m.parent_id)) line.unshift(m);
      const text = (m, type) => (m.fragments ?? []).filter((f) => f.type === type).map((f) => f.content ?? '').join('');
      for (const m of line) {
        if (m.role === 'USER') {
          const user = el('div', { class: 'ds-message _9663006' });
          user.append(el('div', { class: 'fbb737a4' }, text(m, 'REQUEST')));
          thread.append(user);
        } else {
          const answer = el('div', { class: 'ds-message _63c77b1' });
          const think = el('div', { class: 'ds-think-content' }, text(m, 'THINK'));
          think.hidden = !think.textContent;
          const markdown = el('div', { class: 'ds-markdown ds-markdown--block' });
          markdown.append(el('p', {}, text(m, 'RESPONSE')));
          answer.append(think, markdown);
          thread.append(answer);
        }
      }
      parent = biz.chat_session?.current_message_id ?? parent;
      if (biz.chat_session?.title) document.title = biz.chat_session.title;
    };
    xhr.send();
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
