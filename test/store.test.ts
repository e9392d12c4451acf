import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import fc from 'fast-check';
import type { TaskRun } from '../src/flow/executor.js';
import { JavaDouble } from '../src/pebble/java.js';
import pg from 'pg';
import { MIGRATIONS, PgStore } from '../src/runtime/postgres.js';
import { SqliteStore } from '../src/runtime/sqlite.js';
import { type ExecutionStore, packOutputs, type SearchQuery, type Submission } from '../src/runtime/store.js';
import { postgresForFile } from './support/postgres.js';

/** The connection that empties each database between a property's runs (kind.emptied). */
const truncators = new Map<string, pg.Client>();
// Before the cluster's own `after` (hooks run in order): ended while the server still runs.
after(() => Promise.all([...truncators.values()].map((c) => c.end())));
const pgsql = postgresForFile();

interface Kind {
  name: string;
  /** An empty store. */
  fresh(): Promise<ExecutionStore>;
  /** Emptied for the next run of a property (cheaper than a new database), or a new one. */
  emptied(store: ExecutionStore): Promise<ExecutionStore>;
  /** Where a writer process puts its executions (a file or a database URL). */
  place(): Promise<string>;
  open(place: string): Promise<ExecutionStore>;
}

const KINDS: Kind[] = [
  {
    // In memory: the SQL is what is tested here; durability has its own test below.
    name: 'SQLite',
    fresh: () => Promise.resolve(new SqliteStore(':memory:')),
    emptied: async (store) => {
      await store.close();
      return new SqliteStore(':memory:');
    },
    place: () => Promise.resolve(join(mkdtempSync(join(tmpdir(), 'kf-store-kill-')), 'runtime.db')),
    open: (file) => Promise.resolve(new SqliteStore(file)),
  },
  {
    name: 'PostgreSQL',
    // The counters are folded where a test says (foldCounts), not once a second in the background.
    fresh: async () => PgStore.open(await pgsql.freshDatabase(), { foldEveryMs: 0 }),
    emptied: async (store) => {
      // One connection per database for all of a property's runs: a new one each run was a
      // PostgreSQL backend started (and its caches filled) 140 times a file.
      const database = dbName(store);
      let client = truncators.get(database);
      if (!client) {
        client = new pg.Client({ connectionString: pgsql.cluster().url(database) });
        truncators.set(database, client);
        await client.connect();
      }
      await client.query(
        'TRUNCATE executions, task_runs, outputs, marks, execution_counts, execution_count_deltas, logs, triggers',
      );
      return store;
    },
    place: () => pgsql.freshDatabase(),
    open: (url) => PgStore.open(url),
  },
];

/** The database a PgStore is on (its shown URL's path). */
const dbName = (store: ExecutionStore) => new URL((store as PgStore).file).pathname.slice(1);

const submission = (id: string, namespace: string, flowId: string, createdAt: string): Submission => ({
  id,
  namespace,
  flowId,
  inputs: { id },
  createdAt,
});

const run = (id: string, over: Partial<TaskRun> = {}): TaskRun => ({
  id,
  taskId: id,
  type: 'io.kestra.plugin.core.log.Log',
  state: 'SUCCESS',
  attempts: 1,
  startDate: '2026-11-01T00:00:00.000Z',
  endDate: '',
  durationMs: 0,
  ...over,
});

