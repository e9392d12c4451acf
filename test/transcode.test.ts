import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatPage, isoTime, type PointsFormatState, writePoints } from '../src/cli/format.js';
import { transcodePage, writeRawPoints } from '../src/cli/transcode.js';
import { FastlyClient } from '../src/fastly/client.js';
import {
  historicalPages,
  historicalRawPages,
  parseHistoricalPage,
  type RawStatsPage,
} from '../src/fastly/stats.js';
import { SERVICE, SERVICE2, sim } from './helpers.js';

/** The plain path: JSON.parse, then formatPage; as the bytes a stream writes (UTF-8), decoded again. */
function plain(pages: RawStatsPage[], format: 'csv' | 'ndjson'): string {
  const state: PointsFormatState = {};
  const text = pages.map((p) => formatPage(parseHistoricalPage(p), format, state).text).join('');
  return Buffer.from(text, 'utf8').toString('utf8');
}

function transcoded(pages: RawStatsPage[], format: 'csv' | 'ndjson'): { text: string; scanned: number } {
  const state: PointsFormatState = {};
  let scanned = 0;
  const text = pages
    .map((p) => {
      const r = transcodePage(p, format, state);
      if (r.scanned) scanned++;
      return Buffer.concat(r.parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part)));
    })
    .map((b) => b.toString('utf8'))
    .join('');
  return { text, scanned };
}

const FIELDS = [
  'requests',
  'hits',
  'miss',
  'hit_ratio',
  'bandwidth',
  'status_5xx',
  'start_time',
  'service_id',
];
// Keys a parsed object or CSV treats specially: array indexes, inherited names, CSV metacharacters.
// `time` is also the readable column's name: a point's own `time` field replaces it.
const ODD_KEYS = ['0', '7', '4294967295', 'constructor', 'toString', '__proto__', 'a,b', 'é', '', 'time'];
const key = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...FIELDS) },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_KEYS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);
const number = fc.oneof(
  fc.integer(),
  fc.integer({ min: 0, max: 2 ** 40 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1e21, 1e-7, 0.1, 123456789012345, Number('1234567890123456789')),
);
/** A number as some other JSON encoder might write it (exponents, trailing zeros, -0). */
const numberText = fc.oneof(
  number.map((n) => JSON.stringify(n)),
  fc.constantFrom('-0', '1.50', '1E3', '1e+2', '0.0', '-0.0e-0', '10000000000000000000000', '2.5e-10'),
);
const stringValue = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom('a,b', 'say "hi"', 'line\nbreak', 'cr\r', '\u2028', 'ü', '\ud83d\ude00', '\ud800'),
);
const valueText = fc.oneof(
  { weight: 6, arbitrary: numberText },
  { weight: 2, arbitrary: stringValue.map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null', '"\\u0041\\/"', '[1,2]', '{"x":1}') },
);
const ws = fc.constantFrom('', '', '', ' ', '\n  ', '\t');
/** start_time as written: mostly real epoch seconds, then Date's limits, fractions, exponents, non-numbers. */
const startTimeText = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 4_102_444_800 }).map(String) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '0',
      '-0',
      '-1',
      '1.5',
      '-0.5',
      '1793491199.999',
      '1.7934912e9',
      '1E3',
      '86400',
      '253402300800',
      '8640000000000',
      '8640000000001',
      '-8640000000000',
      '-8640000000001',
      '123456789012345',
      '1234567890123456789',
      '1e21',
      '1e400',
      '"1793491200"',
      'null',
      'true',
    ),
  },
  { weight: 1, arbitrary: valueText },
);

/** A point's JSON text: usually the same key order as its neighbours, sometimes not. */
function pointText(keys: string[], values: string[], space: string): string {
  return `{${space}${keys.map((k, i) => `${JSON.stringify(k)}${space}:${space}${values[i]}`).join(`,${space}`)}${space}}`;
}

const points = fc
  .record({
    keys: fc.uniqueArray(key, { minLength: 0, maxLength: 9 }),
    count: fc.integer({ min: 0, max: 5 }),
    shuffle: fc.boolean(),
    dropLast: fc.boolean(),
    space: ws,
    seed: fc.array(valueText, { minLength: 60, maxLength: 60 }),
    times: fc.array(startTimeText, { minLength: 6, maxLength: 6 }),
  })
  .map(({ keys, count, shuffle, dropLast, space, seed, times }) =>
    Array.from({ length: count }, (_, i) => {
      let ks = shuffle && i % 2 ? [...keys].reverse() : keys;
      if (dropLast && i === count - 1) ks = ks.slice(0, -1);
      const values = ks.map((k, j) =>
        k === 'start_time' ? (times[i] as string) : (seed[(i * 9 + j) % seed.length] as string),
      );
      return pointText(ks, values, i === 1 ? space : '');
    }),
  );

