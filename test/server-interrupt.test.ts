import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { history, unfinished } from './history.js';
import { apiServer, ended } from './api-server.js';
import { SERVICE, sim } from './helpers.js';

const KEY = 'interrupt-key-77';

test('a second Ctrl-C interrupts an execution started by a webhook: not recorded, resumed at the next start', async (t) => {
  const s = await sim(t, { faults: { latencyMs: 8000 } });
  const dir = await mkdtemp(join(tmpdir(), 'kf-interrupt-'));
  const flowFile = join(dir, 'slow.yml');
  await writeFile(
    flowFile,
    `id: slow
namespace: company.test
tasks:
  - id: stats
    type: io.kestra.plugin.fastly.stats.Stats
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    from: "1 hour ago"
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: ${KEY}
`,
  );
  const env = { SECRET_FASTLY_API_TOKEN: Buffer.from('tok').toString('base64'), FASTLY_API_ENDPOINT: s.url };
  const state = join(dir, 'state');
  const args = [flowFile, '--state-dir', state];
  const first = await apiServer(args, env);
  t.after(() => first.server.stop());
  const r = await fetch(`${first.url}/api/v1/main/executions/webhook/company.test/slow/${KEY}`, {
    method: 'POST',
  });
  const { id } = (await r.json()) as { id: string };
  await first.server.waitFor(/started by webhook/);
  first.server.child.kill('SIGINT');
  await first.server.waitFor(/waiting for 1 execution/);
  first.server.child.kill('SIGINT');
  assert.equal(await first.server.exited(), 0);
  assert.match(
    first.server.output,
    new RegExp(`execution ${id} of company.test.slow interrupted by shutdown`),
  );
  assert.deepEqual(history(state), [], 'nothing recorded');
  assert.deepEqual(
    unfinished(state).map((e) => [e.id, e.state]),
    [[id, 'RUNNING']],
    'still queued, to resume',
  );

  s.setFaults({});
  const second = await apiServer(args, env);
  t.after(() => second.server.stop());
  const ex = await ended(second.url, id);
  assert.equal(ex.state.current, 'SUCCESS');
});
