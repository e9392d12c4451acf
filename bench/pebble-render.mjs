/**
 * `node bench/pebble-render.mjs <path of a build's dist/src/flow/expressions.js> <label>`: a task of 50
 * expressions rendered 10,000 times through renderValue. Run it against this build and against a
 * build of the commit before the Pebble engine (twig.js) to compare; figures in bench/by-hand.md.
 */
// Renders a task of 50 expressions 10,000 times through renderValue (the executor's entry).
const [, , modulePath, label] = process.argv;
const { renderValue } = await import(modulePath);
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
const exprs = [
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
const task = {};
for (let i = 0; i < 50; i++) task[`p${i}`] = exprs[i % exprs.length];
const scope = { where: 'bench', secret: () => 'x' };
for (let i = 0; i < 500; i++) renderValue(task, context, scope);
const t0 = process.hrtime.bigint();
for (let i = 0; i < 10000; i++) renderValue(task, context, scope);
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(
  JSON.stringify({
    label,
    ms: Math.round(ms),
    perRenderUs: Math.round((ms * 1000) / 10000),
    node: process.version,
  }),
);
