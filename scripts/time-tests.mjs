#!/usr/bin/env node
// Runs each test file alone, one after the other, and prints its wall time and CPU time (user+sys of
// the test process and every process it waited for: the CLI hosts, servers, PostgreSQL, Chromium).
// CPU time is the figure to compare between runs: the machine is shared, so wall time moves with
// everyone else's load, CPU time far less. Usage (after `npm run build`):
//   node scripts/time-tests.mjs [dist/test/a.test.js ...] [--json out.json]
// With no file, every dist/test/*.test.js. The load average is printed before and after.
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonOut = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : undefined;
const files = args.length
  ? args
  : readdirSync('dist/test')
      .filter((f) => f.endsWith('.test.js'))
      .sort()
      .map((f) => `dist/test/${f}`);

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(`load average before: ${load()}`);
/** @type {{ file: string, wall: number, cpu: number, tests: number, fail: number }[]} */
const rows = [];
for (const file of files) {
  const r = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      'TIME %e %U %S',
      process.execPath,
      '--unhandled-rejections=strict',
      '--test',
      '--test-reporter=tap',
      file,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const times = /TIME ([\d.]+) ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  /** @param {string} k */
  const count = (k) => Number(new RegExp(`^# ${k} (\\d+)`, 'm').exec(r.stdout)?.[1] ?? NaN);
  const row = {
    file: file.replace(/^.*\//, ''),
    wall: times ? Number(times[1]) : NaN,
    cpu: times ? Number(times[2]) + Number(times[3]) : NaN,
    tests: count('tests'),
    fail: count('fail'),
  };
  rows.push(row);
  console.log(
    `${row.file.padEnd(32)} ${row.wall.toFixed(1).padStart(6)} s wall ${row.cpu.toFixed(1).padStart(6)} s cpu  ${row.tests} tests${row.fail ? `, ${row.fail} FAILED` : ''}`,
  );
}
console.log(`load average after: ${load()}`);
/** @param {'wall' | 'cpu' | 'tests' | 'fail'} k */
const sum = (k) => rows.reduce((s, r) => s + r[k], 0);
console.log(
  `total: ${sum('wall').toFixed(1)} s wall, ${sum('cpu').toFixed(1)} s cpu, ${sum('tests')} tests, ${sum('fail')} failed`,
);
console.log('\nby CPU time:');
for (const r of [...rows].sort((a, b) => b.cpu - a.cpu))
  console.log(`| ${r.file} | ${r.wall.toFixed(1)} | ${r.cpu.toFixed(1)} | ${r.tests} |`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(rows, null, 2));
