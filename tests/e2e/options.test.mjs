// The options page end to end: the real extension in Chromium edits its settings through the
// service worker, tests providers against a local OpenAI-compatible server, exports and imports,
// and never lets a key reach a web page or a content script.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage, ROOT } from './browser.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';

const SHOTS = path.join(ROOT, 'target', 'e2e');
const GOOD_KEY = 'sk-good-4f1c9e';
const BAD_KEY = 'sk-revoked-77aa';

let site;
let llm;
let browser;
let page;

/** A tiny OpenAI-compatible server: SSE ending with [DONE] for the good key, 401 otherwise. */
function startLlm() {
  const seen = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ path: req.url, auth: req.headers.authorization ?? null, body });
      const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': '*' };
      if (req.method === 'OPTIONS') return res.writeHead(204, cors).end();
      if (req.method === 'GET' && req.url === '/v1/models') {
        if (req.headers.authorization !== `Bearer ${GOOD_KEY}`) return res.writeHead(401, { ...cors, 'content-type': 'application/json' }).end('{"error":{"message":"Incorrect API key provided."}}');
        res.writeHead(200, { ...cors, 'content-type': 'application/json' });
        return res.end(JSON.stringify({ object: 'list', data: [{ id: 'tiny-model', object: 'model' }, { id: 'other-model', object: 'model' }] }));
      }
      if (req.url !== '/v1/chat/completions') return res.writeHead(404, cors).end();
      if (req.headers.authorization !== `Bearer ${GOOD_KEY}`) {
        res.writeHead(401, { ...cors, 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } }));
      }
      if (body.includes('"model":"limited"')) {
        res.writeHead(429, { ...cors, 'content-type': 'application/json', 'retry-after': '120' });
        return res.end(JSON.stringify({ error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } }));
      }
      res.writeHead(200, { ...cors, 'content-type': 'text/event-stream' });
      const chunk = (delta, finish = null) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.write(chunk({ role: 'assistant', content: '' }));
      res.write(chunk({ content: 'OK' }));
      res.write(chunk({}, 'stop'));
      res.end('data: [DONE]\n\n');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, seen, close: () => new Promise((r) => server.close(r)) })));
}

async function openOptions() {
  const p = await openExtensionPage(browser.context, 'www/options.html');
  await p.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  return p;
}

const ids = (p) => p.$$eval('[data-testid="provider"]', (els) => els.map((e) => e.dataset.id));
const card = (id) => `[data-testid="provider"][data-id="${id}"]`;

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  [site, llm] = await Promise.all([startFakeChatgpt(), startLlm()]);
  browser = await launch({ chatgptPort: site.port });
  page = await openOptions();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await llm?.close();
});

