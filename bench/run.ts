/**
 * `npm run bench`: our CLI and library side by side with the Fastly CLI, fastly-js and a curl loop,
 * on one simulator with injected latency. Rewrites BENCHMARKS.md and bench/results.json.
 *
 * BENCH_LATENCY_MS (default 50) and BENCH_RUNS (default 3) tune it.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../src/logger.js';
import { ManualClock } from '../src/flow/clock.js';
import { Masker } from '../src/masker.js';
import { Runtime } from '../src/runtime/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const BENCH = join(ROOT, 'bench');
const CLI = join(ROOT, 'dist/bundle/main.cjs');
const FASTLY = join(BENCH, 'node_modules/.bin/fastly');
const LATENCY = Number(process.env.BENCH_LATENCY_MS ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** A cold start is short and noisy: more runs. */
const COLD_RUNS = Math.max(3 * RUNS, 9);
const TOKEN = 'bench-token';
const SERVICE = 'svc0000000000000000001';
const HAS_TIME = existsSync('/usr/bin/time');
/** Other Node binaries to time the cold purge on too (comma-separated paths), e.g. the machine's Node 20. */
const EXTRA_NODES = (process.env.BENCH_EXTRA_NODES ?? '').split(',').filter(Boolean);

interface Sample {
  ms: number;
  rssMB?: number | undefined;
}

function ensureContestants(): void {
  if (existsSync(FASTLY) && existsSync(join(BENCH, 'node_modules/fastly'))) return;
  execFileSync(process.execPath, [join(BENCH, '../scripts/install-contestants.mjs')], { stdio: 'inherit' });
}

