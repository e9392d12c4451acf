import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SERVICE, sim } from './helpers.js';
import { cliHost } from './cli-host.js';

/** The CLI runs of this file, in one process (cli-host.ts). */
const cli = cliHost();

const b64 = (s: string) => Buffer.from(s).toString('base64');

// A CMS sends numeric ids; in Kestra a number rendered into a text property is text.
const FLOW = `id: numeric
namespace: company.cms
inputs:
  - id: product_id
    type: INT
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ inputs.product_id }}"
  - id: key
    type: io.kestra.plugin.fastly.purge.Key
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    surrogateKey: "{{ inputs.product_id }}"
  - id: keys
    type: io.kestra.plugin.fastly.purge.Keys
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    surrogateKeys: ["{{ inputs.product_id }}", 7, true]
  - id: literal
    type: io.kestra.plugin.core.log.Log
    message: 5
`;

test('a number or boolean where text is expected is that text, as in Kestra: validate and run agree', async (t) => {
  const s = await sim(t);
  const dir = await mkdtemp(join(tmpdir(), 'kf-text-'));
  const file = join(dir, 'numeric.yml');
  await writeFile(file, FLOW);
  const env = { FASTLY_API_ENDPOINT: s.url, SECRET_FASTLY_API_TOKEN: b64('tok') };
  const validated = await cli.run(['validate', file], env);
  assert.equal(validated.code, 0, validated.stderr);
  const r = await cli.run(['run', file, '-i', 'product_id=42', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    state: { current: string };
    taskRunList: { taskId: string; outputs?: unknown }[];
  };
  assert.equal(out.state.current, 'SUCCESS');
  const keys = out.taskRunList.find((tr) => tr.taskId === 'keys')?.outputs as { purgeIds: object };
  assert.deepEqual(Object.keys(keys.purgeIds).sort(), ['42', '7', 'true']);
  assert.ok(
    s.log.some((e) => e.path === `/service/${SERVICE}/purge/42` && e.status === 200),
    'purge.Key sent key 42',
  );
  assert.match(r.stderr, /INFO {2}\[log\] 42$/m);

  // Text is not stretched further: a list or map where text is expected is still refused.
  await writeFile(file, FLOW.replace('message: 5', 'message: {a: 1}'));
  const refused = await cli.run(['validate', file], env);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /tasks\[3\]\.message/);
});

test("a map or list printed inside text is JSON, as Kestra's JsonWriter writes it; a map keeps its order and no _keys", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-text-'));
  const file = join(dir, 'obj.yml');
  await writeFile(
    file,
    `id: obj
namespace: company.cms
inputs:
  - id: ids
    type: ARRAY
    itemType: STRING
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "ids: {{ inputs.ids }} map: {{ {'a': 1, 'b': [1, 2]} }} n={{ 5 }} j={{ inputs.ids | join(',') }} t={{- ' x' -}} ."
  - id: out
    type: io.kestra.plugin.core.output.OutputValues
    values:
      m: "{{ {'z': 1, 'a': {'y': 2, 'b': 3} } }}"
      s: "{{ {'z': 1, 'a': 2} | toJson }}"
`,
  );
  const r = await cli.run(['run', file, '-i', 'ids=["a","b"]', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\[log\] ids: \["a","b"\] map: \{"a":1,"b":\[1,2\]\} n=5 j=a,b t= x\.$/m);
  const out = JSON.parse(r.stdout) as { taskRunList: { taskId: string; outputs?: { values?: unknown } }[] };
  const values = out.taskRunList.find((tr) => tr.taskId === 'out')?.outputs?.values as Record<
    string,
    unknown
  >;
  assert.equal(JSON.stringify(values.m), '{"z":1,"a":{"y":2,"b":3}}');
  assert.equal(values.s, '{"z":1,"a":2}');
  assert.doesNotMatch(r.stdout, /_keys/);
});
