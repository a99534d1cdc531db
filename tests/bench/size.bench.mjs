// wasm_gzip_bytes: every .wasm file the Chrome build ships, gzipped at the highest level.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

function wasmFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return wasmFiles(p);
    return e.name.endsWith('.wasm') ? [p] : [];
  });
}

export async function run({ root }) {
  const files = wasmFiles(path.join(root, 'dist', 'chrome'));
  if (files.length === 0) throw new Error('no wasm in dist/chrome: run make build');
  const gz = files.reduce((n, f) => n + zlib.gzipSync(fs.readFileSync(f), { level: 9 }).length, 0);
  const raw = files.reduce((n, f) => n + fs.statSync(f).size, 0);
  return [
    { name: 'wasm_gzip_bytes', value: gz, unit: 'bytes', lower_is_better: true, peer: null },
    { name: 'wasm_raw_bytes', value: raw, unit: 'bytes', lower_is_better: true, peer: null },
  ];
}
