// The one Markdown → DOM module of the extension's pages (library, side panel, rescue frame).
// The core (src/markdown/) parses the Markdown and returns a tree of allowed elements; this module
// only builds DOM nodes from it, with createElement, textContent and setAttribute (never
// innerHTML), and checks the tree's tags and attributes against its own lists once more.
// Code blocks get a copy button; images a button that loads them on a click; links open in a new
// tab without an opener or a referrer. The builder is iterative (the tree is also depth-bounded).
// Streaming: the blocks the core calls settled are kept, only the tail is rebuilt (in one task,
// so nothing flickers); a frame costs the size of the tail, not of the answer.
// The page must have awaited the core's init() before the first call.
import * as core from '../pkg/understudy_pages.js';
import '../i18n.js';

const { t } = globalThis.understudyI18n; // the labels in the user's language (extension/i18n/markdown.json)

const MATHML = 'http://www.w3.org/1998/Math/MathML';
const HTML_TAGS = new Set(['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'code', 'ul', 'ol', 'li',
  'em', 'strong', 'del', 'sup', 'sub', 'a', 'br', 'hr', 'input', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
  'span', 'div', 'dl', 'dt', 'dd']);
const MATH_TAGS = new Set(['math', 'mrow', 'mi', 'mn', 'mo', 'mtext', 'mspace', 'msub', 'msup', 'msubsup', 'munder',
  'mover', 'munderover', 'mfrac', 'msqrt', 'mroot', 'mtable', 'mtr', 'mtd']);
const ATTRS = new Set(['href', 'title', 'class', 'start', 'align', 'type', 'disabled', 'checked', 'display',
  'mathvariant', 'stretchy', 'accent', 'accentunder', 'linethickness', 'width']);
const SAFE_URL = /^(https?:|mailto:)/i;
const REFERENCE_DEFINITION = /^ {0,3}\[[^\]]+\]:/m;

/** Per container: what was built, so that a streamed answer rebuilds only its tail. */
const states = new WeakMap();

/**
 * Renders `text` (Markdown) into `container`, replacing what this module put there before.
 * With `{ streaming: true }` (each frame of an answer that is still arriving) the blocks that
 * can no longer change are kept and only the tail is rebuilt; the last call (streaming false)
 * finishes the same way, or renders everything again when a link reference definition arrived
 * late (the kept blocks could not see it).
 */
export function renderMarkdownInto(container, text, { streaming = false } = {}) {
  container.classList.add('understudy-markdown');
  let st = states.get(container);
  const untouched = st && container.childNodes.length === st.frozen.length + st.tail.length
    && container.firstChild === (st.frozen[0] ?? st.tail[0] ?? null);
  const late = st && !streaming && REFERENCE_DEFINITION.test(text.slice(st.from));
  if (!st || !untouched || late || !text.startsWith(st.prefix)) {
    st = { prefix: '', from: 0, frozen: [], tail: [] };
    states.set(container, st);
    container.replaceChildren();
  }
  if (st.text === text) return;
  st.text = text;
  const { blocks, settled } = JSON.parse(core.markdownBlocksJson(text.slice(st.from)));
  const built = blocks.map((b) => build(b.node));
  // The new tail goes in where the old one was, in one task: no frame shows it half-built.
  const next = st.tail[0] ?? null;
  for (const node of built) container.insertBefore(node, next);
  for (const old of st.tail) old.remove();
  st.frozen.push(...built.slice(0, settled));
  st.tail = built.slice(settled);
  if (settled > 0) {
    st.from += blocks[settled].start;
    st.prefix = text.slice(0, st.from);
  }
}

/** The DOM nodes of a whole document, for callers that place them themselves. */
export function markdownFragment(text) {
  const fragment = document.createDocumentFragment();
  for (const node of core.renderMarkdown(text)) fragment.append(build(node));
  return fragment;
}

