// The rescue end to end: the real extension in Chromium on the fake chatgpt.com, a local
// OpenAI-compatible server as the alternative provider. Each failure kind shows its notice with the
// continue action; one click carries the conversation to the provider (asserted on the request it
// received); auto mode; web handoff; stop; keys and answers never reach the page. The controls and
// the answer live in the rescue frame (www/rescue-frame.html), which the test enters as a user's
// browser does (rescue-frame-helpers.mjs).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage, serviceWorker } from './browser.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { configure, provider } from './fake-providers/harness.mjs';
import { NOTICE, noticeKind, openChat, sendPrompt, waitObserved } from './detect-helpers.mjs';
import { answerState, armed, clickRescue, rescueFrame, waitAnswer } from './rescue-frame-helpers.mjs';

const CONTINUE = '[data-testid="understudy-continue"]';
const ANSWER = '[data-testid="understudy-answer"]';
const FIRST_ANSWER = 'Here is a short answer, streamed the way ChatGPT streams it.';
let site;
let fake;
let browser;
let control;
let serial = 0;
const fresh = (base) => `${base}-${++serial}`;

before(async () => {
  // Every new chat gets this id (the fake gives each a fresh one by default).
  site = await startFakeChatgpt({ defaults: { conversationId: '6a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b' } });
  fake = await startFakeProviders();
  // Web handoff targets land on the fake server too (any page; the test reads the URL).
  browser = await launch({ chatgptPort: site.port, hostRules: { 'claude.ai': site.port, 'gemini.google.com': site.port } });
  control = await openExtensionPage(browser.context, 'www/options.html');
});

after(async () => {
  await browser?.close();
  await fake?.close();
  await site?.close();
});

/** Two providers on the local server (the first one answers), auto mode as given. */
async function setup({ auto = null, faults = [{ fault: 'ok', tokenDelayMs: 5 }], answer } = {}) {
  const name = fresh('local');
  const second = fresh('spare');
  fake.plan(name, faults.map((f) => ({ answer, ...f })));
  await configure(control, [provider(fake, name, 'openai'), provider(fake, second, 'openai')]);
  // Auto mode is part of the settings document (off unless enabled).
  await control.evaluate(async (a) => {
    const { settings } = await chrome.storage.local.get('settings');
    await chrome.storage.local.set({ settings: { ...settings, auto_mode: a ? { enabled: true, ...a } : { enabled: false } } });
  }, auto);
  return { name, second };
}

/** A chat with one good exchange, then a prompt that fails the way `failure` says. */
async function failedChat(failure = { mode: 'status', status: 503 }, prompt = 'Now add a day trip to Sintra', init = null, url = 'https://chatgpt.com/') {
  site.setMode({ mode: 'healthy' });
  let page;
  if (init) {
    page = await browser.context.newPage();
    await page.addInitScript(init);
    await page.goto(url);
    await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
    await waitObserved(browser.context, page);
  } else {
    page = await openChat(browser.context, url);
  }
  await sendPrompt(page, 'Plan a weekend in Lisbon');
  await page.waitForFunction((a) => document.querySelector('[data-testid="conversation-turn-2"] .markdown')?.textContent === a, FIRST_ANSWER);
  await page.waitForTimeout(200);
  site.setMode(failure);
  await sendPrompt(page, prompt);
  await page.waitForSelector(NOTICE, { timeout: 10000 });
  return page;
}

const DOM_CASES = [
  ['generation_error', 'There was an error generating a response'],
  ['network_error', 'A network error occurred. Please check your connection and try again.'],
  ['rate_limited', "You've reached the current usage cap for GPT-5. You can continue with the default model now, or try again after 14:20."],
  ['capacity', 'ChatGPT is at capacity right now'],
  ['service_down', 'Hmm...something seems to have gone wrong. Maybe try me again in a little bit.'],
  ['blocked', 'Our systems have detected unusual activity from your system. Please try again later.'],
  ['conversation_unavailable', 'Unable to load conversation 6a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b'],
  ['unknown_error', 'Beim Generieren der Antwort ist ein Fehler aufgetreten.'],
];

