import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CONNECTION_FLAGS, parseStrict } from '../src/cli/argv.js';
import { PURGE_COMMANDS } from '../src/cli/commands/purge-commands.js';
import { cliHost, type HostResult } from './cli-host.js';
import { runCli, SERVICE, sim } from './helpers.js';

/** The full CLI bundle: every command through commander, no fast path. */
const COMMANDER_CLI = fileURLToPath(new URL('../bundle/cli.cjs', import.meta.url));

const keysFlags = PURGE_COMMANDS.find((c) => c.name === 'keys')?.flags ?? [];

test('the strict reader takes plain invocations and leaves everything else to commander', () => {
  assert.deepEqual(
    parseStrict(keysFlags, ['a', '-s', 'svc', '--concurrency', '8', '--json', 'b', '--file', '-']),
    {
      options: { serviceId: 'svc', concurrency: 8, json: true, file: '-' },
      positionals: ['a', 'b'],
    },
  );
  assert.deepEqual(parseStrict(CONNECTION_FLAGS, ['--max-attempts', '3']), {
    options: { maxAttempts: 3 },
    positionals: [],
  });
  for (const args of [
    ['--json=true'],
    ['--', '-k'],
    ['-js', 'svc'],
    ['--nope'],
    ['--json', '--json'],
    ['--concurrency', '0'],
    ['--concurrency', 'x'],
    ['--concurrency'],
    ['--file', '--json'],
    ['--file', ''],
    ['--file', ' '],
    ['-s', 'a', '--service-id', 'b'],
    ['-h'],
    ['--help'],
    ['-V'],
  ]) {
    assert.equal(parseStrict(keysFlags, args), undefined, args.join(' '));
  }
});

test('purge through the fast path and through commander: same exit code, stdout and stderr', async (t) => {
  // One simulator per side, so each sees the same sequence. Without purge_all's per-service minimum
  // interval: whether the next 'purge all' came within a second of the last (a 429, then a retry)
  // depended on how fast each side started.
  const options = { purgeAllIntervalSeconds: 0 };
  const [fast, full] = await Promise.all([sim(t, options), sim(t, options)]);
  const dir = await mkdtemp(join(tmpdir(), 'kf-fast-'));
  const file = join(dir, 'keys.txt');
  await writeFile(file, 'a\nb\n# comment\n\nc\nb\n');
  const normalize = (text: string) =>
    text
      .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'T')
      .replace(/\d+-\d+-\d+/g, 'ID')
      .replace(/\d+ ms/g, 'N ms');
  const cases = [
    ['purge', 'key', 'k1'],
    ['purge', 'key', 'k1', '--soft', '--json'],
    ['purge', 'key', '-s', SERVICE, 'k1', '-j'],
    ['purge', 'key', 'k1', '--timeout', '5000', '--max-attempts', '2', '--debug'],
    ['purge', 'url', 'https://www.example.com/a'],
    ['purge', 'url', 'https://www.example.com/a', '--soft', '--json'],
    ['purge', 'url', 'not a url'],
    ['purge', 'keys', 'a', 'b', 'c'],
    ['purge', 'keys', '--file', file, '--concurrency', '2', '--json'],
    ['purge', 'keys', '--file', join(dir, 'missing.txt')],
    ['purge', 'keys'],
    ['purge', 'keys', 'a', '--failed-keys', join(dir, 'no', 'such', 'dir', 'f.txt')],
    ['purge', 'all'],
    ['purge', 'all', '--json'],
    // Off a terminal nothing is asked, with or without the Fastly CLI's -y/--auto-yes (or --yes).
    ['purge', 'all', '-y'],
    ['purge', 'all', '--auto-yes', '--json'],
    ['purge', 'all', '--yes'],
    ['purge', 'all', '--soft'],
    ['purge', 'key', 'k1', '-s', 'nosuchservice'],
    ['purge', 'key', 'k1', '--token', 'wrong'],
    ['purge', 'key', 'k1', '--endpoint', 'http://example.com'],
    // Left to commander by the fast path:
    ['purge', 'key'],
    ['purge', 'key', 'k1', 'k2'],
    ['purge', 'key', 'k1', '--bogus'],
    ['purge', 'key', 'k1', '--soft=true'],
    ['purge', 'keys', 'a', '--concurrency', '0'],
    ['purge', 'keys', 'a', '--concurrency', 'many'],
    ['purge', 'key', 'k1', '--timeout', '-5'],
    ['purge', 'key', 'k1', '--timeout', '1000', '--timeout', '2000'],
    ['purge', 'key', 'k1', '--token', 'one-secret', '--token', 'two-secret'],
    ['purge', 'url', 'https://www.example.com/a', '--endpoint', ''],
    ['purge', 'keys', 'a', '--file', ''],
    ['purge', 'keys', 'a', '--failed-keys', ' '],
    ['purge', 'all', '-s', ''],
    ['purge', 'all', 'extra'],
    ['purge', 'key', '--help'],
    ['purge', 'nosuch'],
  ];
  // In process (cli-host.ts: the bin's choice of path, or commander alone as cli.cjs runs it), and a
  // few cases as processes through the two shipped bundles themselves.
  const viaFast = cliHost(t);
  const viaCommander = cliHost(t, undefined, { commanderOnly: true });
  const bundled = [
    ['purge', 'key', 'k1'],
    ['purge', 'all', '--json'],
    ['purge', 'key', 'k1', '--bogus'],
  ];
  const fastPaths: string[] = [];
  for (const args of [...cases, ...bundled]) {
    const env = (url: string) => ({
      FASTLY_API_TOKEN: 'tok',
      FASTLY_API_ENDPOINT: url,
      FASTLY_SERVICE_ID: SERVICE,
    });
    const label = args.join(' ');
    const inProcess = cases.includes(args);
    const [a, b] = await Promise.all(
      inProcess
        ? [viaFast.run(args, env(fast.url)), viaCommander.run(args, env(full.url))]
        : [runCli(args, env(fast.url)), runCli(args, env(full.url), undefined, COMMANDER_CLI)],
    );
    if (inProcess) {
      assert.equal((b as HostResult).fastPath, false, `${label}: commander alone`);
      if ((a as HostResult).fastPath) fastPaths.push(label);
    }
    assert.equal(a.code, b.code, `${label}: exit code`);
    assert.equal(normalize(a.stdout), normalize(b.stdout), `${label}: stdout`);
    assert.equal(normalize(a.stderr), normalize(b.stderr), `${label}: stderr`);
  }
  // The plain invocations took the fast path, the rest (up to 'purge key') were left to commander.
  assert.deepEqual(
    fastPaths,
    cases
      .slice(
        0,
        cases.findIndex((c) => c.join(' ') === 'purge key'),
      )
      .map((c) => c.join(' ')),
  );
  // Both sides made the same requests.
  const calls = (s: typeof fast) => s.log.map((r) => `${r.method} ${r.path} ${r.status}`);
  assert.deepEqual(calls(fast), calls(full));
});