/** Builds one node of the core's tree, iteratively. */
function build(node) {
  if (typeof node === 'string') return document.createTextNode(node);
  const top = element(node, false);
  const stack = [[node, top.inner, top.math]];
  while (stack.length > 0) {
    const [n, parent, math] = stack.pop();
    if (!parent) continue;
    for (const child of n.children) {
      if (typeof child === 'string') {
        parent.appendChild(document.createTextNode(child));
        continue;
      }
      const made = element(child, math);
      parent.appendChild(made.outer);
      if (made.inner) stack.push([child, made.inner, made.math]);
    }
  }
  return top.outer;
}

const textOf = (n) => (typeof n === 'string' ? n : n.children.map(textOf).join(''));

/**
 * One element: `outer` goes into the parent, the children go into `inner` (null: they are
 * already handled). Tags and attributes outside this module's lists become plain spans.
 */
function element(n, inMath) {
  const math = inMath || n.tag === 'math';
  const known = math ? MATH_TAGS.has(n.tag) : HTML_TAGS.has(n.tag);
  const tag = known ? n.tag : math ? 'mrow' : 'span';
  const attrs = n.attrs;
  if (tag === 'span' && attrs?.class === 'understudy-image') return image(attrs, textOf(n));
  const e = math ? document.createElementNS(MATHML, tag) : document.createElement(tag);
  for (const k in attrs) {
    const v = attrs[k];
    if (!ATTRS.has(k) || typeof v !== 'string') continue;
    if (k === 'href' && (tag !== 'a' || !SAFE_URL.test(v))) continue;
    e.setAttribute(k, v);
  }
  if (tag === 'a') {
    e.target = '_blank';
    e.rel = 'noopener noreferrer';
  } else if (tag === 'input') {
    e.type = 'checkbox';
    e.disabled = true;
  } else if (tag === 'pre') {
    return { outer: codeBlock(e, n), inner: e, math };
  }
  return { outer: e, inner: e, math };
}

/** A code block with its language and a copy button (the block's own `pre` holds the code). */
function codeBlock(pre, n) {
  const code = n.children.find((c) => typeof c !== 'string' && c.tag === 'code');
  const lang = /(?:^|\s)language-(\S+)/.exec(code?.attrs?.class ?? '')?.[1] ?? '';
  const box = document.createElement('div');
  box.className = 'understudy-code';
  const bar = document.createElement('div');
  bar.className = 'understudy-code-bar';
  const label = document.createElement('span');
  label.className = 'understudy-code-lang';
  label.textContent = lang;
  const copy = document.createElement('button');
  copy.type = 'button';
  copy.className = 'understudy-code-copy';
  copy.dataset.testid = 'understudy-code-copy';
  copy.textContent = t('markdown_copy');
  copy.setAttribute('aria-label', lang ? t('markdown_copy_label_lang', lang) : t('markdown_copy_label'));
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(pre.textContent);
      copy.textContent = t('markdown_copied');
    } catch {
      copy.textContent = t('markdown_copy_failed');
    }
    setTimeout(() => { copy.textContent = t('markdown_copy'); }, 1500);
  });
  if (lang) pre.dataset.lang = lang;
  bar.append(label, copy);
  box.append(bar, pre);
  return box;
}

/** An image is never loaded by itself: a button shows its alt text and address, a click loads it. */
function image(attrs, alt) {
  const src = typeof attrs['data-src'] === 'string' && /^https?:/i.test(attrs['data-src']) ? attrs['data-src'] : null;
  if (!src) {
    const span = document.createElement('span');
    span.className = 'understudy-image';
    span.textContent = alt ? t('markdown_image_alt', alt) : t('markdown_image');
    return { outer: span, inner: null, math: false };
  }
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'understudy-image';
  button.dataset.testid = 'understudy-image-load';
  button.dataset.src = src;
  const what = document.createElement('span');
  what.textContent = alt ? t('markdown_load_image_alt', alt) : t('markdown_load_image');
  const where = document.createElement('small');
  where.textContent = src;
  button.append(what, ' ', where);
  button.title = typeof attrs.title === 'string' ? attrs.title : src;
  button.addEventListener('click', () => {
    const img = document.createElement('img');
    img.referrerPolicy = 'no-referrer';
    img.alt = alt;
    img.src = src;
    button.replaceWith(img);
  }, { once: true });
  return { outer: button, inner: null, math: false };
}
