// HTTP(S) proxies, as the official Fastly CLI (Go's http.ProxyFromEnvironment) reads them from the
// environment, or as a flow's `options.proxy` names one; and the CONNECT tunnel both transports open
// through one. Loaded only when a proxy is configured: a cold `purge` without one never runs this.
import type { Agent } from 'node:http';
import type { Socket } from 'node:net';
import { InvalidInputError, oneLine } from '../errors.js';
import { abortError, bareHostname, openSocket, TransportError } from './socket.js';

/** An HTTP proxy (reached over plain TCP or TLS) that requests are tunnelled through with CONNECT. */
export class HttpProxy {
  readonly protocol: 'http:' | 'https:';
  /** Host name or IP address (an IPv6 one without brackets). */
  readonly host: string;
  readonly port: number;
  /** `host:port`, as messages name the proxy (never with credentials). */
  readonly label: string;
  readonly #authorization: string | undefined;

  constructor(protocol: 'http:' | 'https:', host: string, port: number, username = '', password = '') {
    this.protocol = protocol;
    this.host = host;
    this.port = port;
    this.label = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.#authorization =
      username || password
        ? `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`
        : undefined;
  }

  /** Tells pools apart (two proxies differ by their credentials too); never shown. */
  get key(): string {
    return `${this.protocol}//${this.label} ${this.#authorization ?? ''}`;
  }

  /** `Proxy-Authorization`'s value, if the proxy URL carried credentials. */
  get authorization(): string | undefined {
    return this.#authorization;
  }

  /** The proxy as a URL, credentials masked: what logs and `util.inspect` may show. */
  toString(): string {
    return `${this.protocol}//${this.#authorization ? '***@' : ''}${this.label}`;
  }
  toJSON(): string {
    return this.toString();
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `HttpProxy { ${this.toString()} }`;
  }
}

/** The proxy a request to `target` goes through, or undefined for a direct connection. */
export type ProxyPolicy = (target: URL) => HttpProxy | undefined;

/** A proxy URL with its password (if any) replaced by `***`, for error messages. */
export function maskProxyUrl(raw: string): string {
  // Up to the last `@`: a password may hold an unescaped `@` or `/`; masking too much is harmless.
  return raw.replace(/^((?:[A-Za-z][A-Za-z0-9+.-]*:\/\/)?[^:@/]*):.*@/s, '$1:***@');
}

/**
 * Parses a proxy URL (`http://[user:pass@]host[:port]`, or `https://`; without a scheme, `http://`,
 * as Go does). `name` is the variable or property it comes from, named in the error.
 */
export function parseProxyUrl(raw: string, name: string): HttpProxy {
  const value = raw.trim();
  const shown = JSON.stringify(maskProxyUrl(value));
  const expected = 'expected http://[user:password@]host:port or https://…';
  const refuse = (why: string) => new InvalidInputError(`${name}: ${shown}: ${why}; ${expected}`, name);
  const withScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw refuse('not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw refuse(`the ${url.protocol.slice(0, -1)} scheme is not supported (only HTTP proxies are)`);
  }
  const host = bareHostname(url);
  if (!host) throw refuse('no host');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw refuse('a proxy URL has no path or query');
  }
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  let username: string;
  let password: string;
  try {
    username = decodeURIComponent(url.username);
    password = decodeURIComponent(url.password);
  } catch {
    throw refuse('its user name or password is not valid percent-encoding');
  }
  return new HttpProxy(url.protocol, host, port, username, password);
}

/** A parsed IP address as 16 bytes (IPv4 as IPv4-mapped IPv6), or undefined. */
export function parseIp(text: string): Uint8Array | undefined {
  const v4 = (s: string): number[] | undefined => {
    const parts = s.split('.');
    if (parts.length !== 4) return undefined;
    const bytes = parts.map((p) => (/^(0|[1-9]\d{0,2})$/.test(p) ? Number(p) : 256));
    return bytes.every((b) => b < 256) ? bytes : undefined;
  };
  const four = v4(text);
  if (four) return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...four]);
  if (!text.includes(':') || !/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && p.includes('.')) {
        const tail = v4(p);
        if (!tail) return undefined;
        out.push((tail[0]! << 8) | tail[1]!, (tail[2]! << 8) | tail[3]!);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(p)) out.push(Number.parseInt(p, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff]));
}

const isV4Mapped = (ip: Uint8Array) =>
  ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff;

/** Go's net.IP.IsLoopback: 127.0.0.0/8 and ::1. */
function isLoopbackIp(ip: Uint8Array): boolean {
  if (isV4Mapped(ip)) return ip[12] === 127;
  return ip.subarray(0, 15).every((b) => b === 0) && ip[15] === 1;
}

