/**
 * The server's one trigger runtime: every trigger kind registered with registerTriggerKind()
 * (./trigger.ts: StatsTrigger, Schedule, Webhook) fires here, and every firing goes to the
 * runtime's durable execution queue through `submit`, with the trigger's state written in the
 * same transaction as the execution it starts.
 *
 * Each trigger (keyed `namespace.flowId.triggerId`) is a TriggerSlot: the one owner of its state and
 * its timing. A slot has one timer; when it fires, the slot sets the next due time *before*
 * awaiting anything, evaluates (at most one evaluation in flight), then re-arms its timer. The
 * flows come from the runtime's flow registry (`sync()`); a changed flow hands the slot a new
 * definition, which it swaps in only between evaluations; its state, running execution and
 * in-flight evaluation survive. One AbortController (shutdown) reaches every HTTP call of every
 * evaluation.
 *
 * For other parts of the server (dashboard, metrics, the webhook route):
 *   - triggers(): read-only TriggerSnapshot[] (armed, last value, next due, last error, recent points);
 *   - subscribe(listener): SchedulerEvent stream (evaluations, firings, executions); returns unsubscribe;
 *   - fire(flow, triggerId, vars): fires a trigger from outside (a webhook request).
 */
import { InvalidInputError } from '../errors.js';
import { JavaDouble, javaText } from '../pebble/index.js';
import type { PointsFetcher } from '../tasks/stats/StatsTrigger.js';
import type { TaskContext } from '../tasks/task.js';
import { type Clock, systemClock } from './clock.js';
import { type Execution, newId } from './executor.js';
import type { Flow, TriggerNode } from './load.js';
import { triggerEvaluations } from '../diagnostics.js';
import { type Logger, OutageLog } from '../logger.js';
import { Masker } from '../masker.js';
import type { TriggerState } from './state.js';
import {
  createTrigger,
  type Evaluation,
  isSchedulable,
  PollCache,
  type TriggerEnv,
  type TriggerInstance,
} from './trigger.js';

export interface SchedulerOptions {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  secretsFile?: string | undefined;
  masker?: Masker;
  /** Time and timers; a ManualClock in tests. */
  clock?: Clock;
  /** Transport settings for every evaluation. */
  client?: TaskContext['client'];
  /** Where StatsTriggers get their points (default: the Fastly API); tests pass a fake. */
  fetchPoints?: PointsFetcher;
  /** Where firings go to run: the runtime's durable execution queue. */
  submit: Submit;
  /** Writes a trigger's state (an evaluation that fired nothing; a firing's goes with `submit`). */
  save: (state: TriggerState) => void | Promise<void>;
  /** The execution of this id while it runs (e.g. resumed by the queue after a restart). */
  running?: (id: string) => Promise<unknown> | undefined;
  /**
   * Replicas on one database: each due slot is claimed by one of them (the others skip it), the
   * polled kinds' due times are aligned to their interval (so that every replica has the same
   * slots), and the slot's owner reads the trigger's state as stored before it evaluates.
   */
  slots?: SlotClaims | undefined;
}

/** How replicas share the due slots of the triggers (the runtime's, on the shared store). */
export interface SlotClaims {
  /**
   * Slot `at` of trigger `key` before it is claimed, read outside any transaction: undefined when
   * a replica has claimed it already, else the trigger's state as stored and whether its execution
   * runs. The evaluation (a trigger's HTTP call) runs after it, with no transaction open.
   */
  peek?(key: string, at: number): Promise<Omit<ClaimedSlot, 'submit' | 'save'> | undefined>;
  /**
   * Claims slot `at` of trigger `key` and runs `work` in the claim's transaction; undefined when
   * another replica has the slot (or is writing one of the trigger's slots at this moment). `work`
   * throwing undoes the claim (the slot stays free).
   */
  claim<T>(
    key: string,
    at: number,
    work: (slot: ClaimedSlot) => Promise<T>,
  ): Promise<{ value: T } | undefined>;
}

