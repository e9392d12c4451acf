import { type Execution, runFlow } from './executor.js';
import { resolveInputs } from './inputs.js';
import { type Flow, loadFlowFile } from './load.js';
import { createLogger } from '../logger.js';
import { type Level } from '../levels.js';
import { Masker } from '../masker.js';
import { StatsTrigger } from '../tasks/stats/StatsTrigger.js';
import { evaluateTrigger, resolveTriggerProps } from './trigger.js';

export interface FlowRunResult {
  execution?: Execution;
  /** The flow's labels (the execution's, in its JSON view). */
  labels?: Record<string, string>;
  /** Set when a trigger was evaluated and did not fire. */
  notFired?: { trigger: string; value: number | null; message: string };
}

export interface FlowRunOptions {
  inputs?: Record<string, string>;
  secretsFile?: string | undefined;
  logLevel?: Level;
  jsonLogs?: boolean;
  useTrigger?: boolean;
  masker?: Masker;
  /** Cancels the trigger's request and the running task (Ctrl-C). */
  signal?: AbortSignal;
}

/**
 * Runs a flow file once. A flow with a StatsTrigger has the trigger evaluated first: the flow runs
 * with `{{ trigger.* }}` when it fires, and not at all when it does not.
 */
export async function runFlowFile(file: string, opts: FlowRunOptions = {}): Promise<FlowRunResult> {
  const flow: Flow = loadFlowFile(file);
  const masker = opts.masker ?? new Masker();
  const log = createLogger({
    level: opts.logLevel ?? 'INFO',
    json: opts.jsonLogs,
    masker,
    fields: { flow: flow.id },
  });
  for (const w of flow.warnings) log.warn(w);
  const inputs = resolveInputs(flow.inputs, opts.inputs ?? {});
  let trigger: Record<string, unknown> | undefined;
  const polling =
    opts.useTrigger === false ? undefined : flow.triggers.find((t) => !t.disabled && t.def === StatsTrigger);
  if (polling) {
    const props = resolveTriggerProps(flow, polling, {
      env: process.env,
      masker,
      secretsFile: opts.secretsFile,
    });
    const result = await evaluateTrigger(
      props,
      { logger: log, env: process.env, signal: opts.signal },
      Date.now() / 1000,
    );
    log.info(
      `trigger ${polling.id}: ${props.field} ${props.aggregation} = ${result.value} (${props.comparator} ${props.threshold}: ${result.matched ? 'fires' : 'does not fire'})`,
    );
    if (!result.matched) {
      return {
        notFired: {
          trigger: polling.id,
          value: result.value,
          message: `trigger ${polling.id} did not fire; the flow was not executed`,
        },
      };
    }
    trigger = result.variables;
  }
  const execution = await runFlow(flow, {
    inputs,
    trigger,
    secretsFile: opts.secretsFile,
    masker,
    logLevel: opts.logLevel,
    jsonLogs: opts.jsonLogs,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return { execution, labels: flow.labels };
}
