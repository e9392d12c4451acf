/**
 * Where the runtime keeps executions: one interface, so that the embedded store (SQLite, the
 * default) and a shared one can stand behind the same queue. Every write is durable when the call
 * returns: an execution acknowledged to a caller, or a task run reported ended, survives kill -9.
 */
import type { TaskRun } from '../flow/executor.js';
import type { ExecutionRecord, TriggerState } from '../flow/state.js';
import type { StateHistory } from '../flow/view-types.js';
import type { Level } from '../levels.js';

/** An execution accepted from outside (HTTP API, webhook, schedule, trigger firing). */
export interface Submission {
  id: string;
  namespace: string;
  flowId: string;
  inputs: Record<string, unknown>;
  trigger?: Record<string, unknown> | undefined;
  triggerId?: string | undefined;
  triggerType?: string | undefined;
  createdAt: string;
  /** Kestra's execution labels (the flow's, then those given at creation). */
  labels?: Label[] | undefined;
}

export interface Label {
  key: string;
  value: string;
}

/** One execution as stored: its submission, its current state and (once started) its task runs. */
export interface StoredExecution extends Submission {
  /** CREATED (queued), RUNNING, or how it ended. */
  state: string;
  /** The first start; undefined while queued. */
  startDate?: string | undefined;
  endDate?: string | undefined;
  durationMs?: number | undefined;
  error?: string | undefined;
  /** Serialized size of the outputs (read apart with `outputs()`). */
  outputsBytes?: number | undefined;
  /**
   * Kestra's `state.histories`: every transition with its date, oldest first; undefined for an
   * execution stored before they were kept (its history is made from its dates).
   */
  histories?: StateHistory[] | undefined;
}

export interface SearchQuery {
  /** The namespace or any of its children (`company` finds `company.cms`). */
  namespace?: string | undefined;
  flowId?: string | undefined;
  /** Any of these states. */
  states?: readonly string[];
  /** Started at or after this instant (ISO). */
  startDate?: string | undefined;
  /** Ended at or before this instant (ISO). */
  endDate?: string | undefined;
  /** Carrying every one of these labels. */
  labels?: readonly Label[] | undefined;
  /** Kestra's sort field (`state.startDate`…) and direction; default newest created first. */
  sort?: { field: SortField; desc: boolean } | undefined;
  /** Kestra's query filters beyond the above (`filters[FIELD][OPERATION]`, `q`), every one required. */
  conditions?: readonly Condition[] | undefined;
  /** 1-based. */
  page: number;
  size: number;
}

/** Kestra's operations (`QueryFilter.Op`) on a text column, as the stores run them. */
export const TEXT_OPS = [
  'EQUALS',
  'NOT_EQUALS',
  'IN',
  'NOT_IN',
  'STARTS_WITH',
  'ENDS_WITH',
  'CONTAINS',
  'PREFIX',
] as const;
export type TextOp = (typeof TEXT_OPS)[number];
/** Kestra's operations on a date. */
export const DATE_OPS = [
  'EQUALS',
  'NOT_EQUALS',
  'GREATER_THAN',
  'GREATER_THAN_OR_EQUAL_TO',
  'LESS_THAN',
  'LESS_THAN_OR_EQUAL_TO',
] as const;
export type DateOp = (typeof DATE_OPS)[number];

/**
 * One of Kestra's query filters on executions. Text operations are case-sensitive, as Kestra's
 * on PostgreSQL; `PREFIX` is the namespace and its children (`company` finds `company.cms`).
 * `text` is Kestra's `q`: any case, a part of the id, the namespace or the flow id.
 */
export type Condition =
  | { field: 'namespace' | 'flowId' | 'state'; op: TextOp; values: readonly string[] }
  | { field: 'startDate' | 'endDate'; op: DateOp; value: string }
  | { field: 'text'; negate: boolean; value: string };

