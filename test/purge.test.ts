import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { z } from 'zod';
import { InvalidInputError } from '../src/errors.js';
import { FastlyClient } from '../src/fastly/client.js';
import { PurgeCoordinator } from '../src/fastly/coordinator.js';
import { purgeAll, purgeKey, purgeKeys, purgeUrl } from '../src/fastly/purge.js';
import { verifyPurge } from '../src/fastly/verify.js';
import PurgeAllTask from '../src/tasks/purge/All.js';
import PurgeKeysTask from '../src/tasks/purge/Keys.js';
import { parseProps } from '../src/tasks/task.js';
import { requests, SERVICE, sim } from './helpers.js';

const client = (url: string, maxAttempts = 5) =>
  new FastlyClient({ token: 't', baseUrl: url, retry: { baseDelayMs: 5, maxDelayMs: 50, maxAttempts } });

test('purgeUrl appends the URL raw: scheme, slashes and query kept, nothing encoded needlessly', async (t) => {
  const s = await sim(t);
  const r = await purgeUrl(client(s.url), 'https://www.example.com/a/b?x=1&y=2#frag');
  assert.equal(r.status, 'ok');
  assert.ok(r.id);
  assert.equal(s.log[0]?.path, '/purge/https://www.example.com/a/b');
  const unknown = await purgeUrl(client(s.url), 'https://unknown.example.org/').catch((e: unknown) => e);
  assert.match(
    String(unknown),
    /HTTP 404 Record not found: Cannot find service.*not a domain of any Fastly service/,
  );
});

test('a hard purge evicts (X-Cache MISS next); a soft purge marks stale (HIT-STALE); Fastly-Debug shows keys', async (t) => {
  const s = await sim(t);
  s.seedObject('https://www.example.com/page', ['page', 'all']);
  const edge = { edgeEndpoint: s.url };
  assert.equal((await verifyPurge('https://www.example.com/page', edge)).xCache, 'HIT');
  await purgeKey(client(s.url), SERVICE, 'page', { soft: true });
  const soft = await verifyPurge('https://www.example.com/page', edge);
  assert.equal(soft.xCache, 'HIT-STALE');
  assert.equal(soft.surrogateKey, 'page all');
  assert.equal((await verifyPurge('https://www.example.com/page', edge)).xCache, 'HIT', 'revalidated');
  await purgeUrl(client(s.url), 'https://www.example.com/page');
  const hard = await verifyPurge('https://www.example.com/page', edge);
  assert.equal(hard.xCache, 'MISS');
  assert.equal(hard.age, 0);
});

test('Fastly-Soft-Purge is sent only for soft purges', async (t) => {
  const s = await sim(t);
  await purgeKey(client(s.url), SERVICE, 'a');
  await purgeKey(client(s.url), SERVICE, 'b', { soft: true });
  await purgeKeys(client(s.url), SERVICE, ['c', 'd']);
  await purgeKeys(client(s.url), SERVICE, ['c', 'd'], { soft: true });
  assert.deepEqual(
    s.log.map((e) => e.soft),
    [false, true, false, true],
  );
});

test('a key a path would mangle (or resolve, as . and ..) goes through the bulk body', async (t) => {
  const s = await sim(t);
  for (const key of ['a/b', 'x%2Fy', 'q?x', 'h#1', 'p+q', 'clé', '.', '..']) {
    s.clearLog();
    const r = await purgeKey(client(s.url), SERVICE, key);
    assert.equal(r.status, 'ok');
    assert.equal(s.log[0]?.path, `/service/${SERVICE}/purge`, key);
    assert.equal(s.log[0]?.keys, 1);
  }
  // Dots inside a key are plain characters.
  s.clearLog();
  await purgeKey(client(s.url), SERVICE, '...');
  assert.equal(s.log[0]?.path, `/service/${SERVICE}/purge/...`);
});

test('purgeKeys splits 1,000 keys into 4 bulk requests, removes duplicates, maps every key', async (t) => {
  const s = await sim(t);
  const keys = Array.from({ length: 1000 }, (_, i) => `k-${i}`);
  const r = await purgeKeys(client(s.url), SERVICE, [...keys, 'k-1', 'k-2']);
  assert.equal(r.batches, 4);
  assert.equal(r.duplicatesRemoved, 2);
  assert.equal(Object.keys(r.purgeIds).length, 1000);
  assert.deepEqual(r.failed, []);
  const bulk = requests(s, `/service/${SERVICE}/purge`);
  assert.equal(bulk.length, 4);
  assert.ok(bulk.every((e) => (e.keys ?? 0) <= 256));
});

