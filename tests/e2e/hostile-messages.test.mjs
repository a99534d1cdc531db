// What a chat page may ask the worker. A chat site's own scripts can drive our content script (a
// page can forge anything a content script hears), so a content script is only as trusted as the
// page: here, from the content scripts' isolated world on our chatgpt.com (reached through the
// DevTools protocol, as the browser's own debugger does; nothing test-only ships), every message
// reserved to Understudy's own pages is refused and changes nothing, while the same messages from
// an extension page work. And a settings file that moves a provider to another host does not take
// the stored key with it: the import says so by the provider's name.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { recordRow } from './reliability.mjs';
import { launch, openExtensionPage } from './browser.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';

const KEY = 'sk-hostile-messages-5e0b';
const OTHER_KEY = 'sk-kept-at-home-91c2';
const CONVERSATION = '6a1f0c2e-0000-4000-8000-00000000c0de';

let site;
let browser;
let control; // the options page: an extension page
let chat; // a tab on chatgpt.com with our content scripts

/** Runs `expression` (a promise) in the content scripts' isolated world of page `p`. */
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
  assert.ok(world, 'the content scripts run in an isolated world');
  const { result, exceptionDetails } = await cdp.send('Runtime.evaluate', { expression, contextId: world.id, awaitPromise: true, returnByValue: true });
  await cdp.detach();
  assert.ok(!exceptionDetails, JSON.stringify(exceptionDetails));
  return result.value;
}

/** Sends each message from the chat page's content script; answers by message type. */
function fromChat(messages) {
  return inContentScript(chat, `(async () => {
    const out = {};
    for (const m of ${JSON.stringify(messages)}) {
      try { out[m.type] = await chrome.runtime.sendMessage(m); } catch (e) { out[m.type] = { thrown: String(e.message ?? e) }; }
    }
    return out;
  })()`);
}

const send = (p, message) => p.evaluate((m) => chrome.runtime.sendMessage(m), message);
const stored = () => control.evaluate(async () => (await chrome.storage.local.get('settings')).settings);
const count = async () => (await send(control, { type: 'cache.status' })).value.count;

function provider(id, label, baseUrl, key) {
  return { id, label, enabled: true, config: { kind: 'open_ai_compatible', base_url: baseUrl, model: 'm', api_key: key } };
}

/** Stores two providers with keys, through the worker, as the options page would. */
async function seedSettings() {
  const view = (await send(control, { type: 'settings.get' })).value;
  const settings = { ...view.settings, providers: [provider('gateway', 'Gateway', 'https://gw.example.test/v1', KEY), provider('home', 'Home', 'http://127.0.0.1:8080/v1', OTHER_KEY)] };
  settings.router = { ...settings.router, chain: [] };
  const saved = (await send(control, { type: 'settings.save', settings, clear_keys: [] })).value;
  assert.equal(saved.saved, true, JSON.stringify(saved));
}

/** Stores one cached conversation (a capture sent by an extension page). */
async function seedCache(id) {
  const user = { id: `${id}-u`, author: { role: 'user' }, content: { content_type: 'text', parts: ['Keep me'] }, status: 'finished_successfully', create_time: 1 };
  const capture = { kind: 'turn', conversation_id: id, title: 'Kept', nodes: [{ parent: null, message: user }], current: user.id, pending: null };
  const reply = await send(control, { type: 'cache.capture', capture });
  assert.equal(reply.ok, true, JSON.stringify(reply));
}

before(async () => {
  site = await startFakeChatgpt();
  browser = await launch({ chatgptPort: site.port });
  control = await openExtensionPage(browser.context, 'www/options.html');
  await control.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  chat = await browser.context.newPage();
  await chat.goto('https://chatgpt.com/');
  await chat.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
});

after(async () => {
  await browser?.close();
  await site?.close();
});