/** What a finished execution leaves behind. */
export interface Finished {
  id: string;
  state: string;
  endDate: string;
  durationMs: number;
  error?: string | undefined;
  /** As stored: packOutputs (each task's, and the flow's). */
  outputs: Record<string, unknown>;
  taskRuns: readonly TaskRun[];
}

/** States of an execution that has not ended: queued, running, being killed, restarted. */
export const OPEN_STATES = ['CREATED', 'RUNNING', 'KILLING', 'RESTARTED'] as const;

/** The fields executions can be sorted by, as Kestra's API names them. */
export const SORT_FIELDS = [
  'id',
  'namespace',
  'flowId',
  'state.current',
  'state.startDate',
  'state.endDate',
  'state.duration',
] as const;
export type SortField = (typeof SORT_FIELDS)[number];

/** One log line of an execution, in the shape of Kestra's `LogEntry` (secrets already masked). */
export interface LogEntry {
  tenantId: 'main';
  namespace: string;
  flowId: string;
  taskId?: string | undefined;
  executionId: string;
  taskRunId?: string | undefined;
  attemptNumber: number | null;
  triggerId?: string | undefined;
  timestamp: string;
  level: Level;
  thread?: string | undefined;
  message: string;
}

/** Which log lines of an execution: Kestra's `minLevel`, `taskRunId`, `taskId` and `attempt` filters. */
export interface LogQuery {
  minLevel?: Level | undefined;
  taskRunId?: string | undefined;
  taskId?: string | undefined;
  attempt?: number | undefined;
  /** Leaves out the first `skip` lines (in order): those a follower was already told. */
  skip?: number | undefined;
}

/**
 * An execution held by one replica (PostgreSQL): the fence every write of its run presents. A
 * replica that took it over holds a higher fence; the older one's writes are then refused.
 */
export interface Lease {
  executionId: string;
  fence: number;
}

/** A write refused because its lease was taken over (or its execution deleted): nothing was written. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  readonly code = 'LEASE_LOST';
  constructor(id: string) {
    super(`execution ${id}: this replica's lease was taken over or the execution deleted; write refused`);
  }
}

/** A trigger's due slot, claimed by this replica inside one transaction (`ReplicaClaims.slot`). */
export interface SlotTransaction {
  /** The trigger's state as stored (the last owner's), read after the claim; undefined if never written. */
  state: TriggerState | undefined;
  /** Whether the execution the state names has not ended (it may run on another replica). */
  running: boolean;
  /**
   * Writes the firing's execution with the trigger's state, claimed by this replica (fence 1) and
   * RUNNING from its creation (this replica runs it once committed).
   */
  enqueue(s: Submission, trigger: TriggerState): Promise<boolean>;
  /** Writes the trigger's state (an evaluation that fired nothing). */
  save(state: TriggerState): Promise<void>;
  /** Resolves after the transaction: true once committed, false when rolled back. */
  readonly committed: Promise<boolean>;
}

/**
 * What replicas on one PostgreSQL share beyond the store: execution claims with leases (times from
 * the database's now()), fences, and trigger slots each claimed by one replica.
 */
