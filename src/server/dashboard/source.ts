import type { Masker } from '../../masker.js';
import type { Scheduler } from '../../flow/scheduler.js';
import type { FlowRegistry } from '../../runtime/flows.js';
import type { ExecutionQueue } from '../../runtime/queue.js';
import type { DashboardSource, ScheduledTrigger, TriggerSummary } from './store.js';

export interface ServerSourceOptions {
  scheduler: Scheduler;
  flows: FlowRegistry;
  masker: Masker;
  /** When each Schedule trigger fires next (the server's `nextRuns`). */
  nextRuns?: () => Map<string, number | undefined>;
  queue: ExecutionQueue;
}

const EXECUTIONS_LISTED = 100;

/** The dashboard's view of the running server: its flows, the scheduler's triggers, the shared history. */
export function serverSource(o: ServerSourceOptions): DashboardSource {
  // The executions the page lists, from the runtime's store, as the API's executions/search.
  const executions = async () => (await o.queue.search({ page: 1, size: EXECUTIONS_LISTED })).results;
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
    executions,
    mask: (text) => o.masker.mask(text),
    nextRuns: () => o.nextRuns?.() ?? new Map(),
  };
}
