import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { cliHost } from './cli-host.js';
import { CLI, SERVICE, SERVICE2, sim } from './helpers.js';

// `kestra-fastly simulator`: its flags, its request log, its scenarios.

const TOKEN = 'canary-TOKEN-1234';
const b64 = (s: string) => Buffer.from(s).toString('base64');
/** The one-shot commands of this file, in one process (cli-host.ts). */
const cli = cliHost();

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

test('simulator: a port in use is one line naming --port (exit 1); --log-requests logs each request, never the token', async (t) => {
  const taken = await sim(t);
  const port = new URL(taken.url).port;
  const busy = await cli.run(['simulator', '--port', port]);
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
      const fired = await cli.run(['run', example, '--json'], env(SERVICE));
      assert.equal(fired.code, 0, fired.stderr);
      const ex = JSON.parse(fired.stdout) as {
        state: { current: string };
        trigger: { variables: { value: number } };
      };
      assert.equal(ex.state.current, 'SUCCESS');
      // 400 a minute for 10 minutes, on top of the service's own 5xx.
      const { value } = ex.trigger.variables;
      assert.ok(value >= 4000, `value ${value}`);
      // Doubles, as in Kestra: the Java plugin's StatsTrigger.Output has `Double value`, `Double threshold`.
      assert.match(fired.stderr, /5xx spike: \d+\.0 errors \(threshold: 50\.0\)/);
      const quiet = await cli.run(['run', example, '--json'], env(SERVICE2));
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

test('the simulator binds 127.0.0.1 by default', async (t) => {
  const s = await sim(t);
  assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
});
