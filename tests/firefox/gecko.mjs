// Firefox for the end-to-end subset: Debian's firefox-esr driven by geckodriver over plain WebDriver
// HTTP (no client library), dist/firefox installed as a temporary add-on, and the fake chatgpt.com
// reached through a CONNECT proxy on loopback that tunnels only the chat hosts to the local server
// and refuses every other host (nothing leaves the machine). The browser's console (pages, content
// scripts, the extension's background and pages) is printed by Firefox to its stdout, which
// geckodriver passes on; `firefox.console()` returns what was printed so far.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const EXTENSION_DIR = path.join(ROOT, 'dist', 'firefox');
export const FIREFOX = process.env.UNDERSTUDY_FIREFOX ?? '/usr/bin/firefox-esr';
export const GECKODRIVER = process.env.UNDERSTUDY_GECKODRIVER ?? 'geckodriver';
// The moz-extension:// host of the add-on, fixed before install (Firefox picks a random one).
export const UUID = '5b1f6c0e-8d2a-4e47-9c3b-7a6e1d2f4b90';
export const ORIGIN = `moz-extension://${UUID}`;
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';
const CHAT_HOSTS = ['chatgpt.com', 'chat.openai.com', 'ws.chatgpt.com'];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * A CONNECT proxy on 127.0.0.1: `host:443` of a ChatGPT host is tunnelled to 127.0.0.1:`chatgptPort`,
 * of another host in `hosts` ({host: port}: another chat site's fake) to its port; anything else
 * (another host, a plain HTTP request) is refused. `refused` lists what was refused.
 */
export async function startProxy(chatgptPort, hosts = {}) {
  const refused = [];
  const sockets = new Set();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    client.once('data', (head) => {
      const line = head.toString('latin1').split('\r\n')[0];
      const m = /^CONNECT ([^\s:]+):(\d+) HTTP\/1\.[01]$/.exec(line);
      const host = m?.[1].toLowerCase();
      const to = !m || m[2] !== '443' ? null : Object.hasOwn(hosts, host) ? hosts[host] : CHAT_HOSTS.includes(host) ? chatgptPort : null;
      if (!to) {
        refused.push(line);
        client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const upstream = net.connect(to, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        const rest = head.subarray(head.indexOf('\r\n\r\n') + 4);
        if (rest.length) upstream.write(rest);
        client.pipe(upstream).pipe(client);
      });
      sockets.add(upstream);
      upstream.on('close', () => { sockets.delete(upstream); client.destroy(); });
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    refused,
    close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/** Prefs of the test profile: the proxy for the chat hosts, the console on stdout, a quiet browser. */
function prefs(proxyPort) {
  return {
    'network.proxy.type': 1,
    'network.proxy.http': '127.0.0.1',
    'network.proxy.http_port': proxyPort,
    'network.proxy.ssl': '127.0.0.1',
    'network.proxy.ssl_port': proxyPort,
    'network.proxy.no_proxies_on': '',
    'network.proxy.allow_hijacking_localhost': false, // loopback (the fake providers) goes direct
    'network.dns.disableIPv6': true,
    'devtools.console.stdout.content': true,
    'devtools.console.stdout.chrome': true,
    'extensions.webextensions.uuids': JSON.stringify({ 'understudy@understudy.dev': UUID }),
    'extensions.originControls.grantByDefault': true,
    'browser.shell.checkDefaultBrowser': false,
    'browser.startup.homepage_override.mstone': 'ignore',
    'datareporting.policy.dataSubmissionEnabled': false,
    'toolkit.telemetry.enabled': false,
    'app.update.enabled': false,
    'browser.safebrowsing.malware.enabled': false,
    'browser.safebrowsing.phishing.enabled': false,
    'network.captive-portal-service.enabled': false,
    'network.connectivity-service.enabled': false,
    'extensions.getAddons.cache.enabled': false,
    'services.settings.server': 'http://127.0.0.1:9/', // remote settings: nowhere
  };
}

/**
 * Starts geckodriver and a Firefox session with the extension installed. Returns a WebDriver
 * session (see `Session`) with `console()`, `proxy` and `close()`.
 */
export async function launchFirefox({ chatgptPort, hosts = {} }) {
  if (!fs.existsSync(path.join(EXTENSION_DIR, 'manifest.json'))) throw new Error(`no built extension at ${EXTENSION_DIR}: run 'make build' first`);
  const proxy = await startProxy(chatgptPort, hosts);
  const port = await freePort();
  const profileRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'understudy-firefox-'));
  // --allow-system-access: needed to open moz-extension:// pages (not settable through capabilities).
  const driver = spawn(GECKODRIVER, ['--port', String(port), '--allow-system-access', '--profile-root', profileRoot], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  driver.stdout.on('data', (d) => { log += d; });
  driver.stderr.on('data', (d) => { log += d; });
  const base = `http://127.0.0.1:${port}`;
  try {
    return await startSession(base, proxy, () => log, async () => {
      driver.kill();
      const force = setTimeout(() => driver.kill('SIGKILL'), 3000);
      await new Promise((r) => (driver.exitCode !== null || driver.signalCode !== null ? r() : driver.once('exit', r)));
      clearTimeout(force);
      await proxy.close();
      fs.rmSync(profileRoot, { recursive: true, force: true });
      // Kept for reading after a failure.
      fs.mkdirSync(path.join(ROOT, 'target', 'firefox'), { recursive: true });
      fs.writeFileSync(path.join(ROOT, 'target', 'firefox', 'console.log'), log);
    });
  } catch (error) {
    driver.kill();
    await proxy.close();
    throw error;
  }
}

async function startSession(base, proxy, log, stop) {
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`${base}/status`);
      if (r.ok) break;
    } catch {}
    if (i > 200) throw new Error(`geckodriver did not start:\n${log()}`);
    await sleep(50);
  }
  const created = await call(base, 'POST', '/session', {
    capabilities: {
      alwaysMatch: {
        browserName: 'firefox',
        acceptInsecureCerts: true,
        'moz:firefoxOptions': { binary: FIREFOX, args: ['-headless'], prefs: prefs(proxy.port) },
      },
    },
  });
  const session = new Session(base, created.sessionId);
  await session.cmd('POST', '/moz/addon/install', { path: EXTENSION_DIR, temporary: true }).catch(async (error) => {
    await session.cmd('DELETE', '').catch(() => {});
    throw error;
  });
  session.proxy = proxy;
  session.console = log;
  session.close = async () => {
    await session.cmd('DELETE', '').catch(() => {});
    await stop();
  };
  return session;
}

