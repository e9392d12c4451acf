import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../src/clock.js';
import { PurgeBudget } from '../src/fastly/budget.js';
import { FastlyClient } from '../src/fastly/client.js';
import { PurgeCoordinator } from '../src/fastly/coordinator.js';
import { purgeAll, purgeKey, purgeKeys, purgeUrls } from '../src/fastly/purge.js';
import type { Transport, TransportRequest, TransportResponse } from '../src/http/transport.js';
import { SERVICE, sim, waitForRequests } from './helpers.js';

/** The most of `requests` under way at once (each from its `order` to its `answered`). */
function mostAtOnce(requests: readonly Sent[]): number {
  const events = requests.flatMap((r) => [
    { at: r.order, step: 1 },
    { at: r.answered ?? Number.POSITIVE_INFINITY, step: -1 },
  ]);
  events.sort((a, b) => a.at - b.at);
  let now = 0;
  let most = 0;
  for (const e of events) most = Math.max(most, (now += e.step));
  return most;
}

/** Lets every promise chain that can move, move (the fake transport and clock fire synchronously). */
async function drain(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Runs the manual clock until nothing is left to do: timers fired one by one, promises drained between. */
async function runClock(clock: ManualClock, done: () => boolean): Promise<void> {
  for (let step = 0; step < 100_000; step++) {
    await drain();
    if (done() && clock.pendingTimers === 0) return;
    const next = clock.nextAt;
    if (next === undefined) {
      if (done()) return;
      throw new Error('stuck: callers still waiting and no timer left');
    }
    clock.advanceTo(next);
  }
  throw new Error('the clock ran 100,000 steps');
}

interface Sent {
  /** Order of the event among submissions and sends. */
  order: number;
  /** Order of its answer among the same events (undefined until answered). */
  answered?: number;
  keys: string[];
  soft: boolean;
}

type Outcome = 'ok' | 'drop-one' | '503' | '401';

/**
 * A Fastly API in process: each bulk purge is answered after a latency on the manual clock, with the
 * outcome the test chose (all acknowledged, one key left out of the answer, 503, 401). Purge ids are
 * `<request>:<key>`, so a caller's id says which request carried its key.
 */
class FakeFastly implements Transport {
  readonly sent: Sent[] = [];
  constructor(
    readonly clock: ManualClock,
    readonly next: () => { latency: number; outcome: Outcome },
    readonly tick: () => number,
  ) {}
  request(req: TransportRequest): Promise<TransportResponse> {
    const keys = (JSON.parse(req.body ?? '{}') as { surrogate_keys: string[] }).surrogate_keys;
    const index = this.sent.length;
    const sent: Sent = { order: this.tick(), keys, soft: 'fastly-soft-purge' in req.headers };
    this.sent.push(sent);
    const { latency, outcome } = this.next();
    return new Promise((resolve) => {
      this.clock.at(this.clock.now() + latency, () => {
        sent.answered = this.tick();
        if (outcome === '503' || outcome === '401') {
          // The message names the request, so that a caller's failed keys say which request carried them.
          const msg = `${outcome === '401' ? 'Unauthorized' : 'busy'} (request ${index})`;
          resolve({
            status: Number(outcome),
            headers: { 'content-type': 'application/json' },
            body: Buffer.from(JSON.stringify({ msg })),
          });
          return;
        }
        const ids: Record<string, string> = {};
        keys.forEach((k, i) => {
          if (!(outcome === 'drop-one' && i === 0)) ids[k] = `${index}:${k}`;
        });
        resolve({ status: 200, headers: {}, body: Buffer.from(JSON.stringify(ids)) });
      });
    });
  }
  close(): void {}
}

const KEYS = Array.from({ length: 12 }, (_, i) => `article-${i}`);

test('coalescing, over random arrivals, latencies and failures: no key rides a request already sent, every caller gets exactly its own keys, and never has more requests in flight than its concurrency', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          at: fc.integer({ min: 0, max: 300 }),
          keys: fc.uniqueArray(fc.constantFrom(...KEYS), { minLength: 1, maxLength: 6 }),
          // Now and then a list longer than a request, from a pool callers share: it spans batches.
          bulk: fc.option(fc.integer({ min: 1, max: 800 }), { nil: undefined, freq: 3 }),
          soft: fc.boolean(),
          stopAfter: fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }),
          concurrency: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
        }),
        { minLength: 1, maxLength: 25 },
      ),
      fc.array(
        fc.record({
          latency: fc.integer({ min: 1, max: 250 }),
          outcome: fc.constantFrom<Outcome>('ok', 'ok', 'ok', 'ok', 'drop-one', '503', '401'),
        }),
        { minLength: 1, maxLength: 40 },
      ),
      fc.integer({ min: 1, max: 60 }),
      fc.integer({ min: 1, max: 4 }),
      async (arrivals, answers, lingerMs, maxInFlight) => {
        const callers = arrivals.map((c) => ({
          ...c,
          keys: [...c.keys, ...Array.from({ length: c.bulk ?? 0 }, (_, i) => `bulk-${i}`)],
        }));
        const clock = new ManualClock(1_000_000);
        let order = 0;
        let n = 0;
        const fake = new FakeFastly(
          clock,
          () => answers[n++ % answers.length] as (typeof answers)[0],
          () => order++,
        );
        const purges = new PurgeCoordinator({ lingerMs, maxInFlight, clock });
        const client = new FastlyClient({
          token: 'prop-token',
          baseUrl: 'http://127.0.0.1:9',
          transport: fake,
          retry: { maxAttempts: 1 },
          purges,
        });
        const results: {
          keys: string[];
          soft: boolean;
          concurrency: number | undefined;
          submitted: number;
          result?: Awaited<ReturnType<typeof purgeKeys>>;
          error?: unknown;
        }[] = [];
        for (const c of callers) {
          clock.at(clock.now() + c.at, () => {
            const stop = new AbortController();
            if (c.stopAfter !== undefined)
              clock.at(clock.now() + c.stopAfter, () => stop.abort(new Error('stopped by the test')));
            const entry: (typeof results)[0] = {
              keys: c.keys,
              soft: c.soft,
              concurrency: c.concurrency,
              submitted: order++,
            };
            results.push(entry);
            const options = { soft: c.soft, stop: stop.signal, concurrency: c.concurrency };
            purgeKeys(client, SERVICE, c.keys, options).then(
              (r) => (entry.result = r),
              (e: unknown) => (entry.error = e),
            );
          });
        }
        await runClock(
          clock,
          () => results.length === callers.length && results.every((r) => r.result || r.error),
        );
        for (const r of results) {
          assert.equal(r.error, undefined, String(r.error));
          const res = r.result as NonNullable<typeof r.result>;
          const named = [...Object.keys(res.purgeIds), ...res.failed.map((f) => f.key)];
          // Exactly its own keys, each once.
          assert.deepEqual([...named].sort(), [...r.keys].sort());
          for (const [key, id] of Object.entries(res.purgeIds)) {
            const [index, idKey] = id.split(':');
            const carrier = fake.sent[Number(index)] as Sent;
            assert.equal(idKey, key);
            // The request that purged the key left after the caller asked: it was not already sent.
            assert.ok(
              carrier.order > r.submitted,
              `key ${key} rode request ${index}, sent before its caller asked`,
            );
            assert.equal(carrier.soft, r.soft, 'a soft purge never rides a hard one, nor the reverse');
          }
          if (r.concurrency !== undefined) {
            // The requests known to have carried its keys: by their purge ids, or named in the failure.
            const carriers = new Set(Object.values(res.purgeIds).map((id) => Number(id.split(':')[0])));
            for (const f of res.failed) {
              // Not a key never sent, whose reason may quote another request's failure.
              const m = /^purgeKeys failed: HTTP \d+ \w+ \(request (\d+)\)/.exec(f.reason);
              if (m) carriers.add(Number(m[1]));
            }
            const mine = [...carriers].map((i) => fake.sent[i] as Sent);
            assert.ok(
              mostAtOnce(mine) <= r.concurrency,
              `concurrency ${r.concurrency}, yet ${mostAtOnce(mine)} of its requests were in flight at once`,
            );
          }
        }
        for (const s of fake.sent) {
          assert.equal(new Set(s.keys).size, s.keys.length, 'a key is sent once per request');
          assert.ok(s.keys.length <= 256);
        }
      },
    ),
    { numRuns: 150 },
  );
});

