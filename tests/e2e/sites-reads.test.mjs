// A chat site's own copy of a conversation, read as its page loads it, lands in the library: the
// real extension in Chromium on each site's fake, whose page opened at a conversation's URL loads
// it through the site's read endpoint (the reference's shape) and shows it. Per site:
// - a conversation made elsewhere (on another device: only the site's read has it) is kept whole,
//   each turn once, thinking left out, under the site;
// - a turn streamed here and then read again (the page reloaded) is kept once: the read's copy
//   replaces the streamed one, and the conversation reads as the site shows it;
// - a read in a shape the core does not know keeps nothing, but the turns the page shows are kept
//   (the DOM fallback), until the site's read replaces them;
// - a read of another conversation than the tab shows or streamed is not kept (a page can post
//   anything).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch } from './browser.mjs';
import { waitCached, cached, library } from './cache-helpers.mjs';
import { startFakeClaude } from './fake-claude/server.mjs';

const SITES = [
  {
    id: 'claude',
    host: 'claude.ai',
    start: startFakeClaude,
    conversation: () => crypto.randomUUID(),
    url: (id) => `https://claude.ai/chat/${id}`,
    composer: '.ProseMirror[role="textbox"]',
    sendButton: 'button[aria-label="Send message"]',
    shown: '.font-claude-response',
  },
];

let browser;
const fakes = {};

before(async () => {
  for (const s of SITES) fakes[s.id] = await s.start();
  browser = await launch({ hostRules: Object.fromEntries(SITES.map((s) => [s.host, fakes[s.id].port])) });
});

after(async () => {
  await browser?.close();
  for (const f of Object.values(fakes)) await f.close();
});

const TURNS = [
  { prompt: 'Which fruit makes the best jam?', answer: 'Quince, for its pectin and its perfume.', thinking: 'The user wants one fruit; quince is a classic.' },
  { prompt: 'And how long does it cook?', answer: 'About forty minutes, until it sets on a cold plate.' },
];
const texts = (turns) => turns.flatMap((t) => [t.prompt, t.answer]);

for (const s of SITES) {
  test(`${s.id}: a conversation made elsewhere is kept from the site's read, whole, each turn once, without thinking`, async () => {
    const fake = fakes[s.id];
    const id = s.conversation();
    fake.seed(id, TURNS);
    const page = await browser.context.newPage();
    await page.goto(s.url(id));
    await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
    await page.waitForSelector(s.shown, { timeout: 10000 });
    // The site's own messages (not copies of what the page shows).
    const all = await waitCached(browser.context, (cs) => cs.some((c) => c.id === `${s.id}:${id}` && c.texts.length === 4 && !c.raw.includes('understudy_derived')));
    const conv = all.find((c) => c.id === `${s.id}:${id}`);
    assert.deepEqual(conv.texts, texts(TURNS));
    assert.equal(conv.site, s.id);
    assert.ok(!conv.raw.includes(TURNS[0].thinking), 'thinking is not kept');
    await page.close();
  });

  test(`${s.id}: a turn streamed here, then read again as the page reloads, is kept once`, async () => {
    const fake = fakes[s.id];
    const id = s.conversation();
    fake.seed(id, TURNS.slice(0, 1));
    fake.setMode({ mode: 'healthy', answer: 'Yes: a pinch of lemon zest lifts it.' });
    const page = await browser.context.newPage();
    await page.goto(s.url(id));
    await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
    await page.waitForSelector(s.shown, { timeout: 10000 });
    await waitCached(browser.context, (cs) => cs.some((c) => c.id === `${s.id}:${id}` && c.texts.length === 2));
    await page.fill(s.composer, 'Anything to add?');
    await page.click(s.sendButton);
    const want = [...texts(TURNS.slice(0, 1)), 'Anything to add?', 'Yes: a pinch of lemon zest lifts it.'];
    const streamed = await waitCached(browser.context, (cs) => cs.some((c) => c.id === `${s.id}:${id}` && c.texts.length === 4 && !c.incomplete));
    assert.deepEqual(streamed.find((c) => c.id === `${s.id}:${id}`).texts, want, 'the streamed turn follows the read');
    await page.reload();
    await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
    // The read again: the streamed copies give way to the site's own messages.
    const all = await waitCached(browser.context, (cs) => {
      const c = cs.find((x) => x.id === `${s.id}:${id}`);
      return c && !c.raw.includes('understudy_derived');
    });
    const conv = all.find((c) => c.id === `${s.id}:${id}`);
    assert.deepEqual(conv.texts, want, 'each turn once');
    assert.equal(all.filter((c) => c.texts.includes('Anything to add?')).length, 1, 'one conversation');
    await page.close();
  });

  test(`${s.id}: a read in a shape the core does not know: the turns the page shows are kept, and the site's read replaces them later`, async () => {
    const fake = fakes[s.id];
    const id = s.conversation();
    fake.seed(id, TURNS);
    fake.setMode({ readShape: 'changed' });
    const page = await browser.context.newPage();
    try {
      await page.goto(s.url(id));
      await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
      await page.waitForSelector(s.shown, { timeout: 10000 });
      const shown = await waitCached(browser.context, (cs) => cs.some((c) => c.id === `${s.id}:${id}` && c.texts.length === 4));
      const fromPage = shown.find((c) => c.id === `${s.id}:${id}`);
      assert.deepEqual(fromPage.texts, texts(TURNS), 'the turns as the page shows them');
      assert.equal(fromPage.site, s.id);
      assert.match(fromPage.raw, /"understudy_derived":"dom"/);
      fake.setMode({ readShape: 'tree' });
      await page.reload();
      const all = await waitCached(browser.context, (cs) => {
        const c = cs.find((x) => x.id === `${s.id}:${id}`);
        return c && !c.raw.includes('understudy_derived');
      });
      assert.deepEqual(all.find((c) => c.id === `${s.id}:${id}`).texts, texts(TURNS), 'each turn once, now the site\'s own');
    } finally {
      fake.setMode({ readShape: 'tree' });
      await page.close();
    }
  });

  test(`${s.id}: a read of a conversation the tab neither shows nor streamed is not kept`, async () => {
    const fake = fakes[s.id];
    const shown = s.conversation();
    const other = s.conversation();
    fake.seed(shown, TURNS.slice(0, 1));
    fake.seed(other, TURNS.slice(1));
    const page = await browser.context.newPage();
    await page.goto(s.url(shown));
    await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
    await waitCached(browser.context, (cs) => cs.some((c) => c.id === `${s.id}:${shown}`));
    // The page reads (and posts as a capture would) another conversation.
    await page.evaluate(async (url) => {
      const body = await (await fetch(url)).text();
      window.postMessage({ source: 'understudy-capture', kind: 'conversation', json: body, path: new URL(url, location.href).pathname }, location.origin);
    }, readUrl(s, other));
    await page.waitForTimeout(1500);
    const lib = await library(browser.context);
    const all = await cached(lib);
    await lib.close();
    assert.ok(!all.some((c) => c.id === `${s.id}:${other}`), `not kept: ${JSON.stringify(all.map((c) => c.id))}`);
    await page.close();
  });
}

/** The URL of `site`'s read of conversation `id`, as its page asks it (relative to the page). */
function readUrl(site, id) {
  switch (site.id) {
    case 'claude': return `/api/organizations/org-5f0c1e2d/chat_conversations/${id}?tree=True&rendering_mode=messages`;
    default: throw new Error(`no read for ${site.id}`);
  }
}