async function startSimulator(extra: string[] = []): Promise<{ url: string; stop: () => void }> {
  const child = spawn(
    process.execPath,
    [CLI, 'simulator', '--port', '0', '--latency', String(LATENCY), '--services', '50', ...extra],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', () => reject(new Error(`simulator exited: ${out}`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

/** Runs a command, returns wall time and (with GNU time) peak RSS. */
function timed(cmd: string, args: string[], env: Record<string, string>): Sample {
  const full = HAS_TIME ? ['/usr/bin/time', ['-f', '%M', cmd, ...args]] : [cmd, args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(full[0] as string, full[1] as string[], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-500)}`);
  const rss = HAS_TIME ? Number(r.stderr.trim().split('\n').pop()) / 1024 : undefined;
  return { ms, rssMB: rss };
}

/** Changes the simulator's added latency (its fault settings are otherwise the defaults). */
async function setLatency(url: string, ms: number): Promise<void> {
  // Its own connection (agent: false): a pooled one would sit idle through the next scenario and
  // be closed by the simulator under a later request.
  const { request } = await import('node:http');
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${url}/__sim/faults`, { method: 'POST', agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end(JSON.stringify({ latencyMs: ms }));
  });
  if (status !== 200) throw new Error(`simulator refused latency ${ms}: ${status}`);
}

/** The 9-field points of the backfill's first row: 7 stats fields, service_id and start_time. */
const NINE_FIELDS = ['requests', 'hits', 'miss', 'pass', 'errors', 'bandwidth', 'status_5xx'];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

interface Row {
  contestant: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  peakRssMB?: number | undefined;
  note?: string;
}

function summarize(name: string, samples: Sample[], note?: string): Row {
  const ms = samples.map((s) => s.ms);
  const rss = samples.map((s) => s.rssMB).filter((x): x is number => x !== undefined);
  return {
    contestant: name,
    medianMs: Math.round(median(ms)),
    minMs: Math.round(Math.min(...ms)),
    maxMs: Math.round(Math.max(...ms)),
    peakRssMB: rss.length ? Math.round(Math.max(...rss)) : undefined,
    ...(note ? { note } : {}),
  };
}

/** Runs each contestant RUNS times, alternating them, and summarizes. */
function race(contestants: [string, () => Sample, string?][], runs = RUNS): Row[] {
  const samples = new Map<string, Sample[]>(contestants.map(([n]) => [n, []]));
  for (let run = 0; run < runs; run++) {
    for (const [name, fn] of contestants) {
      const s = fn();
      samples.get(name)?.push(s);
      console.error(`  ${name}: ${Math.round(s.ms)} ms`);
    }
  }
  return contestants.map(([n, , note]) => summarize(n, samples.get(n) ?? [], note));
}

interface NodeCold {
  node: string;
  nodeStartMs: number;
  bareMs: number;
  oursMs: number;
  fastlyMs: number;
}

/** Cold purge at 0 ms on one Node binary: Node alone, a bare http.request, ours, the Fastly CLI. */
function coldOn(node: string, url: string, env: Record<string, string>): NodeCold {
  const onNode = { ...env, PATH: `${dirname(node)}:${process.env.PATH ?? ''}` };
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const rows = race(
    [
      ['node -e 0', () => timed(node, ['-e', '0'], onNode)],
      [
        'bare http.request',
        () => timed(node, [join(BENCH, 'contestants/bare-purge.cjs'), 'k1', SERVICE, url], onNode),
      ],
      ['kestra-fastly purge key', () => timed(node, [CLI, 'purge', 'key', 'k1'], onNode)],
      [
        'fastly service purge --key',
        () => timed(FASTLY, ['service', 'purge', '--key', 'k1', '--service-id', SERVICE], onNode),
      ],
    ],
    COLD_RUNS,
  );
  const m = (prefix: string) => rows.find((r) => r.contestant.startsWith(prefix))?.medianMs ?? NaN;
  return {
    node: version,
    nodeStartMs: m('node -e'),
    bareMs: m('bare'),
    oursMs: m('kestra-fastly'),
    fastlyMs: m('fastly service'),
  };
}

async function main(): Promise<void> {
  if (process.argv.includes('--report')) {
    // Rewrite BENCHMARKS.md from the last results, without measuring again.
    writeFileSync(
      join(ROOT, 'BENCHMARKS.md'),
      markdown(
        JSON.parse(readFileSync(join(BENCH, 'results.json'), 'utf8')) as Parameters<typeof markdown>[0],
      ),
    );
    return;
  }
  ensureContestants();
  const sim = await startSimulator();
  const env = {
    FASTLY_API_TOKEN: TOKEN,
    FASTLY_API_ENDPOINT: sim.url,
    FASTLY_ACCOUNT_ENDPOINT: sim.url,
    FASTLY_SERVICE_ID: SERVICE,
    HOME: mkdtempSync(join(tmpdir(), 'bench-home-')),
  };
  const dir = mkdtempSync(join(tmpdir(), 'kf-bench-'));
  const results: Record<string, unknown> = {};
  try {
    // Process start of each CLI, for the floors.
    const startOurs = summarize(
      'start',
      Array.from({ length: 5 }, () => timed(process.execPath, [CLI, '--version'], env)),
    ).medianMs;
    // Node itself, for the floor of any Node CLI.
    const startNode = summarize(
      'node',
      Array.from({ length: 5 }, () => timed(process.execPath, ['-e', '0'], env)),
    ).medianMs;

    // 1. Bulk purge of 10,000 keys.
    console.error('scenario 1: bulk purge of 10,000 keys');
    const N = 10_000;
    const keys = Array.from({ length: N }, (_, i) => `product-${i}`);
    writeFileSync(join(dir, 'keys.txt'), `${keys.join('\n')}\n`);
    const parts: string[] = [];
    for (let i = 0; i < N; i += 256) {
      const f = join(dir, `part-${i / 256}.txt`);
      writeFileSync(f, `${keys.slice(i, i + 256).join('\n')}\n`);
      parts.push(f);
    }
    const curlSample = 50;
    const s1 = race([
      [
        'kestra-fastly purge keys --file',
        () => timed(process.execPath, [CLI, 'purge', 'keys', '--file', join(dir, 'keys.txt')], env),
      ],
      [
        'fastly-js, 256-key batches in sequence',
        () =>
          timed(
            process.execPath,
            [join(BENCH, 'contestants/fastlyjs-purge.mjs'), join(dir, 'keys.txt'), SERVICE, sim.url],
            env,
          ),
      ],
      [
        'Fastly CLI, once per 256-key file',
        () => {
          let ms = 0;
          let rss = 0;
          for (const f of parts) {
            const s = timed(FASTLY, ['service', 'purge', '--file', f, '--service-id', SERVICE], env);
            ms += s.ms;
            rss = Math.max(rss, s.rssMB ?? 0);
          }
          return { ms, rssMB: rss || undefined };
        },
      ],
      [
        'curl loop, one key per request (seed 002)',
        () => {
          const t0 = process.hrtime.bigint();
          for (const k of keys.slice(0, curlSample)) {
            spawnSync('curl', [
              '-s',
              '-o',
              '/dev/null',
              '-X',
              'POST',
              `${sim.url}/service/${SERVICE}/purge/${k}`,
              '-H',
              `Fastly-Key: ${TOKEN}`,
            ]);
          }
          return { ms: (Number(process.hrtime.bigint() - t0) / 1e6) * (N / curlSample) };
        },
        `extrapolated from ${curlSample} keys`,
      ],
    ]);
    results.bulkPurge = { rows: s1, requests: Math.ceil(N / 256), concurrency: 40 };

    // 2. One purge from a cold process, at the bench's latency and at none.
    console.error('scenario 2: one purge from a cold process');
    const coldRace = () =>
      race(
        [
          ['kestra-fastly purge key', () => timed(process.execPath, [CLI, 'purge', 'key', 'k1'], env)],
          [
            'fastly service purge --key',
            () => timed(FASTLY, ['service', 'purge', '--key', 'k1', '--service-id', SERVICE], env),
          ],
        ],
        COLD_RUNS,
      );
    const s2 = coldRace();
    await setLatency(sim.url, 0);
    const s2zero = coldRace();
    await setLatency(sim.url, LATENCY);
    results.coldPurge = { rows: s2, processStartMs: startOurs, nodeStartMs: startNode };
    results.coldPurgeZero = { rows: s2zero };
    // The same at 0 ms on each Node (the Fastly CLI's npm launcher runs on it too), with the floor of
    // any Node CLI: a bare node:http request.
    console.error('scenario 2b: cold purge per Node version, 0 ms');
    await setLatency(sim.url, 0);
    results.coldPurgeNodes = [process.execPath, ...EXTRA_NODES].map((node) => coldOn(node, sim.url, env));
    await setLatency(sim.url, LATENCY);

    // 3. 35 days of minute stats to CSV: 9-field points (a second simulator), then the full points.
    const to = Math.floor(Date.now() / 60_000) * 60 - 60;
    const from = to - 35 * 86400 + 600;
    const backfill = (url: string, label: string) =>
      race([
        [
          'kestra-fastly stats historical --format csv',
          () =>
            timed(
              process.execPath,
              [
                CLI,
                'stats',
                'historical',
                '-s',
                SERVICE,
                '--by',
                'minute',
                '--from',
                String(from),
                '--to',
                String(to),
                '--format',
                'csv',
                '-o',
                join(dir, `ours-${label}.csv`),
              ],
              { ...env, FASTLY_API_ENDPOINT: url },
            ),
        ],
        [
          'fastly-js, pages in sequence',
          () =>
            timed(
              process.execPath,
              [
                join(BENCH, 'contestants/fastlyjs-backfill.mjs'),
                SERVICE,
                String(from),
                String(to),
                join(dir, `js-${label}.csv`),
                url,
              ],
              env,
            ),
        ],
      ]);
    const pages = Math.ceil((to - from) / 60 / 200);
    console.error('scenario 3a: 35-day minute backfill to CSV, 9-field points');
    const nine = await startSimulator(['--point-fields', NINE_FIELDS.join(',')]);
    let s3nine: Row[];
    try {
      s3nine = backfill(nine.url, 'nine');
    } finally {
      nine.stop();
    }
    const rows = readFileSync(join(dir, 'ours-nine.csv'), 'utf8').split('\n').length - 2;
    results.backfillNine = { rows: s3nine, points: rows, pages, fields: NINE_FIELDS.length + 2 };
    console.error('scenario 3b: 35-day minute backfill to CSV, full points');
    const s3 = backfill(sim.url, 'full');
    const header = readFileSync(join(dir, 'ours-full.csv'), 'utf8').slice(0, 10_000).split('\n')[0] ?? '';
    // The point's fields: the CSV's columns but the readable `time` it adds.
    const fields = header.split(',').filter((c) => c !== 'time').length;
    results.backfill = { rows: s3, points: rows, pages, fields };

    // 4. Trigger server: 1,000 StatsTriggers over 50 services and 4 fields.
    console.error('scenario 4: 1,000 triggers');
    results.triggers = await triggerScenario(sim.url, dir);
  } finally {
    sim.stop();
  }
  const report = {
    date: new Date().toISOString(),
    machine: machine(),
    latencyMs: LATENCY,
    runs: RUNS,
    results,
  };
  writeFileSync(join(BENCH, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(ROOT, 'BENCHMARKS.md'), markdown(report));
  console.error('wrote BENCHMARKS.md and bench/results.json');
}

async function triggerScenario(url: string, dir: string) {
  const fields = ['status_5xx', 'status_4xx', 'requests', 'hit_ratio'];
  const flows = join(dir, 'flows');
  execFileSync('mkdir', ['-p', flows]);
  for (let i = 0; i < 1000; i++) {
    const service = `svc${String((i % 50) + 1).padStart(19, '0')}`;
    const field = fields[Math.floor(i / 50) % 4];
    writeFileSync(
      join(flows, `t${i}.yml`),
      `id: t${i}\nnamespace: bench\ntriggers:\n  - id: t\n    type: io.kestra.plugin.fastly.stats.StatsTrigger\n    apiToken: ${TOKEN}\n    serviceId: ${service}\n    field: ${field}\n    threshold: 1000000000\n    window: PT1H\n    interval: PT1M\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ trigger.value }}"\n`,
    );
  }
  const clock = new ManualClock();
  const t0 = process.hrtime.bigint();
  const runtime = new Runtime({
    paths: [flows],
    stateDir: join(dir, 'state'),
    logger: createLogger({ write: () => {} }),
    masker: new Masker(),
    env: { FASTLY_API_ENDPOINT: url },
    write: () => {},
    clock,
    rescanMs: 3_600_000,
  });
  const sch = runtime.scheduler;
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const perInterval: { requests: number; cpuMs: number; wallMs: number }[] = [];
  await runtime.start();
  for (let i = 0; i < 3; i++) {
    await fetch(`${url}/__sim/log`, { method: 'DELETE' });
    const cpu = process.cpuUsage();
    const w = process.hrtime.bigint();
    clock.advance(i === 0 ? 0 : 61_000);
    await sch.idle();
    const used = process.cpuUsage(cpu);
    const log = (await (await fetch(`${url}/__sim/log`)).json()) as { path: string }[];
    perInterval.push({
      requests: log.filter((e) => e.path.startsWith('/stats/')).length,
      cpuMs: Math.round((used.user + used.system) / 1000),
      wallMs: Math.round(Number(process.hrtime.bigint() - w) / 1e6),
    });
  }
  await runtime.stop();
  return { triggers: 1000, distinctPolls: 200, loadMs: Math.round(loadMs), perInterval };
}

function machine() {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    freeGB: Math.round(freemem() / 2 ** 30),
    node: process.version,
  };
}

function table(rows: Row[], reference: string): string {
  const ours = rows.find((r) => r.contestant.startsWith('kestra-fastly'))?.medianMs ?? 1;
  const lines = [
    '| contestant | median | min–max | vs ours | peak RSS |',
    '|---|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.contestant}${r.note ? ` (${r.note})` : ''} | ${fmt(r.medianMs)} | ${fmt(r.minMs)}–${fmt(r.maxMs)} | ${r.contestant === reference ? '1.0×' : `${(r.medianMs / ours).toFixed(1)}×`} | ${r.peakRssMB ? `${r.peakRssMB} MB` : 'n/a'} |`,
    ),
  ];
  return lines.join('\n');
}

