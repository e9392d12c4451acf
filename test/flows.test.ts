import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InterruptedError } from '../src/cli/interrupt.js';
import { runFlow } from '../src/flow/executor.js';
import { renderString } from '../src/flow/expressions.js';
import { parseFlow } from '../src/flow/load.js';
import { Masker } from '../src/masker.js';
import { TASKS } from '../src/tasks/index.js';
import { cliHost } from './cli-host.js';
import { SERVICE, sim, taskOutputs } from './helpers.js';
import { receiver } from './receiver.js';

/** What `run --json` prints (the fields these tests read). */
/** What `run --json` prints: the execution in Kestra's shape. */
interface Execution {
  state: { current: string };
  inputs: unknown;
  taskRunList: { taskId: string; value?: string; outputs?: unknown }[];
  trigger: { variables: { value: number } };
}

/** The parts of `kestra-fastly schema` these tests read. */
interface JsonSchema {
  required: string[];
  $defs: Record<string, { required: string[]; properties: Record<string, { description?: string }> }>;
}

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '../../examples');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const TOKEN = 'canary-TOKEN-1234';
/** Every CLI run of this file, in one process (cli-host.ts). */
const cli = cliHost();
const SEED_FLOWS = [
  'purge_homepage.yml',
  'purge_product_keys.yml',
  'fastly_daily_stats.yml',
  'fastly_month_to_date_usage.yml',
  'fastly_error_alert.yml',
];

test('each seed flow runs unchanged with base64 SECRET_* variables, and --json shows the outputs', async (t) => {
  const s = await sim(t);
  const now = Math.floor(Date.now() / 1000);
  s.addScenario({ serviceId: SERVICE, field: 'status_5xx', from: now - 1800, to: now - 1200, perMinute: 30 });
  const env = {
    SECRET_FASTLY_API_TOKEN: b64('seed-token'),
    SECRET_FASTLY_SERVICE_ID: b64(SERVICE),
    FASTLY_API_ENDPOINT: s.url,
  };
  const outputs: Record<string, Record<string, unknown>> = {};
  for (const file of SEED_FLOWS) {
    const r = await cli.run(['run', join(EXAMPLES, file), '--json'], env);
    assert.equal(r.code, 0, `${file}: ${r.stderr}`);
    const ex = JSON.parse(r.stdout) as Execution;
    assert.equal(ex.state.current, 'SUCCESS', file);
    // `outputs` are the flow's (none declared here): each task's are in its task run.
    for (const k of ['id', 'namespace', 'flowId', 'state', 'inputs', 'taskRunList']) assert.ok(k in ex, k);
    assert.equal('outputs' in ex, false);
    assert.ok(Array.isArray(ex.taskRunList) && ex.taskRunList.length > 0);
    outputs[file] = taskOutputs(ex);
    if (file === 'fastly_error_alert.yml') {
      assert.ok(ex.trigger.variables.value > 50);
      // Doubles, as in Kestra: the Java plugin's StatsTrigger.Output has `Double value`, `Double threshold`.
      assert.match(r.stderr, /5xx spike: \d+\.0 errors \(threshold: 50\.0\)/);
    }
  }
  assert.equal((outputs['purge_homepage.yml'] as { purge: { status: string } }).purge.status, 'ok');
  assert.deepEqual(
    Object.keys(
      (outputs['purge_product_keys.yml'] as { purge_keys: { purgeIds: object } }).purge_keys.purgeIds,
    ),
    ['product-42', 'product-43'],
  );
  const stats = outputs['fastly_daily_stats.yml']?.fetch_stats as { data: Record<string, unknown[]> };
  assert.equal(stats.data[SERVICE]?.length, 24);
  const mtd = outputs['fastly_month_to_date_usage.yml'] as { fetch_mtd_usage: { data: { total: object } } };
  assert.ok(mtd.fetch_mtd_usage.data.total);
  assert.ok(s.log.some((e) => e.path === `/purge/https://www.example.com/`));
});

