import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { apiServer, ended } from './api-server.js';
import { runCli } from './helpers.js';

// Findings of a new-user trial of the CLI and the server.
const TOKEN = 'canary-TOKEN-1234';
const b64 = (s: string) => Buffer.from(s).toString('base64');

const LEAK_FLOW = `id: leak
namespace: company.ops
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: leak-key-123
tasks:
  - id: out
    type: io.kestra.plugin.core.output.OutputValues
    values:
      t: "{{ secret('MYTOKEN') }}"
      apiToken: "{{ secret('MYTOKEN') }}"
      agent: "{{ trigger.headers['x-agent'][0] }}"
`;

test('a webhook keeps no credential header and no secret value: not in the answer, the API, nor executions.jsonl', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-trial-'));
  const file = join(dir, 'leak.yml');
  await writeFile(file, LEAK_FLOW);
  const state = join(dir, 'state');
  const { server, url } = await apiServer([file, '--state-dir', state], { SECRET_MYTOKEN: b64(TOKEN) });
  t.after(() => server.stop());
  const r = await fetch(`${url}/api/v1/main/executions/webhook/company.ops/leak/leak-key-123`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'Fastly-Key': `${TOKEN}-fk`,
      'X-Api-Key': `${TOKEN}-xak`,
      Authorization: `Bearer ${TOKEN}-auth`,
      'Proxy-Authorization': `Basic ${TOKEN}-pa`,
      'X-Auth-Token': `${TOKEN}-xat`,
      Cookie: `session=${TOKEN}-ck`,
      'X-Agent': 'deploy-bot',
    },
    body: JSON.stringify({ article_ids: ['z1'] }),
  });
  assert.equal(r.status, 200);
  const answer = await r.text();
  const accepted = JSON.parse(answer) as { id: string; trigger: { variables: { headers: Record<string, string[]> } } };
  assert.deepEqual(accepted.trigger.variables.headers['x-agent'], ['deploy-bot'], 'ordinary headers are kept');
  const ex = await ended(url, accepted.id);
  assert.equal(ex.state.current, 'SUCCESS');
  const got = await (await fetch(`${url}/api/v1/main/executions/${accepted.id}`)).text();
  assert.match(got, /deploy-bot/, 'the task ran with the ordinary header');
  const search = await (await fetch(`${url}/api/v1/main/executions/search`)).text();
  assert.match(search, new RegExp(accepted.id));
  await server.stop();
  const history = await readFile(join(state, 'executions.jsonl'), 'utf8');
  for (const [where, text] of [
    ['the webhook answer', answer],
    ['GET execution', got],
    ['executions/search', search],
    ['executions.jsonl', history],
  ] as const) {
    assert.ok(!text.includes('canary'), `${where} holds no credential header nor secret: ${text.slice(0, 2000)}`);
    assert.ok(!text.includes(b64(TOKEN)), `${where} holds no base64 secret`);
  }
  assert.match(got, /\*\*\*\*\*\*/, 'the outputs show the secret masked');
});

test('run prints flow outputs with every secret masked, as text and with --json; the keys stay', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-trial-run-'));
  const file = join(dir, 'leak.yml');
  await writeFile(
    file,
    `id: leak
namespace: company.ops
tasks:
  - id: out
    type: io.kestra.plugin.core.output.OutputValues
    values:
      t: "{{ secret('MYTOKEN') }}"
      apiToken: "{{ secret('MYTOKEN') }}"
      svc: "service {{ secret('SVC') }}"
`,
  );
  const env = { SECRET_MYTOKEN: b64(TOKEN), SECRET_SVC: b64('values') };
  for (const args of [[], ['--json']]) {
    const r = await runCli(['run', file, ...args], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes('canary') && !r.stderr.includes('canary'), r.stdout);
    assert.match(r.stdout, /"t":\s?"\*\*\*\*\*\*"/);
    assert.match(r.stdout, /"svc":\s?"service \*\*\*\*\*\*"/);
    // A secret equal to a key ("values") hides values, never keys.
    assert.doesNotMatch(r.stdout, /"\*\*\*\*\*\*":/);
    assert.match(r.stdout, /"apiToken":/);
  }
});
