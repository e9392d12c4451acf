import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { uniqueFiles } from '../src/cli/commands/flow.js';
import { flowFiles } from '../src/flow/load.js';
import { runCli } from './helpers.js';

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
  const r = await runCli(['validate', v, `${dir}/./v/a.yml`, join(v, 'a.yml')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.deepEqual(r.stdout.trim().split('\n'), [
    `✓ ${join(v, 'a.yml')}: company.test.a (1 task(s), 0 trigger(s))`,
    `✓ ${join(v, 'b.yaml')}: company.test.b (1 task(s), 0 trigger(s))`,
  ]);
});
