/**
 * When the queue writes a task run's end (src/runtime/queue.ts): with its execution's next write, in
 * the same statement. Checked on the embedded store, in process, with a local HTTP server that holds
 * a Request task's call until the test lets it go: what the store holds while a task is under way is
 * what a kill -9 at that moment would leave.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { parseFlow } from '../src/flow/load.js';
import { silentLogger } from '../src/logger.js';
import { ExecutionQueue } from '../src/runtime/queue.js';
import { SqliteStore } from '../src/runtime/sqlite.js';

/** An HTTP server that answers each request only when `release()` is called. */
async function holding(t: TestContext) {
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    req.resume();
    held.push(res);
    server.emit('held');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Resolves once a request is being held. */
    arrived: () => (held.length ? Promise.resolve() : once(server, 'held').then(() => undefined)),
    release: () => held.splice(0).forEach((res) => res.end('ok')),
  };
}

function queueOn(t: TestContext, flowText: string) {
  const dir = mkdtempSync(join(tmpdir(), 'kf-queue-writes-'));
  const store = new SqliteStore(join(dir, 'runtime.db'));
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const flow = parseFlow(flowText, 'f.yml');
  const queue = new ExecutionQueue({
    store,
    logger: silentLogger,
    find: () => flow,
    run: { env: {}, write: () => {} },
  });
  return { store, flow, queue };
}

/** Resolves with the stored state of task `taskId` once `ok` holds for it; rejects after `ms`. */
async function storedWhen(
  store: SqliteStore,
  id: string,
  taskId: string,
  ok: (state: string | undefined) => boolean,
  ms = 10_000,
): Promise<string | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const state = (await store.taskRuns(id)).find((r) => r.taskId === taskId && r.endDate !== '')?.state;
    if (ok(state)) return state;
    if (Date.now() > deadline) throw new Error(`task ${taskId}: stored ${String(state)} after ${ms} ms`);
    await new Promise((r) => setImmediate(r));
  }
}

test("a task run's end is in the store before the next task does anything (written with its start)", async (t) => {
  const hold = await holding(t);
  const { store, flow, queue } = queueOn(
    t,
    `id: seq
namespace: t
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: one
  - id: call
    type: io.kestra.plugin.core.http.Request
    uri: ${hold.url}/x
`,
  );
  const submitted = await queue.submit(flow, { inputs: {} });
  await hold.arrived();
  // The next task's call is under way: the end of the one before must be kept already.
  const runs = await store.taskRuns(submitted.id);
  assert.deepEqual(
    runs.map((r) => [r.taskId, r.endDate === '' ? 'RUNNING' : r.state]),
    [
      ['first', 'SUCCESS'],
      ['call', 'RUNNING'],
    ],
  );
  hold.release();
  assert.equal((await submitted.done)?.state, 'SUCCESS');
  assert.deepEqual(
    (await store.taskRuns(submitted.id)).map((r) => [r.taskId, r.state]),
    [
      ['first', 'SUCCESS'],
      ['call', 'SUCCESS'],
    ],
  );
});

test('an ended task run with no next write (a Parallel branch still running) is written alone soon after', async (t) => {
  const hold = await holding(t);
  const { store, flow, queue } = queueOn(
    t,
    `id: par
namespace: t
tasks:
  - id: both
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: quick
        type: io.kestra.plugin.core.log.Log
        message: done
      - id: slow
        type: io.kestra.plugin.core.http.Request
        uri: ${hold.url}/slow
`,
  );
  const submitted = await queue.submit(flow, { inputs: {} });
  await hold.arrived();
  // Nothing else is written while `slow` waits: `quick`'s end must not wait for it.
  assert.equal(await storedWhen(store, submitted.id, 'quick', (s) => s === 'SUCCESS'), 'SUCCESS');
  assert.equal(queue.isRunning(submitted.id), true, 'slow is still held');
  hold.release();
  assert.equal((await submitted.done)?.state, 'SUCCESS');
});