test('keys arriving within the linger share one request; a key asked again while it is in flight gets a request of its own', async () => {
  const clock = new ManualClock(1_000_000);
  let order = 0;
  const fake = new FakeFastly(
    clock,
    () => ({ latency: 200, outcome: 'ok' }),
    () => order++,
  );
  const purges = new PurgeCoordinator({ lingerMs: 25, clock });
  const client = new FastlyClient({ token: 'tok-a', baseUrl: 'http://127.0.0.1:9', transport: fake, purges });
  let finished = 0;
  const count = <T>(p: Promise<T>) => p.finally(() => finished++);
  const first = count(purgeKeys(client, SERVICE, ['a', 'b']));
  clock.advance(10);
  const second = count(purgeKeys(client, SERVICE, ['b', 'c']));
  const single = count(purgeKey(client, SERVICE, 'a'));
  await runClock(clock, () => fake.sent.length === 1);
  assert.deepEqual(
    fake.sent.map((s) => s.keys),
    [['a', 'b', 'c']],
  );
  // In flight now: 'a' asked again must not ride it.
  const third = count(purgeKey(client, SERVICE, 'a'));
  await runClock(clock, () => finished === 4);
  assert.deepEqual(
    fake.sent.map((s) => s.keys),
    [['a', 'b', 'c'], ['a']],
  );
  assert.deepEqual((await first).purgeIds, { a: '0:a', b: '0:b' });
  assert.deepEqual((await second).purgeIds, { b: '0:b', c: '0:c' });
  assert.equal((await single).id, '0:a');
  assert.equal((await third).id, '1:a');
  // Another token (another account) or the soft flag is another group: never mixed.
  const other = new FastlyClient({ token: 'tok-b', baseUrl: 'http://127.0.0.1:9', transport: fake, purges });
  const mixed = Promise.all([
    purgeKeys(client, SERVICE, ['x']),
    purgeKeys(other, SERVICE, ['x']),
    purgeKeys(client, SERVICE, ['x'], { soft: true }),
  ]);
  await runClock(clock, () => fake.sent.length === 5);
  await mixed;
  assert.equal(fake.sent.length, 5);
});

