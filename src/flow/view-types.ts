/**
 * The one execution shape, Kestra's API model (`Execution`, `TaskRun`, `State`), as types only:
 * `view.ts` makes it; the dashboard's page (`server/dashboard/model.ts`, shared with the browser
 * bundle) reads it. No imports, so that the browser bundle can type-check it.
 */

/** One transition of a state: Kestra's `State.History`. */
export interface StateHistory {
  state: string;
  date: string;
}

/** Kestra's `State`: the current one, how it got there (`histories`), its dates and duration. */
export interface StateView {
  current: string;
  histories: StateHistory[];
  startDate?: string;
  endDate?: string;
  /** ISO-8601, e.g. `PT1.250S`. */
  duration?: string;
}

/** Kestra's `TaskRunAttempt`. */
export interface AttemptView {
  state: StateView;
}

/** Kestra's `TaskRun`; inside a ForEach, `value` is the iteration's value (a map or list as JSON text). */
export interface TaskRunView {
  id: string;
  executionId: string;
  namespace: string;
  flowId: string;
  taskId: string;
  type: string;
  value?: string;
  attempts: AttemptView[];
  outputs?: unknown;
  error?: string;
  state: StateView;
}

/** Kestra's `Execution` (`state.current`, `taskRunList`, `trigger.variables`…). */
export interface ExecutionView {
  id: string;
  tenantId: 'main';
  namespace: string;
  flowId: string;
  flowRevision: number;
  labels: { key: string; value: string }[];
  inputs?: Record<string, unknown>;
  /** Kestra's execution outputs: the flow's `outputs`, rendered at its end (each task's are in its task run). */
  outputs?: Record<string, unknown>;
  trigger?: { id: string; type?: string; variables?: Record<string, unknown> };
  state: StateView;
  taskRunList?: TaskRunView[];
  deleted: false;
  /** Why it failed: the first failed task run's error (not Kestra's; its UI reads the logs). */
  error?: string;
}
