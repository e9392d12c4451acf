import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import { writeHistoricalJson } from '../src/cli/json-stream.js';
import { historicalReport, renderReport } from '../src/cli/report/html.js';
import { renderChartSvg } from '../src/cli/report/svg.js';
import { InvalidInputError } from '../src/errors.js';
import { FastlyClient } from '../src/fastly/client.js';
import { historical, type PointsByService, type StatsPage, usageByMonth } from '../src/fastly/stats.js';
import type { StatsMeta, StatsPoint } from '../src/fastly/types.js';
import { aggregateValues } from '../src/tasks/stats/StatsTrigger.js';
import { cliHost } from './cli-host.js';
import { SERVICE, SERVICE2, sim } from './helpers.js';

// `kestra-fastly stats`: its formats, files, windows and resumes (found in a new user's trial, on a
// simulator with 200 ms latency and 50 services).

/** Every command of this file, in one process (cli-host.ts). */
const cli = cliHost();

const env = (url: string) => ({ FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: url });

test('the HTML report of the full 35-day minute window is written (no "Maximum call stack size exceeded")', async (t) => {
  // The CLI writes the report of a minute window fetched page by page. (The 35-day window itself
  // through the CLI, 50,400 points fetched and decoded, is README.md's backfill, run by
  // readme.test.ts; the report's code is given the same number of points below, without the
  // HTTP: 11 s of CPU here, where the size proves nothing more.)
  const s = await sim(t);
  const dir = await mkdtemp(join(tmpdir(), 'kf-trial-'));
  const file = join(dir, 'r.html');
  const r = await cli.run(
    [
      'stats',
      'historical',
      '-s',
      SERVICE,
      '--from',
      '2 days ago',
      '--by',
      'minute',
      '--format',
      'html',
      '-o',
      file,
    ],
    env(s.url),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(await readFile(file, 'utf8'), /<polyline class="series" data-series="requests"/);
  // The report of 35 days by minute, in pages of 200 points as the API sends them: every point in
  // its charts, the page written.
  const minutes = 35 * 1440;
  const start = Math.floor(Date.now() / 60_000) * 60 - minutes * 60;
  function* pages(): Generator<StatsPage<PointsByService>> {
    for (let i = 0; i < minutes; i += 200) {
      const points = Array.from({ length: Math.min(200, minutes - i) }, (_, j) => {
        const n = i + j;
        const requests = 1000 + (n % 500);
        return {
          start_time: start + n * 60,
          requests,
          hits: requests - 100,
          miss: 80,
          pass: 20,
          status_4xx: n % 7,
          status_5xx: n % 3,
          errors: 0,
          bandwidth: requests * 2048,
          hit_ratio: (requests - 100) / requests,
        };
      });
      const meta = {
        from: new Date((start + i * 60) * 1000).toISOString(),
        to: new Date((start + (i + points.length) * 60) * 1000).toISOString(),
        by: 'minute',
        region: 'all',
      };
      yield { meta, data: { [SERVICE]: points } };
    }
  }
  const report = await historicalReport(Readable.from(pages()), { by: 'minute' });
  const charts = report.sections[0]?.charts ?? [];
  assert.deepEqual(
    charts.map((c) => c.title),
    ['Requests', 'Errors', 'Bandwidth', 'Hit ratio'],
  );
  for (const c of charts)
    for (const series of c.kind === 'line' ? c.series : [])
      assert.equal(series.values.length, minutes, `${c.title}: ${series.name}`);
  assert.match(renderReport(report), /<polyline class="series" data-series="requests"/);
  // The charts and the trigger's MIN/MAX take any number of values, far past the argument limit.
  const n = 500_000;
  const times = Array.from({ length: n }, (_, i) => i * 60);
  const values = Array.from({ length: n }, (_, i) => i % 1000);
  const svg = renderChartSvg({
    kind: 'line',
    title: 'x',
    unit: 'count',
    series: [{ name: 'a', times, values }],
  });
  assert.match(svg, /<polyline/);
  assert.equal(aggregateValues(values, 'MAX'), 999);
  assert.equal(aggregateValues(values, 'MIN'), 0);
});

test('--services: an unknown id fails like -s does (exit 1, naming it) and prints no data; empty entries are refused', async (t) => {
  const s = await sim(t);
  for (const format of ['table', 'csv', 'json', 'ndjson']) {
    const r = await cli.run(
      [
        'stats',
        'historical',
        '--services',
        `nosuch1,${SERVICE}`,
        '--from',
        '3 hours ago',
        '--by',
        'hour',
        '--format',
        format,
      ],
      env(s.url),
    );
    assert.equal(r.code, 1, `${format}: ${r.stderr}`);
    assert.match(r.stderr, /^error: .*404.*nosuch1/, format);
    assert.equal(r.stdout, '', `${format}: nothing printed`);
  }
  // Known services only: no extra request (every asked-for id is in the first page).
  s.clearLog();
  const ok = await cli.run(
    [
      'stats',
      'historical',
      '--services',
      `${SERVICE},${SERVICE2}`,
      '--from',
      '3 hours ago',
      '--by',
      'hour',
      '--format',
      'csv',
    ],
    env(s.url),
  );
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(
    s.log.filter((e) => e.path.startsWith('/stats/service/')),
    [],
  );
  // The task's `services` property and the library: the same rules.
  const client = new FastlyClient({ token: 'tok', baseUrl: s.url });
  for (const services of [[], [''], [SERVICE, ''], ['', SERVICE]]) {
    await assert.rejects(historical(client, { services }), (e: unknown) => {
      assert.ok(e instanceof InvalidInputError, String(e));
      assert.match(e.message, /^services: /);
      return true;
    });
  }
  await assert.rejects(historical(client, { services: ['nosuch1', SERVICE] }), /nosuch1/);
  await assert.rejects(historical(client, { datacenter: ['LHR', '!!'] }), /datacenter: "LHR,!!" has "!!"/);
});

function point(service: string, start: number, extra: Record<string, unknown> = {}): StatsPoint {
  return {
    service_id: service,
    start_time: start,
    requests: start % 7,
    hit_ratio: 0.5,
    ...extra,
  };
}

test('--format json is streamed: byte for byte the document the whole-window path printed', async (t) => {
  // The writer against JSON.stringify of the merged pages: repeated buckets, a service without
  // points, an id that looks like an integer, strings with newlines and quotes, nested values.
  const meta = (from: string, to: string) => ({ from, to, by: 'minute', region: 'all' }) as StatsMeta;
  const pages: StatsPage<PointsByService>[] = [
    { meta: meta('a', 'b'), data: { svcB: [point('svcB', 60), point('svcB', 120)], '42': [] } },
    {
      meta: meta('b', 'c'),
      data: {
        svcA: [point('svcA', 120, { note: 'x\n"y"', nested: { a: [1, 2] } })],
        svcB: [point('svcB', 120), point('svcB', 180)],
        '42': [point('42', 60)],
      },
    },
    { meta: meta('c', 'd'), data: {} },
  ];
  const expected = (ps: StatsPage<PointsByService>[]) => {
    const data: PointsByService = {};
    let m: StatsMeta | undefined;
    for (const p of ps) {
      m = m ? { ...m, to: p.meta.to } : { ...p.meta };
      for (const [id, points] of Object.entries(p.data)) {
        const list = (data[id] ??= []);
        for (const q of points)
          if (!list.length || q.start_time > list[list.length - 1]!.start_time) list.push(q);
      }
    }
    return `${JSON.stringify({ status: 'success', meta: m ?? {}, data }, null, 2)}\n`;
  };
  const written = async (ps: StatsPage<PointsByService>[]) => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const n = await writeHistoricalJson(
      (async function* () {
        for (const p of ps) yield await Promise.resolve(p);
      })(),
      out,
    );
    return { text: Buffer.concat(chunks).toString('utf8'), n };
  };
  for (const ps of [pages, [], [pages[2]!], pages.slice(0, 1)]) {
    const w = await written(ps);
    assert.equal(w.text, expected(ps));
  }
  assert.equal((await written(pages)).n, 5);

  // The CLI against the library's whole-window merge, two services over three pages.
  const s = await sim(t);
  const to = Math.floor(Date.now() / 3_600_000) * 3600 - 3 * 3600;
  const from = to - 10 * 3600;
  const client = new FastlyClient({ token: 'tok', baseUrl: s.url });
  const whole = await historical(client, { services: [SERVICE, SERVICE2], from, to, by: 'minute' });
  const old = `${JSON.stringify({ status: whole.status, meta: whole.meta, data: whole.data }, null, 2)}\n`;
  const args = ['stats', 'historical', '--from', String(from), '--to', String(to), '--by', 'minute'];
  const r = await cli.run([...args, '--services', `${SERVICE},${SERVICE2}`, '--json'], env(s.url));
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout === old, 'the streamed document is the whole-window one');
  const dir = await mkdtemp(join(tmpdir(), 'kf-json-'));
  const file = join(dir, 'one.json');
  const one = await cli.run([...args, '-s', SERVICE, '--format', 'json', '-o', file], env(s.url));
  assert.equal(one.code, 0, one.stderr);
  const single = await historical(client, { serviceId: SERVICE, from, to, by: 'minute' });
  assert.ok(
    (await readFile(file, 'utf8')) ===
      `${JSON.stringify({ status: 'success', meta: single.meta, data: single.data }, null, 2)}\n`,
  );
  assert.ok((await stat(file)).size > 0);
});