test('coalesced, a caller counts the requests that carried its keys: 600 keys are 3 requests, shared keys 1', async () => {
  const clock = new ManualClock(1_000_000);
  let order = 0;
  const fake = new FakeFastly(
    clock,
    () => ({ latency: 150, outcome: 'ok' }),
    () => order++,
  );
  const purges = new PurgeCoordinator({ lingerMs: 25, clock });
  const client = new FastlyClient({ token: 'tok-a', baseUrl: 'http://127.0.0.1:9', transport: fake, purges });
  const many = Array.from({ length: 600 }, (_, i) => `k-${i}`);
  let finished = 0;
  const big = purgeKeys(client, SERVICE, many).finally(() => finished++);
  const small = purgeKeys(client, SERVICE, ['k-599', 'extra']).finally(() => finished++);
  await runClock(clock, () => finished === 2);
  assert.deepEqual(
    fake.sent.map((s) => s.keys.length),
    [256, 256, 89],
  );
  const b = await big;
  const carriers = new Set(Object.values(b.purgeIds).map((id) => id.split(':')[0]));
  assert.equal(carriers.size, 3);
  assert.equal(b.sent, 3, 'requests, not keys');
  assert.equal(b.batches, 3);
  const s = await small;
  assert.equal(s.sent, 1);
  assert.deepEqual(Object.keys(s.purgeIds).sort(), ['extra', 'k-599']);
});

test("coalesced, a caller's concurrency bounds its requests in flight: 2,000 keys at concurrency 1 go one request at a time, beside a caller at 3 sharing its batches", async () => {
  const clock = new ManualClock(1_000_000);
  let order = 0;
  const fake = new FakeFastly(
    clock,
    () => ({ latency: 100, outcome: 'ok' }),
    () => order++,
  );
  const purges = new PurgeCoordinator({ lingerMs: 25, clock });
  const client = new FastlyClient({ token: 'tok-c', baseUrl: 'http://127.0.0.1:9', transport: fake, purges });
  const one = Array.from({ length: 2000 }, (_, i) => `one-${i}`);
  const three = Array.from({ length: 2000 }, (_, i) => `three-${i}`);
  let finished = 0;
  const serial = purgeKeys(client, SERVICE, one, { concurrency: 1 }).finally(() => finished++);
  const wider = purgeKeys(client, SERVICE, three, { concurrency: 3 }).finally(() => finished++);
  await runClock(clock, () => finished === 2);
  const [a, b] = await Promise.all([serial, wider]);
  assert.deepEqual([a.failed, b.failed], [[], []]);
  assert.equal(Object.keys(a.purgeIds).length, 2000);
  assert.equal(Object.keys(b.purgeIds).length, 2000);
  const carrying = (keys: readonly string[]) => {
    const mine = new Set(keys);
    return fake.sent.filter((s) => s.keys.some((k) => mine.has(k)));
  };
  assert.equal(mostAtOnce(carrying(one)), 1);
  assert.equal(mostAtOnce(carrying(three)), 3);
  assert.equal(a.sent, carrying(one).length);
});