for (const kind of KINDS) {
  test(`${kind.name}: the store: a submission is queued once, task runs are upserted, a finished execution leaves the queue with its outputs apart`, async () => {
    const store = await kind.fresh();
    const s = submission('a', 'company.ops', 'f', '2026-11-01T00:00:00.000Z');
    assert.equal(await store.enqueue(s), true);
    assert.equal(await store.enqueue(s), false, 'the same id is not queued twice');
    assert.deepEqual(
      (await store.unfinished()).map((e) => [e.id, e.state]),
      [['a', 'CREATED']],
    );
    assert.equal(await store.started('a', '2026-11-01T00:00:01.000Z'), '2026-11-01T00:00:01.000Z');
    assert.equal(
      await store.started('a', '2026-11-01T00:09:00.000Z'),
      '2026-11-01T00:00:01.000Z',
      'the first start stays',
    );
    await store.saveTaskRun('a', run('t1'));
    await store.saveTaskRun('a', run('t1', { endDate: '2026-11-01T00:00:02.000Z', outputs: { n: 1 } }));
    assert.deepEqual(
      (await store.taskRuns('a')).map((r) => [r.id, r.endDate, r.outputs]),
      [['t1', '2026-11-01T00:00:02.000Z', { n: 1 }]],
    );
    await store.finish({
      id: 'a',
      state: 'SUCCESS',
      endDate: '2026-11-01T00:00:03.000Z',
      durationMs: 2000,
      outputs: { t1: { n: 1 } },
      taskRuns: [run('t1', { endDate: '2026-11-01T00:00:02.000Z', outputs: { n: 1 } })],
    });
    assert.deepEqual(await store.unfinished(), []);
    const got = await store.get('a');
    assert.equal(got?.state, 'SUCCESS');
    assert.equal(got?.startDate, '2026-11-01T00:00:01.000Z');
    assert.equal(got?.outputsBytes, JSON.stringify({ t1: { n: 1 } }).length);
    assert.deepEqual(await store.outputs('a'), { t1: { n: 1 } });
    assert.equal(await store.flowOutputs('a'), undefined, 'a flow that declares no outputs');
    assert.deepEqual(
      (await store.history()).map((r) => [r.id, r.outputs]),
      [['a', { t1: { n: 1 } }]],
    );
    // The flow's outputs, stored beside each task's, are read alone.
    await store.enqueue(submission('b', 'company.ops', 'f', '2026-11-01T00:00:04.000Z'));
    await store.finish({
      id: 'b',
      state: 'SUCCESS',
      endDate: '2026-11-01T00:00:05.000Z',
      durationMs: 1000,
      outputs: packOutputs({ t1: { big: 'x'.repeat(1000) } }, { count: 3, keys: ['a', 'é "b"'] }),
      taskRuns: [],
    });
    assert.deepEqual(await store.flowOutputs('b'), { count: 3, keys: ['a', 'é "b"'] });
    assert.equal(await store.flowOutputs('nope'), undefined);
    await store.close();
  });

  test(`${kind.name}: Java numbers: inputs, trigger variables, task runs, outputs and trigger states keep 1.0 and 2^63-1`, async () => {
    const store = await kind.fresh();
    // As Jackson reads {"d": 1.0, "big": 9223372036854775807, "n": 1, "r": 0.5}.
    const java = { d: new JavaDouble(1), big: 2n ** 63n - 1n, n: 1, r: 0.5 };
    const s: Submission = {
      ...submission('j', 'company.ops', 'f', '2026-11-01T00:00:00.000Z'),
      inputs: { cfg: java },
      trigger: { body: java },
      triggerId: 'hook',
      triggerType: 'io.kestra.plugin.core.trigger.Webhook',
    };
    await store.enqueue(s, {
      key: 'company.ops.f.hook',
      armed: true,
      fired: 1,
      failures: 0,
      pending: { executionId: 'j', trigger: { body: java }, firedAt: '2026-11-01T00:00:00.000Z' },
    });
    await store.started('j', '2026-11-01T00:00:01.000Z');
    await store.saveTaskRun('j', run('t1', { outputs: { values: java } }));
    await store.finish({
      id: 'j',
      state: 'SUCCESS',
      endDate: '2026-11-01T00:00:03.000Z',
      durationMs: 2000,
      outputs: packOutputs({ t1: { values: java } }, { flow: java }),
      taskRuns: [run('t1', { outputs: { values: java } })],
    });
    const got = await store.get('j');
    assert.deepEqual(got?.inputs, { cfg: java });
    assert.deepEqual(got?.trigger, { body: java });
    assert.deepEqual(await store.outputs('j'), packOutputs({ t1: { values: java } }, { flow: java }));
    // Picked out by the database (SQLite's json_extract, PostgreSQL's json ->): the same numbers.
    assert.deepEqual(await store.flowOutputs('j'), { flow: java });
    assert.deepEqual(
      (await store.taskRuns('j')).map((r) => r.outputs),
      [{ values: java }],
    );
    assert.deepEqual((await store.triggerStates())[0]?.pending?.trigger, { body: java });
    await store.close();
  });

  test(`${kind.name}: group commit: the submissions of one turn are written in one transaction; an id given twice is new once, a bad one fails alone`, async () => {
    const store = await kind.fresh();
    let groups = 0;
    if (store instanceof SqliteStore) {
      const sync = store.sync;
      const enqueueAll = sync.enqueueAll.bind(sync);
      sync.enqueueAll = (items) => {
        groups++;
        return enqueueAll(items);
      };
    }
    const at = '2026-11-01T00:00:00.000Z';
    // A cycle: the one input no serializer writes.
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad = { ...submission('bad', 'company', 'f', at), inputs: cyclic };
    const outcomes = await Promise.allSettled([
      store.enqueue(submission('g1', 'company', 'f', at)),
      store.enqueue(submission('g2', 'company', 'f', at)),
      store.enqueue(bad),
      store.enqueue(submission('g1', 'company', 'f', at)),
      store.enqueue(submission('g3', 'company.ops', 'f', at)),
    ]);
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'fulfilled' ? o.value : 'rejected')),
      [true, true, 'rejected', false, true],
    );
    assert.equal(await store.get('bad'), undefined);
    assert.deepEqual((await store.unfinished()).map((e) => e.id).sort(), ['g1', 'g2', 'g3']);
    if (store instanceof SqliteStore) assert.equal(groups, 1, 'one transaction for the turn');
    else {
      const client = new pg.Client({ connectionString: pgsql.cluster().url(dbName(store)) });
      await client.connect();
      const tx = await client.query('SELECT DISTINCT xmin::text FROM executions');
      await client.end();
      assert.equal(tx.rowCount, 1, 'one transaction for the turn');
    }
    // The next turn's: a transaction of its own.
    assert.equal(await store.enqueue(submission('g4', 'company', 'f', at)), true);
    assert.equal((await store.search({ page: 1, size: 10 })).total, 4);
    await store.close();
  });

  test(`${kind.name}: search: any namespace filter, flow, states and page give the executions a plain filter of all of them gives, newest first`, async () => {
    const NAMESPACES = ['company', 'company.ops', 'company.ops.eu', 'company-x', 'companyx', 'other'];
    const STATES = ['CREATED', 'RUNNING', 'SUCCESS', 'FAILED'];
    let store = await kind.fresh();
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            namespace: fc.constantFrom(...NAMESPACES),
            flowId: fc.constantFrom('a', 'b'),
            state: fc.constantFrom(...STATES),
            second: fc.integer({ min: 0, max: 50 }),
          }),
          { maxLength: 40 },
        ),
        fc.option(fc.constantFrom(...NAMESPACES, 'company.o'), { nil: undefined }),
        fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
        fc.subarray(STATES),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 7 }),
        fc.nat({ max: 40 }),
        async (rows, namespace, flowId, states, page, size, foldAfter) => {
          store = await kind.emptied(store);
          const all = rows.map((r, i) => ({
            ...r,
            id: `e${String(i).padStart(3, '0')}`,
            createdAt: new Date(Date.UTC(2026, 10, 1, 0, 0, r.second)).toISOString(),
          }));
          for (const [i, r] of all.entries()) {
            // PostgreSQL: the counters folded at a drawn point, so totals are read both ways.
            if (i === foldAfter && store instanceof PgStore) await store.foldCounts();
            await store.enqueue(submission(r.id, r.namespace, r.flowId, r.createdAt));
            if (r.state !== 'CREATED') await store.started(r.id, r.createdAt);
            if (r.state === 'SUCCESS' || r.state === 'FAILED')
              await store.finish({
                id: r.id,
                state: r.state,
                endDate: r.createdAt,
                durationMs: 0,
                outputs: {},
                taskRuns: [],
              });
          }
          const expected = all
            .filter(
              (r) =>
                (!namespace || r.namespace === namespace || r.namespace.startsWith(`${namespace}.`)) &&
                (!flowId || r.flowId === flowId) &&
                (!states.length || states.includes(r.state)),
            )
            .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
          const got = await store.search({ namespace, flowId, states, page, size });
          assert.equal(got.total, expected.length);
          assert.deepEqual(
            got.results.map((e) => e.id),
            expected.slice((page - 1) * size, page * size).map((r) => r.id),
          );
        },
      ),
      // The filters' SQL is the stores' shared conditionSql, drawn 60 times on SQLite; PostgreSQL's
      // own part (its counters, folded at a drawn point) 30: each run is tens of round trips.
      { numRuns: kind.name === 'PostgreSQL' ? 30 : 60 },
    );
    await store.close();
  });

  test(`${kind.name}: trigger state: a firing writes its state and execution together, a failed one neither; task runs keep their first write's order`, async () => {
    const store = await kind.fresh();
    const state = (key: string, fired: number) => ({ key, armed: fired === 0, fired, failures: 0 });
    await store.saveTriggerState(state('n.f.t2', 0));
    assert.equal(
      await store.enqueue(submission('fired', 'n', 'f', '2026-11-01T00:00:00.000Z'), state('n.f.t1', 1)),
      true,
    );
    assert.deepEqual(await store.triggerStates(), [state('n.f.t1', 1), state('n.f.t2', 0)]);
    assert.equal((await store.get('fired'))?.state, 'CREATED');
    // The submission cannot be written (JSON cannot hold a cycle): the state is not either.
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const unwritable = { ...submission('bad', 'n', 'f', '2026-11-01T00:00:01.000Z'), inputs: cycle };
    await assert.rejects(store.enqueue(unwritable, state('n.f.t1', 2)));
    assert.deepEqual(await store.triggerStates(), [state('n.f.t1', 1), state('n.f.t2', 0)]);
    assert.equal(await store.get('bad'), undefined);
    await store.saveTriggerState(state('n.f.t2', 3));
    assert.deepEqual(
      (await store.triggerStates()).map((t) => t.fired),
      [1, 3],
      'the last write wins',
    );
    // Same start: the order they were first written in, kept when a run is written again.
    for (const id of ['c', 'a', 'b']) await store.saveTaskRun('fired', run(id, { state: 'FAILED' }));
    await store.saveTaskRun('fired', run('a'));
    assert.deepEqual(
      (await store.taskRuns('fired')).map((t) => [t.id, t.state]),
      [
        ['c', 'FAILED'],
        ['a', 'SUCCESS'],
        ['b', 'FAILED'],
      ],
    );
    await store.close();
  });

  test(`${kind.name}: retention: prune deletes ended executions older than the cut-off, with their task runs and outputs, never an unfinished one`, async () => {
    const store = await kind.fresh();
    for (const [id, end] of [
      ['old', '2026-10-01T00:00:00.000Z'],
      ['new', '2026-11-20T00:00:00.000Z'],
    ] as const) {
      await store.enqueue(submission(id, 'n', 'f', end));
      await store.started(id, end);
      await store.finish({
        id,
        state: 'SUCCESS',
        endDate: end,
        durationMs: 0,
        outputs: { id },
        taskRuns: [run(`${id}-t`)],
      });
    }
    await store.enqueue(submission('queued', 'n', 'f', '2026-09-01T00:00:00.000Z'));
    assert.equal(await store.prune('2026-11-01T00:00:00.000Z'), 1);
    assert.equal(await store.get('old'), undefined);
    assert.deepEqual(await store.taskRuns('old'), []);
    assert.equal(await store.outputs('old'), undefined);
    assert.deepEqual(
      (await store.search({ page: 1, size: 10 })).results.map((e) => e.id),
      ['new', 'queued'],
    );
    await store.close();
  });
}

