import { join } from 'node:path';
import type { Clock } from '../src/clock.js';
import type { TestContext } from 'node:test';
import { createLogger } from '../src/logger.js';
import { Masker } from '../src/masker.js';
import { type RunningServer, startServer } from '../src/server/index.js';
import { sim } from './helpers.js';

type Sim = Awaited<ReturnType<typeof sim>>;

export const FASTLY_TOKEN = 'fastly-token-kestra-api-0001';
/** The secret `HOOK_KEY` the flows' webhooks read. */
export const HOOK_KEY = 'hook-key-0123456789';

export interface KestraServerOptions {
  /** Holds `flows/` (read) and `state/` (written). */
  dir: string;
  apiToken?: string;
  users?: { username: string; password: string }[];
  /** postgres://… : executions in PostgreSQL; the embedded SQLite file otherwise. */
  databaseUrl?: string | undefined;
  /** The triggers' and the queue's time; default the system's. */
  clock?: Clock | undefined;
}

/** The two stores every API test runs on (test/support/postgres.ts gives the PostgreSQL one). */
export const STORES = ['SQLite', 'PostgreSQL'] as const;
export type StoreName = (typeof STORES)[number];

/**
 * A server in this process on a free loopback port, against the simulator at a realistic latency
 * (100–200 ms), stopped after the test. `logs` collects what it logs.
 */
export async function startKestraServer(
  t: TestContext,
  options: KestraServerOptions,
): Promise<{ server: RunningServer; url: string; dir: string; logs: string[]; sim: Sim }> {
  const s = await sim(t, { faults: { latencyMs: 100, latencyJitterMs: 100 } });
  const { dir } = options;
  const masker = new Masker();
  const logs: string[] = [];
  const server = await startServer({
    paths: [join(dir, 'flows')],
    stateDir: join(dir, 'state'),
    logger: createLogger({ write: (l) => logs.push(l), masker }),
    write: (l) => logs.push(l),
    masker,
    env: { FASTLY_API_TOKEN: FASTLY_TOKEN, FASTLY_API_ENDPOINT: s.url, HOOK_KEY },
    listen: { host: '127.0.0.1', port: 0 },
    apiToken: options.apiToken,
    basicUsers: options.users,
    databaseUrl: options.databaseUrl,
    clock: options.clock,
  });
  t.after(() => server.stop(5000));
  return { server, url: server.http.url, dir, logs, sim: s };
}
