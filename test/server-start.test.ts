import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createLogger } from '../src/logger.js';
import { Masker } from '../src/masker.js';
import { FlowRegistry } from '../src/runtime/flows.js';
import { describeFlows, startServer } from '../src/server/index.js';
import { everySecond, SERVICE, sim } from './helpers.js';
import { ServerProcess } from './server-process.js';
import { cliHost } from './cli-host.js';

// What a new user saw of the server's start-up and of flow files changing under it (issue 25).

const LOG_FLOW = (id: string) =>
  `id: ${id}\nnamespace: company.ops\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`;
const INVALID = 'id: broken\n';

/** Writes a flow file with an mtime of its own (`version` seconds), as an editor saving it would. */
async function save(file: string, text: string, version: number): Promise<void> {
  await writeFile(file, text);
  await utimes(file, 1_700_000_000 + version, 1_700_000_000 + version);
}

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ write: (l) => lines.push(l) });
  const count = (re: RegExp) => lines.filter((l) => re.test(l)).length;
  return { lines, logger, count };
}

test('the flow registry: a new invalid file is reported once, as not loaded (was every second); fixed, it is added; a bad edit keeps the previous version, once; a duplicate id once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-reg-'));
  await save(join(dir, 'a.yml'), LOG_FLOW('a'), 1);
  const { lines, logger, count } = capture();
  let now = 0;
  const flows = new FlowRegistry([dir], logger, () => now);
  flows.load(true);
  const scans = (n: number) => {
    for (let i = 0; i < n; i++) {
      now += 1000;
      flows.refresh();
    }
  };
  const file = join(dir, 'new.yml');
  await save(file, INVALID, 2);
  scans(10);
  assert.equal(count(/ERROR/), 1, lines.join('\n'));
  assert.match(
    lines[0] ?? '',
    new RegExp(`ERROR +${file} is invalid; not loaded \\(.*\\): ${file}:1:1: namespace: is missing`),
  );
  assert.doesNotMatch(lines.join('\n'), /keeping the previous version/);
  assert.equal(flows.find('company.ops', 'new'), undefined);

  await save(file, LOG_FLOW('new'), 3);
  scans(3);
  assert.equal(count(new RegExp(`INFO +added ${file}$`)), 1, lines.join('\n'));
  assert.ok(flows.find('company.ops', 'new'));

  await save(file, INVALID, 4);
  scans(5);
  assert.equal(count(/changed but is invalid; keeping the previous version/), 1, lines.join('\n'));
  assert.ok(flows.find('company.ops', 'new'), 'the previous version is kept');

  await save(file, LOG_FLOW('new2'), 5);
  scans(2);
  assert.equal(count(new RegExp(`INFO +reloaded ${file}$`)), 1, lines.join('\n'));

  await save(join(dir, 'b.yml'), LOG_FLOW('a'), 6);
  scans(5);
  assert.equal(count(/flow company\.ops\.a is also defined in/), 1, lines.join('\n'));
  // Refused as at start-up (see retrial25.test.ts): never added, so its removal stops nothing.
  assert.equal(count(/added .*b\.yml/), 0, lines.join('\n'));
  await rm(join(dir, 'b.yml'));
  scans(1);
  assert.equal(count(/removed .*b\.yml/), 0, lines.join('\n'));
  assert.equal(count(/ERROR/), 3, lines.join('\n'));
});

async function serverOn(t: TestContext, paths: string[], stateDir: string, port = 0) {
  const s = await sim(t, { faults: { latencyMs: 100, latencyJitterMs: 200 } });
  const masker = new Masker();
  const server = await startServer({
    paths,
    stateDir,
    logger: createLogger({ write: () => {}, masker }),
    write: () => {},
    masker,
    env: { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url, HOOK_KEY: 'hook-key-0123456789' },
    listen: { host: '127.0.0.1', port },
  });
  t.after(() => server.stop(5000));
  return server;
}

