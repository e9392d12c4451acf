/**
 * The shared execution store: PostgreSQL through `pg`, for servers that share one database
 * (`server --database-url postgres://…`). The same tables and, where it costs nothing, the same SQL
 * as the embedded store (src/runtime/sqlite.ts): ISO dates as text (collated "C", so that they and
 * the namespace ranges compare byte by byte, as in SQLite), outputs in their own table. A write is
 * committed when the call resolves. Migrations run under an advisory lock, so that servers starting
 * together on a new database do not race; every session has a statement timeout, an idle-in-
 * transaction timeout (a frozen process cannot hold row locks) and TCP keepalives.
 */
import { wallNowIso } from '../clock.js';
import { createRequire } from 'node:module';
import type Pg from 'pg';
import { InvalidInputError, oneLine, RunFailedError } from '../errors.js';
import { hidePasswords } from '../url-password.js';
import type { TaskRun } from '../flow/executor.js';
import { parseJson, writeJson } from '../pebble/java.js';
import type { ExecutionRecord, TriggerState } from '../flow/state.js';
import { LEVELS } from '../levels.js';
import type { Logger } from '../logger.js';
import { CLAIMS_SCHEMA, PgClaims } from './claims.js';
import { PgPipeline } from './pg-pipeline.js';
import { storeClient } from './pg-client.js';
import {
  type ExecutionStore,
  type Finished,
  FLOW_OUTPUTS_KEY,
  type Lease,
  LeaseLostError,
  type LegacyImport,
  type LogEntry,
  type LogQuery,
  type ReplicaClaims,
  type SearchQuery,
  type SlotTransaction,
  type StoredExecution,
  type Submission,
  toRecord,
} from './store.js';
import {
  appendHistory,
  COLUMNS,
  conditionSql,
  createdHistory,
  startedHistory,
  submissionValues,
  type Values,
  fromRow,
  literal,
  OPEN,
  type Row,
  SORT_COLUMNS,
} from './sql.js';
import { OPEN_STATES } from './store.js';
import { GroupCommit, type Outcome } from './group-commit.js';

/** PostgreSQL's lock_not_available: a lock_timeout ran out. */
const LOCK_NOT_AVAILABLE = '55P03';

/** The first key of the advisory lock a trigger's slot claims take (the second is the key's hash). */
const SLOT_LOCK = 0x6b66; // 'kf'

/** How an execution is queued: not at all (an ended one imported), for any replica, or claimed here. */
type Claim = 'none' | 'queued' | 'mine';

/** Outputs up to this size come with a listed execution; larger ones are read by id (as SQLite). */
const OUTPUTS_LISTED_BYTES = 256 * 1024;

/** pg_advisory_lock key of the migrations ('kfmigr' as a number). */
const MIGRATION_LOCK = 0x6b666d696772;

/**
 * The schema, one step per entry, applied in order once per database under MIGRATION_LOCK and
 * recorded in schema_migrations. Append; never edit a step that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE executions (
  id TEXT COLLATE "C" PRIMARY KEY,
  namespace TEXT COLLATE "C" NOT NULL,
  flow_id TEXT COLLATE "C" NOT NULL,
  state TEXT COLLATE "C" NOT NULL,
  trigger_id TEXT,
  trigger_type TEXT,
  created_at TEXT COLLATE "C" NOT NULL,
  start_date TEXT COLLATE "C",
  end_date TEXT COLLATE "C",
  duration_ms BIGINT,
  error TEXT,
  outputs_bytes BIGINT,
  inputs TEXT NOT NULL,
  trigger_vars TEXT
);
CREATE INDEX executions_created ON executions (created_at);
CREATE INDEX executions_namespace ON executions (namespace, created_at);
CREATE INDEX executions_flow ON executions (flow_id, namespace, created_at);
CREATE INDEX executions_state ON executions (state, created_at);
CREATE INDEX executions_ended ON executions (end_date);
CREATE TABLE task_runs (
  execution_id TEXT COLLATE "C" NOT NULL,
  id TEXT COLLATE "C" NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (execution_id, id)
);
CREATE TABLE outputs (
  execution_id TEXT COLLATE "C" PRIMARY KEY,
  body TEXT NOT NULL
);
CREATE TABLE marks (
  name TEXT PRIMARY KEY
);
`,
  // How many executions each (namespace, flow, state) has, kept by statement triggers: a search's
  // total is a sum over this small table instead of a count over the history (58 ms unfiltered at
  // 250,000 executions). Each statement applies its changes in key order, so that two writers
  // never lock two counters in opposite orders.
  `
CREATE TABLE execution_counts (
  namespace TEXT COLLATE "C" NOT NULL,
  flow_id TEXT COLLATE "C" NOT NULL,
  state TEXT COLLATE "C" NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (namespace, flow_id, state)
);
INSERT INTO execution_counts (namespace, flow_id, state, n)
  SELECT namespace, flow_id, state, COUNT(*) FROM executions GROUP BY 1, 2, 3;
CREATE FUNCTION execution_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO execution_counts AS c (namespace, flow_id, state, n)
      SELECT namespace, flow_id, state, COUNT(*) FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT (namespace, flow_id, state) DO UPDATE SET n = c.n + excluded.n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO execution_counts AS c (namespace, flow_id, state, n)
      SELECT namespace, flow_id, state, -COUNT(*) FROM old_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT (namespace, flow_id, state) DO UPDATE SET n = c.n + excluded.n;
  ELSE
    INSERT INTO execution_counts AS c (namespace, flow_id, state, n)
      SELECT namespace, flow_id, state, SUM(d) FROM (
        SELECT namespace, flow_id, state, 1 AS d FROM new_rows
        UNION ALL SELECT namespace, flow_id, state, -1 AS d FROM old_rows
      ) AS changes GROUP BY 1, 2, 3 HAVING SUM(d) <> 0 ORDER BY 1, 2, 3
      ON CONFLICT (namespace, flow_id, state) DO UPDATE SET n = c.n + excluded.n;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER executions_counted_insert AFTER INSERT ON executions
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION execution_counts_apply();
CREATE TRIGGER executions_counted_update AFTER UPDATE ON executions
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION execution_counts_apply();
CREATE TRIGGER executions_counted_delete AFTER DELETE ON executions
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION execution_counts_apply();
`,
  // What SQLite gained with the executions API and the trigger runtime: labels (JSON text, searched
  // with LIKE), log lines and task runs in insertion order (a sequence, as SQLite's rowid), the
  // triggers' state.
  `
ALTER TABLE executions ADD COLUMN labels TEXT;
ALTER TABLE task_runs ADD COLUMN seq BIGSERIAL;
CREATE INDEX task_runs_order ON task_runs (execution_id, seq);
CREATE TABLE logs (
  seq BIGSERIAL PRIMARY KEY,
  execution_id TEXT COLLATE "C" NOT NULL,
  level_no INTEGER NOT NULL,
  task_id TEXT,
  task_run_id TEXT,
  attempt INTEGER,
  body TEXT NOT NULL
);
CREATE INDEX logs_execution ON logs (execution_id, seq);
CREATE TABLE triggers (
  key TEXT COLLATE "C" PRIMARY KEY,
  body TEXT NOT NULL
);
`,
  // Kestra's state.histories of each execution (JSON text), appended by the statement that changes
  // its state; NULL for the executions stored before (their history is made from their dates).
  `
ALTER TABLE executions ADD COLUMN histories TEXT;
`,
  // The counters off the write path: every submission, start and end of a flow updated the same
  // execution_counts rows, so its writes, on every replica, waited on one another's row locks
  // until each commit's WAL flush (BENCHMARKS.md §9). A write now inserts its changes into
  // execution_count_deltas (insert only: no row two writes share); execution_totals sums both, and
  // one replica at a time folds the deltas into execution_counts every second (PgStore.foldCounts).
  `
CREATE TABLE execution_count_deltas (
  namespace TEXT COLLATE "C" NOT NULL,
  flow_id TEXT COLLATE "C" NOT NULL,
  state TEXT COLLATE "C" NOT NULL,
  n BIGINT NOT NULL
);
CREATE OR REPLACE FUNCTION execution_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO execution_count_deltas (namespace, flow_id, state, n)
      SELECT namespace, flow_id, state, COUNT(*) FROM new_rows GROUP BY 1, 2, 3;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO execution_count_deltas (namespace, flow_id, state, n)
      SELECT namespace, flow_id, state, -COUNT(*) FROM old_rows GROUP BY 1, 2, 3;
  ELSE
    INSERT INTO execution_count_deltas (namespace, flow_id, state, n)
      SELECT namespace, flow_id, state, SUM(d) FROM (
        SELECT namespace, flow_id, state, 1 AS d FROM new_rows
        UNION ALL SELECT namespace, flow_id, state, -1 AS d FROM old_rows
      ) AS changes GROUP BY 1, 2, 3 HAVING SUM(d) <> 0;
  END IF;
  RETURN NULL;
END
$$;
CREATE VIEW execution_totals AS
  SELECT namespace, flow_id, state, SUM(n) AS n FROM (
    SELECT namespace, flow_id, state, n FROM execution_counts
    UNION ALL SELECT namespace, flow_id, state, n FROM execution_count_deltas
  ) AS both_parts GROUP BY namespace, flow_id, state;
`,
];

const ACCEPTED = 'postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (or postgresql://)';

/** The URL with its password replaced by `***`: the only form a URL is ever shown in. */
export function redactUrl(text: string): string {
  let out = text;
  try {
    const url = new URL(text);
    if (url.password) url.password = '***';
    // pg reads `?password=` too (pg-connection-string).
    for (const key of [...url.searchParams.keys()]) if (/pass/i.test(key)) url.searchParams.set(key, '***');
    out = url.toString();
  } catch {
    // Not a URL: hidden below all the same.
  }
  return hidePasswords(out);
}

