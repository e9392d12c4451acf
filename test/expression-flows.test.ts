import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runFlow } from '../src/flow/executor.js';
import { renderString, templateProblem } from '../src/flow/expressions.js';
import { resolveInputs } from '../src/flow/inputs.js';
import { parseFlow } from '../src/flow/load.js';
import { viewOfRun } from '../src/flow/view.js';
import { Masker } from '../src/masker.js';
import { javaInteger } from '../src/pebble/index.js';
import { sim } from './helpers.js';

/** What a new user found in Kestra expressions, rendered through the flow layer as `run` does. */

const TOKEN = "s3cr3t tok'en/Abc+xyz=Q";

function flow(tasks: string, extra = ''): string {
  return `id: f\nnamespace: company.test\n${extra}tasks:\n${tasks}`;
}

async function run(yaml: string, inputs: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  const lines: string[] = [];
  const ex = await runFlow(parseFlow(yaml, 'inline.yml'), {
    inputs,
    env: { MY_TOKEN: TOKEN, ...env },
    masker: new Masker(),
    logLevel: 'DEBUG',
    write: (l) => lines.push(l),
  });
  return { ex, log: lines.join('\n'), shown: JSON.stringify(ex) + lines.join('\n') };
}

const DERIVED: [string, string][] = [
  ['urlencode', 'urlencode'],
  ["escapeChar('single')", "escapeChar('single')"],
  ['reverse', 'reverse'],
  ["split('') | join(' ')", "split('') | join(' ')"],
  ['abbreviate(12)', 'abbreviate(12)'],
  ["split('/') | first", "split('/') | first"],
  ['base64encode | reverse', 'base64encode | reverse'],
];

for (const [name, filters] of DERIVED) {
  test(`secrets: {{ secret('MY_TOKEN') | ${name} }} is masked in the log and the outputs`, async () => {
    // What each filter gives, computed by the engine from a non-secret copy of the value.
    const { ex: plain } = await run(
      flow(
        `  - id: out
    type: io.kestra.plugin.core.output.OutputValues
    values:
      v: "{{ inputs.plain | ${filters} }}"
`,
        'inputs:\n  - id: plain\n    type: STRING\n',
      ),
      { plain: TOKEN },
    );
    const clear = (plain.outputs.out as { values: { v: string } }).values.v;
    assert.equal(plain.state, 'SUCCESS');
    assert.ok(clear.length >= 4, clear);
    const { ex, log, shown } = await run(
      flow(`  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "got {{ secret('MY_TOKEN') | ${filters} }}"
  - id: out
    type: io.kestra.plugin.core.output.OutputValues
    values:
      v: "{{ secret('MY_TOKEN') | ${filters} }}"
      inText: "<{{ secret('MY_TOKEN') | ${filters} }}>"
`),
    );
    assert.equal(ex.state, 'SUCCESS');
    assert.match(log, /got \*\*\*\*\*\*/);
    assert.ok(!shown.includes(clear), `${clear} shown in ${shown}`);
    assert.deepEqual(ex.outputs.out, { values: { v: '******', inText: '<******>' } });
  });
}

test('secrets: a derived fragment shorter than 4 characters is not masked everywhere', async () => {
  const { ex, log } = await run(
    flow(`  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "first={{ secret('MY_TOKEN') | first }} letters={{ secret('MY_TOKEN') | split('') | length }} stays readable"
`),
  );
  assert.equal(ex.state, 'SUCCESS');
  // 's' and the single letters of split('') are not secrets: the line keeps its other 's' letters.
  assert.match(log, /first=s letters=23 stays readable/);
});

test('secrets: a list split from a secret stays secret when joined in a later task', async () => {
  const { ex, shown } = await run(
    flow(`  - id: parts
    type: io.kestra.plugin.core.output.OutputValues
    values:
      chars: "{{ secret('MY_TOKEN') | split('') }}"
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.parts.values.chars | join('-') }}"
`),
  );
  assert.equal(ex.state, 'SUCCESS');
  assert.ok(!shown.includes([...TOKEN].join('-')), shown);
});

test('secrets: a value that merely sits beside a secret in a map is not made a secret', async () => {
  const { ex, log } = await run(
    flow(`  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "region={{ {'token': secret('MY_TOKEN'), 'region': 'europe'} | jq('.region') | first }}"
`),
  );
  assert.equal(ex.state, 'SUCCESS');
  assert.match(log, /region=europe/);
});

