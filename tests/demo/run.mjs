// `make run`. With a display: Chromium opens chatgpt.com with the extension loaded, for real use.
// Without one (servers, CI): the built-in demo runs headless against the local fake chatgpt.com, which
// fails the way ChatGPT failed on 2026-02-04; it prints a timeline of what happened, saves screenshots
// under target/demo/ and exits by itself.
import fs from 'node:fs';
import path from 'node:path';
import { launch, openExtensionPage, ROOT } from '../e2e/browser.mjs';
import { startFakeChatgpt } from '../e2e/fake-chatgpt/server.mjs';

const OUT = path.join(ROOT, 'target', 'demo');
const started = Date.now();
const timeline = [];
function log(what) {
  const line = `${String(Date.now() - started).padStart(6)} ms  ${what}`;
  timeline.push(line);
  console.log(line);
}

if (process.env.DISPLAY && !process.env.UNDERSTUDY_DEMO) {
  const { context } = await launch({ headless: false, viewport: null });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto('https://chatgpt.com/');
  console.log('Chromium is open on chatgpt.com with Understudy loaded. Close the window to quit.');
  await new Promise((resolve) => context.on('close', resolve));
  process.exit(0);
}

fs.mkdirSync(OUT, { recursive: true });
const site = await startFakeChatgpt();
const browser = await launch({ chatgptPort: site.port });
let failed = false;
try {
  log(`fake chatgpt.com on 127.0.0.1:${site.port} (strict CSP), Chromium ${browser.context.browser()?.version() ?? ''} with Understudy`);
  const page = await browser.context.newPage();
  await page.goto('https://chatgpt.com/');
  await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
  const core = await page.getAttribute('html', 'data-understudy-core');
  log(`Understudy is alive on chatgpt.com: the content script reached the service worker, Wasm core ${core} answered`);

  log('a first prompt gets a normal answer');
  await page.fill('#prompt-textarea', 'Plan a weekend in Lisbon');
  await page.click('[data-testid="send-button"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="conversation-turn-2"] .markdown')?.textContent.length > 20);

  log('ChatGPT goes down as on 2026-02-04: the conversation endpoint answers 503');
  site.setMode({ mode: 'status', status: 503 });
  await page.fill('#prompt-textarea', 'Now add a day trip to Sintra');
  await page.click('[data-testid="send-button"]');
  await page.waitForSelector('[data-testid="conversation-turn-4"] .text-token-text-error');
  log(`ChatGPT shows: "${(await page.textContent('[data-testid="conversation-turn-4"] .text-token-text-error')).slice(0, 60)}..."`);

  await page.screenshot({ path: path.join(OUT, 'chatgpt-outage.png') });
  log('screenshot: target/demo/chatgpt-outage.png');
  const popup = await openExtensionPage(browser.context, 'www/popup.html');
  await popup.setViewportSize({ width: 360, height: 240 });
  await popup.waitForSelector('#version:not(:empty)');
  await popup.screenshot({ path: path.join(OUT, 'popup.png') });
  log('screenshot: target/demo/popup.png');
} catch (error) {
  failed = true;
  log(`demo failed: ${error?.message ?? error}`);
} finally {
  await browser.close();
  await site.close();
}
fs.writeFileSync(path.join(OUT, 'timeline.txt'), `${timeline.join('\n')}\n`);
console.log(failed ? '\nThe demo did not complete (see above).' : `\nDemo complete: timeline and screenshots in ${path.relative(ROOT, OUT)}/`);
process.exit(failed ? 1 : 0);