test('every example flow is valid', async () => {
  const files = (await readdir(EXAMPLES)).map((f) => join(EXAMPLES, f));
  const r = await cli.run(['validate', ...files]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, files.length);
});

test('inputs render to typed values: a list input becomes the surrogateKeys list', async (t) => {
  const s = await sim(t);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };
  const r = await cli.run(
    [
      'run',
      join(EXAMPLES, 'purge_articles_on_publish.yml'),
      '--input',
      'article_ids=["a1","a2","a1"]',
      '--input',
      'soft=false',
      '--json',
    ],
    env,
  );
  assert.equal(r.code, 0, r.stderr);
  const ex = JSON.parse(r.stdout) as Execution;
  const purged = taskOutputs(ex).purge_articles as { purgeIds: object; duplicatesRemoved: number };
  assert.deepEqual(Object.keys(purged.purgeIds), ['a1', 'a2']);
  assert.equal(purged.duplicatesRemoved, 1);
  assert.deepEqual(ex.inputs, { article_ids: ['a1', 'a2', 'a1'], soft: false });
  assert.equal(s.log[0]?.soft, false);
  assert.match(r.stderr, /Purged 2 article key\(s\) in 1 request\(s\)/);
});

test('purge_articles_on_publish: a failed purge of a key with a quote reaches Slack as valid JSON naming it (toJson, not values pasted into JSON text)', async (t) => {
  const s = await sim(t, { faults: { latencyMs: 100, latencyJitterMs: 200 } });
  const slack = await receiver(t);
  const r = await cli.run(
    [
      'run',
      join(EXAMPLES, 'purge_articles_on_publish.yml'),
      '--input',
      'article_ids=["article-1","say \\"hi\\""]',
    ],
    {
      FASTLY_API_TOKEN: 'tok',
      FASTLY_SERVICE_ID: SERVICE,
      FASTLY_API_ENDPOINT: s.url,
      SLACK_WEBHOOK_URL: `${slack.url}/services/T000/B000/XXXX`,
    },
  );
  // The purge fails (a key with a space); the errors task tells Slack, and succeeds.
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /\[tell_slack\] Slack message sent/);
  assert.doesNotMatch(r.stderr, /not valid JSON/);
  assert.equal(slack.received.length, 1);
  const message = JSON.parse(slack.received[0]?.body ?? '') as { text: string };
  assert.match(
    message.text,
    /^Purging articles article-1, say "hi" failed \(execution \S+\): surrogateKeys\[1\] "say \\"hi\\"" contains whitespace/,
  );
});

test('every payload of a notification, in examples/ and in the task docs, is JSON whatever the values hold (a quote, a backslash, a line break)', async () => {
  const nasty = 'a "quoted" \\ value\non two lines';
  const context = {
    flow: { id: nasty, namespace: nasty },
    execution: { id: nasty },
    inputs: { article_ids: [nasty, 'article-2'] },
    trigger: { value: nasty, threshold: nasty, serviceId: nasty },
    outputs: { purge: { id: nasty } },
  };
  const scope = { where: 'payload', secret: () => nasty, errorLogs: () => [{ message: nasty }] };
  const flows = [
    ...(await Promise.all(
      ['purge_articles_on_publish.yml', 'fastly_error_alert_to_slack.yml'].map(async (f) => ({
        name: f,
        text: await readFile(join(EXAMPLES, f), 'utf8'),
      })),
    )),
    ...Object.values(TASKS)
      .filter((def) => def.type.includes('.notifications.'))
      .flatMap((def) => def.examples.map((e) => ({ name: def.type, text: e.flow }))),
  ];
  assert.ok(flows.length >= 5, `${flows.length} flows`);
  for (const { name, text } of flows) {
    const f = parseFlow(text, name);
    const payloads = [...f.tasks, ...f.errors]
      .filter((task) => task.type.includes('.notifications.'))
      .map((task) => task.props.payload as string);
    assert.ok(payloads.length > 0, name);
    for (const payload of payloads) {
      const rendered = renderString(payload, context, scope);
      const parsed = JSON.parse(String(rendered)) as unknown;
      assert.ok(
        JSON.stringify(parsed).includes(JSON.stringify(nasty).slice(1, -1)),
        `${name}: ${String(rendered)}`,
      );
    }
  }
});

