import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomic } from '../../files.js';
import { writeJson } from '../../pebble/java.js';
import {
  type ExecutionEvent,
  executionEvents,
  type LogEvent,
  logEvents,
  type PurgeBudgetEvent,
  purgeBudgetEvents,
  type TriggerEvaluationEvent,
  triggerEvaluations,
} from '../../diagnostics.js';
import type { Flow, TriggerNode } from '../../flow/load.js';
import type { TriggerState } from '../../flow/state.js';
import { executionView, type ExecutionView as KestraExecution } from '../../flow/view.js';
import type {
  DashboardState,
  EvaluationPoint,
  ExecutionView,
  FlowView,
  LogLineView,
  PurgeBudgetPanelView,
  TriggerView,
} from './model.js';

/** The trigger properties the page shows; never the token. */
export interface TriggerSummary {
  field: string;
  threshold: number;
  comparator: string;
  aggregation: string;
  interval: string;
  window: string;
  fireOn: string;
}

export interface ScheduledTrigger {
  key: string;
  trigger: TriggerNode;
  props: TriggerSummary;
  state: TriggerState;
  running: boolean;
}

/** What the dashboard reads from the server: flows, scheduled triggers and history. Run-now uses the executions API. */
export interface DashboardSource {
  flows(): { flow: Flow; triggers: ScheduledTrigger[] }[];
  /**
   * The newest executions, newest first, in the one shape: Kestra's `Execution` as the API's
   * `executions/search` answers it (flow/view.ts).
   */
  executions(): Promise<KestraExecution[]>;
  /** Hides every secret the server knows of. */
  mask(text: string): string;
  /** When each Schedule trigger fires next (epoch ms), by `namespace.flowId.triggerId`. */
  nextRuns?(): Map<string, number | undefined>;
}

export interface DashboardStoreOptions {
  /**
   * Where the trigger evaluations are kept (`evaluations.ndjson`), so that the charts and their
   * firing markers survive a restart. Without it they start empty at each start.
   */
  dir?: string | undefined;
}

const EVALUATIONS_KEPT = 720;
const LOG_LINES_KEPT = 200;
const EXECUTIONS_WITH_LOGS = 200;
const EXECUTIONS_LISTED = 100;
function push<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

/**
 * The dashboard's memory of what happened since the server started: trigger evaluations, executions
 * under way and their log lines (masked at the source), from the diagnostics channels.
 */
export class DashboardStore {
  readonly #source: DashboardSource;
  readonly #evaluations = new Map<string, EvaluationPoint[]>();
  readonly #live = new Map<string, ExecutionView>();
  readonly #logs = new Map<string, LogLineView[]>();
  readonly #budgets = new Map<string, PurgeBudgetPanelView>();
  readonly #listeners = new Set<() => void>();
  readonly #subscriptions: [string, (m: unknown) => void][] = [];
  #closed = false;
  readonly #file: string | undefined;
  /** Lines in the evaluations file: past twice what is kept, it is rewritten with what is kept. */
  #fileLines = 0;

