import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { history, unfinished } from './history.js';
import { apiServer, apiServerInProcess, ended } from './api-server.js';
import { HOOK_FLOW, requests, runCli, SERVICE, sim, taskOutputs } from './helpers.js';
import { ServerProcess } from './server-process.js';

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '../../examples');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const KEY = 'cms-Webhook-key-5f1e';
const HOOK = `/api/v1/main/executions/webhook/company.cms/purge_articles_on_publish/${KEY}`;

async function setup(t: import('node:test').TestContext) {
  const s = await sim(t, { faults: { latencyMs: 150 } });
  const dir = await mkdtemp(join(tmpdir(), 'kf-api-'));
  const env = {
    SECRET_FASTLY_API_TOKEN: b64('tok'),
    SECRET_FASTLY_SERVICE_ID: b64(SERVICE),
    SECRET_CMS_WEBHOOK_KEY: b64(KEY),
    FASTLY_API_ENDPOINT: s.url,
  };
  return { s, dir, env, args: [join(EXAMPLES, 'purge_articles_on_publish.yml'), '--state-dir', dir] };
}

test('a webhook POST purges the articles; the execution is in executions --json; a wrong key is 404 and starts nothing; 2 MB is 413', async (t) => {
  const { s, dir, env, args } = await setup(t);
  const { server, url } = await apiServer(args, env);
  t.after(() => server.stop());

  const r = await fetch(url + HOOK, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer not-for-the-history' },
    body: JSON.stringify({ article_ids: ['article-7', 'article-8', 'article-9'] }),
  });
  assert.equal(r.status, 200);
  const accepted = (await r.json()) as {
    id: string;
    trigger: { id: string; variables: { headers: object } };
  };
  assert.equal(accepted.trigger.id, 'on_publish');
  assert.ok(!('authorization' in accepted.trigger.variables.headers), 'credentials are not kept');
  const ex = await ended(url, accepted.id);
  assert.equal(ex.state.current, 'SUCCESS');
  assert.deepEqual(ex.inputs?.article_ids, ['article-7', 'article-8', 'article-9']);
  const purges = requests(s, `/service/${SERVICE}/purge`);
  assert.equal(purges.length, 1);
  assert.equal(purges[0]?.keys, 3);
  assert.equal(purges[0]?.soft, true);

  const list = await runCli(['executions', '--state-dir', dir, '--json']);
  const records = JSON.parse(list.stdout) as {
    id: string;
    trigger?: { id: string };
    state: { current: string };
  }[];
  assert.deepEqual(
    records.map((x) => [x.id, x.trigger?.id, x.state.current]),
    [[accepted.id, 'on_publish', 'SUCCESS']],
  );
  assert.ok(!JSON.stringify(records).includes('not-for-the-history'));

  // A wrong key, a key of another flow, an unknown flow: 404, nothing started.
  s.clearLog();
  for (const path of [
    HOOK.replace(KEY, 'wrong-key'),
    HOOK.replace(KEY, `${KEY}x`),
    HOOK.replace('purge_articles_on_publish', 'no_such_flow'),
  ]) {
    const bad = await fetch(url + path, { method: 'POST', body: '{"article_ids":["x"]}' });
    assert.equal(bad.status, 404, path);
    assert.match(((await bad.json()) as { message: string }).message, /no webhook for flow/);
  }
  const big = await fetch(url + HOOK, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: `{"article_ids":["${'a'.repeat(2 * 1024 * 1024)}"]}`,
  });
  assert.equal(big.status, 413);
  assert.match(
    ((await big.json()) as { message: string }).message,
    /too large; the limit is 2 MiB \(2097152 bytes\)/,
  );
  assert.equal(history(dir).length, 1, 'nothing else ran');
  assert.deepEqual(unfinished(dir), []);
  assert.deepEqual(requests(s, '/service'), []);
  assert.ok(!server.output.includes(KEY), 'the webhook key is never logged');
});