for (const [kind, group] of KINDS.flatMap((k) => [[k, 1] as const, [k, 16] as const])) {
  test(`${kind.name}: kill -9 in the middle of writes, ${group === 1 ? 'one submission at a time' : `${group} at once (group commits)`}: every submission acknowledged before the kill is in the store when it is reopened`, async () => {
    const file = await kind.place();
    // A child writes submissions (`group` at once) and task runs as fast as it can and prints each
    // id once its enqueue() has resolved; it is killed once it has acknowledged 300.
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('./store-writer.js', import.meta.url)), file, String(group)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 300) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code, signal) => (signal ? resolve() : reject(new Error(`writer exited ${code}`))));
    });
    await new Promise((r) => child.once('close', r));
    const acknowledged = out
      .split('\n')
      .filter((l) => l.endsWith('!'))
      .map((l) => l.slice(0, -1));
    assert.ok(acknowledged.length >= 300);
    const store = await kind.open(file);
    for (const id of acknowledged) assert.ok(await store.get(id), `${id} was acknowledged and is lost`);
    assert.equal((await store.search({ page: 1, size: 1 })).total >= acknowledged.length, true);
    await store.close();
  });
}

test('PostgreSQL: servers opening a new database at once make its schema once (migrations under an advisory lock)', async () => {
  const url = await pgsql.freshDatabase();
  const stores = await Promise.all(Array.from({ length: 4 }, () => PgStore.open(url)));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    assert.deepEqual(
      rows.map((r) => r.version),
      MIGRATIONS.map((_, i) => i + 1),
      'each step once',
    );
  } finally {
    await client.end();
  }
  assert.equal(await stores[0]?.enqueue(submission('x', 'n', 'f', '2026-11-01T00:00:00.000Z')), true);
  assert.equal((await stores[3]?.get('x'))?.id, 'x', 'one database under every store');
  await Promise.all(stores.map((s) => s.close()));
});