/**
 * Checks a --database-url (or $KESTRA_FASTLY_DATABASE_URL): a postgres:// URL naming a host and a
 * database. Throws InvalidInputError naming `flag`, the URL (its password hidden) and what is
 * accepted; returns the password, for the masker, when there is one.
 */
export function checkDatabaseUrl(text: string, flag = '--database-url'): { password?: string } {
  const refuse = (why: string): never => {
    throw new InvalidInputError(
      `${flag}: ${JSON.stringify(redactUrl(text))} is not allowed (${why}); expected ${ACCEPTED}`,
      flag,
    );
  };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return refuse('not a URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') refuse(`scheme ${url.protocol}`);
  if (!url.hostname) refuse('no host');
  if (url.pathname.length <= 1) refuse('no database');
  // pg reads the last of a repeated parameter: `?sslmode=verify-full&sslmode=disable` would be
  // checked as one thing and connect as the other.
  for (const name of new Set(url.searchParams.keys())) {
    const times = url.searchParams.getAll(name).length;
    if (times > 1)
      throw new InvalidInputError(
        `${flag}: ${JSON.stringify(redactUrl(text))} gives ${name} ${times} times; expected once`,
        flag,
      );
  }
  // pg takes an sslmode it does not know as no TLS at all, where libpq refuses it: a typo
  // (`sslmode=requre`, PGSSLMODE=on) would send the password in the clear. The URL's wins over
  // $PGSSLMODE, as in pg.
  const [mode, source] = url.searchParams.has('sslmode')
    ? [url.searchParams.get('sslmode'), `${flag} sslmode`]
    : [process.env.PGSSLMODE || null, 'PGSSLMODE'];
  if (mode !== null && !SSL_MODES.includes(mode))
    throw new InvalidInputError(
      `${source}: ${JSON.stringify(mode)} is not an sslmode pg takes; expected one of ${SSL_MODES.join(', ')}`,
      source === 'PGSSLMODE' ? source : flag,
    );
  let password: string | null;
  try {
    password = url.password ? decodeURIComponent(url.password) : url.searchParams.get('password');
  } catch {
    return refuse('a % in the password that is not %XX: write a % as %25');
  }
  return password ? { password } : {};
}

/** The sslmode values pg knows (libpq's but `allow`, and pg's own `no-verify`). */
const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/** pg's modes it checks as verify-full (libpq would encrypt unchecked, or fall back to plain). */
const CHECKED_AS_FULL = new Set(['prefer', 'require', 'verify-ca']);

/**
 * The URL pg is given: `sslmode=prefer|require|verify-ca` written as the `verify-full` pg makes of
 * them (the server's certificate and host name are checked), said in one line on `logger`. Given
 * them, pg connects the same way and prints a nine-line SECURITY WARNING on stderr. With pg's
 * `uselibpqcompat=true` (libpq's meanings) the URL is left as it is.
 */
export function sslModeChecked(url: string, logger?: Logger): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  const mode = u.searchParams.get('sslmode');
  if (mode === null || !CHECKED_AS_FULL.has(mode) || u.searchParams.get('uselibpqcompat') === 'true')
    return url;
  u.searchParams.set('sslmode', 'verify-full');
  logger?.warn(
    `database URL: sslmode=${mode} is checked as sslmode=verify-full (the server's certificate and host name are verified); write sslmode=verify-full to say so, or sslmode=no-verify to encrypt without checking`,
  );
  return u.toString();
}

export interface PgStoreOptions {
  /** Connections kept open for reads and claims, and as many for the executions' writes (default 8). */
  poolSize?: number;
  /** Longest a statement may run before PostgreSQL cancels it (default 30 s). */
  statementTimeoutMs?: number;
  /** A session idle inside a transaction this long is ended, releasing its locks (default 10 s). */
  idleInTransactionMs?: number;
  /** How often the counters' deltas are folded (default every second); 0: never (tests call foldCounts). */
  foldEveryMs?: number;
  logger?: Logger | undefined;
  /**
   * Replica mode (`server --database-url`): this replica's name and lease. Executions are then
   * claimed, leased and fenced (`replicas`), and trigger slots claimed once across replicas.
   */
  replica?: { owner: string; leaseMs: number } | undefined;
}

/**
 * Replicas: the idle-in-transaction timeout for a lease: under half of it (at least a second, at
 * most the 10 s of a single server), so that a frozen replica's locks are gone well before a live
 * replica's lease, renewed every third of it, can run out behind them.
 */
export function idleInTransactionFor(leaseMs: number): number {
  return Math.min(10_000, Math.max(1000, Math.floor(leaseMs * 0.4)));
}

