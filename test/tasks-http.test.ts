import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { requests, SERVICE, SERVICE2, sim, taskOutputs } from './helpers.js';
import { receiver } from './receiver.js';
import { cliHost } from './cli-host.js';

/** The CLI runs of this file, in one process (cli-host.ts). */
const cli = cliHost();

const b64 = (s: string) => Buffer.from(s).toString('base64');
const THIRD = '2oQGKp8bLKXfXcCCwrDxwv';

async function flowFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kf-tasks-'));
  const file = join(dir, 'flow.yml');
  await writeFile(file, text);
  return file;
}

// The payloads as Slack, Teams and Discord document them.
const SLACK = {
  text: 'Fastly 5xx spike: 120 errors',
  blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*5xx*: 120' } }],
};
const TEAMS = {
  '@type': 'MessageCard',
  '@context': 'http://schema.org/extensions',
  themeColor: 'D70000',
  summary: 'Fastly alert',
  sections: [{ activityTitle: 'Fastly 5xx spike', facts: [{ name: 'errors', value: '120' }] }],
};
const DISCORD = {
  username: 'kestra-fastly',
  content: 'Fastly 5xx spike: 120 errors',
  embeds: [{ title: '5xx', description: '120' }],
};

test('Slack, Teams and Discord notifications reach a local receiver with the documented payload', async (t) => {
  const r = await receiver(t);
  const file = await flowFile(`id: notify
namespace: company.ops
tasks:
  - id: slack
    type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
    url: "{{ secret('SLACK_WEBHOOK_URL') }}"
    payload: '${JSON.stringify(SLACK)}'
  - id: teams
    type: io.kestra.plugin.notifications.teams.TeamsIncomingWebhook
    url: "{{ secret('TEAMS_WEBHOOK_URL') }}"
    payload: '${JSON.stringify(TEAMS)}'
  - id: discord
    type: io.kestra.plugin.notifications.discord.DiscordIncomingWebhook
    url: "{{ secret('DISCORD_WEBHOOK_URL') }}"
    payload: '${JSON.stringify(DISCORD)}'
`);
  const run = await cli.run(['run', file, '--json'], {
    SECRET_SLACK_WEBHOOK_URL: b64(`${r.url}/services/T000/B000/slack-secret`),
    SECRET_TEAMS_WEBHOOK_URL: b64(`${r.url}/webhookb2/teams-secret`),
    SECRET_DISCORD_WEBHOOK_URL: b64(`${r.url}/api/webhooks/1/discord-secret`),
  });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(
    r.received.map((x) => [x.method, x.path, x.headers['content-type'], JSON.parse(x.body) as unknown]),
    [
      ['POST', '/services/T000/B000/slack-secret', 'application/json', SLACK],
      ['POST', '/webhookb2/teams-secret', 'application/json', TEAMS],
      ['POST', '/api/webhooks/1/discord-secret', 'application/json', DISCORD],
    ],
  );
  assert.equal((taskOutputs(JSON.parse(run.stdout) as object).slack as { code: number }).code, 200);
});

test('a notification that is refused fails the task without showing the URL; errors tasks notify on failure', async (t) => {
  const r = await receiver(t, (path) => (path.includes('gone') ? 404 : 200));
  const file = await flowFile(`id: fails
namespace: company.ops
tasks:
  - id: check
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ 2 > 1 }}"
    errorMessage: "2 keys were not purged"
errors:
  - id: tell
    type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
    url: "{{ secret('SLACK_WEBHOOK_URL') }}"
    payload: '{"text": "{{ flow.id }} failed in {{ execution.id }}"}'
  - id: broken
    type: io.kestra.plugin.notifications.discord.DiscordIncomingWebhook
    url: "{{ secret('GONE_URL') }}"
    payload: '{"content": "x"}'
`);
  const run = await cli.run(['run', file, '--json'], {
    SECRET_SLACK_WEBHOOK_URL: b64(`${r.url}/services/ok-secret`),
    SECRET_GONE_URL: b64(`${r.url}/gone-secret`),
  });
  assert.equal(run.code, 1, run.stderr);
  const ex = JSON.parse(run.stdout) as { state: { current: string }; taskRunList: { error?: string }[] };
  assert.equal(ex.state.current, 'FAILED');
  assert.match(ex.taskRunList[0]?.error ?? '', /2 keys were not purged/);
  assert.match(ex.taskRunList[2]?.error ?? '', /Discord webhook \(URL hidden\) answered 404: no_service/);
  assert.match((JSON.parse(r.received[0]?.body ?? '{}') as { text: string }).text, /^fails failed in \S+$/);
  assert.ok(!run.stderr.includes('gone-secret') && !run.stdout.includes('gone-secret'));
});

