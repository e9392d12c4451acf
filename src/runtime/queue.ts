import { EventEmitter } from 'node:events';
import {
  type Execution,
  newId,
  type RunLogLine,
  type RunOptions,
  runFlow,
  type TaskRun,
} from '../flow/executor.js';
import type { Flow, TaskNode } from '../flow/load.js';
import type { TriggerState } from '../flow/state.js';
import { type Logger, OutageLog } from '../logger.js';
import {
  type ExecutionStore,
  type Label,
  type Lease,
  LeaseLostError,
  type LogEntry,
  OPEN_STATES,
  packOutputs,
  type ReplicaClaims,
  type SearchQuery,
  type SlotTransaction,
  type StoredExecution,
  type Submission,
} from './store.js';
import { type ExecutionView, executionView } from '../flow/view.js';
import { writeJson } from '../pebble/java.js';
import { type Clock, systemClock, wallNowIso } from '../clock.js';

export type { Submission } from './store.js';
export type { ExecutionView } from '../flow/view.js';

export interface Submitted {
  id: string;
  submission: Submission;
  /** The finished execution; undefined when it could not run. Never rejects. */
  done: Promise<Execution | undefined>;
  /** False when `id` was already submitted (a schedule slot replayed): nothing new was started. */
  created: boolean;
}

export interface QueueOptions {
  store: ExecutionStore;
  logger: Logger;
  /** Finds the current version of a flow. */
  find: (namespace: string, id: string) => Flow | undefined;
  /** How executions run: environment, secrets, masker, transport, log sink. */
  run: Omit<RunOptions, 'id' | 'inputs' | 'trigger'>;
  /** Called with each execution once it is in the history. */
  onFinished?: (execution: Execution) => void;
  /** Replicas: how often queued executions and kills are looked for (default 250 ms). */
  pollMs?: number | undefined;
  /** Replicas: the timers of the looks and the lease renewals (a ManualClock in tests). */
  clock?: Clock | undefined;
}

const KEEP_RECENT = 200;

/** How long an ended task run waits for its execution's next write before it is written alone. */
const ENDS_WAIT_MS = 100;
/** Replicas: executions claimed at most per look. */
const CLAIM_BATCH = 16;
const DEFAULT_POLL_MS = 250;

const seconds = (ms: number) => Math.round(ms / 1000);

/** An execution this replica holds: its lease, and what aborts its run when the lease is lost. */
interface Held {
  lease: Lease;
  lost: AbortController;
}

/** Why an execution was killed through the API: the reason its signal is aborted with. */
export class ExecutionKilledError extends Error {
  override readonly name = 'ExecutionKilledError';
  readonly code = 'EXECUTION_KILLED';
  constructor(id: string) {
    super(`execution ${id} killed`);
  }
}

/** A kill, restart or delete that the execution's state does not allow (Kestra answers 409). */
export class ExecutionStateError extends Error {
  override readonly name = 'ExecutionStateError';
  readonly code = 'EXECUTION_STATE';
}

/**
 * A restart of an ended execution with no failed task run to start from: Kestra's
 * ExecutionService.restart throws IllegalArgumentException "No task found to restart execution
 * from!", which its ErrorController answers 422 "Illegal argument: …".
 */
export class NothingToRestartError extends Error {
  override readonly name = 'NothingToRestartError';
  readonly code = 'NOTHING_TO_RESTART';
  constructor() {
    super('No task found to restart execution from!');
  }
}

/**
 * A log line told to an execution's followers. `index`, its position among the execution's stored
 * lines, comes with a line read back from the store (replicas: the execution runs on another one),
 * which a follower may also have read itself; a line told as it is written has none.
 */
export interface LogChange {
  kind: 'log';
  entry: LogEntry;
  index?: number;
}

/** What a change of an execution tells its followers (`GET …/follow`): `log` lines, or that it changed. */
export type ExecutionChange = { kind: 'changed' } | LogChange | { kind: 'ended' };

/**
 * Whether a task run at the end is the one last written: its state, dates, attempts and error
 * alike, and the very same outputs (masking copies only what it changes, so a task run's outputs
 * masked no differently at the end are the same object).
 */
function unchanged(written: TaskRun | undefined, r: TaskRun): boolean {
  return (
    written !== undefined &&
    written.state === r.state &&
    written.endDate === r.endDate &&
    written.durationMs === r.durationMs &&
    written.attempts === r.attempts &&
    written.error === r.error &&
    written.value === r.value &&
    written.outputs === r.outputs &&
    written.histories?.length === r.histories?.length
  );
}

const isOpen = (state: string) => (OPEN_STATES as readonly string[]).includes(state);

