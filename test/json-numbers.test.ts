/**
 * Kestra's numbers through JSON (issue 22): Jackson reads `1.0` as a Double and 9223372036854775807
 * as a Long, and Kestra keeps them so through a webhook body, its store and its API. Here they go
 * through the webhook, the store (SQLite, PostgreSQL), the API, a server restart and `run --json`,
 * and come back as they went in: `1.0` still prints 1.0, 2^63-1 keeps every digit.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { JavaDouble, parseJson } from '../src/pebble/java.js';
import { apiServerInProcess, ended } from './api-server.js';
import { cliHost } from './cli-host.js';
import { postgresForFile } from './support/postgres.js';

const pgsql = postgresForFile();
const cli = cliHost();

const BODY = '{"a": 1.0, "big": 9223372036854775807, "n": 1, "list": [2.50, 3e2]}';
const MAX_LONG = 9223372036854775807n;
/** What the Fail task renders from the trigger's variables (a list printed as JSON, as Kestra's renderer prints it). */
const RENDERED = 'a=1.0 (java.lang.Double) big=9223372036854775807 (java.lang.Long) n=1 list=[2.5,300.0]';

const FLOW = `id: numbers
namespace: company.ops
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: k3y-for-tests
tasks:
  - id: check
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: "a={{ trigger.body.a }} ({{ trigger.body.a | className }}) big={{ trigger.body.big }} ({{ trigger.body.big | className }}) n={{ trigger.body.n }} list={{ trigger.body.list }}"
`;

interface Execution {
  id: string;
  state: { current: string };
  trigger: { variables: { body: Record<string, unknown> } };
}

/** GET the execution and its logs, read as Jackson reads them (parseJson). */
async function look(url: string, id: string): Promise<{ text: string; ex: Execution; logs: string }> {
  const text = await (await fetch(`${url}/api/v1/main/executions/${id}`)).text();
  const logs = await (await fetch(`${url}/api/v1/main/logs/${id}`)).text();
  return { text, ex: parseJson(text) as Execution, logs };
}

/** Polls the restarted execution (RESTARTED, RUNNING) until it has FAILED again; rejects past the deadline. */
async function endedAgain(
  url: string,
  id: string,
  deadlineMs = 20_000,
): Promise<Awaited<ReturnType<typeof look>>> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const seen = await look(url, id);
    if (seen.ex.state.current === 'FAILED') return seen;
    if (Date.now() > until) throw new Error(`execution ${id} did not end again within ${deadlineMs} ms`);
    await sleep(50);
  }
}

function assertKept(ex: Execution, text: string) {
  const body = ex.trigger.variables.body;
  assert.deepEqual(body.a, new JavaDouble(1));
  assert.equal(body.big, MAX_LONG);
  assert.equal(body.n, 1);
  assert.deepEqual(body.list, [2.5, new JavaDouble(300)]);
  assert.match(text, /"body":\{"a":1\.0,"big":9223372036854775807,"n":1,"list":\[2\.5,300\.0\]\}/);
}