  constructor(source: DashboardSource, options: DashboardStoreOptions = {}) {
    this.#source = source;
    if (options.dir) {
      this.#file = join(options.dir, 'evaluations.ndjson');
      this.#restore(this.#file);
    }
    this.#on(triggerEvaluations.name as string, (m) => this.#evaluation(m as TriggerEvaluationEvent));
    this.#on(executionEvents.name as string, (m) => this.#execution(m as ExecutionEvent));
    this.#on(logEvents.name as string, (m) => this.#log(m as LogEvent));
    // Kept, not pushed: a burst changes a budget thousands of times a second; the page gets it with
    // the next execution or trigger change (a purge is always part of one).
    this.#on(purgeBudgetEvents.name as string, (m) => {
      const e = m as PurgeBudgetEvent;
      this.#budgets.set(`${e.endpoint} ${e.account}`, { ...e });
    });
  }

  #on(name: string, handler: (m: unknown) => void): void {
    subscribe(name, handler);
    this.#subscriptions.push([name, handler]);
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }

  /** Called after every change; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #evaluation(e: TriggerEvaluationEvent): void {
    const point: EvaluationPoint = {
      time: e.time,
      value: e.value,
      matched: e.matched,
      fired: e.fired,
      executionId: e.executionId,
      error: e.error,
    };
    this.#remember(e.key, point);
    this.#persist(e.key, point);
    this.#changed();
  }

  #remember(key: string, point: EvaluationPoint): void {
    let list = this.#evaluations.get(key);
    if (!list) this.#evaluations.set(key, (list = []));
    push(list, point, EVALUATIONS_KEPT);
  }

  /** Reads the evaluations of earlier runs; a damaged line (a crash while appending) is skipped. */
  #restore(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return; // none yet
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      this.#fileLines++;
      try {
        const { key, ...point } = JSON.parse(line) as EvaluationPoint & { key: unknown };
        if (typeof key === 'string' && Number.isFinite(point.time) && typeof point.fired === 'boolean')
          this.#remember(key, point);
      } catch {
        // skipped
      }
    }
  }

  /** Appends the point; rewrites the file with only what is kept once it holds twice as much. */
  #persist(key: string, point: EvaluationPoint): void {
    const file = this.#file;
    if (!file || this.#closed) return;
    try {
      let kept = 0;
      for (const list of this.#evaluations.values()) kept += list.length;
      if (this.#fileLines + 1 > 2 * Math.max(kept, EVALUATIONS_KEPT)) {
        const lines: string[] = [];
        for (const [k, list] of this.#evaluations)
          for (const p of list) lines.push(JSON.stringify({ key: k, ...p }));
        writeAtomic(file, `${lines.join('\n')}\n`);
        this.#fileLines = lines.length;
        return;
      }
      if (this.#fileLines === 0) mkdirSync(join(file, '..'), { recursive: true });
      appendFileSync(file, `${JSON.stringify({ key, ...point })}\n`);
      this.#fileLines++;
    } catch {
      // The chart is a view: a full disk must not stop the server (the scheduler's state says so).
    }
  }

  #execution(e: ExecutionEvent): void {
    const now = new Date().toISOString();
    const { id, namespace, flowId } = e;
    if (e.phase === 'started') {
      this.#live.set(id, {
        ...executionView({ id, namespace, flowId, state: 'RUNNING', startDate: now }),
        logs: [],
      });
    } else {
      const ex = this.#live.get(id);
      if (ex)
        this.#live.set(id, {
          ...executionView({
            id,
            namespace,
            flowId,
            state: e.state ?? 'UNKNOWN',
            startDate: ex.state.startDate,
            endDate: now,
            durationMs: e.durationMs,
          }),
          logs: ex.logs,
        });
    }
    // The history file gets the finished execution a moment later; until then this entry stands in.
    if (this.#live.size > EXECUTIONS_LISTED) {
      for (const id of [...this.#live.keys()].slice(0, this.#live.size - EXECUTIONS_LISTED))
        this.#live.delete(id);
    }
    this.#changed();
  }

  #log(e: LogEvent): void {
    const id = e.fields.execution;
    if (!id) return;
    let lines = this.#logs.get(id);
    if (!lines) {
      this.#logs.set(id, (lines = []));
      if (this.#logs.size > EXECUTIONS_WITH_LOGS) this.#logs.delete(this.#logs.keys().next().value as string);
    }
    push(
      lines,
      { time: e.time, level: e.level, task: e.fields.task || undefined, message: e.message },
      LOG_LINES_KEPT,
    );
    this.#changed();
  }

  #trigger(t: ScheduledTrigger): TriggerView {
    const s = t.state;
    const evaluations = this.#evaluations.get(t.key) ?? [];
    // Before the first evaluation of this process, the persisted last value is the only point known.
    const seeded =
      evaluations.length === 0 && s.lastEvaluation && s.lastValue !== undefined
        ? [{ time: Date.parse(s.lastEvaluation), value: s.lastValue, matched: s.lastMatched, fired: false }]
        : evaluations;
    return {
      key: t.key,
      id: t.trigger.id,
      type: t.trigger.type,
      ...t.props,
      state: {
        armed: s.armed,
        fired: s.fired,
        failures: s.failures,
        lastValue: s.lastValue,
        lastEvaluation: s.lastEvaluation,
        nextDue: s.nextDue !== undefined ? new Date(s.nextDue).toISOString() : undefined,
        lastError: s.lastError,
        stopped: s.stopped,
        running: t.running,
      },
      evaluations: seeded,
    };
  }

  /** Everything the page shows, as one document; the caller masks it. */
  async state(): Promise<DashboardState> {
    const nextRuns = this.#source.nextRuns?.();
    const flows: FlowView[] = this.#source.flows().map(({ flow, triggers }) => {
      const scheduled = new Set(triggers.map((t) => t.trigger.id));
      return {
        namespace: flow.namespace,
        id: flow.id,
        description: flow.description,
        inputs: flow.inputs.map((i) => ({
          id: i.id,
          type: i.type,
          required: i.required,
          description: i.description,
          defaults: i.type === 'SECRET' ? undefined : i.defaults,
          values: i.values,
          itemType: i.itemType,
        })),
        otherTriggers: flow.triggers
          .filter((t) => !scheduled.has(t.id))
          .map((t) => {
            const next = nextRuns?.get(`${flow.namespace}.${flow.id}.${t.id}`);
            return {
              id: t.id,
              type: t.type,
              ...(typeof t.props.cron === 'string' ? { cron: t.props.cron } : {}),
              ...(t.disabled || flow.disabled ? { disabled: true } : {}),
              ...(next !== undefined ? { nextRun: new Date(next).toISOString() } : {}),
            };
          }),
        triggers: triggers.map((t) => this.#trigger(t)),
      };
    });
    const byId = new Map<string, ExecutionView>();
    // Each as executions/search answers it (no outputs nor task runs: the page GETs the execution).
    for (const view of (await this.#source.executions()).slice(0, EXECUTIONS_LISTED))
      byId.set(view.id, { ...view, logs: this.#logs.get(view.id) ?? [] });
    for (const ex of this.#live.values()) {
      if (!byId.has(ex.id)) byId.set(ex.id, { ...ex, logs: this.#logs.get(ex.id) ?? [] });
    }
    const executions = [...byId.values()]
      .sort((a, b) => (b.state.startDate ?? '').localeCompare(a.state.startDate ?? ''))
      .slice(0, EXECUTIONS_LISTED);
    return { flows, executions, purgeBudgets: [...this.#budgets.values()], now: Date.now() };
  }

  /** The state as JSON with every secret hidden: what leaves the server. */
  async json(): Promise<string> {
    return this.#source.mask(writeJson(await this.state()));
  }

  mask(text: string): string {
    return this.#source.mask(text);
  }

  /** True once the server is stopping: live streams end so that the listener can close. */
  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    this.#closed = true;
    for (const [name, handler] of this.#subscriptions.splice(0)) unsubscribe(name, handler);
    this.#changed();
    this.#listeners.clear();
  }
}
