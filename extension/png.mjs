// The extension's icons, drawn here so no binary lives in the repository (PNG, RGBA, deflated), and
// the CRC-32 the zips share. Used by build.mjs and tests/tools/store.mjs; not shipped.
import zlib from 'node:zlib';

/** The icon sizes the manifests name (Chrome: 16, 32, 48, 128; AMO also 96). */
export const ICON_SIZES = [16, 32, 48, 96, 128];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
export function crc32(buf) {
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
/**
 * A rounded square in the product colour with a white "U" (the understudy stepping in), `size`
 * pixels square; `pad` transparent pixels on each side (the Chrome Web Store's 128 px icon is 96 px
 * of artwork in 16 px of padding).
 */
export function icon(size, pad = 0) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  const s = size;
  for (let y = 0; y < s; y++) {
    raw[y * (s * 4 + 1)] = 0;
    for (let x = 0; x < s; x++) {
      const inner = s - 2 * pad;
      const u = (x - pad + 0.5) / inner;
      const v = (y - pad + 0.5) / inner;
      // rounded square mask
      const r = 0.22;
      const dx = Math.max(Math.abs(u - 0.5) - (0.5 - r), 0);
      const dy = Math.max(Math.abs(v - 0.5) - (0.5 - r), 0);
      const inside = u >= 0 && u <= 1 && v >= 0 && v <= 1 && Math.hypot(dx, dy) <= r;
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

/** {width, height} of a PNG, or null when `buf` is not one. */
export function pngSize(buf) {
  const magic = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (buf.length < 24 || !buf.subarray(0, 8).equals(magic) || buf.toString('ascii', 12, 16) !== 'IHDR') return null;
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}
