#!/usr/bin/env node
// `npm test`'s runner: every dist/test/*.test.js through node:test, the longest files started first.
// `node --test` sorts its files by name, so readme.test.js (a minute or more: the README's every
// command, an npm install among them) started three quarters of the way through and ran alone at the
// end. Started first, the long files overlap the short ones. The list is from
// `node scripts/time-tests.mjs` (wall time of each file run alone, those of 5 s or more); a file not
// in it runs after these, in name order.
// 5 at a time (`npm test`): the files' CPU time run alone sums to ~345 s and their wall time to ~630
// s; 3 at a time left the 2 cores idle a fifth of the run (scripts/model-run.mjs on those figures:
// 218 s at 3, 185 s at 4, 176 s at 5, 173 s at 6), and more files at once only add load.
// Run as `node --unhandled-rejections=strict --single-threaded-gc --import
// ./scripts/harness-hook-without-promises.mjs scripts/run-tests.mjs [concurrency]` (that file says why):
// node:test gives each test file's process this process's Node options. With five files on two cores
// the cores are always busy, and V8's GC helper threads only add their synchronisation: single-threaded,
// three heavy files (burst, executions-api, stats) took 5-7 % less CPU, three runs each way.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';

const LONGEST_FIRST = [
  'server',
  'store',
  'burst',
  'readme',
  'faults',
  'resume-server',
  'chaos',
  'coalesce',
  'dashboard',
  'replicas',
  'purge-urls',
  'proxy',
  'stats-stream',
  'purge',
  'cli-pty',
  'crash',
  'cli-output',
  'http-api',
  'masker',
  'executions-api',
  'flows',
  'install',
  'server-interrupt',
  'cli-task',
  'state-lock',
  'cli-purge',
  'stats',
  'schedule',
  'kestra-sdk',
  'report',
  'sim-stats',
  'cli-stats',
  'history-size',
  'purge-fast',
  'cold-path',
  'server-start',
  'transcode',
  'conformance',
  'pack',
  'kestra-api',
  'schema',
  'java-examples',
  'bad-input',
];

const dir = 'dist/test';
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.test.js'))
  .map((f) => f.slice(0, -'.test.js'.length))
  .sort();
const long = LONGEST_FIRST.filter((n) => names.includes(n));
const short = names.filter((n) => !LONGEST_FIRST.includes(n));
// The short files run in BATCHES processes, not one each: a process of its own cost a short file more
// CPU than its tests (Node's start alone is 0.13 s here, then the modules every file loads). 21 of
// them, each run alone: 16.7 s of CPU; the same 21 in one process: 5.8 s. A batch imports its files
// one after another; node:test runs their tests in that order, each file's as it would alone, and a
// failure names the test and its file. `node --test dist/test/x.test.js` still runs one file alone.
const BATCHES = 6;
const batchDir = join(dir, 'batches');
rmSync(batchDir, { recursive: true, force: true });
mkdirSync(batchDir);
const batches = Array.from({ length: Math.min(BATCHES, short.length) }, (_, i) =>
  short.filter((_, j) => j % BATCHES === i),
).map((batch, i) => {
  const file = join(batchDir, `${i + 1}.js`);
  writeFileSync(file, batch.map((n) => `await import('../${n}.test.js');\n`).join(''));
  return file;
});
const files = [...long.map((n) => `${dir}/${n}.test.js`), ...batches];
const concurrency = Number(process.argv[2] ?? Math.max(availableParallelism() - 1, 1));

// A young generation of 16 MB for every test process and the CLIs and servers they start with this
// environment: the suite allocates much and keeps little (stats pages, 10,000-URL runs), and with
// V8's default scavenges took ~12 % of its CPU. The ten heaviest files, each run alone: 85.3 s of
// CPU, 78.3 s with it. The product's own defaults are left as they are.
process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, '--max-semi-space-size=16'].filter(Boolean).join(' ');
// One PostgreSQL for the run, each file's databases on it (test/support/postgres.ts): a cluster per
// file cost ~0.7 s of CPU to copy, start, stop and remove, ~10 s a run. Without PostgreSQL the files
// start their own and fail with their one line. Stopped at exit; 500 connections for five files.
// Imported from the build by a computed name, typed from its source: `npm run lint` runs on a clone
// that has not been built, where a static import of dist/ has no type. The rule cannot see a JSDoc
// cast (ESTree drops its parentheses); TypeScript reads it, so the names below are typed.
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment
const { SHARED_POSTGRES_ENV, startPostgres } = /** @type {typeof import('../test/support/postgres.js')} */ (
  await import(new URL('../dist/test/support/postgres.js', import.meta.url).href)
);
try {
  const cluster = await startPostgres({ maxConnections: 500 });
  process.env[SHARED_POSTGRES_ENV] = JSON.stringify({ port: cluster.port, dir: cluster.dir });
  process.once('SIGINT', () => {
    cluster.stop();
    process.exit(130);
  });
} catch {
  // Each PostgreSQL test file reports it.
}
const stream = run({ files, concurrency });
stream.on('test:fail', () => {
  process.exitCode = 1;
});
// As `node --test` reports: spec on a terminal, TAP otherwise.
/** @type {import('node:stream').Readable} */
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- compose() is untyped in @types/node 20
const report = process.stdout.isTTY ? stream.compose(new spec()) : stream.compose(tap);
report.pipe(process.stdout);
