import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { StateStore } from '../src/flow/state.js';
import { SERVICE, SERVICE2, sim } from './helpers.js';
import { ServerProcess, triggerFlow } from './server-process.js';

const CALM = '2oQGKp8bLKXfXcCCwrDxwv';

test('crash test: kill -9 at random points, restart; state stays valid and no firing is doubled or lost', async (t) => {
  const s = await sim(t);
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
  const args = [flows, '--state-dir', state];
  // Deterministic "random" kill points, from 50 ms (mid start-up and first writes) to 1.5 s.
  const killAfter = [60, 180, 420, 90, 900, 250, 1500, 130];
  for (const ms of killAfter) {
    const server = new ServerProcess(args, env);
    await server.waitFor(/scheduling 30 trigger/);
    await sleep(ms);
    await server.stop('SIGKILL');
  }
  const last = new ServerProcess(args, env);
  // Up before it is told to stop: a SIGTERM during start-up, before the handler exists, kills it.
  await last.waitFor(/scheduling 30 trigger/);
  const store = new StateStore(state);
  const deadline = Date.now() + 15_000;
  while (new Set(store.history().map((r) => r.flowId)).size < breaching.length && Date.now() < deadline)
    await sleep(100);
  await sleep(2500); // two more intervals: a doubled firing would show now
  assert.equal(await last.stop(), 0, last.output);

  for (const f of await readdir(join(state, 'triggers'))) {
    if (!f.endsWith('.json')) continue;
    const st = JSON.parse(await readFile(join(state, 'triggers', f), 'utf8')) as {
      armed: boolean;
      pending?: unknown;
      fired: number;
    };
    assert.equal(typeof st.armed, 'boolean', f);
    assert.equal(st.pending, undefined, `${f}: no firing left pending`);
  }
  const history = store.history();
  assert.equal(new Set(history.map((r) => r.id)).size, history.length, 'every execution recorded once');
  for (const id of breaching) {
    const runs = history.filter((r) => r.flowId === id);
    assert.equal(runs.length, 1, `${id}: one crossing, one execution (got ${runs.length})`);
    const st = JSON.parse(await readFile(join(state, 'triggers', `soak.${id}.t.json`), 'utf8')) as {
      armed: boolean;
      pending?: unknown;
      fired: number;
    };
    assert.equal(st.fired, 1, `${id}: fired once`);
  }
  for (let i = 20; i < 30; i++) assert.equal(history.filter((r) => r.flowId === `f${i}`).length, 0);
});
