import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { requests, runCli, SERVICE, sim } from './helpers.js';

test('purge keys --file with 1,000 keys: 4 bulk requests, --json maps every key', async (t) => {
  const s = await sim(t);
  const dir = await mkdtemp(join(tmpdir(), 'kf-'));
  const keys = Array.from({ length: 1000 }, (_, i) => `product-${i}`);
  await writeFile(join(dir, 'keys.txt'), `# product keys\r\n\r\n${keys.join('\r\n')}\r\n`);
  const r = await runCli(['purge', 'keys', '--file', join(dir, 'keys.txt'), '--json'], {
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
  const r = await runCli(['purge', 'keys', 'a', '--file', '-', '--service-id', SERVICE], env, 'b\nc\n');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Purged 3 key\(s\) in 1 request/);
});

test('a partial failure exits 1, and --json lists exactly the failed keys', async (t) => {
  const s = await sim(t, { faults: { rate5xx: 1, paths: [`/service/${SERVICE}/purge`] } });
  const r = await runCli(['purge', 'keys', 'a', 'b', '--json', '--max-attempts', '1'], {
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

test('url, key and all commands print human output and JSON', async (t) => {
  const s = await sim(t);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };
  const url = await runCli(['purge', 'url', 'https://www.example.com/x', '--soft'], env);
  assert.equal(url.code, 0, url.stderr);
  assert.match(url.stdout, /Soft-purged https:\/\/www.example.com\/x \(id: .+\)/);
  const key = await runCli(['purge', 'key', 'k1', '--json'], env);
  assert.deepEqual(Object.keys(JSON.parse(key.stdout) as object), ['status', 'id']);
  const all = await runCli(['purge', 'all', '--json'], env);
  assert.deepEqual(JSON.parse(all.stdout), { status: 'ok' });
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
    const r = await runCli(args, env);
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
