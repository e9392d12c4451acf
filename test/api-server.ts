import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../src/logger.js';
import { Masker } from '../src/masker.js';
import { type RunningServer, startServer } from '../src/server/index.js';
import { ServerProcess } from './server-process.js';

/** A `kestra-fastly server` on a free loopback port, with the base URL of its HTTP API. */
export async function apiServer(
  args: string[],
  env: Record<string, string>,
): Promise<{ server: ServerProcess; url: string }> {
  const server = new ServerProcess(args, env);
  await server.waitFor(/HTTP API on http:\/\/\S+/);
  const url = /HTTP API on (http:\/\/\S+)/.exec(server.output)?.[1] as string;
  return { server, url };
}

/**
 * The server as `kestra-fastly server PATHS --state-dir STATE [--database-url URL]` runs it, in this
 * process, on a free loopback port; stopped after test `t` (or by `stop()`, once). For tests of the
 * HTTP API's answers and of what the store keeps across a restart (stop, then start another on the
 * same state): a process of its own each proves nothing more. What only a process shows (kill -9,
 * a refusal to start, what it prints) stays on `apiServer`. `logs` collects what it logs.
 */
export async function apiServerInProcess(
  t: TestContext,
  options: {
    paths: string[];
    stateDir: string;
    env?: Record<string, string>;
    databaseUrl?: string;
    /** The HTTP API's bearer token, as the server command takes it from KESTRA_FASTLY_API_TOKEN. */
    apiToken?: string;
  },
): Promise<{ url: string; logs: string[]; stop: () => Promise<void>; server: RunningServer }> {
  const masker = new Masker();
  const logs: string[] = [];
  const server = await startServer({
    paths: options.paths,
    stateDir: options.stateDir,
    logger: createLogger({ write: (l) => logs.push(l), masker }),
    write: (l) => logs.push(l),
    masker,
    env: options.env ?? {},
    listen: { host: '127.0.0.1', port: 0 },
    databaseUrl: options.databaseUrl,
    ...(options.apiToken === undefined
      ? {}
      : { apiToken: options.apiToken, apiTokenFrom: 'KESTRA_FASTLY_API_TOKEN' }),
  });
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= server.stop(5000));
  t.after(stop);
  return { url: server.http.url, logs, stop, server };
}

/** Polls `GET …/executions/{id}` until the execution has ended; rejects past the deadline. */
export async function ended(
  url: string,
  id: string,
  headers: Record<string, string> = {},
  deadlineMs = 20_000,
): Promise<{
  state: { current: string };
  outputs?: Record<string, unknown>;
  inputs?: Record<string, unknown>;
}> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const r = await fetch(`${url}/api/v1/main/executions/${id}`, { headers });
    if (r.status === 200) {
      const ex = (await r.json()) as { state: { current: string } };
      if (!['CREATED', 'RUNNING'].includes(ex.state.current)) return ex;
    } else await r.body?.cancel();
    if (Date.now() > until) throw new Error(`execution ${id} did not end within ${deadlineMs} ms`);
    await sleep(50);
  }
}
