import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError } from '../errors.js';
import { resolveInputs } from '../flow/inputs.js';
import type { Flow, TriggerNode } from '../flow/load.js';
import { writeAtomic } from '../files.js';
import {
  nextSlot,
  notTooLate,
  recoverable,
  Schedule,
  type ScheduleProps,
  slotAtOrBefore,
  slotsBetween,
  slotVariables,
} from '../tasks/core/Schedule.js';
import type { Logger } from '../logger.js';
import { parseProps } from '../tasks/task.js';
import type { FlowRegistry } from './flows.js';
import type { ExecutionQueue } from './queue.js';
import { type RenderEnv, renderForTrigger } from './render.js';

export interface ScheduleState {
  key: string;
  /** Epoch ms of the newest slot handled (fired, or skipped by the recovery policy). */
  lastSlot: number;
}

export interface ScheduleOptions {
  flows: FlowRegistry;
  queue: ExecutionQueue;
  stateDir: string;
  logger: Logger;
  render: RenderEnv;
  /** Clock (epoch ms); replace in tests. */
  now?: () => number;
}

/** Executions of one slot share an id: a slot fired twice (crash between queue and state) runs once. */
export const slotExecutionId = (key: string, slotMs: number) =>
  createHash('sha256').update(`${key}@${slotMs}`).digest('base64url').slice(0, 22);

/**
 * Fires the flows' Schedule triggers. At a trigger's first evaluation in this process, the slots
 * since the last one handled (a restart's gap) are run as `recoverMissedSchedules` says; afterwards
 * every slot that comes due runs once. A brand-new trigger starts from now (no backfill).
 */
export class ScheduleRunner {
  readonly #o: ScheduleOptions;
  readonly #now: () => number;
  readonly #dir: string;
  readonly #seen = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: ScheduleOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#dir = join(options.stateDir, 'schedules');
    mkdirSync(this.#dir, { recursive: true });
  }

  #file(key: string): string {
    return join(this.#dir, `${key.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
  }

  load(key: string): ScheduleState | undefined {
    try {
      const s = JSON.parse(readFileSync(this.#file(key), 'utf8')) as ScheduleState;
      return s.key === key && Number.isFinite(s.lastSlot) ? s : undefined;
    } catch {
      return undefined;
    }
  }

  #save(state: ScheduleState): void {
    writeAtomic(this.#file(state.key), `${JSON.stringify(state)}\n`);
  }

  /** Schedule triggers of the loaded flows with their validated properties. */
  triggers(): { flow: Flow; trigger: TriggerNode; props: ScheduleProps; key: string }[] {
    const out = [];
    for (const flow of this.#o.flows.all()) {
      if (flow.disabled) continue;
      for (const trigger of flow.triggers) {
        if (trigger.type !== Schedule.type || trigger.disabled) continue;
        try {
          const props = parseProps(Schedule, trigger.props, `trigger '${trigger.id}'`);
          out.push({ flow, trigger, props, key: `${flow.namespace}.${flow.id}.${trigger.id}` });
        } catch (err) {
          this.#o.logger.error(`${flow.file}: ${(err as Error).message}`);
        }
      }
    }
    return out;
  }

  /** When each Schedule trigger fires next (epoch ms), by `namespace.flowId.triggerId`. */
  nextRuns(nowMs = this.#now()): Map<string, number | undefined> {
    return new Map(this.triggers().map(({ key, props }) => [key, nextSlot(props, nowMs)]));
  }

  /** Fires every slot due at `nowMs`; returns the ids of the executions started. */
  async tick(nowMs = this.#now()): Promise<string[]> {
    const started: string[] = [];
    for (const { flow, trigger, props, key } of this.triggers()) {
      const state = this.load(key);
      const recovering = !this.#seen.has(key);
      this.#seen.add(key);
      if (!state) {
        // A new schedule starts now: the current slot has passed, the next one fires.
        this.#save({ key, lastSlot: slotAtOrBefore(props, nowMs) ?? nowMs });
        continue;
      }
      const due = slotsBetween(props, state.lastSlot, nowMs);
      if (!due.length) continue;
      const run = notTooLate(props, recovering ? recoverable(props.recoverMissedSchedules, due) : due, nowMs);
      if (recovering && due.length > 1)
        this.#o.logger.info(
          `schedule ${key}: ${due.length} slot(s) missed while stopped; running ${run.length} (recoverMissedSchedules: ${props.recoverMissedSchedules}${props.lateMaximumDelay ? `, lateMaximumDelay: ${props.lateMaximumDelay}` : ''})`,
        );
      for (const slot of run) {
        const id = await this.#fire(flow, trigger, props, key, slot);
        if (id) started.push(id);
        this.#save({ key, lastSlot: slot });
      }
      this.#save({ key, lastSlot: due[due.length - 1] as number });
    }
    return started;
  }

  async #fire(
    flow: Flow,
    trigger: TriggerNode,
    props: ScheduleProps,
    key: string,
    slot: number,
  ): Promise<string | undefined> {
    const variables = slotVariables(props, slot);
    try {
      const given = props.inputs
        ? (renderForTrigger(flow, trigger, props.inputs, 'inputs', this.#o.render, {
            trigger: variables,
          }) as Record<string, unknown>)
        : {};
      const started = await this.#o.queue.submit(flow, {
        id: slotExecutionId(key, slot),
        inputs: resolveInputs(flow.inputs, given, 'schedule'),
        trigger: variables,
        triggerId: trigger.id,
        triggerType: Schedule.type,
        createdAt: new Date(slot).toISOString(),
      });
      if (!started.created) return undefined;
      this.#o.logger.info(
        `schedule ${key}: slot ${String(variables.date)} started execution ${started.submission.id}`,
      );
      return started.submission.id;
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      this.#o.logger.error(`schedule ${key}: slot ${String(variables.date)} not run: ${err.message}`);
      return undefined;
    }
  }

  /** Ticks at each slot (and at least every second, to see flows that changed) until stop(). */
  start(): void {
    const loop = async () => {
      if (this.#stopped) return;
      this.#o.flows.refresh();
      try {
        await this.tick();
      } catch (err) {
        this.#o.logger.error(`schedule round failed: ${(err as Error).message}`);
      }
      if (this.#stopped) return;
      const now = this.#now();
      const next = Math.min(
        now + 1000,
        ...this.triggers().map(({ props }) => slotsBetween(props, now, now + 1000, 1)[0] ?? now + 1000),
      );
      this.#timer = setTimeout(() => void loop(), Math.max(5, next - this.#now() + 5));
    };
    void loop();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
