// The worker's line-delta decoder (extension/sw/lines.js) on its own, without a browser: it rebuilds
// the text a snapshot site's stream was encoded from, line state carried across batches, and
// refuses ops that do not fit or that would decode to more than a stream may carry (a page can
// forge the ops: a few bytes copying a long line's end again could stand for gigabytes).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lineDecoder } from '../../extension/sw/lines.js';

const long = (c, n) => c.repeat(n);

test('literal text, and copies of the latest long line from the start and from the end, across batches', () => {
  const d = lineDecoder();
  const first = `${long('a', 70)}|tail`;
  assert.equal(d.decode(`=${first.length + 1},${first}\n`), `${first}\n`);
  // The next line: the first 70 units of the last long line, 3 new ones, its last 5 units, then '\n'.
  assert.equal(d.decode(`<70,=3,XYZ>5,=1,\n`), `${long('a', 70)}XYZ|tail\n`);
  // Split across two batches: the line state carries on.
  assert.equal(d.decode('<10,'), long('a', 10));
  assert.equal(d.decode('=2,é\n'), 'é\n');
});

test('ops that do not fit are refused', () => {
  for (const ops of ['=5,abc', '<1,', '>1,', 'x1,', '=,', '=1234567890,x']) {
    assert.throws(() => lineDecoder().decode(ops), /malformed line-delta ops/, ops);
  }
});

test('ops standing for more than a stream may carry are refused, not decoded', () => {
  const d = lineDecoder();
  const line = long('y', 100_000);
  d.decode(`=${line.length + 1},${line}\n`);
  // 8 KB of ops copying the 100,000-unit line's end 1,000 times: 100 M units.
  assert.throws(() => d.decode('>100000,'.repeat(1000)), /more than a stream may carry/);
  // Within the bound, the same ops decode.
  const ok = lineDecoder();
  ok.decode(`=${line.length + 1},${line}\n`);
  assert.equal(ok.decode('>100000,'.repeat(10)).length, 1_000_000);
});