const page = fc
  .record({
    byService: fc.boolean(),
    services: fc.uniqueArray(fc.constantFrom('svcA', 'svcB', '12', 'x"y'), { minLength: 1, maxLength: 3 }),
    lists: fc.array(points, { minLength: 3, maxLength: 3 }),
    order: fc.constantFrom('status-first', 'data-first'),
    space: ws,
  })
  .map(({ byService, services, lists, order, space }): RawStatsPage => {
    const list = (i: number) => `[${space}${(lists[i] as string[]).join(`,${space}`)}${space}]`;
    const data = byService
      ? list(0)
      : `{${services.map((s, i) => `${JSON.stringify(s)}:${space}${list(i)}`).join(',')}}`;
    const meta = '"meta":{"to":"Thu May 16 20:08:35 UTC 2013","by":"minute","nested":[1,{"a":null}]}';
    const parts =
      order === 'status-first'
        ? [`"status":"success"`, meta, `"msg":null`, `"data":${data}`]
        : [`"data":${data}`, `"msg":null`, meta, `"status":"success"`];
    return {
      body: Buffer.from(`${space}{${parts.join(`,${space}`)}}${space}`),
      serviceId: byService ? 'svcS' : undefined,
    };
  });

test('transcoded CSV and NDJSON are byte-identical to JSON.parse + formatPage (property)', () => {
  fc.assert(
    fc.property(
      fc.array(page, { minLength: 1, maxLength: 3 }),
      fc.constantFrom('csv', 'ndjson'),
      (pages, format) => {
        const fmt = format;
        assert.equal(transcoded(pages, fmt).text, plain(pages, fmt));
      },
    ),
    { numRuns: 1000 },
  );
});

test('CSV has a readable UTC time after start_time; empty when start_time is no number Date can hold', () => {
  const body = (points: string) => Buffer.from(`{"status":"success","data":[${points}]}`);
  const page: RawStatsPage = {
    body: body(
      [
        '{"start_time":1793491200,"requests":5}',
        '{"start_time":1793491259.9,"requests":6}',
        '{"start_time":-1,"requests":7}',
        '{"requests":8}',
        '{"start_time":"1793491200","requests":9}',
        '{"start_time":null,"requests":10}',
        '{"start_time":1e21,"requests":11}',
        '{"start_time":0,"requests":12,"service_id":"own"}',
      ].join(','),
    ),
    serviceId: 'S',
  };
  const expected = [
    'service_id,start_time,time,requests',
    'S,1793491200,2026-11-01T00:00:00Z,5',
    'S,1793491259.9,2026-11-01T00:00:59Z,6',
    'S,-1,1969-12-31T23:59:59Z,7',
    'S,,,8',
    'S,1793491200,,9',
    'S,,,10',
    'S,1e+21,,11',
    'own,0,1970-01-01T00:00:00Z,12',
    '',
  ].join('\n');
  assert.equal(plain([page], 'csv'), expected);
  assert.deepEqual(transcoded([page], 'csv'), { text: expected, scanned: 1 });
  // Account-wide points (aggregate) have no service column; the time still follows start_time.
  const agg = formatPage(parseHistoricalPage(page), 'csv', {}, undefined, false).text;
  assert.equal(
    agg.split('\n').slice(0, 2).join('\n'),
    'start_time,time,requests\n1793491200,2026-11-01T00:00:00Z,5',
  );
});

test("a point's own time field wins: it is an ordinary column and no readable one is added", () => {
  const page: RawStatsPage = {
    body: Buffer.from(
      '{"status":"success","data":[{"start_time":1793491200,"time":"local 01:00","zz":1},{"start_time":60,"zz":2}]}',
    ),
    serviceId: 'S',
  };
  const expected = 'service_id,start_time,time,zz\nS,1793491200,local 01:00,1\nS,60,,2\n';
  assert.equal(plain([page], 'csv'), expected);
  assert.deepEqual(transcoded([page], 'csv'), { text: expected, scanned: 1 });
  const sorted = {
    body: Buffer.from('{"status":"success","data":[{"a":1,"time":2,"start_time":3}]}'),
    serviceId: 'S',
  };
  assert.equal(transcoded([sorted], 'csv').text, 'service_id,start_time,a,time\nS,3,1,2\n');
  // The columns are the first point's: a later point's `time` field is dropped like any other new key.
  const later: RawStatsPage = {
    body: Buffer.from('{"status":"success","data":[{"start_time":0},{"start_time":60,"time":"x"}]}'),
    serviceId: 'S',
  };
  const laterCsv = 'service_id,start_time,time\nS,0,1970-01-01T00:00:00Z\nS,60,1970-01-01T00:01:00Z\n';
  assert.equal(plain([later], 'csv'), laterCsv);
  assert.equal(transcoded([later], 'csv').text, laterCsv);
});

