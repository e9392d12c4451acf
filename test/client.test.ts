import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { InvalidInputError } from '../src/errors.js';
import { FastlyClient, resolveEndpoint } from '../src/fastly/client.js';
import { FastlyApiError, FastlyNetworkError, parseErrorBody } from '../src/fastly/errors.js';
import { purgeKey } from '../src/fastly/purge.js';
import { SERVICE, sim, skipping } from './helpers.js';

const fast = { baseDelayMs: 5, maxDelayMs: 20 };

test('sends Fastly-Key, Accept and User-Agent, never Authorization; tolerates a trailing slash', async (t) => {
  let seen: Record<string, unknown> = {};
  const server = createServer((req, res) => {
    seen = { ...req.headers, url: req.url };
    res.end('{"status":"ok","id":"x"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const client = new FastlyClient({ token: 'tok-123', baseUrl: `http://127.0.0.1:${port}/` });
  await purgeKey(client, SERVICE, 'k1');
  assert.equal(seen['fastly-key'], 'tok-123');
  assert.equal(seen.accept, 'application/json');
  assert.match(String(seen['user-agent']), /^kestra-plugin-fastly\/\d+\.\d+\.\d+$/);
  assert.equal(seen.authorization, undefined);
  assert.equal(seen.url, `/service/${SERVICE}/purge/k1`);
});

test('endpoint: option, then FASTLY_API_ENDPOINT, then api.fastly.com; plain http only on loopback', () => {
  assert.equal(resolveEndpoint(undefined, {}), 'https://api.fastly.com');
  assert.equal(
    resolveEndpoint(undefined, { FASTLY_API_ENDPOINT: 'http://127.0.0.1:9/' }),
    'http://127.0.0.1:9',
  );
  assert.equal(
    resolveEndpoint('https://proxy.example/api/', { FASTLY_API_ENDPOINT: 'x' }),
    'https://proxy.example/api',
  );
  assert.equal(resolveEndpoint('http://localhost:8080', {}), 'http://localhost:8080');
  assert.equal(resolveEndpoint('http://[::1]:8080', {}), 'http://[::1]:8080');
  for (const bad of ['http://api.fastly.com', 'http://10.1.2.3', 'ftp://127.0.0.1', 'not a url']) {
    assert.throws(() => resolveEndpoint(bad, {}), InvalidInputError, bad);
  }
});

test('retries 5xx with backoff and succeeds', async (t) => {
  const s = await sim(t, { faults: { rate5xx: 0.5, seed: 3 } });
  const client = new FastlyClient({ token: 't', baseUrl: s.url, retry: { ...fast, maxAttempts: 10 } });
  for (let i = 0; i < 20; i++) assert.equal((await purgeKey(client, SERVICE, `k${i}`)).status, 'ok');
  assert.ok(client.counters.retries > 0, 'some requests were retried');
  assert.equal(s.log.filter((e) => e.status === 200).length, 20);
});

test('429: waits for Retry-After, or for Fastly-RateLimit-Reset when Retry-After is absent', async (t) => {
  for (const retryAfterSeconds of [1, 0]) {
    const s = await sim(t, { faults: { rate429: 1, retryAfterSeconds } });
    const delays: number[] = [];
    const client = new FastlyClient({
      token: 't',
      baseUrl: s.url,
      retry: { ...fast, maxAttempts: 2 },
      // The waits are skipped, not sat out; the delays asked for are what is checked.
      ...skipping(),
      onRetry: (e) => {
        delays.push(e.delayMs);
      },
    });
    const err = await purgeKey(client, SERVICE, 'k').catch((e: unknown) => e);
    assert.ok(err instanceof FastlyApiError);
    assert.equal(err.status, 429);
    assert.equal(err.rateLimit?.remaining, 0);
    assert.ok(err.rateLimit?.reset);
    assert.match(err.message, /rate limit/i);
    assert.equal(delays.length, 1);
    assert.ok((delays[0] ?? 0) >= 500, `waited ${delays[0]} ms as the server asked`);
  }
});

test('a 429 whose wait exceeds the retry budget fails at once with the reset time', async (t) => {
  const s = await sim(t, { faults: { rate429: 1, retryAfterSeconds: 3600 } });
  const client = new FastlyClient({ token: 't', baseUrl: s.url, retry: { maxRetryTimeMs: 5000 } });
  const err = await purgeKey(client, SERVICE, 'k').catch((e: unknown) => e);
  assert.ok(err instanceof FastlyApiError && err.status === 429);
  assert.equal(err.attempts, 1);
  assert.equal(s.log.length, 1, 'no retry');
  assert.match(err.message, /resets at \d{4}-/);
  // It says why it gave up at once.
  assert.match(
    err.message,
    /; not retried: the server asks to wait 3600 s, longer than this client waits \(\d s\)/,
  );
  // The same when the client's own limit on server-requested waits is what refuses it.
  const capped = new FastlyClient({ token: 't', baseUrl: s.url, retry: { maxRetryAfterMs: 30_000 } });
  const err2 = await purgeKey(capped, SERVICE, 'k').catch((e: unknown) => e);
  assert.ok(err2 instanceof FastlyApiError);
  assert.match(
    err2.message,
    /not retried: the server asks to wait 3600 s, longer than this client waits \(30 s\)/,
  );
});

test('never retries other 4xx; errors carry status, Fastly message and a hint naming the scope', async (t) => {
  const s = await sim(t, { tokens: { reader: ['global:read'], purger: ['purge_select'] } });
  const cases: [string, string, number, RegExp][] = [
    ['nope', SERVICE, 401, /token is missing or invalid.*propagated/],
    ['reader', SERVICE, 403, /lacks the 'purge_select' scope/],
    ['purger', 'UnknownService1', 404, /unknown service ID/],
  ];
  for (const [token, service, status, hint] of cases) {
    s.clearLog();
    const client = new FastlyClient({ token, baseUrl: s.url, retry: fast });
    const err = await purgeKey(client, service, 'k').catch((e: unknown) => e);
    assert.ok(err instanceof FastlyApiError, String(err));
    assert.equal(err.status, status);
    assert.match(err.message, hint);
    assert.equal(s.log.length, 1, 'not retried');
    assert.ok(!err.message.includes(token), 'token not in message');
  }
});

test('connection resets and hangs are retried, then reported with the cause', async (t) => {
  const s = await sim(t, { faults: { rateReset: 1 } });
  const client = new FastlyClient({ token: 't', baseUrl: s.url, retry: { ...fast, maxAttempts: 3 } });
  const err = await purgeKey(client, SERVICE, 'k').catch((e: unknown) => e);
  assert.ok(err instanceof FastlyNetworkError);
  assert.match(err.message, /purgeKey failed: .*after 3 attempts/);
  assert.equal(s.log.length, 3);

  s.setFaults({ rateHang: 1 });
  const slow = new FastlyClient({
    token: 't',
    baseUrl: s.url,
    timeoutMs: 200,
    retry: { ...fast, maxAttempts: 2 },
  });
  const hung = await purgeKey(slow, SERVICE, 'k').catch((e: unknown) => e);
  assert.ok(hung instanceof FastlyNetworkError);
  assert.match(hung.message, /no complete answer within 200 ms/);
});

test('a truncated 200 body is retried, never taken as success', async (t) => {
  const s = await sim(t, { faults: { rateTruncate: 1 } });
  const client = new FastlyClient({ token: 't', baseUrl: s.url, retry: { ...fast, maxAttempts: 2 } });
  await assert.rejects(purgeKey(client, SERVICE, 'k'), FastlyNetworkError);
});

test('cancellation stops a request in flight', async (t) => {
  const s = await sim(t, { faults: { rateHang: 1 } });
  const ac = new AbortController();
  const client = new FastlyClient({ token: 't', baseUrl: s.url, signal: ac.signal });
  setTimeout(() => ac.abort(new Error('cancelled by test')), 50);
  await assert.rejects(purgeKey(client, SERVICE, 'k'), /cancelled by test/);
});

test('stopRetrying: a wait before a retry ends at once, no attempt starts, the call fails with the last error', async (t) => {
  let seen = 0;
  const stop = new AbortController();
  const server = createServer((req, res) => {
    req.resume();
    seen++;
    res.writeHead(429, { 'retry-after': '20', 'content-type': 'application/json' });
    // Stop once the client has its answer and is about to wait 20 s (within the retry budget).
    res.end('{"msg":"slow down"}', () => stop.abort(new Error('told to stop')));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const client = new FastlyClient({ token: 't', baseUrl: `http://127.0.0.1:${port}` });
  const err = await client
    .request({ operation: 'op', method: 'POST', path: '/x', stopRetrying: stop.signal })
    .then(
      () => assert.fail('a 429 is not a success'),
      (e: unknown) => e,
    );
  assert.ok(err instanceof FastlyApiError, String(err));
  assert.equal(err.status, 429);
  assert.equal(err.attempts, 1);
  assert.equal(seen, 1);
  assert.equal(client.counters.retries, 0);
  // Already stopped: one attempt, never a retry.
  const again = await client
    .request({ operation: 'op', method: 'POST', path: '/x', stopRetrying: stop.signal })
    .catch((e: unknown) => e);
  assert.ok(again instanceof FastlyApiError && again.attempts === 1);
  assert.equal(seen, 2);
});

test('parses legacy, problem+json and JSON:API error bodies, and raw text', () => {
  assert.deepEqual(parseErrorBody('{"msg":"Record not found","details":"Cannot find service"}'), {
    msg: 'Record not found',
    detail: 'Cannot find service',
  });
  assert.deepEqual(parseErrorBody('{"title":"Bad","detail":"d","status":400}'), { msg: 'Bad', detail: 'd' });
  assert.deepEqual(parseErrorBody('{"errors":[{"title":"Invalid","detail":"x"}]}'), {
    msg: 'Invalid',
    detail: 'x',
  });
  assert.deepEqual(parseErrorBody('<html>gateway</html>'), { msg: 'an HTML page' });
  assert.deepEqual(
    parseErrorBody(
      '<!DOCTYPE html>\n<html><head><title> 502 Bad\nGateway </title></head><body>…</body></html>',
    ),
    { msg: 'an HTML page: 502 Bad Gateway' },
  );
});

test('server text in an error is one line: no line break, no terminal escape, bounded', async (t) => {
  assert.deepEqual(
    parseErrorBody('{"msg":"boom\\u001b[31m RED","detail":"line1\\nline2\\r\\nerror: fake"}'),
    {
      msg: 'boom\\u001b[31m RED',
      detail: 'line1 line2 error: fake',
    },
  );
  assert.deepEqual(parseErrorBody(`plain\n${'x'.repeat(500)}`).msg?.length, 200);
  // Through the client: the error's message is one line.
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ msg: 'boom\u001b[31m', detail: 'a\nerror: forged line\r\n' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const client = new FastlyClient({
    token: 't',
    baseUrl: `http://127.0.0.1:${port}`,
    retry: { maxAttempts: 1 },
  });
  const err = await purgeKey(client, SERVICE, 'k').catch((e: unknown) => e);
  assert.ok(err instanceof FastlyApiError);
  assert.doesNotMatch(err.message, /[\u0000-\u001f]/);
  assert.match(err.message, /HTTP 500 boom\\u001b\[31m: a error: forged line/);
});

test('the token is kept out of inspection and JSON of a client', async () => {
  const { inspect } = await import('node:util');
  const client = new FastlyClient({ token: 'sekret-token-1', baseUrl: 'http://127.0.0.1:1' });
  assert.ok(!inspect(client, { showHidden: true, depth: 5 }).includes('sekret-token-1'));
  assert.ok(!JSON.stringify(client).includes('sekret-token-1'));
});

test('a 3xx from the API fails at once, naming the status and where it redirects; never retried', async (t) => {
  let seen = 0;
  const server = createServer((req, res) => {
    req.resume();
    seen++;
    if (req.url?.endsWith('/html')) {
      res.writeHead(301, { location: 'https://proxy.example/login?next=/', 'content-type': 'text/html' });
      res.end('<html><body>Moved Permanently</body></html>');
    } else if (req.url?.endsWith('/relative')) {
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
    } else {
      res.writeHead(307);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const client = new FastlyClient({ token: 't', baseUrl: `http://127.0.0.1:${port}`, retry: fast });
  const fail = (path: string) =>
    client.request({ operation: 'op', method: 'POST', path }).then(
      () => assert.fail('a redirect is not a success'),
      (e: unknown) => String((e as Error).message),
    );
  assert.equal(
    await fail('/html'),
    'op failed: unexpected response from Fastly: HTTP 301 redirect to https://proxy.example/login?next=/ (the API endpoint is wrong or behind a proxy that redirects)',
  );
  assert.match(
    await fail('/relative'),
    new RegExp(`HTTP 302 redirect to http://127\\.0\\.0\\.1:${port}/elsewhere \\(`),
  );
  assert.match(await fail('/none'), /HTTP 307 redirect without a Location \(the API endpoint is wrong/);
  assert.equal(seen, 3, 'one request each: a redirect is not retried');
  assert.equal(client.counters.retries, 0);
});

test('the constructor refuses an option it does not know (JavaScript has no type checker): endpoint is not baseUrl', async (t) => {
  const s = await sim(t);
  // What a JavaScript caller can write; before, `endpoint` was ignored and requests went to api.fastly.com.
  const untyped = (options: Record<string, unknown>) => new FastlyClient(options as never);
  assert.throws(
    () => untyped({ token: 'tok', endpoint: s.url }),
    (err: unknown) =>
      err instanceof InvalidInputError &&
      err.name === 'InvalidInputError' &&
      err.code === 'INVALID_INPUT' &&
      err.culprit === 'endpoint' &&
      err.message ===
        'endpoint: not a FastlyClient option (the API endpoint is baseUrl); expected one of token, baseUrl, timeoutMs, retry, signal, transport, onRetry, proxy, random, clock, purges',
  );
  assert.throws(
    () => untyped({ token: 'tok', baseUrl: s.url, timeout: 5000 }),
    /^InvalidInputError: timeout: not a FastlyClient option; expected one of token, baseUrl, timeoutMs, /,
  );
  assert.throws(() => untyped(null as never), /options: got null; expected an object/);
  // Every documented option is accepted, and baseUrl reaches the simulator.
  const client = new FastlyClient({
    token: 'tok',
    baseUrl: s.url,
    timeoutMs: 5000,
    retry: { maxAttempts: 2 },
    signal: new AbortController().signal,
    transport: undefined,
    onRetry: () => true,
    random: () => 0.5,
  });
  await purgeKey(client, SERVICE, 'k');
  assert.equal(s.log.length, 1);
});