test('start-up lists each flow with its file and triggers (a StatsTrigger condition, a Schedule next run, a webhook route); an empty folder says where flows go', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-start-'));
  await mkdir(join(dir, 'flows'));
  await mkdir(join(dir, 'empty'));
  await writeFile(
    join(dir, 'flows', 'alert.yml'),
    `id: alert\nnamespace: company.ops\ntriggers:\n  - id: spike\n    type: io.kestra.plugin.fastly.stats.StatsTrigger\n    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"\n    serviceId: ${SERVICE}\n    field: status_5xx\n    threshold: 50\n    window: PT1H\n    interval: PT5M\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ trigger.value }}"\n`,
  );
  await writeFile(
    join(dir, 'flows', 'daily.yml'),
    `id: daily\nnamespace: company.ops\ntriggers:\n  - id: morning\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "0 6 * * *"\n  - id: hook\n    type: io.kestra.plugin.core.trigger.Webhook\n    key: "{{ secret('HOOK_KEY') }}"\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`,
  );
  await writeFile(join(dir, 'flows', 'plain.yml'), LOG_FLOW('plain'));
  const server = await serverOn(t, [join(dir, 'flows')], join(dir, 'state'));
  const now = Date.UTC(2026, 11, 7, 1, 30);
  const lines = describeFlows([join(dir, 'flows')], server, now);
  assert.deepEqual(lines, [
    `3 flow(s) from ${join(dir, 'flows')}:`,
    `  company.ops.alert (${join(dir, 'flows', 'alert.yml')}): trigger spike (StatsTrigger: SUM(status_5xx) over PT1H GREATER_THAN 50, every PT5M)`,
    `  company.ops.daily (${join(dir, 'flows', 'daily.yml')}): trigger morning (Schedule: 0 6 * * *, next run 2026-12-07T06:00:00Z); hook (Webhook: POST /api/v1/main/executions/webhook/company.ops/daily/<key>)`,
    `  company.ops.plain (${join(dir, 'flows', 'plain.yml')}): no trigger; run it over the executions API`,
  ]);

  const empty = await serverOn(t, [join(dir, 'empty')], join(dir, 'state2'));
  assert.deepEqual(describeFlows([join(dir, 'empty')], empty), [
    `no flows in ${join(dir, 'empty')}: add flow files (.yml) there, e.g. a copy of examples/fastly_error_alert.yml; new files are picked up without a restart`,
  ]);
});

test('a --listen port in use fails in one line naming it, and creates no --state-dir (nor its lock)', async (t) => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => taken.close(() => resolve())));
  const port = (taken.address() as { port: number }).port;
  const dir = await mkdtemp(join(tmpdir(), 'kf-inuse-'));
  await writeFile(join(dir, 'a.yml'), LOG_FLOW('a'));
  const stateDir = join(dir, 'never-created');
  await assert.rejects(serverOn(t, [dir], stateDir, port), (err: Error) => {
    assert.equal(err.name, 'RunFailedError');
    assert.equal(
      err.message,
      `--listen 127.0.0.1:${port}: cannot listen (EADDRINUSE); the address is in use: pick another port with --listen`,
    );
    return true;
  });
  assert.equal(existsSync(stateDir), false, 'no --state-dir was created');
});

test('server --json: a failure to start is a JSON log line like the others, with the exit code of its kind', async (t) => {
  const cli = cliHost(t);
  const dir = await mkdtemp(join(tmpdir(), 'kf-json-fail-'));
  await writeFile(join(dir, 'a.yml'), LOG_FLOW('a'));
  const state = join(dir, 'state');
  const bad = await cli.run(['server', dir, '--state-dir', state, '--json', '--listen', '127.0.0.1:99999']);
  assert.equal(bad.code, 2);
  const line = JSON.parse(bad.stderr) as Record<string, string>;
  assert.deepEqual(
    { ...line, time: undefined },
    {
      time: undefined,
      level: 'ERROR',
      component: 'server',
      message:
        '--listen: "127.0.0.1:99999" is out of range (port 99999); expected a port from 0 to 65535 (0 picks a free one)',
    },
  );
  assert.ok(!Number.isNaN(Date.parse(line.time ?? '')), line.time);
  assert.equal(bad.stderr.split('\n').length, 2, 'one line');
  // Usage errors, found before the command runs (commander's, a flag given twice), likewise.
  for (const [args, message] of [
    [['server', '--json'], "missing required argument 'flows' (see --help)"],
    [['server', dir, '--json', '--bogus-flag'], "unknown option '--bogus-flag' (see --help)"],
    [
      ['server', dir, '--json', '--listen', '127.0.0.1:1', '--listen', '127.0.0.1:2'],
      /^--listen: given twice/,
    ],
  ] as const) {
    const r = await cli.run([...args]);
    assert.equal(r.code, 2, args.join(' '));
    const usage = JSON.parse(r.stderr) as Record<string, string>;
    assert.equal(usage.level, 'ERROR');
    if (typeof message === 'string') assert.equal(usage.message, message);
    else assert.match(usage.message ?? '', message);
  }
  // Without --json, the plain line; the host ran the JSON one just before.
  const plain = await cli.run(['server', dir, '--state-dir', state, '--listen', '127.0.0.1:99999']);
  assert.equal(plain.code, 2);
  assert.match(plain.stderr, /^error: --listen: "127\.0\.0\.1:99999" is out of range/);
  assert.equal(existsSync(state), false, 'no --state-dir was created');
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
