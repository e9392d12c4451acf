import type { Agent, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { HttpProxy } from './proxy.js';
import { bareHostname, TransportError } from './socket.js';

/** One HTTP exchange as the Fastly client needs it: a whole (small) body each way. */
export interface TransportRequest {
  /** `http://host:port` or `https://host`. */
  origin: string;
  /** Path and query, as sent. */
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: string | undefined;
  signal?: AbortSignal | undefined;
  /**
   * The proxy to go through: an https target through a CONNECT tunnel (TLS checked against the
   * target's name), an http one as an absolute-form request to the proxy. None: a direct connection.
   */
  proxy?: HttpProxy | undefined;
}

export interface TransportResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body, inflated when the server gzipped it. */
  body: Buffer;
}

/** What the client sends requests through; tests and embedders may supply their own. */
export interface Transport {
  request(req: TransportRequest): Promise<TransportResponse>;
  /** Closes idle connections; requests still in flight finish. */
  close(): void;
}

type HttpModule = Pick<typeof import('node:http'), 'Agent' | 'request'>;

export interface HttpTransportOptions {
  /** Sockets per origin; enough for every batch or page the client keeps in flight. */
  maxSockets?: number | undefined;
}

/**
 * Keep-alive `node:http`/`node:https` transport. Nothing is loaded or created until the first request
 * (a cold `purge` pays only for what it uses); idle sockets do not keep the process alive.
 */
export class HttpTransport implements Transport {
  readonly #maxSockets: number;
  readonly #agents = new Map<string, Agent>();

  constructor(options: HttpTransportOptions = {}) {
    this.#maxSockets = options.maxSockets ?? 128;
  }

  async request(req: TransportRequest): Promise<TransportResponse> {
    const url = new URL(req.origin);
    const mod = await moduleFor(url, req.proxy);
    // One pool per way out: direct, or through each proxy.
    const key = req.proxy ? `${url.protocol} ${req.proxy.key}` : url.protocol;
    let agent = this.#agents.get(key);
    if (!agent) {
      agent = new mod.Agent({ keepAlive: true, maxSockets: this.#maxSockets, scheduling: 'lifo' });
      if (req.proxy && url.protocol === 'https:')
        agent = (await import('./proxy.js')).tunnelAgent(agent, req.proxy);
      this.#agents.set(key, agent);
    }
    let res: RawResponse;
    try {
      res = await send(mod, agent, url, req);
    } catch (err) {
      // A pooled connection the server had closed as we reused it: the request never reached it, so
      // it goes again at once on a new connection (as Node's docs advise), not as a retry with backoff.
      if (!(err instanceof TransportError && staleConnection.has(err))) throw err;
      res = await send(mod, agent, url, req);
    }
    return decodeBody(res.status, res.headers, res.body);
  }

  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }
}

/** The response with its body inflated if the server gzipped it (any other coding is refused). */
export async function decodeBody(
  status: number,
  headers: IncomingHttpHeaders,
  body: Buffer,
): Promise<TransportResponse> {
  const encoding = headers['content-encoding']?.trim().toLowerCase();
  if (encoding === 'gzip' || encoding === 'x-gzip') return { status, headers, body: await gunzip(body) };
  if (encoding && encoding !== 'identity') {
    throw new TransportError('BAD_ENCODING', `the answer uses content-encoding ${encoding}, not gzip`);
  }
  return { status, headers, body };
}

/** Failures of a reused keep-alive connection that turned out closed before any answer. */
const staleConnection = new WeakSet<TransportError>();

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function send(mod: HttpModule, agent: Agent, url: URL, req: TransportRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const out = mod.request(requestOptions(url, req, agent), (res: IncomingMessage) => {
      answered = true;
      const chunks: Buffer[] = [];
      let received = 0;
      const cutOff = (cause?: unknown) =>
        reject(
          new TransportError(
            'TRUNCATED',
            `the connection closed after ${received} bytes, before the response body was complete`,
            { cause },
          ),
        );
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        received += c.length;
      });
      res.once('error', cutOff);
      res.once('end', () => {
        if (!res.complete) return cutOff();
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received),
        });
      });
      res.once('close', () => {
        if (!res.complete) cutOff();
      });
    });
    out.once('error', (err: NodeJS.ErrnoException & { reason?: string }) =>
      reject(
        err.name !== 'AbortError' &&
          out.reusedSocket &&
          !answered &&
          (err.code === 'ECONNRESET' || err.code === 'EPIPE')
          ? stale(new TransportError(err.code, describeNetworkError(err, url.host), { cause: err }))
          : requestError(err, url, req),
      ),
    );
    out.end(req.body);
  });
}