test('a string property that is one expression is text: maps and lists as JSON, null as nothing', async (t) => {
  const s = await sim(t, { faults: { latencyMs: 100, latencyJitterMs: 100 } });
  const { ex, log } = await run(
    flow(
      `  - id: cfg
    type: io.kestra.plugin.core.log.Log
    message: "{{ inputs.cfg }}"
  - id: nothing
    type: io.kestra.plugin.core.log.Log
    message: "{{ null }}"
  - id: ids
    type: io.kestra.plugin.core.log.Log
    message: "{{ inputs.ids }}"
  - id: listed
    type: io.kestra.plugin.core.log.Log
    message:
      - "{{ inputs.ids }}"
      - "two"
  - id: purge
    type: io.kestra.plugin.fastly.purge.Keys
    apiToken: tok
    serviceId: SU1Z0isxPaozGVKXdv0eY
    surrogateKeys: "{{ inputs.ids }}"
`,
      'inputs:\n  - id: cfg\n    type: JSON\n  - id: ids\n    type: ARRAY\n    itemType: STRING\n',
    ),
    { cfg: { k: 1 }, ids: ['a', 'b'] },
    { FASTLY_API_ENDPOINT: s.url },
  );
  const lines = log.split('\n');
  const of = (task: string) => lines.filter((l) => l.includes(` ${task} `) || l.includes(`[${task}]`));
  assert.ok(of('cfg').length, log);
  assert.equal(of('cfg').length, 1);
  assert.match(of('cfg')[0] ?? '', /\{"k":1\}$/);
  assert.equal(of('nothing').length, 1);
  assert.equal(of('ids').length, 1);
  assert.match(of('ids')[0] ?? '', /\["a","b"\]$/);
  assert.deepEqual(
    of('listed').map((l) => l.replace(/^.*listed\S*\s*/, '')),
    ['["a","b"]', 'two'],
  );
  // A property typed as a list still takes the list: purge.Keys purged two keys.
  assert.deepEqual(
    ex.taskRuns.map((r) => [r.taskId, r.state]),
    [
      ['cfg', 'SUCCESS'],
      ['nothing', 'SUCCESS'],
      ['ids', 'SUCCESS'],
      ['listed', 'SUCCESS'],
      ['purge', 'SUCCESS'],
    ],
  );
  assert.equal((ex.outputs.purge as { purged: number }).purged, 2);
});

const INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

test("Kestra's Log @Example: {{ task.id }} > {{ taskrun.startDate }} runs (core/.../log/Log.java)", async () => {
  // kestra-io/kestra core/src/main/java/io/kestra/plugin/core/log/Log.java, first @Example, in a flow.
  const { ex, log } = await run(
    flow(`  - id: log
    type: io.kestra.plugin.core.log.Log
    level: DEBUG
    message: "{{ task.id }} > {{ taskrun.startDate }}"
`),
  );
  assert.equal(ex.state, 'SUCCESS', log);
  const shown = /log > (\S+)/.exec(log)?.[1] ?? '';
  assert.match(shown, INSTANT);
  assert.equal(shown.slice(0, 23), ex.taskRuns[0]?.startDate.slice(0, 23));
});

