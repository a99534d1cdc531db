//# allFunctionsCalledOnLoad
// Content script: the rescue's place in the notice (isolated world). Plain JS, no Wasm, no secrets.
//
// The rescue itself (its controls and the answer from another provider) lives in an extension
// frame, `www/rescue-frame.html`, cross-origin to the chat page: the page's scripts cannot read the
// answer, click or focus the controls, or choose the provider (see that page and SECURITY.md). This
// script only:
// - puts the frame into the notice's actions container when a notice is built (not while paused),
//   as `iframe[data-testid="understudy-rescue-frame"]`, and sizes it to the height the frame
//   reports (a message checked to come from that frame's window);
// - answers the worker's `rescue.transcript` with the conversation as the page shows it (context
//   for the rescue: the page could show anything, so the worker takes the failed prompt and the
//   kind from its own detection state, not from here) and the conversation id of the URL;
// - removes the frame when Understudy is paused (the worker stops an answer whose frame went);
// - scrolls the notice into view when the worker asks (`rescue.reveal`, the "Continue elsewhere"
//   shortcut).
(() => {
  const ext = UnderstudyPage.ext;
  const ROLE_SEL = '[data-message-author-role]';
  const MAX_TURN = 200_000;
  const FRAME_URL = ext.runtime.getURL('www/rescue-frame.html');
  const MAX_HEIGHT = () => Math.max(120, Math.round(window.innerHeight * 0.8));
  let frame = null; // the iframe in the notice on screen
  const isPaused = () => typeof UnderstudyPage.paused === 'function' && UnderstudyPage.paused() === true;

  /** The conversation's main line as the page shows it: [{role, content}], oldest first. */
  function transcript() {
    const out = [];
    for (const node of document.querySelectorAll(ROLE_SEL)) {
      const role = node.getAttribute('data-message-author-role');
      if (role !== 'user' && role !== 'assistant') continue;
      const body = role === 'assistant' ? node.querySelector('.markdown') ?? node : node;
      out.push({ role, content: (body.textContent || '').trim().slice(0, MAX_TURN) });
    }
    return out.length ? out : adapterTranscript();
  }

  // Another chat site (no role attributes): the user messages and answers by the site's adapter
  // (`user_message`, `message_body`), outermost ones, in page order; empty answers left out.
  function adapterTranscript() {
    const s = typeof UnderstudyDetect.adapter === 'function' ? UnderstudyDetect.adapter()?.selectors : null;
    if (!s?.user_message && s?.turn && s?.message_body) return turnTranscript(s);
    if (!s?.user_message || !s?.message_body) return [];
    const out = [];
    try {
      const both = `${s.user_message}, ${s.message_body}`;
      for (const node of document.querySelectorAll(both)) {
        if (node.parentElement?.closest(both)) continue;
        const role = node.matches(s.user_message) ? 'user' : 'assistant';
        const content = (node.textContent || '').trim().slice(0, MAX_TURN);
        if (content || role === 'user') out.push({ role, content });
      }
    } catch {
      return [];
    }
    return out;
  }

  // A site whose adapter names no user message (DeepSeek, Grok): its turns (`turn`, outermost, in
  // page order), an answer where the turn holds a message body (its bodies' text: thinking shown
  // apart is left out) or an error box, else the user's; empty answers left out.
  function turnTranscript(s) {
    const out = [];
    try {
      for (const node of document.querySelectorAll(s.turn)) {
        if (node.parentElement?.closest(s.turn)) continue;
        const bodies = node.matches(s.message_body) ? [node] : [...node.querySelectorAll(s.message_body)].filter((b) => !b.parentElement?.closest(s.message_body));
        // A turn showing only an error box is the answer that failed.
        const role = bodies.length || (s.error && node.querySelector(s.error)) ? 'assistant' : 'user';
        const content = (bodies.length ? bodies.map((b) => b.textContent || '').join('\n\n') : node.textContent || '').trim().slice(0, MAX_TURN);
        if (content || role === 'user') out.push({ role, content });
      }
    } catch {
      return [];
    }
    return out;
  }

  function conversationId() {
    const m = /\/c\/([0-9A-Za-z-]{1,80})/.exec(location.pathname);
    return m ? m[1] : null;
  }

  function pageIsDark() {
    const root = document.documentElement;
    if (root.classList.contains('dark')) return true;
    if (root.classList.contains('light')) return false;
    return matchMedia('(prefers-color-scheme: dark)').matches;
  }

  function mount(actions) {
    unmount();
    const dark = pageIsDark();
    const f = document.createElement('iframe');
    f.setAttribute('data-testid', 'understudy-rescue-frame');
    f.setAttribute('title', globalThis.understudyI18n.t('notice_frame_title'));
    f.setAttribute('allow', 'clipboard-write');
    f.setAttribute('style', `display:block;flex:1 0 100%;width:100%;height:40px;border:0;margin:0;padding:0;background:transparent;color-scheme:${dark ? 'dark' : 'light'}`);
    f.src = `${FRAME_URL}?theme=${dark ? 'dark' : 'light'}`;
    actions.append(f);
    frame = f;
  }

  function unmount() {
    frame?.remove();
    frame = null;
  }

  // The frame's height: only from the frame's own window (a page cannot forge `event.source`).
  window.addEventListener('message', (event) => {
    if (!frame || event.source !== frame.contentWindow) return;
    const h = event.data?.understudyRescueFrame === 'size' ? Number(event.data.height) : NaN;
    if (Number.isFinite(h) && h >= 0) frame.style.height = `${Math.min(Math.ceil(h), MAX_HEIGHT())}px`;
  });

  // The worker's question (only the extension can send runtime messages to a content script).
  ext.runtime.onMessage.addListener((message, sender, sendResponse) => {
    if (message?.type !== 'rescue.transcript' || sender?.id !== ext.runtime.id || sender.tab) return false;
    sendResponse({ transcript: transcript(), conversation_id: conversationId() });
    return false;
  });

  // The worker's "show the rescue" (the "Continue elsewhere" shortcut, sw/commands.js): the frame
  // acts only once the browser has seen its button visible, so the notice is scrolled into view.
  ext.runtime.onMessage.addListener((message, sender, sendResponse) => {
    if (message?.type !== 'rescue.reveal' || sender?.id !== ext.runtime.id || sender.tab) return false;
    frame?.scrollIntoView({ block: 'nearest' });
    sendResponse({ shown: !!frame });
    return false;
  });

  UnderstudyDetect.onNotice((actions) => {
    if (isPaused()) return; // no rescue while paused (the notice itself is detection's)
    mount(actions);
  });
  if (typeof UnderstudyPage.onPause === 'function') {
    UnderstudyPage.onPause((paused) => {
      if (paused) return unmount();
      const actions = UnderstudyDetect.actions();
      if (actions && UnderstudyDetect.current() && !frame?.isConnected) mount(actions);
    });
  }
  UnderstudyDetect.onChange((detection) => {
    if (!detection) unmount(); // recovered: the notice is gone, and its rescue with it
  });
})();
