import { InvalidInputError, RunFailedError, show } from '../errors.js';
import { isLoopbackHost } from '../http/loopback.js';
import type { HttpProxy, ProxyPolicy } from '../http/proxy.js';
import { HttpTransport, proxyStatusOf, type TransportResponse } from '../http/transport.js';
import { bareHostname, TransportError } from '../http/socket.js';

/** An HTTP call made by a task (Request, notifications) failed: refused, timed out, or answered an error status. */
export class HttpCallError extends RunFailedError {
  override readonly name = 'HttpCallError';
  /** HTTP_PROXY: the proxy could not be reached or refused the call (407, 403, 502…). */
  override readonly code: 'HTTP_STATUS' | 'HTTP_NETWORK' | 'HTTP_TIMEOUT' | 'HTTP_PROXY';
  readonly status: number | undefined;
  /** The proxy (host:port, never its credentials) when the failure was the proxy's. */
  readonly proxy: string | undefined;
  constructor(
    message: string,
    code: HttpCallError['code'],
    status?: number,
    options?: { cause?: unknown; proxy?: string | undefined },
  ) {
    super(message, options);
    this.code = code;
    this.status = status;
    this.proxy = options?.proxy;
  }
}

/**
 * Credential headers, the one list: Authorization, Proxy-Authorization, Cookie, Set-Cookie, Fastly-Key,
 * X-Api-Key, X-Auth-Token… — any header whose name contains token, secret, key, auth, password,
 * cookie or session. It errs on the side of hiding (Surrogate-Key is left out too).
 */
const CREDENTIAL_HEADER = /token|secret|key|auth|passw|cookie|session/i;

/** Whether a header (by name) may carry a credential: never stored, never sent over plain http. */
export function isCredentialHeader(name: string): boolean {
  return CREDENTIAL_HEADER.test(name);
}

/**
 * Query parameters that may carry a credential (`?token=`, `access_token`, `api_key`, `password`,
 * `sig`…): the credential headers' rule, plus the short names signatures go by. Stripped from
 * what a webhook keeps of its request, like credential headers.
 */
export function isCredentialParameter(name: string): boolean {
  return CREDENTIAL_HEADER.test(name) || /^(?:sig|signature|jwt|pwd|pass|code)$/i.test(name);
}

export interface TargetRules {
  /** The property naming the URL, for messages. */
  property: string;
  /** The URL is itself a credential (incoming-webhook URLs): never shown, https required off loopback. */
  secretUrl?: boolean;
  /** The request carries credentials (Authorization, cookies): https required off loopback. */
  carriesCredentials?: boolean;
}

/**
 * Checks a target URL. Plain http:// is refused off loopback when it would expose a secret (the
 * URL itself, or credentials in headers), as the project's rule for API endpoints.
 */
export function checkTarget(raw: string, rules: TargetRules): URL {
  const shown = rules.secretUrl ? '(value hidden)' : show(raw);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidInputError(
      `${rules.property}: ${shown} is not a URL; expected https://…`,
      rules.property,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidInputError(`${rules.property}: ${shown} must be an http(s):// URL`, rules.property);
  }
  const secret = rules.secretUrl || rules.carriesCredentials || url.username !== '' || url.password !== '';
  if (url.protocol === 'http:' && secret && !isLoopbackHost(url.hostname)) {
    throw new InvalidInputError(
      `${rules.property}: ${rules.secretUrl ? 'the URL (value hidden)' : show(raw)} uses plain http on a non-loopback host while carrying a secret; use https (http is allowed only for 127.0.0.1, ::1 or localhost)`,
      rules.property,
    );
  }
  return url;
}

export interface HttpCall {
  url: URL;
  method: string;
  headers?: Record<string, string>;
  body?: string | undefined;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** How the target is named in messages ("Slack webhook", or the URL). */
  label: string;
  /**
   * Which proxy the call goes through (`proxyPolicyOf` in task.ts: the task's options.proxy, else
   * HTTPS_PROXY / HTTP_PROXY / NO_PROXY; loopback targets never). None: direct.
   */
  proxy?: ProxyPolicy | undefined;
}

export interface HttpAnswer {
  code: number;
  headers: Record<string, string[]>;
  body: string;
}

/** Largest response body kept (the rest is cut). */
const MAX_RESPONSE_CHARS = 10 * 1024 * 1024;

/**
 * One HTTP call with a timeout and the task's AbortSignal; redirects are not followed; network errors
 * become HttpCallError. Direct calls use the global fetch; a call `proxy` sends through a proxy goes
 * through the Fastly client's transport (CONNECT tunnel for https, absolute form for http).
 */
