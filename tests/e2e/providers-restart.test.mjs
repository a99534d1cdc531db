// The service worker may be stopped at any time: provider health survives it, and an answer cut by
// a stopped worker is kept and can be continued.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage, serviceWorker } from './browser.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { ask, configure, openPanel, provider, readPanel, stopServiceWorker } from './fake-providers/harness.mjs';

let fake;
let browser;
let control;

before(async () => {
  fake = await startFakeProviders();
  browser = await launch();
  control = await openExtensionPage(browser.context, 'www/options.html');
});

after(async () => {
  await browser?.close();
  await fake?.close();
});

async function workerMark(value) {
  const worker = await serviceWorker(browser.context);
  return worker.evaluate((v) => {
    if (v) globalThis.__testMark = v;
    return globalThis.__testMark ?? null;
  }, value);
}

test('an open circuit breaker survives a service-worker restart', async () => {
  fake.plan('flaky', ['500']);
  await configure(control, [provider(fake, 'flaky', 'openai'), provider(fake, 'steady', 'ollama')], { switch_if_wait_over_ms: 1000 });
  const panel = await openPanel(browser.context);
  const first = await ask(panel, 'First');
  assert.equal(first.provider, 'steady');
  assert.equal(fake.to('flaky').length, 3, 'three attempts opened the breaker');
  assert.ok(first.decisions.some((d) => d.startsWith('breaker_opened')), first.decisions.join('\n'));

  await workerMark('before-restart');
  assert.equal(await stopServiceWorker(browser.context, control), true, 'the worker was stopped');
  const second = await ask(panel, 'Second');
  assert.equal(await workerMark(), null, 'a fresh worker answered (its globals are new)');
  assert.equal(second.state, 'done');
  assert.equal(second.provider, 'steady');
  assert.equal(fake.to('flaky').length, 3, 'the open breaker kept the failing provider aside');
  assert.ok(second.decisions.some((d) => /flaky.*stepped around \(breaker open\)/.test(d)), second.decisions.join('\n'));
  await panel.waitForSelector('[data-testid="understudy-chain"] li[data-provider="flaky"][data-availability="open"]');
  await panel.close();
});

test('a misconfigured key is stepped around until the settings change', async () => {
  fake.plan('badkey', ['401', 'ok']);
  const settings = await configure(control, [provider(fake, 'badkey', 'anthropic'), provider(fake, 'other', 'gemini')]);
  const panel = await openPanel(browser.context);
  assert.equal((await ask(panel, 'One')).provider, 'other');
  const again = await ask(panel, 'Two');
  assert.equal(again.provider, 'other');
  assert.equal(fake.to('badkey').length, 1, 'not asked again while misconfigured');
  assert.ok(again.decisions.some((d) => /badkey.*stepped around \(misconfigured\)/.test(d)), again.decisions.join('\n'));
  // The user fixes the key: the flag clears and the provider is first again.
  settings.providers[0].config.api_key = 'key-fixed';
  await control.evaluate((s) => chrome.storage.local.set({ settings: s }), settings);
  await panel.waitForSelector('[data-testid="understudy-chain"] li[data-provider="badkey"][data-availability="available"]');
  const fixed = await ask(panel, 'Three');
  assert.equal(fixed.provider, 'badkey');
  assert.equal(fake.to('badkey').at(-1).headers['x-api-key'], 'key-fixed');
  await panel.close();
});

test('a worker stopped mid-answer keeps the partial text, and Continue finishes it', async () => {
  // A long, slow first answer (about 24 s), so that it is surely still streaming when the worker stops.
  const long = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
  fake.plan('slow', [{ fault: 'ok', tokenDelayMs: 120, answer: long }, { fault: 'ok', answer: 'and here is the rest.', tokenDelayMs: 5 }]);
  await configure(control, [provider(fake, 'slow', 'openai')], { stall_timeout_ms: 10_000 });
  const panel = await openPanel(browser.context);
  await panel.fill('[data-testid="understudy-prompt"]', 'Tell me a story');
  await panel.press('[data-testid="understudy-prompt"]', 'Enter');
  await panel.waitForFunction(() => document.querySelector('[data-testid="understudy-answer"]').textContent.length > 25);
  await new Promise((r) => setTimeout(r, 400)); // let the throttled copy in session storage catch up
  assert.equal(await stopServiceWorker(browser.context, control), true);
  await panel.waitForSelector('[data-testid="understudy-answer"][data-state="error"]');
  const cut = await readPanel(panel);
  assert.equal(cut.errorClass, 'interrupted');
  assert.match(cut.error, /partial answer and your message are kept/);
  assert.ok(cut.text.length > 25 && long.startsWith(cut.text) && cut.text.length < long.length, cut.text);
  assert.equal(cut.prompt, 'Tell me a story');
  assert.ok(cut.continueVisible);
  // The killed fetch is gone.
  const deadline = Date.now() + 3000;
  while (!fake.to('slow')[0].clientClosed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(fake.to('slow')[0].clientClosed, true);

  // A panel opened later finds the interrupted answer in session storage.
  const later = await openPanel(browser.context);
  const shown = await readPanel(later);
  assert.equal(shown.state, 'error');
  assert.ok(shown.text.length > 10 && cut.text.startsWith(shown.text), `${shown.text} vs ${cut.text}`);
  assert.ok(shown.continueVisible);
  await later.close();

  // Continue: the provider is asked to carry on from the partial text, which stays on screen.
  const done = await ask(panel, '', { action: 'continue' });
  assert.equal(done.state, 'done', done.error);
  // The partial text ended with a token's space, which its rendered paragraph does not show.
  assert.equal(done.text, `${cut.text} and here is the rest.`);
  const turns = fake.to('slow')[1].json.messages;
  assert.deepEqual(turns.slice(0, 2), [
    { role: 'user', content: 'Tell me a story' },
    { role: 'assistant', content: `${cut.text} ` }, // the raw partial text, its last space kept
  ]);
  assert.match(turns[2].content, /Continue it exactly where it stopped/);
  await panel.close();
});
