// Accessibility end to end: axe-core (WCAG 2.x A and AA rules) on every extension page and on the
// in-page notice with its rescue frame, each in the light and the dark theme, in the states a person
// meets them: the options page with a field error and the reset dialog open, the side panel with an
// answer streamed from a provider, the library empty and with a conversation open. A violation of
// impact serious or critical fails the test, with its id, targets and axe's summary.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { extensionId } from './browser.mjs';
import { chatStage } from './fixture.mjs';
import { ask, configure, openPanel, provider } from './fake-providers/harness.mjs';
import { NOTICE, sendPrompt, waitObserved } from './detect-helpers.mjs';
import { rescueFrame, waitAnswer, clickRescue } from './rescue-frame-helpers.mjs';
import { axeViolations, blocking, describe } from './a11y-helpers.mjs';

const THEMES = ['light', 'dark'];
const ANSWER_MD = '# Lisbon\n\nA **weekend** plan:\n\n1. Alfama at dawn\n2. `tram 28`\n\n| Day | Plan |\n|---|---|\n| Sat | Belém |\n\n> Bring water.\n\n```js\nconsole.log("ok")\n```\n';
let stage;
let site;
let fake;
let browser;
let control;

before(async () => {
  stage = await chatStage({ site: { defaults: { conversationId: '6a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b' } } });
  ({ site, fake, browser, control } = stage);
  fake.plan('local', [{ fault: 'ok', tokenDelayMs: 1, answer: ANSWER_MD }]);
  await configure(control, [provider(fake, 'local', 'openai'), provider(fake, 'spare', 'openai')]);
});

after(async () => {
  await stage?.close();
});

/**
 * Runs axe on `target` and fails with every serious or critical violation, described; the lesser
 * ones (moderate, minor) are printed, as the test's diagnostics.
 */
async function check(target, label, options) {
  const { passed, violations } = await axeViolations(target, options);
  const bad = blocking(violations);
  const minor = violations.filter((v) => !bad.includes(v));
  if (minor.length) console.log(`# ${label}: ${describe(minor).replace(/\n/g, '\n# ')}`);
  assert.deepEqual(bad.map((v) => v.id), [], `${label}: ${bad.length} serious or critical violations\n${describe(bad)}`);
  // The run judged something (a scope that matched nothing, or a shadow root axe did not enter, would pass empty).
  assert.ok(passed.includes('color-contrast'), `${label}: axe checked no text contrast (passed: ${passed.join(', ')})`);
  return violations;
}

/** An extension page in a theme, ready (`ready` a selector it shows once wired). */
async function open(page, theme, ready = 'body') {
  const tab = await browser.context.newPage();
  await tab.emulateMedia({ colorScheme: theme });
  await tab.goto(`chrome-extension://${extensionId()}/${page}`);
  await tab.waitForSelector(ready, { timeout: 15000 });
  return tab;
}

