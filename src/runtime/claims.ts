/**
 * How replicas on one PostgreSQL share the work (issue #21, replicas): each due trigger slot is
 * claimed by exactly one replica, each queued execution is claimed by one replica and renewed
 * while it runs, and a dead replica's claims are taken over once their lease has expired. Every
 * time is the database's `now()`, never a replica's clock; every claim carries a fencing token
 * (`fence`, counting up at each takeover) that every later write of the claim must present, so
 * a replica that paused past its lease (GC, a frozen VM) and wakes up cannot overwrite the work
 * of the replica that took over.
 *
 * Not wired into the server yet: `PgClaims` is the primitive the replicas' runtime builds on,
 * checked by test/claims.test.ts against a real PostgreSQL.
 */
import type pg from 'pg';

const SCHEMA = `
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
  readonly #db: pg.Pool | pg.Client;
  readonly #owner: string;
  readonly #lease: string;

  constructor(db: pg.Pool | pg.Client, options: ClaimsOptions) {
    this.#db = db;
    this.#owner = options.owner;
    if (!Number.isInteger(options.leaseMs) || options.leaseMs <= 0)
      throw new RangeError(`leaseMs: ${options.leaseMs}; expected a positive whole number of ms`);
    this.#lease = `${options.leaseMs} milliseconds`;
  }

  /** Creates the tables, under an advisory lock (replicas starting together migrate once). */
  async migrate(): Promise<void> {
    await this.#db.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await this.#db.query(SCHEMA);
    } finally {
      await this.#db.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  }

  /** Claims a due slot of a trigger: true for exactly one replica, however many ask at once. */
  async claimSlot(triggerKey: string, slotMs: number): Promise<boolean> {
    const r = await this.#db.query(
      `INSERT INTO trigger_slots (trigger_key, slot, owner) VALUES ($1, $2, $3)
       ON CONFLICT (trigger_key, slot) DO NOTHING RETURNING slot`,
      [triggerKey, slotMs, this.#owner],
    );
    return r.rowCount === 1;
  }

  /** Queues an execution for whichever replica claims it (false: the id was already queued). */
  async queue(executionId: string): Promise<boolean> {
    const r = await this.#db.query(
      `INSERT INTO execution_claims (execution_id) VALUES ($1) ON CONFLICT (execution_id) DO NOTHING`,
      [executionId],
    );
    return r.rowCount === 1;
  }

  /**
   * Claims up to `limit` executions: queued ones, and running ones whose lease has expired (their
   * replica died); oldest first. Rows another replica is claiming at this moment are skipped
   * (`FOR UPDATE SKIP LOCKED`), so no two replicas get one execution. Each comes with its new fence.
   */
  async claimExecutions(limit: number): Promise<ExecutionClaim[]> {
    const r = await this.#db.query<{ execution_id: string; fence: string }>(
      `UPDATE execution_claims c
          SET state = 'RUNNING', owner = $1, fence = c.fence + 1, expires_at = now() + $2::interval
        WHERE c.execution_id IN (
          SELECT execution_id FROM execution_claims
           WHERE state = 'QUEUED' OR (state = 'RUNNING' AND expires_at < now())
           ORDER BY queued_at, execution_id
           LIMIT $3
           FOR UPDATE SKIP LOCKED)
        RETURNING c.execution_id, c.fence`,
      [this.#owner, this.#lease, limit],
    );
    return r.rows.map((row) => ({ executionId: row.execution_id, fence: Number(row.fence) }));
  }

  /** Extends a claim while its execution runs; false when the fence is stale (taken over). */
  async renew(claim: ExecutionClaim): Promise<boolean> {
    return this.#fenced(
      `UPDATE execution_claims SET expires_at = now() + $4::interval
        WHERE execution_id = $1 AND fence = $2 AND owner = $3 AND state = 'RUNNING'`,
      claim,
      [this.#lease],
    );
  }

  /** Marks the execution ended; refused (false) when the fence is stale: another replica owns it. */
  async complete(claim: ExecutionClaim): Promise<boolean> {
    return this.#fenced(
      `UPDATE execution_claims SET state = 'ENDED', expires_at = NULL
        WHERE execution_id = $1 AND fence = $2 AND owner = $3 AND state = 'RUNNING'`,
      claim,
    );
  }

  async #fenced(sql: string, claim: ExecutionClaim, more: unknown[] = []): Promise<boolean> {
    const r = await this.#db.query(sql, [claim.executionId, claim.fence, this.#owner, ...more]);
    return r.rowCount === 1;
  }
}
