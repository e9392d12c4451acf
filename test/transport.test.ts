import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FastlyClient } from '../src/fastly/client.js';
import { FastlyNetworkError } from '../src/fastly/errors.js';
import { getRegions, historical } from '../src/fastly/stats.js';
import { HttpTransport } from '../src/http/transport.js';
import { SERVICE, sim } from './helpers.js';

const fast = { baseDelayMs: 5, maxDelayMs: 20 };

/** A one-route API on 127.0.0.1 whose answers the test writes byte by byte. */
async function api(t: TestContext, answer: (res: ServerResponse, headers: IncomingHttpHeaders) => void) {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    answer(res, req.headers);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  server.on('connection', (s) => t.after(() => s.destroy()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen };
}

const REGIONS = JSON.stringify({ status: 'success', meta: {}, msg: null, data: ['usa', 'europe'] });

test('a stats request asks for gzip and a gzipped answer is read', async (t) => {
  const { url, seen } = await api(t, (res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    res.end(gzipSync(REGIONS));
  });
  const client = new FastlyClient({ token: 't', baseUrl: url });
  assert.deepEqual(await getRegions(client), ['usa', 'europe']);
  assert.equal(seen[0]?.['accept-encoding'], 'gzip');
});

test('a gzipped body cut off, or corrupt, is retried and then reported, never taken as success', async (t) => {
  const zipped = gzipSync(REGIONS);
  for (const [label, body, cause] of [
    ['cut off', zipped.subarray(0, zipped.length - 12), /cut off/],
    ['corrupt', Buffer.concat([zipped.subarray(0, 10), Buffer.alloc(40, 7)]), /corrupt/],
  ] as const) {
    const { url, seen } = await api(t, (res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(body);
    });
    const client = new FastlyClient({ token: 't', baseUrl: url, retry: { ...fast, maxAttempts: 2 } });
    const err = await getRegions(client).catch((e: unknown) => e);
    assert.ok(err instanceof FastlyNetworkError, label);
    assert.match(err.message, cause, label);
    assert.equal(seen.length, 2, `${label}: retried once`);
  }
});

test('a body cut off mid-transfer is a truncation, retried', async (t) => {
  const { url, seen } = await api(t, (res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(REGIONS.length) });
    res.write(REGIONS.slice(0, 20));
    setImmediate(() => res.destroy());
  });
  const client = new FastlyClient({ token: 't', baseUrl: url, retry: { ...fast, maxAttempts: 3 } });
  const err = await getRegions(client).catch((e: unknown) => e);
  assert.ok(err instanceof FastlyNetworkError);
  assert.match(err.message, /closed after 20 bytes, before the response body was complete/);
  assert.equal(seen.length, 3);
});

test('the simulator gzips stats pages when asked, and the paginated data is complete', async (t) => {
  const s = await sim(t);
  const client = new FastlyClient({ token: 't', baseUrl: s.url });
  const now = Math.floor(Date.now() / 1000);
  const res = await historical(client, { serviceId: SERVICE, by: 'minute', from: now - 5 * 3600, to: now });
  const points = res.data[SERVICE] ?? [];
  assert.ok(points.length > 200, 'more than one page');
  for (let i = 1; i < points.length; i++)
    assert.equal((points[i]?.start_time ?? 0) - (points[i - 1]?.start_time ?? 0), 60);
  const pages = s.log.filter((e) => e.path === `/stats/service/${SERVICE}`);
  assert.ok(pages.length >= 2 && pages.every((e) => e.gzip === true));
});

test('a pooled connection the server closed as it was reused is replaced at once, not retried with backoff', async (t) => {
  // Each connection answers its first request (keep-alive) and drops the next one unanswered.
  let connections = 0;
  const arrivals: string[] = [];
  const server = createNetServer((socket) => {
    connections++;
    let served = 0;
    socket.on('data', (chunk: Buffer) => {
      arrivals.push(/^POST (\S+)/.exec(chunk.toString('latin1'))?.[1] ?? '?');
      if (served++ === 0)
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}');
      else socket.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const transport = new HttpTransport();
  t.after(() => transport.close());
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const post = (path: string) =>
    transport.request({ origin, path, method: 'POST', headers: { accept: 'application/json' }, body: '{}' });
  assert.equal((await post('/one')).status, 200);
  assert.equal((await post('/two')).status, 200);
  // /two went out on the reused connection, was dropped, and went again on a new one.
  assert.deepEqual(arrivals, ['/one', '/two', '/two']);
  assert.equal(connections, 2);
});
