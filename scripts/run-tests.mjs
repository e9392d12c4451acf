#!/usr/bin/env node
// `npm test`'s runner: every dist/test/*.test.js through node:test, the longest files started first.
// `node --test` sorts its files by name, so readme.test.js (a minute or more: the README's every
// command, an npm install among them) started three quarters of the way through and ran alone at the
// end. Started first, it overlaps the short files. The list is from `node scripts/time-tests.mjs`
// (wall time of each file run alone); a file not in it runs after these, in name order.
// Run as `node --unhandled-rejections=strict scripts/run-tests.mjs [concurrency]`: node:test gives
// each test file's process this process's Node options.
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';

const LONGEST_FIRST = [
  'readme',
  'proxy',
  'chaos',
  'cli-pty',
  'store',
  'stats',
  'report',
  'burst',
  'purge-urls',
  'cli-stats',
  'replicas',
  'crash',
  'cli-task',
  'dashboard',
  'stats-stream',
  'cli-purge',
  'resume-server',
  'install',
  'server',
  'coalesce',
  'faults',
  'conformance',
];

const dir = 'dist/test';
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.test.js'))
  .map((f) => f.slice(0, -'.test.js'.length))
  .sort();
/** @param {string} name */
const rank = (name) => {
  const i = LONGEST_FIRST.indexOf(name);
  return i < 0 ? LONGEST_FIRST.length : i;
};
const files = names.sort((a, b) => rank(a) - rank(b)).map((n) => `${dir}/${n}.test.js`);
const concurrency = Number(process.argv[2] ?? Math.max(availableParallelism() - 1, 1));

const stream = run({ files, concurrency });
stream.on('test:fail', () => {
  process.exitCode = 1;
});
// As `node --test` reports: spec on a terminal, TAP otherwise.
/** @type {import('node:stream').Readable} */
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- compose() is untyped in @types/node 20
const report = process.stdout.isTTY ? stream.compose(new spec()) : stream.compose(tap);
report.pipe(process.stdout);