function flow(tasks: string, extra = ''): string {
  return `id: f\nnamespace: company.test\n${extra}tasks:\n${tasks}`;
}

test('expressions: filters, ??, now(), vars, outputs, runIf, If, allowFailure, retry', async () => {
  const f = parseFlow(
    flow(
      `  - id: values
    type: io.kestra.plugin.core.output.OutputValues
    values:
      upper: "{{ vars.name | upper }}"
      joined: "{{ inputs.keys | join('+') }}"
      count: "{{ inputs.keys | length }}"
      fallback: "{{ inputs.missing ?? 'none' }}"
      dflt: "{{ inputs.other | default('dflt') }}"
      date: "{{ '2026-11-21T10:00:00Z' | date('yyyy-MM-dd') }}"
      json: "{{ inputs.keys | toJson }}"
      flow: "{{ flow.namespace }}.{{ flow.id }}"
      year: "{{ now() | date('yyyy') }}"
  - id: skipped
    type: io.kestra.plugin.core.log.Log
    runIf: "{{ inputs.keys | length > 5 }}"
    message: never
  - id: branch
    type: io.kestra.plugin.core.flow.If
    condition: "{{ outputs.values.values.count == 2 }}"
    then:
      - id: inner
        type: io.kestra.plugin.core.output.OutputValues
        values:
          took: then
  - id: broken
    type: io.kestra.plugin.core.log.Log
    allowFailure: true
    message: "{{ vars['nothing' ~ '_here'].deeper }}"
`,
      'variables:\n  name: fastly\ninputs:\n  - id: keys\n    type: JSON\n',
    ),
    'inline.yml',
  );
  const lines: string[] = [];
  const ex = await runFlow(f, { inputs: { keys: ['a', 'b'] }, write: (l) => lines.push(l), env: {} });
  assert.equal(ex.state, 'WARNING');
  assert.deepEqual(ex.outputs.values, {
    values: {
      upper: 'FASTLY',
      joined: 'a+b',
      count: 2,
      fallback: 'none',
      dflt: 'dflt',
      date: '2026-11-21',
      json: '["a","b"]',
      flow: 'company.test.f',
      year: String(new Date().getUTCFullYear()),
    },
  });
  assert.deepEqual(ex.outputs.inner, { values: { took: 'then' } });
  assert.deepEqual(
    ex.taskRuns.map((r) => [r.taskId, r.state]),
    [
      ['values', 'SUCCESS'],
      ['skipped', 'SKIPPED'],
      ['branch', 'SUCCESS'],
      ['inner', 'SUCCESS'],
      ['broken', 'WARNING'],
    ],
  );
  assert.match(
    ex.taskRuns.at(-1)?.error ?? '',
    // A name validation cannot see (a computed key) fails when the task runs.
    /task 'broken'.*undefined variable 'vars\.nothing_here'/,
  );
});

test('task retry: a failing purge is retried per the retry policy, then the execution fails with the cause', async (t) => {
  const s = await sim(t, { faults: { rate5xx: 1 } });
  const f = parseFlow(
    flow(`  - id: purge
    type: io.kestra.plugin.fastly.purge.Key
    apiToken: tok
    serviceId: ${SERVICE}
    surrogateKey: k
    retry:
      type: constant
      interval: PT0.01S
      maxAttempt: 3
`),
    'retry.yml',
  );
  const ex = await runFlow(f, {
    env: { FASTLY_API_ENDPOINT: s.url },
    write: () => {},
    client: { retry: { maxAttempts: 1 } },
  });
  assert.equal(ex.state, 'FAILED');
  assert.equal(ex.taskRuns[0]?.attempts, 3);
  assert.equal(s.log.length, 3);
  assert.match(ex.taskRuns[0]?.error ?? '', /purgeKey failed: HTTP 503/);
});

