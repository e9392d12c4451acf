import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { parseBasicUsers, readBasicUsers } from '../src/server/auth.js';
import type { RunningServer } from '../src/server/index.js';
import { type KestraServerOptions, STORES, type StoreName, startKestraServer } from './kestra-server.js';
import { postgresForFile } from './support/postgres.js';
import type { SchedulerEvent } from '../src/flow/scheduler.js';
import { SERVICE } from './helpers.js';

// Kestra's flows, triggers, health and authentication as its clients call them (issue 23).

import { HOOK_KEY } from './kestra-server.js';

const ALERT = `id: alert
namespace: company.ops
description: 5xx alert
labels:
  team: edge
variables:
  ratio: 1.0
  big: 9223372036854775807
triggers:
  - id: spike
    type: io.kestra.plugin.fastly.stats.StatsTrigger
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    field: status_5xx
    threshold: 1000000
    window: PT1H
    interval: PT5M
    fireOn: CROSSING
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ trigger.value }}"
`;

const DAILY = `id: daily
namespace: company.ops.reports
triggers:
  - id: morning
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 6 * * *"
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hi
`;

const FAILING = `id: failing
namespace: company.cms
inputs:
  - id: who
    type: STRING
    defaults: nobody
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: "{{ secret('HOOK_KEY') }}"
    wait: true
    returnOutputs: true
  - id: plain
    type: io.kestra.plugin.core.trigger.Webhook
    key: plain-${HOOK_KEY}
    wait: true
  - id: coded
    type: io.kestra.plugin.core.trigger.Webhook
    key: coded-${HOOK_KEY}
    wait: true
    returnOutputs: true
    responseCode: "{{ trigger.parameters.who[0] == 'teapot' ? 418 : (outputs.out.values.who == 'nobody' ? 202 : 200) }}"
    responseContentType: text/plain
outputs:
  - id: who
    type: STRING
    value: "{{ outputs.out.values.who }}"
tasks:
  - id: out
    type: io.kestra.plugin.core.output.OutputValues
    values:
      who: "{{ inputs.who }}"
      params: "{{ trigger.parameters | json }}"
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: "{{ trigger.parameters.fail[0] ?? 'failed on purpose' }}"
`;

async function flowsDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kf-kapi-'));
  await mkdir(join(dir, 'flows'));
  await writeFile(join(dir, 'flows', 'alert.yml'), ALERT);
  await writeFile(join(dir, 'flows', 'daily.yml'), DAILY);
  await writeFile(join(dir, 'flows', 'failing.yml'), FAILING);
  return dir;
}

// Every case with a server on both stores: the embedded SQLite file and a real PostgreSQL (one
// cluster for the file, a database per case); the two stores' cases run side by side.
const pgsql = postgresForFile();

/** The server on this file's flows (alert, daily, failing), its executions in `store`. */
const kestraServer = async (
  t: TestContext,
  store: StoreName,
  options: Omit<KestraServerOptions, 'dir' | 'databaseUrl'> = {},
) =>
  startKestraServer(t, {
    ...options,
    dir: await flowsDir(),
    databaseUrl: store === 'PostgreSQL' ? await pgsql.freshDatabase() : undefined,
  });

