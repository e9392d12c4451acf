import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import Module from 'node:module';
import { describe, test, type TestContext } from 'node:test';
import { SERVICE, waitForRequests } from './helpers.js';
import { FASTLY_TOKEN, STORES, type StoreName, startKestraServer } from './kestra-server.js';
import { eventsOfText } from './sse.js';
import { postgresForFile } from './support/postgres.js';

// The server driven by a Kestra client nobody here wrote: `@kestra-io/kestra-sdk` (generated from
// Kestra's OpenAPI description), over real HTTP, judged on what its models make of the answers,
// on both stores (the embedded SQLite file and a real PostgreSQL: one cluster for the file).

const pgsql = postgresForFile();

const require = createRequire(import.meta.url);

/**
 * The 0.24.1 tarball lacks a few model files that other models require (SLALabels,
 * MiscControllerEdition, the sidebar configurations): each is answered with a pass-through model,
 * so that the APIs the test needs load. Only those names, only from inside the SDK.
 */
const MISSING = new Set([
  'SLALabels',
  'MiscControllerEdition',
  'LeftSidebarConfiguration',
  'RightSidebarConfiguration',
  'RightSidebarConfigurationCustomLink',
]);
type Resolve = (request: string, parent: { filename?: string } | undefined, ...rest: unknown[]) => string;
const internals = Module as unknown as { _resolveFilename: Resolve; _cache: Record<string, unknown> };
const resolve = internals._resolveFilename;
internals._resolveFilename = function (request, parent, ...rest) {
  const name = /(?:^|\/)([A-Za-z]+)$/.exec(request)?.[1];
  if (name && MISSING.has(name) && parent?.filename?.includes('@kestra-io/kestra-sdk')) {
    const id = `kestra-sdk-stub:${name}`;
    if (!internals._cache[id]) {
      const stub = new Module(id);
      stub.loaded = true;
      stub.exports = {
        __esModule: true,
        default: class PassThrough {
          static constructFromObject(data: unknown) {
            return data;
          }
          static validateJSON() {
            return true;
          }
        },
      };
      internals._cache[id] = stub;
    }
    return id;
  }
  return resolve.call(this, request, parent, ...rest);
};

type Api = Record<string, (...args: unknown[]) => unknown>;
interface Sdk {
  ApiClient: new (basePath: string) => SdkApiClient;
  ExecutionsApi: new (client: SdkApiClient) => Api;
  FlowsApi: new (client: SdkApiClient) => Api;
  LogsApi: new (client: SdkApiClient) => Api;
  TriggersApi: new (client: SdkApiClient) => Api;
}
interface SdkApiClient {
  basePath: string;
  authentications: {
    basicAuth: { username?: string; password?: string };
    bearerAuth: { accessToken?: string };
  };
  callApi(...args: unknown[]): unknown;
}
interface SdkResponse {
  status: number;
  text: string;
  body: unknown;
  headers: Record<string, string>;
}
type Callback = (error: unknown, data: unknown, response: SdkResponse) => void;
const sdk = require('@kestra-io/kestra-sdk') as Sdk;

/**
 * The SDK's APIs on an ApiClient of their own. (KestraClient writes its host and token into one
 * ApiClient shared by every instance; the two stores' tests run side by side, so each has its own.)
 */
function clientOf(url: string, token: string) {
  const client = new sdk.ApiClient(url);
  client.authentications.bearerAuth.accessToken = token;
  return {
    client,
    executions: new sdk.ExecutionsApi(client),
    flows: new sdk.FlowsApi(client),
    logs: new sdk.LogsApi(client),
    triggers: new sdk.TriggersApi(client),
  };
}

/** Calls an SDK method in its callback style; resolves with the data its models made. */
function call<T>(invoke: (cb: Callback) => unknown): Promise<T> {
  return new Promise((done, fail) => {
    invoke((error, data) =>
      error ? fail(error instanceof Error ? error : new Error(JSON.stringify(error))) : done(data as T),
    );
  });
}

/** Calls an SDK method; resolves with the HTTP response the SDK got, whatever its models made of it. */
function respond(invoke: (cb: Callback) => unknown): Promise<SdkResponse> {
  return new Promise((done, fail) => {
    invoke((error, _data, response) =>
      response ? done(response) : fail(error instanceof Error ? error : new Error(String(error))),
    );
  });
}

