/** What the dashboard page receives: shared by the server side and the browser bundle (types only). */
import type { PurgeBudgetEvent } from '../../diagnostics-types.js';

import type { ExecutionView as KestraExecution } from '../../flow/view-types.js';

export interface InputView {
  id: string;
  type: string;
  required: boolean;
  description?: string | undefined;
  /** As written in the flow; absent for SECRET inputs. */
  defaults?: unknown;
  values?: string[] | undefined;
  itemType?: string | undefined;
}

export interface TriggerStateView {
  armed: boolean;
  fired: number;
  failures: number;
  lastValue?: number | null | undefined;
  lastEvaluation?: string | undefined;
  /** ISO time. */
  nextDue?: string | undefined;
  lastError?: string | undefined;
  stopped?: boolean | undefined;
  running: boolean;
}

export interface EvaluationPoint {
  /** Epoch ms. */
  time: number;
  value?: number | null | undefined;
  matched?: boolean | undefined;
  fired: boolean;
  executionId?: string | undefined;
  error?: string | undefined;
}

export interface TriggerView {
  key: string;
  id: string;
  type: string;
  field: string;
  threshold: number;
  comparator: string;
  aggregation: string;
  interval: string;
  window: string;
  fireOn: string;
  state: TriggerStateView;
  evaluations: EvaluationPoint[];
}

export interface FlowView {
  namespace: string;
  id: string;
  description?: string | undefined;
  inputs: InputView[];
  /** Every trigger of the flow by type, StatsTriggers in detail. */
  otherTriggers: {
    id: string;
    type: string;
    /** Schedule: its cron expression and, unless disabled, when it fires next (ISO time, UTC). */
    cron?: string | undefined;
    nextRun?: string | undefined;
    disabled?: boolean | undefined;
  }[];
  triggers: TriggerView[];
}

export interface LogLineView {
  time: string;
  level: string;
  task?: string | undefined;
  message: string;
}

/**
 * An execution as the page lists it: Kestra's `Execution`, as the API's `executions/search` answers
 * it (flow/view.ts: `state.current`, `state.startDate`, `trigger.variables`, the flow's `outputs`;
 * no task runs, GET the execution for them), with the log lines the page keeps.
 */
export type ExecutionView = KestraExecution & { logs: LogLineView[] };

/** One execution with its task runs and outputs, as `GET /api/v1/main/executions/{id}` answers. */
export type ExecutionDetail = KestraExecution;

/** The purge budget of one account of the server's process (see fastly/budget.ts); never the token. */
export type PurgeBudgetPanelView = PurgeBudgetEvent;

export interface DashboardState {
  flows: FlowView[];
  executions: ExecutionView[];
  /** The purge budgets the server's executions have spent from, once one has purged. */
  purgeBudgets: PurgeBudgetPanelView[];
  /** Server time (epoch ms), so that "next due in" does not depend on the viewer's clock. */
  now: number;
}
