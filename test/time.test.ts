import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseTime } from '../src/fastly/time.js';

// The times most stats windows are written in, read without chrono-node (src/fastly/time.ts,
// commonTime): the same instant as chrono-node gives, and the module never loaded for them.

const require = createRequire(import.meta.url);
const NOW = Date.UTC(2026, 10, 22, 10, 30, 15) / 1000;
const UNITS = ['second', 'minute', 'hour', 'day', 'week'] as const;
const chronoLoaded = () => Object.keys(require.cache).some((k) => k.includes('/chrono-node/'));

test('now, today, yesterday and "N seconds|minutes|hours|days|weeks ago" are read without loading chrono-node', () => {
  assert.equal(parseTime('now', NOW, 'from'), NOW);
  assert.equal(parseTime('Today', NOW, 'from'), Date.UTC(2026, 10, 22) / 1000);
  assert.equal(parseTime(' yesterday ', NOW, 'from'), Date.UTC(2026, 10, 21) / 1000);
  assert.equal(parseTime('24 hours ago', NOW, 'from'), NOW - 86400);
  assert.equal(parseTime('1 week ago', NOW, 'to', 'end'), NOW - 7 * 86400);
  assert.equal(parseTime('90 Seconds Ago', NOW + 0.75, 'from'), NOW - 90);
  assert.ok(!chronoLoaded(), 'chrono-node was loaded for a common time');
  // Anything else is still chrono-node's to read.
  assert.equal(parseTime('an hour ago', NOW, 'from'), NOW - 3600);
  assert.ok(chronoLoaded());
});

test('a common time is the instant chrono-node reads for it (UTC), whatever the number, unit, case and now', () => {
  const chrono = require('chrono-node') as typeof import('chrono-node');
  /** parseTime's reading through chrono-node, as it was for every text. */
  const byChrono = (text: string, now: number) => {
    const results = chrono.parse(
      text,
      { instant: new Date(now * 1000), timezone: 'UTC' },
      { forwardDate: false },
    );
    assert.equal(results.length, 1, text);
    const r = results[0] as (typeof results)[number];
    assert.equal(r.text, text);
    const date = r.start.date();
    if (!/\b(ago|now)\b/i.test(text) && !r.start.isCertain('hour')) date.setUTCHours(0, 0, 0, 0);
    return Math.floor(date.getTime() / 1000);
  };
  const text = fc.oneof(
    fc.constantFrom('now', 'today', 'yesterday'),
    fc
      .tuple(fc.integer({ min: 0, max: 99_999 }), fc.constantFrom(...UNITS), fc.boolean())
      .map(([n, unit, plural]) => `${n} ${unit}${plural ? 's' : ''} ago`),
  );
  fc.assert(
    fc.property(
      text,
      fc.array(fc.boolean(), { minLength: 24, maxLength: 24 }),
      // 2000 to 2100, to the millisecond.
      fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 }),
      (lower, upper, nowMs) => {
        const written = [...lower].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join('');
        const now = nowMs / 1000;
        assert.equal(parseTime(written, now, 'from'), byChrono(written, now), written);
      },
    ),
    { numRuns: 150 },
  );
});