test('a provider added, moved first and enabled persists across a reload', async () => {
  assert.deepEqual(await ids(page), ['chrome-builtin', 'ollama-local']);
  await page.selectOption('[data-testid="add-kind"]', { label: 'Another OpenAI-compatible API' });
  await page.click('[data-testid="add-provider"]');
  assert.deepEqual(await ids(page), ['chrome-builtin', 'ollama-local', 'gateway']);
  // The new card takes the focus on its first empty field.
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'base-url');
  await page.fill(`${card('gateway')} [data-testid="base-url"]`, `http://127.0.0.1:${llm.port}/v1`);
  await page.fill(`${card('gateway')} [data-testid="model"]`, 'tiny-model');
  await page.fill(`${card('gateway')} [data-testid="key"]`, GOOD_KEY);
  assert.equal(await page.getAttribute(`${card('gateway')} [data-testid="key"]`, 'type'), 'password');
  await page.click(`${card('gateway')} [data-testid="show-key"]`);
  assert.equal(await page.getAttribute(`${card('gateway')} [data-testid="key"]`, 'type'), 'text');
  await page.click(`${card('gateway')} [data-testid="show-key"]`);
  // Up with a button, then up with the keyboard (Alt+↑ keeps the focus on the moved card).
  await page.click(`${card('gateway')} [data-testid="up"]`);
  assert.deepEqual(await ids(page), ['chrome-builtin', 'gateway', 'ollama-local']);
  await page.focus(`${card('gateway')} .handle`);
  await page.keyboard.press('Alt+ArrowUp');
  assert.deepEqual(await ids(page), ['gateway', 'chrome-builtin', 'ollama-local']);
  assert.equal(await page.evaluate(() => document.activeElement.closest('[data-testid="provider"]').dataset.id), 'gateway');
  await page.waitForFunction(() => /moved to position 1 of 3/.test(document.querySelector('[data-testid="announce"]').textContent));
  // Drag Ollama above the on-device model.
  await page.dragAndDrop(`${card('ollama-local')} .handle`, `${card('chrome-builtin')} .p-title`, { targetPosition: { x: 5, y: 2 } });
  assert.deepEqual(await ids(page), ['gateway', 'ollama-local', 'chrome-builtin']);
  await page.check(`${card('ollama-local')} [data-testid="enabled"]`);
  await page.check('[data-testid="auto-enabled"]');
  await page.fill('#first-byte', '7.5');
  await page.click('[data-testid="save"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]').textContent.startsWith('Saved'));

  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.deepEqual(await ids(page), ['gateway', 'ollama-local', 'chrome-builtin']);
  assert.equal(await page.isChecked(`${card('ollama-local')} [data-testid="enabled"]`), true);
  assert.equal(await page.isChecked('[data-testid="auto-enabled"]'), true);
  assert.equal(await page.inputValue('#first-byte'), '7.5');
  // The key is stored, but the page only learns that there is one.
  assert.equal(await page.inputValue(`${card('gateway')} [data-testid="key"]`), '');
  assert.match(await page.getAttribute(`${card('gateway')} [data-testid="key"]`, 'placeholder'), /Saved/);
  const stored = await page.evaluate(async () => (await chrome.storage.local.get('settings')).settings);
  assert.equal(stored.providers[0].config.api_key, GOOD_KEY);
  assert.equal(stored.router.first_byte_timeout_ms, 7500);
  assert.equal(stored.auto_mode.enabled, true);
  const view = await page.evaluate(() => chrome.runtime.sendMessage({ type: 'settings.get' }));
  assert.ok(view.ok);
  assert.deepEqual(view.value.has_key, ['gateway']);
  assert.ok(!JSON.stringify(view).includes(GOOD_KEY), 'settings.get never answers a key');
});

test('validation names the field next to it and announces it', async () => {
  const base = `${card('gateway')} [data-testid="base-url"]`;
  await page.fill(base, 'localhost:1234/v1');
  await page.waitForSelector(`${card('gateway')} [data-testid="field-error"]`);
  assert.match(await page.textContent(`${card('gateway')} [data-testid="field-error"]`), /must start with http:\/\/ or https:\/\//);
  assert.equal(await page.getAttribute(base, 'aria-invalid'), 'true');
  await page.waitForFunction(() => /Base URL of Another OpenAI-compatible API/.test(document.querySelector('[data-testid="announce"]').textContent));
  // Saving is refused and the field gets the focus.
  await page.click('[data-testid="save"]');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'base-url');
  assert.match(await page.textContent('[data-testid="status"]'), /Fix the highlighted field/);

  await page.fill(base, `http://127.0.0.1:${llm.port}/v1`);
  const model = `${card('gateway')} [data-testid="model"]`;
  await page.fill(model, '');
  await page.waitForFunction((sel) => document.querySelector(sel).getAttribute('aria-invalid') === 'true', model);
  assert.match(await page.textContent(`${card('gateway')} [data-testid="field-error"]`), /empty/);
  await page.waitForFunction(() => /Model of Another OpenAI-compatible API/.test(document.querySelector('[data-testid="announce"]').textContent));
  await page.fill('#stall', '');
  await page.fill(model, 'tiny-model');
  await page.waitForSelector('#stall[aria-invalid="true"]');
  await page.fill('#stall', '20');
  await page.waitForFunction(() => !document.querySelector('[aria-invalid="true"]'));
  assert.equal(await page.isDisabled('[data-testid="discard"]'), true, 'back to the saved values: nothing to save');
});

