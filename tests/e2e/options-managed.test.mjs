// Managed policy end to end: Chromium reads an organisation's policy for the extension from
// /etc/chromium/policies/managed (the tests run as root), the worker lays it over the user's
// settings, and the options page shows the organisation's values locked.
//
// The policy names a copy of the built extension signed with a key made for this run, so its id
// is unique: no other browser on the machine (another test run) sees the policy, and the file is
// removed when the test ends.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { EXTENSION_DIR, launch, ROOT } from './browser.mjs';

const POLICY_DIR = '/etc/chromium/policies/managed';
const ORG_KEY = 'sk-org-only-91b2';

let copy;
let policyFile;
let id;
let browser;
let page;

function idOf(publicKeyDer) {
  const hex = createHash('sha256').update(publicKeyDer).digest('hex').slice(0, 32);
  return [...hex].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('');
}

const POLICY = {
  providers: [
    {
      id: 'org-gateway',
      label: 'Company gateway',
      enabled: true,
      config: { kind: 'open_ai_compatible', base_url: 'https://llm.corp.example/v1', model: 'corp-gpt', api_key: ORG_KEY },
    },
  ],
  router: { first_byte_timeout_ms: 5000 },
  capture: { temporary_chats: false },
};

let skip = false;
try {
  fs.mkdirSync(POLICY_DIR, { recursive: true });
  fs.accessSync(POLICY_DIR, fs.constants.W_OK);
} catch {
  skip = `cannot write ${POLICY_DIR} (needs root)`;
}

before(async () => {
  if (skip) return;
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ type: 'spki', format: 'der' });
  id = idOf(der);
  copy = fs.mkdtempSync(path.join(os.tmpdir(), 'understudy-managed-ext-'));
  fs.cpSync(EXTENSION_DIR, copy, { recursive: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(copy, 'manifest.json'), 'utf8'));
  manifest.key = der.toString('base64');
  fs.writeFileSync(path.join(copy, 'manifest.json'), JSON.stringify(manifest, null, 2));
  policyFile = path.join(POLICY_DIR, `understudy-e2e-${id}.json`);
  fs.writeFileSync(policyFile, JSON.stringify({ '3rdparty': { extensions: { [id]: POLICY } } }));
  browser = await launch({ extensionDir: copy });
  page = await browser.context.newPage();
  await page.goto(`chrome-extension://${id}/www/options.html`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
});

after(async () => {
  await browser?.close();
  if (policyFile) fs.rmSync(policyFile, { force: true });
  if (copy) fs.rmSync(copy, { recursive: true, force: true });
});

const card = '[data-testid="provider"][data-id="org-gateway"]';

test('the organisation’s provider and settings show as locked', { skip }, async () => {
  // The policy arrives shortly after start: the page follows storage changes.
  await page.waitForSelector(`${card}[data-locked="true"]`, { timeout: 20000 });
  const ids = await page.$$eval('[data-testid="provider"]', (els) => els.map((e) => e.dataset.id));
  assert.deepEqual(ids, ['org-gateway', 'chrome-builtin', 'ollama-local'], 'the organisation’s provider comes first');
  assert.equal(await page.isVisible(`${card} .badge.locked`), true);
  assert.match(await page.textContent(`${card} .badge.locked`), /Set by your organisation/);
  for (const sel of ['[data-testid="base-url"]', '[data-testid="model"]', '[data-testid="key"]', '[data-testid="enabled"]', '[data-testid="remove"]', '[data-testid="up"]', '[data-testid="down"]']) {
    assert.equal(await page.isDisabled(`${card} ${sel}`), true, `${sel} is locked`);
  }
  assert.equal(await page.inputValue(`${card} [data-testid="base-url"]`), 'https://llm.corp.example/v1');
  assert.equal(await page.isDisabled('#first-byte'), true);
  assert.equal(await page.inputValue('#first-byte'), '5');
  assert.match(await page.textContent('#first-byte ~ .locked-note'), /Set by your organisation/);
  assert.equal(await page.isDisabled('#capture-temp'), true);
  assert.equal(await page.isDisabled('#stall'), false, 'what the policy does not set stays editable');
  assert.equal(await page.isVisible('#policy-note'), true);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(ROOT, 'target', 'e2e', 'options-managed-1280.png') });
  // The user's own providers cannot move above the organisation's.
  assert.equal(await page.isDisabled('[data-testid="provider"][data-id="chrome-builtin"] [data-testid="up"]'), true);
});

test('settings.save cannot change what the organisation set', { skip }, async () => {
  const view = (await page.evaluate(() => chrome.runtime.sendMessage({ type: 'settings.get' }))).value;
  assert.deepEqual(view.locks.providers, ['org-gateway']);
  assert.ok(!JSON.stringify(view).includes(ORG_KEY), 'the organisation’s key is never shown');
  assert.deepEqual(view.has_key, ['org-gateway']);
  const attempt = async (edit) => {
    const settings = structuredClone(view.settings);
    edit(settings);
    return (await page.evaluate((s) => chrome.runtime.sendMessage({ type: 'settings.save', settings: s, clear_keys: [] }), settings)).value;
  };
  const moved = await attempt((s) => (s.providers[0].config.base_url = 'https://elsewhere.example/v1'));
  assert.equal(moved.saved, false);
  assert.equal(moved.error.field, 'providers[0]');
  assert.match(moved.error.message, /set by your organisation/);
  const removed = await attempt((s) => s.providers.shift());
  assert.match(removed.error.message, /cannot be removed/);
  const timing = await attempt((s) => (s.router.first_byte_timeout_ms = 60000));
  assert.equal(timing.error.field, 'router.first_byte_timeout_ms');
  // Everything else still saves, and the stored settings keep the organisation's values.
  const fine = await attempt((s) => (s.router.stall_timeout_ms = 9000));
  assert.equal(fine.saved, true, JSON.stringify(fine.error));
  const stored = await page.evaluate(async () => (await chrome.storage.local.get('settings')).settings);
  assert.equal(stored.providers[0].config.base_url, 'https://llm.corp.example/v1');
  assert.equal(stored.router.first_byte_timeout_ms, 5000);
  assert.equal(stored.router.stall_timeout_ms, 9000);
  // An export never carries the organisation's key, even when keys are asked for.
  const exported = (await page.evaluate(() => chrome.runtime.sendMessage({ type: 'settings.export', include_keys: true }))).value.text;
  assert.ok(!exported.includes(ORG_KEY));
});
