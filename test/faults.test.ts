import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RunFailedError } from '../src/errors.js';
import { FastlyClient } from '../src/fastly/client.js';
import { purgeAll, purgeKey, purgeKeys, purgeUrl } from '../src/fastly/purge.js';
import { aggregate, getRegions, historical, usage, usageByMonth } from '../src/fastly/stats.js';
import { evaluateTrigger } from '../src/flow/trigger.js';
import type { Fault } from '../src/simulator/faults.js';
import { StatsTrigger } from '../src/tasks/stats/StatsTrigger.js';
import { silentLogger } from '../src/logger.js';
import { parseProps } from '../src/tasks/task.js';
import { requests, SERVICE, sim, skippingClock } from './helpers.js';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (e) => unhandled.push(e));

type Op = (client: FastlyClient, baseUrl: string, budgetMs: number) => Promise<unknown>;

/** Every operation, with a check that its result is the real thing (never a wrong success). */
const OPERATIONS: Record<string, { run: Op; valid: (r: unknown) => boolean; path: string }> = {
  purgeUrl: {
    run: (c) => purgeUrl(c, 'https://www.example.com/a'),
    valid: (r) => (r as { status: string }).status === 'ok',
    path: '/purge/',
  },
  purgeKey: {
    run: (c) => purgeKey(c, SERVICE, 'k'),
    valid: (r) => (r as { status: string }).status === 'ok',
    path: '/service/',
  },
  purgeKeys: {
    run: (c) => purgeKeys(c, SERVICE, ['a', 'b', 'c']),
    valid: (r) => Object.keys((r as { purgeIds: object }).purgeIds).length === 3,
    path: '/service/',
  },
  purgeAll: {
    run: (c) => purgeAll(c, SERVICE),
    valid: (r) => (r as { status: string }).status === 'ok',
    path: '/service/',
  },
  statsService: {
    run: (c) => historical(c, { serviceId: SERVICE, by: 'hour', from: '3 hours ago' }),
    valid: (r) => ((r as { data: Record<string, unknown[]> }).data[SERVICE]?.length ?? 0) >= 2,
    path: '/stats',
  },
  statsAll: {
    run: (c) => historical(c, { by: 'hour', from: '3 hours ago' }),
    valid: (r) => Object.keys((r as { data: object }).data).length === 3,
    path: '/stats',
  },
  statsField: {
    run: (c) => historical(c, { serviceId: SERVICE, field: 'requests', by: 'hour', from: '3 hours ago' }),
    valid: (r) =>
      typeof (r as { data: Record<string, { requests: number }[]> }).data[SERVICE]?.[0]?.requests ===
      'number',
    path: '/stats',
  },
  statsAggregate: {
    run: (c) => aggregate(c, { by: 'hour', from: '3 hours ago' }),
    valid: (r) => (r as { data: unknown[] }).data.length >= 2,
    path: '/stats',
  },
  statsUsage: {
    run: (c) => usage(c, { from: '2 days ago' }),
    valid: (r) => 'usa' in (r as { data: object }).data,
    path: '/stats',
  },
  statsUsageByService: {
    run: (c) => usage(c, { from: '2 days ago', byService: true }),
    valid: (r) => SERVICE in ((r as { data: Record<string, object> }).data.usa ?? {}),
    path: '/stats',
  },
  statsUsageByMonth: {
    run: (c) => usageByMonth(c, {}),
    valid: (r) => 'total' in (r as { data: object }).data,
    path: '/stats',
  },
  statsRegions: {
    run: (c) => getRegions(c),
    valid: (r) => (r as string[]).includes('europe'),
    path: '/stats',
  },
  triggerEvaluation: {
    run: (_c, baseUrl, budgetMs) => {
      const props = parseProps(StatsTrigger, {
        apiToken: 't',
        baseUrl,
        serviceId: SERVICE,
        field: 'status_5xx',
        threshold: 1,
      });
      return evaluateTrigger(
        props,
        {
          logger: silentLogger,
          env: {},
          client: {
            retry: { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 4, maxRetryTimeMs: budgetMs },
            timeoutMs: 300,
            clock: skippingClock(),
          },
        },
        Date.now() / 1000,
      );
    },
    valid: (r) => typeof (r as { value: number }).value === 'number',
    path: '/stats',
  },
};

