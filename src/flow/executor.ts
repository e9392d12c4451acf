import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidInputError, KestraFastlyError } from '../errors.js';
import { type Metric, parseProps, type TaskContext } from '../tasks/task.js';
import { parseDuration } from './duration.js';
import { isTruthy, type RenderScope, renderValue } from './expressions.js';
import type { Flow, TaskNode } from './load.js';
import { createLogger, type Level, Masker } from '../logger.js';
import type { RetryDef } from './model.js';
import { executionEvents } from './events.js';
import { SecretStore } from './secrets.js';

export type State = 'SUCCESS' | 'WARNING' | 'FAILED' | 'SKIPPED';

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
}

export interface Execution {
  id: string;
  namespace: string;
  flowId: string;
  state: Exclude<State, 'SKIPPED'>;
  inputs: Record<string, unknown>;
  trigger?: Record<string, unknown>;
  outputs: Record<string, unknown>;
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
  client?: TaskContext['client'];
}

export const newId = () => randomBytes(16).toString('base64url').slice(0, 22);

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

/** Runs a flow's tasks in order with Kestra's task semantics; never throws for a task failure. */
export async function runFlow(flow: Flow, options: RunOptions = {}): Promise<Execution> {
  const env = options.env ?? process.env;
  const masker = options.masker ?? new Masker();
  const secrets = new SecretStore(env, masker, options.secretsFile);
  const started = new Date();
  const execution: Execution = {
    id: options.id ?? newId(),
    namespace: flow.namespace,
    flowId: flow.id,
    state: 'SUCCESS',
    inputs: options.inputs ?? {},
    ...(options.trigger ? { trigger: options.trigger } : {}),
    outputs: {},
    taskRuns: [],
    startDate: started.toISOString(),
    endDate: '',
  };
  executionEvents.publish({ phase: 'started', id: execution.id, namespace: flow.namespace, flowId: flow.id });
  const envs = Object.fromEntries(
    Object.entries(env)
      .filter(([k]) => k.startsWith('ENV_'))
      .map(([k, v]) => [k.slice(4).toLowerCase(), v]),
  );
  const context: Record<string, unknown> = {
    flow: { id: flow.id, namespace: flow.namespace },
    execution: { id: execution.id, startDate: execution.startDate },
    inputs: execution.inputs,
    outputs: execution.outputs,
    labels: flow.labels,
    envs,
    vars: {},
    ...(options.trigger ? { trigger: options.trigger } : {}),
  };
  const secret = (name: string) => secrets.get(name);
  const logFor = (taskId: string, level?: Level) =>
    createLogger({
      level: level ?? options.logLevel ?? 'INFO',
      json: options.jsonLogs,
      masker,
      write: options.write,
      fields: { flow: flow.id, execution: execution.id, task: taskId },
    });
  const flowLog = logFor('', options.logLevel);

  context.vars = renderValue(flow.variables, context, { where: 'variables', secret });

  /** Where a task runs: the render context, and inside a ForEach the iteration's value. */
  interface Frame {
    ctx: Record<string, unknown>;
    value?: string;
  }
  const root: Frame = { ctx: context };
  // Inside a ForEach, outputs are keyed by value: outputs.<task>[<value>], as in Kestra.
  const setOutputs = (taskId: string, outputs: unknown, frame: Frame) => {
    if (frame.value === undefined) execution.outputs[taskId] = outputs;
    else {
      const byValue = (execution.outputs[taskId] ??= {}) as Record<string, unknown>;
      byValue[frame.value] = outputs;
    }
  };

  const runOne = async (node: TaskNode, frame: Frame = root): Promise<State> => {
    const run: TaskRun = {
      id: newId(),
      taskId: node.id,
      type: node.type,
      state: 'SUCCESS',
      attempts: 0,
      startDate: new Date().toISOString(),
      endDate: '',
      durationMs: 0,
      ...(frame.value !== undefined ? { value: frame.value } : {}),
    };
    execution.taskRuns.push(run);
    const log = logFor(node.id, node.common.logLevel);
    const t0 = Date.now();
    const finish = (state: State, error?: string) => {
      run.state = state;
      run.endDate = new Date().toISOString();
      run.durationMs = Date.now() - t0;
      if (error) run.error = masker.mask(error);
      return state;
    };
    if (node.common.disabled) return finish('SKIPPED');
    const scope = (prop: string): RenderScope => ({ where: `task '${node.id}', property '${prop}'`, secret });
    try {
      if (
        node.common.runIf !== undefined &&
        !isTruthy(renderValue(node.common.runIf, frame.ctx, scope('runIf')))
      ) {
        log.debug('runIf is false: skipped');
        return finish('SKIPPED');
      }
      if (node.thenTasks) {
        const truthy = isTruthy(renderValue(node.props.condition, frame.ctx, scope('condition')));
        const branch = truthy ? node.thenTasks : node.elseTasks;
        const state = branch ? await runTasks(branch, frame) : 'SUCCESS';
        return finish(state === 'SKIPPED' ? 'SUCCESS' : state);
      }
      if (node.children) {
        const state = await runFlowable(node, node.children, frame, scope);
        return finish(state === 'SKIPPED' ? 'SUCCESS' : state);
      }
    } catch (err) {
      return failed(err);
    }

    async function attempt(): Promise<unknown> {
      const rendered = Object.fromEntries(
        Object.entries(node.props).map(([k, v]) => [k, renderValue(v, frame.ctx, scope(k))]),
      );
      if (typeof rendered.apiToken === 'string') masker.addCredential(rendered.apiToken);
      const props = parseProps(node.def, rendered, `task '${node.id}'`);
      const metrics: Metric[] = [];
      const timeoutMs = node.common.timeout
        ? parseDuration(node.common.timeout, `task '${node.id}'.timeout`)
        : undefined;
      const signals = [options.signal, timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined].filter(
        (s): s is AbortSignal => s !== undefined,
      );
      const ctx: TaskContext = {
        logger: log,
        env,
        signal: signals.length ? AbortSignal.any(signals) : undefined,
        client: options.client,
        metric: (m) => metrics.push(m),
      };
      try {
        return await node.def.run(props, ctx);
      } catch (err) {
        if (ctx.signal?.aborted && timeoutMs && !options.signal?.aborted) {
          throw new Error(`task '${node.id}' timed out after ${node.common.timeout}`);
        }
        throw err;
      } finally {
        if (metrics.length) run.metrics = metrics;
      }
    }

    function failed(err: unknown): State {
      const e = err as Error & { outputs?: unknown };
      if (e.outputs !== undefined) {
        run.outputs = e.outputs;
        setOutputs(node.id, e.outputs, frame);
      }
      const message =
        e instanceof KestraFastlyError ? e.message : `${e.name ?? 'Error'}: ${e.message ?? String(err)}`;
      run.errorKind = e instanceof InvalidInputError ? 'input' : 'runtime';
      if (node.common.allowFailure) {
        log.warn(`failed (allowFailure): ${message}`);
        return finish('WARNING', message);
      }
      log.error(message);
      return finish('FAILED', message);
    }

    const retry = node.common.retry;
    const maxAttempts = retry ? (retry.maxAttempts ?? retry.maxAttempt ?? 1) : 1;
    const maxDuration = retry?.maxDuration
      ? parseDuration(retry.maxDuration, `task '${node.id}'.retry.maxDuration`)
      : Infinity;
    for (;;) {
      run.attempts++;
      try {
        const outputs = await attempt();
        run.outputs = outputs;
        setOutputs(node.id, outputs, frame);
        return finish(run.attempts > 1 && retry?.warningOnRetry ? 'WARNING' : 'SUCCESS');
      } catch (err) {
        const retryable = retry && !(err instanceof InvalidInputError) && run.attempts < maxAttempts;
        const delay = retry ? retryDelay(retry, run.attempts, `task '${node.id}'.retry`) : 0;
        if (!retryable || Date.now() - t0 + delay > maxDuration) return failed(err);
        log.warn(
          `attempt ${run.attempts} failed, retrying in ${Math.round(delay)} ms: ${(err as Error).message}`,
        );
        await sleep(delay);
      }
    }
  };

  const runTasks = async (nodes: TaskNode[], frame: Frame = root): Promise<State> => {
    let state: State = 'SUCCESS';
    for (const node of nodes) {
      const s = await runOne(node, frame);
      if (s === 'FAILED') return 'FAILED';
      if (s === 'WARNING') state = 'WARNING';
    }
    return state;
  };

  /** The worst of several states: FAILED, then WARNING, else SUCCESS. */
  const worst = (states: State[]): State =>
    states.includes('FAILED') ? 'FAILED' : states.includes('WARNING') ? 'WARNING' : 'SUCCESS';

  /** Runs `jobs` at most `limit` at a time (0: all at once); every job runs, even after a failure. */
  const pool = async (jobs: (() => Promise<State>)[], limit: number): Promise<State> => {
    const states: State[] = [];
    let next = 0;
    const lane = async () => {
      while (next < jobs.length) states.push(await (jobs[next++] as () => Promise<State>)());
    };
    await Promise.all(Array.from({ length: limit > 0 ? Math.min(limit, jobs.length) : jobs.length }, lane));
    return worst(states);
  };

  /** ForEach, Parallel and Sequential: how their nested tasks run. */
  const runFlowable = async (
    node: TaskNode,
    children: TaskNode[],
    frame: Frame,
    scope: (prop: string) => RenderScope,
  ): Promise<State> => {
    const int = (prop: string, fallback: number) => {
      const v =
        node.props[prop] === undefined
          ? fallback
          : Number(renderValue(node.props[prop], frame.ctx, scope(prop)));
      if (!Number.isInteger(v) || v < 0)
        throw new InvalidInputError(
          `task '${node.id}'.${prop}: ${String(v)} is not allowed; expected a whole number ≥ 0`,
        );
      return v;
    };
    if (node.type === 'io.kestra.plugin.core.flow.Sequential') return runTasks(children, frame);
    if (node.type === 'io.kestra.plugin.core.flow.Parallel')
      return pool(
        children.map((child) => () => runOne(child, frame)),
        int('concurrent', 0),
      );
    let values = renderValue(node.props.values, frame.ctx, scope('values'));
    if (typeof values === 'string') {
      try {
        values = JSON.parse(values);
      } catch {
        // not JSON: reported below
      }
    }
    if (!Array.isArray(values))
      throw new InvalidInputError(
        `task '${node.id}'.values: ${JSON.stringify(values)?.slice(0, 80)} is not a list; expected a list or a JSON list`,
      );
    const limit = int('concurrencyLimit', 1);
    return pool(
      values.map((v, i) => () => {
        const value = typeof v === 'string' ? v : JSON.stringify(v);
        const taskrun = { value, iteration: i };
        return runTasks(children, {
          ctx: { ...frame.ctx, taskrun, parent: { taskrun: frame.ctx.taskrun } },
          value,
        });
      }),
      limit,
    );
  };

  const state = await runTasks(flow.tasks);
  if (state === 'FAILED' && flow.errors.length) await runTasks(flow.errors);
  if (flow.finally.length) await runTasks(flow.finally);
  execution.state = state === 'SKIPPED' ? 'SUCCESS' : state;
  execution.endDate = new Date().toISOString();
  executionEvents.publish({
    phase: 'ended',
    id: execution.id,
    namespace: flow.namespace,
    flowId: flow.id,
    state: execution.state,
    durationMs: Date.parse(execution.endDate) - started.getTime(),
  });
  flowLog.info(`execution ${execution.id} of ${flow.namespace}.${flow.id} ended ${execution.state}`);
  return maskExecution(execution, masker);
}

/** The execution as shown and stored: every secret the run rendered hidden in its values (not in keys). */
function maskExecution(ex: Execution, masker: Masker): Execution {
  return {
    ...ex,
    inputs: masker.maskValues(ex.inputs),
    ...(ex.trigger ? { trigger: masker.maskValues(ex.trigger) } : {}),
    outputs: masker.maskValues(ex.outputs),
    taskRuns: ex.taskRuns.map((r) => ({
      ...r,
      ...(r.outputs !== undefined ? { outputs: masker.maskValues(r.outputs) } : {}),
      ...(r.value !== undefined ? { value: masker.maskValues(r.value) } : {}),
    })),
  };
}
