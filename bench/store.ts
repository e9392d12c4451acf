/**
 * `node dist/bench/store.js [N] [--postgres]`: an execution store with N executions (default
 * 250,000; each with two task runs and small outputs): how long a reopen takes, the median of
 * `search` (size 10, unfiltered, by namespace, by flow, by state) and of `get` with its task runs
 * and outputs, and the RSS of a process that opened it and ran those reads. The reads run in a
 * fresh process, as a restarted server would. The embedded store (SQLite) by default; with
 * --postgres, PgStore on $BENCH_DATABASE_URL or, without it, on a throw-away local cluster
 * (test/support/postgres.ts), filled by SQL with the same rows.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PgStore } from '../src/runtime/postgres.js';
import { SqliteStore } from '../src/runtime/sqlite.js';
import type { ExecutionStore } from '../src/runtime/store.js';
import { startPostgres } from '../test/support/postgres.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function fill(file: string, n: number): number {
  const store = new SqliteStore(file);
  const t0 = performance.now();
  const base = Date.parse('2026-11-01T00:00:00Z');
  const BATCH = 5000;
  for (let from = 0; from < n; from += BATCH) {
    store.sync.batch(() => {
      for (let i = from; i < Math.min(n, from + BATCH); i++) {
        const id = `ex${String(i).padStart(8, '0')}`;
        const at = new Date(base + i * 1000).toISOString();
        const end = new Date(base + i * 1000 + 800).toISOString();
        store.sync.enqueue({
          id,
          namespace: `company.team${i % 10}`,
          flowId: `flow${i % 30}`,
          inputs: { n: i },
          trigger: { value: i % 100, threshold: 50 },
          triggerId: 't',
          triggerType: 'io.kestra.plugin.fastly.stats.StatsTrigger',
          createdAt: at,
        });
        store.sync.started(id, at);
        const run = (taskId: string) => ({
          id: `${id}-${taskId}`,
          taskId,
          type: 'io.kestra.plugin.core.log.Log',
          state: 'SUCCESS' as const,
          attempts: 1,
          startDate: at,
          endDate: end,
          durationMs: 800,
          outputs: { message: `done ${i}` },
        });
        store.sync.finish({
          id,
          state: i % 50 === 0 ? 'FAILED' : 'SUCCESS',
          endDate: end,
          durationMs: 800,
          outputs: { log: { message: `done ${i}` }, notify: { code: 200 } },
          taskRuns: [run('log'), run('notify')],
        });
      }
    });
  }
  const ms = performance.now() - t0;
  store.sync.close();
  return ms;
}

/** The same executions as fill(), in PostgreSQL: written by SQL, in the store's tables. */
async function fillPostgres(url: string, n: number): Promise<number> {
  await (await PgStore.open(url)).close(); // the schema
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const t0 = performance.now();
  const at = `to_char(TIMESTAMP '2026-11-01' + i * INTERVAL '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const end = `to_char(TIMESTAMP '2026-11-01' + i * INTERVAL '1 second' + INTERVAL '800 milliseconds', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const id = `'ex' || lpad(i::text, 8, '0')`;
  const run = (task: string) =>
    `json_build_object('id', ${id} || '-${task}', 'taskId', '${task}', 'type', 'io.kestra.plugin.core.log.Log', 'state', 'SUCCESS', 'attempts', 1, 'startDate', ${at}, 'endDate', ${end}, 'durationMs', 800, 'outputs', json_build_object('message', 'done ' || i))::text`;
  await client.query(`
    INSERT INTO executions (id, namespace, flow_id, state, trigger_id, trigger_type, created_at, start_date, end_date, duration_ms, error, outputs_bytes, inputs, trigger_vars)
    SELECT ${id}, 'company.team' || (i % 10), 'flow' || (i % 30), CASE WHEN i % 50 = 0 THEN 'FAILED' ELSE 'SUCCESS' END,
           't', 'io.kestra.plugin.fastly.stats.StatsTrigger', ${at}, ${at}, ${end}, 800, NULL,
           length(json_build_object('log', json_build_object('message', 'done ' || i), 'notify', json_build_object('code', 200))::text),
           json_build_object('n', i)::text, json_build_object('value', i % 100, 'threshold', 50)::text
    FROM generate_series(0, ${n - 1}) AS i;
    INSERT INTO task_runs (execution_id, id, body)
    SELECT ${id}, ${id} || '-' || t, CASE WHEN t = 'log' THEN ${run('log')} ELSE ${run('notify')} END
    FROM generate_series(0, ${n - 1}) AS i, (VALUES ('log'), ('notify')) AS tasks(t);
    INSERT INTO outputs (execution_id, body)
    SELECT ${id}, json_build_object('log', json_build_object('message', 'done ' || i), 'notify', json_build_object('code', 200))::text
    FROM generate_series(0, ${n - 1}) AS i;
    ANALYZE;
  `);
  const ms = performance.now() - t0;
  const size = await client.query<{ bytes: string }>('SELECT pg_database_size(current_database()) AS bytes');
  await client.end();
  sizeBytes = Number(size.rows[0]?.bytes ?? 0);
  return ms;
}

let sizeBytes = 0;

/** In a fresh process: open, read, report. */
async function reads(file: string, n: number): Promise<void> {
  const t0 = performance.now();
  const store: ExecutionStore = file.startsWith('postgres://')
    ? await PgStore.open(file)
    : new SqliteStore(file);
  const openMs = performance.now() - t0;
  const time = async (f: () => Promise<unknown>, times = 200) => {
    const xs: number[] = [];
    for (let i = 0; i < times; i++) {
      const t = performance.now();
      await f();
      xs.push(performance.now() - t);
    }
    return Number(median(xs).toFixed(3));
  };
  let k = 0;
  const result = {
    executions: n,
    openMs: Number(openMs.toFixed(1)),
    searchMs: await time(() => store.search({ page: 1, size: 10 })),
    searchPage50Ms: await time(() => store.search({ page: 50, size: 10 })),
    searchNamespaceMs: await time(() => store.search({ namespace: 'company.team3', page: 1, size: 10 })),
    searchFlowMs: await time(() =>
      store.search({ namespace: 'company.team3', flowId: 'flow3', page: 1, size: 10 }),
    ),
    searchStateMs: await time(() => store.search({ states: ['FAILED'], page: 1, size: 10 })),
    getMs: await time(async () => {
      const id = `ex${String((k = (k + 7919) % n)).padStart(8, '0')}`;
      await store.get(id);
      await store.taskRuns(id);
      await store.outputs(id);
    }),
    rssMB: Math.round(process.memoryUsage().rss / 1048576),
  };
  await store.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[2] === '--reads') await reads(process.argv[3] as string, Number(process.argv[4]));
else {
  const postgres = process.argv.includes('--postgres');
  const n = Number(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 250_000);
  const dir = mkdtempSync(join(tmpdir(), 'kf-store-bench-'));
  const cluster =
    postgres && !process.env.BENCH_DATABASE_URL ? await startPostgres({ fsync: true }) : undefined;
  const place = postgres
    ? (process.env.BENCH_DATABASE_URL ?? (await cluster?.createDatabase('bench')) ?? '')
    : (process.env.BENCH_STORE_FILE ?? join(dir, 'runtime.db'));
  try {
    const fillMs = postgres ? await fillPostgres(place, n) : fill(place, n);
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--reads', place, String(n)], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(r.stderr);
    const result = JSON.parse(r.stdout) as Record<string, number>;
    const sizeMB = Math.round((postgres ? sizeBytes : statSync(place).size) / 1048576);
    console.log(
      JSON.stringify({
        node: process.version,
        store: postgres ? 'postgres' : 'sqlite',
        ...result,
        fillS: Math.round(fillMs / 1000),
        sizeMB,
      }),
    );
  } finally {
    cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
