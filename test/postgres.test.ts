import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import pg from 'pg';
import { createLogger, silentLogger } from '../src/logger.js';
import { isConnectionError, storeClient } from '../src/runtime/pg-client.js';
import { checkDatabaseUrl, PgStore, redactUrl, sslModeChecked } from '../src/runtime/postgres.js';
import { createApp } from '../src/server/app.js';
import { postgresBin, postgresForFile, startPostgres } from './support/postgres.js';

const pgsql = postgresForFile();

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

test('the test PostgreSQL: a cluster on loopback, fsync off, each test database fresh and apart', async () => {
  const a = await pgsql.freshDatabase();
  const b = await pgsql.freshDatabase();
  assert.notEqual(a, b);
  // t1, t2, … on a cluster of its own; t<pid>_1, … on the run's shared one (npm test).
  assert.match(a, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/t\d+(_\d+)?$/);
  await query(a, 'CREATE TABLE only_in_a (n int)');
  const tables = (url: string) =>
    query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").then((r) =>
      r.rows.map((row: { tablename: string }) => row.tablename),
    );
  assert.deepEqual(await tables(a), ['only_in_a']);
  assert.deepEqual(await tables(b), [], 'a fresh database is empty');
  const settings = await query(
    a,
    "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'listen_addresses', 'unix_socket_directories') ORDER BY name",
  );
  assert.deepEqual(
    Object.fromEntries(settings.rows.map((r: { name: string; setting: string }) => [r.name, r.setting])),
    { fsync: 'off', listen_addresses: '127.0.0.1', unix_socket_directories: pgsql.cluster().dir },
  );
});

test('a stopped cluster is gone: its folder removed, its port refused', async () => {
  const cluster = await startPostgres();
  const url = await cluster.createDatabase();
  assert.deepEqual((await query(url, 'SELECT 1 AS one')).rows, [{ one: 1 }]);
  cluster.stop();
  assert.equal(existsSync(cluster.dir), false);
  await assert.rejects(query(url, 'SELECT 1'), /ECONNREFUSED/);
});