test('month-to-date --billable-units: the table shows GB and units of 10,000 under headings saying so; a month not begun is refused', async (t) => {
  const s = await sim(t);
  const args = ['stats', 'month-to-date', '--year', '2026', '--month', '10', '--billable-units'];
  const csv = await cli.run([...args, '--format', 'csv'], env(s.url));
  const table = await cli.run(args, env(s.url));
  assert.equal(table.code, 0, table.stderr);
  const [head, first] = csv.stdout.split('\n');
  const cols = head!.split(',');
  const row = first!.split(',');
  const bandwidth = Number(row[cols.indexOf('bandwidth')]);
  const requests = Number(row[cols.indexOf('requests')]);
  const lines = table.stdout.split('\n');
  assert.match(lines[0]!, /bandwidth \(GB\)\s+requests \(×10,000\)/);
  assert.match(lines[1]!, new RegExp(`\\s${bandwidth.toFixed(2)}\\s+${requests.toFixed(2)}\\s`));
  assert.doesNotMatch(table.stdout, / B\s/, 'no bytes unit on GB figures');

  const client = new FastlyClient({ token: 'tok', baseUrl: s.url });
  s.clearLog();
  const now = new Date();
  await assert.rejects(
    usageByMonth(client, { year: now.getUTCFullYear() + 1, month: 1 }),
    /month: \d{4}-01 has not begun; expected this month/,
  );
  assert.deepEqual(s.log, [], 'no request for a month not begun');
  const current = await usageByMonth(client, {});
  assert.equal(current.status, 'success');
});