const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms} ms`);

function markdown(report: {
  date: string;
  machine: ReturnType<typeof machine>;
  latencyMs: number;
  runs: number;
  results: Record<string, unknown>;
}): string {
  type Backfill = { rows: Row[]; points: number; pages: number; fields: number };
  const r = report.results as {
    bulkPurge: { rows: Row[]; requests: number; concurrency: number };
    coldPurge: { rows: Row[]; processStartMs: number; nodeStartMs: number };
    coldPurgeZero: { rows: Row[] };
    coldPurgeNodes?: NodeCold[];
    backfillNine: Backfill;
    backfill: Backfill;
    triggers: {
      triggers: number;
      distinctPolls: number;
      loadMs: number;
      perInterval: { requests: number; cpuMs: number; wallMs: number }[];
    };
  };
  const L = report.latencyMs;
  const ours = (rows: Row[]) => rows[0] as Row;
  const named = (rows: Row[], prefix: string) => rows.find((x) => x.contestant.startsWith(prefix)) as Row;
  const check = (ok: boolean) => (ok ? '✅ met' : '❌ not met');
  const x = (n: number) => `${n.toFixed(2)}×`;
  // Start-up: everything a cold purge does but the network, i.e. a cold purge at zero latency.
  const start = ours(r.coldPurgeZero.rows).medianMs;
  const b1 = ours(r.bulkPurge.rows);
  const js1 = named(r.bulkPurge.rows, 'fastly-js');
  const rounds1 = Math.ceil(r.bulkPurge.requests / r.bulkPurge.concurrency);
  const floor1 = start + rounds1 * L;
  const c2 = ours(r.coldPurge.rows);
  const f2 = named(r.coldPurge.rows, 'fastly');
  const c0 = ours(r.coldPurgeZero.rows);
  const f0 = named(r.coldPurgeZero.rows, 'fastly');
  const backfill = (b: Backfill, target: number) => {
    const o = ours(b.rows);
    const js = named(b.rows, 'fastly-js');
    const floor = start + Math.ceil(b.pages / 64) * L;
    return {
      o,
      js,
      floor,
      ratio: js.medianMs / o.medianMs,
      met: js.medianMs / o.medianMs >= target,
      rssOk: (o.peakRssMB ?? Infinity) < 150,
    };
  };
  const nine = backfill(r.backfillNine, 12);
  const full = backfill(r.backfill, 5);
  const unmet: string[] = [];
  if (js1.medianMs / b1.medianMs < 10)
    unmet.push(
      `- **Bulk purge ≥ 10× fastly-js.** The network part is one round trip (${r.bulkPurge.requests} batches, ` +
        `${r.bulkPurge.concurrency} in flight); the rest is start-up (${start} ms) and the simulator's own work on ` +
        `10,000 keys, on the same cores. fastly-js's time is its ${r.bulkPurge.requests} sequential round trips.`,
    );
  const nodes = r.coldPurgeNodes ?? [];
  // At 0 ms the target holds only if it holds in every measurement of it, on every Node.
  const cold0Met = c0.medianMs <= 0.8 * f0.medianMs && nodes.every((n) => n.oursMs <= 0.8 * n.fastlyMs);
  if (c2.medianMs > 0.8 * f2.medianMs || !cold0Met)
    unmet.push(
      `- **Cold purge ≤ 0.8× the Fastly CLI.** The Fastly CLI is a Go binary behind an npm launcher that ` +
        `runs on Node; ours runs in Node. A bare \`http.request\` script (Node's start ` +
        `and one \`node:http\` request, nothing else) takes ${nodes.map((n) => `${x(n.bareMs / n.fastlyMs)} the Fastly CLI's time on Node ${n.node}, where ours is ${x(n.oursMs / n.fastlyMs)} (${n.oursMs - n.bareMs} ms over the bare script: the bin and its code cache, argument checks, the token masker, signal handling, output)`).join('; ')}.`,
    );
  if (!nine.met || !full.met)
    unmet.push(
      `- **Backfill ratios.** Pages are decoded as bytes straight to CSV, up to 64 in flight within a 12 MB budget; ` +
        `what remains is CPU: the simulator generating and gzipping ${r.backfill.fields}-field ` +
        `points competes with our inflating and decoding for the same ${report.machine.cores} cores.`,
    );
  if (!nine.rssOk || !full.rssOk)
    unmet.push(
      `- **Peak RSS.** Inflated pages are freed by V8's collector, which runs once ~64 MB of them are ` +
        `unreferenced; a higher peak means it lagged on this machine.`,
    );
  return `# Benchmarks

Generated by \`npm run bench\` on ${report.date}. Every contestant talks to the same simulator
(a separate process on 127.0.0.1) with **${L} ms** of latency added to every API answer unless said
otherwise. Each scenario ran ${report.runs} times, contestants alternating; medians are shown. Wall times
include process start. Raw figures: \`bench/results.json\`.

Machine: ${report.machine.cpu}, ${report.machine.cores} cores, ${report.machine.memoryGB} GB RAM, Node ${report.machine.node}.
Command: \`npm run bench\`, on the Node first on \`PATH\` (\`BENCH_LATENCY_MS\`, \`BENCH_RUNS\` change latency and
repetitions; \`BENCH_EXTRA_NODES\`, comma-separated paths of other \`node\` binaries, adds their cold-purge rows).

**Floor** = start-up + the round trips the work needs. Start-up is a cold \`purge key\` at zero latency
(${start} ms: Node, our bundle, the one request to a local simulator); Node alone (\`node -e 0\`) takes
${r.coldPurge.nodeStartMs} ms and \`kestra-fastly --version\` ${r.coldPurge.processStartMs} ms.

## 1. Bulk purge of 10,000 surrogate keys

${table(r.bulkPurge.rows, b1.contestant)}

- Target ≥ 10× faster than fastly-js's sequential batches: ${(js1.medianMs / b1.medianMs).toFixed(1)}× — ${check(js1.medianMs / b1.medianMs >= 10)}.
- Floor: ${start} ms + ${rounds1} round trip (${r.bulkPurge.requests} batches of 256, ${r.bulkPurge.concurrency} in flight) × ${L} ms = ${floor1} ms; ours is ${x(b1.medianMs / floor1)} the floor.

## 2. One purge from a cold process

At ${L} ms:

${table(r.coldPurge.rows, c2.contestant)}

At 0 ms:

${table(r.coldPurgeZero.rows, c0.contestant)}

- Target ≤ 0.8× the Fastly CLI's time at ${L} ms: ${x(c2.medianMs / f2.medianMs)} — ${check(c2.medianMs <= 0.8 * f2.medianMs)}.
- Target ≤ 0.8× the Fastly CLI's time at 0 ms: ${x(c0.medianMs / f0.medianMs)}${nodes.length ? ` here, ${nodes.map((n) => `${x(n.oursMs / n.fastlyMs)} on ${n.node}`).join(', ')} below` : ''} — ${check(cold0Met)}.
- Floor at ${L} ms: ${start} + ${L} = ${start + L} ms; ours is ${x(c2.medianMs / (start + L))} the floor. The Fastly CLI makes two
  sequential requests (an OIDC discovery, then the purge).
${
  nodes.length
    ? `