test('the test button reports success, and an actionable error for a refused key', async () => {
  const result = `${card('gateway')} [data-testid="test-result"]`;
  await page.click(`${card('gateway')} [data-testid="test"]`);
  await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.class, result, { timeout: 15000 });
  assert.match(await page.textContent(result), /^✓ Works: answered in [\d,]+ ms\. It said “OK”\./);
  assert.equal(llm.seen.at(-1).auth, `Bearer ${GOOD_KEY}`);

  // A new key typed and tested: the page saves first, then tests; the 401 says what to fix.
  await page.fill(`${card('gateway')} [data-testid="key"]`, BAD_KEY);
  await page.click(`${card('gateway')} [data-testid="test"]`);
  await page.waitForFunction((sel) => ['auth'].includes(document.querySelector(sel)?.dataset.class), result, { timeout: 15000 });
  assert.match(await page.textContent(result), /refused the API key\. Check the key/);
  assert.equal(llm.seen.at(-1).auth, `Bearer ${BAD_KEY}`);
  // Put the good key back.
  await page.fill(`${card('gateway')} [data-testid="key"]`, GOOD_KEY);
  // A model answering 429 with Retry-After: never "works"; until when, in the user's clock.
  await page.fill(`${card('gateway')} [data-testid="model"]`, 'limited');
  await page.click(`${card('gateway')} [data-testid="test"]`);
  await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.class === 'rate_limited', result, { timeout: 15000 });
  assert.match(await page.textContent(result), /^✗ Rate limited until \d{1,2}:\d{2}/);
  assert.doesNotMatch(await page.textContent(result), /works/i);
  await page.fill(`${card('gateway')} [data-testid="model"]`, 'tiny-model');
  await page.click('[data-testid="save"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]').textContent.startsWith('Saved'));
});

test('a new provider: no error before typing, its key required, the model list offered, ids never reused', async () => {
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  // Nothing typed yet: no error anywhere, even for the preset's empty model or missing key.
  await page.selectOption('[data-testid="add-kind"]', { label: 'OpenAI' });
  await page.click('[data-testid="add-provider"]');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'key');
  await page.waitForTimeout(400); // past the check's debounce
  assert.equal(await page.$$eval('[data-testid="field-error"]', (els) => els.length), 0);
  assert.equal(await page.textContent('[data-testid="status"]'), 'Unsaved changes.');
  // Saving without the key it needs is refused at the key field.
  await page.click('[data-testid="save"]');
  await page.waitForSelector(`${card('openai')} [data-testid="field-error"]`);
  assert.match(await page.textContent(`${card('openai')} [data-testid="field-error"]`), /OpenAI needs an API key: paste it here/);
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'key');
  // Renamed: its buttons follow the new name.
  await page.fill(`${card('openai')} input.label`, 'Work OpenAI');
  assert.equal(await page.getAttribute(`${card('openai')} [data-testid="remove"]`, 'aria-label'), 'Remove Work OpenAI');
  assert.equal(await page.getAttribute(`${card('openai')} [data-testid="test"]`, 'aria-label'), 'Test Work OpenAI');
  // A field labelled in seconds speaks seconds.
  await page.fill('#first-byte', '0.05');
  await page.waitForSelector('#first-byte[aria-invalid="true"]');
  assert.match(await page.textContent('[data-testid="field-error"]'), /at least 0\.1 seconds/);
  await page.fill('#first-byte', '7.5');
  // Saved with a key, removed, saved: a provider added again gets another id.
  await page.fill(`${card('openai')} [data-testid="key"]`, 'sk-proj-never-used');
  await page.click('[data-testid="save"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]').textContent.startsWith('Saved'));
  await page.click(`${card('openai')} [data-testid="remove"]`);
  await page.click('[data-testid="save"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]').textContent.startsWith('Saved'));
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.selectOption('[data-testid="add-kind"]', { label: 'OpenAI' });
  await page.click('[data-testid="add-provider"]');
  assert.deepEqual(await ids(page), ['gateway', 'ollama-local', 'chrome-builtin', 'openai-2']);
  await page.click('[data-testid="discard"]');
  assert.deepEqual(await ids(page), ['gateway', 'ollama-local', 'chrome-builtin']);
  // The model field offers the provider's own models (asked by the worker, with the saved key).
  await page.focus(`${card('gateway')} [data-testid="model"]`);
  await page.waitForFunction((sel) => /2 models offered/.test(document.querySelector(sel).textContent), `${card('gateway')} [data-testid="model-hint"]`);
  const offered = await page.$$eval(`${card('gateway')} datalist[id$="-models"] option`, (os) => os.map((o) => o.value));
  assert.deepEqual(offered, ['other-model', 'tiny-model']);
  assert.equal(llm.seen.at(-1).auth, `Bearer ${GOOD_KEY}`);
  // A wrong key typed: the list is refused, in plain words.
  await page.fill(`${card('gateway')} [data-testid="key"]`, BAD_KEY);
  await page.focus(`${card('gateway')} [data-testid="base-url"]`);
  await page.focus(`${card('gateway')} [data-testid="model"]`);
  await page.waitForFunction((sel) => /refused the API key/.test(document.querySelector(sel).textContent), `${card('gateway')} [data-testid="model-hint"]`);
  await page.click('[data-testid="discard"]');
});

