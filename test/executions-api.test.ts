import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { createLogger } from '../src/logger.js';
import { Masker } from '../src/masker.js';
import { startServer } from '../src/server/index.js';
import { PgStore } from '../src/runtime/postgres.js';
import { SERVICE, sim, waitForRequests } from './helpers.js';
import { unfinished } from './history.js';
import { STORES, type StoreName } from './kestra-server.js';
import { readEvents, type SseEvent } from './sse.js';
import { postgresForFile } from './support/postgres.js';

// Every case on both stores: the embedded SQLite file and a real PostgreSQL (one cluster for the
// file, a database per case); the two stores' cases run side by side.
const pgsql = postgresForFile();

const TOKEN = 'tok-executions-api-4d1';
const API = '/api/v1/main';

interface History {
  state: string;
  date: string;
}

interface View {
  id: string;
  state: { current: string; startDate: string; endDate?: string; histories: History[] };
  labels?: { key: string; value: string }[];
  outputs?: Record<string, unknown>;
  taskRunList: {
    id: string;
    taskId: string;
    attempts: { state: { current: string; histories: History[] } }[];
    state: { current: string; histories: History[] };
    outputs?: Record<string, unknown>;
  }[];
}

interface LogLine {
  tenantId: string;
  namespace: string;
  flowId: string;
  taskId?: string;
  executionId: string;
  taskRunId?: string;
  attemptNumber: number | null;
  timestamp: string;
  level: string;
  message: string;
}

const KEYS = 20_000;
/**
 * A purge that is still running when the test acts on it, 1 or 2 requests in: 20 requests of 256
 * keys, 2 at a time at 100–300 ms each, so at least 0.9 s of it is left. The tests that only need
 * it running (delete, shutdown, stop) take this size; reading its inputs at each change costs as
 * the keys do, and the kill's whole account is proven once, on 20,000.
 */
const RUNNING_KEYS = 5_000;

/** The states of a history, after checking its dates never go back. */
function statesOf(histories: History[]): string[] {
  const dates = histories.map((h) => Date.parse(h.date));
  assert.ok(
    dates.every((d, i) => Number.isFinite(d) && (i === 0 || d >= (dates[i - 1] as number))),
    `dates in order: ${JSON.stringify(histories)}`,
  );
  return histories.map((h) => h.state);
}

const FLOWS: Record<string, string> = {
  'big.yml': `id: big_purge
namespace: company.ops
labels:
  team: edge
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.Keys
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    concurrency: 2
    surrogateKeys: "{{ inputs.keys }}"
inputs:
  - id: keys
    type: JSON
errors:
  - id: on_error
    type: io.kestra.plugin.core.log.Log
    message: errors branch
finally:
  - id: always
    type: io.kestra.plugin.core.log.Log
    message: finally branch
`,
  'steps.yml': `id: steps
namespace: company.ops
inputs:
  - id: who
    type: STRING
    defaults: nobody
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: "hello {{ inputs.who }}, token {{ secret('FASTLY_API_TOKEN') }}"
  - id: warn
    type: io.kestra.plugin.core.log.Log
    level: WARN
    message: careful
  - id: purge
    type: io.kestra.plugin.fastly.purge.Keys
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    surrogateKeys: [a, b]
  - id: last
    type: io.kestra.plugin.core.log.Log
    message: done
errors:
  - id: on_error
    type: io.kestra.plugin.core.log.Log
    message: the purge failed
`,
};

async function serverOn(
  t: TestContext,
  store: StoreName,
  latency: { latencyMs: number; latencyJitterMs: number },
  lines?: string[],
) {
  const databaseUrl = store === 'PostgreSQL' ? await pgsql.freshDatabase() : undefined;
  const s = await sim(t, { faults: latency });
  const dir = await mkdtemp(join(tmpdir(), 'kf-exapi-'));
  for (const [name, text] of Object.entries(FLOWS)) await writeFile(join(dir, name), text);
  const masker = new Masker();
  const server = await startServer({
    paths: [dir],
    stateDir: join(dir, 'state'),
    logger: createLogger({ write: (line) => lines?.push(line), masker }),
    write: () => {},
    masker,
    env: { SECRET_FASTLY_API_TOKEN: Buffer.from(TOKEN).toString('base64'), FASTLY_API_ENDPOINT: s.url },
    listen: { host: '127.0.0.1', port: 0 },
    databaseUrl,
  });
  let stopped: Promise<void> | undefined;
  const stop = (graceMs = 10_000) => (stopped ??= server.stop(graceMs));
  t.after(() => stop());
  /** The executions left unfinished in the store, read anew once the server has stopped. */
  const unfinishedAfterStop = async () => {
    if (!databaseUrl) return unfinished(join(dir, 'state'));
    const pg = await PgStore.open(databaseUrl);
    try {
      return await pg.unfinished();
    } finally {
      await pg.close();
    }
  };
  return { s, url: server.http.url, server, stop, unfinishedAfterStop };
}

