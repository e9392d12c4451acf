import { EventEmitter } from 'node:events';
import { type Execution, newId, type RunLogLine, type RunOptions, runFlow } from '../flow/executor.js';
import type { Flow, TaskNode } from '../flow/load.js';
import type { TriggerState } from '../flow/state.js';
import type { Logger } from '../logger.js';
import {
  type ExecutionStore,
  type Label,
  type LogEntry,
  OPEN_STATES,
  type SearchQuery,
  type Submission,
} from './store.js';
import { type ExecutionView, executionView } from '../flow/view.js';

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
}

const KEEP_RECENT = 200;

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

/** What a change of an execution tells its followers (`GET …/follow`): `log` lines, or that it changed. */
export type ExecutionChange = { kind: 'changed' } | { kind: 'log'; entry: LogEntry } | { kind: 'ended' };

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

  constructor(options: QueueOptions) {
    this.#o = options;
    this.#changes.setMaxListeners(0);
  }

  /** Resolves once every log line of execution `id` written so far is in the store. */
  logsKept(id: string): Promise<void> {
    return this.#written.get(id) ?? Promise.resolve();
  }

  /** Whether execution `id` runs in this process now. */
  isRunning(id: string): boolean {
    return this.#running.has(id);
  }

  /** Calls `listener` on every change of execution `id` until the returned function is called. */
  watch(id: string, listener: (change: ExecutionChange) => void): () => void {
    this.#changes.on(id, listener);
    return () => this.#changes.off(id, listener);
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

  /** Resolves once the submission is in the store (durable): the caller may acknowledge it then. */
  submit(
    flow: Flow,
    request: Omit<Submission, 'id' | 'namespace' | 'flowId' | 'createdAt'> & {
      id?: string | undefined;
      createdAt?: string | undefined;
      /** A trigger's state after the firing that submits this: written with it, in one transaction. */
      state?: TriggerState | undefined;
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
    },
  ): Promise<Submitted> {
    const submission: Submission = {
      id,
      namespace: flow.namespace,
      flowId: flow.id,
      inputs: request.inputs,
      ...(request.trigger ? { trigger: request.trigger } : {}),
      ...(request.triggerId ? { triggerId: request.triggerId, triggerType: request.triggerType } : {}),
      createdAt: request.createdAt ?? new Date().toISOString(),
    };
    const labels = labelsOf(flow, request.labels);
    if (labels.length) submission.labels = labels;
    if (!(await this.#o.store.enqueue(submission, request.state))) {
      const running = this.#running.get(id);
      if (running) return { ...running, created: false };
      return { id, submission, done: Promise.resolve(this.#recent.get(id)), created: false };
    }
    return this.#start(flow, submission);
  }

  #start(flow: Flow, submission: Submission): Submitted {
    const kill = new AbortController();
    this.#kills.set(submission.id, kill);
    const entry: Submitted = {
      id: submission.id,
      submission,
      done: this.#run(flow, submission, kill),
      created: true,
    };
    this.#running.set(submission.id, entry);
    return entry;
  }

  async #run(flow: Flow, s: Submission, kill: AbortController): Promise<Execution | undefined> {
    const store = this.#o.store;
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
            await store.appendLogs(batch);
          } catch (err) {
            this.#o.logger.error(`execution ${s.id}: log lines not kept: ${(err as Error).message}`);
          }
        });
        this.#written.set(s.id, written);
      }
      logs.push(entry);
      this.#changed(s.id, { kind: 'log', entry });
    };
    try {
      const taskRuns = await store.taskRuns(s.id);
      const startDate = await store.started(s.id, new Date().toISOString());
      this.#changed(s.id);
      const ex = await runFlow(flow, {
        ...this.#o.run,
        id: s.id,
        inputs: s.inputs,
        ...(s.trigger ? { trigger: s.trigger } : {}),
        signal: kill.signal,
        suspend: this.#interrupt.signal,
        resume: { startDate, taskRuns },
        onTaskRun: async (run) => {
          await store.saveTaskRun(s.id, run);
          this.#changed(s.id);
        },
        onLog,
      });
      await written;
      if (this.#interrupt.signal.aborted && !kill.signal.aborted) {
        this.#o.logger.warn(
          `execution ${s.id} of ${s.namespace}.${s.flowId} interrupted by shutdown; it resumes at the next start`,
        );
        return undefined;
      }
      const failed = ex.taskRuns.find((r) => r.error);
      await store.finish({
        id: ex.id,
        state: ex.state,
        endDate: ex.endDate,
        durationMs: Date.parse(ex.endDate) - Date.parse(ex.startDate),
        error: failed?.error,
        outputs: ex.outputs,
        taskRuns: ex.taskRuns,
      });
      this.#recent.set(ex.id, ex);
      if (this.#recent.size > KEEP_RECENT) this.#recent.delete(this.#recent.keys().next().value as string);
      this.#o.onFinished?.(ex);
      return ex;
    } catch (err) {
      this.#o.logger.error(`execution ${s.id} of ${s.namespace}.${s.flowId} could not run: ${String(err)}`);
      return undefined;
    } finally {
      await written;
      this.#written.delete(s.id);
      this.#running.delete(s.id);
      this.#kills.delete(s.id);
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
    // Queued but not running here (its flow is gone): it will never start.
    await this.#o.store.setState(id, 'KILLED');
    this.#changed(id, { kind: 'ended' });
    return true;
  }

  /**
   * Kestra's restart: an execution that ended FAILED runs again under the same id from its failed
   * task: the task runs that ended SUCCESS, WARNING or SKIPPED are not run again, the failed one is,
   * its `attempts` counting on; the task runs of the flow's `errors` branch are dropped (it runs
   * again if the restart fails). The execution shows RESTARTED, then RUNNING.
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
    const errorTasks = taskIds(flow.errors);
    const drop = (await this.#o.store.taskRuns(id)).filter((r) => errorTasks.has(r.taskId)).map((r) => r.id);
    await this.#o.store.setState(id, 'RESTARTED', drop);
    this.#o.logger.info(`execution ${id} of ${e.namespace}.${e.flowId} restarted through the API`);
    const view = await this.get(id);
    this.#start(flow, e);
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
    return this.#o.store.remove(id, keepLogs);
  }

  /** Resumes the executions a crash or a shutdown left unfinished (the one recovery path). */
  async recover(): Promise<Submitted[]> {
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

  /** A running, queued or finished execution, in the one shape (Kestra's). */
  async get(id: string): Promise<ExecutionView | undefined> {
    const e = await this.#o.store.get(id);
    if (!e) return undefined;
    const ended = e.state !== 'CREATED' && e.state !== 'RUNNING';
    const [outputs, taskRuns] = await Promise.all([
      ended ? this.#o.store.outputs(id) : undefined,
      this.#o.store.taskRuns(id),
    ]);
    return executionView({
      ...e,
      outputs,
      taskRuns,
    });
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
  const fromFlow = Object.entries(flow.labels).map(([key, value]) => ({
    key,
    value: typeof value === 'string' ? value : JSON.stringify(value),
  }));
  const keys = new Set(given.map((l) => l.key));
  return [...fromFlow.filter((l) => !keys.has(l.key)), ...given];
}
