// Alternative providers end to end: the real extension in Chromium streams answers from local servers
// that speak each provider's wire format, and steps around every kind of failure.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage } from './browser.mjs';
import { closedPort, DEFAULT_ANSWER, firstHalf, startFakeProviders } from './fake-providers/server.mjs';
import { ask, configure, openPanel, provider } from './fake-providers/harness.mjs';

let fake;
let browser;
let control; // an extension page used to write settings
let panel;
let serial = 0;
const fresh = (base) => `${base}-${++serial}`;

before(async () => {
  fake = await startFakeProviders();
  browser = await launch();
  control = await openExtensionPage(browser.context, 'www/options.html');
  panel = await openPanel(browser.context);
});

after(async () => {
  await browser?.close();
  await fake?.close();
});

/** Configures PROVIDERS, reloads the panel so it shows the chain, asks PROMPT. */
async function configureAndAsk(providers, prompt = 'Say something.', router = {}, opts = {}) {
  await configure(control, providers, router);
  await panel.reload();
  await panel.waitForSelector('body[data-ready="true"]');
  // The panel paints once per animation frame: in front, as a person reading it has it (a page in
  // the background gets its frames throttled, and a streamed answer then lands in one paint).
  await panel.bringToFront();
  return ask(panel, prompt, opts);
}

const answerOf = (name) => `${DEFAULT_ANSWER} [${name}]`;

for (const format of ['openai', 'anthropic', 'gemini', 'ollama']) {
  test(`${format}: the answer streams into the side panel, with the key in the right header`, async () => {
    const name = fresh(format);
    fake.plan(name, [{ fault: 'ok', tokenDelayMs: 15 }]);
    const seen = await configureAndAsk([provider(fake, name, format)], 'Hello there');
    assert.equal(seen.state, 'done', seen.error);
    assert.equal(seen.provider, name);
    assert.equal(seen.text, answerOf(name));
    // Incremental: the panel showed several growing prefixes before the whole answer.
    const partial = seen.lengths.filter((n) => n > 0 && n < seen.text.length);
    assert.ok(partial.length >= 3, `streamed in ${seen.lengths.length} steps: ${seen.lengths}`);
    const [req] = fake.to(name);
    const h = req.headers;
    if (format === 'openai') {
      assert.equal(h.authorization, `Bearer key-${name}`);
      assert.deepEqual(req.json.messages.at(-1), { role: 'user', content: 'Hello there' });
      assert.equal(req.json.stream, true);
    } else if (format === 'anthropic') {
      assert.equal(h['x-api-key'], `key-${name}`);
      assert.equal(h['anthropic-version'], '2023-06-01');
      assert.equal(h['anthropic-dangerous-direct-browser-access'], 'true');
      assert.equal(h.authorization, undefined);
    } else if (format === 'gemini') {
      assert.equal(h['x-goog-api-key'], `key-${name}`);
      assert.match(req.path, /models\/model-.*:streamGenerateContent\?alt=sse$/);
      assert.deepEqual(req.json.contents.at(-1), { role: 'user', parts: [{ text: 'Hello there' }] });
    } else {
      assert.equal(req.json.stream, true);
      assert.deepEqual(req.json.messages.at(-1), { role: 'user', content: 'Hello there' });
    }
    // The key never reaches a page: the chain the panel gets has none.
    const chain = await panel.evaluate(() => chrome.runtime.sendMessage({ type: 'providers.chain' }));
    assert.ok(chain.ok && !JSON.stringify(chain.value).includes(`key-${name}`));
  });
}

test('a follow-up carries the conversation to the provider', async () => {
  const name = fresh('ctx');
  const seen = await configureAndAsk([provider(fake, name, 'anthropic')], 'First question');
  assert.equal(seen.state, 'done');
  const second = await ask(panel, 'Second question');
  assert.equal(second.state, 'done');
  const body = fake.to(name)[1].json;
  assert.deepEqual(body.messages, [
    { role: 'user', content: 'First question' },
    { role: 'assistant', content: answerOf(name) },
    { role: 'user', content: 'Second question' },
  ]);
});

