// The popup's quick switches end to end: "Pause Understudy" and "Answer automatically" are written
// through the worker's settings API, persist, show in the badge and the state line, reach the
// rescue (auto mode switched on here rescues a failing page with no click; paused, nothing is
// carried over), and an organisation's policy locks them.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { EXTENSION_DIR, launch, openExtensionPage, serviceWorker } from './browser.mjs';
import { NOTICE, openChat, sendPrompt } from './detect-helpers.mjs';
import { answerState, waitAnswer } from './rescue-frame-helpers.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { configure, provider } from './fake-providers/harness.mjs';

let site;
let fake;
let browser;
let control;

before(async () => {
  site = await startFakeChatgpt();
  fake = await startFakeProviders();
  browser = await launch({ chatgptPort: site.port });
  control = await openExtensionPage(browser.context, 'www/options.html');
  await control.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
});

after(async () => {
  await browser?.close();
  await fake?.close();
  await site?.close();
});

const stored = () => control.evaluate(async () => (await chrome.storage.local.get('settings')).settings);

async function popup(context = browser.context, url = 'www/popup.html') {
  const page = await openExtensionPage(context, url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  return page;
}

/** Tabs from the top of the popup until `id` has the focus (the switches are keyboard reachable). */
async function tabTo(page, id) {
  for (let i = 0; i < 20; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((want) => document.activeElement?.id === want, id)) return;
  }
  throw new Error(`#${id} is not reachable with Tab`);
}

const switchState = (page) => page.evaluate(() => {
  const s = (id) => {
    const input = document.getElementById(id);
    return { checked: input.checked, disabled: input.disabled, role: input.getAttribute('role'), label: input.labels[0]?.textContent, note: document.getElementById(input.getAttribute('aria-describedby')).textContent };
  };
  return { pause: s('pause'), auto: s('auto'), status: document.getElementById('status').textContent };
});

test('the switches are labelled, keyboard reachable, written through the settings API and persist; paused shows in the state and the badge', async () => {
  const name = 'popup-a';
  fake.plan(name, [{ fault: 'ok', tokenDelayMs: 0 }]);
  await configure(control, [provider(fake, name, 'openai')]);
  // No kind chosen: turning auto mode on chooses service_down and capacity.
  await control.evaluate(async () => {
    const { settings } = await chrome.storage.local.get('settings');
    const none = { service_down: false, capacity: false, generation_error: false, network_error: false, rate_limited: false, conversation_unavailable: false, unknown_error: false };
    await chrome.storage.local.set({ settings: { ...settings, paused: false, auto_mode: { enabled: false, ...none } } });
  });
  const page = await popup();
  let seen = await switchState(page);
  assert.deepEqual([seen.pause.label, seen.pause.role, seen.pause.checked, seen.pause.disabled], ['Pause Understudy', 'switch', false, false]);
  assert.deepEqual([seen.auto.label, seen.auto.role, seen.auto.checked, seen.auto.disabled], ['Answer automatically', 'switch', false, false]);
  assert.match(seen.auto.note, /ChatGPT down, at capacity/);

  await tabTo(page, 'auto');
  await page.keyboard.press('Space');
  await page.waitForFunction(() => document.getElementById('auto-note').textContent.startsWith('Carries on'));
  let s = await stored();
  assert.equal(s.auto_mode.enabled, true);
  assert.deepEqual([s.auto_mode.service_down, s.auto_mode.capacity, s.auto_mode.rate_limited], [true, true, false]);

  await tabTo(page, 'pause');
  await page.keyboard.press('Space');
  await page.waitForFunction(() => document.getElementById('status').dataset.paused === 'true');
  s = await stored();
  assert.equal(s.paused, true);
  assert.equal(s.providers[0].id, name, 'the rest of the settings are kept');
  seen = await switchState(page);
  assert.match(seen.status, /^Paused/);
  const worker = await serviceWorker(browser.context);
  const badge = async () => worker.evaluate(async () => ({ text: await chrome.action.getBadgeText({}), title: await chrome.action.getTitle({}) }));
  for (let i = 0; i < 50 && (await badge()).text !== '⏸'; i++) await page.waitForTimeout(20);
  assert.deepEqual(await badge(), { text: '⏸', title: 'Understudy (paused)' });
  await page.close();

  // A new popup shows what was stored.
  const again = await popup();
  seen = await switchState(again);
  assert.deepEqual([seen.pause.checked, seen.auto.checked], [true, true]);
  assert.match(seen.auto.note, /without asking on: ChatGPT down, at capacity/);
  await again.click('#pause');
  await again.waitForFunction(() => document.getElementById('status').dataset.paused === 'false');
  for (let i = 0; i < 50 && (await badge()).text !== ''; i++) await again.waitForTimeout(20);
  assert.deepEqual(await badge(), { text: '', title: 'Understudy' });
  await again.screenshot({ path: path.join('target', 'e2e', 'popup-switches.png'), fullPage: true }).catch(() => {});
  await again.close();
});