const stale = (err: TransportError) => {
  staleConnection.add(err);
  return err;
};

/** The status a proxy refused a tunnel with, from a TransportError's code (PROXY_407 → 407). */
export function proxyStatusOf(code: string): number | undefined {
  const status = /^PROXY_(\d{3})$/.exec(code)?.[1];
  return status === undefined ? undefined : Number(status);
}

/** The module that speaks to the first hop: the target, or the proxy an http request is forwarded to. */
async function moduleFor(url: URL, proxy: HttpProxy | undefined): Promise<HttpModule> {
  const tls = proxy && url.protocol === 'http:' ? proxy.protocol === 'https:' : url.protocol === 'https:';
  return tls ? await import('node:https') : await import('node:http');
}

/**
 * node:http(s) request options for `req` to `url`, through `agent` (false: a connection of its own).
 * Through a proxy, an https request goes in a tunnel the agent's `createConnection` opens (it gets
 * `proxySignal`, so a timeout or Ctrl-C stops the CONNECT too); an http one is sent to the proxy.
 */
function requestOptions(url: URL, req: TransportRequest, agent: Agent | false) {
  const proxy = req.proxy;
  const forward = proxy !== undefined && url.protocol === 'http:';
  const auth = forward ? proxy.authorization : undefined;
  const headers = {
    ...req.headers,
    ...(forward ? { host: req.headers.host ?? url.host } : {}),
    ...(auth ? { 'proxy-authorization': auth } : {}),
    ...(req.body === undefined ? {} : { 'content-length': Buffer.byteLength(req.body) }),
  };
  return {
    protocol: forward ? proxy.protocol : url.protocol,
    hostname: forward ? proxy.host : bareHostname(url),
    port: forward ? proxy.port : url.port || undefined,
    path: forward ? url.origin + req.path : req.path,
    method: req.method,
    headers,
    agent,
    signal: req.signal,
    ...(proxy && !forward ? { proxySignal: req.signal } : {}),
  };
}

/** What a failed `node:http(s)` request rejects with: an abort as it is, else a TransportError. */
function requestError(
  err: NodeJS.ErrnoException & { reason?: string },
  url: URL,
  req: TransportRequest,
): Error {
  if (err.name === 'AbortError' || err instanceof TransportError) return err;
  if (req.proxy && url.protocol === 'http:') {
    // Forwarded to the proxy: a failure to reach it is the proxy's.
    const label = req.proxy.label;
    return new TransportError(err.code ?? 'ENETWORK', describeNetworkError(err, `proxy ${label}`), {
      cause: err,
      proxy: label,
    });
  }
  if (err.code?.startsWith('HPE_')) {
    // llhttp refused the answer: the same words as OneShotTransport's reader.
    return new TransportError(
      'BAD_RESPONSE',
      `malformed HTTP response: ${lowerFirst(err.reason ?? err.message)}`,
      { cause: err },
    );
  }
  return new TransportError(err.code ?? 'ENETWORK', describeNetworkError(err, url.host), { cause: err });
}

/** An answer's status line and headers, without its body. */
export interface HeadersOnlyResponse {
  status: number;
  headers: IncomingHttpHeaders;
}

