import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliHost } from './cli-host.js';

/** The CLI runs of this file, in one process (cli-host.ts). */
const cli = cliHost();

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
  const r = await cli.run(['validate', file], ENV);
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
  const good = await cli.run(['validate', ok], ENV);
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
  const r = await cli.run(['validate', file], ENV);
  assert.equal(r.code, 2);
  const lines = r.stderr.trim().split('\n');
  assert.deepEqual(
    lines.map((l) => /tasks\[0\]\.(\w+):/.exec(l)?.[1]),
    ['timeout', 'by', 'colour', 'from', 'region'],
    r.stderr,
  );
  assert.equal(r.stderr.match(/fortnight/g)?.length, 1, r.stderr);
});

test("Kestra's filters and functions render as in Kestra: dateAdd, timestamps, substrings, hashes, json", async () => {
  const { renderString } = await import('../src/flow/expressions.js');
  const scope = { where: 'test', secret: () => '', errorLogs: () => [{ taskId: 'f', message: 'boom' }] };
  const r = (t: string, ctx: Record<string, unknown> = {}) => renderString(t, ctx, scope);
  const d = { d: '2026-11-01T00:00:00Z' };
  assert.equal(r("{{ d | dateAdd(1, 'DAYS') }}", d), '2026-11-02T00:00:00.000000Z'); // Kestra's iso format: microseconds
  assert.equal(r("{{ d | dateAdd(-2, 'HOURS', 'yyyy-MM-dd HH:mm') }}", d), '2026-10-31 22:00');
  assert.equal(r("{{ d | dateAdd(1, 'HALF_DAYS') }}", d), '2026-11-01T12:00:00.000000Z');
  assert.throws(() => r("{{ d | dateAdd(1, 'FORTNIGHTS') }}", d), /unit "FORTNIGHTS" is not one of .*DAYS/);
  assert.equal(r('{{ d | timestamp }}', d), 1793491200);
  assert.equal(r('{{ d | timestampMilli }}', d), 1793491200000);
  assert.equal(r("{{ 'a.b.c' | substringAfterLast('.') }}", {}), 'c');
  assert.equal(r("{{ 'a.b.c' | substringBefore('.') }}", {}), 'a');
  assert.equal(r("{{ 'a.b.c' | substringAfter('.') }}", {}), 'b.c');
  assert.equal(r("{{ 'a.b.c' | substringBeforeLast('.') }}", {}), 'a.b');
  assert.equal(r("{{ 'abc' | startsWith('ab') }}", {}), true);
  assert.equal(r("{{ 'abc' | endsWith('ab') }}", {}), false);
  assert.equal(
    r("{{ 'abc' | sha256 }}", {}),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  );
  assert.equal(r("{{ 'Héllo, World!' | slugify }}", {}), 'hello-world');
  assert.equal(r("{{ 'a b&c' | urlencode }}", {}), 'a+b%26c'); // Java's URLEncoder
  assert.deepEqual(r('{{ [1, 1, [2, 3]] | flatten | distinct }}', {}), [1, 2, 3]);
  assert.deepEqual(r('{{ json(\'{"a": 1}\').a }}', {}), 1);
  assert.deepEqual(r('{{ errorLogs()[0].message }}', {}), 'boom');
});

test('errorLogs() in an errors task lists the failed task and its message', async () => {
  const file = await flowFile(`id: f
namespace: company.test
tasks:
  - id: fails
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: boom
errors:
  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "{% for e in errorLogs() %}{{ e.taskId }} {{ e.level }}: {{ e.message }}{% endfor %}"
`);
  const r = await cli.run(['run', file], ENV);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /\[report\] fails ERROR: boom/);
});