test('each failure kind shows its notice with "Continue with <first provider>", the other providers, the cache and the handoff', async () => {
  const { name, second } = await setup();
  site.setMode({ mode: 'healthy' });
  const page = await openChat(browser.context, 'https://chatgpt.com/');
  await sendPrompt(page, 'Plan a weekend in Lisbon');
  await page.waitForFunction(() => document.querySelector('[data-testid="conversation-turn-2"] .markdown')?.textContent.endsWith('streams it.'));
  await page.waitForTimeout(300);
  const seen = [];
  for (const [kind, text] of DOM_CASES) {
    await page.evaluate((t) => {
      const box = document.createElement('div');
      box.className = 'text-token-text-error';
      box.id = 'injected-error';
      box.textContent = t;
      [...document.querySelectorAll('[data-testid^="conversation-turn-"]')].at(-1).append(box);
    }, text);
    await page.waitForFunction((k) => document.querySelector('[data-testid="understudy-notice"]')?.dataset.kind === k, kind, { timeout: 5000 });
    const frame = await rescueFrame(page);
    const dismiss = await page.evaluate(() => !!document.querySelector('[data-testid="understudy-notice"]').shadowRoot.querySelector('[data-testid="understudy-dismiss"]'));
    const kindShown = await noticeKind(page);
    seen.push({ kind: kindShown, ...(await frame.evaluate(() => {
      const q = (s) => document.querySelector(s);
      return {
        cont: q('[data-testid="understudy-continue"]').textContent,
        provider: q('[data-testid="understudy-continue"]').dataset.provider,
        others: [...document.querySelectorAll('[data-testid="understudy-provider-item"]')].map((li) => li.dataset.provider),
        cache: !!q('[data-testid="understudy-open-cache"]'),
        sites: [...document.querySelectorAll('[data-testid="understudy-handoff-item"]')].map((li) => li.dataset.site),
      };
    })), dismiss });
    await page.evaluate(() => document.getElementById('injected-error')?.remove());
    await page.waitForFunction(() => !document.querySelector('[data-testid="understudy-notice"]'), null, { timeout: 5000 });
  }
  for (const [i, [kind]] of DOM_CASES.entries()) {
    assert.deepEqual(seen[i], {
      kind, cont: `Continue with ${name} (openai)`, provider: name, others: [second], cache: true,
      sites: ['claude', 'perplexity', 'le_chat', 'gemini'], dismiss: true,
    });
  }
  await page.close();
});

test('one click: the answer streams into the notice from the local provider, which received the whole conversation and the failed prompt', async () => {
  const answer = 'Take the **train** from Rossio:\n\n- 40 minutes\n- every 20 minutes\n\n<img src=x onerror="window.__pwned=1">';
  const { name } = await setup({ answer });
  const page = await failedChat();
  assert.equal(await noticeKind(page), 'service_down');
  await clickRescue(page, CONTINUE);
  const seen = await waitAnswer(page);
  assert.equal(seen.state, 'done');
  assert.equal(seen.provider, name);
  const [req] = fake.to(name);
  assert.deepEqual(req.json.messages, [
    { role: 'user', content: 'Plan a weekend in Lisbon' },
    { role: 'assistant', content: FIRST_ANSWER },
    { role: 'user', content: 'Now add a day trip to Sintra' },
  ]);
  // Rendered from Markdown as DOM nodes in the frame; the HTML in the answer stays text.
  const frame = await rescueFrame(page);
  const dom = await frame.evaluate((sel) => {
    const body = document.querySelector(sel).querySelector('[data-testid="understudy-answer-body"]');
    return {
      strong: body.querySelector('strong')?.textContent, items: [...body.querySelectorAll('li')].map((li) => li.textContent),
      img: body.querySelectorAll('img').length, named: document.querySelector('.who .name').textContent, pwned: window.__pwned ?? null,
      text: body.textContent,
    };
  }, ANSWER);
  assert.equal(dom.strong, 'train');
  assert.deepEqual(dom.items, ['40 minutes', 'every 20 minutes']);
  assert.equal(dom.img, 0);
  assert.equal(dom.pwned, null);
  assert.match(dom.text, /<img src=x onerror=/);
  assert.equal(dom.named, `Answer from ${name} (openai)`);
  assert.equal(await page.evaluate(() => window.__pwned ?? null), null);
  await page.close();
});