test("a chat page's content script is refused what only Understudy's own pages may ask, and changes nothing; the same from an extension page works", async () => {
  await seedSettings();
  await seedCache(CONVERSATION);
  assert.equal(await count(), 1);
  const before = await stored();
  // The chat tab's detection entry exists (its content script asked for the adapter).
  const deadline = Date.now() + 10000;
  while (!(await send(control, { type: 'detect.state' })).value.tabs.some((t) => t.url?.startsWith('https://chatgpt.com/'))) {
    assert.ok(Date.now() < deadline, 'the chat tab has a detection entry');
    await new Promise((r) => setTimeout(r, 50));
  }

  const redirect = JSON.stringify({ providers: [provider('gateway', 'Gateway', 'https://evil.example.test/v1', null)] });
  const hostile = [
    { type: 'cache.deleteAll' },
    { type: 'cache.delete', id: CONVERSATION },
    { type: 'cache.status' },
    { type: 'detect.state' },
    { type: 'settings.get' },
    { type: 'settings.export', include_keys: true },
    { type: 'settings.save', settings: JSON.parse(redirect), clear_keys: [] },
    { type: 'settings.import', text: redirect },
    { type: 'settings.reset' },
    { type: 'settings.quick', paused: true },
    { type: 'providers.chain' },
    { type: 'providers.last' },
    { type: 'providers.timeline' },
    { type: 'providers.test', provider: 'gateway' },
    { type: 'providers.models', provider: 'gateway', kind: 'open_ai_compatible', base_url: 'https://evil.example.test/v1' },
    { type: 'rescue.continue', conversation_id: CONVERSATION },
  ];
  const answers = await fromChat(hostile);
  for (const { type } of hostile) {
    assert.equal(answers[type]?.ok, false, `${type}: ${JSON.stringify(answers[type])}`);
    assert.match(answers[type].error, new RegExp(`^${type.replace('.', '\\.')} may be sent only by Understudy's own pages`), type);
  }
  assert.ok(!JSON.stringify(answers).includes(KEY) && !JSON.stringify(answers).includes(OTHER_KEY), 'no key in any answer');
  // The rescue's actions belong to the rescue frame: the content script (which the page can drive)
  // can neither list the providers, open tabs or the side panel, nor ask a provider over the port.
  const frameOnly = [
    { type: 'rescue.frame' },
    { type: 'rescue.handoff', site: 'claude' },
    { type: 'rescue.openCache' },
    { type: 'rescue.sidePanel', text: 'x' },
  ];
  const rescue = await fromChat(frameOnly);
  for (const { type } of frameOnly) {
    assert.equal(rescue[type]?.ok, false, `${type}: ${JSON.stringify(rescue[type])}`);
    assert.match(rescue[type].error, new RegExp(`^${type.replace('.', '\\.')} may be sent only by Understudy's rescue frame`), type);
  }
  const askPort = await inContentScript(chat, `new Promise((resolve) => {
    const port = chrome.runtime.connect({ name: 'understudy-rescue' });
    port.onDisconnect.addListener(() => resolve('disconnected'));
    port.onMessage.addListener((m) => resolve('answered ' + m.type));
    port.postMessage({ type: 'ask', id: 1, provider: 'gateway' });
    setTimeout(() => resolve('silent'), 3000);
  })`);
  assert.equal(askPort, 'disconnected', 'the rescue port refuses the content script');
  // Over the page's port too (the port serves a chat page's frequent messages only).
  const overPort = await inContentScript(chat, `new Promise((resolve) => {
    const port = chrome.runtime.connect({ name: 'understudy-page' });
    const out = {};
    port.onMessage.addListener((m) => { out[m.id] = m.reply; if (Object.keys(out).length === 2) { port.disconnect(); resolve(out); } });
    port.postMessage({ id: 1, message: { type: 'cache.deleteAll' } });
    port.postMessage({ id: 2, message: { type: 'detect.state' } });
  })`);
  assert.equal(overPort[1].ok, false);
  assert.equal(overPort[2].ok, false);

  // Nothing changed: the cache, the settings and their keys, the detection state.
  assert.equal(await count(), 1, 'the cached conversation is still there');
  assert.deepEqual(await stored(), before, 'the settings (keys included) are unchanged');
  assert.equal(before.providers[0].config.api_key, KEY);
  assert.equal(before.paused, false);

  // What a chat page needs about itself is still answered to it.
  const page = await fromChat([{ type: 'settings.page' }, { type: 'hello', url: 'https://chatgpt.com/' }]);
  assert.equal(page['settings.page'].ok, true, JSON.stringify(page['settings.page']));
  assert.deepEqual(Object.keys(page['settings.page'].value).sort(), ['answer_in', 'auto_mode', 'capture', 'paused']);
  assert.equal(page.hello.ok, true);
  assert.ok(!JSON.stringify(page).includes(KEY));

  // The same messages from an extension page work.
  const state = await send(control, { type: 'detect.state' });
  assert.equal(state.ok, true);
  assert.ok(state.value.tabs.some((t) => t.url?.startsWith('https://chatgpt.com/')), 'every tab, to our own pages');
  const view = await send(control, { type: 'settings.get' });
  assert.deepEqual(view.value.has_key, ['gateway', 'home']);
  const deleted = await send(control, { type: 'cache.delete', id: CONVERSATION });
  assert.deepEqual(deleted, { ok: true, value: { deleted: CONVERSATION } });
  assert.equal(await count(), 0);
  await seedCache(`${CONVERSATION.slice(0, -4)}beef`);
  assert.equal(await count(), 1);
  assert.deepEqual(await send(control, { type: 'cache.deleteAll' }), { ok: true, value: { deleted: 'all' } });
  assert.equal(await count(), 0);
  // Each message a page-driven content script sent is one attack: all refused, nothing changed.
  const attempts = hostile.length + frameOnly.length + 1 + 1;
  recordRow({ name: 'attacks: privileged messages from a chat page', kind: 'attacks', tried: attempts, held: attempts, note: `${hostile.length} extension-page-only messages and ${frameOnly.length} rescue-frame-only messages from the chat page's content script, the rescue port, and cache.deleteAll over the page's port: every one refused by the worker; cache, settings, keys and detection state unchanged; no key in any answer` });
});