/**
 * `createExecution` as it should be sent: 0.24.1's sends no inputs (the generator dropped the
 * multipart map) and reads the answer as an array, so the test sends the inputs through the SDK's
 * own callApi, on the same path, auth names and content type.
 */
function createExecution<T>(
  client: SdkApiClient,
  namespace: string,
  id: string,
  inputs: Record<string, string>,
  wait: boolean,
): Promise<T> {
  return call<T>((cb) =>
    client.callApi(
      '/api/v1/{tenant}/executions/{namespace}/{id}',
      'POST',
      { tenant: 'main', namespace, id },
      { wait },
      {},
      inputs,
      null,
      ['basicAuth', 'bearerAuth'],
      ['multipart/form-data'],
      ['application/json'],
      Object,
      null,
      cb,
    ),
  );
}

/**
 * Follows an execution with the SDK's `followExecution` (`text/event-stream`). The SDK (superagent)
 * cannot consume a stream: it buffers the events until the server ends it, then hands its model an
 * unparsed text (an empty `EventExecution`). The test reads the events from the response the SDK
 * hands over, as a caller of 0.24.1 has to.
 */
async function followExecution(executions: Api, id: string) {
  const r = await respond((cb) => executions.followExecution!(id, 'main', cb));
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'] ?? '', /^text\/event-stream/);
  return eventsOfText(r.text);
}

const FLOW = `id: publish
namespace: company.cms
description: purge on publish
labels:
  team: web
inputs:
  - id: article
    type: STRING
  - id: count
    type: INT
    defaults: 1
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: "{{ secret('HOOK_KEY') }}"
tasks:
  - id: out
    type: io.kestra.plugin.core.output.OutputValues
    values:
      article: "{{ inputs.article }}"
      count: "{{ inputs.count }}"
`;

/**
 * Enough for the purge to be running when the SDK kills it, 3 requests in: 20 requests of 256 keys,
 * 2 at a time at 100–200 ms, at least 0.8 s left. What the SDK's models make of a kill is the same
 * at any size; the 20,000-key account is proven in executions-api.test.ts.
 */
const KEYS = 5_000;

const BIG = `id: big_purge
namespace: company.ops
inputs:
  - id: keys
    type: JSON
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.Keys
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    concurrency: 2
    surrogateKeys: "{{ inputs.keys }}"
finally:
  - id: always
    type: io.kestra.plugin.core.log.Log
    message: finally branch
`;

const STEPS = `id: steps
namespace: company.ops
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: "hello, token {{ secret('FASTLY_API_TOKEN') }}"
  - id: warn
    type: io.kestra.plugin.core.log.Log
    level: WARN
    message: careful
  - id: purge
    type: io.kestra.plugin.fastly.purge.Keys
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    surrogateKeys: [a, b]
`;

async function serverFor(t: TestContext, store: StoreName) {
  const dir = await mkdtemp(join(tmpdir(), 'kf-sdk-'));
  await mkdir(join(dir, 'flows'));
  await writeFile(join(dir, 'flows', 'publish.yml'), FLOW);
  await writeFile(join(dir, 'flows', 'big.yml'), BIG);
  await writeFile(join(dir, 'flows', 'steps.yml'), STEPS);
  const token = 'api-token-sdk-0123456789';
  const started = await startKestraServer(t, {
    dir,
    apiToken: token,
    users: [{ username: 'admin@kestra.io', password: 'Admin1234-sdk' }],
    databaseUrl: store === 'PostgreSQL' ? await pgsql.freshDatabase() : undefined,
  });
  return { ...started, token, api: clientOf(started.url, token) };
}

interface TaskRunModel {
  id: string;
  taskId: string;
  state: { current: string };
  attempts: unknown[];
  outputs?: Record<string, unknown>;
}
interface ExecutionModel {
  id: string;
  namespace: string;
  flowId: string;
  state: { current: string };
  inputs?: Record<string, unknown>;
  taskRunList?: TaskRunModel[];
}

