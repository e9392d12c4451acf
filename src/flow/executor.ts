import { randomFillSync } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidInputError, KestraFastlyError, RunFailedError } from '../errors.js';
import {
  type Metric,
  type NestedRun,
  parseProps,
  type RunState,
  takesTextAt,
  type TaskContext,
} from '../tasks/task.js';
import type { Logger } from '../logger.js';
import { parseDuration } from '../duration.js';
import { isTruthy, renderText, renderValue } from './expressions.js';
import { typedOutput } from './inputs.js';
import { type Flow, locate, type TaskNode } from './load.js';
import { createLogger } from '../logger.js';
import { type Level } from '../levels.js';
import { Masker } from '../masker.js';
import type { RetryDef } from './model.js';
import { executionEvents } from '../diagnostics.js';
import { emptyTokenError, type Sealed, seal, SecretStore, unseal } from './secrets.js';
import { wallNowIso } from '../clock.js';
import { instantText, preciseNow } from './clock.js';
import { javaInteger } from '../pebble/index.js';
import type { StateHistory } from './view-types.js';

/** KILLED: interrupted (Ctrl-C, SIGTERM), as Kestra calls a killed execution. */
export type State = RunState;

export interface TaskRun {
  id: string;
  taskId: string;
  type: string;
  state: State;
  attempts: number;
  startDate: string;
  endDate: string;
  durationMs: number;
  outputs?: unknown;
  metrics?: Metric[];
  error?: string;
  /** ForEach: the value this run is for. */
  value?: string;
  /** `input` when the failure is the flow's or its inputs' fault (exit 2), else `runtime`. */
  errorKind?: 'input' | 'runtime';
  /** As stored, when masking changed its outputs: the outputs as they were, sealed (a resume reads them). */
  sealed?: Sealed;
  /**
   * Kestra's `state.histories`: CREATED, RUNNING, RETRYING between attempts, RESTARTED when run
   * again after it ended, then how it ended; absent in task runs stored before they were kept.
   */
  histories?: StateHistory[];
  /** Each attempt's `state.histories` (Kestra's `TaskRunAttempt`), oldest first. */
  attemptHistories?: StateHistory[][];
}

/** Appends `state` to a history unless it is already the last one. */
function transition(histories: StateHistory[], state: string, date = wallNowIso()): void {
  if (histories.at(-1)?.state !== state) histories.push({ state, date });
}

/** Ends the attempt still open (its last state RUNNING) of a task run, as `state`. */
function endAttempt(run: TaskRun, state: string, date = wallNowIso()): void {
  const open = run.attemptHistories?.at(-1);
  if (open?.at(-1)?.state === 'RUNNING') open.push({ state, date });
}

export interface Execution {
  id: string;
  namespace: string;
  flowId: string;
  state: Exclude<State, 'SKIPPED'>;
  inputs: Record<string, unknown>;
  trigger?: Record<string, unknown>;
  /** Each task's outputs by task id (`outputs.<task>` in expressions; ForEach ones by value). */
  outputs: Record<string, unknown>;
  /**
   * Kestra's execution `outputs`: the flow's `outputs` rendered once its tasks have ended, each
   * converted to its type. Undefined when the flow declares none.
   */
  flowOutputs?: Record<string, unknown>;
  taskRuns: TaskRun[];
  startDate: string;
  endDate: string;
}

export interface RunOptions {
  /** Execution id to use (a replayed firing keeps its id); default a new one. */
  id?: string;
  inputs?: Record<string, unknown>;
  trigger?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  secretsFile?: string | undefined;
  masker?: Masker;
  logLevel?: Level;
  jsonLogs?: boolean;
  write?: (line: string) => void;
  signal?: AbortSignal;
  /**
   * Stops the run to resume it later (a server shutting down): tasks stop as with `signal`, but
   * the execution is not reported as ended (no `ended KILLED` line); the caller keeps it unfinished.
   */
  suspend?: AbortSignal;
  client?: TaskContext['client'];
  /**
   * What an earlier start of this same execution (before a crash or a shutdown) recorded: its
   * start date, kept, and its task runs. A task run that ended SUCCESS, WARNING or SKIPPED is not
   * run again (its outputs are reused); one that was running or ended FAILED/KILLED is run again
   * with the same id and start date, its `attempts` counting on.
   */
  resume?: { startDate: string; taskRuns: readonly TaskRun[] };
  /**
   * Called when a task run starts (`endDate` empty) and when it ends, with its secrets masked:
   * the task goes on once the returned promise resolves (the caller makes the run durable first).
   */
  onTaskRun?: (run: TaskRun) => void | Promise<void>;
  /** Called with each log line of the run as it is written (masked), with the task run it is about. */
  onLog?: (line: RunLogLine) => void;
}

