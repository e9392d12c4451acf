/**
 * The server's runtime, apart from HTTP: the flows (FlowRegistry), the triggers (the Scheduler's
 * StatsTriggers, the ScheduleRunner's schedules; webhooks come in through src/server/api.ts), and
 * the one durable execution queue every trigger kind and the API submit to. It holds the state
 * folder's lock, and has one recovery path: start() resumes, from the queue's journals, every
 * execution a crash or a shutdown interrupted, then arms the triggers.
 */
import { Scheduler, type Submit } from '../flow/scheduler.js';
import type { Logger } from '../logger.js';
import type { Masker } from '../masker.js';
import type { TaskContext } from '../tasks/task.js';
import { FlowRegistry } from './flows.js';
import { ExecutionQueue } from './queue.js';
import type { RenderEnv } from './render.js';
import { ScheduleRunner } from './schedule.js';
import { StateDirLock } from './state-lock.js';

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
}

export class Runtime {
  readonly flows: FlowRegistry;
  readonly scheduler: Scheduler;
  readonly queue: ExecutionQueue;
  readonly schedules: ScheduleRunner;
  readonly render: RenderEnv;
  readonly #o: RuntimeOptions;
  readonly #lock: StateDirLock;

  /** Takes the state folder's lock and loads the flows (every problem thrown at once). */
  constructor(o: RuntimeOptions) {
    this.#o = o;
    // Before anything is read or written there: two servers on one folder would both fire.
    this.#lock = StateDirLock.acquire(o.stateDir);
    try {
      // StatsTrigger firings go through the one durable queue, like webhooks, the API and schedules.
      const submit: Submit = (flow, f) => this.queue.submit(flow, { inputs: {}, ...f }).done;
      this.scheduler = new Scheduler({
        submit,
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
        store: this.scheduler.store,
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
  start(): void {
    this.queue.recover();
    void this.scheduler.recover(); // the replays are each entry's running execution, awaited on stop
    this.scheduler.start();
    this.schedules.start();
  }

  /** No new firing; running executions get `timeoutMs`, then are interrupted (resumed at the next start). */
  async stop(timeoutMs = 30_000): Promise<void> {
    try {
      this.schedules.stop();
      await this.scheduler.stop(timeoutMs);
      if (this.queue.running)
        this.#o.logger.info(
          `waiting for ${this.queue.running} execution(s) started over HTTP or by a schedule`,
        );
      await this.queue.idle(timeoutMs);
    } finally {
      this.#lock.release();
    }
  }

  /** Releases the state folder without starting (a failed start-up). */
  release(): void {
    this.#lock.release();
  }

  /** Interrupts running executions (a second Ctrl-C): they are resumed at the next start. */
  interrupt(): void {
    this.scheduler.interrupt();
    this.queue.interrupt();
  }
}
