import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { keysSummary } from '../src/cli/commands/purge-commands.js';
import { cliHost } from './cli-host.js';
import { CLI, requests, runCli, SERVICE, sim, waitForRequests } from './helpers.js';

/**
 * The CLI runs of this file in one process (cli-host.ts), but for what only a process shows: its
 * signals, and a certificate trusted through NODE_EXTRA_CA_CERTS (or not).
 */
const cli = cliHost();

test('purge keys --file with 1,000 keys: 4 bulk requests, --json maps every key', async (t) => {
  const s = await sim(t);
  const dir = await mkdtemp(join(tmpdir(), 'kf-'));
  const keys = Array.from({ length: 1000 }, (_, i) => `product-${i}`);
  await writeFile(join(dir, 'keys.txt'), `# product keys\r\n\r\n${keys.join('\r\n')}\r\n`);
  const r = await cli.run(['purge', 'keys', '--file', join(dir, 'keys.txt'), '--json'], {
    FASTLY_API_TOKEN: 'tok',
    FASTLY_SERVICE_ID: SERVICE,
    FASTLY_API_ENDPOINT: s.url,
  });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { purgeIds: Record<string, string>; failed: { key: string }[] };
  assert.equal(Object.keys(out.purgeIds).length, 1000);
  for (const k of keys) assert.ok(out.purgeIds[k], k);
  assert.equal(requests(s, `/service/${SERVICE}/purge`).length, 4);
});

test('purge keys reads stdin with --file -, and arguments', async (t) => {
  const s = await sim(t);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url };
  const r = await cli.run(['purge', 'keys', 'a', '--file', '-', '--service-id', SERVICE], env, 'b\nc\n');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^✓ Purged 3 keys in 1 request\n$/);
});

test('a partial failure exits 1, and --json lists exactly the failed keys', async (t) => {
  const s = await sim(t, { faults: { rate5xx: 1, paths: [`/service/${SERVICE}/purge`] } });
  const r = await cli.run(['purge', 'keys', 'a', 'b', '--json', '--max-attempts', '1'], {
    FASTLY_API_TOKEN: 'tok',
    FASTLY_SERVICE_ID: SERVICE,
    FASTLY_API_ENDPOINT: s.url,
  });
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout) as { purgeIds: Record<string, string>; failed: { key: string }[] };
  assert.deepEqual(
    out.failed.map((f: { key: string }) => f.key),
    ['a', 'b'],
  );
  assert.match(r.stderr, /^error: purge.Keys: 0 of 2 keys purged, 2 failed \(a, b\)/);
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one line, no stack');
});

test('url, key, all and keys commands print human output (saying when a purge was soft) and JSON', async (t) => {
  const s = await sim(t);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };
  const url = await cli.run(['purge', 'url', 'https://www.example.com/x', '--soft'], env);
  assert.equal(url.code, 0, url.stderr);
  assert.match(url.stdout, /Soft-purged https:\/\/www.example.com\/x \(id: .+\)/);
  const key = await cli.run(['purge', 'key', 'k1', '--json'], env);
  assert.deepEqual(Object.keys(JSON.parse(key.stdout) as object), ['status', 'id']);
  const all = await cli.run(['purge', 'all', '--json'], env);
  assert.deepEqual(JSON.parse(all.stdout), { status: 'ok' });
  const keys = await cli.run(['purge', 'keys', 'a', 'b', '--soft'], env);
  assert.equal(keys.stdout, '✓ Soft-purged 2 keys in 1 request\n');
});

const CANARY = 'CANARY-tok-5f1e9a7c';

