import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DEMO_SERVICES, type Simulator, type StatsScenario } from '../src/simulator/index.js';
import { parseScenarioSpec } from '../src/simulator/scenario.js';
import { POPS, REGION_POPS } from '../src/simulator/traffic.js';
import { SERVICE, sim } from './helpers.js';
import { cliHost } from './cli-host.js';

/** The CLI runs of this file, in one process (cli-host.ts). */
const cli = cliHost();

/*
 * The simulator's synthetic stats add up the way Fastly's do: minutes to hours to days, POPs to
 * regions to `all`, services to `aggregate`, historical to usage; nothing after now; scenarios on
 * top at every resolution. All against a fixed clock, over real HTTP.
 */

const NOW = Date.UTC(2026, 10, 21, 22, 10, 30) / 1000;
const HOUR = 3600;
const DAY = 86400;
const SERVICES = DEMO_SERVICES.map((s) => s.id);
const REGIONS = Object.keys(REGION_POPS);
/** Floats derived per bucket (times, ratios): compared separately. */
const DERIVED = new Set(['hit_ratio', 'hits_time', 'miss_time', 'start_time']);

interface Point {
  [field: string]: number;
  start_time: number;
  requests: number;
  hits: number;
  miss: number;
  pass: number;
  hit_ratio: number;
  status_2xx: number;
  status_3xx: number;
  status_4xx: number;
  status_5xx: number;
  status_200: number;
  status_204: number;
  status_206: number;
}

async function get<T>(s: Simulator, path: string, query: Record<string, string | number>): Promise<T> {
  const qs = new URLSearchParams(
    Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
  // Uncompressed: what is tested is the numbers; gzip (the simulator's, fetch's gunzip) was a fifth
  // of this file's CPU.
  const res = await fetch(`${s.url}${path}?${qs}`, {
    headers: { 'Fastly-Key': 't', 'accept-encoding': 'identity' },
  });
  const body = await res.text();
  assert.equal(res.status, 200, `${path}?${qs}: ${body}`);
  return (JSON.parse(body) as { data: T }).data;
}

const points = (s: Simulator, service: string, q: Record<string, string | number>) =>
  get<Point[]>(s, `/stats/service/${service}`, q);

function sumPoints(pts: Point[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const p of pts) {
    // for...in, not Object.entries: no pair allocated per field of ~185 per point.
    for (const k in p) {
      const v = p[k];
      if (typeof v === 'number' && !DERIVED.has(k)) sum[k] = (sum[k] ?? 0) + v;
    }
  }
  return sum;
}

/** The counts of a point (every numeric field but the derived floats). */
function counts(p: Point | undefined): Record<string, number> {
  assert.ok(p, 'a point');
  return sumPoints([p]);
}

function assertRatios(p: Point): void {
  const hm = p.hits + p.miss;
  assert.equal(p.hit_ratio, hm > 0 ? p.hits / hm : 0, 'hit_ratio = hits / (hits + miss)');
  assert.equal(p.requests, p.hits + p.miss + p.pass);
  assert.equal(p.requests, p.status_2xx + p.status_3xx + p.status_4xx + p.status_5xx);
  assert.equal(p.status_2xx, p.status_200 + p.status_204 + p.status_206);
  for (const [k, v] of Object.entries(p)) if (typeof v === 'number') assert.ok(v >= 0, `${k} = ${v} ≥ 0`);
}

/** A region (or all), optionally with some of the POPs. */
const where = fc.oneof(
  fc.constant({ region: 'all' }),
  fc.constantFrom(...REGIONS).map((region) => ({ region })),
  fc
    .subarray(
      POPS.map((p) => p.code),
      { minLength: 1, maxLength: 4 },
    )
    .map((pops) => ({ region: 'all', datacenter: pops.join(',') })),
);

const scenario = fc.record({
  serviceId: fc.option(fc.constantFrom(...SERVICES), { nil: undefined }),
  field: fc.constantFrom('status_5xx', 'requests', 'bandwidth'),
  from: fc.integer({ min: NOW - 3 * DAY, max: NOW }),
  length: fc.integer({ min: 1, max: 2 * DAY }),
  perMinute: fc.integer({ min: 1, max: 5000 }),
});

async function withScenarios(
  s: Simulator,
  list: { serviceId: string | undefined; field: string; from: number; length: number; perMinute: number }[],
) {
  s.state.scenarios = [];
  for (const sc of list) {
    const { length, serviceId, ...rest } = sc;
    const added: StatsScenario = { ...rest, to: sc.from + length };
    if (serviceId) added.serviceId = serviceId;
    s.addScenario(added);
  }
  await Promise.resolve();
}

test('minutes add up to the hour and hours to the day, for every count; ratios are recomputed', async (t) => {
  const s = await sim(t, { now: () => NOW * 1000 });
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...SERVICES),
      where,
      fc.integer({ min: 1, max: 30 }),
      fc.integer({ min: 0, max: 23 }),
      fc.array(scenario, { maxLength: 2 }),
      async (service, q, daysAgo, hourOfDay, scenarios) => {
        await withScenarios(s, scenarios);
        const day = Math.floor(NOW / DAY) * DAY - daysAgo * DAY;
        const hour = day + hourOfDay * HOUR;
        const [mins, hours, days] = await Promise.all([
          points(s, service, { ...q, by: 'minute', from: hour, to: hour + HOUR }),
          points(s, service, { ...q, by: 'hour', from: day, to: day + DAY }),
          points(s, service, { ...q, by: 'day', from: day, to: day + DAY }),
        ]);
        assert.equal(mins.length, 60);
        assert.equal(hours.length, 24);
        assert.equal(days.length, 1);
        const theHour = hours[hourOfDay] as Point;
        assert.equal(theHour.start_time, hour);
        assert.deepEqual(sumPoints(mins), counts(theHour));
        assert.deepEqual(sumPoints(hours), counts(days[0]));
        if (scenarios.length === 0) for (const p of [...mins, ...hours, ...days]) assertRatios(p);
      },
    ),
    { numRuns: 40, includeErrorInReport: true },
  );
});