test('failover tells the truth: the frame says who is asked and why the first did not answer, and credits the one that did', async () => {
  const name = fresh('limited');
  const second = fresh('backup');
  fake.plan(name, Array.from({ length: 6 }, () => ({ fault: '429' })));
  fake.plan(second, [{ fault: 'ok', tokenDelayMs: 5 }]);
  await configure(control, [provider(fake, name, 'openai'), provider(fake, second, 'openai')]);
  const page = await failedChat();
  const frame = await rescueFrame(page);
  await frame.evaluate(() => {
    // What the user reads, as it changes: the answer's heading and the status line.
    window.__said = [];
    const note = () => window.__said.push(`${document.querySelector('.name').textContent} | ${document.querySelector('[data-testid="understudy-rescue-status"]').textContent}`);
    new MutationObserver(note).observe(document.getElementById('root'), { subtree: true, childList: true, characterData: true });
  });
  await clickRescue(page, CONTINUE);
  const seen = await waitAnswer(page);
  const said = await frame.evaluate(() => window.__said);
  // While the backup is asked, the frame names it and says why the first did not answer; no
  // answer is credited to a provider that gave none.
  assert.ok(said.includes(`Asking ${second} (openai)… | ${name} (openai) did not answer (rate limited); asking ${second} (openai)…`), said.join('\n'));
  assert.ok(!said.some((s) => s.startsWith(`Answer from ${name}`)), said.join('\n'));
  assert.equal(seen.state, 'done');
  assert.equal(seen.provider, second);
  assert.equal(seen.name, `Answer from ${second} (openai)`);
  assert.equal(seen.status, `Before ${second} (openai) answered: ${name} (openai): rate limited.`);
  assert.ok(seen.text.endsWith(`[${second}]`), seen.text);
  await page.close();
});

test('a provider refused for its key rests: the next failure offers the one that answered, and the menu names the other as resting', async () => {
  const name = fresh('badkey');
  const second = fresh('good');
  fake.plan(name, Array.from({ length: 6 }, () => ({ fault: '401' })));
  fake.plan(second, [{ fault: 'ok', tokenDelayMs: 5 }]);
  await configure(control, [provider(fake, name, 'openai'), provider(fake, second, 'openai')]);
  const read = (frame) => frame.evaluate(() => {
    const c = document.querySelector('[data-testid="understudy-continue"]');
    const items = [...document.querySelectorAll('[data-testid="understudy-provider-item"]')];
    return { cont: c.textContent, provider: c.dataset.provider, items: items.map((li) => ({ provider: li.dataset.provider, label: li.textContent, disabled: li.getAttribute('aria-disabled') === 'true' })) };
  });
  const first = await failedChat();
  const before = await read(await rescueFrame(first));
  assert.deepEqual(before, { cont: `Continue with ${name} (openai)`, provider: name, items: [{ provider: second, label: `${second} (openai)`, disabled: false }] });
  await clickRescue(first, CONTINUE);
  const seen = await waitAnswer(first);
  assert.equal(seen.provider, second);
  await first.close();
  // The key was refused: until the user changes it, the provider is not offered first.
  const again = await failedChat(undefined, 'And a day in Cascais');
  const after = await read(await rescueFrame(again));
  assert.deepEqual(after, { cont: `Continue with ${second} (openai)`, provider: second, items: [{ provider: name, label: `${name} (openai) (resting)`, disabled: true }] });
  await again.close();
});