test('auto mode switched on from the popup rescues a failing page with no click; paused, nothing is carried over', async () => {
  const name = 'popup-b';
  fake.plan(name, [{ fault: 'ok', tokenDelayMs: 0 }]);
  await configure(control, [provider(fake, name, 'openai')]);
  await control.evaluate(async () => {
    const { settings } = await chrome.storage.local.get('settings');
    await chrome.storage.local.set({ settings: { ...settings, paused: false, auto_mode: { enabled: false, service_down: true, capacity: true } } });
  });
  const pop = await popup();
  await pop.click('#auto');
  await pop.waitForFunction(() => document.getElementById('auto').checked && document.getElementById('auto-note').textContent.startsWith('Carries on'));
  assert.equal((await stored()).auto_mode.enabled, true);

  const fail = async ({ paused = false } = {}) => {
    site.setMode({ mode: 'healthy' });
    let page;
    if (paused) {
      // Paused, the page sends no observations to wait for: only the content script's start.
      page = await browser.context.newPage();
      await page.goto('https://chatgpt.com/');
      await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
    } else {
      page = await openChat(browser.context, 'https://chatgpt.com/');
    }
    await sendPrompt(page, 'Plan a weekend in Lisbon');
    await page.waitForFunction(() => document.querySelector('[data-testid="conversation-turn-2"] .markdown')?.textContent.endsWith('streams it.'));
    await page.waitForTimeout(200);
    site.setMode({ mode: 'status', status: 503 });
    await sendPrompt(page, 'Now add a day trip to Sintra');
    if (!paused) await page.waitForSelector(NOTICE, { timeout: 10000 });
    return page;
  };
  const page = await fail();
  const { state, auto, provider: by } = await waitAnswer(page);
  const seen = { state, auto, provider: by };
  assert.deepEqual(seen, { state: 'done', auto: 'true', provider: name });
  assert.equal(fake.to(name).length, 1, 'asked once, with no click');
  await page.close();

  // Paused from the popup: the same failure carries nothing over.
  await pop.click('#pause');
  await pop.waitForFunction(() => document.getElementById('status').dataset.paused === 'true');
  const paused = await fail({ paused: true });
  await paused.waitForTimeout(800);
  assert.equal(fake.to(name).length, 1, 'no provider asked while paused');
  assert.equal(await paused.$(NOTICE + '[data-kind]'), null, 'no notice while paused');
  const answer = (await answerState(paused))?.state ?? null;
  assert.notEqual(answer, 'streaming');
  assert.notEqual(answer, 'done');
  await paused.close();
  await pop.click('#pause');
  await pop.waitForFunction(() => document.getElementById('status').dataset.paused === 'false');
  await pop.close();
});

// ---- an organisation's policy locks the switches --------------------------------------------------

const POLICY_DIR = '/etc/chromium/policies/managed';
let policySkip = false;
try {
  fs.mkdirSync(POLICY_DIR, { recursive: true });
  fs.accessSync(POLICY_DIR, fs.constants.W_OK);
} catch {
  policySkip = `cannot write ${POLICY_DIR} (needs root)`;
}

test('switches set by an organisation show locked, with the reason, and the worker refuses to change them', { skip: policySkip }, async () => {
  // A copy of the extension signed with a key made for this run: the policy names only it.
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const id = [...createHash('sha256').update(der).digest('hex').slice(0, 32)].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('');
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'understudy-popup-ext-'));
  fs.cpSync(EXTENSION_DIR, copy, { recursive: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(copy, 'manifest.json'), 'utf8'));
  manifest.key = der.toString('base64');
  fs.writeFileSync(path.join(copy, 'manifest.json'), JSON.stringify(manifest, null, 2));
  const policyFile = path.join(POLICY_DIR, `understudy-e2e-popup-${id}.json`);
  fs.writeFileSync(policyFile, JSON.stringify({ '3rdparty': { extensions: { [id]: { paused: false, auto_mode: { enabled: true, service_down: true, capacity: false } } } } }));
  let managed;
  try {
    managed = await launch({ extensionDir: copy });
    const page = await managed.context.newPage();
    await page.goto(`chrome-extension://${id}/www/popup.html`);
    // The policy arrives shortly after start: the popup follows storage changes.
    await page.waitForFunction(() => document.querySelectorAll('.switch[data-locked="true"]').length === 2, null, { timeout: 20000 });
    const seen = await switchState(page);
    assert.deepEqual([seen.pause.checked, seen.auto.checked, seen.pause.disabled, seen.auto.disabled], [false, true, true, true]);
    assert.match(seen.pause.note, /Set by your organisation/);
    assert.match(seen.auto.note, /Set by your organisation/);
    assert.match(seen.auto.note, /on: ChatGPT down, a failed answer\./); // the kinds the policy leaves to the user keep their defaults
    const locked = await page.evaluate(() => [...document.querySelectorAll('.switch')].map((s) => s.dataset.locked));
    assert.deepEqual(locked, ['true', 'true']);
    const refused = (await page.evaluate(() => chrome.runtime.sendMessage({ type: 'settings.quick', paused: true }))).value;
    assert.equal(refused.saved, false);
    assert.match(refused.error.message, /organisation/);
    await page.close();
  } finally {
    await managed?.close();
    fs.rmSync(policyFile, { force: true });
    fs.rmSync(copy, { recursive: true, force: true });
  }
});
