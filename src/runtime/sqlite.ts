/**
 * The embedded execution store: one SQLite file (`runtime.db` in the state folder) through
 * better-sqlite3, in WAL mode: a write is in the WAL when the call returns (it survives kill -9),
 * and an acknowledged submission is synced to disk (it survives a power loss too). Reads are indexed (id; namespace, flow, state and creation time), outputs live in their
 * own table, out of the rows a search reads. The SQL is kept to what PostgreSQL also accepts
 * (ON CONFLICT … DO UPDATE, COALESCE, no SQLite-only functions).
 */
import { wallNowIso } from '../clock.js';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import type { TaskRun } from '../flow/executor.js';
import { parseJson, writeJson } from '../pebble/java.js';
import type { ExecutionRecord, TriggerState } from '../flow/state.js';
import { LEVELS } from '../levels.js';
import {
  type ExecutionStore,
  type Finished,
  FLOW_OUTPUTS_KEY,
  type LegacyImport,
  type LogEntry,
  type LogQuery,
  type SortField,
  type SearchQuery,
  type StoredExecution,
  type Submission,
  toRecord,
} from './store.js';
import {
  appendHistory,
  submissionValues,
  COLUMNS,
  conditionSql,
  createdHistory,
  fromRow,
  literal,
  OPEN,
  type Row,
  SORT_COLUMNS,
} from './sql.js';
import { GroupCommit, type Outcome } from './group-commit.js';

