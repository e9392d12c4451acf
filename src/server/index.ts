import { join } from 'node:path';
import { DEFAULT_SERVER_LINGER_MS, PurgeCoordinator } from '../fastly/coordinator.js';
import type { Clock } from '../clock.js';
import type { Masker } from '../masker.js';
import type { Scheduler } from '../flow/scheduler.js';
import type { Logger } from '../logger.js';
import { nextSlot, Schedule, scheduleProps } from '../tasks/core/Schedule.js';
import type { TaskContext } from '../tasks/task.js';
import { type ApiDeps, executionRoutes, webhookRoutes } from './api.js';
import { EventStreams, executionControlRoutes } from './api/executions.js';
import { type AuthConfig, authentication, type BasicUser, checkAuth } from './auth.js';
import { flowRoutes } from './api/flows.js';
import { triggerRoutes } from './api/triggers.js';
import {
  checkListen,
  createApp,
  type HttpServer,
  type Listen,
  listen,
  listenFailure,
  type RouteModule,
} from './app.js';
import { serverSource } from './dashboard/source.js';
import { observability } from './observability.js';
import type { FlowRegistry } from '../runtime/flows.js';
import { Runtime } from '../runtime/index.js';
import { isConnectionError } from '../runtime/pg-client.js';
import type { ExecutionQueue } from '../runtime/queue.js';
import type { ExecutionStore } from '../runtime/store.js';

export interface ServerOptions {
  paths: string[];
  stateDir: string;
  logger: Logger;
  masker: Masker;
  listen: Listen;
  /** Bearer token of the HTTP API (required off loopback). */
  apiToken?: string | undefined;
  /** Where `apiToken` came from, for messages: `--api-token` (default) or `KESTRA_FASTLY_API_TOKEN`. */
  apiTokenFrom?: string | undefined;
  /** Kestra's basic-auth users (`KESTRA_FASTLY_BASIC_AUTH`, `--basic-auth-file`). */
  basicUsers?: BasicUser[] | undefined;
  env?: NodeJS.ProcessEnv;
  secretsFile?: string | undefined;
  client?: TaskContext['client'];
  /**
   * How long a surrogate-key purge waits for others of the same service to share its request (0:
   * off; default 25 ms). Ignored when `client.purges` is given.
   */
  purgeLingerMs?: number | undefined;
  write?: (line: string) => void;
  jsonLogs?: boolean | undefined;
  /** Ended executions older than this are deleted; default 30 days. */
  retentionMs?: number | undefined;
  /** `retentionMs` as the user gave it (`P30D`, `PT1M`), for the log. */
  retention?: string | undefined;
  /**
   * postgres://… : executions in PostgreSQL (PgStore) instead of the embedded SQLite file, as one
   * of any number of replicas on that database (claims, leases, trigger slots claimed once).
   */
  databaseUrl?: string | undefined;
  /** Replicas: how long an execution's claim lasts unrenewed (a dead replica's work is taken over after it). */
  leaseMs?: number | undefined;
  /** Replicas: how often queued executions and kills are looked for (default 250 ms). */
  pollMs?: number | undefined;
  /** The triggers' and the queue's time (a ManualClock in tests); default the system's. */
  clock?: Clock | undefined;
  /** More routes on the same listener (dashboard, metrics…), built from the server's parts. */
  routes?: ((parts: ServerParts) => RouteModule)[];
}

/** What route modules may use: the flows, the executions, the triggers. */
export interface ServerParts {
  flows: FlowRegistry;
  queue: ExecutionQueue;
  scheduler: Scheduler;
  logger: Logger;
}

