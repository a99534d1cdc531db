// Assembles the unpacked extensions and their store zips from extension/, www/ and the
// wasm-bindgen output. Usage: node extension/build.mjs PKG_DIR OUT_DIR
// Writes OUT_DIR/chrome, OUT_DIR/firefox, OUT_DIR/understudy-chrome.zip, OUT_DIR/understudy-firefox.zip.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { checkUsed, readCatalogue } from './catalogue.mjs';
import { crc32, ICON_SIZES, icon } from './png.mjs';
import { checkManifest, fillCaptureHook, readAdapters } from './sites.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const [pkgDir, outDir] = process.argv.slice(2).map((p) => path.resolve(p));
if (!pkgDir || !outDir) {
  console.error('usage: node extension/build.mjs PKG_DIR OUT_DIR');
  process.exit(2);
}

// The public half of the key that fixes the unpacked extension's id (the private half is not needed
// to load it unpacked; a store assigns its own).
const PUBLIC_KEY = fs.readFileSync(path.join(root, 'extension', 'key.pub.b64'), 'utf8').trim();
// One Wasm build per surface (see the Makefile): the service worker's and the pages'.
const PKG_FILES = ['worker', 'pages'].flatMap((s) => [`understudy_${s}.js`, `understudy_${s}_bg.wasm`]);
// `store/` is the store listing's source (README: Store packages), read by tests/tools/store.mjs;
// `settings.schema.json` is compiled into the core (src/preferences.rs), never read at run time.
const NOT_SHIPPED = new Set(['build.mjs', 'catalogue.mjs', 'png.mjs', 'sites.mjs', 'i18n', 'store', 'settings.schema.json', 'manifest.json', 'manifest.firefox.json', 'key.pub.b64']);

function copyTree(from, to, skip = new Set()) {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (skip.has(entry.name)) continue;
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) copyTree(src, dst);
    else fs.copyFileSync(src, dst);
  }
}

/** Merges `over` into `base`; a null value deletes the key. Keys starting with "//" are comments. */
function merge(base, over) {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (k.startsWith('//')) continue;
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object') out[k] = merge(out[k], v);
    else out[k] = v;
  }
  return out;
}

// ---- zip (deflate), for the store uploads ----
/** Zips `dir`; `replace` gives other contents for some of its files (by path in the zip). */
function zipDir(dir, zipPath, replace = {}) {
  const files = [];
  (function walk(d, prefix) {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p, `${prefix}${e.name}/`);
      else files.push([`${prefix}${e.name}`, replace[`${prefix}${e.name}`] ?? fs.readFileSync(p)]);
    }
  })(dir, '');
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, data] of files) {
    const nameBuf = Buffer.from(name, 'utf8');
    const packed = zlib.deflateRawSync(data, { level: 9 });
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt32LE(0, 10); // time/date: fixed for reproducible zips
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    locals.push(local, nameBuf, packed);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(0, 12);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, nameBuf);
    offset += 30 + nameBuf.length + packed.length;
  }
  const centralBuf = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralBuf.length, 12);
  end.writeUInt32LE(offset, 16);
  fs.writeFileSync(zipPath, Buffer.concat([...locals, centralBuf, end]));
}

/** The id Chrome derives from the manifest key: SHA-256 of the DER key, first 32 hex digits as a-p. */
export function extensionId(publicKeyB64) {
  const hex = createHash('sha256').update(Buffer.from(publicKeyB64, 'base64')).digest('hex').slice(0, 32);
  return [...hex].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('');
}

function assemble(target, manifest) {
  const dir = path.join(outDir, target);
  fs.rmSync(dir, { recursive: true, force: true });
  copyTree(path.join(root, 'extension'), dir, NOT_SHIPPED);
  copyTree(path.join(root, 'www'), path.join(dir, 'www'));
  fs.mkdirSync(path.join(dir, 'pkg'), { recursive: true });
  for (const f of PKG_FILES) {
    fs.copyFileSync(path.join(pkgDir, f), path.join(dir, 'pkg', f));
  }
  fs.mkdirSync(path.join(dir, 'icons'), { recursive: true });
  for (const size of ICON_SIZES) fs.writeFileSync(path.join(dir, 'icons', `icon-${size}.png`), icon(size));
  fs.writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const name of ['capture-hook.js', 'page-hook.js', 'xhr-hook.js', 'read-hook.js']) {
    const hook = path.join(dir, 'content', name);
    fs.writeFileSync(hook, fillCaptureHook(fs.readFileSync(hook, 'utf8'), ADAPTERS));
  }
  for (const [lang, messages] of Object.entries(CATALOGUE)) {
    fs.mkdirSync(path.join(dir, '_locales', lang), { recursive: true });
    fs.writeFileSync(path.join(dir, '_locales', lang, 'messages.json'), `${JSON.stringify(messages, null, 2)}\n`);
  }
  // The store package carries no `key` (the Chrome Web Store refuses it and assigns its own id):
  // the key only pins the id of the unpacked build the tests load.
  const { key: _key, ...store } = manifest;
  zipDir(dir, path.join(outDir, `understudy-${target}.zip`), { 'manifest.json': Buffer.from(`${JSON.stringify(store, null, 2)}\n`) });
  return dir;
}

/** Every source file that may use a message key. */
function sources(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'i18n' ? [] : sources(p);
    return /\.(js|html|json)$/.test(e.name) && !NOT_SHIPPED.has(e.name) && e.name !== 'i18n.js' ? [p] : [];
  });
}
const CATALOGUE = readCatalogue(path.join(root, 'extension', 'i18n'));
checkUsed(CATALOGUE, [...sources(path.join(root, 'extension')), ...sources(path.join(root, 'www')), path.join(root, 'extension', 'manifest.json'), path.join(root, 'extension', 'manifest.firefox.json')]);

const base = JSON.parse(fs.readFileSync(path.join(root, 'extension', 'manifest.json'), 'utf8'));
const ADAPTERS = readAdapters(path.join(root, 'src', 'detect', 'rules'));
checkManifest(base, ADAPTERS);
const firefoxOver = JSON.parse(fs.readFileSync(path.join(root, 'extension', 'manifest.firefox.json'), 'utf8'));
const chromeDir = assemble('chrome', { ...base, key: PUBLIC_KEY });
const firefoxDir = assemble('firefox', merge(base, firefoxOver));
fs.writeFileSync(path.join(outDir, 'chrome-extension-id.txt'), `${extensionId(PUBLIC_KEY)}\n`);
console.log(`built ${path.relative(root, chromeDir)} (id ${extensionId(PUBLIC_KEY)}) and ${path.relative(root, firefoxDir)}`);
