// Assembles the unpacked extensions and their store zips from extension/, www/ and the
// wasm-bindgen output. Usage: node extension/build.mjs PKG_DIR OUT_DIR
// Writes OUT_DIR/chrome, OUT_DIR/firefox, OUT_DIR/understudy-chrome.zip, OUT_DIR/understudy-firefox.zip.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { checkUsed, readCatalogue } from './catalogue.mjs';

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
const NOT_SHIPPED = new Set(['build.mjs', 'catalogue.mjs', 'i18n', 'manifest.json', 'manifest.firefox.json', 'key.pub.b64']);

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

// ---- icons: drawn here so no binary lives in the repository ----
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/** A rounded square in the product colour with a white "U" (the understudy stepping in). */
function icon(size) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  const s = size;
  for (let y = 0; y < s; y++) {
    raw[y * (s * 4 + 1)] = 0;
    for (let x = 0; x < s; x++) {
      const u = (x + 0.5) / s;
      const v = (y + 0.5) / s;
      // rounded square mask
      const r = 0.22;
      const dx = Math.max(Math.abs(u - 0.5) - (0.5 - r), 0);
      const dy = Math.max(Math.abs(v - 0.5) - (0.5 - r), 0);
      const inside = Math.hypot(dx, dy) <= r;
      // the "U": two stems and a bowl
      const stem = 0.11;
      const leftStem = Math.abs(u - 0.32) < stem / 2 && v > 0.22 && v < 0.55;
      const rightStem = Math.abs(u - 0.68) < stem / 2 && v > 0.22 && v < 0.55;
      const bowlDist = Math.hypot(u - 0.5, v - 0.55);
      const bowl = v >= 0.55 && Math.abs(bowlDist - 0.18) < stem / 2;
      const white = leftStem || rightStem || bowl;
      const o = y * (s * 4 + 1) + 1 + x * 4;
      const [cr, cg, cb] = white ? [255, 255, 255] : [0x1a, 0x73, 0x5c];
      raw[o] = cr;
      raw[o + 1] = cg;
      raw[o + 2] = cb;
      raw[o + 3] = inside ? 255 : 0;
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(s, 0);
  header.writeUInt32BE(s, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', zlib.deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---- zip (deflate), for the store uploads ----
function zipDir(dir, zipPath) {
  const files = [];
  (function walk(d, prefix) {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p, `${prefix}${e.name}/`);
      else files.push([`${prefix}${e.name}`, fs.readFileSync(p)]);
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
  for (const size of [16, 32, 48, 128]) fs.writeFileSync(path.join(dir, 'icons', `icon-${size}.png`), icon(size));
  fs.writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const [lang, messages] of Object.entries(CATALOGUE)) {
    fs.mkdirSync(path.join(dir, '_locales', lang), { recursive: true });
    fs.writeFileSync(path.join(dir, '_locales', lang, 'messages.json'), `${JSON.stringify(messages, null, 2)}\n`);
  }
  zipDir(dir, path.join(outDir, `understudy-${target}.zip`));
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
const firefoxOver = JSON.parse(fs.readFileSync(path.join(root, 'extension', 'manifest.firefox.json'), 'utf8'));
const chromeDir = assemble('chrome', { ...base, key: PUBLIC_KEY });
const firefoxDir = assemble('firefox', merge(base, firefoxOver));
fs.writeFileSync(path.join(outDir, 'chrome-extension-id.txt'), `${extensionId(PUBLIC_KEY)}\n`);
console.log(`built ${path.relative(root, chromeDir)} (id ${extensionId(PUBLIC_KEY)}) and ${path.relative(root, firefoxDir)}`);