test('a long conversation is trimmed to the context window, newest turns kept, with a note (port protocol)', async () => {
  const name = fresh('small-ctx');
  await configure(control, [provider(fake, name, 'ollama', { max_context_tokens: 120 })]);
  const conversation = [{ role: 'system', content: 'Be brief.' }];
  for (let i = 0; i < 12; i++) conversation.push({ role: i % 2 ? 'assistant' : 'user', content: `Turn ${i}: ${'word '.repeat(30)}` });
  const messages = await control.evaluate(
    (conv) =>
      new Promise((resolve) => {
        const port = chrome.runtime.connect({ name: 'understudy-ask' });
        const seen = [];
        port.onMessage.addListener((m) => {
          seen.push(m);
          if (m.type === 'done' || m.type === 'error') {
            port.disconnect();
            resolve(seen);
          }
        });
        port.postMessage({ type: 'ask', id: 41, conversation: conv, prompt: 'Latest question' });
      }),
    conversation,
  );
  assert.ok(messages.every((m) => m.id === 41), 'every message carries the ask id');
  assert.equal(messages.at(-1).type, 'done');
  assert.ok(messages.some((m) => m.type === 'delta' && m.provider === name));
  const note = messages.find((m) => m.type === 'notice');
  assert.match(note?.text ?? '', /older turns left out so the conversation fits/);
  const sent = fake.to(name)[0].json.messages;
  assert.deepEqual(sent[0], { role: 'system', content: 'Be brief.' });
  assert.deepEqual(sent.at(-1), { role: 'user', content: 'Latest question' });
  assert.ok(sent.length < conversation.length, `kept ${sent.length} turns`);
  assert.equal(sent[1].role, 'user', 'the kept history starts with a question');
  assert.ok(sent.slice(1, -1).every((m) => conversation.slice(-(sent.length - 1)).some((c) => c.content === m.content)), 'the newest turns are the ones kept');
  assert.ok(!JSON.stringify(messages).includes(`key-${name}`), 'no key on the port');
});

// ---- the fault matrix: the primary fails, the fallback answers (or the user gets a clear error) ----
const MID_STREAM = new Set(['stall', 'error_event', 'truncated', 'malformed']);
const FAULTS = ['500', '502_html', '503', '529', '429', '401', '400_context', 'refused', 'no_first_byte', 'stall', 'error_event', 'truncated', 'malformed'];
const EXPECTED_DECISION = {
  500: /failed \(server\)/, '502_html': /failed \(server\)/, 503: /failed \(server\)/, 529: /failed \((overloaded|server)\)/,
  429: /failed \(rate_limited\)/, 401: /failed \(auth\)/, '400_context': /failed \(context_length\)/, refused: /failed \(network\)/,
  no_first_byte: /no first byte in time/, stall: /stalled/, error_event: /failed \((server|overloaded)\)/, truncated: /failed \(network\)/, malformed: /failed \(malformed\)/,
};

