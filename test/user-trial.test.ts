import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { apiServer, ended } from './api-server.js';
import { CLI, requests, runCli, SERVICE, SERVICE2, sim } from './helpers.js';

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

/**
 * Runs `kestra-fastly simulator --port 0 --log-requests …extra`, sends it `requests`, waits for `lines`
 * logged answers, stops it with SIGINT and returns what it printed.
 */
async function loggingSimulator(
  t: TestContext,
  extra: string[],
  lines: number,
  requests: (url: string) => Promise<unknown>,
): Promise<{ stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'simulator', '--port', '0', '--log-requests', ...extra], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  const logged = new Promise<void>((resolve) =>
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if ((stderr.match(/ \d{3} \d+ ms\n/g) ?? []).length >= lines) resolve();
    }),
  );
  const url = await new Promise<string>((resolve) =>
    child.stdout.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m?.[1]) resolve(m[1]);
    }),
  );
  await requests(url);
  await logged;
  child.kill('SIGINT');
  await exited;
  return { stdout, stderr };
}

test('a webhook keeps no credential header and no secret value: not in the answer, the API, nor the database', async (t) => {
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
  await server.stop();
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
    ['ratio=0x10', 'ratio'],
    ['ratio=', 'ratio'],
    ['flag=maybe', 'flag'],
    ['at=not-a-date', 'at'],
    ['pick=green', 'pick'],
  ] as const) {
    const r = await runCli(['run', file, '--input', input], env);
    assert.equal(r.code, 2, `${input}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${input}: one line: ${r.stderr}`);
    assert.match(lines[0] ?? '', new RegExp(`input '${name}'.*expected`), input);
  }
  assert.deepEqual(requests(s, `/service/${SERVICE}/purge`), [], 'nothing purged');
  const ok = await runCli(
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

test('simulator: a port in use is one line naming --port (exit 1); --log-requests logs each request, never the token', async (t) => {
  const taken = await sim(t);
  const port = new URL(taken.url).port;
  const busy = await runCli(['simulator', '--port', port]);
  assert.equal(busy.code, 1, busy.stderr);
  assert.equal(busy.stderr.trim().split('\n').length, 1, busy.stderr);
  assert.match(busy.stderr, new RegExp(`^error: --port: ${port} is already in use on 127\\.0\\.0\\.1;`));
  assert.doesNotMatch(busy.stderr, /unexpected/);

  const { stdout, stderr } = await loggingSimulator(t, [], 1, async (url) => {
    const r = await fetch(`${url}/service/${SERVICE}/purge/key-1`, {
      method: 'POST',
      headers: { 'Fastly-Key': TOKEN },
    });
    assert.equal(r.status, 200);
    await r.body?.cancel();
  });
  assert.match(stderr, new RegExp(`^\\S+ POST /service/${SERVICE}/purge/key-1 200 \\d+ ms$`, 'm'));
  assert.ok(!stderr.includes(TOKEN) && !stdout.includes(TOKEN), 'the token is never logged');
});

test('simulator --latency 100 --latency-jitter 200 answers in 100–300 ms, at random', async (t) => {
  const { stderr } = await loggingSimulator(t, ['--latency', '100', '--latency-jitter', '200'], 6, (url) =>
    Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const r = await fetch(`${url}/service/${SERVICE}/purge/key-${i}`, {
          method: 'POST',
          headers: { 'Fastly-Key': TOKEN },
        });
        await r.body?.cancel();
      }),
    ),
  );
  const ms = [...stderr.matchAll(/ 200 (\d+) ms$/gm)].map((m) => Number(m[1]));
  assert.equal(ms.length, 6);
  // At least the base latency each; not all the same (the jitter is drawn per answer).
  assert.ok(
    ms.every((x) => x >= 100),
    ms.join(' '),
  );
  assert.ok(new Set(ms).size > 1, ms.join(' '));
});

test('executions lists by start time, newest last, and says so; --limit keeps the latest started', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-trial-list-'));
  // As appended: in end order. "slow" started first and ended last.
  const rec = (id: string, start: string, end: string) =>
    JSON.stringify({
      id,
      namespace: 'company.ops',
      flowId: 'f',
      state: 'SUCCESS',
      outputs: {},
      startDate: start,
      endDate: end,
      durationMs: Date.parse(end) - Date.parse(start),
    });
  await writeFile(
    join(dir, 'executions.jsonl'),
    [
      rec('quick', '2026-11-21T10:00:05.000Z', '2026-11-21T10:00:06.000Z'),
      rec('later', '2026-11-21T10:00:07.000Z', '2026-11-21T10:00:08.000Z'),
      rec('slow', '2026-11-21T10:00:00.000Z', '2026-11-21T10:00:09.000Z'),
    ].join('\n') + '\n',
  );
  const text = await runCli(['executions', '--state-dir', dir]);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trim().split('\n');
  assert.match(lines[0] ?? '', /^STARTED \(newest last\)\s+STATE\s+FLOW\s+ID$/);
  assert.deepEqual(
    lines.slice(1).map((l) => l.split(/\s+/)[3]),
    ['slow', 'quick', 'later'],
  );
  const json = await runCli(['executions', '--state-dir', dir, '--json', '--limit', '2']);
  assert.deepEqual(
    (JSON.parse(json.stdout) as { id: string }[]).map((r) => r.id),
    ['quick', 'later'],
  );
});

test('simulator --scenario: a StatsTrigger flow run from the CLI fires on the injected 5xx spike, and only on the service it names', async (t) => {
  const example = join(import.meta.dirname, '../../examples/fastly_error_alert.yml');
  const { stdout } = await loggingSimulator(
    t,
    ['--latency', '100', '--latency-jitter', '200', '--scenario', `${SERVICE}:status_5xx=400@-30m/10m`],
    2,
    async (url) => {
      const env = (service: string) => ({
        FASTLY_API_ENDPOINT: url,
        SECRET_FASTLY_API_TOKEN: b64(TOKEN),
        SECRET_FASTLY_SERVICE_ID: b64(service),
      });
      const fired = await runCli(['run', example, '--json'], env(SERVICE));
      assert.equal(fired.code, 0, fired.stderr);
      const ex = JSON.parse(fired.stdout) as {
        state: { current: string };
        trigger: { variables: { value: number } };
      };
      assert.equal(ex.state.current, 'SUCCESS');
      // 400 a minute for 10 minutes, on top of the service's own 5xx.
      const { value } = ex.trigger.variables;
      assert.ok(value >= 4000, `value ${value}`);
      assert.match(fired.stderr, /5xx spike: \d+ errors \(threshold: 50\)/);
      const quiet = await runCli(['run', example, '--json'], env(SERVICE2));
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.equal((JSON.parse(quiet.stdout) as { state: string }).state, 'NOT_TRIGGERED');
    },
  );
  assert.match(
    stdout,
    new RegExp(`scenario: \\+400 status_5xx a minute on ${SERVICE}, from\\n? +\\S+Z to \\S+Z\\n`),
  );
  // Wrapped at 80 columns, continuation lines indented under it.
  for (const line of stdout.split('\n')) assert.ok(line.length <= 80, line);
});
