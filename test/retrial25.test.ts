import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { formatPage, writeRows } from '../src/cli/format.js';
import { colorOf } from '../src/cli/report/palette.js';
import { renderChartSvg } from '../src/cli/report/svg.js';
import { human, percent } from '../src/cli/units.js';
import { InvalidInputError } from '../src/errors.js';
import { parseTime, resolveWindow } from '../src/fastly/time.js';
import { parseFlow } from '../src/flow/load.js';
import { createLogger } from '../src/logger.js';
import { Masker } from '../src/masker.js';
import { FlowRegistry } from '../src/runtime/flows.js';
import { startServer } from '../src/server/index.js';
import { SERVICE, sim } from './helpers.js';
import { cliHost } from './cli-host.js';

/** The CLI runs of this file, in one process (cli-host.ts). */
const cli = cliHost();

// What a tester found new when trying the fixes of issue 25 again (without reading the code).

const NOW = Date.UTC(2026, 11, 7, 8, 50, 17) / 1000;
const at = (s: string | number, now = NOW) => new Date(parseTime(s, now, 'from') * 1000).toISOString();
const refused = (s: string | number, now = NOW): string => {
  try {
    parseTime(s, now, 'from');
  } catch (err) {
    assert.ok(err instanceof InvalidInputError, String(err));
    return err.message;
  }
  assert.fail(`${s} was accepted`);
};

test('8 digits are an ISO-8601 basic date (YYYYMMDD), not Unix seconds in 1970; 10 digits stay seconds', () => {
  // Was: --from 20260201 gave rows from 1970-08-23 (20260201 s after the epoch), exit 0.
  assert.equal(at('20260201'), '2026-02-01T00:00:00.000Z');
  assert.equal(at(20260201), '2026-02-01T00:00:00.000Z', 'a YAML number too');
  assert.equal(at('20260201T1000Z'), '2026-02-01T10:00:00.000Z');
  assert.equal(at('20260201T103015'), '2026-02-01T10:30:15.000Z');
  assert.equal(
    resolveWindow({ from: '20260201', to: '20260301', by: 'day' }, NOW).from,
    Date.UTC(2026, 1, 1) / 1000,
  );
  assert.equal(at('1769904000'), '2026-02-01T00:00:00.000Z', 'Unix seconds as Fastly takes them');
  assert.equal(at(1769904000), '2026-02-01T00:00:00.000Z');
  assert.equal(
    refused('20261301'),
    'from: "20261301" is not a date (month 13 does not exist); 8 digits are read as ISO-8601 YYYYMMDD, year, month, day (Unix seconds have 10 digits)',
  );
  assert.match(refused('20260230'), /is not a date \(2026-02 has no day 30\)/);
  assert.match(refused('12345678'), /is not a date \(month 56 does not exist\)/);
  assert.match(refused(20261301), /"20261301" is not a date/);
  assert.match(refused('20260201T2500'), /is not a date \(no time 25:00\)/);
});

test('7 digits or fewer are refused: a year or a truncated date, not a time in 1970', () => {
  // Was: --from 2026 (or 202602, or the typo 2026020) gave rows from 1970, exit 0.
  for (const v of ['2026', '202602', '2026020', '0', 2026, 202602])
    assert.match(
      refused(v),
      /is neither a date nor a Unix time Fastly has stats for \(\d digits: 1970\); expected Unix seconds \(10 digits\)/,
      String(v),
    );
  assert.equal(at('123456789'), '1973-11-29T21:33:09.000Z', '9 digits stay seconds');
});

test('stats historical --from 20260201 --by day: rows from 2026-02-01 (was 1970-08-23)', async (t) => {
  const s = await sim(t);
  const r = await cli.run(
    [
      'stats',
      'historical',
      '-s',
      SERVICE,
      '--from',
      '20260201',
      '--to',
      '20260204',
      '--by',
      'day',
      '--field',
      'requests',
      '--format',
      'csv',
    ],
    { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url },
  );
  assert.equal(r.code, 0, r.stderr);
  const times = r.stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',')[2]);
  assert.deepEqual(times, ['2026-02-01T00:00:00Z', '2026-02-02T00:00:00Z', '2026-02-03T00:00:00Z']);
  const help = await cli.run(['stats', 'historical', '--help']);
  assert.match(help.stdout.replace(/\s+/g, ' '), /20260201: 8 digits are a date/);
});