test('PostgreSQL: counters: writes only add deltas (no row two writes share); folding them, from two stores at once, keeps every total', async () => {
  const url = await pgsql.freshDatabase();
  // No fold in the background: this test folds itself, and counts what each fold moved.
  const [a, b] = await Promise.all([
    PgStore.open(url, { foldEveryMs: 0 }),
    PgStore.open(url, { foldEveryMs: 0 }),
  ]);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const totals = async () => {
    const q = (more: Partial<SearchQuery>) => a.search({ page: 1, size: 1, ...more }).then((r) => r.total);
    return [
      await q({}),
      await q({ namespace: 'company' }),
      await q({ namespace: 'company.ops', flowId: 'f' }),
      await q({ states: ['SUCCESS'] }),
      await q({ states: ['CREATED', 'RUNNING'] }),
    ];
  };
  const at = (s: number) => new Date(Date.UTC(2026, 10, 1, 0, 0, s)).toISOString();
  for (let i = 0; i < 12; i++) {
    const store = i % 2 ? a : b;
    await store.enqueue(submission(`c${i}`, i % 3 ? 'company' : 'company.ops', 'f', at(i)));
    if (i % 4 === 0) continue;
    await store.started(`c${i}`, at(i));
    if (i % 4 === 1) continue;
    await store.finish({
      id: `c${i}`,
      state: 'SUCCESS',
      endDate: at(i),
      durationMs: 0,
      outputs: {},
      taskRuns: [],
    });
  }
  await a.remove('c2');
  const counted = await client.query<{ n: string }>('SELECT COUNT(*) AS n FROM execution_counts');
  assert.equal(counted.rows[0]?.n, '0', 'no write took a row of execution_counts');
  const before = await totals();
  assert.deepEqual(before, [11, 11, 4, 5, 6]);
  const moved = await Promise.all([a.foldCounts(), b.foldCounts()]);
  assert.equal(
    moved.filter((n) => n > 0).length,
    1,
    `one of the two folds moved them all: ${moved.join(', ')}`,
  );
  const left = await client.query<{ n: string }>('SELECT COUNT(*) AS n FROM execution_count_deltas');
  assert.equal(left.rows[0]?.n, '0');
  assert.deepEqual(await totals(), before, 'the same totals once folded');
  await a.finish({ id: 'c0', state: 'FAILED', endDate: at(20), durationMs: 0, outputs: {}, taskRuns: [] });
  assert.deepEqual(await totals(), [11, 11, 4, 5, 5], 'deltas after a fold add to the folded totals');
  await client.end();
  await Promise.all([a.close(), b.close()]);
});