async function exported(withKeys) {
  await page.setChecked('[data-testid="export-keys"]', withKeys);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export"]')]);
  return fs.readFileSync(await download.path(), 'utf8');
}

test('export leaves keys out unless asked; import names the field at fault and keeps keys', async () => {
  const plain = await exported(false);
  assert.ok(!plain.includes(GOOD_KEY), 'no key in a plain export');
  const doc = JSON.parse(plain);
  assert.deepEqual(doc.providers.map((p) => p.id), ['gateway', 'ollama-local', 'chrome-builtin']);
  assert.equal(doc.providers[0].config.api_key, null);
  assert.ok((await exported(true)).includes(GOOD_KEY));
  await page.setChecked('[data-testid="export-keys"]', false);

  const importing = async (name, text) => {
    await page.setInputFiles('[data-testid="import"]', { name, mimeType: 'application/json', buffer: Buffer.from(text) });
    await page.waitForFunction(() => /^(Not imported|Imported)/.test(document.querySelector('[data-testid="backup-status"]').textContent));
    const status = await page.textContent('[data-testid="backup-status"]');
    await page.evaluate(() => (document.querySelector('[data-testid="backup-status"]').textContent = ''));
    return status;
  };
  assert.match(await importing('bad-url.json', '{"providers":[{"id":"x","config":{"kind":"ollama","model":"m","base_url":"localhost:11434"}}]}'), /^Not imported\. providers\[0\]\.config\.base_url: .*must start with http/);
  assert.match(await importing('bad-type.json', '{"router":{"first_byte_timeout_ms":"soon"}}'), /^Not imported\. router\.first_byte_timeout_ms: expected a whole number, found text/);
  assert.match(await importing('not-json.json', '{"providers": ['), /^Not imported\. this is not valid JSON/);
  assert.deepEqual(await ids(page), ['gateway', 'ollama-local', 'chrome-builtin'], 'a refused import changes nothing');

  // The plain export, reordered, imports back and keeps the stored key.
  doc.providers.reverse();
  assert.match(await importing('mine.json', JSON.stringify(doc)), /^Imported/);
  assert.deepEqual(await ids(page), ['chrome-builtin', 'ollama-local', 'gateway']);
  const stored = await page.evaluate(async () => (await chrome.storage.local.get('settings')).settings);
  assert.equal(stored.providers[2].config.api_key, GOOD_KEY);
});

