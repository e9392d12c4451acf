/**
 * `node dist/bench/store.js [N]`: the embedded execution store with N executions (default
 * 250,000; each with two task runs and small outputs): how long a reopen takes, the median of
 * `search` (size 10, unfiltered, by namespace, by flow, by state) and of `get` with its task runs
 * and outputs, and the RSS of a process that opened it and ran those reads. The reads run in a
 * fresh process, as a restarted server would.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from '../src/runtime/sqlite.js';

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

/** In a fresh process: open, read, report. */
async function reads(file: string, n: number): Promise<void> {
  const t0 = performance.now();
  const store = new SqliteStore(file);
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
  const n = Number(process.argv[2] ?? 250_000);
  const dir = mkdtempSync(join(tmpdir(), 'kf-store-bench-'));
  const file = process.env.BENCH_STORE_FILE ?? join(dir, 'runtime.db');
  try {
    const fillMs = fill(file, n);
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--reads', file, String(n)], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(r.stderr);
    const result = JSON.parse(r.stdout) as Record<string, number>;
    const sizeMB = Math.round(statSync(file).size / 1048576);
    console.log(
      JSON.stringify({ node: process.version, ...result, fillS: Math.round(fillMs / 1000), sizeMB }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
