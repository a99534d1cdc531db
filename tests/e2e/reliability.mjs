// Rows for `make reliability` (target/reliability/report.json). A test that tries attacks, payloads,
// faults or load records what it tried and what held; `tests/tools/reliability.mjs` gathers the rows.
// A row is recorded only once its test has checked the figures, so a failing test leaves no row.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './browser.mjs';

export const ROWS_DIR = path.join(ROOT, 'target', 'reliability', 'rows');
const KINDS = new Set(['attacks', 'payloads', 'faults', 'fuzz', 'load']);

/** Records {name, kind, tried, held, note}; the same name replaces the row of an earlier run. */
export function recordRow({ name, kind, tried, held, note = '' }) {
  if (!KINDS.has(kind)) throw new Error(`unknown reliability kind ${kind}`);
  if (!Number.isInteger(tried) || !Number.isInteger(held) || held < 0 || held > tried) {
    throw new Error(`bad figures for ${name}: tried ${tried}, held ${held}`);
  }
  fs.mkdirSync(ROWS_DIR, { recursive: true });
  const file = path.join(ROWS_DIR, `${name.replace(/[^A-Za-z0-9_.-]+/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ name, kind, tried, held, note }) + '\n');
}