test('the canary token never appears in stdout, stderr or written files, failures included', async (t) => {
  const s = await sim(t, { tokens: { [CANARY]: ['purge_select'] } });
  const dir = await mkdtemp(join(tmpdir(), 'kf-canary-'));
  await writeFile(join(dir, 'keys.txt'), 'a\nb\n');
  const base = {
    FASTLY_API_TOKEN: CANARY,
    FASTLY_SERVICE_ID: SERVICE,
    FASTLY_API_ENDPOINT: s.url,
    KESTRA_FASTLY_DEBUG: '1',
  };
  const runs: [string[], Record<string, string>][] = [
    [['purge', 'url', 'https://www.example.com/', '--debug'], base],
    [['purge', 'url', 'https://nowhere.invalid/', '--debug'], base],
    [['purge', 'key', 'k', '--debug', '--json'], base],
    [['purge', 'keys', '--file', join(dir, 'keys.txt'), '--debug'], base],
    [['purge', 'all', '--debug'], base],
    [['purge', 'key', 'k', '--service-id', 'NoSuchService'], base],
    [['purge', 'key', 'k', '--token', CANARY], { ...base, FASTLY_API_TOKEN: '' }],
    [['purge', 'key', 'k', '--token', `${CANARY} x`], base],
    [['purge', 'key', 'k'], { ...base, FASTLY_API_TOKEN: `${CANARY}\n` }],
    [['purge', 'key', 'k'], { ...base, FASTLY_API_ENDPOINT: 'http://10.9.9.9' }],
    [['purge', 'key', 'k', '--max-attempts', '1'], { ...base, FASTLY_API_ENDPOINT: 'http://127.0.0.1:1' }],
  ];
  const codes: number[] = [];
  for (const [args, env] of runs) {
    const r = await cli.run(args, env);
    codes.push(r.code ?? -1);
    assert.ok(!r.stdout.includes(CANARY), `stdout of ${args.join(' ')}`);
    assert.ok(!r.stderr.includes(CANARY), `stderr of ${args.join(' ')}: ${r.stderr}`);
  }
  assert.ok(
    codes.includes(0) && codes.includes(1) && codes.includes(2),
    `failures included: ${codes.join(', ')}`,
  );
  for (const f of await readdir(dir)) assert.ok(!(await readFile(join(dir, f), 'utf8')).includes(CANARY));
});

const manyKeys = (n: number) => Array.from({ length: n }, (_, i) => `article-${i}`).join('\n');