test("Kestra's Log and OutputValues full @Example flows run as they are", async () => {
  // kestra-io/kestra core/src/main/java/io/kestra/plugin/core/log/Log.java, second @Example.
  const hello = await run(`id: hello_world
namespace: company.team

tasks:
  - id: greeting
    type: io.kestra.plugin.core.log.Log
    message:
      - Kestra team wishes you a great day 👋
      - If you need some help, reach out via Slack`);
  assert.equal(hello.ex.state, 'SUCCESS');
  assert.match(
    hello.log,
    /Kestra team wishes you a great day 👋[\s\S]*If you need some help, reach out via Slack/,
  );
  // kestra-io/kestra core/src/main/java/io/kestra/plugin/core/output/OutputValues.java, its @Example.
  const { ex, log } = await run(`id: outputs_flow
namespace: company.team

tasks:
  - id: output_values
    type: io.kestra.plugin.core.output.OutputValues
    values:
      taskrun_data: "{{ task.id }} > {{ taskrun.startDate }}"
      execution_data: "{{ flow.id }} > {{ execution.startDate }}"
      number_value: 42
      array_value: ["{{ task.id }}", "{{ flow.id }}", "static value"]
      nested_object:
        key1: "value1"
        key2: "{{ execution.id }}"

  - id: log_values
    type: io.kestra.plugin.core.log.Log
    message: |
      Got the following outputs from the previous task:
      {{ outputs.output_values.values.taskrun_data }}
      {{ outputs.output_values.values.execution_data }}`);
  assert.equal(ex.state, 'SUCCESS', log);
  const values = (ex.outputs.output_values as { values: Record<string, unknown> }).values;
  const [taskId, taskStart] = String(values.taskrun_data).split(' > ');
  const [flowId, execStart] = String(values.execution_data).split(' > ');
  assert.equal(taskId, 'output_values');
  assert.equal(flowId, 'outputs_flow');
  assert.match(taskStart ?? '', INSTANT);
  assert.match(execStart ?? '', INSTANT);
  assert.deepEqual(values.array_value, ['output_values', 'outputs_flow', 'static value']);
  assert.deepEqual(values.nested_object, { key1: 'value1', key2: ex.id });
  assert.equal(values.number_value, 42);
  assert.match(log, new RegExp(`output_values > ${taskStart}\\n?[\\s\\S]*outputs_flow > ${execStart}`));
});

test('taskrun.id, attemptsCount, parentId and value; flow.revision; execution.originalId', async () => {
  const { ex, log } = await run(
    flow(
      `  - id: retried
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ taskrun.attemptsCount < 3 }}"
    errorMessage: "attempt {{ taskrun.attemptsCount }}"
    retry:
      type: constant
      interval: PT0.001S
      maxAttempt: 4
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["x", "y"]
    tasks:
      - id: inner
        type: io.kestra.plugin.core.output.OutputValues
        values:
          me: "{{ taskrun.id }}"
          parent: "{{ taskrun.parentId }}"
          value: "{{ taskrun.value }}"
  - id: ids
    type: io.kestra.plugin.core.output.OutputValues
    values:
      me: "{{ taskrun.id }}"
      attempts: "{{ taskrun.attemptsCount }}"
      revision: "{{ flow.revision }}"
      original: "{{ execution.originalId }}"
      parent: "{{ taskrun.parentId ?? 'none' }}"
`,
    ),
  );
  assert.equal(ex.state, 'SUCCESS', log);
  // As Kestra's core/src/test/resources/flows/valids/retry-success.yaml: the 4th attempt sees 3 before it.
  assert.equal(ex.taskRuns[0]?.attempts, 4);
  assert.deepEqual(
    [...log.matchAll(/attempt \d failed, retrying in \d+ ms: (attempt \d)/g)].map((m) => m[1]),
    ['attempt 0', 'attempt 1', 'attempt 2'],
  );
  const each = ex.taskRuns.find((r) => r.taskId === 'each');
  const inner = ex.outputs.inner as Record<string, { values: Record<string, unknown> }>;
  const runs = ex.taskRuns.filter((r) => r.taskId === 'inner');
  assert.deepEqual(
    ['x', 'y'].map((v) => inner[v]?.values),
    runs.map((r) => ({ me: r.id, parent: each?.id, value: r.value })),
  );
  assert.deepEqual(
    runs.map((r) => r.value),
    ['x', 'y'],
  );
  const ids = (ex.outputs.ids as { values: Record<string, unknown> }).values;
  assert.deepEqual(ids, {
    me: ex.taskRuns.find((r) => r.taskId === 'ids')?.id,
    attempts: 0,
    // Kestra's Flow.revision is a java.lang.Integer, kept as one by OutputValues.
    revision: javaInteger(1),
    original: ex.id,
    parent: 'none',
  });
});

test('flow variables are kept raw, as Kestra stores them: vars.x is the template, render(vars.x) renders it', async () => {
  const { ex, log } = await run(
    flow(
      `  - id: out
    type: io.kestra.plugin.core.output.OutputValues
    values:
      raw: "{{ vars.tpl }}"
      rendered: "{{ render(vars.tpl) }}"
      chained: "{{ render(vars.a) }}"
`,
      'variables:\n  tpl: "hello {{ flow.id }}"\n  a: "{{ vars.b }}"\n  b: "bee"\n',
    ),
  );
  assert.equal(ex.state, 'SUCCESS', log);
  assert.deepEqual(ex.outputs.out, {
    values: { raw: 'hello {{ flow.id }}', rendered: 'hello f', chained: 'bee' },
  });
});