/** pg is loaded when a PostgreSQL store is opened, never by a CLI purge. */
function driver(): typeof Pg {
  return createRequire(import.meta.url)('pg') as typeof Pg;
}

/** Where every statement of the store runs: the pool, or one client inside a transaction. */
type Queryable = Pick<Pg.PoolClient, 'query'>;

/**
 * The sessions of the pools that write what a crash of the database may lose: an execution's
 * start, task runs, log lines and end, and lease renewals. Their commits do not wait for the WAL
 * flush (PostgreSQL writes it within a few hundred ms); one lost in a crash of the database means
 * that task runs again, which resume allows (README, "What stays at-least-once"). Set for the
 * session rather than by `SET LOCAL` in each transaction: most of these writes are one statement,
 * which a transaction block would make three round trips.
 */
const ASYNC_COMMIT = '-c synchronous_commit=off';

/** Messages of executions' writes under way at once (PgPipeline), each on a connection of `runs`. */
const RUN_MESSAGES = 4;

/** Connections of the acknowledgements' pool: a group commit on each at most. */
const ACK_CONNECTIONS = 2;

/** How often one replica folds the counters' deltas into their totals (foldCounts). */
const FOLD_EVERY_MS = 1000;

/** pg_try_advisory_xact_lock key of a fold of the counters ('kfcnt'): one replica at a time. */
const FOLD_LOCK = 0x6b66636e74;

/**
 * Task runs as one JSON array, one per run id (the last write wins, as with saveTaskRun): a
 * statement may not upsert a row twice.
 */
function lastWrites(runs: readonly TaskRun[]): string {
  return writeJson([...new Map(runs.map((r) => [r.id, r])).values()]);
}

/** How a submission is written: queued for no replica, any replica, or claimed by this one. */
interface Queued {
  s: Submission;
  claim: Claim;
}

/** The store's connections, each pool for one kind of work so that none waits behind another's. */
interface Pools {
  /** Reads, claims, kills, restarts, trigger firings and states: committed durably. */
  main: Pg.Pool;
  /** An execution's start, task runs, logs and end (asynchronous commit). */
  runs: Pg.Pool;
  /** Acknowledged submissions, a turn's in one INSERT, never behind the executions' writes. */
  acks: Pg.Pool;
  /** Replicas: lease renewals (asynchronous commit). */
  renewals: Pg.Pool | undefined;
}

