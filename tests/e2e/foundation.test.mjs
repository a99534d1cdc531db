// The foundation: the real extension in Chromium, on a strict-CSP impersonation of chatgpt.com.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage, ROOT, serviceWorker } from './browser.mjs';
import { startFakeChatgpt, STRICT_CSP } from './fake-chatgpt/server.mjs';

const CORE_VERSION = /^version = "([^"]+)"/m.exec(fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8'))[1];
let site;
let browser;

before(async () => {
  site = await startFakeChatgpt();
  browser = await launch({ chatgptPort: site.port });
});

after(async () => {
  await browser?.close();
  await site?.close();
});

test('the content script starts on chatgpt.com and gets an answer computed by the Wasm core', async () => {
  const page = await browser.context.newPage();
  const response = await page.goto('https://chatgpt.com/');
  // The page really is strict: no 'wasm-unsafe-eval' for anything running in it.
  assert.equal(response.headers()['content-security-policy'], STRICT_CSP);
  assert.doesNotMatch(STRICT_CSP, /wasm-unsafe-eval/);
  // The attributes are written only after the service worker's Wasm core answered the content script.
  await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
  assert.equal(await page.getAttribute('html', 'data-understudy-core'), CORE_VERSION);
  assert.equal(await page.getAttribute('html', 'data-understudy-site'), 'chatgpt');
  await page.close();
});

test('the content script also runs on chat.openai.com', async () => {
  const page = await browser.context.newPage();
  await page.goto('https://chat.openai.com/');
  await page.waitForSelector('html[data-understudy-site="chatgpt"]', { timeout: 15000 });
  await page.close();
});

test('the service worker runs the Wasm core and rejects forged messages', async () => {
  const worker = await serviceWorker(browser.context);
  // Ask the worker's own message handler, as an extension page would.
  const page = await openExtensionPage(browser.context, 'www/popup.html');
  const forged = await page.evaluate(() => chrome.runtime.sendMessage({ type: 'read_keys' }));
  assert.equal(forged.ok, false);
  assert.match(forged.error, /malformed message/);
  const hello = await page.evaluate(() => chrome.runtime.sendMessage({ type: 'hello', url: 'https://example.com/' }));
  assert.deepEqual(hello, { ok: true, value: { type: 'hello', core_version: CORE_VERSION, site: null } });
  assert.ok(worker.url().endsWith('/background.js'));
  await page.close();
});

for (const [file, selector, expected] of [
  ['www/popup.html', '#version', `Core ${CORE_VERSION}`],
  ['www/options.html', '#version', `Understudy core ${CORE_VERSION}`],
  ['www/sidepanel.html', '#status', `core ${CORE_VERSION}`],
]) {
  test(`${file} loads the Wasm core`, async () => {
    const page = await openExtensionPage(browser.context, file);
    const errors = [];
    page.on('pageerror', (e) => errors.push(e));
    await page.waitForFunction(
      ([sel, text]) => document.querySelector(sel)?.textContent.includes(text),
      [selector, expected],
      { timeout: 15000 },
    );
    assert.deepEqual(errors, []);
    await page.close();
  });
}
