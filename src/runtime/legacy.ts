/**
 * A state folder from before the runtime's store (executions.jsonl, queue/*.json, triggers/*.json,
 * schedules/*.json), imported once into whichever store the server runs on (the embedded one or
 * PostgreSQL), in one transaction of that store; the log says so. The old history file is left as
 * it was (no longer read); the other old files are removed once imported.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { StateStore, type TriggerState } from '../flow/state.js';
import type { Logger } from '../logger.js';
import type { ExecutionStore, LegacyImport, Submission } from './store.js';

/**
 * Imports what `stateDir` holds from before the store into `store` (once: the history under the
 * mark `mark`, the other files because they are removed). `into` names the store in the log.
 */
export async function importStateDir(
  stateDir: string,
  store: ExecutionStore,
  logger: Logger,
  into: string,
  mark = 'import:executions.jsonl',
): Promise<void> {
  const plan: LegacyImport = { history: [], queued: [], states: [] };
  const history = join(stateDir, 'executions.jsonl');
  if (existsSync(history) && !(await store.mark(mark))) {
    const legacy = new StateStore(stateDir, (m) => logger.warn(m));
    for (const r of legacy.history()) {
      plan.history.push({
        submission: {
          id: r.id,
          namespace: r.namespace,
          flowId: r.flowId,
          inputs: {},
          ...(r.trigger ? { trigger: r.trigger } : {}),
          ...(r.triggerId ? { triggerId: r.triggerId } : {}),
          createdAt: r.startDate,
        },
        startDate: r.startDate,
        finished: {
          id: r.id,
          state: r.state,
          endDate: r.endDate,
          durationMs: r.durationMs,
          error: r.error,
          outputs: legacy.outputs(r) ?? {},
          taskRuns: [],
        },
      });
    }
    plan.mark = mark;
  }
  const queued = join(stateDir, 'queue');
  const queuedFiles = existsSync(queued) ? readdirSync(queued).sort() : [];
  for (const name of queuedFiles) {
    if (!name.endsWith('.json')) continue;
    const file = join(queued, name);
    try {
      plan.queued.push(JSON.parse(readFileSync(file, 'utf8')) as Submission);
    } catch {
      logger.warn(`queued execution ${file} is damaged; not imported`);
    }
  }
  const triggers = join(stateDir, 'triggers');
  const schedules = join(stateDir, 'schedules');
  const pending = readTriggerStates(stateDir, triggers, schedules, plan.states, logger);
  const fromQueue = plan.queued.length;
  plan.queued.push(...pending);
  if (!plan.mark && !plan.queued.length && !plan.states.length && !existsSync(queued)) {
    if (existsSync(triggers) || existsSync(schedules)) {
      rmSync(triggers, { recursive: true, force: true });
      rmSync(schedules, { recursive: true, force: true });
    }
    return;
  }
  const fresh = await store.importLegacy(plan);
  if (plan.mark)
    logger.info(
      `imported ${plan.history.length} execution(s) from ${history} into ${into} (once; the old file is no longer read)`,
    );
  if (existsSync(queued)) {
    rmSync(queued, { recursive: true, force: true });
    const n = Math.min(fresh, fromQueue);
    if (n) logger.info(`imported ${n} queued execution(s) from ${queued} into ${into}; they resume now`);
  }
  rmSync(triggers, { recursive: true, force: true });
  rmSync(schedules, { recursive: true, force: true });
  if (plan.states.length)
    logger.info(
      `imported the state of ${plan.states.length} trigger(s) from ${stateDir} into ${into} (once; the old files are removed)`,
    );
}

/**
 * Trigger states from before the store: `triggers/*.json` (StatsTrigger states; a firing not yet in
 * the history is returned, to be queued) and `schedules/*.json` (each schedule's last slot).
 */
function readTriggerStates(
  stateDir: string,
  triggers: string,
  schedules: string,
  states: TriggerState[],
  logger: Logger,
): Submission[] {
  const pending: Submission[] = [];
  if (existsSync(triggers)) {
    const legacy = new StateStore(stateDir, (m) => logger.warn(m));
    for (const name of readdirSync(triggers).sort()) {
      if (!name.endsWith('.json')) continue;
      let key: string;
      try {
        key = (JSON.parse(readFileSync(join(triggers, name), 'utf8')) as TriggerState).key;
        if (typeof key !== 'string') throw new Error('bad shape');
      } catch {
        logger.warn(
          `trigger state ${join(triggers, name)} is damaged; not imported (the trigger starts armed)`,
        );
        continue;
      }
      const { pending: firing, ...state } = legacy.load(key);
      if (firing) {
        const [triggerId = '', flowId = '', ...ns] = key.split('.').reverse();
        pending.push({
          id: firing.executionId,
          namespace: ns.reverse().join('.'),
          flowId,
          inputs: {},
          trigger: firing.trigger,
          triggerId,
          createdAt: firing.firedAt,
        });
        state.executionId = firing.executionId;
      }
      states.push(state);
    }
  }
  if (existsSync(schedules)) {
    for (const name of readdirSync(schedules).sort()) {
      if (!name.endsWith('.json')) continue;
      try {
        const s = JSON.parse(readFileSync(join(schedules, name), 'utf8')) as {
          key: string;
          lastSlot: number;
        };
        if (typeof s.key !== 'string' || !Number.isFinite(s.lastSlot)) throw new Error('bad shape');
        // Due just after the last slot handled: the slots since are recovered as the trigger says.
        states.push({ key: s.key, armed: true, fired: 0, failures: 0, nextDue: s.lastSlot + 1 });
      } catch {
        logger.warn(
          `schedule state ${join(schedules, name)} is damaged; not imported (the schedule starts now)`,
        );
      }
    }
  }
  return pending;
}
