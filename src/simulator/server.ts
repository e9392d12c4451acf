import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzip } from 'node:zlib';
import { firstHeader } from '../headers.js';
import type { FaultOptions } from './faults.js';
import { json, type Route, type SimReply, type SimRequest } from './route.js';
import { edge, purgeRoutes } from './purge.js';
import type { TokenScope } from '../fastly/errors.js';
import { SimState, type SimulatorOptions, type StatsScenario } from './state.js';
import { parseTokensJson } from './tokens.js';
import { statsRoutes } from './stats.js';

const MAX_BODY = 10 * 1024 * 1024;
function acceptsGzip(req: SimRequest): boolean {
  const accept = req.headers['accept-encoding'];
  return /\bgzip\b/i.test(Array.isArray(accept) ? accept.join(',') : (accept ?? ''));
}

function bodyText(reply: SimReply): string {
  if (typeof reply.body === 'string') return reply.body;
  return reply.body === undefined ? '' : JSON.stringify(reply.body);
}

/** For the Fastly CLI, which looks up its auth realm before any API call. */
const accountRoutes: Route = (req) =>
  req.path === '/realms/fastly/.well-known/openid-configuration'
    ? json(200, {
        issuer: 'http://127.0.0.1/realms/fastly',
        authorization_endpoint: 'http://127.0.0.1/realms/fastly/protocol/openid-connect/auth',
        token_endpoint: 'http://127.0.0.1/realms/fastly/protocol/openid-connect/token',
        jwks_uri: 'http://127.0.0.1/realms/fastly/protocol/openid-connect/certs',
      })
    : undefined;

/**
 * A local stand-in for the Fastly API: purge and historical-stats endpoints with Fastly's shapes,
 * an edge cache model, token scopes, rate limits, and seeded fault injection. Binds 127.0.0.1.
 */
export class Simulator {
  readonly state: SimState;
  readonly #options: SimulatorOptions;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  #url = '';

  constructor(options: SimulatorOptions = {}) {
    this.#options = options;
    this.state = new SimState(options);
  }

  /** Base URL, e.g. http://127.0.0.1:41234 */
  get url(): string {
    return this.#url;
  }

  get log() {
    return this.state.log;
  }

