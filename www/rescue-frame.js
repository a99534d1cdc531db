// The rescue, in an extension frame inside the chat page's notice (a web-accessible page,
// cross-origin to the chat page): "Continue with <provider>", the other providers, "Ask elsewhere",
// "Open my cached conversation", and the answer streamed from another provider with Stop, Copy and
// "Continue in side panel". The chat page's scripts can neither read the answer nor click, focus or
// rewrite these controls; gesture.js refuses clicks on controls the page covered, made transparent
// or moved under the pointer, and drops focus when the frame loses it.
//
// Everything comes from the worker, keyed by the tab it sees this frame in (never from this
// frame's URL, which the page chose): the failure in force, the providers (ids and labels only),
// whether auto mode acts now. An ask goes over a port named `understudy-rescue` that the worker
// accepts from this frame only; the worker asks the tab's content script for the conversation
// (context) and takes the failed prompt and the kind from its own detection state.
//
// Test hooks: `understudy-continue`, `understudy-providers` with `understudy-provider-item
// [data-provider]`, `understudy-open-cache`, `understudy-handoff` with `understudy-handoff-item
// [data-site]`, `understudy-answer` (`data-provider`, `data-state="streaming|done|error"`,
// `data-auto`, `data-saved`), `understudy-stop`, `understudy-copy`, `understudy-open-panel`,
// `understudy-rescue-status`; `body[data-ready]` once the controls are built; each guarded control
// carries `data-armed="true"` while a click on it would act.
import { dropFocusOnLeave, guard, refusal } from './gesture.js';
import { menu } from './menu.js';
import '../i18n.js';

const { t, tp, localize, lang } = globalThis.understudyI18n;

const ext = globalThis.browser ?? globalThis.chrome;
const PORT = 'understudy-rescue';
const $ = (sel) => document.querySelector(sel);

document.documentElement.lang = lang();
localize();

const params = new URLSearchParams(location.search);
if (params.get('theme') === 'dark') document.documentElement.classList.add('dark');
dropFocusOnLeave();

const bar = $('.bar');
const status = $('.status');
const answer = $('.answer');
const name = $('.name');
const body = $('.body');
const stopButton = $('[data-testid="understudy-stop"]');
const copyButton = $('[data-testid="understudy-copy"]');
const panelButton = $('[data-testid="understudy-open-panel"]');

let port = null;
let ask = null; // {id, provider, text, state, saved, frame, rendered}
let askSeq = 0;
let render = null; // (container, text, {streaming}) => void, once Markdown is loaded

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function say(text, error = false) {
  status.textContent = text;
  status.classList.toggle('error', error);
}

async function send(message) {
  try {
    const reply = await ext.runtime.sendMessage(message);
    return reply ?? { ok: false, error: t('frame_no_reply') };
  } catch (error) {
    return { ok: false, error: String(error?.message ?? error) };
  }
}

/** Runs fn(event) only for a person's click on a visible control (gesture.js); says why not. */
function acting(control, fn) {
  guard(control);
  return (event) => {
    const why = refusal(event, control);
    if (why) return say(t('frame_refused_button', why), true);
    fn(event);
  };
}

// ---- the frame's size: the content script sizes the iframe to what this page shows ----

const root = $('#root');
new ResizeObserver(() => {
  const height = Math.ceil(root.getBoundingClientRect().height);
  // Only a height crosses to the page (the content script checks that it comes from this frame).
  window.parent.postMessage({ understudyRescueFrame: 'size', height }, '*');
}).observe(root);

// ---- controls ----

let continueFirst = null; // what "Continue with <first provider>" does, once the controls are built

function build(state) {
  const { providers, sites } = state;
  const first = providers.find((p) => p.available) ?? providers[0];
  if (first) {
    const cont = el('button', { type: 'button', class: 'primary', 'data-testid': 'understudy-continue', 'data-provider': first.id }, t('frame_continue_with', first.label));
    cont.addEventListener('click', acting(cont, () => start(first.id)));
    continueFirst = () => start(first.id);
    bar.append(cont);
    const others = providers.filter((p) => p !== first);
    if (others.length) {
      const m = menu({
        testid: 'understudy-providers',
        label: t('frame_other_providers'),
        items: others.map((p) => ({ testid: 'understudy-provider-item', attr: 'data-provider', value: p.id, label: p.available ? p.label : t('frame_resting', p.label), disabled: !p.available })),
        onPick: (id, event, li) => pick(event, li, () => start(id)),
      });
      m.items.forEach(guard);
      guard(m.button);
      bar.append(m.wrap);
    }
  }
  if (sites.length) {
    const m = menu({
      testid: 'understudy-handoff',
      label: first ? t('frame_ask_elsewhere') : t('frame_ask_other_site'),
      items: sites.map((s) => ({ testid: 'understudy-handoff-item', attr: 'data-site', value: s.id, label: s.label })),
      onPick: (site, event, li) => pick(event, li, () => handoff(site)),
    });
    m.items.forEach(guard);
    guard(m.button);
    bar.append(m.wrap);
  }
  const cache = el('button', { type: 'button', 'data-testid': 'understudy-open-cache' }, t('frame_open_cache'));
  cache.addEventListener('click', acting(cache, async () => {
    const reply = await send({ type: 'rescue.openCache' });
    if (!reply.ok) say(t('frame_cannot_open_library', reply.error), true);
  }));
  bar.append(cache);
}

