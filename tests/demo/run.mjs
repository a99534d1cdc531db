// `make run`. With a display: Chromium opens chatgpt.com with the extension loaded, for real use.
// Without one (servers, CI): the built-in demo runs headless against the local fake chatgpt.com, which
// fails the way ChatGPT failed on 2026-02-04; it prints a timeline of what happened, saves screenshots
// under target/demo/ and exits by itself.
import fs from 'node:fs';
import path from 'node:path';
import { launch, openExtensionPage, ROOT, serviceWorker } from '../e2e/browser.mjs';
import { startFakeChatgpt } from '../e2e/fake-chatgpt/server.mjs';
import { startFakeProviders } from '../e2e/fake-providers/server.mjs';
import { clickRescue, rescueFrame, waitAnswer } from '../e2e/rescue-frame-helpers.mjs';

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
// A tiny local OpenAI-compatible server plays the alternative provider (no key leaves the machine).
const local = await startFakeProviders();
const RESCUE_ANSWER = 'Sintra is an easy day trip from Lisbon:\n\n- **Train** from Rossio, about 40 minutes\n- See *Pena Palace* and the Moorish Castle\n- Back in Lisbon for dinner in Alfama';
local.plan('local', [{ fault: 'ok', tokenDelayMs: 25, answer: RESCUE_ANSWER }]);
const browser = await launch({ chatgptPort: site.port });
let failed = false;
try {
  log(`fake chatgpt.com on 127.0.0.1:${site.port} (strict CSP), Chromium ${browser.context.browser()?.version() ?? ''} with Understudy`);
  const control = await openExtensionPage(browser.context, 'www/options.html');
  await control.evaluate(async (base) => {
    await chrome.storage.local.set({ settings: { version: 1, providers: [
      { id: 'local', label: 'Local model', enabled: true, config: { kind: 'open_ai_compatible', base_url: base, model: 'demo', api_key: 'demo-key' } },
      { id: 'backup', label: 'Backup model', enabled: true, config: { kind: 'open_ai_compatible', base_url: base.replace('/local/', '/backup/'), model: 'demo', api_key: 'demo-key' } },
    ] } });
  }, local.base('local', 'openai'));
  await control.close();
  log(`a local OpenAI-compatible provider on 127.0.0.1:${local.port} is configured as the alternative`);
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

  const notice = page.locator('[data-testid="understudy-notice"]');
  await page.waitForSelector('[data-testid="understudy-notice"]');
  const frame = await rescueFrame(page);
  log(`Understudy's notice: "${await page.evaluate(() => document.querySelector('[data-testid="understudy-notice"]').shadowRoot.querySelector('.words').firstChild.textContent)}" (kind ${await notice.getAttribute('data-kind')})`);
  log(`actions (in the rescue frame): ${(await frame.evaluate(() => [...document.querySelectorAll('.bar > button, .bar > .menu-wrap > button')].map((b) => b.textContent).join(' | ')))} | Dismiss`);
  await page.screenshot({ path: path.join(OUT, 'chatgpt-outage.png') });
  await notice.screenshot({ path: path.join(OUT, 'notice.png') });
  log('screenshots: target/demo/chatgpt-outage.png, target/demo/notice.png (1280x800)');

  await frame.click('[data-testid="understudy-providers"]');
  await page.screenshot({ path: path.join(OUT, 'notice-menu.png') });
  await page.keyboard.press('Escape');
  await frame.click('[data-testid="understudy-handoff"]');
  await page.screenshot({ path: path.join(OUT, 'notice-handoff-menu.png') });
  await page.keyboard.press('Escape');
  log('screenshots: target/demo/notice-menu.png, notice-handoff-menu.png (the provider and chat-site menus)');

  const clicked = Date.now();
  await clickRescue(page, '[data-testid="understudy-continue"]');
  await frame.waitForFunction(() => document.querySelector('[data-testid="understudy-answer-body"]').textContent.length > 0);
  log(`one click on "Continue with Local model": first token after ${Date.now() - clicked} ms`);
  await waitAnswer(page);
  const sent = local.to('local')[0]?.json?.messages ?? [];
  log(`the answer streamed in from the local provider; it received ${sent.length} messages: ${sent.map((m) => `${m.role}: "${m.content.slice(0, 28)}"`).join(', ')}`);
  await page.screenshot({ path: path.join(OUT, 'rescue-answer.png') });
  await notice.screenshot({ path: path.join(OUT, 'notice-answer.png') });
  await page.setViewportSize({ width: 400, height: 800 });
  await page.waitForTimeout(100);
  await notice.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(OUT, 'page-400.png') });
  await notice.screenshot({ path: path.join(OUT, 'notice-400.png') });
  await page.setViewportSize({ width: 1280, height: 800 });
  log('screenshots: target/demo/rescue-answer.png, notice-answer.png, page-400.png and notice-400.png (400 px wide)');

  // The same in a dark page: the notice, its menus and the answer follow the page's theme.
  const dark = await browser.context.newPage();
  await dark.goto('https://chatgpt.com/');
  await dark.waitForSelector('html[data-understudy-core]');
  await dark.addStyleTag({ content: 'html, body, body * { background-color: #212121 !important; color: #ececec !important; border-color: #444 !important; }' });
  await dark.evaluate(() => document.documentElement.classList.add('dark'));
  await dark.fill('#prompt-textarea', 'Now add a day trip to Sintra');
  await dark.click('[data-testid="send-button"]');
  await clickRescue(dark, '[data-testid="understudy-continue"]');
  await waitAnswer(dark);
  await (await rescueFrame(dark)).click('[data-testid="understudy-providers"]');
  await dark.screenshot({ path: path.join(OUT, 'notice-dark.png') });
  await dark.close();
  log('screenshot: target/demo/notice-dark.png (a dark page)');

  const panel = await openExtensionPage(browser.context, 'www/sidepanel.html');
  await panel.setViewportSize({ width: 400, height: 800 });
  await panel.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  await panel.screenshot({ path: path.join(OUT, 'sidepanel.png') });
  const options = await openExtensionPage(browser.context, 'www/options.html');
  await options.waitForTimeout(300);
  await options.screenshot({ path: path.join(OUT, 'options.png') });
  log('screenshots: target/demo/sidepanel.png, target/demo/options.png');
  const popup = await openExtensionPage(browser.context, 'www/popup.html');
  await popup.setViewportSize({ width: 360, height: 600 });
  await popup.waitForSelector('#version:not(:empty)');
  await popup.waitForSelector('body[data-ready="true"]');
  await popup.screenshot({ path: path.join(OUT, 'popup.png'), fullPage: true });
  log(`screenshot: target/demo/popup.png (quick switches: ${await popup.evaluate(() => [...document.querySelectorAll('.switch')].map((s) => `${s.querySelector('label').textContent} ${s.querySelector('input').checked ? 'on' : 'off'}`).join(', '))})`);

  // Nothing was lost: the conversation, with the prompt whose send failed, is in the library.
  const lib = await openExtensionPage(browser.context, 'www/library.html');
  await lib.waitForSelector('body[data-ready="1"]', { timeout: 15000 }); // its search box listens from then on
  await lib.fill('#search', 'Sintra');
  await lib.waitForSelector('#results li mark', { timeout: 15000 });
  log(`the library finds the conversation offline: "${(await lib.textContent('#results li .snippet')).trim().slice(0, 70)}"`);
  // The rescued answer is kept in the conversation as a branch, marked with the provider.
  await lib.fill('#search', '');
  // The conversation of the first page (the fake gives each new chat its own id): the one whose
  // title is its first prompt's.
  await lib.click('.row:has-text("Weekend In Lisbon")', { timeout: 5000 }).catch(() => {});
  const by = await lib.waitForSelector('[data-testid="understudy-answered-by"]', { timeout: 5000 }).then((e) => e.textContent()).catch(() => null);
  log(by ? `the conversation in the library keeps the rescued answer: "${by}"` : 'the rescued answer is not shown in the library');
  await lib.screenshot({ path: path.join(OUT, 'library.png') });
  log('screenshot: target/demo/library.png');

  const worker = await serviceWorker(browser.context);
  const kept = await worker.evaluate(async () => chrome.storage.session.get(['detect.timeline', 'rescue.timeline', 'providers.timeline']));
  console.log('\nTimeline kept by the extension:');
  const rows = [
    ...(kept['detect.timeline'] ?? []).map((e) => [e.at, `detection ${e.type}: ${e.kind}${e.evidence ? ` (${typeof e.evidence === 'object' ? `${e.evidence.signal}: "${String(e.evidence.text ?? '').slice(0, 50)}"` : `"${String(e.evidence).slice(0, 50)}"`})` : ''}`]),
    ...(kept['providers.timeline'] ?? []).map((e) => [e.at_ms, `router: ${e.provider} attempt ${e.attempt ?? '-'}: ${typeof e.outcome === 'object' ? [e.outcome.kind, e.outcome.class].filter(Boolean).join(' ') : e.outcome}${e.elapsed_ms != null ? ` after ${e.elapsed_ms} ms` : ''}`]),
    ...(kept['rescue.timeline'] ?? []).map((e) => [e.at, `rescue on ${e.kind}: ${e.provider} ${e.outcome}, first token ${e.first_token_ms} ms`]),
  ].sort((a, b) => a[0] - b[0]);
  for (const [at, what] of rows) console.log(`  ${new Date(at).toISOString().slice(11, 23)}  ${what}`);
} catch (error) {
  failed = true;
  log(`demo failed: ${error?.message ?? error}`);
  for (const p of browser.context.pages()) {
    const notice = await p.evaluate(() => document.querySelector('[data-testid="understudy-notice"]')?.shadowRoot?.textContent ?? null).catch(() => null);
    if (notice !== null) log(`  ${p.url()}: the notice says "${notice.slice(0, 300)}"`);
  }
} finally {
  await browser.close();
  await site.close();
  await local.close();
}
fs.writeFileSync(path.join(OUT, 'timeline.txt'), `${timeline.join('\n')}\n`);
console.log(failed ? '\nThe demo did not complete (see above).' : `\nDemo complete: timeline and screenshots in ${path.relative(ROOT, OUT)}/`);
process.exit(failed ? 1 : 0);
