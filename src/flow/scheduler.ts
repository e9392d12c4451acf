/**
 * The trigger server's scheduler.
 *
 * Each trigger (keyed `namespace.flowId.triggerId`) is a TriggerSlot: the one owner of its state and
 * its timing. A slot has one timer; when it fires, the slot sets the next due time *before*
 * awaiting anything, evaluates (at most one evaluation in flight), then re-arms its timer. A reload
 * hands the slot a new definition, which it swaps in only between evaluations; its state, running
 * execution and in-flight evaluation survive. One AbortController (shutdown) reaches every HTTP
 * call of every evaluation; running executions get a second one, aborted only if stop() times out.
 *
 * For other parts of the server (dashboard, metrics; executions started over HTTP, by webhooks and
 * schedules go through src/runtime/queue.ts, which shares the history):
 *   - triggers(): read-only TriggerSnapshot[] (armed, last value, next due, last error, recent points);
 *   - subscribe(listener): SchedulerEvent stream (evaluations, firings, executions, reloads); returns unsubscribe.
 * New trigger kinds plug in through registerTriggerKind() in ./trigger.ts.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError } from '../errors.js';
import type { PointsFetcher } from '../tasks/stats/StatsTrigger.js';
import type { TaskContext } from '../tasks/task.js';
import { type Clock, systemClock } from './clock.js';
import { type Execution, newId, runFlow } from './executor.js';
import { type Flow, loadFlowFile, MAX_FLOW_BYTES, parseFlow, type TriggerNode } from './load.js';
import { triggerEvaluations } from '../diagnostics.js';
import { type Logger } from '../logger.js';
import { Masker } from '../masker.js';
import { StateStore, type TriggerState } from './state.js';
import { createTrigger, isSchedulable, PollCache, type TriggerEnv, type TriggerInstance } from './trigger.js';

export interface SchedulerOptions {
  /** Flow files or folders of them. */
  paths: string[];
  stateDir: string;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  secretsFile?: string | undefined;
  masker?: Masker;
  /** Time and timers; a ManualClock in tests. */
  clock?: Clock;
  /** How often flow files are checked for changes (ms of `clock`). */
  rescanMs?: number;
  /** Transport settings for every evaluation and task. */
  client?: TaskContext['client'];
  /** Where StatsTriggers get their points (default: the Fastly API); tests pass a fake. */
  fetchPoints?: PointsFetcher;
  /** Lines of the flows' own logs. */
  write?: (line: string) => void;
  jsonLogs?: boolean;
  /**
   * Where firings go to run: the server's durable execution queue, which records them in the
   * history and resumes them after a crash (resolves undefined when shutdown interrupted one).
   * Without it, the scheduler runs and records them itself.
   */
  submit?: Submit;
  /** Whether an execution is in the history (with `submit`: the queue's store). */
  recorded?: (id: string) => boolean | Promise<boolean>;
  /** Interrupts what `submit` started (stop() timed out, or a second Ctrl-C). */
  interruptSubmitted?: () => void;
}

export type Submit = (
  flow: Flow,
  firing: { id: string; trigger: Record<string, unknown>; triggerId: string; triggerType: string },
) => Promise<Execution | undefined>;

export type SchedulerEvent =
  | { type: 'evaluation-started'; trigger: string; at: number; due: number }
  | {
      type: 'evaluated';
      trigger: string;
      at: number;
      value: number | null | undefined;
      matched: boolean | undefined;
      executionId?: string;
    }
  | {
      type: 'evaluation-failed';
      trigger: string;
      at: number;
      error: string;
      failures: number;
      nextDue: number;
    }
  | { type: 'evaluation-skipped'; trigger: string; at: number; reason: string }
  | { type: 'execution-started'; executionId: string; namespace: string; flowId: string; trigger?: string }
  | {
      type: 'execution-ended';
      executionId: string;
      namespace: string;
      flowId: string;
      trigger?: string;
      state: Execution['state'] | 'INTERRUPTED';
      durationMs: number;
    }
  | { type: 'reloaded'; file: string }
  | { type: 'reload-failed'; file: string; error: string }
  | { type: 'stopped' };

