/**
 * How replicas on one PostgreSQL share the work (issue #21, replicas): each due trigger slot is
 * claimed by exactly one replica, each queued execution is claimed by one replica and renewed
 * while it runs, and a dead replica's claims are taken over once their lease has expired. Every
 * time is the database's `now()`, never a replica's clock; every claim carries a fencing token
 * (`fence`, counting up at each takeover) that every later write of the claim must present, so
 * a replica that paused past its lease (GC, a frozen VM) and wakes up cannot overwrite the work
 * of the replica that took over.
 *
 * `PgClaims` is the primitive the replicas' runtime builds on (PgStore's `replicas`, with
 * --database-url), checked by test/claims.test.ts against a real PostgreSQL. Each method runs on the
 * given connection or transaction (`q`), else on the one the claims were made with.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';

/** How long a claim lasts unrenewed when `server --lease` is not given (renewed every third of it). */
export const DEFAULT_LEASE_MS = 5000;

/** This process's name as a replica: host, pid and a random part (a pid is reused after a restart). */
export const replicaName = () => `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

/** A connection, a pool, or a client inside a transaction. */
type Queryable = Pick<pg.PoolClient, 'query'>;

export const CLAIMS_SCHEMA = `
CREATE TABLE IF NOT EXISTS trigger_slots (
  trigger_key TEXT NOT NULL,
  slot BIGINT NOT NULL,
  owner TEXT NOT NULL,
  claimed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (trigger_key, slot)
);
CREATE TABLE IF NOT EXISTS execution_claims (
  execution_id TEXT PRIMARY KEY,
  state TEXT NOT NULL DEFAULT 'QUEUED',
  owner TEXT,
  fence BIGINT NOT NULL DEFAULT 0,
  expires_at TIMESTAMPTZ,
  queued_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS execution_claims_open ON execution_claims (state, queued_at);
`;

/** One key of pg_advisory_lock: migrations of this schema run one replica at a time. */
const MIGRATION_LOCK = 0x6b66_636c; // 'kfcl'

/** An execution held by this replica: its id and the fence every write of it presents. */
export interface ExecutionClaim {
  executionId: string;
  fence: number;
}

export interface ClaimsOptions {
  /** This replica's name (host and pid, say): written as the owner of what it claims. */
  owner: string;
  /** How long a claim lasts without renewal; a dead replica's work is taken over after it. */
  leaseMs: number;
}

export class PgClaims {
  readonly #db: Queryable;
  readonly #renewals: Queryable;
  readonly #owner: string;
  readonly #lease: string;
  readonly leaseMs: number;

  /** `renewals`: where lease renewals run (a connection of their own); `db` otherwise. */
  constructor(db: Queryable, options: ClaimsOptions, renewals: Queryable = db) {
    this.#db = db;
    this.#renewals = renewals;
    this.#owner = options.owner;
    if (!Number.isInteger(options.leaseMs) || options.leaseMs <= 0)
      throw new RangeError(`leaseMs: ${options.leaseMs}; expected a positive whole number of ms`);
    this.leaseMs = options.leaseMs;
    this.#lease = `${options.leaseMs} milliseconds`;
  }

  get owner(): string {
    return this.#owner;
  }

  /** Creates the tables, under an advisory lock (replicas starting together migrate once). */
  async migrate(): Promise<void> {
    await this.#db.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await this.#db.query(CLAIMS_SCHEMA);
    } finally {
      await this.#db.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  }

  /** Claims a due slot of a trigger: true for exactly one replica, however many ask at once. */
  async claimSlot(triggerKey: string, slotMs: number, q: Queryable = this.#db): Promise<boolean> {
    const r = await q.query(
      `INSERT INTO trigger_slots (trigger_key, slot, owner) VALUES ($1, $2, $3)
       ON CONFLICT (trigger_key, slot) DO NOTHING RETURNING slot`,
      [triggerKey, slotMs, this.#owner],
    );
    return r.rowCount === 1;
  }

  /** Queues an execution for whichever replica claims it (false: the id was already queued). */
  async queue(executionId: string, q: Queryable = this.#db): Promise<boolean> {
    const r = await q.query(
      `INSERT INTO execution_claims (execution_id) VALUES ($1) ON CONFLICT (execution_id) DO NOTHING`,
      [executionId],
    );
    return r.rowCount === 1;
  }

  /** Queues an execution already claimed by this replica (its fence is 1): a local submission. */
  async queueClaimed(executionId: string, q: Queryable = this.#db): Promise<boolean> {
    const r = await q.query(
      `INSERT INTO execution_claims (execution_id, state, owner, fence, expires_at)
         VALUES ($1, 'RUNNING', $2, 1, clock_timestamp() + $3::interval) ON CONFLICT (execution_id) DO NOTHING`,
      [executionId, this.#owner, this.#lease],
    );
    return r.rowCount === 1;
  }

  /**
   * Queues an ended execution again (a restart), for any replica to claim; its fence counts on. A
   * claim still queued or held is left as it is (two restarts at once run it once).
   */
  async requeue(executionId: string, q: Queryable = this.#db): Promise<void> {
    await q.query(
      `INSERT INTO execution_claims AS c (execution_id) VALUES ($1) ON CONFLICT (execution_id)
         DO UPDATE SET state = 'QUEUED', owner = NULL, expires_at = NULL, queued_at = now()
         WHERE c.state = 'ENDED'`,
      [executionId],
    );
  }

  /** Drops the claims of deleted executions: their holders' next writes are refused. */
  async forget(executionIds: readonly string[], q: Queryable = this.#db): Promise<void> {
    if (executionIds.length)
      await q.query('DELETE FROM execution_claims WHERE execution_id = ANY($1)', [[...executionIds]]);
  }

  /**
   * Extends every lease given in one statement; returns the ids still held by this replica. On the
   * renewals' own connection when there is one (not behind the writes waiting in the pool), and
   * from clock_timestamp(): the time of the write, not of a statement start that waited on locks.
   */
  async renewAll(claims: readonly ExecutionClaim[]): Promise<Set<string>> {
    if (!claims.length) return new Set();
    const r = await this.#renewals.query<{ execution_id: string }>(
      `UPDATE execution_claims c SET expires_at = clock_timestamp() + $4::interval
         FROM unnest($1::text[], $2::bigint[]) AS m(id, fence)
        WHERE c.execution_id = m.id AND c.fence = m.fence AND c.owner = $3 AND c.state = 'RUNNING'
        RETURNING c.execution_id`,
      [claims.map((c) => c.executionId), claims.map((c) => c.fence), this.#owner, this.#lease],
    );
    return new Set(r.rows.map((row) => row.execution_id));
  }

  /** Gives claims back to the queue (a replica stopping): claimed again at once, by any replica. */
  async release(claims: readonly ExecutionClaim[]): Promise<void> {
    if (!claims.length) return;
    await this.#db.query(
      `UPDATE execution_claims c SET state = 'QUEUED', owner = NULL, expires_at = NULL
         FROM unnest($1::text[], $2::bigint[]) AS m(id, fence)
        WHERE c.execution_id = m.id AND c.fence = m.fence AND c.owner = $3 AND c.state = 'RUNNING'`,
      [claims.map((c) => c.executionId), claims.map((c) => c.fence), this.#owner],
    );
  }

  /** Forgets slots claimed over `olderThanMs` ago (the database's clock); returns how many. */
  async pruneSlots(olderThanMs: number): Promise<number> {
    const r = await this.#db.query(`DELETE FROM trigger_slots WHERE claimed_at < now() - $1::interval`, [
      `${Math.max(0, Math.round(olderThanMs))} milliseconds`,
    ]);
    return r.rowCount ?? 0;
  }
  /**
   * Claims up to `limit` executions: queued ones, and running ones whose lease has expired (their
   * replica died); oldest first. Rows another replica is claiming at this moment are skipped
   * (`FOR UPDATE SKIP LOCKED`), so no two replicas get one execution. Each comes with its new fence.
   */
  async claimExecutions(limit: number, running: readonly string[] = []): Promise<ExecutionClaim[]> {
    // `running`: the executions this replica runs now. Their claims are never taken over here, even
    // expired (a lease expired before its first renewal): a new fence would refuse the writes of
    // the run under way, and the execution would be run a second time, by this replica.
    const r = await this.#db.query<{ execution_id: string; fence: string }>(
      `UPDATE execution_claims c
          SET state = 'RUNNING', owner = $1, fence = c.fence + 1, expires_at = clock_timestamp() + $2::interval
        WHERE c.execution_id IN (
          SELECT execution_id FROM execution_claims
           WHERE (state = 'QUEUED' OR (state = 'RUNNING' AND expires_at < clock_timestamp()))
             AND NOT (execution_id = ANY($4::text[]))
           ORDER BY queued_at, execution_id
           LIMIT $3
           FOR UPDATE SKIP LOCKED)
        RETURNING c.execution_id, c.fence`,
      [this.#owner, this.#lease, limit, [...running]],
    );
    return r.rows.map((row) => ({ executionId: row.execution_id, fence: Number(row.fence) }));
  }

  /** Extends a claim while its execution runs; false when the fence is stale (taken over). */
  async renew(claim: ExecutionClaim): Promise<boolean> {
    return this.#fenced(
      `UPDATE execution_claims SET expires_at = clock_timestamp() + $4::interval
        WHERE execution_id = $1 AND fence = $2 AND owner = $3 AND state = 'RUNNING'`,
      claim,
      [this.#lease],
    );
  }

  /** Marks the execution ended; refused (false) when the fence is stale: another replica owns it. */
  async complete(claim: ExecutionClaim, q: Queryable = this.#db): Promise<boolean> {
    return this.#fenced(
      `UPDATE execution_claims SET state = 'ENDED', expires_at = NULL
        WHERE execution_id = $1 AND fence = $2 AND owner = $3 AND state = 'RUNNING'`,
      claim,
      [],
      q,
    );
  }

  async #fenced(sql: string, claim: ExecutionClaim, more: unknown[] = [], q: Queryable = this.#db) {
    const r = await q.query(sql, [claim.executionId, claim.fence, this.#owner, ...more]);
    return r.rowCount === 1;
  }
}