for (const store of ['SQLite', 'PostgreSQL']) {
  test(`${store}: a webhook body's 1.0 and 2^63-1 render as Kestra renders them, and stay so in the API, after a server restart and a restart of the execution`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'kf-numbers-'));
    const file = join(dir, 'numbers.yml');
    await writeFile(file, FLOW);
    // The server in this process: its second start reads the execution back from the store.
    const options = {
      paths: [file],
      stateDir: join(dir, 'state'),
      ...(store === 'PostgreSQL' ? { databaseUrl: await pgsql.freshDatabase() } : {}),
    };
    const first = await apiServerInProcess(t, options);
    const r = await fetch(`${first.url}/api/v1/main/executions/webhook/company.ops/numbers/k3y-for-tests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: BODY,
    });
    assert.equal(r.status, 200, await r.clone().text());
    const answered = (await r.text()).replace(/\s/g, '');
    assert.match(
      answered,
      /"a":1\.0,"big":9223372036854775807/,
      'the webhook answers with the body as posted',
    );
    const { id } = parseJson(answered) as { id: string };
    assert.equal((await ended(first.url, id)).state.current, 'FAILED');

    const before = await look(first.url, id);
    assertKept(before.ex, before.text);
    assert.ok(before.logs.includes(RENDERED), before.logs);
    const search = await (await fetch(`${first.url}/api/v1/main/executions/search`)).text();
    assert.match(search, /"a":1\.0,"big":9223372036854775807/);
    await first.stop();

    const second = await apiServerInProcess(t, options);
    const after = await look(second.url, id);
    assertKept(after.ex, after.text);
    assert.equal(after.text, before.text, 'the stored execution reads back byte for byte');

    // A restart renders again from the trigger's variables as the store kept them.
    const restarted = await fetch(`${second.url}/api/v1/main/executions/${id}/restart`, { method: 'POST' });
    assert.equal(restarted.status, 200, await restarted.clone().text());
    await restarted.body?.cancel();
    const again = await endedAgain(second.url, id);
    assert.equal(again.logs.split(RENDERED).length - 1, 2, again.logs);
    assertKept(again.ex, again.text);
  });
}

test('run --json prints a JSON input with 1.0 and 2^63-1 as given (JSON.stringify threw on the long)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-numbers-'));
  const file = join(dir, 'numbers.yml');
  await writeFile(
    file,
    `id: numbers
namespace: company.ops
inputs:
  - id: cfg
    type: JSON
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "a={{ inputs.cfg.a }} big={{ inputs.cfg.big }}"
outputs:
  - id: cfg
    type: JSON
    value: "{{ inputs.cfg }}"
`,
  );
  const r = await cli.run(['run', file, '--json', '-i', `cfg=${BODY}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /a=1\.0 big=9223372036854775807/);
  const ex = parseJson(r.stdout) as { inputs: { cfg: Record<string, unknown> } };
  assert.deepEqual(ex.inputs.cfg.a, new JavaDouble(1));
  assert.equal(ex.inputs.cfg.big, MAX_LONG);
  assert.match(r.stdout, /"a": 1\.0,\n\s+"big": 9223372036854775807/);
  // A JSON flow output: Kestra renders it to text and reads that with Jackson (trial T2 saw 1 and a string).
  const out = parseJson(r.stdout) as { outputs: { cfg: Record<string, unknown> } };
  assert.deepEqual(out.outputs.cfg.a, new JavaDouble(1));
  assert.equal(out.outputs.cfg.big, MAX_LONG);
});

const YAML_FLOW = `id: yaml_numbers
namespace: company.ops
labels:
  ratio: 1.0
variables:
  ratio: 1.0
  big: 9223372036854775807
  small: 2
inputs:
  - id: cfg
    type: JSON
    defaults:
      ratio: 1.0
      big: 9223372036854775807
  - id: floats
    type: ARRAY
    itemType: FLOAT
    defaults: [1, 2.0]
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [1.0, 2]
    concurrencyLimit: 2.0
    retry:
      type: exponential
      interval: PT0.001S
      maxInterval: PT0.002S
      delayFactor: 2.0
      maxAttempts: 1
    tasks:
      - id: item
        type: io.kestra.plugin.core.log.Log
        message: "item={{ taskrun.value }}"
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "ratio={{ vars.ratio }} ({{ vars.ratio | className }}) big={{ vars.big }} ({{ vars.big | className }}) small={{ vars.small }} cfg={{ inputs.cfg }} floats={{ inputs.floats }} text={{ 2.0 }}"
  - id: out
    type: io.kestra.plugin.core.output.OutputValues
    values:
      r: 1.0
      m: {x: 2.0}
      e: "{{ 2.0 }}"
      big: "{{ vars.big }}"
  - id: again
    type: io.kestra.plugin.core.log.Log
    message: "values={{ outputs.out.values }} e={{ outputs.out.values.e | className }}"
`;

