// wasm_gzip_bytes: the largest Wasm one surface loads (each surface has a build of its own: the
// service worker's and the pages'), gzipped at the highest level; wasm_gzip_bytes_<surface> for
// each and wasm_gzip_bytes_total for every .wasm the Chrome build ships.
// wasm_code_bytes / wasm_data_bytes / wasm_functions: what the shipped core is made of (the code
// section is what grows with monomorphised generics; data holds tables and texts).
// wasm_compile_ms: median time to compile the core (WebAssembly.compile), a share of every cold
// start of the service worker and of each extension page.
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

function leb(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) return [value, at];
  }
}

/** Sizes of the code and data sections and the number of function bodies. */
function sections(bytes) {
  const out = { code: 0, data: 0, functions: 0 };
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, start] = leb(bytes, at + 1);
    if (id === 10) {
      out.code += size;
      out.functions += leb(bytes, start)[0];
    } else if (id === 11) {
      out.data += size;
    }
    at = start + size;
  }
  return out;
}

async function compileMs(bytes, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await WebAssembly.compile(bytes);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export async function run({ root }) {
  const files = wasmFiles(path.join(root, 'dist', 'chrome'));
  if (files.length === 0) throw new Error('no wasm in dist/chrome: run make build');
  const blobs = files.map((f) => fs.readFileSync(f));
  const gzs = blobs.map((b) => zlib.gzipSync(b, { level: 9 }).length);
  const gz = gzs.reduce((n, g) => n + g, 0);
  const surface = (f) => /understudy_(\w+)_bg\.wasm$/.exec(f)?.[1] ?? path.basename(f, '.wasm');
  const raw = blobs.reduce((n, b) => n + b.length, 0);
  const parts = blobs.map(sections);
  const sum = (k) => parts.reduce((n, p) => n + p[k], 0);
  let compile = 0;
  for (const b of blobs) compile += await compileMs(b, 15);
  const metric = (name, value, unit) => ({ name, value, unit, lower_is_better: true, peer: null });
  return [
    metric('wasm_gzip_bytes', Math.max(...gzs), 'bytes'),
    ...files.map((f, i) => metric(`wasm_gzip_bytes_${surface(f)}`, gzs[i], 'bytes')),
    metric('wasm_gzip_bytes_total', gz, 'bytes'),
    metric('wasm_raw_bytes', raw, 'bytes'),
    metric('wasm_code_bytes', sum('code'), 'bytes'),
    metric('wasm_data_bytes', sum('data'), 'bytes'),
    metric('wasm_functions', sum('functions'), 'count'),
    metric('wasm_compile_ms', Math.round(compile * 100) / 100, 'ms'),
  ];
}