const FAULTS: { fault: Exclude<Fault, 'none'>; retryAfter?: number; transientOk: boolean; cause: RegExp }[] =
  [
    { fault: '5xx', transientOk: true, cause: /HTTP 503/ },
    { fault: '429', retryAfter: 1, transientOk: true, cause: /HTTP 429/ },
    { fault: '429', retryAfter: 0, transientOk: true, cause: /HTTP 429/ },
    { fault: 'reset', transientOk: true, cause: /connection reset|socket|other side closed/i },
    { fault: 'hang', transientOk: true, cause: /no complete answer within 300 ms/ },
    { fault: 'truncate', transientOk: true, cause: /not JSON|terminated|closed|socket|length/i },
    { fault: 'garbage', transientOk: true, cause: /not JSON/ },
    { fault: 'shape', transientOk: false, cause: /unexpected response|did not acknowledge/ },
  ];

/**
 * Persistent faults get a short retry budget: a server-requested wait beyond it fails at once, by
 * design. The waits themselves (a 429's second, the backoff) are skipped, not sat out: the policy
 * is what is tested, on a clock that jumps.
 */
const MAX_ATTEMPTS = 4;
const client = (url: string, maxRetryTimeMs = 60_000) =>
  new FastlyClient({
    token: 't',
    baseUrl: url,
    timeoutMs: 300,
    retry: { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: MAX_ATTEMPTS, maxRetryTimeMs },
    clock: skippingClock(),
  });

for (const { fault, retryAfter, transientOk, cause } of FAULTS) {
  const label = `${fault}${retryAfter !== undefined ? ` (Retry-After ${retryAfter ? `${retryAfter}s` : 'absent, reset header only'})` : ''}`;
  test(`fault matrix: ${label} on every operation`, async (t) => {
    for (const [name, op] of Object.entries(OPERATIONS)) {
      const s = await sim(t, { purgeAllIntervalSeconds: 0 });
      // A burst of two faults: retried, then a correct result (or, for a wrong shape, a clear error).
      // A 429 asks for a wait of about a second: one is enough to show it honoured.
      s.setFaults({
        burst: { fault, count: fault === '429' ? 1 : 2 },
        paths: [op.path],
        retryAfterSeconds: retryAfter,
      });
      const outcome = await op.run(client(s.url), s.url, 60_000).then(
        (r) => ({ ok: true as const, r }),
        (e: unknown) => ({ ok: false as const, e }),
      );
      if (transientOk) {
        assert.ok(outcome.ok, `${name} / ${label}: ${outcome.ok ? '' : String(outcome.e)}`);
        assert.ok(op.valid(outcome.r), `${name} / ${label}: valid result`);
      } else if (outcome.ok) {
        // purgeKeys reports unacknowledged keys instead of throwing: none may pass as purged.
        assert.equal(name, 'purgeKeys', `${name} / ${label} must not succeed`);
        assert.equal((outcome.r as { failed: unknown[] }).failed.length, 3);
      } else {
        assert.ok(outcome.e instanceof RunFailedError, `${name}: ${String(outcome.e)}`);
        assert.match((outcome.e as Error).message, cause, name);
      }
      // Persistent: bounded attempts, a typed error naming the operation and the cause.
      const p = await sim(t, { purgeAllIntervalSeconds: 0 });
      p.setFaults({ burst: { fault, count: 1000 }, paths: [op.path], retryAfterSeconds: retryAfter });
      const persistent = await op.run(client(p.url, 500), p.url, 500).then(
        (r) => ({ ok: true as const, r }),
        (e: unknown) => ({ ok: false as const, e }),
      );
      if (persistent.ok) {
        assert.equal(name, 'purgeKeys', `${name} / ${label}: a persistent fault must not succeed`);
        const failed = (persistent.r as { failed: { reason: string }[] }).failed;
        assert.equal(failed.length, 3, 'every key accounted for');
        for (const f of failed) assert.match(f.reason, cause);
      } else {
        assert.ok(persistent.e instanceof RunFailedError, `${name}: ${String(persistent.e)}`);
        const msg = (persistent.e as Error).message;
        assert.match(msg, cause, `${name} / ${label}: ${msg}`);
        assert.match(msg, /failed/);
      }
      // Bounded: the persistent fault got at most the policy's attempts, not a retry loop.
      const sent = requests(p, op.path).length;
      assert.ok(sent >= 1 && sent <= MAX_ATTEMPTS, `${name} / ${label}: ${sent} attempts`);
    }
    assert.deepEqual(unhandled, []);
  });
}