test('PostgreSQL: a database that cannot be reached fails the open with one line that hides the password', async () => {
  // Port 1: nothing listens there (only root could, and nothing does on this machine).
  const url = 'postgres://app:s3cret-pw@127.0.0.1:1/kf';
  await assert.rejects(PgStore.open(url), (err: Error) => {
    assert.equal(err.name, 'RunFailedError');
    assert.match(err.message, /^database postgres:\/\/app:\*\*\*@127\.0\.0\.1:\d+\/kf: .*ECONNREFUSED/);
    assert.doesNotMatch(err.message, /s3cret-pw|\n/);
    return true;
  });
});

const LEVEL_NAMES = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

for (const kind of KINDS) {
  test(`${kind.name}: logs: lines are kept in order per execution, filtered by minLevel, task run, task and attempt; delete and prune remove them`, async () => {
    const store = await kind.fresh();
    const line = (
      executionId: string,
      i: number,
      taskRunId: string,
      level: (typeof LEVEL_NAMES)[number],
    ) => ({
      tenantId: 'main' as const,
      namespace: 'n',
      flowId: 'f',
      taskId: taskRunId.replace(/-run$/, ''),
      executionId,
      taskRunId,
      attemptNumber: i % 2,
      timestamp: new Date(Date.UTC(2026, 10, 1, 0, 0, i)).toISOString(),
      level,
      thread: 'main',
      message: `line ${i}`,
    });
    const lines = Array.from({ length: 10 }, (_, i) =>
      line('a', i, i < 5 ? 'one-run' : 'two-run', LEVEL_NAMES[i % 5] as (typeof LEVEL_NAMES)[number]),
    );
    for (const id of ['a', 'b']) await store.enqueue(submission(id, 'n', 'f', '2026-11-01T00:00:00.000Z'));
    await store.appendLogs(lines.slice(0, 4));
    await store.appendLogs([line('b', 0, 'x-run', 'INFO')]);
    await store.appendLogs(lines.slice(4));
    assert.deepEqual(await store.logs('a'), lines);
    assert.deepEqual(
      await store.logs('a', { minLevel: 'WARN' }),
      lines.filter((l) => l.level === 'WARN' || l.level === 'ERROR'),
    );
    assert.deepEqual(await store.logs('a', { taskRunId: 'two-run' }), lines.slice(5));
    assert.deepEqual(await store.logs('a', { taskId: 'one', attempt: 1 }), [lines[1], lines[3]]);
    assert.deepEqual(await store.logs('a', { skip: 7 }), lines.slice(7), 'a follower reads only new lines');
    assert.deepEqual(await store.logs('a', { skip: lines.length }), []);
    assert.equal((await store.logs('b')).length, 1);
    assert.equal(await store.remove('a', true), true, 'deleteLogs=false keeps the lines');
    assert.equal((await store.logs('a')).length, 10);
    assert.equal(await store.remove('a'), false, 'already gone');
    assert.equal(await store.remove('b'), true);
    assert.deepEqual(await store.logs('b'), []);
    await store.enqueue(submission('c', 'n', 'f', '2026-10-01T00:00:00.000Z'));
    await store.started('c', '2026-10-01T00:00:00.000Z');
    await store.appendLogs([line('c', 0, 'c-run', 'INFO')]);
    await store.finish({
      id: 'c',
      state: 'SUCCESS',
      endDate: '2026-10-01T00:00:01.000Z',
      durationMs: 1000,
      outputs: {},
      taskRuns: [],
    });
    assert.equal(await store.prune('2026-11-01T00:00:00.000Z'), 1);
    assert.deepEqual(await store.logs('c'), [], 'retention deletes the lines too');
    await store.close();
  });

  test(`${kind.name}: kill and restart states: KILLING and RESTARTED stay unfinished; a restart clears the end and drops the named task runs; KILLED ends`, async () => {
    const store = await kind.fresh();
    await store.enqueue(submission('r', 'n', 'f', '2026-11-01T00:00:00.000Z'));
    await store.started('r', '2026-11-01T00:00:01.000Z');
    // Resumed after a crash: started again while RUNNING, no second RUNNING.
    await store.started('r', '2026-11-01T00:00:01.500Z');
    await store.finish({
      id: 'r',
      state: 'FAILED',
      endDate: '2026-11-01T00:00:05.000Z',
      durationMs: 4000,
      error: 'boom',
      outputs: {},
      taskRuns: [
        run('ok'),
        run('bad', { state: 'FAILED', startDate: '2026-11-01T00:00:02.000Z' }),
        run('on_error', { startDate: '2026-11-01T00:00:03.000Z' }),
      ],
    });
    await store.setState('r', 'RESTARTED', ['on_error']);
    const restarted = await store.get('r');
    assert.equal(restarted?.state, 'RESTARTED');
    assert.equal(restarted?.endDate, undefined);
    assert.equal(restarted?.error, undefined);
    assert.equal(restarted?.startDate, '2026-11-01T00:00:01.000Z', 'the first start is kept');
    assert.deepEqual(
      (await store.taskRuns('r')).map((t) => t.id),
      ['ok', 'bad'],
    );
    assert.deepEqual(
      (await store.unfinished()).map((e) => e.id),
      ['r'],
    );
    await store.setState('r', 'KILLING');
    assert.deepEqual(
      (await store.unfinished()).map((e) => [e.id, e.state]),
      [['r', 'KILLING']],
    );
    // Every transition kept, in the statements that made them: the FAILED end stays before the restart.
    const history = (await store.get('r'))?.histories ?? [];
    assert.deepEqual(
      history.map((h) => h.state),
      ['CREATED', 'RUNNING', 'FAILED', 'RESTARTED', 'KILLING'],
    );
    assert.deepEqual(history.slice(0, 3), [
      { state: 'CREATED', date: '2026-11-01T00:00:00.000Z' },
      { state: 'RUNNING', date: '2026-11-01T00:00:01.000Z' },
      { state: 'FAILED', date: '2026-11-01T00:00:05.000Z' },
    ]);
    await store.enqueue(submission('q', 'n', 'f', '2026-11-01T00:00:02.000Z'));
    await store.setState('q', 'KILLED');
    const killed = await store.get('q');
    assert.equal(killed?.state, 'KILLED');
    assert.ok(killed?.endDate, 'a queued execution killed has ended');
    assert.deepEqual(killed?.histories, [
      { state: 'CREATED', date: '2026-11-01T00:00:02.000Z' },
      { state: 'KILLED', date: killed?.endDate },
    ]);
    assert.deepEqual(
      (await store.unfinished()).map((e) => e.id),
      ['r'],
    );
    await store.close();
  });

  test(`${kind.name}: search: labels, startDate/endDate and every sort give what a plain filter and sort of all executions give`, async () => {
    const SORTS = [
      'id',
      'namespace',
      'flowId',
      'state.current',
      'state.startDate',
      'state.endDate',
      'state.duration',
    ] as const;
    const column = {
      id: 'id',
      namespace: 'namespace',
      flowId: 'flowId',
      'state.current': 'state',
      'state.startDate': 'startDate',
      'state.endDate': 'endDate',
      'state.duration': 'durationMs',
    } as const;
    let store = await kind.fresh();
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            namespace: fc.constantFrom('company', 'company.ops', 'company_x', 'other'),
            flowId: fc.constantFrom('a', 'b'),
            ended: fc.boolean(),
            second: fc.integer({ min: 0, max: 30 }),
            duration: fc.integer({ min: 0, max: 5 }),
            labels: fc.subarray([
              { key: 'env', value: 'prod' },
              { key: 'team', value: 'edge%_' },
              { key: 'x"y', value: 'q\\z' },
            ]),
          }),
          { maxLength: 25 },
        ),
        fc.subarray([
          { key: 'env', value: 'prod' },
          { key: 'team', value: 'edge%_' },
          { key: 'x"y', value: 'q\\z' },
        ]),
        fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
        fc.option(fc.record({ field: fc.constantFrom(...SORTS), desc: fc.boolean() }), { nil: undefined }),
        fc.option(fc.constantFrom('company', 'company.ops'), { nil: undefined }),
        fc.integer({ min: 1, max: 3 }),
        async (rows, labels, from, to, sort, namespace, page) => {
          const size = 4;
          store = await kind.emptied(store);
          const at = (s: number) => new Date(Date.UTC(2026, 10, 1, 0, 0, s)).toISOString();
          const all = rows.map((r, i) => ({
            id: `e${String(i).padStart(3, '0')}`,
            namespace: r.namespace,
            flowId: r.flowId,
            state: r.ended ? 'SUCCESS' : 'RUNNING',
            startDate: at(r.second),
            endDate: r.ended ? at(r.second + r.duration) : undefined,
            durationMs: r.ended ? r.duration * 1000 : undefined,
            labels: r.labels,
          }));
          for (const r of all) {
            await store.enqueue({
              ...submission(r.id, r.namespace, r.flowId, r.startDate),
              labels: r.labels,
            });
            await store.started(r.id, r.startDate);
            if (r.endDate)
              await store.finish({
                id: r.id,
                state: 'SUCCESS',
                endDate: r.endDate,
                durationMs: r.durationMs ?? 0,
                outputs: {},
                taskRuns: [],
              });
          }
          const startDate = from === undefined ? undefined : at(from);
          const endDate = to === undefined ? undefined : at(to);
          const expected = all.filter(
            (r) =>
              (!namespace || r.namespace === namespace || r.namespace.startsWith(`${namespace}.`)) &&
              labels.every((l) => r.labels.some((m) => m.key === l.key && m.value === l.value)) &&
              (!startDate || r.startDate >= startDate) &&
              (!endDate || (r.endDate !== undefined && r.endDate <= endDate)),
          );
          const key = (r: (typeof all)[number]): string | number | undefined =>
            sort ? r[column[sort.field]] : r.startDate;
          const dir = sort && !sort.desc ? 1 : -1;
          expected.sort((a, b) => {
            const x = key(a);
            const y = key(b);
            if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? 1 : -1;
            return (x < y ? -1 : x > y ? 1 : 0) * dir;
          });
          const got = await store.search({
            namespace,
            labels,
            startDate,
            endDate,
            sort,
            page,
            size,
          });
          assert.equal(got.total, expected.length);
          // Ties (same key) may come in any order: compare the keys page by page.
          assert.deepEqual(
            got.results.map((e) => key(all.find((r) => r.id === e.id) as (typeof all)[number])),
            expected.slice((page - 1) * size, page * size).map(key),
          );
          for (const e of got.results) assert.ok(expected.some((r) => r.id === e.id));
        },
      ),
      // As above: the shared conditionSql and sorts 80 times on SQLite, 40 on PostgreSQL.
      { numRuns: kind.name === 'PostgreSQL' ? 40 : 80 },
    );
    await store.close();
  });
}

