// The Firefox end-to-end subset: dist/firefox installed as a temporary add-on in Debian's
// firefox-esr (geckodriver, plain WebDriver), on the fake chatgpt.com (through a loopback CONNECT
// proxy) with a local OpenAI-compatible provider. The core starts; a send answered 503 shows the
// notice; a rescue by click in the rescue frame and in auto mode; the sidebar opened from the frame's
// "Continue in side panel" and from the library's "Continue with another provider" shows the
// conversation handed over; "Open my cached conversation" opens the library on it; the "Continue
// elsewhere" shortcut rescues through the frame; and the browser's console holds none of the
// extension's errors.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startFakeChatgpt } from '../e2e/fake-chatgpt/server.mjs';
import { startFakeClaude } from '../e2e/fake-claude/server.mjs';
import { startFakeProviders } from '../e2e/fake-providers/server.mjs';
import { FAST_ROUTER, provider } from '../e2e/fake-providers/harness.mjs';
import { extensionErrors, launchFirefox, ORIGIN } from './gecko.mjs';

const CONVERSATION = '6a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b'; // every new chat of the fake gets this id
const FIRST_PROMPT = 'Plan a weekend in Lisbon';
const FIRST_ANSWER = 'Here is a short answer, streamed the way ChatGPT streams it.';
const PROMPT = 'Now add a day trip to Sintra';
const FRAME = () => document.querySelector('[data-testid="understudy-notice"]')?.shadowRoot?.querySelector('[data-testid="understudy-rescue-frame"]');
let site;
let claude;
let fake;
let ff;
let control; // an extension page kept open: reads and writes the extension's storage
let serial = 0;

before(async () => {
  site = await startFakeChatgpt({ defaults: { conversationId: CONVERSATION } });
  claude = await startFakeClaude();
  fake = await startFakeProviders();
  ff = await launchFirefox({ chatgptPort: site.port, hosts: { 'claude.ai': claude.port } });
  control = await ff.cmd('GET', '/window');
  await ff.go(`${ORIGIN}/www/options.html`);
  await ff.until(() => document.readyState === 'complete' && !!globalThis.browser?.storage);
});

after(async () => {
  await ff?.close();
  await fake?.close();
  await claude?.close();
  await site?.close();
});

/** A provider on the local server that answers, auto mode as given; returns its name. */
async function setup({ auto = null } = {}) {
  const name = `local-${++serial}`;
  fake.plan(name, [{ fault: 'ok', tokenDelayMs: 5 }]);
  const settings = {
    version: 1,
    providers: [provider(fake, name, 'openai')],
    router: FAST_ROUTER,
    auto_mode: auto ? { enabled: true, ...auto } : { enabled: false },
  };
  await ff.switchTo(control);
  await ff.run(async (s) => {
    await browser.storage.local.set({ settings: s });
    await browser.storage.session.remove(['providers.health', 'providers.lastStream']);
  }, settings);
  return name;
}

/** The worker's detection entry of the tab showing `url` (read from the control page). */
async function observed(url) {
  await ff.switchTo(control);
  return ff.until(async (u) => {
    const all = await browser.storage.session.get(null);
    const entry = Object.entries(all).find(([k, v]) => k.startsWith('detect.tab.') && v?.url === u)?.[1];
    return entry && entry.observed >= 1 ? entry : null;
  }, { args: [url], what: `detection running on ${url}` });
}

async function sendPrompt(text) {
  const box = await ff.find('#prompt-textarea');
  await ff.cmd('POST', `/element/${box}/value`, { text });
  await ff.click('[data-testid="send-button"]');
}

/** A chat tab with one good exchange, then PROMPT answered 503; returns the tab's handle. */
async function failedChat() {
  site.setMode({ mode: 'healthy' });
  const tab = await ff.newTab('https://chatgpt.com/');
  await ff.until(() => document.documentElement.dataset.understudyCore, { what: 'the core on the page' });
  await observed('https://chatgpt.com/');
  await ff.switchTo(tab);
  await sendPrompt(FIRST_PROMPT);
  await ff.until((a) => document.querySelector('[data-testid="conversation-turn-2"] .markdown')?.textContent === a, { args: [FIRST_ANSWER], what: 'the first answer' });
  await new Promise((r) => setTimeout(r, 200));
  site.setMode({ mode: 'status', status: 503 });
  await sendPrompt(PROMPT);
  await ff.until(() => document.querySelector('[data-testid="understudy-notice"]')?.dataset.kind, { what: 'the notice' });
  return tab;
}