function inPrefix(ip: Uint8Array, net: Uint8Array, bits: number): boolean {
  for (let i = 0; i < 16; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    if (take === 0) return true;
    const mask = (0xff << (8 - take)) & 0xff;
    if (((ip[i] ?? 0) & mask) !== ((net[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** `host` and `port` of an entry such as `example.com:8080` or `[::1]:443`; the port is '' when absent. */
function splitHostPort(entry: string): [string, string] {
  const bracketed = /^\[([^\]]*)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return [bracketed[1] ?? '', bracketed[2] ?? ''];
  const colon = entry.lastIndexOf(':');
  // More than one colon and no brackets: an IPv6 address (or CIDR) without a port.
  if (colon > 0 && entry.indexOf(':') === colon && /^\d+$/.test(entry.slice(colon + 1))) {
    return [entry.slice(0, colon), entry.slice(colon + 1)];
  }
  return [entry, ''];
}

/**
 * Go's NO_PROXY rules (golang.org/x/net/http/httpproxy): entries separated by commas; `*` alone: no
 * proxy for anything; an IP address or CIDR block; `example.com` matches it and its subdomains,
 * `.example.com` (or `*.example.com`) only its subdomains; any entry may end in `:port`. Returns
 * whether a request to `host` (lower case, no brackets) on `port` bypasses the proxy. Whatever the
 * list says, `localhost` and loopback addresses are never proxied.
 */
export function noProxyMatcher(noProxy: string): (host: string, port: string) => boolean {
  type Rule = (host: string, port: string, ip: Uint8Array | undefined) => boolean;
  const rules: Rule[] = [];
  let all = false;
  for (const raw of noProxy.split(',')) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') {
      all = true;
      break;
    }
    const [host, port] = splitHostPort(entry);
    if (!host) continue;
    const slash = host.indexOf('/');
    if (slash >= 0) {
      const net = parseIp(host.slice(0, slash));
      const bitsText = host.slice(slash + 1);
      if (!net || !/^\d{1,3}$/.test(bitsText)) continue;
      const v4 = !host.slice(0, slash).includes(':');
      const bits = Number(bitsText) + (v4 ? 96 : 0);
      if (bits > 128) continue;
      // Go ignores the port of a CIDR entry.
      rules.push((_h, _p, ip) => ip !== undefined && inPrefix(ip, net, bits));
      continue;
    }
    const ip = parseIp(host);
    if (ip) {
      rules.push(
        (_h, p, target) =>
          target !== undefined && target.every((b, i) => b === ip[i]) && (!port || port === p),
      );
      continue;
    }
    const domain = host.startsWith('*.') ? host.slice(1) : host;
    const matchHost = !domain.startsWith('.');
    const suffix = matchHost ? `.${domain}` : domain;
    rules.push(
      (h, p) => (h.endsWith(suffix) || (matchHost && h === suffix.slice(1))) && (!port || port === p),
    );
  }
  return (host, port) => {
    const h = host.replace(/^\[|\]$/g, '').toLowerCase();
    if (h === 'localhost') return true;
    const ip = parseIp(h);
    if (ip && isLoopbackIp(ip)) return true;
    return all || rules.some((rule) => rule(h, port, ip));
  };
}

const defaultPort = (url: URL) => url.port || (url.protocol === 'https:' ? '443' : '80');

/** The environment's variable `name`: upper case wins over lower case (as Go reads them). */
function variable(env: Record<string, string | undefined>, name: string): [string, string] | undefined {
  for (const key of [name, name.toLowerCase()]) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') return [key, value];
  }
  return undefined;
}

/**
 * The proxies the environment names, as the Fastly CLI (Go) reads them: HTTPS_PROXY for https
 * targets, HTTP_PROXY for http ones, NO_PROXY for the exceptions; upper case wins. A variable's
 * value is checked when a target needs it: a bad one throws InvalidInputError naming it.
 */
export function envProxyPolicy(env: Record<string, string | undefined>): ProxyPolicy {
  const bypass = noProxyMatcher(variable(env, 'NO_PROXY')?.[1] ?? '');
  const parsed = new Map<string, HttpProxy | undefined>();
  return (target) => {
    const name = target.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY';
    if (!parsed.has(name)) {
      const found = variable(env, name);
      parsed.set(name, found ? parseProxyUrl(found[1], found[0]) : undefined);
    }
    const proxy = parsed.get(name);
    if (!proxy || bypass(target.hostname, defaultPort(target))) return undefined;
    return proxy;
  };
}

const neverBypass = noProxyMatcher('');

/** One proxy for every target but loopback ones (a flow's `options.proxy`). */
export function fixedProxyPolicy(proxy: HttpProxy): ProxyPolicy {
  return (target) => (neverBypass(target.hostname, defaultPort(target)) ? undefined : proxy);
}

/** No proxy, whatever the environment says (`options.proxy.type: DIRECT`). */
export const directPolicy: ProxyPolicy = () => undefined;

/** Why a connection to the proxy failed, in a few words. */
function proxyFailure(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset';
    case 'ENOTFOUND':
      return 'its host name does not resolve';
    case 'ETIMEDOUT':
      return 'timed out';
    default:
      return oneLine(e.message || 'network error');
  }
}

const MAX_CONNECT_HEAD = 16 * 1024;

/**
 * Opens a connection to `proxy` (TLS to it for an https:// proxy) and asks it with CONNECT for a
 * tunnel to `host:port`; resolves with the connection once the proxy answers 2xx, ready for the
 * caller's TLS handshake with the target. The target's name is resolved by the proxy, not here.
 * `signal` (a timeout, Ctrl-C) stops it at any point. Failures are TransportErrors naming the proxy:
 * `cannot connect to proxy …` (a Node errno code), or `proxy … refused the tunnel …` (code
 * PROXY_<status>).
 */
export async function openTunnel(
  proxy: HttpProxy,
  host: string,
  port: number,
  signal?: AbortSignal,
): Promise<Socket> {
  if (signal?.aborted) throw abortError(signal);
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const socket = await openSocket(proxy.host, proxy.port, proxy.protocol === 'https:');
  return new Promise<Socket>((resolve, reject) => {
    let head: Buffer = Buffer.alloc(0);
    let connected = false;
    const done = () => {
      signal?.removeEventListener('abort', onAbort);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      socket.removeListener('connect', onConnect);
      socket.removeListener('secureConnect', onConnect);
    };
    const fail = (err: Error) => {
      done();
      socket.destroy();
      reject(err);
    };
    const failure = (code: string, message: string, cause?: unknown) =>
      new TransportError(code, message, { cause, proxy: proxy.label });
    const onAbort = () => fail(abortError(signal as AbortSignal));
    const onConnect = () => {
      connected = true;
    };
    const onError = (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'ENETWORK';
      fail(
        connected
          ? failure(
              code,
              `proxy ${proxy.label} failed during the CONNECT to ${authority}: ${proxyFailure(err)}`,
              err,
            )
          : failure(code, `cannot connect to proxy ${proxy.label}: ${proxyFailure(err)}`, err),
      );
    };
    const onClose = () =>
      fail(
        failure(
          'ECONNRESET',
          `proxy ${proxy.label} closed the connection before answering the CONNECT to ${authority}`,
        ),
      );
    const onData = (chunk: Buffer) => {
      head = head.length ? Buffer.concat([head, chunk]) : chunk;
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_CONNECT_HEAD) {
          fail(
            failure(
              'BAD_RESPONSE',
              `proxy ${proxy.label} answered the CONNECT with a head over ${MAX_CONNECT_HEAD} bytes`,
            ),
          );
        }
        return;
      }
      const statusLine = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})(?: ([^\r\n]*))?$/.exec(statusLine);
      if (!match) {
        fail(
          failure(
            'BAD_RESPONSE',
            `proxy ${proxy.label} answered the CONNECT with a malformed status line ${JSON.stringify(oneLine(statusLine, 40))}`,
          ),
        );
        return;
      }
      const status = Number(match[1]);
      if (status < 200 || status > 299) {
        const reason = oneLine(match[2] ?? '', 80);
        fail(
          failure(
            `PROXY_${status}`,
            `proxy ${proxy.label} refused the tunnel to ${authority}: HTTP ${status}${reason ? ` ${reason}` : ''}`,
          ),
        );
        return;
      }
      done();
      socket.pause();
      const rest = head.subarray(end + 4);
      if (rest.length) socket.unshift(rest);
      resolve(socket);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once(proxy.protocol === 'https:' ? 'secureConnect' : 'connect', onConnect);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.setNoDelay(true);
    const auth = proxy.authorization;
    socket.write(
      `CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n${auth ? `proxy-authorization: ${auth}\r\n` : ''}\r\n`,
    );
  });
}

