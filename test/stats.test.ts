import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { InvalidInputError } from '../src/errors.js';
import { FastlyClient } from '../src/fastly/client.js';
import { aggregate, historical, usage, usageByMonth } from '../src/fastly/stats.js';
import { parseTime, resolveWindow, splitWindow } from '../src/fastly/time.js';
import { AggregateStats, FASTLY_TASKS, MonthToDateUsage, Stats, Usage } from '../src/tasks/index.js';
import { parseFlow } from '../src/flow/load.js';
import { silentLogger } from '../src/logger.js';
import { runTask, type TaskDefinition } from '../src/tasks/task.js';
import { cliHost } from './cli-host.js';
import { SERVICE, SERVICE2, sim } from './helpers.js';

/** The CLI runs of this file, in one process (cli-host.ts). */
const cli = cliHost();

const NOW = Date.UTC(2026, 10, 21, 22, 10, 30) / 1000;
const HOUR_AGO = Math.floor(Date.now() / 3_600_000) * 3600 - 3600;

test('time expressions resolve in UTC; dates without time mean 00:00', () => {
  const at = (s: string) => new Date(parseTime(s, NOW, 'from') * 1000).toISOString();
  assert.equal(at('now'), '2026-11-21T22:10:30.000Z');
  assert.equal(at('24 hours ago'), '2026-11-20T22:10:30.000Z');
  assert.equal(at('two weeks ago'), '2026-11-07T22:10:30.000Z');
  assert.equal(at('10 days ago'), '2026-11-11T22:10:30.000Z');
  assert.equal(at('yesterday'), '2026-11-20T00:00:00.000Z');
  assert.equal(at('2026-11-01'), '2026-11-01T00:00:00.000Z');
  assert.equal(at('2026-11-01T08:30:00Z'), '2026-11-01T08:30:00.000Z');
  assert.equal(at('1494793777'), '2017-05-14T20:29:37.000Z');
  for (const bad of ['garbage', '5m', 'soon-ish', '1700000000000', '']) {
    assert.throws(() => parseTime(bad, NOW, 'from'), InvalidInputError, bad);
  }
});

test('weekdays: `<weekday>` is the most recent one, `last <weekday>` the one before today, both at 00:00', () => {
  const at = (s: string, now = NOW) => new Date(parseTime(s, now, 'from') * 1000).toISOString();
  // NOW is Saturday 2026-11-21 22:10:30.
  assert.equal(at('last monday'), '2026-11-16T00:00:00.000Z');
  assert.equal(at('last friday'), '2026-11-20T00:00:00.000Z');
  assert.equal(at('saturday'), '2026-11-21T00:00:00.000Z');
  assert.equal(at('last saturday'), '2026-11-14T00:00:00.000Z');
  assert.equal(at('monday'), '2026-11-16T00:00:00.000Z');
  assert.equal(at('last monday 10:00'), '2026-11-16T10:00:00.000Z');
  assert.equal(at('next monday'), '2026-11-23T00:00:00.000Z');
  // On a Sunday, `--from monday` is six days back, not tomorrow.
  const sunday = Date.UTC(2026, 10, 22, 13, 0, 0) / 1000;
  assert.equal(at('monday', sunday), '2026-11-16T00:00:00.000Z');
  assert.ok(resolveWindow({ from: 'monday' }, sunday).from < sunday);
  const names = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
  fc.assert(
    fc.property(
      fc.integer({ min: Date.UTC(2000, 0, 1) / 1000, max: Date.UTC(2100, 0, 1) / 1000 }),
      fc.integer({ min: 0, max: 6 }),
      fc.boolean(),
      (now, day, last) => {
        const name = names[day] as string;
        const t = parseTime(last ? `last ${name}` : name, now, 'from');
        const startOfToday = Math.floor(now / 86400) * 86400;
        assert.equal(t % 86400, 0, 'at 00:00 UTC');
        assert.equal(new Date(t * 1000).getUTCDay(), day, 'that weekday');
        assert.ok(t <= now, 'not in the future');
        if (last) {
          assert.ok(t < startOfToday, 'before today');
          assert.ok(startOfToday - t <= 7 * 86400, 'within 7 days before today');
        } else assert.ok(now - t < 7 * 86400, 'within 7 days');
      },
    ),
    { numRuns: 300 },
  );
});

