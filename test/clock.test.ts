import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wallNowIso } from '../src/clock.js';

test('wallNowIso never answers earlier than before when the system clock steps back', (t) => {
  let now = Date.parse('2026-12-07T19:15:56.384Z');
  t.mock.method(Date, 'now', () => now);
  const first = wallNowIso();
  now -= 1; // the VM's clock stepped back 1 ms between CREATED and RUNNING
  assert.equal(wallNowIso(), first);
  now += 5;
  assert.equal(wallNowIso(), '2026-12-07T19:15:56.388Z');
});