test('a partial failure names exactly the keys of the failed request, for each caller', async () => {
  const clock = new ManualClock(1_000_000);
  let order = 0;
  const outcomes: Outcome[] = ['503', 'ok'];
  const fake = new FakeFastly(
    clock,
    () => ({ latency: 100, outcome: outcomes.shift() ?? 'ok' }),
    () => order++,
  );
  const purges = new PurgeCoordinator({ lingerMs: 20, clock });
  const client = new FastlyClient({
    token: 'tok',
    baseUrl: 'http://127.0.0.1:9',
    transport: fake,
    retry: { maxAttempts: 1 },
    purges,
  });
  const a = purgeKeys(client, SERVICE, ['k1', 'k2']);
  await runClock(clock, () => fake.sent.length === 1); // k1 k2 sent (will fail)
  const b = purgeKeys(client, SERVICE, ['k2', 'k3']);
  const all = Promise.all([a, b]);
  let settled = false;
  void all.then(() => (settled = true));
  await runClock(clock, () => settled);
  const [ra, rb] = await all;
  assert.deepEqual(ra.purgeIds, {});
  assert.deepEqual(
    ra.failed.map((f) => [f.key, f.status]),
    [
      ['k1', 503],
      ['k2', 503],
    ],
  );
  assert.deepEqual(rb.purgeIds, { k2: '1:k2', k3: '1:k3' });
  assert.deepEqual(rb.failed, []);
});

test('the purge budget follows Fastly-RateLimit-Remaining and waits for the reset instead of sending into a 429', async () => {
  const clock = new ManualClock(1_000_000_000);
  const budget = new PurgeBudget('http://127.0.0.1:9', 1, { clock, marginMs: 100 });
  const first = await budget.acquire(200);
  // Only one request learns the window: a second waits for the first answer.
  let secondGranted = false;
  const second = budget.acquire(50).then((g) => ((secondGranted = true), g));
  await drain();
  assert.equal(secondGranted, false);
  first.observe({ remaining: 60, reset: 1_000_010 }, 200);
  first.release();
  const g2 = await second;
  assert.equal(budget.view().remaining, 60);
  // 60 remain, 50 in flight: a request of 20 waits; so does every later one (in order).
  let thirdGranted = false;
  const third = budget.acquire(20).then((g) => ((thirdGranted = true), g));
  g2.observe({ remaining: 10, reset: 1_000_010 }, 200);
  g2.release();
  await drain();
  assert.equal(thirdGranted, false, '10 remain: 20 do not fit');
  assert.equal(budget.view().waiting, 1);
  clock.advanceTo(1_000_010_000 + 99);
  await drain();
  assert.equal(thirdGranted, false, 'not before the reset and its margin');
  clock.advanceTo(1_000_010_000 + 100);
  const g3 = await third;
  g3.observe({ remaining: 80, reset: 1_000_020 }, 200);
  g3.release();
  const v = budget.view();
  assert.equal(v.remaining, 80);
  assert.equal(v.usedLastHour, 270);
  assert.equal(v.waits, 2);
  assert.equal(v.rateLimited, 0);
});

test('answers that overtake each other: within a window the fewest remaining counts; a past window is ignored', async () => {
  const clock = new ManualClock(1_000_000_000);
  const budget = new PurgeBudget('http://127.0.0.1:9', 1, { clock, marginMs: 100 });
  const first = await budget.acquire(1);
  first.observe({ remaining: 40, reset: 1_000_010 }, 200);
  first.release();
  const a = await budget.acquire(1);
  const b = await budget.acquire(1);
  // b reached Fastly last (10 left) but its answer arrives first; a's older answer (12 left) comes after.
  b.observe({ remaining: 10, reset: 1_000_010 }, 200);
  b.release();
  a.observe({ remaining: 12, reset: 1_000_010 }, 200);
  a.release();
  assert.equal(budget.view().remaining, 10, 'a late answer does not give back purges already spent');
  clock.advanceTo(1_000_010_000 + 100);
  const c = await budget.acquire(1);
  c.observe({ remaining: 39, reset: 1_000_020 }, 200);
  c.release();
  const late = await budget.acquire(1);
  late.observe({ remaining: 2, reset: 1_000_010 }, 200); // an answer from the window before
  late.release();
  assert.equal(budget.view().remaining, 39);
  assert.equal(budget.view().resetAt, 1_000_020_000);
});