test('a runtime.db written before labels gets the column when opened, and keeps its executions', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'kf-store-old-')), 'runtime.db');
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  const old = new Database(file);
  old.exec(`CREATE TABLE executions (id TEXT PRIMARY KEY, namespace TEXT NOT NULL, flow_id TEXT NOT NULL,
    state TEXT NOT NULL, trigger_id TEXT, trigger_type TEXT, created_at TEXT NOT NULL, start_date TEXT,
    end_date TEXT, duration_ms BIGINT, error TEXT, outputs_bytes BIGINT, inputs TEXT NOT NULL, trigger_vars TEXT)`);
  old
    .prepare(
      `INSERT INTO executions (id, namespace, flow_id, state, created_at, inputs) VALUES (?, ?, ?, ?, ?, ?)`,
    )
    .run('before', 'n', 'f', 'CREATED', '2026-11-01T00:00:00.000Z', '{}');
  old.close();
  const store = new SqliteStore(file);
  await store.enqueue({
    ...submission('after', 'n', 'f', '2026-11-01T00:00:01.000Z'),
    labels: [{ key: 'env', value: 'prod' }],
  });
  assert.equal((await store.get('before'))?.labels, undefined);
  assert.deepEqual((await store.get('after'))?.labels, [{ key: 'env', value: 'prod' }]);
  assert.deepEqual(
    (await store.search({ labels: [{ key: 'env', value: 'prod' }], page: 1, size: 10 })).results.map(
      (e) => e.id,
    ),
    ['after'],
  );
  await store.close();
});

