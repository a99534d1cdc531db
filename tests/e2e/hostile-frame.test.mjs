// A hostile chat page against the rescue's controls: the real extension in Chromium on the fake
// chatgpt.com, a local provider that counts every request. The page cannot reach into the rescue
// frame (rescue.test.mjs shows it cannot read or click it); here it tries what is left to it: make
// the frame invisible and take the user's click (clickjacking), cover it with its own lookalike,
// load its own copy of the frame where the user will click, and focus the frame so the user's next
// key press lands on "Continue" (focus hijack). Each attack must ask no provider, and the user's
// own click must still work afterwards.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { extensionId, launch, openExtensionPage } from './browser.mjs';
import { failAfterOneExchange, openChat } from './detect-helpers.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { configure, provider } from './fake-providers/harness.mjs';
import { recordRow } from './reliability.mjs';
import { armed, clickRescue, FRAME, rescueFrame, waitAnswer } from './rescue-frame-helpers.mjs';

const CONTINUE = '[data-testid="understudy-continue"]';
let site;
let fake;
let browser;
let control;
let serial = 0;
const held = { tried: 0, held: 0 };

before(async () => {
  site = await startFakeChatgpt({});
  fake = await startFakeProviders();
  browser = await launch({ chatgptPort: site.port });
  control = await openExtensionPage(browser.context, 'www/options.html');
});

after(async () => {
  await browser?.close();
  await fake?.close();
  await site?.close();
});

/** A provider of its own for each test; a chat whose second prompt fails with a 503. */
async function failedChat(init = null) {
  const name = `frame-${++serial}`;
  fake.plan(name, [{ fault: 'ok', tokenDelayMs: 5 }]);
  await configure(control, [provider(fake, name, 'openai')]);
  site.setMode({ mode: 'healthy' });
  const page = await openChat(browser.context, 'https://chatgpt.com/');
  if (init) await page.evaluate(init);
  await page.bringToFront();
  await failAfterOneExchange(page, site);
  return { page, name };
}

/** Where a control of the rescue frame is on the page's screen (the centre of its box). */
async function spot(page, selector, frameSelector = FRAME) {
  const outer = await (await page.$(frameSelector)).boundingBox();
  const frame = await (await page.$(frameSelector)).contentFrame();
  const inner = await frame.evaluate((sel) => {
    const r = document.querySelector(sel).getBoundingClientRect();
    return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
  }, selector);
  return { x: outer.x + inner.x, y: outer.y + inner.y };
}

function tally(ok) {
  held.tried++;
  if (ok) held.held++;
}

test('clickjacking: a transparent frame, or one covered by the page\'s lookalike, does not act on the user\'s click', async () => {
  const { page, name } = await failedChat();
  const frame = await rescueFrame(page);
  await page.evaluate(() => {
    // The page makes the notice all but invisible and lays it where the user clicks.
    const style = document.createElement('style');
    style.id = 'hostile-opacity';
    style.textContent = 'understudy-notice { opacity: 0.02 !important; }';
    document.head.append(style);
  });
  await page.waitForTimeout(800); // the browser reports the frame not visible
  const at = await spot(page, CONTINUE);
  await page.mouse.click(at.x, at.y);
  await page.waitForTimeout(500);
  const asked = fake.to(name).length;
  const said = await frame.textContent('[data-testid="understudy-rescue-status"]');
  tally(asked === 0);
  assert.equal(asked, 0, 'a click on the transparent frame asked no provider');
  assert.match(said, /did not act: this button was covered, moved or had only just appeared/);

  // The page's lookalike over the frame, letting clicks through to it (pointer-events: none).
  await page.evaluate(() => {
    document.getElementById('hostile-opacity').remove();
    const frameEl = document.querySelector('[data-testid="understudy-notice"]').shadowRoot.querySelector('[data-testid="understudy-rescue-frame"]');
    const r = frameEl.getBoundingClientRect();
    const fake = document.createElement('div');
    fake.id = 'lookalike';
    fake.textContent = 'Send';
    Object.assign(fake.style, { position: 'fixed', left: `${r.x}px`, top: `${r.y}px`, width: `${r.width}px`, height: `${r.height}px`, background: '#fff', pointerEvents: 'none', zIndex: 2147483647 });
    document.body.append(fake);
  });
  await page.waitForTimeout(800);
  await page.mouse.click(at.x, at.y);
  await page.waitForTimeout(500);
  const covered = fake.to(name).length;
  tally(covered === 0);
  assert.equal(covered, 0, 'a click through the lookalike asked no provider');

  // Uncovered, the user's own click works.
  await page.evaluate(() => document.getElementById('lookalike').remove());
  await clickRescue(page, CONTINUE);
  assert.equal((await waitAnswer(page)).state, 'done');
  assert.equal(fake.to(name).length, 1, 'the user\'s click asked once');
  await page.close();
});