async function call(base, method, url, body) {
  const res = await fetch(base + url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    const v = json.value ?? {};
    const error = new Error(`${method} ${url}: ${v.error ?? res.status}: ${v.message ?? ''}`);
    error.code = v.error;
    throw error;
  }
  return json.value;
}

/** A WebDriver session: the few commands the tests use. */
export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  cmd(method, url, body) {
    return call(this.base, method, `/session/${this.id}${url}`, body);
  }

  /** Opens `url` in a new tab and switches to it; returns the tab's handle. */
  async newTab(url) {
    const { handle } = await this.cmd('POST', '/window/new', { type: 'tab' });
    await this.switchTo(handle);
    if (url) await this.go(url);
    return handle;
  }

  switchTo(handle) {
    return this.cmd('POST', '/window', { handle });
  }

  go(url) {
    return this.cmd('POST', '/url', { url });
  }

  /** Closes the current tab and switches to `next`. */
  async closeTab(next) {
    await this.cmd('DELETE', '/window');
    if (next) await this.switchTo(next);
  }

  /** Runs `fn` (a function) in the current browsing context with `args`; awaits what it returns. */
  run(fn, ...args) {
    return this.cmd('POST', '/execute/async', {
      script: `const done = arguments[arguments.length - 1];
        Promise.resolve().then(() => (${fn}).apply(null, Array.from(arguments).slice(0, -1)))
          .then((v) => done({ ok: true, v }), (e) => done({ ok: false, e: String(e && e.stack || e) }));`,
      args,
    }).then((r) => {
      if (r == null) throw new Error('no result: the page navigated while the script ran');
      if (!r.ok) throw new Error(`script failed: ${r.e}`);
      return r.v;
    });
  }

  /** Polls `fn` in the current context until it returns a truthy value; returns it. */
  async until(fn, { timeout = 15000, what = String(fn).slice(0, 120), args = [] } = {}) {
    const end = Date.now() + timeout;
    for (;;) {
      const v = await this.run(fn, ...args).catch((e) => {
        if (/no such frame|no such window|unload|navigat/i.test(String(e))) return null;
        throw e;
      });
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  }

  async find(selector) {
    const v = await this.cmd('POST', '/element', { using: 'css selector', value: selector });
    return v[ELEMENT];
  }

  /** A real click (WebDriver's element click: scrolled into view, trusted mouse events). */
  async click(selector) {
    const id = await this.find(selector);
    await this.cmd('POST', `/element/${id}/click`, {});
  }

  /** Switches into the iframe that `fn` (run in the current context) returns. */
  async enterFrame(fn) {
    const element = await this.until(fn, { what: 'the frame' });
    await this.cmd('POST', '/frame', { id: element });
  }

  topFrame() {
    return this.cmd('POST', '/frame', { id: null });
  }
}

/**
 * The extension's errors in Firefox's console output (what `devtools.console.stdout.*` prints): a
 * "JavaScript error" in one of its moz-extension:// files, and a console.error or console.warn
 * (the extension warns only when something failed) that names its files or starts with
 * "Understudy". Firefox's own messages (its remote settings, its chrome code) are not the extension's.
 */
export function extensionErrors(log) {
  const blocks = log.split(/\n(?=\S)/); // a message and its indented continuation lines
  return blocks.filter((b) => {
    if (/^JavaScript error:/.test(b)) return b.includes(ORIGIN);
    const m = /^console\.(error|warn): ([\s\S]*)/.exec(b);
    return !!m && (b.includes(ORIGIN) || /^\W*understudy/i.test(m[2]));
  });
}
