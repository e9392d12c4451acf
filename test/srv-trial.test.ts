import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { apiServer } from './api-server.js';
import { runCli, sim } from './helpers.js';
import { REALISTIC_LATENCY, ServerProcess } from './server-process.js';

// Findings of a new user's trial of `kestra-fastly server` and its state folder.

const b64 = (s: string) => Buffer.from(s).toString('base64');

const everySecond = (id: string) => `id: ${id}
namespace: company.ops
triggers:
  - id: tick
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "tick {{ trigger.date }}"
`;

const HOOK_FLOW = `id: hook
namespace: company.cms
inputs:
  - id: keys
    type: ARRAY
    itemType: STRING
triggers:
  - id: on_publish
    type: io.kestra.plugin.core.trigger.Webhook
    key: hook-key-123
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ inputs.keys }}"
`;

const started = /schedule company\.ops\.\w+\.tick: slot \S+ started execution/g;

/** This process's start time as /proc shows it: what a server writes in its lock beside its pid. */
function ownStartTime(): string {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] as string;
}

test('a second server on the same --state-dir refuses (exit 1, one line naming the holder); after kill -9 a restart takes the stale lock', async (t) => {
  const s = await sim(t, { faults: REALISTIC_LATENCY });
  const dir = await mkdtemp(join(tmpdir(), 'kf-lock-'));
  await writeFile(join(dir, 'tick.yml'), everySecond('tick'));
  const state = join(dir, 'state');
  const env = { FASTLY_API_ENDPOINT: s.url };
  const args = [join(dir, 'tick.yml'), '--state-dir', state];

  const first = new ServerProcess(args, env);
  t.after(() => first.child.kill('SIGKILL'));
  await first.waitFor(/HTTP API on/);
  const second = await runCli(['server', ...args, '--listen', '127.0.0.1:0'], env);
  assert.equal(second.code, 1, second.stderr);
  assert.equal(
    second.stderr,
    `error: --state-dir: ${state} is in use by another server (pid ${first.child.pid}); expected a state folder no other server is using\n`,
  );
  assert.equal(second.stdout, '');
  // The first one keeps firing, alone.
  await first.waitForCount(started, 2);

  await first.stop('SIGKILL');
  assert.ok(existsSync(join(state, 'server.lock')), 'kill -9 leaves the lock behind');
  const third = new ServerProcess(args, env);
  t.after(() => third.child.kill('SIGKILL'));
  await third.waitForCount(started, 1);
  const fourth = await runCli(['server', ...args, '--listen', '127.0.0.1:0'], env);
  assert.equal(fourth.code, 1, fourth.stderr);
  assert.match(fourth.stderr, new RegExp(`in use by another server \\(pid ${third.child.pid}\\)`));
  assert.equal(await third.stop(), 0, third.output);
  assert.ok(!existsSync(join(state, 'server.lock')), 'a stopped server removes its lock');
});

test('a lock whose pid now belongs to another process (pid reuse) is stale; one with the live holder’s start time is not', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-lock-reuse-'));
  await writeFile(join(dir, 'tick.yml'), everySecond('tick'));
  const state = join(dir, 'state');
  await mkdir(state);
  const args = [join(dir, 'tick.yml'), '--state-dir', state];
  // This test's own pid is alive; written with the wrong start time, it is a dead server's pid reused.
  await writeFile(join(state, 'server.lock'), JSON.stringify({ pid: process.pid, started: '1' }));
  const server = new ServerProcess(args, {});
  t.after(() => server.child.kill('SIGKILL'));
  await server.waitFor(/HTTP API on/);
  assert.equal(await server.stop(), 0, server.output);

  await writeFile(join(state, 'server.lock'), JSON.stringify({ pid: process.pid, started: ownStartTime() }));
  const refused = await runCli(['server', ...args, '--listen', '127.0.0.1:0']);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(
    refused.stderr,
    new RegExp(`^error: --state-dir: .* in use by another server \\(pid ${process.pid}\\)`),
  );
  // A lock cut short by a crash while it was written is stale too.
  await writeFile(join(state, 'server.lock'), '{"pid": 12');
  const again = new ServerProcess(args, {});
  t.after(() => again.child.kill('SIGKILL'));
  await again.waitFor(/HTTP API on/);
  assert.equal(await again.stop(), 0, again.output);
});

test('a --state-dir that is a file, under a file or not creatable is one line naming --state-dir and the reason (exit 2)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-statedir-'));
  await writeFile(join(dir, 'hook.yml'), HOOK_FLOW);
  const afile = join(dir, 'afile');
  await writeFile(afile, 'x');
  for (const [stateDir, reason] of [
    [afile, 'it is a file, not a folder'],
    [join(afile, 'sub'), 'a part of its path is a file, not a folder'],
    ['/sys/nope', 'EPERM: operation not permitted'],
  ] as const) {
    const r = await runCli([
      'server',
      join(dir, 'hook.yml'),
      '--state-dir',
      stateDir,
      '--listen',
      '127.0.0.1:0',
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      `error: --state-dir: ${stateDir} cannot be used (${reason}); expected a folder the server can create and write\n`,
    );
  }
});