test('core.http.Request: outputs code, headers and body; 4xx fails unless allowFailed; credentials never go over plain http off loopback', async (t) => {
  const r = await receiver(t, (path) => (path === '/missing' ? 404 : 201));
  const file = await flowFile(`id: req
namespace: company.ops
tasks:
  - id: post
    type: io.kestra.plugin.core.http.Request
    uri: "${r.url}/events"
    method: POST
    headers:
      Authorization: "Bearer {{ secret('TRACKER_TOKEN') }}"
    body:
      event: purged
      keys: [a, b]
  - id: missing
    type: io.kestra.plugin.core.http.Request
    uri: "${r.url}/missing"
    allowFailed: true
  - id: out
    type: io.kestra.plugin.core.output.OutputValues
    values:
      first: "{{ outputs.post.code }} {{ outputs.post.body }} {{ outputs.post.headers['x-receiver'][0] }}"
      second: "{{ outputs.missing.code }}"
`);
  const run = await cli.run(['run', file, '--json'], { SECRET_TRACKER_TOKEN: b64('tracker-token-1') });
  assert.equal(run.code, 0, run.stderr);
  const out = taskOutputs(JSON.parse(run.stdout) as object).out as { values?: unknown };
  assert.deepEqual(out.values ?? out, { first: '201 ok yes', second: 404 });
  assert.deepEqual(JSON.parse(r.received[0]?.body ?? ''), { event: 'purged', keys: ['a', 'b'] });
  assert.equal(r.received[0]?.headers.authorization, 'Bearer tracker-token-1');
  assert.equal(r.received[0]?.headers['content-type'], 'application/json');

  const strict = await flowFile(`id: strict
namespace: company.ops
tasks:
  - id: get
    type: io.kestra.plugin.core.http.Request
    uri: "${r.url}/missing"
`);
  const failed = await cli.run(['run', strict]);
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /GET http:\/\/127\.0\.0\.1:\d+\/missing answered 404: no_service/);

  const before = r.received.length;
  const insecure = await flowFile(`id: insecure
namespace: company.ops
tasks:
  - id: get
    type: io.kestra.plugin.core.http.Request
    uri: http://tracker.example.com/events
    headers:
      Authorization: Bearer x
  - id: slack
    type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
    url: http://hooks.example.com/services/secret-part
    payload: '{"text": "x"}'
`);
  const refused = await cli.run(['run', insecure]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(
    refused.stderr,
    /uri: "http:\/\/tracker\.example\.com\/events" uses plain http on a non-loopback host while carrying a secret; use https/,
  );
  assert.equal(r.received.length, before);
});

test('ForEach over 3 services purges on each; Parallel and Sequential run their tasks', async (t) => {
  const s = await sim(t, { faults: { latencyMs: 100 } });
  const file = await flowFile(`id: everywhere
namespace: company.ops
tasks:
  - id: each_service
    type: io.kestra.plugin.core.flow.ForEach
    values: ["${SERVICE}", "${SERVICE2}", "${THIRD}"]
    concurrencyLimit: 2
    tasks:
      - id: purge
        type: io.kestra.plugin.fastly.purge.Keys
        apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
        serviceId: "{{ taskrun.value }}"
        surrogateKeys: [homepage, pricing]
  - id: both
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: one
        type: io.kestra.plugin.core.flow.Sequential
        tasks:
          - id: key_a
            type: io.kestra.plugin.fastly.purge.Key
            apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
            serviceId: "${SERVICE}"
            surrogateKey: a
          - id: log_a
            type: io.kestra.plugin.core.log.Log
            message: "a purged: {{ outputs.key_a.id }}"
      - id: key_b
        type: io.kestra.plugin.fastly.purge.Key
        apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
        serviceId: "${SERVICE2}"
        surrogateKey: b
  - id: summary
    type: io.kestra.plugin.core.log.Log
    message: "purged {{ outputs.purge['${THIRD}'].purged }} keys on the third service"
`);
  const run = await cli.run(['run', file, '--json'], {
    SECRET_FASTLY_API_TOKEN: b64('tok'),
    FASTLY_API_ENDPOINT: s.url,
  });
  assert.equal(run.code, 0, run.stderr);
  const ex = JSON.parse(run.stdout) as {
    taskRunList: { taskId: string; value: string; outputs?: unknown }[];
  };
  const outputs = taskOutputs(ex) as { purge: Record<string, { purged: number }> };
  for (const service of [SERVICE, SERVICE2, THIRD]) {
    assert.equal(requests(s, `/service/${service}/purge`).filter((e) => e.keys === 2).length, 1, service);
    assert.equal(outputs.purge[service]?.purged, 2);
  }
  assert.deepEqual(
    ex.taskRunList
      .filter((x: { taskId: string }) => x.taskId === 'purge')
      .map((x: { value: string }) => x.value)
      .sort(),
    [SERVICE, SERVICE2, THIRD].sort(),
  );
  assert.ok(requests(s, `/service/${SERVICE}/purge/a`).length === 1);
  assert.ok(requests(s, `/service/${SERVICE2}/purge/b`).length === 1);
  assert.match(run.stderr, /a purged: \S+/);
  assert.match(run.stderr, /purged 2 keys on the third service/);
});