export interface RecentPoint {
  at: number;
  value: number | null | undefined;
  matched: boolean | undefined;
  fired: boolean;
}

/** A read-only view of one trigger. */
export interface TriggerSnapshot extends Readonly<TriggerState> {
  node: TriggerNode;
  /** What the trigger kind shows of its settings (never a secret). */
  settings: Record<string, string | number>;
  namespace: string;
  flowId: string;
  triggerId: string;
  type: string;
  file: string;
  evaluating: boolean;
  running: boolean;
  recent: readonly RecentPoint[];
}

interface Definition {
  file: string;
  flow: Flow;
  node: TriggerNode;
  instance: TriggerInstance;
}

const RECENT_POINTS = 60;

/**
 * How a change of a flow file is logged, by the scheduler and the server's flow registry alike: a
 * file seen for the first time is "added"; an invalid version keeps the previous one if there is
 * one, and otherwise is "not loaded".
 */
export const flowFileChange = {
  loaded: (file: string, before: boolean) => `${before ? 'reloaded' : 'added'} ${file}`,
  invalid: (file: string, before: boolean, problem: string) =>
    before
      ? `${file} changed but is invalid; keeping the previous version: ${problem}`
      : `${file} is invalid; not loaded (fix it and it is picked up without a restart): ${problem}`,
};

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

/** What a slot needs from its scheduler. */
interface SlotHost {
  readonly clock: Clock;
  readonly store: StateStore;
  readonly logger: Logger;
  readonly masker: Masker;
  readonly shutdown: AbortSignal;
  readonly stopping: boolean;
  emit(event: SchedulerEvent): void;
  /** Runs an execution to its end and records it; undefined if shutdown interrupted it. */
  execute(
    flow: Flow,
    id: string,
    trigger: Record<string, unknown>,
    triggerId: string,
  ): Promise<Execution | undefined>;
}

/** One trigger: the only owner of its state, its timer and its evaluation. */
class TriggerSlot {
  readonly key: string;
  readonly state: TriggerState;
  readonly recent: RecentPoint[] = [];
  #def: Definition;
  #next: Definition | undefined;
  #cancelTimer: (() => void) | undefined;
  #evaluating: Promise<void> | undefined;
  #running: Promise<void> | undefined;
  #lastDue: number | undefined;
  #retired = false;
  readonly #host: SlotHost;

  constructor(key: string, def: Definition, state: TriggerState, host: SlotHost) {
    this.key = key;
    this.#def = def;
    this.state = state;
    this.#host = host;
  }

  get def(): Definition {
    return this.#def;
  }
  get evaluating(): Promise<void> | undefined {
    return this.#evaluating;
  }
  get running(): Promise<void> | undefined {
    return this.#running;
  }

