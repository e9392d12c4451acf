import assert from 'node:assert/strict';
import { test } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { FastlyClient } from '../src/fastly/client.js';
import { purgeAll, purgeKey } from '../src/fastly/purge.js';
import { purgeBudgetEvents } from '../src/diagnostics.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { SERVICE, sim } from './helpers.js';

const sample = (text: string, name: string, labels: Record<string, string>) =>
  parsePrometheusTextFormat(text)
    .find((f) => f.name === name)
    ?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value;

test('Fastly API metrics: every attempt counted by operation and status, retries, rate limit remaining', async (t) => {
  // Two 503s, then the purge-all goes through: three requests, two retries.
  const s = await sim(t, { faults: { burst: { fault: '5xx', count: 2 } }, hourlyLimit: 1000 });
  const metrics = new ServerMetrics({ processMetrics: false });
  t.after(() => metrics.close());
  // Before any answer carried Fastly-RateLimit-Remaining there is no sample (not a 0 to alert on).
  assert.doesNotMatch(await metrics.text(), /^kestra_fastly_api_ratelimit_remaining/m);
  const client = new FastlyClient({
    token: 'metrics-token-1234',
    baseUrl: s.url,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
  });
  await purgeAll(client, SERVICE);
  const text = await metrics.text();
  assert.equal(
    sample(text, 'kestra_fastly_api_requests_total', { operation: 'purgeAll', status: '503' }),
    '2',
  );
  assert.equal(
    sample(text, 'kestra_fastly_api_requests_total', { operation: 'purgeAll', status: '200' }),
    '1',
  );
  assert.equal(sample(text, 'kestra_fastly_api_retries_total', { operation: 'purgeAll' }), '2');
  assert.equal(sample(text, 'kestra_fastly_api_ratelimit_remaining', { operation: 'purgeAll' }), '999');
  assert.match(text, /^kestra_fastly_api_request_duration_seconds_count\{operation="purgeAll"\} 3$/m);
  assert.ok(!text.includes('metrics-token-1234'));

  // Once closed, a server's metrics stop counting (its subscriptions are gone).
  metrics.close();
  const again = new ServerMetrics({ processMetrics: false });
  t.after(() => again.close());
  await purgeKey(client, SERVICE, 'article-2');
  assert.equal(sample(await again.text(), 'kestra_fastly_api_requests_total', { status: '200' }), '1');
});

test('the purge budget gauges show a window only while it lasts (a scrape after its reset drops them)', async (t) => {
  const metrics = new ServerMetrics({ processMetrics: false });
  t.after(() => metrics.close());
  const labels = { endpoint: 'http://127.0.0.1:1', account: '1' };
  const event = (resetAt: number) =>
    purgeBudgetEvents.publish({
      endpoint: labels.endpoint,
      account: 1,
      remaining: 25,
      resetAt,
      usedLastHour: 475,
      perHour: 100_000,
      inFlight: 0,
      waiting: 0,
      waits: 0,
      rateLimited: 0,
    });
  event(Date.now() + 3_600_000);
  const open = await metrics.text();
  assert.equal(sample(open, 'kestra_fastly_purge_budget_remaining', labels), '25');
  assert.ok(sample(open, 'kestra_fastly_purge_budget_reset_timestamp_seconds', labels));
  event(Date.now() - 1_000); // the same account's window, already over
  const ended = await metrics.text();
  assert.equal(sample(ended, 'kestra_fastly_purge_budget_remaining', labels), undefined);
  assert.equal(sample(ended, 'kestra_fastly_purge_budget_reset_timestamp_seconds', labels), undefined);
  assert.equal(sample(ended, 'kestra_fastly_purge_budget_used_last_hour', labels), '475');
});