test('a window smaller than a batch: the budget learns it from the answers, and largestRequest says so', async () => {
  const budget = new PurgeBudget('http://127.0.0.1:9', 1, { clock: new ManualClock(0) });
  assert.equal(budget.largestRequest(), Number.POSITIVE_INFINITY, 'unknown until an answer says');
  const g = await budget.acquire(256);
  g.observe({ remaining: 100, reset: 20 }, 429); // refused whole: 100 remain of the window
  g.release();
  assert.equal(budget.largestRequest(), 100);
  const h = await budget.acquire(100);
  h.observe({ remaining: 0, reset: 20 }, 200);
  h.release();
  assert.equal(budget.largestRequest(), 100, '0 left after 100 accepted: the window holds at least 100');
});

test('purge keys larger than the window: batches split to fit, every key purged, one 429 at most (the one that learns the window)', async (t) => {
  const s = await sim(t, {
    purgeLimit: 100,
    purgeWindowSeconds: 1,
    faults: { latencyMs: 100, latencyJitterMs: 200 },
  });
  const purges = new PurgeCoordinator({ rateLimitMarginMs: 50 });
  // A retry time far shorter than the burst: waiting for budget window after window is not one long wait.
  const client = new FastlyClient({
    token: 'window-token-1',
    baseUrl: s.url,
    purges,
    retry: { maxRetryTimeMs: 2000 },
  });
  const keys = Array.from({ length: 700 }, (_, i) => `k${i}`);
  const r = await purgeKeys(client, SERVICE, keys, { concurrency: 4 });
  assert.deepEqual(r.failed, []);
  assert.equal(Object.keys(r.purgeIds).length, 700);
  const answers = s.log.filter((e) => e.path === `/service/${SERVICE}/purge`);
  const refused = answers.filter((e) => e.status === 429);
  assert.ok(refused.length <= 1, `429s: ${refused.length}`);
  for (const e of answers.filter((a) => a.status === 200))
    assert.ok((e.keys ?? 0) <= 100, `${e.keys} keys in one request`);
  assert.equal(
    answers.filter((a) => a.status === 200).length,
    7,
    'full windows: 700 keys in 7 requests of 100, not a short remainder per 256-key batch',
  );
});

test('coalesced keys larger than the window: the refused batch goes again in parts that fit, each caller gets its keys', async (t) => {
  const s = await sim(t, { purgeLimit: 100, purgeWindowSeconds: 1, faults: { latencyMs: 100 } });
  const purges = new PurgeCoordinator({ lingerMs: 10, rateLimitMarginMs: 50 });
  const client = new FastlyClient({
    token: 'window-token-2',
    baseUrl: s.url,
    purges,
    retry: { maxRetryTimeMs: 2000 },
  });
  const results = await Promise.all(
    Array.from({ length: 3 }, (_, c) =>
      purgeKeys(
        client,
        SERVICE,
        Array.from({ length: 120 }, (_, k) => `c${c}-${k}`),
      ),
    ),
  );
  results.forEach((r, c) => {
    assert.deepEqual(r.failed, []);
    assert.deepEqual(
      Object.keys(r.purgeIds).sort(),
      Array.from({ length: 120 }, (_, k) => `c${c}-${k}`).sort(),
    );
  });
  const answers = s.log.filter((e) => e.path === `/service/${SERVICE}/purge`);
  assert.ok(answers.filter((e) => e.status === 429).length <= 1);
  for (const e of answers.filter((a) => a.status === 200)) assert.ok((e.keys ?? 0) <= 100);
});

test('purge urls within the budget, answers overtaking each other (100-300 ms): no 429', async (t) => {
  const s = await sim(t, {
    purgeLimit: 150,
    purgeWindowSeconds: 1,
    faults: { latencyMs: 100, latencyJitterMs: 200 },
  });
  const purges = new PurgeCoordinator({ rateLimitMarginMs: 50 });
  const client = new FastlyClient({
    token: 'window-token-3',
    baseUrl: s.url,
    purges,
    retry: { maxRetryTimeMs: 2000 },
  });
  const urls = Array.from({ length: 500 }, (_, i) => `https://www.example.com/articles/${i}`);
  const r = await purgeUrls(client, urls, { concurrency: 64 });
  assert.deepEqual(r.failed, []);
  const refused = s.log.filter((e) => e.path.startsWith('/purge/') && e.status === 429);
  assert.deepEqual(
    refused.map((e) => e.path),
    [],
  );
});

