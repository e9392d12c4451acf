import { InvalidInputError, show } from '../errors.js';
import { firstHeader } from '../headers.js';
import { isLoopbackHost } from '../http/loopback.js';
import { FastlyNetworkError } from './errors.js';
import type { ProxyPolicy } from '../http/proxy.js';
import { requestHeaders, type Transport } from '../http/transport.js';

export interface VerifyResult {
  /** HTTP status of the edge's answer. */
  status: number;
  /** `X-Cache`: MISS right after a hard purge; HIT-STALE after a soft one. */
  xCache: string | null;
  age: number | null;
  surrogateKey: string | null;
}

export interface VerifyOptions {
  /**
   * Where to send the request instead of the URL's own host (like curl --connect-to): the path is
   * kept and `Host` names the URL's host. Used to verify against the simulator.
   */
  edgeEndpoint?: string | undefined;
  /**
   * Default: a connection of its own, closed as soon as the answer's headers have arrived (the body,
   * the purged object, is never read). A transport given here reads whole answers, body included.
   */
  transport?: Transport | undefined;
  timeoutMs?: number | undefined;
  /** Stops the verification at once (the CLI's Ctrl-C); the call rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /**
   * The proxy to fetch through, applied to where the request goes (the edge, like curl would):
   * pass the client's `proxyPolicy` so the check takes the way the purge took. Default: none.
   */
  proxy?: ProxyPolicy | undefined;
}

/**
 * Where a verification request goes: $KESTRA_FASTLY_EDGE_ENDPOINT when set; else, when the API is the
 * local simulator (a loopback endpoint), the simulator, which serves the edge too; else the URL's host.
 */
export function edgeEndpoint(env: NodeJS.ProcessEnv, apiBaseUrl: string): string | undefined {
  const explicit = env.KESTRA_FASTLY_EDGE_ENDPOINT?.trim();
  if (explicit) {
    if (!URL.canParse(explicit) || !/^https?:$/.test(new URL(explicit).protocol)) {
      throw new InvalidInputError(
        `KESTRA_FASTLY_EDGE_ENDPOINT: ${show(explicit)} is not an http(s) URL; expected e.g. https://www.example.com or http://127.0.0.1:8787`,
        'KESTRA_FASTLY_EDGE_ENDPOINT',
      );
    }
    return explicit;
  }
  return isLoopbackHost(new URL(apiBaseUrl).hostname) ? apiBaseUrl : undefined;
}

/**
 * Requests a purged URL with `Fastly-Debug: 1` (and no token) and reports what the cache says, from
 * the answer's headers alone: the connection is closed once they have arrived.
 */
export async function verifyPurge(url: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const target = new URL(url);
  let origin = target.origin;
  const headers: Record<string, string> = { 'fastly-debug': '1', accept: '*/*' };
  if (options.edgeEndpoint) {
    const edge = new URL(options.edgeEndpoint);
    if (edge.protocol === 'http:' && !isLoopbackHost(edge.hostname)) {
      throw new FastlyNetworkError(
        'verify',
        'EINSECURE',
        'plain http edge endpoints are allowed only on loopback',
        1,
      );
    }
    origin = edge.origin;
    headers.host = target.host;
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const stop = options.signal;
  const request = {
    origin,
    path: target.pathname + target.search,
    method: 'GET',
    headers,
    signal: stop ? AbortSignal.any([stop, timeout]) : timeout,
    proxy: options.proxy?.(new URL(origin)),
  };
  try {
    const res = await (options.transport ? options.transport.request(request) : requestHeaders(request));
    const one = (name: string) => firstHeader(res.headers, name) ?? null;
    const age = one('age');
    return {
      status: res.status,
      xCache: one('x-cache'),
      age: age === null ? null : Number(age),
      surrogateKey: one('surrogate-key'),
    };
  } catch (err) {
    // Stopped by the caller: its reason, not a failed fetch.
    if (stop?.aborted) throw stop.reason ?? err;
    const e = timeout.aborted
      ? { code: 'TIMEOUT', message: `no complete answer within ${timeoutMs} ms` }
      : (err as { code?: string; message?: string });
    throw new FastlyNetworkError(
      'verify',
      e.code ?? 'ENETWORK',
      `could not fetch ${target.href}${options.edgeEndpoint ? ` through the edge at ${origin}` : ''}: ${e.message}`,
      1,
      { cause: err, request: { method: 'GET', path: target.pathname + target.search } },
    );
  }
}
