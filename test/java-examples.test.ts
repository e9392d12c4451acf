/**
 * Java plugin parity: every `@Example` flow of kestra-io/plugin-fastly's task classes, transcribed in
 * test/fixtures/java-examples/ (each file names its source), validates and runs against the simulator.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadFlowFile } from '../src/flow/load.js';
import { flowJsonSchema } from '../src/flow/schema.js';
import { DEPRECATED_TYPES, PurgeKey, Stats, StatsTrigger } from '../src/tasks/index.js';
import { silentLogger } from '../src/logger.js';
import { runTask, type TaskDefinition } from '../src/tasks/task.js';
import { cliHost } from './cli-host.js';
import { SERVICE, sim, taskOutputs } from './helpers.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/java-examples');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.yml'));
const b64 = (s: string) => Buffer.from(s).toString('base64');
/** Every CLI run of this file, in one process (cli-host.ts); the bin itself is run by cli-pty and readme. */
const cli = cliHost();

/** What each example must produce, beyond a successful execution. */
const EXPECT: Record<string, (ex: Execution, stderr: string) => void> = {
  'purge-Url.yml': (ex) => assert.equal(output(ex, 'purge_homepage').status, 'ok'),
  'purge-Key.yml': (ex) => assert.match(String(output(ex, 'purge_product').id), /^\d+-\d+-\d+$/),
  'purge-Keys.yml': (ex, stderr) => {
    assert.deepEqual(Object.keys(output(ex, 'purge_articles').purgeIds as object), ['a-1', 'a-2']);
    assert.match(stderr, /Soft-purged 2 articles/);
  },
  'purge-All.yml': (ex) => assert.equal(output(ex, 'flush_staging_cache').status, 'ok'),
  'stats-Stats-1.yml': (ex) => {
    const data = output(ex, 'fetch_stats').data as Record<string, unknown[]>;
    assert.deepEqual(Object.keys(data), [SERVICE]);
    assert.ok((data[SERVICE]?.length ?? 0) >= 6);
  },
  'stats-Stats-2.yml': (ex) => {
    const res = output(ex, 'fetch_usa_stats');
    assert.equal((res.meta as { region: string }).region, 'usa');
    assert.ok(((res.data as Record<string, unknown[]>)[SERVICE]?.length ?? 0) > 0);
  },
  'stats-AggregateStats.yml': (ex) =>
    assert.ok((output(ex, 'fetch_aggregate').data as unknown[]).length >= 23),
  'stats-Usage-1.yml': (ex) => assert.ok('usa' in (output(ex, 'fetch_usage').data as object)),
  'stats-Usage-2.yml': (ex) => {
    const data = output(ex, 'fetch_service_usage').data as Record<string, Record<string, unknown>>;
    assert.ok(SERVICE in (data.usa ?? {}));
  },
  'stats-MonthToDateUsage.yml': (ex) => assert.ok('total' in (output(ex, 'fetch_mtd_usage').data as object)),
  'stats-StatsTrigger.yml': (ex, stderr) => {
    assert.ok((ex.trigger?.variables.value ?? 0) > 50);
    // Doubles, as in Kestra: the Java plugin's StatsTrigger.Output has `Double value`, `Double threshold`.
    assert.match(stderr, /5xx spike detected: \d+\.0 errors \(threshold: 50\.0\)/);
  },
};
for (const old of ['Url', 'Key', 'Keys', 'All']) {
  const check = EXPECT[`purge-${old}.yml`];
  EXPECT[`purge-Purge${old}.yml`] = (ex, stderr) => {
    check?.(ex, stderr);
    assert.match(
      stderr,
      new RegExp(
        `type io\\.kestra\\.plugin\\.fastly\\.purge\\.Purge${old} is deprecated; use io\\.kestra\\.plugin\\.fastly\\.purge\\.${old}`,
      ),
    );
  };
}

/** What `run --json` prints: the execution in Kestra's shape. */
interface Execution {
  state: { current: string };
  taskRunList?: { taskId: string; value?: string; outputs?: unknown }[];
  trigger?: { variables: { value: number } };
}
/** A task's outputs: in its task run (the execution's own `outputs` are the flow's). */
const output = (ex: Execution, task: string): Record<string, unknown> => {
  const o = taskOutputs(ex)[task] as Record<string, unknown> | undefined;
  assert.ok(o, `outputs of ${task}`);
  return o;
};

test('every @Example of the Java plugin is transcribed, and each has an expectation', () => {
  // 8 purge task classes (4 current, 4 deprecated) and 5 stats classes; Stats and Usage have two examples.
  assert.equal(FILES.length, 15);
  assert.deepEqual(
    FILES.filter((f) => !EXPECT[f]),
    [],
  );
});