test('POPs add up to their region and regions to all; aggregate is the sum over services', async (t) => {
  const s = await sim(t, { now: () => NOW * 1000 });
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom<'minute' | 'hour' | 'day'>('minute', 'hour', 'day'),
      fc.integer({ min: 0, max: 600 }),
      fc.array(scenario, { maxLength: 2 }),
      async (by, back, scenarios) => {
        await withScenarios(s, scenarios);
        const size = { minute: 60, hour: HOUR, day: DAY }[by];
        // Three complete buckets, `back` buckets before the last one.
        const start = (Math.floor(NOW / size) - 3 - back) * size;
        const q = { by, from: start, to: start + 3 * size };
        const service = SERVICES[back % SERVICES.length] as string;
        const all = await points(s, service, q);
        assert.equal(all.length, 3);
        const byRegion = await Promise.all(REGIONS.map((region) => points(s, service, { ...q, region })));
        const byPop = await Promise.all(POPS.map((p) => points(s, service, { ...q, datacenter: p.code })));
        for (let i = 0; i < 3; i++) {
          const at = (list: Point[][]) => list.map((pts) => pts[i] as Point);
          assert.deepEqual(sumPoints(at(byRegion)), counts(all[i]), 'regions → all');
          assert.deepEqual(sumPoints(at(byPop)), counts(all[i]), 'POPs → all');
          for (const [r, region] of REGIONS.entries()) {
            const mine = at(byPop).filter((_, k) => POPS[k]?.region === region);
            assert.deepEqual(sumPoints(mine), counts(byRegion[r]?.[i]), `POPs → ${region}`);
          }
          const dc = await points(s, service, { ...q, datacenter: 'LHR,AMS' });
          const lhr = byPop[POPS.findIndex((p) => p.code === 'LHR')]?.[i] as Point;
          const ams = byPop[POPS.findIndex((p) => p.code === 'AMS')]?.[i] as Point;
          assert.deepEqual(counts(dc[i]), sumPoints([lhr, ams]), 'datacenter=LHR,AMS');
        }
        const region = REGIONS[back % REGIONS.length] as string;
        const agg = await get<Point[]>(s, '/stats/aggregate', { ...q, region });
        const each = await Promise.all(SERVICES.map((id) => points(s, id, { ...q, region })));
        for (let i = 0; i < 3; i++) {
          assert.deepEqual(counts(agg[i]), sumPoints(each.map((pts) => pts[i] as Point)), 'aggregate');
          if (scenarios.length === 0) assertRatios(agg[i] as Point);
        }
      },
    ),
    { numRuns: 12, includeErrorInReport: true },
  );
});

