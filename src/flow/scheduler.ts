import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidInputError } from '../errors.js';
import { isLoopbackHost, resolveEndpoint } from '../fastly/client.js';
import { decide, seconds, StatsTrigger, type StatsTriggerProps } from '../tasks/stats/StatsTrigger.js';
import type { TaskContext } from '../tasks/task.js';
import { type TriggerEvaluationEvent, triggerEvaluations } from './events.js';
import { newId, runFlow } from './executor.js';
import { type Flow, loadFlowFile, type TriggerNode } from './load.js';
import { type Logger, Masker } from '../logger.js';
import { StateStore, type TriggerState } from './state.js';
import { evaluateTrigger, PollCache, resolveTriggerProps } from './trigger.js';

export interface SchedulerOptions {
  /** Flow files or folders of them. */
  paths: string[];
  stateDir: string;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  secretsFile?: string | undefined;
  masker?: Masker;
  /** Clock (epoch ms); replace in tests. */
  now?: () => number;
  /** Transport settings for every evaluation and task. */
  client?: TaskContext['client'];
  /** Lines of the flows' own logs. */
  write?: (line: string) => void;
  jsonLogs?: boolean;
}

interface Entry {
  file: string;
  flow: Flow;
  trigger: TriggerNode;
  props: StatsTriggerProps;
  key: string;
  state: TriggerState;
  jitterMs: number;
  running?: Promise<void>;
  /** An evaluation in flight: a slow poll delays only its own trigger. */
  evaluating?: boolean;
}

const MIN_INTERVAL_S = 30;

/** Lists the flow files named by `paths` (folders are read one level deep). */
export function flowFiles(paths: string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      throw new InvalidInputError(`${p}: no such flow file or folder`, p);
    }
    if (!isDir) files.push(p);
    else for (const f of readdirSync(p).sort()) if (/\.ya?ml$/.test(f)) files.push(join(p, f));
  }
  return files;
}

/**
 * Evaluates every StatsTrigger of the loaded flows at its interval and runs the flow when it fires,
 * with Kestra's semantics (no evaluation while the previous execution runs) plus CROSSING firing,
 * shared polls, persistent state and crash recovery.
 */
export class Scheduler {
  readonly store: StateStore;
  readonly pollCache = new PollCache();
  readonly #o: SchedulerOptions;
  readonly #masker: Masker;
  readonly #now: () => number;
  #entries = new Map<string, Entry>();
  #mtimes = new Map<string, number>();
  #stopping = false;
  #loop: Promise<void> | undefined;

  constructor(options: SchedulerOptions) {
    this.#o = options;
    this.#masker = options.masker ?? new Masker();
    this.#now = options.now ?? Date.now;
    this.store = new StateStore(options.stateDir, (m) => options.logger.warn(m));
    this.store.repairHistory();
  }