/** Outputs up to this size come with a listed execution; larger ones are read by id. */
const OUTPUTS_LISTED_BYTES = 256 * 1024;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS executions (
  id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  flow_id TEXT NOT NULL,
  state TEXT NOT NULL,
  trigger_id TEXT,
  trigger_type TEXT,
  created_at TEXT NOT NULL,
  start_date TEXT,
  end_date TEXT,
  duration_ms BIGINT,
  error TEXT,
  outputs_bytes BIGINT,
  inputs TEXT NOT NULL,
  trigger_vars TEXT
);
CREATE INDEX IF NOT EXISTS executions_created ON executions (created_at);
CREATE INDEX IF NOT EXISTS executions_namespace ON executions (namespace, created_at);
CREATE INDEX IF NOT EXISTS executions_flow ON executions (flow_id, namespace, created_at);
CREATE INDEX IF NOT EXISTS executions_state ON executions (state, created_at);
CREATE INDEX IF NOT EXISTS executions_ended ON executions (end_date);
CREATE TABLE IF NOT EXISTS task_runs (
  execution_id TEXT NOT NULL,
  id TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (execution_id, id)
);
CREATE TABLE IF NOT EXISTS outputs (
  execution_id TEXT PRIMARY KEY,
  body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS triggers (
  key TEXT PRIMARY KEY,
  body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS marks (
  name TEXT PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS logs (
  execution_id TEXT NOT NULL,
  level_no INTEGER NOT NULL,
  task_id TEXT,
  task_run_id TEXT,
  attempt INTEGER,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_execution ON logs (execution_id);
`;

/** Columns added after the first release, with their type: added to an older file when missing. */
const ADDED_COLUMNS: [table: string, column: string, type: string][] = [
  ['executions', 'labels', 'TEXT'],
  ['executions', 'histories', 'TEXT'],
];

/** better-sqlite3 is loaded when a store is opened: a server start, never a CLI purge. */
function driver(): typeof BetterSqlite3 {
  return createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
}

let exitHooked = false;

/**
 * On Node 24, better-sqlite3 12.x also aborts when the garbage collector frees a Statement (the same
 * destructor assertion). Every database and statement is therefore kept for the life of the
 * process: statements are prepared from a bounded set of SQL texts and cached per database, so
 * this holds a few dozen objects per store opened.
 */
const NEVER_COLLECTED: unknown[] = [];

/**
 * better-sqlite3 12.x (the last line that runs on Node 20) aborts the process on Node 24 when
 * Node frees its environment after a natural exit: a Statement's destructor asserts
 * (`RemoveEnvironmentCleanupHook: (env) != nullptr`, SIGABRT, exit 134). process.exit() from the
 * 'exit' event ends the process there, after every other 'exit' listener and without that
 * teardown; the exit code is the one the process was about to exit with.
 */
function exitWithoutTeardown(): void {
  if (exitHooked) return;
  exitHooked = true;
  const onExit = (code: number) => {
    // Listeners added after this one still run, then the process ends here.
    const all = process.listeners('exit');
    for (const later of all.slice(all.indexOf(onExit) + 1)) later.call(process, code);
    process.exit(code);
  };
  process.on('exit', onExit);
}

/**
 * The store's synchronous core, on better-sqlite3: SqliteStore wraps it. Tools of one process use it
 * directly where a batch must be synchronous (a migration's import, the bench's fill, tests reading
 * a state folder).
 */
export class SqliteSync {
  readonly file: string;
  readonly #db: BetterSqlite3.Database;
  readonly #q: Record<string, BetterSqlite3.Statement>;

  constructor(file: string) {
    this.file = file;
    exitWithoutTeardown();
    const Database = driver();
    this.#db = new Database(file);
    NEVER_COLLECTED.push(this.#db);
    this.#db.exec('PRAGMA busy_timeout = 5000');
    this.#db.exec('PRAGMA journal_mode = WAL');
    // Every write survives kill -9 (it is in the WAL before the call returns); an acknowledged
    // submission also survives a power loss: enqueueAll() commits a turn's submissions with one
    // sync of the WAL (FULL), and with it every write before them. Task runs and ends between two
    // such commits are synced by the next one, or by
    // SQLite's checkpoint (NORMAL): a power loss may rewind them, and the task is run again.
    this.#db.exec('PRAGMA synchronous = NORMAL');
    this.#db.exec(SCHEMA);
    for (const [table, column, type] of ADDED_COLUMNS) {
      const has = (this.#prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).some(
        (c) => c.name === column,
      );
      if (!has) this.#db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
    }
    const p = (sql: string) => this.#prepare(sql);
    this.#q = {
      enqueue: p(
        `INSERT INTO executions (id, namespace, flow_id, state, trigger_id, trigger_type, created_at, inputs, trigger_vars, labels, histories)
             VALUES (?, ?, ?, 'CREATED', ?, ?, ?, ?, ?, ?, ${createdHistory('?')}) ON CONFLICT (id) DO NOTHING`,
      ),
      started: p(
        `UPDATE executions SET state = 'RUNNING', start_date = COALESCE(start_date, ?),
             histories = CASE WHEN state = 'RUNNING' THEN histories ELSE ${appendHistory("'RUNNING'", '?')} END
             WHERE id = ?`,
      ),
      startDate: p(`SELECT start_date FROM executions WHERE id = ?`),
      taskRun: p(
        `INSERT INTO task_runs (execution_id, id, body) VALUES (?, ?, ?)
             ON CONFLICT (execution_id, id) DO UPDATE SET body = excluded.body`,
      ),
      finish: p(
        `UPDATE executions SET state = ?, end_date = ?, duration_ms = ?, error = ?, outputs_bytes = ?,
             histories = ${appendHistory('?', '?')} WHERE id = ?`,
      ),
      outputsPut: p(
        `INSERT INTO outputs (execution_id, body) VALUES (?, ?) ON CONFLICT (execution_id) DO UPDATE SET body = excluded.body`,
      ),
      triggerPut: p(
        `INSERT INTO triggers (key, body) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET body = excluded.body`,
      ),
      markGet: p(`SELECT name FROM marks WHERE name = ?`),
      markPut: p(`INSERT INTO marks (name) VALUES (?) ON CONFLICT (name) DO NOTHING`),
    };
  }

  #run(name: string, ...args: unknown[]): BetterSqlite3.RunResult {
    return (this.#q[name] as BetterSqlite3.Statement).run(...args);
  }

  enqueue(s: Submission, trigger?: TriggerState): boolean {
    // Inside a batch (the one-off import) the level cannot change: the next enqueue syncs it.
    if (this.#db.inTransaction) return this.#enqueue(s, trigger);
    const [outcome] = this.enqueueAll([{ s, trigger }]);
    if (outcome instanceof Error) throw outcome;
    return outcome as boolean;
  }

  /**
   * Submissions in one transaction, committed with one sync of the WAL (group commit); each one's
   * outcome in order: whether it was new, or what it threw (its savepoint rolled back, the others
   * kept).
   */
  enqueueAll(items: readonly { s: Submission; trigger?: TriggerState | undefined }[]): Outcome<boolean>[] {
    const one = (s: Submission, trigger?: TriggerState): Outcome<boolean> => {
      try {
        return this.#db.transaction(() => this.#enqueue(s, trigger))();
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    };
    if (this.#db.inTransaction) return items.map(({ s, trigger }) => one(s, trigger));
    this.#db.exec('PRAGMA synchronous = FULL');
    try {
      return this.#db.transaction(() => items.map(({ s, trigger }) => one(s, trigger)))();
    } finally {
      this.#db.exec('PRAGMA synchronous = NORMAL');
    }
  }

  #enqueue(s: Submission, trigger?: TriggerState): boolean {
    if (trigger) this.saveTriggerState(trigger);
    const r = this.#run('enqueue', ...submissionValues(s), s.createdAt);
    return r.changes === 1;
  }

  started(id: string, now: string): string {
    this.#run('started', now, now, id);
    const row = (this.#q.startDate as BetterSqlite3.Statement).get(id) as
      { start_date: string | null } | undefined;
    return row?.start_date ?? now;
  }

  saveTaskRun(executionId: string, run: TaskRun): void {
    this.#run('taskRun', executionId, run.id, writeJson(run));
  }

  finish(f: Finished): void {
    const body = writeJson(f.outputs);
    this.#db.transaction(() => {
      for (const r of f.taskRuns) this.saveTaskRun(f.id, r);
      this.#run('outputsPut', f.id, body);
      const { state, endDate } = f;
      this.#run(
        'finish',
        state,
        endDate,
        f.durationMs,
        f.error ?? null,
        Buffer.byteLength(body),
        state,
        endDate,
        f.id,
      );
    })();
  }

  get(id: string): StoredExecution | undefined {
    const row = this.#prepare(`SELECT ${COLUMNS} FROM executions WHERE id = ?`).get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  taskRuns(id: string): TaskRun[] {
    return (
      // In the order they were first written (an upsert keeps its row), then by start: task runs
      // started within the same millisecond keep the order they started in.
      (
        this.#prepare('SELECT body FROM task_runs WHERE execution_id = ? ORDER BY rowid').all(id) as {
          body: string;
        }[]
      )
        .map((r) => parseJson(r.body) as TaskRun)
        .sort((a, b) => a.startDate.localeCompare(b.startDate))
    );
  }

  outputs(id: string): Record<string, unknown> | undefined {
    const row = this.#prepare('SELECT body FROM outputs WHERE execution_id = ?').get(id) as
      { body: string } | undefined;
    return row ? (parseJson(row.body) as Record<string, unknown>) : undefined;
  }

  flowOutputs(id: string): Record<string, unknown> | undefined {
    const row = this.#prepare(`SELECT json_extract(body, ?) AS flow FROM outputs WHERE execution_id = ?`).get(
      `$."${FLOW_OUTPUTS_KEY}"`,
      id,
    ) as { flow: string | null } | undefined;
    return row?.flow ? (parseJson(row.flow) as Record<string, unknown>) : undefined;
  }

  unfinished(): StoredExecution[] {
    return (
      this.#prepare(
        `SELECT ${COLUMNS} FROM executions WHERE state IN ${OPEN} ORDER BY created_at`,
      ).all() as Row[]
    ).map(fromRow);
  }

  search(q: SearchQuery): { results: StoredExecution[]; total: number } {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.flowId) {
      where.push('flow_id = ?');
      args.push(q.flowId);
    }
    if (q.states?.length) {
      where.push(`state IN (${q.states.map(() => '?').join(', ')})`);
      args.push(...q.states);
    }
    if (q.startDate) {
      where.push('start_date >= ?');
      args.push(q.startDate);
    }
    if (q.endDate) {
      where.push('end_date <= ?');
      args.push(q.endDate);
    }
    for (const l of q.labels ?? []) {
      // Labels are stored as the JSON of [{key, value}…], each object written the same way.
      where.push(`labels LIKE ? ESCAPE '\\'`);
      args.push(`%${literal(JSON.stringify({ key: l.key, value: l.value }))}%`);
    }
    const dialect = {
      arg: (v: unknown) => {
        args.push(v);
        return '?';
      },
      position: (haystack: string, needle: string) => `INSTR(${haystack}, ${needle})`,
    };
    for (const c of q.conditions ?? []) where.push(conditionSql(c, dialect));
    if (q.sort) return this.#sorted(q, where, args, q.sort.field, q.sort.desc);
    const and = (more: string[]) => {
      const all = [...more, ...where];
      return all.length ? `WHERE ${all.join(' AND ')}` : '';
    };
    const take = q.page * q.size;
    const page = (filter: string, filterArgs: unknown[]) =>
      // id breaks ties as in the merge below: cut by LIMIT first, two executions created in one
      // millisecond came in index order, and a page could show the one the next page shows again.
      this.#prepare(
        `SELECT ${COLUMNS} FROM executions ${filter} ORDER BY created_at DESC, id DESC LIMIT ?`,
      ).all(...filterArgs, take) as Row[];
    let total: number;
    let rows: Row[];
    if (!q.namespace) {
      total = this.#count(and([]), args);
      rows = page(and([]), args);
    } else {
      // The namespace and its children. Each namespace is read newest first along its index
      // (namespace, created_at) and the pages merged, so that no read sorts every match: the
      // namespaces are found in the index range 'ns' ≤ x < 'ns/' ('/' follows '.').
      const namespaces = (
        this.#prepare('SELECT DISTINCT namespace FROM executions WHERE namespace >= ? AND namespace < ?').all(
          q.namespace,
          `${q.namespace}/`,
        ) as { namespace: string }[]
      )
        .map((r) => r.namespace)
        .filter((ns) => ns === q.namespace || ns.startsWith(`${q.namespace}.`));
      total = 0;
      rows = [];
      for (const ns of namespaces) {
        total += this.#count(and(['namespace = ?']), [ns, ...args]);
        rows.push(...page(and(['namespace = ?']), [ns, ...args]));
      }
    }
    rows.sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));
    return { results: rows.slice((q.page - 1) * q.size, take).map(fromRow), total };
  }

  /** A search in another order than the newest created first (Kestra's `sort`): one query. */
  #sorted(
    q: SearchQuery,
    where: string[],
    args: unknown[],
    field: SortField,
    desc: boolean,
  ): { results: StoredExecution[]; total: number } {
    const all = [...where];
    const allArgs = [...args];
    if (q.namespace) {
      all.push(`(namespace = ? OR namespace LIKE ? ESCAPE '\\')`);
      allArgs.push(q.namespace, `${literal(q.namespace)}.%`);
    }
    const filter = all.length ? `WHERE ${all.join(' AND ')}` : '';
    const dir = desc ? 'DESC' : 'ASC';
    // Executions without the field (not started, not ended) come last either way.
    const col = SORT_COLUMNS[field];
    const rows = this.#prepare(
      `SELECT ${COLUMNS} FROM executions ${filter} ORDER BY (${col} IS NULL), ${col} ${dir}, created_at ${dir}, id ${dir} LIMIT ? OFFSET ?`,
    ).all(...allArgs, q.size, (q.page - 1) * q.size) as Row[];
    return { results: rows.map(fromRow), total: this.#count(filter, allArgs) };
  }

  appendLogs(entries: readonly LogEntry[]): void {
    if (!entries.length) return;
    const insert = this.#prepare(
      'INSERT INTO logs (execution_id, level_no, task_id, task_run_id, attempt, body) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#db.transaction(() => {
      for (const e of entries)
        insert.run(
          e.executionId,
          LEVELS.indexOf(e.level),
          e.taskId ?? null,
          e.taskRunId ?? null,
          e.attemptNumber,
          JSON.stringify(e),
        );
    })();
  }

  logs(executionId: string, q: LogQuery = {}): LogEntry[] {
    const where = ['execution_id = ?'];
    const args: unknown[] = [executionId];
    if (q.minLevel) {
      where.push('level_no >= ?');
      args.push(LEVELS.indexOf(q.minLevel));
    }
    if (q.taskRunId) {
      where.push('task_run_id = ?');
      args.push(q.taskRunId);
    }
    if (q.taskId) {
      where.push('task_id = ?');
      args.push(q.taskId);
    }
    if (q.attempt !== undefined) {
      where.push('attempt = ?');
      args.push(q.attempt);
    }
    if (q.skip) args.push(q.skip);
    return (
      this.#prepare(
        `SELECT body FROM logs WHERE ${where.join(' AND ')} ORDER BY rowid${q.skip ? ' LIMIT -1 OFFSET ?' : ''}`,
      ).all(...args) as {
        body: string;
      }[]
    ).map((r) => JSON.parse(r.body) as LogEntry);
  }

  setState(id: string, state: string, dropTaskRuns: readonly string[] = []): void {
    this.#db.transaction(() => {
      const drop = this.#prepare('DELETE FROM task_runs WHERE execution_id = ? AND id = ?');
      for (const run of dropTaskRuns) drop.run(id, run);
      const now = wallNowIso();
      const history = appendHistory('?', '?');
      if (state === 'RESTARTED')
        this.#prepare(
          `UPDATE executions SET state = ?, end_date = NULL, duration_ms = NULL, error = NULL, histories = ${history} WHERE id = ?`,
        ).run(state, state, now, id);
      else if (state === 'KILLED')
        this.#prepare(
          `UPDATE executions SET state = ?, start_date = COALESCE(start_date, created_at), end_date = ?, duration_ms = 0, histories = ${history} WHERE id = ?`,
        ).run(state, now, state, now, id);
      else
        this.#prepare(`UPDATE executions SET state = ?, histories = ${history} WHERE id = ?`).run(
          state,
          state,
          now,
          id,
        );
    })();
  }

  remove(id: string, keepLogs = false): boolean {
    return this.#db.transaction(() => {
      this.#prepare('DELETE FROM task_runs WHERE execution_id = ?').run(id);
      this.#prepare('DELETE FROM outputs WHERE execution_id = ?').run(id);
      if (!keepLogs) this.#prepare('DELETE FROM logs WHERE execution_id = ?').run(id);
      return this.#prepare('DELETE FROM executions WHERE id = ?').run(id).changes === 1;
    })();
  }

  #count(filter: string, args: unknown[]): number {
    return Number(
      (this.#prepare(`SELECT COUNT(*) AS n FROM executions ${filter}`).get(...args) as { n: number }).n,
    );
  }

  history(limit = Number.MAX_SAFE_INTEGER): ExecutionRecord[] {
    const rows = this.#prepare(
      `SELECT ${COLUMNS} FROM executions WHERE end_date IS NOT NULL ORDER BY end_date DESC, created_at DESC, id DESC LIMIT ?`,
    ).all(limit) as Row[];
    return rows.reverse().map((r) => this.record(fromRow(r)));
  }

  /** An execution as a list shows it: outputs too big for a list are left out (GET the execution). */
  record(e: StoredExecution): ExecutionRecord {
    return toRecord(e, (e.outputsBytes ?? 0) <= OUTPUTS_LISTED_BYTES ? this.outputs(e.id) : undefined);
  }

  prune(before: string): number {
    return this.#db.transaction(() => {
      const gone = `SELECT id FROM executions WHERE end_date IS NOT NULL AND end_date < ? AND state NOT IN ${OPEN}`;
      this.#prepare(`DELETE FROM task_runs WHERE execution_id IN (${gone})`).run(before);
      this.#prepare(`DELETE FROM outputs WHERE execution_id IN (${gone})`).run(before);
      this.#prepare(`DELETE FROM logs WHERE execution_id IN (${gone})`).run(before);
      return this.#prepare(`DELETE FROM executions WHERE id IN (${gone})`).run(before).changes;
    })();
  }

  triggerStates(): TriggerState[] {
    return (this.#prepare('SELECT body FROM triggers ORDER BY key').all() as { body: string }[]).map(
      (r) => parseJson(r.body) as TriggerState,
    );
  }

  saveTriggerState(state: TriggerState): void {
    this.#run('triggerPut', state.key, writeJson(state));
  }

  mark(name: string, set = false): boolean {
    if (set) this.#run('markPut', name);
    return (this.#q.markGet as BetterSqlite3.Statement).get(name) !== undefined;
  }

  /** A state folder from before the store, in one transaction; how many queued executions were new. */
  importLegacy(plan: LegacyImport): number {
    return this.batch(() => {
      for (const h of plan.history) {
        this.enqueue(h.submission);
        this.started(h.submission.id, h.startDate);
        this.finish(h.finished);
      }
      let n = 0;
      for (const q of plan.queued) if (this.enqueue(q)) n++;
      for (const st of plan.states) this.saveTriggerState(st);
      if (plan.mark) this.mark(plan.mark, true);
      return n;
    });
  }

  /** Many writes in one transaction (a migration's import). */
  batch<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }

  readonly #statements = new Map<string, BetterSqlite3.Statement>();

  #prepare(sql: string): BetterSqlite3.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
      NEVER_COLLECTED.push(statement);
    }
    return statement;
  }

  close(): void {
    this.#db.close();
  }
}

/** A synchronous call as a promise: resolved with its result, or rejected with what it threw. */
function settled<T>(call: () => T): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/** The embedded ExecutionStore: SqliteSync behind promises (every call is done when it resolves). */
export class SqliteStore implements ExecutionStore {
  readonly sync: SqliteSync;

  /** The submissions of this turn, written in one transaction (SqliteSync's writes are synchronous). */
  readonly #submissions: GroupCommit<{ s: Submission; trigger?: TriggerState | undefined }, boolean>;

  constructor(file: string) {
    this.sync = new SqliteSync(file);
    this.#submissions = new GroupCommit((items) => this.sync.enqueueAll(items));
  }

  get file(): string {
    return this.sync.file;
  }

  /** Acknowledged together with the other submissions of this turn of the event loop (one sync). */
  enqueue(s: Submission, trigger?: TriggerState): Promise<boolean> {
    return this.#submissions.add({ s, trigger });
  }

  importLegacy(plan: LegacyImport): Promise<number> {
    void this.#submissions.flush();
    return settled(() => this.sync.importLegacy(plan));
  }

  triggerStates(): Promise<TriggerState[]> {
    return settled(() => this.sync.triggerStates());
  }

  saveTriggerState(state: TriggerState): Promise<void> {
    // After a firing of the same trigger waiting for its group commit, not before it.
    void this.#submissions.flush();
    return settled(() => this.sync.saveTriggerState(state));
  }

  started(id: string, now: string): Promise<string> {
    return settled(() => this.sync.started(id, now));
  }

  saveTaskRun(executionId: string, run: TaskRun): Promise<void> {
    return settled(() => this.sync.saveTaskRun(executionId, run));
  }

  finish(f: Finished): Promise<void> {
    return settled(() => this.sync.finish(f));
  }

  get(id: string): Promise<StoredExecution | undefined> {
    return settled(() => this.sync.get(id));
  }

  taskRuns(id: string): Promise<TaskRun[]> {
    return settled(() => this.sync.taskRuns(id));
  }

  outputs(id: string): Promise<Record<string, unknown> | undefined> {
    return settled(() => this.sync.outputs(id));
  }

  flowOutputs(id: string): Promise<Record<string, unknown> | undefined> {
    return settled(() => this.sync.flowOutputs(id));
  }

  unfinished(): Promise<StoredExecution[]> {
    return settled(() => this.sync.unfinished());
  }

  search(q: SearchQuery): Promise<{ results: StoredExecution[]; total: number }> {
    return settled(() => this.sync.search(q));
  }

  history(limit?: number): Promise<ExecutionRecord[]> {
    return settled(() => this.sync.history(limit));
  }

  /** An execution as a list shows it: outputs too big for a list are left out (GET the execution). */
  record(e: StoredExecution): Promise<ExecutionRecord> {
    return settled(() => this.sync.record(e));
  }

  prune(before: string): Promise<number> {
    return settled(() => this.sync.prune(before));
  }

  mark(name: string, set = false): Promise<boolean> {
    return settled(() => this.sync.mark(name, set));
  }

  appendLogs(entries: readonly LogEntry[]): Promise<void> {
    return settled(() => this.sync.appendLogs(entries));
  }

  logs(executionId: string, q?: LogQuery): Promise<LogEntry[]> {
    return settled(() => this.sync.logs(executionId, q));
  }

  setState(id: string, state: string, dropTaskRuns?: readonly string[]): Promise<void> {
    return settled(() => this.sync.setState(id, state, dropTaskRuns));
  }

  remove(id: string, keepLogs?: boolean): Promise<boolean> {
    return settled(() => this.sync.remove(id, keepLogs));
  }

  close(): Promise<void> {
    void this.#submissions.flush();
    return settled(() => this.sync.close());
  }
}
