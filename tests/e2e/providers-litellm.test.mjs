// A real third-party server: the LiteLLM proxy (PyPI `litellm[proxy]`, installed by `make setup` in
// target/litellm-venv), started on loopback with mock models. What passes against our own fake
// servers must pass against it: the OpenAI-format happy path, 429 → failover, 500 → retries then
// failover, an upstream failure in the middle of the stream, and a new user adding it by its preset
// in the options page (its model list, then "Test": works, rate limited, a wrong key). If LiteLLM cannot be found or
// started, these tests FAIL (they never skip).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage, ROOT } from './browser.mjs';
import { closedPort, DEFAULT_ANSWER, firstHalf, startFakeProviders } from './fake-providers/server.mjs';
import { ask, configure, openPanel, provider } from './fake-providers/harness.mjs';

const LITELLM = process.env.UNDERSTUDY_LITELLM ?? path.join(ROOT, 'target', 'litellm-venv', 'bin', 'litellm');
const MASTER_KEY = 'sk-understudy-test';
const HAPPY = 'Hello from LiteLLM, streamed through a real proxy to the extension.';

let fake;
let browser;
let control;
let panel;
let proxy;
let proxyPort;
let proxyLog = '';
let setupError = null;

async function startLitellm() {
  if (!fs.existsSync(LITELLM)) {
    throw new Error(`LiteLLM is not installed at ${LITELLM}: run 'make setup' (it installs litellm[proxy] into target/litellm-venv)`);
  }
  proxyPort = await closedPort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'understudy-litellm-'));
  const upstream = `http://127.0.0.1:${fake.port}/upstream/v1`;
  const config = `model_list:
  - model_name: happy
    litellm_params: {model: openai/fake, api_key: x, mock_response: "${HAPPY}"}
  - model_name: ratelimited
    litellm_params: {model: openai/fake, api_key: x, mock_response: "litellm.RateLimitError"}
  - model_name: broken
    litellm_params: {model: openai/fake, api_key: x, mock_response: "litellm.InternalServerError"}
  - model_name: midstream
    litellm_params: {model: openai/upstream-model, api_key: x, api_base: "${upstream}"}
litellm_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`;
  fs.writeFileSync(path.join(dir, 'config.yaml'), config);
  proxy = spawn(LITELLM, ['--config', path.join(dir, 'config.yaml'), '--host', '127.0.0.1', '--port', String(proxyPort), '--num_workers', '1'], {
    cwd: dir,
    env: { ...process.env, LITELLM_MASTER_KEY: MASTER_KEY, LITELLM_LOCAL_MODEL_COST_MAP: 'True', LITELLM_TELEMETRY: 'False', NO_PROXY: '127.0.0.1,localhost' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (d) => (proxyLog = (proxyLog + d).slice(-4000));
  proxy.stdout.on('data', keep);
  proxy.stderr.on('data', keep);
  let exited = null;
  proxy.on('exit', (code) => (exited = code));
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`LiteLLM exited with code ${exited} before it answered:\n${proxyLog}`);
    try {
      const r = await fetch(`http://127.0.0.1:${proxyPort}/health/liveliness`);
      if (r.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`LiteLLM did not answer on port ${proxyPort} within 90 s:\n${proxyLog}`);
}

before(async () => {
  fake = await startFakeProviders();
  try {
    await startLitellm();
  } catch (error) {
    setupError = error;
    return;
  }
  browser = await launch();
  control = await openExtensionPage(browser.context, 'www/options.html');
  panel = await openPanel(browser.context);
});

after(async () => {
  await browser?.close();
  if (proxy && proxy.exitCode === null) {
    proxy.kill('SIGTERM');
    await new Promise((r) => {
      const t = setTimeout(() => {
        proxy.kill('SIGKILL');
        r();
      }, 5000);
      proxy.once('exit', () => {
        clearTimeout(t);
        r();
      });
    });
  }
  await fake?.close();
});

function litellm(model) {
  return {
    id: `litellm-${model}`,
    label: `LiteLLM ${model}`,
    enabled: true,
    config: { kind: 'open_ai_compatible', base_url: `http://127.0.0.1:${proxyPort}/v1`, model, api_key: MASTER_KEY },
  };
}

async function run(providers, prompt, router = {}) {
  if (setupError) throw setupError;
  await configure(control, providers, { first_byte_timeout_ms: 15000, stall_timeout_ms: 10000, ...router });
  await panel.reload();
  await panel.waitForSelector('body[data-ready="true"]');
  return ask(panel, prompt, { timeout: 30000 });
}

test('LiteLLM: the answer streams into the side panel', async () => {
  const seen = await run([litellm('happy')], 'Hello LiteLLM');
  assert.equal(seen.state, 'done', seen.error);
  assert.equal(seen.provider, 'litellm-happy');
  assert.equal(seen.text, HAPPY);
  // LiteLLM's mock answer streams its chunks back to back, so on a loaded machine they may reach the
  // page in one network read: incremental display is asserted against our own servers, which pace
  // their tokens (providers.test.mjs), not here.
});

test('LiteLLM: a 429 falls back to the next provider at once', async () => {
  fake.plan('after-429', ['ok']);
  const seen = await run([litellm('ratelimited'), provider(fake, 'after-429', 'ollama')], 'Rate limited?');
  assert.equal(seen.state, 'done', seen.error);
  assert.equal(seen.provider, 'after-429');
  assert.equal(seen.decisions.filter((d) => d.startsWith('started: LiteLLM ratelimited')).length, 1, seen.decisions.join('\n'));
  assert.ok(seen.decisions.some((d) => /failed \(rate_limited\)/.test(d)));
});

test('LiteLLM: a 500 is retried, then the next provider answers', async () => {
  fake.plan('after-500', ['ok']);
  // Patient settings: retries (20 ms, 40 ms) on the same provider before switching.
  const seen = await run([litellm('broken'), provider(fake, 'after-500', 'anthropic')], 'Broken?', { switch_if_wait_over_ms: 1000 });
  assert.equal(seen.state, 'done', seen.error);
  assert.equal(seen.provider, 'after-500');
  assert.equal(seen.decisions.filter((d) => d.startsWith('started: LiteLLM broken')).length, 3, seen.decisions.join('\n'));
  assert.ok(seen.decisions.some((d) => /failed \(server\)/.test(d)));
});

test('LiteLLM: an upstream failure mid-stream keeps the partial answer and the next provider continues', async () => {
  fake.plan('upstream', [{ fault: 'error_event', tokenDelayMs: 5 }]);
  fake.plan('after-mid', ['ok']);
  const seen = await run([litellm('midstream'), provider(fake, 'after-mid', 'gemini')], 'Fail halfway');
  assert.equal(seen.state, 'done', seen.error);
  assert.equal(seen.provider, 'after-mid');
  assert.ok(seen.text.startsWith(firstHalf('upstream')), seen.text);
  assert.ok(seen.text.endsWith(`${DEFAULT_ANSWER} [after-mid]`));
  const shown = seen.text.slice(0, seen.text.length - `${DEFAULT_ANSWER} [after-mid]`.length);
  const contents = fake.to('after-mid')[0].json.contents;
  assert.deepEqual(contents[1], { role: 'model', parts: [{ text: shown }] });
});

test('LiteLLM: a new user adds the gateway by its preset and tests it (works, rate limited, a wrong key)', async () => {
  if (setupError) throw setupError;
  const page = control;
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.selectOption('[data-testid="add-kind"]', { label: "LiteLLM gateway (your organisation's)" });
  await page.click('[data-testid="add-provider"]');
  const card = '[data-testid="provider"][data-id="litellm"]';
  // The address is the organisation's: the field says what one looks like and has the focus.
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'base-url');
  assert.equal(await page.getAttribute(`${card} [data-testid="base-url"]`, 'placeholder'), 'http://localhost:4000');
  await page.fill(`${card} [data-testid="base-url"]`, `http://127.0.0.1:${proxyPort}`);
  await page.fill(`${card} [data-testid="key"]`, MASTER_KEY);
  // The model field offers the gateway's models (asked with the key just typed).
  await page.focus(`${card} [data-testid="model"]`);
  const hint = `${card} [data-testid="model-hint"]`;
  await page.waitForFunction((sel) => /models? offered/.test(document.querySelector(sel).textContent), hint, { timeout: 15000 });
  const offered = await page.$$eval(`${card} datalist[id$="-models"] option`, (os) => os.map((o) => o.value));
  for (const m of ['happy', 'ratelimited', 'broken']) assert.ok(offered.includes(m), offered.join(', '));

  const result = `${card} [data-testid="test-result"]`;
  const test = async (cls) => {
    await page.evaluate((sel) => delete document.querySelector(sel)?.dataset.class, result);
    await page.click(`${card} [data-testid="test"]`);
    await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.class, result, { timeout: 20000 });
    const text = await page.textContent(result);
    assert.equal(await page.getAttribute(result, 'data-class'), cls, text);
    return text;
  };
  await page.fill(`${card} [data-testid="model"]`, 'happy');
  assert.match(await test('ok'), /^✓ Works: answered in [\d,]+ ms\./);
  // The same gateway, a model that answers every request with 429: never "works".
  await page.fill(`${card} [data-testid="model"]`, 'ratelimited');
  const limited = await test('rate_limited');
  assert.match(limited, /^✗ Rate limited/);
  assert.doesNotMatch(limited, /works/i);
  // A wrong key. A LiteLLM proxy without a database cannot look up a key other than its master key:
  // it answers 400 "No connected db." (a gateway with its database answers 401, and a 401 reads "Key
  // rejected": options.test.mjs, against our own server). Either way the gateway's reason is said.
  await page.fill(`${card} [data-testid="model"]`, 'happy');
  await page.fill(`${card} [data-testid="key"]`, 'sk-not-the-master-key');
  const refused = await test('bad_request');
  assert.match(refused, /^✗ The provider refused the request.*No connected db/);
  assert.doesNotMatch(refused, /works/i);
});