test('small time messages: a refused numeric date keeps its time; instants are written without milliseconds', () => {
  // Was: `(2026-02-01 or 2026-01-02)`, the 10:00 dropped.
  assert.match(refused('01/02/2026 10:00'), /\(2026-02-01 10:00 or 2026-01-02 10:00\)/);
  assert.match(refused('2/1/26T09:30'), /\(2026-01-02T09:30 or 2026-02-01T09:30\)/);
  assert.equal(
    parseTime('2026-02-01 10:00', NOW, 'from'),
    Date.UTC(2026, 1, 1, 10) / 1000,
    'the suggestion is read',
  );
  // Was: `2026-11-01T08:15:13.000Z is older than 35 days`.
  assert.throws(() => resolveWindow({ from: '40 days ago', by: 'minute' }, NOW), {
    message:
      'from: 2026-10-28T08:50:17Z is older than 35 days; Fastly keeps minute data 35 days (use by: hour or day)',
  });
  assert.throws(() => resolveWindow({ from: 'now', to: '1 hour ago' }, NOW), {
    message: 'from: 2026-12-07T08:50:17Z is not before to (2026-12-07T07:50:17Z); expected from < to',
  });
});

test('validate: `by: weekly` is one error, on by (was a second one blaming from)', () => {
  const flow = [
    'id: v',
    'namespace: company.ops',
    'tasks:',
    '  - id: log',
    '    type: io.kestra.plugin.core.log.Log',
    '    message: hi',
    '  - id: stats',
    '    type: io.kestra.plugin.fastly.stats.Stats',
    '    apiToken: tok',
    `    serviceId: ${SERVICE}`,
    '    from: 24 hours ago',
    '    by: weekly',
    '',
  ].join('\n');
  assert.throws(
    () => parseFlow(flow, 'v.yml'),
    (err: Error) => {
      assert.equal(err.message, 'v.yml:12:9: tasks[1].by: got "weekly"; expected one of minute, hour, day');
      return true;
    },
  );
  // A window that is wrong as a whole is still named on from.
  assert.throws(
    () => parseFlow(flow.replace('by: weekly', 'to: 2 days ago'), 'v.yml'),
    /tasks\[1\]\.from: .* is not before to/,
  );
});

/** What a Writable receives, as text. */
function sink(): { out: Writable; text: () => string } {
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { out, text: () => chunks.join('') };
}

test('percentages have one home: one decimal on every row of a table, as stats aggregate shows them (was 81% next to 85.9%)', async () => {
  assert.equal(percent(0.81), '81.0%');
  assert.equal(human(0.8100189, 'ratio'), '81.0%');
  assert.equal(human(0.859, 'ratio'), '85.9%');
  assert.equal(human(0.05234, 'ratio'), '5.2%');
  const page = {
    meta: { from: '', to: '', by: 'hour', region: 'all' },
    data: {
      [SERVICE]: [
        { start_time: 1796619600, hit_ratio: 0.8100189, requests: 1 },
        { start_time: 1796623200, hit_ratio: 0.859, requests: 2 },
      ],
    },
  };
  const table = formatPage(page, 'table', {}, ['requests', 'hit_ratio']).text;
  assert.deepEqual(
    table
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/).pop()),
    ['81.0%', '85.9%'],
  );
  const { out, text } = sink();
  await writeRows(
    [
      { time: 'x', hit_ratio: 0.81 },
      { time: 'y', hit_ratio: 0.859 },
    ],
    'table',
    out,
  );
  assert.match(text(), /81\.0%\ny +85\.9%\n$/);
  // The HTML report's value axis labels as the terminal chart's: the decimals the step needs.
  const svg = renderChartSvg({
    kind: 'line',
    title: 'hit_ratio',
    unit: 'ratio',
    series: [{ name: SERVICE, times: [0, 60, 120], values: [0.809, 0.81, 0.811] }],
  });
  const labels = [...svg.matchAll(/class="ylabel"[^>]*>([^<]*)</g)].map((m) => m[1]);
  assert.deepEqual(labels, ['0%', '20%', '40%', '60%', '80%', '100%']);
});

test("tables end no line in spaces (stats regions' header had trailing spaces)", async () => {
  const { out, text } = sink();
  await writeRows([{ region: 'usa' }, { region: 'europe' }, { region: 'asia_india' }], 'table', out);
  assert.equal(text(), 'region\nusa\neurope\nasia_india\n');
  const mixed = sink();
  await writeRows(
    [
      { name: 'a', note: 'long text here' },
      { name: 'bbbbbb', note: '' },
    ],
    'table',
    mixed.out,
  );
  for (const line of mixed.text().split('\n')) assert.doesNotMatch(line, / $/, JSON.stringify(line));
  const page = {
    meta: { from: '', to: '', by: 'hour', region: 'all' },
    data: { [SERVICE]: [{ start_time: 1796619600, requests: 1 }] },
  };
  for (const line of formatPage(page, 'table', {}, ['requests', 'status_5xx']).text.split('\n'))
    assert.doesNotMatch(line, / $/, JSON.stringify(line));
});

