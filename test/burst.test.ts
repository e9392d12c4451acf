import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { FastlyClient } from '../src/fastly/client.js';
import { PurgeCoordinator } from '../src/fastly/coordinator.js';
import { purgeKeys } from '../src/fastly/purge.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { runBurst, startBurstServer } from './burst.js';
import { CLI, SERVICE, sim } from './helpers.js';

test('a CMS burst through the server: webhooks share purge requests, every execution succeeds, every key is purged after its last webhook', async (t) => {
  // Issue 24's burst itself: 2,000 webhooks of 2 of 40 keys, 40 in flight, the API at 200 ms, as
  // bench/burst.ts runs it (BENCHMARKS.md §7), where each execution used to send its own request.
  const s = await sim(t, { faults: { latencyMs: 200 } });
  const server = await startBurstServer(s, 25);
  t.after(() => server.stop(5000));
  const r = await runBurst(s, server, { webhooks: 2000, keys: 40, inFlight: 40, lingerMs: 25 });
  assert.deepEqual([...r.states], [['SUCCESS', 2000]]);
  assert.ok(r.requests <= 200, `${r.requests} purge requests for 2,000 webhooks (at most 200: a tenth)`);
  assert.ok(r.keyPurges < 4000, `${r.keyPurges} key purges for 4,000 asked`);
  assert.deepEqual(r.stale, [], 'keys whose last purge reached the API before their last webhook');
  assert.equal(r.lastWebhook.size, 40);
  // The dashboard and /metrics show what the burst spent, never the token.
  const state = (await (await fetch(`${server.http.url}/ui/api/state`)).json()) as {
    purgeBudgets: { endpoint: string; account: number; usedLastHour: number; waits: number }[];
  };
  assert.deepEqual(
    state.purgeBudgets.map((b) => [b.endpoint, b.account, b.usedLastHour]),
    [[s.url, 1, r.keyPurges]],
  );
  const metrics = await (await fetch(`${server.http.url}/metrics`)).text();
  const families = parsePrometheusTextFormat(metrics);
  const total = (name: string) => Number(families.find((f) => f.name === name)?.metrics[0]?.value);
  assert.equal(total('kestra_fastly_purge_coalesced_requests_total'), r.requests);
  assert.equal(total('kestra_fastly_purge_keys_requested_total'), 4000);
  assert.ok(!metrics.includes('burst-token'));
});

test('with the simulator limiting purges, a long burst never gets a 429 and /metrics shows the budget', async (t) => {
  // 600 purges per 1 s window; 30 callers of 60 distinct keys each: 1,800 purges, 3 windows' worth.
  const s = await sim(t, { purgeLimit: 600, purgeWindowSeconds: 1, faults: { latencyMs: 20 } });
  const metrics = new ServerMetrics({ processMetrics: false });
  t.after(() => metrics.close());
  const purges = new PurgeCoordinator({ lingerMs: 10, rateLimitMarginMs: 50 });
  const client = new FastlyClient({ token: 'budget-token-7f3a', baseUrl: s.url, purges });
  const results = await Promise.all(
    Array.from({ length: 30 }, (_, c) =>
      purgeKeys(
        client,
        SERVICE,
        Array.from({ length: 60 }, (_, k) => `item-${c}-${k}`),
      ),
    ),
  );
  for (const r of results) assert.deepEqual(r.failed, []);
  const answers = s.log.filter((e) => e.path === `/service/${SERVICE}/purge`);
  assert.deepEqual(
    answers.filter((e) => e.status !== 200).map((e) => e.status),
    [],
    'no 429: the budget held every batch the window could not take',
  );
  assert.equal(
    answers.reduce((n, e) => n + (e.keys ?? 0), 0),
    1800,
  );
  // (How few of the simulator's 1 s windows the burst takes is its speed, wall-clock: 4 here unloaded,
  // 5 with the 2 cores shared. That was asserted; it is not a test's to say.)
  const text = await metrics.text();
  const families = parsePrometheusTextFormat(text);
  const value = (name: string) =>
    Number(families.find((f) => f.name === name)?.metrics.find((m) => m.labels?.endpoint === s.url)?.value);
  assert.ok(value('kestra_fastly_purge_budget_waits_total') > 0, 'some batches waited for the next window');
  assert.equal(value('kestra_fastly_purge_rate_limited_total'), 0);
  assert.ok(Number.isFinite(value('kestra_fastly_purge_budget_remaining')));
  assert.equal(value('kestra_fastly_purge_budget_used_last_hour'), 1800);
  assert.equal(value('kestra_fastly_purge_budget_per_hour'), 100_000);
  assert.ok(!text.includes('budget-token-7f3a'), 'the token is never a label');
});

test('simulator --purge-limit 3 --purge-window 86400: purges carry Fastly-RateLimit-*, and one past the budget gets 429 (each key counts)', async (t) => {
  const child = spawn(
    process.execPath,
    [CLI, 'simulator', '--port', '0', '--purge-limit', '3', '--purge-window', '86400'],
    {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  const url = await new Promise<string>((resolve) =>
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m?.[1]) resolve(m[1]);
    }),
  );
  const purge = (keys: string[]) =>
    fetch(`${url}/service/${SERVICE}/purge`, {
      method: 'POST',
      headers: { 'fastly-key': 'sim-token', 'content-type': 'application/json' },
      body: JSON.stringify({ surrogate_keys: keys }),
    });
  const first = await purge(['a', 'b']);
  await first.body?.cancel();
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('fastly-ratelimit-remaining'), '1');
  const reset = Number(first.headers.get('fastly-ratelimit-reset'));
  assert.ok(reset * 1000 > Date.now() && reset % 86_400 === 0, `reset ${reset}: the end of the (UTC) day`);
  const over = await purge(['c', 'd']);
  assert.equal(over.status, 429);
  assert.equal(over.headers.get('fastly-ratelimit-remaining'), '1');
  assert.match(await over.text(), /exceeded your hourly rate limit/);
  const last = await purge(['c']);
  await last.body?.cancel();
  assert.equal(last.status, 200);
  assert.equal(last.headers.get('fastly-ratelimit-remaining'), '0');
  child.kill('SIGINT');
  await once(child, 'exit');
});