test('secrets: SECRET_ base64 first, then plain env, then --secrets-file; masked in every log line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-sec-'));
  await writeFile(join(dir, 'secrets.env'), 'FROM_FILE=file-secret-value\n');
  const f = parseFlow(
    flow(`  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "a={{ secret('from_b64') }} b={{ secret('PLAIN_ONE') }} c={{ secret('FROM_FILE') }}"
  - id: out
    type: io.kestra.plugin.core.output.OutputValues
    values:
      a: "{{ secret('FROM_B64') }}"
      resolved: "{{ secret('FROM_B64') == 'b64-secret-value' ? 'right value' : 'wrong value' }}"
`),
    's.yml',
  );
  const lines: string[] = [];
  const masker = new Masker();
  const ex = await runFlow(f, {
    env: { SECRET_FROM_B64: b64('b64-secret-value'), PLAIN_ONE: 'plain-secret-value' },
    secretsFile: join(dir, 'secrets.env'),
    masker,
    write: (l) => lines.push(l),
  });
  assert.equal(ex.state, 'SUCCESS');
  // The task saw the value; the execution shows it masked (outputs are printed and stored).
  assert.deepEqual(ex.outputs.out, { values: { a: '******', resolved: 'right value' } });
  const log = lines.join('\n');
  assert.match(log, /a=\*\*\*\*\*\* b=\*\*\*\*\*\* c=\*\*\*\*\*\*/);
  for (const v of ['b64-secret-value', 'plain-secret-value', 'file-secret-value'])
    assert.ok(!log.includes(v));
  const missing = await runFlow(
    parseFlow(
      flow(`  - id: x\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ secret('NOPE') }}"\n`),
      'm.yml',
    ),
    {
      env: {},
      write: () => {},
    },
  );
  assert.match(missing.taskRuns[0]?.error ?? '', /Cannot find secret for key 'NOPE'/);
  void t;
});