  get entries(): Entry[] {
    return [...this.#entries.values()];
  }

  /** (Re)loads flow files that changed. At start-up an invalid flow is fatal; later it is logged and the old version kept. */
  load(initial = false): void {
    const files = flowFiles(this.#o.paths);
    const problems: string[] = [];
    for (const file of files) {
      let mtime: number;
      try {
        mtime = statSync(file).mtimeMs;
      } catch {
        continue;
      }
      if (this.#mtimes.get(file) === mtime) continue;
      this.#mtimes.set(file, mtime);
      try {
        this.#install(file, loadFlowFile(file));
        if (!initial) this.#o.logger.info(`reloaded ${file}`);
      } catch (err) {
        if (!(err instanceof InvalidInputError)) throw err;
        if (initial) problems.push(err.message);
        else
          this.#o.logger.error(
            `${file} changed but is invalid; keeping the previous version: ${err.message}`,
          );
      }
    }
    for (const [key, e] of this.#entries) if (!files.includes(e.file)) this.#entries.delete(key);
    if (problems.length) throw new InvalidInputError(problems.join('\n'));
  }

  #install(file: string, flow: Flow): void {
    for (const [key, e] of this.#entries) if (e.file === file) this.#entries.delete(key);
    const env = this.#o.env ?? process.env;
    for (const trigger of flow.triggers) {
      // Schedule and Webhook triggers are fired by the server (src/server/).
      if (trigger.disabled || flow.disabled || trigger.type !== StatsTrigger.type) continue;
      const props = resolveTriggerProps(flow, trigger, {
        env,
        masker: this.#masker,
        secretsFile: this.#o.secretsFile,
      });
      const endpoint = resolveEndpoint(props.baseUrl, env);
      if (seconds(props.interval) < MIN_INTERVAL_S && !isLoopbackHost(new URL(endpoint).hostname)) {
        throw new InvalidInputError(
          `${file}: trigger '${trigger.id}': interval ${props.interval} is below PT30S; allowed only against a loopback endpoint`,
        );
      }
      const key = `${flow.namespace}.${flow.id}.${trigger.id}`;
      const state = this.store.load(key);
      // Same poll, same jitter: identical polls stay due together and share one call.
      const pollId = JSON.stringify([props.serviceId, props.field, props.window, props.by, props.delay]);
      const jitterMs =
        (createHash('sha1').update(pollId).digest().readUInt16BE(0) % 1000) *
        Math.min(1, seconds(props.interval) / 60);
      this.#entries.set(key, { file, flow, trigger, props, key, state, jitterMs });
    }
  }

  /** Replays firings whose execution a crash interrupted, unless the history already has them. */
  recover(): Promise<void>[] {
    const done = new Set(this.store.history().map((r) => r.id));
    const replays: Promise<void>[] = [];
    for (const e of this.#entries.values()) {
      const pending = e.state.pending;
      if (!pending) continue;
      if (done.has(pending.executionId)) {
        e.state.pending = undefined;
        this.store.save(e.state);
      } else {
        this.#o.logger.info(
          `trigger ${e.key}: resuming execution ${pending.executionId} interrupted by a restart`,
        );
        e.running = this.#execute(e, pending.executionId, pending.trigger);
        replays.push(e.running);
      }
    }
    return replays;
  }

  /** Evaluates every trigger that is due at `nowMs`; returns how many were evaluated. */
  async tick(nowMs = this.#now()): Promise<number> {
    const due = this.entries.filter((e) => !e.state.stopped && !e.running && (e.state.nextDue ?? 0) <= nowMs);
    const skipped = this.entries.filter((e) => e.running && (e.state.nextDue ?? 0) <= nowMs);
    for (const e of skipped)
      this.#o.logger.debug(`trigger ${e.key}: previous execution still running, evaluation skipped`);
    this.pollCache.clear();
    for (const e of due) e.evaluating = true;
    await Promise.all(
      due.map((e) =>
        this.#evaluate(e, nowMs).finally(() => {
          e.evaluating = false;
        }),
      ),
    );
    return due.length;
  }