/** Runs an expression in the content scripts' isolated world of PAGE (through the DevTools protocol). */
async function inContentScript(p, expression) {
  const cdp = await p.context().newCDPSession(p);
  const worlds = [];
  cdp.on('Runtime.executionContextCreated', ({ context }) => worlds.push(context));
  await cdp.send('Runtime.enable');
  const deadline = Date.now() + 5000;
  let world;
  while (!(world = worlds.find((c) => c.auxData?.type === 'isolated' && c.origin.startsWith('chrome-extension://'))) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(world, `no content-script world among ${JSON.stringify(worlds.map((w) => [w.name, w.auxData]))}`);
  const { result, exceptionDetails } = await cdp.send('Runtime.evaluate', { expression, contextId: world.id, awaitPromise: true, returnByValue: true });
  await cdp.detach();
  assert.ok(!exceptionDetails, JSON.stringify(exceptionDetails));
  return result.value;
}

test('keys never reach a web page or a content script', async () => {
  const tab = await browser.context.newPage();
  await tab.goto('https://chatgpt.com/');
  await tab.waitForSelector('html[data-understudy-site]', { timeout: 15000 });
  // The page's own scripts (a hostile script on the site) have no way to message the extension.
  const hostile = await tab.evaluate(() => ({
    runtime: typeof globalThis.chrome?.runtime?.sendMessage,
    storage: typeof globalThis.chrome?.storage,
    leaked: document.documentElement.outerHTML.includes('sk-'),
  }));
  assert.deepEqual(hostile, { runtime: 'undefined', storage: 'undefined', leaked: false });

  // The content scripts' world: every message it could send, and storage, yields no key.
  const answers = await inContentScript(tab, `(async () => {
    const types = ['settings.get', 'settings.export', 'settings.save', 'settings.import', 'settings.reset',
      'settings.page', 'providers.chain', 'providers.last', 'providers.timeline', 'providers.test', 'providers.models', 'hello', 'read_keys'];
    const out = {};
    for (const type of types) {
      try { out[type] = await chrome.runtime.sendMessage({ type, include_keys: true, provider: 'gateway', kind: 'open_ai_compatible', base_url: 'http://127.0.0.1:9/v1', text: '{}', settings: {} }); }
      catch (e) { out[type] = { thrown: String(e.message ?? e) }; }
    }
    try { out.storage = await chrome.storage.local.get(null); } catch (e) { out.storage = { thrown: String(e.message ?? e) }; }
    return out;
  })()`);
  assert.ok(!JSON.stringify(answers).includes(GOOD_KEY), JSON.stringify(answers).slice(0, 2000));
  for (const type of ['settings.get', 'settings.export', 'settings.save', 'settings.import', 'settings.reset', 'providers.models']) {
    assert.equal(answers[type]?.ok, false, `${type}: ${JSON.stringify(answers[type])}`);
    assert.match(answers[type].error, /own pages only/);
  }
  // What the chat page needs (pause, capture, auto mode) is answered, without providers.
  assert.deepEqual(Object.keys(answers['settings.page'].value).sort(), ['answer_in', 'auto_mode', 'capture', 'paused']);
  assert.equal(answers['settings.page'].value.auto_mode.enabled, true);
  assert.ok(answers.storage.thrown, `storage.local is closed to content scripts: ${JSON.stringify(answers.storage).slice(0, 200)}`);
  // The refused messages changed nothing.
  const stored = await page.evaluate(async () => (await chrome.storage.local.get('settings')).settings);
  assert.equal(stored.providers.length, 3);
  await tab.close();
});

test('screenshots at 1280x800 and 400 px wide, light and dark', async () => {
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SHOTS, 'options-1280.png') });
  await page.screenshot({ path: path.join(SHOTS, 'options-1280-full.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: path.join(SHOTS, 'options-1280-dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 400, height: 800 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SHOTS, 'options-400.png') });
  await page.screenshot({ path: path.join(SHOTS, 'options-400-full.png'), fullPage: true });
  // Nothing sticks out sideways at 400 px.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.equal(overflow, 0);
  await page.setViewportSize({ width: 1280, height: 800 });
  const onboarding = await openExtensionPage(browser.context, 'www/onboarding.html');
  await onboarding.screenshot({ path: path.join(SHOTS, 'onboarding-1280.png'), fullPage: true });
  await onboarding.setViewportSize({ width: 400, height: 800 });
  await onboarding.screenshot({ path: path.join(SHOTS, 'onboarding-400.png'), fullPage: true });
  await onboarding.close();
});

test('reset to defaults asks first', async () => {
  await page.click('[data-testid="reset"]');
  await page.click('dialog button[value="cancel"]');
  assert.equal((await ids(page)).length, 3);
  await page.click('[data-testid="reset"]');
  await page.click('[data-testid="reset-confirm"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="provider"]').length === 2);
  assert.deepEqual(await ids(page), ['chrome-builtin', 'ollama-local']);
  const stored = await page.evaluate(async () => (await chrome.storage.local.get('settings')).settings);
  assert.ok(!JSON.stringify(stored).includes(GOOD_KEY), 'the reset removed the key');
});

test('first install opens the onboarding page', async () => {
  const pages = browser.context.pages().map((p) => p.url());
  assert.ok(pages.some((u) => u.endsWith('/www/onboarding.html')), pages.join(', '));
});
