import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../src/flow/clock.js';
import { createLogger } from '../src/logger.js';
import type { SchedulerEvent } from '../src/flow/scheduler.js';
import { Masker } from '../src/masker.js';
import { Runtime, type RuntimeOptions } from '../src/runtime/index.js';
import { history as historyOf, triggerState } from './history.js';
import { requests, runCli, SERVICE, SERVICE2, sim } from './helpers.js';
import { REALISTIC_LATENCY, ServerProcess } from './server-process.js';

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '../../examples');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const quiet = createLogger({ write: () => {} });
/** One PT1S interval plus the most jitter a PT1S trigger gets (1 s × 1/60). */
const STEP = 1000 + 17;

function alertFlow(
  opts: {
    id?: string;
    service?: string;
    fireOn?: string;
    interval?: string;
    field?: string;
    window?: string;
    extra?: string;
  } = {},
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
    window: ${opts.window ?? 'PT1H'}
    interval: ${opts.interval ?? 'PT1S'}
    fireOn: ${opts.fireOn ?? 'CROSSING'}
${opts.extra ?? ''}tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "5xx spike: {{ trigger.value }} errors (threshold: {{ trigger.threshold }})"
`;
}

const spikeNow = () => {
  const now = Math.floor(Date.now() / 1000);
  return { serviceId: SERVICE, field: 'status_5xx', from: now - 1800, to: now - 1200, perMinute: 30 };
};

test('the seed fastly_error_alert flow runs unchanged under server and logs the 5xx spike', async (t) => {
  const s = await sim(t, { faults: REALISTIC_LATENCY });
  s.addScenario(spikeNow());
  const dir = await mkdtemp(join(tmpdir(), 'kf-srv-'));
  const server = new ServerProcess([join(EXAMPLES, 'fastly_error_alert.yml'), '--state-dir', dir], {
    SECRET_FASTLY_API_TOKEN: b64('tok'),
    SECRET_FASTLY_SERVICE_ID: b64(SERVICE),
    FASTLY_API_ENDPOINT: s.url,
  });
  // Doubles, as in Kestra: the Java plugin's StatsTrigger.Output has `Double value`, `Double threshold`.
  await server.waitFor(/5xx spike: \d+\.0 errors \(threshold: 50\.0\)/);
  await server.waitFor(/execution \S+ of company\.ops\.fastly_error_alert ended SUCCESS/);
  assert.equal(await server.stop(), 0, server.output);
  const history = historyOf(dir);
  assert.equal(history.length, 1, 'PT5M interval: one evaluation, one execution');
  assert.equal(history[0]?.state, 'SUCCESS');
  assert.ok(Number(history[0]?.trigger?.value) > 50);
  assert.equal(s.log.filter((e) => e.path.startsWith('/stats/')).length, 1, 'one API call');
  const list = await runCli(['executions', '--state-dir', dir]);
  assert.match(list.stdout, /SUCCESS\s+company\.ops\.fastly_error_alert/);
});

test('CROSSING: a sustained breach fires exactly once, across kill -9 and restart', async (t) => {
  const s = await sim(t, { faults: REALISTIC_LATENCY });
  s.addScenario(spikeNow());
  const dir = await mkdtemp(join(tmpdir(), 'kf-cross-'));
  await writeFile(join(dir, 'alert.yml'), alertFlow());
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url };
  const args = [join(dir, 'alert.yml'), '--state-dir', join(dir, 'state'), '--log-level', 'debug'];
  const first = new ServerProcess(args, env);
  await first.waitFor(/5xx spike/);
  await first.waitForCount(/→ true/g, 2);
  await first.stop('SIGKILL');
  const second = new ServerProcess(args, env);
  await second.waitForCount(/→ true/g, 3);
  assert.equal(await second.stop(), 0, second.output);
  assert.ok(!/5xx spike/.test(second.output), 'no second firing after the restart');
  const history = historyOf(join(dir, 'state'));
  assert.equal(history.length, 1, 'one crossing, one execution');
  const state = triggerState(join(dir, 'state'), 'company.ops.alert.t');
  assert.equal(state?.armed, false);
  assert.equal(state?.fired, 1);
});

test('with the API at 250 ms: PT1S EVERY_MATCH makes ≤ 7 calls and ≤ 7 executions in any 6 s; PT4S ≤ 3 in 10 s', async (t) => {
  const s = await sim(t, { faults: { latencyMs: 250 } });
  const now = Math.floor(Date.now() / 1000);
  for (const serviceId of [SERVICE, SERVICE2])
    s.addScenario({ serviceId, field: 'status_5xx', from: now - 1800, to: now + 3600, perMinute: 30 });
  const dir = await mkdtemp(join(tmpdir(), 'kf-slow-'));
  await writeFile(join(dir, 'fast.yml'), alertFlow({ id: 'fast', fireOn: 'EVERY_MATCH' }));
  await writeFile(
    join(dir, 'slow.yml'),
    alertFlow({ id: 'slow', service: SERVICE2, fireOn: 'EVERY_MATCH', interval: 'PT4S' }),
  );
  const server = new ServerProcess([dir, '--state-dir', join(dir, 'state'), '--log-level', 'debug'], {
    FASTLY_API_TOKEN: 'tok',
    FASTLY_API_ENDPOINT: s.url,
  });
  // The run lasts until the PT4S trigger has fired three times: ≥ 8 s of the server's own clock
  // (was PT10S: 20 s of a 2-core machine's suite, for the same rule).
  await server.waitForCount(/trigger company\.ops\.slow\.t fired/g, 3, 60_000);
  assert.equal(await server.stop(), 0, server.output);
  await s.close(); // answers every request still in its simulated latency
  // Counted by the due time each call and execution is for (the window's end, `to`), not by when
  // this busy machine got round to it: the bound is the scheduler's, not the machine's.
  const dues = (service: string) =>
    s.log
      .filter((e) => e.path.startsWith(`/stats/service/${service}`))
      .map((e) => Number(new URLSearchParams(e.query).get('to')))
      .sort((a, b) => a - b);
  const maxIn = (seconds: number[], span: number) =>
    Math.max(0, ...seconds.map((t0) => seconds.filter((x) => x >= t0 && x < t0 + span).length));
  const fast = dues(SERVICE);
  const slow = dues(SERVICE2);
  assert.ok(fast.length >= 1 && slow.length >= 3, `calls: fast ${fast.length}, slow ${slow.length}`);
  assert.equal(new Set(fast).size, fast.length, 'one call per due poll: never the same window twice');
  assert.ok(maxIn(fast, 6) <= 7, `PT1S: ${maxIn(fast, 6)} calls in 6 s`);
  assert.ok(maxIn(slow, 10) <= 3, `PT4S: ${maxIn(slow, 10)} calls in 10 s`);
  const history = historyOf(join(dir, 'state'));
  const fired = (flowId: string) =>
    history
      .filter((r) => r.flowId === flowId)
      .map((r) => Date.parse(String(r.trigger?.to)) / 1000)
      .sort((a, b) => a - b);
  assert.ok(maxIn(fired('fast'), 6) <= 7, `PT1S: ${maxIn(fired('fast'), 6)} executions in 6 s`);
  assert.ok(maxIn(fired('slow'), 10) <= 3, `PT4S: ${maxIn(fired('slow'), 10)} executions in 10 s`);
  assert.ok(
    fired('fast').every((to) => fast.includes(to)),
    'every execution comes from its own evaluation',
  );
  assert.equal(new Set(fired('fast')).size, fired('fast').length, 'one execution per due poll');
  t.diagnostic(
    `PT1S: ${fast.length} calls, ${fired('fast').length} executions, at most ${maxIn(fast, 6)} calls and ${maxIn(fired('fast'), 6)} executions in 6 s; PT4S: ${slow.length} calls, at most ${maxIn(slow, 10)} in 10 s`,
  );
});

test('SIGTERM: the idle server exits (0) at once, not after its next evaluation a minute away', async (t) => {
  const s = await sim(t, { faults: REALISTIC_LATENCY });
  const dir = await mkdtemp(join(tmpdir(), 'kf-term-'));
  await writeFile(join(dir, 'a.yml'), alertFlow({ interval: 'PT1M' }));
  const server = new ServerProcess([dir, '--state-dir', join(dir, 'state'), '--log-level', 'debug'], {
    FASTLY_API_TOKEN: 'tok',
    FASTLY_API_ENDPOINT: s.url,
  });
  await server.waitFor(/→ false/); // evaluated; next evaluation in a minute: idle
  const polls = requests(s, '/stats').length;
  const exited = server.exited();
  server.child.kill('SIGTERM');
  // A deadline well inside the minute (not a timing claim): a server that sat out its timer misses it.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), 30_000);
  });
  const first = await Promise.race([exited, deadline]);
  clearTimeout(timer);
  if (first === 'deadline') server.child.kill('SIGKILL');
  assert.equal(first, 0, `exit code, or still running 30 s after SIGTERM:\n${server.output}`);
  assert.equal(requests(s, '/stats').length, polls, 'no evaluation after SIGTERM');
});

/** The server's runtime on a fake clock: its triggers fire into its queue and store. */
async function scheduler(
  t: TestContext,
  files: Record<string, string>,
  env: Record<string, string>,
  options: Partial<RuntimeOptions> = {},
) {
  const dir = await mkdtemp(join(tmpdir(), 'kf-sched-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const clock = new ManualClock();
  const runtime = new Runtime({
    paths: [dir],
    stateDir: join(dir, '.state'),
    logger: quiet,
    masker: new Masker(),
    env,
    write: () => {},
    clock,
    rescanMs: 2000,
    ...options,
  });
  const sch = runtime.scheduler;
  const store = runtime.store;
  const events: SchedulerEvent[] = [];
  sch.subscribe((e) => events.push(e));
  await runtime.start();
  t.after(() => runtime.stop(1000));
  /** Moves the clock and waits until every evaluation and execution it started has ended. */
  const step = async (ms: number) => {
    clock.advance(ms);
    await sch.idle();
  };
  return { sch, store, dir, clock, events, step };
}

test('CROSSING re-arms when the condition clears; EVERY_MATCH fires at every interval', async (t) => {
  const s = await sim(t, { faults: REALISTIC_LATENCY });
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url };
  const spike = spikeNow();
  s.addScenario(spike);
  const { store, step } = await scheduler(
    t,
    { 'c.yml': alertFlow({ id: 'crossing' }), 'e.yml': alertFlow({ id: 'every', fireOn: 'EVERY_MATCH' }) },
    env,
  );
  const runs = async () => {
    const h = await store.history();
    return {
      crossing: h.filter((r) => r.flowId === 'crossing').length,
      every: h.filter((r) => r.flowId === 'every').length,
    };
  };
  await step(0);
  await step(STEP);
  await step(STEP);
  assert.deepEqual(await runs(), { crossing: 1, every: 3 });
  s.state.scenarios = [];
  await step(STEP);
  assert.deepEqual(await runs(), { crossing: 1, every: 3 });
  s.addScenario(spike);
  await step(STEP);
  assert.deepEqual(await runs(), { crossing: 2, every: 4 });
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
    faults: REALISTIC_LATENCY,
  });
  const files: Record<string, string> = {};
  for (let i = 0; i < 50; i++) files[`f${i}.yml`] = alertFlow({ id: `flow${i}`, service: services[i % 5] });
  const { sch, events, step } = await scheduler(t, files, {
    FASTLY_API_TOKEN: 'tok',
    FASTLY_API_ENDPOINT: s.url,
  });
  assert.equal(sch.triggers().length, 50);
  for (let round = 1; round <= 3; round++) {
    s.clearLog();
    events.length = 0;
    await step(round === 1 ? 0 : 2000);
    assert.equal(events.filter((e) => e.type === 'evaluation-started').length, 50, `round ${round}`);
    const calls = s.log.filter((e) => e.path.startsWith('/stats/service/'));
    assert.equal(calls.length, 5, `round ${round}: ${calls.length} calls`);
    assert.equal(new Set(calls.map((c) => c.path)).size, 5);
  }
});

test('an evaluation error is logged and backed off; the server keeps going', async (t) => {
  const s = await sim(t, { faults: { rate5xx: 1, ...REALISTIC_LATENCY } });
  const lines: string[] = [];
  const { sch, clock, events, step } = await scheduler(
    t,
    { 'a.yml': alertFlow() },
    { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url },
    { logger: createLogger({ write: (l) => lines.push(l) }), client: { retry: { maxAttempts: 1 } } },
  );
  const start = clock.now();
  await step(0);
  const state = sch.triggers()[0];
  assert.equal(state?.failures, 1);
  assert.ok((state?.nextDue ?? 0) >= start + 2000, 'backed off beyond the 1 s interval');
  events.length = 0;
  await step(1000);
  assert.equal(events.filter((e) => e.type === 'evaluation-started').length, 0, 'not due during the backoff');
  assert.match(lines.join('\n'), /evaluation failed \(1 in a row\).*HTTP 503/);
  s.setFaults(REALISTIC_LATENCY);
  await step((state?.nextDue ?? 0) - clock.now());
  assert.equal(sch.triggers()[0]?.failures, 0, 'the next evaluation after the backoff succeeds');
});

test('a paginated poll (by minute, PT12H) whose second page hangs while a later one fails: one evaluation error, backoff, no crash', async (t) => {
  // Page 1 answers; of the pages then in flight the first to arrive hangs and the others fail.
  // Unhandled rejections are fatal in this process.
  const s = await sim(t, { faults: { burst: { fault: 'hang', count: 1, after: 1 }, rate5xx: 1 } });
  const lines: string[] = [];
  const { sch, store, clock, events, step } = await scheduler(
    t,
    { 'a.yml': alertFlow({ window: 'PT12H' }) },
    { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url },
    { logger: createLogger({ write: (l) => lines.push(l) }), client: { retry: { maxAttempts: 1 } } },
  );
  await step(0);
  const pages = s.log.filter((e) => e.path.startsWith('/stats/'));
  assert.ok(pages.length >= 3, `${pages.length} pages requested`);
  assert.ok(pages.some((p) => p.fault === 'hang') && pages.some((p) => p.status === 503));
  const failures = events.filter((e) => e.type === 'evaluation-failed');
  assert.equal(failures.length, 1, 'one evaluation error');
  assert.equal((lines.join('\n').match(/evaluation failed/g) ?? []).length, 1);
  assert.match(lines.join('\n'), /evaluation failed \(1 in a row\).*HTTP 503/);
  const state = sch.triggers()[0];
  assert.ok((state?.nextDue ?? 0) > clock.now() + 1000, 'backed off');
  s.setFaults({});
  s.addScenario(spikeNow());
  await step((state?.nextDue ?? 0) - clock.now());
  assert.equal(sch.triggers()[0]?.lastMatched, true, 'the scheduler keeps evaluating after the failure');
  assert.equal((await store.history()).length, 1);
});

test('a changed flow file is picked up without a restart; an invalid edit keeps the old one', async (t) => {
  const s = await sim(t, { faults: REALISTIC_LATENCY });
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url };
  const lines: string[] = [];
  const { dir, step } = await scheduler(t, { 'a.yml': alertFlow() }, env, {
    logger: createLogger({ write: (l) => lines.push(l) }),
  });
  await step(0);
  assert.ok(s.log.some((e) => e.path.endsWith('/field/status_5xx')));
  await writeFile(join(dir, 'a.yml'), alertFlow({ field: 'status_4xx' }));
  await step(2000); // the file scan runs every 2 s of the runtime's clock here
  assert.equal((lines.join('\n').match(/reloaded .*a\.yml/g) ?? []).length, 1, lines.join('\n'));
  s.clearLog();
  await step(STEP);
  assert.ok(
    s.log.some((e) => e.path.endsWith('/field/status_4xx')),
    'the next poll uses the new field',
  );
  await writeFile(join(dir, 'a.yml'), 'id: broken\n');
  await step(2000);
  assert.equal(
    (lines.join('\n').match(/changed but is invalid; keeping the previous version/g) ?? []).length,
    1,
  );
  s.clearLog();
  await step(STEP);
  assert.ok(
    s.log.some((e) => e.path.endsWith('/field/status_4xx')),
    'the previous version still runs',
  );
});

test('an interval below PT30S is refused unless the endpoint is loopback', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-int-'));
  await writeFile(join(dir, 'a.yml'), alertFlow());
  // A port of its own: with the default one (8080) busy, the server would stop there first (exit 1).
  const r = await runCli(
    ['server', join(dir, 'a.yml'), '--state-dir', join(dir, 's'), '--listen', '127.0.0.1:0'],
    { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: 'https://api.fastly.com' },
  );
  assert.equal(r.code, 2);
  assert.match(r.stderr, /interval PT1S is below PT30S; allowed only against a loopback endpoint/);
});