/**
 * A TLS connection to `host:port` through a tunnel `proxy` opened: the certificate is checked
 * against the target's name (`servername`), not the proxy's.
 */
export async function tlsThroughProxy(
  proxy: HttpProxy,
  host: string,
  port: number,
  signal?: AbortSignal,
): Promise<Socket> {
  return openSocket(host, port, true, await openTunnel(proxy, host, port, signal));
}

/**
 * `agent` (an https Agent) made to reach each target through `proxy`: its `createConnection` opens
 * the tunnel, and the request's `proxySignal` (set by the transport) stops the CONNECT exchange as it
 * stops the request.
 */
export function tunnelAgent<A extends Agent>(agent: A, proxy: HttpProxy): A {
  const createConnection = (
    options: {
      host?: string | null;
      hostname?: string | null;
      port?: number | string | null;
      proxySignal?: AbortSignal;
    },
    done: (err: Error | null, socket?: Socket) => void,
  ): undefined => {
    const host = (options.hostname ?? options.host ?? 'localhost').replace(/^\[|\]$/g, '');
    const port = Number(options.port) || 443;
    tlsThroughProxy(proxy, host, port, options.proxySignal).then(
      (socket) => done(null, socket),
      (err: Error) => done(err),
    );
    return undefined;
  };
  (agent as unknown as { createConnection: typeof createConnection }).createConnection = createConnection;
  return agent;
}
