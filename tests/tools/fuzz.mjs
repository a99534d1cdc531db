// The core's fuzz targets (fuzz/fuzz_targets/, libFuzzer through cargo-fuzz on the stable toolchain).
//
//   node tests/tools/fuzz.mjs replay   builds every target and replays its seed corpus
//                                      (fuzz/corpus/<target>/: the seeds and every crash ever found);
//                                      prints node-test-like totals ("# pass N") for the summary.
//   node tests/tools/fuzz.mjs run      fuzzes every target for FUZZ_SECONDS (default 60) from its
//                                      seeds (new inputs go to target/fuzz/corpus/<target>/, a crash
//                                      to target/fuzz/artifacts/<target>/) and writes
//                                      target/fuzz/report.json: [{target, executions, seconds,
//                                      crashed, artifact}].
// A crash found by `run` is to be copied into fuzz/corpus/<target>/ once fixed, where `replay`
// keeps it as a regression input.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const FUZZ = path.join(ROOT, 'fuzz');
const OUT = path.join(ROOT, 'target', 'fuzz');
const mode = process.argv[2] ?? 'replay';
const seconds = Number(process.env.FUZZ_SECONDS ?? 60);
// cargo-fuzz asks for nightly flags (-Z); the stable toolchain accepts them with RUSTC_BOOTSTRAP.
// No sanitizer: the core is safe Rust; libFuzzer's coverage guidance and the targets' own
// assertions (chunking invariance, round trips) are what find bugs.
const env = { ...process.env, RUSTC_BOOTSTRAP: '1', CARGO_TARGET_DIR: path.join(FUZZ, 'target') };
const FLAGS = ['--sanitizer', 'none', '--release', '--debug-assertions'];

const targets = fs.readdirSync(path.join(FUZZ, 'fuzz_targets')).filter((f) => f.endsWith('.rs')).map((f) => f.slice(0, -3)).sort();

function cargoFuzz(args) {
  return spawnSync('cargo', ['fuzz', ...args], { cwd: FUZZ, env, encoding: 'utf8', maxBuffer: 64 << 20 });
}

const build = cargoFuzz(['build', ...FLAGS]);
if (build.status !== 0) {
  process.stdout.write(build.stdout + build.stderr);
  console.log('# pass 0\n# fail 1');
  process.exit(1);
}

let pass = 0;
let fail = 0;
const report = [];
for (const t of targets) {
  const seeds = path.join(FUZZ, 'corpus', t);
  const files = fs.existsSync(seeds) ? fs.readdirSync(seeds).length : 0;
  if (mode === 'replay') {
    // -runs=0: only the corpus inputs, each once.
    const r = cargoFuzz(['run', ...FLAGS, t, seeds, '--', '-runs=0']);
    const ok = r.status === 0 && files > 0;
    if (ok) pass++;
    else fail++;
    console.log(`${ok ? 'ok' : 'not ok'} - fuzz ${t}: ${files} seed inputs replayed`);
    if (!ok) process.stdout.write((r.stdout + r.stderr).slice(-4000));
  } else {
    const corpus = path.join(OUT, 'corpus', t);
    const artifacts = path.join(OUT, 'artifacts', t);
    fs.mkdirSync(corpus, { recursive: true });
    fs.mkdirSync(artifacts, { recursive: true });
    const started = Date.now();
    const r = cargoFuzz(['run', ...FLAGS, t, corpus, seeds, '--',
      `-max_total_time=${seconds}`, `-artifact_prefix=${artifacts}/`, '-rss_limit_mb=2048', '-print_final_stats=1']);
    const text = r.stdout + r.stderr;
    const executions = Number(/stat::number_of_executed_units:\s*(\d+)/.exec(text)?.[1] ?? /Done (\d+) runs/.exec(text)?.[1] ?? 0);
    const artifact = /Test unit written to (\S+)/.exec(text)?.[1] ?? null;
    const crashed = r.status !== 0;
    if (crashed) fail++;
    else pass++;
    report.push({ target: t, executions, seconds: Math.round((Date.now() - started) / 1000), crashed, artifact });
    console.log(`${crashed ? 'not ok' : 'ok'} - fuzz ${t}: ${executions} executions${crashed ? `, crash: ${artifact}` : ', no crash'}`);
    if (crashed) process.stdout.write(text.slice(-4000));
  }
}
if (mode === 'run') {
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`report: ${path.relative(ROOT, path.join(OUT, 'report.json'))}`);
}
console.log(`# pass ${pass}\n# fail ${fail}`);
process.exit(fail ? 1 : 0);