// The two stores side by side: their servers, simulators and databases are their own.
describe('Kestra’s SDK against the server', { concurrency: 2 }, () => {
  for (const store of STORES) {
    describe(store, () => {
      test('create with inputs (multipart), get, search executions; flows get/search/list; triggers search', async (t) => {
        const { url, api } = await serverFor(t, store);
        const { executions, flows: flowsApi, triggers: triggersApi } = api;

        const created = await createExecution<ExecutionModel>(
          api.client,
          'company.cms',
          'publish',
          { article: 'a-42', count: '3' },
          true,
        );
        assert.equal(created.state.current, 'SUCCESS');
        assert.deepEqual(created.inputs, { article: 'a-42', count: 3 });

        const got = await call<ExecutionModel>((cb) => executions.getExecution!(created.id, 'main', cb));
        assert.equal(got.id, created.id);
        assert.equal(got.namespace, 'company.cms');
        assert.equal(got.flowId, 'publish');
        assert.equal(got.state.current, 'SUCCESS');
        assert.deepEqual((got.taskRunList?.[0]?.outputs as { values: object } | undefined)?.values, {
          article: 'a-42',
          count: 3,
        });

        const found = await call<{ results: { id: string }[]; total: number }>((cb) =>
          executions.searchExecutions!(1, 10, 'main', { namespace: 'company.cms', flowId: 'publish' }, cb),
        );
        assert.equal(found.total, 1);
        assert.deepEqual(
          found.results.map((e) => e.id),
          [created.id],
        );

        const flow = await call<{
          id: string;
          namespace: string;
          revision: number;
          labels: { key: string; value: string }[];
          inputs: { id: string; type: string }[];
          source: string;
        }>((cb) => flowsApi.getFlow!('company.cms', 'publish', true, false, 'main', {}, cb));
        assert.equal(flow.id, 'publish');
        assert.equal(flow.revision, 1);
        assert.equal(flow.source, FLOW);
        assert.deepEqual(flow.labels, [{ key: 'team', value: 'web' }]);
        assert.deepEqual(
          flow.inputs.map((i) => [i.id, i.type]),
          [
            ['article', 'STRING'],
            ['count', 'INT'],
          ],
        );

        const flows = await call<{ results: { id: string; namespace: string }[]; total: number }>((cb) =>
          flowsApi.searchFlows!(1, 10, 'main', { namespace: 'company.cms' }, cb),
        );
        assert.equal(flows.total, 1);
        assert.equal(flows.results[0]?.id, 'publish');
        const listed = await call<{ id: string }[]>((cb) =>
          flowsApi.listFlowsByNamespace!('company.cms', 'main', cb),
        );
        assert.deepEqual(
          listed.map((f) => f.id),
          ['publish'],
        );

        const triggers = await call<{
          results: {
            abstractTrigger: { id: string; type: string };
            triggerContext: { flowId: string; triggerId: string };
          }[];
          total: number;
        }>((cb) => triggersApi.searchTriggers!(1, 10, 'main', { namespace: 'company.cms' }, cb));
        assert.equal(triggers.total, 1);
        assert.equal(triggers.results[0]?.triggerContext.flowId, 'publish');
        assert.equal(triggers.results[0]?.triggerContext.triggerId, 'hook');
        assert.equal(triggers.results[0]?.abstractTrigger.type, 'io.kestra.plugin.core.trigger.Webhook');

        // The SDK's basic auth works too; a wrong password is a 401 the SDK reports as an error.
        const basicFlows = (password: string) => {
          const client = new sdk.ApiClient(url);
          client.authentications.basicAuth.username = 'admin@kestra.io';
          client.authentications.basicAuth.password = password;
          return new sdk.FlowsApi(client);
        };
        const viaBasic = await call<{ total: number }>((cb) =>
          basicFlows('Admin1234-sdk').searchFlows!(1, 10, 'main', { namespace: 'company.cms' }, cb),
        );
        assert.equal(viaBasic.total, 1);
        await assert.rejects(
          call((cb) => basicFlows('Admin1234-wrong').searchFlows!(1, 10, 'main', {}, cb)),
          (e: { status?: number }) => e.status === 401,
        );
      });

      test("searchExecutions with the SDK's filters (QueryFilter objects), q and a state list; an unknown field is a 400 the SDK reports", async (t) => {
        const { sim, api } = await serverFor(t, store);
        const { executions } = api;
        const ok = await createExecution<ExecutionModel>(
          api.client,
          'company.cms',
          'publish',
          { article: 'a-1' },
          true,
        );
        sim.setTokens({ [FASTLY_TOKEN]: ['global:read'] }); // no purge scope: the purge fails (403)
        const failed = await createExecution<ExecutionModel>(api.client, 'company.ops', 'steps', {}, true);
        assert.deepEqual([ok.state.current, failed.state.current], ['SUCCESS', 'FAILED']);
        const search = async (opts: Record<string, unknown>) =>
          (
            await call<{ results: { id: string }[]; total: number }>((cb) =>
              executions.searchExecutions!(1, 10, 'main', opts, cb),
            )
          ).results.map((e) => e.id);
        const filter = (field: string, operation: string, value: unknown) => ({ field, operation, value });
        for (const [opts, expected] of [
          [{ filters: [filter('STATE', 'EQUALS', 'FAILED')] }, [failed.id]],
          [{ filters: [filter('STATE', 'IN', ['FAILED', 'SUCCESS'])] }, [failed.id, ok.id]],
          [{ filters: [filter('NAMESPACE', 'EQUALS', 'nope')] }, []],
          [
            { filters: [filter('NAMESPACE', 'PREFIX', 'company'), filter('FLOW_ID', 'EQUALS', 'publish')] },
            [ok.id],
          ],
          [{ filters: [filter('LABELS', 'EQUALS', { team: 'web' })] }, [ok.id]],
          [{ filters: [filter('QUERY', 'EQUALS', 'STEPS')] }, [failed.id]],
          [{ q: 'nothing-matches' }, []],
          [{ q: 'publish' }, [ok.id]],
          [{ state: ['FAILED', 'KILLED'] }, [failed.id]],
        ] as const) {
          assert.deepEqual(await search(opts), expected, JSON.stringify(opts));
        }
        await assert.rejects(
          call((cb) =>
            executions.searchExecutions!(
              1,
              10,
              'main',
              { filters: [filter('WORKER_ID', 'EQUALS', 'w')] },
              cb,
            ),
          ),
          (e: { status?: number; response?: { text?: string } }) =>
            e.status === 400 &&
            /^\{"message":"filters\[workerId\]\[EQUALS\]: field \\"workerId\\" is not allowed on executions\/search; expected one of q, /.test(
              e.response?.text ?? '',
            ),
        );
      });

      test('kill a running 5,000-key purge (simulator at 100–200 ms): followed to its end, KILLED, with its account of purged and unpurged keys', async (t) => {
        const { sim, api } = await serverFor(t, store);
        const { executions } = api;
        const purging = waitForRequests(sim, (p) => p === `/service/${SERVICE}/purge`, 3);
        const keys = JSON.stringify(Array.from({ length: KEYS }, (_, i) => `k-${i}`));
        const ex = await createExecution<ExecutionModel>(
          api.client,
          'company.ops',
          'big_purge',
          { keys },
          false,
        );
        const followed = followExecution(executions, ex.id);
        await purging;

        // Kestra's kill: 202, no body (the SDK's model makes null of it).
        const kill = await respond((cb) => executions.killExecution!(ex.id, true, 'main', cb));
        assert.equal(kill.status, 202);
        const events = await followed;
        assert.equal(events.at(-1)?.id, 'end');
        assert.ok(events.slice(0, -1).every((e) => e.id === 'progress'));
        const states = events.map((e) => (JSON.parse(e.data) as ExecutionModel).state.current);
        assert.equal(states.at(-1), 'KILLED');
        assert.ok(states.includes('KILLING'), states.join(' → '));

        const done = await call<ExecutionModel>((cb) => executions.getExecution!(ex.id, 'main', cb));
        assert.equal(done.state.current, 'KILLED');
        // No task starts after a kill, `finally` included.
        assert.deepEqual(
          done.taskRunList?.map((r) => [r.taskId, r.state.current]),
          [['purge', 'KILLED']],
        );
        const account = done.taskRunList?.[0]?.outputs as {
          purged: number;
          purgeIds: Record<string, string>;
          failed: { key: string; reason: string }[];
        };
        const purged = Object.keys(account.purgeIds);
        const unpurged = account.failed.map((f) => f.key);
        assert.equal(account.purged, purged.length);
        assert.ok(
          purged.length > 0 && unpurged.length > 0,
          `${purged.length} purged, ${unpurged.length} not`,
        );
        assert.equal(new Set([...purged, ...unpurged]).size, KEYS, 'every key purged or listed unpurged');
        const received = new Set(
          sim.log.flatMap((e) => (e as { surrogateKeys?: string[] }).surrogateKeys ?? []),
        );
        assert.ok(
          purged.every((k) => received.has(k)),
          'a key counted purged reached Fastly',
        );
        assert.ok(received.size < KEYS, 'sending stopped at the kill');

        // Killing an ended one with isOnKillCascade=false: Kestra's 409, an error to the SDK.
        await assert.rejects(
          call((cb) => executions.killExecution!(ex.id, false, 'main', cb)),
          (e: { status?: number }) => e.status === 409,
        );
      });

      test('restart a FAILED execution (follow it to SUCCESS), refused for a SUCCESS one as Kestra refuses it; logs listed and followed; delete', async (t) => {
        const { sim, api } = await serverFor(t, store);
        const { executions, logs } = api;
        sim.setTokens({ [FASTLY_TOKEN]: ['global:read'] }); // no purge scope: the purge fails (403)
        const failed = await createExecution<ExecutionModel>(api.client, 'company.ops', 'steps', {}, true);
        assert.equal(failed.state.current, 'FAILED');

        sim.setTokens(undefined);
        const restarted = await call<ExecutionModel>((cb) =>
          executions.restartExecution!(failed.id, 'main', {}, cb),
        );
        assert.equal(restarted.id, failed.id);
        assert.equal(restarted.state.current, 'RESTARTED');
        const events = await followExecution(executions, failed.id);
        assert.equal(events.at(-1)?.id, 'end');
        assert.equal((JSON.parse(events.at(-1)?.data ?? '{}') as ExecutionModel).state.current, 'SUCCESS');
        const after = await call<ExecutionModel>((cb) => executions.getExecution!(failed.id, 'main', cb));
        assert.deepEqual(
          after.taskRunList?.map((r) => [r.taskId, r.state.current, r.attempts.length]),
          [
            ['first', 'SUCCESS', 1],
            ['warn', 'SUCCESS', 1],
            ['purge', 'SUCCESS', 2],
          ],
        );

        // Nothing failed, nothing to restart from: Kestra's ExecutionService.restart throws
        // IllegalArgumentException("No task found to restart execution from!"), which its
        // ErrorController answers 422 "Illegal argument: …".
        const again = await respond((cb) => executions.restartExecution!(failed.id, 'main', {}, cb));
        assert.equal(again.status, 422);
        assert.deepEqual(again.body, {
          message: 'Illegal argument: No task found to restart execution from!',
        });

        // Logs: Kestra's LogEntry lines, the token masked; minLevel filters; followed as events.
        const lines = await call<{ taskId?: string; level: string; message: string; executionId: string }[]>(
          (cb) => logs.listLogsFromExecution!(failed.id, 'main', {}, cb),
        );
        assert.ok(lines.some((l) => l.taskId === 'first' && l.message === 'hello, token ******'));
        assert.ok(!JSON.stringify(lines).includes(FASTLY_TOKEN), 'the token is in no line');
        assert.ok(lines.every((l) => l.executionId === failed.id));
        const warn = await call<{ taskId?: string; level: string; message: string }[]>((cb) =>
          logs.listLogsFromExecution!(failed.id, 'main', { minLevel: 'WARN' }, cb),
        );
        assert.ok(warn.length > 0 && warn.every((l) => l.level === 'WARN' || l.level === 'ERROR'));
        assert.ok(warn.some((l) => l.taskId === 'warn' && l.message === 'careful'));
        // `followLogsFromExecution` is an event stream too: the SDK hands over its text at the end.
        const streamed = await respond((cb) => logs.followLogsFromExecution!(failed.id, 'main', {}, cb));
        assert.equal(streamed.status, 200);
        assert.deepEqual(
          eventsOfText(streamed.text).map((e) => (JSON.parse(e.data) as { message: string }).message),
          lines.map((l) => l.message),
        );

        // Delete: 204, then the SDK gets Kestra's 404 for it, and no log lines (Kestra's
        // LogController lists what is kept for the id, without looking the execution up).
        const del = await respond((cb) =>
          executions.deleteExecution!(failed.id, true, true, true, 'main', cb),
        );
        assert.equal(del.status, 204);
        await assert.rejects(
          call((cb) => executions.getExecution!(failed.id, 'main', cb)),
          (e: { status?: number }) => e.status === 404,
        );
        assert.deepEqual(await call((cb) => logs.listLogsFromExecution!(failed.id, 'main', {}, cb)), []);
      });
    });
  }
});
