import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { InvalidInputError } from '../src/errors.js';
import { FastlyClient, type RetryEvent } from '../src/fastly/client.js';
import { FastlyApiError, FastlyNetworkError } from '../src/fastly/errors.js';
import { purgeAll, purgeKey } from '../src/fastly/purge.js';
import { runCli, SERVICE, sim, skipping } from './helpers.js';

const TOKEN = 'tok-Secret-0123456789';
const fast = { baseDelayMs: 5, maxDelayMs: 20 };
const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

test('every error class in src/ has a literal name (bundles minify class names) and a stable code', () => {
  const classes: string[] = [];
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?<!abstract )class (\w+) extends (\w*Error)\b[^{]*\{([\s\S]*?)\n\}/g)) {
      const [, name, base, body = ''] = m;
      classes.push(name as string);
      assert.match(
        body,
        new RegExp(`readonly name(: string)? = '${name}'`),
        `${file}: ${name} needs name = '${name}'`,
      );
      if (base === 'Error') continue; // internal wrappers, never thrown out of the library
      // One literal code, or a fixed set of them (`code: 'HTTP_STATUS' | 'HTTP_NETWORK'`).
      assert.match(
        body,
        /readonly code(?:(?:: string)? = '[A-Z][A-Z_]+'|: '[A-Z][A-Z_]+'(?: \| '[A-Z][A-Z_]+')*;)/,
        `${file}: ${name} needs a stable code`,
      );
    }
  }
  assert.ok(classes.includes('FastlyApiError') && classes.includes('FlowError'), classes.join(', '));
});

test('FastlyApiError: name, code, request (method and path, never the token) and response status and headers', async (t) => {
  const s = await sim(t, { tokens: { [TOKEN]: ['purge_select'] } });
  const client = new FastlyClient({ token: TOKEN, baseUrl: s.url, retry: fast });
  const err = await purgeAll(client, SERVICE).catch((e: unknown) => e);
  assert.ok(err instanceof FastlyApiError, String(err));
  assert.equal(err.name, 'FastlyApiError');
  assert.equal(err.code, 'FASTLY_API_ERROR');
  assert.deepEqual(err.request, { method: 'POST', path: `/service/${SERVICE}/purge_all` });
  assert.equal(err.response.status, 403);
  assert.match(err.response.headers['content-type'] ?? '', /json/);
  assert.ok(!('exitCode' in err), 'exit codes belong to the CLI');
  for (const text of [err.message, err.stack ?? '', JSON.stringify(err), inspect(err, { depth: 5 })]) {
    assert.ok(!text.includes(TOKEN), `token leaked: ${text}`);
  }
});

test('FastlyNetworkError keeps the network error as cause, with a stable code', async () => {
  // A port that refuses: bound, then closed.
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  const client = new FastlyClient({
    token: 't',
    baseUrl: `http://127.0.0.1:${port}`,
    retry: { maxAttempts: 1 },
  });
  const err = await purgeKey(client, SERVICE, 'k').catch((e: unknown) => e);
  assert.ok(err instanceof FastlyNetworkError, String(err));
  assert.equal(err.name, 'FastlyNetworkError');
  assert.equal(err.code, 'FASTLY_NETWORK_ERROR');
  assert.equal(err.networkCode, 'ECONNREFUSED');
  assert.equal((err.cause as { code?: string } | undefined)?.code, 'ECONNREFUSED');
  assert.deepEqual(err.request, { method: 'POST', path: `/service/${SERVICE}/purge/k` });
});

test('InvalidInputError: literal name and code; the CLI maps it to exit 2 and API errors to exit 1', async (t) => {
  const e = new InvalidInputError('x: bad', 'x');
  assert.equal(e.name, 'InvalidInputError');
  assert.equal(e.code, 'INVALID_INPUT');
  const s = await sim(t, { tokens: { [TOKEN]: ['purge_select'] } });
  const env = { FASTLY_API_TOKEN: TOKEN, FASTLY_API_ENDPOINT: s.url, FASTLY_SERVICE_ID: SERVICE };
  const bad = await runCli(['purge', 'key', 'two words'], env);
  assert.equal(bad.code, 2, bad.stderr);
  const refused = await runCli(['purge', 'all'], env);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /purge_all/);
});

test('retry hook: returning false (or a promise of false) stops retrying and fails with the error it was shown', async (t) => {
  const s = await sim(t, { faults: { rate5xx: 1 } });
  for (const answer of [() => false, () => Promise.resolve(false)]) {
    s.clearLog();
    const events: RetryEvent[] = [];
    const client = new FastlyClient({
      token: 't',
      baseUrl: s.url,
      retry: { ...fast, maxAttempts: 5 },
      onRetry: (e) => {
        events.push(e);
        return answer();
      },
    });
    const err = await purgeKey(client, SERVICE, 'k').catch((e: unknown) => e);
    assert.equal(s.log.length, 1, 'one request, no retry');
    assert.equal(events.length, 1);
    const [event] = events;
    assert.equal(event?.attempt, 1);
    assert.equal(event?.reason, 'HTTP 503');
    assert.deepEqual(event?.request, { method: 'POST', path: `/service/${SERVICE}/purge/k` });
    assert.equal(err, event?.error, 'the call fails with the error the hook saw');
    assert.ok(err instanceof FastlyApiError && err.status === 503);
    assert.equal(client.counters.retries, 0);
  }
});

