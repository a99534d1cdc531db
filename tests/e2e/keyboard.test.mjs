// The keyboard alone, end to end: the in-page notice (Tab into it and through its rescue frame's
// controls, Enter on them, a menu opened and closed, Esc and Dismiss giving focus back to the chat
// rather than to nowhere) and the options page (every control reached by Tab in document order, a
// focused field never under the fixed save bar, focus always shown by a ring of ≥ 3:1 against the
// page and the control), in the light and the dark theme.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { extensionId, openExtensionPage } from './browser.mjs';
import { chatStage } from './fixture.mjs';
import { configure, provider } from './fake-providers/harness.mjs';
import { NOTICE, sendPrompt, waitObserved } from './detect-helpers.mjs';
import { armed, FRAME, frameSettled, rescueFrame, waitAnswer } from './rescue-frame-helpers.mjs';
import { focusInfo, indicatorContrast, parseColor } from './a11y-helpers.mjs';

let stage;
let site;
let fake;
let browser;
let control;

before(async () => {
  stage = await chatStage({ site: { defaults: { conversationId: '6a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b' } } });
  ({ site, fake, browser, control } = stage);
  await configure(control, [provider(fake, 'local', 'openai'), provider(fake, 'spare', 'openai')]);
});

after(async () => {
  await stage?.close();
});

// ---- the notice ----

/**
 * Where keyboard focus is, as a person would say it: `frame:<testid>` (a control of the rescue
 * frame), `notice:<testid>` (the notice's own controls), `page:<id or testid or tag>`, or `none`.
 */
async function where(page) {
  const outer = await page.evaluate((sel) => {
    const a = document.activeElement;
    const host = document.querySelector(sel);
    const inner = host && a === host ? host.shadowRoot.activeElement : a;
    if (inner?.matches?.('iframe[data-testid="understudy-rescue-frame"]')) return 'frame';
    if (host && a === host) return `notice:${inner?.getAttribute('data-testid') ?? 'host'}`;
    if (!a || a === document.body || a === document.documentElement) return 'none';
    return `page:${a.id || a.getAttribute('data-testid') || a.tagName.toLowerCase()}`;
  }, NOTICE);
  if (outer !== 'frame') return outer;
  const frame = await (await page.$(FRAME)).contentFrame();
  const inner = await frame.evaluate(() => {
    const a = document.activeElement;
    return a && a !== document.body ? a.getAttribute('data-testid') ?? a.tagName.toLowerCase() : 'none';
  });
  return `frame:${inner}`;
}

/** The notice's own background (behind the transparent rescue frame), as [r, g, b, 1]. */
async function noticeBackground(page) {
  const css = await page.evaluate((sel) => getComputedStyle(document.querySelector(sel).shadowRoot.querySelector('.box')).backgroundColor, NOTICE);
  return parseColor(css);
}

/** Fails unless the focused control (in the page, the notice or the frame) shows a ring of ≥ 3:1. */
async function assertFocusShown(page, label) {
  const at = await where(page);
  const target = at.startsWith('frame:') ? await (await page.$(FRAME)).contentFrame() : page;
  const info = await focusInfo(target);
  assert.ok(info, `${label}: nothing focused (${at})`);
  const base = at.startsWith('frame:') || at.startsWith('notice:') ? await noticeBackground(page) : null;
  const ring = indicatorContrast(info, base);
  assert.ok(ring, `${label}: ${at} shows no focus (outline ${JSON.stringify(info.outline)}, box-shadow ${info.boxShadow})`);
  assert.ok(ring.around >= 3, `${label}: ${at}'s focus ring is ${ring.around.toFixed(2)}:1 against the background`);
  assert.ok(ring.control >= 3, `${label}: ${at}'s focus ring is ${ring.control.toFixed(2)}:1 against the control`);
  return at;
}

// Where focus may sensibly return when the notice goes: the composer, or the Send button the person
// had just pressed when the notice came.
const BEFORE = ['page:prompt-textarea', 'page:composer-submit-button'];