test('--concurrency help says the default (64) and that the latency and a 12 MB budget bound it', async () => {
  const r = await cli.run(['stats', 'historical', '--help']);
  assert.equal(r.code, 0);
  const help = r.stdout.replace(/\s+/g, ' ');
  assert.match(help, /--concurrency <n> most pages fetched at once \(default 64\).*12 MB/);
  assert.doesNotMatch(help, /default 12/);
});

test('a chart legend names every series, wrapping onto rows inside the frame, each in its own colour', () => {
  const names = Array.from({ length: 50 }, (_, i) => `svc${String(i).padStart(19, '0')}`);
  const svg = renderChartSvg({
    kind: 'bar',
    title: 'bandwidth',
    unit: 'bytes',
    categories: ['europe', 'usa'],
    series: names.map((name, i) => ({ name, values: [i, 2 * i] })),
  });
  const items = [
    ...svg.matchAll(
      /<g class="legend-item"><rect x="([\d.]+)" y="([\d.]+)"[^>]*fill="([^"]+)"\/><text[^>]*>([^<]+)</g,
    ),
  ];
  assert.deepEqual(
    items.map((m) => m[4]),
    names,
  );
  const width = Number(/viewBox="0 0 (\d+) (\d+)"/.exec(svg)![1]);
  const height = Number(/viewBox="0 0 (\d+) (\d+)"/.exec(svg)![2]);
  for (const m of items) assert.ok(Number(m[1]) + 34 + m[4]!.length * 7 <= width, `${m[4]} inside the frame`);
  assert.ok(new Set(items.map((m) => m[2])).size > 1, 'several rows');
  assert.ok(height > 280 + Number(items[items.length - 1]![2]) - 20, 'the chart grows by the rows');
  assert.equal(new Set(items.map((m) => m[3])).size, 50, 'no colour repeats');
});

