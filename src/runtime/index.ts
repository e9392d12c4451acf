/**
 * The server's runtime, apart from HTTP: the flows (FlowRegistry, the one loader), the triggers
 * (the Scheduler: every kind registered with registerTriggerKind, webhooks included, fires
 * through it), and the one durable execution queue every firing and the API submit to. It holds
 * the state folder's lock, and has one recovery path: start() resumes, from the store, every
 * execution a crash or a shutdown interrupted, then arms the triggers from their stored state.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Scheduler, type Submit } from '../flow/scheduler.js';
import { StateStore, type TriggerState } from '../flow/state.js';
import type { RenderEnv } from '../flow/trigger.js';
import type { Logger } from '../logger.js';
import type { Masker } from '../masker.js';
import { Webhook } from '../tasks/core/Webhook.js';
import type { PointsFetcher } from '../tasks/stats/StatsTrigger.js';
import type { TaskContext } from '../tasks/task.js';
import { type Clock, systemClock } from '../clock.js';
import { FlowRegistry } from './flows.js';
import { ExecutionQueue } from './queue.js';
import { SqliteStore } from './sqlite.js';
import { StateDirLock } from './state-lock.js';
import type { ExecutionStore, Submission } from './store.js';

/** How long ended executions are kept when `retentionMs` is not given: 30 days. */
export const DEFAULT_RETENTION_MS = 30 * 24 * 3600 * 1000;
const PRUNE_EVERY_MS = 3600 * 1000;
/** How often the flow files are looked at for changes. */
const RESCAN_MS = 1000;

export interface RuntimeOptions {
  paths: string[];
  stateDir: string;
  logger: Logger;
  masker: Masker;
  env: NodeJS.ProcessEnv;
  secretsFile?: string | undefined;
  client?: TaskContext['client'];
  write?: ((line: string) => void) | undefined;
  jsonLogs?: boolean | undefined;
  /** Ended executions older than this are deleted (at start, then hourly); default 30 days. */
  retentionMs?: number | undefined;
  /** The triggers' time and timers, and the flow files' rescans; a ManualClock in tests. */
  clock?: Clock | undefined;
  /** How often the flow files are looked at for changes (ms of `clock`); default 1 s. */
  rescanMs?: number | undefined;
  /** Where StatsTriggers get their points (default: the Fastly API); tests pass a fake. */
  fetchPoints?: PointsFetcher | undefined;
  /**
   * Where executions are kept: a shared store (PgStore), closed by stop(). Without it, the embedded
   * one (runtime.db in the state folder), which also imports a state folder from before it.
   */
  store?: ExecutionStore | undefined;
}

export class Runtime {
  readonly flows: FlowRegistry;
  readonly scheduler: Scheduler;
  readonly queue: ExecutionQueue;
  readonly render: RenderEnv;
  readonly store: ExecutionStore;
  readonly #o: RuntimeOptions;
  readonly #lock: StateDirLock;
  readonly #clock: Clock;
  #pruner: NodeJS.Timeout | undefined;
  #cancelRescan: (() => void) | undefined;

  /** Takes the state folder's lock and loads the flows (every problem thrown at once). */
  constructor(o: RuntimeOptions) {
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    // Before anything is read or written there: two servers on one folder would both fire.
    this.#lock = StateDirLock.acquire(o.stateDir);
    try {
      mkdirSync(o.stateDir, { recursive: true });
      let store: ExecutionStore;
      if (o.store) store = o.store;
      else {
        const sqlite = new SqliteStore(join(o.stateDir, 'runtime.db'));
        importLegacy(o.stateDir, sqlite, o.logger);
        importTriggerStates(o.stateDir, sqlite, o.logger);
        store = sqlite;
      }
      this.store = store;
      this.flows = new FlowRegistry(o.paths, o.logger, () => this.#clock.now(), { env: o.env });
      this.flows.load(true);
      this.render = { env: o.env, masker: o.masker, secretsFile: o.secretsFile };
      this.queue = new ExecutionQueue({
        store,
        logger: o.logger,
        find: (ns, id) => this.flows.find(ns, id),
        run: {
          env: o.env,
          secretsFile: o.secretsFile,
          masker: o.masker,
          client: o.client,
          write: o.write,
          jsonLogs: o.jsonLogs,
        },
      });
      // Every firing (a poll, a slot, a webhook request) goes through the one durable queue.
      const submit: Submit = (flow, firing) => this.queue.submit(flow, firing);
      this.scheduler = new Scheduler({
        submit,
        save: (state) => store.saveTriggerState(state),
        running: (id) => this.queue.done(id),
        logger: o.logger,
        env: o.env,
        masker: o.masker,
        secretsFile: o.secretsFile,
        client: o.client,
        clock: this.#clock,
        ...(o.fetchPoints ? { fetchPoints: o.fetchPoints } : {}),
      });
      this.scheduler.sync(this.flows.all(), true);
      this.flows.onChange = (flows) => this.scheduler.sync(flows);
    } catch (err) {
      this.#lock.release();
      throw err;
    }
  }

  /** How many triggers are scheduled (StatsTrigger and Schedule; webhooks wait for requests). */
  get triggers(): number {
    return this.scheduler.triggers().filter((t) => t.type !== Webhook.type).length;
  }

  /**
   * The one recovery path, then the triggers: the queue resumes every execution a crash left
   * unfinished; a polled trigger whose execution is among them waits for it; then every trigger
   * is armed from its stored state.
   */
  async start(): Promise<void> {
    await this.#prune();
    this.#pruner = setInterval(() => void this.#prune(), PRUNE_EVERY_MS).unref();
    // Queued first: a polled trigger then finds its execution running.
    await this.queue.recover();
    this.scheduler.restore(await this.store.triggerStates());
    this.scheduler.start();
    const every = this.#o.rescanMs ?? RESCAN_MS;
    const rescan = () => {
      this.flows.refresh();
      this.#cancelRescan = this.#clock.at(this.#clock.now() + every, rescan);
    };
    this.#cancelRescan = this.#clock.at(this.#clock.now() + every, rescan);
  }

  /** No new firing; running executions get `timeoutMs`, then are interrupted (resumed at the next start). */
  async stop(timeoutMs = 30_000): Promise<void> {
    clearInterval(this.#pruner);
    this.#cancelRescan?.();
    try {
      await this.scheduler.stop();
      if (this.queue.running) {
        this.#o.logger.info(`waiting for ${this.queue.running} execution(s) to end`);
        await this.queue.idle(timeoutMs);
      }
      if (this.queue.running) {
        this.queue.interrupt();
        await this.queue.idle();
      }
    } finally {
      try {
        await this.store.close();
      } finally {
        this.#lock.release();
      }
    }
  }

  /** Releases the state folder without starting (a failed start-up). */
  async release(): Promise<void> {
    try {
      await this.store.close();
    } finally {
      this.#lock.release();
    }
  }

  async #prune(): Promise<void> {
    const keepMs = this.#o.retentionMs ?? DEFAULT_RETENTION_MS;
    try {
      const n = await this.store.prune(new Date(Date.now() - keepMs).toISOString());
      if (n)
        this.#o.logger.info(
          `retention: deleted ${n} execution(s) ended over ${Math.round(keepMs / 86_400_000)} day(s) ago`,
        );
    } catch (err) {
      this.#o.logger.error(`retention: ${(err as Error).message}`);
    }
  }