export interface ReplicaClaims {
  /** This replica's name, written as the owner of its claims. */
  readonly owner: string;
  readonly leaseMs: number;
  /**
   * Writes a submission claimed by this replica (fence 1) and RUNNING from its creation: the caller
   * runs it at once, with no `started` of its own. False if its id is known.
   */
  enqueueClaimed(s: Submission, trigger?: TriggerState): Promise<boolean>;
  /**
   * Claims up to `limit` queued executions and expired leases (their replica died), oldest first;
   * never one of `running`, the executions this replica runs now (its own lease expired early).
   */
  claim(limit: number, running?: readonly string[]): Promise<Lease[]>;
  /** Extends these leases; returns the ids still held (the others were taken over or deleted). */
  renew(leases: readonly Lease[]): Promise<Set<string>>;
  /** Which of these executions were asked to be killed (KILLING). */
  killing(ids: readonly string[]): Promise<string[]>;
  /**
   * A kill of an execution this replica does not run: one queued ends KILLED at once ('killed');
   * one held by a replica goes KILLING for its owner to see ('killing').
   */
  kill(id: string): Promise<'killed' | 'killing'>;
  /** Ends a claim without a finish (an execution found ended, gone, or being killed). */
  complete(lease: Lease, state?: 'KILLED'): Promise<boolean>;
  /** Gives claims back (a replica stopping): another replica takes them at once. */
  release(leases: readonly Lease[]): Promise<void>;
  /**
   * Claims slot `at` of trigger `key` and runs `work` in the claim's transaction: undefined when
   * another replica has it. `work` throwing rolls everything back (the slot stays free).
   */
  slot<T>(
    key: string,
    at: number,
    work: (tx: SlotTransaction) => Promise<T>,
  ): Promise<{ value: T } | undefined>;
  /**
   * Slot `at` of trigger `key` read before its claim, in no transaction: undefined when a replica
   * has claimed it, else the trigger's state as stored and whether its execution has not ended.
   */
  peekSlot(
    key: string,
    at: number,
  ): Promise<{ state: TriggerState | undefined; running: boolean } | undefined>;
  /** Forgets slots claimed over `olderThanMs` ago (by the database's clock); returns how many. */
  pruneSlots(olderThanMs: number): Promise<number>;
}

