import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { formatPage, writeRows } from '../src/cli/format.js';
import { renderChartSvg } from '../src/cli/report/svg.js';
import { human, percent } from '../src/cli/units.js';
import { InvalidInputError } from '../src/errors.js';
import { parseTime, resolveWindow } from '../src/fastly/time.js';
import { parseFlow } from '../src/flow/load.js';
import { runCli, SERVICE, sim } from './helpers.js';

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

test('stats historical --from 20260201 --by day: rows from 2026-02-01 (was 1970-08-23)', async (t) => {
  const s = await sim(t);
  const r = await runCli(
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
  const help = await runCli(['stats', 'historical', '--help']);
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