test('an empty window says why on stderr: each bucket is reported once it is over; a finer --by is suggested', async (t) => {
  const s = await sim(t);
  // Today's day bucket, and this hour's hour bucket, are not over yet whatever the time of day.
  const today = Math.floor(Date.now() / 86_400_000) * 86400;
  const thisHour = Math.floor(Date.now() / 3_600_000) * 3600;
  const cases: [string[], RegExp][] = [
    [
      ['historical', '--all-services', '--from', String(today), '--to', String(today + 3600)],
      /each day \(UTC\).*; try --by hour$/,
    ],
    [
      ['aggregate', '--from', String(today), '--to', String(today + 3600)],
      /each day \(UTC\).*; try --by hour$/,
    ],
    [
      [
        'historical',
        '--all-services',
        '--by',
        'hour',
        '--from',
        String(thisHour),
        '--to',
        String(thisHour + 60),
      ],
      /each hour \(UTC\).*; try --by minute$/,
    ],
  ];
  const dir = await mkdtemp(join(tmpdir(), 'kf-empty-'));
  for (const [args, hint] of cases) {
    for (const format of ['table', 'csv', 'ndjson', 'json', 'html']) {
      const r = await cli.run(['stats', ...args, '--format', format], env(s.url));
      const label = `${args.join(' ')} --format ${format}`;
      assert.equal(r.code, 0, `${label}: ${r.stderr}`);
      assert.match(r.stderr, /^note: no data in this window: Fastly reports each /, label);
      assert.equal(r.stderr.split('\n').length, 2, `${label}: one line`);
      assert.match(r.stderr.trimEnd(), hint, label);
      if (format === 'html') {
        // Each section says so, with the same reason, rather than showing a blank.
        const reason = r.stderr.trimEnd().replace(/^note: no data in this window: /, '');
        const sections = [...r.stdout.matchAll(/<section><h2>[^<]*<\/h2>(.*?)<\/section>/gs)];
        assert.ok(sections.length >= 1, `${label}: a section per service\n${r.stdout}`);
        for (const [, body] of sections)
          assert.equal(body, `<p class="empty">No data in this window: ${reason}</p>`, label);
      }
    }
    // CSV to a file: no header (the columns are the points' fields, and there are none), the same
    // for historical and aggregate, and the count said as for any file.
    const file = join(dir, `${args[0]}.csv`);
    const r = await cli.run(['stats', ...args, '--format', 'csv', '-o', file], env(s.url));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(file, 'utf8'), '', `${args.join(' ')}: an empty file`);
    assert.match(r.stderr, /^Wrote 0 points to \S+\.csv\nnote: no data in this window: /);
  }
  const full = await cli.run(
    [
      'stats',
      'historical',
      '--all-services',
      '--by',
      'hour',
      '--from',
      String(thisHour - 3 * 3600),
      '--to',
      String(thisHour),
    ],
    env(s.url),
  );
  assert.equal(full.code, 0, full.stderr);
  assert.equal(full.stderr, '', 'no note when there is data');
});

