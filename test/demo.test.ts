import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './helpers.js';

test('the demo runs every example, then drives the server: webhook, executions API, schedule, alert to a local receiver', async () => {
  const r = await runCli(['demo']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const [examples, server] = r.stdout.split('▶ kestra-fastly server');
  assert.ok(server, r.stdout);
  assert.match(
    examples ?? '',
    /▶ fastly_error_alert_to_slack\.yml\n {2}↳ the webhook receiver got POST \/services\/\S+: \{"text":"Fastly 5xx spike/,
  );
  assert.match(examples ?? '', /▶ purge_keys_on_every_service\.yml\n {2}SUCCESS/);
  assert.match(
    server,
    /POST …\/webhook\/company\.cms\/purge_articles_on_publish\/<key> → 200, execution \S+/,
  );
  assert.match(server, /\?wait=true → SUCCESS: \{"purge_articles":\{"purgeIds":\{"article-3001"/);
  assert.match(
    server,
    /schedule fastly_daily_stats_on_schedule\.every_morning \(0 6 \* \* \* UTC\): next run \d{4}-\d\d-\d\dT06:00:00\.000Z/,
  );
  assert.match(server, /↳ the webhook receiver got POST \/services\/\S+: \{"text":"Fastly 5xx spike/);
  assert.match(server, /purge_articles_on_publish SUCCESS \(on_publish\)/);
  assert.ok(
    !r.stdout.includes('demo-webhook-key') && !r.stderr.includes('demo-webhook-key'),
    'the webhook key is not shown',
  );
});
