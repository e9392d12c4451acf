import type { Masker } from '../../masker.js';
import type { Scheduler } from '../../flow/scheduler.js';
import type { ExecutionRecord } from '../../flow/state.js';
import type { FlowRegistry } from '../../runtime/flows.js';
import type { ExecutionStore } from '../../runtime/store.js';
import type { DashboardSource, ScheduledTrigger, TriggerSummary } from './store.js';

export interface ServerSourceOptions {
  scheduler: Scheduler;
  flows: FlowRegistry;
  masker: Masker;
  /** When each Schedule trigger fires next (the server's `nextRuns`). */
  nextRuns?: () => Map<string, number | undefined>;
  store: ExecutionStore;
}

const HISTORY_LISTED = 100;

/** The dashboard's view of the running server: its flows, the scheduler's triggers, the shared history. */
export function serverSource(o: ServerSourceOptions): DashboardSource {
  // The executions the page lists (the newest EXECUTIONS_LISTED), from the runtime's store.
  const history = (): Promise<ExecutionRecord[]> => o.store.history(HISTORY_LISTED);
  return {
    flows() {
      o.flows.refresh();
      const triggers = o.scheduler.triggers().filter((t) => t.observed);
      return o.flows.all().map((flow) => ({
        flow,
        triggers: triggers
          .filter((t) => t.namespace === flow.namespace && t.flowId === flow.id)
          .map((t): ScheduledTrigger => ({
            key: t.key,
            trigger: t.node,
            props: t.settings as unknown as TriggerSummary,
            state: t,
            running: t.running,
          })),
      }));
    },
    history,
    mask: (text) => o.masker.mask(text),
    nextRuns: () => o.nextRuns?.() ?? new Map(),
  };
}
