import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { type Execution, newId, type RunOptions, runFlow, type TaskRun } from '../flow/executor.js';
import type { Flow } from '../flow/load.js';
import { writeAtomic } from '../files.js';
import type { ExecutionRecord, StateStore } from '../flow/state.js';
import type { Logger } from '../logger.js';

/** An execution accepted from outside (HTTP API, webhook, schedule), on disk before anyone is told. */
export interface Submission {
  id: string;
  namespace: string;
  flowId: string;
  inputs: Record<string, unknown>;
  trigger?: Record<string, unknown> | undefined;
  triggerId?: string | undefined;
  triggerType?: string | undefined;
  createdAt: string;
}

export interface Submitted {
  submission: Submission;
  /** The finished execution; undefined when it could not run. Never rejects. */
  done: Promise<Execution | undefined>;
  /** False when `id` was already submitted (a schedule slot replayed): nothing new was started. */
  created: boolean;
}

export interface QueueOptions {
  store: StateStore;
  logger: Logger;
  /** Finds the current version of a flow. */
  find: (namespace: string, id: string) => Flow | undefined;
  /** How executions run: environment, secrets, masker, transport, log sink. */
  run: Omit<RunOptions, 'id' | 'inputs' | 'trigger'>;
  /** Called with each execution once it is in the history. */
  onFinished?: (execution: Execution) => void;
}

const KEEP_RECENT = 200;
const JOURNAL = '.runs.jsonl';

/** An append-only file, each line on disk (fsync) before append() returns. */
class Journal {
  #fd: number | undefined;