test('the providers menu works from the keyboard and picks another provider', async () => {
  const { second } = await setup();
  const page = await failedChat();
  const frame = await rescueFrame(page);
  await frame.focus('[data-testid="understudy-providers"]');
  await page.keyboard.press('ArrowDown');
  const focused = await frame.evaluate(() => document.activeElement?.dataset.provider);
  assert.equal(focused, second);
  await page.keyboard.press('Escape');
  const closed = await frame.evaluate(() => ({ hidden: document.querySelector('[role="menu"]').hidden, focus: document.activeElement?.dataset.testid }));
  assert.deepEqual(closed, { hidden: true, focus: 'understudy-providers' });
  await page.keyboard.press('ArrowDown');
  // A person reads the menu before choosing: the item is armed once seen long enough.
  await armed(frame, `[data-testid="understudy-provider-item"][data-provider="${second}"]`);
  await page.keyboard.press('Enter');
  const seen = await waitAnswer(page);
  assert.equal(seen.state, 'done');
  assert.equal(seen.provider, second);
  assert.equal(fake.to(second).at(-1).json.messages.at(-1).content, 'Now add a day trip to Sintra');
  await page.close();
});

test('auto mode redirects without a click on the kinds chosen (service_down) and not on others (rate_limited)', async () => {
  const { name } = await setup({ auto: { service_down: true, capacity: true } });
  const page = await failedChat();
  const seen = await waitAnswer(page);
  assert.equal(seen.state, 'done');
  assert.equal(seen.auto, 'true');
  assert.equal(seen.provider, name);
  assert.equal(fake.to(name).length, 1);
  await page.close();

  const limited = await failedChat({ mode: 'status', status: 429, body: '{"detail":"Too many requests in 1 hour. Try again later."}' });
  assert.equal(await noticeKind(limited), 'rate_limited');
  await limited.waitForTimeout(500);
  assert.equal((await answerState(limited)).hidden, true, 'no answer without a click on rate_limited');
  assert.equal(fake.to(name).length, 1, 'the provider was not asked');
  await limited.close();
});

test('web handoff: a new tab opens the other chat site with the prompt and its context in the URL; Gemini goes through the clipboard', async () => {
  await setup();
  const page = await failedChat();
  const frame = await clickRescue(page, '[data-testid="understudy-handoff"]');
  await armed(frame, '[data-testid="understudy-handoff-item"][data-site="claude"]');
  const [tab] = await Promise.all([browser.context.waitForEvent('page'), frame.click('[data-testid="understudy-handoff-item"][data-site="claude"]')]);
  const url = new URL(tab.url());
  assert.equal(url.origin + url.pathname, 'https://claude.ai/new');
  const q = url.searchParams.get('q');
  assert.match(q, /Me: Plan a weekend in Lisbon/);
  assert.match(q, /Assistant: Here is a short answer/);
  assert.match(q, /My next message: Now add a day trip to Sintra$/);
  await tab.close();
  await clickRescue(page, '[data-testid="understudy-handoff"]');
  await armed(frame, '[data-testid="understudy-handoff-item"][data-site="gemini"]');
  const [gem] = await Promise.all([browser.context.waitForEvent('page'), frame.click('[data-testid="understudy-handoff-item"][data-site="gemini"]')]);
  assert.equal(new URL(gem.url()).href, 'https://gemini.google.com/app');
  await frame.waitForFunction(() => /clipboard/.test(document.querySelector('[data-testid="understudy-rescue-status"]').textContent));
  assert.match(await frame.textContent('[data-testid="understudy-rescue-status"]'), /Your prompt and its context are in the clipboard: paste them there/);
  await gem.close();
  await page.close();
});