/** Clicks a control of the rescue frame once it is armed (the browser saw it visible long enough). */
async function clickInFrame(selector) {
  await ff.topFrame();
  await ff.until(() => {
    const frame = document.querySelector('[data-testid="understudy-notice"]')?.shadowRoot?.querySelector('[data-testid="understudy-rescue-frame"]');
    frame?.scrollIntoView({ block: 'center' });
    return !!frame;
  }, { what: 'the rescue frame' });
  await ff.enterFrame(FRAME);
  await ff.until((s) => document.body.dataset.ready === 'true' && document.querySelector(`${s}[data-armed="true"]`), { args: [selector], what: `${selector} armed` });
  await ff.click(selector);
}

/** Waits in the rescue frame (entered) for the answer to end; returns what it shows. */
function answerInFrame() {
  return ff.until(() => {
    const a = document.querySelector('[data-testid="understudy-answer"]');
    if (!['done', 'error'].includes(a?.dataset.state)) return null;
    return { state: a.dataset.state, provider: a.dataset.provider, auto: a.dataset.auto ?? null, text: a.querySelector('[data-testid="understudy-answer-body"]')?.textContent ?? '' };
  }, { what: 'the rescued answer' });
}

/** The handle of a tab opened since `before` (the handles then). */
async function newHandle(before) {
  const end = Date.now() + 15000;
  for (;;) {
    const handle = (await ff.cmd('GET', '/window/handles')).find((h) => !before.includes(h));
    if (handle) return handle;
    if (Date.now() > end) throw new Error('no tab opened');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What Firefox's sidebar shows (read from the control page: extension pages share a process). */
async function sidebar(expect) {
  await ff.switchTo(control);
  return ff.until((want) => {
    const view = browser.extension.getViews({ type: 'sidebar' })[0];
    const body = view?.document.body;
    if (!body || body.dataset.ready !== 'true' || !(Number(body.dataset.handoff) >= want)) return null;
    return {
      url: view.location.pathname + view.location.search,
      handoff: Number(body.dataset.handoff),
      history: [...view.document.querySelectorAll('#history > *')].map((n) => n.textContent),
      status: view.document.getElementById('status').textContent,
    };
  }, { args: [expect], what: 'the sidebar with the conversation', timeout: 20000 });
}

test('the core starts on chatgpt.com, in a page served with a strict CSP', async () => {
  const tab = await ff.newTab('https://chatgpt.com/');
  const core = await ff.until(() => document.documentElement.dataset.understudyCore, { what: 'html[data-understudy-core]' });
  assert.match(core, /^\d+\.\d+\.\d+/);
  await ff.closeTab(control);
  assert.ok(tab);
});

let rescued; // the chat tab of the click rescue, kept for the sidebar test

test('detection: a send answered 503 shows the notice with its kind; one click in the rescue frame streams the answer from the local provider', async () => {
  const name = await setup();
  rescued = await failedChat();
  assert.equal(await ff.run(() => document.querySelector('[data-testid="understudy-notice"]').dataset.kind), 'service_down');
  await clickInFrame('[data-testid="understudy-continue"]');
  const seen = await answerInFrame();
  assert.equal(seen.state, 'done');
  assert.equal(seen.provider, name);
  assert.equal(seen.auto, null);
  assert.match(seen.text, /The quick brown fox/);
  const [req] = fake.to(name);
  assert.deepEqual(req.json.messages.slice(0, 2), [
    { role: 'user', content: FIRST_PROMPT },
    { role: 'assistant', content: FIRST_ANSWER },
  ]);
  assert.deepEqual(req.json.messages.at(-1), { role: 'user', content: PROMPT });
  assert.equal(fake.to(name).length, 1);
});

test('"Continue in side panel" in the rescue frame opens the panel, in a tab next to the chat (Firefox gives the frame no sidebar), with the conversation and the answer', async () => {
  await ff.switchTo(rescued);
  const before = await ff.cmd('GET', '/window/handles');
  await clickInFrame('[data-testid="understudy-open-panel"]');
  const tab = await newHandle(before);
  await ff.switchTo(tab);
  const shown = await ff.until(() => {
    const body = document.body;
    if (body?.dataset.ready !== 'true' || !(Number(body.dataset.handoff) >= 4)) return null;
    return { url: location.pathname + location.search, handoff: Number(body.dataset.handoff), history: [...document.querySelectorAll('#history > *')].map((n) => n.textContent) };
  }, { what: 'the panel with the conversation', timeout: 20000 });
  assert.equal(shown.url, '/www/sidepanel.html?from=rescue');
  assert.equal(shown.handoff, 4, 'the failed turn is not shown twice');
  assert.match(shown.history[0], /Plan a weekend in Lisbon/);
  assert.match(shown.history[1], /streamed the way ChatGPT streams it/);
  assert.match(shown.history[2], /Now add a day trip to Sintra/);
  assert.match(shown.history[3], /The quick brown fox/);
  await ff.closeTab(rescued);
  await ff.topFrame();
  const status = await ff.run(() => document.querySelector('[data-testid="understudy-notice"]') && true);
  assert.equal(status, true);
  await ff.enterFrame(FRAME);
  assert.equal(await ff.run(() => document.querySelector('[data-testid="understudy-rescue-status"]').textContent), '', 'no error shown in the frame');
  await ff.topFrame();
  await ff.closeTab(control);
});

test('auto mode: the answer comes without a click', async () => {
  const name = await setup({ auto: { service_down: true } });
  await failedChat();
  await ff.topFrame();
  await ff.enterFrame(FRAME);
  const seen = await answerInFrame();
  assert.equal(seen.state, 'done');
  assert.equal(seen.auto, 'true');
  assert.equal(seen.provider, name);
  assert.equal(fake.to(name).length, 1);
  await ff.closeTab(control);
});

let library; // the library tab opened by the notice

test('"Open my cached conversation" opens the library on this conversation', async () => {
  await setup();
  const chat = await failedChat();
  const before = await ff.cmd('GET', '/window/handles');
  await clickInFrame('[data-testid="understudy-open-cache"]');
  library = await newHandle(before);
  await ff.switchTo(library);
  const shown = await ff.until(() => {
    const title = document.querySelector('[data-testid="understudy-library-title"]');
    return title ? { url: location.href, title: title.textContent } : null;
  }, { what: 'the conversation in the library' });
  assert.equal(shown.url, `${ORIGIN}/www/library.html?c=${CONVERSATION}`);
  assert.match(shown.title, /^plan a weekend in lisbon$/i);
  await ff.switchTo(chat);
  await ff.closeTab(library);
});

test('the library\'s "Continue with another provider" opens the sidebar with the cached conversation', async () => {
  await ff.switchTo(library);
  await ff.click('[data-testid="understudy-library-continue"]');
  const shown = await sidebar(2);
  assert.equal(shown.url, `/www/sidepanel.html?c=${CONVERSATION}`);
  assert.match(shown.history[0], /Plan a weekend in Lisbon/);
  assert.match(shown.history[1], /streamed the way ChatGPT streams it/);
  assert.match(shown.status, /carried over/);
  await ff.switchTo(library);
  await ff.closeTab(control);
});

test('the "Continue elsewhere" shortcut on a failed chat tab asks the first provider through the rescue frame', async () => {
  const name = await setup();
  const tab = await failedChat();
  await ff.topFrame();
  await ff.enterFrame(FRAME);
  await ff.until(() => document.body.dataset.ready === 'true', { what: 'the rescue frame ready' });
  // What the background's commands.onCommand listener calls, with the tab Firefox would pass (a
  // test cannot press the browser's shortcut).
  await ff.switchTo(control);
  const result = await ff.run(async () => {
    const bg = await browser.runtime.getBackgroundPage();
    const chats = await browser.tabs.query({ url: 'https://chatgpt.com/*' });
    const chat = chats.reduce((a, b) => (b.id > a.id ? b : a));
    return JSON.parse(JSON.stringify(await bg.understudyCommands.runCommand('continue-elsewhere', chat)));
  });
  assert.deepEqual(result, { rescue: true, started: true });
  await ff.switchTo(tab);
  await ff.topFrame();
  await ff.enterFrame(FRAME);
  const seen = await answerInFrame();
  assert.equal(seen.state, 'done');
  assert.equal(seen.provider, name);
  assert.deepEqual(fake.to(name)[0].json.messages.at(-1), { role: 'user', content: PROMPT });
  await ff.topFrame();
});

test('claude.ai: a conversation read as the page opens it and a turn streamed are kept under Claude, each turn once; a limit is named', async () => {
  await setup();
  const id = crypto.randomUUID();
  claude.seed(id, [{ prompt: 'Which fruit makes the best jam?', answer: 'Quince, for its pectin.' }]);
  claude.setMode({ mode: 'healthy', answer: 'Yes: a pinch of lemon zest.' });
  const tab = await ff.newTab(`https://claude.ai/chat/${id}`);
  await ff.until(() => document.documentElement.dataset.understudyCore && document.querySelector('.font-claude-response'), { what: 'the core and the chat on claude.ai' });
  await observed(`https://claude.ai/chat/${id}`);
  await ff.switchTo(tab);
  const box = await ff.find('.ProseMirror[role="textbox"]');
  await ff.cmd('POST', `/element/${box}/value`, { text: 'Anything to add?' });
  await ff.click('button[aria-label="Send message"]');
  await ff.until(() => document.querySelectorAll('.font-claude-response')[1]?.dataset.isStreaming === 'false', { what: 'the answer' });
  // The page reloads: the site's read holds the streamed turn now, and replaces its copy.
  await ff.go(`https://claude.ai/chat/${id}`);
  await ff.until(() => document.querySelectorAll('.font-claude-response').length === 2, { what: 'the chat read again' });
  const lib = await ff.newTab(`${ORIGIN}/www/library.html`);
  const kept = await ff.until(async (key) => {
    const { db, core } = window.understudyLibrary ?? {};
    if (!db) return null;
    for (const json of await db.allJsons()) {
      const v = core.cacheView(json);
      const raw = typeof json === 'string' ? json : new TextDecoder().decode(json);
      if (v.id === key && v.messages.length === 4 && !raw.includes('understudy_derived')) return { site: v.site, texts: v.messages.map((m) => m.text) };
    }
    return null;
  }, { args: [`claude:${id}`], what: 'the Claude conversation in the cache' });
  assert.deepEqual(kept, { site: 'claude', texts: ['Which fruit makes the best jam?', 'Quince, for its pectin.', 'Anything to add?', 'Yes: a pinch of lemon zest.'] });
  await ff.closeTab(tab); // the library; back to the chat
  // A limit: the notice names Claude.
  claude.setMode({ mode: 'limit' });
  const box2 = await ff.find('.ProseMirror[role="textbox"]');
  await ff.cmd('POST', `/element/${box2}/value`, { text: 'One more?' });
  await ff.click('button[aria-label="Send message"]');
  const notice = await ff.until(() => {
    const n = document.querySelector('[data-testid="understudy-notice"]');
    return n?.dataset.kind ? { kind: n.dataset.kind, text: n.shadowRoot?.textContent ?? '' } : null;
  }, { what: 'the notice on claude.ai' });
  assert.equal(notice.kind, 'rate_limited');
  assert.match(notice.text, /Claude/);
  await ff.closeTab(control);
  claude.setMode({ mode: 'healthy' });
});

test('the console holds none of the extension\'s errors', async () => {
  // A probe from an extension page shows that its console output reaches the log read here.
  await ff.switchTo(control);
  await ff.run(() => console.warn('Understudy: console probe'));
  const end = Date.now() + 5000;
  while (!ff.console().includes('Understudy: console probe') && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const errors = extensionErrors(ff.console());
  assert.equal(errors.filter((e) => e.includes('Understudy: console probe')).length, 1, 'the probe is seen as the extension\'s');
  assert.deepEqual(errors.filter((e) => !e.includes('Understudy: console probe')), []);
});