test('calendar units are spans, as Chronic reads them: `from` takes the start, `to` the end (UTC)', () => {
  // NOW is Saturday 2026-11-21 22:10:30. Was: "last month" = one month ago (2026-10-21T22:10:30).
  const at = (s: string, edge: 'start' | 'end' = 'start') =>
    new Date(parseTime(s, NOW, 'from', edge) * 1000).toISOString();
  assert.equal(at('last month'), '2026-10-01T00:00:00.000Z');
  assert.equal(at('last month', 'end'), '2026-11-01T00:00:00.000Z');
  assert.equal(at('this month'), '2026-11-01T00:00:00.000Z');
  assert.equal(at('Last Year'), '2025-01-01T00:00:00.000Z');
  assert.equal(at('last year', 'end'), '2026-01-01T00:00:00.000Z');
  // Weeks run Sunday to Saturday, as Chronic counts them.
  assert.equal(at('this week'), '2026-11-15T00:00:00.000Z');
  assert.equal(at('last week'), '2026-11-08T00:00:00.000Z');
  assert.equal(at('last week', 'end'), '2026-11-15T00:00:00.000Z');
  // from and to both "last month": exactly October.
  const w = resolveWindow({ from: 'last month', to: 'last month', by: 'day' }, NOW);
  assert.deepEqual(
    [w.from, w.to].map((t) => new Date(t * 1000).toISOString()),
    ['2026-10-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z'],
  );
  // With a time: the same calendar span, at that time. Was: `last month 10:00` one month ago
  // (2026-10-21T10:00) while `last month` and `this month 10:00` were the calendar.
  assert.equal(at('last month 10:00'), '2026-10-01T10:00:00.000Z');
  assert.equal(at('this month 10:00'), '2026-11-01T10:00:00.000Z');
  assert.equal(at('last week 10:00'), '2026-11-08T10:00:00.000Z');
  assert.equal(at('last week at 9:30pm'), '2026-11-08T21:30:00.000Z');
  assert.equal(at('last year 12am'), '2025-01-01T00:00:00.000Z');
  assert.equal(at('last month 10:00', 'end'), '2026-11-01T10:00:00.000Z');
  assert.throws(() => parseTime('last month 25:00', NOW, 'from'), {
    name: 'InvalidInputError',
    message:
      'from: "last month 25:00" has no such time of day; expected e.g. "last month 10:00" or "this week 9am"',
  });
  // January: last month is December of the year before.
  const january = Date.UTC(2027, 0, 15) / 1000;
  assert.equal(parseTime('last month', january, 'from'), Date.UTC(2026, 11, 1) / 1000);
});

test('numeric dates read differently by country are refused, naming the readings in ISO-8601', () => {
  // Was: 01/02/2026 silently read as 2 January (US order), a format the README never offered.
  const refused = (s: string) => {
    try {
      parseTime(s, NOW, 'from');
    } catch (err) {
      assert.ok(err instanceof InvalidInputError);
      return err.message;
    }
    assert.fail(`${s} was accepted`);
  };
  assert.equal(
    refused('01/02/2026'),
    'from: "01/02/2026" is a numeric date, read day/month or month/day depending on the country; expected ISO-8601 YYYY-MM-DD (2026-02-01 or 2026-01-02), Unix seconds or e.g. "24 hours ago"',
  );
  assert.match(refused('13.02.2026'), /\(2026-02-13\)/);
  assert.match(refused('1/2'), /\(YYYY-02-01 or YYYY-01-02\)/);
  assert.match(refused('2/1/26 10:00'), /\(2026-01-02 10:00 or 2026-02-01 10:00\)/);
  // Not dates of that kind: kept.
  assert.equal(parseTime('1.5 hours ago', NOW, 'from'), NOW - 5400);
  assert.equal(parseTime('2026-01-02', NOW, 'from'), Date.UTC(2026, 0, 2) / 1000);
});

