// Answers' Markdown as the pages show it: one renderer (the core's tree, built by www/markdown.js)
// in the library, the side panel and the rescue frame of the in-page notice. A Markdown-heavy
// answer gives real elements there (nested lists,
// a table, a task list, code with its language and a copy button, inline and display math, a
// link with parentheses); hostile Markdown stays inert and renders quickly; a streamed answer
// rebuilds only its tail.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage } from './browser.mjs';
import { library, waitCached } from './cache-helpers.mjs';
import { NOTICE, openChat, sendPrompt } from './detect-helpers.mjs';
import { sampleConversation, startFakeChatgpt } from './fake-chatgpt/server.mjs';
import { configure, provider } from './fake-providers/harness.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { answerState, clickRescue, waitAnswer } from './rescue-frame-helpers.mjs';

const RICH_ID = 'a11ce000-1111-4222-8333-444455556666';
const HOSTILE_ID = 'a11ce000-2222-4222-8333-444455556666';

const RICH = [
  '# Plan',
  '',
  '- fruit',
  '  - apples',
  '  - pears',
  '- vegetables',
  '',
  '- [x] buy milk',
  '- [ ] call Bob',
  '',
  '| name | qty |',
  '|:-----|----:|',
  '| tea  | 2   |',
  '',
  '```python',
  'print("hi")',
  '```',
  '',
  'Inline $x^2 + y^2$ and prices of $5 and $10.',
  '',
  '$$\\frac{a}{b} = \\sum_{i=1}^{n} i$$',
  '',
  'See [the article](https://en.wikipedia.org/wiki/Pi_(disambiguation)).',
].join('\n');

const HOSTILE = [
  '[click](javascript:window.__pwned=1) [data](data:text/html,<script>window.__pwned=2</script>)',
  '',
  '<script>window.__pwned=3</script>',
  '',
  '<img src=x onerror="window.__pwned=4">',
  '',
  '![tracker](https://tracker.invalid/pixel.png)',
  '',
  '`'.repeat(200_000),
].join('\n');

let site;
let fake;
let browser;

before(async () => {
  site = await startFakeChatgpt();
  fake = await startFakeProviders();
  browser = await launch({ chatgptPort: site.port });
  site.setMode({
    conversations: {
      [RICH_ID]: sampleConversation(RICH_ID, { title: 'Markdown-heavy', question: 'Show me everything', answer: RICH }),
      [HOSTILE_ID]: sampleConversation(HOSTILE_ID, { title: 'Hostile Markdown', question: 'Be mean', answer: HOSTILE }),
    },
  });
  // The page loads each conversation; the extension caches it.
  for (const id of [RICH_ID, HOSTILE_ID]) {
    const page = await browser.context.newPage();
    await page.goto(`https://chatgpt.com/c/${id}`);
    await waitCached(browser.context, (cs) => cs.some((c) => c.id === id));
    await page.close();
  }
});

after(async () => {
  await browser?.close();
  await fake?.close();
  await site?.close();
});

/** What the rich answer must show, read in `root` (a selector for the rendered answer). */
function richElements(root) {
  const q = (s) => document.querySelector(`${root} ${s}`);
  const link = q('a[href*="Pi_("]');
  return {
    nested: Boolean(q('ul > li > ul > li')),
    nestedText: q('ul > li > ul > li')?.textContent ?? null,
    table: Boolean(q('table thead th')) && q('table tbody td')?.textContent === 'tea',
    align: q('table th')?.getAttribute('align') ?? null,
    checkboxes: [...document.querySelectorAll(`${root} input[type="checkbox"][disabled]`)].map((c) => c.checked),
    code: q('pre code.language-python')?.textContent ?? null,
    copy: Boolean(q('[data-testid="understudy-code-copy"]')),
    mathInline: q('p math:not([display]) msup')?.namespaceURI ?? null,
    mathDisplay: Boolean(q('math[display="block"] mfrac')) && Boolean(q('math[display="block"] munderover')),
    dollars: [...document.querySelectorAll(`${root} p`)].some((p) => p.textContent.includes('prices of $5 and $10.')),
    href: link?.getAttribute('href') ?? null,
    target: link?.target ?? null,
    rel: link?.rel ?? null,
  };
}

function checkRich(seen) {
  assert.deepEqual(seen, {
    nested: true,
    nestedText: 'apples',
    table: true,
    align: 'left',
    checkboxes: [true, false],
    code: 'print("hi")\n',
    copy: true,
    mathInline: 'http://www.w3.org/1998/Math/MathML',
    mathDisplay: true,
    dollars: true,
    href: 'https://en.wikipedia.org/wiki/Pi_(disambiguation)',
    target: '_blank',
    rel: 'noopener noreferrer',
  });
}

/** What hostile Markdown left in `root`: nothing active. */
function hostileElements(root) {
  const r = document.querySelector(root);
  return {
    pwned: window.__pwned ?? null,
    scripts: r.querySelectorAll('script').length,
    imgs: r.querySelectorAll('img').length,
    hrefs: [...r.querySelectorAll('a')].map((a) => a.getAttribute('href')),
    handlers: [...r.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => a.name.startsWith('on'))).length,
    scriptText: r.textContent.includes('<script>window.__pwned=3</script>'),
    imageButton: r.querySelector('[data-testid="understudy-image-load"]')?.dataset.src ?? null,
  };
}

