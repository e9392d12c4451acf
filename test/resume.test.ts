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

const secretFlow = (hook: string) => `id: secret_then_post
namespace: company.ops
tasks:
  - id: values
    type: io.kestra.plugin.core.output.OutputValues
    values:
      auth: "Bearer {{ secret('CMS_TOKEN') }}"
  - id: post
    type: io.kestra.plugin.core.http.Request
    uri: ${hook}/cms
    method: POST
    headers:
      Authorization: "{{ outputs.values.values.auth }}"
`;

test('a resumed execution hands the next task the real value of an output that held a secret, which is stored sealed, never in the clear', async (t) => {
  const hook = await receiver(t);
  const flow = parseFlow(secretFlow(hook.url), 'f.yml');
  const token = 'cms-token-7f3a9b';
  const secretEnv = { SECRET_CMS_TOKEN: Buffer.from(token).toString('base64') };
  const checkpoints: TaskRun[] = [];
  const stop = new AbortController();
  await runFlow(flow, {
    id: 'ex2',
    env: secretEnv,
    signal: stop.signal,
    write: () => {},
    onTaskRun: (r) => {
      checkpoints.push(r);
      if (r.taskId === 'post' && r.endDate === '') stop.abort();
    },
  });
  const stored = checkpoints.filter((r) => r.taskId === 'values' && r.endDate !== '');
  assert.equal(stored.length, 1);
  const kept = JSON.stringify(stored);
  assert.ok(!kept.includes(token), 'the secret is not stored in the clear');
  assert.ok(!kept.includes(Buffer.from(token).toString('base64')), 'nor in base64');
  assert.match(kept, /Bearer \*{6}/, 'the stored outputs are masked');
  const before = hook.received.filter((r) => r.path === '/cms').length;
  const resumed = await runFlow(flow, {
    id: 'ex2',
    env: secretEnv,
    resume: { startDate: new Date().toISOString(), taskRuns: stored },
    write: () => {},
  });
  assert.equal(resumed.state, 'SUCCESS');
  const posts = hook.received.filter((r) => r.path === '/cms').slice(before);
  assert.equal(posts.length, 1);
  assert.equal(posts[0]?.headers.authorization, `Bearer ${token}`, 'the real value, not ******');
  assert.deepEqual(
    resumed.taskRuns.map((r) => [r.taskId, r.attempts]),
    [
      ['values', 1],
      ['post', 1],
    ],
    'values was not run again',
  );
  // With the secret changed, the sealed outputs cannot be opened: the task runs again instead.
  const rotated = await runFlow(flow, {
    id: 'ex2',
    env: { SECRET_CMS_TOKEN: Buffer.from('rotated-token-1').toString('base64') },
    resume: { startDate: new Date().toISOString(), taskRuns: stored },
    write: () => {},
  });
  assert.equal(rotated.state, 'SUCCESS');
  assert.equal(rotated.taskRuns.find((r) => r.taskId === 'values')?.attempts, 2);
  assert.equal(
    hook.received.filter((r) => r.path === '/cms').at(-1)?.headers.authorization,
    'Bearer rotated-token-1',
  );
});