  async #evaluate(e: Entry, nowMs: number): Promise<void> {
    const intervalMs = seconds(e.props.interval) * 1000;
    const ctx: TaskContext = {
      logger: this.#o.logger,
      env: this.#o.env ?? process.env,
      client: this.#o.client,
    };
    const state = e.state;
    try {
      const result = await evaluateTrigger(e.props, ctx, Math.floor(nowMs / 1000), this.pollCache);
      const verdict = decide(e.props.fireOn, result.matched, state.armed);
      Object.assign(state, {
        lastEvaluation: new Date(nowMs).toISOString(),
        lastValue: result.value,
        lastMatched: result.matched,
        armed: verdict.armed,
        failures: 0,
        lastError: undefined,
        nextDue: Math.round(nowMs + intervalMs + e.jitterMs),
      });
      this.#o.logger.debug(
        `trigger ${e.key}: ${e.props.field} ${e.props.aggregation} = ${result.value} ${e.props.comparator} ${e.props.threshold} → ${result.matched ? 'true' : 'false'}${verdict.fire ? ', fires' : ''}`,
      );
      const event: TriggerEvaluationEvent = {
        ...this.#eventBase(e, nowMs),
        value: result.value,
        matched: result.matched,
        fired: verdict.fire,
      };
      if (!verdict.fire) {
        this.store.save(state);
        triggerEvaluations.publish(event);
        return;
      }
      const executionId = newId();
      event.executionId = executionId;
      state.fired++;
      // The firing is on disk before the execution starts: a crash now replays it, never repeats it.
      state.pending = { executionId, trigger: result.variables, firedAt: new Date(nowMs).toISOString() };
      this.store.save(state);
      this.#o.logger.info(
        `trigger ${e.key} fired: ${e.props.field} = ${result.value} (${e.props.comparator} ${e.props.threshold})`,
      );
      triggerEvaluations.publish(event);
      e.running = this.#execute(e, executionId, result.variables);
    } catch (err) {
      state.failures++;
      const backoff = Math.min(intervalMs * 2 ** Math.min(state.failures, 6), Math.max(intervalMs, 600_000));
      state.nextDue = nowMs + backoff;
      state.lastError = this.#masker.mask((err as Error).message ?? String(err));
      this.store.save(state);
      triggerEvaluations.publish({ ...this.#eventBase(e, nowMs), fired: false, error: state.lastError });
      this.#o.logger.warn(
        `trigger ${e.key}: evaluation failed (${state.failures} in a row), next try in ${Math.round(backoff / 1000)} s: ${state.lastError}`,
      );
    }
  }

  #eventBase(e: Entry, nowMs: number): Omit<TriggerEvaluationEvent, 'fired'> {
    return {
      key: e.key,
      namespace: e.flow.namespace,
      flowId: e.flow.id,
      triggerId: e.trigger.id,
      field: e.props.field,
      threshold: e.props.threshold,
      time: nowMs,
    };
  }

  async #execute(e: Entry, executionId: string, trigger: Record<string, unknown>): Promise<void> {
    try {
      const ex = await runFlow(e.flow, {
        id: executionId,
        trigger,
        env: this.#o.env,
        secretsFile: this.#o.secretsFile,
        masker: this.#masker,
        client: this.#o.client,
        write: this.#o.write,
        jsonLogs: this.#o.jsonLogs,
      });
      this.store.record(ex, e.trigger.id);
      e.state.pending = undefined;
      if (e.trigger.stopAfter?.includes(ex.state)) {
        e.state.stopped = true;
        this.#o.logger.info(`trigger ${e.key}: stopped after an execution ended ${ex.state} (stopAfter)`);
      }
      this.store.save(e.state);
    } catch (err) {
      this.#o.logger.error(
        `execution ${executionId} of ${e.key} could not run: ${this.#masker.mask(String(err))}`,
      );
    } finally {
      e.running = undefined;
    }
  }

  /** Resolves when no execution is running. */
  async idle(): Promise<void> {
    for (;;) {
      const running = this.entries.flatMap((e) => (e.running ? [e.running] : []));
      if (!running.length) return;
      await Promise.all(running);
    }
  }

  /** Runs until stop(): ticks when triggers are due and picks up changed flow files. */
  start(): void {
    this.#loop = (async () => {
      let lastScan = 0;
      while (!this.#stopping) {
        const now = this.#now();
        if (now - lastScan >= 2000) {
          lastScan = now;
          try {
            this.load();
          } catch (err) {
            this.#o.logger.error(String((err as Error).message ?? err));
          }
        }
        // Not awaited: a poll that hangs until its timeout must not hold up the other triggers.
        this.tick(now).catch((err: unknown) =>
          this.#o.logger.error(`evaluation round failed: ${String(err)}`),
        );
        const next = Math.min(...this.entries.map((e) => e.state.nextDue ?? now), now + 1000);
        await sleep(Math.max(20, Math.min(1000, next - this.#now())));
      }
    })();
  }

  /** Stops scheduling and waits (bounded) for running executions; state is on disk after every change. */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.#stopping = true;
    await this.#loop;
    while (this.entries.some((e) => e.evaluating)) await sleep(20);
    const running = this.entries.flatMap((e) => (e.running ? [e.running] : []));
    if (running.length) {
      this.#o.logger.info(`waiting for ${running.length} running execution(s)`);
      await Promise.race([Promise.all(running), sleep(timeoutMs)]);
    }
  }
}