/** A chat on the fake chatgpt.com whose second prompt fails: the notice with its rescue frame. */
async function failedChat(theme) {
  site.setMode({ mode: 'healthy' });
  const page = await browser.context.newPage();
  await page.emulateMedia({ colorScheme: theme });
  if (theme === 'dark') await page.addInitScript(() => document.documentElement.classList.add('dark'));
  await page.goto('https://chatgpt.com/');
  await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
  await waitObserved(browser.context, page);
  await sendPrompt(page, 'Plan a weekend in Lisbon');
  await page.waitForFunction(() => document.querySelector('[data-testid="conversation-turn-2"] .markdown')?.textContent.length > 0);
  await page.waitForTimeout(300);
  site.setMode({ mode: 'status', status: 503 });
  await page.focus('#prompt-textarea'); // the person was typing
  await sendPrompt(page, 'Now add a day trip to Sintra');
  await page.focus('#prompt-textarea');
  await page.waitForSelector(NOTICE, { timeout: 10000 });
  const frame = await rescueFrame(page);
  await frameSettled(page);
  for (const id of ['understudy-continue', 'understudy-providers', 'understudy-handoff', 'understudy-open-cache']) {
    await armed(frame, `[data-testid="${id}"]`);
  }
  await page.focus('#prompt-textarea');
  return { page, frame };
}

/** Presses `key` until focus is at `target` (at most `max` times); returns the stops on the way. */
async function pressUntil(page, key, target, max = 20) {
  const stops = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(key);
    const at = await where(page);
    stops.push(at);
    if (at === target) return stops;
  }
  assert.fail(`${key} never reached ${target}: ${stops.join(' → ')}`);
}

for (const theme of ['light', 'dark']) {
  test(`the notice with the keyboard alone (${theme})`, async () => {
    fake.plan('local', [{ fault: 'ok', tokenDelayMs: 2 }]);
    fake.plan('spare', [{ fault: 'ok', tokenDelayMs: 2 }]);
    const { page, frame } = await failedChat(theme);
    // The notice sits before the composer: Shift+Tab from the composer reaches its Dismiss, then the
    // frame's controls, last to first.
    const back = await pressUntil(page, 'Shift+Tab', 'frame:understudy-continue');
    const inNotice = back.filter((s) => s.startsWith('notice:') || s.startsWith('frame:'));
    assert.deepEqual(inNotice, ['notice:understudy-dismiss', 'frame:understudy-open-cache', 'frame:understudy-handoff', 'frame:understudy-providers', 'frame:understudy-continue'], back.join(' → '));
    // Tab forward walks them in reading order, each with its focus shown.
    await assertFocusShown(page, theme);
    const forward = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      forward.push(await assertFocusShown(page, theme));
    }
    assert.deepEqual(forward, ['frame:understudy-providers', 'frame:understudy-handoff', 'frame:understudy-open-cache', 'notice:understudy-dismiss']);

    // A menu: Enter opens it on its first item, arrows move, Esc closes it back onto its button.
    await pressUntil(page, 'Shift+Tab', 'frame:understudy-providers');
    await page.keyboard.press('Enter');
    assert.equal(await where(page), 'frame:understudy-provider-item');
    assert.equal(await frame.getAttribute('[data-testid="understudy-providers"]', 'aria-expanded'), 'true');
    await assertFocusShown(page, `${theme} menu item`);
    await page.keyboard.press('Escape');
    assert.equal(await where(page), 'frame:understudy-providers', 'Esc returns focus to the menu button');
    assert.equal(await frame.getAttribute('[data-testid="understudy-providers"]', 'aria-expanded'), 'false');
    // Enter on a menu item acts, and focus stays on the menu's button (not lost to the page).
    await page.keyboard.press('Enter');
    await frameSettled(page);
    await armed(frame, '[data-testid="understudy-provider-item"]');
    await page.keyboard.press('Enter');
    assert.equal(await where(page), 'frame:understudy-providers', 'after a pick, focus is on the menu button');
    const picked = await waitAnswer(page);
    assert.equal(picked.state, 'done', JSON.stringify(picked));
    assert.equal(picked.provider, 'spare');

    // Enter on "Continue with …" asks the first provider; focus stays on the button.
    await pressUntil(page, 'Shift+Tab', 'frame:understudy-continue');
    // The answer grew the frame: the button acts once the browser saw it still and visible again.
    await frameSettled(page);
    await armed(frame, '[data-testid="understudy-continue"]');
    await page.keyboard.press('Enter');
    assert.equal(await where(page), 'frame:understudy-continue');
    const answer = await waitAnswer(page);
    assert.equal(answer.provider, 'local', JSON.stringify(answer));

    // Dismiss with Enter: the notice goes and focus returns to the composer it came from.
    await pressUntil(page, 'Tab', 'notice:understudy-dismiss', 30);
    await page.keyboard.press('Enter');
    await page.waitForSelector(NOTICE, { state: 'detached', timeout: 5000 });
    assert.ok(BEFORE.includes(await where(page)), `focus returns to the composer or what had it before the notice: ${await where(page)}`);
    site.setMode({ mode: 'healthy' });
    await page.close();
  });
}