/** Every method resolves once its write is durable (or its read is done); SqliteStore, PgStore. */
export interface ExecutionStore {
  /** Set when the store is shared by replicas (PostgreSQL): claims, leases and fences. */
  readonly replicas?: ReplicaClaims | undefined;
  /**
   * Queues a submission (state CREATED); false if its id is already known. A trigger's firing
   * passes the trigger's new state: both are written in one transaction (a crash cannot keep one).
   * `queued` false (an ended execution being imported): no replica claims it.
   */
  enqueue(s: Submission, trigger?: TriggerState, queued?: boolean): Promise<boolean>;
  /** Every trigger's state (its last value, whether it is armed, when it is due next). */
  triggerStates(): Promise<TriggerState[]>;
  /** Writes a trigger's state (an evaluation that started nothing). */
  saveTriggerState(state: TriggerState): Promise<void>;
  /**
   * Marks it RUNNING and returns its first start date (kept from an earlier start). With a `lease`
   * (replicas), the lease is renewed with it (the one written with a submission may have run out
   * while its transaction waited on locks), and this and the writes below are refused
   * (LeaseLostError) when its fence is stale.
   */
  started(id: string, now: string, lease?: Lease): Promise<string>;
  /** Writes a task run as it starts or ends (the last write of a run id wins). */
  saveTaskRun(executionId: string, run: TaskRun, lease?: Lease): Promise<void>;
  /** The execution's end; with a `lease`, its claim ends in the same transaction. */
  finish(f: Finished, lease?: Lease): Promise<void>;
  get(id: string): Promise<StoredExecution | undefined>;
  taskRuns(id: string): Promise<TaskRun[]>;
  outputs(id: string): Promise<Record<string, unknown> | undefined>;
  /**
   * The flow's outputs only (Kestra's execution `outputs`), picked out by the database: the tasks'
   * outputs stored beside them (a 20,000-key purge's account) are not read nor parsed.
   */
  flowOutputs(id: string): Promise<Record<string, unknown> | undefined>;
  /** Executions not ended (queued or running when the process stopped), oldest first. */
  unfinished(): Promise<StoredExecution[]>;
  /** Newest first, by creation. */
  search(q: SearchQuery): Promise<{ results: StoredExecution[]; total: number }>;
  /** The last `limit` ended executions, oldest first, outputs included (the dashboard, `executions`). */
  history(limit?: number): Promise<ExecutionRecord[]>;
  /** Removes ended executions whose end is before `before` (ISO); returns how many. */
  prune(before: string): Promise<number>;
  /** Appends log lines (already masked), in order. */
  appendLogs(entries: readonly LogEntry[], lease?: Lease): Promise<void>;
  /** An execution's log lines, oldest first. */
  logs(executionId: string, q?: LogQuery): Promise<LogEntry[]>;
  /**
   * Sets the state of an execution that has not ended: KILLING (a kill asked for), KILLED (one
   * killed before it started), or RESTARTED (an ended one run again: its end is cleared, it is
   * unfinished until it ends again, and `dropTaskRuns` are removed first).
   */
  setState(id: string, state: string, dropTaskRuns?: readonly string[]): Promise<void>;
  /** Removes an execution, its task runs and outputs (and its logs unless `keepLogs`); false if unknown. */
  remove(id: string, keepLogs?: boolean): Promise<boolean>;
  /** A one-off marker (e.g. a migration done); `set` records it. */
  mark(name: string, set?: boolean): Promise<boolean>;
  /**
   * Writes what a state folder from before the store held (./legacy.ts reads it), in one
   * transaction: ended executions (claimed by no replica), queued ones, trigger states, and `mark`.
   * Returns how many queued executions were new.
   */
  importLegacy(plan: LegacyImport): Promise<number>;
  /** Rejects when the store cannot be reached now (a shared store's database is down). */
  ping?(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Where the stored outputs keep the flow's outputs (Kestra's execution `outputs`) beside each task's:
 * under a key no task id can be (task ids have no ':'), so that one body holds both.
 */
export const FLOW_OUTPUTS_KEY = '::flow';

/** The body stored as an execution's outputs: each task's, and the flow's when it declares some. */
export function packOutputs(
  tasks: Record<string, unknown>,
  flow: Record<string, unknown> | undefined,
): Record<string, unknown> {
  return flow ? { ...tasks, [FLOW_OUTPUTS_KEY]: flow } : tasks;
}

/** The stored outputs apart: each task's (`tasks`) and the flow's (`flow`, Kestra's execution outputs). */
export function unpackOutputs(body: Record<string, unknown> | undefined): {
  tasks: Record<string, unknown> | undefined;
  flow: Record<string, unknown> | undefined;
} {
  if (!body || !(FLOW_OUTPUTS_KEY in body)) return { tasks: body, flow: undefined };
  const { [FLOW_OUTPUTS_KEY]: flow, ...tasks } = body;
  return { tasks, flow: flow as Record<string, unknown> };
}

/** What a state folder from before the store holds, to be written once (`importLegacy`). */
export interface LegacyImport {
  /** Ended executions, with their start. */
  history: { submission: Submission; startDate: string; finished: Finished }[];
  /** Executions queued or started and not ended: they run (resume) now. */
  queued: Submission[];
  states: TriggerState[];
  /** Recorded with the history: it is imported once. */
  mark?: string | undefined;
}

/** An execution in the history's older, flat shape (the dashboard and `executions` list it). */
export function toRecord(e: StoredExecution, stored?: Record<string, unknown>): ExecutionRecord {
  const { tasks: outputs, flow: flowOutputs } = unpackOutputs(stored);
  return {
    id: e.id,
    namespace: e.namespace,
    flowId: e.flowId,
    ...(e.triggerId ? { triggerId: e.triggerId } : {}),
    state: e.state,
    ...(e.trigger ? { trigger: e.trigger } : {}),
    ...(outputs ? { outputs } : {}),
    ...(flowOutputs ? { flowOutputs } : {}),
    ...(e.outputsBytes !== undefined && !outputs ? { outputsBytes: e.outputsBytes } : {}),
    startDate: e.startDate ?? e.createdAt,
    endDate: e.endDate ?? '',
    durationMs: e.durationMs ?? 0,
    ...(e.error ? { error: e.error } : {}),
  };
}
