// `make dist`: checks the store uploads the build wrote (dist/understudy-chrome.zip for the Chrome
// Web Store, dist/understudy-firefox.zip for addons.mozilla.org) and writes dist/store/, what the
// stores' forms ask for besides the package:
//   icon-128.png           the Chrome Web Store icon (96 px of artwork in 16 px of transparent padding)
//   icons/icon-<n>.png     the manifest's icons, 16, 32, 48, 96 and 128 px (AMO takes the same)
//   promo-440x280.png      the Chrome Web Store's small promo tile
//   listing/<section>.txt  the listing's texts from extension/store/listing.md, checked
//   listing.md             that source, whole
//   privacy.html           the privacy policy (www/privacy.html in English, styles inlined, no
//                          script), to publish at the listing's privacy policy address
//   screenshots/*.png      1280x800 screenshots from the headless demo (tests/demo/run.mjs)
//   understudy-source.zip  the committed source (`git archive HEAD`): addons.mozilla.org asks for
//                          the source of generated code (the Wasm core and its wasm-bindgen glue)
// Fails on anything a store would refuse: a file in a zip that the unpacked build does not ship, a
// development key or Firefox-only keys in Chrome's manifest, a manifest entry naming a missing file,
// a name or description over the stores' limits in any language, a permission the listing does not
// justify, a screenshot of the wrong size. Then loads the Chrome zip's exact contents in Chromium.
// Usage: node tests/tools/store.mjs [--no-demo]   (--no-demo reuses the screenshots in target/demo)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';
import { CHROMIUM, ROOT } from '../e2e/browser.mjs';
import { ICON_SIZES, icon, pngSize } from '../../extension/png.mjs';

const DIST = path.join(ROOT, 'dist');
const STORE = path.join(DIST, 'store');
const DEMO = path.join(ROOT, 'target', 'demo');
const LANGS = ['en', 'de', 'es', 'fr', 'ja', 'zh_CN', 'pt_BR'];
// From the demo: the failure's notice, the rescued answer in it, a dark page, the library, the settings.
const SCREENSHOTS = ['chatgpt-outage.png', 'rescue-answer.png', 'notice-dark.png', 'library.png', 'options.png'];
const LIMITS = { name: 50, description: 132, summary: 250, full: 16_000, purpose: 1_000, justification: 1_000 };
// Never in a package: the build's own files, the catalogue's sources, the listing, keys, source maps.
const NEVER = [/\.mjs$/, /\.md$/, /\.map$/, /(^|\/)\./, /^i18n\//, /^store\//, /\.b64$/, /\.pem$/, /^settings\.schema\.json$/];

const problems = [];
const fail = (what) => problems.push(what);
const say = (what) => console.log(what);

// ---- the zips ----

/** The files of a zip written by extension/build.mjs: {name: Buffer}. */
function readZip(file) {
  const buf = fs.readFileSync(file);
  const end = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error(`${file}: not a zip`);
  const count = buf.readUInt16LE(end + 10);
  let at = buf.readUInt32LE(end + 16);
  const files = {};
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(at) !== 0x02014b50) throw new Error(`${file}: bad central directory`);
    const method = buf.readUInt16LE(at + 10);
    const packed = buf.readUInt32LE(at + 20);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.toString('utf8', at + 46, at + 46 + nameLen);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + packed);
    files[name] = method === 8 ? zlib.inflateRawSync(data) : data;
    at += 46 + nameLen + extraLen + commentLen;
  }
  return files;
}

