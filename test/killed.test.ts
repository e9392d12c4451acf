import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InterruptedError } from '../src/cli/interrupt.js';
import { runFlow } from '../src/flow/executor.js';
import { parseFlow } from '../src/flow/load.js';
import { SERVICE, sim } from './helpers.js';

test('an execution interrupted by Ctrl-C is KILLED, with "interrupted by SIGINT" and no class name', async (t) => {
  const s = await sim(t, { faults: { latencyMs: 2000 } });
  const flow = parseFlow(
    `id: f
namespace: company.test
tasks:
  - id: stats
    type: io.kestra.plugin.fastly.stats.Stats
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    from: "1 hour ago"
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: never
`,
    'f.yml',
  );
  const controller = new AbortController();
  const lines: string[] = [];
  const running = runFlow(flow, {
    env: { SECRET_FASTLY_API_TOKEN: Buffer.from('tok').toString('base64'), FASTLY_API_ENDPOINT: s.url },
    signal: controller.signal,
    write: (l) => lines.push(l),
  });
  controller.abort(new InterruptedError('SIGINT'));
  const ex = await running;
  assert.equal(ex.state, 'KILLED');
  assert.deepEqual(
    ex.taskRuns.map((r) => [r.taskId, r.state, r.error]),
    [['stats', 'KILLED', 'interrupted by SIGINT']],
  );
  assert.doesNotMatch(lines.join('\n'), /InterruptedError/);
});