/** Every task id of a list of tasks and of their nested tasks. */
function taskIds(nodes: readonly TaskNode[], into = new Set<string>()): Set<string> {
  for (const n of nodes) {
    into.add(n.id);
    for (const sub of Object.values(n.children ?? {})) taskIds(sub, into);
  }
  return into;
}

/**
 * The one durable execution queue. A submission is in the store before submit() returns, so a
 * caller acknowledged afterwards loses nothing in a crash; each task run is written as an attempt
 * starts and as it ends, and recover() resumes what a crash interrupted from there: task runs
 * that ended are not run again, the one in flight is tried again (its `attempts` counting on),
 * and the execution keeps its first start date.
 */
export class ExecutionQueue {
  readonly #o: QueueOptions;
  readonly #running = new Map<string, Submitted>();
  /** Recently finished executions, for callers that submit an id again (a replayed firing). */
  readonly #recent = new Map<string, Execution>();
  readonly #interrupt = new AbortController();
  /** Submissions being written to the store, by id. */
  readonly #submitting = new Map<string, Promise<Submitted>>();
  /** Executions a restart is being written for. */
  readonly #restarting = new Set<string>();
  /** Each running execution's own kill switch. */
  readonly #kills = new Map<string, AbortController>();
  /** Executions to delete once they have ended (a DELETE while running), with `keepLogs`. */
  readonly #removeWhenEnded = new Map<string, boolean>();
  /** Each running execution's log writes, chained in order. */
  readonly #written = new Map<string, Promise<void>>();
  /** Changes of executions, by execution id (the follow streams listen). */
  readonly #changes = new EventEmitter();
  /**
   * Replicas: executions watched here (follow streams) while they run elsewhere, by id; `lines`:
   * how many of its stored log lines were told.
   */
  readonly #remote = new Map<string, { watchers: number; cancel: () => void; last: string; lines: number }>();
  /** Replicas: the executions this replica holds, by id. */
  readonly #held = new Map<string, Held>();
  #claimTimer: (() => void) | undefined;
  #renewTimer: (() => void) | undefined;
  #claiming = false;
  #looking: Promise<void> | undefined;
  #lookAgain = false;
  #closed = false;
  /** Replicas: failed looks and renewals (the database down), logged once per outage, not each time. */
  readonly #lookFailures: OutageLog;
  readonly #renewFailures: OutageLog;