/** A due slot this replica claimed: the stored state, and where its firing or state goes. */
export interface ClaimedSlot {
  /** The trigger's state as the last owner wrote it; undefined when none was written. */
  state: TriggerState | undefined;
  /** Whether the execution that state names has not ended (on any replica). */
  running: boolean;
  /** Submits the firing in the claim's transaction. */
  submit: Submit;
  /** Writes the trigger's state in the claim's transaction (an evaluation that fired nothing). */
  save(state: TriggerState): Promise<void>;
}

/** Thrown inside a claimed slot to give it back (the server stopping mid-evaluation). */
class SlotGivenBack extends Error {
  override readonly name = 'SlotGivenBack';
  readonly code = 'SLOT_GIVEN_BACK';
}

/**
 * Thrown inside a claimed slot when the trigger's state is no longer the one the evaluation started
 * from (another replica wrote a slot meanwhile): rolled back, and evaluated again from the new one.
 */
class SlotStateMoved extends Error {
  override readonly name = 'SlotStateMoved';
  readonly code = 'SLOT_STATE_MOVED';
}

/** Replicas: how many times a slot is evaluated again when its state moved before its claim. */
const SLOT_TRIES = 3;

/** A slot not written for a store failure is tried again after this, doubling up to STORE_RETRY_MAX_MS. */
const STORE_RETRY_MS = 1000;
const STORE_RETRY_MAX_MS = 8000;

/** A trigger's firing, as the queue takes it. */
export interface Firing {
  id: string;
  inputs: Record<string, unknown>;
  trigger: Record<string, unknown>;
  triggerId: string;
  triggerType: string;
  createdAt?: string | undefined;
  /** The trigger's state after this firing: written with the execution, in one transaction. */
  state?: TriggerState | undefined;
}

/** What the queue answers: the execution's id, whether it is new, and its end. */
export interface Fired {
  id: string;
  /** False when this id was already submitted (a slot fired again): nothing new started. */
  created: boolean;
  /** The ended execution; undefined when it did not run to its end here (shutdown). Never rejects. */
  done: Promise<Execution | undefined>;
}

export type Submit = (flow: Flow, firing: Firing) => Fired | Promise<Fired>;

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
  /** Whether its evaluations are points (a polled kind), not slots or requests. */
  observed: boolean;
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

/** What a slot needs from its scheduler. */
interface SlotHost {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly masker: Masker;
  readonly shutdown: AbortSignal;
  readonly stopping: boolean;
  readonly slots: SlotClaims | undefined;
  emit(event: SchedulerEvent): void;
  save(state: TriggerState): Promise<void>;
  submit(flow: Flow, firing: Firing): Promise<Fired>;
}

/** Where one evaluation writes: the scheduler's store, or a claimed slot's transaction. */
interface Writes {
  save(state: TriggerState): Promise<void>;
  submit: Submit;
}

/** A trigger state as it is written: a copy, the in-memory one goes on changing. */
const copy = (state: TriggerState): TriggerState => structuredClone(state);

