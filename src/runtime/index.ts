/**
 * The server's runtime, apart from HTTP: the flows (FlowRegistry, the one loader), the triggers
 * (the Scheduler: every kind registered with registerTriggerKind, webhooks included, fires
 * through it), and the one durable execution queue every firing and the API submit to. It holds
 * the state folder's lock, and has one recovery path: start() resumes, from the store, every
 * execution a crash or a shutdown interrupted (replicas: claims the queued executions and the
 * expired leases, now and a few times a second), then arms the triggers from their stored state.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Scheduler, type SlotClaims, type Submit } from '../flow/scheduler.js';
import type { RenderEnv } from '../flow/trigger.js';
import type { Logger } from '../logger.js';
import type { Masker } from '../masker.js';
import { Webhook } from '../tasks/core/Webhook.js';
import type { PointsFetcher } from '../tasks/stats/StatsTrigger.js';
import type { TaskContext } from '../tasks/task.js';
import { type Clock, systemClock } from '../clock.js';
import { FlowRegistry } from './flows.js';
import { ExecutionQueue } from './queue.js';
import { importStateDir } from './legacy.js';
import { SqliteStore } from './sqlite.js';
import { StateDirLock } from './state-lock.js';
import type { ExecutionStore } from './store.js';

/** How long ended executions are kept when `retentionMs` is not given: 30 days. */
export const DEFAULT_RETENTION_MS = 30 * 24 * 3600 * 1000;
const PRUNE_EVERY_MS = 3600 * 1000;
/** Replicas: claimed trigger slots are forgotten after this (a Schedule slot's execution id stays). */
const SLOTS_KEPT_MS = 3600 * 1000;
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
  /** `retentionMs` as the user gave it (`P30D`, `PT1M`), for the log; default: in days. */
  retention?: string | undefined;
  /** The triggers' time and timers, and the flow files' rescans; a ManualClock in tests. */
  clock?: Clock | undefined;
  /** How often the flow files are looked at for changes (ms of `clock`); default 1 s. */
  rescanMs?: number | undefined;
  /** Where StatsTriggers get their points (default: the Fastly API); tests pass a fake. */
  fetchPoints?: PointsFetcher | undefined;
  /**
   * Where executions are kept: a shared store (PgStore), closed by stop(); one with `replicas` makes
   * this runtime a replica (executions claimed and leased, trigger slots claimed once). Without it,
   * the embedded one (runtime.db in the state folder). Either imports a state folder from before it.
   */
  store?: ExecutionStore | undefined;
  /** Replicas: how often queued executions and kills are looked for (default 250 ms). */
  pollMs?: number | undefined;
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
    // The flows first: a server refused for its flows leaves no state folder behind.
    this.flows = new FlowRegistry(o.paths, o.logger, () => this.#clock.now(), { env: o.env });
    this.flows.load(true);
    // Before anything is read or written there: two servers on one folder would both fire.
    this.#lock = StateDirLock.acquire(o.stateDir);
    try {
      mkdirSync(o.stateDir, { recursive: true });
      const store: ExecutionStore = o.store ?? new SqliteStore(join(o.stateDir, 'runtime.db'));
      this.store = store;
      this.render = { env: o.env, masker: o.masker, secretsFile: o.secretsFile };
      this.queue = new ExecutionQueue({
        store,
        logger: o.logger,
        find: (ns, id) => this.flows.find(ns, id),
        pollMs: o.pollMs,
        clock: this.#clock,
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
      // Replicas: each due slot is claimed by one of them, in one transaction with what it fires.
      const replicas = store.replicas;
      const slots: SlotClaims | undefined = replicas && {
        peek: (key, at) => replicas.peekSlot(key, at),
        claim: (key, at, work) =>
          replicas.slot(key, at, (tx) =>
            work({
              state: tx.state,
              running: tx.running,
              submit: (flow, firing) => this.queue.submit(flow, { ...firing, via: tx }),
              save: (state) => tx.save(state),
            }),
          ),
      };
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
        ...(slots ? { slots } : {}),
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
    // A state folder from before the store, once (for a shared store, each replica's own folder).
    const file = (this.store as { file?: string }).file ?? 'the store';
    await importStateDir(
      this.#o.stateDir,
      this.store,
      this.#o.logger,
      file,
      this.#o.store ? `import:${join(this.#o.stateDir, 'executions.jsonl')}` : undefined,
    );
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
      // Replicas: nothing more is claimed; leases are renewed until the executions here end.
      this.queue.stopClaiming();
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
      await this.queue.close();
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
      await this.store.replicas?.pruneSlots(SLOTS_KEPT_MS);
      if (n)
        this.#o.logger.info(
          `retention: deleted ${n} execution(s) ended over ${this.#o.retention ?? `${Math.round(keepMs / 86_400_000)} day(s)`} ago`,
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