test('year-first dates whose month or day does not exist are refused, not swapped or rolled over', () => {
  // Was: 2026-25-11 read as 2026-11-25 and 2026-13-01 as 13 January (chrono-node's leniency).
  const refused = (s: string) => {
    try {
      parseTime(s, NOW, 'from');
    } catch (err) {
      assert.ok(err instanceof InvalidInputError);
      return err.message;
    }
    assert.fail(`${s} was accepted`);
  };
  assert.equal(
    refused('2026-13-01'),
    'from: "2026-13-01" is not a date (month 13 does not exist); expected ISO-8601 YYYY-MM-DD, month before day',
  );
  assert.match(refused('2026-25-11'), /month 25 does not exist/);
  assert.match(refused('2026-00-10'), /month 00 does not exist/);
  assert.match(refused('2026-02-30'), /2026-02 has no day 30/);
  assert.match(refused('2026-11-31T10:00:00Z'), /2026-11 has no day 31/);
  assert.match(refused('2026-13-01 10:00'), /month 13/);
  // validate refuses it in a flow the same way, naming the property.
  const flow = [
    'id: f',
    'namespace: n',
    'tasks:',
    '  - id: s',
    '    type: io.kestra.plugin.fastly.stats.Stats',
    '    apiToken: tok',
    '    serviceId: SU1Z',
    '    from: "2026-13-01"',
    '',
  ].join('\n');
  assert.throws(
    () => parseFlow(flow, 'f.yml'),
    /from: "2026-13-01" is not a date \(month 13 does not exist\)/,
  );
  // Every date that exists is read as itself.
  fc.assert(
    fc.property(
      fc.integer({ min: Date.UTC(2000, 0, 1) / 86400000, max: Date.UTC(2099, 0, 1) / 86400000 }),
      (day) => {
        const iso = new Date(day * 86400000).toISOString().slice(0, 10);
        assert.equal(parseTime(iso, NOW, 'from'), day * 86400);
      },
    ),
    { numRuns: 300 },
  );
});

test('--by minute from "35 days ago" starts at the first whole minute 15 s inside the retention, not ~2 minutes late', () => {
  // Was: a 60 s margin rounded up to the minute, 60-119 s after the edge.
  fc.assert(
    fc.property(fc.integer({ min: Date.UTC(2020, 0, 1) / 1000, max: Date.UTC(2040, 0, 1) / 1000 }), (now) => {
      const edge = now - 35 * 86400;
      const w = resolveWindow({ from: '35 days ago', by: 'minute' }, now);
      assert.equal(w.from % 60, 0);
      assert.ok(w.from - edge >= 15, `inside the retention when it lands: ${w.from - edge} s`);
      assert.ok(w.from - edge < 75, `${w.from - edge} s late`);
    }),
    { numRuns: 500 },
  );
});

test('windows: API defaults, from < to, the 35-day minute rule, and pages of at most 200 buckets', () => {
  assert.equal(resolveWindow({ by: 'hour' }, NOW).from, Math.floor((NOW - 86400) / 3600) * 3600);
  assert.equal(resolveWindow({ by: 'minute' }, NOW).from, Math.floor((NOW - 1800) / 60) * 60);
  assert.equal(resolveWindow({}, NOW).by, 'day');
  assert.throws(() => resolveWindow({ from: 'now', to: 'yesterday' }, NOW), /from: .* is not before to/);
  assert.throws(() => resolveWindow({ by: 'minute', from: '36 days ago' }, NOW), /older than 35 days/);
  assert.throws(() => resolveWindow({ by: 'second' }, NOW), /expected minute, hour or day/);
  const pages = splitWindow({ from: 0, to: 3 * 86400, by: 'minute' }, 200);
  assert.equal(pages.length, 22);
  for (let i = 1; i < pages.length; i++)
    assert.equal(pages[i]?.from, pages[i - 1]?.to, 'contiguous, no overlap');
});