/** sRGB to CIELAB (D65), written here apart from the report's own, to judge it. */
function lab(css: string): [number, number, number] {
  let rgb: number[];
  const hsl = /^hsl\(([\d.]+),([\d.]+)%,([\d.]+)%\)$/.exec(css);
  if (hsl) {
    const [h, s, l] = [Number(hsl[1]), Number(hsl[2]) / 100, Number(hsl[3]) / 100];
    const a = s * Math.min(l, 1 - l);
    rgb = [0, 8, 4].map((n) => {
      const k = (n + h / 30) % 12;
      return l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    });
  } else {
    assert.match(css, /^#[0-9a-f]{6}$/);
    rgb = [1, 3, 5].map((i) => parseInt(css.slice(i, i + 2), 16) / 255);
  }
  const [r, g, b] = rgb.map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)) as [
    number,
    number,
    number,
  ];
  const f = (t: number) => (t > (6 / 29) ** 3 ? Math.cbrt(t) : t / (3 * (6 / 29) ** 2) + 4 / 29);
  const x = f((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047);
  const y = f(0.2126 * r + 0.7152 * g + 0.0722 * b);
  const z = f((0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883);
  return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
}

test('report colours stay distinct past 8 services: 20 services at least 25 ΔE apart (was 10: svc 13 next to svc 01)', () => {
  const colours = Array.from({ length: 20 }, (_, i) => colorOf(i));
  const labs = colours.map(lab);
  let closest = { d: Infinity, pair: '' };
  for (let i = 0; i < labs.length; i++)
    for (let j = 0; j < i; j++) {
      const [a, b] = [labs[i] as number[], labs[j] as number[]];
      const d = Math.hypot(
        (a[0] as number) - (b[0] as number),
        (a[1] as number) - (b[1] as number),
        (a[2] as number) - (b[2] as number),
      );
      if (d < closest.d) closest = { d, pair: `svc ${j + 1} ${colours[j]} / svc ${i + 1} ${colours[i]}` };
    }
  assert.ok(closest.d >= 25, `closest pair ${closest.pair}: ΔE ${closest.d.toFixed(1)}`);
  // Readable as a line on the white page: neither too light nor black.
  for (const [i, l] of labs.entries())
    assert.ok(l[0] >= 29 && l[0] <= 72, `svc ${i + 1} ${colours[i]}: L* ${l[0]}`);
  assert.equal(colorOf(0), '#1f77b4');
  // However many: each its own colour, the same one on every call.
  const many = Array.from({ length: 500 }, (_, i) => colorOf(i));
  assert.equal(new Set(many).size, 500);
  assert.deepEqual(many.slice(0, 20), colours);
});

test("NDJSON keeps one key order, the full record's, whatever --field lists", async (t) => {
  const s = await sim(t);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url };
  const keys = async (...field: string[]) => {
    const r = await cli.run(
      [
        'stats',
        'historical',
        '-s',
        SERVICE,
        '--by',
        'hour',
        '--from',
        '3 hours ago',
        '--format',
        'ndjson',
        ...field,
      ],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    return Object.keys(JSON.parse(r.stdout.split('\n')[0] as string) as object);
  };
  const full = await keys();
  const inFullOrder = (fields: string[]) => full.filter((k) => fields.includes(k));
  const base = ['service_id', 'start_time'];
  // Was: start_time, service_id, then the fields in the order --field named them.
  assert.deepEqual(
    await keys('--field', 'requests,hit_ratio'),
    inFullOrder([...base, 'requests', 'hit_ratio']),
  );
  assert.deepEqual(
    await keys('--field', 'hit_ratio,requests'),
    inFullOrder([...base, 'requests', 'hit_ratio']),
  );
  assert.deepEqual(await keys('--field', 'hit_ratio'), inFullOrder([...base, 'hit_ratio']));
});

const SCHED = `id: sched\nnamespace: company.ops\ntriggers:\n  - id: morning\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "0 6 * * *"\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`;

test('server: a flow file copied while it runs (same namespace.id) is refused as at start-up: one ERROR naming both, listed once', async (t) => {
  // Was: `INFO added …sched_copy.yml` then `ERROR … is also defined in …`, and flows/search and
  // triggers/search listed the flow twice.
  const dir = await mkdtemp(join(tmpdir(), 'kf-dup-'));
  await mkdir(join(dir, 'flows'));
  const original = join(dir, 'flows', 'sched.yml');
  const copy = join(dir, 'flows', 'sched_copy.yml');
  await writeFile(original, SCHED);
  const s = await sim(t);
  const lines: string[] = [];
  const masker = new Masker();
  const server = await startServer({
    paths: [join(dir, 'flows')],
    stateDir: join(dir, 'state'),
    logger: createLogger({ write: (l) => lines.push(l), masker }),
    write: () => {},
    masker,
    env: { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url },
    listen: { host: '127.0.0.1', port: 0 },
  });
  t.after(() => server.stop(5000));
  const url = server.http.url;
  const total = async (path: string) =>
    ((await (await fetch(`${url}/api/v1/main/${path}`)).json()) as { total: number }).total;
  assert.equal(await total('flows/search'), 1);

  await copyFile(original, copy);
  for (let i = 0; i < 3; i++) server.flows.load();
  const errors = lines.filter((l) => /ERROR/.test(l));
  assert.deepEqual(
    errors.map((l) => l.replace(/^.*ERROR +/, '')),
    [
      `${copy}: flow company.ops.sched is also defined in ${original}, which keeps running; not loaded (expected one file per namespace and id)`,
    ],
  );
  assert.doesNotMatch(lines.join('\n'), /added .*sched_copy/);
  assert.equal(await total('flows/search'), 1);
  assert.equal(await total('triggers/search'), 1);
  assert.deepEqual(
    server.flows.all().map((f) => f.file),
    [original],
    'the first keeps running',
  );
});

test('flow registry: a duplicate is tried again once the file it repeated is gone; an edit into a duplicate keeps the previous version', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-dup-reg-'));
  const flow = (id: string) => SCHED.replace('id: sched', `id: ${id}`);
  const save = async (name: string, text: string, version: number) => {
    await writeFile(join(dir, name), text);
    await utimes(join(dir, name), 1_700_000_000 + version, 1_700_000_000 + version);
  };
  await save('a.yml', flow('a'), 1);
  await save('b.yml', flow('b'), 1);
  const lines: string[] = [];
  const flows = new FlowRegistry([dir], createLogger({ write: (l) => lines.push(l) }), () => 0);
  flows.load(true);
  const ids = () =>
    flows
      .all()
      .map((f) => `${f.id}@${f.file.slice(dir.length + 1)}`)
      .sort();

  await save('c.yml', flow('a'), 2);
  flows.load();
  flows.load();
  assert.deepEqual(ids(), ['a@a.yml', 'b@b.yml']);
  assert.equal(lines.filter((l) => /ERROR/.test(l)).length, 1, lines.join('\n'));

  // b.yml edited into a second `a`: refused, b's previous version kept.
  await save('b.yml', flow('a'), 3);
  flows.load();
  flows.load();
  assert.deepEqual(ids(), ['a@a.yml', 'b@b.yml']);
  assert.match(
    lines.at(-1) ?? '',
    new RegExp(
      `ERROR +${join(dir, 'b.yml')} changed: flow company\\.ops\\.a is also defined in ${join(dir, 'a.yml')}; keeping the previous version`,
    ),
  );
  assert.equal(lines.filter((l) => /ERROR/.test(l)).length, 2, lines.join('\n'));

  // a.yml removed: the flow's first remaining file takes it (b.yml's edit, then c.yml stays refused).
  await rm(join(dir, 'a.yml'));
  flows.load();
  assert.deepEqual(ids(), ['a@b.yml']);
  assert.match(lines.join('\n'), new RegExp(`INFO +reloaded ${join(dir, 'b.yml')}`));
  assert.equal(lines.filter((l) => /ERROR/.test(l)).length, 3, lines.join('\n'));
  assert.match(
    lines.at(-1) ?? '',
    new RegExp(
      `ERROR +${join(dir, 'c.yml')}: flow company\\.ops\\.a is also defined in ${join(dir, 'b.yml')}`,
    ),
  );
  // Start-up refuses the same duplicate at once (exit 2 in the CLI).
  assert.throws(
    () => new FlowRegistry([dir], createLogger({ write: () => {} })).load(true),
    (err: Error) =>
      err instanceof InvalidInputError &&
      /c\.yml: flow company\.ops\.a is also defined in .*b\.yml/.test(err.message),
  );
});