for (const file of FILES) {
  test(`Java example ${file} validates and runs against the simulator`, async (t) => {
    const flow = loadFlowFile(join(DIR, file));
    assert.ok(flow.tasks.length > 0);
    const valid = await cli.run(['validate', join(DIR, file)]);
    assert.equal(valid.code, 0, valid.stderr);
    assert.equal(
      /is deprecated; use/.test(valid.stderr),
      file.includes('-Purge'),
      'validate warns of old type names',
    );
    const s = await sim(t, { faults: { latencyMs: 100 } });
    const now = Math.floor(Date.now() / 1000);
    s.addScenario({
      serviceId: SERVICE,
      field: 'status_5xx',
      from: now - 1800,
      to: now - 1200,
      perMinute: 30,
    });
    const env = {
      SECRET_FASTLY_API_TOKEN: b64('java-example-token'),
      SECRET_FASTLY_SERVICE_ID: b64(SERVICE),
      SECRET_FASTLY_STAGING_TOKEN: b64('java-staging-token'),
      SECRET_FASTLY_STAGING_SERVICE_ID: b64(SERVICE),
      FASTLY_API_ENDPOINT: s.url,
    };
    const inputs = flow.inputs.some((i) => i.id === 'article_ids')
      ? ['--input', 'article_ids=["a-1","a-2"]']
      : [];
    const r = await cli.run(['run', join(DIR, file), '--json', ...inputs], env);
    assert.equal(r.code, 0, r.stderr);
    const ex = JSON.parse(r.stdout) as Execution;
    assert.equal(ex.state.current, 'SUCCESS');
    EXPECT[file]?.(ex, r.stderr);
  });
}

test('the deprecated type names resolve to the current task definitions, in flows and in the JSON Schema', () => {
  const schema = flowJsonSchema() as { $defs: Record<string, { properties: Record<string, unknown> }> };
  const refs = JSON.stringify((schema.$defs.task as unknown as { anyOf: unknown[] }).anyOf);
  for (const [old, current] of Object.entries(DEPRECATED_TYPES)) {
    assert.match(old, /\.purge\.Purge(Url|Key|Keys|All)$/);
    assert.equal(current, old.replace('.Purge', '.'));
    assert.deepEqual(schema.$defs[old]?.properties.type, { const: old });
    assert.deepEqual(
      Object.keys(schema.$defs[old]?.properties ?? {}),
      Object.keys(schema.$defs[current]?.properties ?? {}),
    );
    assert.ok(refs.includes(`#/$defs/${old}`), `${old} is a task type editors accept`);
  }
});

test('Java-valid properties: options, any field name, any threshold, by in any case, a URL without scheme', async (t) => {
  const s = await sim(t);
  const conn = { apiToken: 't', baseUrl: s.url };
  const ctx = { logger: silentLogger, env: {} };
  const run = (def: unknown, props: object) => runTask(def as TaskDefinition, { ...conn, ...props }, ctx);
  const warnings: string[] = [];
  const stats = (await runTask(
    Stats,
    {
      ...conn,
      serviceId: SERVICE,
      by: 'Day',
      from: '3 days ago',
      options: {
        timeout: { connectTimeout: 'PT5S', readIdleTimeout: 'PT30S' },
        // Applied, but a loopback endpoint is never proxied; ssl is only accepted.
        proxy: { address: 'proxy.local', port: 3128 },
        ssl: { insecureTrustAllCertificates: true },
      },
    },
    { ...ctx, logger: { ...silentLogger, warn: (m: string) => warnings.push(m) } },
  )) as { meta: { by: string } };
  assert.equal(stats.meta.by, 'day');
  assert.deepEqual(warnings, ["options.ssl: accepted for the Java plugin's flows but not applied"]);
  for (const field of [
    'edge_hit_resp_body_bytes',
    'origin_cache_fetch_resp_body_bytes',
    'blacklist',
    'orig_req_header_size',
    'a_field_fastly_adds_next_year',
  ]) {
    const r = (await run(StatsTrigger, {
      serviceId: SERVICE,
      field,
      threshold: -1,
      window: 'PT1H',
      delay: 'PT5M',
    })) as {
      matched: boolean;
      value: number | null;
    };
    // Java sums what the points hold: 0 for a field the API does not send (yet), never a refusal.
    assert.equal(r.matched, true, field);
    if (field === 'edge_hit_resp_body_bytes')
      assert.ok((r.value ?? 0) > 0, 'a recorded field is read from the points');
  }
  const urlless = (await runTask(
    await import('../src/tasks/index.js').then((m) => m.PurgeUrl as TaskDefinition),
    { ...conn, url: 'www.example.com/pricing?plan=pro' },
    ctx,
  )) as { status: string };
  assert.equal(urlless.status, 'ok');
  assert.ok(s.log.some((e) => e.path === '/purge/www.example.com/pricing'));
});

test('options.timeout bounds each request: a hung API fails with a timeout instead of waiting for the default', async (t) => {
  const s = await sim(t, { faults: { rateHang: 1 } });
  await assert.rejects(
    runTask(
      PurgeKey,
      {
        apiToken: 't',
        baseUrl: s.url,
        serviceId: SERVICE,
        surrogateKey: 'k',
        options: { timeout: { readIdleTimeout: 'PT0.2S' } },
      },
      { logger: silentLogger, env: {}, client: { retry: { maxAttempts: 1 } } },
    ),
    /no complete answer within 200 ms/,
  );
});
