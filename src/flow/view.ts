import type { Execution, TaskRun } from './executor.js';
import type { AttemptView, ExecutionView, StateHistory, StateView, TaskRunView } from './view-types.js';

/**
 * One execution, one shape: Kestra's API model (`Execution`, `TaskRun`, `State`), as the HTTP API,
 * `run --json`, `executions --json` and the history show it.
 */

export type { AttemptView, ExecutionView, StateHistory, StateView, TaskRunView } from './view-types.js';

/** `PT1.250S`: a duration as Kestra's JSON writes it. */
export const isoDuration = (ms: number): string => `PT${(Math.max(0, ms) / 1000).toFixed(3)}S`;

const ENDED = new Set(['SUCCESS', 'WARNING', 'FAILED', 'KILLED', 'SKIPPED']);

type Dates = { createdAt?: string | undefined; startDate?: string | undefined; endDate?: string | undefined };

/** The history of a state stored before transitions were kept: CREATED (queued), RUNNING, its end. */
function madeHistories(current: string, dates: Dates, ended: boolean): StateHistory[] {
  const histories: StateHistory[] = [];
  const created = dates.createdAt ?? dates.startDate;
  if (created) histories.push({ state: 'CREATED', date: created });
  if (dates.startDate && (current !== 'CREATED' || ended))
    histories.push({ state: 'RUNNING', date: dates.startDate });
  if (ended) histories.push({ state: current, date: dates.endDate as string });
  return histories;
}

/** A state: its transitions as stored (`stored`), else made from its dates. */
function stateView(
  current: string,
  dates: Dates,
  durationMs?: number,
  stored?: readonly StateHistory[],
): StateView {
  const ended = ENDED.has(current) && !!dates.endDate;
  if (stored?.length) {
    // Kestra's State: starts at its first transition and ends at its last, so a restarted or resumed
    // run's duration spans every attempt (State.getStartDate, getEndDate, getDuration).
    const first = stored[0] as StateHistory;
    const last = stored.at(-1) as StateHistory;
    return {
      current,
      histories: stored.map((h) => ({ ...h })),
      startDate: first.date,
      ...(ended
        ? { endDate: last.date, duration: isoDuration(Date.parse(last.date) - Date.parse(first.date)) }
        : {}),
    };
  }
  const histories = madeHistories(current, dates, ended);
  const start = dates.startDate ?? dates.createdAt;
  return {
    current,
    histories,
    ...(start ? { startDate: start } : {}),
    ...(ended
      ? {
          endDate: dates.endDate,
          duration: isoDuration(durationMs ?? Date.parse(dates.endDate as string) - Date.parse(start ?? '')),
        }
      : {}),
  };
}

/** Kestra's `TaskRunAttempt` from its transitions: started at the first, ended at the last. */
function attemptView(histories: readonly StateHistory[]): AttemptView {
  const first = histories[0] as StateHistory;
  const last = histories.at(-1) as StateHistory;
  const ended = ENDED.has(last.state);
  return {
    state: {
      current: last.state,
      histories: histories.map((h) => ({ ...h })),
      startDate: first.date,
      ...(ended
        ? { endDate: last.date, duration: isoDuration(Date.parse(last.date) - Date.parse(first.date)) }
        : {}),
    },
  };
}

/**
 * A task run as Kestra shows it, with its transitions and its attempts' as stored. One stored before
 * they were kept: its history made from its dates; its last attempt carries the run's state and
 * dates, earlier ones (retries) ended FAILED, their dates not kept.
 */
export function taskRunView(
  r: TaskRun,
  of: { executionId: string; namespace: string; flowId: string },
): TaskRunView {
  const running = r.endDate === '';
  const state = stateView(
    running ? (r.histories?.at(-1)?.state ?? 'RUNNING') : r.state,
    { startDate: r.startDate, endDate: r.endDate || undefined },
    running ? undefined : r.durationMs,
    r.histories,
  );
  const attempts: AttemptView[] = [];
  if (r.attemptHistories) attempts.push(...r.attemptHistories.filter((h) => h.length).map(attemptView));
  else {
    for (let i = 1; i < r.attempts; i++) attempts.push({ state: { current: 'FAILED', histories: [] } });
    if (r.attempts > 0 || running) attempts.push({ state });
  }
  return {
    id: r.id,
    executionId: of.executionId,
    namespace: of.namespace,
    flowId: of.flowId,
    taskId: r.taskId,
    type: r.type,
    ...(r.value !== undefined ? { value: r.value } : {}),
    attempts,
    ...(r.outputs !== undefined ? { outputs: r.outputs } : {}),
    ...(r.error ? { error: r.error } : {}),
    state,
  };
}

/** What an execution view is made of: an execution as run (`run`), or as stored (the server). */
export interface ExecutionParts {
  id: string;
  namespace: string;
  flowId: string;
  flowRevision?: number | undefined;
  /** As stored (Kestra's list), or a flow's map. */
  labels?: readonly { key: string; value: string }[] | Record<string, string> | undefined;
  /** CREATED (queued), RUNNING, or how it ended. */
  state: string;
  inputs?: Record<string, unknown> | undefined;
  /** The flow's outputs (not each task's: those are in `taskRuns`). */
  outputs?: Record<string, unknown> | undefined;
  trigger?: Record<string, unknown> | undefined;
  triggerId?: string | undefined;
  triggerType?: string | undefined;
  createdAt?: string | undefined;
  startDate?: string | undefined;
  endDate?: string | undefined;
  durationMs?: number | undefined;
  error?: string | undefined;
  taskRuns?: readonly TaskRun[] | undefined;
  /** Its transitions as stored; undefined: made from its dates. */
  histories?: readonly StateHistory[] | undefined;
}

export function executionView(e: ExecutionParts): ExecutionView {
  const ids = { executionId: e.id, namespace: e.namespace, flowId: e.flowId };
  return {
    id: e.id,
    tenantId: 'main',
    namespace: e.namespace,
    flowId: e.flowId,
    flowRevision: e.flowRevision ?? 1,
    labels: Array.isArray(e.labels)
      ? [...(e.labels as { key: string; value: string }[])]
      : Object.entries(e.labels ?? {}).map(([key, value]) => ({ key, value: String(value) })),
    ...(e.inputs ? { inputs: e.inputs } : {}),
    ...(e.outputs ? { outputs: e.outputs } : {}),
    ...(e.triggerId || e.trigger
      ? {
          trigger: {
            id: e.triggerId ?? '',
            ...(e.triggerType ? { type: e.triggerType } : {}),
            ...(e.trigger ? { variables: e.trigger } : {}),
          },
        }
      : {}),
    state: stateView(
      e.state,
      { createdAt: e.createdAt, startDate: e.startDate, endDate: e.endDate || undefined },
      e.durationMs,
      e.histories,
    ),
    ...(e.taskRuns ? { taskRunList: e.taskRuns.map((r) => taskRunView(r, ids)) } : {}),
    deleted: false,
    ...(e.error ? { error: e.error } : {}),
  };
}

/** An execution as `run` ran it, in the one shape. */
export const viewOfRun = (ex: Execution, labels?: Record<string, string>): ExecutionView =>
  executionView({
    ...ex,
    outputs: ex.flowOutputs,
    labels,
    trigger: ex.trigger,
    error: ex.taskRuns.find((r) => r.error)?.error,
    taskRuns: ex.taskRuns,
  });
