//# allFunctionsCalledOnLoad
// Content script: rescue (isolated world). Plain JS, no Wasm, no secrets.
//
// Fills the detection notice's actions container (content/detect.js) with the rescue: "Continue
// with <first healthy provider>", a menu of the other providers, "Open my cached conversation",
// and "Ask elsewhere" (a web handoff for users without keys). The answer streams into the notice,
// rendered from Markdown as DOM nodes (provider text never becomes HTML), with stop, copy and
// "Continue in side panel". Auto mode (chosen per failure kind in the worker) starts the rescue
// without a click: an ask marked `auto`, which the worker bounds (once per failure episode, a few
// per tab and per browser in an hour) and fills with what it recorded itself.
//
// This script knows provider ids and labels only. The worker (extension/sw/rescue.js) holds the
// keys and talks to providers; we reach it through a port named `understudy-rescue`.
//
// Stable hooks (inside the notice's open shadow root): `understudy-continue`, `understudy-providers`
// (the menu button) with `understudy-provider-item[data-provider]`, `understudy-open-cache`,
// `understudy-handoff` with `understudy-handoff-item[data-site]`, `understudy-answer`
// (`data-provider`, `data-state="streaming|done|error"`), `understudy-stop`, `understudy-copy`,
// `understudy-open-panel`, `understudy-rescue-status` (what happened, e.g. "Copied to the clipboard").
//
// The rescue UI is built ahead of time (idle, once the provider list is known), so a detection
// event only appends it to the notice. The answer is kept in the cached conversation by the worker
// (as a branch of the conversation this page shows); this script tells it which conversation
// (from the URL, else the last one the page streamed) and the failed prompt's id. While Understudy
// is paused (`UnderstudyPage.paused()`), the notice gets no actions and auto mode does nothing.
(() => {
  const ext = UnderstudyPage.ext;
  const PORT = 'understudy-rescue';
  const ROLE_SEL = '[data-message-author-role]';
  const MAX_TURN = 200_000;
  const CSS = `
    .menu-wrap { position: relative; display: inline-flex; }
    .menu-wrap > button { flex: 1 1 auto; }
    @media (max-width: 640px) { .actions > button, .actions > .menu-wrap { flex: 1 1 auto; } }
    .menu { position: absolute; z-index: 2; top: calc(100% + 4px); left: 0; min-width: 12rem; margin: 0; padding: 4px;
      list-style: none; border-radius: 8px; border: 1px solid currentColor; background: #fff; color: #1f2328;
      box-shadow: 0 6px 20px rgba(0,0,0,.18); }
    .dark .menu { background: #1f1f1f; color: #ececec; }
    .menu[hidden] { display: none; }
    .menu li { padding: 6px 10px; border-radius: 6px; cursor: pointer; white-space: nowrap; }
    .menu li:focus, .menu li:hover { outline: none; background: rgba(127,127,127,.2); }
    .menu li[aria-disabled="true"] { opacity: .6; cursor: default; }
    button[aria-haspopup]::after { content: " ▾"; }
    button.primary { background: #1a735c; border-color: #1a735c; color: #fff; }
    button[hidden], .menu-wrap[hidden] { display: none; }
    .answer { flex: 1 0 100%; box-sizing: border-box; min-width: 0; border-top: 1px solid rgba(127,127,127,.35);
      padding-top: 8px; }
    .answer[hidden] { display: none; }
    .who { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 8px; font-size: 12px; opacity: .85; }
    .who .name { font-weight: 600; margin-right: auto; }
    .who button { padding: 2px 10px; font-size: 12px; }
    .body { margin-top: 6px; max-height: 50vh; overflow: auto; overflow-wrap: anywhere; color: inherit; }
    .body p, .body ul, .body ol, .body pre, .body h1, .body h2, .body h3, .body h4, .body blockquote { margin: 0 0 8px; }
    .body h1, .body h2, .body h3, .body h4 { font-size: 15px; }
    .body pre { padding: 8px; border-radius: 6px; background: rgba(127,127,127,.15); overflow: auto; white-space: pre; }
    .body code { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
    .body blockquote { padding-left: 10px; border-left: 3px solid rgba(127,127,127,.5); }
    .body a { color: inherit; }
    .status { flex: 1 0 100%; margin: 0; font-size: 12px; }
    .status:empty { display: none; }
    .error { color: #b42318; }
    .dark .error { color: #ffb4a8; }
    @media (max-width: 480px) { .menu { left: auto; right: 0; } }
  `;

  let sheet = null;
  let listPromise = null; // {providers, sites} from the worker (no key)
  let failedPrompt = null; // the prompt the page sent, from the detection event
  let ui = null; // the rescue UI in the notice on screen
  let spareUi = null; // a rescue UI built ahead of time, for the next notice
  let askSeq = 0;
  const isPaused = () => typeof UnderstudyPage.paused === 'function' && UnderstudyPage.paused() === true;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs ?? {})) node.setAttribute(k, v);
    if (text) node.textContent = text;
    return node;
  }

  function providers() {
    listPromise ??= ext.runtime.sendMessage({ type: 'rescue.providers' }).then(
      (r) => (r?.ok ? r.value : { providers: [], sites: [] }),
      () => ({ providers: [], sites: [] }),
    );
    return listPromise;
  }
  ext.storage?.onChanged?.addListener?.((changes, area) => {
    if (area === 'local' && changes.settings) {
      listPromise = null;
      spareUi = null;
      prepareLater();
    }
  });

  ext.runtime.onMessage.addListener((message) => {
    if (message?.type === 'detect.event' && message.event?.type === 'raised') failedPrompt = message.event.failed_prompt ?? null;
    return false;
  });

  /** The conversation's main line as the page shows it: [{role, content}], oldest first. */
  function transcript() {
    const out = [];
    for (const node of document.querySelectorAll(ROLE_SEL)) {
      const role = node.getAttribute('data-message-author-role');
      if (role !== 'user' && role !== 'assistant') continue;
      const body = role === 'assistant' ? node.querySelector('.markdown') ?? node : node;
      out.push({ role, content: (body.textContent || '').trim().slice(0, MAX_TURN) });
    }
    return out;
  }

  // ---- Markdown → DOM (never HTML) ----

  const INLINE = /(`+)([^`]+?)\1|\*\*([^*]+)\*\*|__([^_]+)__|\*([^*\s][^*]*)\*|_([^_\s][^_]*)_|\[([^\]]+)\]\(([^)\s]+)\)/g;

  function inline(parent, text) {
    let at = 0;
    // matchAll works on a copy of the pattern, so the recursion below cannot disturb this loop.
    for (const m of text.matchAll(INLINE)) {
      if (m.index > at) parent.append(text.slice(at, m.index));
      if (m[2] !== undefined) parent.append(el('code', {}, m[2]));
      else if (m[3] !== undefined || m[4] !== undefined) inline(parent.appendChild(el('strong')), m[3] ?? m[4]);
      else if (m[5] !== undefined || m[6] !== undefined) inline(parent.appendChild(el('em')), m[5] ?? m[6]);
      else {
        let href = null;
        try {
          const u = new URL(m[8]);
          if (u.protocol === 'https:' || u.protocol === 'http:') href = u.href;
        } catch {}
        if (href) inline(parent.appendChild(el('a', { href, target: '_blank', rel: 'noopener noreferrer' })), m[7]);
        else parent.append(m[0]);
      }
      at = m.index + m[0].length;
    }
    if (at < text.length) parent.append(text.slice(at));
  }

  function markdown(text) {
    const frag = document.createDocumentFragment();
    const lines = text.split('\n');
    let para = null;
    let list = null;
    const close = () => {
      para = null;
      list = null;
    };
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const fence = /^\s*(```|~~~)\s*([\w+-]*)/.exec(line);
      if (fence) {
        close();
        const code = el('code', fence[2] ? { 'data-lang': fence[2] } : {});
        const body = [];
        for (i++; i < lines.length && !lines[i].trimStart().startsWith(fence[1]); i++) body.push(lines[i]);
        code.textContent = body.join('\n');
        frag.appendChild(el('pre')).append(code);
        continue;
      }
      if (!line.trim()) {
        close();
        continue;
      }
      const h = /^(#{1,6})\s+(.*)$/.exec(line);
      if (h) {
        close();
        inline(frag.appendChild(el(`h${Math.min(4, h[1].length)}`)), h[2]);
        continue;
      }
      const item = /^\s*(?:([-*+])|(\d{1,9})[.)])\s+(.*)$/.exec(line);
      if (item) {
        const tag = item[1] ? 'ul' : 'ol';
        if (!list || list.tagName.toLowerCase() !== tag) {
          para = null;
          list = frag.appendChild(el(tag));
        }
        inline(list.appendChild(el('li')), item[3]);
        continue;
      }
      const quote = /^\s*>\s?(.*)$/.exec(line);
      if (quote) {
        close();
        inline(frag.appendChild(el('blockquote')), quote[1]);
        continue;
      }
      if (list) list = null;
      if (para) para.append(el('br'));
      else para = frag.appendChild(el('p'));
      inline(para, line);
    }
    return frag;
  }

  /**
   * Only a person's click or key acts: the page's own scripts can reach this open shadow root, and
   * a synthetic click must not spend the user's provider quota or open tabs.
   */
  const trusted = (fn) => (event) => {
    if (event.isTrusted) fn(event);
  };

  // ---- menus (keyboard: arrows, Home/End, Enter/Space, Esc) ----

  function menu(testid, label, items, onPick) {
    const wrap = el('span', { class: 'menu-wrap' });
    const button = el('button', { type: 'button', 'data-testid': testid, 'aria-haspopup': 'menu', 'aria-expanded': 'false' }, label);
    const list = el('ul', { class: 'menu', role: 'menu', 'aria-label': label, hidden: '' });
    for (const it of items) {
      const li = el('li', { role: 'menuitem', tabindex: '-1', 'data-testid': it.testid, [it.attr]: it.value }, it.label);
      if (it.disabled) li.setAttribute('aria-disabled', 'true');
      li.addEventListener('click', trusted(() => {
        closeMenu(false);
        onPick(it.value);
      }));
      list.append(li);
    }
    const entries = () => [...list.children];
    function openMenu(focusLast = false) {
      list.hidden = false;
      button.setAttribute('aria-expanded', 'true');
      const all = entries();
      all[focusLast ? all.length - 1 : 0]?.focus();
    }
    function closeMenu(refocus = true) {
      list.hidden = true;
      button.setAttribute('aria-expanded', 'false');
      if (refocus) button.focus();
    }
    button.addEventListener('click', () => (list.hidden ? openMenu() : closeMenu()));
    button.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        openMenu(e.key === 'ArrowUp');
      }
    });
    list.addEventListener('keydown', (e) => {
      const all = entries();
      const at = all.indexOf(e.target);
      const move = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: all.length - 1 }[e.key];
      if (move !== undefined) {
        e.preventDefault();
        all[(move + all.length) % all.length]?.focus();
      } else if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        closeMenu();
      } else if ((e.key === 'Enter' || e.key === ' ') && e.isTrusted && all.includes(e.target)) {
        e.preventDefault();
        if (e.target.getAttribute('aria-disabled') === 'true') return;
        closeMenu(false);
        onPick(items[at].value);
      } else if (e.key === 'Tab') {
        closeMenu(false);
      }
    });
    list.addEventListener('focusout', (e) => {
      if (!wrap.contains(e.relatedTarget)) {
        list.hidden = true;
        button.setAttribute('aria-expanded', 'false');
      }
    });
    wrap.append(button, list);
    return wrap;
  }

  // ---- the rescue UI in the notice ----

  /** Builds the rescue UI (not yet in a notice); `list` fills its menus when known. */
  function make(list) {
    const cont = el('button', { type: 'button', class: 'primary', 'data-testid': 'understudy-continue', hidden: '' }, 'Continue with another provider');
    const cache = el('button', { type: 'button', 'data-testid': 'understudy-open-cache' }, 'Open my cached conversation');
    const status = el('p', { class: 'status', role: 'status', 'data-testid': 'understudy-rescue-status' });
    // Its own polite, non-atomic live region (the notice around it is an assertive atomic alert),
    // busy while streaming so a screen reader reads the answer once, not every token.
    const answer = el('section', { class: 'answer', 'data-testid': 'understudy-answer', 'aria-live': 'polite', 'aria-atomic': 'false', 'aria-label': 'Answer from another provider', hidden: '' });
    const name = el('span', { class: 'name' });
    const stop = el('button', { type: 'button', 'data-testid': 'understudy-stop' }, 'Stop');
    const copy = el('button', { type: 'button', 'data-testid': 'understudy-copy' }, 'Copy');
    const panel = el('button', { type: 'button', 'data-testid': 'understudy-open-panel' }, 'Continue in side panel');
    const body = el('div', { class: 'body' });
    answer.append(el('div', { class: 'who' }, ''), body);
    answer.firstChild.append(name, stop, copy, panel);
    const me = { actions: null, box: null, cont, cache, status, answer, name, body, stop, copy, panel, detection: null, port: null, ask: null, list: null };

    cont.addEventListener('click', trusted(() => start(me, cont.dataset.provider)));
    cache.addEventListener('click', trusted(async () => {
      const reply = await send({ type: 'rescue.openCache', conversation_id: conversationId() });
      if (!reply?.ok) say(me, `Cannot open the library: ${reply?.error ?? 'no answer'}`, true);
    }));
    stop.addEventListener('click', () => {
      if (me.ask?.state === 'streaming') me.port?.postMessage({ type: 'stop', id: me.ask.id });
    });
    copy.addEventListener('click', trusted(async () => {
      try {
        await navigator.clipboard.writeText(me.ask?.text ?? '');
        say(me, 'Answer copied.');
      } catch {
        say(me, 'The browser refused the clipboard; select the text to copy it.', true);
      }
    }));
    panel.addEventListener('click', trusted(async () => {
      const a = me.ask;
      const reply = await send({ type: 'rescue.sidePanel', conversation: a?.transcript ?? transcript(), prompt: a?.prompt ?? '', text: a?.text ?? '', provider: a?.provider ?? null, branch: a?.saved ?? null });
      if (!reply?.ok) say(me, `Cannot open the side panel: ${reply?.error ?? 'no answer'}`, true);
    }));

    if (list) {
      me.list = list;
      fill(me, list);
    }
    return me;
  }

  /** Puts a rescue UI (built ahead of time when possible) into the notice's actions container. */
  function build(actions, detection) {
    const root = actions.getRootNode();
    const box = actions.parentNode;
    if (!(root instanceof ShadowRoot) || !box) return;
    try {
      sheet ??= new CSSStyleSheet();
      if (!sheet.cssRules.length) sheet.replaceSync(CSS);
      if (!root.adoptedStyleSheets.includes(sheet)) root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
    } catch {
      root.append(el('style', {}, CSS));
    }
    const me = spareUi ?? make(null);
    spareUi = null;
    me.actions = actions;
    me.box = box;
    me.detection = detection;
    place(me);
    box.append(me.answer, me.status);
    ui = me;
    const go = (list) => {
      if (ui !== me) return;
      if (!me.list) {
        me.list = list;
        fill(me, list);
        place(me);
      }
      // After the notice is painted: auto mode (redirect without asking on the kinds the user
      // chose, never while paused), and a port that wakes the worker now, so a click reaches a
      // running one. The next notice's UI is built in idle time.
      afterPaint(() => {
        prepareLater();
        if (ui !== me) return;
        if (list.providers.length && !isPaused()) {
          send({ type: 'rescue.auto', kind: detection.kind }).then((r) => {
            if (r?.ok && r.value === true && ui === me && !me.ask && !isPaused()) start(me, me.cont.dataset.provider, true);
          });
        }
        if (!me.port) connect(me);
      });
    };
    if (me.list) go(me.list);
    else providers().then(go);
  }

  /** The actions in order: continue, other providers, ask elsewhere, open the cache. */
  function place(me) {
    me.actions.append(...[me.cont, me.providersMenu, me.handoffMenu, me.cache].filter(Boolean));
  }

  /** Builds the next notice's rescue UI ahead of time, once the provider list is known. */
  function prepare() {
    if (spareUi) return;
    providers().then((list) => {
      spareUi ??= make(list);
    });
  }
  const prepareLater = () => (window.requestIdleCallback ?? setTimeout)(prepare);

  /** Runs fn once the next frame is painted (messaging the worker costs the frame nothing then). */
  // A tab in the background paints no frame (requestAnimationFrame waits until it shows again):
  // then a short timer runs fn, so auto mode also acts in a tab the user left.
  function afterPaint(fn) {
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      fn();
    };
    requestAnimationFrame(() => setTimeout(once, 0));
    setTimeout(once, 200);
  }

  function fill(me, { providers: list, sites }) {
    const first = list.find((p) => p.available) ?? list[0];
    if (first) {
      me.cont.textContent = `Continue with ${first.label}`;
      me.cont.dataset.provider = first.id;
      me.cont.hidden = false;
      const others = list.filter((p) => p !== first);
      if (others.length) {
        const m = menu('understudy-providers', 'Other providers', others.map((p) => ({
          testid: 'understudy-provider-item', attr: 'data-provider', value: p.id,
          label: p.available ? p.label : `${p.label} (resting)`, disabled: !p.available,
        })), (id) => start(me, id));
        me.providersMenu = m;
      }
    }
    if (sites?.length) {
      const m = menu('understudy-handoff', first ? 'Ask elsewhere' : 'Ask another chat site', sites.map((s) => ({
        testid: 'understudy-handoff-item', attr: 'data-site', value: s.id, label: s.label,
      })), (site) => handoff(me, site));
      me.handoffMenu = m;
    }
  }

  function conversationId() {
    const m = /\/c\/([0-9A-Za-z-]{1,80})/.exec(location.pathname);
    return m ? m[1] : null;
  }

  async function send(message) {
    try {
      return await ext.runtime.sendMessage(message);
    } catch (error) {
      return { ok: false, error: String(error?.message ?? error) };
    }
  }

  function say(me, text, error = false) {
    me.status.textContent = text;
    me.status.classList.toggle('error', error);
  }

  async function handoff(me, site) {
    const reply = await send({ type: 'rescue.handoff', site, kind: me.detection.kind, transcript: transcript(), prompt: failedPrompt });
    if (!reply?.ok) return say(me, `Cannot hand this over: ${reply?.error ?? 'no answer'}`, true);
    const { label, clipboard } = reply.value;
    if (!clipboard) return say(me, `Opened ${label} in a new tab with your prompt and its context.`);
    try {
      await navigator.clipboard.writeText(clipboard);
      say(me, `Opened ${label} in a new tab. Your prompt and its context are in the clipboard: paste them there.`);
    } catch {
      say(me, `Opened ${label} in a new tab. The browser refused the clipboard: copy your prompt from this page.`, true);
    }
  }

  function connect(me) {
    if (me.port) return me.port;
    const port = ext.runtime.connect({ name: PORT });
    me.port = port;
    port.onMessage.addListener((m) => onPort(me, m));
    port.onDisconnect.addListener(() => {
      if (me.port === port) me.port = null;
      if (me.ask?.state === 'streaming') end(me, 'error', 'The connection to Understudy broke off.');
    });
    return port;
  }

  function start(me, provider, auto = false) {
    if (isPaused()) return say(me, 'Understudy is paused: turn it back on in its toolbar popup.', true);
    if (me.ask?.state === 'streaming') me.port?.postMessage({ type: 'stop', id: me.ask.id });
    const t = transcript();
    me.ask = { id: ++askSeq, provider: provider ?? null, text: '', state: 'streaming', transcript: t, prompt: failedPrompt ?? '', rendered: 0, frame: 0 };
    const a = me.answer;
    a.hidden = false;
    a.dataset.state = 'streaming';
    a.setAttribute('aria-busy', 'true');
    a.dataset.provider = provider ?? '';
    if (auto) a.dataset.auto = 'true';
    me.name.textContent = auto ? 'Continuing automatically…' : 'Asking…';
    me.body.replaceChildren();
    me.stop.hidden = false;
    say(me, '');
    // An automatic ask says so: the worker bounds it and carries the prompt it recorded itself.
    const message = auto
      ? { type: 'ask', id: me.ask.id, auto: true, kind: me.detection.kind, transcript: t }
      : { type: 'ask', id: me.ask.id, provider, kind: me.detection.kind, transcript: t, prompt: failedPrompt, conversation_id: conversationId(), prompt_id: null };
    try {
      connect(me).postMessage(message);
    } catch {
      me.port = null;
      try {
        connect(me).postMessage(message);
      } catch {
        end(me, 'error', 'Understudy is not reachable; reload the page.');
      }
    }
  }

  function paint(me) {
    const a = me.ask;
    a.frame = 0;
    if (a.rendered === a.text.length) return;
    a.rendered = a.text.length;
    me.body.replaceChildren(markdown(a.text));
  }

  function onPort(me, m) {
    const a = me.ask;
    if (!a || m?.id !== a.id) return;
    switch (m.type) {
      case 'start':
        a.provider = m.provider;
        me.answer.dataset.provider = m.provider;
        me.name.textContent = `Answer from ${m.label}`;
        if (m.dropped > 0) say(me, `${m.dropped} older turns were left out to fit.`);
        break;
      case 'delta':
        if (a.state !== 'streaming' || typeof m.text !== 'string') return;
        a.text += m.text;
        if (a.provider !== m.provider) {
          a.provider = m.provider;
          me.answer.dataset.provider = m.provider;
          me.name.textContent = `Answer from ${m.label}`;
        }
        // The first token shows at once; later ones are painted once per frame.
        if (a.rendered === 0) paint(me);
        else a.frame ||= requestAnimationFrame(() => paint(me));
        break;
      case 'done':
        if (m.outcome === 'cancelled') end(me, 'done', 'Stopped.');
        else end(me, 'done', m.outcome === 'length' ? 'The answer reached its length limit.' : '');
        break;
      case 'error':
        end(me, 'error', String(m.message ?? 'No provider could answer.'));
        break;
      case 'saved':
        // The worker kept the answer in the cache; "Continue in side panel" extends that branch.
        if (typeof m.conversation_id === 'string') {
          a.saved = { conversation_id: m.conversation_id, node: m.node };
          me.answer.dataset.saved = 'true';
        }
        break;
      default:
        break;
    }
  }

  function end(me, state, words) {
    const a = me.ask;
    if (!a || a.state !== 'streaming') return;
    a.state = state;
    if (a.frame) cancelAnimationFrame(a.frame);
    paint(me);
    me.answer.dataset.state = state;
    me.answer.setAttribute('aria-busy', 'false');
    me.stop.hidden = true;
    if (!a.text && state === 'error') me.name.textContent = 'No answer';
    say(me, words, state === 'error');
  }

  UnderstudyDetect.onNotice((actions, detection) => {
    if (ui && ui.actions !== actions) {
      ui.port?.disconnect();
      ui = null;
    }
    if (isPaused()) return; // no actions while paused (the notice itself is detection's)
    build(actions, detection);
  });
  // Paused while a notice shows: its actions go (an answer streaming is stopped); resumed: they
  // come back on the notice on screen.
  if (typeof UnderstudyPage.onPause === 'function') {
    UnderstudyPage.onPause((paused) => {
      if (paused && ui) {
        if (ui.ask?.state === 'streaming') ui.port?.postMessage({ type: 'stop', id: ui.ask.id });
        for (const node of [ui.cont, ui.providersMenu, ui.handoffMenu, ui.cache, ui.answer, ui.status]) node?.remove();
        ui.port?.disconnect();
        ui = null;
      } else if (!paused && !ui) {
        const actions = UnderstudyDetect.actions();
        const detection = UnderstudyDetect.current();
        if (actions && detection) build(actions, detection);
      }
    });
  }
  UnderstudyDetect.onChange((detection) => {
    if (detection || !ui) return;
    // Recovered: the notice is gone; an answer still streaming keeps running until the page unloads.
    if (ui.ask?.state !== 'streaming') {
      ui.port?.disconnect();
      ui = null;
    }
  });
  UnderstudyPage.onReady(() => prepareLater()); // the provider list and the next notice's UI, before any failure
})();