/**
 * Sends one request on a connection of its own and settles as soon as the answer's headers have
 * arrived, then closes the connection unread: the body (a purged object, maybe hundreds of MB) is
 * never downloaded or buffered. For `verifyPurge`, which needs only the cache headers.
 */
export async function requestHeaders(req: TransportRequest): Promise<HeadersOnlyResponse> {
  const url = new URL(req.origin);
  const mod = await moduleFor(url, req.proxy);
  // No pool: the connection is closed mid-body, it could not be reused. Through a proxy, an agent of
  // its own that opens the one tunnel.
  let agent: Agent | false = false;
  if (req.proxy && url.protocol === 'https:')
    agent = (await import('./proxy.js')).tunnelAgent(new mod.Agent({ keepAlive: false }), req.proxy);
  return new Promise((resolve, reject) => {
    const out = mod.request(requestOptions(url, req, agent), (res: IncomingMessage) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      res.destroy();
      out.destroy();
    });
    // `on`, not `once`: an error after the headers (the close, an abort) is not unhandled.
    out.on('error', (err: NodeJS.ErrnoException & { reason?: string }) =>
      reject(requestError(err, url, req)),
    );
    out.end(req.body);
  });
}

const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);

/**
 * Inflates into one buffer of the size the gzip trailer announces (ISIZE), so a large stats page
 * costs one allocation and no copy; a wrong ISIZE only costs more pieces. On the thread pool: the
 * event loop decodes other pages meanwhile.
 */
async function gunzip(body: Buffer): Promise<Buffer> {
  const zlib = await import('node:zlib');
  const announced = body.length >= 18 ? body.readUInt32LE(body.length - 4) : 0;
  return new Promise((resolve, reject) => {
    zlib.gunzip(
      body,
      { chunkSize: Math.min(Math.max(announced + 1, 16 * 1024), 256 * 1024 * 1024) },
      (err, inflated) => {
        if (!err) return resolve(inflated);
        const truncated = (err as NodeJS.ErrnoException).code === 'Z_BUF_ERROR';
        reject(
          new TransportError(
            truncated ? 'TRUNCATED' : 'BAD_ENCODING',
            truncated
              ? 'the gzipped response body was cut off'
              : `the gzipped response body is corrupt: ${err.message}`,
            { cause: err },
          ),
        );
      },
    );
  });
}

/** TLS failures: the endpoint's certificate or handshake, the same for every request. */
const TLS_CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
]);

export function isTlsFailure(code: string): boolean {
  return (
    code === 'EPROTO' ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    TLS_CERT_CODES.has(code)
  );
}

/** One line saying what failed, naming the host (the API endpoint, or an edge when verifying). */
export function describeNetworkError(e: NodeJS.ErrnoException, host: string): string {
  const code = e.code ?? '';
  if (code === 'EPROTO' || code.startsWith('ERR_SSL_')) {
    return `the TLS handshake with ${host} failed (does it speak https?)`;
  }
  if (isTlsFailure(code)) {
    // One line: OpenSSL's messages can span several and name its source files.
    return `${host}'s TLS certificate was refused: ${e.message.replace(/\s+/g, ' ').trim()}`;
  }
  switch (e.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${host}`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `connection reset by ${host} (socket closed)`;
    case 'ENOTFOUND':
      return `the host name of ${host} does not resolve`;
    case 'ETIMEDOUT':
      return `connecting to ${host} timed out`;
    default:
      return (e.message || 'network error').replace(/\s+/g, ' ').trim();
  }
}

let shared: HttpTransport | undefined;

/**
 * The process's keep-alive pool, created on the first request (importing creates nothing). Clients
 * without a transport of their own share it: a server makes a client per task run and per trigger
 * evaluation, and a pool per client would leave each one's idle sockets open behind it.
 */
export function sharedTransport(): HttpTransport {
  shared ??= new HttpTransport();
  return shared;
}
