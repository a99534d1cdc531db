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
import { startFakeCopilot } from './fake-copilot/server.mjs';
import { startFakeDeepseek } from './fake-deepseek/server.mjs';
import { startFakeGemini } from './fake-gemini/server.mjs';
import { startFakeGrok } from './fake-grok/server.mjs';
import { startFakePerplexity } from './fake-perplexity/server.mjs';

const hex = (n) => [...crypto.getRandomValues(new Uint8Array(n))].map((b) => b.toString(16).padStart(2, '0')).join('');
/** The turns every conversation of the fake holds before its own (its `history` state). */
const byHistory = (fake, _id, turns) => fake.setMode({ mode: 'healthy', history: turns });

// Each site: its fake; how a conversation made elsewhere is put there (`seed`); a new conversation
// id in the site's form and its page; how a prompt is sent; where its page shows an answer; the
// site's read of a conversation as its page asks it (for the forged read), when it is a GET.
const SITES = [
  {
    id: 'claude', host: 'claude.ai', start: startFakeClaude,
    seed: (fake, id, turns) => fake.seed(id, turns),
    newId: () => crypto.randomUUID(), url: (id) => `https://claude.ai/chat/${id}`, home: 'https://claude.ai/new',
    composer: '.ProseMirror[role="textbox"]', sendWith: 'button[aria-label="Send message"]', shown: '.font-claude-response',
    readUrl: (id) => `/api/organizations/org-5f0c1e2d/chat_conversations/${id}?tree=True&rendering_mode=messages`,
    changedShape: true,
  },
  {
    id: 'gemini', host: 'gemini.google.com', start: startFakeGemini, seed: byHistory, key: (id) => `c_${id}`,
    newId: () => hex(8), url: (id) => `https://gemini.google.com/app/${id}`, home: 'https://gemini.google.com/app',
    composer: 'rich-textarea .ql-editor[contenteditable="true"]', sendWith: 'button[aria-label="Send message"]', shown: 'model-response message-content',
  },
  {
    id: 'deepseek', host: 'chat.deepseek.com', start: startFakeDeepseek, seed: byHistory,
    newId: () => crypto.randomUUID(), url: (id) => `https://chat.deepseek.com/a/chat/s/${id}`, home: 'https://chat.deepseek.com/',
    composer: 'textarea#chat-input', sendWith: 'Enter', shown: '.ds-message .ds-markdown',
    readUrl: (id) => `/api/v0/chat/history_messages?chat_session_id=${id}`,
  },
  {
    id: 'grok', host: 'grok.com', start: startFakeGrok, seed: byHistory,
    newId: () => crypto.randomUUID(), url: (id) => `https://grok.com/c/${id}`, home: 'https://grok.com/',
    composer: 'textarea[aria-label="Ask Grok anything"]', sendWith: 'Enter', shown: '[id^="response-"] .response-content-markdown',
    readUrl: (id) => `/rest/app-chat/conversations/${id}/response-node?includeThreads=true`,
  },
  {
    id: 'perplexity', host: 'www.perplexity.ai', start: startFakePerplexity, seed: byHistory,
    newId: () => `jam-${hex(6)}`, url: (id) => `https://www.perplexity.ai/search/${id}`, home: 'https://www.perplexity.ai/',
    composer: '#ask-input', sendWith: 'button[data-testid="submit-button"]', shown: 'div[id^="markdown-content-"]',
    readUrl: (id) => `/rest/thread/${id}`,
  },
  {
    id: 'copilot', host: 'copilot.microsoft.com', start: startFakeCopilot, seed: byHistory,
    newId: () => `Q${hex(8)}`, url: (id) => `https://copilot.microsoft.com/chats/${id}`, home: 'https://copilot.microsoft.com/',
    composer: 'textarea#userInput', sendWith: 'button[aria-label="Submit message"]', shown: '[data-content="ai-message"]',
    readUrl: (id) => `/c/api/conversations/${id}/history?api-version=2`,
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
const keyOf = (s, id) => `${s.id}:${s.key ? s.key(id) : id}`;
/** The cached conversation under `key` once `pred` holds for it. */
async function keptAs(key, pred) {
  const all = await waitCached(browser.context, (cs) => cs.some((c) => c.id === key && pred(c)), 20000);
  return { conv: all.find((c) => c.id === key), all };
}

async function open(s, url) {
  const page = await browser.context.newPage();
  await page.goto(url);
  await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
  return page;
}

async function sendPrompt(s, page, text) {
  await page.fill(s.composer, text);
  if (s.sendWith === 'Enter') await page.press(s.composer, 'Enter');
  else await page.click(s.sendWith);
}

for (const s of SITES) {
  test(`${s.id}: a conversation made elsewhere is kept from the site's read, whole, each turn once, without thinking`, async () => {
    const fake = fakes[s.id];
    const id = s.newId();
    s.seed(fake, id, TURNS);
    const page = await open(s, s.url(id));
    await page.waitForSelector(s.shown, { timeout: 10000 });
    // The site's own messages (not copies of what the page shows).
    const { conv } = await keptAs(keyOf(s, id), (c) => c.texts.length === 4 && !c.raw.includes('understudy_derived'));
    assert.deepEqual(conv.texts, texts(TURNS));
    assert.equal(conv.site, s.id);
    assert.ok(!conv.raw.includes(TURNS[0].thinking), 'thinking is not kept');
    await page.close();
  });

  test(`${s.id}: a turn streamed here, then read again as the page reloads, is kept once`, async () => {
    const fake = fakes[s.id];
    const reply = 'Yes: a pinch of lemon zest lifts it.';
    s.seed(fake, null, []);
    fake.setMode({ mode: 'healthy', answer: reply });
    const page = await open(s, s.home);
    await page.waitForTimeout(300);
    await sendPrompt(s, page, 'Anything to add?');
    // Kept from the stream: one conversation with the turn, complete.
    const streamed = await waitCached(browser.context, (cs) => cs.some((c) => c.site === s.id && c.texts.includes('Anything to add?') && c.texts.includes(reply) && !c.incomplete), 20000);
    const key = streamed.find((c) => c.site === s.id && c.texts.includes('Anything to add?')).id;
    await page.waitForFunction((home) => location.href !== home, s.home, { timeout: 10000 });
    // A fake whose conversations start with its `history`: the site holds an earlier turn too now
    // (as another device left it). The page reloads.
    const earlier = fake.seed ? [] : TURNS.slice(0, 1);
    if (earlier.length) s.seed(fake, null, earlier);
    await page.reload();
    await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
    const want = [...texts(earlier), 'Anything to add?', reply];
    const { conv, all } = await keptAs(key, (c) => c.texts.length === want.length && !c.raw.includes('understudy_derived'));
    assert.deepEqual(conv.texts, want, 'each turn once, as the site holds them');
    assert.equal(all.filter((c) => c.site === s.id && c.texts.includes('Anything to add?')).length, 1, 'one conversation');
    fake.setMode({ mode: 'healthy', history: [] });
    await page.close();
  });

  if (s.changedShape) {
    test(`${s.id}: a read in a shape the core does not know: the turns the page shows are kept, and the site's read replaces them later`, async () => {
      const fake = fakes[s.id];
      const id = s.newId();
      s.seed(fake, id, TURNS);
      fake.setMode({ readShape: 'changed' });
      const page = await open(s, s.url(id));
      try {
        await page.waitForSelector(s.shown, { timeout: 10000 });
        const { conv: fromPage } = await keptAs(keyOf(s, id), (c) => c.texts.length === 4);
        assert.deepEqual(fromPage.texts, texts(TURNS), 'the turns as the page shows them');
        assert.equal(fromPage.site, s.id);
        assert.match(fromPage.raw, /"understudy_derived":"dom"/);
        fake.setMode({ readShape: 'tree' });
        await page.reload();
        const { conv } = await keptAs(keyOf(s, id), (c) => !c.raw.includes('understudy_derived'));
        assert.deepEqual(conv.texts, texts(TURNS), 'each turn once, now the site\'s own');
      } finally {
        fake.setMode({ readShape: 'tree' });
        await page.close();
      }
    });
  }

  if (s.readUrl) {
    test(`${s.id}: a read of a conversation the tab neither shows nor streamed is not kept`, async () => {
      const fake = fakes[s.id];
      const shown = s.newId();
      const other = s.newId();
      s.seed(fake, shown, TURNS.slice(0, 1));
      if (fake.seed) s.seed(fake, other, TURNS.slice(1));
      const page = await open(s, s.url(shown));
      await keptAs(keyOf(s, shown), (c) => c.texts.length === 2);
      // The page reads another conversation (the capture hook posts it, as it posts any read).
      const status = await page.evaluate(async (url) => (await fetch(url)).status, s.readUrl(other));
      assert.equal(status, 200, 'the site answered the read');
      await page.waitForTimeout(1500);
      const lib = await library(browser.context);
      const all = await cached(lib);
      await lib.close();
      assert.ok(!all.some((c) => c.id === keyOf(s, other)), `not kept: ${JSON.stringify(all.map((c) => c.id))}`);
      await page.close();
    });
  }
}