test('the simulator refuses more than 256 keys with the real body', async (t) => {
  const s = await sim(t);
  const res = await fetch(`${s.url}/service/${SERVICE}/purge`, {
    method: 'POST',
    headers: { 'fastly-key': 't', 'content-type': 'application/json' },
    body: JSON.stringify({ surrogate_keys: Array.from({ length: 257 }, (_, i) => `k${i}`) }),
  });
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), {
    status: 'fail',
    reason: 'Batch surrogate key request only supports up to 256 surrogate keys',
  });
});

test('with 30% of requests failing, 10,000 keys end purged or named as failed, none lost', async (t) => {
  const s = await sim(t, {
    faults: { rate5xx: 0.15, rateReset: 0.1, rate429: 0.05, retryAfterSeconds: 0, seed: 42 },
  });
  const keys = Array.from({ length: 10_000 }, (_, i) => `article-${i}`);
  const r = await purgeKeys(client(s.url, 3), SERVICE, keys, { concurrency: 16 });
  const failed = new Set(r.failed.map((f) => f.key));
  assert.equal(Object.keys(r.purgeIds).length + failed.size, 10_000);
  for (const k of keys) assert.ok(k in r.purgeIds || failed.has(k), k);
  for (const f of r.failed) assert.match(f.reason, /purgeKeys failed/);
  const r2 = await purgeKeys(client(s.url, 8), SERVICE, keys, { concurrency: 16 });
  assert.equal(Object.keys(r2.purgeIds).length, 10_000, 'with enough retries every key is purged');
});

test('a batch that fails is reported key by key with its status', async (t) => {
  const s = await sim(t, { faults: { rate5xx: 1 } });
  const r = await purgeKeys(client(s.url, 2), SERVICE, ['a', 'b', 'c']);
  assert.deepEqual(
    r.failed.map((f) => [f.key, f.status]),
    [
      ['a', 503],
      ['b', 503],
      ['c', 503],
    ],
  );
});

test('purge-all: rate limited per service; from another process (its own turns) it is retried after Retry-After', async (t) => {
  const s = await sim(t);
  // One process: the second waits for its turn, a second after the first, and gets no 429.
  assert.deepEqual(await purgeAll(client(s.url), SERVICE), { status: 'ok' });
  assert.deepEqual(await purgeAll(client(s.url), SERVICE), { status: 'ok' });
  const all = () => requests(s, `/service/${SERVICE}/purge_all`).map((e) => e.status);
  assert.deepEqual(all(), [200, 200]);
  // Another process (a coordinator of its own) knows nothing of those turns: 429, then the retry.
  const elsewhere = new FastlyClient({
    token: 't',
    baseUrl: s.url,
    retry: { baseDelayMs: 5, maxDelayMs: 50 },
    purges: new PurgeCoordinator(),
  });
  assert.deepEqual(await purgeAll(elsewhere, SERVICE), { status: 'ok' });
  assert.deepEqual(all(), [200, 200, 429, 200]);
});

test('bad keys, URLs and soft purge-all are refused before any request', async (t) => {
  const s = await sim(t);
  const c = client(s.url);
  await assert.rejects(purgeKeys(c, SERVICE, []), /empty/);
  await assert.rejects(
    purgeKeys(c, SERVICE, ['ok', 'has space']),
    /surrogateKeys\[1\] "has space" contains whitespace/,
  );
  await assert.rejects(purgeKeys(c, SERVICE, ['x'.repeat(1025)]), /1025 bytes/);
  await assert.rejects(purgeUrl(c, 'https://'), InvalidInputError);
  await assert.rejects(purgeUrl(c, '/relative/path'), /not an absolute URL/);
  await assert.rejects(purgeUrl(c, 'ftp://www.example.com/'), /only http and https/);
  await assert.rejects(purgeKey(c, 'bad id!', 'k'), /not a Fastly service ID/);
  assert.throws(
    () => parseProps(PurgeAllTask, { apiToken: 't', serviceId: SERVICE, soft: true }),
    /purge-all cannot be soft/,
  );
  assert.equal(s.log.length, 0);
});

