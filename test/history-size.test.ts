import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type ExecutionRecord, OUTPUTS_INLINE_BYTES, StateStore } from '../src/flow/state.js';
import { history } from './history.js';
import { Masker } from '../src/masker.js';
import { apiServer, ended } from './api-server.js';
import { SERVICE, sim, taskOutputs } from './helpers.js';
import { cliHost } from './cli-host.js';

/** The CLI runs of this file, in one process (cli-host.ts). */
const cli = cliHost();

const b64 = (s: string) => Buffer.from(s).toString('base64');
const KEY = 'history-size-key-91';

const FLOW = `id: big_stats
namespace: company.test
tasks:
  - id: stats
    type: io.kestra.plugin.fastly.stats.Stats
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    from: "6 hours ago"
    by: minute
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: ${KEY}
`;

test('large outputs are kept apart from the execution rows: the history stays small, GET returns them, search and executions leave them out', async (t) => {
  const s = await sim(t);
  const dir = await mkdtemp(join(tmpdir(), 'kf-history-'));
  const flowFile = join(dir, 'big_stats.yml');
  await writeFile(flowFile, FLOW);
  const env = { SECRET_FASTLY_API_TOKEN: b64('tok'), FASTLY_API_ENDPOINT: s.url };
  const state = join(dir, 'state');
  const args = [flowFile, '--state-dir', state];
  let { server, url } = await apiServer(args, env);
  t.after(() => server.stop());

  const r = await fetch(`${url}/api/v1/main/executions/webhook/company.test/big_stats/${KEY}`, {
    method: 'POST',
  });
  assert.equal(r.status, 200);
  const { id } = (await r.json()) as { id: string };
  const ex = await ended(url, id);
  assert.equal(ex.state.current, 'SUCCESS');
  // Each task's outputs are in its task run (the execution's `outputs` are the flow's: none here).
  const outputs = taskOutputs(ex as object) as { stats: { data: Record<string, unknown[]> } };
  const points = outputs.stats.data[SERVICE];
  assert.ok((points?.length ?? 0) >= 350, `a bucket a minute: ${points?.length}`);
  const outputsBytes = JSON.stringify(outputs).length;
  assert.ok(outputsBytes > OUTPUTS_INLINE_BYTES * 2, `outputs of ${outputsBytes} bytes`);

  // The execution's row holds their size; the outputs are in their own table, read by id.
  const [rec] = history(state);
  assert.equal(rec?.id, id);
  assert.equal(rec?.outputs, undefined);
  assert.equal(rec?.outputsBytes, outputsBytes);

  // Listing never loads them.
  const search = await fetch(`${url}/api/v1/main/executions/search`);
  const searchText = await search.text();
  assert.ok(searchText.length < 8 * 1024, `search answered ${searchText.length} bytes`);
  const found = (JSON.parse(searchText) as { results: { id: string; outputs?: unknown }[] }).results;
  assert.deepEqual(
    found.map((e) => [e.id, e.outputs]),
    [[id, undefined]],
  );
  const listed = await cli.run(['executions', '--state-dir', state, '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.ok(listed.stdout.length < 8 * 1024, `executions printed ${listed.stdout.length} bytes`);
  assert.equal((JSON.parse(listed.stdout) as ExecutionRecord[])[0]?.outputsBytes, outputsBytes);

  // After a restart, GET reads them from their file.
  assert.equal(await server.stop('SIGINT'), 0);
  ({ server, url } = await apiServer(args, env));
  const again = (await (await fetch(`${url}/api/v1/main/executions/${id}`)).json()) as object;
  assert.deepEqual(taskOutputs(again), outputs);
});

test('an old history line too big to parse is read by its ends; its outputs only on demand', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-history-old-'));
  const big = {
    stats: { data: Array.from({ length: 150_000 }, (_, i) => ({ i, note: `"outputs": ${i} }` })) },
  };
  const line = (id: string, outputs: unknown, extra = {}) =>
    `${JSON.stringify({
      id,
      namespace: 'n',
      flowId: 'f',
      triggerId: 'hook',
      state: 'SUCCESS',
      trigger: { body: { outputs: 1 } },
      outputs,
      startDate: '2026-11-21T10:00:00.000Z',
      endDate: '2026-11-21T10:00:01.000Z',
      durationMs: 1000,
      ...extra,
    })}\n`;
  const old = line('old', big, { error: 'x'.repeat(100) });
  assert.ok(old.length > 4 * 1024 * 1024, `the old line is ${old.length} bytes`);
  writeFileSync(join(dir, 'executions.jsonl'), line('a', { v: 1 }) + old + line('b', { v: 2 }));
  const store = new StateStore(dir);
  const records = store.history();
  assert.deepEqual(
    records.map((r) => [r.id, r.state, r.endDate, r.triggerId, r.outputs]),
    [
      ['a', 'SUCCESS', '2026-11-21T10:00:01.000Z', 'hook', { v: 1 }],
      ['old', 'SUCCESS', '2026-11-21T10:00:01.000Z', 'hook', undefined],
      ['b', 'SUCCESS', '2026-11-21T10:00:01.000Z', 'hook', { v: 2 }],
    ],
  );
  assert.deepEqual(records[1]?.trigger, { body: { outputs: 1 } });
  assert.equal(records[1]?.error, 'x'.repeat(100));
  assert.deepEqual(store.outputs(records[1]), big);
  assert.ok(!existsSync(join(dir, 'outputs')));
});

test('secrets are masked in any letter case, in text and in values', () => {
  const m = new Masker();
  m.add('CanaryTok3nXyz');
  for (const form of [
    'CanaryTok3nXyz',
    'CANARYTOK3NXYZ',
    'canarytok3nxyz',
    'Canarytok3nxyz',
    b64('CanaryTok3nXyz'),
  ])
    assert.equal(m.mask(`a ${form} b`), 'a ****** b', form);
  const value = { u: 'CANARYTOK3NXYZ', l: ['x canarytok3nxyz'], n: 5, keep: { same: 'text' } };
  const masked = m.maskValues(value);
  assert.deepEqual(masked, { u: '******', l: ['x ******'], n: 5, keep: { same: 'text' } });
  assert.equal(value.u, 'CANARYTOK3NXYZ', 'the original is left as it was');
  assert.equal(masked.keep, value.keep, 'what has no secret is not copied');
  // Characters special in a pattern are matched literally.
  m.add('a.b*c');
  assert.equal(m.mask('a.b*c aXbbc A.B*C'), '****** aXbbc ******');
});

test('secrets of one or two characters are masked too; an empty one masks nothing', () => {
  const m = new Masker();
  m.add('');
  assert.equal(m.mask('s= x'), 's= x');
  m.add('ab');
  assert.equal(m.mask('s=ab AB'), 's=****** ******');
  m.add('q');
  assert.equal(m.mask('s=q Quit'), 's=****** ******uit');
  assert.deepEqual(m.maskValues({ s: 'ab' }), { s: '******' });
  m.addCredential('z');
  assert.equal(m.maskCredentials('z=1'), '******=1');
});

test('run logs a two-character secret masked', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-mask-short-'));
  const file = join(dir, 'f.yml');
  await writeFile(
    file,
    `id: f
namespace: company.test
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "s={{ secret('SHORT') }}"
`,
  );
  const r = await cli.run(['run', file], { SHORT: 'ab' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /s=\*\*\*\*\*\*/);
  assert.doesNotMatch(r.stdout + r.stderr, /s=ab/);
});

test('run --json masks a secret passed through upper, lower and capitalize', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-mask-case-'));
  const file = join(dir, 'f.yml');
  await writeFile(
    file,
    `id: f
namespace: company.test
tasks:
  - id: v
    type: io.kestra.plugin.core.output.OutputValues
    values:
      u: "{{ secret('FASTLY_API_TOKEN') | upper }}"
      l: "{{ secret('FASTLY_API_TOKEN') | lower }}"
      c: "{{ secret('FASTLY_API_TOKEN') | capitalize }}"
      b: "{{ secret('FASTLY_API_TOKEN') | base64encode }}"
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ secret('FASTLY_API_TOKEN') | upper }}"
`,
  );
  const r = await cli.run(['run', file, '--json'], { SECRET_FASTLY_API_TOKEN: b64('CanaryTok3nXyz') });
  assert.equal(r.code, 0, r.stderr);
  const out = taskOutputs(JSON.parse(r.stdout) as object) as { v: { values: Record<string, string> } };
  assert.deepEqual(out.v.values, { u: '******', l: '******', c: '******', b: '******' });
  assert.doesNotMatch(r.stdout + r.stderr, /canarytok3nxyz/i);
});