function pick(event, li, fn) {
  const why = refusal(event, li);
  if (why) return say(t('frame_refused_menu', why), true);
  fn();
}

stopButton.addEventListener('click', (event) => {
  if (event.isTrusted && ask?.state === 'streaming') port?.postMessage({ type: 'stop', id: ask.id });
});
copyButton.addEventListener('click', async (event) => {
  if (!event.isTrusted) return;
  say((await copy(ask?.text ?? '')) ? t('frame_copied') : t('frame_clipboard_refused'), !navigator.clipboard);
});
panelButton.addEventListener('click', acting(panelButton, async () => {
  // Chrome's side panel is opened by the worker, which needs the tab (the click's gesture carries
  // there). Firefox gives this frame (an extension page inside a web page) no sidebarAction and
  // opens its sidebar only in a user-input handler of the page calling: the worker opens the panel
  // in a tab next to the chat there.
  const reply = await send({ type: 'rescue.sidePanel', text: ask?.text ?? '', provider: ask?.provider ?? null, branch: ask?.saved ?? null });
  if (!reply.ok) say(t('frame_cannot_open_panel', reply.error), true);
}));

/** Writes text to the clipboard (the frame holds the user's activation); true when it worked. */
async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = el('textarea', { 'aria-hidden': 'true', style: 'position:fixed;opacity:0' });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {}
    area.remove();
    return ok;
  }
}

async function handoff(site) {
  const reply = await send({ type: 'rescue.handoff', site });
  if (!reply.ok) return say(t('frame_cannot_hand_over', reply.error), true);
  const { label, clipboard } = reply.value;
  if (!clipboard) return say(t('frame_handoff_opened', label));
  if (await copy(clipboard)) say(t('frame_handoff_clipboard', label));
  else say(t('frame_handoff_no_clipboard', label), true);
}

// ---- the ask ----

function connect() {
  if (port) return port;
  const p = ext.runtime.connect({ name: PORT });
  port = p;
  p.onMessage.addListener(onPort);
  p.onDisconnect.addListener(() => {
    if (port === p) port = null;
    if (ask?.state === 'streaming') end('error', t('frame_connection_lost'));
  });
  return p;
}

function start(provider, auto = false) {
  if (ask?.state === 'streaming') port?.postMessage({ type: 'stop', id: ask.id });
  ask = { id: ++askSeq, provider: provider ?? null, text: '', state: 'streaming', saved: null, frame: 0, rendered: -1 };
  answer.hidden = false;
  answer.dataset.state = 'streaming';
  answer.dataset.provider = provider ?? '';
  answer.setAttribute('aria-busy', 'true');
  if (auto) answer.dataset.auto = 'true';
  delete answer.dataset.saved;
  name.textContent = auto ? t('frame_continuing_auto') : t('frame_asking');
  body.replaceChildren();
  stopButton.hidden = false;
  say('');
  const message = auto ? { type: 'ask', id: ask.id, auto: true } : { type: 'ask', id: ask.id, provider };
  try {
    connect().postMessage(message);
  } catch {
    port = null;
    try {
      connect().postMessage(message);
    } catch {
      end('error', t('frame_unreachable'));
    }
  }
  loadMarkdown();
}

/** The core's Markdown renderer, loaded on the first answer (the Wasm is not needed before). */
let loading = null;
function loadMarkdown() {
  loading ??= (async () => {
    try {
      const [{ default: init }, md] = await Promise.all([import('../pkg/understudy_pages.js'), import('./markdown.js')]);
      await init();
      render = md.renderMarkdownInto;
    } catch {
      render = null; // plain text stays
    }
    if (ask) paint(true);
  })();
}