test('--field takes a comma-separated list: CSV, table and JSON hold those fields only (was one field, or all 186 columns)', async (t) => {
  const s = await sim(t, { faults: { latencyMs: 100 } });
  const hour = Math.floor(Date.now() / 3_600_000) * 3600;
  const window = ['-s', SERVICE, '--by', 'hour', '--from', String(hour - 3 * 3600), '--to', String(hour)];
  const csv = await cli.run(
    ['stats', 'historical', ...window, '--field', 'status_5xx,requests,hits,requests', '--format', 'csv'],
    env(s.url),
  );
  assert.equal(csv.code, 0, csv.stderr);
  const lines = csv.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'service_id,start_time,time,hits,requests,status_5xx');
  assert.equal(lines.length, 4, csv.stdout);
  for (const line of lines.slice(1))
    assert.match(line, new RegExp(`^${SERVICE},\\d+,[\\dT:-]+Z,\\d+,\\d+,\\d+$`));
  const table = await cli.run(
    ['stats', 'historical', ...window, '--field', 'requests,hit_ratio'],
    env(s.url),
  );
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout.split('\n')[0] ?? '', /^time \(UTC\)\s+service\s+requests\s+hit_ratio$/);
  const json = await cli.run(
    ['stats', 'historical', ...window, '--field', 'requests,bandwidth', '--json'],
    env(s.url),
  );
  assert.equal(json.code, 0, json.stderr);
  const points = (JSON.parse(json.stdout) as { data: Record<string, StatsPoint[]> }).data[SERVICE] ?? [];
  assert.equal(points.length, 3);
  for (const p of points)
    assert.deepEqual(Object.keys(p).sort(), ['bandwidth', 'requests', 'service_id', 'start_time']);
  for (const [value, error] of [
    ['requests,,hits', /--field: "requests,,hits" has an empty entry; expected comma-separated stats fields/],
    ['requests,nosuch', /--field: "nosuch" is not a documented stats field/],
  ] as const) {
    const bad = await cli.run(['stats', 'historical', ...window, '--field', value], env(s.url));
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, error);
  }
});

test('stats aggregate takes --field a,b as historical does (was "unknown option \'--field\'", ~180 CSV columns)', async (t) => {
  const s = await sim(t);
  const hour = Math.floor(Date.now() / 3_600_000) * 3600;
  const window = ['--by', 'hour', '--from', String(hour - 3 * 3600), '--to', String(hour)];
  const csv = await cli.run(
    ['stats', 'aggregate', ...window, '--field', 'status_5xx,requests,requests', '--format', 'csv'],
    env(s.url),
  );
  assert.equal(csv.code, 0, csv.stderr);
  const lines = csv.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'start_time,time,requests,status_5xx');
  assert.equal(lines.length, 4, csv.stdout);
  for (const line of lines.slice(1)) assert.match(line, /^\d+,[\dT:-]+Z,\d+,\d+$/);
  const table = await cli.run(['stats', 'aggregate', ...window, '--field', 'requests,hit_ratio'], env(s.url));
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout.split('\n')[0] ?? '', /^time \(UTC\)\s+requests\s+hit_ratio$/);
  const json = await cli.run(['stats', 'aggregate', ...window, '--field', 'requests', '--json'], env(s.url));
  assert.equal(json.code, 0, json.stderr);
  const points = (JSON.parse(json.stdout) as { data: StatsPoint[] }).data;
  assert.equal(points.length, 3);
  for (const p of points) assert.deepEqual(Object.keys(p).sort(), ['requests', 'start_time']);
  const bad = await cli.run(['stats', 'aggregate', ...window, '--field', 'requests,nosuch'], env(s.url));
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--field: "nosuch" is not a documented stats field/);
  const help = await cli.run(['stats', 'aggregate', '--help'], {});
  assert.match(help.stdout, /--field <fields>\s+only these fields, comma-separated/);
});