async function create(url: string, flow: string, form: FormData, query = ''): Promise<View> {
  const r = await fetch(`${url}${API}/executions/company.ops/${flow}${query}`, {
    method: 'POST',
    body: form,
  });
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()) as View;
}

async function get(url: string, id: string): Promise<View> {
  const r = await fetch(`${url}${API}/executions/${id}`);
  assert.equal(r.status, 200);
  return (await r.json()) as View;
}

/** Follows the execution until its `end` event (the deadline aborts a stream that never ends). */
async function follow(url: string, id: string, onEvent?: (e: SseEvent) => void): Promise<SseEvent[]> {
  const r = await fetch(`${url}${API}/executions/${id}/follow`, { signal: AbortSignal.timeout(60_000) });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
  return readEvents(r, onEvent);
}

function keysForm(n: number): FormData {
  const form = new FormData();
  form.set('keys', JSON.stringify(Array.from({ length: n }, (_, i) => `k-${i}`)));
  return form;
}

describe('the executions API', { concurrency: 2 }, () => {
  for (const store of STORES) {
    describe(store, () => {
      test('killing a running 20,000-key purge ends it KILLED, its requests under way cancelled, with every key purged or listed unpurged', async (t) => {
        const { s, url } = await serverOn(t, store, { latencyMs: 100, latencyJitterMs: 200 });
        const purgesSeen = waitForRequests(s, (p) => p === `/service/${SERVICE}/purge`, 4);
        const ex = await create(url, 'big_purge', keysForm(KEYS));
        const events: SseEvent[] = [];
        const followed = follow(url, ex.id, (e) => events.push(e));
        await purgesSeen;

        const kill = await fetch(`${url}${API}/executions/${ex.id}/kill`, { method: 'DELETE' });
        assert.equal(kill.status, 202);
        const all = await followed;
        const states = all.map((e) => (JSON.parse(e.data) as View).state.current);
        assert.equal(all.at(-1)?.id, 'end');
        assert.equal(states.at(-1), 'KILLED');
        assert.ok(states.includes('KILLING'), `KILLING before KILLED: ${states.join(' → ')}`);
        assert.ok(all.slice(0, -1).every((e) => e.id === 'progress'));

        const done = await get(url, ex.id);
        assert.equal(done.state.current, 'KILLED');
        // Kestra's histories: the kill's KILLING kept between RUNNING and KILLED, for the execution,
        // its task run and the attempt under way.
        assert.deepEqual(statesOf(done.state.histories), ['CREATED', 'RUNNING', 'KILLING', 'KILLED']);
        const killedRun = done.taskRunList[0];
        assert.deepEqual(statesOf(killedRun?.state.histories ?? []), ['CREATED', 'RUNNING', 'KILLED']);
        assert.deepEqual(
          killedRun?.attempts.map((a) => statesOf(a.state.histories)),
          [['CREATED', 'RUNNING', 'KILLED']],
        );
        // No task starts after a kill: neither `errors` nor `finally`.
        assert.deepEqual(
          done.taskRunList.map((r) => [r.taskId, r.state.current]),
          [['purge', 'KILLED']],
        );
        const account = done.taskRunList.find((r) => r.taskId === 'purge')?.outputs as {
          purged: number;
          purgeIds: object;
          failed: { key: string; reason: string }[];
        };
        assert.ok(account, 'the killed purge keeps its account in the outputs');
        const purged = Object.keys(account.purgeIds);
        const unpurged = account.failed.map((f) => f.key);
        assert.equal(account.purged, purged.length);
        assert.ok(
          purged.length > 0 && unpurged.length > 0,
          `${purged.length} purged, ${unpurged.length} not`,
        );
        assert.equal(new Set([...purged, ...unpurged]).size, KEYS, 'every key is purged or listed unpurged');
        assert.equal(purged.length + unpurged.length, KEYS);
        const received = new Set(
          s.log.flatMap((e) => (e as { surrogateKeys?: string[] }).surrogateKeys ?? []),
        );
        assert.ok(
          purged.every((k) => received.has(k)),
          'a key counted purged reached Fastly',
        );
        assert.ok(received.size < KEYS, 'sending stopped at the kill');
        // The requests under way were cancelled, not awaited: their keys are listed with that reason.
        assert.ok(
          account.failed.some((f) =>
            /^not acknowledged: execution \S+ killed while its request was under way/.test(f.reason),
          ),
          'keys of a cancelled request are listed as not acknowledged',
        );
        assert.ok(account.failed.some((f) => /^not sent: execution \S+ killed$/.test(f.reason)));

        // Killing it again is accepted (Kestra's default isOnKillCascade=true); refused with it false.
        assert.equal(
          (await fetch(`${url}${API}/executions/${ex.id}/kill`, { method: 'DELETE' })).status,
          202,
        );
        const again = await fetch(`${url}${API}/executions/${ex.id}/kill?isOnKillCascade=false`, {
          method: 'DELETE',
        });
        assert.equal(again.status, 409);
        assert.match(((await again.json()) as { message: string }).message, /already ended KILLED/);
        // A killed execution is not restarted (Kestra since 1.2).
        assert.equal(
          (await fetch(`${url}${API}/executions/${ex.id}/restart`, { method: 'POST' })).status,
          409,
        );
        assert.equal((await fetch(`${url}${API}/executions/nope/kill`, { method: 'DELETE' })).status, 404);
      });

      test('a FAILED execution restarts from its failed task: finished tasks are not run again, attempts count on, errors tasks dropped', async (t) => {
        const { s, url } = await serverOn(t, store, { latencyMs: 100, latencyJitterMs: 100 });
        s.setTokens({ [TOKEN]: ['global:read'] }); // no purge scope: the purge fails (403, not retried)
        const form = new FormData();
        form.set('who', 'ada');
        const ex = await create(url, 'steps', form, '?wait=true');
        assert.equal(ex.state.current, 'FAILED');
        const failed = await get(url, ex.id);
        assert.deepEqual(
          failed.taskRunList.map((r) => [r.taskId, r.state.current, r.attempts.length]),
          [
            ['first', 'SUCCESS', 1],
            ['warn', 'SUCCESS', 1],
            ['purge', 'FAILED', 1],
            ['on_error', 'SUCCESS', 1],
          ],
        );
        // Not ended: a running execution cannot be restarted.
        s.setTokens(undefined);
        const r = await fetch(`${url}${API}/executions/${ex.id}/restart`, { method: 'POST' });
        assert.equal(r.status, 200);
        const restarted = (await r.json()) as View;
        assert.equal(restarted.id, ex.id);
        assert.equal(restarted.state.current, 'RESTARTED');
        const events = await follow(url, ex.id);
        assert.equal(events.at(-1)?.id, 'end');
        const after = await get(url, ex.id);
        assert.equal(after.state.current, 'SUCCESS');
        assert.equal(after.state.startDate, failed.state.startDate, 'the first start is kept');
        const byTask = new Map(after.taskRunList.map((x) => [x.taskId, x]));
        // Kestra's restart appends to the history: the FAILED end and the RESTARTED stay in it.
        assert.deepEqual(statesOf(after.state.histories), [
          'CREATED',
          'RUNNING',
          'FAILED',
          'RESTARTED',
          'RUNNING',
          'SUCCESS',
        ]);
        assert.deepEqual(after.state.histories.slice(0, 3), failed.state.histories);
        const purge = byTask.get('purge');
        assert.deepEqual(statesOf(purge?.state.histories ?? []), [
          'CREATED',
          'RUNNING',
          'FAILED',
          'RESTARTED',
          'RUNNING',
          'SUCCESS',
        ]);
        assert.deepEqual(
          purge?.attempts.map((a) => statesOf(a.state.histories)),
          [
            ['CREATED', 'RUNNING', 'FAILED'],
            ['CREATED', 'RUNNING', 'SUCCESS'],
          ],
        );
        assert.deepEqual(statesOf(byTask.get('first')?.state.histories ?? []), [
          'CREATED',
          'RUNNING',
          'SUCCESS',
        ]);
        assert.deepEqual(
          after.taskRunList.map((x) => [x.taskId, x.state.current, x.attempts.length]),
          [
            ['first', 'SUCCESS', 1],
            ['warn', 'SUCCESS', 1],
            ['purge', 'SUCCESS', 2],
            ['last', 'SUCCESS', 1],
          ],
        );
        // Kestra's State: from the first transition to the last, across the restart (getDuration).
        const spans = (st: {
          histories: { date: string }[];
          startDate?: string;
          endDate?: string;
          duration?: string;
        }) => {
          assert.equal(st.startDate, st.histories[0]?.date);
          assert.equal(st.endDate, st.histories.at(-1)?.date);
          const ms = Date.parse(st.endDate ?? '') - Date.parse(st.startDate ?? '');
          assert.equal(st.duration, `PT${(ms / 1000).toFixed(3)}S`);
        };
        spans(after.state);
        for (const run of after.taskRunList) spans(run.state);
        assert.equal(byTask.get('first')?.id, failed.taskRunList[0]?.id, 'the same task run, not run again');
        assert.equal(byTask.get('purge')?.id, failed.taskRunList[2]?.id);
        const purges = s.log.filter((e) => e.path === `/service/${SERVICE}/purge`);
        assert.deepEqual(
          purges.map((e) => e.status),
          [403, 200],
        );
        // A SUCCESS execution has no failed task run to restart from: Kestra's ExecutionService.restart
        // throws IllegalArgumentException("No task found to restart execution from!") and its
        // ErrorController answers 422 "Illegal argument: …"; nothing runs again.
        const success = await fetch(`${url}${API}/executions/${ex.id}/restart`, { method: 'POST' });
        assert.equal(success.status, 422);
        assert.deepEqual(await success.json(), {
          message: 'Illegal argument: No task found to restart execution from!',
        });
        assert.equal((await get(url, ex.id)).state.current, 'SUCCESS');
        assert.equal(s.log.filter((e) => e.path === `/service/${SERVICE}/purge`).length, 2);
        assert.equal((await fetch(`${url}${API}/executions/nope/restart`, { method: 'POST' })).status, 404);
      });

      test('logs: Kestra LogEntry lines per execution, filtered by minLevel and taskRunId, secrets masked, followed as events until the end', async (t) => {
        const { url } = await serverOn(t, store, { latencyMs: 100, latencyJitterMs: 200 });
        const form = new FormData();
        form.set('who', 'ada');
        const ex = await create(url, 'steps', form);
        const followed = fetch(`${url}${API}/logs/${ex.id}/follow`, {
          signal: AbortSignal.timeout(60_000),
        }).then((r) => readEvents(r));
        await follow(url, ex.id);
        const r = await fetch(`${url}${API}/logs/${ex.id}`);
        assert.equal(r.status, 200);
        const lines = (await r.json()) as LogLine[];
        const hello = lines.find((l) => l.taskId === 'first');
        assert.ok(hello, JSON.stringify(lines));
        assert.equal(hello.message, 'hello ada, token ******');
        assert.ok(!JSON.stringify(lines).includes(TOKEN), 'the token is in no stored line');
        assert.deepEqual(Object.keys(hello).sort(), [
          'attemptNumber',
          'executionId',
          'flowId',
          'level',
          'message',
          'namespace',
          'taskId',
          'taskRunId',
          'tenantId',
          'thread',
          'timestamp',
        ]);
        assert.equal(hello.executionId, ex.id);
        assert.equal(hello.attemptNumber, 0);
        const view = await get(url, ex.id);
        assert.equal(hello.taskRunId, view.taskRunList.find((x) => x.taskId === 'first')?.id);
        assert.ok(lines.some((l) => l.taskId === 'purge' && /Purged 2 keys/.test(l.message)));

        const warn = (await (await fetch(`${url}${API}/logs/${ex.id}?minLevel=WARN`)).json()) as LogLine[];
        assert.deepEqual(
          warn.map((l) => [l.taskId, l.level, l.message]),
          [['warn', 'WARN', 'careful']],
        );
        const one = (await (
          await fetch(`${url}${API}/logs/${ex.id}?taskRunId=${hello.taskRunId ?? ''}`)
        ).json()) as LogLine[];
        assert.ok(one.length >= 1 && one.every((l) => l.taskId === 'first'));
        const bad = await fetch(`${url}${API}/logs/${ex.id}?minLevel=LOUD`);
        assert.equal(bad.status, 400);
        assert.match(((await bad.json()) as { message: string }).message, /^minLevel: "LOUD" is not allowed/);

        const streamed = (await followed).map((e) => JSON.parse(e.data) as LogLine);
        assert.deepEqual(streamed, lines, 'the stream carries every line, in order, once');
        // Kestra's answer for an id it does not know: no lines, not 404.
        const unknown = await fetch(`${url}${API}/logs/nope`);
        assert.equal(unknown.status, 200);
        assert.deepEqual(await unknown.json(), []);
      });

      test('delete: 204 and gone (logs too); 404 when unknown; a running one is killed and removed once ended', async (t) => {
        const { s, url } = await serverOn(t, store, { latencyMs: 100, latencyJitterMs: 200 });
        const ex = await create(url, 'steps', new FormData(), '?wait=true');
        assert.equal(ex.state.current, 'SUCCESS');
        const del = await fetch(`${url}${API}/executions/${ex.id}`, { method: 'DELETE' });
        assert.equal(del.status, 204);
        assert.equal((await fetch(`${url}${API}/executions/${ex.id}`)).status, 404);
        assert.deepEqual(await (await fetch(`${url}${API}/logs/${ex.id}`)).json(), [], 'its logs are gone');
        assert.equal((await fetch(`${url}${API}/executions/${ex.id}`, { method: 'DELETE' })).status, 404);

        const seen = waitForRequests(s, (p) => p === `/service/${SERVICE}/purge`, 1);
        const running = await create(url, 'big_purge', keysForm(RUNNING_KEYS));
        const followed = follow(url, running.id);
        await seen;
        assert.equal(
          (await fetch(`${url}${API}/executions/${running.id}`, { method: 'DELETE' })).status,
          204,
        );
        const events = await followed;
        assert.equal(events.at(-1)?.id, 'end', 'a follower of a deleted execution gets its end');
        assert.ok(events.slice(0, -1).every((e) => e.id === 'progress'));
        // Removed once ended: the end goes out to followers as it is written, the removal right after
        // (on PostgreSQL a statement later), so asked until gone, within a deadline.
        const deadline = Date.now() + 15_000;
        let status = 200;
        while (status !== 404 && Date.now() < deadline)
          status = (await fetch(`${url}${API}/executions/${running.id}`)).status;
        assert.equal(status, 404, 'removed once ended');
        const search = (await (await fetch(`${url}${API}/executions/search`)).json()) as { total: number };
        assert.equal(search.total, 0);
      });

      test('delete with deleteLogs=false: the execution is gone, its logs stay readable', async (t) => {
        const { url } = await serverOn(t, store, { latencyMs: 100, latencyJitterMs: 200 });
        const ex = await create(url, 'steps', new FormData(), '?wait=true');
        assert.equal(ex.state.current, 'SUCCESS');
        const before = (await (await fetch(`${url}${API}/logs/${ex.id}`)).json()) as LogLine[];
        assert.ok(before.some((l) => l.message === 'done'));
        const del = await fetch(`${url}${API}/executions/${ex.id}?deleteLogs=false`, { method: 'DELETE' });
        assert.equal(del.status, 204);
        assert.equal((await fetch(`${url}${API}/executions/${ex.id}`)).status, 404);
        const r = await fetch(`${url}${API}/logs/${ex.id}`);
        assert.equal(r.status, 200);
        assert.deepEqual(await r.json(), before);
        const warn = (await (await fetch(`${url}${API}/logs/${ex.id}?minLevel=WARN`)).json()) as LogLine[];
        assert.deepEqual(
          warn.map((l) => l.message),
          before.filter((l) => l.level === 'WARN' || l.level === 'ERROR').map((l) => l.message),
        );
      });

      test('a shutdown interrupting a running execution is not reported KILLED: the follow stream closes without end, it stays RUNNING to resume', async (t) => {
        const lines: string[] = [];
        const { s, url, server, stop, unfinishedAfterStop } = await serverOn(
          t,
          store,
          { latencyMs: 100, latencyJitterMs: 200 },
          lines,
        );
        const seen = waitForRequests(s, (p) => p === `/service/${SERVICE}/purge`, 2);
        const ex = await create(url, 'big_purge', keysForm(RUNNING_KEYS));
        const followed = follow(url, ex.id);
        await seen;
        // What a second Ctrl-C does once the grace period is over: running executions are interrupted.
        server.runtime.interrupt();
        const events = await followed;
        await stop();
        assert.ok(events.length > 0);
        assert.ok(
          events.every((e) => e.id === 'progress'),
          `no end event: ${events.map((e) => e.id).join(',')}`,
        );
        const states = events.map((e) => (JSON.parse(e.data) as View).state.current);
        assert.ok(!states.includes('KILLED'), states.join(' → '));
        const log = lines.join('');
        assert.doesNotMatch(log, /ended KILLED/);
        assert.match(
          log,
          new RegExp(`execution ${ex.id} of company\\.ops\\.big_purge interrupted by shutdown`),
        );
        assert.deepEqual(
          (await unfinishedAfterStop()).map((e) => [e.id, e.state]),
          [[ex.id, 'RUNNING']],
        );
      });

      test('a stop with follow streams open ends them first (no end event, executions and logs), before the store closes; the execution is interrupted to resume', async (t) => {
        const { s, url, stop, unfinishedAfterStop } = await serverOn(t, store, {
          latencyMs: 100,
          latencyJitterMs: 200,
        });
        const seen = waitForRequests(s, (p) => p === `/service/${SERVICE}/purge`, 2);
        const ex = await create(url, 'big_purge', keysForm(RUNNING_KEYS));
        let streaming!: () => void;
        const first = new Promise<void>((resolve) => (streaming = resolve));
        const followed = follow(url, ex.id, () => streaming());
        const logs = fetch(`${url}${API}/logs/${ex.id}/follow`).then((r) => readEvents(r));
        await Promise.all([seen, first]);
        // No grace: the stop interrupts the purge at once, which resumes at the next start. Before,
        // the listener waited for the streams, which waited for the purge to end (~40 more requests).
        await stop(0);
        const events = await followed;
        assert.ok(events.length > 0);
        assert.ok(
          events.every((e) => e.id === 'progress'),
          `no end event: ${events.map((e) => `${e.id}:${(JSON.parse(e.data) as View).state.current}`).join(',')}`,
        );
        assert.ok((await logs).every((e) => e.id === 'progress'));
        assert.deepEqual(
          (await unfinishedAfterStop()).map((e) => [e.id, e.state]),
          [[ex.id, 'RUNNING']],
        );
      });

      test('search: the filters Kestra UI sends (labels, state, startDate/endDate, timeRange, sort) and labels given at creation', async (t) => {
        const { url } = await serverOn(t, store, { latencyMs: 100, latencyJitterMs: 100 });
        const a = await create(url, 'steps', new FormData(), '?wait=true&labels=env:prod&labels=release:42');
        const b = await create(url, 'steps', new FormData(), '?wait=true&labels=env:staging');
        assert.deepEqual(a.labels, [
          { key: 'env', value: 'prod' },
          { key: 'release', value: '42' },
        ]);
        const search = async (query: string) => {
          const r = await fetch(`${url}${API}/executions/search?${query}`);
          assert.equal(r.status, 200, await r.clone().text());
          return ((await r.json()) as { results: View[]; total: number }).results.map((x) => x.id);
        };
        assert.deepEqual(await search('labels=env:prod'), [a.id]);
        assert.deepEqual(await search('labels=env:prod&labels=release:42'), [a.id]);
        assert.deepEqual(await search('labels=env:prod&labels=release:43'), []);
        assert.deepEqual(await search('labels=env:staging&namespace=company&state=SUCCESS'), [b.id]);
        assert.deepEqual(await search('sort=state.startDate:asc'), [a.id, b.id]);
        assert.deepEqual(await search('sort=state.startDate:desc&namespace=company.ops'), [b.id, a.id]);
        assert.deepEqual(await search(`startDate=${encodeURIComponent(b.state.startDate)}`), [b.id]);
        assert.deepEqual(await search(`endDate=${encodeURIComponent(a.state.endDate ?? '')}`), [a.id]);
        assert.deepEqual(await search('timeRange=PT1H'), [b.id, a.id]);
        for (const [query, message] of [
          ['sort=colour:asc', /^sort: "colour:asc" is not allowed/],
          ['timeRange=soon', /^timeRange: "soon" is not allowed/],
          ['startDate=yesterday', /^startDate: "yesterday" is not allowed/],
          ['labels=nokey', /^labels: "nokey" is not allowed; expected key:value/],
          [`timeRange=PT1H&startDate=${encodeURIComponent(a.state.startDate)}`, /mutually exclusive/],
        ] as const) {
          const r = await fetch(`${url}${API}/executions/search?${query}`);
          assert.equal(r.status, 400, query);
          assert.match(((await r.json()) as { message: string }).message, message);
        }
      });
    });
  }
});