test('a missing input: the API and the webhook answer 422 in HTTP terms, the CLI keeps its --input hint; an ARRAY is a JSON list everywhere', async (t) => {
  const s = await sim(t, { faults: REALISTIC_LATENCY });
  const dir = await mkdtemp(join(tmpdir(), 'kf-hint-'));
  const file = join(dir, 'hook.yml');
  await writeFile(file, HOOK_FLOW);
  const env = { FASTLY_API_ENDPOINT: s.url, SECRET_X: b64('x') };

  const cli = await runCli(['run', file], env);
  assert.equal(cli.code, 2, cli.stderr);
  assert.equal(
    cli.stderr,
    "error: input 'keys' (ARRAY) is required; pass --input keys=VALUE or give it defaults\n",
  );
  const listCli = await runCli(['run', file, '--input', 'keys=a, b'], env);
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

test('search refuses an unknown state with 400 naming the accepted ones; known states (repeated) filter', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-search-'));
  const file = join(dir, 'hook.yml');
  await writeFile(file, HOOK_FLOW);
  const { server, url } = await apiServer([file, '--state-dir', join(dir, 'state')], {});
  t.after(() => server.stop());
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

test('deleting a flow file while the server runs logs that its triggers are stopped, and they are', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-removed-'));
  const flows = join(dir, 'flows');
  await mkdir(flows);
  await writeFile(join(flows, 'keep.yml'), everySecond('keep'));
  await writeFile(join(flows, 'gone.yml'), everySecond('gone'));
  const server = new ServerProcess([flows, '--state-dir', join(dir, 'state')], {});
  t.after(() => server.child.kill('SIGKILL'));
  await server.waitFor(/company\.ops\.gone\.tick: slot \S+ started execution/);
  await rm(join(flows, 'gone.yml'));
  await server.waitFor(
    new RegExp(
      `removed ${join(flows, 'gone.yml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: its triggers are stopped`,
    ),
  );
  // Two more slots of the kept flow after the removal, none of the removed one.
  const at = server.output.length;
  await server.until(
    (out) => (out.slice(at).match(/company\.ops\.keep\.tick: slot \S+ started execution/g) ?? []).length >= 3,
    'three slots of keep after the removal',
  );
  const after = server.output.slice(at).split('\n');
  // The slot in flight when the file went may still start; none after the kept flow's second slot.
  const secondKeep = after.findIndex(
    (l, i) => /keep\.tick: slot/.test(l) && after.slice(0, i).some((m) => /keep\.tick: slot/.test(m)),
  );
  assert.ok(!after.slice(secondKeep).some((l) => /gone\.tick: slot/.test(l)), server.output);
  assert.equal(await server.stop(), 0, server.output);
});

test('executions: the header lines up with every column, whatever the flow names', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-table-'));
  const rec = (id: string, flowId: string, state: string, start: string, extra = {}) =>
    JSON.stringify({
      id,
      namespace: 'company.ops',
      flowId,
      state,
      outputs: {},
      startDate: start,
      endDate: start,
      durationMs: 0,
      ...extra,
    });
  await writeFile(
    join(dir, 'executions.jsonl'),
    [
      rec('id-1', 'f', 'SUCCESS', '2026-11-21T10:00:05.000Z', { trigger: { value: 120 } }),
      rec('id-22', 'a_much_longer_flow_name', 'FAILED', '2026-11-21T10:00:06.000Z', { error: 'boom' }),
    ].join('\n') + '\n',
  );
  const r = await runCli(['executions', '--state-dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  const [header, ...rows] = r.stdout.trimEnd().split('\n') as [string, ...string[]];
  const starts = (line: string) =>
    [...line.matchAll(/(?:^|\s{2})(\S)/g)].map((m) => (m.index ?? 0) + m[0].length - 1);
  const columns = ['STATE', 'FLOW', 'ID'].map((h) => header.indexOf(h));
  for (const row of rows) {
    const cells = starts(row);
    for (const c of columns)
      assert.ok(cells.includes(c), `a cell starts under each header:\n${header}\n${row}`);
  }
  assert.match(rows[0] ?? '', /SUCCESS\s+company\.ops\.f\s+id-1\s+value=120$/);
  assert.match(rows[1] ?? '', /FAILED\s+company\.ops\.a_much_longer_flow_name\s+id-22\s+boom$/);
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
  const r = await runCli(['run', file]);
  assert.equal(r.code, 0, r.stderr);
  const all = r.stdout + r.stderr;
  assert.match(all, /failed \(allowFailure\): task 'big' timed out after PT1S/);
  assert.doesNotMatch(all, /Error: task 'big'/);
  assert.match(all, /went on/);
});
