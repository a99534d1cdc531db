// Shared by the provider end-to-end tests: settings pointing at local servers, a side panel to ask
// in, and a way to stop the extension's service worker.
import { extensionId, openExtensionPage, serviceWorker } from '../browser.mjs';

export const KINDS = { openai: 'open_ai_compatible', anthropic: 'anthropic', gemini: 'gemini', ollama: 'ollama' };

/** Router settings short enough for tests: fast timeouts and backoff, breakers that stay open. */
export const FAST_ROUTER = {
  first_byte_timeout_ms: 800,
  stall_timeout_ms: 600,
  backoff: { initial_ms: 20, cap_ms: 100, jitter_percent: 0 },
  breaker: { cooldown_ms: 600_000 },
};

/** A provider entry for the fake server's NAME speaking FORMAT. */
export function provider(fake, name, format, extra = {}) {
  return {
    id: name,
    label: `${name} (${format})`,
    enabled: true,
    config: { kind: KINDS[format], base_url: fake.base(name, format), model: `model-${name}`, api_key: `key-${name}`, ...extra },
  };
}

/**
 * Waits, from an extension page, until the worker has no settings write pending. The worker writes
 * the stored document back, filled in with its defaults, when it differs from what it would store
 * (at its start, once it has read the policy: Chromium's first read can take seconds; and on any
 * `settings.get`, which an open options page sends whenever the stored settings change). That is a
 * read-modify-write: a test's direct write landing in the middle of one is undone. The product
 * itself writes settings only through the worker, one write at a time. A `settings.get` goes
 * through the same queue, so once it answers, what is stored is filled in and stays.
 */
export async function workerSettled(page) {
  await page.evaluate(async () => {
    const until = Date.now() + 20_000;
    while ((await chrome.storage.local.get('settings.policy'))['settings.policy'] === undefined) {
      if (Date.now() > until) throw new Error('the worker never stored the policy it read');
      await new Promise((r) => setTimeout(r, 50));
    }
    await chrome.runtime.sendMessage({ type: 'settings.get' });
  });
}

/**
 * Writes the settings to chrome.storage.local and clears provider health, from an extension page,
 * with no worker write pending before or after it (a direct write made after this one stays).
 */
export async function configure(page, providers, router = {}) {
  await workerSettled(page);
  const settings = { version: 1, providers, router: { ...FAST_ROUTER, ...router } };
  await page.evaluate(async (s) => {
    await chrome.storage.local.set({ settings: s });
    await chrome.storage.session.remove(['providers.health', 'providers.lastStream']);
  }, settings);
  await workerSettled(page);
  return settings;
}

export async function openPanel(context) {
  const panel = await openExtensionPage(context, 'www/sidepanel.html');
  await panel.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  return panel;
}

const ANSWER = '[data-testid="understudy-answer"]';

/**
 * Types PROMPT in the panel, presses Enter and waits for the answer to end. Returns what the user
 * sees: state, provider, text, the error shown, the prompt box, the decisions, and the answer's
 * length at each DOM change (to prove it streamed).
 */
export async function ask(panel, prompt, { timeout = 15000, action = 'enter' } = {}) {
  const before = await panel.evaluate((sel) => {
    const a = document.querySelector(sel);
    window.__lengths = [];
    window.__observer?.disconnect();
    window.__observer = new MutationObserver(() => window.__lengths.push(a.textContent.length));
    window.__observer.observe(a, { characterData: true, subtree: true, childList: true });
    return Number(a.dataset.request ?? 0);
  }, ANSWER);
  if (action === 'enter') {
    await panel.fill('[data-testid="understudy-prompt"]', prompt);
    await panel.press('[data-testid="understudy-prompt"]', 'Enter');
  } else {
    await panel.click('[data-testid="understudy-continue"]');
  }
  await panel.waitForFunction(
    ([sel, n]) => {
      const a = document.querySelector(sel);
      return Number(a.dataset.request) === n + 1 && ['done', 'error'].includes(a.dataset.state);
    },
    [ANSWER, before],
    { timeout },
  );
  return readPanel(panel);
}

export async function readPanel(panel) {
  return panel.evaluate((sel) => {
    const a = document.querySelector(sel);
    const err = document.querySelector('[data-testid="understudy-error"]');
    return {
      state: a.dataset.state,
      outcome: a.dataset.outcome ?? null,
      errorClass: a.dataset.errorClass ?? null,
      provider: a.dataset.provider,
      text: a.textContent,
      error: err.hidden ? '' : err.textContent,
      prompt: document.querySelector('[data-testid="understudy-prompt"]').value,
      decisions: [...document.querySelectorAll('[data-testid="understudy-decisions"] li')].map((li) => `${li.dataset.kind}: ${li.textContent}`),
      lengths: window.__lengths ?? [],
      continueVisible: !document.querySelector('[data-testid="understudy-continue"]').hidden,
    };
  }, ANSWER);
}

/**
 * Stops the extension's service worker through the DevTools protocol (ServiceWorker.stopWorker on
 * its running version; stopAllWorkers does not reach extension workers); the next event restarts
 * it with fresh globals. Resolves once the protocol reports it stopped.
 */
export async function stopServiceWorker(context, page) {
  await serviceWorker(context);
  const prefix = `chrome-extension://${extensionId()}/`;
  const cdp = await context.newCDPSession(page);
  const status = new Map();
  let changed = () => {};
  cdp.on('ServiceWorker.workerVersionUpdated', (e) => {
    for (const v of e.versions) if (v.scriptURL.startsWith(prefix)) status.set(v.versionId, v.runningStatus);
    changed();
  });
  await cdp.send('ServiceWorker.enable');
  const deadline = Date.now() + 5000;
  const until = async (ok) => {
    while (!ok() && Date.now() < deadline) await new Promise((r) => { changed = r; setTimeout(r, 50); });
  };
  await until(() => [...status.values()].includes('running'));
  const running = [...status].filter(([, s]) => s === 'running').map(([id]) => id);
  for (const versionId of running) await cdp.send('ServiceWorker.stopWorker', { versionId });
  await until(() => running.every((id) => status.get(id) === 'stopped'));
  const stopped = running.length > 0 && running.every((id) => status.get(id) === 'stopped');
  await cdp.send('ServiceWorker.disable').catch(() => {});
  await cdp.detach().catch(() => {});
  return stopped;
}
