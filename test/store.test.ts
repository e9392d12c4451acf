import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { TaskRun } from '../src/flow/executor.js';
import { SqliteStore } from '../src/runtime/sqlite.js';
import type { Submission } from '../src/runtime/store.js';

/** The same store in memory: the SQL is what is tested here; durability has its own test below. */
const fresh = () => new SqliteStore(':memory:');

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

test('the store: a submission is queued once, task runs are upserted, a finished execution leaves the queue with its outputs apart', async () => {
  const store = fresh();
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
  assert.deepEqual(
    (await store.history()).map((r) => [r.id, r.outputs]),
    [['a', { t1: { n: 1 } }]],
  );
  await store.close();
});

test('search: any namespace filter, flow, states and page give the executions a plain filter of all of them gives, newest first', async () => {
  const NAMESPACES = ['company', 'company.ops', 'company.ops.eu', 'company-x', 'companyx', 'other'];
  const STATES = ['CREATED', 'RUNNING', 'SUCCESS', 'FAILED'];
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
      async (rows, namespace, flowId, states, page, size) => {
        const store = fresh();
        const all = rows.map((r, i) => ({
          ...r,
          id: `e${String(i).padStart(3, '0')}`,
          createdAt: new Date(Date.UTC(2026, 10, 1, 0, 0, r.second)).toISOString(),
        }));
        for (const r of all) {
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
        await store.close();
        assert.equal(got.total, expected.length);
        assert.deepEqual(
          got.results.map((e) => e.id),
          expected.slice((page - 1) * size, page * size).map((r) => r.id),
        );
      },
    ),
    { numRuns: 60 },
  );
});

test('retention: prune deletes ended executions older than the cut-off, with their task runs and outputs, never an unfinished one', async () => {
  const store = fresh();
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

test('kill -9 in the middle of writes: every submission acknowledged before the kill is in the store when it is reopened', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'kf-store-kill-')), 'runtime.db');
  // A child writes submissions and task runs as fast as it can and prints each id once enqueue()
  // has returned; it is killed once it has acknowledged 300.
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./store-writer.js', import.meta.url)), file],
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
  const store = new SqliteStore(file);
  for (const id of acknowledged) assert.ok(await store.get(id), `${id} was acknowledged and is lost`);
  assert.equal((await store.search({ page: 1, size: 1 })).total >= acknowledged.length, true);
  await store.close();
});
