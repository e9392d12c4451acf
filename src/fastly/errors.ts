import type { RateLimitState } from '../diagnostics.js';
import { oneLine, RunFailedError } from '../errors.js';
import { proxyStatusOf } from '../http/transport.js';

/** The scopes Fastly tokens carry, named as in the Fastly console. */
export type TokenScope = 'purge_select' | 'purge_all' | 'global:read' | 'global';

/** The request an error is about: never its headers, so never the token. */
export interface RequestInfo {
  method: string;
  /** Path and query as sent, after the endpoint's own path prefix. */
  path: string;
}

/** The answer an API error is about. */
export interface ResponseInfo {
  status: number;
  /** Lower-case header names (set-cookie left out). */
  headers: Record<string, string>;
}

export interface FastlyApiErrorDetails {
  operation: string;
  request: RequestInfo;
  headers: Record<string, string>;
  status: number;
  msg?: string | undefined;
  detail?: string | undefined;
  rateLimit?: RateLimitState | undefined;
  scope?: TokenScope | undefined;
  attempts: number;
  /** Why it was not retried, when that is not plain from the status. */
  note?: string | undefined;
}

function hintFor(d: FastlyApiErrorDetails): string | undefined {
  switch (d.status) {
    case 401:
      return 'the token is missing or invalid; a token created in the last ~90 s may not have propagated yet';
    case 403:
      return d.scope
        ? `the token lacks the '${d.scope}' scope this operation needs`
        : 'the token is not allowed to do this';
    case 404:
      return d.operation === 'purgeUrl'
        ? 'the URL host is not a domain of any Fastly service'
        : 'unknown service ID';
    case 429: {
      const reset = d.rateLimit?.reset;
      return reset
        ? `rate limited; the limit resets at ${new Date(reset * 1000).toISOString()}`
        : 'rate limited by Fastly';
    }
    default:
      return undefined;
  }
}

/** Fastly answered with an error status (after any retries). */
export class FastlyApiError extends RunFailedError {
  override readonly name: string = 'FastlyApiError';
  override readonly code: string = 'FASTLY_API_ERROR';
  readonly operation: string;
  readonly request: RequestInfo;
  readonly response: ResponseInfo;
  readonly status: number;
  readonly msg: string | undefined;
  readonly detail: string | undefined;
  readonly rateLimit: RateLimitState | undefined;
  readonly hint: string | undefined;
  readonly attempts: number;

  constructor(d: FastlyApiErrorDetails) {
    const hint = hintFor(d);
    const what = [d.msg, d.detail].filter(Boolean).join(': ') || 'no message';
    const tries = d.attempts > 1 ? ` after ${d.attempts} attempts` : '';
    const remaining =
      d.rateLimit?.remaining !== undefined ? ` [rate limit remaining: ${d.rateLimit.remaining}]` : '';
    const note = d.note ? `; ${d.note}` : '';
    super(
      `${d.operation} failed: HTTP ${d.status} ${what}${tries}${hint ? ` (${hint})` : ''}${note}${remaining}`,
    );
    this.operation = d.operation;
    this.request = d.request;
    this.response = { status: d.status, headers: d.headers };
    this.status = d.status;
    this.msg = d.msg;
    this.detail = d.detail;
    this.rateLimit = d.rateLimit;
    this.hint = hint;
    this.attempts = d.attempts;
  }
}

/** No usable answer: connection refused or reset, timeout, truncated or unreadable body. */
export class FastlyNetworkError extends RunFailedError {
  override readonly name: string = 'FastlyNetworkError';
  override readonly code: string = 'FASTLY_NETWORK_ERROR';
  readonly operation: string;
  /** What went wrong underneath: a Node error code (ECONNRESET...), TIMEOUT, BAD_JSON... */
  readonly networkCode: string;
  readonly attempts: number;
  readonly request: RequestInfo | undefined;
  constructor(
    operation: string,
    networkCode: string,
    description: string,
    attempts: number,
    options: { cause?: unknown; request?: RequestInfo | undefined } = {},
  ) {
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    super(`${operation} failed: ${description} (${networkCode})${tries}`, { cause: options.cause });
    this.operation = operation;
    this.networkCode = networkCode;
    this.attempts = attempts;
    this.request = options.request;
  }
}

/**
 * The way to Fastly through a proxy failed at the proxy: it could not be reached, or it refused the
 * tunnel (`networkCode` PROXY_<status>, e.g. PROXY_407 for missing or wrong credentials).
 */
export class FastlyProxyError extends FastlyNetworkError {
  override readonly name: string = 'FastlyProxyError';
  override readonly code: string = 'FASTLY_PROXY_ERROR';
  /** The proxy, as host:port (never its credentials). */
  readonly proxy: string;
  /** The proxy's answer to the CONNECT when it refused the tunnel. */
  readonly proxyStatus: number | undefined;
  constructor(
    operation: string,
    networkCode: string,
    description: string,
    attempts: number,
    proxy: string,
    options: { cause?: unknown; request?: RequestInfo | undefined } = {},
  ) {
    super(operation, networkCode, description, attempts, options);
    this.proxy = proxy;
    this.proxyStatus = proxyStatusOf(networkCode);
  }
}

/** Fastly answered 2xx but the body is not what the API documents; never reported as success. */
export class FastlyResponseError extends RunFailedError {
  override readonly name: string = 'FastlyResponseError';
  override readonly code: string = 'FASTLY_RESPONSE_ERROR';
  readonly operation: string;
  constructor(operation: string, problem: string) {
    super(`${operation} failed: unexpected response from Fastly: ${problem}`);
    this.operation = operation;
  }
}

/**
 * A bulk purge larger than the account's whole purge window (learnt from Fastly's answers): it would
 * meet a 429 in every window, so it was not sent; callers split it into requests that fit.
 */
export class PurgeTooLargeError extends RunFailedError {
  override readonly name: string = 'PurgeTooLargeError';
  override readonly code: string = 'PURGE_TOO_LARGE';
  readonly units: number;
  readonly largest: number;
  constructor(operation: string, units: number, largest: number) {
    super(
      `${operation}: ${units} purges in one request, more than the purge budget's window takes (${largest})`,
    );
    this.units = units;
    this.largest = largest;
  }
}

/**
 * Reads Fastly's three error body formats: legacy `{msg, detail|details}`, problem+json
 * `{title, detail}` and JSON:API `{errors: [{title, detail}]}`; falls back to the raw text.
 */
export function parseErrorBody(text: string): { msg?: string; detail?: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // A proxy's or load balancer's page, not Fastly's JSON: its title says more than its markup.
    if (/^\s*</.test(text)) {
      const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1]?.trim();
      return { msg: title ? `an HTML page: ${oneLine(title)}` : 'an HTML page' };
    }
    const line = oneLine(text);
    return line ? { msg: line } : {};
  }
  if (typeof body !== 'object' || body === null) return { msg: String(body) };
  const b = body as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  if (Array.isArray(b.errors) && b.errors.length > 0) {
    const first = b.errors[0] as Record<string, unknown>;
    return clean({ msg: str(first.title) ?? str(first.code), detail: str(first.detail) });
  }
  return clean({
    msg: str(b.msg) ?? str(b.title) ?? str(b.reason) ?? str(b.message),
    detail: str(b.detail) ?? str(b.details),
  });
}

function clean(o: { msg?: string | undefined; detail?: string | undefined }): {
  msg?: string;
  detail?: string;
} {
  const out: { msg?: string; detail?: string } = {};
  if (o.msg) out.msg = oneLine(o.msg);
  if (o.detail) out.detail = oneLine(o.detail);
  return out;
}
