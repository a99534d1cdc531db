// Launches Debian's Chromium with the built extension loaded, the fake chatgpt.com mapped to loopback,
// and nothing downloaded. Shared by the end-to-end tests, the demo and the benchmarks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const EXTENSION_DIR = path.join(ROOT, 'dist', 'chrome');
export const CHROMIUM = process.env.UNDERSTUDY_CHROMIUM ?? '/usr/bin/chromium';

/** The id Chrome gives the unpacked extension (fixed by the manifest key). */
export function extensionId() {
  return fs.readFileSync(path.join(ROOT, 'dist', 'chrome-extension-id.txt'), 'utf8').trim();
}

/**
 * Starts Chromium with the extension. `chatgptPort` maps chatgpt.com, chat.openai.com and
 * ws.chatgpt.com (the site's WebSocket host) to the fake server on loopback. `userDataDir` keeps a
 * profile across launches (for restart tests); by default a fresh temporary profile is used and
 * removed on close. `extensionDir` loads another build of the extension (e.g. a copy with its own
 * key, so its id is unique to one test). `hostRules` maps more hosts to loopback ports. `lang` (e.g.
 * `de`) starts the browser in that UI language (what `chrome.i18n` and `navigator.language` say).
 */
export async function launch({ chatgptPort, userDataDir, headless = true, viewport = { width: 1280, height: 800 }, extensionDir = EXTENSION_DIR, hostRules = {}, extension = true, lang = null } = {}) {
  if (extension && !fs.existsSync(path.join(extensionDir, 'manifest.json'))) {
    throw new Error(`no built extension at ${extensionDir}: run 'make build' first`);
  }
  const profile = userDataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'understudy-profile-'));
  const args = [
    // `extension: false` gives the same browser without Understudy (for overhead comparisons).
    ...(extension ? [`--disable-extensions-except=${extensionDir}`, `--load-extension=${extensionDir}`] : []),
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--ignore-certificate-errors',
  ];
  if (headless) args.push('--headless=new');
  if (lang) args.push(`--lang=${lang}`, `--accept-lang=${lang}`);
  const rules = [];
  if (chatgptPort) rules.push(`MAP chatgpt.com 127.0.0.1:${chatgptPort}`, `MAP chat.openai.com 127.0.0.1:${chatgptPort}`, `MAP ws.chatgpt.com 127.0.0.1:${chatgptPort}`);
  // More hosts on loopback, e.g. {'status.openai.com': port} for a fake status page.
  for (const [host, port] of Object.entries(hostRules)) rules.push(`MAP ${host} 127.0.0.1:${port}`);
  if (rules.length) args.push(`--host-resolver-rules=${rules.join(', ')}`);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: false, // headless is chosen by --headless=new above: the old headless mode has no extensions
    ignoreDefaultArgs: ['--disable-extensions', '--headless'],
    ignoreHTTPSErrors: true,
    viewport,
    args,
    ...(lang ? { locale: lang, env: { ...process.env, LANGUAGE: lang, LANG: `${lang}.UTF-8` } } : {}),
  });
  const close = async () => {
    await context.close();
    if (!userDataDir) fs.rmSync(profile, { recursive: true, force: true });
  };
  return { context, close, profile };
}

/** The extension's service worker, waiting for it to start if needed. */
export async function serviceWorker(context) {
  const id = extensionId();
  const matches = (w) => w.url().startsWith(`chrome-extension://${id}/`);
  const existing = context.serviceWorkers().find(matches);
  if (existing) return existing;
  return context.waitForEvent('serviceworker', { predicate: matches, timeout: 15000 });
}

/** Opens one of the extension's pages (e.g. 'www/options.html'). */
export async function openExtensionPage(context, page) {
  const tab = await context.newPage();
  await tab.goto(`chrome-extension://${extensionId()}/${page}`);
  return tab;
}
