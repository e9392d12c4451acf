import { setTimeout as sleep } from 'node:timers/promises';
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