test('many purges waiting for budget on one cancellable client add no listener to its signal (no MaxListenersExceededWarning)', async (t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const s = await sim(t, { purgeLimit: 10, purgeWindowSeconds: 1 });
  const purges = new PurgeCoordinator({ rateLimitMarginMs: 50 });
  const controller = new AbortController();
  const client = new FastlyClient({
    token: 'listener-token',
    baseUrl: s.url,
    purges,
    signal: controller.signal,
  });
  const urls = Array.from({ length: 30 }, (_, i) => `https://www.example.com/l/${i}`);
  const r = await purgeUrls(client, urls, { concurrency: 30 });
  assert.deepEqual(r.failed, []);
  await new Promise<void>((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
  assert.deepEqual(
    warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')),
    [],
  );
});

test('a coalesced purgeKey cancelled while its request is under way says not acknowledged, not "not sent"', async (t) => {
  const s = await sim(t);
  const path = `/service/${SERVICE}/purge`;
  // Reaches the simulator and is never answered: under way when the caller is cancelled.
  s.setFaults({ latencyMs: 30, burst: { fault: 'hang', count: 1 }, paths: [path] });
  const arrived = waitForRequests(s, (p) => p === path, 1);
  const kill = new AbortController();
  const client = new FastlyClient({
    token: 'key-token',
    baseUrl: s.url,
    purges: new PurgeCoordinator({ lingerMs: 5 }),
    signal: kill.signal,
  });
  // '/' is not path-safe: the key goes through the bulk body, as coalesced keys do.
  const purge = purgeKey(client, SERVICE, 'article/42').catch((e: unknown) => e);
  await arrived;
  kill.abort(new Error('execution 9Ab killed'));
  const err = await purge;
  assert.ok(err instanceof Error);
  assert.equal(
    err.message,
    `purgeKey: "article/42" not acknowledged: execution 9Ab killed while its request was under way (Fastly may have purged it)`,
  );
});

test('the hourly average holds across every caller of the process: past it, a purge waits for the oldest to age out', async () => {
  const clock = new ManualClock(0);
  const budget = new PurgeBudget('http://127.0.0.1:9', 1, { clock, perHour: 300 });
  const a = await budget.acquire(200);
  a.observe({}, 200); // no rate-limit headers: from now on only the average limits
  a.release();
  clock.advance(60_000);
  const b = await budget.acquire(100);
  b.observe({}, 200);
  b.release();
  let granted = false;
  const c = budget.acquire(150).then((g) => ((granted = true), g));
  clock.advanceTo(3_600_000 - 1);
  await drain();
  assert.equal(granted, false);
  clock.advanceTo(3_600_000);
  (await c).release();
  assert.equal(granted, true);
});

test('purge-alls of one service take turns a second apart: parallel deploy jobs wait instead of getting 429', async (t) => {
  const s = await sim(t, { purgeAllIntervalSeconds: 0.2, faults: { latencyMs: 20 } });
  const purges = new PurgeCoordinator({ purgeAllIntervalMs: 200 });
  const client = () =>
    new FastlyClient({ token: 'deploy', baseUrl: s.url, purges, retry: { maxAttempts: 1 } });
  const results = await Promise.all([1, 2, 3].map(() => purgeAll(client(), SERVICE)));
  assert.deepEqual(results, [{ status: 'ok' }, { status: 'ok' }, { status: 'ok' }]);
  const calls = s.log.filter((e) => e.path.endsWith('/purge_all'));
  assert.deepEqual(
    calls.map((e) => e.status),
    [200, 200, 200],
    'no 429: each waited for its turn (the simulator refuses two within 200 ms)',
  );
  // Without the turns (each its own coordinator), the same three collide.
  s.clearLog();
  const apart = await Promise.allSettled(
    [1, 2, 3].map(() =>
      purgeAll(
        new FastlyClient({
          token: 'deploy',
          baseUrl: s.url,
          purges: new PurgeCoordinator(),
          retry: { maxAttempts: 1 },
        }),
        SERVICE,
      ),
    ),
  );
  assert.ok(apart.some((r) => r.status === 'rejected'));
});
