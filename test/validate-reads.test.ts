import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { runFlow } from '../src/flow/executor.js';
import { templateReads } from '../src/flow/expressions.js';
import { FlowError, parseFlow } from '../src/flow/load.js';

/** A flow with one input `x`, variables `svc.name` and `list`, a task `first`, then a Log of `message`. */
const flow = (message: string, extra = '') => `id: f
namespace: company.test
inputs:
  - id: x
    type: STRING
    defaults: a
variables:
  svc:
    name: edge
  list: [1, 2]
  later: "{{ flow.id }}"
tasks:
  - id: first
    type: io.kestra.plugin.core.output.OutputValues
    values:
      v: one
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: ${JSON.stringify(message)}
${extra}`;

/** The problems validate (and run, before its first task) reports, or [] for a valid flow. */
function problems(text: string): string[] {
  try {
    parseFlow(text, 'f.yml');
    return [];
  } catch (err) {
    if (!(err instanceof FlowError)) throw err;
    return err.message.split('\n');
  }
}

test('validate refuses a misspelled root variable, naming it and what is defined', () => {
  for (const [template, name] of [
    ['{{ inptus.x }}', 'inptus'],
    ['{{ var.nope }}', 'var'],
    ['{{ nope }}', 'nope'],
    ['{{ inputs.x ~ vars.svc.name ~ outpust.first }}', 'outpust'],
  ] as const) {
    const [p, ...rest] = problems(flow(template));
    assert.equal(rest.length, 0, template);
    assert.match(
      p ?? '',
      new RegExp(
        `^f\\.yml:19:\\d+: tasks\\[1\\]\\.message: .* uses '${name}', which is not defined here; defined: flow, execution, inputs, outputs, labels, envs, vars, task, taskrun$`,
      ),
    );
  }
  // taskrun.value and parent(s) are defined inside a ForEach only, as run defines them.
  assert.match(
    problems(flow('{{ taskrun.value }}'))[0] ?? '',
    /uses taskrun\.value, which is defined only inside a ForEach/,
  );
  assert.match(
    problems(flow('{{ parent.taskrun.value }}'))[0] ?? '',
    /uses 'parent', which is not defined here \(only inside a ForEach\)/,
  );
  assert.deepEqual(problems(flow('{{ taskrun.id }} {{ taskrun.startDate }}')), []);
  assert.deepEqual(
    problems(
      flow(
        'ok',
        `  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b"]
    tasks:
      - id: inner
        type: io.kestra.plugin.core.log.Log
        message: "{{ taskrun.value }} {{ parent.taskrun ?? 'top' }} {{ parents | length }}"
`,
      ),
    ),
    [],
  );
});

test('validate refuses a missing nested key of a literal variables value, naming the keys it has', () => {
  assert.match(
    problems(flow('{{ vars.svc.nope }}'))[0] ?? '',
    /tasks\[1\]\.message: "\{\{ vars\.svc\.nope \}\}" uses vars\.svc\.nope, which the flow's variables do not define; vars\.svc has: name$/,
  );
  assert.match(
    problems(flow("{{ vars['nope'] }}"))[0] ?? '',
    /uses vars\.nope, which the flow's variables do not define; its variables: svc, list, later$/,
  );
  // A value rendered at run time, a list index: not known before the run, so not refused.
  assert.deepEqual(problems(flow('{{ vars.later.anything }} {{ vars.list[0] }} {{ vars.svc.name }}')), []);
});