function paint(force = false) {
  const a = ask;
  a.frame = 0;
  if (!force && a.rendered === a.text.length) return;
  a.rendered = a.text.length;
  if (render) {
    body.classList.remove('plain');
    render(body, a.text, { streaming: a.state === 'streaming' });
  } else {
    body.classList.add('plain');
    body.textContent = a.text;
  }
}

function named(provider, label) {
  ask.provider = provider;
  ask.label = label;
  answer.dataset.provider = provider ?? '';
  name.textContent = t('frame_answer_from', label);
}

function onPort(m) {
  const a = ask;
  if (!a || m?.id !== a.id) return;
  switch (m.type) {
    case 'start': {
      // Credit goes to a provider once it answers: until then the frame says who is being asked,
      // and why the one before did not answer.
      a.asking = m.label;
      if (!a.text) {
        name.textContent = t('frame_asking_provider', m.label);
        answer.dataset.asking = m.provider ?? '';
      }
      const moved = m.after ? t('frame_moved', m.after.label, m.after.reason, m.label) : '';
      if (moved) a.moves = [...(a.moves ?? []), `${m.after.label}: ${m.after.reason}`];
      const dropped = m.dropped > 0 ? tp('frame_dropped', m.dropped) : '';
      say([moved, dropped].filter(Boolean).join(' '));
      break;
    }
    case 'delta':
      if (a.state !== 'streaming' || typeof m.text !== 'string') return;
      a.text += m.text;
      if (a.provider !== m.provider || !a.label) named(m.provider, m.label);
      // The first token shows at once; later ones are painted once per frame.
      if (a.rendered <= 0) paint();
      else a.frame ||= requestAnimationFrame(() => paint());
      break;
    case 'done': {
      const before = a.moves?.length ? t('frame_before_answered', a.label ?? m.label, a.moves.join('; ')) : '';
      end('done', m.outcome === 'cancelled' ? t('frame_stopped') : m.outcome === 'length' ? t('frame_length_limit') : before);
      break;
    }
    case 'error':
      end('error', String(m.message ?? t('frame_no_provider')));
      break;
    case 'saved':
      if (typeof m.conversation_id === 'string') {
        a.saved = { conversation_id: m.conversation_id, node: m.node };
        answer.dataset.saved = 'true';
      }
      break;
    default:
      break;
  }
}

function end(state, words) {
  const a = ask;
  if (!a || a.state !== 'streaming') return;
  a.state = state;
  if (a.frame) cancelAnimationFrame(a.frame);
  paint(true);
  answer.dataset.state = state;
  answer.setAttribute('aria-busy', 'false');
  stopButton.hidden = true;
  if (!a.text && state === 'error') name.textContent = t('frame_no_answer');
  say(words, state === 'error');
}

// The "Continue elsewhere" shortcut (extension/sw/commands.js): the worker saw the person press it
// and holds a failure for this tab, and asks this frame to do what "Continue with …" does. Only the
// extension itself sends it (a message from a tab's content script, which the page can drive,
// carries `sender.tab` and is ignored). As for a click, the button must have been seen visible
// (gesture.js `data-armed`): a copy of this frame the page loaded and hid does nothing; the worker
// has the notice scrolled into view and asks again (the same `id`: acted on once).
const commanded = new Set();
ext.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (message?.type !== 'rescue.command' || sender?.id !== ext.runtime.id || sender.tab) return false;
  const cont = $('[data-testid="understudy-continue"]');
  const id = String(message.id ?? '');
  if (!continueFirst || !cont) sendResponse({ started: false, why: 'no provider' });
  else if (commanded.has(id)) sendResponse({ started: true });
  else if (cont.dataset.armed !== 'true') sendResponse({ started: false, why: 'hidden' });
  else {
    commanded.add(id);
    if (ask?.state !== 'streaming') continueFirst();
    sendResponse({ started: true });
  }
  return false;
});

// ---- start ----

(async () => {
  const reply = await send({ type: 'rescue.frame' });
  if (!reply.ok) {
    say(t('frame_cannot_rescue', reply.error), true);
    document.body.dataset.ready = 'true';
    return;
  }
  const state = reply.value;
  build(state);
  document.body.dataset.ready = 'true';
  performance.mark('understudy-rescue-ready'); // for `make bench` (rescue_controls_ready_ms_p95)
  if (state.auto && state.providers.length) return start(null, true);
  // Ready for a click: the port open (it keeps the worker awake for the ask), the Markdown
  // renderer loaded in idle time, so neither costs the first token anything.
  if (state.providers.length) {
    connect();
    (window.requestIdleCallback ?? setTimeout).call(window, loadMarkdown);
  }
})();