test('executions stored before state histories were kept: the column is added (SQLite file, PostgreSQL migration), their history is made from their dates, new ones keep theirs', async () => {
  const { executionView } = await import('../src/flow/view.js');
  const dates = {
    createdAt: '2026-11-01T00:00:00.000Z',
    start: '2026-11-01T00:00:01.000Z',
    end: '2026-11-01T00:00:02.000Z',
  };
  const finished = (id: string) => ({
    id,
    state: 'SUCCESS',
    endDate: dates.end,
    durationMs: 1000,
    outputs: {},
    taskRuns: [],
  });
  const check = async (store: ExecutionStore) => {
    await store.started('old', dates.start);
    await store.finish(finished('old'));
    const old = await store.get('old');
    assert.equal(old?.histories, undefined, 'an older row keeps no partial history');
    assert.deepEqual(executionView({ ...old!, taskRuns: [] }).state.histories, [
      { state: 'CREATED', date: dates.createdAt },
      { state: 'RUNNING', date: dates.start },
      { state: 'SUCCESS', date: dates.end },
    ]);
    await store.enqueue(submission('new', 'n', 'f', dates.createdAt));
    await store.started('new', dates.start);
    await store.finish(finished('new'));
    assert.deepEqual((await store.get('new'))?.histories, [
      { state: 'CREATED', date: dates.createdAt },
      { state: 'RUNNING', date: dates.start },
      { state: 'SUCCESS', date: dates.end },
    ]);
    await store.close();
  };

  const file = join(mkdtempSync(join(tmpdir(), 'kf-store-hist-')), 'runtime.db');
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  const old = new Database(file);
  old.exec(`CREATE TABLE executions (id TEXT PRIMARY KEY, namespace TEXT NOT NULL, flow_id TEXT NOT NULL,
    state TEXT NOT NULL, trigger_id TEXT, trigger_type TEXT, created_at TEXT NOT NULL, start_date TEXT,
    end_date TEXT, duration_ms BIGINT, error TEXT, outputs_bytes BIGINT, inputs TEXT NOT NULL, trigger_vars TEXT,
    labels TEXT)`);
  old
    .prepare(
      `INSERT INTO executions (id, namespace, flow_id, state, created_at, inputs) VALUES (?, ?, ?, ?, ?, ?)`,
    )
    .run('old', 'n', 'f', 'CREATED', dates.createdAt, '{}');
  old.close();
  await check(new SqliteStore(file));

  // PostgreSQL: a database at the migration before the histories one.
  const url = await pgsql.freshDatabase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const before = MIGRATIONS.findIndex((m) => m.includes('ADD COLUMN histories'));
    assert.ok(before > 0);
    await client.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)');
    for (let v = 1; v <= before; v++) {
      await client.query(MIGRATIONS[v - 1] as string);
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [v]);
    }
    await client.query(
      `INSERT INTO executions (id, namespace, flow_id, state, created_at, inputs) VALUES ($1, $2, $3, $4, $5, $6)`,
      ['old', 'n', 'f', 'CREATED', dates.createdAt, '{}'],
    );
  } finally {
    await client.end();
  }
  await check(await PgStore.open(url));
});
