#!/usr/bin/env node
// What `npm test`'s runner (scripts/run-tests.mjs) would take at each concurrency, from the figures
// of `node scripts/time-tests.mjs --json times.json` (each file's wall and CPU time run alone):
//   node scripts/model-run.mjs times.json [concurrency ...]
// A model, not a measure: each running file asks for the share of a core its CPU and wall times
// give (CPU / wall, at most the 2 cores); when the files running ask for more than the machine's
// cores, each goes that much slower. Files start in run-tests.mjs's order as slots free up.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const [input, ...levels] = process.argv.slice(2);
if (!input) {
  console.error('usage: node scripts/model-run.mjs times.json [concurrency ...]');
  process.exit(2);
}
const cores = availableParallelism();
/** @type {{ file: string, wall: number, cpu: number }[]} */
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- time-tests.mjs's own rows
const rows = JSON.parse(readFileSync(input, 'utf8'));
const runner = readFileSync(new URL('run-tests.mjs', import.meta.url), 'utf8');
const order = [...(/LONGEST_FIRST = \[([\s\S]*?)\]/.exec(runner)?.[1] ?? '').matchAll(/'([\w-]+)'/g)].map(
  (m) => m[1],
);
/** @param {string} file */
const rank = (file) => {
  const i = order.indexOf(file.replace(/\.test\.js$/, ''));
  return i < 0 ? order.length : i;
};
const files = [...rows].sort((a, b) => rank(a.file) - rank(b.file) || a.file.localeCompare(b.file));

/** @param {number} concurrency */
function model(concurrency) {
  const queue = [...files];
  /** @type {{ demand: number, left: number }[]} */
  const running = [];
  const step = 0.05;
  let t = 0;
  let busy = 0;
  while (queue.length || running.length) {
    while (running.length < concurrency && queue.length) {
      const f = /** @type {{ wall: number, cpu: number }} */ (queue.shift());
      running.push({ demand: Math.min(cores, f.cpu / Math.max(f.wall, step)), left: f.wall });
    }
    const demand = running.reduce((s, r) => s + r.demand, 0);
    const speed = demand > cores ? cores / demand : 1;
    busy += Math.min(cores, demand) * step;
    for (const r of running) r.left -= speed * step;
    for (let i = running.length - 1; i >= 0; i--) if ((running[i]?.left ?? 0) <= 0) running.splice(i, 1);
    t += step;
  }
  return { t, use: busy / (cores * t) };
}

const sum = (/** @type {'wall' | 'cpu'} */ k) => rows.reduce((s, r) => s + r[k], 0);
console.log(
  `${rows.length} files: ${sum('cpu').toFixed(0)} s of CPU, ${sum('wall').toFixed(0)} s of wall time, ${cores} cores`,
);
for (const c of levels.length ? levels.map(Number) : [3, 4, 5, 6]) {
  const { t, use } = model(c);
  console.log(`${c} at a time: ${t.toFixed(0)} s, the cores ${(use * 100).toFixed(0)}% busy`);
}