test('Esc on the notice dismisses it and gives focus back to the composer', async () => {
  const { page } = await failedChat('light');
  await pressUntil(page, 'Shift+Tab', 'notice:understudy-dismiss');
  await page.keyboard.press('Escape');
  await page.waitForSelector(NOTICE, { state: 'detached', timeout: 5000 });
  assert.ok(BEFORE.includes(await where(page)), await where(page));
  site.setMode({ mode: 'healthy' });
  await page.close();
});

test('the notice announces itself politely', async () => {
  const { page } = await failedChat('light');
  const live = await page.evaluate((sel) => {
    const box = document.querySelector(sel).shadowRoot.querySelector('.box');
    return { role: box.getAttribute('role'), live: box.getAttribute('aria-live') };
  }, NOTICE);
  assert.deepEqual(live, { role: 'status', live: 'polite' });
  site.setMode({ mode: 'healthy' });
  await page.close();
});

// ---- the options page ----

/** Every control a person can Tab to, in document order (one radio per group: the checked one). */
function tabbable(page) {
  return page.evaluate(() => {
    const sel = 'a[href], button, input, select, textarea, summary, [tabindex]';
    const seen = new Set();
    const out = [];
    for (const el of document.querySelectorAll(sel)) {
      if (el.disabled || el.type === 'hidden' || el.tabIndex < 0 || el.closest('[hidden], dialog:not([open]), template')) continue;
      if (!el.checkVisibility({ visibilityProperty: true })) continue;
      if (el.type === 'radio') {
        if (seen.has(el.name)) continue;
        const group = [...document.querySelectorAll(`input[type="radio"][name="${CSS.escape(el.name)}"]`)];
        const checked = group.find((r) => r.checked) ?? group[0];
        seen.add(el.name);
        out.push(checked.id || checked.getAttribute('data-testid'));
        continue;
      }
      el.dataset.kbd ??= String(out.length);
      out.push(el.id || el.getAttribute('data-testid') || `${el.tagName.toLowerCase()}#${el.dataset.kbd}`);
    }
    return out;
  });
}

/** Focus on the options page: the control, its box, the save bar's top. */
function optionsFocus(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const r = el.getBoundingClientRect();
    return {
      name: el.id || el.getAttribute('data-testid') || `${el.tagName.toLowerCase()}#${el.dataset.kbd}`,
      top: r.top,
      bottom: r.bottom,
      height: r.height,
      inBar: !!el.closest('.savebar'),
      hiddenInput: r.width <= 1,
      bar: document.querySelector('.savebar').getBoundingClientRect().top,
    };
  });
}