  /** Interrupts running executions (a second Ctrl-C): they are resumed at the next start. */
  interrupt(): void {
    this.queue.interrupt();
  }
}

/**
 * A history written before the embedded database (executions.jsonl, queue/*.json) is imported
 * into it once, and the log says so. The old files are left as they were (executions.jsonl) or
 * removed once imported (queued submissions, which the database now resumes).
 */
function importLegacy(stateDir: string, sqlite: SqliteStore, logger: Logger): void {
  const store = sqlite.sync; // one synchronous transaction
  const history = join(stateDir, 'executions.jsonl');
  if (existsSync(history) && !store.mark('import:executions.jsonl')) {
    const legacy = new StateStore(stateDir, (m) => logger.warn(m));
    const records = legacy.history();
    store.batch(() => {
      for (const r of records) {
        store.enqueue({
          id: r.id,
          namespace: r.namespace,
          flowId: r.flowId,
          inputs: {},
          ...(r.trigger ? { trigger: r.trigger } : {}),
          ...(r.triggerId ? { triggerId: r.triggerId } : {}),
          createdAt: r.startDate,
        });
        store.started(r.id, r.startDate);
        store.finish({
          id: r.id,
          state: r.state,
          endDate: r.endDate,
          durationMs: r.durationMs,
          error: r.error,
          outputs: legacy.outputs(r) ?? {},
          taskRuns: [],
        });
      }
      store.mark('import:executions.jsonl', true);
    });
    logger.info(
      `imported ${records.length} execution(s) from ${history} into ${store.file} (once; the old file is no longer read)`,
    );
  }
  const queued = join(stateDir, 'queue');
  if (!existsSync(queued)) return;
  let n = 0;
  for (const name of readdirSync(queued).sort()) {
    const file = join(queued, name);
    if (name.endsWith('.json')) {
      try {
        const s = JSON.parse(readFileSync(file, 'utf8')) as Submission;
        if (store.enqueue(s)) n++;
      } catch {
        logger.warn(`queued execution ${file} is damaged; not imported`);
        continue;
      }
    }
    rmSync(file, { force: true });
  }
  rmSync(queued, { recursive: true, force: true });
  if (n) logger.info(`imported ${n} queued execution(s) from ${queued} into ${store.file}; they resume now`);
}

/**
 * Trigger states written before the runtime's store, imported once: `triggers/*.json` (StatsTrigger
 * states; a firing not yet in the history is queued and runs now) and `schedules/*.json` (each
 * schedule's last slot). The old files are removed once imported.
 */
function importTriggerStates(stateDir: string, sqlite: SqliteStore, logger: Logger): void {
  const store = sqlite.sync; // one synchronous transaction
  const triggers = join(stateDir, 'triggers');
  const schedules = join(stateDir, 'schedules');
  if (!existsSync(triggers) && !existsSync(schedules)) return;
  const states: TriggerState[] = [];
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
  store.batch(() => {
    for (const s of pending) store.enqueue(s);
    for (const s of states) store.saveTriggerState(s);
  });
  rmSync(triggers, { recursive: true, force: true });
  rmSync(schedules, { recursive: true, force: true });
  if (states.length)
    logger.info(
      `imported the state of ${states.length} trigger(s) from ${stateDir} into ${store.file} (once; the old files are removed)`,
    );
}