test('purge keys stops at a failure every batch would meet: 20,000 keys, at most 2 requests, one error line', async (t) => {
  const s = await sim(t, { tokens: { good: ['purge_select'], readonly: ['global:read'] } });
  const dir = await mkdtemp(join(tmpdir(), 'kf-fatal-'));
  await writeFile(join(dir, 'keys.txt'), manyKeys(20_000));
  const cases: [string, Record<string, string>, RegExp][] = [
    ['unknown service', { FASTLY_API_TOKEN: 'good', FASTLY_SERVICE_ID: 'NoSuchService1' }, /HTTP 404/],
    ['unknown token', { FASTLY_API_TOKEN: 'nope', FASTLY_SERVICE_ID: SERVICE }, /HTTP 401/],
    ['token without the scope', { FASTLY_API_TOKEN: 'readonly', FASTLY_SERVICE_ID: SERVICE }, /HTTP 403/],
  ];
  for (const [name, env, status] of cases) {
    s.clearLog();
    const failed = join(dir, `${name}.txt`);
    const r = await cli.run(['purge', 'keys', '--file', join(dir, 'keys.txt'), '--failed-keys', failed], {
      ...env,
      FASTLY_API_ENDPOINT: s.url,
    });
    assert.equal(r.code, 1, `${name}: ${r.stderr}`);
    assert.ok(s.log.length <= 2, `${name}: ${s.log.length} requests`);
    assert.equal(r.stdout, '', `${name}: nothing purged, nothing listed`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(
      lines.filter((l) => l.startsWith('error: ')).length,
      1,
      `${name}: one error line\n${r.stderr}`,
    );
    assert.match(
      lines.at(-1) ?? '',
      /^error: purge.Keys: 0 of 20000 keys purged; sending stopped at a failure every batch would meet/,
    );
    assert.match(r.stderr, status);
    assert.equal((await readFile(failed, 'utf8')).split('\n').filter(Boolean).length, 20_000);
  }
  // An unreachable endpoint: one batch tries (with its retries), the rest are not sent.
  const dead = await cli.run(
    ['purge', 'keys', '--file', join(dir, 'keys.txt'), '--json', '--max-attempts', '2'],
    {
      FASTLY_API_TOKEN: 'good',
      FASTLY_SERVICE_ID: SERVICE,
      FASTLY_API_ENDPOINT: 'http://127.0.0.1:1',
    },
  );
  assert.equal(dead.code, 1);
  const out = JSON.parse(dead.stdout) as {
    purged: number;
    requests: number;
    stopped: string;
    failed: { key: string; reason: string }[];
  };
  assert.equal(out.purged, 0);
  assert.equal(out.requests, 1);
  assert.match(out.stopped, /ECONNREFUSED/);
  assert.equal(out.failed.length, 20_000);
});

test('purge keys stops at a TLS failure every batch would meet, in one line: plain http behind https://, an untrusted certificate', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-tls-'));
  await writeFile(join(dir, 'keys.txt'), manyKeys(20_000));
  const tls = new URL('../../test/fixtures/tls/', import.meta.url);
  const servers: [string, Server, RegExp][] = [
    [
      'plain http',
      createHttpServer((_req, res) => res.end('{}')),
      /the TLS handshake with 127\.0\.0\.1:\d+ failed \(does it speak https\?\) \(EPROTO\)/,
    ],
    [
      'self-signed certificate',
      createHttpsServer(
        { key: await readFile(new URL('key.pem', tls)), cert: await readFile(new URL('cert.pem', tls)) },
        (_req, res) => res.end('{}'),
      ),
      /127\.0\.0\.1:\d+'s TLS certificate was refused: self[- ]signed certificate/,
    ],
  ];
  for (const [name, server, message] of servers) {
    let connections = 0;
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const port = (server.address() as { port: number }).port;
    const r = await runCli(['purge', 'keys', '--file', join(dir, 'keys.txt')], {
      FASTLY_API_TOKEN: 'tok',
      FASTLY_SERVICE_ID: SERVICE,
      FASTLY_API_ENDPOINT: `https://127.0.0.1:${port}`,
    });
    assert.equal(r.code, 1, `${name}: ${r.stderr}`);
    assert.ok(connections <= 2, `${name}: ${connections} connections`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${name}: one line\n${r.stderr}`);
    assert.match(
      lines[0] ?? '',
      /^error: purge.Keys: 0 of 20000 keys purged; sending stopped at a failure every batch would meet/,
    );
    assert.match(lines[0] ?? '', message, name);
    assert.doesNotMatch(r.stderr, /openssl|deps\//i, `${name}: no OpenSSL internals`);
  }
});

test('purge key, all and keys over https: a certificate NODE_EXTRA_CA_CERTS trusts is accepted, an untrusted one refused in one line', async (t) => {
  const tls = new URL('../../test/fixtures/tls/', import.meta.url);
  const seen: string[] = [];
  const server = createHttpsServer(
    { key: await readFile(new URL('key.pem', tls)), cert: await readFile(new URL('cert.pem', tls)) },
    (req, res) => {
      seen.push(`${req.method} ${req.url} ${String(req.headers['fastly-key'])}`);
      res.setHeader('content-type', 'application/json');
      res.end(req.url?.endsWith('/purge') ? '{"a":"id-a","b":"id-b"}' : '{"status":"ok","id":"id-1"}');
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const endpoint = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: endpoint };
  const trusted = { ...env, NODE_EXTRA_CA_CERTS: fileURLToPath(new URL('cert.pem', tls)) };
  const key = await runCli(['purge', 'key', 'k1'], trusted);
  assert.equal(key.code, 0, key.stderr);
  assert.equal(key.stdout, '✓ Purged key k1 (id: id-1)\n');
  const keys = await runCli(['purge', 'keys', 'a', 'b'], trusted);
  assert.equal(keys.code, 0, keys.stderr);
  assert.deepEqual(seen, [`POST /service/${SERVICE}/purge/k1 tok`, `POST /service/${SERVICE}/purge tok`]);
  for (const args of [
    ['purge', 'key', 'k1'],
    ['purge', 'all'],
  ]) {
    const refused = await runCli(args, env);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /^error: purge(Key|All) failed: 127\.0\.0\.1:\d+'s TLS certificate was refused: self[- ]signed certificate[^\n]*\n$/,
    );
  }
  assert.equal(seen.length, 2);
});

test('the --failed-keys file gives back keys that start with # or \\ through --file (escaped with \\)', async (t) => {
  const failing = await sim(t, { faults: { rate5xx: 1, paths: [`/service/${SERVICE}/purge`] } });
  const dir = await mkdtemp(join(tmpdir(), 'kf-'));
  const file = join(dir, 'retry.txt');
  const keys = ['#launch', '\\odd', 'plain'];
  const first = await cli.run(['purge', 'keys', ...keys, '--max-attempts', '1', '--failed-keys', file], {
    FASTLY_API_TOKEN: 'tok',
    FASTLY_SERVICE_ID: SERVICE,
    FASTLY_API_ENDPOINT: failing.url,
  });
  assert.equal(first.code, 1, first.stderr);
  assert.equal(await readFile(file, 'utf8'), '\\#launch\n\\\\odd\nplain\n');
  const s = await sim(t);
  const retry = await cli.run(['purge', 'keys', '--file', file, '--json'], {
    FASTLY_API_TOKEN: 'tok',
    FASTLY_SERVICE_ID: SERVICE,
    FASTLY_API_ENDPOINT: s.url,
  });
  assert.equal(retry.code, 0, retry.stderr);
  assert.deepEqual(
    Object.keys((JSON.parse(retry.stdout) as { purgeIds: object }).purgeIds).sort(),
    [...keys].sort(),
  );
});

test('a purge of a few keys that all fail names them in its error line, and says so', async (t) => {
  const s = await sim(t, { faults: { rate5xx: 1, paths: [`/service/${SERVICE}/purge`] } });
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };
  const few = await cli.run(['purge', 'keys', 'k1', 'k2', '--max-attempts', '1'], env);
  assert.equal(few.code, 1);
  assert.match(
    few.stderr,
    /0 of 2 keys purged, 2 failed \(k1, k2\); first cause: [^\n]+; the failed keys are all named here\n$/,
  );
  const many = await cli.run(['purge', 'keys', 'a', 'b', 'c', 'd', 'e', 'f', '--max-attempts', '1'], env);
  assert.match(
    many.stderr,
    /\(a, b, c, d, e, …\); [^\n]+the failed keys are not listed \(--failed-keys FILE writes them, --json lists them\)\n$/,
  );
});

test(
  'Ctrl-C while purge keys still reads keys from a pipe that stays open stops at once, exit 130, nothing sent',
  { timeout: 60_000 },
  async (t) => {
    const s = await sim(t);
    const child = spawn(process.execPath, [CLI, 'purge', 'keys', '--file', '-'], {
      env: {
        PATH: process.env.PATH ?? '',
        FASTLY_API_TOKEN: 'tok',
        FASTLY_SERVICE_ID: SERVICE,
        FASTLY_API_ENDPOINT: s.url,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // More than a pipe holds: once written, the CLI is reading. The producer never closes the pipe.
    await new Promise<void>((resolve, reject) =>
      child.stdin.write(manyKeys(40_000), (err) => (err ? reject(err) : resolve())),
    );
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    assert.equal(stderr, 'error: interrupted by SIGINT\n');
    assert.equal(requests(s, `/service/${SERVICE}/purge`).length, 0);
    child.stdin.destroy();
  },
);

/**
 * Once `batches` bulk requests reached the simulator, Ctrl-C, and again once the CLI says a second
 * one exits at once; the exit code and stderr.
 */
async function interruptTwice(
  s: Parameters<typeof waitForRequests>[0],
  child: ReturnType<typeof spawnPurgeKeys>,
  batches: number,
) {
  let stderr = '';
  const noticed = new Promise<void>((resolve) =>
    child.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.includes('interrupt again to exit at once')) resolve();
    }),
  );
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await waitForRequests(s, (p) => p === `/service/${SERVICE}/purge`, batches);
  child.kill('SIGINT');
  await noticed;
  child.kill('SIGINT');
  const code = await exited;
  return { code, stderr };
}

/** `purge keys --file FILE --concurrency 2 …extra` against the simulator at `url`, as a child to signal. */
function spawnPurgeKeys(url: string, file: string, extra: string[]) {
  return spawn(process.execPath, [CLI, 'purge', 'keys', '--file', file, '--concurrency', '2', ...extra], {
    env: {
      PATH: process.env.PATH ?? '',
      FASTLY_API_TOKEN: 'tok',
      FASTLY_SERVICE_ID: SERVICE,
      FASTLY_API_ENDPOINT: url,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

test('SIGINT during purge keys: stops sending, waits for batches in flight, prints the account and writes --failed-keys', async (t) => {
  const s = await sim(t, { faults: { latencyMs: 150 } });
  const dir = await mkdtemp(join(tmpdir(), 'kf-sigint-'));
  await writeFile(join(dir, 'keys.txt'), manyKeys(20_000));
  for (const [json, withFile] of [
    [true, true],
    [false, true],
    [false, false],
  ]) {
    s.clearLog();
    const failedFile = join(dir, `retry-${json}-${withFile}.txt`);
    const child = spawnPurgeKeys(s.url, join(dir, 'keys.txt'), [
      ...(withFile ? ['--failed-keys', failedFile] : []),
      ...(json ? ['--json'] : []),
    ]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await waitForRequests(s, (p) => p === `/service/${SERVICE}/purge`, 3);
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    const sent = requests(s, `/service/${SERVICE}/purge`).length;
    assert.ok(sent >= 3 && sent < 79, `${sent} batches sent of 79`);
    const unsent = 20_000 - sent * 256;
    assert.match(stderr, /interrupted by SIGINT/);
    if (!withFile) {
      // Without a file the keys to retry are listed, one a line, under their reason.
      const listed = stdout.split('\n').filter((l) => l.startsWith('    article-'));
      assert.equal(listed.length, unsent, 'every batch sent was answered and counted');
      assert.match(
        stdout,
        new RegExp(`^✗ Purged ${sent * 256} keys; ${unsent} not purged:\\n  not sent: interrupted by SIGINT`),
      );
      continue;
    }
    const retry = (await readFile(failedFile, 'utf8')).split('\n').filter(Boolean);
    assert.equal(retry.length, unsent, 'every batch sent was answered and counted');
    // The file holds the keys: the terminal gets their count and the file's name, not 19,000 lines.
    assert.ok(stderr.includes(`${unsent} keys to retry written to ${failedFile}\n`), stderr);
    assert.ok(!/article-/.test(stderr), 'no key on stderr');
    if (json) {
      const out = JSON.parse(stdout) as {
        purged: number;
        requests: number;
        stopped: string;
        failed: { key: string; reason: string }[];
      };
      assert.equal(out.purged, sent * 256);
      assert.equal(out.requests, sent);
      assert.equal(out.stopped, 'interrupted by SIGINT');
      assert.deepEqual(
        out.failed.map((f: { key: string }) => f.key),
        retry,
      );
      for (const f of out.failed) assert.equal(f.reason, 'not sent: interrupted by SIGINT');
    } else {
      assert.equal(
        stdout,
        `✗ Purged ${sent * 256} keys; ${unsent} not purged (not sent: interrupted by SIGINT)\n`,
      );
    }
  }
});

test('a second SIGINT during purge keys exits at once, after writing the keys not confirmed purged', async (t) => {
  const s = await sim(t, { faults: { latencyMs: 400 } });
  const dir = await mkdtemp(join(tmpdir(), 'kf-sigint2-'));
  await writeFile(join(dir, 'keys.txt'), manyKeys(20_000));
  const failedFile = join(dir, 'retry.txt');
  const child = spawnPurgeKeys(s.url, join(dir, 'keys.txt'), ['--failed-keys', failedFile]);
  const { code, stderr } = await interruptTwice(s, child, 3);
  assert.equal(code, 130, stderr);
  const m = /(\d+) keys confirmed purged; (\d+) keys not confirmed, written to (.+)\n/.exec(stderr);
  assert.ok(m, stderr);
  const [confirmed, left] = [Number(m[1]), Number(m[2])];
  assert.equal(m[3], failedFile);
  assert.equal(confirmed + left, 20_000);
  // The batches still in flight at the second Ctrl-C had no answer yet: their keys are in the file.
  const sent = requests(s, `/service/${SERVICE}/purge`).length;
  assert.ok(left >= 20_000 - sent * 256 && confirmed % 256 === 0, `${confirmed} confirmed, ${sent} sent`);
  const retry = (await readFile(failedFile, 'utf8')).split('\n').filter(Boolean);
  assert.equal(retry.length, left);
  assert.equal(new Set(retry).size, left);
});

test('Ctrl-C, SIGTERM or SIGHUP while a batch waits to retry a 429: no retry, --failed-keys written, exit 130/143/129 at once', async (t) => {
  let seen = 0;
  let answered = () => {};
  const server = createHttpServer((req, res) => {
    req.resume();
    seen++;
    res.writeHead(429, { 'retry-after': '20', 'content-type': 'application/json' });
    res.end('{"msg":"slow down"}', () => answered());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const dir = await mkdtemp(join(tmpdir(), 'kf-retry-wait-'));
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    // A dropped ssh session: handled like SIGTERM, not the default death that writes nothing.
    ['SIGHUP', 129],
  ] as const) {
    seen = 0;
    const first = new Promise<void>((resolve) => (answered = resolve));
    const failedFile = join(dir, `${signal}.txt`);
    const child = spawn(process.execPath, [CLI, 'purge', 'keys', 'a', 'b', '--failed-keys', failedFile], {
      env: {
        PATH: process.env.PATH ?? '',
        FASTLY_API_TOKEN: 'tok',
        FASTLY_SERVICE_ID: SERVICE,
        FASTLY_API_ENDPOINT: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // The first 429 is out: the batch waits 20 s to retry (up to 3 attempts, ~40 s, before the fix).
    await first;
    child.kill(signal);
    assert.equal(await exited, code, stderr);
    assert.equal(seen, 1, `${signal}: no attempt after the signal`);
    assert.equal(await readFile(failedFile, 'utf8'), 'a\nb\n');
    assert.ok(stderr.includes(`2 keys to retry written to ${failedFile}\n`), stderr);
    assert.match(
      stderr,
      new RegExp(
        `^error: purge\\.Keys: 0 of 2 keys purged, 2 failed \\(a, b\\); first cause: purgeKeys failed: HTTP 429 slow down \\(rate limited by Fastly\\); not retried: interrupted by ${signal}; the failed keys are written to `,
        'm',
      ),
    );
  }
});

test('--failed-keys that cannot be written: the account and its error still print, then a line with the keys', async (t) => {
  const s = await sim(t, { faults: { rate5xx: 1, paths: [`/service/${SERVICE}/purge`] } });
  const r = await cli.run(
    ['purge', 'keys', 'a', 'b', 'c', '--max-attempts', '1', '--failed-keys', '/dev/full'],
    { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url },
  );
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '', 'nothing purged: the error line says it');
  const lines = r.stderr.split('\n');
  assert.equal(lines.length, 3, r.stderr);
  assert.match(
    lines[0] ?? '',
    /^error: purge\.Keys: 0 of 3 keys purged, 3 failed \(a, b, c\); first cause: purgeKeys failed: HTTP 503 .*; the failed keys are not in \/dev\/full but on the next line$/,
  );
  assert.equal(
    lines[1],
    'error: --failed-keys: cannot write /dev/full: ENOSPC (no space left on the device); the 3 keys to retry: a b c',
  );
});

test('purge keys --file of a binary file: one short line, escaped', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-binary-'));
  // Bytes of every value, newlines among them: lines of control characters and invalid UTF-8.
  const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 167 + (i >> 8)) % 256));
  await writeFile(join(dir, 'keys.bin'), bytes);
  const r = await cli.run(['purge', 'keys', '--file', join(dir, 'keys.bin')], {
    FASTLY_API_TOKEN: 'tok',
    FASTLY_SERVICE_ID: SERVICE,
    FASTLY_API_ENDPOINT: 'http://127.0.0.1:1',
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^error: --file \S+keys\.bin:1 "[^\n]*\(and \d+ more invalid keys\)\n$/);
  assert.ok(r.stderr.length < 200, `${r.stderr.length} characters: ${r.stderr}`);
  // Unprintable characters and invalid UTF-8 (U+FFFD once decoded) are escaped.
  assert.doesNotMatch(r.stderr.trimEnd(), /[\u0000-\u001f\u007f-\u009f\ufffd]/);
});

test('a second SIGINT with an unwritable --failed-keys lists the keys not confirmed on stderr, and leaves the device alone', async (t) => {
  const s = await sim(t, { faults: { latencyMs: 400 } });
  const dir = await mkdtemp(join(tmpdir(), 'kf-sigint2-full-'));
  await writeFile(join(dir, 'keys.txt'), manyKeys(2_000));
  const child = spawnPurgeKeys(s.url, join(dir, 'keys.txt'), ['--failed-keys', '/dev/full']);
  const { code, stderr } = await interruptTwice(s, child, 2);
  assert.equal(code, 130, stderr);
  const m =
    /(\d+) keys confirmed purged; (\d+) keys not confirmed; \/dev\/full could not be written \(ENOSPC\), so here they are: (.+)\n/.exec(
      stderr,
    );
  assert.ok(m, stderr);
  const listed = (m[3] ?? '').split(' ');
  assert.equal(listed.length, Number(m[2]));
  assert.equal(Number(m[1]) + listed.length, 2_000);
  assert.ok(listed.every((k) => k.startsWith('article-')));
  assert.ok(statSync('/dev/full').isCharacterDevice(), '/dev/full is still the device');
});

test('keysSummary: keys listed under each reason, or one line when --failed-keys holds them', () => {
  const o = {
    purgeIds: { a: '1' },
    purged: 1,
    failed: [
      { key: 'b', reason: 'HTTP 503' },
      { key: 'c', reason: 'not sent: interrupted by SIGINT' },
      { key: 'd', reason: 'HTTP 503' },
    ],
    duplicatesRemoved: 0,
    requests: 2,
  };
  assert.equal(
    keysSummary(o),
    [
      '✗ Purged 1 key; 3 not purged:',
      '  HTTP 503 (2 keys):',
      '    b',
      '    d',
      '  not sent: interrupted by SIGINT (1 key):',
      '    c',
    ].join('\n'),
  );
  assert.equal(keysSummary(o, 'retry.txt'), '✗ Purged 1 key; 3 not purged (HTTP 503; and 1 other reason)');
  assert.equal(
    keysSummary({ ...o, failed: o.failed.slice(0, 1) }, 'retry.txt'),
    '✗ Purged 1 key; 1 not purged (HTTP 503)',
  );
  assert.equal(
    keysSummary({ ...o, purged: 0, purgeIds: {} }, 'retry.txt'),
    '',
    'nothing purged: the error line says it',
  );
});