At 0 ms on each Node (the Fastly CLI's npm launcher runs on the same one); \`bare http.request\` is
\`bench/contestants/bare-purge.cjs\`, Node's start and one \`node:http\` request, nothing else: what
a minimal Node CLI on \`node:http\` costs. Ours sends its one request on a socket of its own
(\`OneShotTransport\`), which spares the loading and first run of \`node:http\`:

| Node | \`node -e 0\` | bare http.request | kestra-fastly purge key | fastly service purge --key | ours ÷ Fastly CLI | bare ÷ Fastly CLI |
|---|---:|---:|---:|---:|---:|---:|
${nodes.map((n) => `| ${n.node} | ${n.nodeStartMs} ms | ${n.bareMs} ms | ${n.oursMs} ms | ${n.fastlyMs} ms | ${x(n.oursMs / n.fastlyMs)} | ${x(n.bareMs / n.fastlyMs)} |`).join('\n')}
`
    : ''
}
## 3. 35 days of minute stats for one service, to CSV (${r.backfill.pages} pages, ${r.backfill.points.toLocaleString('en')} points)

${r.backfillNine.fields}-field points (\`simulator --point-fields\`):

${table(r.backfillNine.rows, nine.o.contestant)}

The simulator's full ${r.backfill.fields}-field points:

${table(r.backfill.rows, full.o.contestant)}

- Target ≥ 12× faster than fastly-js on ${r.backfillNine.fields}-field points: ${nine.ratio.toFixed(1)}× — ${check(nine.met)}.
- Target ≥ 5× faster than fastly-js on full points: ${full.ratio.toFixed(1)}× — ${check(full.met)}.
- Target peak RSS under 150 MB, no re-launched process: ${nine.o.peakRssMB ?? 'n/a'} MB and ${full.o.peakRssMB ?? 'n/a'} MB, one process — ${check(nine.rssOk && full.rssOk)}.
- Floor (network): ${start} ms + ⌈${r.backfill.pages} / 64⌉ round trips × ${L} ms = ${nine.floor} ms; ours is ${x(nine.o.medianMs / nine.floor)} (${r.backfillNine.fields} fields)
  and ${x(full.o.medianMs / full.floor)} (full) the floor: the rest is decoding and, on full points, the simulator's CPU.

${unmet.length ? `## Targets not met: why\n\n${unmet.join('\n')}\n` : '## All targets met\n'}
## 4. Trigger server: ${r.triggers.triggers} StatsTriggers over 50 services and 4 fields, interval PT1M

| interval | API requests | CPU time | wall time |
|---:|---:|---:|---:|
${r.triggers.perInterval.map((p, i) => `| ${i + 1} | ${p.requests} | ${p.cpuMs} ms | ${p.wallMs} ms |`).join('\n')}

- Target one request per distinct poll (${r.triggers.distinctPolls}): ${check(r.triggers.perInterval.every((p) => p.requests === r.triggers.distinctPolls))}.
- Loading and validating the ${r.triggers.triggers} flows took ${r.triggers.loadMs} ms.
${byHand()}`;
}

/** Figures measured by hand (bench/by-hand.md), kept when the measured sections are rewritten. */
function byHand(): string {
  const file = join(BENCH, 'by-hand.md');
  return existsSync(file) ? `\n${readFileSync(file, 'utf8')}` : '';
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