test('a guard in the template makes a read optional: is defined, is not defined, ??, default, is null, is empty', () => {
  for (const template of [
    '{% if vars.nope is defined %}{{ vars.nope }}{% endif %}',
    '{% if vars.nope is not defined %}none{% else %}{{ vars.nope.deeper }}{% endif %}',
    "{{ vars.svc.nope ?? 'x' }}",
    "{{ inputs.y | default('x') }}",
    '{{ outputs.later is null ? 1 : outputs.later.value }}',
    "{{ vars.nope is empty ? 'none' : vars.nope }}",
    "{{ inptus.x ??? 'x' }}",
  ]) {
    assert.deepEqual(problems(flow(template)), [], template);
  }
  // The guard covers only what it names, where it holds: another read, or the same one outside
  // the guard, is still refused.
  assert.match(
    problems(flow("{{ var.svc }} {{ var.svc ?? 'd' }}"))[0] ?? '',
    /uses 'var', which is not defined here/,
  );
  assert.match(
    problems(flow('{% if vars.nope is defined %}{% endif %}{{ vars.nope }}'))[0] ?? '',
    /uses vars\.nope, which the flow's variables do not define/,
  );
  assert.match(
    problems(flow("{{ inputs.y ?? 'x' }} {{ inputs.z }}"))[0] ?? '',
    /uses input 'z', which the flow does not declare; it declares: x$/,
  );
  assert.match(
    problems(flow('{% if vars.a is defined %}{{ vars.b }}{% endif %}'))[0] ?? '',
    /uses vars\.b, which the flow's variables do not define/,
  );
});

test('reads come from the AST: loop, set and macro names are local, keys from literals only', () => {
  const paths = (t: string) => templateReads(t).map((r) => `${r.path.join('.')}${r.guarded ? '?' : ''}`);
  assert.deepEqual(paths('{% for s in vars.list %}{{ s.a }}{{ loop.index }}{% endfor %}{{ s }}'), [
    'vars.list',
    's',
  ]);
  assert.deepEqual(paths('{% set n = inputs.x %}{{ n.y }}'), ['inputs.x']);
  assert.deepEqual(paths('{% macro m(a) %}{{ a.b }}{{ vars.c }}{% endmacro %}{{ m(1) }}'), ['vars.c']);
  assert.deepEqual(paths("{{ outputs[inputs.id].value }} {{ vars['a'].b }}"), [
    'outputs',
    'inputs.id',
    'vars.a.b',
  ]);
  assert.deepEqual(paths('{{ inputs.a ?? inputs.b }} {{ inputs.a.c | default(1) | upper }}'), [
    'inputs.a?',
    'inputs.b',
    'inputs.a.c?',
  ]);
});

// Validation and run agree: for any template built from these reads and guards, the flow passes
// validation exactly when running it does not fail on an undefined variable.
const READS = [
  'inputs.x',
  'inputs.y',
  'inptus.x',
  'vars.svc.name',
  'vars.svc.nope',
  'vars.nope',
  'var.svc',
  'outputs.first.values.v',
  'outputs.nope',
  'flow.id',
  'task.id',
];
const GUARDS = [
  (r: string) => `{{ ${r} }}`,
  (r: string) => `{{ ${r} ?? 'd' }}`,
  (r: string) => `{{ ${r} | default('d') }}`,
  (r: string) => `{% if ${r} is defined %}{{ ${r} }}{% endif %}`,
  (r: string) => `{% if ${r} is not defined %}n{% else %}{{ ${r} }}{% endif %}`,
  (r: string) => `{{ ${r} is null }}`,
  (r: string) => `{{ ${r} is defined ? ${r} : 'n' }}`,
  (r: string) => `{{ ${r} is not null and ${r} != 'b' }}`,
  (r: string) => `{% if not (${r} is defined) %}n{% elseif ${r} == 'a' %}a{% endif %}`,
];

test('validate refuses a template exactly when run fails on it (any reads and guards)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.constantFrom(...READS), fc.nat(GUARDS.length - 1)), {
        minLength: 1,
        maxLength: 3,
      }),
      async (parts) => {
        const template = parts.map(([r, g]) => (GUARDS[g] as (r: string) => string)(r)).join(' ');
        await validateAgreesWithRun(template);
      },
    ),
    { numRuns: 150 },
  );
});

