import type { Socket } from 'node:net';

/**
 * A failed exchange: `code` is a Node errno (ECONNRESET, ...) or TRUNCATED / BAD_ENCODING /
 * BAD_RESPONSE, or PROXY_<status> when a proxy refused the tunnel. `proxy` (host:port) is set when
 * the failure was the proxy's: reaching it or its answer to the CONNECT.
 */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  readonly proxy: string | undefined;
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown; proxy?: string | undefined },
  ) {
    super(message, options);
    this.proxy = options?.proxy;
  }
}

/** What an aborted request rejects with, as Node's own aborts do (the signal's reason as cause). */
export function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted'), {
    name: 'AbortError',
    cause: signal.reason as unknown,
  });
}

/**
 * A connection to `host:port`: TLS (ALPN http/1.1, SNI unless `host` is an IP address, the
 * certificate checked against `host`) when `secure`, over `over` if given (a proxy's tunnel), else
 * plain TCP. The modules load on first use: a cold `purge` over http never loads node:tls.
 */
export async function openSocket(
  host: string,
  port: number,
  secure: boolean,
  over?: Socket,
): Promise<Socket> {
  const { connect, isIP } = await import('node:net');
  if (!secure) return connect({ host, port });
  return (await import('node:tls')).connect({
    ...(over ? { socket: over, host } : { host, port }),
    ALPNProtocols: ['http/1.1'],
    ...(isIP(host) ? {} : { servername: host }),
  });
}

/** The host to connect to: an IPv6 address without the URL's brackets. */
export const bareHostname = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');