test('stop: the answer stops where it is, the provider connection is closed', async () => {
  // A long, slow answer (about 30 s), so that it is surely still streaming when Stop is pressed.
  const long = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
  const { name } = await setup({ faults: [{ fault: 'ok', tokenDelayMs: 150, answer: long }] });
  const page = await failedChat();
  await clickRescue(page, CONTINUE);
  const frame = await rescueFrame(page);
  await frame.waitForFunction((sel) => (document.querySelector(sel).querySelector('[data-testid="understudy-answer-body"]')?.textContent.length ?? 0) > 0, ANSWER);
  await frame.click('[data-testid="understudy-stop"]');
  const seen = await waitAnswer(page);
  assert.equal(seen.state, 'done');
  assert.ok(seen.text.length > 0 && seen.text.length < long.length && long.startsWith(seen.text), `kept the partial answer: ${JSON.stringify(seen.text)}`);
  assert.equal(seen.status, 'Stopped.');
  await page.waitForTimeout(300);
  const req = fake.to(name).at(-1);
  assert.equal(req.clientClosed, true);
  assert.equal(req.finished, false);
  await page.close();
});

test('keys and the answer never reach the page: a hostile page script cannot read, click or choose in the rescue frame', async () => {
  const { name, second } = await setup();
  const key = `key-${name}`;
  // The hostile script runs in the page before anything else and listens to everything it can.
  const hostile = () => {
    window.__seen = [];
    window.addEventListener('message', (e) => window.__seen.push(JSON.stringify(e.data ?? null)), true);
    for (const t of ['click', 'copy', 'keydown', 'focusin']) document.addEventListener(t, (e) => window.__seen.push(`${t}:${e.composedPath?.()[0]?.outerHTML ?? ''}`), true);
  };
  const chat = await failedChat(undefined, undefined, hostile);
  await rescueFrame(chat);
  // The page's script tries to reach into the frame, click it, choose the provider and ask.
  const pagesBefore = browser.context.pages().length;
  const tried = await chat.evaluate(() => {
    const frame = document.querySelector('[data-testid="understudy-notice"]').shadowRoot.querySelector('[data-testid="understudy-rescue-frame"]');
    const out = { doc: frame.contentDocument === null };
    try {
      frame.contentWindow.document.querySelector('button').click();
      out.reached = true;
    } catch {
      out.reached = false;
    }
    frame.click();
    frame.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    frame.contentWindow.postMessage({ type: 'ask', id: 9, provider: 'evil' }, '*');
    return out;
  });
  assert.deepEqual(tried, { doc: true, reached: false });
  await chat.waitForTimeout(400);
  assert.equal(fake.to(name).length + fake.to(second).length, 0, 'the page asked no provider');
  assert.equal((await answerState(chat)).hidden, true);
  assert.equal(browser.context.pages().length, pagesBefore, 'the page opened no tab');
  await clickRescue(chat, CONTINUE);
  const seen = await waitAnswer(chat);
  assert.equal(seen.state, 'done');
  assert.ok(seen.text.length > 20);
  const loot = await chat.evaluate(() => {
    const host = document.querySelector('[data-testid="understudy-notice"]');
    const parts = [document.documentElement.outerHTML, host.shadowRoot.innerHTML, JSON.stringify(localStorage), document.cookie];
    let runtime = null;
    try {
      runtime = typeof chrome !== 'undefined' && chrome.runtime ? Object.keys(chrome.runtime) : null;
    } catch {}
    parts.push(...window.__seen);
    return { text: parts.join('\n'), runtime, sendMessage: typeof globalThis.chrome?.runtime?.sendMessage, observed: window.__seen.length };
  });
  assert.ok(loot.observed > 0, 'the hostile script did observe the page');
  assert.ok(!loot.text.includes(key), 'no key in the DOM, the shadow root or the events and messages the page saw');
  assert.ok(!loot.text.includes(seen.text), 'the rescued answer is not in anything the page can read');
  assert.equal(loot.sendMessage, 'undefined', 'the page cannot message the extension');
  // The frame itself holds ids and labels only.
  const html = await (await rescueFrame(chat)).evaluate(() => document.documentElement.outerHTML);
  assert.ok(!html.includes(key), 'no key in the rescue frame');
  // Only the rescue frame may drive the rescue port or ask for its list: an extension page (and a
  // content script) is refused.
  const refused = await control.evaluate(() => new Promise((resolve) => {
    const port = chrome.runtime.connect({ name: 'understudy-rescue' });
    port.onDisconnect.addListener(() => resolve(true));
    port.postMessage({ type: 'ask', id: 1, provider: 'x' });
    setTimeout(() => resolve(false), 2000);
  }));
  assert.equal(refused, true);
  const list = await control.evaluate(() => chrome.runtime.sendMessage({ type: 'rescue.frame' }));
  assert.equal(list.ok, false);
  await chat.close();
});