test('a settings file that moves a provider to another host leaves its stored key behind, and says so by name', async () => {
  await seedSettings();
  const file = JSON.stringify({
    providers: [
      // Same id and kind, another host, no key: the stored key must not follow it there.
      provider('gateway', 'Gateway', 'https://collector.example.test/v1', null),
      // Same scheme, host and port (another path): its key stays.
      provider('home', 'Home', 'http://127.0.0.1:8080/v2', null),
    ],
  });
  // Through the options page, as a user would import it.
  await control.reload();
  await control.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  await control.setInputFiles('[data-testid="import"]', { name: 'shared-settings.json', mimeType: 'application/json', buffer: Buffer.from(file) });
  await control.waitForFunction(() => /^(Not imported|Imported)/.test(document.querySelector('[data-testid="backup-status"]').textContent));
  const status = await control.textContent('[data-testid="backup-status"]');
  assert.equal(status, 'Imported. The key of Gateway was not kept: its address changed to https://collector.example.test; enter it again.');

  const after = await stored();
  const byId = Object.fromEntries(after.providers.map((p) => [p.id, p.config]));
  assert.equal(byId.gateway.base_url, 'https://collector.example.test/v1');
  assert.equal(byId.gateway.api_key ?? null, null, 'the key did not follow the provider to another host');
  assert.equal(byId.home.api_key, OTHER_KEY, 'a provider at the same address keeps its key');
  assert.ok(!JSON.stringify(after).includes(KEY), 'the moved key is gone from storage');
  // The options page shows the provider without a key.
  const view = (await send(control, { type: 'settings.get' })).value;
  assert.deepEqual(view.has_key, ['home']);

  // The worker's answer names it too; another port is another address.
  await seedSettings();
  const reply = await send(control, { type: 'settings.import', text: JSON.stringify({ providers: [provider('gateway', 'Gateway', 'https://gw.example.test:8443/v1', null)] }) });
  assert.equal(reply.ok, true);
  assert.equal(reply.value.saved, true);
  assert.deepEqual(reply.value.keys_not_kept, [{ id: 'gateway', label: 'Gateway', message: 'the key of Gateway was not kept: its address changed to https://gw.example.test:8443; enter it again' }]);
  assert.equal((await stored()).providers[0].config.api_key ?? null, null);
  recordRow({ name: 'attacks: a settings file redirecting a stored key', kind: 'attacks', tried: 2, held: 2, note: 'a provider moved to another host (through the options page) and to another port (settings.import): the stored key dropped both times and the user told by name; a provider at the same address kept its key' });
});