  /** A reload: the new definition takes over between evaluations. */
  redefine(def: Definition): void {
    if (this.#evaluating) this.#next = def;
    else this.#swap(def);
  }

  #swap(def: Definition): void {
    this.#def = def;
    this.#next = undefined;
    // A changed interval applies from the last evaluation, not after the old interval.
    if (this.#lastDue !== undefined && this.state.failures === 0)
      this.state.nextDue = def.instance.nextDue(this.#lastDue);
    if (this.#cancelTimer) this.arm();
  }

  /** The flow file is gone: no more evaluations; a running execution still ends normally. */
  retire(): void {
    this.#retired = true;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  disarm(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  /** Sets the one timer of this trigger for its next due time. */
  arm(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    if (this.#host.stopping || this.#retired || this.state.stopped) return;
    const due = this.state.nextDue ?? this.#host.clock.now();
    this.#cancelTimer = this.#host.clock.at(due, () => this.#onDue(due));
  }

  #onDue(due: number): void {
    this.#cancelTimer = undefined;
    if (this.#host.stopping || this.#retired || this.#evaluating) return;
    const now = this.#host.clock.now();
    const instance = this.#def.instance;
    // Set before anything is awaited: whatever happens next, this due time is consumed.
    let next = instance.nextDue(due);
    if (next <= now) next = instance.nextDue(now);
    this.state.nextDue = next;
    if (this.#running) {
      this.#host.logger.debug(`trigger ${this.key}: previous execution still running, evaluation skipped`);
      this.#host.emit({
        type: 'evaluation-skipped',
        trigger: this.key,
        at: now,
        reason: 'execution running',
      });
      this.arm();
      return;
    }
    this.#lastDue = due;
    this.#host.emit({ type: 'evaluation-started', trigger: this.key, at: now, due });
    this.#evaluating = this.#evaluate(this.#def, due, now)
      .catch((err: unknown) =>
        this.#host.logger.error(`trigger ${this.key}: ${this.#host.masker.mask(String(err))}`),
      )
      .finally(() => {
        this.#evaluating = undefined;
        if (this.#next) this.#swap(this.#next);
        this.arm();
      });
  }

  async #evaluate(def: Definition, due: number, now: number): Promise<void> {
    const { store, logger, masker, shutdown } = this.#host;
    const state = this.state;
    try {
      const r = await def.instance.evaluate({ at: due, signal: shutdown, armed: state.armed });
      if (shutdown.aborted) return;
      Object.assign(state, {
        lastEvaluation: new Date(now).toISOString(),
        lastValue: r.value,
        lastMatched: r.matched,
        armed: r.armed,
        failures: 0,
        lastError: undefined,
      });
      this.recent.push({ at: now, value: r.value, matched: r.matched, fired: r.fire });
      if (this.recent.length > RECENT_POINTS) this.recent.shift();
      logger.debug(`trigger ${this.key}: ${r.summary}`);
      const observed = { ...this.#observed(def, r.vars, now), value: r.value, matched: r.matched };
      const executionId = r.fire ? newId() : undefined;
      if (executionId) {
        state.fired++;
        // The firing is on disk before the execution starts: a crash now replays it, never repeats it.
        state.pending = { executionId, trigger: r.vars, firedAt: new Date(now).toISOString() };
      }
      store.save(state);
      if (executionId) logger.info(`trigger ${this.key} fired (value ${r.value}): execution ${executionId}`);
      const fired = executionId ? { executionId } : {};
      triggerEvaluations.publish({ ...observed, fired: r.fire, ...fired });
      this.#host.emit({
        type: 'evaluated',
        trigger: this.key,
        at: now,
        value: r.value,
        matched: r.matched,
        ...fired,
      });
      // never rejects: run() records its own failures
      if (executionId) void this.startExecution(executionId, r.vars);
    } catch (err) {
      if (shutdown.aborted) return;
      state.failures++;
      const intervalMs = Math.max(1, def.instance.nextDue(due) - due);
      const backoff = Math.min(intervalMs * 2 ** Math.min(state.failures, 6), Math.max(intervalMs, 600_000));
      state.nextDue = now + backoff;
      state.lastError = masker.mask((err as Error)?.message ?? String(err));
      store.save(state);
      triggerEvaluations.publish({
        ...this.#observed(def, undefined, now),
        fired: false,
        error: state.lastError,
      });
      logger.warn(
        `trigger ${this.key}: evaluation failed (${state.failures} in a row), next try in ${Math.round(backoff / 1000)} s: ${state.lastError}`,
      );
      this.#host.emit({
        type: 'evaluation-failed',
        trigger: this.key,
        at: now,
        error: state.lastError,
        failures: state.failures,
        nextDue: state.nextDue,
      });
    }
  }