/** A log line of a run: the flow's own (no `taskId`) or a task run's, at an attempt (0 for the first). */
export interface RunLogLine {
  level: Level;
  message: string;
  timestamp: string;
  taskId?: string;
  taskRunId?: string;
  attemptNumber?: number;
}

/** The states after which a task run is not run again when its execution resumes. */
const DONE_STATES: readonly string[] = ['SUCCESS', 'WARNING', 'SKIPPED'];

const priorKey = (taskId: string, value: string | undefined) =>
  value === undefined ? taskId : `${taskId}\u0000${value}`;

/** Random bytes drawn 4 KiB at a time: one system call per 256 ids, not one per id. */
const ID_POOL = Buffer.alloc(4096);
let idAt = ID_POOL.length;

/** Kestra's execution and task run ids: 16 random bytes, base64url (22 characters). */
export const newId = (): string => {
  if (idAt + 16 > ID_POOL.length) {
    randomFillSync(ID_POOL);
    idAt = 0;
  }
  idAt += 16;
  return ID_POOL.toString('base64url', idAt - 16, idAt);
};

function retryDelay(retry: RetryDef, attempt: number, name: string): number {
  switch (retry.type) {
    case 'constant':
      return parseDuration(retry.interval, `${name}.interval`);
    case 'exponential': {
      const base = parseDuration(retry.interval, `${name}.interval`);
      const max = parseDuration(retry.maxInterval, `${name}.maxInterval`);
      return Math.min(max, base * (retry.delayFactor ?? 2) ** (attempt - 1));
    }
    default: {
      const min = parseDuration(retry.minInterval, `${name}.minInterval`);
      const max = parseDuration(retry.maxInterval, `${name}.maxInterval`);
      return min + Math.random() * (max - min);
    }
  }
}

/** Where a task runs: the render context, and inside a ForEach the iteration's value. */
interface Frame {
  ctx: Record<string, unknown>;
  value?: string;
  /** Inside a ForEach: its task run (Kestra's `taskrun.parentId`) and the iteration. */
  parentId?: string;
  iteration?: number;
}

const errorText = (err: unknown): string => {
  const e = err as Error | undefined;
  return e instanceof KestraFastlyError ? e.message : `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`;
};

/** RunOptions with `suspend` folded into `signal`: `suspended` tells whether it was the one aborted. */
type FlowRunOptions = RunOptions & { suspended?: () => boolean };

/** Everything one execution of a flow shares: its record, expression context, secrets and loggers. */
class FlowRun {
  readonly execution: Execution;
  readonly #flow: Flow;
  readonly #o: FlowRunOptions;
  readonly #env: NodeJS.ProcessEnv;
  readonly #masker: Masker;
  readonly #context: Record<string, unknown>;
  readonly #root: Frame;
  readonly #secret: (name: string) => string;
  /** Task runs of an earlier start, by `taskId` + ForEach value, in the order they ran. */
  readonly #prior = new Map<string, TaskRun[]>();
  /** Task runs that had ended before a restart and were not run again, by their state. */
  readonly #notRunAgain = new Map<string, number>();
  readonly #secrets: SecretStore;

