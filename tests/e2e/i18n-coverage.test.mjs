// Every string a user sees comes from the catalogue: no English left over in another language.
//
// The same scenario runs twice, in a browser started in English and in one started in German:
// three providers configured; a chat on the fake chatgpt.com that fails (503), with the notice and
// its rescue frame on screen (as it comes, with "Other providers" open, with "Ask elsewhere" open,
// then after carrying on with a provider); the popup (the failing tab, the timeline, the status
// page's incident); the options page (the provider cards and the Add menu's choices, then a provider
// tested, its model list asked for and a preset added); the side panel after an answer; the library
// after an import (with a malformed entry, so the banner shows) with a conversation open, then a
// search; the onboarding and the privacy page; the toolbar button's title and the failing tab's
// badge. On each surface the collector takes what a user can
// see or hear: the text nodes of visible elements (shadow roots included, closed <details> opened
// first), the `aria-label`, `title`, `placeholder` and `alt` of visible elements, a <select>'s
// options and group labels, and the page's <title>; the rescue frame is entered as the browser
// does. Each extension page must also set <html lang> to the browser's language and have a <title>.
//
// The comparison is by sets, not by element position: a German string fails when the English run
// shows the very same string anywhere (on any surface). Positions differ between languages (a
// sentence's parts may be ordered otherwise, a list may grow), and a set catches a leftover even
// when it moved; each offending string is printed with its surface and the CSS path of an element
// that shows it in German. (A leftover English word inside an otherwise translated sentence is not
// caught: the sentence as a whole differs.)
//
// What may stay the same in both languages is data or a name, and nothing else. A string is allowed
// when, after removing (1) the test's data (prompts, what the fake site and the fake providers
// answered, the imported export, the status page's feed, provider labels, models, keys and URLs;
// a piece of one, such as a search result's title split around its highlight, counts as data),
// (2) product and provider names, (3) URLs, host names, code and model ids (any token with a digit,
// a `/` or a `_`, and the Ollama commands), (4) keyboard keys and (5) file format names, no word of
// three letters or more is left. Also allowed: the text of <code>/<kbd>/<pre> elements (permission
// names, hosts, commands), and a whole message that the German catalogue itself writes as English
// does (the translator chose "Name" or "Gateways"; it came through the catalogue).
// I18N_COVERAGE_DUMP=file writes both runs and every string allowed (with why) for review.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { EXTENSION_DIR, launch, openExtensionPage, serviceWorker } from './browser.mjs';
import { library } from './cache-helpers.mjs';
import { NOTICE, openChat, sendPrompt } from './detect-helpers.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { ask, configure, openPanel, provider } from './fake-providers/harness.mjs';
import { feed, startFakeStatus } from './fake-status/server.mjs';
import { clickRescue, rescueFrame, waitAnswer } from './rescue-frame-helpers.mjs';

// Names: the product, providers, their products and gateways, and the sites "Ask elsewhere" opens.
const NAMES = [
  'Understudy', 'ChatGPT', 'OpenAI', 'Claude', 'Anthropic', 'Gemini', 'Google', 'Ollama', 'LiteLLM', 'OpenRouter',
  'Mistral', 'Le Chat', 'Groq', 'Together AI', 'Together', 'DeepSeek', 'Perplexity', 'Copilot', 'Microsoft', 'Azure',
  'Fireworks', 'xAI', 'Grok', 'Cohere', 'Llama', 'vLLM', 'LM Studio', 'Chromium', 'Chrome', 'Firefox', 'GitHub', 'Meta',
];
// Keys as a keyboard writes them, and file formats.
const KEYS = ['Enter', 'Shift', 'Ctrl', 'Alt', 'Cmd', 'Esc', 'Escape', 'Tab', 'Space'];
const FORMATS = ['JSON', 'Markdown', 'HTML', 'ZIP', 'CSV', 'API'];
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const WORDS = new RegExp(`(?<![\\p{L}\\d])(${[...NAMES, ...KEYS, ...FORMATS].sort((a, b) => b.length - a.length).map(esc).join('|')})(?![\\p{L}\\d])`, 'gu');
const URL_RE = /\b[a-z][a-z0-9+.-]*:\/\/\S+|\b[\w-]+(\.[\w-]+)+\/\S*|\b([\w-]+\.)+(com|org|ai|io|net|app|dev)\b|\blocalhost\b/gi;
const CODE_RE = /\bollama (pull|serve|run|list)\b|\S*[\d/_]\S*/g;

