import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseFlow } from '../src/flow/load.js';
import { createLogger } from '../src/logger.js';
import PurgeUrls from '../src/tasks/purge/Urls.js';
import { PurgeIncompleteError, type UrlsOutputs } from '../src/tasks/purge/outputs.js';
import { runTask } from '../src/tasks/task.js';
import PurgeKeys from '../src/tasks/purge/Keys.js';
import { cliHost } from './cli-host.js';
import { requests, SERVICE, sim, waitForRequests } from './helpers.js';

const urls = (n: number, host = 'www.example.com') =>
  Array.from({ length: n }, (_, i) => `https://${host}/articles/${i}?v=2`);
const quiet = { logger: createLogger({ write: () => {} }), env: {} };
// The CLI as the bin dispatches it, in one process for the file (test/cli-host.ts).
const cli = cliHost();

test('purge urls --file purges 10,000 URLs, one request each, duplicates and comments left out', async (t) => {
  const s = await sim(t);
  const dir = await mkdtemp(join(tmpdir(), 'kf-urls-'));
  const file = join(dir, 'urls.txt');
  const list = urls(10_000);
  await writeFile(file, `# the release's pages\n${list.join('\n')}\n${list[0]}\n\n`);
  const r = await cli.run(['purge', 'urls', '--file', file, '--json'], {
    FASTLY_API_TOKEN: 'urls-token',
    FASTLY_API_ENDPOINT: s.url,
  });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as UrlsOutputs;
  assert.equal(out.purged, 10_000);
  assert.equal(out.requests, 10_000);
  assert.equal(out.duplicatesRemoved, 1);
  assert.deepEqual(out.failed, []);
  assert.equal(Object.keys(out.purgeIds).length, 10_000);
  const purged = s.log.filter((e) => e.path.startsWith('/purge/https://www.example.com/articles/'));
  assert.equal(purged.length, 10_000);
  assert.equal(new Set(purged.map((e) => e.path)).size, 10_000, 'each URL purged once');
});

test('purge urls: the URLs that failed are named and written to --failed-urls, ready for --file; stdin is read with -', async (t) => {
  const s = await sim(t);
  const dir = await mkdtemp(join(tmpdir(), 'kf-urls-'));
  const retry = join(dir, 'retry.txt');
  // A host that is no service's domain is refused (404) URL by URL; the others go on.
  const good = urls(5);
  const bad = urls(3, 'unknown.example.org');
  const env = { FASTLY_API_TOKEN: 'urls-token', FASTLY_API_ENDPOINT: s.url };
  const r = await cli.run(
    ['purge', 'urls', '--file', '-', '--failed-urls', retry],
    env,
    [bad[0], ...good, bad[1], bad[2]].join('\n'),
  );
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /✗ Purged 5 URLs; 3 not purged \(purgeUrl failed: HTTP 404/);
  assert.match(r.stderr, /3 URLs to retry written to /);
  assert.match(
    r.stderr,
    /purge\.Urls: 5 of 8 URLs purged, 3 failed \(https:\/\/unknown\.example\.org\/articles\/0\?v=2/,
  );
  assert.deepEqual((await readFile(retry, 'utf8')).trim().split('\n').sort(), [...bad].sort());
  // Without the file, the failed URLs are listed under their reason.
  const listed = await cli.run(['purge', 'urls', ...good.slice(0, 2), bad[0] as string], env);
  assert.equal(listed.code, 1);
  assert.match(
    listed.stdout,
    /HTTP 404 .* \(1 URL\):\n {4}https:\/\/unknown\.example\.org\/articles\/0\?v=2/,
  );
});

test('purge urls refuses a bad URL naming where it was given, and sends nothing', async (t) => {
  const s = await sim(t);
  const dir = await mkdtemp(join(tmpdir(), 'kf-urls-'));
  const file = join(dir, 'urls.txt');
  await writeFile(file, 'https://www.example.com/a\nftp://www.example.com/b\n');
  const env = { FASTLY_API_TOKEN: 'urls-token', FASTLY_API_ENDPOINT: s.url };
  const r = await cli.run(['purge', 'urls', '--file', file], env);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`--file ${file}:2 "ftp://www.example.com/b" has scheme "ftp"`));
  const arg = await cli.run(['purge', 'urls', 'https://www.example.com/a', 'not a url'], env);
  assert.equal(arg.code, 2);
  assert.match(arg.stderr, /urls\[1\] /);
  const none = await cli.run(['purge', 'urls'], env);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /purge urls: no URLs given/);
  assert.equal(s.log.length, 0);
});

test('the purge.Urls task purges 200 URLs, one request each; a partial failure names exactly the URLs that failed', async (t) => {
  const s = await sim(t);
  // 10,000 go through `purge urls --file` above, the same purgeUrls: 200 are 5 rounds of 40.
  const out = (await runTask(
    PurgeUrls,
    { apiToken: 'urls-token', baseUrl: s.url, urls: urls(200), soft: true },
    quiet,
  )) as UrlsOutputs;
  assert.equal(out.purged, 200);
  assert.equal(out.requests, 200);
  assert.deepEqual(out.failed, []);
  assert.equal(Object.keys(out.purgeIds).length, 200);
  const sent = s.log.filter((e) => e.path.startsWith('/purge/https://www.example.com/articles/'));
  assert.equal(new Set(sent.map((e) => e.path)).size, 200, 'each URL purged once');
  assert.equal(sent.filter((e) => e.soft).length, 200);
  const bad = urls(2, 'nowhere.example.net');
  const err = await runTask(
    PurgeUrls,
    { apiToken: 'urls-token', baseUrl: s.url, urls: [...urls(3), ...bad] },
    quiet,
  ).catch((e: unknown) => e);
  assert.ok(err instanceof PurgeIncompleteError);
  const o = err.outputs as UrlsOutputs;
  assert.deepEqual(
    o.failed.map((f) => [f.url, f.status]),
    bad.map((u) => [u, 404]),
  );
  assert.equal(o.purged, 3);
  assert.match(err.message, /^purge\.Urls: 3 of 5 URLs purged, 2 failed/);
});

