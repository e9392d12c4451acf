import { type Execution, newId, type RunOptions, runFlow, type TaskRun } from '../flow/executor.js';
import type { Flow } from '../flow/load.js';
import type { Logger } from '../logger.js';
import type { ExecutionStore, SearchQuery, StoredExecution, Submission } from './store.js';

export type { Submission } from './store.js';

export interface Submitted {
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

  constructor(options: QueueOptions) {
    this.#o = options;
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
      id?: string;
      createdAt?: string;
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
    request: Omit<Submission, 'id' | 'namespace' | 'flowId' | 'createdAt'> & { createdAt?: string },
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
    if (!(await this.#o.store.enqueue(submission))) {
      const running = this.#running.get(id);
      if (running) return { ...running, created: false };
      return { submission, done: Promise.resolve(this.#recent.get(id)), created: false };
    }
    return this.#start(flow, submission);
  }

  #start(flow: Flow, submission: Submission): Submitted {
    const entry: Submitted = { submission, done: this.#run(flow, submission), created: true };
    this.#running.set(submission.id, entry);
    return entry;
  }

  async #run(flow: Flow, s: Submission): Promise<Execution | undefined> {
    const store = this.#o.store;
    try {
      const taskRuns = await store.taskRuns(s.id);
      const startDate = await store.started(s.id, new Date().toISOString());
      const ex = await runFlow(flow, {
        ...this.#o.run,
        id: s.id,
        inputs: s.inputs,
        ...(s.trigger ? { trigger: s.trigger } : {}),
        signal: this.#interrupt.signal,
        resume: { startDate, taskRuns },
        onTaskRun: (run) => store.saveTaskRun(s.id, run),
      });
      if (this.#interrupt.signal.aborted) {
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
      this.#running.delete(s.id);
    }
  }

  /** Resumes the executions a crash or a shutdown left unfinished (the one recovery path). */
  async recover(): Promise<Submitted[]> {
    const out: Submitted[] = [];
    for (const s of await this.#o.store.unfinished()) {
      if (this.#running.has(s.id)) continue;
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

  /** A running, queued or finished execution, as the API shows it. */
  async get(id: string): Promise<ExecutionView | undefined> {
    const e = await this.#o.store.get(id);
    if (!e) return undefined;
    const ended = e.state !== 'CREATED' && e.state !== 'RUNNING';
    const [outputs, taskRuns] = await Promise.all([
      ended ? this.#o.store.outputs(id) : undefined,
      this.#o.store.taskRuns(id),
    ]);
    return { ...toView(e, outputs), taskRunList: taskRuns.map(taskRunView) };
  }

  /** Newest first, by creation; without outputs nor task runs (GET one execution for those). */
  async search(q: SearchQuery): Promise<{ results: ExecutionView[]; total: number }> {
    const { results, total } = await this.#o.store.search(q);
    return { results: results.map((e) => toView(e)), total };
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
export const EXECUTION_STATES = ['CREATED', 'RUNNING', 'SUCCESS', 'WARNING', 'FAILED', 'KILLED'] as const;

/** An execution in the shape of Kestra's API (`state.current`, `taskRunList`, `trigger.variables`). */
export interface ExecutionView {
  id: string;
  tenantId: 'main';
  namespace: string;
  flowId: string;
  flowRevision: 1;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  trigger?: { id: string; type?: string; variables?: Record<string, unknown> };
  state: { current: string; startDate: string; endDate?: string; duration?: string };
  taskRunList?: unknown[];
}

const iso = (ms: number) => `PT${(ms / 1000).toFixed(3)}S`;

function taskRunView(r: TaskRun) {
  return {
    id: r.id,
    taskId: r.taskId,
    type: r.type,
    ...(r.value !== undefined ? { value: r.value } : {}),
    attempts: r.attempts,
    outputs: r.outputs,
    ...(r.error ? { error: r.error } : {}),
    state: {
      current: r.endDate === '' ? 'RUNNING' : r.state,
      startDate: r.startDate,
      ...(r.endDate === '' ? {} : { endDate: r.endDate, duration: iso(r.durationMs) }),
    },
  };
}

function toView(e: StoredExecution, outputs?: Record<string, unknown>): ExecutionView {
  return {
    id: e.id,
    tenantId: 'main',
    namespace: e.namespace,
    flowId: e.flowId,
    flowRevision: 1,
    inputs: e.inputs,
    ...(outputs ? { outputs } : {}),
    ...(e.triggerId || e.trigger
      ? {
          trigger: {
            id: e.triggerId ?? '',
            ...(e.triggerType ? { type: e.triggerType } : {}),
            variables: e.trigger,
          },
        }
      : {}),
    state: {
      current: e.state,
      startDate: e.startDate ?? e.createdAt,
      ...(e.endDate ? { endDate: e.endDate, duration: iso(e.durationMs ?? 0) } : {}),
    },
  };
}