test('purge.Keys takes a rendered range of 100,000 numbers as text keys without a validation issue per key', () => {
  // zod calls the custom error map once for each issue it makes: numbers refused as not text and
  // then turned into text would make 100,000 of them (and a copy and a second parse).
  const before = z.config().customError;
  let issues = 0;
  z.config({ customError: () => void issues++ });
  try {
    const keys = Array.from({ length: 100_000 }, (_, i) => i + 1);
    const input = { apiToken: 't', serviceId: SERVICE, surrogateKeys: keys, soft: true, concurrency: '3' };
    const props = parseProps(PurgeKeysTask, input);
    assert.equal(issues, 0);
    assert.equal(props.surrogateKeys.length, 100_000);
    assert.deepEqual(props.surrogateKeys.slice(0, 2), ['1', '2']);
    assert.equal(props.surrogateKeys.at(-1), '100000');
    assert.equal(props.concurrency, 3);
    assert.equal(keys[0], 1, 'the rendered value is left as it was');
    // What is not text nor a number still fails, named by index, as before.
    assert.throws(
      () => parseProps(PurgeKeysTask, { ...input, surrogateKeys: [1, true, { a: 1 }] }),
      /surrogateKeys\[2\]: got \{"a":1\}; expected string/,
    );
    assert.deepEqual(parseProps(PurgeKeysTask, { ...input, surrogateKeys: [7, true] }).surrogateKeys, [
      '7',
      'true',
    ]);
  } finally {
    z.config({ customError: before });
  }
});

test('verifyPurge reads only the headers: the connection is closed before the edge has sent the body', async (t) => {
  const total = 128 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 'x');
  let finished = false;
  let seenHost = '';
  let sentBytes!: Promise<number>;
  // A 128 MB object, streamed from one reused 64 KB chunk as fast as the client takes it.
  const server = createServer((req, res) => {
    req.resume();
    seenHost = req.headers.host ?? '';
    const socket = req.socket;
    sentBytes = new Promise((resolve) => socket.once('close', () => resolve(socket.bytesWritten)));
    res.writeHead(200, {
      'content-length': String(total),
      'x-cache': 'MISS',
      age: '0',
      'surrogate-key': 'big all',
    });
    let queued = 0;
    const pump = () => {
      while (queued < total) {
        queued += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      finished = true;
      res.end();
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  const result = await verifyPurge('https://www.example.com/big.iso', {
    edgeEndpoint: `http://127.0.0.1:${port}`,
  });
  assert.deepEqual(result, { status: 200, xCache: 'MISS', age: 0, surrogateKey: 'big all' });
  assert.equal(seenHost, 'www.example.com');
  const sent = await sentBytes;
  assert.ok(!finished && sent < total / 2, `the edge wrote ${sent} of ${total} bytes before the close`);
});

test('40 batches backing off at once on a flaky API add no listener to the shared stop signal (no MaxListenersExceededWarning)', async (t) => {
  // The report: `purge keys` against `simulator --fail-5xx 0.2 --fail-429 0.1` printed "11 abort
  // listeners added to [AbortSignal]": every batch waiting to retry listened on the one stop signal.
  const s = await sim(t, {
    faults: {
      rate5xx: 0.2,
      rate429: 0.1,
      retryAfterSeconds: 0,
      seed: 7,
      latencyMs: 100,
      latencyJitterMs: 200,
    },
  });
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const stop = new AbortController();
  const c = new FastlyClient({
    token: 't',
    baseUrl: s.url,
    // Long enough that the backoffs of many batches overlap.
    retry: { baseDelayMs: 200, maxDelayMs: 400, maxAttempts: 6 },
    onRetry: () => {
      listening = Math.max(listening, getEventListeners(stop.signal, 'abort').length);
    },
  });
  let listening = 0;
  const keys = Array.from({ length: 40 * 256 }, (_, i) => `k-${i}`);
  const r = await purgeKeys(c, SERVICE, keys, { concurrency: 40, stop: stop.signal });
  // Warnings are emitted on the next tick.
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(c.counters.retries >= 10, `enough retries to overlap (${c.counters.retries})`);
  assert.equal(Object.keys(r.purgeIds).length + r.failed.length, keys.length);
  assert.equal(listening, 0, 'no wait listens on the shared signal itself');
  assert.deepEqual(
    warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message),
    [],
  );
});
