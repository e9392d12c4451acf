/**
 * The PostgreSQL store's pipeline (src/runtime/pg-pipeline.ts): a turn's statements sent as one
 * message, values inlined as literals. Checked against a real PostgreSQL: any text comes back as
 * written, and a failing statement fails alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import pg from 'pg';
import { inline, PgPipeline } from '../src/runtime/pg-pipeline.js';
import { postgresForFile } from './support/postgres.js';

const pgsql = postgresForFile();

async function pool(t: { after(fn: () => Promise<void>): void }) {
  const p = new pg.Pool({ connectionString: await pgsql.freshDatabase(), max: 2 });
  t.after(() => p.end());
  await p.query('CREATE TABLE t (id int PRIMARY KEY, body text, n int[])');
  return p;
}

test('inline: $n outside quotes only, each value as its literal', () => {
  assert.equal(
    inline("SELECT $1, '$1', $2::int[], $10", ['a', [1, 2], 3, 4, 5, 6, 7, 8, 9, null], pg.escapeLiteral),
    "SELECT 'a', '$1', ARRAY[1, 2]::int[], NULL",
  );
  assert.equal(inline("SELECT 'it''s $1', $1", [true], pg.escapeLiteral), "SELECT 'it''s $1', TRUE");
  assert.throws(() => inline('SELECT $2', ['a'], pg.escapeLiteral), /\$2: the statement has 1 argument/);
  assert.throws(() => inline('SELECT $1', [Number.NaN], pg.escapeLiteral), /not a finite number/);
});

test('a turn of statements is one message; any text comes back as written', async (t) => {
  const p = await pool(t);
  let messages = 0;
  p.on('acquire', () => messages++);
  const pipe = new PgPipeline(p, 1, pg.escapeLiteral);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.string({ unit: 'binary' }), fc.array(fc.integer({ min: -99, max: 99 }))), {
        minLength: 1,
        maxLength: 20,
      }),
      async (rows) => {
        await p.query('TRUNCATE t');
        const before = messages;
        // NUL is the one character a PostgreSQL text cannot hold.
        const bodies = rows.map(([body]) => body.replaceAll('\0', ''));
        await Promise.all(
          rows.map(([, n], i) =>
            pipe.query('INSERT INTO t (id, body, n) VALUES ($1, $2, $3::int[])', [i, bodies[i], n]),
          ),
        );
        assert.equal(messages - before, 1, 'one message for the turn');
        const { rows: back } = await p.query<{ id: number; body: string; n: number[] }>(
          'SELECT id, body, n FROM t ORDER BY id',
        );
        assert.deepEqual(
          back.map((r) => [r.body, r.n]),
          rows.map(([, n], i) => [bodies[i], n]),
        );
      },
    ),
    { numRuns: 40 },
  );
});

test('a failing statement fails alone: the others of its message are written once, results in order', async (t) => {
  const p = await pool(t);
  const pipe = new PgPipeline(p, 1, pg.escapeLiteral);
  const outcomes = await Promise.allSettled([
    pipe.query('INSERT INTO t (id, body) VALUES ($1, $2) RETURNING id', [1, 'one']),
    pipe.query('INSERT INTO t (id, body) VALUES ($1, $2)', [1, 'again']),
    pipe.query('INSERT INTO t (id, body) VALUES ($1, $2) RETURNING body', [2, 'two']),
  ]);
  assert.equal(outcomes[0].status, 'fulfilled');
  assert.deepEqual(outcomes[0].status === 'fulfilled' && outcomes[0].value.rows, [{ id: 1 }]);
  assert.equal(outcomes[1].status, 'rejected');
  assert.match(String(outcomes[1].status === 'rejected' && outcomes[1].reason), /duplicate key/);
  assert.deepEqual(outcomes[2].status === 'fulfilled' && outcomes[2].value.rows, [{ body: 'two' }]);
  const { rows } = await p.query('SELECT id, body FROM t ORDER BY id');
  assert.deepEqual(rows, [
    { id: 1, body: 'one' },
    { id: 2, body: 'two' },
  ]);
});
