import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidInputError } from '../src/errors.js';
import { validateToken } from '../src/fastly/client.js';
import { runFlow } from '../src/flow/executor.js';
import { parseFlow } from '../src/flow/load.js';
import { resolveTriggerProps } from '../src/flow/trigger.js';
import { Masker } from '../src/masker.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** flows3/cross.yml as the tester had it: a StatsTrigger reading two secrets. */
const CROSS = `id: cross_alert
namespace: company.ops
triggers:
  - id: cross5xx
    type: io.kestra.plugin.fastly.stats.StatsTrigger
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: "{{ secret('FASTLY_SERVICE_ID') }}"
    field: status_5xx
    threshold: 50
    interval: PT1M
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.All
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: SU1Z0isxPaozGVKXdv0eY
  - id: log
    type: io.kestra.plugin.core.log.Log
    message:
      - "{{ secret('NOT_SET_ANYWHERE') }}"
`;

const trigger = (env: NodeJS.ProcessEnv) => {
  const flow = parseFlow(CROSS, 'flows3/cross.yml');
  return () => resolveTriggerProps(flow, flow.triggers[0]!, { env, masker: new Masker() });
};

test('a missing secret of a trigger names the file, line, column, property, trigger and flow', () => {
  assert.throws(trigger({ FASTLY_API_TOKEN: 'tok' }), (err) => {
    assert.ok(err instanceof InvalidInputError);
    assert.equal(
      err.message,
      "flows3/cross.yml:7:16: triggers[0].serviceId: trigger 'cross5xx' of flow company.ops.cross_alert: Cannot find secret for key 'FASTLY_SERVICE_ID'. Set SECRET_FASTLY_SERVICE_ID (base64), FASTLY_SERVICE_ID, or add it to --secrets-file",
    );
    return true;
  });
  // A SECRET_ value that is not base64 is placed the same way.
  assert.throws(
    trigger({ FASTLY_API_TOKEN: 'tok', SECRET_FASTLY_SERVICE_ID: '@@@' }),
    /flows3\/cross\.yml:7:16: triggers\[0\]\.serviceId: .*SECRET_FASTLY_SERVICE_ID: the value is not valid base64/,
  );
});

test('a missing secret of a task names where it is used, down to the list item', async () => {
  const flow = parseFlow(CROSS, 'flows3/cross.yml');
  const ex = await runFlow(
    { ...flow, tasks: flow.tasks.slice(1) },
    { env: { FASTLY_API_TOKEN: 'tok' }, write: () => {} },
  );
  assert.equal(ex.state, 'FAILED');
  assert.match(
    ex.taskRuns[0]?.error ?? '',
    /^flows3\/cross\.yml:19:9: tasks\[1\]\.message\[0\]: task 'log', property 'message': Cannot find secret for key 'NOT_SET_ANYWHERE'/,
  );
});

test('a token secret that is set but empty says so, for a trigger and for a task', async () => {
  for (const [env, why] of [
    [{ FASTLY_API_TOKEN: '' }, 'FASTLY_API_TOKEN is set but empty'],
    [{ SECRET_FASTLY_API_TOKEN: b64(' ') }, 'SECRET_FASTLY_API_TOKEN is set but decodes to an empty value'],
  ] as const) {
    assert.throws(trigger({ ...env, FASTLY_SERVICE_ID: 'svc' }), (err) => {
      assert.ok(err instanceof InvalidInputError);
      assert.equal(
        err.message,
        `flows3/cross.yml:6:15: triggers[0].apiToken: trigger 'cross5xx' of flow company.ops.cross_alert: "{{ secret('FASTLY_API_TOKEN') }}" gives an empty Fastly API token: ${why}; set it to the token's value`,
      );
      return true;
    });
    const flow = parseFlow(CROSS, 'flows3/cross.yml');
    const ex = await runFlow(flow, { env: { ...env }, write: () => {} });
    assert.equal(
      ex.taskRuns[0]?.error,
      `flows3/cross.yml:14:15: tasks[0].apiToken: task 'purge': "{{ secret('FASTLY_API_TOKEN') }}" gives an empty Fastly API token: ${why}; set it to the token's value`,
    );
    assert.equal(ex.taskRuns[0]?.errorKind, 'input');
  }
});

test('the client tells a missing token from an empty one', () => {
  assert.throws(
    () => validateToken(undefined),
    /apiToken: the Fastly API token is missing; set FASTLY_API_TOKEN/,
  );
  assert.throws(() => validateToken(''), /apiToken: the Fastly API token is set but empty; give it/);
  assert.throws(() => validateToken('  '), /is set but empty \(only whitespace\)/);
});