function checkHostile(seen) {
  assert.deepEqual(seen, {
    pwned: null,
    scripts: 0,
    imgs: 0,
    hrefs: [],
    handlers: 0,
    scriptText: true,
    imageButton: 'https://tracker.invalid/pixel.png',
  });
}

test('the library renders a Markdown-heavy answer as real elements', async () => {
  const lib = await library(browser.context);
  await lib.click(`#list .row[data-id="${RICH_ID}"]`);
  await lib.waitForSelector('#view article.msg.assistant .body math');
  checkRich(await lib.evaluate(richElements, '#view article.msg.assistant .body'));
  assert.deepEqual(lib.errors, []);
  await lib.close();
});

test('the side panel renders the same answer the same way', async () => {
  const panel = await openExtensionPage(browser.context, `www/sidepanel.html?c=${RICH_ID}`);
  await panel.waitForSelector('body[data-ready="true"]');
  checkRich(await panel.evaluate(richElements, '#history li:last-child .body'));
  await panel.close();
});

test('the rescue frame in the notice renders the same answer, streamed from a provider, the same way', async () => {
  const control = await openExtensionPage(browser.context, 'www/options.html');
  fake.plan('markdown', [{ fault: 'ok', answer: RICH, tokenDelayMs: 2 }]);
  await configure(control, [provider(fake, 'markdown', 'openai')]);
  await control.close();
  site.setMode({ mode: 'status', status: 503 });
  const page = await openChat(browser.context, 'https://chatgpt.com/');
  await sendPrompt(page, 'Show me everything');
  await page.waitForSelector(NOTICE, { timeout: 10000 });
  const frame = await clickRescue(page, '[data-testid="understudy-continue"]');
  const state = await waitAnswer(page).catch(async (e) => {
    throw new Error(`${e.message}; the answer: ${JSON.stringify(await answerState(page))}`);
  });
  assert.equal(state.state, 'done', state.status);
  checkRich(await frame.evaluate(richElements, '[data-testid="understudy-answer-body"]'));
  site.setMode({ mode: 'healthy' });
  await page.close();
});

test('hostile Markdown is inert in the library and the side panel, and renders in under 1 s', async () => {
  const lib = await library(browser.context);
  const t0 = Date.now();
  await lib.click(`#list .row[data-id="${HOSTILE_ID}"]`);
  await lib.waitForSelector('#view article.msg.assistant .body');
  const libraryMs = Date.now() - t0;
  checkHostile(await lib.evaluate(hostileElements, '#view article.msg.assistant .body'));
  // The placeholder loads the image only on a click, without a referrer.
  const policy = await lib.evaluate(() => {
    document.querySelector('[data-testid="understudy-image-load"]').click();
    return document.querySelector('#view img')?.referrerPolicy ?? null;
  });
  assert.equal(policy, 'no-referrer');
  // The same renderer, timed in the page on the whole hostile answer.
  const renderMs = await lib.evaluate(async (text) => {
    const { renderMarkdownInto } = await import('./markdown.js');
    const box = document.createElement('div');
    const t = performance.now();
    renderMarkdownInto(box, text);
    return performance.now() - t;
  }, HOSTILE);
  assert.ok(renderMs < 1000 && libraryMs < 5000, `render ${renderMs} ms, open ${libraryMs} ms`);
  await lib.close();

  const panel = await openExtensionPage(browser.context, `www/sidepanel.html?c=${HOSTILE_ID}`);
  await panel.waitForSelector('body[data-ready="true"]');
  checkHostile(await panel.evaluate(hostileElements, '#history li:last-child .body'));
  await panel.close();
});

test('a streamed answer keeps its settled blocks and rebuilds only the tail', async () => {
  const page = await openExtensionPage(browser.context, 'www/sidepanel.html');
  await page.waitForSelector('body[data-ready="true"]');
  const result = await page.evaluate(async (text) => {
    const { renderMarkdownInto } = await import('./markdown.js');
    const box = document.createElement('div');
    document.body.append(box);
    let firstBlock = null;
    let kept = true;
    for (let i = 1; i <= text.length; i += 7) {
      renderMarkdownInto(box, text.slice(0, i), { streaming: true });
      if (!firstBlock && box.children.length > 2) firstBlock = box.firstChild;
      if (firstBlock && box.firstChild !== firstBlock) kept = false;
    }
    renderMarkdownInto(box, text, { streaming: false });
    const whole = document.createElement('div');
    renderMarkdownInto(whole, text);
    return { kept, same: box.innerHTML === whole.innerHTML, blocks: box.children.length };
  }, RICH);
  assert.equal(result.kept, true, 'the first block was never rebuilt');
  assert.equal(result.same, true, 'the streamed render ends as the whole render');
  assert.ok(result.blocks >= 7, `${result.blocks} blocks`);
  await page.close();
});