test("validate follows Pebble's scopes: a loop's sets end with it, a macro sees only its parameters", () => {
  // Each fails at run (ForNode's scope is popped after the loop; MacroNode pushes a local scope).
  for (const [template, message] of [
    [
      '{% for i in [1,2] %}{% set inner = i %}{% endfor %}inner={{ inner }}',
      /uses 'inner', which is not defined here/,
    ],
    [
      '{% macro m() %}{{ outer }}{% endmacro %}{% set outer = 1 %}{{ m() }}',
      /uses 'outer' inside macro 'm', which sees only its parameters and its own sets, not the template's variables; it has no parameters \(pass 'outer' as an argument\)$/,
    ],
    [
      '{% macro m(a) %}{{ a }}{{ flow.id }}{% endmacro %}{{ m(1) }}',
      /uses 'flow' inside macro 'm', .*; its parameters: a \(pass 'flow' as an argument\)$/,
    ],
    ["{% macro m(a=flow.id) %}{{ a }}{% endmacro %}{{ m('x') }}", /uses 'flow' inside macro 'm'/],
    ['{{ late }}{% set late = 1 %}', /uses 'late', which is not defined here/],
  ] as const) {
    const found = problems(flow(template));
    assert.equal(found.length, 1, `${template}: ${found.join(' | ')}`);
    assert.match(found[0] ?? '', message, template);
  }
  // Each passes at run: an outer name updated in a loop, a set seen by the next iteration, a macro
  // never called, its parameters and sets, a guarded read.
  for (const template of [
    '{% set n = 0 %}{% for i in [1,2] %}{% set n = n + i %}{% endfor %}{{ n }}',
    '{% for i in [1,2] %}{% if not loop.first %}{{ prev }}{% endif %}{% set prev = i %}{% endfor %}',
    '{% macro m() %}{{ flow.id }}{% endmacro %}ok',
    "{% macro m(a, b=a ~ 'x') %}{% set c = b %}{{ c }}{% endmacro %}{{ m(flow.id) }}",
    "{% macro m() %}{{ flow.id ?? 'none' }}{% endmacro %}{{ m() }}",
  ]) {
    assert.deepEqual(problems(flow(template)), [], template);
  }
});

// The scopes around a fragment read `s` or `i` (or a context variable), as Pebble's tags make them.
const SHAPES = [
  (f: string) => `{% for i in [1,2] %}{% set s = 'v' %}{% endfor %}${f}`,
  (f: string) => `{% set s = 'o' %}{% for i in [1,2] %}{% set s = 'v' %}{% endfor %}${f}`,
  (f: string) => `{% for i in ['a','b'] %}${f}{% endfor %}`,
  (f: string) => `{% for i in [1,2] %}{% if not loop.first %}${f}{% endif %}{% set s = 'v' %}{% endfor %}`,
  (f: string) => `${f}{% set s = 'late' %}`,
  (f: string) => `{% macro m(s) %}${f}{% endmacro %}{{ m('a') }}`,
  (f: string) => `{% macro m() %}${f}{% endmacro %}{{ m() }}`,
  (f: string) => `{% macro m() %}${f}{% endmacro %}-`,
  (f: string) => `{% set s = 'o' %}{% macro m() %}${f}{% endmacro %}{{ m() }}`,
  (f: string) => `{{ n() }}{% macro n() %}{{ m() }}{% endmacro %}{% macro m() %}${f}{% endmacro %}`,
  (f: string) => `{% macro m() %}{% set s = 'in' %}${f}{% endmacro %}{{ m() }}{{ s ?? '' }}`,
];

test('validate refuses a template exactly when run fails on it (reads inside loops and macros)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...SHAPES),
      fc.constantFrom('s', 'i', 'inputs.x', 'flow.id', 'inptus.x'),
      fc.nat(GUARDS.length - 1),
      async (shape, read, g) => {
        const template = shape((GUARDS[g] as (r: string) => string)(read));
        await validateAgreesWithRun(template);
      },
    ),
    { numRuns: 200 },
  );
});

/** `validate` refuses the template exactly when `run` fails on it (run with the static check bypassed). */
async function validateAgreesWithRun(template: string): Promise<void> {
  const refused = problems(flow(template)).length > 0;
  // What run would meet without the static check: parse with the template hidden, then run it.
  const parsed = parseFlow(flow('placeholder'), 'f.yml');
  (parsed.tasks[1] as { props: Record<string, unknown> }).props.message = template;
  const ex = await runFlow(parsed, { inputs: { x: 'a' }, write: () => {} });
  const log = ex.taskRuns.find((r) => r.taskId === 'log');
  const failed = log?.state === 'FAILED';
  assert.equal(
    refused,
    failed,
    `${template}: validate ${refused ? 'refuses' : 'accepts'}, run ${log?.error ?? 'succeeds'}`,
  );
}
