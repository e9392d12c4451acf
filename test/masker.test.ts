import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cliHost } from './cli-host.js';
import { SERVICE, sim } from './helpers.js';
import { ServerProcess } from './server-process.js';

// The secret Masker (src/masker.ts) at work: a canary token and secret through every command.

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '../../examples');
const TOKEN = 'CANARY-token-91c3e0';
const SECRET = 'CANARY-secret-7d2e44';
const b64 = (s: string) => Buffer.from(s).toString('base64');
/** Every CLI run of this file, in one process (cli-host.ts): what is printed is what the bin prints. */
const cli = cliHost();

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir)) {
    const p = join(dir, e);
    if ((await stat(p)).isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

test('a canary token and secret appear in no output, log, state file, history or error, across every command', async (t) => {
  const s = await sim(t, { tokens: { [TOKEN]: ['global', 'purge_all'] } });
  const now = Math.floor(Date.now() / 1000);
  s.addScenario({ serviceId: SERVICE, field: 'status_5xx', from: now - 1800, to: now - 1200, perMinute: 30 });
  const dir = await mkdtemp(join(tmpdir(), 'kf-canary-'));
  await writeFile(
    join(dir, 'secret-log.yml'),
    `id: secret_log\nnamespace: company.ops\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    level: DEBUG\n    message: "token={{ secret('FASTLY_API_TOKEN') }} secret={{ secret('CANARY_SECRET') }}"\n  - id: fail\n    type: io.kestra.plugin.fastly.purge.Key\n    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"\n    serviceId: NoSuchService1\n    surrogateKey: "{{ secret('CANARY_SECRET') }}"\n`,
  );
  const env = {
    FASTLY_API_TOKEN: TOKEN,
    FASTLY_SERVICE_ID: SERVICE,
    FASTLY_API_ENDPOINT: s.url,
    SECRET_FASTLY_API_TOKEN: b64(TOKEN),
    SECRET_FASTLY_SERVICE_ID: b64(SERVICE),
    SECRET_CANARY_SECRET: b64(SECRET),
    KESTRA_FASTLY_DEBUG: '1',
  };
  const runs: string[][] = [
    ['stats', 'historical', '-s', SERVICE, '--by', 'hour', '--debug'],
    [
      'stats',
      'historical',
      '-s',
      SERVICE,
      '--by',
      'minute',
      '--from',
      '2 hours ago',
      '--json',
      '-o',
      join(dir, 'stats.json'),
    ],
    ['stats', 'historical', '--by', 'hour', '--format', 'csv', '-o', join(dir, 'stats.csv'), '--debug'],
    ['stats', 'aggregate', '--debug', '--json'],
    ['stats', 'usage', '--by-service', '--format', 'ndjson'],
    ['stats', 'month-to-date', '--json'],
    ['stats', 'regions', '--debug'],
    ['stats', 'historical', '-s', 'NoSuchService1', '--debug'],
    ['purge', 'key', 'k', '--debug', '--json'],
    ['purge', 'url', 'https://nowhere.invalid/', '--debug'],
    ['task', 'purge.Keys', '--props', '{"surrogateKeys":["a","b"]}'],
    ['task', 'purge.Key', '--props', '{"surrogateKey":"k","serviceId":"NoSuchService1"}'],
    ['run', join(dir, 'secret-log.yml'), '--log-level', 'DEBUG', '--json'],
    ['run', join(dir, 'secret-log.yml'), '--json-logs', '--log-level', 'TRACE'],
    ...(await readdir(EXAMPLES)).map((f) => ['run', join(EXAMPLES, f), '--log-level', 'DEBUG', '--json']),
  ];
  const codes = new Set<number | null>();
  let masked = false;
  for (const args of runs) {
    const r = await cli.run(args, env);
    codes.add(r.code);
    for (const canary of [TOKEN, SECRET, b64(TOKEN), b64(SECRET)]) {
      assert.ok(!r.stdout.includes(canary), `stdout of ${args.join(' ')}`);
      assert.ok(!r.stderr.includes(canary), `stderr of ${args.join(' ')}:\n${r.stderr}`);
    }
    if (/token=\*\*\*\*\*\* secret=\*\*\*\*\*\*/.test(r.stderr)) masked = true;
  }
  assert.ok(masked, 'secrets rendered into a Log message are masked');
  assert.ok(codes.has(0) && codes.has(1), `failures included: ${[...codes].join(', ')}`);

  // The server: state files and execution history.
  const state = join(dir, 'state');
  const server = new ServerProcess(
    [join(EXAMPLES, 'fastly_error_alert.yml'), '--state-dir', state, '--log-level', 'debug', '--json'],
    env,
  );
  await server.waitFor(/5xx spike/);
  assert.equal(await server.stop(), 0);
  for (const canary of [TOKEN, SECRET]) assert.ok(!server.output.includes(canary), 'server output');
  const executions = await cli.run(['executions', '--state-dir', state, '--json'], env);
  assert.equal((JSON.parse(executions.stdout) as unknown[]).length, 1);
  for (const file of await filesUnder(dir)) {
    const text = await readFile(file, 'utf8');
    for (const canary of [TOKEN, SECRET, b64(TOKEN)])
      assert.ok(!text.includes(canary), `${file} contains a canary`);
  }
});
