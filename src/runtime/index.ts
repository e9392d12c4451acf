/**
 * The server's runtime, apart from HTTP: the flows (FlowRegistry), the triggers (the Scheduler's
 * StatsTriggers, the ScheduleRunner's schedules; webhooks come in through src/server/api.ts), and
 * the one durable execution queue every trigger kind and the API submit to. It holds the state
 * folder's lock, and has one recovery path: start() resumes, from the queue's journals, every
 * execution a crash or a shutdown interrupted, then arms the triggers.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Scheduler, type Submit } from '../flow/scheduler.js';
import { StateStore } from '../flow/state.js';
import type { Logger } from '../logger.js';
import type { Masker } from '../masker.js';
import type { TaskContext } from '../tasks/task.js';
import { FlowRegistry } from './flows.js';
import { ExecutionQueue } from './queue.js';
import type { RenderEnv } from './render.js';
import { ScheduleRunner } from './schedule.js';
import { SqliteStore } from './sqlite.js';
import { StateDirLock } from './state-lock.js';
import type { ExecutionStore, Submission } from './store.js';

/** How long ended executions are kept when `retentionMs` is not given: 30 days. */
export const DEFAULT_RETENTION_MS = 30 * 24 * 3600 * 1000;
const PRUNE_EVERY_MS = 3600 * 1000;

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
}

export class Runtime {
  readonly flows: FlowRegistry;
  readonly scheduler: Scheduler;
  readonly queue: ExecutionQueue;
  readonly schedules: ScheduleRunner;
  readonly render: RenderEnv;
  readonly store: ExecutionStore;
  readonly #o: RuntimeOptions;
  readonly #lock: StateDirLock;
  #pruner: NodeJS.Timeout | undefined;

  /** Takes the state folder's lock and loads the flows (every problem thrown at once). */
  constructor(o: RuntimeOptions) {
    this.#o = o;
    // Before anything is read or written there: two servers on one folder would both fire.
    this.#lock = StateDirLock.acquire(o.stateDir);
    try {
      mkdirSync(o.stateDir, { recursive: true });
      const store = new SqliteStore(join(o.stateDir, 'runtime.db'));
      this.store = store;
      importLegacy(o.stateDir, store, o.logger);
      // StatsTrigger firings go through the one durable queue, like webhooks, the API and schedules.
      const submit: Submit = async (flow, f) => (await this.queue.submit(flow, { inputs: {}, ...f })).done;
      this.scheduler = new Scheduler({
        submit,
        recorded: (id) => this.queue.finished(id),
        interruptSubmitted: () => this.queue.interrupt(),
        paths: o.paths,
        stateDir: o.stateDir,
        logger: o.logger,
        env: o.env,
        masker: o.masker,
        secretsFile: o.secretsFile,
        client: o.client,
        write: o.write,
        jsonLogs: o.jsonLogs,
      });
      this.scheduler.load(true);
      // The scheduler logs each change of a flow file; the registry watches the same files quietly.
      this.flows = new FlowRegistry(o.paths, o.logger, Date.now, { logChanges: false });
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
      this.schedules = new ScheduleRunner({
        flows: this.flows,
        queue: this.queue,
        stateDir: o.stateDir,
        logger: o.logger,
        render: this.render,
      });
    } catch (err) {
      this.#lock.release();
      throw err;
    }
  }

  /** How many triggers are scheduled (StatsTrigger and Schedule). */
  get triggers(): number {
    return this.scheduler.triggers().length + this.schedules.triggers().length;
  }

  /**
   * The one recovery path, then the triggers: the queue resumes every execution a crash left
   * unfinished; a trigger whose firing was being started then waits for that execution (or
   * submits it, if the crash came before the queue had it).
   */
  async start(): Promise<void> {
    await this.#prune();
    this.#pruner = setInterval(() => void this.#prune(), PRUNE_EVERY_MS).unref();
    // Queued first: a trigger's replay below finds its execution already resumed.
    await this.queue.recover();
    // The replays are each entry's running execution, awaited on stop.
    void (await this.scheduler.recover());
    this.scheduler.start();
    this.schedules.start();
  }

  /** No new firing; running executions get `timeoutMs`, then are interrupted (resumed at the next start). */
  async stop(timeoutMs = 30_000): Promise<void> {
    clearInterval(this.#pruner);
    try {
      this.schedules.stop();
      await this.scheduler.stop(timeoutMs);
      if (this.queue.running)
        this.#o.logger.info(
          `waiting for ${this.queue.running} execution(s) started over HTTP or by a schedule`,
        );
      await this.queue.idle(timeoutMs);
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
    this.scheduler.interrupt();
    this.queue.interrupt();
  }
}

/**
 * A state folder written before the embedded database (executions.jsonl, queue/*.json) is imported
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