  /** What the metrics and dashboard see of an evaluation (src/diagnostics.ts). */
  #observed(def: Definition, vars: Record<string, unknown> | undefined, now: number) {
    return {
      key: this.key,
      namespace: def.flow.namespace,
      flowId: def.flow.id,
      triggerId: def.node.id,
      field: fieldName(vars?.field ?? def.node.props.field),
      threshold: Number(vars?.threshold ?? def.node.props.threshold),
      time: now,
    };
  }

  /** Runs a firing (new, or one a crash interrupted) to its end; clears `pending` once it is in history. */
  startExecution(executionId: string, vars: Record<string, unknown>): Promise<void> {
    const def = this.#def;
    const run = async () => {
      try {
        const ex = await this.#host.execute(def.flow, executionId, vars, def.node.id);
        if (!ex) return; // interrupted by shutdown: stays pending, replayed at the next start
        this.state.pending = undefined;
        if (def.node.stopAfter?.includes(ex.state)) {
          this.state.stopped = true;
          this.#cancelTimer?.();
          this.#host.logger.info(
            `trigger ${this.key}: stopped after an execution ended ${ex.state} (stopAfter)`,
          );
        }
        this.#host.store.save(this.state);
      } catch (err) {
        this.#host.logger.error(
          `execution ${executionId} of ${this.key} could not be recorded: ${this.#host.masker.mask(String(err))}`,
        );
      }
    };
    const running = run().finally(() => {
      if (this.#running === running) this.#running = undefined;
    });
    this.#running = running;
    return running;
  }

  snapshot(): TriggerSnapshot {
    const d = this.#def;
    return {
      ...structuredClone(this.state),
      node: d.node,
      settings: d.instance.settings(),
      namespace: d.flow.namespace,
      flowId: d.flow.id,
      triggerId: d.node.id,
      type: d.instance.type,
      file: d.file,
      evaluating: this.#evaluating !== undefined,
      running: this.#running !== undefined,
      recent: this.recent.map((p) => ({ ...p })),
    };
  }
}

/**
 * Evaluates every trigger of the loaded flows at its interval and runs the flow when it fires,
 * with Kestra's semantics (no evaluation while the trigger's previous execution runs) plus CROSSING
 * firing, shared polls, persistent state and crash recovery.
 */
export class Scheduler {
  readonly store: StateStore;
  readonly #o: SchedulerOptions;
  readonly #masker: Masker;
  readonly #clock: Clock;
  readonly #slots = new Map<string, TriggerSlot>();
  /** Slots whose flow file went away while they were busy. */
  readonly #retired = new Set<TriggerSlot>();
  readonly #hashes = new Map<string, string>();
  /** Files whose flow is loaded (a valid version was seen). */
  readonly #loaded = new Set<string>();
  readonly #listeners = new Set<(event: SchedulerEvent) => void>();
  readonly #shutdown = new AbortController();
  readonly #interrupt = new AbortController();
  readonly #triggerEnv: TriggerEnv;
  readonly #host: SlotHost;
  #started = false;
  #stopping = false;
  #stopped: Promise<void> | undefined;
  #cancelScan: (() => void) | undefined;

