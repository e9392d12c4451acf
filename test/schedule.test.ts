import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { createLogger } from '../src/logger.js';
import { Masker } from '../src/masker.js';
import { ManualClock } from '../src/clock.js';
import { Runtime } from '../src/runtime/index.js';
import { SqliteStore } from '../src/runtime/sqlite.js';
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

async function scheduled(policy: string, extra = '', logger = quiet) {
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
  let previous: Runtime | undefined;
  /**
   * One server life from `startMs`: the runtime on the same state folder (the previous life
   * stopped), its clock in our hands. `tick(at)` moves the clock there and returns the executions
   * its triggers started on the way.
   */
  const life = async (startMs: number) => {
    await previous?.stop(1000);
    const clock = new ManualClock(startMs);
    const runtime = new Runtime({
      paths: [file],
      stateDir: state,
      logger,
      masker: new Masker(),
      env: {},
      write: () => {},
      clock,
      rescanMs: 3_600_000,
    });
    previous = runtime;
    const started: string[] = [];
    runtime.scheduler.subscribe((e) => {
      if (e.type === 'execution-started') started.push(e.executionId);
    });
    await runtime.start();
    const tick = async (at: number) => {
      const before = started.length;
      do {
        clock.advanceTo(at);
        await runtime.scheduler.idle();
      } while ((clock.nextAt ?? Infinity) <= at);
      return started.slice(before);
    };
    const idle = () => runtime.queue.idle();
    return { tick, idle, store: (runtime.store as SqliteStore).sync, runtime };
  };
  return { life, state, stop: () => previous?.stop(1000) };
}

test('a fake clock: a new schedule starts from now; each slot fires once; a tick between slots fires nothing', async () => {
  const { life, stop } = await scheduled('ALL');
  const { tick, idle, store } = await life(T0);
  assert.deepEqual(await tick(T0 + 500), [], 'a new schedule does not backfill');
  assert.equal((await tick(T0 + 2000)).length, 1);
  assert.equal((await tick(T0 + 2000)).length, 0, 'same slot, no second execution');
  assert.equal((await tick(T0 + 3999)).length, 0);
  assert.equal((await tick(T0 + 6100)).length, 2, 'a late tick runs every slot it passed, in order');
  await idle();
  const dates = store.history().map((r) => r.trigger?.date);
  assert.deepEqual(dates, [
    '2026-11-22T10:00:02.000Z',
    '2026-11-22T10:00:04.000Z',
    '2026-11-22T10:00:06.000Z',
  ]);
  assert.deepEqual(
    store.history().map((r) => r.state),
    ['SUCCESS', 'SUCCESS', 'SUCCESS'],
  );
  await stop();
});

for (const [policy, expected] of [
  ['ALL', ['10:00:04', '10:00:06', '10:00:08', '10:00:10', '10:00:12']],
  ['LAST', ['10:00:12']],
  ['NONE', []],
] as const) {
  test(`across a restart, missed slots are recovered as recoverMissedSchedules: ${policy} says`, async () => {
    const { life, stop } = await scheduled(policy);
    const first = await life(T0);
    await first.tick(T0);
    assert.equal((await first.tick(T0 + 2000)).length, 1);
    await first.idle();
    // Stopped from 10:00:02 to 10:00:13: slots 04, 06, 08, 10, 12 were missed.
    const second = await life(T0 + 13_000);
    const started = await second.tick(T0 + 13_000);
    assert.equal(started.length, expected.length);
    await second.idle();
    const after = second.store.history().slice(1);
    assert.deepEqual(
      after.map((r) => String(r.trigger?.date).slice(11, 19)),
      expected,
    );
    // Then it goes on normally, and a third life at the same moment starts nothing again.
    assert.equal((await second.tick(T0 + 14_000)).length, 1);
    await second.idle();
    assert.equal((await (await life(T0 + 14_000)).tick(T0 + 14_000)).length, 0);
    await stop();
  });
}

test('a slot fired again (a state that says it is still due: an old state, another replica) runs once', async () => {
  const { life, stop } = await scheduled('ALL');
  const first = await life(T0);
  await first.tick(T0);
  await first.tick(T0 + 2000);
  await first.idle();
  // The state says slot 02 is still to run, though its execution is in the history.
  first.store.saveTriggerState({
    key: 'company.analytics.report.every_2s',
    armed: true,
    fired: 0,
    failures: 0,
    nextDue: T0 + 2000,
  });
  const second = await life(T0 + 2500);
  assert.deepEqual(await second.tick(T0 + 2500), [], 'slot 02 has run already: same execution id');
  await second.idle();
  assert.equal(second.store.history().length, 1);
  assert.equal(second.runtime.scheduler.triggers()[0]?.nextDue, T0 + 4000, 'and the schedule moves on');
  await stop();
});