/** Resolves with the first scheduler event that `match` accepts; rejects past the deadline. */
function nextEvent(
  server: RunningServer,
  match: (e: SchedulerEvent) => boolean,
  deadlineMs = 15_000,
): Promise<SchedulerEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no matching scheduler event within ${deadlineMs} ms`));
    }, deadlineMs);
    const stop = server.scheduler.subscribe((e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      stop();
      resolve(e);
    });
  });
}

const getJson = async (url: string, headers: Record<string, string> = {}) => {
  const r = await fetch(url, { headers });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> & unknown[] };
};

const USER = { username: 'admin@kestra.io', password: 'Admin1234-secret' };
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('Kestra’s flows, triggers, webhooks, health and authentication', { concurrency: 2 }, () => {
  for (const store of STORES) {
    describe(store, () => {
      test('flows: get one as Kestra (labels as a list, revision, source when asked), list a namespace, search by prefix, q, labels, sort and page', async (t) => {
        const { url, dir } = await kestraServer(t, store);
        const api = `${url}/api/v1/main/flows`;

        const one = await getJson(`${api}/company.ops/alert`);
        assert.equal(one.status, 200);
        assert.equal(one.body.id, 'alert');
        assert.equal(one.body.namespace, 'company.ops');
        assert.equal(one.body.revision, 1);
        assert.equal(one.body.description, '5xx alert');
        assert.deepEqual(one.body.labels, [{ key: 'team', value: 'edge' }]);
        assert.equal(one.body.disabled, false);
        assert.equal(one.body.deleted, false);
        assert.equal(
          (one.body.triggers as { type: string }[])[0]?.type,
          'io.kestra.plugin.fastly.stats.StatsTrigger',
        );
        assert.equal((one.body.tasks as { id: string }[])[0]?.id, 'log');
        assert.equal(one.body.source, undefined, 'no source unless asked');
        // The flow's numbers as Jackson reads its YAML: a Double stays 1.0, a long keeps every digit.
        const text = await (await fetch(`${api}/company.ops/alert`)).text();
        assert.match(text, /"variables":\{"ratio":1\.0,"big":9223372036854775807\}/);

        const withSource = await getJson(`${api}/company.ops/alert?source=true`);
        assert.equal(withSource.body.source, await readFile(join(dir, 'flows', 'alert.yml'), 'utf8'));
        // the path without the tenant (Kestra before 0.20) answers the same
        assert.deepEqual((await getJson(`${url}/api/v1/flows/company.ops/alert`)).body, one.body);

        const missing = await getJson(`${api}/company.ops/nope`);
        assert.equal(missing.status, 404);
        assert.equal(missing.body.message, 'flow company.ops.nope not found');
        const badSource = await getJson(`${api}/company.ops/alert?source=yes`);
        assert.equal(badSource.status, 400);
        assert.match(
          String(badSource.body.message),
          /^source: "yes" is not allowed; expected true or false$/,
        );

        const ns = await getJson(`${api}/company.ops`);
        assert.deepEqual(
          (ns.body as { id: string }[]).map((f) => f.id),
          ['alert'],
          'a namespace lists its own flows, not its children’s',
        );

        const ids = (b: unknown) => (b as { results: { id: string }[] }).results.map((f) => f.id);
        const all = await getJson(`${api}/search`);
        assert.deepEqual(ids(all.body), ['failing', 'alert', 'daily']);
        assert.equal(all.body.total, 3);
        assert.deepEqual(ids((await getJson(`${api}/search?namespace=company.ops`)).body), [
          'alert',
          'daily',
        ]);
        assert.deepEqual(ids((await getJson(`${api}/search?q=REPORT`)).body), ['daily']);
        assert.deepEqual(ids((await getJson(`${api}/search?labels=team:edge`)).body), ['alert']);
        assert.deepEqual(ids((await getJson(`${api}/search?labels=team:web`)).body), []);
        const paged = await getJson(`${api}/search?sort=id:desc&size=2&page=2`);
        assert.deepEqual(ids(paged.body), ['alert']);
        assert.equal(paged.body.total, 3);
        const badSort = await getJson(`${api}/search?sort=file:asc`);
        assert.equal(badSort.status, 400);
        assert.match(
          String(badSort.body.message),
          /^sort: "file:asc" is not allowed; expected FIELD:asc or FIELD:desc/,
        );
      });

      test('triggers search: a StatsTrigger shows its last value, armed and next date; a Schedule its next date; a Webhook its place, its key hidden', async (t) => {
        const evaluated = (server: RunningServer) =>
          nextEvent(server, (e) => e.type === 'evaluated' && e.trigger === 'company.ops.alert.spike');
        const { server, url } = await kestraServer(t, store);
        // The StatsTrigger is evaluated at start; its first evaluation may already be over.
        if (!server.scheduler.triggers()[0]?.lastEvaluation) await evaluated(server);
        // Its state is in memory before the store has it, and the API answers from the store.
        await server.scheduler.idle();
        const r = await getJson(`${url}/api/v1/main/triggers/search?size=10`);
        assert.equal(r.status, 200);
        const rows = (
          r.body as unknown as {
            results: { abstractTrigger: Record<string, unknown>; triggerContext: Record<string, unknown> }[];
            total: number;
          }
        ).results;
        assert.deepEqual(
          rows.map((x) =>
            [x.triggerContext.namespace, x.triggerContext.flowId, x.triggerContext.triggerId].join('.'),
          ),
          [
            'company.cms.failing.coded',
            'company.cms.failing.hook',
            'company.cms.failing.plain',
            'company.ops.alert.spike',
            'company.ops.reports.daily.morning',
          ],
        );
        assert.equal(r.body.total, 5);
        const [, hook, plain, spike, morning] = rows;
        const snap = server.scheduler.triggers()[0];
        assert.ok(snap?.lastEvaluation);
        assert.equal(spike?.triggerContext.date, snap.lastEvaluation);
        assert.equal(spike?.triggerContext.nextExecutionDate, new Date(snap.nextDue as number).toISOString());
        assert.equal(spike?.triggerContext.lastValue, snap.lastValue);
        assert.equal(typeof spike?.triggerContext.lastValue, 'number');
        // A Double as in Kestra (StatsTrigger.Output's value): written with its decimal.
        const raw = await (await fetch(`${url}/api/v1/main/triggers/search?size=10`)).text();
        assert.match(raw, new RegExp(`"lastValue":${String(snap.lastValue)}\\.0[,}]`));
        assert.equal(spike?.triggerContext.armed, true);
        assert.equal(spike?.triggerContext.fired, 0);
        assert.equal(spike?.triggerContext.disabled, false);
        assert.equal(spike?.abstractTrigger.field, 'status_5xx');
        assert.equal(
          spike?.abstractTrigger.apiToken,
          "{{ secret('FASTLY_API_TOKEN') }}",
          'as written, not rendered',
        );

        const next = Date.parse(String(morning?.triggerContext.nextExecutionDate));
        assert.equal(new Date(next).getUTCHours(), 6);
        assert.ok(next > Date.now() && next <= Date.now() + 86_400_000);

        assert.equal(hook?.triggerContext.type, 'io.kestra.plugin.core.trigger.Webhook');
        assert.equal(hook?.triggerContext.nextExecutionDate, undefined);
        assert.ok(
          !JSON.stringify(r.body).includes(HOOK_KEY),
          'webhook keys are hidden, from a secret or written',
        );
        assert.equal(hook?.abstractTrigger.key, "{{ secret('HOOK_KEY') }}");
        assert.equal(plain?.abstractTrigger.key, '******');
        const flow = await getJson(`${url}/api/v1/main/flows/company.cms/failing?source=true`);
        assert.ok(!JSON.stringify(flow.body).includes(HOOK_KEY), 'and in the flow and its source');

        const ops = await getJson(
          `${url}/api/v1/main/triggers/search?namespace=company.ops&sort=triggerId:desc`,
        );
        assert.deepEqual(
          (ops.body as unknown as { results: { triggerContext: { triggerId: string } }[] }).results.map(
            (x) => x.triggerContext.triggerId,
          ),
          ['spike', 'morning'],
        );
        const byFlow = await getJson(`${url}/api/v1/main/triggers/search?flowId=failing&q=PLAIN`);
        assert.equal(byFlow.body.total, 1);
      });

      test("executions search: Kestra's filters[FIELD][OPERATION] and q narrow the results; unknown parameters, fields, operations and values are 400", async (t) => {
        const { url } = await kestraServer(t, store);
        const start = async (path: string) => {
          const r = await fetch(`${url}/api/v1/main/executions/${path}`, { method: 'POST' });
          assert.equal(r.status, 200, await r.clone().text());
          return (await r.json()) as {
            id: string;
            state: { current: string; startDate: string; endDate: string };
          };
        };
        const ok = await start('company.ops.reports/daily?wait=true&labels=env:prod');
        const failed = await start('company.cms/failing?wait=true');
        assert.deepEqual([ok.state.current, failed.state.current], ['SUCCESS', 'FAILED']);
        const both = [failed.id, ok.id];
        const search = async (query: string) => {
          const r = await getJson(`${url}/api/v1/main/executions/search?${query}`);
          assert.equal(r.status, 200, `${query}: ${JSON.stringify(r.body)}`);
          const body = r.body as unknown as { results: { id: string }[]; total: number };
          assert.equal(body.total, body.results.length, query);
          return body.results.map((e) => e.id);
        };
        const at = (date: string) => encodeURIComponent(date);
        for (const [query, expected] of [
          // what trial T4 got every execution for
          ['filters[state][EQUALS]=FAILED', [failed.id]],
          ['filters[namespace][EQUALS]=nope', []],
          ['q=nothing-matches', []],
          ['filters[state][NOT_EQUALS]=FAILED', [ok.id]],
          ['filters[state][IN]=FAILED,SUCCESS', both],
          ['filters[state][IN]=[KILLED,SUCCESS]', [ok.id]],
          ['filters[state][NOT_IN]=FAILED,SUCCESS', []],
          ['filters[namespace][EQUALS]=company', []],
          ['filters[namespace][PREFIX]=company', both],
          ['filters[namespace][PREFIX]=company.ops', [ok.id]],
          ['filters[namespace][STARTS_WITH]=company.c', [failed.id]],
          ['filters[namespace][NOT_IN]=company.cms,company.ops', [ok.id]],
          ['filters[flowId][ENDS_WITH]=ing', [failed.id]],
          ['filters[flowId][CONTAINS]=ail', both],
          ['filters[flowId][CONTAINS]=AIL', []],
          ['filters[flowId][EQUALS]=daily&filters[flowId][NOT_EQUALS]=daily', []],
          ['filters[labels][EQUALS][env]=prod', [ok.id]],
          ['filters[labels][EQUALS][env]=dev', []],
          ['filters[labels][EQUALS]=env:prod', [ok.id]],
          // the second started after the first had ended
          [`filters[startDate][GREATER_THAN]=${at(ok.state.endDate)}`, [failed.id]],
          [`filters[startDate][LESS_THAN_OR_EQUAL_TO]=${at(ok.state.endDate)}`, [ok.id]],
          [`filters[endDate][LESS_THAN_OR_EQUAL_TO]=${at(ok.state.endDate)}`, [ok.id]],
          [`filters[endDate][EQUALS]=${at(failed.state.endDate)}`, [failed.id]],
          ['filters[timeRange][EQUALS]=PT1H', both],
          ['q=FAIL', [failed.id]],
          ['q=company', both],
          [`q=${ok.id.slice(1, 9)}`, [ok.id]],
          ['filters[q][NOT_EQUALS]=reports', [failed.id]],
          ['scope=USER', both],
          ['filters[scope][EQUALS]=SYSTEM', []],
          ['childFilter=MAIN', both],
          ['filters[childFilter][EQUALS]=CHILD', []],
          [`triggerExecutionId=${ok.id}`, []],
          // the legacy parameters and the filters together: both count
          ['state=SUCCESS&filters[flowId][EQUALS]=failing', []],
          ['namespace=company&filters[state][IN]=FAILED&sort=state.startDate:asc', [failed.id]],
          ['state=FAILED,SUCCESS', both],
        ] as const) {
          assert.deepEqual(await search(query), expected, query);
        }
        for (const [query, message] of [
          [
            'stat=FAILED',
            /^stat: "FAILED" is not a parameter of executions\/search; expected page, size, sort, filters, q, /,
          ],
          [
            'filters[status][EQUALS]=FAILED',
            /^filters\[status\]\[EQUALS\]: field "status" is not allowed on executions\/search; expected one of q, scope, namespace, flowId, state, labels, startDate, endDate, timeRange, triggerExecutionId, childFilter$/,
          ],
          [
            'filters[state][CONTAINS]=FAIL',
            /^filters\[state\]\[CONTAINS\]: operation "CONTAINS" is not allowed for state; expected one of EQUALS, NOT_EQUALS, IN, NOT_IN$/,
          ],
          [
            'filters[state][LIKE]=FAILED',
            /^filters\[state\]\[LIKE\]: operation "LIKE" is not allowed; expected one of EQUALS, /,
          ],
          [
            'filters[state][EQUALS]=BOGUS',
            /^filters\[state\]\[EQUALS\]: "BOGUS" is not allowed; expected one of CREATED, /,
          ],
          [
            'filters[namespace][REGEX]=comp.*',
            /operation "REGEX" is not allowed for namespace; expected one of EQUALS, /,
          ],
          [
            'filters[state]=FAILED',
            /^filters\[state\]: "FAILED" is not allowed; expected filters\[FIELD\]\[OPERATION\]=VALUE/,
          ],
          ['filters[state][IN]=', /^filters\[state\]\[IN\]: an empty list is not allowed/],
          // what trial T5 got an empty 200 for
          [
            'filters[namespace][EQUALS]',
            /^filters\[namespace\]\[EQUALS\]: a value is missing; expected filters\[namespace\]\[EQUALS\]=VALUE$/,
          ],
          ['filters[flowId][CONTAINS]=', /^filters\[flowId\]\[CONTAINS\]: a value is missing; /],
          [
            'filters[labels][EQUALS][env]=',
            /^filters\[labels\]\[EQUALS\]\[env\]: a value is missing; expected filters\[labels\]\[EQUALS\]\[env\]=VALUE$/,
          ],
          [
            'filters[startDate][GREATER_THAN]=yesterday',
            /^filters\[startDate\]\[GREATER_THAN\]: "yesterday" is not allowed; expected a date-time/,
          ],
          [
            'filters[timeRange][EQUALS]=soon',
            /^filters\[timeRange\]\[EQUALS\]: "soon" is not allowed; expected an ISO-8601 duration/,
          ],
          ['filters[labels][EQUALS]=nokey', /: "nokey" is not allowed; expected key:value$/],
          ['filters[childFilter][EQUALS]=ALL', /"ALL" is not allowed; expected CHILD or MAIN$/],
          ['scope=EVERYONE', /^scope: "EVERYONE" is not allowed; expected USER or SYSTEM$/],
          ['filters=nope', /^filters: "nope" is not allowed; expected filters\[FIELD\]\[OPERATION\]=VALUE/],
          ['state=FAILED,BOGUS', /^state: "BOGUS" is not allowed/],
        ] as const) {
          const r = await getJson(`${url}/api/v1/main/executions/search?${query}`);
          assert.equal(r.status, 400, query);
          assert.match(String(r.body.message), message, query);
        }
      });

      test("flows and triggers search: Kestra's filters[FIELD][OPERATION]; unknown parameters, fields and operations are 400", async (t) => {
        const { url } = await kestraServer(t, store);
        const flows = async (query: string) => {
          const r = await getJson(`${url}/api/v1/main/flows/search?${query}`);
          assert.equal(r.status, 200, `${query}: ${JSON.stringify(r.body)}`);
          return (r.body as unknown as { results: { id: string }[] }).results.map((f) => f.id);
        };
        for (const [query, expected] of [
          ['filters[namespace][EQUALS]=company.ops', ['alert']],
          ['filters[namespace][PREFIX]=company.ops', ['alert', 'daily']],
          ['filters[namespace][EQUALS]=nope', []],
          ['filters[flowId][IN]=daily,failing', ['failing', 'daily']],
          ['filters[flowId][NOT_EQUALS]=alert&filters[namespace][STARTS_WITH]=company.o', ['daily']],
          ['filters[q][EQUALS]=REPORT', ['daily']],
          ['filters[labels][EQUALS][team]=edge', ['alert']],
          ['filters[labels][EQUALS][team]=web', []],
          ['filters[scope][EQUALS]=USER', ['failing', 'alert', 'daily']],
          ['scope=SYSTEM', []],
        ] as const) {
          assert.deepEqual(await flows(query), expected, query);
        }
        const triggers = async (query: string) => {
          const r = await getJson(`${url}/api/v1/main/triggers/search?size=20&${query}`);
          assert.equal(r.status, 200, `${query}: ${JSON.stringify(r.body)}`);
          return (r.body as unknown as { results: { triggerContext: { triggerId: string } }[] }).results.map(
            (x) => x.triggerContext.triggerId,
          );
        };
        for (const [query, expected] of [
          ['filters[triggerId][EQUALS]=spike', ['spike']],
          ['filters[triggerId][IN]=spike,morning', ['spike', 'morning']],
          ['filters[namespace][EQUALS]=company.ops', ['spike']],
          ['filters[flowId][EQUALS]=failing&filters[triggerId][STARTS_WITH]=c', ['coded']],
          ['filters[q][EQUALS]=MORN', ['morning']],
          ['filters[triggerState][EQUALS]=disabled', []],
          ['filters[triggerState][EQUALS]=enabled&filters[flowId][EQUALS]=daily', ['morning']],
        ] as const) {
          assert.deepEqual(await triggers(query), expected, query);
        }
        for (const [path, message] of [
          [
            'flows/search?id=alert',
            /^id: "alert" is not a parameter of flows\/search; expected page, size, sort, filters, q, scope, namespace, labels or filters/,
          ],
          [
            'flows/search?filters[state][EQUALS]=FAILED',
            /^filters\[state\]\[EQUALS\]: field "state" is not allowed on flows\/search; expected one of q, scope, namespace, flowId, labels$/,
          ],
          [
            'flows/search?filters[q][CONTAINS]=x',
            /operation "CONTAINS" is not allowed for q; expected one of EQUALS, NOT_EQUALS$/,
          ],
          ['triggers/search?trigger=spike', /^trigger: "spike" is not a parameter of triggers\/search/],
          [
            'triggers/search?workerId=w1',
            /^workerId: "w1" is not allowed; the server evaluates its triggers itself/,
          ],
          [
            'triggers/search?filters[triggerState][EQUALS]=armed',
            /"armed" is not allowed; expected enabled or disabled$/,
          ],
          ['triggers/search?filters[triggerId][PREFIX]=s', /operation "PREFIX" is not allowed for triggerId/],
        ] as const) {
          const r = await getJson(`${url}/api/v1/main/${path}`);
          assert.equal(r.status, 400, path);
          assert.match(String(r.body.message), message, path);
        }
      });

      test('a webhook with wait and returnOutputs answers 500 with the outputs when the execution FAILED, as Kestra; without returnOutputs, 500 with the execution', async (t) => {
        const { server, url } = await kestraServer(t, store);
        const hook = `${url}/api/v1/main/executions/webhook/company.cms/failing`;
        const r = await fetch(`${hook}/${HOOK_KEY}?who=cms`, { method: 'POST' });
        assert.equal(r.status, 500);
        // The body is the flow's `outputs` (Kestra's execution outputs), not each task's.
        assert.deepEqual(await r.json(), { who: 'nobody' });

        // Kestra's `responseCode` (rendered with the ended execution) replaces the 500/200 default,
        // and `responseContentType: text/plain` answers the outputs as text.
        for (const [who, status] of [
          ['teapot', 418],
          ['cms', 202],
        ] as const) {
          const coded = await fetch(`${hook}/coded-${HOOK_KEY}?who=${who}`, { method: 'POST' });
          assert.equal(coded.status, status, who);
          assert.match(coded.headers.get('content-type') ?? '', /^text\/plain/);
          assert.equal(await coded.text(), JSON.stringify({ who: 'nobody' }));
        }

        const plain = await fetch(`${hook}/plain-${HOOK_KEY}`, { method: 'POST' });
        assert.equal(plain.status, 500);
        const ex = (await plain.json()) as {
          id: string;
          state: { current: string };
          taskRunList: { taskId: string; state: { current: string } }[];
        };
        assert.equal(ex.state.current, 'FAILED');
        assert.deepEqual(
          // both end in the same millisecond: the list's order between them is the store's
          ex.taskRunList.map((x) => [x.taskId, x.state.current]).sort(),
          [
            ['boom', 'FAILED'],
            ['out', 'SUCCESS'],
          ],
        );
        assert.equal((await server.queue.store.get(ex.id))?.state, 'FAILED');
      });

      test('credentials in a webhook query string are kept out of trigger.parameters and the history, like credential headers', async (t) => {
        const { server, url } = await kestraServer(t, store);
        const secret = 'query-secret-4f2a9c';
        const r = await fetch(
          `${url}/api/v1/main/executions/webhook/company.cms/failing/plain-${HOOK_KEY}?who=cms&token=${secret}&access_token=${secret}&api_key=${secret}&password=${secret}&sig=${secret}`,
          { method: 'POST', headers: { 'x-api-key': secret } },
        );
        const ex = (await r.json()) as {
          id: string;
          trigger: { variables: { parameters: object; headers: object } };
        };
        assert.deepEqual(ex.trigger.variables.parameters, { who: ['cms'] });
        assert.ok(!('x-api-key' in ex.trigger.variables.headers));
        const stored = await server.queue.store.get(ex.id);
        assert.ok(stored);
        assert.ok(!JSON.stringify(stored).includes(secret));
        assert.ok(!JSON.stringify(await server.queue.store.outputs(ex.id)).includes(secret));
        assert.ok(!JSON.stringify(await server.queue.store.history()).includes(secret));
      });

      test('health: /healthz and Kestra’s /health (liveness, readiness) answer probes without credentials; the API does not', async (t) => {
        const { url } = await kestraServer(t, store, { apiToken: 'api-token-0123456789abcdef' });
        for (const path of ['/healthz', '/health', '/health/liveness', '/health/readiness']) {
          const r = await getJson(`${url}${path}`);
          assert.equal(r.status, 200, path);
          assert.deepEqual(r.body, { name: 'kestra-fastly', status: 'UP' });
        }
        const api = await fetch(`${url}/api/v1/main/flows/search`);
        assert.equal(api.status, 401);
        assert.equal(api.headers.get('www-authenticate'), 'Bearer');
      });

      test('basic auth as Kestra’s basicAuth users, besides the bearer token; wrong ones are refused; passwords never logged', async (t) => {
        const token = 'api-token-0123456789abcdef';
        const { url, logs } = await kestraServer(t, store, { apiToken: token, users: [USER] });
        const search = `${url}/api/v1/main/flows/search`;
        assert.equal(
          (await fetch(search, { headers: { authorization: basic(USER.username, USER.password) } })).status,
          200,
        );
        assert.equal((await fetch(search, { headers: { authorization: `Bearer ${token}` } })).status, 200);
        const wrong = await fetch(search, {
          headers: { authorization: basic(USER.username, 'Admin1234-wrong') },
        });
        assert.equal(wrong.status, 401);
        assert.deepEqual(await wrong.json(), { message: 'the credentials are wrong' });
        assert.equal(wrong.headers.get('www-authenticate'), 'Bearer, Basic realm="kestra-fastly"');
        assert.equal(
          (await fetch(search, { headers: { authorization: basic('root', USER.password) } })).status,
          401,
        );
        const none = await fetch(search);
        assert.deepEqual(await none.json(), {
          message:
            'missing credentials: send Authorization: Bearer <api token> or Authorization: Basic (a basic-auth user)',
        });
        assert.ok(!logs.join('\n').includes(USER.password));
      });

      test('the dashboard off loopback: a page asks for the login; the login sets a session the dashboard and API accept; a cross-site write with it is refused', async (t) => {
        const { url } = await kestraServer(t, store, { users: [USER] });
        const page = await fetch(`${url}/ui/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
        assert.equal(page.status, 302);
        assert.equal(page.headers.get('location'), '/login?next=%2Fui%2F');
        const form = await fetch(`${url}/login?next=%2Fui%2F`);
        assert.equal(form.status, 200);
        const html = await form.text();
        assert.match(html, /<form method="post" action="\/login">/);
        assert.match(html, /name="next" value="\/ui\/"/);

        const login = (password: string, next = '/ui/') =>
          fetch(`${url}/login`, {
            method: 'POST',
            body: new URLSearchParams({ username: USER.username, password, next }),
            redirect: 'manual',
          });
        const refused = await login('not-the-password');
        assert.equal(refused.status, 401);
        assert.equal(refused.headers.get('set-cookie'), null);
        assert.match(await refused.text(), /Wrong user, password or token\./);

        const ok = await login(USER.password, '//evil.example/');
        assert.equal(ok.status, 303);
        assert.equal(ok.headers.get('location'), '/ui/', 'only a path of this server: no open redirect');
        const cookie = ok.headers.get('set-cookie') ?? '';
        assert.match(
          cookie,
          /^kestra_fastly_session=[^;]+; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict$/,
        );
        const session = cookie.split(';')[0] as string;
        assert.ok(!session.includes(USER.password));

        const ui = await fetch(`${url}/ui/`, { headers: { accept: 'text/html', cookie: session } });
        assert.equal(ui.status, 200);
        assert.match(await ui.text(), /<div id="app">/);
        assert.equal(
          (await fetch(`${url}/api/v1/main/flows/search`, { headers: { cookie: session } })).status,
          200,
        );
        const forged = `${session.slice(0, -3)}AAA`;
        assert.equal(
          (await fetch(`${url}/api/v1/main/flows/search`, { headers: { cookie: forged } })).status,
          401,
        );
        const crossSite = await fetch(`${url}/api/v1/main/executions/company.cms/failing`, {
          method: 'POST',
          headers: { cookie: session, origin: 'https://evil.example' },
        });
        assert.equal(crossSite.status, 401);

        // Logout ends the session on the server: the same cookie, kept by anyone, is refused afterwards.
        const logout = await fetch(`${url}/logout`, {
          method: 'POST',
          headers: { cookie: session },
          redirect: 'manual',
        });
        assert.equal(logout.status, 303);
        assert.match(
          logout.headers.get('set-cookie') ?? '',
          /^kestra_fastly_session=; Max-Age=0; Path=\/; HttpOnly; SameSite=Strict$/,
        );
        assert.equal(
          (await fetch(`${url}/api/v1/main/flows/search`, { headers: { cookie: session } })).status,
          401,
        );
        const again = await fetch(`${url}/ui/`, {
          headers: { accept: 'text/html', cookie: session },
          redirect: 'manual',
        });
        assert.equal(again.status, 302);
      });
    });
  }
});