for (const [theme, viewport] of [['light', { width: 1280, height: 800 }], ['dark', { width: 480, height: 640 }]]) {
  test(`options with the keyboard alone: every control in order, never under the save bar, focus shown (${theme}, ${viewport.width}×${viewport.height})`, async () => {
    const page = await browser.context.newPage();
    await page.setViewportSize(viewport);
    await page.emulateMedia({ colorScheme: theme });
    await page.goto(`chrome-extension://${extensionId()}/www/options.html`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('[data-testid="provider"]');
    const expected = await tabbable(page);
    assert.ok(expected.length > 20, `the page has its controls (${expected.length})`);
    const reached = [];
    for (let i = 0; i < expected.length + 3 && reached.length < expected.length; i++) {
      await page.keyboard.press('Tab');
      const at = await optionsFocus(page);
      if (!at) continue;
      reached.push(at.name);
      // Focus not obscured: a control outside the save bar ends above the bar's top edge.
      if (!at.inBar) {
        assert.ok(at.bottom <= at.bar + 0.5, `${at.name} is under the save bar (its bottom ${at.bottom.toFixed(1)}, the bar's top ${at.bar.toFixed(1)})`);
        assert.ok(at.top >= 0 || at.hiddenInput, `${at.name} is above the viewport (top ${at.top})`);
      }
      const info = await focusInfo(page);
      const ring = indicatorContrast(info);
      assert.ok(ring, `${at.name} shows no focus (outline ${JSON.stringify(info.outline)}, box-shadow ${info.boxShadow})`);
      assert.ok(ring.around >= 3, `${at.name}: focus ring ${ring.around.toFixed(2)}:1 against the background`);
      assert.ok(ring.control >= 3, `${at.name}: focus ring ${ring.control.toFixed(2)}:1 against the control`);
    }
    assert.deepEqual(reached, expected, 'Tab reaches every control, in document order');
    await page.close();
  });
}

// ---- the library ----

test('the library with the keyboard: Import reached by Tab, rows named and focusable, arrows carry focus', async () => {
  const page = await openExtensionPage(browser.context, 'www/library.html');
  await page.waitForSelector('body[data-listed="1"]');
  await page.evaluate(() => window.understudyLibrary.db.applyCaptures([1, 2].map((n) => ({
    kind: 'turn', conversation_id: `kbd-${n}`, current: `u-${n}`,
    nodes: [{ parent: null, message: { id: `u-${n}`, author: { role: 'user' }, content: { content_type: 'text', parts: [`Keyboard take ${n}`] }, status: 'finished_successfully', create_time: n } }],
  }))));
  await page.reload();
  await page.waitForSelector('#list .row[data-id="kbd-1"]');
  const stops = [];
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => {
      const a = document.activeElement;
      return { id: a.id, cls: a.className, label: a.getAttribute('aria-label') ?? a.textContent.trim(), row: a.closest('.row')?.dataset.id ?? null };
    });
    stops.push(at);
    const ring = indicatorContrast(await focusInfo(page));
    assert.ok(ring && ring.around >= 3 && ring.control >= 3, `focus shown on ${JSON.stringify(at)}: ${JSON.stringify(ring)}`);
    if (at.row) break;
  }
  assert.ok(stops.some((s) => s.id === 'import-button'), `Import is in the Tab order: ${JSON.stringify(stops)}`);
  const check = stops.at(-1);
  assert.equal(check.row, 'kbd-2', 'the newest row comes first');
  assert.match(check.label, /Select .Keyboard take 2./, 'the checkbox is named after its conversation');
  await page.keyboard.press('Tab');
  const title = await page.evaluate(() => ({ tag: document.activeElement.tagName, row: document.activeElement.closest('.row')?.dataset.id }));
  assert.deepEqual(title, { tag: 'BUTTON', row: 'kbd-2' });
  const ring = indicatorContrast(await focusInfo(page));
  assert.ok(ring && ring.around >= 3 && ring.control >= 3, `the row's focus is shown: ${JSON.stringify(ring)}`);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#view .msg');
  assert.equal(await page.getAttribute('#list .row[data-id="kbd-2"] button.title', 'aria-current'), 'true');
  await page.keyboard.press('ArrowDown');
  await page.waitForFunction(() => document.activeElement.closest('.row')?.dataset.id === 'kbd-1');
  assert.equal(await page.getAttribute('#list .row[data-id="kbd-1"] button.title', 'aria-current'), 'true');
  assert.equal(await page.getAttribute('#list .row[data-id="kbd-2"] button.title', 'aria-current'), null);
  await page.close();
});