  constructor(file: string) {
    this.#fd = openSync(file, 'a+');
    // A line a crash cut short is ended, so that the next one is read whole.
    const size = fstatSync(this.#fd).size;
    const last = Buffer.alloc(1);
    if (size && readSync(this.#fd, last, 0, 1, size - 1) === 1 && last[0] !== 10) writeSync(this.#fd, '\n');
  }

  append(entry: unknown): void {
    if (this.#fd === undefined) return;
    writeSync(this.#fd, `${JSON.stringify(entry)}\n`);
    fsyncSync(this.#fd);
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/**
 * Starts executions durably: the submission is written (fsync + rename) before submit() returns,
 * so a caller acknowledged afterwards loses nothing in a crash, and recover() runs what a crash
 * interrupted. Finished executions go to the history shared with the trigger scheduler.
 */
export class ExecutionQueue {
  readonly #o: QueueOptions;
  readonly #dir: string;
  readonly #running = new Map<string, Submitted>();
  /** Recently finished executions; outputs kept in their own file are left out (`rec` says where). */
  readonly #recent = new Map<string, { ex: Execution; s: Submission; rec: ExecutionRecord }>();
  readonly #interrupt = new AbortController();
  readonly #done: Set<string>;

  constructor(options: QueueOptions) {
    this.#o = options;
    this.#dir = join(options.store.dir, 'queue');
    mkdirSync(this.#dir, { recursive: true });
    this.#done = new Set(options.store.history().map((r) => r.id));
  }

  #file(id: string): string {
    return join(this.#dir, `${id.replace(/[^A-Za-z0-9_-]/g, '_')}.json`);
  }

  /** The execution's journal: its first start date, then each task run as it starts and ends. */
  #journal(id: string): string {
    return join(this.#dir, `${id.replace(/[^A-Za-z0-9_-]/g, '_')}${JOURNAL}`);
  }

  /** What earlier starts of this execution recorded (a crash cut the last line short: skipped). */
  #readJournal(id: string): { startDate?: string; taskRuns: TaskRun[] } {
    let text: string;
    try {
      text = readFileSync(this.#journal(id), 'utf8');
    } catch {
      return { taskRuns: [] };
    }
    let startDate: string | undefined;
    const runs = new Map<string, TaskRun>();
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let entry: { startDate?: string; run?: TaskRun };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue;
      }
      if (entry.startDate) startDate ??= entry.startDate;
      if (entry.run) runs.set(entry.run.id, entry.run);
    }
    return { ...(startDate ? { startDate } : {}), taskRuns: [...runs.values()] };
  }

  /** Whether an execution with this id was ever submitted (queued, running or finished). */
  has(id: string): boolean {
    return this.#running.has(id) || this.#done.has(id) || existsSync(this.#file(id));
  }

  submit(
    flow: Flow,
    request: Omit<Submission, 'id' | 'namespace' | 'flowId' | 'createdAt'> & {
      id?: string;
      createdAt?: string;
    },
  ): Submitted {
    const id = request.id ?? newId();
    const running = this.#running.get(id);
    if (running) return { ...running, created: false };
    if (this.has(id)) {
      const submission = {
        ...request,
        id,
        namespace: flow.namespace,
        flowId: flow.id,
        createdAt: request.createdAt ?? '',
      };
      return { submission, done: Promise.resolve(this.#recent.get(id)?.ex), created: false };
    }
    const submission: Submission = {
      id,
      namespace: flow.namespace,
      flowId: flow.id,
      inputs: request.inputs,
      ...(request.trigger ? { trigger: request.trigger } : {}),
      ...(request.triggerId ? { triggerId: request.triggerId, triggerType: request.triggerType } : {}),
      createdAt: request.createdAt ?? new Date().toISOString(),
    };
    writeAtomic(this.#file(id), `${JSON.stringify(submission)}\n`);
    return this.#start(flow, submission);
  }

  #start(flow: Flow, submission: Submission): Submitted {
    const entry: Submitted = { submission, done: this.#run(flow, submission), created: true };
    this.#running.set(submission.id, entry);
    return entry;
  }

  async #run(flow: Flow, s: Submission): Promise<Execution | undefined> {
    let journal: Journal | undefined;
    try {
      const prior = this.#readJournal(s.id);
      journal = new Journal(this.#journal(s.id));
      const startDate = prior.startDate ?? new Date().toISOString();
      if (!prior.startDate) journal.append({ startDate });
      const ex = await runFlow(flow, {
        ...this.#o.run,
        id: s.id,
        inputs: s.inputs,
        ...(s.trigger ? { trigger: s.trigger } : {}),
        signal: this.#interrupt.signal,
        resume: { startDate, taskRuns: prior.taskRuns },
        onTaskRun: (run) => journal?.append({ run }),
      });
      journal.close();
      journal = undefined;
      if (this.#interrupt.signal.aborted) {
        this.#o.logger.warn(
          `execution ${s.id} of ${s.namespace}.${s.flowId} interrupted by shutdown; it resumes at the next start`,
        );
        return undefined;
      }
      const rec = this.#o.store.record(ex, s.triggerId);
      this.#done.add(ex.id);
      rmSync(this.#file(s.id), { force: true });
      rmSync(this.#journal(s.id), { force: true });
      this.#recent.set(ex.id, { ex: rec.outputsFile ? withoutOutputs(ex) : ex, s, rec });
      if (this.#recent.size > KEEP_RECENT) this.#recent.delete(this.#recent.keys().next().value as string);
      this.#o.onFinished?.(ex);
      return ex;
    } catch (err) {
      this.#o.logger.error(`execution ${s.id} of ${s.namespace}.${s.flowId} could not run: ${String(err)}`);
      return undefined;
    } finally {
      journal?.close();
      this.#running.delete(s.id);
    }
  }

  /** Runs the submissions a crash left unfinished (those already in the history are only cleared). */
  recover(): Submitted[] {
    const out: Submitted[] = [];
    for (const name of readdirSync(this.#dir).sort()) {
      const file = join(this.#dir, name);
      if (name.endsWith(JOURNAL)) {
        // A journal left by an execution recorded just before a crash removed it.
        const id = name.slice(0, -JOURNAL.length);
        if (this.#done.has(id) && !existsSync(join(this.#dir, `${id}.json`))) rmSync(file, { force: true });
        continue;
      }
      if (!name.endsWith('.json')) {
        rmSync(file, { force: true }); // a temp file from a write a crash cut short
        continue;
      }
      let s: Submission;
      try {
        s = JSON.parse(readFileSync(file, 'utf8')) as Submission;
      } catch {
        this.#o.logger.warn(`queued execution ${file} is damaged; skipped`);
        continue;
      }
      if (this.#done.has(s.id) || this.#running.has(s.id)) {
        if (this.#done.has(s.id)) {
          rmSync(file, { force: true });
          rmSync(this.#journal(s.id), { force: true });
        }
        continue;
      }
      const flow = this.#o.find(s.namespace, s.flowId);
      if (!flow) {
        this.#o.logger.error(
          `queued execution ${s.id}: flow ${s.namespace}.${s.flowId} is gone; left in ${file}`,
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
  get(id: string): ExecutionView | undefined {
    const recent = this.#recent.get(id);
    if (recent)
      return withOutputs(
        fromExecution(recent.ex, recent.s, !!recent.rec.outputsFile),
        this.#o.store.outputs(recent.rec),
      );
    const running = this.#running.get(id);
    if (running) return fromSubmission(running.submission, 'RUNNING');
    // The history also holds the StatsTrigger scheduler's executions.
    const rec = this.#o.store.history().find((r) => r.id === id);
    if (rec) return withOutputs(fromRecord(rec), this.#o.store.outputs(rec));
    if (existsSync(this.#file(id))) {
      try {
        return fromSubmission(JSON.parse(readFileSync(this.#file(id), 'utf8')) as Submission, 'CREATED');
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  /** Running executions first, then the history newest first; outputs kept in their own file are left out. */
  list(): ExecutionView[] {
    const running = [...this.#running.values()].map((r) => fromSubmission(r.submission, 'RUNNING'));
    const finished = this.#o.store
      .history()
      .reverse()
      .map((r) => {
        const recent = this.#recent.get(r.id);
        return recent ? fromExecution(recent.ex, recent.s, !!recent.rec.outputsFile) : fromRecord(r);
      });
    return [...running, ...finished];
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

/** The execution without its (large) outputs, nor its task runs'. */
function withoutOutputs(ex: Execution): Execution {
  return {
    ...ex,
    outputs: {},
    taskRuns: ex.taskRuns.map(({ outputs: _outputs, ...r }) => r),
  };
}

function withOutputs(view: ExecutionView, outputs: Record<string, unknown> | undefined): ExecutionView {
  if (outputs === undefined) return view;
  return { ...view, outputs };
}

function fromSubmission(s: Submission, current: string): ExecutionView {
  return {
    id: s.id,
    tenantId: 'main',
    namespace: s.namespace,
    flowId: s.flowId,
    flowRevision: 1,
    inputs: s.inputs,
    ...(s.triggerId ? { trigger: { id: s.triggerId, type: s.triggerType, variables: s.trigger } } : {}),
    state: { current, startDate: s.createdAt },
  };
}

function fromExecution(ex: Execution, s: Submission, detached = false): ExecutionView {
  const view = fromRecord({
    ...(s.triggerId ? { triggerId: s.triggerId, triggerType: s.triggerType } : {}),
    id: ex.id,
    namespace: ex.namespace,
    flowId: ex.flowId,
    state: ex.state,
    ...(detached ? {} : { outputs: ex.outputs }),
    startDate: ex.startDate,
    endDate: ex.endDate,
    durationMs: Date.parse(ex.endDate) - Date.parse(ex.startDate),
    ...(ex.trigger ? { trigger: ex.trigger } : {}),
  });
  return {
    ...view,
    inputs: ex.inputs,
    taskRunList: ex.taskRuns.map((r) => ({
      id: r.id,
      taskId: r.taskId,
      type: r.type,
      attempts: r.attempts,
      outputs: r.outputs,
      ...(r.error ? { error: r.error } : {}),
      state: { current: r.state, startDate: r.startDate, endDate: r.endDate, duration: iso(r.durationMs) },
    })),
  };
}

function fromRecord(r: ExecutionRecord & { triggerType?: string | undefined }): ExecutionView {
  return {
    id: r.id,
    tenantId: 'main',
    namespace: r.namespace,
    flowId: r.flowId,
    flowRevision: 1,
    outputs: r.outputs,
    ...(r.triggerId || r.trigger
      ? {
          trigger: {
            id: r.triggerId ?? '',
            ...(r.triggerType ? { type: r.triggerType } : {}),
            variables: r.trigger,
          },
        }
      : {}),
    state: { current: r.state, startDate: r.startDate, endDate: r.endDate, duration: iso(r.durationMs) },
  };
}