for (const format of ['openai', 'anthropic', 'gemini', 'ollama']) {
  test(`${format}: every fault falls back to the next provider, keeping the partial answer`, async () => {
    const failures = [];
    for (const fault of FAULTS) {
      const primary = fresh(`${format}-${fault}`);
      const backup = fresh('backup');
      fake.plan(primary, [{ fault, tokenDelayMs: 2 }]);
      fake.plan(backup, [{ fault: 'ok', tokenDelayMs: 1 }]);
      const first = provider(fake, primary, format);
      if (fault === 'refused') first.config.base_url = `http://127.0.0.1:${await closedPort()}/x`;
      const seen = await configureAndAsk([first, provider(fake, backup, 'openai')], `Question about ${fault}`);
      const problems = [];
      if (seen.state !== 'done') problems.push(`state ${seen.state}: ${seen.error}`);
      if (seen.provider !== backup) problems.push(`answered by ${seen.provider}`);
      if (!seen.decisions.some((d) => EXPECTED_DECISION[fault].test(d))) problems.push(`decisions ${seen.decisions.join(' | ')}`);
      const backupReq = fake.to(backup)[0]?.json;
      if (MID_STREAM.has(fault)) {
        const kept = firstHalf(primary);
        if (!seen.text.startsWith(kept)) problems.push(`partial not kept: ${JSON.stringify(seen.text.slice(0, 80))}`);
        if (!seen.text.endsWith(answerOf(backup))) problems.push('fallback text missing');
        // The fallback is asked to continue exactly the text shown so far (retries of the primary
        // included: this fake ignores the request to continue and starts over).
        const shown = seen.text.slice(0, seen.text.length - answerOf(backup).length);
        const turns = backupReq?.messages ?? [];
        const assistant = turns.find((m) => m.role === 'assistant')?.content;
        if (assistant !== shown) problems.push(`fallback not given the partial: ${JSON.stringify(turns)}`);
        if (!/Continue it exactly where it stopped/.test(turns.at(-1)?.content)) problems.push('no continue instruction');
      } else {
        if (seen.text !== answerOf(backup)) problems.push(`text ${JSON.stringify(seen.text.slice(0, 80))}`);
        if (backupReq?.messages?.at(-1)?.content !== `Question about ${fault}`) problems.push('fallback did not get the prompt');
      }
      // With a healthy provider next in line, nobody sleeps: the switch is immediate.
      if (fault !== 'refused' && fake.to(primary).length !== 1) problems.push(`primary tried ${fake.to(primary).length} times, want 1`);
      if (problems.length) failures.push(`${fault}: ${problems.join('; ')}`);
    }
    assert.deepEqual(failures, []);
  });
}

test('a 500 then success is retried on the same provider when it is the only one', async () => {
  const name = fresh('retry');
  fake.plan(name, ['500', 'ok']);
  const seen = await configureAndAsk([provider(fake, name, 'openai')]);
  assert.equal(seen.provider, name);
  assert.equal(fake.to(name).length, 2);
  assert.ok(seen.decisions.some((d) => /retry in 20 ms/.test(d)), seen.decisions.join('\n'));
});

test('with switch_if_wait_over_ms set, a 500 is retried twice before the fallback answers', async () => {
  const name = fresh('patient');
  const backup = fresh('backup');
  fake.plan(name, ['500']);
  const seen = await configureAndAsk([provider(fake, name, 'gemini'), provider(fake, backup, 'ollama')], 'Patience', { switch_if_wait_over_ms: 1000 });
  assert.equal(seen.provider, backup);
  assert.equal(fake.to(name).length, 3);
  assert.deepEqual(seen.decisions.filter((d) => d.startsWith('retry_scheduled')).length, 2);
});

test('a 429 with Retry-After is honoured before retrying', async () => {
  const name = fresh('ra');
  fake.plan(name, [{ fault: '429_retry_after', retryAfter: 1 }, 'ok']);
  const started = Date.now();
  const seen = await configureAndAsk([provider(fake, name, 'openai')]);
  assert.equal(seen.state, 'done', seen.error);
  const [a, b] = fake.to(name);
  assert.ok(b.at - a.at >= 950, `retried after ${b.at - a.at} ms`);
  assert.ok(seen.decisions.some((d) => /as the server asked/.test(d)));
  assert.ok(Date.now() - started < 5000);
});

test('a 10 MB answer streams completely', async () => {
  const name = fresh('big');
  fake.plan(name, ['big']);
  const seen = await configureAndAsk([provider(fake, name, 'openai')], 'Long answer please', {}, { timeout: 60000 });
  assert.equal(seen.state, 'done', seen.error);
  assert.ok(seen.text.length >= 10 * 1024 * 1024, `got ${seen.text.length} chars`);
});

