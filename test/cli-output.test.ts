/** Output in real use: files replaced atomically, closed pipes, full disks, flags and shapes (issue 11). */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createNetServer } from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeRows } from '../src/cli/format.js';
import { cliHost } from './cli-host.js';
import { CLI, requests, SERVICE, SERVICE2, sim, waitForRequests } from './helpers.js';

/** The stats runs whose output is plain stdout or a file, in one process (cli-host.ts). */
const cli = cliHost();
const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/** Runs a shell pipeline in which `$CLI` is the built CLI; returns the pipeline's status (pipefail) and stderr. */
function pipeline(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['--norc', '--noprofile', '-o', 'pipefail', '-c', script], {
      // No spaces in either path: word splitting of $CLI suffices.
      env: { PATH: process.env.PATH ?? '', CLI: `${process.execPath} ${CLI}`, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const PREVIOUS = 'time,requests\nthe previous file, which a failed run must leave alone\n';

test('-o: a failing run (bad input, API failure, Ctrl-C) leaves the previous file byte-identical and says so', async (t) => {
  const s = await sim(t);
  const dir = await mkdtemp(join(tmpdir(), 'kf-out-'));
  const file = join(dir, 'prev.csv');
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };
  await writeFile(file, PREVIOUS);

  const bad = await cli.run(['stats', 'historical', '--region', 'mars', '--format', 'csv', '-o', file], env);
  assert.equal(bad.code, 2, bad.stderr);
  assert.equal(await readFile(file, 'utf8'), PREVIOUS);
  assert.match(
    bad.stderr,
    /^error: --region: "mars" is not a Fastly region.*; .*prev.csv was left unchanged\n$/,
  );

  // Pages after the first fail: some rows were written to the temporary file, none reach prev.csv.
  s.setFaults({ rate5xx: 1, paths: ['/stats/service'] });
  const api = await cli.run(
    [
      'stats',
      'historical',
      '--by',
      'minute',
      '--from',
      '1 day ago',
      '--format',
      'csv',
      '-o',
      file,
      '--max-attempts',
      '1',
    ],
    env,
  );
  assert.equal(api.code, 1, api.stderr);
  assert.equal(await readFile(file, 'utf8'), PREVIOUS);
  assert.match(api.stderr, /^error: .*HTTP 503.*prev.csv was left unchanged\n$/);
  // Nothing was fetched, by either failed run: no FILE.partial to resume from.
  await assert.rejects(readFile(`${file}.partial`), { code: 'ENOENT' });
  s.setFaults({});

  const latency = await sim(t, { faults: { latencyMs: 200 } });
  const child = spawn(
    process.execPath,
    [
      CLI,
      'stats',
      'historical',
      '--by',
      'minute',
      '--from',
      '7 days ago',
      '--format',
      'csv',
      '-o',
      file,
      '--concurrency',
      '1',
    ],
    { env: { ...env, FASTLY_API_ENDPOINT: latency.url }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await waitForRequests(latency, (p) => p.startsWith('/stats/service/'), 2);
  // The run must still be under way when the signal lands, however slow this machine: the pages
  // after the next answer 5 s late (it ended 0 once, under load, its last page answered first).
  latency.setFaults({ latencyMs: 5000 });
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.equal(await readFile(file, 'utf8'), PREVIOUS);
  // One line, the file's note once.
  assert.match(stderr, /^error: interrupted by SIGINT; \S+\/prev\.csv was left unchanged\n$/);
  assert.deepEqual(await readdir(dir), ['prev.csv'], 'no temporary file left behind');

  const ok = await cli.run(['stats', 'historical', '--by', 'hour', '--format', 'csv', '-o', file], env);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(
    await readFile(file, 'utf8'),
    /^service_id,start_time,time,.*\n[^,]+,\d+,\d{4}-\d\d-\d\dT\d\d:00:00Z,/,
  );
  assert.match(ok.stderr, /^Wrote \d+ points to .*prev.csv\n$/);
  assert.deepEqual(await readdir(dir), ['prev.csv']);
});

test('--format json | head -1 leaves no spool folder in $TMPDIR (a closed pipe exits at once)', async (t) => {
  const s = await sim(t);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };
  // The code cache goes elsewhere: TMPDIR must be left as it was found, empty.
  const cache = await mkdtemp(join(tmpdir(), 'kf-cache-'));
  for (const cmd of [
    'stats historical --all-services --by hour --from "7 days ago" --format json | head -1',
    // 1.1 MB of JSON: its writes meet the closed pipe.
    'stats historical --by minute --from "3 hours ago" --json | head -c 1',
  ]) {
    const spool = await mkdtemp(join(tmpdir(), 'kf-spool-'));
    const r = await pipeline(`$CLI ${cmd}`, { ...env, TMPDIR: spool, XDG_CACHE_HOME: cache });
    assert.equal(r.code, 0, `${cmd}: exit ${r.code}\n${r.stderr}`);
    assert.equal(r.stderr, '', `${cmd}: no error line`);
    assert.ok(r.stdout.length > 0 && r.stdout.length <= 2, `${cmd}: the pipe was closed early`);
    assert.deepEqual(await readdir(spool), [], `${cmd}: the spool folder was removed`);
  }
});

test('| head -1 ends quietly with 0; /dev/full is one line and exit 1', async (t) => {
  const s = await sim(t);
  const dir = await mkdtemp(join(tmpdir(), 'kf-pipe-'));
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };
  // Each output several times a pipe's 64 KB, so that its writes meet the closed pipe: 3 hours by
  // minute is 120 KB as CSV, 780 KB as NDJSON, 1.1 MB as JSON, but 23 KB as a table (a day: 180 KB).
  const hours = '--by minute --from "3 hours ago"';
  for (const cmd of [
    `stats historical ${hours} --format ndjson`,
    `stats historical ${hours} --format csv`,
    `stats historical ${hours} --json`,
    `stats historical --by minute --from "1 day ago"`,
    'schema',
    `executions --state-dir ${q(dir)} --json`,
  ]) {
    const r = await pipeline(`$CLI ${cmd} | head -1`, env);
    assert.equal(r.code, 0, `${cmd} | head -1: exit ${r.code}\n${r.stderr}`);
    assert.equal(r.stderr, '', `${cmd} | head -1: no error line`);
    assert.equal(r.stdout.split('\n').length, 2, `${cmd}: one line shown`);
  }
  // A purge has done its work when it prints: a closed pipe drops the output, not the outcome.
  const keys = join(dir, 'keys.txt');
  await writeFile(keys, Array.from({ length: 600 }, (_, i) => `k${i}`).join('\n'));
  const ok = await pipeline(`$CLI purge keys --file ${q(keys)} --json | head -c 1`, env);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stderr, '');
  for (const json of ['', '--json']) {
    const retry = join(dir, `retry${json}.txt`);
    const r = await pipeline(
      `$CLI purge keys --file ${q(keys)} ${json} --failed-keys ${q(retry)} | head -c 1`,
      { ...env, FASTLY_SERVICE_ID: 'NoSuchService1' },
    );
    assert.equal(r.code, 1, `purge keys ${json} | head: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, /^error: purge.Keys: 0 of 600 keys purged/m);
    assert.equal((await readFile(retry, 'utf8')).split('\n').filter(Boolean).length, 600);
  }
  // stdout redirected to /dev/full takes a process; -o /dev/full is a file the command opens, as in
  // the CLI host.
  const full = [
    ...[`stats historical --by hour --json > /dev/full`, `stats regions --json > /dev/full`].map(
      async (cmd) => ({ cmd, r: await pipeline(`$CLI ${cmd}`, env) }),
    ),
    ...[
      ['stats', 'historical', '--by', 'hour', '-o', '/dev/full'],
      ['stats', 'historical', '--by', 'hour', '--format', 'csv', '-o', '/dev/full'],
      ['schema', '-o', '/dev/full'],
    ].map(async (args) => ({ cmd: args.join(' '), r: await cli.run(args, env) })),
  ];
  for (const { cmd, r } of await Promise.all(full)) {
    assert.equal(r.code, 1, `${cmd}: exit ${r.code}\n${r.stderr}`);
    assert.match(
      r.stderr,
      /^error: [^\n]*ENOSPC \(no space left on the device\)[^\n]*\n$/,
      `${cmd}: one line\n${r.stderr}`,
    );
  }
});

test('stats: --format json is --json, regions take --format/-o, FASTLY_SERVICE_ID is honoured, tables agree', async (t) => {
  const s = await sim(t);
  const dir = await mkdtemp(join(tmpdir(), 'kf-fmt-'));
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };

  const regions = await cli.run(['stats', 'regions', '--json'], env);
  assert.equal(regions.code, 0, regions.stderr);
  const doc = JSON.parse(regions.stdout) as { status: string; data: string[] };
  assert.equal(doc.status, 'success');
  assert.ok(doc.data.includes('europe'));
  const csv = await cli.run(['stats', 'regions', '--format', 'csv', '-o', join(dir, 'r.csv')], env);
  assert.equal(csv.code, 0, csv.stderr);
  assert.equal(await readFile(join(dir, 'r.csv'), 'utf8'), `region\n${doc.data.join('\n')}\n`);
  const asFormat = await cli.run(['stats', 'regions', '--format', 'json'], env);
  assert.deepEqual(JSON.parse(asFormat.stdout), doc);

  s.clearLog();
  const one = await cli.run(
    ['stats', 'historical', '--by', 'hour', '--from', '3 hours ago', '--format', 'json'],
    env,
  );
  assert.equal(one.code, 0, one.stderr);
  assert.deepEqual(
    Object.keys((JSON.parse(one.stdout) as { data: object }).data),
    [SERVICE],
    'FASTLY_SERVICE_ID is the default -s',
  );
  assert.ok(requests(s, `/stats/service/${SERVICE}`).length > 0);
  const all = await cli.run(
    ['stats', 'historical', '--all-services', '--by', 'hour', '--from', '3 hours ago', '--json'],
    env,
  );
  assert.ok(
    Object.keys((JSON.parse(all.stdout) as { data: object }).data).includes(SERVICE2),
    '--all-services overrides it',
  );

  const hist = await cli.run(['stats', 'historical', '--by', 'hour', '--from', '3 hours ago'], env);
  const agg = await cli.run(['stats', 'aggregate', '--by', 'hour', '--from', '3 hours ago'], env);
  const time = /^\d{4}-\d\d-\d\d \d\d:\d\d {2}/;
  for (const r of [hist, agg]) {
    assert.equal(r.code, 0, r.stderr);
    const [head, first] = r.stdout.split('\n');
    assert.match(head ?? '', /^time \(UTC\) {7}/);
    assert.match(first ?? '', time);
    assert.match(first ?? '', /\d+(\.\d+)? [kMGT]?B\b/, 'bandwidth in units');
    assert.match(first ?? '', /\d+(\.\d+)?%/, 'hit ratio as a percentage');
  }
  const aggCsv = await cli.run(
    ['stats', 'aggregate', '--by', 'hour', '--from', '3 hours ago', '--format', 'csv'],
    env,
  );
  assert.match(
    aggCsv.stdout,
    /^start_time,time,[a-z_,0-9]+\n\d+,\d{4}-\d\d-\d\dT\d\d:00:00Z,/,
    'aggregate rows have no service column',
  );

  const debug = await cli.run(['stats', 'regions', '--debug'], env);
  assert.match(debug.stderr, /DEBUG statsRegions → 200 in \d+ ms/);
});

test('--debug logs the requests of its own command only, not those of the next command in the process', async (t) => {
  const s = await sim(t);
  const env = {
    FASTLY_API_TOKEN: 'tok',
    FASTLY_API_ENDPOINT: s.url,
    SECRET_FASTLY_API_TOKEN: Buffer.from('tok').toString('base64'),
  };
  const logged = (stderr: string) => stderr.match(/ → \d{3} in \d+ ms/g)?.length ?? 0;
  const first = await cli.run(['stats', 'regions', '--debug'], env);
  assert.equal(logged(first.stderr), 1, first.stderr);
  // A flow's purge (the client's channel, no --debug flag read) and a command without --debug.
  const flow = await cli.run(
    ['run', fileURLToPath(new URL('../../examples/purge_homepage.yml', import.meta.url))],
    env,
  );
  assert.equal(flow.code, 0, flow.stderr);
  assert.ok(requests(s, '/purge/').length > 0, 'the flow made a request');
  assert.equal(logged(flow.stderr), 0, flow.stderr);
  const quiet = await cli.run(['stats', 'regions'], env);
  assert.equal(logged(quiet.stderr), 0, quiet.stderr);
  // Logged once again, not once per command that asked for it before.
  const again = await cli.run(['stats', 'regions', '--debug'], env);
  assert.equal(logged(again.stderr), 1, again.stderr);
});

test('purge url --verify asks the simulator edge; a failed verification still reports the purge', async (t) => {
  const s = await sim(t);
  s.seedObject('https://www.example.com/pricing', ['pricing']);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url };
  const ok = await cli.run(['purge', 'url', 'https://www.example.com/pricing', '--verify', '--json'], env);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((JSON.parse(ok.stdout) as { verification: { xCache: string } }).verification.xCache, 'MISS');
  const dead = await cli.run(['purge', 'url', 'https://www.example.com/pricing', '--verify'], {
    ...env,
    KESTRA_FASTLY_EDGE_ENDPOINT: 'http://127.0.0.1:1',
  });
  assert.equal(dead.code, 1);
  assert.match(dead.stdout, /^✓ Purged https:\/\/www.example.com\/pricing \(id: \S+\)\n$/);
  assert.match(
    dead.stderr,
    /^error: purge.Url: purged https:\/\/www.example.com\/pricing \(purge id \S+\), but verifying it failed: could not fetch https:\/\/www.example.com\/pricing through the edge at http:\/\/127.0.0.1:1: connection refused by 127.0.0.1:1 \(ECONNREFUSED\)\n$/,
  );
  // An edge that never answers: --timeout bounds the verification too, and says so.
  const silent = createNetServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => silent.close());
  silent.on('connection', (c) => t.after(() => c.destroy()));
  const edge = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
  const slow = await cli.run(
    ['purge', 'url', 'https://www.example.com/pricing', '--verify', '--timeout', '300'],
    {
      ...env,
      KESTRA_FASTLY_EDGE_ENDPOINT: edge,
    },
  );
  assert.equal(slow.code, 1);
  assert.match(
    slow.stderr,
    /verifying it failed: could not fetch [^\n]+: no complete answer within 300 ms \(TIMEOUT\)\n$/,
  );
});

test('Ctrl-C during purge url --verify stops the verification at once: the purge still reported, exit 130', async (t) => {
  const s = await sim(t);
  s.seedObject('https://www.example.com/pricing', ['pricing']);
  // An edge that accepts the connection and never answers.
  const silent = createNetServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => silent.close());
  const connected = new Promise<void>((resolve) => silent.once('connection', () => resolve()));
  silent.on('connection', (c) => t.after(() => c.destroy()));
  const child = spawn(
    process.execPath,
    [CLI, 'purge', 'url', 'https://www.example.com/pricing', '--verify'],
    {
      env: {
        PATH: process.env.PATH ?? '',
        FASTLY_API_TOKEN: 'tok',
        FASTLY_API_ENDPOINT: s.url,
        KESTRA_FASTLY_EDGE_ENDPOINT: `http://127.0.0.1:${(silent.address() as { port: number }).port}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await connected;
  child.kill('SIGINT');
  // Before the fix: the verify timeout (10 s) ran out and the command exited 1 with TIMEOUT.
  assert.equal(await exited, 130, stderr);
  assert.match(stdout, /^✓ Purged https:\/\/www.example.com\/pricing \(id: \S+\)\n$/);
  assert.match(
    stderr,
    /^error: purge.Url: purged https:\/\/www.example.com\/pricing \(purge id \S+\), but verifying it failed: interrupted by SIGINT\n$/,
  );
  assert.doesNotMatch(stderr, /TIMEOUT/);
});

test('a table fitted to the terminal names what it left out in lines that fit that terminal', async (t) => {
  // Was: `note: … left out to fit 80 columns (see --field, --format csv)` 82 characters long.
  const notes: string[] = [];
  t.mock.method(process.stderr, 'write', (chunk: string) => notes.push(chunk) > 0);
  const row = { service: 'SU1Z0isxPaozGVKXdv0eY', name: 'www', region: 'asia_south_korea' };
  const wide = { ...row, bandwidth_in_bytes: 1, requests_served: 2, compute_requests: 3, edge_hits: 4 };
  const chunks: string[] = [];
  const out = new (await import('node:stream')).Writable({
    write(c: Buffer, _e, done) {
      chunks.push(c.toString());
      done();
    },
  });
  for (const width of [40, 80]) {
    notes.length = 0;
    chunks.length = 0;
    await writeRows([wide], 'table', out, {}, width);
    for (const line of chunks.join('').split('\n')) assert.ok(line.length <= width, `${width}: ${line}`);
    const said = notes.join('');
    assert.match(said.replace(/\n +/g, ' '), new RegExp(`^note: .+ left out to fit ${width} columns`));
    for (const line of said.split('\n')) assert.ok(line.length <= width, `${width}: ${line}`);
    assert.match(said, /\(see --format csv\)\n$/);
  }
});