export interface RunningServer {
  http: HttpServer;
  scheduler: Scheduler;
  queue: ExecutionQueue;
  flows: FlowRegistry;
  /** How many triggers are scheduled (StatsTrigger and Schedule). */
  triggers: number;
  runtime: Runtime;
  /** Stops scheduling and listening, then waits (bounded) for running executions. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * The standalone server: StatsTriggers polled by the Scheduler, Schedule triggers, and the HTTP API
 * (executions, webhooks, /healthz) on one listener. Flows are validated before anything starts.
 */
export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const auth = checkAuth(o.listen, {
    apiToken: o.apiToken,
    apiTokenFrom: o.apiTokenFrom,
    users: o.basicUsers,
  });
  o.masker.addCredential(auth.apiToken);
  for (const u of auth.users ?? []) o.masker.addCredential(u.password);
  // Nothing is created (the --state-dir, its lock) for a server that could not listen.
  await checkListen(o.listen);
  // One purge coordinator for every execution of the server: their key purges coalesce and they
  // share one purge budget (process-wide; replicas do not share it).
  o = {
    ...o,
    client: {
      ...o.client,
      purges:
        o.client?.purges ?? new PurgeCoordinator({ lingerMs: o.purgeLingerMs ?? DEFAULT_SERVER_LINGER_MS }),
    },
  };
  let store: ExecutionStore | undefined;
  if (o.databaseUrl) {
    const { PgStore } = await import('../runtime/postgres.js');
    const { DEFAULT_LEASE_MS, replicaName } = await import('../runtime/claims.js');
    const replica = { owner: replicaName(), leaseMs: o.leaseMs ?? DEFAULT_LEASE_MS };
    const shared = await PgStore.open(o.databaseUrl, { logger: o.logger, replica });
    o.logger.info(
      `executions in ${shared.file}; replica ${replica.owner}, lease ${replica.leaseMs / 1000} s`,
    );
    store = shared;
  }
  let runtime: Runtime;
  try {
    runtime = new Runtime({
      paths: o.paths,
      stateDir: o.stateDir,
      logger: o.logger,
      masker: o.masker,
      env: o.env ?? process.env,
      secretsFile: o.secretsFile,
      client: o.client,
      write: o.write,
      jsonLogs: o.jsonLogs,
      retentionMs: o.retentionMs,
      retention: o.retention,
      store,
      pollMs: o.pollMs,
      clock: o.clock,
    });
  } catch (err) {
    await store?.close();
    throw err;
  }
  try {
    return await start(o, auth, runtime);
  } catch (err) {
    await runtime.release();
    throw err;
  }
}

/** The HTTP side: routes on the runtime's parts, then the listener; the runtime starts once it listens. */
async function start(o: ServerOptions, auth: AuthConfig, runtime: Runtime): Promise<RunningServer> {
  const { flows, queue, scheduler, render } = runtime;
  const deps: ApiDeps = { flows, queue, triggers: scheduler, render, logger: o.logger };
  const observe = observability(
    serverSource({
      scheduler,
      flows,
      masker: o.masker,
      nextRuns: () => nextRuns(scheduler),
      queue,
    }),
    { dashboard: { dir: join(o.stateDir, 'dashboard') } },
  );
  const { middleware, routes: login } = authentication(auth);
  const streams = new EventStreams();
  const app = createApp({
    auth: middleware,
    logger: o.logger,
    unavailable: isConnectionError,
    ready: async () => {
      try {
        await queue.store.ping?.();
        return true;
      } catch {
        return false;
      }
    },
    routes: [
      login,
      // Before executionRoutes: `POST …/executions/{id}/restart` is not a flow `{id}` named restart.
      executionControlRoutes({ queue, streams }),
      executionRoutes(deps),
      webhookRoutes(deps),
      flowRoutes({ flows, masker: o.masker }),
      triggerRoutes({
        flows,
        scheduler,
        masker: o.masker,
        stored: queue.store.replicas ? () => queue.store.triggerStates() : undefined,
      }),
      observe.routes,
      ...(o.routes ?? []).map((build) => build({ flows, queue, scheduler, logger: o.logger })),
    ],
  });
  let http: HttpServer;
  try {
    http = await listen(app, o.listen);
  } catch (err) {
    observe.close();
    throw listenFailure(o.listen, err);
  }
  await runtime.start();
  return {
    http,
    scheduler,
    queue,
    flows,
    triggers: runtime.triggers,
    runtime,
    async stop(timeoutMs = 30_000) {
      observe.close(); // ends the dashboards' event streams, which would hold the listener open
      streams.close(); // ends the follow streams: they read the store, which closes below
      try {
        await http.close();
      } finally {
        await runtime.stop(timeoutMs);
      }
    },
  };
}

/**
 * When each Schedule trigger fires next (epoch ms; undefined: none within a year), by key: its
 * due time, or, given `nowMs`, its first slot after then.
 */
export function nextRuns(scheduler: Scheduler, nowMs?: number): Map<string, number | undefined> {
  const out = new Map<string, number | undefined>();
  for (const t of scheduler.triggers()) {
    if (t.type !== Schedule.type) continue;
    const due =
      nowMs === undefined && t.nextDue !== undefined
        ? t.nextDue
        : nextSlot(scheduleProps.parse(t.node.props), nowMs ?? Date.now());
    out.set(t.key, due !== undefined && Number.isFinite(due) ? due : undefined);
  }
  return out;
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
  parts: Pick<ServerParts, 'flows' | 'scheduler'>,
  nowMs = Date.now(),
): string[] {
  const flows = parts.flows.all();
  if (!flows.length)
    return [
      `no flows in ${paths.join(', ')}: add flow files (.yml) there, e.g. a copy of examples/fastly_error_alert.yml; new files are picked up without a restart`,
    ];
  const all = parts.scheduler.triggers();
  const stats = new Map(all.filter((t) => t.observed).map((t) => [t.key, t]));
  const next = nextRuns(parts.scheduler, nowMs);
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
