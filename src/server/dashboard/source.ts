import { statSync } from 'node:fs';
import { newId, runFlow } from '../../flow/executor.js';
import { resolveInputs } from '../../flow/inputs.js';
import { type Flow, loadFlowFile } from '../../flow/load.js';
import type { Masker } from '../../flow/logger.js';
import { flowFiles, type Scheduler } from '../../flow/scheduler.js';
import type { TaskContext } from '../../tasks/task.js';
import { type DashboardSource, type ScheduledTrigger, UnknownFlowError } from './store.js';

export interface SchedulerSourceOptions {
  paths: string[];
  masker: Masker;
  env?: NodeJS.ProcessEnv | undefined;
  secretsFile?: string | undefined;
  client?: TaskContext['client'];
  /** Where the executions' log lines go (default stderr), as for the scheduler's. */
  write?: ((line: string) => void) | undefined;
  jsonLogs?: boolean | undefined;
  /** Told when a run-now execution could not be recorded. */
  onError?: (message: string) => void;
}

/** The dashboard's view of a running Scheduler: every flow file under its paths, its triggers' state, its history. */
export function schedulerSource(scheduler: Scheduler, o: SchedulerSourceOptions): DashboardSource {
  const cache = new Map<string, { mtime: number; flow: Flow | undefined }>();
  const loadFlows = (): Flow[] => {
    const flows: Flow[] = [];
    for (const file of flowFiles(o.paths)) {
      let mtime: number;
      try {
        mtime = statSync(file).mtimeMs;
      } catch {
        continue;
      }
      let hit = cache.get(file);
      if (!hit || hit.mtime !== mtime) {
        let flow: Flow | undefined;
        try {
          flow = loadFlowFile(file);
        } catch {
          // An invalid edit: the scheduler reports it and keeps the previous version; so does the page.
          flow = hit?.flow;
        }
        cache.set(file, (hit = { mtime, flow }));
      }
      if (hit.flow) flows.push(hit.flow);
    }
    return flows;
  };
  return {
    flows() {
      const entries = scheduler.entries;
      return loadFlows().map((flow) => ({
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
    history: () => scheduler.store.history(),
    async run(namespace, flowId, raw) {
      const flow = loadFlows().find((f) => f.namespace === namespace && f.id === flowId);
      if (!flow) throw new UnknownFlowError(`flow ${namespace}.${flowId}: no such flow on this server`);
      const inputs = resolveInputs(flow.inputs, raw);
      const id = newId();
      runFlow(flow, {
        id,
        inputs,
        env: o.env,
        secretsFile: o.secretsFile,
        masker: o.masker,
        client: o.client,
        write: o.write,
        jsonLogs: o.jsonLogs,
      })
        .then((ex) => scheduler.store.record(ex))
        .catch((err: unknown) =>
          o.onError?.(`run-now execution ${id} of ${namespace}.${flowId} failed: ${String(err)}`),
        );
      return id;
    },
    mask: (text) => o.masker.mask(text),
  };
}
