import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runFlow } from '../src/flow/executor.js';
import { FlowError, parseFlow } from '../src/flow/load.js';
import { Masker } from '../src/masker.js';
import { viewOfRun } from '../src/flow/view.js';
import { runCli } from './helpers.js';

// Kestra's flow-level `outputs` (≥ 0.15, io.kestra.core.models.flows.Output: id, type, value):
// validated with the flow, rendered when the execution ends (ExecutorService.onEnd), converted to
// their type (FlowInputOutput.typedOutputs), kept in the execution's `outputs`; each task's outputs
// stay in its task run.

const flow = (outputs: string) => `id: outs
namespace: company.ops
inputs:
  - id: n
    type: STRING
    defaults: "3"
tasks:
  - id: out
    type: io.kestra.plugin.core.output.OutputValues
    values:
      count: "{{ inputs.n }}"
      keys: ["a", "b"]
outputs:
${outputs}`;

const problems = (text: string): string[] => {
  try {
    parseFlow(text, 'outs.yml');
  } catch (err) {
    if (err instanceof FlowError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
};

test('flow outputs are validated with the flow: type, value, unique ids, and what their expressions read', () => {
  assert.deepEqual(
    problems(flow('  - id: count\n    type: INT\n    value: "{{ outputs.out.values.count }}"\n')),
    [],
  );
  const bad = problems(
    flow(`  - id: count
    type: NUMBER
    value: 1
  - id: empty
    type: STRING
  - id: twice
    type: STRING
    value: a
  - id: twice
    type: STRING
    value: b
  - id: ghost
    type: STRING
    value: "{{ outputs.nope.value }}"
  - id: bad syntax
    type: STRING
    value: x
`),
  );
  assert.equal(bad.length, 5, bad.join('\n'));
  assert.match(bad[0] ?? '', /^outputs\[0\]\.type: /);
  assert.match(bad[1] ?? '', /^outputs\[1\]\.value: .*an output needs a value/);
  assert.match(bad[2] ?? '', /^outputs\[3\]\.id: duplicate output id 'twice'/);
  assert.match(bad[3] ?? '', /^outputs\[5\]\.id: got "bad syntax"; expected an id matching/);
  assert.match(bad[4] ?? '', /^outputs\[4\]\.value: .*uses outputs\.nope, but the flow has no task 'nope'/);
  // Not a list: refused, not ignored.
  assert.equal(
    problems(flow('  count: 1\n').replace('outputs:\n  count: 1', 'outputs: {count: 1}')).length,
    1,
  );
});

test('flow outputs are rendered at the end, typed, in the execution’s outputs; task outputs stay in their task runs', async () => {
  const f = parseFlow(
    flow(`  - id: count
    type: INT
    value: "{{ outputs.out.values.count }}"
  - id: keys
    type: JSON
    value: "{{ outputs.out.values.keys }}"
  - id: summary
    type: STRING
    value: "{{ outputs.out.values.count }} keys, token {{ secret('TOKEN') }}"
`),
    'outs.yml',
  );
  const ex = await runFlow(f, {
    inputs: { n: '3' },
    env: { TOKEN: 'tok-flow-outputs-1' },
    masker: new Masker(),
    write: () => {},
  });
  assert.equal(ex.state, 'SUCCESS');
  assert.deepEqual(ex.flowOutputs, { count: 3, keys: ['a', 'b'], summary: '3 keys, token ******' });
  const view = viewOfRun(ex);
  assert.deepEqual(view.outputs, ex.flowOutputs);
  assert.deepEqual(view.taskRunList?.[0]?.outputs, { values: { count: '3', keys: ['a', 'b'] } });
});

test('a flow output that cannot be rendered or converted fails the execution, as Kestra: "Failed to render output values"', async () => {
  for (const outputs of [
    '  - id: count\n    type: INT\n    value: "{{ outputs.out.values.keys | join(\',\') }}"\n',
    '  - id: missing\n    type: STRING\n    value: "{{ outputs.out.values.nothing.here }}"\n',
  ]) {
    const lines: string[] = [];
    const ex = await runFlow(parseFlow(flow(outputs), 'outs.yml'), {
      inputs: { n: '3' },
      masker: new Masker(),
      write: (l) => lines.push(l),
    });
    assert.equal(ex.state, 'FAILED', outputs);
    assert.equal(ex.flowOutputs, undefined);
    assert.equal(ex.taskRuns[0]?.state, 'SUCCESS', 'the task itself succeeded');
    assert.match(lines.join('\n'), /Failed to render output values: /);
  }
});

test('`run` prints the flow outputs after its task runs, secrets masked; `run --json` has them as the execution outputs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-flow-outputs-'));
  const file = join(dir, 'outs.yml');
  await writeFile(
    file,
    flow(`  - id: count
    type: INT
    value: "{{ outputs.out.values.count }}"
  - id: summary
    type: STRING
    value: "{{ outputs.out.values.count }} keys, token {{ secret('TOKEN') }}"
`),
  );
  const env = { SECRET_TOKEN: Buffer.from('tok-flow-outputs-2').toString('base64') };
  const human = await runCli(['run', file], env);
  assert.equal(human.code, 0, human.stderr);
  const lines = human.stdout.trimEnd().split('\n');
  assert.deepEqual(lines.slice(-3), ['outputs:', '  count: 3', '  summary: "3 keys, token ******"']);
  assert.ok(lines.indexOf('outputs:') > lines.findIndex((l) => l.startsWith('  out ')), human.stdout);
  assert.doesNotMatch(human.stdout, /tok-flow-outputs-2/);
  const json = await runCli(['run', file, '--json'], env);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual((JSON.parse(json.stdout) as { outputs: unknown }).outputs, {
    count: 3,
    summary: '3 keys, token ******',
  });
});