test('a stats table fits the terminal: narrower cells, a shortened service id, then the last fields left out and named', async () => {
  const { formatPage, tableLayout } = await import('../src/cli/format.js');
  // The report: ~125 characters, wrapping in an 80-column terminal.
  const full = tableLayout(['requests', 'hits', 'miss', 'hit_ratio', 'bandwidth', 'status_5xx'], true);
  assert.equal(16 + 2 + full.service + full.cell.reduce((a, w) => a + w + 2, 0), 124);
  const t0 = Date.UTC(2026, 10, 1) / 1000;
  const point = (i: number, id: string): StatsPoint => ({
    service_id: id,
    start_time: t0 + i * 3600,
    requests: 1_234_567,
    hits: 1_100_000,
    miss: 134_567,
    hit_ratio: 0.8912,
    bandwidth: 123_456_789,
    status_5xx: 12,
  });
  const page = (ids: string[]): StatsPage<PointsByService> => ({
    meta: {} as StatsMeta,
    data: Object.fromEntries(ids.map((id) => [id, [0, 1, 2].map((i) => point(i, id))])),
  });
  for (const width of [60, 80, 100, 120, 200]) {
    for (const [ids, oneService] of [
      [[SERVICE, SERVICE2], false],
      [[SERVICE], true],
    ] as const) {
      const state = { width, oneService };
      const text = formatPage(page([...ids]), 'table', state).text;
      const lines = text.trimEnd().split('\n');
      for (const line of lines)
        assert.ok(line.length <= width, `${width}: ${line.length} > ${width}: ${line}`);
      const layout = tableLayout(
        ['requests', 'hits', 'miss', 'hit_ratio', 'bandwidth', 'status_5xx'],
        true,
        width,
        oneService,
      );
      // What is shown plus what is left out is every field, in order.
      assert.deepEqual(
        [...layout.fields, ...layout.dropped],
        ['requests', 'hits', 'miss', 'hit_ratio', 'bandwidth', 'status_5xx'],
      );
      if (width === 80 && oneService)
        assert.deepEqual(layout.dropped, [], 'one service at 80 columns: every field');
      if (width === 80 && !oneService) assert.ok(lines[1]?.includes('SU1Z0isxP…'), lines[1]);
      if (width >= 124) assert.equal(layout.cell[0], 12, 'room enough: as wide as ever');
    }
  }
  // No width (a pipe, a file): exactly as before, whatever the points.
  assert.deepEqual(tableLayout(['requests'], true), {
    fields: ['requests'],
    cell: [12],
    service: 22,
    dropped: [],
  });
});

test('a terminal chart labels its value axis with the precision the range needs (hit_ratio 80.9–81.1%: not "81%" on every tick)', async () => {
  const { renderChart } = await import('../src/cli/chart.js');
  const labelsOf = (chart: string) =>
    chart
      .split('\n')
      .map((line) => /^\s*(\S.*?)\s*[┤┼]/.exec(line)?.[1])
      .filter((l): l is string => l !== undefined);
  const t0 = Date.UTC(2026, 10, 1) / 1000;
  const series = (values: number[]) => [{ name: SERVICE, times: values.map((_, i) => t0 + i * 60), values }];
  const ratio = renderChart(series([0.809, 0.8095, 0.81, 0.8105, 0.811]), {
    field: 'hit_ratio',
    width: 40,
    color: false,
  });
  const labels = labelsOf(ratio);
  assert.equal(labels.length, 13, ratio);
  assert.equal(new Set(labels).size, labels.length, `every tick its own label: ${labels.join(' | ')}`);
  for (const l of labels) assert.match(l, /^(80\.9\d|81\.[01]\d)%$/);
  // Any range, any unit: neighbouring ticks never share a label.
  fc.assert(
    fc.property(
      fc.constantFrom('hit_ratio', 'requests', 'bandwidth', 'origin_fetch_resp_body_bytes'),
      fc.double({ min: 0, max: 1e12, noNaN: true }),
      fc.double({ min: 1e-4, max: 1, noNaN: true }),
      (field, base, relative) => {
        const lo = field === 'hit_ratio' ? base / 1e12 : base;
        const hi = lo + Math.max(lo * relative, field === 'hit_ratio' ? 1e-4 : 1);
        const chart = renderChart(series([lo, hi]), { field, width: 20, color: false, height: 6 });
        const ls = labelsOf(chart);
        assert.equal(new Set(ls).size, ls.length, `${field} ${lo}..${hi}: ${ls.join(' | ')}`);
      },
    ),
    { numRuns: 300 },
  );
});

