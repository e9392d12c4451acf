import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wallNowIso } from '../src/clock.js';
import { preciseNow } from '../src/flow/clock.js';

test('wallNowIso never answers earlier than before when the system clock steps back', (t) => {
  let now = Date.parse('2026-12-07T19:15:56.384Z');
  t.mock.method(Date, 'now', () => now);
  const first = wallNowIso();
  now -= 1; // the VM's clock stepped back 1 ms between CREATED and RUNNING
  assert.equal(wallNowIso(), first);
  now += 5;
  assert.equal(wallNowIso(), '2026-12-07T19:15:56.388Z');
});

test('preciseNow is the wall clock to the millisecond (task runs are dated with it, beside wallNowIso)', (t) => {
  const at = Date.parse('2026-12-07T19:26:26.230Z');
  t.mock.method(Date, 'now', () => at);
  const precise = preciseNow();
  assert.equal(Math.floor(precise), Date.parse(wallNowIso()));
  assert.ok(precise - Math.floor(precise) < 1);
});
