import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runFlow, type TaskRun } from '../src/flow/executor.js';
import { parseFlow } from '../src/flow/load.js';
import { receiver } from './receiver.js';
import { requests, SERVICE, sim } from './helpers.js';

const flowText = (hook: string) => `id: notify_then_purge
namespace: company.ops
tasks:
  - id: slack
    type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
    url: ${hook}/slack
    payload: '{"text": "purging"}'
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["p-0", "p-1", "p-2"]
    tasks:
      - id: purge
        type: io.kestra.plugin.fastly.purge.Key
        apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
        serviceId: ${SERVICE}
        surrogateKey: "{{ taskrun.value }}"
  - id: done
    type: io.kestra.plugin.core.log.Log
    message: "slack said {{ outputs.slack.code }}"
`;

const env = (url: string) => ({
  SECRET_FASTLY_API_TOKEN: Buffer.from('tok').toString('base64'),
  FASTLY_API_ENDPOINT: url,
});

test('a resumed execution does not run again the task runs that ended, retries the interrupted one with attempts counting on, and keeps its startDate', async (t) => {
  const s = await sim(t);
  const hook = await receiver(t);
  const flow = parseFlow(flowText(hook.url), 'f.yml');
  // The first start is cut short once the second purge has started: what a crash leaves behind
  // is what onTaskRun was told until then.
  const checkpoints: TaskRun[] = [];
  const stop = new AbortController();
  const first = await runFlow(flow, {
    id: 'ex1',
    env: env(s.url),
    signal: stop.signal,
    write: () => {},
    onTaskRun: (r) => {
      checkpoints.push(r);
      if (r.taskId === 'purge' && r.value === 'p-1' && r.endDate === '') stop.abort();
    },
  });
  assert.equal(first.state, 'KILLED');
  const purgedFirst = requests(s, '/service/').length;
  // The last checkpoint of each task run is what the store keeps.
  // A kill -9 lands before the interrupted run's end is written: the store has what came before.
  const cut = checkpoints.findIndex((r) => r.value === 'p-1' && r.endDate !== '');
  const byId = new Map(checkpoints.slice(0, cut).map((r) => [r.id, r]));
  const kept = [...byId.values()];
  assert.deepEqual(
    kept.map((r) => [r.taskId, r.value ?? null, r.endDate === '' ? 'RUNNING' : r.state]),
    [
      ['slack', null, 'SUCCESS'],
      ['each', null, 'RUNNING'],
      ['purge', 'p-0', 'SUCCESS'],
      ['purge', 'p-1', 'RUNNING'],
    ],
  );
  const lines: string[] = [];
  const resumed = await runFlow(flow, {
    id: 'ex1',
    env: env(s.url),
    resume: { startDate: first.startDate, taskRuns: kept },
    write: (l) => lines.push(l),
  });
  assert.equal(resumed.state, 'SUCCESS');
  assert.equal(resumed.startDate, first.startDate);
  assert.equal(hook.received.filter((r) => r.path === '/slack').length, 1, 'one Slack message');
  const purged = requests(s, '/service/')
    .slice(purgedFirst)
    .map((e) => e.path);
  assert.deepEqual(purged, [`/service/${SERVICE}/purge/p-1`, `/service/${SERVICE}/purge/p-2`]);
  const runs = resumed.taskRuns.map((r) => [r.taskId, r.value ?? null, r.state, r.attempts]);
  assert.deepEqual(runs, [
    ['slack', null, 'SUCCESS', 1],
    ['each', null, 'SUCCESS', 0],
    ['purge', 'p-0', 'SUCCESS', 1],
    ['purge', 'p-1', 'SUCCESS', 2],
    ['purge', 'p-2', 'SUCCESS', 1],
    ['done', null, 'SUCCESS', 1],
  ]);
  const interrupted = kept.find((r) => r.value === 'p-1') as TaskRun;
  const retried = resumed.taskRuns.find((r) => r.value === 'p-1') as TaskRun;
  assert.equal(retried.id, interrupted.id);
  assert.equal(retried.startDate, interrupted.startDate);
  // A later task still sees the outputs of a task that is not run again.
  assert.match(lines.join('\n'), /slack said 200/);
});