const KILLED = 'execution 4RvXk2 killed';
const UNDER_WAY = `not acknowledged: ${KILLED} while its request was under way (Fastly may have purged it)`;

test('purge.Urls killed while a request is under way: that URL is not acknowledged (the simulator has it), the next not sent', async (t) => {
  const s = await sim(t);
  // The second request reaches the simulator (latency, then held unanswered): under way at the kill.
  s.setFaults({ latencyMs: 30, burst: { fault: 'hang', after: 1, count: 1 }, paths: ['/purge/'] });
  const list = urls(3);
  const arrived = waitForRequests(s, (p) => p.startsWith('/purge/'), 2);
  const kill = new AbortController();
  const running = runTask(
    PurgeUrls,
    { apiToken: 'urls-token', baseUrl: s.url, urls: list, concurrency: 1 },
    { ...quiet, signal: kill.signal },
  ).catch((e: unknown) => e);
  await arrived;
  kill.abort(new Error(KILLED));
  const err = await running;
  assert.ok(err instanceof PurgeIncompleteError, String(err));
  const o = err.outputs as UrlsOutputs;
  assert.deepEqual(Object.keys(o.purgeIds), [list[0]]);
  assert.deepEqual(o.failed, [
    { url: list[1], reason: UNDER_WAY },
    { url: list[2], reason: `not sent: ${KILLED}` },
  ]);
  assert.equal(o.stopped, KILLED);
  assert.deepEqual(
    requests(s, '/purge/').map((e) => e.path),
    list.slice(0, 2).map((u) => `/purge/${u.split('?')[0]}`),
    'the URL not acknowledged reached the simulator; the one not sent did not',
  );
});

test('purge.Urls killed while a URL waits to be retried: it is not acknowledged, with the account (no bare abort)', async (t) => {
  const s = await sim(t);
  s.setFaults({ latencyMs: 30, burst: { fault: '5xx', after: 1, count: 1 }, paths: ['/purge/'] });
  const list = urls(3);
  const kill = new AbortController();
  const err = await runTask(
    PurgeUrls,
    { apiToken: 'urls-token', baseUrl: s.url, urls: list, concurrency: 1 },
    // The kill comes as the 503 is about to be retried: during the wait before the next attempt.
    { ...quiet, signal: kill.signal, client: { onRetry: () => kill.abort(new Error(KILLED)) } },
  ).catch((e: unknown) => e);
  assert.ok(err instanceof PurgeIncompleteError, String(err));
  const o = err.outputs as UrlsOutputs;
  assert.deepEqual(Object.keys(o.purgeIds), [list[0]]);
  assert.deepEqual(o.failed, [
    { url: list[1], reason: UNDER_WAY },
    { url: list[2], reason: `not sent: ${KILLED}` },
  ]);
});

test('purge.Keys sending alone (no coalescing) killed while a batch is under way: its keys are not acknowledged, the next batch not sent', async (t) => {
  const s = await sim(t);
  const path = `/service/${SERVICE}/purge`;
  s.setFaults({ latencyMs: 30, burst: { fault: 'hang', after: 1, count: 1 }, paths: [path] });
  const keys = Array.from({ length: 600 }, (_, i) => `k-${i}`);
  const arrived = waitForRequests(s, (p) => p === path, 2);
  const kill = new AbortController();
  const running = runTask(
    PurgeKeys,
    { apiToken: 'keys-token', baseUrl: s.url, serviceId: SERVICE, surrogateKeys: keys, concurrency: 1 },
    { ...quiet, signal: kill.signal },
  ).catch((e: unknown) => e);
  await arrived;
  kill.abort(new Error(KILLED));
  const err = await running;
  assert.ok(err instanceof PurgeIncompleteError, String(err));
  const reasons = new Map<string, number>();
  for (const f of err.outputs.failed) reasons.set(f.reason, (reasons.get(f.reason) ?? 0) + 1);
  assert.equal(err.outputs.purged, 256);
  assert.deepEqual(
    [...reasons],
    [
      [UNDER_WAY, 256],
      [`not sent: ${KILLED}`, 88],
    ],
  );
});

test('a flow is checked before it runs: a literal URL of purge.Urls that cannot be purged is named with its index', () => {
  const flow = `id: release
namespace: company.ops
inputs:
  - id: page
    type: STRING
tasks:
  - id: purge_pages
    type: io.kestra.plugin.fastly.purge.Urls
    apiToken: tok
    urls:
      - https://www.example.com/a
      - "ftp://www.example.com/b"
      - "{{ inputs.page }}"
`;
  assert.throws(
    () => parseFlow(flow, 'release.yml'),
    /release\.yml:\d+:\d+: tasks\[0\]\.urls\[1\]: "ftp:\/\/www\.example\.com\/b" has scheme "ftp"; only http and https URLs can be purged/,
  );
  assert.ok(parseFlow(flow.replace('ftp://', 'https://'), 'release.yml'));
});