const scope = { where: "task 't', property 'p'", secret: () => '' };
const render = (template: string, context: Record<string, unknown> = {}) =>
  renderString(template, context, scope);

test("extra positional arguments are refused as Pebble's ArgumentsNode does; min and max take any number", () => {
  assert.throws(
    () => render("{{ 'abcdefgh' | abbreviate(5, 2, 3) }}"),
    /filter 'abbreviate': the argument at position 2 is not allowed; only 1 argument\(s\) are allowed/,
  );
  assert.equal(render("{{ 'abcdefgh' | abbreviate(5) }}"), 'ab...');
  assert.equal(render('{{ max(1, 7, 3) }}'), 7);
});

test("Kestra's named date formats short, medium, long, full and iso_week_date (AbstractDate)", () => {
  const at = (format: string) => render(`{{ '2026-12-07T03:47:15Z' | date('${format}') }}`);
  const nbsp = (s: string) => s.replace(/[\u202f\u00a0]/g, ' ');
  assert.equal(nbsp(String(at('short'))), '12/7/26, 3:47 AM');
  assert.equal(nbsp(String(at('medium'))), 'Dec 7, 2026, 3:47:15 AM');
  assert.equal(nbsp(String(at('long'))), 'December 7, 2026 at 3:47:15 AM UTC');
  assert.equal(nbsp(String(at('full'))), 'Monday, December 7, 2026 at 3:47:15 AM Coordinated Universal Time');
  assert.equal(at('iso_week_date'), '2026-W50-1Z');
  assert.equal(render("{{ '2027-01-01T00:00:00Z' | date('iso_week_date') }}"), '2026-W53-5Z');
});

test('jq errors name jq once and list what is supported the same way', () => {
  const message = (template: string) => {
    try {
      render(template, { v: { a: 1 } });
    } catch (err) {
      return (err as Error).message;
    }
    return 'no error';
  };
  const unsupported = message('{{ v | jq(\'.a | splits("x")\') }}');
  const unreadable = message("{{ v | jq('.a @ 1') }}");
  for (const m of [unsupported, unreadable]) {
    assert.doesNotMatch(m, /jq: jq:/);
    assert.match(m, /jq: /);
  }
  const supported = (m: string) => /this jq supports (.*?) at line/.exec(m)?.[1];
  assert.ok(supported(unsupported));
  assert.equal(supported(unsupported), supported(unreadable));
});

test('a range of characters, a self-rendering value and a lone closing tag', async () => {
  assert.equal(render('{% for c in "a".."c" %}{{ c }}{% endfor %}'), 'abc');
  assert.throws(() => render('x{% endfor %}'), /\{% endfor %\} without an open \{% for %\}/);
  const { ex } = await run(
    flow(
      `  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ render(vars.x) }}"
`,
      'variables:\n  x: "{{ render(vars.x) }}"\n',
    ),
  );
  assert.equal(ex.state, 'FAILED');
  assert.match(
    ex.taskRuns[0]?.error ?? '',
    /more than 64 templates rendering templates; does a value render itself\?/,
  );
  assert.doesNotMatch(ex.taskRuns[0]?.error ?? '', /call stack/);
});

test("inputs keep Kestra's numbers: a JSON input's 1.0 and a FLOAT input's 2 print as doubles, as Jackson and Float give them", async () => {
  const f = parseFlow(
    flow(
      `  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "a={{ inputs.cfg.a }} b={{ inputs.cfg.b }} ratio={{ inputs.ratio }} half={{ inputs.half }} n={{ inputs.n }} json={{ inputs.cfg | toJson }} sum={{ inputs.ratio + inputs.n }}"
`,
      'inputs:\n  - id: cfg\n    type: JSON\n  - id: ratio\n    type: FLOAT\n  - id: half\n    type: FLOAT\n    defaults: 0.5\n  - id: n\n    type: INT\n',
    ),
    'inline.yml',
  );
  // What `run --input` and the API's form fields give: text, read as Kestra reads it.
  const inputs = resolveInputs(f.inputs, { cfg: '{"a": 1.0, "b": 2, "c": [1e3]}', ratio: '2', n: '3' });
  const lines: string[] = [];
  const ex = await runFlow(f, { inputs, env: {}, write: (l) => lines.push(l) });
  assert.equal(ex.state, 'SUCCESS', lines.join('\n'));
  assert.match(
    lines.join('\n'),
    /a=1\.0 b=2 ratio=2\.0 half=0\.5 n=3 json=\{"a":1\.0,"b":2,"c":\[1000\.0\]\} sum=5\.0/,
  );
  // Printed as JSON (run --json, the API, the store), they are the same numbers.
  assert.equal(JSON.stringify(inputs), '{"cfg":{"a":1,"b":2,"c":[1000]},"ratio":2,"half":0.5,"n":3}');
});