export async function httpCall(call: HttpCall): Promise<HttpAnswer> {
  // A bad HTTPS_PROXY throws InvalidInputError here, naming the variable: nothing is sent.
  const proxy = call.proxy?.(call.url);
  const timeout = AbortSignal.timeout(call.timeoutMs);
  const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
  const timedOut = (err: unknown) =>
    new HttpCallError(`${call.label}: no answer within ${call.timeoutMs} ms`, 'HTTP_TIMEOUT', undefined, {
      cause: err,
    });
  if (proxy) {
    let res: TransportResponse;
    try {
      res = await throughProxy(call, proxy, signal);
    } catch (err) {
      if (timeout.aborted) throw timedOut(err);
      if (call.signal?.aborted) throw err;
      throw proxiedCallError(call, proxy, err);
    }
    if (res.status === 407 && call.url.protocol === 'http:') {
      // An http call is sent to the proxy itself: a 407 is its answer, not the target's.
      throw new HttpCallError(
        `${call.label}: proxy ${proxy.label} refused the request: HTTP 407 Proxy Authentication Required`,
        'HTTP_PROXY',
        407,
        { proxy: proxy.label },
      );
    }
    const headers: Record<string, string[]> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value : [value];
    }
    return { code: res.status, headers, body: capped(res.body.toString('utf8')) };
  }
  let res: Response;
  try {
    res = await fetch(call.url, {
      method: call.method,
      headers: call.headers,
      body: call.body,
      signal,
      redirect: 'manual',
    });
  } catch (err) {
    if (timeout.aborted) throw timedOut(err);
    if (call.signal?.aborted) throw err;
    const cause = (err as Error & { cause?: { code?: string } }).cause;
    throw new HttpCallError(
      `${call.label}: request failed (${cause?.code ?? (err as Error).message})`,
      'HTTP_NETWORK',
      undefined,
      { cause: err },
    );
  }
  const headers: Record<string, string[]> = {};
  res.headers.forEach((value, name) => (headers[name] ??= []).push(value));
  return { code: res.status, headers, body: capped(await res.text()) };
}

const capped = (text: string) =>
  text.length > MAX_RESPONSE_CHARS ? text.slice(0, MAX_RESPONSE_CHARS) : text;

/** The call sent through `proxy` on a connection of its own (closed once the answer is read). */
async function throughProxy(
  call: HttpCall,
  proxy: HttpProxy,
  signal: AbortSignal,
): Promise<TransportResponse> {
  const transport = new HttpTransport({ maxSockets: 1 });
  try {
    const headers: Record<string, string> = { accept: '*/*' };
    // Header names in any case, as fetch takes them; the last of two spellings wins.
    for (const [name, value] of Object.entries(call.headers ?? {})) headers[name.toLowerCase()] = value;
    return await transport.request({
      origin: call.url.origin,
      path: `${call.url.pathname}${call.url.search}`,
      method: call.method,
      headers,
      body: call.body,
      signal,
      proxy,
    });
  } finally {
    transport.close();
  }
}

/**
 * A proxied call's failure in one line: the proxy's own (unreachable, tunnel refused) names it as
 * host:port, never its credentials; the target is named only by the call's label (a webhook's URL,
 * or even its host, never appears).
 */
function proxiedCallError(call: HttpCall, proxy: HttpProxy, err: unknown): HttpCallError {
  const port = call.url.port || (call.url.protocol === 'https:' ? '443' : '80');
  const target = `${bareHostname(call.url)}:${port}`;
  const bracketed = `${call.url.hostname}:${port}`;
  if (err instanceof TransportError) {
    const message = err.message.split(` to ${bracketed}`).join('').split(` to ${target}`).join('');
    if (err.proxy !== undefined) {
      return new HttpCallError(
        `${call.label}: ${message} (${err.code})`,
        'HTTP_PROXY',
        proxyStatusOf(err.code),
        { cause: err, proxy: err.proxy },
      );
    }
    return new HttpCallError(
      `${call.label}: request failed through proxy ${proxy.label} (${err.code})`,
      'HTTP_NETWORK',
      undefined,
      { cause: err, proxy: proxy.label },
    );
  }
  const code = (err as NodeJS.ErrnoException).code;
  return new HttpCallError(
    `${call.label}: request failed through proxy ${proxy.label} (${code ?? 'network error'})`,
    'HTTP_NETWORK',
    undefined,
    { cause: err, proxy: proxy.label },
  );
}