test('usage, usage_by_service and usage_by_month match historical over the same window and regions', async (t) => {
  const s = await sim(t, { now: () => NOW * 1000 });
  type Usage = { bandwidth: number; requests: number };
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 2, max: 40 }),
      fc.integer({ min: 1, max: 10 }),
      fc.constantFrom<'hour' | 'day'>('hour', 'day'),
      fc.array(scenario, { maxLength: 2 }),
      async (daysAgo, span, by, scenarios) => {
        await withScenarios(s, scenarios);
        const from = NOW - daysAgo * DAY + 1234;
        const q = { by, from, to: Math.min(from + span * (by === 'day' ? DAY : HOUR) * 3, NOW + DAY) };
        const [usage, byService] = await Promise.all([
          get<Record<string, Usage>>(s, '/stats/usage', q),
          get<Record<string, Record<string, Usage>>>(s, '/stats/usage_by_service', q),
        ]);
        for (const region of REGIONS) {
          const hist = await Promise.all(SERVICES.map((id) => points(s, id, { ...q, region })));
          let requests = 0;
          let bandwidth = 0;
          for (const [k, id] of SERVICES.entries()) {
            const sum = sumPoints(hist[k] ?? []);
            assert.deepEqual(
              { requests: byService[region]?.[id]?.requests, bandwidth: byService[region]?.[id]?.bandwidth },
              { requests: sum.requests ?? 0, bandwidth: sum.bandwidth ?? 0 },
              `usage_by_service ${region} ${id}`,
            );
            requests += sum.requests ?? 0;
            bandwidth += sum.bandwidth ?? 0;
          }
          assert.equal(usage[region]?.requests, requests, `usage ${region}`);
          assert.equal(usage[region]?.bandwidth, bandwidth, `usage ${region}`);
        }
      },
    ),
    { numRuns: 10, includeErrorInReport: true },
  );
  // Month to date: the previous month, whole, against its days.
  s.state.scenarios = [];
  const month = await get<{ services: Record<string, Record<string, Usage>>; total: Record<string, Usage> }>(
    s,
    '/stats/usage_by_month',
    { year: 2026, month: 10 },
  );
  const oct = Date.UTC(2026, 9, 1) / 1000;
  for (const region of REGIONS) {
    let total = 0;
    for (const id of SERVICES) {
      const days = await points(s, id, { by: 'day', region, from: oct, to: Date.UTC(2026, 10, 1) / 1000 });
      assert.equal(days.length, 31);
      const sum = sumPoints(days).requests ?? 0;
      assert.equal(month.services[id]?.[region]?.requests, sum, `usage_by_month ${id} ${region}`);
      total += sum;
    }
    assert.equal(month.total[region]?.requests, total);
  }
});

test('nothing after now minus the data lag: a future window has no points and no usage', async (t) => {
  const s = await sim(t, { now: () => NOW * 1000, statsLagSeconds: 600 });
  const future = { from: Date.UTC(2030, 0, 1) / 1000, to: Date.UTC(2030, 0, 2) / 1000 };
  assert.deepEqual(await points(s, SERVICE, { ...future, by: 'hour' }), []);
  assert.deepEqual(await get(s, '/stats/aggregate', { ...future, by: 'hour' }), []);
  const usage = await get<Record<string, { requests: number; bandwidth: number }>>(s, '/stats/usage', future);
  for (const region of REGIONS)
    assert.deepEqual(usage[region], { bandwidth: 0, requests: 0, compute_requests: 0 });
  // The last minute reported ends at or before now − lag; usage stops at the same place.
  const mins = await points(s, SERVICE, { by: 'minute', from: NOW - 3600, to: NOW });
  const last = mins.at(-1)?.start_time ?? 0;
  assert.ok(last + 60 <= NOW - 600 && last + 120 > NOW - 600, String(last));
  const u = await get<Record<string, { requests: number }>>(s, '/stats/usage', {
    by: 'minute',
    from: NOW - 3600,
    to: NOW,
  });
  const total = REGIONS.reduce((a, r) => a + (u[r]?.requests ?? 0), 0);
  let requests = 0;
  for (const id of SERVICES) {
    requests += sumPoints(await points(s, id, { by: 'minute', from: NOW - 3600, to: NOW })).requests ?? 0;
  }
  assert.equal(total, requests);
  const month = await get<{ services: Record<string, unknown> }>(s, '/stats/usage_by_month', {
    year: 2026,
    month: 12,
  });
  assert.deepEqual(month.services[SERVICE], { name: 'www' }, 'a month that has not begun has no usage');
});