test("inputs keep Kestra's Java classes: INT an Integer, FLOAT a Float, DATETIME an Instant printed as Instant.toString", async () => {
  // FlowInputOutput.parseType: Integer.valueOf, Float.valueOf, Instant.parse.
  const f = parseFlow(
    flow(
      `  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "n={{ inputs.n }} {{ inputs.n | className }} f={{ inputs.f }} {{ inputs.f | className }} f+1={{ inputs.f + 1 }} at={{ inputs.at }} micro={{ inputs.micro }} offset={{ inputs.offset }} day={{ inputs.at | date('yyyy-MM-dd') }}"
`,
      'inputs:\n  - id: n\n    type: INT\n  - id: f\n    type: FLOAT\n  - id: at\n    type: DATETIME\n  - id: micro\n    type: DATETIME\n  - id: offset\n    type: DATETIME\n',
    ),
    'inline.yml',
  );
  const inputs = resolveInputs(f.inputs, {
    n: '7',
    f: '1.1',
    at: '2024-01-15T10:20:30Z',
    micro: '2024-01-15T10:20:30.123456Z',
    offset: '2024-01-15T12:20:30.100+02:00',
  });
  const lines: string[] = [];
  const ex = await runFlow(f, { inputs, env: {}, write: (l) => lines.push(l) });
  assert.equal(ex.state, 'SUCCESS', lines.join('\n'));
  assert.match(
    lines.join('\n'),
    /n=7 java\.lang\.Integer f=1\.1 java\.lang\.Float f\+1=2\.1 at=2024-01-15T10:20:30Z micro=2024-01-15T10:20:30\.123456Z offset=2024-01-15T10:20:30\.100Z day=2024-01-15/,
  );
  assert.equal(JSON.stringify({ n: inputs.n, f: inputs.f }), '{"n":7,"f":1.1}');
});

test('secrets: a text that shows a derived secret among other values hides only that value', async () => {
  const { ex, log } = await run(
    flow(`  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ {'service': secret('MY_TOKEN') | slice(0, 6), 'n': 1} | yaml | indent(2) }}"
`),
  );
  assert.equal(ex.state, 'SUCCESS');
  // The slice is a secret (derived, no longer showing the whole one); the YAML around it is not.
  assert.match(log, /service: \*\*\*\*\*\*\n {2}n: 1/);
  assert.ok(!log.includes(TOKEN.slice(0, 6)), log);
});

test('validation refuses an argument name a filter or function does not take, naming those it takes', () => {
  assert.match(
    templateProblem("{{ now() | date('yyyy', timezone='UTC') }}") ?? '',
    /filter 'date' has no argument 'timezone' \(did you mean 'timeZone'\?\); its arguments: format, timeZone, existingFormat, locale/,
  );
  assert.match(
    templateProblem("{{ 'abcdef' | abbreviate(lenght=3) }}") ?? '',
    /filter 'abbreviate' has no argument 'lenght'; its arguments: length/,
  );
  assert.match(templateProblem('{{ range(1, 2, 3, 4) }}') ?? '', /only 3 argument\(s\) are allowed/);
  assert.equal(templateProblem("{{ now() | date('yyyy', timeZone='UTC', locale='fr') }}"), undefined);
});

test('validation refuses a literal time zone ZoneId.of refuses, and takes offsets and prefixed ones', () => {
  for (const zone of ['Mars/Base', 'europe/paris', '+19', 'GMT+2:00', 'UTC+']) {
    const problem = templateProblem(`{{ now() | date('yyyy', timeZone='${zone}') }}`) ?? '';
    assert.match(
      problem,
      new RegExp(
        `^unknown time zone "${zone.replace(/[+/]/g, '\\$&')}" in timeZone; expected a region id .*\\(at line 1, column \\d+ of `,
      ),
      zone,
    );
    assert.doesNotMatch(problem, /\n/);
  }
  assert.match(
    templateProblem("{{ d | dateAdd(1, 'DAYS', timeZone='Nowhere') }}") ?? '',
    /unknown time zone "Nowhere"/,
  );
  for (const zone of ['+02:00', '+2', '-0530', 'Z', 'GMT+02:00', 'UTC+2', 'UT', 'Europe/Paris', 'EST'])
    assert.equal(templateProblem(`{{ now() | date('yyyy', timeZone='${zone}') }}`), undefined, zone);
  // A zone computed at run time is left to the run.
  assert.equal(templateProblem('{{ now() | date(timeZone=inputs.zone) }}'), undefined);
});

