/**
 * Conformance: Fastly's own clients, the official Fastly CLI 16.1.0 (a Go binary shipped in npm) and
 * fastly-js 13.0.0, pointed at the simulator on 127.0.0.1. Each purge, every historical-stats call and
 * the error paths must succeed (or fail) as against the real API, and deserialize what they expect.
 *
 * Nothing phones home: the CLI's API and account endpoints are the simulator, its Wasm telemetry is
 * off (FASTLY_WASM_METADATA_DISABLE), and its outbound proxy is a loopback trap that answers nothing.
 * The CLI checks developer.fastly.com for a newer release on every command and has no switch to stop
 * it; the trap is where that check ends, and any other destination fails the test.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import type { ClientRequest } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Fastly from 'fastly';
import type { Simulator } from '../src/simulator/index.js';
import { SERVICE, sim } from './helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
/** Installed into bench/ by scripts/install-contestants.mjs (npm's pretest), as for the benchmarks. */
const FASTLY_CLI = join(ROOT, 'bench/node_modules/.bin/fastly');
/** The Fastly CLI's release check (pkg/update), the only destination it may try besides the simulator. */
const VERSION_CHECK = /^CONNECT developer\.fastly\.com:443 /;

/** A loopback "proxy" that records every CONNECT/request line and closes the connection. */
async function trap(t: TestContext): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const server: Server = createServer((socket) => {
    socket.once('data', (d: Buffer) => {
      seen.push(d.toString('latin1').split('\r\n')[0] ?? '');
      socket.destroy();
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const addr = server.address();
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, seen };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let binary: Promise<string> | undefined;

/**
 * The Go binary that the npm package's bin (fastly.js, a Node script) runs, found as that script
 * finds it (the package's index.js): run directly, not through a Node process per command (~25).
 */
function fastlyBinary(): Promise<string> {
  binary ??= (async () => {
    const index = pathToFileURL(join(dirname(realpathSync(FASTLY_CLI)), 'index.js')).href;
    return ((await import(index)) as { default: string }).default;
  })();
  return binary;
}

async function fastlyCli(args: string[], env: Record<string, string>): Promise<Run> {
  if (!existsSync(FASTLY_CLI))
    throw new Error(
      `${FASTLY_CLI} is missing: npm's pretest (scripts/install-contestants.mjs) could not install the Fastly CLI; its note says why`,
    );
  const bin = await fastlyBinary();
  return new Promise((resolve, reject) => {
    execFile(bin, args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new Error(err.message, { cause: err }));
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

async function cliSetup(t: TestContext, s: Simulator, token: string) {
  const proxy = await trap(t);
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: mkdtempSync(join(tmpdir(), 'fastly-cli-home-')),
    FASTLY_API_TOKEN: token,
    FASTLY_API_ENDPOINT: s.url,
    FASTLY_ACCOUNT_ENDPOINT: s.url,
    FASTLY_SERVICE_ID: SERVICE,
    FASTLY_WASM_METADATA_DISABLE: 'true',
    HTTPS_PROXY: proxy.url,
    HTTP_PROXY: proxy.url,
    NO_PROXY: '',
  };
  const run = (...args: string[]) => fastlyCli(['--non-interactive', ...args], env);
  return { run, proxy, env };
}

function assertNothingLeft(proxy: { seen: string[] }): void {
  const other = proxy.seen.filter((line) => !VERSION_CHECK.test(line));
  assert.deepEqual(other, [], 'the Fastly CLI tried to reach something other than the simulator');
}

test('the official Fastly CLI purges a URL, a key, a key file and a service through the simulator', async (t) => {
  const s = await sim(t);
  const { run, proxy, env } = await cliSetup(t, s, 'cli-token');
  s.seedObject('https://www.example.com/a', ['k1']);

  const url = await run('service', 'purge', '--url', 'https://www.example.com/a');
  assert.equal(url.code, 0, url.stderr);
  assert.match(url.stdout, /Purged URL: https:\/\/www\.example\.com\/a .*Status: ok, ID: \d+-\d+-\d+/);
  const key = await run('service', 'purge', '--key', 'article-42', '--soft');
  assert.equal(key.code, 0, key.stderr);
  assert.match(key.stdout, /Purged key: article-42 \(soft: true\)\. Status: ok, ID: \d+-\d+-\d+/);
  const file = join(env.HOME, 'keys.txt');
  writeFileSync(file, 'k1\nk2\nk3\n');
  const keys = await run('service', 'purge', '--file', file);
  assert.equal(keys.code, 0, keys.stderr);
  for (const k of ['k1', 'k2', 'k3']) assert.match(keys.stdout, new RegExp(`^${k}\\s+\\d+-\\d+-\\d+$`, 'm'));
  const all = await run('service', 'purge', '--all');
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /Purge all status: ok/);

  const api = s.log.filter((e) => !e.path.startsWith('/realms/'));
  assert.deepEqual(
    api.map((e) => `${e.status} ${e.path}`),
    [
      '200 /purge/https://www.example.com/a',
      // The CLI sends even one key through the bulk endpoint (keys with '/' purge nothing by path).
      `200 /service/${SERVICE}/purge`,
      `200 /service/${SERVICE}/purge`,
      `200 /service/${SERVICE}/purge_all`,
    ],
  );
  assert.deepEqual(
    api.filter((e) => e.path === `/service/${SERVICE}/purge`).map((e) => [e.keys, e.soft]),
    [
      [1, true],
      [3, false],
    ],
  );
  assertNothingLeft(proxy);
});

test('the official Fastly CLI reads every historical-stats answer, natural-language times included', async (t) => {
  const s = await sim(t);
  const { run, proxy } = await cliSetup(t, s, 'cli-token');
  const json = async (...args: string[]) => {
    const r = await run(...args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    // The CLI prints one JSON document per point (or one for a map).
    return r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  };
  const points = await json('stats', 'historical', '--from', 'yesterday', '--by', 'hour', '--json');
  assert.ok(points.length >= 23);
  assert.equal(points[0]?.service_id, SERVICE);
  assert.equal(typeof points[0]?.requests, 'number');
  const field = await json(
    'stats',
    'historical',
    '--from',
    '2 days ago',
    '--by',
    'day',
    '--field',
    'status_5xx',
    '--json',
  );
  assert.deepEqual(Object.keys(field[0] ?? {}).sort(), ['service_id', 'start_time', 'status_5xx']);
  const agg = await json('stats', 'aggregate', '--from', 'two weeks ago', '--by', 'day', '--json');
  assert.ok(agg.length >= 13 && typeof agg[0]?.bandwidth === 'number');
  const usage = await json('stats', 'usage', '--from', '1 month ago', '--json');
  assert.equal(typeof (usage[0]?.usa as { requests?: unknown })?.requests, 'number');
  const bySvc = await json('stats', 'usage', '--by-service', '--from', 'last monday', '--json');
  assert.ok(SERVICE in ((bySvc[0]?.usa as object) ?? {}));
  const regions = await run('stats', 'regions');
  assert.equal(regions.code, 0, regions.stderr);
  assert.match(regions.stdout, /^usa$/m);
  const table = await run('stats', 'historical', '--from', '3 hours ago', '--by', 'hour');
  assert.equal(table.code, 0, table.stderr);
  // The CLI prints meta.from/to as they come: formatted like the real API's.
  assert.match(table.stdout, /^From: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/m);
  assert.match(table.stdout, /Hit Rate:\s+\d+\.\d\d%/);
  assert.ok(
    s.log.every((e) => e.status === 200),
    JSON.stringify(s.log.filter((e) => e.status !== 200)),
  );
  assertNothingLeft(proxy);
});

test('the official Fastly CLI reports 401, 403, 404 and 429 from the simulator as from the API', async (t) => {
  const s = await sim(t, {
    tokens: { purger: ['purge_select', 'purge_all'], reader: ['global:read'] },
    purgeAllIntervalSeconds: 3600,
  });
  const cases: [string, string[], RegExp][] = [
    [
      'unknown-token',
      ['service', 'purge', '--key', 'k'],
      /returned 401 Unauthorized: Provided credentials are missing or invalid/,
    ],
    ['reader', ['service', 'purge', '--key', 'k'], /returned 403 Forbidden: .*'purge_select' scope/],
    [
      'purger',
      ['stats', 'historical', '--from', 'yesterday'],
      /returned 403 Forbidden: .*'global:read' scope/,
    ],
    [
      'purger',
      ['service', 'purge', '--key', 'k', '-s', 'NoSuchService00000000'],
      /returned 404 Not Found: Record not found/,
    ],
    [
      'reader',
      ['stats', 'historical', '-s', 'NoSuchService00000000', '--from', 'yesterday'],
      /returned 404 Not Found/,
    ],
  ];
  for (const [token, args, error] of cases) {
    const { run, proxy } = await cliSetup(t, s, token);
    const r = await run(...args);
    assert.equal(r.code, 1, `${token} ${args.join(' ')}`);
    assert.match(r.stderr + r.stdout, error);
    assertNothingLeft(proxy);
  }
  const { run } = await cliSetup(t, s, 'purger');
  assert.equal((await run('service', 'purge', '--all')).code, 0);
  const limited = await run('service', 'purge', '--all');
  assert.equal(limited.code, 1);
  assert.match(limited.stderr + limited.stdout, /returned 429 Too Many Requests/);
});

/** fastly-js as its users point it elsewhere: the generated methods take the base path per call. */
function fastlyJs(baseUrl: string, token: string) {
  const client = new Fastly.ApiClient();
  const buildUrl = client.buildUrl.bind(client);
  client.buildUrl = (path: string, params: unknown, reserved: unknown) =>
    buildUrl(path, params, reserved, baseUrl);
  const apis = { purge: new Fastly.PurgeApi(client), historical: new Fastly.HistoricalApi(client) };
  // After the APIs: each one's constructor authenticates with $FASTLY_API_TOKEN when it is set (as it
  // is in a shell where the developer uses Fastly), which would replace the test's token.
  client.authenticate(token);
  return apis;
}

/** Records the host of every HTTP request this process starts while `fn` runs. */
async function hostsDuring<T>(fn: () => Promise<T>): Promise<{ result: T; hosts: Set<string> }> {
  const hosts = new Set<string>();
  const onRequest = (msg: unknown) => {
    const req = (msg as { request: ClientRequest }).request;
    hosts.add(req.host);
  };
  subscribe('http.client.request.start', onRequest);
  try {
    return { result: await fn(), hosts };
  } finally {
    unsubscribe('http.client.request.start', onRequest);
  }
}

test('fastly-js purges and deserializes every historical-stats model from the simulator', async (t) => {
  const s = await sim(t);
  const { purge, historical } = fastlyJs(s.url, 'js-token');
  const { hosts } = await hostsDuring(async () => {
    const url = await purge.purgeSingleUrl({ cached_url: 'https://www.example.com/a' });
    assert.equal(url.constructor.name, 'PurgeResponse');
    assert.equal(url.status, 'ok');
    assert.match(url.id, /^\d+-\d+-\d+$/);
    const key = await purge.purgeTag({ service_id: SERVICE, surrogate_key: 'k1', fastly_soft_purge: 1 });
    assert.equal(key.status, 'ok');
    // The real bulk purge answers without a Content-Type, which fastly-js turns into a
    // character-indexed object (fastly/fastly-js#27): the simulator reproduces that exactly.
    const bulk = (await purge.bulkPurgeTag({
      service_id: SERVICE,
      purge_response: { surrogate_keys: ['a', 'b'] },
    })) as Record<string, string>;
    assert.deepEqual(Object.keys(JSON.parse(Object.values(bulk).join('')) as object), ['a', 'b']);
    const all = await purge.purgeAll({ service_id: SERVICE });
    assert.equal(all.status, 'ok');

    const meta = (r: { meta: object }) => {
      assert.equal(r.meta.constructor.name, 'HistoricalMeta');
      assert.match((r.meta as { from: string }).from, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    };
    const byService = await historical.getHistStats({ from: 'yesterday', by: 'hour' });
    assert.equal(byService.constructor.name, 'HistoricalStatsByServiceResponse');
    meta(byService);
    assert.ok((byService.data[SERVICE]?.length ?? 0) >= 23);
    const field = await historical.getHistStatsField({ field: 'status_5xx', from: '1 month ago' });
    assert.equal(typeof field.data[SERVICE]?.[0]?.status_5xx, 'number');
    const agg = await historical.getHistStatsAggregated({ from: 'two weeks ago', by: 'day' });
    assert.equal(agg.data[0]?.constructor.name, 'Results');
    assert.equal(typeof agg.data[0]?.edge_hit_resp_body_bytes, 'number');
    const svc = await historical.getHistStatsService({ service_id: SERVICE, from: 'last monday', by: 'day' });
    assert.equal(svc.constructor.name, 'HistoricalStatsAggregatedResponse');
    assert.equal(svc.data[0]?.constructor.name, 'Results');
    const svcField = await historical.getHistStatsServiceField({
      service_id: SERVICE,
      field: 'hit_ratio',
      from: 'yesterday',
      by: 'hour',
    });
    const ratio = svcField.data[0]?.hit_ratio ?? -1;
    assert.ok(ratio > 0 && ratio < 1, `hit_ratio ${ratio}`);
    const regions = await historical.getRegions();
    assert.equal(regions.constructor.name, 'HistoricalRegionsResponse');
    meta(regions);
    assert.ok(regions.data.includes('usa'));
    const usage = await historical.getUsage({ from: 'yesterday' });
    assert.equal(usage.data.usa?.constructor.name, 'HistoricalUsageData');
    meta(usage);
    const usageSvc = await historical.getUsageService({ from: 'yesterday' });
    assert.equal(usageSvc.constructor.name, 'HistoricalUsageServiceResponse');
    assert.equal(typeof usageSvc.data.usa?.[SERVICE]?.requests, 'number');
    const month = await historical.getUsageMonth({ year: '2026', month: '01', billable_units: true });
    assert.equal(month.constructor.name, 'HistoricalUsageMonthResponse');
    assert.ok(month.data.services && month.data.total);
  });
  assert.deepEqual([...hosts], [new URL(s.url).hostname], 'fastly-js talked only to the simulator');
  assert.ok(
    s.log.every((e) => e.status === 200),
    JSON.stringify(s.log.filter((e) => e.status !== 200)),
  );
});

test('fastly-js sees 401, 403, 404 and 429 with their status and Fastly message', async (t) => {
  const s = await sim(t, {
    tokens: { purger: ['purge_select', 'purge_all'] },
    purgeAllIntervalSeconds: 3600,
  });
  const fails = async (p: Promise<unknown>, status: number, msg: RegExp) => {
    const err = (await p.then(
      () => assert.fail(`expected ${status}`),
      (e: unknown) => e,
    )) as { status: number; response: { text: string } };
    assert.equal(err.status, status);
    assert.match(err.response.text, msg);
  };
  await fails(
    fastlyJs(s.url, 'nobody').purge.purgeTag({ service_id: SERVICE, surrogate_key: 'k' }),
    401,
    /credentials are missing or invalid/,
  );
  await fails(fastlyJs(s.url, 'purger').historical.getHistStats({}), 403, /'global:read' scope/);
  const purger = fastlyJs(s.url, 'purger').purge;
  await fails(
    purger.purgeTag({ service_id: 'NoSuchService00000000', surrogate_key: 'k' }),
    404,
    /Record not found/,
  );
  await purger.purgeAll({ service_id: SERVICE });
  await fails(purger.purgeAll({ service_id: SERVICE }), 429, /slow down/);
});