/** Puts `state` back as it was (`before`, a copy of it): what an unwritten evaluation changed is undone. */
function restore(state: TriggerState, before: TriggerState): void {
  const fields = state as Partial<TriggerState>;
  for (const k of Object.keys(fields) as (keyof TriggerState)[]) if (!(k in before)) delete fields[k];
  Object.assign(state, before);
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
  /** A slot left due by a store failure: its timer waits until then, not to flood a store that is down. */
  #retryAt: number | undefined;
  #storeFailures = 0;
  readonly #outage: OutageLog;
  /** When this process took the trigger: a due time before it was missed while stopped. */
  readonly #since: number;
  readonly #host: SlotHost;

  constructor(key: string, def: Definition, state: TriggerState, host: SlotHost) {
    this.key = key;
    this.#def = def;
    this.state = state;
    this.#host = host;
    this.#since = host.clock.now();
    this.#outage = new OutageLog(host.logger, host.clock, {
      first: (error) => `trigger ${key}: ${error}`,
      still: (error, ms, n) =>
        `trigger ${key}: the store still fails after ${Math.round(ms / 1000)} s (${n} tries): ${error}`,
      back: (ms, n) =>
        `trigger ${key}: the store answers again after ${Math.round(ms / 1000)} s (${n} tries failed); the slots due meanwhile run now`,
    });
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
    // A changed interval applies from the last evaluation, not after the old interval (unless a
    // slot is still due: it was not written).
    if (this.#lastDue !== undefined && this.state.failures === 0 && this.#retryAt === undefined)
      this.state.nextDue = def.instance.nextDue(this.#lastDue);
    if (this.#cancelTimer) this.arm();
  }

  /** The flow or trigger is gone: no more evaluations; a running execution still ends normally. */
  retire(): void {
    this.#retired = true;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  disarm(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  /** Follows an execution this trigger started (before a restart, resumed by the queue). */
  follow(done: Promise<unknown>): void {
    const running = done.then(
      () => undefined,
      () => undefined,
    );
    this.#running = running;
    void running.finally(() => {
      if (this.#running === running) this.#running = undefined;
    });
  }

  /** Sets the one timer of this trigger for its next due time (none for a kind never polled). */
  arm(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    if (this.#host.stopping || this.#retired || this.state.stopped) return;
    const due = this.#aligned(
      this.state.nextDue ?? this.#def.instance.firstDue?.(this.#host.clock.now()) ?? this.#host.clock.now(),
    );
    this.state.nextDue = due;
    if (!Number.isFinite(due)) return;
    const at = this.#retryAt === undefined ? due : Math.max(due, this.#retryAt);
    this.#cancelTimer = this.#host.clock.at(at, () => this.#onDue(due));
  }

  /**
   * Replicas: a polled kind's due time rounded down to a multiple of its interval, so that every
   * replica evaluates the same slots (each claimed by one of them). Down, not up: a replica that
   * starts evaluates the slot under way at once, unless another replica already has it, as a
   * single server evaluates at start.
   */
  #aligned(due: number): number {
    const instance = this.#def.instance;
    if (!this.#host.slots || !instance.observed || !Number.isFinite(due)) return due;
    const every = instance.nextDue(0);
    return every > 0 ? Math.floor(due / every) * every : due;
  }

  #onDue(due: number): void {
    this.#cancelTimer = undefined;
    if (this.#host.stopping || this.#retired || this.#evaluating) return;
    this.#retryAt = undefined;
    const now = this.#host.clock.now();
    const instance = this.#def.instance;
    const recovering = due < this.#since;
    const dues = instance.catchUp ? instance.catchUp(due, now, recovering) : [due];
    // Set before anything is awaited: whatever happens next, these due times are consumed.
    let next = instance.nextDue(instance.catchUp ? Math.max(due, now) : due);
    if (next <= now) next = instance.nextDue(now);
    this.state.nextDue = next;
    if (this.#running && !instance.overlapping) {
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
    const def = this.#def;
    const evaluateAll = async () => {
      // Replicas: the state is written by each slot's owner only.
      if (!dues.length && !this.#host.slots) await this.#host.save(copy(this.state));
      for (const [i, at] of dues.entries()) {
        if (this.#host.shutdown.aborted) return;
        this.#host.emit({ type: 'evaluation-started', trigger: this.key, at: now, due: at });
        const before = copy(this.state);
        try {
          // Until the last one, what is written says the following due time is still to be evaluated.
          if (this.#host.slots) await this.#claimed(this.#host.slots, def, at, now, dues[i + 1]);
          else await this.#evaluate(def, at, now, dues[i + 1], this.#host);
        } catch (err) {
          if (err instanceof SlotGivenBack || this.#host.shutdown.aborted) throw err;
          return this.#unwritten(at, before, err);
        }
        this.#storeFailures = 0;
        this.#outage.worked();
      }
    };
    this.#evaluating = evaluateAll()
      .catch((err: unknown) => {
        if (err instanceof SlotGivenBack) return;
        this.#host.logger.error(`trigger ${this.key}: ${this.#host.masker.mask(String(err))}`);
      })
      .finally(() => {
        this.#evaluating = undefined;
        if (this.#next) this.#swap(this.#next);
        this.arm();
      });
  }

  /**
   * The store failed to read or write slot `at` (a database down): nothing of it was written, so it
   * stays due, with this and the later slots, and is tried again a little later (Kestra's scheduler
   * keeps its stored next date likewise). Skipping it would lose the slot for good.
   */
  #unwritten(at: number, before: TriggerState, err: unknown): void {
    restore(this.state, before);
    this.state.nextDue = at;
    this.#storeFailures++;
    const waitMs = Math.min(STORE_RETRY_MS * 2 ** (this.#storeFailures - 1), STORE_RETRY_MAX_MS);
    this.#retryAt = this.#host.clock.now() + waitMs;
    const why = this.#host.masker.mask((err as Error)?.message ?? String(err));
    this.#outage.failed(
      `slot ${new Date(at).toISOString()} not written (${why}); it stays due, tried again in ${waitMs / 1000} s`,
    );
  }

  /**
   * Replicas: the slot is read (another replica's claim: skipped here), evaluated from the state as
   * stored with no transaction open (a trigger's HTTP call holds no lock and no connection), then
   * claimed in one short transaction that writes its firing or state, provided the state is still
   * the one evaluated from (else evaluated again).
   */
  async #claimed(
    slots: SlotClaims,
    def: Definition,
    due: number,
    now: number,
    following: number | undefined,
  ): Promise<void> {
    const { shutdown } = this.#host;
    for (let tries = 1; slots.peek; tries++) {
      const seen = await slots.peek(this.key, due);
      if (!seen) return this.#taken(due, now);
      const stored = JSON.stringify(seen.state ?? null);
      if (seen.state) {
        const { nextDue, key } = this.state;
        Object.assign(this.state, seen.state, { key, nextDue });
      }
      // Evaluated now, written in the claim below (a failure too: its backoff is the slot's state).
      const skip = seen.running && !def.instance.overlapping;
      const evaluation = skip
        ? undefined
        : def.instance.evaluate({ at: due, signal: shutdown, armed: this.state.armed });
      await evaluation?.catch(() => undefined);
      if (shutdown.aborted) return;
      try {
        const mine = await this.#claim(
          slots,
          def,
          due,
          now,
          following,
          (slot) => {
            if (JSON.stringify(slot.state ?? null) !== stored || slot.running !== seen.running)
              throw new SlotStateMoved(`trigger ${this.key}: state written by another replica`);
          },
          evaluation,
        );
        if (mine || tries >= SLOT_TRIES) {
          if (!mine) this.#taken(due, now);
          return;
        }
      } catch (err) {
        if (!(err instanceof SlotStateMoved)) throw err;
        if (tries >= SLOT_TRIES) return this.#taken(due, now);
        this.#host.logger.debug(`${err.message}; evaluated again`);
      }
    }
    if (!(await this.#claim(slots, def, due, now, following))) this.#taken(due, now);
  }

  #taken(due: number, now: number): void {
    this.#host.logger.debug(
      `trigger ${this.key}: slot ${new Date(due).toISOString()} taken by another replica`,
    );
    this.#host.emit({ type: 'evaluation-skipped', trigger: this.key, at: now, reason: 'another replica' });
  }

  /** The claim's transaction: the state as stored, then the evaluation's firing or state written. */
  async #claim(
    slots: SlotClaims,
    def: Definition,
    due: number,
    now: number,
    following: number | undefined,
    check?: (slot: ClaimedSlot) => void,
    evaluation?: Promise<Evaluation>,
  ): Promise<boolean> {
    const mine = await slots.claim(this.key, due, async (slot) => {
      check?.(slot);
      if (slot.state) {
        const { nextDue, key } = this.state;
        Object.assign(this.state, slot.state, { key, nextDue });
      }
      if (slot.running && !def.instance.overlapping) {
        this.#host.emit({
          type: 'evaluation-skipped',
          trigger: this.key,
          at: now,
          reason: 'execution running',
        });
        await slot.save(copy(this.state));
        return;
      }
      await this.#evaluate(def, due, now, following, slot, evaluation);
      // Stopping mid-evaluation: the slot is given back (rolled back) for another replica.
      if (this.#host.shutdown.aborted) throw new SlotGivenBack('the server is stopping');
    });
    return mine !== undefined;
  }

  /**
   * One due time: evaluated (a failure of the evaluation itself, its HTTP call say, is the trigger's:
   * counted and backed off), then its firing or state written to `writes`. A failure to write is
   * thrown: the caller keeps the slot due.
   */
  async #evaluate(
    def: Definition,
    due: number,
    now: number,
    following: number | undefined,
    writes: Writes,
    evaluation?: Promise<Evaluation>,
  ): Promise<void> {
    const { logger, masker, shutdown } = this.#host;
    const state = this.state;
    const observed = def.instance.observed === true;
    let r: Evaluation;
    try {
      r = await (evaluation ?? def.instance.evaluate({ at: due, signal: shutdown, armed: state.armed }));
    } catch (err) {
      if (shutdown.aborted) return;
      state.failures++;
      const intervalMs = Math.max(1, def.instance.nextDue(due) - due);
      const backoff = Math.min(intervalMs * 2 ** Math.min(state.failures, 6), Math.max(intervalMs, 600_000));
      state.nextDue = now + backoff;
      state.lastError = masker.mask((err as Error)?.message ?? String(err));
      await writes.save(copy(state));
      if (observed)
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
      return;
    }
    if (shutdown.aborted) return;
    Object.assign(state, {
      lastEvaluation: new Date(now).toISOString(),
      lastValue: r.value,
      lastMatched: r.matched,
      armed: r.armed,
      failures: 0,
      lastError: undefined,
    });
    logger.debug(`trigger ${this.key}: ${r.summary}`);
    const written = following === undefined ? copy(state) : { ...copy(state), nextDue: following };
    const started = r.fire ? await this.#fire(def, r, written, writes) : undefined;
    if (!r.fire) await writes.save(written);
    if (observed) {
      this.recent.push({ at: now, value: r.value, matched: r.matched, fired: r.fire });
      if (this.recent.length > RECENT_POINTS) this.recent.shift();
    }
    const fired = started ? { executionId: started.id } : {};
    if (observed)
      triggerEvaluations.publish({
        ...this.#observed(def, r.vars, now),
        value: r.value,
        matched: r.matched,
        fired: r.fire,
        ...fired,
      });
    this.#host.emit({
      type: 'evaluated',
      trigger: this.key,
      at: now,
      value: r.value,
      matched: r.matched,
      ...fired,
    });
    if (started) this.#follow(def, started);
  }

  /**
   * The one way a trigger fires (a poll that matched, a schedule's slot, a webhook request): its
   * inputs, then the queue, which writes the execution and this trigger's state in one
   * transaction. Returns what the queue answered; undefined when nothing new started (inputs
   * refused, logged; or a slot already fired).
   */
  async #fire(
    def: Definition,
    r: Evaluation,
    written: TriggerState,
    writes: Writes,
  ): Promise<Fired | undefined> {
    const id = r.executionId ?? newId();
    let inputs: Record<string, unknown>;
    try {
      inputs = def.instance.inputs ? def.instance.inputs(r.vars) : {};
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      this.#host.logger.error(
        `trigger ${this.key}: ${r.summary}: not run: ${this.#host.masker.mask(err.message)}`,
      );
      await writes.save(written);
      return undefined;
    }
    this.state.fired++;
    written.fired = this.state.fired;
    written.executionId = id;
    this.state.executionId = id;
    const fired = await writes.submit(def.flow, {
      id,
      inputs,
      trigger: r.vars,
      triggerId: def.node.id,
      triggerType: def.node.type,
      createdAt: r.createdAt,
      state: written,
    });
    if (!fired.created) return undefined;
    this.#host.logger.info(
      r.announce?.(this.key, id) ??
        // A Double, as trigger.value prints it (Kestra's StatsTrigger output): 87.0, not 87.
        `trigger ${this.key} fired (value ${typeof r.value === 'number' ? javaText(new JavaDouble(r.value)) : String(r.value)}): execution ${id}`,
    );
    return fired;
  }

  /** A request fired this trigger (a webhook): its inputs (InvalidInputError when refused), then the queue. */
  async fireNow(vars: Record<string, unknown>): Promise<Fired> {
    const def = this.#def;
    const inputs = def.instance.inputs ? def.instance.inputs(vars) : {};
    const fired = await this.#host.submit(def.flow, {
      id: newId(),
      inputs,
      trigger: vars,
      triggerId: def.node.id,
      triggerType: def.node.type,
    });
    this.#follow(def, fired);
    return fired;
  }

  #follow(def: Definition, fired: Fired): void {
    const base = {
      executionId: fired.id,
      namespace: def.flow.namespace,
      flowId: def.flow.id,
      trigger: this.key,
    };
    const started = this.#host.clock.now();
    this.#host.emit({ type: 'execution-started', ...base });
    const running = fired.done.then(async (ex) => {
      this.#host.emit({
        type: 'execution-ended',
        ...base,
        state: ex?.state ?? 'INTERRUPTED',
        durationMs: this.#host.clock.now() - started,
      });
      if (ex && def.node.stopAfter?.includes(ex.state)) {
        this.state.stopped = true;
        this.disarm();
        this.#host.logger.info(
          `trigger ${this.key}: stopped after an execution ended ${ex.state} (stopAfter)`,
        );
        await this.#host.save(copy(this.state));
      }
    });
    const tracked = running.catch((err: unknown) =>
      this.#host.logger.error(`trigger ${this.key}: ${this.#host.masker.mask(String(err))}`),
    );
    // Overlapping kinds do not wait for their executions; the others skip evaluations meanwhile.
    if (def.instance.overlapping) return;
    this.#running = tracked;
    void tracked.finally(() => {
      if (this.#running === tracked) this.#running = undefined;
    });
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
      observed: d.instance.observed === true,
      file: d.file,
      evaluating: this.#evaluating !== undefined,
      running: this.#running !== undefined,
      recent: this.recent.map((p) => ({ ...p })),
    };
  }
}