test('numbers written in the flow YAML keep their Java type: 1.0 a Double, 2^63-1 a Long, in variables, JSON input defaults, OutputValues and a single {{ 2.0 }}; settings written 2.0 still load', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-numbers-'));
  const file = join(dir, 'yaml_numbers.yml');
  await writeFile(file, YAML_FLOW);
  const r = await cli.run(['run', file, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /ratio=1\.0 \(java\.lang\.Double\) big=9223372036854775807 \(java\.lang\.Long\) small=2 cfg=\{"ratio":1\.0,"big":9223372036854775807\} floats=\[1\.0,2\.0\] text=2\.0/,
  );
  assert.match(r.stderr, /item=1\.0\b/);
  assert.match(r.stderr, /item=2\b/);
  assert.match(
    r.stderr,
    /values=\{"r":1\.0,"m":\{"x":2\.0\},"e":2\.0,"big":9223372036854775807\} e=java\.lang\.Double/,
  );
  const ex = parseJson(r.stdout) as {
    inputs: { cfg: Record<string, unknown> };
    labels: { key: string; value: string }[];
    taskRunList: { taskId: string; outputs?: { values?: Record<string, unknown> } }[];
  };
  assert.deepEqual(ex.inputs.cfg, { ratio: new JavaDouble(1), big: MAX_LONG });
  assert.deepEqual(
    ex.labels.find((l) => l.key === 'ratio'),
    { key: 'ratio', value: '1.0' },
  );
  const values = ex.taskRunList.find((t) => t.taskId === 'out')?.outputs?.values;
  assert.deepEqual(values, {
    r: new JavaDouble(1),
    m: { x: new JavaDouble(2) },
    e: new JavaDouble(2),
    big: MAX_LONG,
  });
});

test('a setting written as a double is the number (or the text) its schema validates: concurrencyLimit 2.5 refused, 2.0 taken, errorMessage 1.0 is "1.0"', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-numbers-'));
  const flow = (limit: string) => `id: settings
namespace: company.ops
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [a]
    concurrencyLimit: ${limit}
    tasks:
      - id: fail
        type: io.kestra.plugin.core.execution.Fail
        errorMessage: 1.0
`;
  const bad = join(dir, 'bad.yml');
  await writeFile(bad, flow('2.5'));
  const refused = await cli.run(['validate', bad]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /bad\.yml:7:\d+: tasks\[0\]\.concurrencyLimit: got 2\.5; expected int/);
  const good = join(dir, 'good.yml');
  await writeFile(good, flow('2.0'));
  const r = await cli.run(['run', good, '--json']);
  assert.equal(r.code, 1, r.stderr);
  const ex = parseJson(r.stdout) as { taskRunList: { taskId: string; state: { current: string } }[] };
  assert.equal(ex.taskRunList.find((t) => t.taskId === 'fail')?.state.current, 'FAILED');
  assert.match(r.stderr, /\[fail\] 1\.0$/m);
});

const API_FLOW = `id: api_numbers
namespace: company.ops
inputs:
  - id: cfg
    type: JSON
  - id: n
    type: INT
    required: false
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "ratio={{ inputs.cfg.ratio }} big={{ inputs.cfg.big }}"
outputs:
  - id: cfg
    type: JSON
    value: "{{ inputs.cfg }}"
`;

const HOOK_FLOW = `id: hook_numbers
namespace: company.ops
inputs:
  - id: payload
    type: JSON
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: k3y-for-tests
    wait: true
    inputs:
      payload: "{{ trigger.body }}"
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "payload={{ inputs.payload }}"
`;

const CFG = '{"ratio":1.0,"big":9223372036854775807}';

