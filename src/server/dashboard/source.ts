import { statSync } from 'node:fs';
import type { Masker } from '../../logger.js';
import type { Scheduler } from '../../flow/scheduler.js';
import type { ExecutionRecord } from '../../flow/state.js';
import type { FlowRegistry } from '../flows.js';
import type { DashboardSource, ScheduledTrigger } from './store.js';

export interface ServerSourceOptions {
  scheduler: Scheduler;
  flows: FlowRegistry;
  masker: Masker;
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
      const entries = o.scheduler.entries;
      return o.flows.all().map((flow) => ({
        flow,
        triggers: entries
          .filter((e) => e.flow.namespace === flow.namespace && e.flow.id === flow.id)
          .map((e): ScheduledTrigger => ({
            key: e.key,
            trigger: e.trigger,
            props: {
              field: e.props.field,
              threshold: e.props.threshold,
              comparator: e.props.comparator,
              aggregation: e.props.aggregation,
              interval: e.props.interval,
              window: e.props.window,
              fireOn: e.props.fireOn,
            },
            state: e.state,
            running: e.running !== undefined,
          })),
      }));
    },
    history,
    mask: (text) => o.masker.mask(text),
  };
}