// ---- clear, actionable errors when no provider is left; the prompt and partial answer stay ----
for (const [label, fault, format, expected] of [
  ['a refused key', '401', 'openai', /rejected the API key.*Check the key in the provider settings/],
  ['Ollama refusing the extension origin', '403', 'ollama', /OLLAMA_ORIGINS=chrome-extension:\/\/\*/],
  ['a too-long conversation', '400_context', 'anthropic', /too long.*Shorten the history or choose a model with a larger context/],
  ['a Cloudflare error page', '502_html', 'gemini', /HTML error page.*502: Bad gateway/],
  ['a stalled stream', 'stall', 'openai', /stalled/],
]) {
  test(`${label} with no fallback gives a clear error and keeps the prompt`, async () => {
    const name = fresh('alone');
    fake.plan(name, [{ fault, tokenDelayMs: 2 }]);
    const seen = await configureAndAsk([provider(fake, name, format)], 'Keep this prompt');
    assert.equal(seen.state, 'error');
    assert.match(seen.error, expected);
    assert.match(seen.error, /Your message is kept/);
    assert.equal(seen.prompt, 'Keep this prompt');
    assert.doesNotMatch(seen.error, /<html|<!DOCTYPE/i, 'never a raw HTML page');
    if (fault === 'stall') {
      assert.ok(seen.text.startsWith(firstHalf(name)), 'the partial answer stays shown');
      assert.ok(seen.continueVisible);
    }
  });
}

test('connection refused with no fallback says which server could not be reached', async () => {
  const p = provider(fake, fresh('gone'), 'ollama');
  p.config.base_url = `http://127.0.0.1:${await closedPort()}`;
  const seen = await configureAndAsk([p], 'Anyone there?');
  assert.equal(seen.state, 'error');
  assert.match(seen.error, /could not reach http:\/\/127\.0\.0\.1:\d+/);
  assert.equal(seen.prompt, 'Anyone there?');
});

test("Chrome's on-device model is stepped around when the browser lacks it", async () => {
  const name = fresh('after-builtin');
  const builtin = { id: 'chrome-builtin', label: 'Chrome on-device', enabled: true, config: { kind: 'chrome_built_in', model: 'gemini-nano' } };
  const seen = await configureAndAsk([builtin, provider(fake, name, 'openai')]);
  const hasPromptApi = await control.evaluate(() => typeof globalThis.LanguageModel !== 'undefined');
  if (!hasPromptApi) {
    // Skipped at once: never started, never waited for, and not offered.
    assert.equal(seen.provider, name);
    assert.ok(!seen.decisions.some((d) => /Chrome on-device/.test(d)), seen.decisions.join('\n'));
    const chain = await control.evaluate(() => chrome.runtime.sendMessage({ type: 'providers.chain' }));
    assert.deepEqual(chain.value.map((p) => p.id), [name]);
    const alone = await configureAndAsk([builtin]);
    assert.equal(alone.state, 'error');
    assert.match(alone.error, /not available in this browser/);
  } else {
    assert.equal(seen.state, 'done');
  }
});