  async start(): Promise<this> {
    const onRequest = this.#options.onRequest;
    const server = createServer((req, res) => {
      if (onRequest) {
        const t0 = performance.now();
        res.once('close', () =>
          onRequest({
            method: req.method ?? '?',
            path: (req.url ?? '/').split('?')[0] ?? '/',
            status: res.writableFinished ? res.statusCode : 'reset',
            ms: Math.round(performance.now() - t0),
          }),
        );
      }
      this.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ msg: 'simulator error', detail: String(err) }));
        } else res.destroy();
      });
    });
    server.keepAliveTimeout = 60_000;
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    const host = this.#options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port ?? 0, host, () => resolve());
    });
    this.#server = server;
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    this.#url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  setFaults(faults: FaultOptions): void {
    this.state.faults.configure(faults);
  }

  /** Known tokens and their scopes (unknown token → 401, missing scope → 403); undefined accepts any. */
  setTokens(tokens: Record<string, TokenScope[]> | undefined): void {
    this.state.tokens = tokens;
  }

  addScenario(scenario: StatsScenario): void {
    this.state.scenarios.push(scenario);
  }

  seedObject(url: string, surrogateKeys: string[]): void {
    const u = new URL(url);
    const service = this.state.serviceForHost(u.host);
    if (!service) throw new Error(`no simulated service has the domain ${u.hostname}`);
    this.state.cache.seed(service.id, u.hostname, u.pathname + u.search, surrogateKeys);
  }

  clearLog(): void {
    this.state.log.length = 0;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = Date.now();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) {
        this.#send(res, json(413, { msg: 'Request body too large' }));
        return;
      }
      chunks.push(chunk);
    }
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const path = q === -1 ? target : target.slice(0, q);
    const sreq: SimRequest = {
      method: req.method ?? 'GET',
      path,
      target,
      query: new URLSearchParams(q === -1 ? '' : target.slice(q + 1)),
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      token: firstHeader(req.headers, 'fastly-key'),
      receivedAt,
    };

    if (path.startsWith('/__sim/')) {
      this.#send(res, this.#admin(sreq));
      return;
    }
    const edgeReply = edge(sreq, this.state);
    if (edgeReply) {
      this.#finish(res, sreq, edgeReply);
      return;
    }

    const faults = this.state.faults.options;
    const latency = (faults.latencyMs ?? 0) + Math.random() * (faults.latencyJitterMs ?? 0);
    if (latency > 0) await sleep(latency);
    const fault = this.state.faults.pick(path);
    const base = { method: sreq.method, path, receivedAt: sreq.receivedAt, query: sreq.query.toString() };
    switch (fault) {
      case 'reset':
        this.state.record({ ...base, status: 0, fault });
        req.socket.destroy();
        return;
      case 'hang':
        // Never answers; the socket is destroyed when the client gives up or the simulator closes.
        this.state.record({ ...base, status: 0, fault });
        return;
      case '5xx':
        this.state.record({ ...base, status: 503, fault });
        this.#send(res, json(503, { msg: 'Service Unavailable', detail: 'injected fault' }), sreq);
        return;
      case '429': {
        const retryAfter = faults.retryAfterSeconds ?? 1;
        const headers: Record<string, string> = {
          'fastly-ratelimit-remaining': '0',
          'fastly-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + Math.max(1, retryAfter)),
        };
        if (retryAfter > 0) headers['retry-after'] = String(retryAfter);
        this.state.record({ ...base, status: 429, fault });
        this.#send(
          res,
          json(
            429,
            { msg: 'You have exceeded your hourly rate limit', detail: 'injected fault' },
            { headers },
          ),
          sreq,
        );
        return;
      }
      case 'garbage':
        this.state.record({ ...base, status: 200, fault });
        this.#send(
          res,
          {
            status: 200,
            body: '<html><body>502 Bad Gateway</body></html>',
            contentType: 'text/html',
          },
          sreq,
        );
        return;
      case 'shape':
        this.state.record({ ...base, status: 200, fault });
        this.#send(res, json(200, { unexpected: true, data: 'not what the API documents' }), sreq);
        return;
      case 'truncate':
        this.state.record({ ...base, status: 200, fault });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '64' });
        res.write('{"status":"ok","id":"trunc');
        res.destroy();
        return;
    }

    for (const route of [...purgeRoutes, ...statsRoutes, accountRoutes]) {
      const reply = route(sreq, this.state);
      if (reply) {
        this.#finish(res, sreq, reply);
        return;
      }
    }
    this.#finish(
      res,
      sreq,
      json(404, { msg: 'Record not found', detail: `No route for ${sreq.method} ${path}` }),
    );
  }

  #finish(res: ServerResponse, req: SimRequest, reply: SimReply): void {
    // Serialized once here: a minute stats page of full points is ~700 KB of JSON.
    const body = bodyText(reply);
    const zipped = acceptsGzip(req) && body !== '';
    this.state.record({
      method: req.method,
      path: req.path,
      status: reply.status,
      receivedAt: req.receivedAt,
      query: req.query.toString(),
      ...reply.log,
      ...(zipped ? { gzip: true } : {}),
    });
    this.#send(res, reply, req, body);
  }

  /** Answers gzip when the request asks for it, as the real API does (fastly-js asks). */
  #send(res: ServerResponse, reply: SimReply, req?: SimRequest, body = bodyText(reply)): void {
    const headers: Record<string, string> = { ...reply.headers };
    if (reply.contentType !== null) headers['content-type'] = reply.contentType ?? 'application/json';
    headers.vary = 'Accept-Encoding';
    const answer = (bytes: Buffer) => {
      headers['content-length'] = String(bytes.length);
      res.writeHead(reply.status, headers);
      res.end(bytes);
    };
    if (body === '' || !req || !acceptsGzip(req)) return answer(Buffer.from(body));
    headers['content-encoding'] = 'gzip';
    // Off the event loop (a 170-field page is ~700 KB) and at level 1: in benchmarks the simulator
    // shares the machine's cores with the clients it serves.
    gzip(body, { level: 1 }, (err, bytes) => (err ? res.destroy(err) : answer(bytes)));
  }

  /** Control API for out-of-process users (the CLI's `simulator` command, benchmarks). */
  #admin(req: SimRequest): SimReply {
    const body = req.body ? (JSON.parse(req.body) as Record<string, unknown>) : {};
    switch (`${req.method} ${req.path}`) {
      case 'GET /__sim/log':
        return json(200, this.state.log);
      case 'DELETE /__sim/log':
        this.clearLog();
        return json(200, { status: 'ok' });
      case 'POST /__sim/faults':
        this.setFaults(body);
        return json(200, { status: 'ok' });
      case 'POST /__sim/scenarios':
        this.addScenario(body as unknown as StatsScenario);
        return json(200, { status: 'ok' });
      case 'PUT /__sim/tokens': {
        // Replaces the known tokens and their scopes; a `null` body accepts any token again.
        const tokens = req.body.trim() === 'null' ? null : parseTokensJson(req.body);
        if (typeof tokens === 'string') return json(400, { msg: tokens });
        this.setTokens(tokens ?? undefined);
        return json(200, { status: 'ok' });
      }
      case 'POST /__sim/objects':
        this.seedObject(String(body.url), (body.surrogateKeys as string[]) ?? ['all']);
        return json(200, { status: 'ok' });
      default:
        return json(404, { msg: 'unknown simulator control path' });
    }
  }
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  return new Simulator(options).start();
}
