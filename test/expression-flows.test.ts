import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runFlow } from '../src/flow/executor.js';
import { parseFlow } from '../src/flow/load.js';
import { Masker } from '../src/masker.js';
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