  constructor(flow: Flow, options: FlowRunOptions) {
    this.#flow = flow;
    this.#o = options;
    this.#env = options.env ?? process.env;
    this.#masker = options.masker ?? new Masker();
    const secrets = new SecretStore(this.#env, this.#masker, options.secretsFile);
    this.#secrets = secrets;
    this.#secret = (name) => secrets.get(name);
    const started = preciseNow();
    this.execution = {
      id: options.id ?? newId(),
      namespace: flow.namespace,
      flowId: flow.id,
      state: 'SUCCESS',
      inputs: options.inputs ?? {},
      ...(options.trigger ? { trigger: options.trigger } : {}),
      outputs: {},
      taskRuns: [],
      startDate: options.resume?.startDate ?? new Date(Math.floor(started)).toISOString(),
      endDate: '',
    };
    for (const r of options.resume?.taskRuns ?? []) {
      const key = priorKey(r.taskId, r.value);
      this.#prior.set(key, [...(this.#prior.get(key) ?? []), r]);
    }
    const envs = Object.fromEntries(
      Object.entries(this.#env)
        .filter(([k]) => k.startsWith('ENV_'))
        .map(([k, v]) => [k.slice(4).toLowerCase(), v]),
    );
    this.#context = {
      // As Kestra's RunVariables: a flow read from a file is revision 1 unless it says otherwise;
      // Flow.revision is a java.lang.Integer.
      flow: { id: flow.id, namespace: flow.namespace, revision: javaInteger(flow.revision ?? 1) },
      execution: {
        id: this.execution.id,
        startDate: instantText(options.resume ? Date.parse(options.resume.startDate) : started),
        originalId: this.execution.id,
      },
      inputs: this.execution.inputs,
      outputs: this.execution.outputs,
      labels: flow.labels,
      envs,
      // Stored raw, as Kestra's RunVariables does (no recursive rendering): `render(vars.x)` renders.
      vars: flow.variables,
      ...(options.trigger ? { trigger: options.trigger } : {}),
    };
    this.#root = { ctx: this.#context };
  }

  /** Inside a ForEach, outputs are keyed by value: outputs.<task>[<value>], as in Kestra. */
  #setOutputs(taskId: string, outputs: unknown, frame: Frame): void {
    if (frame.value === undefined) this.execution.outputs[taskId] = outputs;
    else {
      const byValue = (this.execution.outputs[taskId] ??= {}) as Record<string, unknown>;
      byValue[frame.value] = outputs;
    }
  }

  /** A task's logger (the flow's when `taskId` is empty); `run` tells which task run a line is about. */
  #logger(taskId: string, level?: Level, run?: () => TaskRun | undefined): Logger {
    const onLog = this.#o.onLog;
    return createLogger({
      level: level ?? this.#o.logLevel ?? 'INFO',
      json: this.#o.jsonLogs,
      masker: this.#masker,
      write: this.#o.write,
      fields: { flow: this.#flow.id, execution: this.execution.id, task: taskId },
      ...(onLog
        ? {
            onLine: (lvl: Level, message: string, timestamp: string) => {
              const r = run?.();
              onLog({
                level: lvl,
                message,
                timestamp,
                ...(taskId ? { taskId } : {}),
                ...(r ? { taskRunId: r.id, attemptNumber: Math.max(0, r.attempts - 1) } : {}),
              });
            },
          }
        : {}),
    });
  }