  constructor(options: SchedulerOptions) {
    this.#o = options;
    this.#masker = options.masker ?? new Masker();
    this.#clock = options.clock ?? systemClock;
    this.store = new StateStore(options.stateDir, (m) => options.logger.warn(m));
    this.store.repairHistory();
    this.#triggerEnv = {
      env: options.env ?? process.env,
      masker: this.#masker,
      secretsFile: options.secretsFile,
      logger: options.logger,
      client: options.client,
      polls: new PollCache(options.fetchPoints),
    };
    const isStopping = () => this.#stopping;
    this.#host = {
      clock: this.#clock,
      store: this.store,
      logger: options.logger,
      masker: this.#masker,
      shutdown: this.#shutdown.signal,
      get stopping() {
        return isStopping();
      },
      emit: (e) => this.#emit(e),
      execute: (flow, id, trigger, triggerId) => this.#execute(flow, id, trigger, triggerId),
    };
  }

  /** Read-only views of every scheduled trigger. */
  triggers(): TriggerSnapshot[] {
    return [...this.#slots.values()].map((s) => s.snapshot());
  }

  /** Listens to what the scheduler does; returns the function that stops listening. */
  subscribe(listener: (event: SchedulerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: SchedulerEvent): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch (err) {
        this.#o.logger.error(`scheduler event listener failed: ${String(err)}`);
      }
    }
  }

  /** (Re)loads flow files that changed. At start-up an invalid flow is fatal; later it is logged and the old version kept. */
  load(initial = false): void {
    const files = flowFiles(this.#o.paths);
    const problems: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      const hash = createHash('sha1').update(text).digest('hex');
      if (this.#hashes.get(file) === hash) continue;
      this.#hashes.set(file, hash);
      try {
        const parse = { env: this.#triggerEnv.env };
        this.#install(
          file,
          text.length > MAX_FLOW_BYTES ? loadFlowFile(file, parse) : parseFlow(text, file, parse),
        );
        const before = this.#loaded.has(file);
        this.#loaded.add(file);
        if (!initial) {
          this.#o.logger.info(flowFileChange.loaded(file, before));
          this.#emit({ type: 'reloaded', file });
        }
      } catch (err) {
        if (!(err instanceof InvalidInputError)) throw err;
        if (initial) problems.push(err.message);
        else {
          this.#o.logger.error(flowFileChange.invalid(file, this.#loaded.has(file), err.message));
          this.#emit({ type: 'reload-failed', file, error: err.message });
        }
      }
    }
    for (const file of [...this.#hashes.keys()]) {
      if (files.includes(file)) continue;
      this.#hashes.delete(file);
      this.#loaded.delete(file);
      this.#install(file, undefined);
      if (!initial) this.#o.logger.info(`removed ${file}: its triggers are stopped`);
    }
    if (problems.length) throw new InvalidInputError(problems.join('\n'));
  }

  /** Puts a file's flow (undefined: the file is gone) in place of its previous version. */
  #install(file: string, flow: Flow | undefined): void {
    const defs = new Map<string, Definition>();
    if (flow && !flow.disabled) {
      for (const node of flow.triggers) {
        // Kinds without a registered scheduler kind (Schedule, Webhook) are fired by src/server/.
        if (node.disabled || !isSchedulable(node.type)) continue;
        const instance = createTrigger(flow, node, this.#triggerEnv);
        defs.set(`${flow.namespace}.${flow.id}.${node.id}`, { file, flow, node, instance });
      }
    }
    for (const [key, slot] of this.#slots) {
      if (slot.def.file !== file || defs.has(key)) continue;
      slot.retire();
      this.#slots.delete(key);
      if (slot.evaluating || slot.running) {
        this.#retired.add(slot);
        void Promise.all([slot.evaluating, slot.running]).then(() => this.#retired.delete(slot));
      }
    }
    for (const [key, def] of defs) {
      const slot = this.#slots.get(key);
      if (slot) {
        slot.redefine(def);
        continue;
      }
      const fresh = new TriggerSlot(key, def, this.store.load(key), this.#host);
      this.#slots.set(key, fresh);
      if (this.#started) fresh.arm();
    }
  }

  /** Replays firings that a crash interrupted, unless the history already has them. */
  async recover(): Promise<Promise<void>[]> {
    const inHistory: (id: string) => boolean | Promise<boolean> =
      this.#o.recorded ??
      (
        (ids) => (id: string) =>
          ids.has(id)
      )(new Set(this.store.history().map((r) => r.id)));
    const replays: Promise<void>[] = [];
    for (const slot of this.#slots.values()) {
      const pending = slot.state.pending;
      if (!pending) continue;
      const known = inHistory(pending.executionId);
      // Synchronous without `recorded`: the replays start before the caller's next statement.
      if (known instanceof Promise ? await known : known) {
        slot.state.pending = undefined;
        this.store.save(slot.state);
        continue;
      }
      this.#o.logger.info(
        `trigger ${slot.key}: resuming execution ${pending.executionId} interrupted by a restart`,
      );
      replays.push(slot.startExecution(pending.executionId, pending.trigger));
    }
    return replays;
  }

  /** Runs a firing's execution and records it; undefined if shutdown interrupted it. */
  async #execute(
    flow: Flow,
    id: string,
    vars: Record<string, unknown>,
    triggerId: string,
  ): Promise<Execution | undefined> {
    const base = {
      executionId: id,
      namespace: flow.namespace,
      flowId: flow.id,
      trigger: `${flow.namespace}.${flow.id}.${triggerId}`,
    };
    this.#emit({ type: 'execution-started', ...base });
    const started = this.#clock.now();
    if (this.#o.submit) {
      const type = flow.triggers.find((t) => t.id === triggerId)?.type ?? '';
      const done = await this.#o.submit(flow, { id, trigger: vars, triggerId, triggerType: type });
      this.#emit({
        type: 'execution-ended',
        ...base,
        state: done?.state ?? 'INTERRUPTED',
        durationMs: this.#clock.now() - started,
      });
      return done;
    }
    const ex = await runFlow(flow, {
      id,
      trigger: vars,
      env: this.#o.env,
      secretsFile: this.#o.secretsFile,
      masker: this.#masker,
      client: this.#o.client,
      write: this.#o.write,
      jsonLogs: this.#o.jsonLogs,
      signal: this.#interrupt.signal,
    });
    if (this.#interrupt.signal.aborted) {
      this.#o.logger.warn(
        `execution ${id} of ${flow.namespace}.${flow.id} interrupted by shutdown; it resumes at the next start`,
      );
      this.#emit({
        type: 'execution-ended',
        ...base,
        state: 'INTERRUPTED',
        durationMs: this.#clock.now() - started,
      });
      return undefined;
    }
    this.store.record(ex, triggerId);
    this.#emit({
      type: 'execution-ended',
      ...base,
      state: ex.state,
      durationMs: this.#clock.now() - started,
    });
    return ex;
  }

  /** Resolves when no evaluation is in flight (unless `evaluations: false`) and no execution is running. */
  async idle({ evaluations = true } = {}): Promise<void> {
    for (;;) {
      const slots = [...this.#slots.values(), ...this.#retired];
      const busy = [
        ...slots.map((s) => s.running),
        ...(evaluations ? slots.map((s) => s.evaluating) : []),
      ].filter((p) => p !== undefined);
      if (!busy.length) return;
      await Promise.all(busy);
    }
  }

  /** Arms every trigger's timer (a trigger never evaluated is due now) and watches the flow files. */
  start(): void {
    if (this.#started || this.#stopping) return;
    this.#started = true;
    const now = this.#clock.now();
    for (const slot of this.#slots.values()) {
      slot.state.nextDue ??= now;
      slot.arm();
    }
    const rescanMs = this.#o.rescanMs ?? 2000;
    const scan = () => {
      if (this.#stopping) return;
      try {
        this.load();
      } catch (err) {
        this.#o.logger.error(String((err as Error)?.message ?? err));
      }
      this.#cancelScan = this.#clock.at(this.#clock.now() + rescanMs, scan);
    };
    this.#cancelScan = this.#clock.at(now + rescanMs, scan);
  }

  /**
   * Stops: no new evaluation, in-flight ones are aborted (their HTTP calls too), and running
   * executions are waited for; after `timeoutMs` they are interrupted and stay pending for the
   * next start. Resolves as soon as nothing is left running.
   */
  stop(timeoutMs = 30_000): Promise<void> {
    this.#stopped ??= this.#stop(timeoutMs);
    return this.#stopped;
  }

  /** Interrupts running executions (a second Ctrl-C); they stay pending and resume at the next start. */
  interrupt(): void {
    this.#interrupt.abort(new Error('interrupted'));
    this.#o.interruptSubmitted?.();
  }

  async #stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    this.#cancelScan?.();
    for (const slot of this.#slots.values()) slot.disarm();
    this.#shutdown.abort(new Error('the server is stopping'));
    const slots = [...this.#slots.values(), ...this.#retired];
    await Promise.all(slots.map((s) => s.evaluating ?? Promise.resolve()));
    const running = slots.map((s) => s.running).filter((p) => p !== undefined);
    if (running.length) {
      this.#o.logger.info(`waiting for ${running.length} running execution(s)`);
      const timer = setTimeout(() => {
        this.#interrupt.abort(new Error('shutdown timeout'));
        this.#o.interruptSubmitted?.();
      }, timeoutMs);
      try {
        await this.idle();
      } finally {
        clearTimeout(timer);
      }
    }
    this.#emit({ type: 'stopped' });
  }
}

function fieldName(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