test('slots due while the store fails to write stay due and run once it writes again, each once (the server never stopped: even with recoverMissedSchedules NONE); one WARN, one INFO', async () => {
  const lines: string[] = [];
  const { life, stop } = await scheduled('NONE', '', createLogger({ write: (l) => lines.push(l) }));
  const { tick, idle, store, runtime } = await life(T0);
  assert.equal((await tick(T0 + 2000)).length, 1);
  await idle();
  // The disk fills up: every write of a submission fails, as SQLite says it.
  let full = true;
  const enqueueAll = store.enqueueAll.bind(store);
  store.enqueueAll = (items) => {
    if (full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    return enqueueAll(items);
  };
  for (let at = T0 + 3000; at <= T0 + 9000; at += 1000) assert.deepEqual(await tick(at), []);
  assert.equal(runtime.scheduler.triggers()[0]?.nextDue, T0 + 4000, 'slot 04 is still due');
  full = false;
  // Tried again within 8 s (the retries back off from 1 s): 04 to 16, each once, in order.
  for (let at = T0 + 10_000; at <= T0 + 16_000; at += 1000) await tick(at);
  await idle();
  assert.deepEqual(
    store.history().map((r) => String(r.trigger?.date).slice(17, 19)),
    ['02', '04', '06', '08', '10', '12', '14', '16'],
  );
  const trigger = lines.filter((l) => l.includes('trigger company.analytics.report.every_2s'));
  assert.deepEqual(
    trigger.map((l) => l.slice(25, 30)),
    ['WARN ', 'INFO '],
    trigger.join('\n'),
  );
  assert.match(
    trigger[0] ?? '',
    /slot 2026-11-22T10:00:04\.000Z not written \(database or disk is full\); it stays due, tried again in 1 s$/,
  );
  assert.match(
    trigger[1] ?? '',
    /the store answers again after \d+ s \(\d+ tries failed\); the slots due meanwhile run now$/,
  );
  assert.ok(!lines.some((l) => l.includes(' ERROR ')), lines.join('\n'));
  await stop();
});

test('a schedule state from before the store (schedules/*.json) is imported once: the slots since run', async () => {
  const { life, state: dir, stop } = await scheduled('ALL');
  await life(T0);
  await stop();
  rmSync(join(dir, 'runtime.db'), { force: true });
  rmSync(join(dir, 'runtime.db-wal'), { force: true });
  rmSync(join(dir, 'runtime.db-shm'), { force: true });
  mkdirSync(join(dir, 'schedules'));
  writeFileSync(
    join(dir, 'schedules', 'company.analytics.report.every_2s.json'),
    JSON.stringify({ key: 'company.analytics.report.every_2s', lastSlot: T0 + 2000 }),
  );
  const second = await life(T0 + 7000);
  const started = await second.tick(T0 + 7000);
  await second.idle();
  assert.deepEqual(
    second.store.history().map((r) => String(r.trigger?.date).slice(17, 19)),
    ['04', '06'],
  );
  assert.equal(started.length, 2);
  assert.ok(!existsSync(join(dir, 'schedules')), 'the old folder is removed once imported');
  await stop();
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
  // Looked at again whenever the server prints (each slot logs its start and its task's line); the
  // wait for the next line has a deadline, a hang detector.
  while ((await store.history()).length < 3) {
    const seen = server.output.length;
    await server.until((out) => out.length > seen, 'another line of the server (a slot)');
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
  const { life, stop } = await scheduled('ALL', '    lateMaximumDelay: PT5S\n');
  const first = await life(T0);
  await first.tick(T0);
  await first.tick(T0 + 2000);
  await first.idle();
  const second = await life(T0 + 13_000);
  assert.equal((await second.tick(T0 + 13_000)).length, 3, 'slots 08, 10 and 12; 04 and 06 are too late');
  await second.idle();
  assert.deepEqual(
    second.store.history().map((r) => String(r.trigger?.date).slice(17, 19)),
    ['02', '08', '10', '12'],
  );
  await stop();
});
