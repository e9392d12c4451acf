import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { createLogger } from '../src/logger.js';
import { Masker } from '../src/masker.js';
import { SqliteStore } from '../src/runtime/sqlite.js';
import { FlowRegistry } from '../src/runtime/flows.js';
import { ExecutionQueue } from '../src/runtime/queue.js';
import { ScheduleRunner } from '../src/runtime/schedule.js';
import {
  notTooLate,
  recoverable,
  scheduleProps,
  slotsBetween,
  slotVariables,
} from '../src/tasks/core/Schedule.js';
import { apiServer } from './api-server.js';

const quiet = createLogger({ write: () => {} });
const every2s = scheduleProps.parse({ cron: '*/2 * * * * *', withSeconds: true, timezone: 'UTC' });
const T0 = Date.parse('2026-11-22T10:00:00.000Z');

test('slots: */2 seconds are every even second in (after, upTo]; timezones and 5-field crons', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10 ** 7 }), fc.integer({ min: 0, max: 60_000 }), (offset, span) => {
      const after = T0 + offset;
      const slots = slotsBetween(every2s, after, after + span);
      for (const [i, s] of slots.entries()) {
        assert.equal(s % 2000, 0);
        assert.ok(s > after && s <= after + span);
        if (i) assert.equal(s - (slots[i - 1] as number), 2000);
      }
      const expected = Math.floor((after + span) / 2000) - Math.floor(after / 2000);
      assert.equal(slots.length, expected);
    }),
  );
  const paris = scheduleProps.parse({ cron: '0 6 * * *', timezone: 'Europe/Paris' });
  assert.deepEqual(
    slotsBetween(paris, Date.parse('2026-11-22T00:00:00Z'), Date.parse('2026-11-24T00:00:00Z')).map((s) =>
      new Date(s).toISOString(),
    ),
    ['2026-11-22T05:00:00.000Z', '2026-11-23T05:00:00.000Z'],
  );
  assert.equal(
    slotVariables(paris, Date.parse('2026-11-22T05:00:00Z')).date,
    '2026-11-22T06:00:00.000+01:00',
  );
  assert.deepEqual(recoverable('ALL', [1, 2, 3]), [1, 2, 3]);
  assert.deepEqual(recoverable('LAST', [1, 2, 3]), [3]);
  assert.deepEqual(recoverable('NONE', [1, 2, 3]), []);
  assert.equal(scheduleProps.parse({ cron: '@daily' }).recoverMissedSchedules, 'ALL', "Kestra's default");
  for (const [cron, withSeconds, message] of [
    ['*/2 * * * * *', false, /needs withSeconds: true/],
    ['61 * * * *', false, /not a valid cron expression/],
    ['* * *', false, /has 3 fields; expected 5/],
  ] as const) {
    const r = scheduleProps.safeParse({ cron, withSeconds });
    assert.ok(!r.success);
    assert.match(r.error.issues[0]?.message ?? '', message, cron);
  }
  assert.ok(!scheduleProps.safeParse({ cron: '@hourly', timezone: 'Mars/Olympus' }).success);
});

async function scheduled(policy: string, extra = '') {
  const dir = await mkdtemp(join(tmpdir(), 'kf-sched-'));
  const file = join(dir, 'report.yml');
  await writeFile(
    file,
    `id: report
namespace: company.analytics
inputs:
  - id: slot
    type: STRING
triggers:
  - id: every_2s
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "*/2 * * * * *"
    withSeconds: true
    timezone: UTC
    recoverMissedSchedules: ${policy}
${extra}    inputs:
      slot: "{{ trigger.date }}"
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "report for {{ inputs.slot }}"
`,
  );
  const state = join(dir, 'state');
  /** One server life: flows, queue and schedule runner on the same state folder, clock in our hands. */
  const life = () => {
    const flows = new FlowRegistry([file], quiet);
    flows.load(true);
    const masker = new Masker();
    mkdirSync(state, { recursive: true });
    const store = new SqliteStore(join(state, 'runtime.db'));
    const queue = new ExecutionQueue({
      store,
      logger: quiet,
      find: (ns, id) => flows.find(ns, id),
      run: { masker, write: () => {}, env: {} },
    });
    const runner = new ScheduleRunner({
      flows,
      queue,
      stateDir: state,
      logger: quiet,
      render: { env: {}, masker },
    });
    return { queue, runner, store, state };
  };
  return { life };
}