  /** tasks, then `errors` if they failed, then `finally`; a failure anywhere ends FAILED, never throws. */
  async run(): Promise<Execution> {
    const flowLog = this.#logger('', this.#o.logLevel);
    const { id, namespace, flowId } = this.execution;
    executionEvents.publish({ phase: 'started', id, namespace, flowId });
    let state: State;
    try {
      state = await this.runTasks(this.#flow.tasks);
    } catch (err) {
      flowLog.error(this.#masker.mask(this.#killed() ?? errorText(err)));
      state = this.#killed() ? 'KILLED' : 'FAILED';
    }
    if (state === 'FAILED' && this.#flow.errors.length) await this.runTasks(this.#flow.errors);
    if (this.#flow.finally.length) await this.runTasks(this.#flow.finally);
    this.#tellNotRunAgain(flowLog);
    const ex = this.execution;
    ex.state = state === 'SKIPPED' ? 'SUCCESS' : state;
    // Suspended to resume later: it has not ended, whatever its tasks' states say.
    if (this.#o.suspended?.()) {
      ex.endDate = wallNowIso();
      return maskExecution(ex, this.#masker);
    }
    if (this.#flow.outputs.length) this.#renderFlowOutputs(flowLog);
    ex.endDate = wallNowIso();
    executionEvents.publish({
      phase: 'ended',
      id,
      namespace,
      flowId,
      state: ex.state,
      durationMs: Date.parse(ex.endDate) - Date.parse(ex.startDate),
    });
    flowLog.info(`execution ${ex.id} of ${this.#flow.namespace}.${this.#flow.id} ended ${ex.state}`);
    return maskExecution(ex, this.#masker);
  }

  /**
   * Kestra's flow outputs (ExecutorService.onEnd): rendered with what the tasks did, converted to
   * their types; one that cannot be rendered or converted logs "Failed to render output values"
   * and the execution ends FAILED (a killed one stays KILLED).
   */
  #renderFlowOutputs(flowLog: Logger): void {
    const ex = this.execution;
    const out: Record<string, unknown> = {};
    try {
      for (const def of this.#flow.outputs) {
        const scope = {
          where: `output '${def.id}'`,
          locate: (sub: readonly (string | number)[]) =>
            locate(this.#flow, `outputs[${this.#flow.outputs.indexOf(def)}].value`, sub),
          secret: this.#secret,
          masker: this.#masker,
          errorLogs: () => this.#errorLogs(),
        };
        // Kestra renders a JSON output to text and reads it with Jackson: 1.0 and a long past 2^53
        // come through as they were (a value rendered as a value would be a JS number).
        const value =
          def.type === 'JSON' && typeof def.value === 'string'
            ? renderText(def.value, this.#context, scope)
            : renderValue(def.value, this.#context, scope);
        out[def.id] = typedOutput(def, value);
        if (def.type === 'SECRET') this.#masker.add(String(out[def.id]));
      }
      ex.flowOutputs = out;
    } catch (err) {
      flowLog.error(`Failed to render output values: ${this.#masker.mask(errorText(err))}`);
      if (ex.state !== 'KILLED') ex.state = 'FAILED';
    }
  }

  /**
   * Once per execution (a ForEach may hold thousands): how many task runs had ended before the
   * restart and were not run again, by state.
   */
  #tellNotRunAgain(flowLog: Logger): void {
    const counts = [...this.#notRunAgain];
    if (!counts.length) return;
    const n = counts.reduce((sum, [, c]) => sum + c, 0);
    const states = counts.map(([state, c]) => `${c} ${state}`).join(', ');
    flowLog.info(`${n} task run(s) already ended before the restart (${states}): not run again`);
    this.#notRunAgain.clear();
  }

  /** Why the run was interrupted (`interrupted by SIGINT`), or undefined while it is not. */
  #killed(): string | undefined {
    const signal = this.#o.signal;
    if (!signal?.aborted) return undefined;
    const reason: unknown = signal.reason;
    return reason instanceof Error && reason.name !== 'AbortError' ? reason.message : 'interrupted';
  }

  /** Runs tasks in order, stopping at the first FAILED (or KILLED) one. */
  async runTasks(nodes: TaskNode[], frame: Frame = this.#root): Promise<State> {
    let state: State = 'SUCCESS';
    for (const node of nodes) {
      if (this.#killed()) return 'KILLED';
      const s = await this.runTask(node, frame);
      if (s === 'FAILED' || s === 'KILLED') return s;
      if (s === 'WARNING') state = 'WARNING';
    }
    return state;
  }

  /** One task with its runIf, branches, retries and timeout; every failure ends in its TaskRun. */
  async runTask(node: TaskNode, outer: Frame = this.#root): Promise<State> {
    let current: TaskRun | undefined;
    const log = this.#logger(node.id, node.common.logLevel, () => current);
    const prior = this.#takePrior(node.id, outer.value);
    current = prior;
    const leaf = !node.children;
    // Outputs stored masked are read from their sealed copy: the next tasks see the real values.
    const sealed = prior?.sealed;
    const outputs = sealed ? unseal(this.#secrets, this.execution.id, sealed) : prior?.outputs;
    if (prior && sealed && outputs === undefined)
      log.warn('ended before the restart, but its outputs held a secret that is gone or changed: run again');
    else if (prior && leaf && prior.endDate !== '' && DONE_STATES.includes(prior.state)) {
      // Ended before a crash or a shutdown: its effects happened; only its outputs are needed.
      const { sealed: _sealed, ...ended } = prior;
      this.execution.taskRuns.push({ ...ended, ...(outputs !== undefined ? { outputs } : {}) });
      if (outputs !== undefined) this.#setOutputs(node.id, outputs, outer);
      this.#notRunAgain.set(prior.state, (this.#notRunAgain.get(prior.state) ?? 0) + 1);
      return prior.state;
    }
    const started = prior ? Date.parse(prior.startDate) : preciseNow();
    const run: TaskRun = {
      id: prior?.id ?? newId(),
      taskId: node.id,
      type: node.type,
      state: 'SUCCESS',
      // An interrupted leaf task is tried again: its attempts count on.
      attempts: prior && leaf ? prior.attempts : 0,
      startDate: prior?.startDate ?? new Date(Math.floor(started)).toISOString(),
      endDate: '',
      durationMs: 0,
      ...(outer.value !== undefined ? { value: outer.value } : {}),
      histories: prior?.histories
        ? prior.histories.map((h) => ({ ...h }))
        : [{ state: 'CREATED', date: prior?.startDate ?? new Date(Math.floor(started)).toISOString() }],
      attemptHistories: leaf ? (prior?.attemptHistories ?? []).map((a) => a.map((h) => ({ ...h }))) : [],
    };
    const histories = run.histories as StateHistory[];
    // Ended FAILED or KILLED, run again (Kestra's restart): its history goes on.
    if (prior && prior.endDate !== '' && !DONE_STATES.includes(prior.state))
      transition(histories, 'RESTARTED');
    // An attempt a crash or a shutdown interrupted did not succeed; the next one counts on.
    endAttempt(run, 'FAILED');
    current = run;
    this.execution.taskRuns.push(run);
    if (!leaf) {
      transition(histories, 'RUNNING');
      await this.#checkpoint(run); // a leaf's is at each attempt
    }
    // Kestra's `taskrun` (RunVariables.of(TaskRun)): attemptsCount is the attempts made before this one.
    const taskrun: Record<string, unknown> = {
      id: run.id,
      startDate: instantText(started),
      attemptsCount: 0,
      ...(outer.parentId !== undefined ? { parentId: outer.parentId } : {}),
      ...(outer.value !== undefined ? { value: outer.value } : {}),
      ...(outer.iteration !== undefined ? { iteration: outer.iteration } : {}),
    };
    const frame: Frame = { ...outer, ctx: { ...outer.ctx, taskrun } };
    /** What the task's children see: the caller's frame (their own taskrun comes from runTask). */
    const children: Frame = { ...outer, parentId: run.id };
    const t0 = Date.now();
    const finish = async (state: State, error?: string): Promise<State> => {
      run.state = state;
      run.endDate = wallNowIso();
      endAttempt(run, state, run.endDate);
      transition(histories, state, run.endDate);
      run.durationMs = Date.now() - t0;
      if (error) run.error = this.#masker.mask(error);
      await this.#checkpoint(run);
      return state;
    };
    if (node.common.disabled) return finish('SKIPPED');
    try {
      if (
        node.common.runIf !== undefined &&
        !isTruthy(this.#render(node, 'runIf', node.common.runIf, frame))
      ) {
        log.debug('runIf is false: skipped');
        return finish('SKIPPED');
      }
      if (node.children && node.def.runNested) {
        const state = await node.def.runNested(this.#nested(node, node.children, frame, children));
        return finish(state === 'SKIPPED' ? 'SUCCESS' : state);
      }
      return finish(await this.#attempts(node, run, log, t0, frame));
    } catch (err) {
      const e = err as { outputs?: unknown };
      if (e?.outputs !== undefined) {
        run.outputs = e.outputs;
        this.#setOutputs(node.id, e.outputs, frame);
      }
      const killed = this.#killed();
      if (killed) {
        log.warn(killed);
        return finish('KILLED', killed);
      }
      const message = errorText(err);
      run.errorKind = err instanceof InvalidInputError ? 'input' : 'runtime';
      if (node.common.allowFailure) {
        log.warn(`failed (allowFailure): ${message}`);
        return finish('WARNING', message);
      }
      log.error(message);
      return finish('FAILED', message);
    }
  }

  /** The next task run an earlier start recorded for this task (and ForEach value), if any. */
  #takePrior(taskId: string, value: string | undefined): TaskRun | undefined {
    return this.#prior.get(priorKey(taskId, value))?.shift();
  }

  /** Tells `onTaskRun` (a copy, secrets masked) that a task run started or ended. */
  async #checkpoint(run: TaskRun): Promise<void> {
    const on = this.#o.onTaskRun;
    if (!on) return;
    const outputs = run.outputs !== undefined ? this.#masker.maskValues(run.outputs) : undefined;
    const sealed =
      outputs !== run.outputs && run.endDate !== ''
        ? seal(this.#secrets, this.execution.id, run.outputs)
        : undefined;
    await on({
      ...run,
      ...(run.outputs !== undefined ? { outputs } : {}),
      ...(run.value !== undefined ? { value: this.#masker.maskValues(run.value) } : {}),
      ...(sealed ? { sealed } : {}),
    });
  }

  #render(
    node: TaskNode,
    prop: string,
    value: unknown,
    frame: Frame,
    textAt?: (path: readonly (string | number)[]) => boolean,
  ): unknown {
    // Kestra's `task` variable: the task being rendered.
    return renderValue(
      value,
      { ...frame.ctx, task: { id: node.id, type: node.type } },
      {
        where: `task '${node.id}', property '${prop}'`,
        ...(node.path ? { locate: (sub) => locate(this.#flow, `${node.path}.${prop}`, sub) } : {}),
        secret: this.#secret,
        masker: this.#masker,
        errorLogs: () => this.#errorLogs(),
      },
      textAt,
    );
  }

  /** Kestra's `errorLogs()`: an ERROR line per failed task so far (for the flow's `errors` tasks). */
  #errorLogs(): unknown[] {
    const { id, namespace, flowId } = this.execution;
    return this.execution.taskRuns
      .filter((r) => r.state === 'FAILED' && r.error !== undefined)
      .map((r) => ({
        namespace,
        flowId,
        executionId: id,
        taskId: r.taskId,
        taskRunId: r.id,
        level: 'ERROR',
        timestamp: r.endDate,
        message: r.error,
      }));
  }

  /**
   * What a flowable's `runNested` works with: its properties rendered in `frame`, its nested tasks
   * run in `inner` (a ForEach iteration adds Kestra's `taskrun.value`, `parent` and `parents`).
   */
  #nested(node: TaskNode, children: Record<string, TaskNode[]>, frame: Frame, inner: Frame): NestedRun {
    const list = (property: string) => children[property] ?? [];
    return {
      where: `task '${node.id}'`,
      render: (property) =>
        node.props[property] === undefined
          ? undefined
          : this.#render(node, property, node.props[property], frame),
      count: (property) => list(property).length,
      runTask: (property, index) => {
        const child = list(property)[index];
        return child ? this.runTask(child, inner) : Promise.resolve('SUCCESS');
      },
      runTasks: (property, iteration) => {
        if (!iteration) return this.runTasks(list(property), inner);
        const { value, index } = iteration;
        return this.runTasks(list(property), {
          // Kestra's parent (the enclosing iteration) and parents (every one, nearest first).
          ctx: {
            ...inner.ctx,
            taskrun: { value, iteration: index },
            parent: { taskrun: inner.ctx.taskrun },
            parents: inner.ctx.taskrun
              ? [{ taskrun: inner.ctx.taskrun }, ...((inner.ctx.parents as unknown[] | undefined) ?? [])]
              : [],
          },
          value,
          parentId: inner.parentId,
          iteration: index,
        });
      },
    };
  }

  /** Attempts until one succeeds or the retry policy gives up (then throws the last error). */
  async #attempts(node: TaskNode, run: TaskRun, log: Logger, t0: number, frame: Frame): Promise<State> {
    const retry = node.common.retry;
    const maxAttempts = retry ? (retry.maxAttempts ?? retry.maxAttempt ?? 1) : 1;
    const name = `task '${node.id}'.retry`;
    const maxDuration = retry?.maxDuration
      ? parseDuration(retry.maxDuration, `${name}.maxDuration`)
      : Infinity;
    for (;;) {
      run.attempts++;
      const now = wallNowIso();
      run.attemptHistories?.push([
        { state: 'CREATED', date: now },
        { state: 'RUNNING', date: now },
      ]);
      if (run.histories) transition(run.histories, 'RUNNING', now);
      await this.#checkpoint(run); // a crash from here on counts this attempt
      try {
        const outputs = await this.#attempt(node, run, frame);
        run.outputs = outputs;
        this.#setOutputs(node.id, outputs, frame);
        return run.attempts > 1 && retry?.warningOnRetry ? 'WARNING' : 'SUCCESS';
      } catch (err) {
        const retryable = retry && !(err instanceof InvalidInputError) && run.attempts < maxAttempts;
        if (!retryable || this.#o.signal?.aborted) throw err;
        const delay = retryDelay(retry, run.attempts, name);
        if (Date.now() - t0 + delay > maxDuration) throw err;
        endAttempt(run, 'FAILED');
        if (run.histories) transition(run.histories, 'RETRYING');
        log.warn(
          `attempt ${run.attempts} failed, retrying in ${Math.round(delay)} ms: ${(err as Error).message}`,
        );
        await sleep(delay, undefined, this.#o.signal ? { signal: this.#o.signal } : undefined);
      }
    }
  }

  async #attempt(node: TaskNode, run: TaskRun, outer: Frame): Promise<unknown> {
    const taskrun = { ...(outer.ctx.taskrun as object), attemptsCount: run.attempts - 1 };
    const frame: Frame = { ...outer, ctx: { ...outer.ctx, taskrun } };
    const rendered = Object.fromEntries(
      Object.entries(node.props).map(([k, v]) => [
        k,
        this.#render(node, k, v, frame, (path) => takesTextAt(node.def.props, [k, ...path])),
      ]),
    );
    const empty = emptyTokenError(
      node.props.apiToken,
      rendered.apiToken,
      this.#secrets,
      `${locate(this.#flow, `${node.path ?? `task '${node.id}'`}.apiToken`)}: task '${node.id}'`,
    );
    if (empty) throw empty;
    if (typeof rendered.apiToken === 'string') this.#masker.addCredential(rendered.apiToken);
    const props = parseProps(node.def, rendered, `task '${node.id}'`);
    const metrics: Metric[] = [];
    const timeout = node.common.timeout;
    const timeoutMs = timeout ? parseDuration(timeout, `task '${node.id}'.timeout`) : undefined;
    const signals = [this.#o.signal, timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    const ctx: TaskContext = {
      logger: this.#logger(node.id, node.common.logLevel, () => run),
      env: this.#env,
      signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
      client: this.#o.client,
      metric: (m) => metrics.push(m),
    };
    try {
      return await node.def.run(props, ctx);
    } catch (err) {
      if (ctx.signal?.aborted && timeoutMs && !this.#o.signal?.aborted) {
        throw new RunFailedError(`task '${node.id}' timed out after ${timeout}`, { cause: err });
      }
      throw err;
    } finally {
      if (metrics.length) run.metrics = metrics;
    }
  }
}

/** Runs a flow's tasks in order with Kestra's task semantics. Never throws: any failure makes a FAILED execution. */
export async function runFlow(flow: Flow, options: RunOptions = {}): Promise<Execution> {
  const { suspend, signal } = options;
  if (!suspend) return new FlowRun(flow, options).run();
  const stop = signal ? AbortSignal.any([signal, suspend]) : suspend;
  return new FlowRun(flow, {
    ...options,
    signal: stop,
    suspended: () => suspend.aborted && !signal?.aborted,
  }).run();
}

/** The execution as shown and stored: every secret the run rendered hidden in its values (not in keys). */
function maskExecution(ex: Execution, masker: Masker): Execution {
  const outputs = masker.maskValues(ex.outputs);
  // A task run's outputs are the execution's outputs of that task: walked once, not twice.
  const masked = new Map(Object.entries(ex.outputs).map(([k, v]) => [v, outputs[k]]));
  const mask = (v: unknown) => (masked.has(v) ? masked.get(v) : masker.maskValues(v));
  return {
    ...ex,
    inputs: masker.maskValues(ex.inputs),
    ...(ex.trigger ? { trigger: masker.maskValues(ex.trigger) } : {}),
    outputs,
    ...(ex.flowOutputs ? { flowOutputs: masker.maskValues(ex.flowOutputs) } : {}),
    taskRuns: ex.taskRuns.map((r) => ({
      ...r,
      ...(r.outputs !== undefined ? { outputs: mask(r.outputs) } : {}),
      ...(r.value !== undefined ? { value: masker.maskValues(r.value) } : {}),
    })),
  };
}