test('"Continue in side panel" opens the side panel on this tab with the conversation and the answer', async () => {
  const { name } = await setup();
  const page = await failedChat();
  await clickRescue(page, CONTINUE);
  assert.equal((await waitAnswer(page)).state, 'done');
  const frame = await clickRescue(page, '[data-testid="understudy-open-panel"]');
  const worker = await serviceWorker(browser.context);
  let panel = null;
  for (let i = 0; i < 100 && !panel; i++) {
    panel = (await worker.evaluate(() => chrome.storage.session.get('rescue.panel')))['rescue.panel'] ?? null;
    if (!panel) await page.waitForTimeout(20);
  }
  await page.waitForTimeout(300);
  const status = await frame.evaluate(() => document.querySelector('[data-testid="understudy-rescue-status"]').textContent);
  assert.equal(status, '', 'no error opening the side panel');
  assert.equal(panel.provider, name);
  assert.equal(panel.prompt, 'Now add a day trip to Sintra');
  assert.equal(panel.text, `The quick brown fox jumps over the lazy dog, one token at a time. [${name}]`);
  assert.deepEqual(panel.conversation.slice(0, 2), [
    { role: 'user', content: 'Plan a weekend in Lisbon' },
    { role: 'assistant', content: FIRST_ANSWER },
  ]);
  await page.close();
});

test('"Open my cached conversation" opens the library on this conversation', async () => {
  await setup();
  // `noload`: the fake page would otherwise load a saved conversation first (other turn numbers).
  const page = await failedChat(undefined, undefined, null, 'https://chatgpt.com/c/6a1f0c3e-2b4d-4e5f?noload=1');
  const worker = await serviceWorker(browser.context);
  await clickRescue(page, '[data-testid="understudy-open-cache"]');
  let opened = null;
  for (let i = 0; i < 500 && !opened; i++) {
    opened = await worker.evaluate(async () => (await chrome.tabs.query({})).map((t) => t.pendingUrl || t.url || '').find((u) => u.includes('/www/library.html')) ?? null);
    if (!opened) await page.waitForTimeout(20);
  }
  const url = new URL(opened);
  assert.equal(url.protocol, 'chrome-extension:');
  assert.equal(url.pathname, '/www/library.html');
  assert.equal(url.searchParams.get('c'), '6a1f0c3e-2b4d-4e5f');
  let tab;
  for (let i = 0; i < 250 && !tab; i++) {
    tab = browser.context.pages().find((p) => p.url().includes('library.html'));
    if (!tab) await page.waitForTimeout(20);
  }
  // The library opens that conversation itself (not only the list).
  await tab.waitForSelector('[data-testid="understudy-library-title"]', { timeout: 15000 });
  assert.match(await tab.textContent('#view'), /Plan a weekend in Lisbon/);
  await tab.close();
  await page.close();
});

test('without keys (default settings, no on-device model): no continue button, the web handoff is offered instead', async () => {
  await control.evaluate(async () => {
    await chrome.storage.local.remove(['settings', 'understudy.auto_mode']);
  });
  const page = await failedChat();
  const frame = await rescueFrame(page);
  const seen = await frame.evaluate(() => ({ cont: document.querySelector('[data-testid="understudy-continue"]'), handoff: document.querySelector('[data-testid="understudy-handoff"]').textContent }));
  assert.deepEqual(seen, { cont: null, handoff: 'Ask another chat site' });
  await page.close();
});

const CONVERSATION = '6a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b'; // the fake page's conversation id