test('CLI: a 1-day minute window gives exactly 1,440 distinct, contiguous points per service in ≥8 requests', async (t) => {
  const s = await sim(t);
  const to = HOUR_AGO;
  const r = await cli.run(
    [
      'stats',
      'historical',
      '--all-services',
      '--by',
      'minute',
      '--from',
      String(to - 86400),
      '--to',
      String(to),
      '--json',
    ],
    {
      FASTLY_API_TOKEN: 'tok',
      FASTLY_API_ENDPOINT: s.url,
    },
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { status: string; data: Record<string, { start_time: number }[]> };
  assert.equal(out.status, 'success');
  assert.deepEqual(Object.keys(out.data).sort(), [...s.state.services.keys()].sort());
  // Each service's start times are the window's 1,440 minutes, in order: every one, none twice.
  const minutes = Array.from({ length: 1440 }, (_, i) => to - 86400 + i * 60);
  for (const points of Object.values(out.data))
    assert.deepEqual(
      points.map((p) => p.start_time),
      minutes,
    );
  const calls = s.log.filter((e) => e.path === '/stats');
  assert.ok(calls.length >= 8, `${calls.length} requests`);
  assert.ok(calls.every((e) => (e.points ?? 0) <= 200));
});

test('one service: the array endpoint, paginated and merged, data keyed by service; meta covers the window', async (t) => {
  const s = await sim(t);
  const client = new FastlyClient({ token: 't', baseUrl: s.url });
  const to = HOUR_AGO;
  const res = await historical(client, { serviceId: SERVICE, by: 'hour', from: to - 30 * 86400, to });
  assert.deepEqual(Object.keys(res.data), [SERVICE]);
  assert.equal(res.data[SERVICE]?.length, 720);
  assert.equal(s.log.filter((e) => e.path === `/stats/service/${SERVICE}`).length, 4);
  // Formatted as every recorded real response writes it: "2024-03-12 15:47:53 UTC".
  assert.equal(
    res.meta.from,
    `${new Date((to - 30 * 86400) * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`,
  );
  const p = res.data[SERVICE]?.[0] as unknown as Record<string, number>;
  const { hits = 0, miss = 0, pass = 0, requests = -1, hit_ratio = -1 } = p;
  assert.ok(hits + miss + pass === requests && hit_ratio >= 0 && hit_ratio <= 1, 'plausible point');
});

test('field endpoints keep only that field; region and services filters apply', async (t) => {
  const s = await sim(t);
  const client = new FastlyClient({ token: 't', baseUrl: s.url });
  const one = await historical(client, {
    serviceId: SERVICE,
    field: 'status_5xx',
    by: 'minute',
    from: '2 hours ago',
  });
  const point = one.data[SERVICE]?.[0];
  assert.deepEqual(Object.keys(point ?? {}).sort(), ['service_id', 'start_time', 'status_5xx']);
  const many = await historical(client, {
    field: 'requests',
    services: [SERVICE2],
    by: 'hour',
    from: '1 day ago',
  });
  assert.deepEqual(Object.keys(many.data), [SERVICE2]);
  const eu = await historical(client, {
    serviceId: SERVICE,
    by: 'hour',
    from: '1 day ago',
    region: 'europe',
  });
  const all = await historical(client, { serviceId: SERVICE, by: 'hour', from: '1 day ago' });
  assert.ok((eu.data[SERVICE]?.[0]?.requests ?? 0) < (all.data[SERVICE]?.[0]?.requests ?? 0));
  await assert.rejects(
    historical(client, { region: 'atlantis' }),
    /region: "atlantis" is not a Fastly region/,
  );
  assert.equal(s.log.filter((e) => e.path === '/stats/regions').length, 1, 'regions fetched once and cached');
});

test('a scripted 5xx spike shows up in the chosen window only', async (t) => {
  const s = await sim(t);
  const to = HOUR_AGO;
  s.addScenario({ serviceId: SERVICE, field: 'status_5xx', from: to - 600, to: to - 300, perMinute: 1000 });
  const client = new FastlyClient({ token: 't', baseUrl: s.url });
  const res = await historical(client, {
    serviceId: SERVICE,
    field: 'status_5xx',
    by: 'minute',
    from: to - 1200,
    to,
  });
  const values = (res.data[SERVICE] ?? []).map((p) => Number(p.status_5xx));
  assert.equal(values.length, 20);
  assert.ok(values.slice(10, 15).every((v) => v >= 1000));
  assert.ok(values.slice(0, 10).every((v) => v < 1000) && values.slice(15).every((v) => v < 1000));
});

test('task outputs match the Java plugin shapes: {status, meta, data}', async (t) => {
  const s = await sim(t);
  const ctx = { logger: silentLogger, env: {} };
  const conn = { apiToken: 't', baseUrl: s.url };
  const run = async (task: { type: string }, props: object) =>
    (await runTask(FASTLY_TASKS[task.type] as TaskDefinition, { ...conn, ...props }, ctx)) as Record<
      string,
      unknown
    >;
  const stats = await run(Stats, { serviceId: SERVICE, from: '24 hours ago', to: 'now', by: 'hour' });
  assert.deepEqual(Object.keys(stats), ['status', 'meta', 'data']);
  assert.equal(stats.status, 'success');
  assert.deepEqual(Object.keys(stats.meta as object).sort(), ['by', 'from', 'region', 'to']);
  assert.ok(
    Array.isArray((stats.data as Record<string, unknown>)[SERVICE]),
    'data is a map keyed by service id',
  );
  const everyService = await run(Stats, { by: 'day', from: '3 days ago' });
  assert.equal(Object.keys(everyService.data as object).length, 3);
  const agg = await run(AggregateStats, { by: 'day', from: '3 days ago' });
  assert.ok(Array.isArray(agg.data));
  const use = await run(Usage, { from: '7 days ago' });
  assert.deepEqual(Object.keys((use.data as Record<string, object>).usa ?? {}), [
    'bandwidth',
    'requests',
    'compute_requests',
  ]);
  const byService = await run(Usage, { from: '7 days ago', byService: true, region: 'europe' });
  assert.deepEqual(Object.keys(byService.data as object), ['europe']);
  assert.ok((byService.data as Record<string, Record<string, unknown>>).europe?.[SERVICE]);
  const mtd = await run(MonthToDateUsage, {});
  assert.deepEqual(Object.keys(mtd.data as object).sort(), ['customer_id', 'services', 'total']);
  const q = s.log.at(-1)?.path;
  assert.equal(q, '/stats/usage_by_month');
});

test('month-to-date takes year, month and billable units; aggregate and usage wrap the right endpoints', async (t) => {
  const s = await sim(t);
  const client = new FastlyClient({ token: 't', baseUrl: s.url });
  const raw = await usageByMonth(client, { year: 2026, month: 10 });
  const billable = await usageByMonth(client, { year: 2026, month: 10, billableUnits: true });
  const gb = billable.data.total.usa?.bandwidth ?? 0;
  assert.ok(Math.abs(gb - (raw.data.total.usa?.bandwidth ?? 0) / 1e9) < 0.01);
  await assert.rejects(usageByMonth(client, { month: 13 }), /month: 13 is not a month/);
  const agg = await aggregate(client, { by: 'hour', from: '30 days ago' });
  assert.equal(
    agg.data.length,
    s.log.filter((e) => e.path === '/stats/aggregate').reduce((n, e) => n + (e.points ?? 0), 0),
  );
  const u = await usage(client, { from: '2 days ago', byService: true });
  assert.ok(u.data.usa);
});

test('CLI streams CSV and NDJSON to a file, and refuses bad flags with exit 2 and no request', async (t) => {
  const s = await sim(t);
  const dir = await mkdtemp(join(tmpdir(), 'kf-stats-'));
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url };
  const to = HOUR_AGO;
  const csv = await cli.run(
    [
      'stats',
      'historical',
      '-s',
      SERVICE,
      '--by',
      'minute',
      '--from',
      String(to - 86400),
      '--to',
      String(to),
      '--format',
      'csv',
      '-o',
      join(dir, 'a.csv'),
    ],
    env,
  );
  assert.equal(csv.code, 0, csv.stderr);
  const lines = (await readFile(join(dir, 'a.csv'), 'utf8')).trim().split('\n');
  assert.equal(lines.length, 1441);
  assert.match(lines[0] ?? '', /^service_id,start_time,time,/);
  // The readable time is start_time in UTC ISO-8601, row by row.
  for (const line of [lines[1], lines.at(-1)]) {
    const [, start, time] = (line ?? '').split(',');
    assert.equal(time, new Date(Number(start) * 1000).toISOString().replace('.000Z', 'Z'), line);
  }
  const nd = await cli.run(
    ['stats', 'historical', '-s', SERVICE, '--field', 'requests', '--by', 'hour', '--format', 'ndjson'],
    env,
  );
  assert.equal(nd.code, 0, nd.stderr);
  assert.deepEqual(Object.keys(JSON.parse(nd.stdout.split('\n')[0] ?? '{}') as object).sort(), [
    'requests',
    'service_id',
    'start_time',
  ]);
  s.clearLog();
  for (const args of [
    ['--by', 'second'],
    ['--from', 'whenever'],
    ['--from', 'now', '--to', 'yesterday'],
    ['--by', 'minute', '--from', '40 days ago'],
    ['--format', 'xml'],
  ]) {
    const r = await cli.run(['stats', 'historical', ...args], env);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
  assert.equal(s.log.length, 0, 'no request for invalid input');
});

test('a Stats window kept whole is the same JSON as the pages, in a fraction of the heap (fast-shaped points)', async (t) => {
  const s = await sim(t);
  const client = new FastlyClient({ token: 'tok', baseUrl: s.url });
  // A fixed window of whole minutes: with 'now', a minute ending between the two fetches changed it.
  const end = Math.floor(Date.now() / 60_000) * 60 - 60;
  const q = { from: String(end - 6 * 3600), to: String(end), by: 'minute' as const };
  const kept = await historical(client, q);
  // What the pages decode to, merged without rebuilding a point.
  const { historicalRawPages, parseHistoricalPage } = await import('../src/fastly/stats.js');
  const plain: Record<string, unknown[]> = {};
  for await (const raw of historicalRawPages(client, q))
    for (const [id, points] of Object.entries(parseHistoricalPage(raw).data))
      (plain[id] ??= []).push(
        ...points.filter((p) => !plain[id]?.some((x) => (x as typeof p).start_time === p.start_time)),
      );
  assert.equal(JSON.stringify(kept.data), JSON.stringify(plain));
  const first = Object.values(kept.data)[0]?.[0] ?? {};
  assert.ok(Object.keys(first).length > 128, 'points wide enough to matter');
  assert.equal(Object.getPrototypeOf(first), Object.prototype, 'plain objects (masking walks them)');

  // Heap per point, measured in a child with --expose-gc: a hash-table point is ~12 KB, a fast one ~2 KB.
  const script = `
    const { FastlyClient } = await import(${JSON.stringify(new URL('../src/fastly/client.js', import.meta.url).href)});
    const { historical } = await import(${JSON.stringify(new URL('../src/fastly/stats.js', import.meta.url).href)});
    const c = new FastlyClient({ token: 'tok', baseUrl: ${JSON.stringify(s.url)} });
    global.gc(); const before = process.memoryUsage().heapUsed;
    const r = await historical(c, { from: '1 day ago', by: 'minute' });
    global.gc(); const after = process.memoryUsage().heapUsed;
    const n = Object.values(r.data).reduce((a, p) => a + p.length, 0);
    console.log(JSON.stringify({ n, perPoint: (after - before) / n }));`;
  // Asynchronously: the simulator answers from this process.
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { stdout } = await promisify(execFile)(process.execPath, [
    '--expose-gc',
    '--input-type=module',
    '-e',
    script,
  ]);
  const out = JSON.parse(stdout) as { n: number; perPoint: number };
  assert.ok(out.n > 4000, `${out.n} points`);
  assert.ok(out.perPoint < 5000, `${Math.round(out.perPoint)} bytes of heap per point kept`);
});