test('a copy of the rescue frame that the page loads itself, invisible under the pointer, does not act', async () => {
  const { page, name } = await failedChat();
  await rescueFrame(page);
  const url = `chrome-extension://${extensionId()}/www/rescue-frame.html?theme=light`;
  await page.evaluate((src) => {
    const f = document.createElement('iframe');
    f.id = 'planted';
    f.src = src;
    Object.assign(f.style, { position: 'fixed', left: '100px', top: '100px', width: '600px', height: '120px', opacity: '0.01', border: '0', zIndex: 2147483647 });
    document.body.append(f);
  }, url);
  const planted = await (await page.waitForSelector('#planted')).contentFrame();
  await planted.waitForSelector('body[data-ready="true"]');
  await planted.waitForSelector(CONTINUE);
  await page.waitForTimeout(800);
  const at = await spot(page, CONTINUE, '#planted');
  await page.mouse.click(at.x, at.y);
  await page.waitForTimeout(500);
  const asked = fake.to(name).length;
  tally(asked === 0);
  assert.equal(asked, 0, 'the planted frame asked no provider');
  assert.equal(await planted.evaluate(() => document.querySelector('[data-testid="understudy-answer"]').hidden), true);
  await page.close();
});

test('focus hijack: the page focuses the frame (and Continue had been focused before): the user\'s next keys ask nothing', async () => {
  const { page, name } = await failedChat();
  const frame = await rescueFrame(page);
  await armed(frame, CONTINUE);
  // The user had tabbed to Continue, then went back to the composer.
  await frame.focus(CONTINUE);
  await page.click('#prompt-textarea');
  // The page puts focus back into the frame, in every way it can.
  await page.evaluate(() => {
    const frameEl = document.querySelector('[data-testid="understudy-notice"]').shadowRoot.querySelector('[data-testid="understudy-rescue-frame"]');
    frameEl.focus();
    frameEl.contentWindow.focus();
  });
  await page.waitForTimeout(200);
  const focused = await frame.evaluate(() => document.activeElement?.dataset?.testid ?? document.activeElement?.tagName);
  for (const key of ['Enter', ' ', 'Enter']) await page.keyboard.press(key);
  await page.waitForTimeout(500);
  const asked = fake.to(name).length;
  tally(asked === 0);
  assert.equal(asked, 0, `keys after the page focused the frame asked no provider (focus was on ${focused})`);
  assert.notEqual(focused, 'understudy-continue', 'nothing in the frame kept focus');
  // The user's own keyboard path still works: Tab to Continue, then Enter.
  await frame.focus(CONTINUE);
  await page.keyboard.press('Enter');
  assert.equal((await waitAnswer(page)).state, 'done');
  assert.equal(fake.to(name).length, 1);
  await page.close();
});

test('the figures', () => {
  assert.equal(held.held, held.tried);
  assert.ok(held.tried >= 4);
  recordRow({
    name: 'hostile-frame', kind: 'attacks', tried: held.tried, held: held.held,
    note: 'clickjacking (transparent frame, lookalike cover), a planted copy of the frame, focus hijack: no provider asked',
  });
});