test('Stop cancels the fetch: the server sees the connection closed, the partial answer stays', async () => {
  const name = fresh('stop');
  // A long, slow answer (about 30 s in all), so that it is surely still streaming when Stop is
  // pressed, even on a loaded machine.
  const long = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
  fake.plan(name, [{ fault: 'ok', tokenDelayMs: 150, answer: long }]);
  await configure(control, [provider(fake, name, 'openai')], { stall_timeout_ms: 5000 });
  await panel.reload();
  await panel.waitForSelector('body[data-ready="true"]');
  await panel.fill('[data-testid="understudy-prompt"]', 'Tell me slowly');
  await panel.press('[data-testid="understudy-prompt"]', 'Enter');
  await panel.waitForFunction(() => {
    const answer = document.querySelector('[data-testid="understudy-answer"]');
    return answer.dataset.state === 'streaming' && answer.textContent.startsWith('word0 ') && answer.textContent.length > 10;
  });
  await panel.click('[data-testid="understudy-stop"]');
  await panel.waitForSelector('[data-testid="understudy-answer"][data-state="done"][data-outcome="cancelled"]');
  const text = await panel.textContent('[data-testid="understudy-answer"]');
  assert.ok(text.length > 10 && text.length < long.length, text);
  assert.ok(long.startsWith(text), text);
  const deadline = Date.now() + 3000;
  while (!fake.to(name)[0].clientClosed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(fake.to(name)[0].clientClosed, true, 'the fetch was aborted');
  assert.equal(fake.to(name)[0].finished, false);
  assert.equal(await panel.inputValue('[data-testid="understudy-prompt"]'), 'Tell me slowly');
});

test('the decisions are recorded in a timeline in session storage', async () => {
  const timeline = await panel.evaluate(() => chrome.runtime.sendMessage({ type: 'providers.timeline' }));
  assert.ok(timeline.ok && timeline.value.length > 10 && timeline.value.length <= 200);
  const e = timeline.value.at(-1);
  assert.ok(e.request && e.provider !== undefined && e.outcome?.kind && typeof e.at_ms === 'number');
});

test('providers.test answers for a working and a broken provider', async () => {
  const good = fresh('t-good');
  const bad = fresh('t-bad');
  fake.plan(bad, ['401']);
  await configure(control, [provider(fake, good, 'gemini'), provider(fake, bad, 'anthropic')]);
  const ok = await control.evaluate((id) => chrome.runtime.sendMessage({ type: 'providers.test', provider: id }), good);
  assert.equal(ok.ok, true);
  assert.equal(ok.value.ok, true);
  assert.ok(ok.value.text.length > 0);
  const no = await control.evaluate((id) => chrome.runtime.sendMessage({ type: 'providers.test', provider: id }), bad);
  assert.equal(no.value.ok, false);
  assert.equal(no.value.class, 'auth');
  assert.match(no.value.message, /Check the key/);
  assert.doesNotMatch(JSON.stringify(no.value), /key-/);
});

test('the router handle saves and restores its state as JSON (for storage.session)', async () => {
  const result = await control.evaluate(async () => {
    const core = await import('../pkg/understudy_worker.js');
    await core.default({ module_or_path: new URL('../pkg/understudy_worker_bg.wasm', location.href) });
    const settings = core.validateSettings({
      providers: [
        { id: 'a', config: { kind: 'ollama', model: 'm' } },
        { id: 'b', config: { kind: 'open_ai_compatible', model: 'm', base_url: 'http://127.0.0.1:1/v1' } },
      ],
      router: { first_byte_timeout_ms: 1000 },
    });
    const r = new core.Router(settings, 7, '');
    const start = r.start(1000);
    const failed = r.failed(1200, { class: 'server', partial_text_len: 5, detail: 'HTTP 503' });
    const restored = core.Router.restore(r.saveRoute(), r.saveHealth());
    const same = restored.timerAt() === r.timerAt() && JSON.stringify(restored.decisions()) === JSON.stringify(r.decisions());
    const phase = restored.phase();
    const firstByte = restored.firstByte(1250);
    const chunkIdle = restored.chunk(1300, 3);
    let refused = '';
    try {
      core.Router.restore('{"config":{"stall_timeout_ms":0}}', '');
    } catch (e) {
      refused = String(e.message);
    }
    return { start, failed, same, phase, firstByte, chunkIdle, refused, availability: restored.availability(1300) };
  });
  assert.deepEqual(result.start, { action: 'fetch', fetch: { provider: 'a', attempt: 1, continue_partial: false }, timer_at_ms: 2000 });
  assert.equal(result.failed.action, 'fetch');
  assert.deepEqual(result.failed.fetch, { provider: 'b', attempt: 1, continue_partial: true });
  assert.equal(result.same, true);
  assert.equal(result.phase, 'awaiting_first_byte');
  assert.deepEqual(result.firstByte, { action: 'set_timer', at_ms: 1250 + 20_000 });
  assert.equal(result.chunkIdle, undefined, 'a chunk that needs nothing returns undefined');
  assert.match(result.refused, /saved route/);
  assert.equal(result.availability.a.kind, 'available');
});
