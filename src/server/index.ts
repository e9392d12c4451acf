import { RunFailedError } from '../errors.js';
import type { Masker } from '../masker.js';
import { Scheduler } from '../flow/scheduler.js';
import type { Logger } from '../logger.js';
import type { TaskContext } from '../tasks/task.js';
import { type ApiDeps, executionRoutes, webhookRoutes } from './api.js';
import { FlowRegistry } from './flows.js';
import { checkApiToken, createApp, type HttpServer, type Listen, listen, type RouteModule } from './http.js';
import { serverSource } from './dashboard/source.js';
import { observability } from './observability.js';
import { ExecutionQueue } from './queue.js';
import { ScheduleRunner } from './schedule.js';
import { StateDirLock } from './state-lock.js';

export interface ServerOptions {
  paths: string[];
  stateDir: string;
  logger: Logger;
  masker: Masker;
  listen: Listen;
  /** Bearer token of the HTTP API (required off loopback). */
  apiToken?: string | undefined;
  env?: NodeJS.ProcessEnv;
  secretsFile?: string | undefined;
  client?: TaskContext['client'];
  write?: (line: string) => void;
  jsonLogs?: boolean | undefined;
  /** More routes on the same listener (dashboard, metrics…), built from the server's parts. */
  routes?: ((parts: ServerParts) => RouteModule)[];
}

/** What route modules may use: the flows, the executions, the triggers. */
export interface ServerParts {
  flows: FlowRegistry;
  queue: ExecutionQueue;
  scheduler: Scheduler;
  schedules: ScheduleRunner;
  logger: Logger;
}

export interface RunningServer {
  http: HttpServer;
  scheduler: Scheduler;
  schedules: ScheduleRunner;
  queue: ExecutionQueue;
  flows: FlowRegistry;
  /** How many triggers are scheduled (StatsTrigger and Schedule). */
  triggers: number;
  /** Stops scheduling and listening, then waits (bounded) for running executions. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * The standalone server: StatsTriggers polled by the Scheduler, Schedule triggers, and the HTTP API
 * (executions, webhooks, /healthz) on one listener. Flows are validated before anything starts.
 */
export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const apiToken = checkApiToken(o.listen, o.apiToken);
  o.masker.addCredential(apiToken);
  const env = o.env ?? process.env;
  // Before anything is read or written there: two servers on one folder would both fire.
  const lock = StateDirLock.acquire(o.stateDir);
  try {
    return await start(o, apiToken, env, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function start(
  o: ServerOptions,
  apiToken: string | undefined,
  env: NodeJS.ProcessEnv,
  lock: StateDirLock,
): Promise<RunningServer> {
  const scheduler = new Scheduler({
    paths: o.paths,
    stateDir: o.stateDir,
    logger: o.logger,
    env,
    masker: o.masker,
    secretsFile: o.secretsFile,
    client: o.client,
    write: o.write,
    jsonLogs: o.jsonLogs,
  });
  scheduler.load(true);
  const flows = new FlowRegistry(o.paths, o.logger);
  flows.load(true);
  const render = { env, masker: o.masker, secretsFile: o.secretsFile };
  const queue = new ExecutionQueue({
    store: scheduler.store,
    logger: o.logger,
    find: (ns, id) => flows.find(ns, id),
    run: {
      env,
      secretsFile: o.secretsFile,
      masker: o.masker,
      client: o.client,
      write: o.write,
      jsonLogs: o.jsonLogs,
    },
  });
  const schedules = new ScheduleRunner({ flows, queue, stateDir: o.stateDir, logger: o.logger, render });
  const deps: ApiDeps = { flows, queue, render, logger: o.logger };
  const observe = observability(serverSource({ scheduler, flows, masker: o.masker }));
  const app = createApp({
    apiToken,
    logger: o.logger,
    routes: [
      executionRoutes(deps),
      webhookRoutes(deps),
      observe.routes,
      ...(o.routes ?? []).map((build) => build({ flows, queue, scheduler, schedules, logger: o.logger })),
    ],
  });
  let http: HttpServer;
  try {
    http = await listen(app, o.listen);
  } catch (err) {
    observe.close();
    const e = err as NodeJS.ErrnoException;
    throw new RunFailedError(
      `--listen ${o.listen.host}:${o.listen.port}: cannot listen (${e.code ?? e.message})${e.code === 'EADDRINUSE' ? '; the address is in use: pick another port with --listen' : ''}`,
    );
  }
  void scheduler.recover(); // the replays are each entry's running execution, awaited on stop
  queue.recover();
  scheduler.start();
  schedules.start();
  return {
    http,
    scheduler,
    schedules,
    queue,
    flows,
    triggers: scheduler.triggers().length + schedules.triggers().length,
    async stop(timeoutMs = 30_000) {
      try {
        schedules.stop();
        observe.close(); // ends the dashboards' event streams, which would hold the listener open
        await http.close();
        await scheduler.stop(timeoutMs);
        if (queue.running)
          o.logger.info(`waiting for ${queue.running} execution(s) started over HTTP or by a schedule`);
        await queue.idle(timeoutMs);
      } finally {
        lock.release();
      }
    },
  };
}
