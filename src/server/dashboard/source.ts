import { statSync } from 'node:fs';
import type { Masker } from '../../masker.js';
import type { Scheduler } from '../../flow/scheduler.js';
import type { ExecutionRecord } from '../../flow/state.js';
import type { FlowRegistry } from '../../runtime/flows.js';
import type { ScheduleRunner } from '../../runtime/schedule.js';
import type { DashboardSource, ScheduledTrigger, TriggerSummary } from './store.js';

export interface ServerSourceOptions {
  scheduler: Scheduler;
  flows: FlowRegistry;
  masker: Masker;
  /** The Schedule triggers, for their next run. */
  schedules?: ScheduleRunner;
}

/** The dashboard's view of the running server: its flows, the scheduler's triggers, the shared history. */
export function serverSource(o: ServerSourceOptions): DashboardSource {
  // The history file is read again only when it has grown (the page asks up to four times a second).
  let cached: { size: number; records: ExecutionRecord[] } | undefined;
  const history = (): ExecutionRecord[] => {
    let size = -1;
    try {
      size = statSync(o.scheduler.store.historyFile).size;
    } catch {
      // no history yet
    }
    if (!cached || cached.size !== size) cached = { size, records: o.scheduler.store.history() };
    return cached.records;
  };
  return {
    flows() {
      o.flows.refresh();
      const triggers = o.scheduler.triggers();
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
    nextRuns: () => o.schedules?.nextRuns() ?? new Map(),
  };
}
