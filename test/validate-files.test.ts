import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { uniqueFiles } from '../src/cli/commands/flow.js';
import { flowFiles } from '../src/flow/load.js';
import { cliHost } from './cli-host.js';

/** Every validate and run of this file in one process (cli-host.ts): 12 CLI processes before. */
const cli = cliHost();

const flow = (id: string) => `id: ${id}
namespace: company.test
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hello
`;

async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kf-validate-files-'));
  await mkdir(join(dir, 'v'));
  await mkdir(join(dir, 'empty'));
  await writeFile(join(dir, 'v', 'a.yml'), flow('a'));
  await writeFile(join(dir, 'v', 'b.yaml'), flow('b'));
  await writeFile(join(dir, 'v', 'notes.txt'), 'not a flow');
  return dir;
}

test('validate takes a folder as server does, and each file once however it is spelled', async () => {
  const dir = await folder();
  const problems: string[] = [];
  const v = join(dir, 'v');
  assert.deepEqual(
    uniqueFiles(
      [join(v, 'a.yml'), `${dir}/./v/a.yml`, `${v}/`, join(dir, 'empty'), join(v, 'none.yml')],
      flowFiles,
      problems,
    ),
    [join(v, 'a.yml'), join(v, 'b.yaml'), join(v, 'none.yml')],
  );
  assert.deepEqual(problems, [`${join(dir, 'empty')}: no flow files (*.yml, *.yaml) in this folder`]);
});

test('validate DIR FILE-again: a ✓ per flow file of the folder, no duplicate of itself', async () => {
  const dir = await folder();
  const v = join(dir, 'v');
  const r = await cli.run(['validate', v, `${dir}/./v/a.yml`, join(v, 'a.yml')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.deepEqual(r.stdout.trim().split('\n'), [
    `✓ ${join(v, 'a.yml')}: company.test.a (1 task(s), 0 trigger(s))`,
    `✓ ${join(v, 'b.yaml')}: company.test.b (1 task(s), 0 trigger(s))`,
  ]);
});

/** A flow with the given `inputs:` block and a task that logs `message`. */
const withInputs = (inputs: string, message = 'hello', top = '') => `id: d
namespace: company.test
${top}inputs:
${inputs}
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "${message}"
`;

test('validate and run refuse literal input defaults run could not convert, each at its file:line:col', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-validate-defaults-'));
  const file = join(dir, 'd.yml');
  await writeFile(
    file,
    withInputs(`  - id: a
    type: INT
    defaults: 3.0
  - id: b
    type: INT
    defaults: abc
  - id: c
    type: FLOAT
    defaults: abc
  - id: d
    type: DATETIME
    defaults: "2024-01-15"
  - id: e
    type: ARRAY
    itemType: INT
    defaults: [1, 2.0]
  - id: f
    type: SELECT
    values: [x, y]
    defaults: z
  - id: g
    type: JSON
    defaults: "{bad"
  - id: h
    type: BOOLEAN
    defaults: maybe
  - id: i
    type: INT
    defaults: "{{ 1 + 2 }}"
  - id: j
    type: ARRAY
    itemType: INT
    defaults: ["{{ 1 }}", 2.0]
  - id: k
    type: INT
    defaults: 3`),
  );
  const expected = [
    `${file}:6:15: inputs[0].defaults: 3.0 is not a valid INT input; expected a whole number from -2147483648 to 2147483647 (a Java Integer, as in Kestra)`,
    `${file}:9:15: inputs[1].defaults: "abc" is not a valid INT input; expected a whole number from -2147483648 to 2147483647 (a Java Integer, as in Kestra)`,
    `${file}:12:15: inputs[2].defaults: "abc" is not a valid FLOAT input; expected a number`,
    `${file}:15:15: inputs[3].defaults: "2024-01-15" is not a valid DATETIME input; expected an ISO-8601 instant with a time and a zone, e.g. 2026-11-21T10:00:00Z or 2026-11-21T12:00:00+02:00 (DATE is the type of a date alone)`,
    `${file}:19:19: inputs[4].defaults[1]: 2.0 is not a valid INT input; expected a whole number from -2147483648 to 2147483647 (a Java Integer, as in Kestra)`,
    `${file}:23:15: inputs[5].defaults: "z" is not a valid SELECT input; expected one of x, y`,
    `${file}:26:15: inputs[6].defaults: "{bad" is not a valid JSON input; expected JSON`,
    `${file}:29:15: inputs[7].defaults: "maybe" is not a valid BOOLEAN input; expected true or false`,
  ];
  for (const command of ['validate', 'run']) {
    const r = await cli.run([command, file]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `error: ${expected.join('\n')}\n`, command);
  }
});

test('literal input defaults run converts pass validate and reach the flow as their types', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-validate-defaults-'));
  const file = join(dir, 'd.yml');
  await writeFile(
    file,
    withInputs(
      `  - id: n
    type: INT
    defaults: 3
  - id: at
    type: DATETIME
    defaults: "2024-01-15T10:00:00+02:00"
  - id: list
    type: ARRAY
    itemType: INT
    defaults: [1, "2"]
  - id: pick
    type: SELECT
    values: [x, y]
    defaults: y`,
      'n={{ inputs.n | className }} at={{ inputs.at }} list={{ inputs.list }} pick={{ inputs.pick }}',
    ),
  );
  const v = await cli.run(['validate', file]);
  assert.equal(v.code, 0, v.stderr);
  const r = await cli.run(['run', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr + r.stdout, /n=java\.lang\.Integer at=2024-01-15T08:00:00Z list=\[1,2\] pick=y/);
});

test('revision is an Integer ≥ 1: 2.0 loads as 2 (a java.lang.Integer), "3", 2.5, -1 and 2^31 are refused naming it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-validate-revision-'));
  const file = join(dir, 'r.yml');
  const flowAt = (revision: string | undefined) =>
    `id: r\nnamespace: company.test\n${revision === undefined ? '' : `revision: ${revision}\n`}tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: "rev={{ flow.revision }} {{ flow.revision | className }}"\n`;
  for (const [revision, shown] of [
    ['"3"', '"3"'],
    ['2.5', '2.5'],
    ['-1', '-1'],
    ['0', '0'],
    ['2147483648', '2147483648'],
  ] as const) {
    await writeFile(file, flowAt(revision));
    const r = await cli.run(['validate', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      `error: ${file}:3:11: revision: got ${shown}; expected a whole number from 1 to 2147483647 (a Java Integer, as in Kestra)\n`,
    );
  }
  for (const [revision, shown] of [
    ['2.0', '2'],
    [undefined, '1'],
  ] as const) {
    await writeFile(file, flowAt(revision));
    const r = await cli.run(['run', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr + r.stdout, new RegExp(`rev=${shown} java\\.lang\\.Integer`));
  }
});
