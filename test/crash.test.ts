import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { history as historyOf, triggerStates, unfinished } from './history.js';
import { SERVICE, SERVICE2, sim } from './helpers.js';
import { REALISTIC_LATENCY, ServerProcess, triggerFlow } from './server-process.js';

const CALM = '2oQGKp8bLKXfXcCCwrDxwv';

test('crash test: kill -9 at event-defined points, restart; state stays valid and no firing is doubled or lost', async (t) => {
  const s = await sim(t, { faults: REALISTIC_LATENCY });
  const now = Math.floor(Date.now() / 1000);
  for (const serviceId of [SERVICE, SERVICE2]) {
    s.addScenario({ serviceId, field: 'status_5xx', from: now - 1800, to: now - 1200, perMinute: 30 });
  }
  const dir = await mkdtemp(join(tmpdir(), 'kf-crash-'));
  const flows = join(dir, 'flows');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(flows);
  const breaching: string[] = [];
  for (let i = 0; i < 30; i++) {
    const service = i < 10 ? SERVICE : i < 20 ? SERVICE2 : CALM;
    if (i < 20) breaching.push(`f${i}`);
    await writeFile(join(flows, `f${i}.yml`), triggerFlow(`f${i}`, service, 'CROSSING'));
  }
  const state = join(dir, 'state');
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url };
  const args = [flows, '--state-dir', state, '--log-level', 'debug'];
  // Kill points defined by events, not wall-clock time: right after start-up (0), or after the n-th
  // evaluation logged by that process: mid first round, between rounds, mid firing and recording.
  const killAfterEvaluations = [0, 1, 7, 29, 31, 45, 3, 60];
  for (const n of killAfterEvaluations) {
    const server = new ServerProcess(args, env);
    await server.waitFor(/scheduling 30 trigger/);
    if (n > 0) await server.waitForCount(/→ (true|false)/g, n);
    await server.stop('SIGKILL');
  }
  // Three full rounds after the last start: every interrupted firing is replayed and any doubled
  // firing would have happened; SIGTERM then waits for running executions.
  const last = new ServerProcess(args, env);
  await last.waitForCount(/→ (true|false)/g, 90, 60_000);
  assert.equal(await last.stop(), 0, last.output);

  const states = triggerStates(state);
  assert.equal(states.length, 30, 'every trigger has its state in the store');
  for (const st of states) assert.equal(typeof st.armed, 'boolean', st.key);
  assert.deepEqual(
    unfinished(state).map((e) => e.id),
    [],
    'no execution left unfinished',
  );
  const history = historyOf(state);
  assert.equal(new Set(history.map((r) => r.id)).size, history.length, 'every execution recorded once');
  for (const id of breaching) {
    const runs = history.filter((r) => r.flowId === id);
    assert.equal(runs.length, 1, `${id}: one crossing, one execution (got ${runs.length})`);
    const st = states.find((x) => x.key === `soak.${id}.t`);
    assert.equal(st?.fired, 1, `${id}: fired once`);
  }
  for (let i = 20; i < 30; i++) assert.equal(history.filter((r) => r.flowId === `f${i}`).length, 0);
});