function walk(dir, prefix = '') {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

/** The files a manifest names (they must be in the package). */
function named(manifest) {
  const out = new Set();
  const add = (f) => typeof f === 'string' && out.add(f.replace(/[?#].*$/, ''));
  Object.values(manifest.icons ?? {}).forEach(add);
  Object.values(manifest.action?.default_icon ?? {}).forEach(add);
  add(manifest.action?.default_popup);
  add(manifest.background?.service_worker);
  (manifest.background?.scripts ?? []).forEach(add);
  add(manifest.options_ui?.page);
  add(manifest.side_panel?.default_path);
  add(manifest.sidebar_action?.default_panel);
  add(typeof manifest.sidebar_action?.default_icon === 'string' ? manifest.sidebar_action.default_icon : null);
  add(manifest.storage?.managed_schema);
  for (const c of manifest.content_scripts ?? []) (c.js ?? []).concat(c.css ?? []).forEach(add);
  for (const w of manifest.web_accessible_resources ?? []) (w.resources ?? []).forEach(add);
  return out;
}

/** The message a `__MSG_key__` value stands for in `lang`, or the value itself. */
function resolve(files, value, lang) {
  const key = /^__MSG_(\w+)__$/.exec(value ?? '')?.[1];
  if (!key) return value;
  const messages = JSON.parse(files[`_locales/${lang}/messages.json`]?.toString('utf8') ?? '{}');
  return messages[key]?.message ?? null;
}

function checkZip(target) {
  const zip = path.join(DIST, `understudy-${target}.zip`);
  if (!fs.existsSync(zip)) return fail(`${zip} is missing: run 'make build'`);
  const files = readZip(zip);
  const names = Object.keys(files).sort();
  const shipped = walk(path.join(DIST, target)).sort();
  // The zip is the unpacked build, file for file (only Chrome's manifest differs: no key).
  for (const n of names) if (!shipped.includes(n)) fail(`${target} zip: ${n} is not in dist/${target}`);
  for (const n of shipped) if (!names.includes(n)) fail(`${target} zip: ${n} of dist/${target} is missing`);
  for (const n of names) {
    if (NEVER.some((re) => re.test(n))) fail(`${target} zip: ${n} must not ship`);
    if (n !== 'manifest.json' && shipped.includes(n) && !files[n].equals(fs.readFileSync(path.join(DIST, target, n)))) fail(`${target} zip: ${n} differs from dist/${target}`);
  }
  let manifest;
  try {
    manifest = JSON.parse(files['manifest.json'].toString('utf8'));
  } catch (error) {
    return fail(`${target} zip: manifest.json: ${error.message}`);
  }
  if (manifest.manifest_version !== 3) fail(`${target}: manifest_version ${manifest.manifest_version}`);
  if (!/^\d+(\.\d+){0,3}$/.test(manifest.version ?? '')) fail(`${target}: version ${manifest.version}`);
  for (const f of named(manifest)) if (!files[f]) fail(`${target}: the manifest names ${f}, which is not in the zip`);
  for (const [size, f] of Object.entries(manifest.icons ?? {})) {
    const got = files[f] ? pngSize(files[f]) : null;
    if (got?.width !== Number(size) || got?.height !== Number(size)) fail(`${target}: ${f} is ${JSON.stringify(got)}, not ${size}x${size}`);
  }
  const sizes = Object.keys(manifest.icons ?? {}).map(Number);
  for (const size of ICON_SIZES) if (!sizes.includes(size)) fail(`${target}: no ${size} px icon in the manifest`);
  for (const lang of LANGS) {
    if (!files[`_locales/${lang}/messages.json`]) fail(`${target}: no _locales/${lang}`);
    const name = resolve(files, manifest.name, lang);
    const description = resolve(files, manifest.description, lang);
    if (!name || [...name].length > LIMITS.name) fail(`${target} ${lang}: name "${name}" (${[...(name ?? '')].length} > ${LIMITS.name} characters)`);
    if (!description || [...description].length > LIMITS.description) fail(`${target} ${lang}: description over ${LIMITS.description} characters`);
    for (const [id, c] of Object.entries(manifest.commands ?? {})) {
      if (!resolve(files, c.description, lang)) fail(`${target} ${lang}: command ${id} has no description`);
    }
  }
  const suggested = Object.values(manifest.commands ?? {}).filter((c) => c.suggested_key);
  if (suggested.length > 4) fail(`${target}: ${suggested.length} suggested shortcuts (at most 4)`);
  if (target === 'chrome') {
    for (const k of ['key', 'browser_specific_settings', 'sidebar_action']) if (k in manifest) fail(`chrome: the store's manifest has "${k}"`);
    if (!manifest.background?.service_worker) fail('chrome: no background service worker');
  } else {
    const gecko = manifest.browser_specific_settings?.gecko;
    if (!gecko?.id) fail('firefox: no gecko id');
    if (!gecko?.data_collection_permissions) fail('firefox: no data_collection_permissions (AMO asks for it)');
    if (manifest.background?.service_worker || !manifest.background?.scripts?.length) fail('firefox: the background must be scripts');
    if ('side_panel' in manifest || 'key' in manifest) fail('firefox: Chrome-only keys in the manifest');
  }
  say(`${path.relative(ROOT, zip)}: ${names.length} files, ${(fs.statSync(zip).size / 1024).toFixed(0)} KB, manifest ${manifest.version}`);
  return manifest;
}

// ---- the listing ----

function sections(markdown) {
  const out = {};
  let current = null;
  for (const line of markdown.split('\n')) {
    const h = /^## (.+)$/.exec(line);
    if (h) {
      current = h[1].trim();
      out[current] = [];
    } else if (current) {
      out[current].push(line);
    }
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.join('\n').trim()]));
}

const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

function writeListing(chrome) {
  const source = path.join(ROOT, 'extension', 'store', 'listing.md');
  const text = fs.readFileSync(source, 'utf8');
  const parts = sections(text);
  for (const s of ['Short description', 'Full description', 'Category', 'Single purpose', 'Permission justifications', 'Privacy practices', 'Privacy policy', 'Notes for reviewers']) {
    if (!parts[s]) fail(`listing.md: no "## ${s}" section`);
  }
  const en = JSON.parse(fs.readFileSync(path.join(DIST, 'chrome', '_locales', 'en', 'messages.json'), 'utf8'));
  const short = parts['Short description'] ?? '';
  if ([...short].length > LIMITS.description) fail(`listing.md: the short description has ${[...short].length} characters (at most ${LIMITS.description})`);
  if (short !== en.extDescription?.message) fail('listing.md: the short description differs from the manifest\'s (extDescription in extension/i18n/extension.json)');
  if ([...(parts['Full description'] ?? '')].length > LIMITS.full) fail('listing.md: the full description is too long');
  if ([...(parts['Single purpose'] ?? '')].length > LIMITS.purpose) fail('listing.md: the single purpose is too long');
  // Every permission the Chrome manifest asks for is justified, in a few lines each.
  const justified = {};
  for (const block of (parts['Permission justifications'] ?? '').split(/^### /m).slice(1)) {
    const [title, ...body] = block.split('\n');
    justified[title.trim()] = body.join('\n').trim();
  }
  const asked = [...(chrome?.permissions ?? []), ...(chrome?.host_permissions?.length ? ['Host permissions'] : []), 'Remote code'];
  for (const p of asked) {
    if (!justified[p]) fail(`listing.md: no justification for ${p}`);
    else if ([...justified[p]].length > LIMITS.justification) fail(`listing.md: the justification for ${p} is too long`);
  }
  for (const p of Object.keys(justified)) if (!asked.includes(p)) fail(`listing.md: a justification for ${p}, which the manifest does not ask for`);
  const dir = path.join(STORE, 'listing');
  fs.mkdirSync(dir, { recursive: true });
  for (const [title, body] of Object.entries(parts)) fs.writeFileSync(path.join(dir, `${slug(title)}.txt`), `${body}\n`);
  for (const [p, body] of Object.entries(justified)) fs.writeFileSync(path.join(dir, `permission-${slug(p)}.txt`), `${body}\n`);
  // The stores' summaries in every language, as the manifest gives them.
  const summaries = LANGS.map((lang) => {
    const m = JSON.parse(fs.readFileSync(path.join(DIST, 'chrome', '_locales', lang, 'messages.json'), 'utf8'));
    return `${lang}\t${m.extName.message}\t${m.extDescription.message}`;
  });
  fs.writeFileSync(path.join(dir, 'names-and-summaries.tsv'), `language\tname\tsummary\n${summaries.join('\n')}\n`);
  fs.copyFileSync(source, path.join(STORE, 'listing.md'));
  say(`dist/store/listing/: ${fs.readdirSync(dir).length} files (${Object.keys(justified).length} justifications)`);
}

// ---- the privacy policy, for the listing's address ----

function writePrivacy() {
  const www = path.join(DIST, 'chrome', 'www');
  let html = fs.readFileSync(path.join(www, 'privacy.html'), 'utf8');
  html = html.replace(/<link rel="stylesheet" href="([\w.-]+\.css)">/g, (_, css) => `<style>\n${fs.readFileSync(path.join(www, css), 'utf8')}</style>`);
  html = html.replace(/\s*<script[^>]*><\/script>/g, '');
  if (/<script|<link/.test(html)) fail('privacy.html: the published copy still loads a file');
  fs.writeFileSync(path.join(STORE, 'privacy.html'), html);
  say('dist/store/privacy.html: the privacy policy, one English page');
}

// ---- icons, the promo tile ----

function writeIcons() {
  fs.mkdirSync(path.join(STORE, 'icons'), { recursive: true });
  for (const size of ICON_SIZES) fs.copyFileSync(path.join(DIST, 'chrome', 'icons', `icon-${size}.png`), path.join(STORE, 'icons', `icon-${size}.png`));
  fs.writeFileSync(path.join(STORE, 'icon-128.png'), icon(128, 16));
  say(`dist/store/icon-128.png (store icon) and icons/ at ${ICON_SIZES.join(', ')} px`);
}

async function writePromo(context) {
  const en = JSON.parse(fs.readFileSync(path.join(DIST, 'chrome', '_locales', 'en', 'messages.json'), 'utf8'));
  const page = await context.newPage();
  await page.setViewportSize({ width: 440, height: 280 });
  const logo = `data:image/png;base64,${icon(96).toString('base64')}`;
  await page.setContent(`<!doctype html><html><body style="margin:0;width:440px;height:280px;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:14px;background:#1a735c;color:#fff;font:600 26px system-ui,sans-serif;text-align:center">
    <img src="${logo}" width="96" height="96" alt=""><div>Understudy</div>
    <div style="font-weight:400;font-size:16px;max-width:380px;line-height:1.35" id="tag"></div></body></html>`);
  await page.evaluate((t) => (document.getElementById('tag').textContent = t), en.extName.message.replace(/^Understudy:\s*/, ''));
  await page.screenshot({ path: path.join(STORE, 'promo-440x280.png') });
  await page.close();
  const size = pngSize(fs.readFileSync(path.join(STORE, 'promo-440x280.png')));
  if (size?.width !== 440 || size?.height !== 280) fail(`promo-440x280.png is ${JSON.stringify(size)}`);
  say('dist/store/promo-440x280.png (small promo tile)');
}

// ---- screenshots ----

function writeScreenshots(runDemo) {
  if (runDemo) {
    say('running the demo headless for the screenshots (tests/demo/run.mjs)…');
    const run = spawnSync(process.execPath, [path.join(ROOT, 'tests', 'demo', 'run.mjs')], { cwd: ROOT, env: { ...process.env, UNDERSTUDY_DEMO: '1' }, stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
    if (run.status !== 0) return fail(`the demo failed (exit ${run.status}): see 'make run'`);
  }
  const dir = path.join(STORE, 'screenshots');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  SCREENSHOTS.forEach((name, i) => {
    const from = path.join(DEMO, name);
    if (!fs.existsSync(from)) return fail(`no screenshot ${name} in target/demo`);
    const size = pngSize(fs.readFileSync(from));
    if (size?.width !== 1280 || size?.height !== 800) return fail(`${name} is ${JSON.stringify(size)}, not a 1280x800 PNG`);
    fs.copyFileSync(from, path.join(dir, `${i + 1}-${name}`));
  });
  say(`dist/store/screenshots/: ${fs.readdirSync(dir).join(', ')} (1280x800)`);
}

// ---- the source, for addons.mozilla.org's review of the generated code (the Wasm and its glue) ----

function writeSource() {
  const out = path.join(STORE, 'understudy-source.zip');
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (head.status !== 0) return say('no git checkout: the source zip for addons.mozilla.org is left out (upload the source tree you built from)');
  const run = spawnSync('git', ['archive', '--format=zip', '-o', out, 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (run.status !== 0) return fail(`git archive failed: ${run.stderr}`);
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  say(`dist/store/understudy-source.zip: the source at ${head.stdout.trim()} for addons.mozilla.org's reviewers${dirty ? ' (uncommitted changes in the working tree are not in it: commit, then run make dist again)' : ''}`);
}

// ---- the Chrome zip, loaded as it is ----

async function loadChromeZip() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'understudy-store-'));
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'understudy-store-profile-'));
  try {
    for (const [name, data] of Object.entries(readZip(path.join(DIST, 'understudy-chrome.zip')))) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), data);
    }
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: false, ignoreDefaultArgs: ['--disable-extensions', '--headless'],
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', `--disable-extensions-except=${dir}`, `--load-extension=${dir}`],
    });
    try {
      const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: 15000 }));
      const seen = await worker.evaluate(() => ({ commands: Object.keys(chrome.runtime.getManifest().commands ?? {}), id: chrome.runtime.id }));
      if (seen.commands.length !== 2) fail(`the Chrome zip loaded with commands ${seen.commands}`);
      const popup = await context.newPage();
      await popup.goto(`chrome-extension://${seen.id}/www/popup.html`);
      await popup.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
      say(`the Chrome zip loads in Chromium as it is (id ${seen.id}, its worker and popup start)`);
      await writePromo(context);
    } finally {
      await context.close();
    }
  } catch (error) {
    fail(`the Chrome zip does not load in Chromium: ${error.message}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

fs.rmSync(STORE, { recursive: true, force: true });
fs.mkdirSync(STORE, { recursive: true });
const chrome = checkZip('chrome');
checkZip('firefox');
writeIcons();
writeListing(chrome);
writePrivacy();
writeSource();
await loadChromeZip();
writeScreenshots(!process.argv.includes('--no-demo'));
if (problems.length) {
  console.error(`\nmake dist: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
say(`\nStore packages ready: dist/understudy-chrome.zip, dist/understudy-firefox.zip and ${path.relative(ROOT, STORE)}/`);