test('baseline 5xx is low but not zero: a quiet hour stays under the example alert threshold', async (t) => {
  const s = await sim(t, { now: () => NOW * 1000 });
  for (const id of SERVICES) {
    const hours = await points(s, id, { by: 'hour', from: NOW - 7 * DAY, to: NOW });
    const fives = hours.map((p) => p.status_5xx);
    assert.ok(
      fives.every((v) => v < 50),
      `${id}: an hour of baseline 5xx is under 50: ${Math.max(...fives)}`,
    );
    assert.ok(fives.reduce((a, b) => a + b, 0) > 0, `${id}: some 5xx over a week`);
    const sum = sumPoints(hours);
    const rate = (sum.status_5xx ?? 0) / (sum.requests ?? 1);
    assert.ok(rate > 1e-5 && rate < 1e-4, `${id}: 5xx rate ${rate}`);
  }
});

test('deterministic: two simulators serve the same numbers; a scenario adds exactly its total', async (t) => {
  const a = await sim(t, { now: () => NOW * 1000 });
  const b = await sim(t, { now: () => NOW * 1000 });
  const q = { by: 'minute', from: NOW - 1800, to: NOW };
  assert.deepEqual(await points(a, SERVICE, q), await points(b, SERVICE, q));
  const base = sumPoints(await points(a, SERVICE, { by: 'hour', from: NOW - DAY, to: NOW }));
  // 24 minutes and 40 seconds (from 20:11:10) at 30 a minute: 740, however the buckets cut it.
  a.addScenario({
    serviceId: SERVICE,
    field: 'status_5xx',
    from: NOW - 7200 + 40,
    to: NOW - 5680,
    perMinute: 30,
  });
  for (const by of ['minute', 'hour'] as const) {
    const from = by === 'minute' ? NOW - 7200 - 60 : NOW - DAY;
    const with_ = sumPoints(await points(a, SERVICE, { by, from, to: NOW }));
    const without = sumPoints(await points(b, SERVICE, { by, from, to: NOW }));
    assert.equal((with_.status_5xx ?? 0) - (without.status_5xx ?? 0), 740, by);
  }
  assert.equal(
    base.status_5xx,
    sumPoints(await points(b, SERVICE, { by: 'hour', from: NOW - DAY, to: NOW })).status_5xx,
  );
});

test('CLI: --datacenter narrows the numbers, and a future usage window is empty', async (t) => {
  const s = await sim(t);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url, FASTLY_SERVICE_ID: SERVICE };
  const hist = async (...extra: string[]) => {
    const r = await cli.run(
      [
        'stats',
        'historical',
        '--from',
        '3 hours ago',
        '--to',
        '1 hour ago',
        '--by',
        'hour',
        '--json',
        ...extra,
      ],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    const data = (JSON.parse(r.stdout) as { data: Record<string, Point[]> }).data[SERVICE] ?? [];
    return data.reduce((a, p) => a + p.requests, 0);
  };
  const all = await hist();
  const some = await hist('--datacenter', 'LHR,AMS');
  assert.ok(some > 0 && some < all / 5, `${some} of ${all}`);
  const usage = await cli.run(
    ['stats', 'usage', '--from', '2030-01-01', '--to', '2030-01-02', '--json'],
    env,
  );
  assert.equal(usage.code, 0, usage.stderr);
  const data = (JSON.parse(usage.stdout) as { data: Record<string, { requests: number }> }).data;
  for (const [region, u] of Object.entries(data)) assert.equal(u.requests, 0, region);
});

