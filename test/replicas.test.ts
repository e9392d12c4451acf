/**
 * Replicas on one PostgreSQL, in process: two Runtimes, each on a PgStore of its own (its own pool,
 * owner and state folder) over one fresh database (test/support/postgres.ts), with fake clocks for
 * their triggers, looks and lease renewals. A lease expires when the test says so (the database's
 * clock moved past it by an UPDATE, as when a replica freezes), never by waiting.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import pg from 'pg';
import { ManualClock } from '../src/clock.js';
import type { SchedulerEvent } from '../src/flow/scheduler.js';
import { createLogger } from '../src/logger.js';
import { Masker } from '../src/masker.js';
import { Runtime } from '../src/runtime/index.js';
import { PgStore } from '../src/runtime/postgres.js';
import { LeaseLostError, type LogEntry, type Submission } from '../src/runtime/store.js';
import type { PointsFetcher } from '../src/tasks/stats/StatsTrigger.js';
import { requests, runCli, SERVICE, sim } from './helpers.js';
import { startKestraServer } from './kestra-server.js';
import { receiver } from './receiver.js';
import { REALISTIC_LATENCY, ServerProcess } from './server-process.js';
import { readEvents } from './sse.js';
import { postgresForFile, startPostgres } from './support/postgres.js';

const pgsql = postgresForFile();

const ENV = { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: 'http://127.0.0.1:9' };
const POLL_MS = 250;
const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);

/** Waits for `ready()` to hold, checking after each turn of the event loop; fails after `ms`. */
async function until(what: string, ready: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A webhook receiver that holds each request until the test answers it. */
async function gate(t: TestContext) {
  const held: { path: string; res: ServerResponse }[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => held.push({ path: req.url ?? '', res }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    arrived: (n: number) => until(`${n} request(s) at the gate`, () => held.length >= n),
    answer(i: number) {
      const h = held[i];
      assert.ok(h, `request ${i} at the gate`);
      h.res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    },
  };
}

interface Replica {
  name: string;
  runtime: Runtime;
  store: PgStore;
  lines: string[];
  events: SchedulerEvent[];
  /** Stops it (once; the test's end stops it otherwise). */
  stop(timeoutMs?: number): Promise<void>;
}

async function replica(
  t: TestContext,
  url: string,
  name: string,
  flows: string,
  clock: ManualClock,
  fetchPoints?: PointsFetcher,
  env: NodeJS.ProcessEnv = ENV,
): Promise<Replica> {
  const store = await PgStore.open(url, { replica: { owner: name, leaseMs: 60_000 } });
  const lines: string[] = [];
  const runtime = new Runtime({
    paths: [flows],
    stateDir: mkdtempSync(join(tmpdir(), `kf-replica-${name}-`)),
    logger: createLogger({ write: (l) => lines.push(l) }),
    masker: new Masker(),
    env,
    write: () => {},
    clock,
    rescanMs: 3_600_000,
    pollMs: POLL_MS,
    store,
    ...(fetchPoints ? { fetchPoints } : {}),
  });
  const events: SchedulerEvent[] = [];
  runtime.scheduler.subscribe((e) => events.push(e));
  await runtime.start();
  let stopped: Promise<void> | undefined;
  const stop = (timeoutMs = 2000) => (stopped ??= runtime.stop(timeoutMs));
  t.after(() => stop());
  return { name, runtime, store, lines, events, stop };
}

async function db(t: TestContext, url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  t.after(() => client.end());
  return client;
}

function flowsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kf-replica-flows-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** Moves the shared clock to `at`, then waits for both replicas' evaluations and executions. */
async function tick(clock: ManualClock, replicas: Replica[], at: number): Promise<void> {
  clock.advanceTo(at);
  await Promise.all(replicas.map((r) => r.runtime.scheduler.idle()));
  await Promise.all(replicas.map((r) => r.runtime.queue.idle()));
}

/** A Schedule every 2 seconds (withSeconds) whose task logs its slot. */
const TICK_EVERY_2S = `id: tick
namespace: company.replicas
triggers:
  - id: every_2s
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "*/2 * * * * *"
    withSeconds: true
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ trigger.date }}"
`;

const evaluatedSlots = (r: Replica) =>
  r.events.filter((e) => e.type === 'evaluated').map((e) => (e as { at: number }).at);

test('two replicas, one Schedule: each slot is claimed and evaluated by one of them, and runs once', async (t) => {
  const url = await pgsql.freshDatabase();
  const flows = flowsDir({
    'tick.yml': TICK_EVERY_2S,
  });
  const clock = new ManualClock(T0 + 500);
  const a = await replica(t, url, 'A', flows, clock);
  const b = await replica(t, url, 'B', flows, clock);
  for (const at of [T0 + 2000, T0 + 4000, T0 + 6000, T0 + 8000]) await tick(clock, [a, b], at);
  const q = await db(t, url);
  const ran = await q.query<{ id: string; state: string; trigger_vars: string }>(
    "SELECT id, state, trigger_vars FROM executions WHERE flow_id = 'tick' ORDER BY created_at",
  );
  assert.deepEqual(
    ran.rows.map((r) => [
      String((JSON.parse(r.trigger_vars) as { date: string }).date).slice(11, 19),
      r.state,
    ]),
    [
      ['10:00:02', 'SUCCESS'],
      ['10:00:04', 'SUCCESS'],
      ['10:00:06', 'SUCCESS'],
      ['10:00:08', 'SUCCESS'],
    ],
  );
  // Each slot evaluated by exactly one replica (the other skipped it): claims, not only the slot's id.
  const all = [...evaluatedSlots(a), ...evaluatedSlots(b)].sort();
  assert.equal(all.length, 4, `evaluations: A ${evaluatedSlots(a).length}, B ${evaluatedSlots(b).length}`);
  const slots = await q.query<{ n: string }>(
    "SELECT COUNT(*) AS n FROM trigger_slots WHERE trigger_key = 'company.replicas.tick.every_2s'",
  );
  assert.equal(Number(slots.rows[0]?.n), 4);
  const claims = await q.query<{ fence: string; state: string }>('SELECT fence, state FROM execution_claims');
  assert.ok(
    claims.rows.every((c) => c.fence === '1' && c.state === 'ENDED'),
    JSON.stringify(claims.rows),
  );
});

/**
 * Counts the ended looks of `r` for queued executions (answered or failed), a turn after each ends:
 * by then the look's own handlers have run and its next one is armed.
 */
function looks(r: Replica): { readonly ended: number } {
  const replicas = r.store.replicas;
  assert.ok(replicas);
  const claim = replicas.claim.bind(replicas);
  const counter = { ended: 0 };
  replicas.claim = (...args) => claim(...args).finally(() => setImmediate(() => counter.ended++));
  return counter;
}

/** A line as `LEVEL message`, without its time. */
const message = (line: string) => `${line.slice(25, 30).trim()} ${line.slice(31)}`;

test('PostgreSQL down for a minute: the Schedule slots of the outage stay due and run once it is back, each once across replicas; the log says it once per 30 s, then that it is back', async (t) => {
  // A cluster of its own: this test stops it.
  const cluster = await startPostgres();
  t.after(() => cluster.stop());
  const url = await cluster.createDatabase();
  const flows = flowsDir({
    'tick.yml': TICK_EVERY_2S,
  });
  const clock = new ManualClock(T0 + 500);
  const a = await replica(t, url, 'A', flows, clock);
  const b = await replica(t, url, 'B', flows, clock);
  const looked = [looks(a), looks(b)];
  /** A second of the shared clock: the triggers' evaluations and one look of each replica. */
  const second = async (at: number) => {
    const before = looked.map((l) => l.ended);
    await tick(clock, [a, b], at);
    await until('a look of each replica', () => looked.every((l, i) => l.ended > (before[i] as number)));
  };
  await tick(clock, [a, b], T0 + 2000);
  cluster.down();
  // From 10:00:03 to 10:00:65: every slot from 04 on meets the outage, on both replicas.
  for (let at = T0 + 3000; at <= T0 + 65_000; at += 1000) await second(at);
  for (const r of [a, b])
    assert.equal(r.runtime.scheduler.triggers()[0]?.nextDue, T0 + 4000, `${r.name}: slot 04 is still due`);
  cluster.up();
  for (let at = T0 + 66_000; at <= T0 + 72_000; at += 1000) await second(at);
  const q = await db(t, url);
  const ran = await q.query<{ trigger_vars: string; state: string }>(
    "SELECT trigger_vars, state FROM executions WHERE flow_id = 'tick' ORDER BY created_at",
  );
  const every2s = Array.from({ length: 36 }, (_, i) => new Date(T0 + 2000 * (i + 1)).toISOString());
  assert.deepEqual(
    ran.rows.map((r) => [
      new Date(String((JSON.parse(r.trigger_vars) as { date: string }).date)).toISOString(),
      r.state,
    ]),
    every2s.map((date) => [date, 'SUCCESS']),
    'slots 02 to 72 (04 to 64 in the outage), each once',
  );
  const slots = await q.query<{ n: string }>('SELECT COUNT(*) AS n FROM trigger_slots');
  assert.equal(Number(slots.rows[0]?.n), 36, 'each slot claimed once');
  // The first try may meet a pooled connection the shutdown ended (its FATAL message read, or reset
  // before it was) rather than a refused new one.
  const error = String.raw`(terminating connection due to administrator command|read ECONNRESET|connect ECONNREFUSED 127\.0\.0\.1:\d+)`;
  const refused = String.raw`connect ECONNREFUSED 127\.0\.0\.1:\d+`;
  const slot04 = String.raw`slot 2026-11-22T10:00:04\.000Z not written`;
  for (const r of [a, b]) {
    const lines = r.lines
      .map(message)
      .filter((l) => !l.startsWith('DEBUG') && !l.includes(' started execution '));
    const said = (patterns: string[]) => {
      const of = lines.filter((l) => / (replica|trigger company\.replicas\.tick\.every_2s): /.test(l));
      assert.equal(of.length, patterns.length, `${r.name}:\n${lines.join('\n')}`);
      for (const [i, p] of patterns.entries()) assert.match(of[i] ?? '', new RegExp(`^${p}$`), r.name);
    };
    said([
      // 10:00:03: the first failed look; 10:00:04: slot 04, tried again after 1, 2, 4, 8, 8… s.
      String.raw`WARN replica: queued executions not claimed: ${error}`,
      String.raw`WARN trigger company\.replicas\.tick\.every_2s: ${slot04} \(${error}\); it stays due, tried again in 1 s`,
      // 30 s later, one line each; not one per try (63 looks, 10 tries).
      String.raw`WARN replica: queued executions still not claimed after 30 s \(31 looks failed\): ${refused}`,
      String.raw`WARN trigger company\.replicas\.tick\.every_2s: the store still fails after 31 s \(7 tries\): ${slot04} \(${refused}\); it stays due, tried again in 8 s`,
      String.raw`WARN replica: queued executions still not claimed after 60 s \(61 looks failed\): ${refused}`,
      // Back at 10:01:06 (the look) and 10:01:07 (the slot's next try).
      String.raw`INFO replica: queued executions can be claimed again after 63 s of failures \(63 looks failed\)`,
      String.raw`INFO trigger company\.replicas\.tick\.every_2s: the store answers again after 63 s \(10 tries failed\); the slots due meanwhile run now`,
    ]);
    assert.ok(!lines.some((l) => l.startsWith('ERROR')), lines.join('\n'));
  }
});

test('two replicas, one CROSSING StatsTrigger over a breach: it fires once, whichever replica owns each poll', async (t) => {
  const url = await pgsql.freshDatabase();
  const flows = flowsDir({
    'alert.yml': `id: alert
namespace: company.replicas
triggers:
  - id: errors
    type: io.kestra.plugin.fastly.stats.StatsTrigger
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: svcA0000000000000000001
    field: status_5xx
    threshold: 10
    interval: PT5S
    fireOn: CROSSING
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ trigger.value }}"
`,
  });
  // Every poll sees a breach: only the first evaluation after arming may fire.
  const fetchPoints: PointsFetcher = (_props, window) =>
    Promise.resolve([{ start_time: window.to - 60, status_5xx: 100 }]);
  const clock = new ManualClock(T0 + 100);
  const a = await replica(t, url, 'A', flows, clock, fetchPoints);
  const b = await replica(t, url, 'B', flows, clock, fetchPoints);
  for (let i = 0; i < 6; i++) {
    const next = Math.min(
      ...[a, b].map((r) => r.runtime.scheduler.triggers()[0]?.nextDue ?? Number.POSITIVE_INFINITY),
    );
    assert.ok(Number.isFinite(next));
    await tick(clock, [a, b], next);
  }
  const q = await db(t, url);
  const ran = await q.query<{ state: string }>("SELECT state FROM executions WHERE flow_id = 'alert'");
  assert.deepEqual(
    ran.rows.map((r) => r.state),
    ['SUCCESS'],
    'one alert across both replicas',
  );
  const evaluations = [...evaluatedSlots(a), ...evaluatedSlots(b)];
  assert.equal(new Set(evaluations).size, evaluations.length, 'no poll evaluated by both replicas');
  assert.ok(evaluations.length >= 5, `evaluations: ${evaluations.length}`);
  const state = await q.query<{ body: string }>('SELECT body FROM triggers');
  assert.equal((JSON.parse(state.rows[0]?.body ?? '{}') as { armed: boolean }).armed, false);
});

test('two replicas: a webhook accepted by either runs once, on the replica that accepted it (the simulator at 100 ms)', async (t) => {
  const url = await pgsql.freshDatabase();
  const s = await sim(t, { faults: REALISTIC_LATENCY });
  const flows = flowsDir({
    'hook.yml': `id: hook
namespace: company.replicas
triggers:
  - id: w
    type: io.kestra.plugin.core.trigger.Webhook
    key: k3y-for-tests
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.Key
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    surrogateKey: "k-{{ trigger.body.n }}"
`,
  });
  const env = {
    SECRET_FASTLY_API_TOKEN: Buffer.from('tok').toString('base64'),
    FASTLY_API_ENDPOINT: s.url,
  };
  const clock = new ManualClock(T0);
  const a = await replica(t, url, 'A', flows, clock, undefined, env);
  const b = await replica(t, url, 'B', flows, clock, undefined, env);
  const accepted: { id: string; by: string }[] = [];
  for (let n = 0; n < 8; n++) {
    const r = n % 2 ? b : a;
    const flow = r.runtime.flows.find('company.replicas', 'hook');
    assert.ok(flow);
    const fired = await r.runtime.scheduler.fire(flow, 'w', { body: { n }, headers: {}, parameters: {} });
    assert.ok(fired?.created);
    accepted.push({ id: fired.id, by: r.name });
  }
  await Promise.all([a, b].map((r) => r.runtime.queue.idle()));
  // Both replicas look for queued work a few times: nothing is left to claim.
  for (let i = 1; i <= 3; i++) {
    clock.advance(POLL_MS);
    await until('both replicas idle', () => a.runtime.queue.running + b.runtime.queue.running === 0);
  }
  const q = await db(t, url);
  const claims = await q.query<{ execution_id: string; owner: string; fence: string; state: string }>(
    'SELECT execution_id, owner, fence, state FROM execution_claims',
  );
  const byId = new Map(claims.rows.map((c) => [c.execution_id, c]));
  for (const { id, by } of accepted) {
    assert.deepEqual(
      { ...byId.get(id) },
      { execution_id: id, owner: by, fence: '1', state: 'ENDED' },
      'claimed once, by its acceptor',
    );
    assert.equal((await a.runtime.queue.get(id))?.state.current, 'SUCCESS');
  }
  assert.deepEqual(
    requests(s, `/service/${SERVICE}/purge/`)
      .map((e) => e.path.split('/').pop())
      .sort(),
    ['k-0', 'k-1', 'k-2', 'k-3', 'k-4', 'k-5', 'k-6', 'k-7'],
    'each webhook ran exactly once',
  );
});

const GATED = (hookUrl: string, gateUrl: string) => `id: gated
namespace: company.replicas
triggers:
  - id: w
    type: io.kestra.plugin.core.trigger.Webhook
    key: k3y-for-tests
tasks:
  - id: slack
    type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
    url: ${hookUrl}/slack
    payload: '{"text": "starting"}'
  - id: slow
    type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
    url: ${gateUrl}/slow
    payload: '{"text": "slow"}'
`;

test("a replica frozen past its lease is taken over: the other resumes without repeating the finished task, and the frozen one's writes are refused", async (t) => {
  const url = await pgsql.freshDatabase();
  const hook = await receiver(t);
  const slow = await gate(t);
  const flows = flowsDir({ 'gated.yml': GATED(hook.url, slow.url) });
  // A clock each: A's renewals never come (its clock stands still), as in a frozen process.
  const clockA = new ManualClock(T0);
  const clockB = new ManualClock(T0);
  const a = await replica(t, url, 'A', flows, clockA);
  const b = await replica(t, url, 'B', flows, clockB);
  const flow = a.runtime.flows.find('company.replicas', 'gated');
  assert.ok(flow);
  const fired = await a.runtime.scheduler.fire(flow, 'w', { body: {}, headers: {}, parameters: {} });
  assert.ok(fired);
  await slow.arrived(1); // slack has ended (written), slow is in flight on A
  const q = await db(t, url);
  const before = await b.runtime.queue.get(fired.id);
  assert.equal(before?.state.current, 'RUNNING');
  // A's lease runs out by the database's clock.
  await q.query(
    "UPDATE execution_claims SET expires_at = now() - interval '1 millisecond' WHERE execution_id = $1",
    [fired.id],
  );
  clockB.advance(POLL_MS); // B looks: takes it over (fence 2) and resumes at `slow`
  await slow.arrived(2);
  assert.match(b.lines.join('\n'), /resuming execution .* \(fence 2\)/);
  slow.answer(1); // B's attempt ends first…
  await until(
    'B to end the execution',
    async () => (await b.runtime.queue.get(fired.id))?.state.current === 'SUCCESS',
  );
  slow.answer(0); // …then A's call returns: its writes carry the stale fence.
  assert.equal(await fired.done, undefined, 'A reports no end');
  assert.match(a.lines.join('\n'), /lease was taken over by another replica/);
  const ex = await b.runtime.queue.get(fired.id);
  assert.equal(ex?.state.current, 'SUCCESS');
  assert.equal(ex?.state.startDate, before?.state.startDate, 'startDate is the first start');
  const runs = new Map((ex?.taskRunList ?? []).map((r) => [r.taskId, r.attempts.length]));
  assert.deepEqual(Object.fromEntries(runs), { slack: 1, slow: 2 }, 'slack not repeated; slow retried');
  assert.equal(hook.received.length, 1, 'one Slack message');
  const claim = await q.query('SELECT owner, fence, state FROM execution_claims WHERE execution_id = $1', [
    fired.id,
  ]);
  assert.deepEqual({ ...claim.rows[0] }, { owner: 'B', fence: '2', state: 'ENDED' });
});

test('a replica whose own lease expired early (before its first renewal) does not take its running execution over itself', async (t) => {
  // Chaos seed 1237391363: a submission's lease ran out while its INSERT waited on row locks; the
  // replica running it claimed it again (fence 2) without running that claim, its own run's writes
  // were refused, and it ran the execution a second time once that claim expired.
  const url = await pgsql.freshDatabase();
  const hook = await receiver(t);
  const slow = await gate(t);
  const flows = flowsDir({ 'gated.yml': GATED(hook.url, slow.url) });
  const clock = new ManualClock(T0);
  const a = await replica(t, url, 'A', flows, clock);
  const flow = a.runtime.flows.find('company.replicas', 'gated');
  assert.ok(flow);
  const fired = await a.runtime.scheduler.fire(flow, 'w', { body: {}, headers: {}, parameters: {} });
  assert.ok(fired);
  await slow.arrived(1); // slack has ended (written), slow is in flight on A
  const q = await db(t, url);
  await q.query(
    "UPDATE execution_claims SET expires_at = now() - interval '1 millisecond' WHERE execution_id = $1",
    [fired.id],
  );
  // A marker queued after it, of a flow no replica has: A's next look claims it (and logs so).
  assert.ok(
    await a.store.enqueue({
      id: 'marker',
      namespace: 'company.replicas',
      flowId: 'unknown',
      inputs: {},
      createdAt: new Date().toISOString(),
    }),
  );
  clock.advance(POLL_MS);
  await until('A to look (the marker claimed)', async () => {
    const r = await q.query<{ owner: string | null }>(
      "SELECT owner FROM execution_claims WHERE execution_id = 'marker'",
    );
    return r.rows[0]?.owner === 'A';
  });
  const claim = async () =>
    ({
      ...(
        await q.query('SELECT owner, fence, state FROM execution_claims WHERE execution_id = $1', [fired.id])
      ).rows[0],
    }) as Record<string, unknown>;
  assert.deepEqual(await claim(), { owner: 'A', fence: '1', state: 'RUNNING' }, 'not claimed again by A');
  slow.answer(0);
  const ex = await fired.done;
  assert.equal(ex?.state, 'SUCCESS');
  assert.doesNotMatch(a.lines.join('\n'), /lease was taken over/);
  const runs = (await a.runtime.queue.get(fired.id))?.taskRunList ?? [];
  assert.deepEqual(
    Object.fromEntries(runs.map((r) => [r.taskId, r.attempts.length])),
    { slack: 1, slow: 1 },
    'no task run twice',
  );
  assert.equal(slow.held.length, 1, 'slow called once');
  assert.deepEqual(await claim(), { owner: 'A', fence: '1', state: 'ENDED' });
});

test("a replica stuck in a StatsTrigger's HTTP call holds no transaction: another evaluates the slot meanwhile", async (t) => {
  // Chaos seed 1271428153: the slot's transaction held the trigger's advisory lock during the call
  // to Fastly; a frozen replica there held up the other replicas' slots and, with them, connections
  // their lease renewals waited for.
  const url = await pgsql.freshDatabase();
  const flows = flowsDir({
    'alert.yml': `id: alert
namespace: company.replicas
triggers:
  - id: errors
    type: io.kestra.plugin.fastly.stats.StatsTrigger
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: svcA0000000000000000001
    field: status_5xx
    threshold: 10
    interval: PT5S
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ trigger.value }}"
`,
  });
  // A's call hangs until the test lets it go; B's answers at once.
  let release: () => void = () => undefined;
  const hung = new Promise<void>((r) => (release = r));
  let calledA = 0;
  const fetchA: PointsFetcher = async (_props, window) => {
    calledA++;
    await hung;
    return [{ start_time: window.to - 60, status_5xx: 100 }];
  };
  const fetchB: PointsFetcher = (_props, window) =>
    Promise.resolve([{ start_time: window.to - 60, status_5xx: 100 }]);
  const clockA = new ManualClock(T0 + 100);
  const clockB = new ManualClock(T0 + 100);
  // Let go before the replicas stop (registered first: the hooks run in order), pass or fail.
  t.after(() => release());
  const a = await replica(t, url, 'A', flows, clockA, fetchA);
  const b = await replica(t, url, 'B', flows, clockB, fetchB);
  const due = a.runtime.scheduler.triggers()[0]?.nextDue;
  assert.ok(due !== undefined && Number.isFinite(due));
  clockA.advanceTo(due);
  await until("A's call to be under way", () => calledA === 1);
  const q = await db(t, url);
  const open = await q.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
  );
  assert.equal(open.rows[0]?.n, 0, 'no transaction open during the call');
  clockB.advanceTo(due);
  await until('B to evaluate the slot', () => evaluatedSlots(b).length === 1, 10_000);
  await b.runtime.queue.idle();
  release();
  await a.runtime.scheduler.idle();
  assert.equal(evaluatedSlots(a).length, 0, 'A wrote nothing for the slot B had');
  assert.ok(
    a.events.some((e) => e.type === 'evaluation-skipped' && e.reason === 'another replica'),
    'A skipped it',
  );
  const ran = await q.query<{ state: string }>("SELECT state FROM executions WHERE flow_id = 'alert'");
  assert.deepEqual(
    ran.rows.map((r) => r.state),
    ['SUCCESS'],
    'fired once',
  );
});

test('a kill through one replica ends KILLED an execution running on the other; a queued one is KILLED at once', async (t) => {
  const url = await pgsql.freshDatabase();
  const hook = await receiver(t);
  const slow = await gate(t);
  const flows = flowsDir({ 'gated.yml': GATED(hook.url, slow.url) });
  const clockA = new ManualClock(T0);
  const clockB = new ManualClock(T0);
  const a = await replica(t, url, 'A', flows, clockA);
  const b = await replica(t, url, 'B', flows, clockB);
  const flow = a.runtime.flows.find('company.replicas', 'gated');
  assert.ok(flow);
  const fired = await a.runtime.scheduler.fire(flow, 'w', { body: {}, headers: {}, parameters: {} });
  assert.ok(fired);
  await slow.arrived(1);
  assert.equal(await b.runtime.queue.kill(fired.id, true), true);
  assert.equal((await b.runtime.queue.get(fired.id))?.state.current, 'KILLING');
  clockA.advance(POLL_MS); // A looks: sees KILLING, aborts the call in flight
  const ended = await fired.done;
  assert.equal(ended?.state, 'KILLED');
  const ex = await b.runtime.queue.get(fired.id);
  assert.equal(ex?.state.current, 'KILLED');
  assert.deepEqual(
    ex?.state.histories.map((h) => h.state),
    ['CREATED', 'RUNNING', 'KILLING', 'KILLED'],
    'the KILLING written by B kept before the KILLED written by A',
  );
  assert.equal((ex?.taskRunList ?? []).find((r) => r.taskId === 'slow')?.state.current, 'KILLED');
  assert.match(a.lines.join('\n'), /killed through the API \(on another replica\)/);
  // Queued for any replica, claimed by none yet: B's kill ends it at once.
  const queued: Submission = {
    id: 'queued-1',
    namespace: 'company.replicas',
    flowId: 'gated',
    inputs: {},
    createdAt: new Date().toISOString(),
  };
  assert.ok(await b.store.enqueue(queued));
  assert.equal(await b.runtime.queue.kill('queued-1'), true);
  const killedQueued = await a.runtime.queue.get('queued-1');
  assert.equal(killedQueued?.state.current, 'KILLED');
  assert.deepEqual(
    killedQueued?.state.histories.map((h) => h.state),
    ['CREATED', 'KILLED'],
  );
  clockA.advance(POLL_MS);
  clockB.advance(POLL_MS);
  await Promise.all([a, b].map((r) => r.runtime.queue.idle()));
  assert.equal(slow.held.length, 1, 'the killed executions never ran again');
});

test('a restart through one replica re-queues the execution; a delete through one kills it on the other, then removes it', async (t) => {
  const url = await pgsql.freshDatabase();
  let failures = 1;
  const hook = await receiver(t, (path) => (path === '/slack' && failures-- > 0 ? 500 : 200));
  const slow = await gate(t);
  const flows = flowsDir({ 'gated.yml': GATED(hook.url, slow.url) });
  const clockA = new ManualClock(T0);
  const clockB = new ManualClock(T0);
  const a = await replica(t, url, 'A', flows, clockA);
  const b = await replica(t, url, 'B', flows, clockB);
  const flow = a.runtime.flows.find('company.replicas', 'gated');
  assert.ok(flow);
  const fired = await a.runtime.scheduler.fire(flow, 'w', { body: {}, headers: {}, parameters: {} });
  assert.ok(fired);
  assert.equal((await fired.done)?.state, 'FAILED', 'slack refused once');
  // Restarted through B: queued again, claimed by B at once (its look after the restart).
  const view = await b.runtime.queue.restart(fired.id);
  assert.equal(view?.state.current, 'RESTARTED');
  await slow.arrived(1);
  const q = await db(t, url);
  const claim = async () =>
    ({
      ...(
        await q.query('SELECT owner, fence, state FROM execution_claims WHERE execution_id = $1', [fired.id])
      ).rows[0],
    }) as Record<string, unknown>;
  assert.deepEqual(await claim(), { owner: 'B', fence: '2', state: 'RUNNING' });
  // Deleted through A while B runs it: killed first (B aborts the call under way, as a kill does),
  // then removed once B has ended it; nothing of it is kept.
  const removing = a.runtime.queue.remove(fired.id);
  await until('the kill asked for', async () => (await b.store.get(fired.id))?.state === 'KILLING');
  clockB.advance(POLL_MS); // B looks: sees KILLING, aborts the call in flight
  await until('B to stop it', () => !b.runtime.queue.isRunning(fired.id));
  assert.match(b.lines.join('\n'), /killed through the API \(on another replica\)/);
  clockA.advance(POLL_MS); // A's look sees it ended
  assert.equal(await removing, true);
  await until('the call under way aborted by its client', () => {
    const socket = slow.held[0]?.res.socket;
    return !socket || socket.destroyed;
  });
  assert.equal(await a.runtime.queue.get(fired.id), undefined);
  assert.equal(await b.runtime.queue.get(fired.id), undefined, 'not written back');
  assert.deepEqual(await b.store.taskRuns(fired.id), []);
  assert.deepEqual(await claim(), {}, 'no claim left');
});

test('a replica stopped while it runs an execution gives it back: another resumes it at once', async (t) => {
  const url = await pgsql.freshDatabase();
  const hook = await receiver(t);
  const slow = await gate(t);
  const flows = flowsDir({ 'gated.yml': GATED(hook.url, slow.url) });
  const clockA = new ManualClock(T0);
  const clockB = new ManualClock(T0);
  const a = await replica(t, url, 'A', flows, clockA);
  const b = await replica(t, url, 'B', flows, clockB);
  const flow = a.runtime.flows.find('company.replicas', 'gated');
  assert.ok(flow);
  const fired = await a.runtime.scheduler.fire(flow, 'w', { body: {}, headers: {}, parameters: {} });
  assert.ok(fired);
  await slow.arrived(1);
  // Stopped with no time to wait: the run is interrupted and its claim given back.
  await a.stop(0);
  assert.equal(await fired.done, undefined);
  assert.match(
    a.lines.join('\n'),
    /interrupted by shutdown; another replica \(or the next start\) resumes it/,
  );
  clockB.advance(POLL_MS); // B looks: the claim is queued again, no lease to wait for
  await slow.arrived(2);
  slow.answer(1);
  await until('B to end it', async () => (await b.runtime.queue.get(fired.id))?.state.current === 'SUCCESS');
  const ex = await b.runtime.queue.get(fired.id);
  const runs = Object.fromEntries((ex?.taskRunList ?? []).map((r) => [r.taskId, r.attempts.length]));
  assert.deepEqual(runs, { slack: 1, slow: 2 });
  assert.equal(hook.received.length, 1, 'one Slack message');
});

test('a follower on one replica sees the changes and the end of an execution running on the other', async (t) => {
  const url = await pgsql.freshDatabase();
  const hook = await receiver(t);
  const slow = await gate(t);
  const flows = flowsDir({ 'gated.yml': GATED(hook.url, slow.url) });
  const clockA = new ManualClock(T0);
  const clockB = new ManualClock(T0);
  const a = await replica(t, url, 'A', flows, clockA);
  const b = await replica(t, url, 'B', flows, clockB);
  const flow = a.runtime.flows.find('company.replicas', 'gated');
  assert.ok(flow);
  const fired = await a.runtime.scheduler.fire(flow, 'w', { body: {}, headers: {}, parameters: {} });
  assert.ok(fired);
  await slow.arrived(1);
  const seen: string[] = [];
  const off = b.runtime.queue.watch(fired.id, (change) => seen.push(change.kind));
  t.after(off);
  await until('a first look from B', () => {
    clockB.advance(POLL_MS);
    return seen.includes('changed');
  });
  assert.ok(!seen.includes('ended'));
  slow.answer(0);
  assert.equal((await fired.done)?.state, 'SUCCESS');
  await until('B to see the end', () => {
    clockB.advance(POLL_MS);
    return seen.includes('ended');
  });
});

test('a stale fence is refused on every write of a run, and nothing of it is kept', async (t) => {
  const url = await pgsql.freshDatabase();
  const a = await PgStore.open(url, { replica: { owner: 'A', leaseMs: 60_000 } });
  const b = await PgStore.open(url, { replica: { owner: 'B', leaseMs: 60_000 } });
  t.after(() => Promise.all([a.close(), b.close()]));
  assert.ok(a.replicas && b.replicas);
  const s: Submission = {
    id: 'e1',
    namespace: 'ns',
    flowId: 'f',
    inputs: {},
    createdAt: new Date().toISOString(),
  };
  assert.ok(await a.replicas.enqueueClaimed(s));
  const stale = { executionId: 'e1', fence: 1 };
  await a.started('e1', new Date().toISOString(), stale);
  const q = await db(t, url);
  await q.query("UPDATE execution_claims SET expires_at = now() - interval '1 millisecond'");
  const [taken] = await b.replicas.claim(10);
  assert.deepEqual(taken, { executionId: 'e1', fence: 2 });
  const run = {
    id: 'r1',
    taskId: 'x',
    type: 'io.kestra.plugin.core.log.Log',
    state: 'SUCCESS',
    attempts: 1,
    startDate: new Date().toISOString(),
    endDate: new Date().toISOString(),
  } as unknown as Parameters<PgStore['saveTaskRun']>[1];
  await assert.rejects(a.saveTaskRun('e1', run, stale), LeaseLostError);
  await assert.rejects(a.started('e1', new Date().toISOString(), stale), LeaseLostError);
  await assert.rejects(
    a.appendLogs(
      [
        {
          tenantId: 'main',
          namespace: 'ns',
          flowId: 'f',
          executionId: 'e1',
          attemptNumber: null,
          timestamp: new Date().toISOString(),
          level: 'INFO',
          message: 'stale',
        },
      ],
      stale,
    ),
    LeaseLostError,
  );
  await assert.rejects(
    a.finish(
      {
        id: 'e1',
        state: 'SUCCESS',
        endDate: new Date().toISOString(),
        durationMs: 1,
        outputs: {},
        taskRuns: [run],
      },
      stale,
    ),
    LeaseLostError,
  );
  assert.deepEqual(await b.taskRuns('e1'), [], 'no task run kept');
  assert.deepEqual(await b.logs('e1'), [], 'no log line kept');
  assert.equal((await b.get('e1'))?.state, 'RUNNING', 'not ended by the stale owner');
  assert.deepEqual(await a.replicas.renew([stale]), new Set(), 'its renewal is refused');
  // The new owner's writes go through.
  await b.saveTaskRun('e1', run, taken);
  await b.finish(
    {
      id: 'e1',
      state: 'SUCCESS',
      endDate: new Date().toISOString(),
      durationMs: 1,
      outputs: {},
      taskRuns: [run],
    },
    taken,
  );
  assert.equal((await a.get('e1'))?.state, 'SUCCESS');
});

test('writes of one turn go as one statement per kind: a stale fence among them is refused alone', async (t) => {
  const url = await pgsql.freshDatabase();
  const a = await PgStore.open(url, { replica: { owner: 'A', leaseMs: 60_000 } });
  const b = await PgStore.open(url, { replica: { owner: 'B', leaseMs: 60_000 } });
  t.after(() => Promise.all([a.close(), b.close()]));
  assert.ok(a.replicas && b.replicas);
  const now = () => new Date().toISOString();
  const submission = (id: string): Submission => ({
    id,
    namespace: 'ns',
    flowId: 'f',
    inputs: {},
    createdAt: now(),
  });
  for (const id of ['kept', 'lost']) assert.ok(await a.replicas.enqueueClaimed(submission(id)));
  const q = await db(t, url);
  await q.query(
    "UPDATE execution_claims SET expires_at = now() - interval '1 millisecond' WHERE execution_id = 'lost'",
  );
  assert.deepEqual(await b.replicas.claim(10), [{ executionId: 'lost', fence: 2 }]);
  const kept = { executionId: 'kept', fence: 1 };
  const lost = { executionId: 'lost', fence: 1 };
  const run = (id: string) =>
    ({
      id,
      taskId: 'x',
      type: 'io.kestra.plugin.core.log.Log',
      state: 'SUCCESS',
      attempts: 1,
      startDate: now(),
      endDate: now(),
    }) as unknown as Parameters<PgStore['saveTaskRun']>[1];
  const line = (executionId: string, message: string): LogEntry => ({
    tenantId: 'main',
    namespace: 'ns',
    flowId: 'f',
    executionId,
    attemptNumber: null,
    timestamp: now(),
    level: 'INFO',
    message,
  });
  const ended = (id: string) => ({
    id,
    state: 'SUCCESS',
    endDate: now(),
    durationMs: 1,
    outputs: { x: { n: 1 } },
    taskRuns: [],
  });
  // Each pair is asked for in the same turn.
  const pairs = [
    () => [a.started('kept', now(), kept), a.started('lost', now(), lost)],
    () => [a.saveTaskRun('kept', run('r1'), kept), a.saveTaskRun('lost', run('r1'), lost)],
    () => [
      a.appendLogs([line('kept', 'one'), line('kept', 'two')], kept),
      a.appendLogs([line('lost', 'stale')], lost),
    ],
    () => [a.finish(ended('kept'), kept), a.finish(ended('lost'), lost)],
  ];
  for (const pair of pairs) {
    const [ok, refused] = await Promise.allSettled(pair());
    assert.equal(ok?.status, 'fulfilled', String(ok?.status === 'rejected' && ok.reason));
    assert.ok(refused?.status === 'rejected' && refused.reason instanceof LeaseLostError);
  }
  assert.equal((await b.get('kept'))?.state, 'SUCCESS');
  assert.deepEqual(
    (await b.taskRuns('kept')).map((r) => r.id),
    ['r1'],
  );
  assert.deepEqual(
    (await b.logs('kept')).map((l) => l.message),
    ['one', 'two'],
  );
  assert.deepEqual(await b.outputs('kept'), { x: { n: 1 } });
  assert.equal((await b.get('lost'))?.state, 'RUNNING', 'not ended by the stale owner');
  assert.deepEqual(await b.taskRuns('lost'), []);
  assert.deepEqual(await b.logs('lost'), []);
});

test("a firing written in a slot's transaction is not taken for lost by a lease renewal before its commit", async (t) => {
  const url = await pgsql.freshDatabase();
  const flows = flowsDir({
    'f.yml': `id: f
namespace: ns
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: fired
`,
  });
  const clock = new ManualClock(T0);
  const a = await replica(t, url, 'A', flows, clock);
  const replicas = a.store.replicas;
  assert.ok(replicas);
  const renewals: Promise<Set<string>>[] = [];
  const renew = replicas.renew.bind(replicas);
  replicas.renew = (leases) => {
    const done = renew(leases);
    renewals.push(done);
    return done;
  };
  const flow = a.runtime.flows.find('ns', 'f');
  assert.ok(flow);
  const claimed = await replicas.slot('ns.f.tick', T0, async (tx) => {
    const submitted = await a.runtime.queue.submit(flow, {
      inputs: {},
      triggerId: 'tick',
      via: tx,
      state: { key: 'ns.f.tick', armed: false, fired: 1, failures: 0 },
    });
    // The lease renewal comes round while the slot's transaction is still open.
    clock.advance(20_000);
    await Promise.all(renewals);
    await new Promise((r) => setImmediate(r));
    return submitted;
  });
  assert.ok(claimed);
  const ended = await claimed.value.done;
  assert.equal(ended?.state, 'SUCCESS');
  assert.ok(!a.lines.some((l) => /lease was taken over/.test(l)), a.lines.join('\n'));
});

test('a replica that dies inside a slot claim (before its commit) leaves the slot to another, which fires it once', async (t) => {
  const url = await pgsql.freshDatabase();
  const a = await PgStore.open(url, { replica: { owner: 'A', leaseMs: 60_000 } });
  const b = await PgStore.open(url, { replica: { owner: 'B', leaseMs: 60_000 } });
  t.after(() => Promise.all([a.close(), b.close()]));
  assert.ok(a.replicas && b.replicas);
  const key = 'ns.f.alert';
  const submission = (id: string): Submission => ({
    id,
    namespace: 'ns',
    flowId: 'f',
    inputs: {},
    triggerId: 'alert',
    createdAt: new Date().toISOString(),
  });
  const state = { key, armed: false, fired: 1, failures: 0, executionId: 'from-a' };
  await assert.rejects(
    a.replicas.slot(key, 5000, async (tx) => {
      assert.equal(tx.state, undefined);
      await tx.enqueue(submission('from-a'), state);
      throw new Error('killed mid-way');
    }),
    /killed mid-way/,
  );
  const got = await b.replicas.slot(key, 5000, async (tx) => {
    assert.equal(tx.state, undefined, 'nothing of A was kept');
    return tx.enqueue(submission('from-b'), { ...state, executionId: 'from-b' });
  });
  assert.deepEqual(got, { value: true });
  assert.equal(await a.replicas.slot(key, 5000, () => Promise.resolve('again')), undefined, 'claimed once');
  assert.equal(await a.get('from-a'), undefined);
  assert.equal((await a.get('from-b'))?.state, 'RUNNING', 'written started, for B to run');
  // The next slot's owner reads the state the last one wrote, and sees its execution open.
  const seen = await a.replicas.slot(key, 10_000, (tx) =>
    Promise.resolve({ state: tx.state, running: tx.running }),
  );
  assert.equal(seen?.value.state?.executionId, 'from-b');
  assert.equal(seen?.value.running, true);
});

test('--database-url on a state folder from before the store: its history is imported once, and the log says so', async (t) => {
  const url = await pgsql.freshDatabase();
  const flows = flowsDir({
    'f.yml': `id: f
namespace: company.ops
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hello
`,
  });
  const state = mkdtempSync(join(tmpdir(), 'kf-replica-legacy-'));
  mkdirSync(state, { recursive: true });
  const day = new Date(Date.now() - 86_400_000).toISOString();
  writeFileSync(
    join(state, 'executions.jsonl'),
    `${JSON.stringify({ id: 'old1', namespace: 'company.ops', flowId: 'f', state: 'SUCCESS', outputs: { a: 1 }, startDate: day, endDate: day, durationMs: 0 })}\n`,
  );
  const life = async () => {
    const store = await PgStore.open(url, { replica: { owner: 'A', leaseMs: 60_000 } });
    const lines: string[] = [];
    const runtime = new Runtime({
      paths: [flows],
      stateDir: state,
      logger: createLogger({ write: (l) => lines.push(l) }),
      masker: new Masker(),
      env: ENV,
      write: () => {},
      clock: new ManualClock(T0),
      store,
    });
    await runtime.start();
    return { runtime, lines };
  };
  const first = await life();
  assert.match(
    first.lines.join('\n'),
    /imported 1 execution\(s\) from .*executions\.jsonl into postgres:\/\//,
  );
  // Kept as the task's outputs (the flow's outputs, the API's `outputs`, did not exist then).
  assert.deepEqual(await first.runtime.queue.store.outputs('old1'), { a: 1 });
  await first.runtime.stop();
  const second = await life();
  t.after(() => second.runtime.stop());
  assert.doesNotMatch(second.lines.join('\n'), /imported/, 'once');
  const q = await db(t, url);
  const claims = await q.query('SELECT * FROM execution_claims');
  assert.equal(claims.rowCount, 0, 'an imported ended execution is claimed by no replica');
});

/** A replica with its HTTP API, in this process: `files` its flows, a state folder of its own. */
async function httpReplica(t: TestContext, url: string, files: Record<string, string>, clock?: ManualClock) {
  const dir = mkdtempSync(join(tmpdir(), 'kf-http-replica-'));
  mkdirSync(join(dir, 'flows'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'flows', name), text);
  return startKestraServer(t, { dir, databaseUrl: url, clock });
}

const LOGGED = (gateUrl: string) => `id: logged
namespace: company.replicas
triggers:
  - id: w
    type: io.kestra.plugin.core.trigger.Webhook
    key: k3y-for-tests
tasks:
${[1, 2, 3].map((n) => `  - id: before_${n}\n    type: io.kestra.plugin.core.log.Log\n    message: before ${n}\n`).join('')}  - id: slow
    type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
    url: ${gateUrl}/slow
    payload: '{"text": "slow"}'
${[1, 2, 3].map((n) => `  - id: after_${n}\n    type: io.kestra.plugin.core.log.Log\n    message: after ${n}\n`).join('')}`;

test('logs/{id}/follow through a replica other than the one running it: every stored line, then each new one, then the end', async (t) => {
  const url = await pgsql.freshDatabase();
  const slow = await gate(t);
  const files = { 'logged.yml': LOGGED(slow.url) };
  const a = await httpReplica(t, url, files);
  const b = await httpReplica(t, url, files);
  const hook = await fetch(`${a.url}/api/v1/main/executions/webhook/company.replicas/logged/k3y-for-tests`, {
    method: 'POST',
  });
  assert.equal(hook.status, 200);
  const { id } = (await hook.json()) as { id: string };
  await slow.arrived(1);
  const follow = await fetch(`${b.url}/api/v1/main/logs/${id}/follow`, {
    signal: AbortSignal.timeout(30_000),
  });
  assert.equal(follow.status, 200);
  const followed: LogEntry[] = [];
  let answered = false;
  await readEvents(follow, (e) => {
    followed.push(JSON.parse(e.data) as LogEntry);
    // The slow task ends once B has sent the lines stored before it: the rest come while it follows.
    if (!answered && followed.some((l) => l.message === 'before 3')) {
      answered = true;
      slow.answer(0);
    }
  });
  assert.ok(answered, 'B sent the lines stored before it was followed');
  const stored = (await (await fetch(`${a.url}/api/v1/main/logs/${id}`)).json()) as LogEntry[];
  assert.ok(stored.some((l) => l.message === 'after 3'));
  assert.deepEqual(
    followed.map((l) => l.message),
    stored.map((l) => l.message),
    'every line once, in order, before the end',
  );
  assert.deepEqual(followed, stored);
});

test('triggers/search answers the same Schedule state from any replica: the stored one', async (t) => {
  const url = await pgsql.freshDatabase();
  const files = {
    'tick.yml': TICK_EVERY_2S,
  };
  // A clock each: only A reaches the slot of 10:00:02 and evaluates it; B has not looked at it.
  const clockA = new ManualClock(T0 + 500);
  const clockB = new ManualClock(T0 + 500);
  const a = await httpReplica(t, url, files, clockA);
  const b = await httpReplica(t, url, files, clockB);
  clockA.advanceTo(T0 + 2000);
  await a.server.scheduler.idle();
  await a.server.queue.idle();
  const context = async (r: { url: string }) => {
    const res = await fetch(`${r.url}/api/v1/main/triggers/search?flowId=tick`);
    assert.equal(res.status, 200);
    const page = (await res.json()) as { results: { triggerContext: Record<string, unknown> }[] };
    return page.results[0]?.triggerContext;
  };
  const fromA = await context(a);
  assert.equal(fromA?.nextExecutionDate, new Date(T0 + 4000).toISOString());
  assert.ok(fromA?.date, JSON.stringify(fromA));
  assert.deepEqual(await context(b), fromA);
});

test(
  'server --database-url for a user that needs a password, none given: one line saying how to give it, exit 1; PGPASSWORD gives it',
  { timeout: 60_000 },
  async (t) => {
    const url = await pgsql.cluster().passwordUser('nobody', 'pw-123456');
    const flows = flowsDir({ 'gated.yml': GATED('http://127.0.0.1:9', 'http://127.0.0.1:9') });
    const state = () => mkdtempSync(join(tmpdir(), 'kf-password-'));
    const args = (dir: string) => [
      'server',
      flows,
      '--state-dir',
      dir,
      '--database-url',
      url,
      '--listen',
      '127.0.0.1:0',
    ];
    const none = await runCli(args(state()));
    assert.equal(none.code, 1, none.stderr);
    assert.equal(
      none.stderr,
      `error: database ${url}: user "nobody" needs a password: give it in the URL or in PGPASSWORD\n`,
    );
    const wrong = await runCli(args(state()), { PGPASSWORD: 'not-it-987' });
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.match(
      wrong.stderr,
      /^(?![^]*not-it-987)error: database [^\n]*password authentication failed for user "nobody"\n$/,
    );
    const right = new ServerProcess(args(state()).slice(1), { PGPASSWORD: 'pw-123456' });
    t.after(() => right.stop('SIGKILL'));
    await right.waitFor(/HTTP API on http:/);
    assert.equal(await right.stop(), 0);
  },
);