/** The main line of an exported conversation: node ids from the root to current_node. */
function mainLine(c) {
  const out = [];
  for (let n = c.current_node, i = 0; n && c.mapping[n] && i < 10_000; n = c.mapping[n].parent, i++) if (c.mapping[n].message) out.push(n);
  return out.reverse();
}

test('the rescued answer is kept in the cache as a branch marked with its provider: the library shows it, the JSON export keeps ChatGPT\'s main line, a side-panel follow-up extends the branch', async () => {
  const { name } = await setup();
  const page = await failedChat();
  const lib = await openExtensionPage(browser.context, 'www/library.html');
  await lib.waitForSelector('body[data-listed="1"]', { timeout: 15000 });
  const exportOf = () => lib.evaluate(async (id) => JSON.parse(await window.understudyLibrary.exportIds([id], 'json'))[0], CONVERSATION);
  const before = await exportOf();
  await clickRescue(page, CONTINUE);
  const ended = await waitAnswer(page);
  assert.equal(ended.state, 'done', ended.status);
  await (await rescueFrame(page)).waitForSelector(`${ANSWER}[data-saved="true"]`);
  const text = `The quick brown fox jumps over the lazy dog, one token at a time. [${name}]`;

  // The export: ChatGPT's main line and current node as they were; the answer on a branch, marked.
  const after = await exportOf();
  assert.deepEqual(mainLine(after), mainLine(before));
  assert.equal(after.current_node, before.current_node);
  const kept = Object.values(after.mapping).filter((n) => n.message?.metadata?.understudy?.provider?.id === name);
  assert.equal(kept.length, 1, 'one answer kept');
  const answer = kept[0];
  assert.equal(answer.message.content.parts.join(''), text);
  assert.equal(answer.message.author.role, 'assistant');
  assert.deepEqual(answer.message.metadata.understudy.provider, { id: name, kind: 'open_ai_compatible', model: `model-${name}`, label: `${name} (openai)` });
  assert.equal(answer.message.metadata.understudy.produced_by, 'understudy');
  assert.equal(answer.message.metadata.understudy.incomplete, false);
  const prompt = after.mapping[answer.parent].message;
  assert.equal(prompt.author.role, 'user');
  assert.equal(prompt.content.parts.join(''), 'Now add a day trip to Sintra');
  assert.ok(mainLine(before).includes(after.mapping[answer.parent].parent), 'the branch starts from ChatGPT\'s last message');

  // The library shows the conversation with the rescued answer marked with the provider.
  await lib.reload();
  await lib.waitForSelector('body[data-listed="1"]', { timeout: 15000 });
  await lib.click(`.row[data-id="${CONVERSATION}"]`);
  await lib.waitForSelector(`[data-message-id="${answer.id}"] [data-testid="understudy-answered-by"]`);
  const shown = await lib.evaluate((id) => {
    const article = document.querySelector(`[data-message-id="${id}"]`);
    const all = [...document.querySelectorAll('article.msg')].map((a) => a.dataset.messageId);
    return { by: article.querySelector('[data-testid="understudy-answered-by"]').textContent, body: article.querySelector('.body').textContent, last: all.at(-1), count: all.length };
  }, answer.id);
  assert.equal(shown.by, `answered by ${name} (openai)`);
  assert.equal(shown.body, text);

  // The same answer saved again over the stored record changes nothing.
  const again = await lib.evaluate(async ([id, node]) => {
    const { db } = window.understudyLibrary;
    // rescueSaveBranch is the worker's (its Wasm build, loaded here to call it directly).
    const core = await import('../pkg/understudy_worker.js');
    await core.default({ module_or_path: new URL('../pkg/understudy_worker_bg.wasm', location.href) });
    const json = await db.getJson(id);
    const c = JSON.parse(json).conversation;
    const n = c.mapping[node];
    return core.rescueSaveBranch(json, {
      conversation_id: id, key: node.replace(/^understudy-|-answer$/g, ''), prompt: c.mapping[n.parent].message.content.parts[0],
      answer: n.message.content.parts[0], provider: n.message.metadata.understudy.provider, outcome: 'complete',
      started_s: c.mapping[n.parent].message.create_time, ended_s: n.message.create_time,
    }).changed;
  }, [CONVERSATION, answer.id]);
  assert.equal(again, false, 'saving the same answer twice changes nothing');

  const worker = await serviceWorker(browser.context);
  // A follow-up in the side panel (opened from the library) extends the branch.
  await worker.evaluate((id) => chrome.storage.session.set({ 'rescue.panel': { conversation: [], prompt: '', text: '', provider: null, conversation_id: id, at: Date.now() } }), CONVERSATION);
  const panel = await openExtensionPage(browser.context, `www/sidepanel.html?c=${CONVERSATION}`);
  await panel.waitForSelector('body[data-ready="true"]');
  const history = await panel.evaluate(() => [...document.querySelectorAll('#history li')].map((li) => li.textContent));
  assert.match(history.at(-1), new RegExp(`answered by ${name} \\(openai\\)`));
  // The router's decisions for that answer are there too, discreetly (folded in "What happened").
  const past = await panel.evaluate(() => ({ folded: !document.getElementById('decisions-box').open, kinds: [...document.querySelectorAll('#decisions li')].map((li) => li.dataset.kind) }));
  assert.equal(past.folded, true);
  assert.deepEqual(past.kinds.filter((k) => k === 'started' || k === 'completed'), ['started', 'completed']);
  await panel.fill('[data-testid="understudy-prompt"]', 'And how do I get back?');
  await panel.click('[data-testid="understudy-send"]');
  await panel.waitForSelector('[data-testid="understudy-answer"][data-state="done"]');
  await panel.waitForSelector('[data-testid="understudy-answer"][data-saved="true"]');
  const follow = await exportOf();
  const next = Object.values(follow.mapping).filter((n) => n.message?.metadata?.understudy?.provider && !after.mapping[n.id]);
  assert.equal(next.length, 1);
  assert.equal(follow.mapping[next[0].parent].message.content.parts[0], 'And how do I get back?');
  assert.equal(follow.mapping[next[0].parent].parent, answer.id, 'the follow-up hangs from the rescued answer');
  assert.deepEqual(mainLine(follow), mainLine(before));
  const asked = fake.to(name).at(-1).json.messages.map((m) => m.content);
  assert.ok(asked.includes(text), 'the follow-up carried the rescued answer as context');
  await panel.close();
  await lib.close();
  await page.close();
});

