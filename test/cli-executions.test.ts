import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PgStore } from '../src/runtime/postgres.js';
import { cliHost } from './cli-host.js';
import { postgresForFile } from './support/postgres.js';

// `kestra-fastly executions`: the list of a state folder's executions.

/** The commands of this file, in one process (cli-host.ts). */
const cli = cliHost();

const pgsql = postgresForFile();

test('executions: the header lines up with every column, whatever the flow names', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-table-'));
  const rec = (id: string, flowId: string, state: string, start: string, extra = {}) =>
    JSON.stringify({
      id,
      namespace: 'company.ops',
      flowId,
      state,
      outputs: {},
      startDate: start,
      endDate: start,
      durationMs: 0,
      ...extra,
    });
  await writeFile(
    join(dir, 'executions.jsonl'),
    [
      rec('id-1', 'f', 'SUCCESS', '2026-11-21T10:00:05.000Z', { trigger: { value: 120 } }),
      rec('id-22', 'a_much_longer_flow_name', 'FAILED', '2026-11-21T10:00:06.000Z', { error: 'boom' }),
    ].join('\n') + '\n',
  );
  const r = await cli.run(['executions', '--state-dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  const [header, ...rows] = r.stdout.trimEnd().split('\n') as [string, ...string[]];
  const starts = (line: string) =>
    [...line.matchAll(/(?:^|\s{2})(\S)/g)].map((m) => (m.index ?? 0) + m[0].length - 1);
  const columns = ['STATE', 'FLOW', 'ID'].map((h) => header.indexOf(h));
  for (const row of rows) {
    const cells = starts(row);
    for (const c of columns)
      assert.ok(cells.includes(c), `a cell starts under each header:\n${header}\n${row}`);
  }
  assert.match(rows[0] ?? '', /SUCCESS\s+company\.ops\.f\s+id-1\s+value=120$/);
  assert.match(rows[1] ?? '', /FAILED\s+company\.ops\.a_much_longer_flow_name\s+id-22\s+boom$/);
});

test('executions lists by start time, newest last, and says so; --limit keeps the latest started', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-trial-list-'));
  // As appended: in end order. "slow" started first and ended last.
  const rec = (id: string, start: string, end: string) =>
    JSON.stringify({
      id,
      namespace: 'company.ops',
      flowId: 'f',
      state: 'SUCCESS',
      outputs: {},
      startDate: start,
      endDate: end,
      durationMs: Date.parse(end) - Date.parse(start),
    });
  await writeFile(
    join(dir, 'executions.jsonl'),
    [
      rec('quick', '2026-11-21T10:00:05.000Z', '2026-11-21T10:00:06.000Z'),
      rec('later', '2026-11-21T10:00:07.000Z', '2026-11-21T10:00:08.000Z'),
      rec('slow', '2026-11-21T10:00:00.000Z', '2026-11-21T10:00:09.000Z'),
    ].join('\n') + '\n',
  );
  const text = await cli.run(['executions', '--state-dir', dir]);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trim().split('\n');
  assert.match(lines[0] ?? '', /^STARTED \(newest last\)\s+STATE\s+FLOW\s+ID$/);
  assert.deepEqual(
    lines.slice(1).map((l) => l.split(/\s+/)[3]),
    ['slow', 'quick', 'later'],
  );
  const json = await cli.run(['executions', '--state-dir', dir, '--json', '--limit', '2']);
  assert.deepEqual(
    (JSON.parse(json.stdout) as { id: string }[]).map((r) => r.id),
    ['quick', 'later'],
  );
});

test('executions --database-url (or $KESTRA_FASTLY_DATABASE_URL) lists what the replicas ran, from PostgreSQL; its password never shown', async () => {
  const url = await pgsql.freshDatabase();
  const store = await PgStore.open(url);
  try {
    const createdAt = '2026-11-21T10:00:00.000Z';
    await store.enqueue({ id: 'pg-run-1', namespace: 'company.ops', flowId: 'purge', inputs: {}, createdAt });
    await store.started('pg-run-1', '2026-11-21T10:00:01.000Z');
    await store.finish({
      id: 'pg-run-1',
      state: 'SUCCESS',
      endDate: '2026-11-21T10:00:02.000Z',
      durationMs: 1000,
      outputs: {},
      taskRuns: [],
    });
  } finally {
    await store.close();
  }
  // The server's state folder of a replica: it holds no runtime.db (PostgreSQL has the executions).
  const stateDir = await mkdtemp(join(tmpdir(), 'kf-replica-state-'));
  for (const [args, env] of [
    [['executions', '--state-dir', stateDir, '--database-url', url], {}],
    [['executions', '--state-dir', stateDir], { KESTRA_FASTLY_DATABASE_URL: url }],
  ] as const) {
    const r = await cli.run([...args], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^STARTED \(newest last\)\s+STATE\s+FLOW\s+ID\n2026-11-21T10:00:01\.000Z\s+SUCCESS\s+company\.ops\.purge\s+pg-run-1\n$/,
    );
  }
  // A wrong password: one line, the password hidden.
  const wrong = url.replace('postgres@', 'postgres:s3cret-pw@').replace(/\/[^/]+$/, '/no_such_db');
  const r = await cli.run(['executions', '--database-url', wrong]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(
    r.stderr,
    /^(?![^]*s3cret-pw)error: database postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/no_such_db: .+\n$/,
  );
});
