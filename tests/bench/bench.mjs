// `make bench`: runs every tests/bench/*.bench.mjs in one process, writes target/bench/report.json as
// {"metrics":[{name, value, unit, lower_is_better, peer}]} and prints it as a table.
// Each bench module exports `async function run(ctx)` returning an array of metrics. Timings are
// medians or p95 over repeated runs in one session; compare ratios, not absolute figures.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../e2e/browser.mjs';

const dir = path.join(ROOT, 'tests', 'bench');
const only = process.argv[2];
const modules = fs.readdirSync(dir).filter((f) => f.endsWith('.bench.mjs') && (!only || f.includes(only))).sort();
const metrics = [];
for (const file of modules) {
  const started = Date.now();
  const mod = await import(path.join(dir, file));
  try {
    const result = await mod.run({ root: ROOT });
    metrics.push(...result);
  } catch (error) {
    console.error(`bench ${file} failed: ${error?.stack ?? error}`);
    process.exitCode = 1;
  }
  console.error(`bench ${file}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
const out = path.join(ROOT, 'target', 'bench');
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'report.json'), `${JSON.stringify({ metrics }, null, 2)}\n`);

const fmt = (v) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : String(v));
const nameWidth = Math.max(36, ...metrics.map((m) => m.name.length + 2));
console.log(`\n${'metric'.padEnd(nameWidth)}${'value'.padStart(14)}  ${'unit'.padEnd(8)}${'better'.padEnd(8)}peer`);
for (const m of metrics) {
  const peer = m.peer ? `${m.peer.name}: ${fmt(m.peer.value)}` : '-';
  console.log(`${m.name.padEnd(nameWidth)}${fmt(m.value).padStart(14)}  ${m.unit.padEnd(8)}${(m.lower_is_better ? 'lower' : 'higher').padEnd(8)}${peer}`);
}
console.log(`\nreport: ${path.relative(ROOT, path.join(out, 'report.json'))}`);