test('the tenant-less webhook path works too, and the executions API takes form inputs, waits, lists and gets', async (t) => {
  const { dir, env } = await setup(t);
  const { url } = await apiServerInProcess(t, {
    paths: [join(EXAMPLES, 'purge_articles_on_publish.yml')],
    stateDir: dir,
    env,
  });
  const old = await fetch(`${url}/api/v1/executions/webhook/company.cms/purge_articles_on_publish/${KEY}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: '{"article_ids":["old-path"]}',
  });
  assert.equal(old.status, 200);
  const oldId = ((await old.json()) as { id: string }).id;

  const form = new FormData();
  form.append('article_ids', '["f-1","f-2"]');
  form.append('soft', 'false');
  const r = await fetch(`${url}/api/v1/main/executions/company.cms/purge_articles_on_publish?wait=true`, {
    method: 'POST',
    body: form,
  });
  assert.equal(r.status, 200);
  const ex = (await r.json()) as {
    id: string;
    state: { current: string };
    taskRunList: { taskId: string; outputs?: unknown }[];
    inputs: object;
  };
  assert.equal(ex.state.current, 'SUCCESS');
  assert.equal((taskOutputs(ex).purge_articles as { purged: number }).purged, 2);
  assert.deepEqual(ex.inputs, { article_ids: ['f-1', 'f-2'], soft: false });

  await ended(url, oldId);
  const search = (await (
    await fetch(`${url}/api/v1/main/executions/search?flowId=purge_articles_on_publish`)
  ).json()) as {
    results: { id: string }[];
    total: number;
  };
  assert.equal(search.total, 2);
  assert.deepEqual(new Set(search.results.map((x) => x.id)), new Set([oldId, ex.id]));
  const got = await fetch(`${url}/api/v1/executions/${ex.id}`);
  assert.equal(((await got.json()) as { id: string }).id, ex.id);
  assert.equal((await fetch(`${url}/api/v1/main/executions/nope`)).status, 404);
  assert.equal(history(dir).length, 2);
});

test('an acknowledged webhook survives kill -9: the restarted server runs it, exactly once', async (t) => {
  const { s, dir, env, args } = await setup(t);
  // Slow purges: the kill lands while the execution is still running (if not, it must still appear once).
  await s.close();
  const slow = await sim(t, { faults: { latencyMs: 300 } });
  const env2 = { ...env, FASTLY_API_ENDPOINT: slow.url };
  const first = await apiServer(args, env2);
  t.after(() => first.server.stop('SIGKILL')); // a failed assertion before the kill must not leave it running
  const r = await fetch(first.url + HOOK, { method: 'POST', body: '{"article_ids":["crash-1"]}' });
  assert.equal(r.status, 200);
  const { id } = (await r.json()) as { id: string };
  await first.server.stop('SIGKILL');
  const second = await apiServer(args, env2);
  t.after(() => second.server.stop());
  const ex = await ended(second.url, id);
  assert.equal(ex.state.current, 'SUCCESS');
  assert.equal(history(dir).filter((x) => x.id === id).length, 1);
  assert.deepEqual(unfinished(dir), []);
});

test('off loopback the API needs a bearer token (not the webhook, not the health probes); without one the server refuses to start', async (t) => {
  const { env, args } = await setup(t);
  const refused = new ServerProcess([...args, '--listen', '0.0.0.0:0'], env);
  assert.equal(await refused.exited(), 2);
  assert.match(
    refused.output,
    /--listen: "0\.0\.0\.0:0" is not a loopback address; listening there requires --api-token or KESTRA_FASTLY_API_TOKEN/,
  );
  assert.ok(!/^\s+at /m.test(refused.output));

  const token = 'api-token-0123456789abcdef';
  const { server, url: anyUrl } = await apiServer([...args, '--listen', '0.0.0.0:0'], {
    ...env,
    KESTRA_FASTLY_API_TOKEN: token,
  });
  t.after(() => server.stop());
  const url = anyUrl.replace('0.0.0.0', '127.0.0.1');
  for (const probe of ['/healthz', '/health']) {
    const health = await fetch(`${url}${probe}`);
    assert.equal(health.status, 200, `${probe}: probes send no credentials`);
    assert.deepEqual(await health.json(), { name: 'kestra-fastly', status: 'UP' });
  }
  const search = `${url}/api/v1/main/executions/search`;
  assert.equal((await fetch(search)).status, 401);
  assert.equal(
    (await fetch(search, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status,
    401,
  );
  assert.equal((await fetch(search, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  const hook = await fetch(url + HOOK, { method: 'POST', body: '{"article_ids":["anon"]}' });
  assert.equal(hook.status, 200, 'the webhook route is anonymous: its key authorizes');
  const { id } = (await hook.json()) as { id: string };
  assert.equal((await ended(url, id, { authorization: `Bearer ${token}` })).state.current, 'SUCCESS');
  assert.ok(!server.output.includes(token));
});

test('a webhook with wait and returnOutputs answers with the outputs; GET passes the query as trigger.parameters', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-api-wait-'));
  const file = join(dir, 'echo.yml');
  await writeFile(
    file,
    `id: echo
namespace: company.ops
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: echo-key-123
    wait: true
    returnOutputs: true
tasks:
  - id: out
    type: io.kestra.plugin.core.output.OutputValues
    values:
      who: "{{ trigger.parameters.who[0] }}"
      agent: "{{ trigger.headers['x-agent'][0] }}"
outputs:
  - id: who
    type: STRING
    value: "{{ outputs.out.values.who }}"
  - id: agent
    type: STRING
    value: "{{ outputs.out.values.agent }}"
`,
  );
  const { url } = await apiServerInProcess(t, { paths: [file], stateDir: join(dir, 'state') });
  const r = await fetch(`${url}/api/v1/main/executions/webhook/company.ops/echo/echo-key-123?who=cms`, {
    headers: { 'x-agent': 'deploy-bot' },
  });
  assert.equal(r.status, 200);
  // The flow's outputs (Kestra's execution outputs), not each task's.
  assert.deepEqual(await r.json(), { who: 'cms', agent: 'deploy-bot' });
  assert.equal(history(join(dir, 'state')).length, 1);
});

const TOKEN = 'canary-TOKEN-1234';
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

test('a webhook keeps no credential header and no secret value: not in the answer, the API, nor the database', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-trial-'));
  const file = join(dir, 'leak.yml');
  await writeFile(file, LEAK_FLOW);
  const state = join(dir, 'state');
  const { url, stop } = await apiServerInProcess(t, {
    paths: [file],
    stateDir: state,
    env: { SECRET_MYTOKEN: b64(TOKEN) },
  });
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
  const accepted = JSON.parse(answer) as {
    id: string;
    trigger: { variables: { headers: Record<string, string[]> } };
  };
  assert.deepEqual(
    accepted.trigger.variables.headers['x-agent'],
    ['deploy-bot'],
    'ordinary headers are kept',
  );
  const ex = await ended(url, accepted.id);
  assert.equal(ex.state.current, 'SUCCESS');
  const got = await (await fetch(`${url}/api/v1/main/executions/${accepted.id}`)).text();
  assert.match(got, /deploy-bot/, 'the task ran with the ordinary header');
  const search = await (await fetch(`${url}/api/v1/main/executions/search`)).text();
  assert.match(search, new RegExp(accepted.id));
  await stop();
  const history = (await readFile(join(state, 'runtime.db'))).toString('latin1');
  for (const [where, text] of [
    ['the webhook answer', answer],
    ['GET execution', got],
    ['executions/search', search],
    ['runtime.db', history],
  ] as const) {
    assert.ok(
      !text.includes('canary'),
      `${where} holds no credential header nor secret: ${text.slice(0, 2000)}`,
    );
    assert.ok(!text.includes(b64(TOKEN)), `${where} holds no base64 secret`);
  }
  assert.match(got, /\*\*\*\*\*\*/, 'the outputs show the secret masked');
});

test('search refuses an unknown state with 400 naming the accepted ones; known states (repeated) filter', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-search-'));
  const file = join(dir, 'hook.yml');
  await writeFile(file, HOOK_FLOW);
  const { url } = await apiServerInProcess(t, { paths: [file], stateDir: join(dir, 'state') });
  const r = await fetch(`${url}/api/v1/main/executions/company.cms/hook?wait=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"keys": ["k-1"]}',
  });
  assert.equal(r.status, 200);
  const bad = await fetch(`${url}/api/v1/main/executions/search?state=BOGUS`);
  assert.equal(bad.status, 400);
  assert.deepEqual(await bad.json(), {
    message:
      'state: "BOGUS" is not allowed; expected one of CREATED, RUNNING, KILLING, RESTARTED, SUCCESS, WARNING, FAILED, KILLED',
  });
  const total = async (query: string) =>
    ((await (await fetch(`${url}/api/v1/main/executions/search?${query}`)).json()) as { total: number })
      .total;
  assert.equal(await total('state=SUCCESS'), 1);
  assert.equal(await total('state=FAILED'), 0);
  assert.equal(await total('state=FAILED&state=SUCCESS'), 1);
  assert.equal((await fetch(`${url}/api/v1/executions/search?state=SUCCESS&state=nope`)).status, 400);
});
