/**
 * `node dist/bench/intake.js [N] [CONCURRENCY,…]`: webhook intake of `kestra-fastly server` (a child
 * process, as deployed): N webhook POSTs (default 2000), CONCURRENCY in flight (default 8 then 32),
 * each acknowledged once its execution is durable; acknowledged executions per second and the
 * median and p99 of the acknowledgement. A bare node:http server answering 200 is measured in the
 * same run as the floor. The flow's one task is a Log, so the figure is the server's, not Fastly's.
 * Each store is measured: the embedded SQLite, and PostgreSQL (--database-url) on
 * $BENCH_DATABASE_URL or a throw-away local cluster with fsync on (test/support/postgres.ts).
 * Each figure comes with the machine's load average (1 min) before and after it. $BENCH_CLI
 * measures another build's server (say main's, for a before and after in one run).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../test/support/postgres.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = process.env.BENCH_CLI ?? join(ROOT, 'dist/bundle/main.cjs');
const N = Number(process.argv[2] ?? 2000);
const LEVELS = (process.argv[3] ?? '8,32').split(',').map(Number);
let CONCURRENCY = 0;

const loadAverage = () => Number((loadavg()[0] ?? 0).toFixed(2));

async function load(url: string): Promise<{
  perSecond: number;
  medianMs: number;
  p99Ms: number;
  failed: number;
  load: [before: number, after: number];
}> {
  const before = loadAverage();
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (next < N) {
      next++;
      const t = performance.now();
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"n":1}',
      });
      await r.arrayBuffer();
      if (r.status === 200) latencies.push(performance.now() - t);
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Number((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(1));
  return {
    perSecond: Math.round(latencies.length / seconds),
    medianMs: at(0.5),
    p99Ms: at(0.99),
    failed,
    load: [before, loadAverage()],
  };
}

async function floor() {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id":"x","state":{"current":"CREATED"}}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    return await load(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  } finally {
    server.close();
  }
}

async function kestraFastly(databaseUrl?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'kf-intake-'));
  const flow = join(dir, 'hook.yml');
  writeFileSync(
    flow,
    `id: hook
namespace: bench
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: bench-key-0123456789
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ trigger.body.n }}"
`,
  );
  const child: ChildProcess = spawn(
    process.execPath,
    [
      CLI,
      'server',
      flow,
      '--state-dir',
      join(dir, 'state'),
      '--listen',
      '127.0.0.1:0',
      ...(databaseUrl ? ['--database-url', databaseUrl] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const take = (d: Buffer) => {
      out += d.toString();
      const m = /HTTP API on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    child.on('exit', () => reject(new Error(out)));
  });
  try {
    return await load(`${url}/api/v1/main/executions/webhook/bench/hook/bench-key-0123456789`);
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const cluster = process.env.BENCH_DATABASE_URL ? undefined : await startPostgres({ fsync: true });
try {
  for (const [i, level] of LEVELS.entries()) {
    CONCURRENCY = level;
    const bare = await floor();
    const sqlite = await kestraFastly();
    const postgres = await kestraFastly(
      process.env.BENCH_DATABASE_URL ?? (await cluster?.createDatabase(`intake${i}`)),
    );
    console.log(
      JSON.stringify({ node: process.version, cli: CLI, n: N, concurrency: level, bare, sqlite, postgres }),
    );
  }
} finally {
  cluster?.stop();
}