/** Each malformed flow, with the line and a fragment of the message it must produce. */
const MALFORMED: [string, string, number, RegExp][] = [
  [
    'missing namespace',
    'id: f\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n',
    1,
    /namespace: is missing/,
  ],
  [
    'bad flow id',
    'id: "-f"\nnamespace: a.b\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n',
    1,
    /id: .*expected an id matching/,
  ],
  [
    'upper-case namespace',
    'id: f\nnamespace: Company\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n',
    2,
    /namespace: .*lower-case/,
  ],
  ['no tasks', 'id: f\nnamespace: a\ntasks: []\n', 3, /at least one task/],
  [
    'unknown top-level key',
    'id: f\nnamespace: a\nfoo: 1\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n',
    3,
    /foo: unknown flow property/,
  ],
  [
    'unknown task type',
    flow('  - id: a\n    type: io.kestra.plugin.fastly.purge.Everything\n'),
    5,
    /unknown Fastly task type .*known types: io.kestra.plugin.fastly.purge.Url/,
  ],
  ['task without type', flow('  - id: a\n    message: hi\n'), 4, /tasks\[0\]\.type: is missing/],
  [
    'task id with a dot',
    flow('  - id: a.b\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n'),
    4,
    /no dots/,
  ],
  [
    'duplicate task ids',
    flow(
      '  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n',
    ),
    7,
    /duplicate task id 'a'/,
  ],
  [
    'unknown property',
    flow(
      '  - id: a\n    type: io.kestra.plugin.fastly.purge.Url\n    apiToken: t\n    url: https://x.com/\n    urls: []\n',
    ),
    8,
    /urls: unknown property/,
  ],
  [
    'missing required property',
    flow('  - id: a\n    type: io.kestra.plugin.fastly.purge.Keys\n    apiToken: t\n    serviceId: s\n'),
    4,
    /surrogateKeys: is missing; expected array/,
  ],
  [
    'wrong property type',
    flow(
      '  - id: a\n    type: io.kestra.plugin.fastly.purge.Url\n    apiToken: t\n    url: https://x.com/\n    soft: maybe\n',
    ),
    8,
    /soft: got "maybe"; expected boolean/,
  ],
  [
    'soft purge-all',
    flow(
      '  - id: a\n    type: io.kestra.plugin.fastly.purge.All\n    apiToken: t\n    serviceId: s\n    soft: true\n',
    ),
    8,
    /purge-all cannot be soft/,
  ],
  [
    'bad by',
    flow('  - id: a\n    type: io.kestra.plugin.fastly.stats.Stats\n    apiToken: t\n    by: second\n'),
    7,
    /by: got "second"; expected one of minute, hour, day/,
  ],
  [
    'bad log level',
    flow('  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n    level: LOUD\n'),
    7,
    /level: .*TRACE, DEBUG, INFO, WARN, ERROR/,
  ],
  [
    'bad retry type',
    flow(
      '  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n    retry:\n      type: sometimes\n',
    ),
    8,
    /retry type constant, exponential or random/,
  ],
  [
    'bad input type',
    'id: f\nnamespace: a\ninputs:\n  - id: x\n    type: STRNG\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n',
    5,
    /inputs\[0\]\.type: .*STRING/,
  ],
  [
    'bad input id',
    'id: f\nnamespace: a\ninputs:\n  - id: "x y"\n    type: STRING\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n',
    4,
    /inputs\[0\]\.id/,
  ],
  [
    'unknown trigger type',
    'id: f\nnamespace: a\ntriggers:\n  - id: t\n    type: io.kestra.plugin.core.trigger.Flow\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n',
    5,
    /unknown trigger type .*StatsTrigger/,
  ],
  [
    'malformed stats field name in a trigger',
    'id: f\nnamespace: a\ntriggers:\n  - id: t\n    type: io.kestra.plugin.fastly.stats.StatsTrigger\n    apiToken: t\n    serviceId: s\n    field: Status 5xx\n    threshold: 5\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n',
    8,
    /field: got "Status 5xx"; expected a stats field name/,
  ],
  [
    'threshold that is a list',
    'id: f\nnamespace: a\ntriggers:\n  - id: t\n    type: io.kestra.plugin.fastly.stats.StatsTrigger\n    apiToken: t\n    serviceId: s\n    field: requests\n    threshold: [5]\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n',
    9,
    /threshold: got \[5\]; expected number/,
  ],
  [
    'unknown comparator',
    'id: f\nnamespace: a\ntriggers:\n  - id: t\n    type: io.kestra.plugin.fastly.stats.StatsTrigger\n    apiToken: t\n    serviceId: s\n    field: requests\n    threshold: 5\n    comparator: BIGGER\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n',
    10,
    /comparator: got "BIGGER"; expected one of GREATER_THAN/,
  ],
  [
    'interval not ISO-8601',
    'id: f\nnamespace: a\ntriggers:\n  - id: t\n    type: io.kestra.plugin.fastly.stats.StatsTrigger\n    apiToken: t\n    serviceId: s\n    field: requests\n    threshold: 5\n    interval: 5m\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n',
    10,
    /interval: got "5m"; expected an ISO-8601 duration/,
  ],
  [
    'YAML syntax error',
    'id: f\nnamespace: a\ntasks:\n  - id: a\n    type: [unclosed\n',
    6,
    /YAML syntax error/,
  ],
  [
    'duplicate YAML key',
    'id: f\nid: g\nnamespace: a\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n',
    2,
    /YAML syntax error: Map keys must be unique/,
  ],
  ['a list instead of a flow', '- a\n- b\n', 1, /expected a flow/],
];

test(`${MALFORMED.length} malformed flows each give a located, specific error and exit code 2`, async () => {
  assert.ok(MALFORMED.length >= 20);
  const dir = await mkdtemp(join(tmpdir(), 'kf-bad-'));
  for (const [name, text, line, pattern] of MALFORMED) {
    const file = join(dir, `${name.replace(/\W+/g, '_')}.yml`);
    await writeFile(file, text);
    const r = await cli.run(['validate', file]);
    assert.equal(r.code, 2, `${name}: exit ${r.code}\n${r.stderr}`);
    const first = r.stderr.split('\n')[0] ?? '';
    assert.match(
      first,
      new RegExp(`^error: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}:\\d+: `),
      `${name}: ${first}`,
    );
    assert.match(r.stderr, pattern, name);
    assert.ok(!/\n\s+at /.test(r.stderr), `${name}: no stack trace`);
  }
});

