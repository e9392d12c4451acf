/**
 * `npm run bench` rewrites BENCHMARKS.md: its measured sections (§1–4) from the run, then
 * bench/by-hand.md as it stands. A figure edited into BENCHMARKS.md alone would be erased by the
 * next run; this keeps the two the same.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const read = (path: string) => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');

test('BENCHMARKS.md ends with bench/by-hand.md, so that npm run bench keeps the figures measured by hand', () => {
  const benchmarks = read('BENCHMARKS.md');
  const byHand = read('bench/by-hand.md');
  const first = byHand.slice(0, byHand.indexOf('\n'));
  assert.ok(benchmarks.includes(first), `BENCHMARKS.md has no "${first}"`);
  assert.equal(
    benchmarks.slice(benchmarks.indexOf(first)),
    byHand,
    'BENCHMARKS.md and bench/by-hand.md differ after their first hand-measured heading: edit bench/by-hand.md and copy it into BENCHMARKS.md',
  );
});