/** What is left of a string once data, names, URLs, code, keys and formats are taken out. */
function residue(s, data) {
  let r = s;
  for (const d of data) if (d.length >= 8 && r.includes(d)) r = r.split(d).join(' ');
  if (data.has(r.trim())) return '';
  // A piece of the data (a search result's title split around its highlighted word).
  for (const d of data) if (d.length >= 8 && d.includes(r.trim())) return '';
  return r.replace(URL_RE, ' ').replace(WORDS, ' ').replace(CODE_RE, ' ');
}
const allowed = (s, data) => !/\p{L}{3,}/u.test(residue(s, data));

/** Runs in the page (or frame): the visible strings under `rootSel` (a shadow host) or the document. */
function collectVisible(rootSel) {
  const host = rootSel ? document.querySelector(rootSel) : null;
  const start = rootSel ? host?.shadowRoot ?? host : document;
  if (!start) return { missing: true, entries: [] };
  const entries = [];
  const step = (n) => {
    let p = n.localName;
    const tid = n.getAttribute('data-testid');
    if (n.id) p += `#${n.id}`;
    else if (tid) p += `[data-testid="${tid}"]`;
    else {
      if (n.classList.length) p += `.${[...n.classList].join('.')}`;
      const same = n.parentNode ? [...n.parentNode.children].filter((c) => c.localName === n.localName) : [];
      if (same.length > 1) p += `:nth-of-type(${same.indexOf(n) + 1})`;
    }
    return p;
  };
  const pathOf = (el) => {
    let out = '';
    for (let n = el; n;) {
      out = step(n) + out;
      const parent = n.parentNode;
      if (parent instanceof ShadowRoot) {
        out = ` >>> ${out}`;
        n = parent.host;
      } else if (parent instanceof Element) {
        out = ` > ${out}`;
        n = parent;
      } else n = null;
    }
    return out;
  };
  const SKIP = new Set(['script', 'style', 'noscript', 'template']);
  const visible = (el) => {
    if (el.localName === 'option' || el.localName === 'optgroup') {
      const select = el.closest('select');
      return Boolean(select?.checkVisibility({ visibilityProperty: true }));
    }
    return el.checkVisibility({ visibilityProperty: true });
  };
  const add = (el, text, what) => {
    const s = (text ?? '').replace(/\s+/g, ' ').trim();
    if (s && /\p{L}{3,}/u.test(s)) entries.push({ text: s, code: !what && Boolean(el.closest('code,kbd,samp,pre')), where: `${pathOf(el)}${what ? ` @${what}` : ''}` });
  };
  const walk = (root) => {
    for (const d of root.querySelectorAll('details:not([open])')) d.open = true;
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      if (SKIP.has(el.localName) || el.closest('script,style,noscript,template') || !visible(el)) continue;
      for (const n of el.childNodes) if (n.nodeType === Node.TEXT_NODE) add(el, n.nodeValue, '');
      for (const a of ['aria-label', 'title', 'placeholder', 'alt']) if (el.hasAttribute(a)) add(el, el.getAttribute(a), a);
      if (el.localName === 'optgroup') add(el, el.label, 'label');
      if (el.localName === 'input' && ['button', 'submit', 'reset'].includes(el.type)) add(el, el.value, 'value');
    }
  };
  walk(start);
  if (!rootSel) add(document.documentElement, document.title, 'document.title');
  return { lang: rootSel ? null : document.documentElement.lang, title: rootSel ? null : document.title, entries };
}