  constructor(options: QueueOptions) {
    this.#o = options;
    this.#changes.setMaxListeners(0);
    const clock = options.clock ?? systemClock;
    this.#lookFailures = new OutageLog(options.logger, clock, {
      first: (error) => `replica: queued executions not claimed: ${error}`,
      still: (error, ms, n) =>
        `replica: queued executions still not claimed after ${seconds(ms)} s (${n} looks failed): ${error}`,
      back: (ms, n) =>
        `replica: queued executions can be claimed again after ${seconds(ms)} s of failures (${n} looks failed)`,
    });
    this.#renewFailures = new OutageLog(options.logger, clock, {
      first: (error) => `replica: leases not renewed: ${error}`,
      still: (error, ms, n) =>
        `replica: leases still not renewed after ${seconds(ms)} s (${n} renewals failed): ${error}`,
      back: (ms, n) =>
        `replica: leases renewed again after ${seconds(ms)} s of failures (${n} renewals failed)`,
    });
  }

  /** Resolves once every log line of execution `id` written so far is in the store. */
  logsKept(id: string): Promise<void> {
    return this.#written.get(id) ?? Promise.resolve();
  }

  /** Whether execution `id` runs in this process now. */
  isRunning(id: string): boolean {
    return this.#running.has(id);
  }

  /**
   * Calls `listener` on every change of execution `id` until the returned function is called.
   * Replicas: while it does not run here, its stored view and log lines are read a few times a
   * second; new lines are told (with their `index`), then a change (or its end) as if it had
   * happened here, so that a follower has every line before the end.
   */
  watch(id: string, listener: (change: ExecutionChange) => void): () => void {
    this.#changes.on(id, listener);
    const unwatch = this.#replicas ? this.#watchRemote(id) : undefined;
    return () => {
      this.#changes.off(id, listener);
      unwatch?.();
    };
  }

  /** Replicas: one look per poll at an execution watched here, shared by its watchers. */
  #watchRemote(id: string): () => void {
    let w = this.#remote.get(id);
    if (!w) {
      const watched = { watchers: 0, cancel: () => {}, last: '', lines: 0 };
      const clock = this.#o.clock ?? systemClock;
      const every = this.#o.pollMs ?? DEFAULT_POLL_MS;
      const look = async () => {
        if (this.#remote.get(id) !== watched || this.#closed) return;
        try {
          if (!this.#running.has(id)) {
            const view = await this.get(id);
            // Read after the view: an ended view's lines are all stored (its end is written last).
            const lines = await this.#o.store.logs(id, { skip: watched.lines });
            for (const [k, entry] of lines.entries())
              this.#changed(id, { kind: 'log', entry, index: watched.lines + k });
            watched.lines += lines.length;
            const text = view ? writeJson(view) : '';
            if (text !== watched.last) {
              const ended = !view || !isOpen(view.state.current);
              this.#changed(id, ended ? { kind: 'ended' } : { kind: 'changed' });
            }
            watched.last = text;
          } else watched.last = '';
        } catch (err) {
          this.#o.logger.debug(`execution ${id}: not read: ${(err as Error).message}`);
        }
        if (this.#remote.get(id) === watched)
          watched.cancel = clock.at(clock.now() + every, () => void look());
      };
      watched.cancel = clock.at(clock.now() + every, () => void look());
      this.#remote.set(id, watched);
      w = watched;
    }
    const mine = w;
    mine.watchers++;
    return () => {
      if (--mine.watchers > 0) return;
      mine.cancel();
      if (this.#remote.get(id) === mine) this.#remote.delete(id);
    };
  }

  #changed(id: string, change: ExecutionChange = { kind: 'changed' }): void {
    this.#changes.emit(id, change);
  }

  get store(): ExecutionStore {
    return this.#o.store;
  }

  /** Whether an execution with this id was ever submitted (queued, running or finished). */
  async has(id: string): Promise<boolean> {
    return this.#running.has(id) || (await this.#o.store.get(id)) !== undefined;
  }

  /** Whether this execution has ended and is in the history. */
  async finished(id: string): Promise<boolean> {
    const e = await this.#o.store.get(id);
    return e !== undefined && e.state !== 'CREATED' && e.state !== 'RUNNING';
  }

  /** Replicas: the claims of the shared store; undefined on the embedded one. */
  get #replicas(): ReplicaClaims | undefined {
    return this.#o.store.replicas;
  }

  /**
   * Resolves once the submission is in the store (durable): the caller may acknowledge it then.
   * Replicas: it is written claimed by this replica, which runs it at once.
   */
  submit(
    flow: Flow,
    request: Omit<Submission, 'id' | 'namespace' | 'flowId' | 'createdAt'> & {
      id?: string | undefined;
      createdAt?: string | undefined;
      /** A trigger's state after the firing that submits this: written with it, in one transaction. */
      state?: TriggerState | undefined;
      /** Replicas: the claimed trigger slot's transaction it is written in; it runs once committed. */
      via?: SlotTransaction | undefined;
    },
  ): Promise<Submitted> {
    const id = request.id ?? newId();
    const running = this.#running.get(id);
    if (running) return Promise.resolve({ ...running, created: false });
    // The same id submitted again while its first submission is being written: the same answer.
    const submitting = this.#submitting.get(id);
    if (submitting) return submitting.then((first) => ({ ...first, created: false }));
    const entry = this.#submit(flow, id, request).finally(() => this.#submitting.delete(id));
    this.#submitting.set(id, entry);
    return entry;
  }

  async #submit(
    flow: Flow,
    id: string,
    request: Omit<Submission, 'id' | 'namespace' | 'flowId' | 'createdAt'> & {
      createdAt?: string | undefined;
      state?: TriggerState | undefined;
      via?: SlotTransaction | undefined;
    },
  ): Promise<Submitted> {
    const submission: Submission = {
      id,
      namespace: flow.namespace,
      flowId: flow.id,
      inputs: request.inputs,
      ...(request.trigger ? { trigger: request.trigger } : {}),
      ...(request.triggerId ? { triggerId: request.triggerId, triggerType: request.triggerType } : {}),
      createdAt: request.createdAt ?? wallNowIso(),
    };
    const labels = labelsOf(flow, request.labels);
    if (labels.length) submission.labels = labels;
    const replicas = this.#replicas;
    let created: boolean;
    if (request.via && request.state) created = await request.via.enqueue(submission, request.state);
    else if (replicas) created = await replicas.enqueueClaimed(submission, request.state);
    else created = await this.#o.store.enqueue(submission, request.state);
    if (!created) {
      const running = this.#running.get(id);
      if (running) return { ...running, created: false };
      return { id, submission, done: Promise.resolve(this.#recent.get(id)), created: false };
    }
    // Replicas: claimed with it, under the first fence.
    return this.#start(
      flow,
      submission,
      replicas ? { executionId: id, fence: 1 } : undefined,
      request.via?.committed,
      true,
    );
  }

  /**
   * Runs an execution here: with a `lease` (replicas), every write presents its fence; `after`, the
   * transaction it was written in, is waited for (rolled back: it does not run). `fresh`: it was
   * just written by this process, so it has no task runs to read back.
   */
  #start(
    flow: Flow,
    submission: Submission,
    lease?: Lease,
    after?: Promise<boolean>,
    fresh = false,
  ): Submitted {
    const kill = new AbortController();
    this.#kills.set(submission.id, kill);
    const held = lease ? { lease, lost: new AbortController() } : undefined;
    // One written in a slot's transaction is renewed (and looked at for kills) once committed: a
    // renewal before that finds no claim row and would take the lease for lost.
    if (held && !after) this.#held.set(submission.id, held);
    const entry: Submitted = {
      id: submission.id,
      submission,
      done: this.#run(flow, submission, kill, held, after, fresh),
      created: true,
    };
    this.#running.set(submission.id, entry);
    return entry;
  }

  async #run(
    flow: Flow,
    s: Submission,
    kill: AbortController,
    held?: Held,
    after?: Promise<boolean>,
    fresh = false,
  ): Promise<Execution | undefined> {
    const store = this.#o.store;
    const lease = held?.lease;
    // A lost lease stops the run as a shutdown does: nothing more is written, nothing reported.
    const suspend = held
      ? AbortSignal.any([this.#interrupt.signal, held.lost.signal])
      : this.#interrupt.signal;
    const lost = (why: unknown) => {
      if (!held || held.lost.signal.aborted) return;
      held.lost.abort(why);
      this.#o.logger.warn(
        `execution ${s.id} of ${s.namespace}.${s.flowId}: its lease was taken over by another replica (or it was deleted); stopped here, nothing more written`,
      );
    };
    // Log lines are written in order, a batch per turn of the event loop.
    let logs: LogEntry[] = [];
    let written: Promise<void> = Promise.resolve();
    const onLog = (line: RunLogLine) => {
      const entry: LogEntry = {
        tenantId: 'main',
        namespace: s.namespace,
        flowId: s.flowId,
        ...(line.taskId ? { taskId: line.taskId } : {}),
        executionId: s.id,
        ...(line.taskRunId ? { taskRunId: line.taskRunId } : {}),
        attemptNumber: line.attemptNumber ?? null,
        ...(s.triggerId ? { triggerId: s.triggerId } : {}),
        timestamp: line.timestamp,
        level: line.level,
        thread: 'main',
        message: line.message,
      };
      if (!logs.length) {
        written = written.then(async () => {
          const batch = logs;
          logs = [];
          try {
            if (held?.lost.signal.aborted) return;
            await store.appendLogs(batch, lease);
          } catch (err) {
            if (err instanceof LeaseLostError) lost(err);
            else this.#o.logger.error(`execution ${s.id}: log lines not kept: ${(err as Error).message}`);
          }
        });
        this.#written.set(s.id, written);
      }
      logs.push(entry);
      this.#changed(s.id, { kind: 'log', entry });
    };
    /** Each task run as last written (a purge's account is written once, at its task run's end). */
    const saved = new Map<string, TaskRun>();
    // A task run's end is written with the next write of its execution, in the same statement:
    // the next task run's start (which is written before that task does anything, so a crash
    // cannot repeat the ended one) or the execution's end (which writes every task run not
    // written as it is). One still unwritten after ENDS_WAIT_MS (a Parallel branch still
    // running) is written alone.
    const ended = new Map<string, TaskRun>();
    let endsTimer: NodeJS.Timeout | undefined;
    const takeEnded = () => {
      clearTimeout(endsTimer);
      endsTimer = undefined;
      const runs = [...ended.values()];
      ended.clear();
      return runs;
    };
    const writeRuns = async (runs: readonly TaskRun[]) => {
      try {
        await Promise.all(runs.map((r) => store.saveTaskRun(s.id, r, lease)));
      } catch (err) {
        if (!(err instanceof LeaseLostError)) throw err;
        lost(err);
        return;
      }
      for (const r of runs) saved.set(r.id, r);
      this.#changed(s.id);
    };
    try {
      if (after) {
        if (!(await after)) return undefined;
        if (held) this.#held.set(s.id, held);
      }
      const taskRuns = fresh ? [] : await store.taskRuns(s.id);
      for (const r of taskRuns) saved.set(r.id, r);
      // Written RUNNING with its claim (enqueueClaimed). One that waited for its slot's transaction
      // is started all the same: that renews its lease, which may have run out during the wait.
      const startDate =
        fresh && lease && !after ? s.createdAt : await store.started(s.id, wallNowIso(), lease);
      this.#changed(s.id);
      const ex = await runFlow(flow, {
        ...this.#o.run,
        id: s.id,
        inputs: s.inputs,
        ...(s.trigger ? { trigger: s.trigger } : {}),
        signal: kill.signal,
        suspend,
        resume: { startDate, taskRuns },
        onTaskRun: async (run) => {
          if (held?.lost.signal.aborted) return;
          if (run.endDate === '') return writeRuns([...takeEnded(), run]);
          ended.set(run.id, run);
          endsTimer ??= setTimeout(() => {
            writeRuns(takeEnded()).catch((err: unknown) =>
              this.#o.logger.error(`execution ${s.id}: task run not written: ${(err as Error).message}`),
            );
          }, ENDS_WAIT_MS);
        },
        onLog,
      });
      await written;
      if (this.#interrupt.signal.aborted && !kill.signal.aborted && !held?.lost.signal.aborted)
        // Resumed later (or elsewhere): what ended here must not run again.
        await writeRuns(takeEnded());
      else takeEnded();
      if (held?.lost.signal.aborted) return undefined;
      if (this.#interrupt.signal.aborted && !kill.signal.aborted) {
        if (held) {
          // Given back: another replica resumes it at once, not after the lease.
          await this.#replicas?.release([held.lease]);
          this.#o.logger.warn(
            `execution ${s.id} of ${s.namespace}.${s.flowId} interrupted by shutdown; another replica (or the next start) resumes it`,
          );
          return undefined;
        }
        this.#o.logger.warn(
          `execution ${s.id} of ${s.namespace}.${s.flowId} interrupted by shutdown; it resumes at the next start`,
        );
        return undefined;
      }
      const failed = ex.taskRuns.find((r) => r.error);
      await store.finish(
        {
          id: ex.id,
          state: ex.state,
          endDate: ex.endDate,
          durationMs: Date.parse(ex.endDate) - Date.parse(ex.startDate),
          error: failed?.error,
          outputs: packOutputs(ex.outputs, ex.flowOutputs),
          // The task runs not written as they are now: a secret the end revealed masked anew, or
          // one never written (a flow output failing after its last task ended changes none).
          taskRuns: ex.taskRuns.filter((r) => !unchanged(saved.get(r.id), r)),
        },
        lease,
      );
      this.#recent.set(ex.id, ex);
      if (this.#recent.size > KEEP_RECENT) this.#recent.delete(this.#recent.keys().next().value as string);
      this.#o.onFinished?.(ex);
      return ex;
    } catch (err) {
      if (err instanceof LeaseLostError || held?.lost.signal.aborted) {
        lost(err);
        return undefined;
      }
      this.#o.logger.error(`execution ${s.id} of ${s.namespace}.${s.flowId} could not run: ${String(err)}`);
      return undefined;
    } finally {
      takeEnded();
      await written;
      this.#written.delete(s.id);
      this.#running.delete(s.id);
      this.#kills.delete(s.id);
      if (held && this.#held.get(s.id) === held) this.#held.delete(s.id);
      this.#changed(s.id, { kind: 'ended' });
      const keepLogs = this.#removeWhenEnded.get(s.id);
      if (keepLogs !== undefined) {
        this.#removeWhenEnded.delete(s.id);
        await store.remove(s.id, keepLogs);
      }
    }
  }

  /**
   * Kestra's kill: a running execution goes KILLING, its running task is aborted through its
   * signal (the HTTP request under way included), no task starts after it (nor `errors`, nor
   * `finally`), and it ends KILLED with what its tasks did so far. One not started yet ends KILLED
   * at once. Returns false when the id is unknown; an ended execution is left as it is, or refused
   * (ExecutionStateError) when `refuseEnded` (Kestra's `isOnKillCascade=false`).
   */
  async kill(id: string, refuseEnded = false): Promise<boolean> {
    const e = await this.#o.store.get(id);
    if (!e) return false;
    if (!isOpen(e.state)) {
      if (refuseEnded)
        throw new ExecutionStateError(`execution ${id} has already ended ${e.state}; it cannot be killed`);
      return true;
    }
    const kill = this.#kills.get(id);
    if (kill) {
      if (e.state !== 'KILLING') {
        await this.#o.store.setState(id, 'KILLING');
        this.#changed(id);
      }
      kill.abort(new ExecutionKilledError(id));
      this.#o.logger.info(`execution ${id} of ${e.namespace}.${e.flowId} killed through the API`);
      return true;
    }
    const replicas = this.#replicas;
    if (replicas) {
      // Not running here: one queued ends KILLED now; the replica holding one sees KILLING and stops it.
      if ((await replicas.kill(id)) === 'killing') {
        this.#changed(id);
        this.#o.logger.info(
          `execution ${id} of ${e.namespace}.${e.flowId} killed through the API; the replica running it stops it`,
        );
        return true;
      }
      this.#changed(id, { kind: 'ended' });
      return true;
    }
    // Queued but not running here (its flow is gone): it will never start.
    await this.#o.store.setState(id, 'KILLED');
    this.#changed(id, { kind: 'ended' });
    return true;
  }

  /**
   * Kestra's restart: an execution that ended FAILED runs again under the same id from its failed
   * task: the task runs that ended SUCCESS, WARNING or SKIPPED are not run again, the failed one is,
   * its `attempts` counting on; the task runs of the flow's `errors` and `finally` branches are
   * dropped (they run again). The execution shows RESTARTED, then RUNNING. One with no failed task
   * run (SUCCESS, WARNING) is refused with NothingToRestartError, as Kestra refuses it.
   */
  async restart(id: string): Promise<ExecutionView | undefined> {
    if (this.#restarting.has(id) || this.#running.has(id))
      throw new ExecutionStateError(`execution ${id} is running; only an ended execution can be restarted`);
    this.#restarting.add(id);
    try {
      return await this.#restart(id);
    } finally {
      this.#restarting.delete(id);
    }
  }

  async #restart(id: string): Promise<ExecutionView | undefined> {
    const e = await this.#o.store.get(id);
    if (!e) return undefined;
    if (isOpen(e.state))
      throw new ExecutionStateError(
        `execution ${id} is ${e.state}; only an ended execution can be restarted`,
      );
    if (e.state === 'KILLED')
      throw new ExecutionStateError(`execution ${id} was killed; a killed execution cannot be restarted`);
    const flow = this.#o.find(e.namespace, e.flowId);
    if (!flow) throw new ExecutionStateError(`execution ${id}: flow ${e.namespace}.${e.flowId} is gone`);
    // As Kestra's: the task runs of the `errors` and `finally` branches are dropped (they run again),
    // and there must be a failed task run to start from.
    const branches = taskIds(flow.finally, taskIds(flow.errors));
    const runs = await this.#o.store.taskRuns(id);
    if (!runs.some((r) => r.state === 'FAILED' && !branches.has(r.taskId))) throw new NothingToRestartError();
    const drop = runs.filter((r) => branches.has(r.taskId)).map((r) => r.id);
    // Replicas: queued again in the same transaction, for whichever replica claims it (here, at once).
    await this.#o.store.setState(id, 'RESTARTED', drop);
    this.#o.logger.info(`execution ${id} of ${e.namespace}.${e.flowId} restarted through the API`);
    const view = await this.get(id);
    if (this.#replicas) this.#lookNow();
    else this.#start(flow, e);
    return view;
  }

  /**
   * Kestra's delete: the execution, its task runs, outputs and (unless `keepLogs`) logs. A running
   * one is killed first and removed once it has ended, so that nothing it writes outlives it.
   */
  async remove(id: string, keepLogs = false): Promise<boolean> {
    if (this.#running.has(id)) {
      this.#removeWhenEnded.set(id, keepLogs);
      await this.kill(id);
      return true;
    }
    const replicas = this.#replicas;
    const e = replicas ? await this.#o.store.get(id) : undefined;
    if (replicas && e && isOpen(e.state) && (await replicas.kill(id)) === 'killing') {
      // Running on another replica: that one stops it (it looks for kills a few times a second),
      // and it is removed once ended, so that the task under way does not go on. One whose
      // replica died is ended KILLED by the replica that takes it over, within a lease.
      this.#o.logger.info(
        `execution ${id} of ${e.namespace}.${e.flowId} killed through the API to be deleted; the replica running it stops it`,
      );
      await this.#whenEnded(id, 2 * replicas.leaseMs);
    }
    return this.#o.store.remove(id, keepLogs);
  }

  /** Resolves once execution `id` (running elsewhere) has ended or is gone, or after `ms`. */
  #whenEnded(id: string, ms: number): Promise<void> {
    const clock = this.#o.clock ?? systemClock;
    return new Promise<void>((resolve) => {
      const done = () => {
        unwatch();
        cancel();
        resolve();
      };
      const unwatch = this.watch(id, (change) => {
        if (change.kind === 'ended') done();
      });
      const cancel = clock.at(clock.now() + ms, done);
    });
  }

  /**
   * Resumes the executions a crash or a shutdown left unfinished (the one recovery path). Replicas:
   * claims the queued executions and the expired leases (their replica died) now, then a few times
   * a second, and renews this replica's leases while their executions run.
   */
  async recover(): Promise<Submitted[]> {
    if (this.#replicas) return this.#startClaiming(this.#replicas);
    const out: Submitted[] = [];
    for (const s of await this.#o.store.unfinished()) {
      if (this.#running.has(s.id)) continue;
      if (s.state === 'KILLING') {
        // Killed, then the process stopped before it ended: it ends KILLED, it is not run again.
        void this.#o.store.setState(s.id, 'KILLED');
        this.#o.logger.info(
          `execution ${s.id} of ${s.namespace}.${s.flowId} was being killed: it ends KILLED`,
        );
        continue;
      }
      const flow = this.#o.find(s.namespace, s.flowId);
      if (!flow) {
        this.#o.logger.error(
          `queued execution ${s.id}: flow ${s.namespace}.${s.flowId} is gone; it stays queued until the flow is back`,
        );
        continue;
      }
      this.#o.logger.info(
        `resuming execution ${s.id} of ${s.namespace}.${s.flowId} interrupted by a restart`,
      );
      out.push(this.#start(flow, s));
    }
    return out;
  }

  async #startClaiming(replicas: ReplicaClaims): Promise<Submitted[]> {
    this.#claiming = true;
    const clock = this.#o.clock ?? systemClock;
    const after = (ms: number, fn: () => void) => clock.at(clock.now() + ms, fn);
    const every = this.#o.pollMs ?? DEFAULT_POLL_MS;
    const renewEvery = Math.max(1, Math.floor(replicas.leaseMs / 3));
    const renew = async () => {
      try {
        // Nothing held: nothing asked of the database, which may still be down.
        const asked = this.#held.size > 0;
        await this.#renew(replicas);
        await this.#killed(replicas);
        if (asked) this.#renewFailures.worked();
      } catch (err) {
        this.#renewFailures.failed((err as Error).message);
      }
      if (!this.#closed) this.#renewTimer = after(renewEvery, () => void renew());
    };
    this.#renewTimer = after(renewEvery, () => void renew());
    const first = await this.#look(replicas);
    const poll = async () => {
      if (!this.#claiming) return;
      await this.#lookOnce(replicas);
      if (this.#claiming) this.#claimTimer = after(every, () => void poll());
    };
    this.#claimTimer = after(every, () => void poll());
    return first;
  }

  /** A look now (a restart queued one); one at a time, another after it if asked meanwhile. */
  #lookNow(): void {
    const replicas = this.#replicas;
    if (!replicas || !this.#claiming) return;
    void this.#lookOnce(replicas);
  }

  async #lookOnce(replicas: ReplicaClaims): Promise<void> {
    if (this.#looking) {
      this.#lookAgain = true;
      return this.#looking;
    }
    const run = async () => {
      do {
        this.#lookAgain = false;
        try {
          await this.#look(replicas);
          this.#lookFailures.worked();
        } catch (err) {
          this.#lookFailures.failed((err as Error).message);
        }
      } while (this.#lookAgain && this.#claiming);
    };
    this.#looking = run().finally(() => (this.#looking = undefined));
    return this.#looking;
  }

  /** Kills asked on other replicas, then claims of queued executions and expired leases. */
  async #look(replicas: ReplicaClaims): Promise<Submitted[]> {
    await this.#killed(replicas);
    if (!this.#claiming) return [];
    const out: Submitted[] = [];
    for (const lease of await replicas.claim(CLAIM_BATCH, [...this.#running.keys()])) {
      const started = await this.#adopt(replicas, lease);
      if (started) out.push(started);
    }
    return out;
  }

  /** Kills asked for through another replica (KILLING) of executions running here: aborted. */
  async #killed(replicas: ReplicaClaims): Promise<void> {
    const mine = [...this.#held.keys()];
    for (const id of mine.length ? await replicas.killing(mine) : []) {
      const kill = this.#kills.get(id);
      if (!kill || kill.signal.aborted) continue;
      kill.abort(new ExecutionKilledError(id));
      this.#o.logger.info(`execution ${id} killed through the API (on another replica)`);
    }
  }

  /** An execution this replica just claimed: run (resumed from its task runs), or closed. */
  async #adopt(replicas: ReplicaClaims, lease: Lease): Promise<Submitted | undefined> {
    const id = lease.executionId;
    const e: StoredExecution | undefined = await this.#o.store.get(id);
    if (!e || !isOpen(e.state)) {
      await replicas.complete(lease);
      return undefined;
    }
    if (e.state === 'KILLING') {
      // Killed, then its replica stopped before it ended: it ends KILLED, it is not run again.
      await replicas.complete(lease, 'KILLED');
      this.#o.logger.info(`execution ${id} of ${e.namespace}.${e.flowId} was being killed: it ends KILLED`);
      this.#changed(id, { kind: 'ended' });
      return undefined;
    }
    if (this.#running.has(id)) return undefined;
    const flow = this.#o.find(e.namespace, e.flowId);
    if (!flow) {
      // Not renewed: another replica (with the flow) takes it when the lease expires.
      this.#o.logger.error(
        `queued execution ${id}: flow ${e.namespace}.${e.flowId} is not known here; left to a replica that has it`,
      );
      return undefined;
    }
    if (e.startDate && e.state !== 'RESTARTED')
      this.#o.logger.info(
        `resuming execution ${id} of ${e.namespace}.${e.flowId} interrupted by a restart or taken over from a replica that stopped (fence ${lease.fence})`,
      );
    return this.#start(flow, e, lease);
  }

  /** Extends the leases held; a lease refused (taken over, or deleted) stops its run at once. */
  async #renew(replicas: ReplicaClaims): Promise<void> {
    const held = [...this.#held.values()];
    if (!held.length) return;
    const kept = await replicas.renew(held.map((h) => h.lease));
    for (const h of held) {
      if (kept.has(h.lease.executionId) || this.#held.get(h.lease.executionId) !== h) continue;
      if (h.lost.signal.aborted) continue;
      h.lost.abort(new LeaseLostError(h.lease.executionId));
      this.#o.logger.warn(
        `execution ${h.lease.executionId}: its lease was taken over by another replica (or it was deleted); stopped here, nothing more written`,
      );
    }
  }

  /** Replicas: no more claims (a stop); leases are still renewed until close(). */
  stopClaiming(): void {
    this.#claiming = false;
    this.#claimTimer?.();
  }

  /** Replicas: stops renewing leases (after the executions here have ended or been interrupted). */
  async close(): Promise<void> {
    this.stopClaiming();
    this.#closed = true;
    await this.#looking;
    this.#renewTimer?.();
    this.#renewTimer = undefined;
  }

  /** A running, queued or finished execution, in the one shape (Kestra's). */
  async get(id: string): Promise<ExecutionView | undefined> {
    const e = await this.#o.store.get(id);
    if (!e) return undefined;
    const ended = e.state !== 'CREATED' && e.state !== 'RUNNING';
    // Kestra's execution `outputs` are the flow's; each task's are in its task run.
    const [outputs, taskRuns] = await Promise.all([
      ended ? this.#o.store.flowOutputs(id) : undefined,
      this.#o.store.taskRuns(id),
    ]);
    return executionView({ ...e, outputs, taskRuns });
  }

  /**
   * Kestra's answer to a creation: the execution as created (CREATED), as Kestra's
   * ExecutionController returns it, read from memory: an acknowledgement costs no read of the store.
   * Undefined when it is not running here.
   */
  createdView(id: string): ExecutionView | undefined {
    const s = this.#running.get(id)?.submission;
    if (!s) return undefined;
    return executionView({ ...s, state: 'CREATED', histories: [{ state: 'CREATED', date: s.createdAt }] });
  }

  /** Newest first, by creation; without outputs nor task runs (GET one execution for those). */
  async search(q: SearchQuery): Promise<{ results: ExecutionView[]; total: number }> {
    const { results, total } = await this.#o.store.search(q);
    return { results: results.map((e) => executionView(e)), total };
  }

  /** The end of an execution running here; undefined when it is not running here. */
  done(id: string): Promise<Execution | undefined> | undefined {
    return this.#running.get(id)?.done;
  }

  get running(): number {
    return this.#running.size;
  }

  /** Aborts running executions; they are not recorded and resume at the next start. */
  interrupt(): void {
    this.#interrupt.abort();
  }

  /** Resolves when nothing runs, or after `timeoutMs`. */
  async idle(timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#running.size && Date.now() < deadline) {
      const all = Promise.all([...this.#running.values()].map((r) => r.done));
      if (!Number.isFinite(timeoutMs)) await all;
      else {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([all, new Promise((r) => (timer = setTimeout(r, deadline - Date.now())))]);
        clearTimeout(timer);
      }
    }
  }
}

/** The states an execution shows: queued (CREATED), RUNNING, then how it ended. */
export const EXECUTION_STATES = [
  'CREATED',
  'RUNNING',
  'KILLING',
  'RESTARTED',
  'SUCCESS',
  'WARNING',
  'FAILED',
  'KILLED',
] as const;

/** The flow's labels, then those given (a key given replaces the flow's), as Kestra's execution labels. */
function labelsOf(flow: Flow, given: readonly Label[] = []): Label[] {
  const fromFlow = Object.entries(flow.labels).map(([key, value]) => ({ key, value }));
  const keys = new Set(given.map((l) => l.key));
  return [...fromFlow.filter((l) => !keys.has(l.key)), ...given];
}