test('several errors in one file are reported together', () => {
  assert.throws(
    () =>
      parseFlow(
        'id: f\nnamespace: A\ntasks:\n  - id: a\n    type: nope\n  - id: b\n    type: io.kestra.plugin.core.log.Log\n',
        'multi.yml',
      ),
    (err: Error) => err.message.split('\n').length === 3 && /multi.yml:2:12: namespace/.test(err.message),
  );
});

test('a flow over 1 MB is refused before parsing; invalid input values exit 2 before any request', async (t) => {
  const s = await sim(t);
  const dir = await mkdtemp(join(tmpdir(), 'kf-big-'));
  await writeFile(join(dir, 'big.yml'), `id: f\nnamespace: a\n# ${'x'.repeat(2 * 1024 * 1024)}\ntasks: []\n`);
  const big = await cli.run(['run', join(dir, 'big.yml')]);
  assert.equal(big.code, 2);
  assert.match(big.stderr, /the flow file is 2.0 MB; the limit is 1 MB/);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };
  const badInput = await cli.run(
    ['run', join(EXAMPLES, 'purge_articles_on_publish.yml'), '--input', 'soft=perhaps'],
    env,
  );
  assert.equal(badInput.code, 2);
  assert.match(
    badInput.stderr,
    /input 'soft': "perhaps" is not a valid BOOLEAN input; expected true or false/,
  );
  const unknown = await cli.run(
    ['run', join(EXAMPLES, 'purge_articles_on_publish.yml'), '--input', 'colour=red'],
    env,
  );
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /the flow has no input 'colour'; it declares: article_ids, soft/);
  const badB64 = await cli.run(['run', join(EXAMPLES, 'purge_homepage.yml')], {
    SECRET_FASTLY_API_TOKEN: 'not*base64!',
    FASTLY_API_ENDPOINT: s.url,
  });
  assert.equal(badB64.code, 2);
  assert.match(badB64.stdout + badB64.stderr, /SECRET_FASTLY_API_TOKEN: the value is not valid base64/);
  assert.equal(s.log.length, 0);
});

