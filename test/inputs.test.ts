import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { apiServer } from './api-server.js';
import { cliHost } from './cli-host.js';
import { HOOK_FLOW, requests, SERVICE, sim } from './helpers.js';
import { REALISTIC_LATENCY } from './server-process.js';

// Flow inputs (src/flow/inputs.ts) refused or read the same way by `run --input`, the executions API
// and a webhook.

const b64 = (s: string) => Buffer.from(s).toString('base64');
/** The `run` commands of this file, in one process (cli-host.ts). */
const host = cliHost();

test('a missing input: the API and the webhook answer 422 in HTTP terms, the CLI keeps its --input hint; an ARRAY is a JSON list everywhere', async (t) => {
  const s = await sim(t, { faults: REALISTIC_LATENCY });
  const dir = await mkdtemp(join(tmpdir(), 'kf-hint-'));
  const file = join(dir, 'hook.yml');
  await writeFile(file, HOOK_FLOW);
  const env = { FASTLY_API_ENDPOINT: s.url, SECRET_X: b64('x') };

  const cli = await host.run(['run', file], env);
  assert.equal(cli.code, 2, cli.stderr);
  assert.equal(
    cli.stderr,
    "error: input 'keys' (ARRAY) is required; pass --input keys=VALUE or give it defaults\n",
  );
  const listCli = await host.run(['run', file, '--input', 'keys=a, b'], env);
  assert.equal(listCli.code, 2, listCli.stderr);
  assert.match(
    listCli.stderr,
    /^error: input 'keys': "a, b" is not a valid ARRAY input; expected a list \(a JSON array/,
  );

  const { server, url } = await apiServer([file, '--state-dir', join(dir, 'state')], env);
  t.after(() => server.stop());
  const post = async (path: string, init: RequestInit = {}) => {
    const r = await fetch(url + path, { method: 'POST', ...init });
    return { status: r.status, message: ((await r.json()) as { message: string }).message };
  };
  assert.deepEqual(await post('/api/v1/main/executions/company.cms/hook'), {
    status: 422,
    message:
      "input 'keys' (ARRAY) is required; send it as a form field or JSON property 'keys', or give it defaults in the flow",
  });
  assert.deepEqual(await post('/api/v1/main/executions/webhook/company.cms/hook/hook-key-123'), {
    status: 422,
    message: `input 'keys' (ARRAY) is required; map it in the Webhook trigger's inputs (e.g. keys: "{{ trigger.body.keys }}") and send it, or give it defaults in the flow`,
  });
  const form = new FormData();
  form.set('keys', 'a, b');
  const comma = await post('/api/v1/main/executions/company.cms/hook', { body: form });
  assert.equal(comma.status, 422);
  assert.equal(comma.message, listCli.stderr.replace(/^error: /, '').trim(), 'the same words as the CLI');
  form.set('keys', '["a", "b"]'); // the dashboard's placeholder
  const ok = await fetch(`${url}/api/v1/main/executions/company.cms/hook?wait=true`, {
    method: 'POST',
    body: form,
  });
  assert.equal(ok.status, 200);
  assert.deepEqual(((await ok.json()) as { inputs: unknown }).inputs, { keys: ['a', 'b'] });
});

const TYPED_FLOW = (service: string) => `id: typed
namespace: company.cms
inputs:
  - id: article_ids
    type: ARRAY
    itemType: STRING
    defaults: ["a-1"]
  - id: n
    type: INT
    defaults: 1
  - id: ratio
    type: FLOAT
    defaults: 1.5
  - id: flag
    type: BOOLEAN
    defaults: true
  - id: at
    type: DATETIME
    defaults: "2026-11-21T10:00:00Z"
  - id: pick
    type: SELECT
    values: [red, blue]
    defaults: red
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: typed-key-123
    inputs:
      article_ids: "{{ trigger.body.article_ids }}"
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.Keys
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${service}
    surrogateKeys: "{{ inputs.article_ids }}"
`;

test('an input of the wrong type is refused before anything runs: run exits 2 naming it, the API answers 422', async (t) => {
  const s = await sim(t, { faults: { latencyMs: 100 } });
  const dir = await mkdtemp(join(tmpdir(), 'kf-trial-typed-'));
  const file = join(dir, 'typed.yml');
  await writeFile(file, TYPED_FLOW(SERVICE));
  const env = { SECRET_FASTLY_API_TOKEN: b64('tok'), FASTLY_API_ENDPOINT: s.url };
  for (const [input, name] of [
    ['article_ids=notjson', 'article_ids'],
    ['article_ids=', 'article_ids'],
    ['article_ids={"a":1}', 'article_ids'],
    ['n=abc', 'n'],
    ['n=1.5', 'n'],
    // Kestra reads INT with Integer.valueOf (FlowInputOutput): past a Java int it is refused.
    ['n=3000000000', 'n'],
    ['n=-2147483649', 'n'],
    ['ratio=0x10', 'ratio'],
    ['ratio=', 'ratio'],
    ['flag=maybe', 'flag'],
    ['at=not-a-date', 'at'],
    // Kestra reads DATETIME with Instant.parse: a date alone (DATE's) or a time without seconds is refused.
    ['at=2026-11-21', 'at'],
    ['at=2026-11-21T10:00Z', 'at'],
    ['at=2026-02-30T10:00:00Z', 'at'],
    ['pick=green', 'pick'],
  ] as const) {
    const r = await host.run(['run', file, '--input', input], env);
    assert.equal(r.code, 2, `${input}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${input}: one line: ${r.stderr}`);
    assert.match(lines[0] ?? '', new RegExp(`input '${name}'.*expected`), input);
  }
  assert.deepEqual(requests(s, `/service/${SERVICE}/purge`), [], 'nothing purged');
  const ok = await host.run(
    ['run', file, '--input', 'article_ids=["a-1","a-2"]', '--input', 'ratio=2.5e0'],
    env,
  );
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(requests(s, `/service/${SERVICE}/purge`).length, 1);
  s.clearLog();

  const { server, url } = await apiServer([file, '--state-dir', join(dir, 'state')], env);
  t.after(() => server.stop());
  const form = new FormData();
  form.set('article_ids', 'notjson');
  for (const [path, init] of [
    [
      '/api/v1/main/executions/webhook/company.cms/typed/typed-key-123',
      { headers: { 'content-type': 'application/json' }, body: '{"article_ids":"notalist"}' },
    ],
    ['/api/v1/main/executions/company.cms/typed', { body: form }],
    [
      '/api/v1/main/executions/company.cms/typed',
      { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'article_ids=notjson' },
    ],
    [
      '/api/v1/main/executions/company.cms/typed',
      { headers: { 'content-type': 'application/json' }, body: '{"pick":"green"}' },
    ],
  ] as const) {
    const r = await fetch(url + path, { method: 'POST', ...init });
    const body = (await r.json()) as { message: string };
    assert.equal(r.status, 422, `${path}: ${JSON.stringify(body)}`);
    assert.match(body.message, /input '(article_ids|pick)'.* is not a valid (ARRAY|SELECT) input; expected/);
  }
  const search = await (await fetch(`${url}/api/v1/main/executions/search`)).json();
  assert.doesNotMatch(JSON.stringify(search), /typed/, 'no execution started');
  assert.deepEqual(requests(s, `/service/${SERVICE}/purge`), [], 'nothing purged');
});
