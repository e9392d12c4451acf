import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { serve } from '@hono/node-server';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { InvalidInputError, RunFailedError, show } from '../errors.js';
import type { Logger } from '../logger.js';
import { writeJson } from '../pebble/java.js';

/** Request bodies above this are refused with 413 before they are read. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;
/** A refused body of declared size up to this is read and thrown away, so that its client gets the 413. */
const DRAIN_BYTES = 16 * 1024 * 1024;

/** The webhook route, reachable without credentials: its URL key is its authorization. */
export const isWebhookPath = (path: string): boolean =>
  /^\/api\/v1\/(?:[^/]+\/)?executions\/webhook\//.test(path);

export interface Listen {
  host: string;
  port: number;
}

/** Reads `--listen HOST:PORT` (`[::1]:8080` for IPv6). */
export function parseListen(value: string, flag = '--listen'): Listen {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value.trim());
  const port = Number(m?.[3]);
  if (m && port > 65535)
    throw new InvalidInputError(
      `${flag}: ${show(value)} is out of range (port ${port}); expected a port from 0 to 65535 (0 picks a free one)`,
      flag,
    );
  if (!m || !Number.isInteger(port)) {
    throw new InvalidInputError(
      `${flag}: ${show(value)} is not HOST:PORT; expected e.g. 127.0.0.1:8080 or [::1]:8080 (port 0 picks a free one)`,
      flag,
    );
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Compares a presented secret with the expected one in constant time (hashes have equal lengths). */
export function sameSecret(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** JSON error body in Kestra's shape: `{"message": …}`. */
export const fail = (
  c: Context,
  status: 400 | 401 | 404 | 405 | 413 | 415 | 422 | 500 | 503,
  message: string,
) => c.json({ message }, status);

/**
 * A JSON answer of values that may hold Java numbers (an execution's inputs, outputs and trigger):
 * `c.json` is JSON.stringify, which writes a double 1.0 as 1 and throws on a BigInt long.
 */
export const json = (c: Context, value: unknown, status: ContentfulStatusCode = 200) =>
  c.body(writeJson(value), status, { 'content-type': 'application/json' });

/** A module of routes; the server composes the API from several (executions, webhook, dashboard…). */
export type RouteModule = (app: Hono) => void;

export interface AppOptions {
  /** Authentication in front of every route but the open ones (`authentication()` in auth.ts). */
  auth?: MiddlewareHandler | undefined;
  logger: Logger;
  routes: RouteModule[];
  /**
   * Whether an error means the execution store cannot be reached (the database is down): answered
   * 503 with Retry-After, which a load balancer or a CMS retries, rather than 500.
   */
  unavailable?: ((err: unknown) => boolean) | undefined;
  /** Kubernetes' readiness: false (503, DOWN) while the execution store cannot be reached. */
  ready?: (() => Promise<boolean>) | undefined;
}

/** Kestra's health answer (Micronaut's `/health`), for load balancers and Kubernetes probes. */
const HEALTH = { name: 'kestra-fastly', status: 'UP' } as const;

/**
 * Refuses a body over MAX_BODY_BYTES. A declared size is checked without touching the body: hono's
 * bodyLimit reads `c.req.raw.body`, which makes node-server build a whole Request and web stream
 * for every request (a GET included), where a declared size lets it read a JSON body straight from
 * the socket. An unsized (chunked) body is counted as it is read, by hono's bodyLimit.
 */
function limitBody(): MiddlewareHandler {
  const tooLarge = `request body too large; the limit is ${MAX_BODY_BYTES / 1048576} MiB (${MAX_BODY_BYTES} bytes)`;
  const counted = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => {
      // Part of the body was read, the rest is not: the connection cannot be reused.
      c.header('Connection', 'close');
      return fail(c, 413, tooLarge);
    },
  });
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) return counted(c, next);
    const declared = Number(length);
    if (!(declared > MAX_BODY_BYTES)) return next();
    // Closing at once would reset a client still sending, which would then see EPIPE, not this
    // 413. Left unread, a body up to DRAIN_BYTES is read to its end and thrown away once the
    // answer is sent (node-server gives a client 500 ms for it), and the connection lives on.
    // A client that asked `Expect: 100-continue` was not told to send (listen()), so it never will.
    if (!(declared <= DRAIN_BYTES) || /100-continue/i.test(c.req.header('expect') ?? ''))
      c.header('Connection', 'close');
    return fail(c, 413, tooLarge);
  };
}

/** Builds the HTTP API: auth and body limit in front, then every route module, JSON 404 and 500. */
export function createApp(options: AppOptions): Hono {
  const app = new Hono();
  if (options.auth) app.use('*', options.auth);
  app.use('*', limitBody());
  for (const path of ['/healthz', '/health', '/health/liveness']) app.get(path, (c) => c.json(HEALTH));
  app.get('/health/readiness', async (c) =>
    !options.ready || (await options.ready()) ? c.json(HEALTH) : c.json({ ...HEALTH, status: 'DOWN' }, 503),
  );
  for (const register of options.routes) register(app);
  app.notFound((c) =>
    fail(c, 404, `no route for ${c.req.method} ${isWebhookPath(c.req.path) ? 'the webhook' : c.req.path}`),
  );
  app.onError((err, c) => {
    options.logger.error(
      `HTTP API: ${c.req.method} ${isWebhookPath(c.req.path) ? '(webhook)' : c.req.path} failed: ${err.message}`,
    );
    if (options.unavailable?.(err)) {
      c.header('Retry-After', '5');
      return fail(c, 503, 'the execution store cannot be reached (its database is down?); try again');
    }
    return fail(c, 500, 'internal error; see the server log');
  });
  return app;
}

export interface HttpServer {
  /** Base URL actually bound, e.g. http://127.0.0.1:8080. */
  url: string;
  close(): Promise<void>;
}

/** A failure to bind `--listen`, as one line naming the flag and the address (exit 1). */
export function listenFailure(at: Listen, err: unknown): RunFailedError {
  const e = err as NodeJS.ErrnoException;
  const hint =
    e.code === 'EADDRINUSE'
      ? '; the address is in use: pick another port with --listen'
      : e.code === 'EACCES'
        ? '; ports below 1024 need privileges: pick another port with --listen'
        : '';
  return new RunFailedError(`--listen ${at.host}:${at.port}: cannot listen (${e.code ?? e.message})${hint}`, {
    cause: err,
  });
}

/**
 * Binds the address and lets it go again: a server checks it can listen before it creates or
 * locks anything (a port in use must not leave a new --state-dir behind). Port 0 always passes.
 */
export function checkListen(at: Listen): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err) => reject(listenFailure(at, err)));
    probe.listen({ host: at.host, port: at.port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** Listens with the app; resolves once bound (rejects on EADDRINUSE and the like). */
export function listen(app: Hono, at: Listen): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: at.host, port: at.port }, (info: AddressInfo) => {
      server.off('error', reject);
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host}:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            // In-flight requests finish; idle keep-alive sockets are closed now.
            server.close(() => done());
            (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
          }),
      });
    });
    // Node answers `Expect: 100-continue` with 100 before any handler runs, so a client (curl for a
    // body over 1 KiB) sent a body over the limit only to be refused. Told 100 only when the declared
    // size passes, it is refused (413, from limitBody) before it sends anything.
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      if (!(Number(req.headers['content-length']) > MAX_BODY_BYTES)) res.writeContinue();
      server.emit('request', req, res);
    });
    server.once('error', reject);
  });
}