test('a backfill whose page fails every attempt keeps the pages before it in FILE.partial; --resume fetches only the rest', async (t) => {
  // The report: one page failing five times (every attempt) lost the whole 35-day run. Page 4 of the
  // 8 of a day fails here, both of its attempts (2, to keep the backoff short); pages before and
  // after it are what the behaviour needs, not the 35 days (a 3-day window, 22 pages, was 2-3 s of
  // CPU more).
  const s = await sim(t);
  const dir = await mkdtemp(join(tmpdir(), 'kf-resume-'));
  const to = Math.floor(Date.now() / 3_600_000) * 3600 - 3600;
  const window = ['-s', SERVICE, '--by', 'minute', '--from', String(to - 86400), '--to', String(to)];
  const retries = ['--concurrency', '1', '--max-attempts', '2'];
  for (const format of ['csv', 'ndjson'] as const) {
    s.setFaults({ latencyMs: 20, paths: ['/stats'], burst: { fault: '5xx', count: 2, after: 3 } });
    const file = join(dir, `backfill.${format}`);
    const failed = await cli.run(
      ['stats', 'historical', ...window, ...retries, '--format', format, '-o', file],
      env(s.url),
    );
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(
      failed.stderr,
      new RegExp(
        `; \\S+backfill\\.${format} was not created; what was fetched before the failure is kept in \\S+backfill\\.${format}\\.partial: run the same command with --resume to fetch only the rest`,
      ),
    );
    await assert.rejects(stat(file), 'the file itself is not written');
    const kept = (await readFile(`${file}.partial`, 'utf8')).trimEnd().split('\n');
    assert.equal(kept.length, 3 * 200 + (format === 'csv' ? 1 : 0), 'the 3 pages before the failure, whole');
    s.clearLog();
    // A resume asking anything else would append other data: refused before any request, naming
    // the option, its value now and in the partial file.
    const other = format === 'csv' ? 'ndjson' : 'csv';
    const mismatches: [string[], RegExp][] = [
      [['--by', 'hour'], /--by is "hour" now but "minute" in \S+\.partial/],
      [['-s', SERVICE2], new RegExp(`--service-id is "${SERVICE2}" now but "${SERVICE}" in `)],
      [['--from', String(to - 2 * 86400)], /--from is "\d+" now but "\d+" in /],
      [['--field', 'requests,hits'], /--field is "requests,hits" now but "\(every field\)" in /],
      [['--format', other], new RegExp(`--format is "${other}" now but "${format}" in `)],
    ];
    for (const [change, message] of mismatches) {
      const args = [...window, ...retries, '--format', format, '-o', file, '--resume'];
      // The same command with one option's value changed (or added).
      const at = args.indexOf(change[0] as string);
      if (at >= 0) args[at + 1] = change[1] as string;
      else args.push(...change);
      const refused = await cli.run(['stats', 'historical', ...args], env(s.url));
      assert.equal(refused.code, 2, `${change.join(' ')}: ${refused.stderr}`);
      assert.match(refused.stderr, new RegExp(`^error: --resume: ${message.source}`));
      assert.match(refused.stderr, /resume with the same options, or delete \S+\.partial to start over\n$/);
    }
    // Without --resume, the partial file (the progress) is not replaced.
    const over = await cli.run(
      ['stats', 'historical', ...window, ...retries, '--format', format, '-o', file],
      env(s.url),
    );
    assert.equal(over.code, 2, over.stderr);
    assert.match(
      over.stderr,
      /^error: --output: \S+\.partial holds what a failed run fetched \(\d+ bytes\): pass --resume to continue from it, or delete it to start over\n$/,
    );
    assert.equal(s.log.filter((e) => e.path.startsWith('/stats')).length, 0, 'no request by a refused run');
    assert.equal((await readFile(`${file}.partial`, 'utf8')).trimEnd().split('\n').length, kept.length);
    const resumed = await cli.run(
      ['stats', 'historical', ...window, ...retries, '--format', format, '-o', file, '--resume'],
      env(s.url),
    );
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(
      resumed.stderr,
      /^Resuming from \S+Z: 600 points kept in \S+\.partial\nWrote 1440 points to /,
    );
    assert.equal(s.log.filter((e) => e.path.startsWith('/stats')).length, 5, 'only the 5 pages not kept');
    await assert.rejects(stat(`${file}.partial`), 'the partial file is gone once complete');
    await assert.rejects(stat(`${file}.partial.json`), 'its record too');
    // Byte for byte what a run that never failed writes.
    s.setFaults({});
    const clean = join(dir, `clean.${format}`);
    const whole = await cli.run(
      ['stats', 'historical', ...window, '--format', format, '-o', clean],
      env(s.url),
    );
    assert.equal(whole.code, 0, whole.stderr);
    assert.equal(await readFile(file, 'utf8'), await readFile(clean, 'utf8'));
  }
  const bad = await cli.run(['stats', 'historical', ...window, '--resume'], env(s.url));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: --resume: resumes a file: give -o FILE with --format csv or ndjson/);
});