test('simulator --scenario spec: [SERVICE:]FIELD=PER_MINUTE[@START][/DURATION] is read as written; anything else is one reason naming the part', () => {
  const at = 1_800_000_000;
  fc.assert(
    fc.property(
      fc.constantFrom(undefined, ...SERVICES),
      fc.constantFrom('status_5xx', 'status_4xx', 'requests', 'bandwidth'),
      fc.nat({ max: 1_000_000 }),
      fc.option(
        fc.tuple(
          fc.constantFrom('-', '+'),
          fc.integer({ min: 0, max: 999 }),
          fc.constantFrom('s', 'm', 'h', 'd'),
        ),
      ),
      fc.option(fc.tuple(fc.integer({ min: 1, max: 999 }), fc.constantFrom('s', 'm', 'h', 'd'))),
      (service, field, perMinute, start, duration) => {
        const unit = { s: 1, m: 60, h: 3600, d: 86400 };
        const spec = `${service ? `${service}:` : ''}${field}=${perMinute}${start ? `@${start[0]}${start[1]}${start[2]}` : ''}${duration ? `/${duration[0]}${duration[1]}` : ''}`;
        const from = start ? at + (start[0] === '-' ? -1 : 1) * start[1] * unit[start[2]] : at;
        const expected: StatsScenario = {
          ...(service ? { serviceId: service } : {}),
          field,
          from,
          to: duration ? from + duration[0] * unit[duration[1]] : Number.POSITIVE_INFINITY,
          perMinute,
        };
        assert.deepEqual(parseScenarioSpec(spec, at, SERVICES), expected, spec);
      },
    ),
  );
  assert.deepEqual(parseScenarioSpec('status_5xx=400@now', at, SERVICES), {
    field: 'status_5xx',
    from: at,
    to: Number.POSITIVE_INFINITY,
    perMinute: 400,
  });
  for (const [spec, reason] of [
    [
      'status_5xx',
      /^expected \[SERVICE:\]FIELD=PER_MINUTE\[@START\]\[\/DURATION\], e\.g\. status_5xx=400@-10m\/30m/,
    ],
    ['status_5xx=many', /^PER_MINUTE "many" is not a whole number/],
    ['status_5xx=-4', /^PER_MINUTE "-4" is not a whole number/],
    [
      'status_5xx=99999999999999999999999',
      /^PER_MINUTE "99999999999999999999999" is out of range; expected a whole number from 0 to 999999999$/,
    ],
    ['status_5xx=1000000000', /^PER_MINUTE "1000000000" is out of range/],
    [
      'hit_ratio=3',
      /^"hit_ratio" is a ratio \(hits \/ \(hits \+ miss\)\), not a count: a scenario adds events a minute; expected a count field such as status_5xx, .* \(not hit_ratio, \*_time, \*_time_ms or compute_ram_used\)$/,
    ],
    ['miss_time=3', /^"miss_time" is a time, not a count/],
    ['compute_execution_time_ms=3', /^"compute_execution_time_ms" is a time, not a count/],
    ['compute_ram_used=3', /^"compute_ram_used" is a memory size, not a count/],
    ['status_5xx=4@10m', /^START "10m" is not a time relative to now; expected -10m, \+2m, now/],
    ['status_5xx=4@-10 minutes', /^START "-10 minutes" is not a time relative to now/],
    ['status_5xx=4/0m', /^DURATION "0m" is not a duration/],
    ['status_5xx=4/forever', /^DURATION "forever" is not a duration/],
    ['status5xx=4', /^"status5xx" is not a stats field/],
    [
      'nosuchservice:status_5xx=4',
      /^unknown service "nosuchservice"; this simulator serves SU1Z0isxPaozGVKXdv0eY/,
    ],
  ] as const) {
    const r = parseScenarioSpec(spec, at, SERVICES);
    assert.equal(typeof r, 'string', spec);
    assert.match(r as string, reason, spec);
    assert.ok(!(r as string).includes('\n'), `${spec}: one line`);
  }
});
