/**
 * The simulator's answers, field by field, against response bodies recorded from the real API
 * (transcribed in test/fixtures/go-fastly-recorded.ts, each naming its source cassette).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { STATS_FIELDS } from '../src/fastly/fields.js';
import { DEMO_SERVICES } from '../src/simulator/index.js';
import { RECORDED, type Recorded } from './fixtures/go-fastly-recorded.js';
import { CLI, sim } from './helpers.js';

const META_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/;
const PURGE_ID = /^\d+-\d+-\d+$/;
/** Objects keyed by data (service ids, regions) rather than by field names. */
const MAPS = new Set(['/stats/usage:data', '/stats/usage_by_service:data', '/stats/field/bandwidth:data']);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function send(base: string, r: Pick<Recorded, 'method' | 'target' | 'headers'>, extra = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${r.target}`,
      { method: r.method, headers: { 'fastly-key': 'recorded', ...r.headers, ...extra } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Recorded shapes must be matched: same JSON types, every recorded field present, meta formats. */
function compare(recorded: unknown, actual: unknown, path: string, endpoint: string): void {
  if (recorded === null) return assert.equal(actual, null, `${path} is null`);
  if (Array.isArray(recorded)) {
    assert.ok(Array.isArray(actual), `${path} is an array`);
    const [first] = recorded as unknown[];
    if (first !== undefined) {
      assert.ok(actual.length > 0, `${path} has elements`);
      for (const [i, a] of actual.entries()) compare(first, a, `${path}[${i}]`, endpoint);
    }
    return;
  }
  if (typeof recorded === 'object') {
    assert.ok(
      typeof actual === 'object' && actual !== null && !Array.isArray(actual),
      `${path} is an object`,
    );
    const rec = recorded as Record<string, unknown>;
    const act = actual as Record<string, unknown>;
    if (MAPS.has(`${endpoint}:${path}`)) {
      // Keys are regions or service ids, which change over time: compare each value's shape.
      const [sample] = Object.values(rec);
      if (sample !== undefined)
        for (const [k, v] of Object.entries(act)) compare(sample, v, `${path}.${k}`, endpoint);
      return;
    }
    if (path === 'meta') {
      assert.deepEqual(
        Object.keys(act).sort(),
        Object.keys(rec).sort(),
        'meta has exactly the recorded keys',
      );
      assert.match(String(act.from), META_TIME, 'meta.from format');
      assert.match(String(act.to), META_TIME, 'meta.to format');
      assert.equal(act.by, rec.by, 'meta.by echoes the request');
      assert.equal(act.region, rec.region, 'meta.region echoes the request');
      return;
    }
    for (const [k, v] of Object.entries(rec)) {
      assert.ok(k in act, `${path ? `${path}.` : ''}${k} present (${endpoint})`);
      compare(v, act[k], path ? `${path}.${k}` : k, endpoint);
    }
    return;
  }
  assert.equal(typeof actual, typeof recorded, `${path} has the recorded type`);
  if (typeof recorded === 'string' && PURGE_ID.test(recorded))
    assert.match(String(actual), PURGE_ID, `${path} is a purge id`);
  if (path === 'status' || path === 'data[0].service_id') assert.equal(actual, recorded, `${path} value`);
}

/** Relations between fields that hold in the recorded point, so must hold in every simulated one. */
const INVARIANTS: [string, (p: Record<string, number>) => boolean][] = [
  ['requests = edge_requests', (p) => p.requests === p.edge_requests],
  [
    'edge_requests = edge_hit_requests + edge_miss_requests',
    (p) => p.edge_requests === (p.edge_hit_requests ?? 0) + (p.edge_miss_requests ?? 0),
  ],
  [
    'edge_resp_body_bytes = hit + miss parts',
    (p) => p.edge_resp_body_bytes === (p.edge_hit_resp_body_bytes ?? 0) + (p.edge_miss_resp_body_bytes ?? 0),
  ],
  [
    'body_size = resp_body_bytes = edge_resp_body_bytes',
    (p) => p.body_size === p.resp_body_bytes && p.body_size === p.edge_resp_body_bytes,
  ],
  [
    'header_size = resp_header_bytes = edge_resp_header_bytes',
    (p) => p.header_size === p.resp_header_bytes && p.header_size === p.edge_resp_header_bytes,
  ],
  ['orig_req_header_size = bereq_header_bytes', (p) => p.orig_req_header_size === p.bereq_header_bytes],
  ['orig_resp_header_size = req_header_bytes', (p) => p.orig_resp_header_size === p.req_header_bytes],
  [
    'hit_ratio = hits / (hits + miss)',
    (p) => Math.abs((p.hit_ratio ?? -1) - (p.hits ?? 0) / ((p.hits ?? 0) + (p.miss ?? 0))) < 1e-12,
  ],
  [
    'status_2xx = 200 + 204 + 206',
    (p) => p.status_2xx === (p.status_200 ?? 0) + (p.status_204 ?? 0) + (p.status_206 ?? 0),
  ],
  [
    'status_4xx = 400 + 401 + 403 + 404 + 416 + 429',
    (p) =>
      p.status_4xx ===
      ['400', '401', '403', '404', '416', '429'].reduce((s, c) => s + (p[`status_${c}`] ?? 0), 0),
  ],
];

async function recordedSim(t: Parameters<typeof sim>[0], now?: () => number) {
  return sim(t, {
    ...(now ? { now } : {}),
    services: [
      ...DEMO_SERVICES,
      { id: '3QSsca5ilwNVpceZ2HJIAH', name: 'recorded', domains: ['releases.hashicorp.com'] },
    ],
  });
}

for (const rec of RECORDED) {
  test(`matches the recorded answer of ${rec.method} ${rec.target.split('?')[0]} (${rec.source})`, async (t) => {
    const s = await recordedSim(t);
    const res = await send(s.url, rec);
    assert.equal(res.status, rec.status);
    for (const [name, value] of Object.entries(rec.responseHeaders)) {
      const got = res.headers[name];
      if (name.startsWith('fastly-ratelimit-')) assert.match(String(got), /^\d+$/, `${name} header`);
      else assert.equal(got, value, `${name} header`);
    }
    if (!('content-type' in rec.responseHeaders)) {
      assert.equal(res.headers['content-type'], undefined, 'recorded without a Content-Type');
    }
    const endpoint = rec.target.split('?')[0] ?? '';
    compare(
      rec.body,
      JSON.parse(res.body.toString('utf8')),
      '',
      endpoint.replace(/^\/stats\/field\/.*/, '/stats/field/bandwidth'),
    );
  });
}

test('every field of the recorded aggregate point is a known stats field, and the simulator keeps its invariants', async (t) => {
  const rec = RECORDED.find((r) => r.target.startsWith('/stats/aggregate'));
  const recordedPoint = (rec?.body as { data: Record<string, number>[] }).data[0] ?? {};
  const known = new Set<string>(STATS_FIELDS);
  const unknown = Object.keys(recordedPoint).filter((k) => k !== 'start_time' && !known.has(k));
  assert.deepEqual(unknown, [], 'STATS_FIELDS lists every recorded field');
  for (const [name, holds] of INVARIANTS) assert.ok(holds(recordedPoint), `recorded point: ${name}`);

  const s = await recordedSim(t);
  const res = await send(s.url, { method: 'GET', target: '/stats/aggregate?by=hour&from=3+days+ago&to=now' });
  const points = (JSON.parse(res.body.toString('utf8')) as { data: Record<string, number>[] }).data;
  assert.ok(points.length > 0);
  for (const p of points)
    for (const [name, holds] of INVARIANTS)
      assert.ok(holds(p), `simulated point at ${p.start_time}: ${name}`);
});

test('answers gzip when asked, as the real API does, and plain otherwise', async (t) => {
  // One instant for both answers: "1 day ago" read a second apart is another window (meta.from/to).
  const s = await recordedSim(t, () => Date.UTC(2026, 10, 22, 4, 0, 0));
  const target = { method: 'GET', target: '/stats/service/7i6HN3TK9wS159v2gPAZ8A?by=hour&from=1+day+ago' };
  const zipped = await send(s.url, target, { 'accept-encoding': 'gzip, deflate' });
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  assert.equal(Number(zipped.headers['content-length']), zipped.body.length);
  const plain = await send(s.url, target);
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.deepEqual(
    JSON.parse(gunzipSync(zipped.body).toString('utf8')),
    JSON.parse(plain.body.toString('utf8')),
  );
});

test('natural-language from/to are read as Fastly reads them', async (t) => {
  const now = Date.UTC(2026, 10, 22, 4, 0, 0);
  const s = await sim(t, { now: () => now });
  const cases: [string, number][] = [
    ['yesterday', now / 1000 - 86400],
    ['two weeks ago', now / 1000 - 14 * 86400],
    ['1 month ago', Date.UTC(2026, 9, 22, 4) / 1000],
    ['last monday', Date.UTC(2026, 10, 16, 12) / 1000],
    ['2026-11-01', Date.UTC(2026, 10, 1) / 1000],
    ['1763000000', 1763000000],
  ];
  for (const [from, epoch] of cases) {
    const res = await send(s.url, {
      method: 'GET',
      target: `/stats/service/7i6HN3TK9wS159v2gPAZ8A?by=day&from=${encodeURIComponent(from)}`,
    });
    assert.equal(res.status, 200, `from=${from}`);
    const meta = (JSON.parse(res.body.toString('utf8')) as { meta: { from: string } }).meta;
    assert.equal(
      meta.from,
      `${new Date(epoch * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`,
      `from=${from}`,
    );
  }
  const bad = await send(s.url, {
    method: 'GET',
    target: '/stats/service/7i6HN3TK9wS159v2gPAZ8A?from=not+a+time',
  });
  assert.equal(bad.status, 400);
});

test('configured tokens: unknown token 401, missing scope 403, granted scope 200', async (t) => {
  const s = await sim(t, { tokens: { reader: ['global:read'], purger: ['purge_select'] } });
  const stats = { method: 'GET', target: '/stats/service/7i6HN3TK9wS159v2gPAZ8A?by=day' };
  assert.equal((await send(s.url, stats, { 'fastly-key': 'nobody' })).status, 401);
  assert.equal((await send(s.url, stats, { 'fastly-key': 'purger' })).status, 403);
  assert.equal((await send(s.url, stats, { 'fastly-key': 'reader' })).status, 200);
  const purge = { method: 'POST', target: '/service/7i6HN3TK9wS159v2gPAZ8A/purge/k' };
  assert.equal((await send(s.url, purge, { 'fastly-key': 'reader' })).status, 403);
  assert.equal((await send(s.url, purge, { 'fastly-key': 'purger' })).status, 200);
});

/** Starts `kestra-fastly simulator` as a user does; resolves with its URL once it listens. */
function simulatorProcess(t: Parameters<typeof sim>[0], args: string[], files: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sim-tokens-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const child = spawn(process.execPath, [CLI, 'simulator', '--port', '0', ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  let out = '';
  return new Promise<{ url: string } | { code: number | null; out: string }>((resolve) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve({ url: m[1] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => resolve({ code, out }));
  });
}

test('kestra-fastly simulator --token and --tokens-file configure the accepted tokens and scopes', async (t) => {
  const stats = { method: 'GET', target: '/stats/service/7i6HN3TK9wS159v2gPAZ8A?by=day' };
  const purge = { method: 'POST', target: '/service/7i6HN3TK9wS159v2gPAZ8A/purge/k' };
  const flags = await simulatorProcess(t, [
    '--token',
    'reader=global:read',
    '--token',
    'purger=purge_select,purge_all',
  ]);
  assert.ok('url' in flags, JSON.stringify(flags));
  assert.equal((await send(flags.url, stats, { 'fastly-key': 'nobody' })).status, 401);
  assert.equal((await send(flags.url, stats, { 'fastly-key': 'reader' })).status, 200);
  assert.equal((await send(flags.url, purge, { 'fastly-key': 'reader' })).status, 403);
  assert.equal((await send(flags.url, purge, { 'fastly-key': 'purger' })).status, 200);
  const file = await simulatorProcess(t, ['--tokens-file', 'tokens.json'], {
    'tokens.json': '{"ro": ["global:read"]}',
  });
  assert.ok('url' in file, JSON.stringify(file));
  assert.equal((await send(file.url, stats, { 'fastly-key': 'ro' })).status, 200);
  assert.equal((await send(file.url, purge, { 'fastly-key': 'ro' })).status, 403);
  const bad = await simulatorProcess(t, ['--token', 'secret-value=global:write']);
  assert.ok('code' in bad);
  assert.equal(bad.code, 2);
  assert.match(
    bad.out,
    /--token: \(value hidden\) unknown scope "global:write"; expected global, global:read, purge_select, purge_all/,
  );
  assert.doesNotMatch(bad.out, /secret-value/);
});
