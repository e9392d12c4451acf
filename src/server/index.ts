import { join } from 'node:path';
import type { Masker } from '../masker.js';
import { Scheduler } from '../flow/scheduler.js';
import type { Logger } from '../logger.js';
import type { TaskContext } from '../tasks/task.js';
import { type ApiDeps, executionRoutes, webhookRoutes } from './api.js';
import { FlowRegistry } from './flows.js';
import {
  checkApiToken,
  checkListen,
  createApp,
  type HttpServer,
  type Listen,
  listen,
  listenFailure,
  type RouteModule,
} from './http.js';
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
  // Nothing is created (the --state-dir, its lock) for a server that could not listen.
  await checkListen(o.listen);
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
  // StatsTrigger firings go through the one durable queue below, like webhooks, the API and schedules.
  const scheduler: Scheduler = new Scheduler({
    submit: (flow, f) => queue.submit(flow, { inputs: {}, ...f }).done,
    interruptSubmitted: () => queue.interrupt(),
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
  // The scheduler logs each change of a flow file; the registry watches the same files quietly.
  const flows = new FlowRegistry(o.paths, o.logger, Date.now, { logChanges: false });
  flows.load(true);
  const render = { env, masker: o.masker, secretsFile: o.secretsFile };
  const queue: ExecutionQueue = new ExecutionQueue({
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
  const observe = observability(serverSource({ scheduler, flows, masker: o.masker, schedules }), {
    dashboard: { dir: join(o.stateDir, 'dashboard') },
  });
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
    throw listenFailure(o.listen, err);
  }
  // One recovery path: the queue resumes every execution a crash interrupted; a trigger whose
  // firing was being started then waits for that execution (or submits it, if the crash came first).
  queue.recover();
  void scheduler.recover(); // the replays are each entry's running execution, awaited on stop
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

const iso = (ms: number | undefined) =>
  ms === undefined ? 'none within a year' : new Date(ms).toISOString().replace('.000Z', 'Z');

/**
 * What a server is about to do, as the lines it logs at start-up: each flow with its file and its
 * triggers (a StatsTrigger's condition, a Schedule's next run, a Webhook's route), or, with no flows,
 * where to put them.
 */
export function describeFlows(
  paths: string[],
  parts: Pick<ServerParts, 'flows' | 'scheduler' | 'schedules'>,
  nowMs = Date.now(),
): string[] {
  const flows = parts.flows.all();
  if (!flows.length)
    return [
      `no flows in ${paths.join(', ')}: add flow files (.yml) there, e.g. a copy of examples/fastly_error_alert.yml; new files are picked up without a restart`,
    ];
  const stats = new Map(parts.scheduler.triggers().map((t) => [t.key, t]));
  const next = parts.schedules.nextRuns(nowMs);
  const lines = [`${flows.length} flow(s) from ${paths.join(', ')}:`];
  for (const flow of [...flows].sort((a, b) => a.file.localeCompare(b.file))) {
    const name = `${flow.namespace}.${flow.id}`;
    const triggers = flow.triggers.map((t) => {
      const key = `${name}.${t.id}`;
      const kind = t.type.split('.').pop() as string;
      const s = stats.get(key);
      let what = '';
      if (flow.disabled || t.disabled) what = 'disabled';
      else if (s) {
        const v = s.settings;
        what = `${v.aggregation}(${v.field}) over ${v.window} ${v.comparator} ${v.threshold}, every ${v.interval}`;
      } else if (next.has(key)) what = `${String(t.props.cron)}, next run ${iso(next.get(key))}`;
      else if (kind === 'Webhook')
        what = `POST /api/v1/main/executions/webhook/${flow.namespace}/${flow.id}/<key>`;
      return `${t.id} (${kind}${what ? `: ${what}` : ''})`;
    });
    lines.push(
      `  ${name} (${flow.file})${flow.disabled ? ' disabled' : ''}: ${
        triggers.length ? `trigger ${triggers.join('; ')}` : 'no trigger; run it over the executions API'
      }`,
    );
  }
  return lines;
}
