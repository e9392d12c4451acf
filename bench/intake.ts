/**
 * `node dist/bench/intake.js [N] [CONCURRENCY,…]`: webhook intake of `kestra-fastly server` (a child
 * process, as deployed): N webhook POSTs (default 2000), CONCURRENCY in flight (default 8 then 32),
 * each acknowledged once its execution is durable; acknowledged executions per second and the
 * median and p99 of the acknowledgement. A bare node:http server answering 200 is measured in the
 * same run as the floor. The flow's one task is a Log, so the figure is the server's, not Fastly's.
 * Each store is measured: the embedded SQLite, and PostgreSQL (--database-url) on
 * $BENCH_DATABASE_URL or a throw-away local cluster with fsync on (test/support/postgres.ts).
 * Each figure comes with the machine's load average (1 min) before and after it. $BENCH_CLI
 * measures another build's server (say main's, for a before and after in one run). Acknowledged is
 * not ended: `endedPerSecond` counts from the first POST until the API lists every acknowledged
 * execution SUCCESS, so a server that acknowledges faster than it runs shows it.
 * $BENCH_STORES=sqlite,postgres picks the stores (default both). `cpuMsPerExecution` is the CPU time
 * (user + system, from /proc) the server and, on PostgreSQL, the database's processes spent per
 * acknowledged execution from the first POST to the drain: a figure the machine's other load moves
 * far less than the rates.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../test/support/postgres.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = process.env.BENCH_CLI ?? join(ROOT, 'dist/bundle/main.cjs');
const N = Number(process.argv[2] ?? 2000);
const LEVELS = (process.argv[3] ?? '8,32').split(',').map(Number);
let CONCURRENCY = 0;
const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');

const loadAverage = () => Number((loadavg()[0] ?? 0).toFixed(2));

/** CPU ms (user + system) of a process, with its waited-for children's; 0 where /proc is not. */
function cpuMs(pid: number, children = false): number {
  try {
    // The fields after the command's closing parenthesis: utime is the 12th, then stime, cutime, cstime.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    const ticks = (f[11] ?? 0) + (f[12] ?? 0) + (children ? (f[13] ?? 0) + (f[14] ?? 0) : 0);
    return ticks * 10;
  } catch {
    return 0;
  }
}

/** CPU ms of a PostgreSQL cluster: its postmaster, each backend, and the backends that exited. */
function clusterCpuMs(postmaster: number): number {
  let ms = cpuMs(postmaster, true);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) ms += cpuMs(Number(entry));
    } catch {
      // Gone since the listing.
    }
  }
  return ms;
}

interface Load {
  perSecond: number;
  medianMs: number;
  p99Ms: number;
  failed: number;
  load: [before: number, after: number];
  /** Until every acknowledged execution had ended (the servers of kestra-fastly only). */
  endedPerSecond?: number;
  cpuMsPerExecution?: { server: number; database?: number };
}

async function load(
  url: string,
  ended?: (acknowledged: number) => Promise<void>,
  cpu?: { server: number; database?: number | undefined },
): Promise<Load> {
  const before = loadAverage();
  const cpuAt = (): [number, number] => [
    cpu ? cpuMs(cpu.server) : 0,
    cpu?.database ? clusterCpuMs(cpu.database) : 0,
  ];
  const cpu0 = cpuAt();
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
  let endedPerSecond: number | undefined;
  if (ended) {
    await ended(latencies.length);
    endedPerSecond = Math.round(latencies.length / ((performance.now() - t0) / 1000));
  }
  const cpu1 = cpuAt();
  const per = (i: 0 | 1) => Number(((cpu1[i] - cpu0[i]) / Math.max(1, latencies.length)).toFixed(2));
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Number((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(1));
  return {
    perSecond: Math.round(latencies.length / seconds),
    medianMs: at(0.5),
    p99Ms: at(0.99),
    failed,
    load: [before, loadAverage()],
    ...(endedPerSecond === undefined ? {} : { endedPerSecond }),
    ...(cpu ? { cpuMsPerExecution: { server: per(0), ...(cpu.database ? { database: per(1) } : {}) } } : {}),
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
  const postmaster = databaseUrl && cluster ? postmasterOf(cluster.dir) : undefined;
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
    const ended = async (acknowledged: number) => {
      for (;;) {
        const r = await fetch(`${url}/api/v1/main/executions/search?namespace=bench&state=SUCCESS&size=1`);
        const { total } = (await r.json()) as { total: number };
        if (total >= acknowledged) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    return await load(`${url}/api/v1/main/executions/webhook/bench/hook/bench-key-0123456789`, ended, {
      server: child.pid as number,
      database: postmaster,
    });
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The postmaster's pid, first line of its pid file. */
function postmasterOf(dir: string): number | undefined {
  for (const file of [join(dir, 'data/postmaster.pid'), join(dir, 'postmaster.pid')]) {
    try {
      return Number(readFileSync(file, 'utf8').split('\n')[0]);
    } catch {
      // Not this layout.
    }
  }
  return undefined;
}

const cluster =
  process.env.BENCH_DATABASE_URL || !STORES.includes('postgres')
    ? undefined
    : await startPostgres({ fsync: true });
try {
  for (const [i, level] of LEVELS.entries()) {
    CONCURRENCY = level;
    const bare = await floor();
    const sqlite = STORES.includes('sqlite') ? await kestraFastly() : undefined;
    const postgres = STORES.includes('postgres')
      ? await kestraFastly(process.env.BENCH_DATABASE_URL ?? (await cluster?.createDatabase(`intake${i}`)))
      : undefined;
    console.log(
      JSON.stringify({ node: process.version, cli: CLI, n: N, concurrency: level, bare, sqlite, postgres }),
    );
  }
} finally {
  cluster?.stop();
}