export class PgStore implements ExecutionStore {
  /** The database, as shown: the password hidden. */
  readonly file: string;
  readonly #pool: Pg.Pool;
  readonly #runs: Pg.Pool;
  /** The executions' start, task runs, logs and end: a turn's statements in one message. */
  readonly #writes: PgPipeline;
  /**
   * Replicas: the fenced writes of a turn, one statement per kind for every execution (a statement's
   * planning and the counters' trigger are paid once for them all), each refused alone when its
   * fence is stale.
   */
  readonly #fenced = {
    started: new GroupCommit<{ lease: Lease; now: string }, string>((items) => this.#startedAll(items), 2),
    taskRuns: new GroupCommit<{ lease: Lease; run: TaskRun }, void>((items) => this.#taskRunsAll(items), 2),
    logs: new GroupCommit<{ lease: Lease; entries: readonly LogEntry[] }, void>(
      (items) => this.#logsAll(items),
      2,
    ),
    finish: new GroupCommit<{ lease: Lease; f: Finished }, void>((items) => this.#finishAll(items), 2),
  };
  readonly #acks: Pg.Pool;
  /** Replicas: the lease renewals' own connection, never queued behind the pool's writes. */
  readonly #renewals: Pg.Pool | undefined;
  /** The submissions of one turn of the event loop, acknowledged after one commit. */
  readonly #submissions = new GroupCommit<Queued, boolean>(
    (items) => this.#enqueueAll(items),
    ACK_CONNECTIONS,
  );
  /** Replicas: how long a slot's claim waits for another replica's on the same trigger. */
  #slotWaitMs = 10_000;
  #folding: NodeJS.Timeout | undefined;
  readonly #claims: PgClaims | undefined;
  readonly replicas: ReplicaClaims | undefined;

  private constructor(
    url: string,
    pools: Pools,
    replica: PgStoreOptions['replica'],
    escape: (text: string) => string,
  ) {
    this.file = redactUrl(url);
    this.#pool = pools.main;
    this.#runs = pools.runs;
    this.#writes = new PgPipeline(pools.runs, RUN_MESSAGES, escape);
    this.#acks = pools.acks;
    this.#renewals = pools.renewals;
    this.#claims = replica ? new PgClaims(pools.main, replica, pools.renewals) : undefined;
    this.replicas = this.#claims ? this.#replicas(this.#claims) : undefined;
  }

  /** Connects, applies the migrations this database lacks, and returns the store. */
  static async open(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
    checkDatabaseUrl(url);
    const pg = driver();
    const { Pool } = pg;
    // Replicas: a frozen replica's open transaction must not hold its locks for longer than a
    // lease, or a live replica's writes (and renewals) wait behind them until its lease is lost.
    const lease = options.replica?.leaseMs;
    const idle = options.idleInTransactionMs ?? (lease ? idleInTransactionFor(lease) : 10_000);
    const settings = {
      connectionString: sslModeChecked(url, options.logger),
      application_name: 'kestra-fastly',
      statement_timeout: options.statementTimeoutMs ?? 30_000,
      idle_in_transaction_session_timeout: idle,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      Client: storeClient(pg),
    };
    const pools: Pools = {
      main: new Pool({ ...settings, max: options.poolSize ?? 8 }),
      runs: new Pool({ ...settings, max: options.poolSize ?? 8, options: ASYNC_COMMIT }),
      acks: new Pool({ ...settings, max: ACK_CONNECTIONS }),
      // Replicas: lease renewals on a connection of their own, with a statement timeout below the
      // lease (a renewal that waits longer is useless).
      renewals: lease
        ? new Pool({
            ...settings,
            max: 1,
            statement_timeout: Math.max(1000, Math.floor(lease / 2)),
            options: ASYNC_COMMIT,
          })
        : undefined,
    };
    // An idle connection that breaks (the database restarted) is dropped; the next query opens one.
    const lost = (err: Error) => options.logger?.warn(`database connection lost: ${redactUrl(err.message)}`);
    for (const pool of [pools.main, pools.runs, pools.acks, pools.renewals]) pool?.on('error', lost);
    const store = new PgStore(url, pools, options.replica, pg.escapeLiteral);
    store.#slotWaitMs = idle + 1000;
    try {
      await store.#migrate();
    } catch (err) {
      await store.#end();
      const { password } = checkDatabaseUrl(url);
      let why = redactUrl(oneLine((err as Error).message));
      if (password) why = why.replaceAll(password, '***');
      throw new RunFailedError(`database ${store.file}: ${why}`, { cause: err });
    }
    const foldEvery = options.foldEveryMs ?? FOLD_EVERY_MS;
    if (foldEvery > 0) {
      store.#folding = setInterval(() => {
        store
          .foldCounts()
          .catch((err: unknown) =>
            options.logger?.debug(`execution counters not folded: ${redactUrl((err as Error).message)}`),
          );
      }, foldEvery);
      store.#folding.unref();
    }
    return store;
  }

  /**
   * Moves the counters' deltas into their totals, in one statement (a search reads the same sums
   * before and after); skipped while another replica folds. Returns how many deltas were moved.
   */
  async foldCounts(): Promise<number> {
    const [row] = await this.#rows<{ n: string }>(
      `WITH turn AS (SELECT pg_try_advisory_xact_lock($1) AS mine),
       moved AS (DELETE FROM execution_count_deltas WHERE (SELECT mine FROM turn) RETURNING namespace, flow_id, state, n),
       folded AS (
         INSERT INTO execution_counts AS c (namespace, flow_id, state, n)
         SELECT namespace, flow_id, state, SUM(n) FROM moved GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
         ON CONFLICT (namespace, flow_id, state) DO UPDATE SET n = c.n + excluded.n
       )
       SELECT COUNT(*) AS n FROM moved`,
      [FOLD_LOCK],
      this.#runs,
    );
    return Number(row?.n ?? 0);
  }

  async #end(): Promise<void> {
    clearInterval(this.#folding);
    const pools = [this.#pool, this.#runs, this.#acks, this.#renewals].filter((p) => p !== undefined);
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  }

  async #migrate(): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)');
        const done = await client.query<{ v: number | null }>(
          'SELECT MAX(version) AS v FROM schema_migrations',
        );
        for (let v = (done.rows[0]?.v ?? 0) + 1; v <= MIGRATIONS.length; v++) {
          await client.query('BEGIN');
          try {
            // No lease to protect yet; a starved start (a loaded machine) must not lose its
            // migration between two statements to the pool's idle-in-transaction timeout.
            await client.query('SET LOCAL idle_in_transaction_session_timeout = 0');
            await client.query(MIGRATIONS[v - 1] as string);
            await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [v]);
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK');
            throw err;
          }
        }
        // The replicas' claims (src/runtime/claims.ts), idempotent, under the same lock.
        await client.query(CLAIMS_SCHEMA);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    } finally {
      client.release();
    }
  }

  /** Several writes in one transaction (on `pool`: the executions' writes go on their own). */
  async #transaction<T>(fn: (q: Queryable) => Promise<T>, pool: Pg.Pool = this.#pool): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      try {
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    } finally {
      client.release();
    }
  }

  async #rows<R extends Pg.QueryResultRow>(
    sql: string,
    args: unknown[] = [],
    q: Queryable | PgPipeline = this.#pool,
  ) {
    return (q instanceof PgPipeline ? await q.query<R>(sql, args) : await q.query<R>(sql, args)).rows;
  }

  /**
   * With a trigger's new state: both in one transaction. In replica mode the execution's claim row
   * is written with it (queued for any replica), unless `queued` is false (an ended one imported).
   */
  async enqueue(s: Submission, trigger?: TriggerState, queued = true): Promise<boolean> {
    return this.#enqueueAs(s, trigger, this.#claims && queued ? 'queued' : 'none');
  }

  /** A trigger's firing in one transaction with its state; any other in this turn's group commit. */
  async #enqueueAs(s: Submission, trigger: TriggerState | undefined, claim: Claim): Promise<boolean> {
    if (trigger)
      return this.#transaction(async (q) => {
        await this.#saveTriggerState(trigger, q);
        return this.#enqueue(s, q, claim);
      });
    return this.#submissions.add({ s, claim });
  }

  /**
   * A turn's submissions: one INSERT per kind of claim (one, nearly always), each committed on its
   * own (no transaction spans two). A statement that fails is tried again one submission at a
   * time, so that a bad one fails alone.
   */
  async #enqueueAll(items: readonly Queued[]): Promise<Outcome<boolean>[]> {
    const outcomes: Outcome<boolean>[] = [];
    const kinds = new Map<Claim, number[]>();
    for (const [i, { claim }] of items.entries()) kinds.set(claim, [...(kinds.get(claim) ?? []), i]);
    const failed = (err: unknown) => (err instanceof Error ? err : new Error(String(err)));
    await Promise.all(
      [...kinds].map(async ([claim, at]) => {
        const rows: { i: number; values: Values }[] = [];
        for (const i of at) {
          try {
            rows.push({ i, values: submissionValues((items[i] as Queued).s) });
          } catch (err) {
            outcomes[i] = failed(err);
          }
        }
        if (!rows.length) return;
        let created: Set<string>;
        try {
          created = await this.#insertMany(
            rows.map((r) => r.values),
            claim,
          );
        } catch {
          for (const { i } of rows)
            outcomes[i] = await this.#enqueue((items[i] as Queued).s, this.#acks, claim).catch(failed);
          return;
        }
        // The first of an id given twice is the one written.
        for (const { i, values } of rows) outcomes[i] = created.delete(values[0]);
      }),
    );
    return outcomes;
  }

  /** Submissions as one multi-row INSERT, with their claim rows; returns the ids written. */
  async #insertMany(rows: readonly Values[], claim: Claim, q: Queryable = this.#acks): Promise<Set<string>> {
    const claims = this.#claims;
    const columns = rows[0]?.map((_, c) => rows.map((r) => r[c])) ?? [];
    // Claimed by this replica, it starts now: written RUNNING at once, where a start of its own
    // would write the row, its indexes and the counters a second time.
    const started = claim === 'mine' && claims !== undefined;
    const insert = `INSERT INTO executions (id, namespace, flow_id, state, trigger_id, trigger_type, created_at, inputs, trigger_vars, labels, histories, start_date)
      SELECT id, namespace, flow_id, ${started ? "'RUNNING'" : "'CREATED'"}, trigger_id, trigger_type, created_at, inputs, trigger_vars, labels,
        ${started ? startedHistory('created_at') : createdHistory('created_at')}, ${started ? 'created_at' : 'NULL'}
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
             WITH ORDINALITY AS s(id, namespace, flow_id, trigger_id, trigger_type, created_at, inputs, trigger_vars, labels, i)
       ORDER BY i
      ON CONFLICT (id) DO NOTHING RETURNING id`;
    let sql = insert;
    const more: unknown[] = [];
    if (claim !== 'none' && claims) {
      sql =
        claim === 'queued'
          ? `WITH e AS (${insert}) INSERT INTO execution_claims (execution_id) SELECT id FROM e RETURNING execution_id AS id`
          : `WITH e AS (${insert})
             INSERT INTO execution_claims (execution_id, state, owner, fence, expires_at)
               SELECT id, 'RUNNING', $10, 1, clock_timestamp() + $11::interval FROM e RETURNING execution_id AS id`;
      if (claim === 'mine') more.push(claims.owner, `${claims.leaseMs} milliseconds`);
    }
    const written = await this.#rows<{ id: string }>(sql, [...columns, ...more], q);
    return new Set(written.map((r) => r.id));
  }

  /** One statement: the execution and, unless `none`, its claim row (a known id writes neither). */
  async #enqueue(s: Submission, q: Queryable, claim: Claim = 'none'): Promise<boolean> {
    return (await this.#insertMany([submissionValues(s)], claim, q)).has(s.id);
  }

  async triggerStates(): Promise<TriggerState[]> {
    return (await this.#rows<{ body: string }>('SELECT body FROM triggers ORDER BY key')).map(
      (r) => parseJson(r.body) as TriggerState,
    );
  }

  async saveTriggerState(state: TriggerState): Promise<void> {
    await this.#submissions.flush();
    await this.#saveTriggerState(state, this.#pool);
  }

  async #saveTriggerState(state: TriggerState, q: Queryable): Promise<void> {
    await q.query(
      'INSERT INTO triggers (key, body) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET body = excluded.body',
      [state.key, writeJson(state)],
    );
  }

  async started(id: string, now: string, lease?: Lease): Promise<string> {
    // A kill asked for before the start stays asked for: the owner sees it and ends it KILLED.
    const set = `state = CASE WHEN state = 'KILLING' THEN state ELSE 'RUNNING' END, start_date = COALESCE(start_date, $4),
      histories = CASE WHEN state IN ('RUNNING', 'KILLING') THEN histories ELSE ${appendHistory("'RUNNING'", '$4')} END`;
    if (lease && this.#claims) return this.#fenced.started.add({ lease, now });
    const rows = await this.#rows<{ start_date: string | null }>(
      `UPDATE executions SET ${set.replaceAll('$4', '$1')} WHERE id = $2 RETURNING start_date`,
      [now, id],
      this.#writes,
    );
    return rows[0]?.start_date ?? now;
  }

  async saveTaskRun(executionId: string, run: TaskRun, lease?: Lease): Promise<void> {
    if (lease && this.#claims) return this.#fenced.taskRuns.add({ lease, run });
    await this.#writes.query(
      `INSERT INTO task_runs (execution_id, id, body) VALUES ($1, $2, $3)
           ON CONFLICT (execution_id, id) DO UPDATE SET body = excluded.body`,
      [executionId, run.id, writeJson(run)],
    );
  }

  /**
   * One statement (atomic): the task runs, the outputs, the execution's end; with a lease, the end
   * of its claim too, and nothing written unless its fence holds.
   */
  async finish(f: Finished, lease?: Lease): Promise<void> {
    if (lease && this.#claims) return this.#fenced.finish.add({ lease, f });
    await this.#finish(f, this.#writes);
    // An imported or restarted execution ended without a lease: nothing claims it any more.
    if (this.#claims)
      await this.#writes.query(
        `UPDATE execution_claims SET state = 'ENDED', expires_at = NULL WHERE execution_id = $1`,
        [f.id],
      );
  }

  async #finish(f: Finished, q: Queryable | PgPipeline) {
    const body = writeJson(f.outputs);
    const query = (sql: string, args: unknown[]) =>
      q instanceof PgPipeline ? q.query(sql, args) : q.query(sql, args);
    return query(
      `WITH runs AS (
         INSERT INTO task_runs (execution_id, id, body)
         SELECT $1, r->>'id', r::text FROM json_array_elements($2::json) AS r
         ON CONFLICT (execution_id, id) DO UPDATE SET body = excluded.body
       ), kept AS (
         INSERT INTO outputs (execution_id, body) VALUES ($1, $3)
         ON CONFLICT (execution_id) DO UPDATE SET body = excluded.body
       )
       UPDATE executions SET state = $4, end_date = $5, duration_ms = $6, error = $7, outputs_bytes = $8,
         histories = ${appendHistory('$4', '$5')} WHERE id = $1`,
      [
        f.id,
        lastWrites(f.taskRuns),
        body,
        f.state,
        f.endDate,
        f.durationMs,
        f.error ?? null,
        Buffer.byteLength(body),
      ],
    );
  }

  /**
   * A turn's fenced writes of one kind: `m` the rows (unnest of `arrays` as `names`, then their
   * `ordinality`), `held` the executions among them whose fence holds: their claim rows locked FOR
   * SHARE, or by `claim` when it is an UPDATE of them ($1 is this replica's name). A takeover waits
   * for the write; a write after a takeover finds no row and is refused.
   */
  #heldRows(arrays: string, names: string, claim = 'SELECT c.execution_id FROM execution_claims c'): string {
    return `m AS (SELECT * FROM unnest(${arrays}) WITH ORDINALITY AS m(${names}, ordinality)),
      held AS (${claim} WHERE (c.execution_id, c.fence) IN (SELECT DISTINCT execution_id, fence FROM m)
        AND c.owner = $1 AND c.state = 'RUNNING'${claim.startsWith('SELECT') ? ' FOR SHARE' : ' RETURNING c.execution_id'})`;
  }

  #outcomes<T>(items: readonly { lease: Lease }[], held: Map<string, T>): (T | LeaseLostError)[] {
    return items.map(({ lease }) =>
      held.has(lease.executionId)
        ? (held.get(lease.executionId) as T)
        : new LeaseLostError(lease.executionId),
    );
  }

  /** `started` of a turn's executions; the leases renewed by the same statement. */
  async #startedAll(items: readonly { lease: Lease; now: string }[]) {
    const { rows } = await this.#writes.query<{ id: string; start_date: string }>(
      `WITH ${this.#heldRows(
        '$2::text[], $3::bigint[], $4::text[]',
        'execution_id, fence, now',
        `UPDATE execution_claims c SET expires_at = clock_timestamp() + $5::interval`,
      )}
       UPDATE executions e SET state = CASE WHEN e.state = 'KILLING' THEN e.state ELSE 'RUNNING' END,
         start_date = COALESCE(e.start_date, m.now),
         histories = CASE WHEN e.state IN ('RUNNING', 'KILLING') THEN e.histories ELSE ${appendHistory("'RUNNING'", 'm.now')} END
       FROM m WHERE e.id = m.execution_id AND e.id IN (SELECT execution_id FROM held)
       RETURNING e.id, e.start_date`,
      [
        this.#claims?.owner,
        items.map((x) => x.lease.executionId),
        items.map((x) => x.lease.fence),
        items.map((x) => x.now),
        `${this.#claims?.leaseMs ?? 0} milliseconds`,
      ],
    );
    return this.#outcomes(items, new Map(rows.map((r) => [r.id, r.start_date])));
  }

  /** A turn's task runs (the last write of a run id wins). */
  async #taskRunsAll(items: readonly { lease: Lease; run: TaskRun }[]) {
    const last = new Map(items.map((x) => [`${x.lease.executionId}\0${x.run.id}`, x]));
    const rows = [...last.values()];
    const written = await this.#writes.query<{ execution_id: string }>(
      `WITH ${this.#heldRows('$2::text[], $3::bigint[], $4::text[], $5::text[]', 'execution_id, fence, id, body')}
       INSERT INTO task_runs (execution_id, id, body)
       SELECT execution_id, id, body FROM m WHERE execution_id IN (SELECT execution_id FROM held) ORDER BY ordinality
       ON CONFLICT (execution_id, id) DO UPDATE SET body = excluded.body RETURNING execution_id`,
      [
        this.#claims?.owner,
        rows.map((x) => x.lease.executionId),
        rows.map((x) => x.lease.fence),
        rows.map((x) => x.run.id),
        rows.map((x) => writeJson(x.run)),
      ],
    );
    return this.#outcomes(items, new Map(written.rows.map((r) => [r.execution_id, undefined])));
  }

  /** A turn's log lines, each execution's in order. */
  async #logsAll(items: readonly { lease: Lease; entries: readonly LogEntry[] }[]) {
    const lines = items.flatMap(({ lease, entries }) => entries.map((e) => ({ lease, e })));
    const written = await this.#writes.query<{ execution_id: string }>(
      `WITH ${this.#heldRows('$2::text[], $3::bigint[], $4::int[], $5::text[]', 'execution_id, fence, level_no, body')}
       INSERT INTO logs (execution_id, level_no, task_id, task_run_id, attempt, body)
       SELECT execution_id, level_no, e->>'taskId', e->>'taskRunId', (e->>'attemptNumber')::int, body
         FROM m, LATERAL (SELECT body::json AS e) AS j
        WHERE execution_id IN (SELECT execution_id FROM held) ORDER BY ordinality
       RETURNING execution_id`,
      [
        this.#claims?.owner,
        lines.map((x) => x.lease.executionId),
        lines.map((x) => x.lease.fence),
        lines.map((x) => LEVELS.indexOf(x.e.level)),
        lines.map((x) => JSON.stringify(x.e)),
      ],
    );
    return this.#outcomes(items, new Map(written.rows.map((r) => [r.execution_id, undefined])));
  }

  /** A turn's execution ends: task runs, outputs, the execution, the end of its claim. */
  async #finishAll(items: readonly { lease: Lease; f: Finished }[]) {
    const bodies = items.map((x) => writeJson(x.f.outputs));
    const ended = await this.#writes.query<{ id: string }>(
      `WITH ${this.#heldRows(
        '$2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[], $10::bigint[]',
        'execution_id, fence, runs, outputs, state, end_date, duration_ms, error, outputs_bytes',
        `UPDATE execution_claims c SET state = 'ENDED', expires_at = NULL`,
      )}, runs AS (
         INSERT INTO task_runs (execution_id, id, body)
         SELECT m.execution_id, r->>'id', r::text FROM m, json_array_elements(m.runs::json) AS r
          WHERE m.execution_id IN (SELECT execution_id FROM held)
         ON CONFLICT (execution_id, id) DO UPDATE SET body = excluded.body
       ), kept AS (
         INSERT INTO outputs (execution_id, body)
         SELECT execution_id, outputs FROM m WHERE execution_id IN (SELECT execution_id FROM held)
         ON CONFLICT (execution_id) DO UPDATE SET body = excluded.body
       )
       UPDATE executions e SET state = m.state, end_date = m.end_date, duration_ms = m.duration_ms, error = m.error,
         outputs_bytes = m.outputs_bytes, histories = ${appendHistory('m.state', 'm.end_date')}
       FROM m WHERE e.id = m.execution_id AND e.id IN (SELECT execution_id FROM held) RETURNING e.id`,
      [
        this.#claims?.owner,
        items.map((x) => x.lease.executionId),
        items.map((x) => x.lease.fence),
        items.map((x) => lastWrites(x.f.taskRuns)),
        bodies,
        items.map((x) => x.f.state),
        items.map((x) => x.f.endDate),
        items.map((x) => x.f.durationMs),
        items.map((x) => x.f.error ?? null),
        bodies.map((b) => Buffer.byteLength(b)),
      ],
    );
    return this.#outcomes(items, new Map(ended.rows.map((r) => [r.id, undefined])));
  }

  async get(id: string): Promise<StoredExecution | undefined> {
    const [row] = await this.#rows<Row>(`SELECT ${COLUMNS} FROM executions WHERE id = $1`, [id]);
    return row ? fromRow(row) : undefined;
  }

  async taskRuns(id: string): Promise<TaskRun[]> {
    // In the order they were first written (an upsert keeps its row and sequence), then by start.
    return (
      await this.#rows<{ body: string }>('SELECT body FROM task_runs WHERE execution_id = $1 ORDER BY seq', [
        id,
      ])
    )
      .map((r) => parseJson(r.body) as TaskRun)
      .sort((a, b) => a.startDate.localeCompare(b.startDate));
  }

  async outputs(id: string): Promise<Record<string, unknown> | undefined> {
    const [row] = await this.#rows<{ body: string }>('SELECT body FROM outputs WHERE execution_id = $1', [
      id,
    ]);
    return row ? (parseJson(row.body) as Record<string, unknown>) : undefined;
  }

  async flowOutputs(id: string): Promise<Record<string, unknown> | undefined> {
    const [row] = await this.#rows<{ flow: string | null }>(
      'SELECT (body::json -> $2)::text AS flow FROM outputs WHERE execution_id = $1',
      [id, FLOW_OUTPUTS_KEY],
    );
    return row?.flow ? (parseJson(row.flow) as Record<string, unknown>) : undefined;
  }

  async unfinished(): Promise<StoredExecution[]> {
    return (
      await this.#rows<Row>(`SELECT ${COLUMNS} FROM executions WHERE state IN ${OPEN} ORDER BY created_at`)
    ).map(fromRow);
  }

  async search(q: SearchQuery): Promise<{ results: StoredExecution[]; total: number }> {
    // The plan of SqliteSync.search (pages along the indexes, merged here); totals from the counters.
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    if (q.flowId) where.push(`flow_id = ${arg(q.flowId)}`);
    if (q.states?.length) where.push(`state IN (${q.states.map((s) => arg(s)).join(', ')})`);
    // The counters know namespace, flow and state only: other filters (and other orders) count rows.
    const counted = where.length;
    if (q.startDate) where.push(`start_date >= ${arg(q.startDate)}`);
    if (q.endDate) where.push(`end_date <= ${arg(q.endDate)}`);
    for (const l of q.labels ?? []) {
      // Labels are stored as the JSON of [{key, value}…], each object written the same way.
      where.push(
        `labels LIKE ${arg(`%${literal(JSON.stringify({ key: l.key, value: l.value }))}%`)} ESCAPE '\\'`,
      );
    }
    const dialect = { arg, position: (haystack: string, needle: string) => `STRPOS(${haystack}, ${needle})` };
    for (const c of q.conditions ?? []) where.push(conditionSql(c, dialect));
    if (q.sort || where.length > counted) return this.#filtered(q, where, args);
    const take = q.page * q.size;
    const read = async (namespace?: string) => {
      const own = [...args];
      const filter = [...where];
      if (namespace !== undefined) {
        own.push(namespace);
        filter.push(`namespace = $${own.length}`);
      }
      const clause = filter.length ? `WHERE ${filter.join(' AND ')}` : '';
      // Ties on created_at broken by id, as the merge below: a page cut inside a tie must keep the
      // same rows (an update moves a row in the index, so the index order of equal keys changes).
      const [count, page] = await Promise.all([
        this.#rows<{ n: string }>(`SELECT COALESCE(SUM(n), 0) AS n FROM execution_totals ${clause}`, own),
        this.#rows<Row>(
          `SELECT ${COLUMNS} FROM executions ${clause} ORDER BY created_at DESC, id DESC LIMIT $${own.length + 1}`,
          [...own, take],
        ),
      ]);
      return { total: Number(count[0]?.n ?? 0), rows: page };
    };
    let parts: { total: number; rows: Row[] }[];
    if (!q.namespace) parts = [await read()];
    else {
      // The namespace and its children (found in the counters, not the history), each read newest
      // first along (namespace, created_at).
      const prefix = q.namespace;
      const namespaces = (
        await this.#rows<{ namespace: string }>(
          'SELECT DISTINCT namespace FROM execution_totals WHERE namespace >= $1 AND namespace < $2 AND n > 0',
          [prefix, `${prefix}/`],
        )
      )
        .map((r) => r.namespace)
        .filter((ns) => ns === prefix || ns.startsWith(`${prefix}.`));
      parts = await Promise.all(namespaces.map((ns) => read(ns)));
    }
    const rows = parts.flatMap((p) => p.rows);
    rows.sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));
    return {
      results: rows.slice((q.page - 1) * q.size, take).map(fromRow),
      total: parts.reduce((n, p) => n + p.total, 0),
    };
  }

  /** A search the counters cannot total, or in another order than the newest created first. */
  async #filtered(
    q: SearchQuery,
    where: string[],
    args: unknown[],
  ): Promise<{ results: StoredExecution[]; total: number }> {
    const all = [...where];
    const allArgs = [...args];
    if (q.namespace) {
      allArgs.push(q.namespace, `${literal(q.namespace)}.%`);
      all.push(`(namespace = $${allArgs.length - 1} OR namespace LIKE $${allArgs.length} ESCAPE '\\')`);
    }
    const filter = all.length ? `WHERE ${all.join(' AND ')}` : '';
    const { field, desc } = q.sort ?? { field: undefined, desc: true };
    const dir = desc ? 'DESC' : 'ASC';
    // Executions without the field (not started, not ended) come last either way.
    const col = field ? SORT_COLUMNS[field] : undefined;
    const order = col
      ? `(${col} IS NULL), ${col} ${dir}, created_at ${dir}, id ${dir}`
      : 'created_at DESC, id DESC';
    const n = allArgs.length;
    const [rows, count] = await Promise.all([
      this.#rows<Row>(
        `SELECT ${COLUMNS} FROM executions ${filter} ORDER BY ${order} LIMIT $${n + 1} OFFSET $${n + 2}`,
        [...allArgs, q.size, (q.page - 1) * q.size],
      ),
      this.#rows<{ n: string }>(`SELECT COUNT(*) AS n FROM executions ${filter}`, allArgs),
    ]);
    return { results: rows.map(fromRow), total: Number(count[0]?.n ?? 0) };
  }

  async appendLogs(entries: readonly LogEntry[], lease?: Lease): Promise<void> {
    if (!entries.length) return;
    if (lease && this.#claims) return this.#fenced.logs.add({ lease, entries });
    // One statement: the lines keep their order (the sequence follows the array's).
    await this.#writes.query(
      `INSERT INTO logs (execution_id, level_no, task_id, task_run_id, attempt, body)
         SELECT e->>'executionId', ($2::int[])[i], e->>'taskId', e->>'taskRunId', (e->>'attemptNumber')::int, e::text
         FROM json_array_elements($1::json) WITH ORDINALITY AS t(e, i) ORDER BY i`,
      [JSON.stringify(entries), entries.map((e) => LEVELS.indexOf(e.level))],
    );
  }

  async logs(executionId: string, q: LogQuery = {}): Promise<LogEntry[]> {
    const args: unknown[] = [executionId];
    const where = ['execution_id = $1'];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    if (q.minLevel) where.push(`level_no >= ${arg(LEVELS.indexOf(q.minLevel))}`);
    if (q.taskRunId) where.push(`task_run_id = ${arg(q.taskRunId)}`);
    if (q.taskId) where.push(`task_id = ${arg(q.taskId)}`);
    if (q.attempt !== undefined) where.push(`attempt = ${arg(q.attempt)}`);
    return (
      await this.#rows<{ body: string }>(
        `SELECT body FROM logs WHERE ${where.join(' AND ')} ORDER BY seq${q.skip ? ` OFFSET ${arg(q.skip)}` : ''}`,
        args,
      )
    ).map((r) => JSON.parse(r.body) as LogEntry);
  }

  async setState(id: string, state: string, dropTaskRuns: readonly string[] = []): Promise<void> {
    await this.#transaction(async (q) => {
      if (state === 'RESTARTED') {
        // Only an ended one (two restarts at once, through two replicas: the first one does it).
        const r = await q.query(
          `UPDATE executions SET state = $1, end_date = NULL, duration_ms = NULL, error = NULL,
             histories = ${appendHistory('$1', '$3')} WHERE id = $2 AND state NOT IN ${OPEN}`,
          [state, id, wallNowIso()],
        );
        if (r.rowCount !== 1) return;
        if (dropTaskRuns.length)
          await q.query('DELETE FROM task_runs WHERE execution_id = $1 AND id = ANY($2)', [
            id,
            [...dropTaskRuns],
          ]);
        // Replicas: queued again, for whichever replica claims it first.
        await this.#claims?.requeue(id, q);
        return;
      }
      if (dropTaskRuns.length)
        await q.query('DELETE FROM task_runs WHERE execution_id = $1 AND id = ANY($2)', [
          id,
          [...dropTaskRuns],
        ]);
      if (state === 'KILLED') {
        await this.#killed(id, q);
      } else
        await q.query(
          `UPDATE executions SET state = $1, histories = ${appendHistory('$1', '$3')} WHERE id = $2`,
          [state, id, wallNowIso()],
        );
    });
  }

  async #killed(id: string, q: Queryable): Promise<void> {
    await q.query(
      `UPDATE executions SET state = $1, start_date = COALESCE(start_date, created_at), end_date = $2, duration_ms = 0,
         histories = ${appendHistory('$1', '$2')} WHERE id = $3`,
      ['KILLED', wallNowIso(), id],
    );
    if (this.#claims)
      await q.query(
        `UPDATE execution_claims SET state = 'ENDED', expires_at = NULL WHERE execution_id = $1`,
        [id],
      );
  }

  async remove(id: string, keepLogs = false): Promise<boolean> {
    return this.#transaction(async (q) => {
      // Replicas: its claim goes too, so that a replica running it has its next write refused.
      await this.#claims?.forget([id], q);
      await q.query('DELETE FROM task_runs WHERE execution_id = $1', [id]);
      await q.query('DELETE FROM outputs WHERE execution_id = $1', [id]);
      if (!keepLogs) await q.query('DELETE FROM logs WHERE execution_id = $1', [id]);
      return (await q.query('DELETE FROM executions WHERE id = $1', [id])).rowCount === 1;
    });
  }

  async history(limit = Number.MAX_SAFE_INTEGER): Promise<ExecutionRecord[]> {
    const rows = await this.#rows<Row>(
      `SELECT ${COLUMNS} FROM executions WHERE end_date IS NOT NULL ORDER BY end_date DESC, created_at DESC, id DESC LIMIT $1`,
      [Math.min(limit, Number.MAX_SAFE_INTEGER)],
    );
    // The outputs of those small enough to list, in one read.
    const listed = rows.filter((r) => Number(r.outputs_bytes ?? 0) <= OUTPUTS_LISTED_BYTES).map((r) => r.id);
    const outputs = new Map(
      listed.length
        ? (
            await this.#rows<{ execution_id: string; body: string }>(
              'SELECT execution_id, body FROM outputs WHERE execution_id = ANY($1)',
              [listed],
            )
          ).map((o) => [o.execution_id, parseJson(o.body) as Record<string, unknown>])
        : [],
    );
    return rows.reverse().map((r) => toRecord(fromRow(r), outputs.get(r.id)));
  }

  /** An execution as a list shows it: outputs too big for a list are left out (GET the execution). */
  async record(e: StoredExecution): Promise<ExecutionRecord> {
    return toRecord(e, (e.outputsBytes ?? 0) <= OUTPUTS_LISTED_BYTES ? await this.outputs(e.id) : undefined);
  }

  async prune(before: string): Promise<number> {
    return this.#transaction(async (q) => {
      const gone = await this.#rows<{ id: string }>(
        `DELETE FROM executions WHERE end_date IS NOT NULL AND end_date < $1 AND state NOT IN ${OPEN} RETURNING id`,
        [before],
        q,
      );
      const ids = gone.map((r) => r.id);
      if (ids.length) {
        await this.#claims?.forget(ids, q);
        await q.query('DELETE FROM task_runs WHERE execution_id = ANY($1)', [ids]);
        await q.query('DELETE FROM outputs WHERE execution_id = ANY($1)', [ids]);
        await q.query('DELETE FROM logs WHERE execution_id = ANY($1)', [ids]);
      }
      return ids.length;
    });
  }

  async mark(name: string, set = false): Promise<boolean> {
    if (set)
      await this.#pool.query('INSERT INTO marks (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [name]);
    return (await this.#rows('SELECT name FROM marks WHERE name = $1', [name])).length === 1;
  }

  /** In one transaction; the ended executions get no claim row (no replica runs them). */
  async importLegacy(plan: LegacyImport): Promise<number> {
    await this.#submissions.flush();
    return this.#transaction(async (q) => {
      for (const h of plan.history) {
        await this.#enqueue(h.submission, q, 'none');
        await q.query(
          `UPDATE executions SET start_date = COALESCE(start_date, $1), histories = ${appendHistory("'RUNNING'", '$1')} WHERE id = $2`,
          [h.startDate, h.submission.id],
        );
        await this.#finish(h.finished, q);
      }
      let n = 0;
      for (const s of plan.queued) if (await this.#enqueue(s, q, this.#claims ? 'queued' : 'none')) n++;
      for (const st of plan.states) await this.#saveTriggerState(st, q);
      if (plan.mark)
        await q.query('INSERT INTO marks (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [plan.mark]);
      return n;
    });
  }

  async ping(): Promise<void> {
    await this.#pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.#submissions.flush();
    await Promise.all(Object.values(this.#fenced).map((g) => g.flush()));
    await this.#writes.flush();
    await this.#end();
  }

  /** What replicas share (see ReplicaClaims in ./store.ts), on this store's pool. */
  #replicas(claims: PgClaims): ReplicaClaims {
    return {
      owner: claims.owner,
      leaseMs: claims.leaseMs,
      enqueueClaimed: (s, trigger) => this.#enqueueAs(s, trigger, 'mine'),
      claim: (limit, running) => claims.claimExecutions(limit, running),
      renew: (leases) => claims.renewAll(leases),
      killing: async (ids) =>
        ids.length
          ? (
              await this.#rows<{ id: string }>(
                `SELECT id FROM executions WHERE id = ANY($1) AND state = 'KILLING'`,
                [[...ids]],
              )
            ).map((r) => r.id)
          : [],
      kill: (id) =>
        this.#transaction(async (q) => {
          const [claim] = await this.#rows<{ state: string }>(
            'SELECT state FROM execution_claims WHERE execution_id = $1 FOR UPDATE',
            [id],
            q,
          );
          if (claim?.state === 'RUNNING') {
            await q.query(
              `UPDATE executions SET state = 'KILLING', histories = ${appendHistory("'KILLING'", '$2')}
                 WHERE id = $1 AND state IN ${OPEN} AND state <> 'KILLING'`,
              [id, wallNowIso()],
            );
            return 'killing';
          }
          await this.#killed(id, q);
          return 'killed';
        }),
      complete: (lease, state) =>
        this.#transaction(async (q) => {
          if (!(await claims.complete(lease, q))) return false;
          if (state === 'KILLED') await this.#killed(lease.executionId, q);
          return true;
        }),
      release: (leases) => claims.release(leases),
      slot: (key, at, work) => this.#slot(claims, key, at, work),
      peekSlot: async (key, at) => {
        const [slot] = await this.#rows('SELECT 1 FROM trigger_slots WHERE trigger_key = $1 AND slot = $2', [
          key,
          at,
        ]);
        return slot ? undefined : this.#slotState(key);
      },
      pruneSlots: (ms) => claims.pruneSlots(ms),
    };
  }

  /** A trigger's state as stored, and whether the execution it names has not ended. */
  async #slotState(
    key: string,
    q: Queryable = this.#pool,
  ): Promise<{ state: TriggerState | undefined; running: boolean }> {
    const [row] = await this.#rows<{ body: string; open: string | null }>(
      'SELECT t.body, e.state AS open FROM triggers t LEFT JOIN executions e ON e.id = t.body::json->>$2 WHERE t.key = $1',
      [key, 'executionId'],
      q,
    );
    const state = row ? (parseJson(row.body) as TriggerState) : undefined;
    const running =
      state?.executionId !== undefined &&
      row?.open !== null &&
      row?.open !== undefined &&
      (OPEN_STATES as readonly string[]).includes(row.open);
    return { state, running };
  }

  /**
   * A trigger's slot claimed in one transaction with what the claim leads to (the state read, the
   * state written, the execution queued): a replica that dies mid-way rolls all of it back, so the
   * slot is free again for another. The claims of one trigger take turns (an advisory lock on its
   * key, tried, never waited for: a replica holding it is writing), so that each reads the state the
   * previous one wrote. The scheduler evaluates before (peekSlot), so the transaction is short: no
   * HTTP call runs in it, and a frozen replica's is ended by the idle-in-transaction timeout.
   */
  async #slot<T>(
    claims: PgClaims,
    key: string,
    at: number,
    work: (tx: SlotTransaction) => Promise<T>,
  ): Promise<{ value: T } | undefined> {
    let settle: (committed: boolean) => void = () => undefined;
    const committed = new Promise<boolean>((resolve) => (settle = resolve));
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        // Held by another replica: it is writing one of this trigger's slots (maybe this one) now,
        // in a transaction as short as this one. Waited for a bounded time only: a replica frozen
        // holding it has its session ended by the idle-in-transaction timeout, and the slot it was
        // writing is then free (taken here); a lock still held after that is given up (skipped).
        await client.query("SELECT set_config('lock_timeout', $1, true)", [`${this.#slotWaitMs}ms`]);
        let claimed: boolean;
        try {
          await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [SLOT_LOCK, key]);
          claimed = await claims.claimSlot(key, at, client);
        } catch (err) {
          if ((err as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw err;
          claimed = false;
        }
        if (!claimed) {
          await client.query('ROLLBACK');
          settle(false);
          return undefined;
        }
        const { state, running } = await this.#slotState(key, client);
        const value = await work({
          state,
          running,
          enqueue: async (s, trigger) => {
            await this.#saveTriggerState(trigger, client);
            return this.#enqueue(s, client, 'mine');
          },
          save: (trigger) => this.#saveTriggerState(trigger, client),
          committed,
        });
        await client.query('COMMIT');
        settle(true);
        return { value };
      } catch (err) {
        broken = err as Error;
        await client.query('ROLLBACK').catch(() => undefined);
        settle(false);
        throw err;
      }
    } finally {
      client.release(broken);
    }
  }
}