/**
 * Evaluates every trigger of the flows at its due times and fires them, with Kestra's semantics
 * (a polled trigger is not evaluated while its previous execution runs; a schedule fires every
 * slot) plus CROSSING firing, shared polls, and state kept in the runtime's store.
 */
export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #masker: Masker;
  readonly #clock: Clock;
  readonly #slots = new Map<string, TriggerSlot>();
  /** Slots whose flow or trigger went away while they were busy. */
  readonly #retired = new Set<TriggerSlot>();
  /** The states read at start, taken by each trigger when it is first seen. */
  readonly #stored = new Map<string, TriggerState>();
  readonly #listeners = new Set<(event: SchedulerEvent) => void>();
  readonly #shutdown = new AbortController();
  readonly #triggerEnv: TriggerEnv;
  readonly #host: SlotHost;
  #started = false;
  #stopping = false;
  #stopped: Promise<void> | undefined;

  constructor(options: SchedulerOptions) {
    this.#o = options;
    this.#masker = options.masker ?? new Masker();
    this.#clock = options.clock ?? systemClock;
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
      logger: options.logger,
      masker: this.#masker,
      shutdown: this.#shutdown.signal,
      slots: options.slots,
      get stopping() {
        return isStopping();
      },
      emit: (e) => this.#emit(e),
      save: async (state) => {
        await options.save(state);
      },
      submit: async (flow, firing) => options.submit(flow, firing),
    };
  }

  /** Read-only views of every trigger. */
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

  /**
   * Takes the flows as the registry has them now: new triggers get a slot, changed ones a new
   * definition, gone ones are retired. A trigger whose properties are refused keeps its previous
   * definition (logged); at start-up (`initial`) every such problem is thrown at once.
   */
  sync(flows: readonly Flow[], initial = false): void {
    const problems: string[] = [];
    const defs = new Map<string, Definition>();
    for (const flow of flows) {
      if (flow.disabled) continue;
      for (const node of flow.triggers) {
        if (node.disabled || !isSchedulable(node.type)) continue;
        const key = `${flow.namespace}.${flow.id}.${node.id}`;
        const slot = this.#slots.get(key);
        if (slot && slot.def.flow === flow) {
          defs.set(key, slot.def);
          continue;
        }
        try {
          defs.set(key, {
            file: flow.file,
            flow,
            node,
            instance: createTrigger(flow, node, this.#triggerEnv),
          });
        } catch (err) {
          if (!(err instanceof InvalidInputError)) throw err;
          if (initial) problems.push(err.message);
          else this.#o.logger.error(`${flow.file}: ${err.message}`);
          if (slot) defs.set(key, slot.def);
        }
      }
    }
    if (problems.length) throw new InvalidInputError(problems.join('\n'));
    for (const [key, slot] of this.#slots) {
      if (defs.has(key)) continue;
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
        if (slot.def !== def) slot.redefine(def);
        continue;
      }
      const state = this.#stored.get(key) ?? { key, armed: true, fired: 0, failures: 0 };
      this.#stored.delete(key);
      const fresh = new TriggerSlot(key, def, state, this.#host);
      this.#slots.set(key, fresh);
      if (this.#started) this.#arm(fresh);
    }
  }

  /**
   * The triggers' states as stored (before `start()`): each trigger takes its own, now or when its
   * flow appears.
   */
  restore(states: Iterable<TriggerState>): void {
    for (const st of states) {
      const slot = this.#slots.get(st.key);
      if (slot) Object.assign(slot.state, st);
      else this.#stored.set(st.key, st);
    }
  }

  /**
   * Fires a trigger from outside (a webhook request). Undefined when the flow has no such trigger
   * here; InvalidInputError when its inputs are refused.
   */
  fire(flow: Flow, triggerId: string, vars: Record<string, unknown>): Promise<Fired> | undefined {
    if (this.#stopping) return undefined;
    const slot = this.#slots.get(`${flow.namespace}.${flow.id}.${triggerId}`);
    return slot?.fireNow(vars);
  }

  /** Resolves when no evaluation is in flight (unless `evaluations: false`) and no followed execution runs. */
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

  /** Arms every trigger's timer (a trigger never evaluated is due at its kind's first due time). */
  start(): void {
    if (this.#started || this.#stopping) return;
    this.#started = true;
    for (const slot of this.#slots.values()) this.#arm(slot);
  }

  #arm(slot: TriggerSlot): void {
    // Its last execution, resumed by the queue after a restart, still holds a polled trigger.
    const id = slot.state.executionId;
    const running = id && !slot.def.instance.overlapping ? this.#o.running?.(id) : undefined;
    if (running) slot.follow(running);
    slot.arm();
  }

  /**
   * Stops: no new evaluation, in-flight ones are aborted (their HTTP calls too). Executions are
   * the queue's: they are waited for (or interrupted) there.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    for (const slot of this.#slots.values()) slot.disarm();
    this.#shutdown.abort(new Error('the server is stopping'));
    const slots = [...this.#slots.values(), ...this.#retired];
    await Promise.all(slots.map((s) => s.evaluating ?? Promise.resolve()));
    this.#emit({ type: 'stopped' });
  }
}

function fieldName(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