// The other language: German by default; I18N_COVERAGE_LANG=fr (ja, es, zh-CN, pt-BR) checks another.
const LANG = process.env.I18N_COVERAGE_LANG ?? 'de';
const DAY = 86_400_000;
const PROMPT_1 = 'Plan a weekend in Lisbon';
const PROMPT_2 = 'Now add a day trip to Sintra';
const PANEL_PROMPT = 'Which tram goes up to the castle?';
const INCIDENT = {
  name: 'Elevated error rates for ChatGPT conversations',
  status: 'identified',
  impact: 'partial_outage',
  components: ['Conversations'],
  update: 'We have identified the cause.',
};

let site;
let fake;
let statusPage;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'understudy-i18n-coverage-'));
const runs = {};

before(async () => {
  site = await startFakeChatgpt();
  fake = await startFakeProviders();
  statusPage = await startFakeStatus();
  const began = new Date(Date.now() - 3 * DAY - 3_600_000).toISOString();
  statusPage.setFeed(feed({
    affected: [[INCIDENT.components[0], INCIDENT.impact]],
    incidents: [{ ...INCIDENT, published_at: began, updates: [{ message: INCIDENT.update, published_at: began }] }],
  }));
});

after(async () => {
  await fake?.close();
  await site?.close();
  await statusPage?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Every string value inside a JSON value (the data an import brings). */
function jsonStrings(v, out) {
  if (typeof v === 'string') out.add(v);
  else if (Array.isArray(v)) for (const x of v) jsonStrings(x, out);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) {
    out.add(k);
    jsonStrings(x, out);
  }
  return out;
}

/** The whole scenario in one language: {surfaces: {name: {lang, title, entries}}, data: Set}. */
async function scenario(lang) {
  const browser = await launch({ lang, chatgptPort: site.port, hostRules: { 'status.openai.com': statusPage.port } });
  const surfaces = {};
  const data = new Set([PROMPT_1, PROMPT_2, PANEL_PROMPT, INCIDENT.name, INCIDENT.update, ...INCIDENT.components]);
  const page = async (name, tab, rootSel = null) => {
    const got = await tab.evaluate(collectVisible, rootSel);
    assert.ok(!got.missing, `${lang}: ${name} not found`);
    surfaces[name] = got;
  };
  try {
    const providers = [provider(fake, 'erster', 'openai'), provider(fake, 'zweiter', 'anthropic'), provider(fake, 'dritter', 'ollama')];
    for (const p of providers) {
      for (const v of [p.id, p.label, p.config.model, p.config.base_url, p.config.api_key]) data.add(v);
    }
    const control = await openExtensionPage(browser.context, 'www/options.html');
    await control.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
    await configure(control, providers);
    await control.close();

    // The chat fails: the notice and the rescue frame, then each of its menus open.
    site.setMode({ mode: 'healthy' });
    const chat = await openChat(browser.context, 'https://chatgpt.com/');
    await sendPrompt(chat, PROMPT_1);
    await chat.waitForFunction(() => document.querySelector('[data-testid="conversation-turn-2"] .markdown')?.textContent.endsWith('streams it.'));
    await chat.waitForTimeout(200);
    site.setMode({ mode: 'status', status: 503, body: '{"detail":"Service Unavailable"}' });
    await sendPrompt(chat, PROMPT_2);
    await chat.waitForSelector(NOTICE, { timeout: 10000 });
    for (const s of await chat.$$eval('[data-testid^="conversation-turn"]', (els) => els.map((e) => e.textContent.trim()))) data.add(s);
    data.add(await chat.title());
    const frame = await rescueFrame(chat);
    await frame.waitForSelector('[data-testid="understudy-continue"]');
    await page('notice', chat, NOTICE);
    await page('rescue frame', frame);
    // Each menu opened from the keyboard, as a person can (a click on a frame that still moves can miss).
    await frame.focus('[data-testid="understudy-providers"]');
    await chat.keyboard.press('ArrowDown');
    await frame.waitForSelector('[data-testid="understudy-provider-item"]', { state: 'visible' });
    await page('rescue frame, Other providers open', frame);
    await chat.keyboard.press('Escape');
    await frame.focus('[data-testid="understudy-handoff"]');
    await chat.keyboard.press('ArrowDown');
    await frame.waitForSelector('[data-testid="understudy-handoff-item"]', { state: 'visible' });
    await page('rescue frame, Ask elsewhere open', frame);
    await chat.keyboard.press('Escape');
    // Then carried on with the first provider: the answer, its buttons and the frame's status.
    await frame.waitForFunction(() => [...document.querySelectorAll('[role="menu"]')].every((m) => m.hidden));
    let rescued = null;
    for (let attempt = 0; !rescued; attempt++) {
      await clickRescue(chat, '[data-testid="understudy-continue"]');
      // A click on a frame still resizing after its menu closed can miss (or be refused as not a
      // person's): once more then.
      rescued = await waitAnswer(chat, ['done', 'error'], { timeout: 10000 }).catch((e) => {
        if (attempt > 0) throw e;
        return null;
      });
    }
    assert.equal(rescued.state, 'done', `${lang}: the rescue's answer`);
    data.add(rescued.text.trim());
    for (const s of await frame.$$eval('[data-testid="understudy-answer-body"] *', (els) => els.map((e) => e.textContent.trim()))) data.add(s);
    await page('rescue frame, answered', frame);

    // The toolbar button: its title and the failing tab's badge, as the worker set them.
    const worker = await serviceWorker(browser.context);
    const toolbar = await worker.evaluate(async () => {
      const [tab] = await chrome.tabs.query({ url: 'https://chatgpt.com/*' });
      return [
        { text: await chrome.action.getTitle({ tabId: tab.id }), where: 'action @title' },
        { text: await chrome.action.getBadgeText({ tabId: tab.id }), where: 'action @badge' },
      ];
    });
    surfaces.toolbar = { lang: null, title: null, entries: toolbar.filter((e) => /\p{L}{3,}/u.test(e.text)) };
    surfaces.toolbar.all = toolbar;

    // The popup: the failing tab and the status page's incident.
    const popup = await openExtensionPage(browser.context, 'www/popup.html');
    await popup.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
    await popup.waitForSelector('#status-page .incident .began time', { timeout: 15000 });
    await popup.waitForSelector('#tabs li[data-kind="service_down"]', { timeout: 15000 });
    await page('popup', popup);

    // The options page: the provider cards and the Add menu's choices.
    const options = await openExtensionPage(browser.context, 'www/options.html');
    await options.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
    await options.waitForSelector('[data-testid="provider"][data-id="zweiter"]');
    await page('options', options);
    // Then a provider tested, its model list asked for, and a preset added from the Add menu.
    const card = '[data-testid="provider"][data-id="erster"]';
    await options.click(`${card} [data-testid="test"]`);
    await options.waitForSelector(`${card} .test-result[data-class]`, { timeout: 15000 });
    await options.focus(`${card} [data-testid="model"]`);
    await options.waitForSelector(`${card} [data-testid="model-hint"][data-state]`, { timeout: 15000 });
    await options.selectOption('[data-testid="add-kind"]', { index: 0 });
    await options.click('[data-testid="add-provider"]');
    await options.waitForFunction(() => document.querySelectorAll('[data-testid="provider"]').length === 4);
    await page('options, tested and added', options);

    // The side panel after an answer.
    const panel = await openPanel(browser.context);
    const answered = await ask(panel, PANEL_PROMPT);
    assert.equal(answered.state, 'done', `${lang}: the panel's answer`);
    data.add(answered.text.trim());
    for (const s of await panel.$$eval('[data-testid="understudy-answer"] *', (els) => els.map((e) => e.textContent.trim()))) data.add(s);
    await page('side panel', panel);

    // The library: an import with one malformed entry, then a conversation open.
    const lib = await library(browser.context);
    const generated = await lib.evaluate(() => window.understudyLibrary.core.cacheGenerateExport(3, 4, 7));
    jsonStrings(JSON.parse(generated), data);
    const file = path.join(tmp, `conversations-${lang}.json`);
    fs.writeFileSync(file, `${generated.slice(0, -1)}, {"title": 5, "mapping": 7}]`);
    await lib.setInputFiles('#import-file', file);
    await lib.waitForFunction(() => document.getElementById('import-status').textContent !== '' && !document.getElementById('banner').hidden, null, { timeout: 30000 });
    await lib.click('.row >> nth=0');
    await lib.waitForSelector('[data-testid="understudy-library-title"]');
    await page('library', lib);
    await lib.evaluate(() => window.understudyLibrary.index());
    await lib.fill('#search', 'Lisbon');
    await lib.waitForSelector('#results:not([hidden]) li', { timeout: 15000 });
    await page('library, search', lib);

    for (const [name, file] of [['onboarding', 'www/onboarding.html'], ['privacy', 'www/privacy.html']]) {
      const tab = await openExtensionPage(browser.context, file);
      await tab.waitForLoadState('load');
      await tab.waitForTimeout(300);
      await page(name, tab);
    }
  } finally {
    await browser.close();
  }
  return { surfaces, data };
}

test('English run', { timeout: 180_000 }, async () => {
  runs.en = await scenario('en');
});

test(`${LANG} run`, { timeout: 180_000 }, async () => {
  runs.de = await scenario(LANG);
});

test(`no English left in ${LANG}: every string is translated, or data, or a name`, () => {
  assert.ok(runs.en && runs.de, 'both runs finished');
  const english = new Set(Object.values(runs.en.surfaces).flatMap((s) => s.entries.map((e) => e.text)));
  const data = new Set([...runs.en.data, ...runs.de.data]);
  // What the language's catalogue itself says the same way as English ("Name", "Gateways"): the
  // translator chose it, and it came through the catalogue. Whole messages only, without `$n`.
  const messages = JSON.parse(fs.readFileSync(path.join(EXTENSION_DIR, '_locales', LANG.replace('-', '_'), 'messages.json'), 'utf8'));
  const chosen = new Set(Object.values(messages).map((m) => m.message).filter((m) => !m.includes('$')));
  const problems = [];
  const passed = []; // the same in both languages, and allowed: written out with I18N_COVERAGE_DUMP=file
  for (const [name, seen] of Object.entries(runs.de.surfaces)) {
    const least = name === 'toolbar' ? 1 : 3;
    assert.ok(seen.entries.length >= least, `${name}: only ${seen.entries.length} strings collected in ${LANG}`);
    assert.ok(runs.en.surfaces[name]?.entries.length >= least, `${name}: too few strings collected in English`);
    if (seen.lang !== null) {
      if (seen.lang !== LANG) problems.push(`${name}: <html lang="${seen.lang}">, expected "${LANG}"`);
      if (!seen.title) problems.push(`${name}: no <title>`);
    }
    const reported = new Set();
    for (const { text, code, where } of seen.entries) {
      if (!english.has(text) || reported.has(text)) continue;
      if (code || chosen.has(text) || allowed(text, data)) {
        passed.push({ surface: name, text, why: code ? 'code' : chosen.has(text) ? 'catalogue' : 'data or name', where });
        continue;
      }
      reported.add(text);
      problems.push(`${name}: ${JSON.stringify(text)}  at ${where}`);
    }
  }
  if (process.env.I18N_COVERAGE_DUMP) fs.writeFileSync(process.env.I18N_COVERAGE_DUMP, JSON.stringify({ passed, runs: { en: runs.en.surfaces, de: runs.de.surfaces } }, null, 1));
  assert.deepEqual(problems, [], `English left in the ${LANG} UI (${problems.length}):\n  ${problems.join('\n  ')}`);
});

test('the allow-list keeps words out, not sentences', () => {
  const data = new Set(['erster (openai)', 'Plan a weekend in Lisbon']);
  assert.ok(allowed('Understudy', data));
  assert.ok(allowed('erster (openai)', data));
  assert.ok(allowed('ollama pull llama3.2', data));
  assert.ok(allowed('http://127.0.0.1:11434/v1', data));
  assert.ok(allowed('Plan a weekend in Lisbon', data));
  assert.ok(allowed('JSON · Markdown', data));
  assert.ok(allowed('12:30', data));
  assert.ok(!allowed('Continue with erster (openai)', data));
  assert.ok(!allowed('Export as JSON', data));
  assert.ok(!allowed('Ask Claude', data));
  assert.ok(!allowed('Install ollama and start it', data));
  assert.ok(allowed('OLLAMA_ORIGINS=chrome-extension://abc ollama serve', data));
});
