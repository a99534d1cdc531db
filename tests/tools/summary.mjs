// Prints what `make test` ran, suite by suite, and closes with one line "N passed, N failed".
// Fails when a suite ran no test, when any test failed, or when a test was skipped.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
const suites = [
  ['native (cargo test)', 'native.log', 'cargo'],
  ['fuzz targets (seed corpus replayed)', 'fuzz.log', 'node'],
  ['wasm in a page (Chromium)', 'wasm-browser.log', 'cargo'],
  ['wasm in a service worker (Chromium)', 'wasm-service-worker.log', 'cargo'],
  ['end to end (extension in Chromium)', 'e2e.log', 'node'],
  ['end to end (extension in Firefox)', 'firefox.log', 'node'],
];

function count(text, kind) {
  const sum = { passed: 0, failed: 0, skipped: 0 };
  if (kind === 'cargo') {
    for (const m of text.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/g)) {
      sum.passed += Number(m[1]);
      sum.failed += Number(m[2]);
      sum.skipped += Number(m[3]);
    }
  } else {
    const num = (re) => Number(re.exec(text)?.[1] ?? 0);
    sum.passed = num(/^# pass (\d+)$/m);
    sum.failed = num(/^# fail (\d+)$/m) + num(/^# cancelled (\d+)$/m);
    sum.skipped = num(/^# skipped (\d+)$/m) + num(/^# todo (\d+)$/m);
  }
  return sum;
}

const total = { passed: 0, failed: 0, skipped: 0 };
let ok = true;
console.log('\nsuite                                   passed  failed  skipped');
for (const [name, file, kind] of suites) {
  const p = path.join(dir, file);
  const c = fs.existsSync(p) ? count(fs.readFileSync(p, 'utf8'), kind) : { passed: 0, failed: 1, skipped: 0 };
  if (c.passed === 0 || c.failed > 0 || c.skipped > 0) ok = false;
  for (const k of Object.keys(total)) total[k] += c[k];
  console.log(`${name.padEnd(40)}${String(c.passed).padStart(6)}${String(c.failed).padStart(8)}${String(c.skipped).padStart(9)}`);
}
console.log(`\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(ok ? 0 : 1);