test('without PostgreSQL binaries the harness fails with one line saying what is missing', () => {
  const saved = process.env.PG_BIN;
  process.env.PG_BIN = mkdtempSync(join(tmpdir(), 'kf-no-pg-'));
  try {
    assert.throws(postgresBin, (err: Error) => {
      assert.match(err.message, /^PG_BIN=.* has no initdb; expected PostgreSQL's bin folder$/);
      return true;
    });
  } finally {
    if (saved === undefined) delete process.env.PG_BIN;
    else process.env.PG_BIN = saved;
  }
  assert.ok(existsSync(join(postgresBin(), 'initdb')), 'found again once PG_BIN is restored');
});

test('redactUrl hides the password of a database URL in every form it may be given or shown', () => {
  const shapes = [
    (pw: string) => `postgres://app:${pw}@db.internal:5432/kf`,
    (pw: string) => `postgresql://app:${encodeURIComponent(pw)}@db.internal/kf`,
    (pw: string) => `app:${pw}@db.internal/kf`, // the scheme forgotten
    (pw: string) => `postgres:app:${pw}@db.internal/kf`, // the // forgotten
    (pw: string) => `mysql://app:${pw}@db.internal/kf`,
    (pw: string) => `postgres://app@db.internal/kf?password=${encodeURIComponent(pw)}`,
    (pw: string) => `postgres://app@db.internal/kf?sslmode=disable&password=${encodeURIComponent(pw)}&x=1`,
    (pw: string) =>
      `database postgres://app@db.internal/kf?password=${pw}: connect ECONNREFUSED 127.0.0.1:5432`,
  ];
  fc.assert(
    fc.property(
      fc.stringMatching(/^[A-Za-z0-9._~!$*+,;=-]{6,24}$/),
      fc.integer({ min: 0, max: shapes.length - 1 }),
      (pw, i) => {
        const shown = redactUrl((shapes[i] as (pw: string) => string)(pw));
        assert.ok(!shown.includes(pw) && !shown.includes(encodeURIComponent(pw)), shown);
        assert.match(shown, /\*\*\*/);
      },
    ),
    { numRuns: 400 },
  );
  assert.equal(
    redactUrl('postgres://app@db.internal/kf'),
    'postgres://app@db.internal/kf',
    'nothing to hide',
  );
  assert.deepEqual(checkDatabaseUrl('postgres://app@db.internal/kf?password=pw-in-query'), {
    password: 'pw-in-query',
  });
});

test('an sslmode pg does not know is refused, in the URL or in PGSSLMODE (pg would connect without TLS)', () => {
  const saved = process.env.PGSSLMODE;
  try {
    delete process.env.PGSSLMODE;
    assert.throws(
      () => checkDatabaseUrl('postgres://app:s3cret@db.internal/kf?sslmode=requre'),
      (err: Error) =>
        err.name === 'InvalidInputError' &&
        err.message ===
          '--database-url sslmode: "requre" is not an sslmode pg takes; expected one of disable, prefer, require, verify-ca, verify-full, no-verify',
    );
    for (const mode of ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'])
      assert.deepEqual(checkDatabaseUrl(`postgres://app@db.internal/kf?sslmode=${mode}`), {}, mode);
    process.env.PGSSLMODE = 'on';
    assert.throws(
      () => checkDatabaseUrl('postgres://app@db.internal/kf', 'KESTRA_FASTLY_DATABASE_URL'),
      /^InvalidInputError: PGSSLMODE: "on" is not an sslmode pg takes; expected one of disable, prefer/,
    );
    // The URL's sslmode is the one pg uses.
    assert.deepEqual(checkDatabaseUrl('postgres://app@db.internal/kf?sslmode=verify-full'), {});
    process.env.PGSSLMODE = 'verify-full';
    assert.deepEqual(checkDatabaseUrl('postgres://app@db.internal/kf'), {});
  } finally {
    if (saved === undefined) delete process.env.PGSSLMODE;
    else process.env.PGSSLMODE = saved;
  }
});

test('the database down: the API answers 503 with Retry-After and readiness DOWN, from the real error of pg', async () => {
  const cluster = await startPostgres();
  const store = await PgStore.open(await cluster.createDatabase(), {
    replica: { owner: 'A', leaseMs: 3000 },
  });
  try {
    const app = createApp({
      logger: silentLogger,
      routes: [(a) => a.get('/api/v1/main/executions/x', async (c) => c.json((await store.get('x')) ?? {}))],
      unavailable: isConnectionError,
      ready: () =>
        store.ping().then(
          () => true,
          () => false,
        ),
    });
    assert.equal((await app.request('/health/readiness')).status, 200);
    assert.equal((await app.request('/api/v1/main/executions/x')).status, 200);
    cluster.stop();
    const down = await app.request('/api/v1/main/executions/x');
    assert.equal(down.status, 503);
    assert.equal(down.headers.get('retry-after'), '5');
    assert.match(((await down.json()) as { message: string }).message, /execution store cannot be reached/);
    const readiness = await app.request('/health/readiness');
    assert.equal(readiness.status, 503);
    assert.deepEqual(await readiness.json(), { name: 'kestra-fastly', status: 'DOWN' });
    assert.equal((await app.request('/health/liveness')).status, 200, 'alive all the same');
    assert.equal(isConnectionError(new Error('syntax error at or near "x"')), false);
  } finally {
    await store.close();
    cluster.stop();
  }
});

test("sslmode=require: one warning line saying it is checked as verify-full, not pg's nine-line SECURITY WARNING", async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  const lines: string[] = [];
  const logger = createLogger({ write: (line) => lines.push(line) });
  try {
    const url = `${await pgsql.freshDatabase()}?sslmode=require`;
    // The test cluster speaks no TLS: the connection is refused as it is for verify-full.
    await assert.rejects(PgStore.open(url, { logger }), (err: Error) => {
      assert.equal(err.name, 'RunFailedError');
      assert.match(err.message, /does not support SSL/);
      return true;
    });
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings, [], 'pg warned on stderr');
  assert.deepEqual(
    lines.filter((l) => /sslmode/.test(l)).map((l) => l.replace(/^\S+ (WARN) +/, '$1 ')),
    [
      "WARN database URL: sslmode=require is checked as sslmode=verify-full (the server's certificate and host name are verified); write sslmode=verify-full to say so, or sslmode=no-verify to encrypt without checking",
    ],
  );
  assert.equal(
    sslModeChecked('postgres://u@h/d?sslmode=verify-full'),
    'postgres://u@h/d?sslmode=verify-full',
  );
  assert.equal(sslModeChecked('postgres://u@h/d?sslmode=disable'), 'postgres://u@h/d?sslmode=disable');
  assert.equal(
    sslModeChecked('postgres://u@h/d?uselibpqcompat=true&sslmode=require'),
    'postgres://u@h/d?uselibpqcompat=true&sslmode=require',
    "pg's libpq meanings, asked for, are kept",
  );
  assert.equal(
    sslModeChecked('postgres://u:p%40ss@h/d?sslmode=prefer'),
    'postgres://u:p%40ss@h/d?sslmode=verify-full',
  );
});

test('a session the server ends while its client is checked out fails that client, not the process', async () => {
  const url = await pgsql.freshDatabase();
  const pool = new pg.Pool({ connectionString: url, max: 2, Client: storeClient(pg) });
  try {
    const client = await pool.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const ended = new Promise((resolve) => client.once('end', resolve));
    // As an idle-in-transaction timeout or a restart does: the server ends the session.
    await query(url, `SELECT pg_terminate_backend(${rows[0]?.pid ?? 0})`);
    await ended;
    await assert.rejects(client.query('SELECT 1'), /not queryable|Connection terminated/);
    client.release();
    assert.deepEqual((await pool.query('SELECT 1 AS one')).rows, [{ one: 1 }], 'the pool opens another');
  } finally {
    await pool.end();
  }
});