test('basic-auth users: USER:PASSWORD lines from a file and KESTRA_FASTLY_BASIC_AUTH; each bad line refused on one line, the password hidden', () => {
  assert.deepEqual(
    parseBasicUsers('# admins\nadmin@kestra.io:Admin1234-secret\n\nops:colon:in-password\n', 'users.txt'),
    [
      { username: 'admin@kestra.io', password: 'Admin1234-secret' },
      { username: 'ops', password: 'colon:in-password' },
    ],
  );
  assert.throws(
    () => parseBasicUsers('admin:short', 'users.txt'),
    (e: Error) =>
      e.message ===
      'users.txt:1: the password of user "admin" is too short (value hidden); expected USER:PASSWORD with at least 8 characters',
  );
  // A value without a colon may be a bare password: the message never shows it.
  assert.throws(
    () => parseBasicUsers('Adminpassw0rdXYZ', 'users.txt'),
    (e: Error) =>
      e.message === "users.txt:1: no ':' in the value (value hidden); expected USER:PASSWORD" &&
      !e.message.includes('Adminpassw0rdXYZ'),
  );
  assert.throws(
    () => readBasicUsers(undefined, 'Adminpassw0rdXYZ'),
    (e: Error) =>
      e.message.startsWith("KESTRA_FASTLY_BASIC_AUTH: no ':'") && !e.message.includes('Adminpassw0rd'),
  );
  assert.throws(
    () => parseBasicUsers('a b:Admin1234-secret', 'users.txt'),
    /users\.txt:1: "a b" is not a user name/,
  );
  assert.throws(
    () => parseBasicUsers('a:Admin1234-secret\na:Admin1234-other', 'users.txt'),
    /users\.txt:2: user "a" is listed twice/,
  );
  assert.throws(
    () => readBasicUsers('/nonexistent/users.txt', undefined),
    /^InvalidInputError: --basic-auth-file: cannot read "\/nonexistent\/users\.txt" \(ENOENT\); expected a file of USER:PASSWORD lines$/,
  );
  assert.throws(
    () => readBasicUsers(undefined, 'admin:short'),
    (e: Error) =>
      e.message.startsWith('KESTRA_FASTLY_BASIC_AUTH: the password') && !e.message.includes(':short'),
  );
  assert.deepEqual(readBasicUsers(undefined, 'admin:Admin1234-secret'), [
    { username: 'admin', password: 'Admin1234-secret' },
  ]);
});
