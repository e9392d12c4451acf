import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { OneShotTransport, ResponseReader } from '../src/http/http1.js';
import { HttpTransport, type Transport, type TransportRequest } from '../src/http/transport.js';
import { TransportError } from '../src/http/socket.js';

/**
 * A server on 127.0.0.1 that reads each request's head and body, records them, then writes the
 * bytes `answer` gives, in the pieces it gives, and closes the connection.
 */
async function rawServer(t: TestContext, answer: () => Buffer[] | Promise<Buffer[]>) {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
    let got = Buffer.alloc(0);
    const reply = async () => {
      for (const piece of await answer()) {
        if (socket.destroyed) return;
        socket.write(piece);
        await tick();
      }
      socket.end();
    };
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = got.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (got.length < end + 4 + length) return;
      socket.off('data', onData);
      requests.push(got.subarray(0, end + 4 + length).toString('latin1'));
      void reply();
    };
    socket.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`, requests, sockets };
}

const request = (origin: string, extra: Partial<TransportRequest> = {}): TransportRequest => ({
  origin,
  path: '/service/SU1Z0isxPaozGVKXdv0eY/purge/k1',
  method: 'POST',
  headers: { 'fastly-key': 'tok', accept: 'application/json' },
  ...extra,
});

/** What a transport made of an answer: the response, or the error's code. */
async function outcome(transport: Transport, req: TransportRequest) {
  try {
    const res = await transport.request(req);
    return { status: res.status, headers: res.headers, body: res.body.toString('latin1') };
  } catch (err) {
    assert.ok(err instanceof TransportError, `not a TransportError: ${String(err)}`);
    return { error: err.code };
  }
}

/** Cuts `bytes` at the given offsets (sorted, deduplicated, inside the buffer). */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    if (p > from) pieces.push(bytes.subarray(from, p));
    from = Math.max(from, p);
  }
  return pieces;
}

const headerName = fc.constantFrom(
  'content-type',
  'Content-Type',
  'x-served-by',
  'X-Served-By',
  'set-cookie',
  'fastly-ratelimit-remaining',
  'Retry-After',
  'vary',
  'server',
);
const headerValue = fc.stringMatching(/^[!-~]([ !-~]{0,20}[!-~])?$/);

/** A response as a server could send it: status, header fields, body, its framing, interim answers. */
const answerPlan = fc.record({
  interim: fc.constantFrom([], ['100 Continue'], ['103 Early Hints', '100 Continue']),
  status: fc.constantFrom(200, 201, 204, 304, 400, 404, 429, 500, 503),
  reason: fc.constantFrom('', ' OK', ' Whatever It Says'),
  fields: fc.array(fc.tuple(headerName, headerValue, fc.constantFrom('', ' ', '  ', '\t')), { maxLength: 8 }),
  body: fc.uint8Array({ maxLength: 3000 }),
  framing: fc.constantFrom('length', 'chunked', 'close'),
  chunks: fc.array(fc.nat(3000), { maxLength: 6 }),
  extension: fc.boolean(),
  trailer: fc.boolean(),
  cuts: fc.array(fc.nat(4000), { maxLength: 12 }),
});
type Plan = typeof answerPlan extends fc.Arbitrary<infer P> ? P : never;

function answerBytes(p: Plan): Buffer {
  const body = p.status === 204 || p.status === 304 ? Buffer.alloc(0) : Buffer.from(p.body);
  let head = p.interim.map((s) => `HTTP/1.1 ${s}\r\n\r\n`).join('');
  head += `HTTP/1.1 ${p.status}${p.reason}\r\n`;
  for (const [name, value, ows] of p.fields) head += `${name}:${ows}${value}${ows}\r\n`;
  const noBody = p.status === 204 || p.status === 304;
  if (noBody) return Buffer.from(`${head}\r\n`, 'latin1');
  if (p.framing === 'length')
    return Buffer.concat([Buffer.from(`${head}content-length: ${body.length}\r\n\r\n`), body]);
  if (p.framing === 'close') return Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), body]);
  const parts: Buffer[] = [Buffer.from(`${head}Transfer-Encoding: chunked\r\n\r\n`, 'latin1')];
  for (const piece of cut(body, p.chunks)) {
    parts.push(
      Buffer.from(`${piece.length.toString(16)}${p.extension ? ';x=1' : ''}\r\n`),
      piece,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`0\r\n${p.trailer ? 'x-trailer: 1\r\n' : ''}\r\n`));
  return Buffer.concat(parts);
}

test('OneShotTransport reads any answer as node:http does: statuses, repeated fields, every framing, in any pieces', async (t) => {
  let plan: Plan | undefined;
  const { origin } = await rawServer(t, () => cut(answerBytes(plan as Plan), (plan as Plan).cuts));
  const oneShot = new OneShotTransport();
  const pooled = new HttpTransport();
  t.after(() => pooled.close());
  await fc.assert(
    fc.asyncProperty(answerPlan, async (p) => {
      plan = p;
      const ours = await outcome(oneShot, request(origin));
      const node = await outcome(pooled, request(origin));
      assert.deepEqual(ours, node);
      assert.ok(!('error' in ours), `answer refused: ${JSON.stringify(ours)}`);
    }),
    { numRuns: 150 },
  );
});

test('OneShotTransport sends one request per connection with its headers and body, and closes it', async (t) => {
  const { origin, requests, sockets } = await rawServer(t, () => [
    Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}'),
  ]);
  const res = await new OneShotTransport().request(
    request(origin, { path: '/service/x/purge', body: '{"surrogate_keys":["é"]}' }),
  );
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), '{}');
  const [sent] = requests;
  assert.match(sent ?? '', /^POST \/service\/x\/purge HTTP\/1\.1\r\n/);
  assert.match(sent ?? '', /\r\nhost: 127\.0\.0\.1:\d+\r\n/);
  assert.match(sent ?? '', /\r\nconnection: close\r\n/);
  assert.match(sent ?? '', /\r\nfastly-key: tok\r\n/);
  // The body in UTF-8 (é is 2 bytes), its length in bytes.
  assert.ok(
    sent?.endsWith(
      `\r\ncontent-length: 25\r\n\r\n${Buffer.from('{"surrogate_keys":["é"]}').toString('latin1')}`,
    ),
  );
  // The client closed its side: no socket is left open on the server.
  for (const s of sockets) await once(s, 'close');
  assert.equal(sockets.size, 0);
});

test('OneShotTransport inflates a gzipped answer and refuses other codings, as HttpTransport does', async (t) => {
  let answer = Buffer.alloc(0);
  const { origin } = await rawServer(t, () => [answer]);
  const zipped = gzipSync('{"data":[1,2,3]}');
  answer = Buffer.concat([
    Buffer.from(`HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: ${zipped.length}\r\n\r\n`),
    zipped,
  ]);
  assert.equal((await new OneShotTransport().request(request(origin))).body.toString(), '{"data":[1,2,3]}');
  answer = Buffer.from('HTTP/1.1 200 OK\r\ncontent-encoding: br\r\ncontent-length: 2\r\n\r\n{}');
  assert.deepEqual(await outcome(new OneShotTransport(), request(origin)), { error: 'BAD_ENCODING' });
});

test('an answer cut off is retried (a truncation, or a reset before any byte) and a garbled one refused, by both transports', async (t) => {
  let answer = '';
  const { origin } = await rawServer(t, () => [Buffer.from(answer, 'latin1')]);
  const pooled = new HttpTransport();
  t.after(() => pooled.close());
  const retried = ['TRUNCATED', 'ECONNRESET'];
  for (const [cutOff, ourCode] of [
    ['HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{"id"', 'TRUNCATED'],
    ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{"id"\r\n', 'TRUNCATED'],
    ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n9\r\n{"id"', 'TRUNCATED'],
    ['HTTP/1.1 200 OK\r\ncontent-le', 'TRUNCATED'],
    ['', 'ECONNRESET'],
  ] as const) {
    answer = cutOff;
    const ours = await outcome(new OneShotTransport(), request(origin));
    const node = await outcome(pooled, request(origin));
    assert.deepEqual(ours, { error: ourCode }, JSON.stringify(cutOff));
    assert.ok('error' in node && retried.includes(node.error ?? ''), JSON.stringify(node));
  }
  for (const garbled of [
    'HTTP/2 200\r\n\r\n',
    'HTTP/1.1 2000 OK\r\n\r\n',
    'SSH-2.0-OpenSSH_9.6\r\n\r\n',
    'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n',
    'HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n',
    'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 2\r\n\r\n{}',
    'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n',
    'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n0\r\n\r\n',
    'HTTP/1.1 200 OK\ncontent-length: 2\n\n{}',
    'HTTP/1.1 200 OK\r\ncontent-length: 2\nx: y\r\n\r\n{}',
  ]) {
    answer = garbled;
    for (const transport of [new OneShotTransport(), pooled]) {
      await assert.rejects(transport.request(request(origin)), (err: TransportError) => {
        assert.equal(err.code, 'BAD_RESPONSE', `${transport.constructor.name}: ${JSON.stringify(garbled)}`);
        assert.match(err.message, /^malformed HTTP response: [^\n]+$/);
        return true;
      });
    }
  }
});

test('a response head over 64 KB is refused without reading on', () => {
  const reader = new ResponseReader('GET');
  assert.equal(reader.push(Buffer.from('HTTP/1.1 200 OK\r\n')), false);
  assert.throws(
    () => reader.push(Buffer.from(`x-big: ${'a'.repeat(70 * 1024)}`)),
    (err: TransportError) => err.code === 'BAD_RESPONSE' && /head over 65536 bytes/.test(err.message),
  );
  // Also when it arrives whole.
  assert.throws(
    () =>
      new ResponseReader('GET').push(
        Buffer.from(`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(70 * 1024)}\r\n\r\n`),
      ),
    (err: TransportError) => err.code === 'BAD_RESPONSE',
  );
});

test('OneShotTransport refuses a header value with a line break before connecting, without showing the value', async (t) => {
  const { origin, requests } = await rawServer(t, () => []);
  await assert.rejects(
    new OneShotTransport().request(request(origin, { headers: { 'fastly-key': 'secret\r\nx-evil: 1' } })),
    (err: TransportError) => {
      assert.equal(err.code, 'ERR_INVALID_CHAR');
      assert.doesNotMatch(err.message, /secret|evil/);
      return true;
    },
  );
  assert.equal(requests.length, 0);
});

test('OneShotTransport stops at once when its signal aborts mid-answer, and closes the connection', async (t) => {
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  const { origin, sockets } = await rawServer(t, async () => {
    await held;
    return [];
  });
  t.after(release);
  const controller = new AbortController();
  const pending = new OneShotTransport().request(request(origin, { signal: controller.signal }));
  // Abort once the server holds the connection (the request has arrived).
  while (sockets.size === 0) await tick();
  controller.abort(new Error('stop'));
  await assert.rejects(pending, { name: 'AbortError' });
  for (const s of sockets) await once(s, 'close');
  await assert.rejects(new OneShotTransport().request(request(origin, { signal: AbortSignal.abort() })), {
    name: 'AbortError',
  });
});

test('OneShotTransport names the host when the connection is refused', async () => {
  await assert.rejects(
    new OneShotTransport().request(request('http://127.0.0.1:1')),
    (err: TransportError) => {
      assert.equal(err.code, 'ECONNREFUSED');
      assert.equal(err.message, 'connection refused by 127.0.0.1:1');
      return true;
    },
  );
});
