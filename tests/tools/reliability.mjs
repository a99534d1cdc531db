// `make reliability`: the figures of SECURITY.md. Runs every test file that records reliability rows
// (tests/e2e/hostile-*, xss*, faults*, load*: attacks tried / blocked, payloads tried / inert, faults
// injected / survived, load prompts sent / accounted for), one file at a time, then the fuzz targets
// for FUZZ_SECONDS (default 60: executions / executions without a crash), and gathers the rows into
// target/reliability/report.json as {"rows": [{name, kind, tried, held, note}]}, printed as a table.
//
//   node tests/tools/reliability.mjs            clears old rows, runs everything, gathers
//   node tests/tools/reliability.mjs gather     gathers the rows already recorded (no run)
//
// A row is recorded by a test only once its assertions passed (tests/e2e/reliability.mjs). The run
// fails (exit 1) when a test file fails, when a file that should record rows recorded none (a
// skipped step cannot pass for a success), when fuzzing fails or reports nothing, or when a row
// holds less than it tried.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const E2E = path.join(ROOT, 'tests', 'e2e');
const OUT = path.join(ROOT, 'target', 'reliability');
const ROWS = path.join(OUT, 'rows');
const LOGS = path.join(OUT, 'logs');
const FUZZ_REPORT = path.join(ROOT, 'target', 'fuzz', 'report.json');
const FILES = /^(hostile-.*|xss.*|faults.*|load.*)\.test\.mjs$/;
const KINDS = ['attacks', 'payloads', 'faults', 'load', 'fuzz'];

const problems = [];

/** Runs a command, its output to `log` (and a line of progress to the console); resolves its exit code. */
function run(cmd, args, log, env = {}) {
  return new Promise((resolve) => {
    const out = fs.createWriteStream(log);
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.on('close', (code, signal) => {
      out.end();
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

const rowFiles = () => (fs.existsSync(ROWS) ? fs.readdirSync(ROWS).filter((f) => f.endsWith('.json')).sort() : []);
/** Rows written (or rewritten: a row keeps its file name from run to run) since `ms`. */
const rowsSince = (ms) => rowFiles().filter((f) => fs.statSync(path.join(ROWS, f)).mtimeMs >= ms);

async function runAll() {
  fs.rmSync(ROWS, { recursive: true, force: true });
  fs.rmSync(LOGS, { recursive: true, force: true });
  fs.rmSync(FUZZ_REPORT, { force: true });
  fs.mkdirSync(ROWS, { recursive: true });
  fs.mkdirSync(LOGS, { recursive: true });
  const files = fs.readdirSync(E2E).filter((f) => FILES.test(f)).sort();
  if (files.length === 0) problems.push('no test file to run');
  for (const file of files) {
    const started = Date.now();
    const log = path.join(LOGS, `${file}.log`);
    const code = await run(process.execPath, ['--test', '--test-concurrency=1', path.join(E2E, file)], log);
    const added = rowsSince(started - 1);
    const secs = Math.round((Date.now() - started) / 1000);
    console.log(`${code === 0 ? 'ok' : 'not ok'} - ${file}: ${added.length} row${added.length === 1 ? '' : 's'} in ${secs} s${code === 0 ? '' : ` (exit ${code}; see ${path.relative(ROOT, log)})`}`);
    if (code !== 0) problems.push(`${file} failed (exit ${code}); see ${path.relative(ROOT, log)}`);
    if (added.length === 0) problems.push(`${file} recorded no row`);
  }
  const seconds = process.env.FUZZ_SECONDS ?? '60';
  const started = Date.now();
  const log = path.join(LOGS, 'fuzz.log');
  const code = await run(process.execPath, [path.join(ROOT, 'tests', 'tools', 'fuzz.mjs'), 'run'], log, { FUZZ_SECONDS: seconds });
  console.log(`${code === 0 ? 'ok' : 'not ok'} - fuzz (${seconds} s a target) in ${Math.round((Date.now() - started) / 1000)} s${code === 0 ? '' : ` (exit ${code}; see ${path.relative(ROOT, log)})`}`);
  if (code !== 0) problems.push(`fuzzing failed (exit ${code}); see ${path.relative(ROOT, log)}`);
}

/** The fuzz report's targets as rows: executions tried, executions without a crash held. */
function fuzzRows() {
  if (!fs.existsSync(FUZZ_REPORT)) {
    problems.push(`no fuzz report (${path.relative(ROOT, FUZZ_REPORT)})`);
    return [];
  }
  const report = JSON.parse(fs.readFileSync(FUZZ_REPORT, 'utf8'));
  if (!Array.isArray(report) || report.length === 0) problems.push('the fuzz report lists no target');
  return (Array.isArray(report) ? report : []).map((t) => ({
    name: `fuzz: ${t.target}`,
    kind: 'fuzz',
    tried: t.executions,
    // libFuzzer stops at the first crash: every execution before it held.
    held: t.crashed ? Math.max(0, t.executions - 1) : t.executions,
    note: t.crashed ? `crashed after ${t.seconds} s: ${t.artifact}` : `${t.seconds} s, no crash, no broken invariant`,
  }));
}

function gather() {
  const rows = [];
  for (const f of rowFiles()) {
    try {
      rows.push(JSON.parse(fs.readFileSync(path.join(ROWS, f), 'utf8')));
    } catch (e) {
      problems.push(`unreadable row ${f}: ${e.message}`);
    }
  }
  rows.push(...fuzzRows());
  for (const r of rows) {
    const ok = KINDS.includes(r.kind) && Number.isInteger(r.tried) && Number.isInteger(r.held) && r.held >= 0 && r.tried > 0;
    if (!ok) problems.push(`malformed row ${JSON.stringify(r)}`);
    // Every kind: an attack that got through, a payload that ran, a fault that lost something, a
    // prompt not accounted for, a fuzz crash.
    else if (r.held < r.tried) problems.push(`${r.name}: held ${r.held} of ${r.tried}`);
  }
  for (const kind of ['attacks', 'payloads', 'fuzz']) {
    if (!rows.some((r) => r.kind === kind)) problems.push(`no row of kind ${kind}`);
  }
  rows.sort((a, b) => KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind) || a.name.localeCompare(b.name));
  fs.mkdirSync(OUT, { recursive: true });
  const report = { rows: rows.map(({ name, kind, tried, held, note }) => ({ name, kind, tried, held, note: note ?? '' })) };
  fs.writeFileSync(path.join(OUT, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return report.rows;
}

function table(rows) {
  const n = (x) => x.toLocaleString('en-US');
  const head = ['kind', 'name', 'tried', 'held'];
  const body = rows.map((r) => [r.kind, r.name, n(r.tried), n(r.held)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
  const totals = {};
  for (const r of rows) {
    totals[r.kind] ??= { tried: 0, held: 0 };
    totals[r.kind].tried += r.tried;
    totals[r.kind].held += r.held;
  }
  console.log('');
  for (const [kind, t] of Object.entries(totals)) console.log(`${kind}: ${n(t.held)} held of ${n(t.tried)}`);
}

if (process.argv[2] !== 'gather') await runAll();
const rows = gather();
console.log('');
table(rows);
console.log(`\nreport: ${path.relative(ROOT, path.join(OUT, 'report.json'))}`);
if (problems.length) {
  console.log('\nreliability: FAILED');
  for (const p of problems) console.log(`- ${p}`);
  process.exit(1);
}
console.log('reliability: every row held');
