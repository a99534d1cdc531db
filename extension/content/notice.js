//# allFunctionsCalledOnLoad
// Content script: the in-page notice (isolated world). Plain JS, no Wasm, no secrets; page text and
// model output are set as text only (never innerHTML).
//
// `UnderstudyNotice` (a global of the extension's isolated world, used by content/detect.js):
// - `show(detection, near)`: shows (or updates) the notice for a detection as the worker presents it
//   ({kind, evidence, since_ms, retry_at, ...}); `near` is the element to sit after (the latest
//   turn) or null (then it is fixed at the bottom of the viewport). A detection the user dismissed
//   stays hidden. Returns the actions container when a notice was built just now, else null.
// - `hide()`: removes the notice.
// - `actions()`: the actions container of the notice on screen, or null.
// - `reset()`: hides it and forgets what was dismissed.
//
// The notice: a host element `[data-testid="understudy-notice"]` with `data-kind="<kind>"`, an
// open shadow root holding `[role=status]` (announced politely: it never interrupts), the words,
// `[data-testid="understudy-actions"]` (an empty container for actions such as "Continue with a
// provider") and `[data-testid="understudy-dismiss"]` (it, or Esc on it, dismisses the notice). When
// the notice goes while it holds focus, focus returns where it was before, else to the composer.
const UnderstudyNotice = (() => {
  // Every word goes through the catalogue (extension/i18n/notice.json), in the browser's language.
  const I18n = globalThis.understudyI18n;
  const t = (key, ...subs) => I18n.t(key, ...subs);
  // The chat site's name (names are not translated). ChatGPT keeps its own messages; every other
  // site gets the site-generic ones, with its name as $1.
  const SITE_NAMES = {
    claude: 'Claude', gemini: 'Gemini', deepseek: 'DeepSeek', grok: 'Grok',
    perplexity: 'Perplexity', copilot: 'Copilot', mistral: 'Le Chat',
  };
  let site = 'chatgpt';
  UnderstudyPage.onReady((hello) => {
    if (typeof hello?.site === 'string') site = hello.site;
  });
  /** The site's name, or null on ChatGPT (and on a site without a name here). */
  const siteName = () => (site !== 'chatgpt' && Object.hasOwn(SITE_NAMES, site) ? SITE_NAMES[site] : null);
  // ChatGPT's message on ChatGPT; elsewhere the site-generic one, with the site's name first.
  const say = (chatgpt, other, ...subs) => {
    const name = siteName();
    return name ? t(other, name, ...subs) : t(chatgpt, ...subs);
  };
  const WORDS = {
    generation_error: () => say('notice_generation_error', 'notice_site_generation_error'),
    network_error: (d) => (d.evidence?.signal === 'stall'
      ? say('notice_network_stall', 'notice_site_network_stall')
      : say('notice_network_error', 'notice_site_network_error')),
    rate_limited: (d) => (d.retry_at
      ? say('notice_rate_limited_until', 'notice_site_rate_limited_until', clock(d.retry_at))
      : say('notice_rate_limited', 'notice_site_rate_limited')),
    capacity: () => say('notice_capacity', 'notice_site_capacity'),
    service_down: () => say('notice_service_down', 'notice_site_service_down'),
    blocked: () => say('notice_blocked', 'notice_site_blocked'),
    conversation_unavailable: () => say('notice_conversation_unavailable', 'notice_site_conversation_unavailable'),
    refused: () => say('notice_refused', 'notice_site_refused'),
    conversation_too_long: () => say('notice_conversation_too_long', 'notice_site_conversation_too_long'),
    unknown_error: () => say('notice_unknown_error', 'notice_site_unknown_error'),
  };

  /** A time on the 24-hour clock (14:20), with the day in the user's language when it is not within a day. */
  function clock(ms) {
    const at = new Date(ms);
    const hm = `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
    if (ms - Date.now() < 20 * 3600 * 1000) return hm;
    let day;
    try {
      day = at.toLocaleDateString(I18n.lang(), { month: 'short', day: 'numeric' });
    } catch {
      day = at.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
    }
    return `${day} ${hm}`;
  }

  const CSS = `
    :host { all: initial; display: block; }
    :host([data-placement="spare"]) { display: none; }
    .box { box-sizing: border-box; margin: 8px auto; max-width: 48rem; padding: 10px 14px; border-radius: 10px;
      font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; display: flex; flex-wrap: wrap;
      align-items: center; gap: 8px 12px; border: 1px solid #e4b4ae; background: #fff4f2; color: #3b0d08; }
    .box.dark { background: #2b1714; color: #f6d9d4; border-color: #6b2a22; }
    :host([data-placement="fixed"]) { position: fixed; left: 50%; bottom: 88px; transform: translateX(-50%);
      z-index: 2147483646; width: min(48rem, calc(100vw - 32px)); }
    :host([data-placement="fixed"]) .box { margin: 0; box-shadow: 0 4px 18px rgba(0,0,0,.18); }
    .words { flex: 1 1 16rem; margin: 0; }
    .what { display: block; font-size: 12px; opacity: .75; margin-top: 2px; overflow-wrap: anywhere; }
    .actions { display: flex; gap: 8px; flex-wrap: wrap; }
    .actions:empty { display: none; }
    .actions:has(> iframe) { flex: 1 0 100%; order: 2; }
    button { font: inherit; border-radius: 8px; border: 1px solid currentColor; background: transparent; color: inherit;
      padding: 4px 12px; cursor: pointer; }
    button:focus-visible { outline: 2px solid #0d1117; outline-offset: 2px; }
    .box.dark button:focus-visible { outline-color: #9ff0d2; }
  `;
  let sheet = null;
  let notice = null; // {host, box, words, what, actions, key}
  // A notice built ahead of time (host, shadow root, adopted sheet) and kept attached but hidden
  // (no test id until shown), so showing one on an event is filling text and a move.
  let spare = null;
  let dismissed = '';
  const keyOf = (d) => `${d.kind}|${d.since_ms ?? ''}`;

  const prepare = () => {
    spare ??= build();
    if (!spare.host.isConnected && document.body) {
      spare.host.setAttribute('data-placement', 'spare');
      document.body.append(spare.host);
    }
  };
  // Called on `window` (Firefox refuses a detached requestIdleCallback).
  const prepareLater = () => {
    if (typeof window.requestIdleCallback === 'function') window.requestIdleCallback(prepare);
    else setTimeout(prepare);
  };

  function pageIsDark() {
    const root = document.documentElement;
    if (root.classList.contains('dark')) return true;
    if (root.classList.contains('light')) return false;
    const bg = getComputedStyle(document.body || root).backgroundColor;
    const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*([\d.]+))?/.exec(bg);
    if (m && (m[4] === undefined || Number(m[4]) > 0.5)) return 0.2126 * m[1] + 0.7152 * m[2] + 0.0722 * m[3] < 128;
    return matchMedia('(prefers-color-scheme: dark)').matches;
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs ?? {})) node.setAttribute(k, v);
    if (text) node.textContent = text;
    return node;
  }

  function build() {
    const host = document.createElement('understudy-notice');
    const root = host.attachShadow({ mode: 'open' });
    try {
      sheet ??= new CSSStyleSheet();
      if (!sheet.cssRules.length) sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch {
      root.append(el('style', {}, CSS));
    }
    const box = el('div', { class: 'box', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true', lang: I18n.lang() });
    const words = el('p', { class: 'words' });
    const what = el('span', { class: 'what' });
    const actions = el('div', { class: 'actions', 'data-testid': 'understudy-actions' });
    const dismiss = el('button', { type: 'button', 'data-testid': 'understudy-dismiss' }, t('notice_dismiss'));
    dismiss.addEventListener('click', () => {
      if (notice) dismissed = notice.key;
      hide();
    });
    // Esc on the notice's own controls dismisses it too (the rescue frame's menus take their Esc).
    box.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && e.target === dismiss) {
        e.preventDefault();
        dismiss.click();
      }
    });
    box.append(words, actions, dismiss);
    root.append(box);
    return { host, box, words, what, actions, key: '' };
  }

  /**
   * Focus after the notice went while it held focus (Dismiss, Esc, or the failure cleared): back
   * where it was before the notice showed, else the chat's composer; never left on the body.
   */
  function refocus(back) {
    const target = back?.isConnected ? back : document.querySelector('#prompt-textarea, main textarea, [contenteditable="true"]');
    try {
      target?.focus({ preventScroll: true });
    } catch {}
  }

  function hide() {
    if (!notice) return;
    // Focus inside the notice (Dismiss, its rescue frame) would fall to the page's body: it goes back.
    const focused = document.activeElement === notice.host;
    const back = notice.before;
    notice.host.remove();
    notice = null;
    if (focused) refocus(back);
    prepareLater();
  }

  function show(d, near) {
    const key = keyOf(d);
    if (key === dismissed) return null;
    const created = !notice;
    if (created) {
      notice = spare ?? build();
      spare = null;
    }
    const n = notice;
    if (created) {
      // Where focus was when the notice came (a composer, typically): it returns there on Dismiss.
      const a = document.activeElement;
      n.before = a && a !== document.body && a !== document.documentElement ? a : null;
    }
    n.key = key;
    n.host.setAttribute('data-testid', 'understudy-notice');
    n.host.setAttribute('data-kind', d.kind);
    n.words.textContent = (WORDS[d.kind] ?? WORDS.unknown_error)(d);
    n.what.textContent = d.evidence?.text ? t('notice_seen', d.evidence.text) : '';
    n.words.append(n.what);
    n.box.classList.toggle('dark', pageIsDark());
    if (near && near.isConnected && near.parentNode) {
      n.host.setAttribute('data-placement', 'turn');
      if (near.nextSibling !== n.host) {
        try {
          near.parentNode.moveBefore(n.host, near.nextSibling); // keeps the attached host's state
        } catch {
          near.after(n.host);
        }
      }
    } else {
      n.host.setAttribute('data-placement', 'fixed');
      const parent = document.body || document.documentElement;
      if (n.host.parentNode !== parent) parent.append(n.host);
    }
    return created ? n.actions : null;
  }

  return {
    show,
    hide,
    prepareLater,
    actions: () => notice?.actions ?? null,
    reset() {
      dismissed = '';
      hide();
    },
  };
})();