test('the Kestra bridge prints outputs and metrics in the script-task protocol', async (t) => {
  const s = await sim(t);
  // U+0085 is no whitespace to a surrogate key, but Java's `.` would not match it unescaped.
  const keys = Array.from({ length: 300 }, (_, i) => (i === 0 ? 'k0\u0085' : `k${i}`));
  const r = await cli.run(
    ['task', 'io.kestra.plugin.fastly.purge.Keys', '--props', JSON.stringify({ surrogateKeys: keys })],
    {
      FASTLY_API_TOKEN: 'tok',
      FASTLY_SERVICE_ID: SERVICE,
      FASTLY_API_ENDPOINT: s.url,
    },
  );
  assert.equal(r.code, 0, r.stderr);
  const KESTRA_LINE = /^::(\{.*})::$/;
  const parsed = r.stdout
    .trim()
    .split('\n')
    .map((l) => KESTRA_LINE.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(
      (m) =>
        JSON.parse(m[1] ?? '{}') as { outputs?: { purgeIds: Record<string, string> }; metrics?: unknown },
    );
  assert.equal(parsed.length, r.stdout.trim().split('\n').length, 'every line matches Kestra’s pattern');
  const outputs = parsed.find((p) => p.outputs)?.outputs;
  assert.ok(outputs, 'an outputs line');
  assert.equal(Object.keys(outputs.purgeIds).length, 300);
  assert.ok(outputs.purgeIds['k0\u0085'], 'U+0085 survives, escaped');
  assert.ok(!r.stdout.includes('\u0085'));
  const metrics = parsed.find((p) => p.metrics)?.metrics as { name: string; type: string; value: number }[];
  assert.deepEqual(
    metrics.map((m) => m.name),
    ['purged.keys', 'failed.keys', 'attempts', 'retries', 'duration'],
  );
  assert.equal(metrics.find((m) => m.name === 'attempts')?.value, 2);
  assert.equal(metrics.find((m) => m.name === 'duration')?.type, 'timer');
});

test('schema: JSON Schema of a flow with every task type and its properties', async () => {
  const r = await cli.run(['schema']);
  assert.equal(r.code, 0);
  const schema = JSON.parse(r.stdout) as JsonSchema;
  assert.deepEqual(schema.required, ['id', 'namespace', 'tasks']);
  const keys = schema.$defs['io.kestra.plugin.fastly.purge.Keys'];
  assert.ok(keys?.properties.surrogateKeys?.description);
  assert.deepEqual(keys.required, ['id', 'type', 'apiToken', 'serviceId', 'surrogateKeys']);
  for (const type of [
    'purge.Url',
    'purge.Key',
    'purge.All',
    'stats.Stats',
    'stats.AggregateStats',
    'stats.Usage',
    'stats.MonthToDateUsage',
    'stats.StatsTrigger',
  ]) {
    assert.ok(schema.$defs[`io.kestra.plugin.fastly.${type}`], type);
  }
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
    const r = await cli.run(['run', file, ...args], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes('canary') && !r.stderr.includes('canary'), r.stdout);
    assert.match(r.stdout, /"t":\s?"\*\*\*\*\*\*"/);
    assert.match(r.stdout, /"svc":\s?"service \*\*\*\*\*\*"/);
    // A secret equal to a key ("values") hides values, never keys.
    assert.doesNotMatch(r.stdout, /"\*\*\*\*\*\*":/);
    assert.match(r.stdout, /"apiToken":/);
  }
});

test('allowFailure: a timed-out task is a warning without a stray "Error:" prefix, and the flow goes on', async (t) => {
  // An HTTP endpoint that never answers.
  const hang = createServer(() => {});
  await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    hang.closeAllConnections();
    hang.close();
  });
  const port = (hang.address() as { port: number }).port;
  const dir = await mkdtemp(join(tmpdir(), 'kf-timeout-'));
  const file = join(dir, 'slow.yml');
  await writeFile(
    file,
    `id: slow
namespace: company.ops
tasks:
  - id: big
    type: io.kestra.plugin.core.http.Request
    uri: http://127.0.0.1:${port}/
    timeout: PT1S
    allowFailure: true
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: went on
`,
  );
  const r = await cli.run(['run', file]);
  assert.equal(r.code, 0, r.stderr);
  const all = r.stdout + r.stderr;
  assert.match(all, /failed \(allowFailure\): task 'big' timed out after PT1S/);
  assert.doesNotMatch(all, /Error: task 'big'/);
  assert.match(all, /went on/);
});

test('an execution interrupted by Ctrl-C is KILLED, with "interrupted by SIGINT" and no class name', async (t) => {
  const s = await sim(t, { faults: { latencyMs: 2000 } });
  const flow = parseFlow(
    `id: f
namespace: company.test
tasks:
  - id: stats
    type: io.kestra.plugin.fastly.stats.Stats
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    from: "1 hour ago"
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: never
`,
    'f.yml',
  );
  const controller = new AbortController();
  const lines: string[] = [];
  const running = runFlow(flow, {
    env: { SECRET_FASTLY_API_TOKEN: Buffer.from('tok').toString('base64'), FASTLY_API_ENDPOINT: s.url },
    signal: controller.signal,
    write: (l) => lines.push(l),
  });
  controller.abort(new InterruptedError('SIGINT'));
  const ex = await running;
  assert.equal(ex.state, 'KILLED');
  assert.deepEqual(
    ex.taskRuns.map((r) => [r.taskId, r.state, r.error]),
    [['stats', 'KILLED', 'interrupted by SIGINT']],
  );
  assert.doesNotMatch(lines.join('\n'), /InterruptedError/);
});