test('on a new chat whose page stays on "/", the rescued answer is filed under the conversation its stream named', async () => {
  const { name } = await setup();
  site.setMode({ mode: 'healthy', pushUrl: false });
  const page = await openChat(browser.context, 'https://chatgpt.com/');
  await sendPrompt(page, 'Plan a weekend in Lisbon');
  await page.waitForFunction((a) => document.querySelector('[data-testid="conversation-turn-2"] .markdown')?.textContent === a, FIRST_ANSWER);
  assert.equal(new URL(page.url()).pathname, '/', 'the page never shows the conversation id');
  site.setMode({ mode: 'status', status: 503, pushUrl: false });
  await sendPrompt(page, 'And a day in Cascais?');
  await page.waitForSelector(NOTICE, { timeout: 10000 });
  await clickRescue(page, CONTINUE);
  await (await rescueFrame(page)).waitForSelector(`${ANSWER}[data-saved="true"]`, { timeout: 15000 });
  const lib = await openExtensionPage(browser.context, 'www/library.html');
  await lib.waitForSelector('body[data-listed="1"]', { timeout: 15000 });
  const conv = await lib.evaluate(async (id) => JSON.parse(await window.understudyLibrary.exportIds([id], 'json'))[0], CONVERSATION);
  const kept = Object.values(conv.mapping).filter((n) => n.message?.metadata?.understudy?.provider?.id === name);
  assert.equal(kept.length, 1, 'the answer is a branch of the conversation the stream named');
  assert.equal(conv.mapping[kept[0].parent].message.content.parts.join(''), 'And a day in Cascais?');
  await lib.close();
  await page.close();
});
