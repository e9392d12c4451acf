/**
 * `node dist/bench/pebble-render.js [path of another build's dist/src/flow/expressions.js]`: a task
 * of 50 expressions rendered 10,000 times through `renderValue` (the executor's entry), on this
 * build and, given a path, on that build too (e.g. main before the Pebble engine, on twig.js).
 * Figures: bench/by-hand.md, section 6.
 */
import { pathToFileURL } from 'node:url';

type RenderValue = (
  value: unknown,
  context: Record<string, unknown>,
  scope: { where: string; secret: (n: string) => string },
) => unknown;

const context = {
  inputs: { keys: ['article-1', 'article-2', 'article-3'], service: 'svc-1', region: 'europe', n: 42 },
  vars: { name: 'fastly', prefix: 'cms', threshold: 0.05 },
  outputs: {
    purge: { id: 'abc-123', status: 'ok', purgeIds: ['p1', 'p2'] },
    stats: {
      data: [
        { requests: 1200, errors: 7 },
        { requests: 800, errors: 2 },
      ],
    },
  },
  execution: { id: 'exec-1', startDate: '2026-11-01T00:00:00.000Z' },
  flow: { id: 'f', namespace: 'company.team' },
};
const EXPRESSIONS = [
  '{{ inputs.service }}',
  'purge {{ inputs.keys | join(",") }}',
  '{{ vars.name | upper }}',
  '{{ outputs.purge.id }}',
  '{{ outputs.stats.data[0].requests }}',
  '{{ outputs.stats.data | length }}',
  '{{ inputs.n + 1 }}',
  '{{ inputs.n * 2 }}',
  '{{ vars.prefix ~ "-" ~ inputs.service }}',
  '{{ inputs.region | default("global") }}',
  '{{ flow.namespace }}/{{ flow.id }}',
  '{{ execution.id }}',
  '{{ outputs.purge.status == "ok" ? "done" : "failed" }}',
  '{{ inputs.keys | first }}',
  '{{ inputs.keys | last }}',
  '{{ vars.name | capitalize }}',
  '{{ vars.name | title }}',
  '{{ inputs.service | replace({"svc": "service"}) }}',
  '{{ outputs.purge.purgeIds | join(" ") }}',
  '{{ inputs.keys[1] }}',
];
const task = Object.fromEntries(
  Array.from({ length: 50 }, (_, i) => [`p${i}`, EXPRESSIONS[i % EXPRESSIONS.length]]),
);
const scope = { where: 'bench', secret: () => 'x' };

function measure(renderValue: RenderValue): number {
  for (let i = 0; i < 500; i++) renderValue(task, context, scope);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 10_000; i++) renderValue(task, context, scope);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const ours = (await import('../src/flow/expressions.js')) as { renderValue: RenderValue };
const rows: [string, number][] = [['this build (src/pebble)', measure(ours.renderValue)]];
const other = process.argv[2];
if (other) {
  const theirs = (await import(pathToFileURL(other).href)) as { renderValue: RenderValue };
  rows.push([other, measure(theirs.renderValue)]);
}
for (const [label, ms] of rows)
  console.log(
    `${label}: 10,000 renders in ${(ms / 1000).toFixed(2)} s (${((ms * 1000) / 10_000).toFixed(0)} µs each), ${process.version}`,
  );
