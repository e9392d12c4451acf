import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from './helpers.js';

async function flowFile(text: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'kf-validate-')), 'f.yml');
  await writeFile(file, text);
  return file;
}

const ENV = { SECRET_FASTLY_API_TOKEN: Buffer.from('tok').toString('base64') };

test('validate refuses what run would: bad literal surrogate keys, an input the flow does not declare', async () => {
  const file = await flowFile(`id: f
namespace: company.test
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.Keys
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: "{{ inputs.svc }}"
    surrogateKeys: ["ok", "has space", ""]
`);
  const r = await runCli(['validate', file], ENV);
  assert.equal(r.code, 2, r.stdout);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 3, r.stderr);
  assert.match(r.stderr, /f\.yml:8:\d+: tasks\[0\]\.surrogateKeys\[1\]: "has space" contains whitespace/);
  assert.match(r.stderr, /f\.yml:8:\d+: tasks\[0\]\.surrogateKeys\[2\]: is empty/);
  assert.match(
    r.stderr,
    /f\.yml:7:\d+: tasks\[0\]\.serviceId: "\{\{ inputs\.svc \}\}" uses input 'svc', which the flow does not declare; it declares no inputs/,
  );
  assert.doesNotMatch(r.stderr, /at \w+ \(/, 'no stack trace');

  // Declared inputs, expressions in the list and inputs of another object are fine.
  const ok = await flowFile(`id: f
namespace: company.test
inputs:
  - id: svc
    type: STRING
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.Keys
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: "{{ inputs['svc'] }}"
    surrogateKeys: ["ok", "{{ inputs.svc }}-{{ outputs.x.inputs.other ?? 'a' }}"]
`);
  const good = await runCli(['validate', ok], ENV);
  assert.equal(good.code, 0, good.stderr);
});

test('validate reports every error of a task at once, each once', async () => {
  const file = await flowFile(`id: f
namespace: company.test
tasks:
  - id: stats
    type: io.kestra.plugin.fastly.stats.Stats
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: abc
    timeout: 5 minutes
    by: fortnight
    colour: red
    from: "sometime last wibble"
    region: mars
`);
  const r = await runCli(['validate', file], ENV);
  assert.equal(r.code, 2);
  const lines = r.stderr.trim().split('\n');
  assert.deepEqual(
    lines.map((l) => /tasks\[0\]\.(\w+):/.exec(l)?.[1]),
    ['timeout', 'by', 'colour', 'from', 'region'],
    r.stderr,
  );
  assert.equal(r.stderr.match(/fortnight/g)?.length, 1, r.stderr);
});
