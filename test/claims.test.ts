/**
 * Replica claims against a real PostgreSQL (test/support/postgres.ts): several replicas, each on
 * its own connection, ask for the same slots and executions at the same moment. fast-check draws
 * how many replicas, slots and executions there are and how the requests interleave.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import pg from 'pg';
import { PgClaims } from '../src/runtime/claims.js';
import { postgresForFile } from './support/postgres.js';

const pgsql = postgresForFile();

/** `n` replicas, each with a connection of its own, on a fresh database with the tables made. */
async function replicas(t: TestContext, n: number, leaseMs = 60_000) {
  const url = await pgsql.freshDatabase();
  const clients = await Promise.all(
    Array.from({ length: n }, async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      return client;
    }),
  );
  t.after(() => Promise.all(clients.map((c) => c.end())));
  const claims = clients.map((c, i) => new PgClaims(c, { owner: `replica-${i}`, leaseMs }));
  // All of them migrate at once: the advisory lock makes it one migration.
  await Promise.all(claims.map((c) => c.migrate()));
  return { claims, clients, url };
}

test('every replica migrating at once makes the tables once (advisory lock)', async (t) => {
  const { clients } = await replicas(t, 4);
  const tables = await clients[0]?.query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
  );
  assert.deepEqual(
    tables?.rows.map((r) => r.tablename),
    ['execution_claims', 'trigger_slots'],
  );
});

test('property: each due trigger slot is claimed by exactly one of the replicas asking at once', async (t) => {
  const { claims } = await replicas(t, 5);
  let round = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 2, max: 5 }),
      fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
      async (n, slots, order) => {
        const key = `ns.flow.t${++round}`;
        // Every replica asks for every slot (some slots drawn twice), in a drawn order.
        const asks = claims
          .slice(0, n)
          .flatMap((c, i) =>
            slots.map((slot, j) => ({ c, i, slot: slot * 1000, rank: order[(i + j) % order.length] ?? 0 })),
          );
        asks.sort((a, b) => a.rank - b.rank);
        const won = await Promise.all(
          asks.map((a) => a.c.claimSlot(key, a.slot).then((ok) => ({ ...a, ok }))),
        );
        for (const slot of new Set(slots.map((s) => s * 1000))) {
          const winners = new Set(won.filter((w) => w.slot === slot && w.ok).map((w) => w.i));
          assert.equal(winners.size, 1, `slot ${slot}: ${winners.size} replicas fired it`);
          assert.equal(won.filter((w) => w.slot === slot && w.ok).length, 1, `slot ${slot} claimed once`);
        }
      },
    ),
    { numRuns: 25 },
  );
});

test('property: replicas claiming queued executions at once each get different ones, and all are claimed', async (t) => {
  const { claims } = await replicas(t, 4);
  let round = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 40 }),
      fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 4 }),
      async (count, limits) => {
        round++;
        const ids = Array.from({ length: count }, (_, i) => `r${round}-e${i}`);
        for (const id of ids) assert.ok(await (claims[0] as PgClaims).queue(id));
        assert.equal(await (claims[1] as PgClaims).queue(ids[0] as string), false, 'queued once');
        const got: string[] = [];
        // Rounds of every replica claiming at once, until nothing is left.
        for (;;) {
          const batch = await Promise.all(
            limits.map((limit, i) => (claims[i] as PgClaims).claimExecutions(limit)),
          );
          const flat = batch.flat().map((c) => c.executionId);
          if (!flat.length) break;
          got.push(...flat);
        }
        const mine = got.filter((id) => id.startsWith(`r${round}-`));
        assert.equal(new Set(mine).size, mine.length, 'no execution went to two replicas');
        assert.deepEqual([...mine].sort(), [...ids].sort(), 'every queued execution was claimed');
      },
    ),
    { numRuns: 15 },
  );
});

test("a dead replica's execution is taken over when its lease expires; the stale fence is refused", async (t) => {
  const { claims, clients } = await replicas(t, 2);
  const [a, b] = claims as [PgClaims, PgClaims];
  await a.queue('ex1');
  const [mine] = await a.claimExecutions(10);
  assert.deepEqual(mine, { executionId: 'ex1', fence: 1 });
  assert.ok(mine);
  assert.deepEqual(await b.claimExecutions(10), [], 'held while its lease runs');
  assert.ok(await a.renew(mine), 'the owner renews');
  // Replica a freezes past its lease: the database's clock says the lease has expired.
  await clients[0]?.query(
    "UPDATE execution_claims SET expires_at = now() - interval '1 millisecond' WHERE execution_id = 'ex1'",
  );
  const [taken] = await b.claimExecutions(10);
  assert.deepEqual(taken, { executionId: 'ex1', fence: 2 }, 'taken over with the next fence');
  // a wakes up: every write with its old fence is refused.
  assert.equal(await a.renew(mine), false, 'a stale renewal is refused');
  assert.equal(await a.complete(mine), false, 'a stale end is refused');
  assert.ok(await b.complete(taken));
  assert.equal(await b.complete(taken), false, 'ended once');
  assert.deepEqual(await a.claimExecutions(10), [], 'an ended execution is not claimed again');
});