test('a fake clock: a new schedule starts from now; each slot fires once; a tick between slots fires nothing', async () => {
  const { life } = await scheduled('ALL');
  const { queue, runner, store } = life();
  assert.deepEqual(await runner.tick(T0 + 500), [], 'a new schedule does not backfill');
  assert.equal((await runner.tick(T0 + 2000)).length, 1);
  assert.equal((await runner.tick(T0 + 2000)).length, 0, 'same slot, no second execution');
  assert.equal((await runner.tick(T0 + 3999)).length, 0);
  assert.equal((await runner.tick(T0 + 6100)).length, 2, 'a late tick runs every slot it passed, in order');
  await queue.idle();
  const dates = (await store.history()).map((r) => r.trigger?.date);
  assert.deepEqual(dates, [
    '2026-11-22T10:00:02.000Z',
    '2026-11-22T10:00:04.000Z',
    '2026-11-22T10:00:06.000Z',
  ]);
  assert.deepEqual(
    (await store.history()).map((r) => r.state),
    ['SUCCESS', 'SUCCESS', 'SUCCESS'],
  );
});

for (const [policy, expected] of [
  ['ALL', ['10:00:04', '10:00:06', '10:00:08', '10:00:10', '10:00:12']],
  ['LAST', ['10:00:12']],
  ['NONE', []],
] as const) {
  test(`across a restart, missed slots are recovered as recoverMissedSchedules: ${policy} says`, async () => {
    const { life } = await scheduled(policy);
    const first = life();
    await first.runner.tick(T0);
    assert.equal((await first.runner.tick(T0 + 2000)).length, 1);
    await first.queue.idle();
    // Stopped from 10:00:02 to 10:00:13: slots 04, 06, 08, 10, 12 were missed.
    const second = life();
    const started = await second.runner.tick(T0 + 13_000);
    assert.equal(started.length, expected.length);
    await second.queue.idle();
    const after = (await second.store.history()).slice(1);
    assert.deepEqual(
      after.map((r) => String(r.trigger?.date).slice(11, 19)),
      expected,
    );
    // Then it goes on normally, and a third life at the same moment starts nothing again.
    assert.equal((await second.runner.tick(T0 + 14_000)).length, 1);
    await second.queue.idle();
    assert.equal((await life().runner.tick(T0 + 14_000)).length, 0);
  });
}

test('a slot queued just before a crash is not run twice by the restarted server', async () => {
  const { life } = await scheduled('ALL');
  const first = life();
  await first.runner.tick(T0);
  await first.runner.tick(T0 + 2000);
  await first.queue.idle();
  // The crash hit between queueing slot 02 and saving it as handled: the state still says 00.
  writeFileSync(
    join(first.state, 'schedules', 'company.analytics.report.every_2s.json'),
    JSON.stringify({ key: 'company.analytics.report.every_2s', lastSlot: T0 }),
  );
  const second = life();
  assert.deepEqual(await second.runner.tick(T0 + 2500), [], 'slot 02 has run already: same execution id');
  await second.queue.idle();
  assert.equal((await second.store.history()).length, 1);
});

test('under the server, a */2 s Schedule fires once per slot, never before its slot', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-sched-srv-'));
  const file = join(dir, 'tick.yml');
  await writeFile(
    file,
    `id: tick
namespace: company.analytics
triggers:
  - id: every_2s
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "*/2 * * * * *"
    withSeconds: true
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "slot {{ trigger.date }}"
`,
  );
  const state = join(dir, 'state');
  const { server } = await apiServer([file, '--state-dir', state], {});
  t.after(() => server.stop());
  const store = new SqliteStore(join(state, 'runtime.db'));
  const deadline = Date.now() + 30_000;
  while ((await store.history()).length < 3) {
    assert.ok(Date.now() < deadline, `three slots within 30 s; output:\n${server.output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const history = await store.history();
  const slots = history.map((r) => Date.parse(String(r.trigger?.date)));
  for (const [i, slot] of slots.entries()) {
    assert.equal(slot % 2000, 0, 'on a slot');
    assert.ok(Date.parse(history[i]?.startDate as string) >= slot, 'not before its slot');
    if (i) assert.ok(slot > (slots[i - 1] as number), 'each slot once, in order');
  }
  assert.equal(new Set(slots).size, slots.length);
});

test('lateMaximumDelay: after a restart, slots later than it are skipped', async () => {
  const late = scheduleProps.parse({ cron: '*/2 * * * * *', withSeconds: true, lateMaximumDelay: 'PT5S' });
  assert.deepEqual(
    notTooLate(late, slotsBetween(late, T0, T0 + 13_000), T0 + 13_000).map((s) => (s - T0) / 1000),
    [8, 10, 12],
  );
  assert.ok(!scheduleProps.safeParse({ cron: '@daily', lateMaximumDelay: 'soon' }).success);
  const { life } = await scheduled('ALL', '    lateMaximumDelay: PT5S\n');
  const first = life();
  await first.runner.tick(T0);
  await first.runner.tick(T0 + 2000);
  await first.queue.idle();
  const second = life();
  assert.equal(
    (await second.runner.tick(T0 + 13_000)).length,
    3,
    'slots 08, 10 and 12; 04 and 06 are too late',
  );
  await second.queue.idle();
  assert.deepEqual(
    (await second.store.history()).map((r) => String(r.trigger?.date).slice(17, 19)),
    ['02', '08', '10', '12'],
  );
});