test('validation refuses a literal jq program that cannot run, in one line naming what', () => {
  for (const [program, what] of [
    ['.a as $x | $x', /variables/],
    ['reduce .[] as $x (0; . + $x)', /'reduce' is not supported here/],
    ['.a | tostream', /'tostream' is not supported here/],
    ['.a |', /unexpected end/],
    ['.a | map(.b; .c)', /'map' takes 1 argument/],
  ] as const) {
    const problem = templateProblem(`{{ v | jq('${program}') }}`) ?? '';
    assert.match(problem, what, program);
    assert.doesNotMatch(problem, /\n/);
  }
  assert.equal(templateProblem("{{ v | jq('.a | sort_by(.n) | map({k: .n}) | .[1:] // []') }}"), undefined);
  // A program that is not a literal is checked when it runs.
  assert.equal(templateProblem('{{ v | jq(vars.program) }}'), undefined);
});

test("a template that fails while running names the flow file and the property's line", async () => {
  const { ex } = await run(
    flow(`  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ 5 | jq('.a') }}"
`),
  );
  assert.equal(ex.state, 'FAILED');
  assert.match(
    ex.taskRuns[0]?.error ?? '',
    /^inline\.yml:6:\d+: tasks\[0\]\.message: task 'log', property 'message': jq: cannot index number with "a"/,
  );
});

test('an error in a multi-line template quotes the line where it is, trimmed, not the whole template', async () => {
  const body = Array.from({ length: 30 }, (_, i) => `line ${i} of a long message`).join('\n');
  const template = `${body}\n    total: {{ 1 + }}\n${body}`;
  const problem = templateProblem(template) ?? '';
  assert.equal(
    problem,
    `cannot parse expression: unexpected '}}'; expected a value at line 31, column 19 of the template, whose line 31 is "total: {{ 1 + }}"`,
  );
  const { ex } = await run(
    flow(`  - id: log
    type: io.kestra.plugin.core.log.Log
    message: |
      first
      second {{ 10 / (2 - 2) }}
`),
  );
  const error = ex.taskRuns[0]?.error ?? '';
  assert.match(
    error,
    /division by zero in '\/' at line 2, column 14 of the template, whose line 2 is "second \{\{ 10 \/ \(2 - 2\) \}\}"/,
  );
  assert.ok(!error.includes('first'), error);
});

test('{{ labels }} holds Kestra\'s label strings (ver: 1.0 is "1.0"), the same as the execution\'s labels, in both YAML forms', async () => {
  // Was: {"ver":1.0,...}, numbers, while the execution's labels said "1.0".
  const log = `  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "labels={{ labels }} ver={{ labels.ver == '1.0' }} big={{ labels.big | length }}"
`;
  for (const labels of [
    'labels:\n  ver: 1.0\n  big: 9223372036854775807\n  n: 2\n  beta: true\n',
    'labels:\n  - key: ver\n    value: 1.0\n  - key: big\n    value: 9223372036854775807\n  - key: n\n    value: 2\n  - key: beta\n    value: true\n',
  ]) {
    const f = parseFlow(flow(log, labels), 'inline.yml');
    const lines: string[] = [];
    const ex = await runFlow(f, { inputs: {}, env: {}, write: (l) => lines.push(l) });
    assert.equal(ex.state, 'SUCCESS', lines.join('\n'));
    assert.match(
      lines.join('\n'),
      /labels=\{"ver":"1\.0","big":"9223372036854775807","n":"2","beta":"true"\} ver=true big=19/,
      labels,
    );
    assert.deepEqual(viewOfRun(ex, f.labels).labels, [
      { key: 'ver', value: '1.0' },
      { key: 'big', value: '9223372036854775807' },
      { key: 'n', value: '2' },
      { key: 'beta', value: 'true' },
    ]);
  }
});
