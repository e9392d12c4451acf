import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../src/logger.js';
import { Scheduler } from '../src/flow/scheduler.js';
import { StateStore } from '../src/flow/state.js';
import { CLI, runCli, SERVICE, sim } from './helpers.js';

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '../../examples');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const quiet = createLogger({ write: () => {} });
/** One PT1S interval plus the most jitter a PT1S trigger gets (1 s × 1/60). */
const STEP = 1000 + 17;

function alertFlow(
  opts: { id?: string; service?: string; fireOn?: string; interval?: string; field?: string } = {},
): string {
  return `id: ${opts.id ?? 'alert'}
namespace: company.ops
triggers:
  - id: t
    type: io.kestra.plugin.fastly.stats.StatsTrigger
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${opts.service ?? SERVICE}
    field: ${opts.field ?? 'status_5xx'}
    threshold: 50
    window: PT1H
    interval: ${opts.interval ?? 'PT1S'}
    fireOn: ${opts.fireOn ?? 'CROSSING'}
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "5xx spike: {{ trigger.value }} errors (threshold: {{ trigger.threshold }})"
`;
}

interface Server {
  child: ChildProcess;
  output: () => string;
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<void>;
}

function startServer(args: string[], env: Record<string, string>): Server {
  const child = spawn(process.execPath, [CLI, 'server', ...args, '--listen', '127.0.0.1:0'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  return {
    child,
    output: () => out,
    async waitFor(pattern, timeoutMs = 10_000) {
      const start = Date.now();
      while (!pattern.test(out)) {
        if (Date.now() - start > timeoutMs)
          throw new Error(`timed out waiting for ${pattern}; output:\n${out}`);
        if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}:\n${out}`);
        await sleep(50);
      }
    },
  };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (c) => resolve(c)),
  );

test('the seed fastly_error_alert flow runs unchanged under server and logs the 5xx spike', async (t) => {
  const s = await sim(t);
  const now = Math.floor(Date.now() / 1000);
  s.addScenario({ serviceId: SERVICE, field: 'status_5xx', from: now - 1800, to: now - 1200, perMinute: 30 });
  const dir = await mkdtemp(join(tmpdir(), 'kf-srv-'));
  const server = startServer([join(EXAMPLES, 'fastly_error_alert.yml'), '--state-dir', dir], {
    SECRET_FASTLY_API_TOKEN: b64('tok'),
    SECRET_FASTLY_SERVICE_ID: b64(SERVICE),
    FASTLY_API_ENDPOINT: s.url,
  });
  await server.waitFor(/5xx spike: \d+ errors \(threshold: 50\)/);
  server.child.kill('SIGTERM');
  assert.equal(await exited(server.child), 0, server.output());
  const history = new StateStore(dir).history();
  assert.equal(history.length, 1);
  assert.equal(history[0]?.state, 'SUCCESS');
  assert.ok(Number(history[0]?.trigger?.value) > 50);
  const list = await runCli(['executions', '--state-dir', dir]);
  assert.match(list.stdout, /SUCCESS\s+company\.ops\.fastly_error_alert/);
});

test('CROSSING: a sustained breach fires exactly once, across kill -9 and restart', async (t) => {
  const s = await sim(t);
  const now = Math.floor(Date.now() / 1000);
  s.addScenario({ serviceId: SERVICE, field: 'status_5xx', from: now - 1800, to: now - 1200, perMinute: 30 });
  const dir = await mkdtemp(join(tmpdir(), 'kf-cross-'));
  await writeFile(join(dir, 'alert.yml'), alertFlow());
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url };
  const args = [join(dir, 'alert.yml'), '--state-dir', join(dir, 'state'), '--log-level', 'debug'];
  const first = startServer(args, env);
  await first.waitFor(/5xx spike/);
  await first.waitFor(/→ true\n[\s\S]*→ true\n/);
  first.child.kill('SIGKILL');
  await exited(first.child);
  const second = startServer(args, env);
  const evaluations = () => (second.output().match(/→ true/g) ?? []).length;
  await second.waitFor(/→ true/);
  while (evaluations() < 3) await sleep(50);
  second.child.kill('SIGTERM');
  assert.equal(await exited(second.child), 0);
  assert.ok(!/5xx spike/.test(second.output()), 'no second firing after the restart');
  const history = new StateStore(join(dir, 'state')).history();
  assert.equal(history.length, 1, 'one crossing, one execution');
  const state = JSON.parse(
    await readFile(join(dir, 'state', 'triggers', 'company.ops.alert.t.json'), 'utf8'),
  ) as { armed: boolean; pending?: unknown; fired: number };
  assert.equal(state.armed, false);
  assert.equal(state.fired, 1);
});

async function scheduler(
  t: import('node:test').TestContext,
  files: Record<string, string>,
  env: Record<string, string>,
) {
  const dir = await mkdtemp(join(tmpdir(), 'kf-sched-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const sch = new Scheduler({
    paths: [dir],
    stateDir: join(dir, '.state'),
    logger: quiet,
    env,
    write: () => {},
  });
  sch.load(true);
  t.after(() => sch.stop(1000));
  return { sch, dir };
}

test('CROSSING re-arms when the condition clears; EVERY_MATCH fires at every interval', async (t) => {
  const s = await sim(t);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url };
  const now = Math.floor(Date.now() / 1000);
  const spike = { serviceId: SERVICE, field: 'status_5xx', from: now - 1800, to: now - 1200, perMinute: 30 };
  s.addScenario(spike);
  const { sch } = await scheduler(
    t,
    { 'c.yml': alertFlow({ id: 'crossing' }), 'e.yml': alertFlow({ id: 'every', fireOn: 'EVERY_MATCH' }) },
    env,
  );
  const runs = () => {
    const h = sch.store.history();
    return {
      crossing: h.filter((r) => r.flowId === 'crossing').length,
      every: h.filter((r) => r.flowId === 'every').length,
    };
  };
  let clock = Date.now();
  for (let i = 0; i < 3; i++) {
    await sch.tick((clock += STEP));
    await sch.idle();
  }
  assert.deepEqual(runs(), { crossing: 1, every: 3 });
  s.state.scenarios = [];
  await sch.tick((clock += STEP));
  await sch.idle();
  assert.deepEqual(runs(), { crossing: 1, every: 3 });
  s.addScenario(spike);
  await sch.tick((clock += STEP));
  await sch.idle();
  assert.deepEqual(runs(), { crossing: 2, every: 4 });
});

test('fifty triggers on five services with the same field and window make five API calls per interval', async (t) => {
  const services = [
    'svcA0000000000000000001',
    'svcB0000000000000000002',
    'svcC0000000000000000003',
    'svcD0000000000000000004',
    'svcE0000000000000000005',
  ];
  const s = await sim(t, {
    services: services.map((id) => ({ id, name: id, domains: [`${id}.example.com`] })),
  });
  const files: Record<string, string> = {};
  for (let i = 0; i < 50; i++) files[`f${i}.yml`] = alertFlow({ id: `flow${i}`, service: services[i % 5] });
  const { sch } = await scheduler(t, files, { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url });
  assert.equal(sch.entries.length, 50);
  let clock = Date.now();
  for (let round = 1; round <= 3; round++) {
    s.clearLog();
    assert.equal(await sch.tick((clock += 2000)), 50);
    await sch.idle();
    const calls = s.log.filter((e) => e.path.startsWith('/stats/service/'));
    assert.equal(calls.length, 5, `round ${round}: ${calls.length} calls`);
    assert.equal(new Set(calls.map((c) => c.path)).size, 5);
  }
});

test('an evaluation error is logged and backed off; the server keeps going', async (t) => {
  const s = await sim(t, { faults: { rate5xx: 1 } });
  const lines: string[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'kf-err-'));
  await writeFile(join(dir, 'a.yml'), alertFlow());
  const sch = new Scheduler({
    paths: [dir],
    stateDir: join(dir, '.state'),
    logger: createLogger({ write: (l) => lines.push(l) }),
    env: { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url },
    client: { retry: { maxAttempts: 1 } },
  });
  sch.load(true);
  const clock = Date.now();
  await sch.tick(clock);
  const state = sch.entries[0]?.state;
  assert.equal(state?.failures, 1);
  assert.ok((state?.nextDue ?? 0) >= clock + 2000, 'backed off beyond the 1 s interval');
  assert.equal(await sch.tick(clock + 1000), 0, 'not due during the backoff');
  assert.match(lines.join('\n'), /evaluation failed \(1 in a row\).*HTTP 503/);
});

test('a changed flow file is picked up without a restart; a damaged state file is rebuilt', async (t) => {
  const s = await sim(t);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url };
  const { sch, dir } = await scheduler(t, { 'a.yml': alertFlow() }, env);
  assert.equal(sch.entries[0]?.props.field, 'status_5xx');
  await sleep(20);
  await writeFile(join(dir, 'a.yml'), alertFlow({ field: 'status_4xx' }));
  sch.load();
  assert.equal(sch.entries[0]?.props.field, 'status_4xx');
  await writeFile(join(dir, 'a.yml'), 'id: broken\n');
  sch.load();
  assert.equal(sch.entries[0]?.props.field, 'status_4xx', 'an invalid edit keeps the previous version');
  await writeFile(join(dir, '.state', 'triggers', 'company.ops.alert.t.json'), '{"key": "company.op');
  const warnings: string[] = [];
  const store = new StateStore(join(dir, '.state'), (m) => warnings.push(m));
  assert.deepEqual(store.load('company.ops.alert.t'), {
    key: 'company.ops.alert.t',
    armed: true,
    fired: 0,
    failures: 0,
  });
  assert.match(warnings[0] ?? '', /damaged; rebuilding/);
});

test('an interval below PT30S is refused unless the endpoint is loopback', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-int-'));
  await writeFile(join(dir, 'a.yml'), alertFlow());
  const r = await runCli(['server', join(dir, 'a.yml'), '--state-dir', join(dir, 's')], {
    FASTLY_API_TOKEN: 'tok',
    FASTLY_API_ENDPOINT: 'https://api.fastly.com',
  });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /interval PT1S is below PT30S; allowed only against a loopback endpoint/);
});