test('retry hook: a hook that returns nothing lets the policy retry; a hook that throws fails the call', async (t) => {
  const s = await sim(t, { faults: { burst: { fault: 'reset', count: 2 } } });
  const seen: string[] = [];
  const client = new FastlyClient({
    token: 't',
    baseUrl: s.url,
    retry: fast,
    onRetry: (e) => {
      assert.ok(e.error instanceof FastlyNetworkError);
      seen.push(`${e.attempt}:${e.error.networkCode}`);
    },
  });
  assert.equal((await purgeKey(client, SERVICE, 'k')).status, 'ok');
  assert.equal(seen.length, 2, seen.join());
  assert.equal(s.log.length, 3);

  s.setFaults({ rate5xx: 1 });
  const stop = new Error('stop: out of budget');
  const throwing = new FastlyClient({
    token: 't',
    baseUrl: s.url,
    retry: fast,
    onRetry: () => {
      throw stop;
    },
  });
  assert.equal(await purgeKey(throwing, SERVICE, 'k').catch((e: unknown) => e), stop);
});

test('retry policy: statusCodes decides which statuses are retried', async (t) => {
  const s = await sim(t, { faults: { rate5xx: 1 } });
  const none = new FastlyClient({ token: 't', baseUrl: s.url, retry: { ...fast, statusCodes: [] } });
  await assert.rejects(purgeKey(none, SERVICE, 'k'), FastlyApiError);
  assert.equal(s.log.length, 1, '503 not retried when not listed');

  s.setFaults({});
  s.clearLog();
  const notFound = new FastlyClient({
    token: 't',
    baseUrl: s.url,
    retry: { ...fast, maxAttempts: 3, statusCodes: [404] },
  });
  const err = await purgeKey(notFound, 'UnknownService1', 'k').catch((e: unknown) => e);
  assert.ok(err instanceof FastlyApiError && err.status === 404 && err.attempts === 3, String(err));
  assert.equal(s.log.length, 3, '404 retried when listed');
});

test('retry policy: a Retry-After above maxRetryAfterMs fails at once; afterStatusCodes picks server waits over backoff', async (t) => {
  const s = await sim(t, { faults: { rate429: 1, retryAfterSeconds: 30 } });
  const events: RetryEvent[] = [];
  const capped = new FastlyClient({
    token: 't',
    baseUrl: s.url,
    retry: { ...fast, maxRetryAfterMs: 5_000 },
    ...skipping(),
    onRetry: (e) => {
      events.push(e);
    },
  });
  const err = await purgeKey(capped, SERVICE, 'k').catch((e: unknown) => e);
  assert.ok(err instanceof FastlyApiError && err.status === 429);
  assert.equal(s.log.length, 1);
  assert.equal(events.length, 0);

  const backoff = new FastlyClient({
    token: 't',
    baseUrl: s.url,
    retry: { ...fast, afterStatusCodes: [] },
    // Its own budget: the shared one, told by the 429 above to wait 30 s, would hold this purge back.
    ...skipping(),
    onRetry: (e) => {
      events.push(e);
      return false;
    },
  });
  await assert.rejects(purgeKey(backoff, SERVICE, 'k'), FastlyApiError);
  assert.ok(
    (events[0]?.delayMs ?? Infinity) <= fast.maxDelayMs,
    `backoff, not Retry-After: ${events[0]?.delayMs}`,
  );
});

test('retry policy: the wait until Fastly-RateLimit-Reset carries a margin', async (t) => {
  const s = await sim(t, { faults: { rate429: 1, retryAfterSeconds: 0 } });
  for (const margin of [undefined, 5_000]) {
    let checked = false;
    // A budget of its own per client: the shared one, told of the reset by the first 429, would hold
    // the second purge back until then.
    const { clock, purges } = skipping();
    const client = new FastlyClient({
      token: 't',
      baseUrl: s.url,
      retry: margin === undefined ? fast : { ...fast, rateLimitMarginMs: margin },
      clock,
      purges,
      onRetry: (e) => {
        const reset = (e.error as FastlyApiError).rateLimit?.reset;
        assert.ok(reset, 'the 429 names the reset time');
        // The wait was computed before now, so it is at least what is left until the reset plus the margin.
        const left = reset * 1000 - clock.now();
        assert.ok(e.delayMs >= left + (margin ?? 1000) - 1, `waits ${e.delayMs} ms; reset in ${left} ms`);
        checked = true;
        return false;
      },
    });
    await assert.rejects(purgeKey(client, SERVICE, 'k'), FastlyApiError);
    assert.ok(checked);
  }
});