test("isoTime is Date's UTC ISO-8601 without milliseconds, and '' outside Date's range", () => {
  fc.assert(
    fc.property(fc.integer({ min: -8.64e12, max: 8.64e12 }), fc.double({ min: 0, max: 0.999 }), (t, frac) => {
      const date = new Date(t * 1000).toISOString().replace(/\.000Z$/, 'Z');
      assert.equal(isoTime(t), date);
      assert.equal(isoTime(t + frac), Math.abs(t + frac) <= 8.64e12 ? date : '');
    }),
    { numRuns: 2000 },
  );
  assert.equal(isoTime(8.64e12), '+275760-09-13T00:00:00Z');
  for (const v of [8.64e12 + 1, -8.64e12 - 1, NaN, Infinity, -Infinity, '0', null, undefined, true])
    assert.equal(isoTime(v), '', String(v));
});

test('invalid, duplicate-key or unexpected pages come out (or fail) exactly as on the parsed path', () => {
  const bad: RawStatsPage[] = [
    { body: Buffer.from('{"status":"success","data":[{"a":1}]} trailing'), serviceId: 'S' },
    { body: Buffer.from('{"status":"error","msg":"nope","data":null}'), serviceId: 'S' },
    { body: Buffer.from('{"status":"success","meta":{}}'), serviceId: 'S' },
    { body: Buffer.from('{"status":"success","data":{"S":[]}}'), serviceId: 'S' },
    { body: Buffer.from('{"status":"success","data":[{"a":01}]}'), serviceId: 'S' },
    { body: Buffer.from('{"status":"success","data":{"S":{"a":1}}}'), serviceId: undefined },
    { body: Buffer.from('{"status":"success","data":[{"a":1,"b":2,"a":3}]}'), serviceId: 'S' },
    { body: Buffer.from('{"status":"success","data":[{"a":1},{"a":2,"a":3}]}'), serviceId: 'S' },
    { body: Buffer.from('{"status":"success","status":"success","data":[]}'), serviceId: 'S' },
    { body: Buffer.from('<html>502</html>'), serviceId: 'S' },
    // Invalid UTF-8 inside a string and a key: decoded to U+FFFD, as the parsed path does.
    {
      body: Buffer.concat([
        Buffer.from('{"status":"success","data":[{"a":"x'),
        Buffer.from([0xff, 0xc3]),
        Buffer.from('y,z","b'),
        Buffer.from([0xfe]),
        Buffer.from('":1},{"a":"\\u00e9","b":2,"c":"ü"}]}'),
      ]),
      serviceId: 'S',
    },
  ];
  for (const p of bad) {
    for (const format of ['csv', 'ndjson'] as const) {
      const expected = (() => {
        try {
          return plain([p], format);
        } catch (err) {
          return `${(err as Error).name}: ${(err as Error).message}`;
        }
      })();
      const actual = (() => {
        try {
          return transcoded([p], format).text;
        } catch (err) {
          return `${(err as Error).name}: ${(err as Error).message}`;
        }
      })();
      assert.equal(actual, expected, p.body.toString());
    }
  }
});

async function collect(run: (out: PassThrough) => Promise<number>): Promise<{ text: string; rows: number }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const rows = await run(out);
  out.end();
  return { text: Buffer.concat(chunks).toString('utf8'), rows };
}

test('simulator pages over gzip: scanned without JSON.parse, same bytes as the parsed path', async (t) => {
  const s = await sim(t);
  const client = new FastlyClient({ token: 't', baseUrl: s.url });
  // A whole minute: each window is fetched twice, and its last bucket must not complete in between.
  const now = Math.floor(Date.now() / 60_000) * 60;
  for (const q of [
    { serviceId: SERVICE, by: 'minute', from: now - 3 * 3600, to: now },
    { by: 'minute', from: now - 2 * 3600, to: now, services: [SERVICE, SERVICE2] },
    { serviceId: SERVICE, field: 'status_5xx', by: 'minute', from: now - 3600, to: now },
  ]) {
    for (const format of ['csv', 'ndjson'] as const) {
      const parsed = await collect((out) => writePoints(historicalPages(client, q), format, out));
      const raw: RawStatsPage[] = [];
      for await (const p of historicalRawPages(client, q)) raw.push(p);
      assert.equal(transcoded(raw, format).scanned, raw.length, 'every page took the scanning path');
      const streamed = await collect((out) => writeRawPoints(historicalRawPages(client, q), format, out));
      assert.equal(streamed.text, parsed.text);
      assert.equal(streamed.rows, parsed.rows);
      assert.ok(parsed.rows > 0);
    }
  }
  const stats = s.log.filter((e) => e.path.startsWith('/stats/service') || e.path === '/stats');
  assert.ok(stats.length > 0 && stats.every((e) => e.gzip === true), 'every stats page came gzipped');
});
