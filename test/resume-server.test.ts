import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { apiServer, apiServerInProcess, ended } from './api-server.js';
import { requests, SERVICE, sim, waitForRequests } from './helpers.js';
import { receiver } from './receiver.js';
import { REALISTIC_LATENCY } from './server-process.js';
import { postgresForFile } from './support/postgres.js';

const pgsql = postgresForFile();

const KEYS = Array.from({ length: 20 }, (_, i) => `p-${i}`);

/** The keys each purge request named: one in a single-key path, or the list of a bulk purge. */
const purgedKeys = (entries: { path: string; surrogateKeys?: string[] }[]) =>
  entries.flatMap((e) => e.surrogateKeys ?? /\/purge\/([^/]+)$/.exec(e.path)?.slice(1) ?? []);

for (const store of ['SQLite', 'PostgreSQL']) {
  test(`${store}: server killed -9 mid-run and restarted: the execution resumes without repeating the Slack message nor a finished purge, and keeps its startDate`, async (t) => {
    const s = await sim(t, { faults: REALISTIC_LATENCY });
    const hook = await receiver(t);
    const dir = await mkdtemp(join(tmpdir(), 'kf-resume-'));
    const file = join(dir, 'notify_then_purge.yml');
    await writeFile(
      file,
      `id: notify_then_purge
namespace: company.ops
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: k3y-for-tests
tasks:
  - id: slack
    type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
    url: ${hook.url}/slack
    payload: '{"text": "purging 20 pages"}'
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ${JSON.stringify(KEYS)}
    tasks:
      - id: purge
        type: io.kestra.plugin.fastly.purge.Key
        apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
        serviceId: ${SERVICE}
        surrogateKey: "{{ taskrun.value }}"
`,
    );
    const env = {
      SECRET_FASTLY_API_TOKEN: Buffer.from('tok').toString('base64'),
      FASTLY_API_ENDPOINT: s.url,
    };
    const databaseUrl = store === 'PostgreSQL' ? await pgsql.freshDatabase() : undefined;
    const stateDir = join(dir, 'state');
    const args = [file, '--state-dir', stateDir, ...(databaseUrl ? ['--database-url', databaseUrl] : [])];
    // A process, for its kill -9; the restart is the server in this process (it resumes the same).
    const first = await apiServer(args, env);
    const fivePurges = waitForRequests(s, (p) => p.startsWith(`/service/${SERVICE}/purge`), 5);
    const r = await fetch(
      `${first.url}/api/v1/main/executions/webhook/company.ops/notify_then_purge/k3y-for-tests`,
      {
        method: 'POST',
      },
    );
    assert.equal(r.status, 200);
    const { id } = (await r.json()) as { id: string };
    await fivePurges;
    const killedAt = Date.now();
    await first.server.stop('SIGKILL');
    const before = purgedKeys(requests(s, '/service/'));
    assert.equal(hook.received.length, 1);

    const second = await apiServerInProcess(t, {
      paths: [file],
      stateDir,
      env,
      ...(databaseUrl ? { databaseUrl } : {}),
    });
    const ex = (await ended(second.url, id, {}, 30_000)) as Awaited<ReturnType<typeof ended>> & {
      state: { startDate: string };
      taskRunList: {
        taskId: string;
        value?: string;
        attempts: { state: { current: string } }[];
        state: { current: string; startDate: string };
      }[];
    };
    assert.equal(ex.state.current, 'SUCCESS');
    assert.equal(hook.received.filter((m) => m.path === '/slack').length, 1, 'one Slack message');
    const after = purgedKeys(requests(s, '/service/'));
    // Every key purged; only the purge cut short by the kill may have been sent twice.
    for (const key of KEYS) assert.ok(after.includes(key), key);
    const twice = KEYS.filter((k) => after.filter((p) => p === k).length > 1);
    assert.ok(before.length >= 5);
    const purges = ex.taskRunList.filter((run) => run.taskId === 'purge');
    assert.equal(purges.length, KEYS.length);
    assert.ok(purges.every((run) => run.state.current === 'SUCCESS'));
    // The purge interrupted by the kill counts its attempts on; it and every earlier task run keep their start.
    const retried = purges.filter((run) => run.attempts.length > 1);
    assert.ok(retried.length <= 1, `retried: ${retried.length}`);
    assert.ok(purges.every((run) => run.attempts.length <= 2));
    // Only the purge in flight at the kill (attempt 2 now) may have been sent twice.
    assert.ok(twice.length <= retried.length, `purged twice: ${twice.join(', ')}`);
    assert.ok(Date.parse(ex.state.startDate) < killedAt, 'startDate is the first start');
    assert.ok(purges.every((run) => Date.parse(run.state.startDate) >= Date.parse(ex.state.startDate)));
    const output = second.logs.join('');
    assert.match(output, /resuming execution/);
    if (store === 'PostgreSQL') assert.match(output, /executions in postgres:\/\/postgres@127\.0\.0\.1:/);
    // Said once for the execution, with a count, not once per task run.
    const notRunAgain = output.match(/task run\(s\) already ended before the restart/g) ?? [];
    assert.equal(notRunAgain.length, 1, output);
    assert.match(
      output,
      /\b[1-9]\d* task run\(s\) already ended before the restart \(\d+ SUCCESS[^)]*\): not run again/,
    );
  });
}