for (const theme of THEMES) {
  test(`popup (${theme})`, async () => {
    const page = await open('www/popup.html', theme, '#pause:not([disabled])');
    await check(page, `popup ${theme}`);
    await page.close();
  });

  test(`options, with a field error and the reset dialog (${theme})`, async () => {
    const page = await open('www/options.html', theme, 'body[data-ready="true"]');
    await check(page, `options ${theme}`);
    // A field error: a timeout out of range, shown when the field is left.
    await page.fill('#first-byte', '-5');
    await page.press('#first-byte', 'Tab');
    await page.click('[data-testid="save"]');
    await page.waitForSelector('#first-byte[aria-invalid="true"]', { timeout: 5000 });
    await check(page, `options with a field error ${theme}`);
    await page.click('[data-testid="discard"]');
    await page.click('[data-testid="reset"]');
    await page.waitForSelector('#reset-dialog[open]');
    await check(page, `options with the reset dialog ${theme}`);
    await page.keyboard.press('Escape');
    await page.close();
  });

  test(`side panel with a streamed answer (${theme})`, async () => {
    const page = await openPanel(browser.context);
    await page.emulateMedia({ colorScheme: theme });
    await check(page, `side panel empty ${theme}`);
    fake.plan('local', [{ fault: 'ok', tokenDelayMs: 1, answer: ANSWER_MD }]);
    const seen = await ask(page, 'Plan a weekend in Lisbon');
    assert.equal(seen.state, 'done');
    await check(page, `side panel with an answer ${theme}`);
    await page.close();
  });

  test(`library, empty and with a conversation open (${theme})`, async () => {
    let page = await open('www/library.html', theme, 'body[data-listed="1"]');
    await page.evaluate(() => window.understudyLibrary.db.deleteAll());
    await page.reload();
    await page.waitForSelector('body[data-listed="1"]');
    await check(page, `library ${theme}`);
    await page.evaluate(() => window.understudyLibrary.db.applyCaptures([1, 2, 3].map((n) => ({
      kind: 'turn', conversation_id: `a11y-${n}`, current: `a-${n}`,
      nodes: [
        { parent: null, message: { id: `u-${n}`, author: { role: 'user' }, content: { content_type: 'text', parts: [`Plan a weekend in Lisbon, take ${n}`] }, status: 'finished_successfully', create_time: n } },
        { parent: `u-${n}`, message: { id: `a-${n}`, author: { role: 'assistant' }, content: { content_type: 'text', parts: ['# Lisbon\n\nA **weekend** plan with `code` and a [link](https://example.com).'] }, status: 'finished_successfully', create_time: n + 1 } },
      ],
    }))));
    await page.reload();
    await page.waitForSelector('body[data-listed="1"]');
    await page.waitForSelector('#list .row[data-id="a11y-2"]');
    await page.click('#list .row[data-id="a11y-2"]');
    await page.waitForSelector('#view .msg');
    await check(page, `library with a conversation open ${theme}`);
    await page.close();
  });

  test(`onboarding (${theme})`, async () => {
    const page = await open('www/onboarding.html', theme, 'main');
    await check(page, `onboarding ${theme}`);
    await page.close();
  });

  test(`the notice and its rescue frame, with a menu open and an answer (${theme})`, async () => {
    site.setMode({ mode: 'healthy' });
    const page = await browser.context.newPage();
    await page.emulateMedia({ colorScheme: theme });
    if (theme === 'dark') {
      // ChatGPT marks its dark theme with html.dark (what the notice reads).
      await page.addInitScript(() => {
        document.documentElement.classList.add('dark');
        addEventListener('DOMContentLoaded', () => { document.body.style.background = '#212121'; document.body.style.color = '#ececec'; });
      });
    }
    await page.goto('https://chatgpt.com/');
    await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
    await waitObserved(browser.context, page);
    await sendPrompt(page, 'Plan a weekend in Lisbon');
    await page.waitForFunction(() => document.querySelector('[data-testid="conversation-turn-2"] .markdown')?.textContent.length > 0);
    await page.waitForTimeout(300);
    site.setMode({ mode: 'status', status: 503 });
    await sendPrompt(page, 'Now add a day trip to Sintra');
    await page.waitForSelector(NOTICE, { timeout: 10000 });
    let frame = await rescueFrame(page);
    await check(page, `notice ${theme}`, { include: NOTICE });
    await check(frame, `rescue frame ${theme}`);
    // A menu open (opened from the keyboard: its button takes ArrowDown; the frame as it is now, a
    // detection that changed builds it anew).
    frame = await rescueFrame(page);
    await frame.press('[data-testid="understudy-providers"]', 'ArrowDown');
    await frame.waitForSelector('[role="menu"]:not([hidden])', { timeout: 5000 });
    await check(frame, `rescue frame with a menu open ${theme}`);
    await frame.press('[role="menu"]:not([hidden]) [role="menuitem"]', 'Escape');
    // An answer streamed into the frame.
    fake.plan('local', [{ fault: 'ok', tokenDelayMs: 1, answer: ANSWER_MD }]);
    frame = await clickRescue(page, '[data-testid="understudy-continue"]');
    const answer = await waitAnswer(page);
    assert.equal(answer.state, 'done', JSON.stringify(answer));
    await check(await rescueFrame(page), `rescue frame with an answer ${theme}`);
    await check(page, `notice with an answer ${theme}`, { include: NOTICE });
    site.setMode({ mode: 'healthy' });
    await page.close();
  });
}