for (const store of ['SQLite', 'PostgreSQL']) {
  test(`${store}: a JSON input in a JSON request body and a webhook's {{ trigger.body }} input keep 1.0 and 2^63-1 (answer, outputs, store); {"n": 5.0} is refused for an INT input as Kestra's Integer.valueOf refuses it`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'kf-numbers-'));
    await writeFile(join(dir, 'api_numbers.yml'), API_FLOW);
    await writeFile(join(dir, 'hook_numbers.yml'), HOOK_FLOW);
    // The server in this process: its second start reads the executions back from the store.
    const options = {
      paths: [dir],
      stateDir: join(dir, 'state'),
      ...(store === 'PostgreSQL' ? { databaseUrl: await pgsql.freshDatabase() } : {}),
    };
    const first = await apiServerInProcess(t, options);
    const post = (path: string, body: string) =>
      fetch(`${first.url}/api/v1/main/executions/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });

    const r = await post('company.ops/api_numbers?wait=true', `{"cfg":${CFG}}`);
    const answered = await r.text();
    assert.equal(r.status, 200, answered);
    assert.ok(answered.includes(`"inputs":{"cfg":${CFG}}`), answered);
    assert.ok(answered.includes(`"outputs":{"cfg":${CFG}}`), answered);
    const { id } = parseJson(answered) as { id: string };
    const api = await look(first.url, id);
    assert.ok(api.logs.includes('ratio=1.0 big=9223372036854775807'), api.logs);

    const h = await post('webhook/company.ops/hook_numbers/k3y-for-tests', CFG);
    const hooked = await h.text();
    assert.equal(h.status, 200, hooked);
    assert.ok(hooked.includes(`"inputs":{"payload":${CFG}}`), hooked);
    const hookId = (parseJson(hooked) as { id: string }).id;
    const hookLogs = JSON.parse((await look(first.url, hookId)).logs) as { message: string }[];
    assert.ok(
      hookLogs.some((l) => l.message === `payload=${CFG}`),
      hookLogs.map((l) => l.message).join('\n'),
    );

    const refused = await post('company.ops/api_numbers', `{"cfg":{},"n":5.0}`);
    assert.equal(refused.status, 422);
    const message = ((await refused.json()) as { message: string }).message;
    assert.match(message, /^input 'n': 5\.0 is not a valid INT input; expected a whole number/);
    assert.doesNotMatch(message, /\n/);
    const taken = await post('company.ops/api_numbers?wait=true', `{"cfg":{},"n":5}`);
    assert.equal(taken.status, 200);
    assert.match(await taken.text(), /"n":5[,}]/);
    await first.stop();

    // Read back from the store by a new server.
    const second = await apiServerInProcess(t, options);
    const stored = await look(second.url, id);
    assert.ok(stored.text.includes(`"inputs":{"cfg":${CFG}}`), stored.text);
    assert.ok(stored.text.includes(`"outputs":{"cfg":${CFG}}`), stored.text);
    assert.ok((await look(second.url, hookId)).text.includes(`"inputs":{"payload":${CFG}}`));
  });
}

test('an INT refuses a double, whole or not, as Integer.valueOf does: -i n=5.0 and an ARRAY of INT given [5.0] are refused in one line; [5] is taken', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-numbers-'));
  const file = join(dir, 'ints.yml');
  await writeFile(
    file,
    `id: ints
namespace: company.ops
inputs:
  - id: ints
    type: ARRAY
    itemType: INT
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "ints={{ inputs.ints }}"
`,
  );
  const refused = await cli.run(['run', file, '-i', 'ints=[1, 5.0]']);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(
    refused.stderr,
    /^error: input 'ints'\[1\]: 5\.0 is not a valid INT input; expected a whole number from -2147483648 to 2147483647 \(a Java Integer, as in Kestra\)$/m,
  );
  const taken = await cli.run(['run', file, '-i', 'ints=[1, 5]']);
  assert.equal(taken.code, 0, taken.stderr);
  assert.match(taken.stderr, /ints=\[1,5\]/);
});
