import { isLoopbackHost } from '../http/loopback.js';
import { InvalidInputError, show } from '../errors.js';
import { firstHeader, type HeaderBag, headerRecord } from '../headers.js';
import { packageVersion } from '../version.js';
import {
  FastlyApiError,
  FastlyNetworkError,
  FastlyProxyError,
  FastlyResponseError,
  parseErrorBody,
  type RequestInfo,
  type TokenScope,
} from './errors.js';
import { type ApiAttemptEvent, apiAttempts, type RateLimitState } from '../diagnostics.js';
import type { HttpProxy, ProxyPolicy } from '../http/proxy.js';
import { proxyStatusOf, sharedTransport, type Transport } from '../http/transport.js';
import { TransportError } from '../http/socket.js';
import { monotonicMs } from '../monotonic.js';
import { type Clock, sleep, systemClock } from '../clock.js';
import { type PurgeCoordinator, sharedPurgeCoordinator } from './coordinator.js';
import type { BudgetGrant, PurgeBudget } from './budget.js';

export const DEFAULT_ENDPOINT = 'https://api.fastly.com';

/** When to retry. Network faults (resets, timeouts, truncated bodies) are retried like `statusCodes`. */
export interface RetryOptions {
  /** Attempts in all, the first included (1: never retry). */
  maxAttempts: number;
  /** No retry is started once this much time has gone by since the first attempt. */
  maxRetryTimeMs: number;
  /** Backoff: jittered, doubling from `baseDelayMs`, capped at `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** HTTP statuses that are retried; any other error status fails at once. */
  statusCodes: readonly number[];
  /** Statuses whose `Retry-After` (else, on a 429, `Fastly-RateLimit-Reset`) sets the wait instead of the backoff. */
  afterStatusCodes: readonly number[];
  /** A server-requested wait longer than this fails at once instead of sleeping. */
  maxRetryAfterMs: number;
  /** Added to a wait until `Fastly-RateLimit-Reset`: it is in whole seconds and clocks differ. */
  rateLimitMarginMs: number;
}

export const DEFAULT_RETRY: Readonly<RetryOptions> = {
  maxAttempts: 5,
  maxRetryTimeMs: 60_000,
  baseDelayMs: 200,
  maxDelayMs: 15_000,
  statusCodes: [408, 429, 500, 502, 503, 504],
  afterStatusCodes: [429, 503],
  maxRetryAfterMs: Number.POSITIVE_INFINITY,
  rateLimitMarginMs: 1000,
};

/** A retry about to happen. */
export interface RetryEvent {
  operation: string;
  request: RequestInfo;
  /** The attempt that failed, from 1. */
  attempt: number;
  /** The wait before the next attempt. */
  delayMs: number;
  reason: string;
  /** What the call fails with if it is not retried. */
  error: FastlyApiError | FastlyNetworkError;
}

/**
 * Called before each retry, after the policy has allowed it. Return `false` (or a promise of it)
 * to stop: the call then fails with `event.error`. A hook that throws fails the call with its error.
 */
export type RetryHook = (event: RetryEvent) => boolean | void | Promise<boolean | void>;

export interface FastlyClientOptions {
  token: string;
  /** Defaults to `https://api.fastly.com` (the client reads no environment variable). */
  baseUrl?: string | undefined;
  /** Per-attempt timeout (headers and body). */
  timeoutMs?: number | undefined;
  retry?: Partial<RetryOptions> | undefined;
  signal?: AbortSignal | undefined;
  /** Where requests go; default: the process's keep-alive `node:http(s)` pool, shared by every client. */
  transport?: Transport | undefined;
  onRetry?: RetryHook | undefined;
  /**
   * Which proxy requests go through (`envProxyPolicy(process.env)` for the Fastly CLI's
   * HTTPS_PROXY / NO_PROXY); default: none, the client reads no environment variable. Applied to the
   * endpoint once, at construction, so a bad proxy setting throws before any request.
   */
  proxy?: ProxyPolicy | undefined;
  /** Source of jitter; replace for deterministic tests. */
  random?: (() => number) | undefined;
  /**
   * Time for retries: the retry budget, the waits (backoff, `Retry-After`, rate-limit resets).
   * Default the system clock; a test passes one that skips the waits.
   */
  clock?: Clock | undefined;
  /**
   * The purge traffic this client's purges join: coalescing, the purge budget, purge-all turns.
   * Default: the process's `sharedPurgeCoordinator()` (budget and turns, no coalescing).
   */
  purges?: PurgeCoordinator | undefined;
}

/**
 * Every option the constructor takes: a JavaScript caller has no type checker, and an option it
 * misspells (`endpoint:` for `baseUrl:`) must fail, not send its requests to api.fastly.com. A key
 * of `FastlyClientOptions` missing here is a compile error.
 */
const CLIENT_OPTIONS: Record<keyof FastlyClientOptions, true> = {
  token: true,
  baseUrl: true,
  timeoutMs: true,
  retry: true,
  signal: true,
  transport: true,
  onRetry: true,
  proxy: true,
  random: true,
  clock: true,
  purges: true,
};

/** Refuses an option the client does not know, naming it and the accepted ones. */
function checkOptionNames(options: object): void {
  for (const name of Object.keys(options)) {
    if (Object.hasOwn(CLIENT_OPTIONS, name)) continue;
    const hint =
      /endpoint|url|host|server|api/i.test(name) && !/proxy/i.test(name)
        ? ' (the API endpoint is baseUrl)'
        : '';
    throw new InvalidInputError(
      `${name}: not a FastlyClient option${hint}; expected one of ${Object.keys(CLIENT_OPTIONS).join(', ')}`,
      name,
    );
  }
}

export interface RequestSpec {
  operation: string;
  method: 'GET' | 'POST';
  /** Path as sent; the caller is responsible for any encoding. */
  path: string;
  query?: Record<string, string | number | undefined> | undefined;
  headers?: Record<string, string> | undefined;
  json?: unknown;
  /** Scope the operation needs, named in a 403's hint. */
  scope?: TokenScope | undefined;
  /** Cancels this request only (with the client's own signal, either one aborts it). */
  signal?: AbortSignal | undefined;
  /** Told of every attempt's answer: its status and rate-limit headers (a purge budget learns from them). */
  onAnswer?: ((rateLimit: RateLimitState, status: number) => void) | undefined;
  /**
   * Stops retrying, not the attempt in flight: once it aborts, a wait before a retry ends at once and no
   * further attempt starts; the call fails with the last attempt's error.
   */
  stopRetrying?: AbortSignal | undefined;
  /**
   * Turns a 2xx body into `ApiResponse.body` (default: JSON of its UTF-8 text); a throw is retried like
   * a garbled answer. Stats streaming passes a cheap check and decodes the bytes later itself.
   */
  decode?: ((body: Buffer) => unknown) | undefined;
}

export interface ApiResponse {
  status: number;
  body: unknown;
  /** Size of the (inflated) body. */
  bytes: number;
  rateLimit: RateLimitState;
  attempts: number;
}

export interface ClientCounters {
  requests: number;
  retries: number;
}

/**
 * Validates an API endpoint: https anywhere, plain http only on loopback. The option wins, then
 * `FASTLY_API_ENDPOINT` from `env` (given by the caller: the CLI passes process.env), then
 * api.fastly.com. Returns it without trailing slash.
 */
export function resolveEndpoint(
  option: string | undefined,
  env: Record<string, string | undefined> = {},
  name = 'baseUrl',
): string {
  const fromEnv = env.FASTLY_API_ENDPOINT?.trim();
  const raw = option?.trim() || fromEnv || DEFAULT_ENDPOINT;
  const label = option?.trim() ? name : fromEnv ? 'FASTLY_API_ENDPOINT' : name;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidInputError(
      `${label}: ${show(raw)} is not a URL; expected e.g. https://api.fastly.com`,
      label,
    );
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new InvalidInputError(
      `${label}: ${show(raw)} uses plain http on a non-loopback host; use https (http is allowed only for 127.0.0.1, ::1 or localhost)`,
      label,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidInputError(`${label}: ${show(raw)} must be an https:// URL`, label);
  }
  if (url.username || url.password) {
    throw new InvalidInputError(
      `${label}: credentials in the URL are not accepted; use the API token`,
      label,
    );
  }
  return url.href.replace(/\/+$/, '');
}

/** Checks a token's form without ever echoing it. */
export function validateToken(token: unknown, name = 'apiToken'): string {
  if (typeof token !== 'string') {
    throw new InvalidInputError(
      `${name}: the Fastly API token is missing; set FASTLY_API_TOKEN or pass apiToken: "{{ secret('FASTLY_API_TOKEN') }}"`,
      name,
    );
  }
  if (token.trim() === '') {
    throw new InvalidInputError(
      `${name}: the Fastly API token is set but empty${token ? ' (only whitespace)' : ''}; give it the token's value`,
      name,
    );
  }
  if (/\s/.test(token)) {
    throw new InvalidInputError(
      `${name}: the Fastly API token contains whitespace (value hidden); check for a stray newline or space`,
      name,
    );
  }
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new InvalidInputError(
      `${name}: the Fastly API token contains non-printable or non-ASCII characters (value hidden)`,
      name,
    );
  }
  return token;
}

/** A wait in whole seconds: "3600 s" (rounded up for a wait asked, down for one allowed). */
const seconds = (ms: number, round = Math.ceil) => `${round(ms / 1000)} s`;

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'TRUNCATED',
  'BAD_ENCODING',
  'TIMEOUT',
  'BAD_JSON',
]);

function parseRateLimit(headers: HeaderBag, now: number): RateLimitState {
  const one = (name: string) => firstHeader(headers, name);
  const state: RateLimitState = {};
  const remaining = Number(one('fastly-ratelimit-remaining'));
  if (one('fastly-ratelimit-remaining') !== undefined && Number.isFinite(remaining))
    state.remaining = remaining;
  const reset = Number(one('fastly-ratelimit-reset'));
  if (one('fastly-ratelimit-reset') !== undefined && Number.isFinite(reset)) state.reset = reset;
  const ra = one('retry-after');
  if (ra !== undefined) {
    const secs = /^\d+(\.\d+)?$/.test(ra.trim()) ? Number(ra) : (Date.parse(ra) - now) / 1000;
    if (Number.isFinite(secs)) state.retryAfter = Math.max(0, secs);
  }
  return state;
}

/** One attempt got no usable answer; becomes a FastlyNetworkError if it is not retried. */
class AttemptError extends Error {
  override readonly name = 'AttemptError';
  constructor(
    readonly code: string,
    readonly description: string,
    options?: ErrorOptions,
    /** The proxy (host:port) when the failure was the proxy's. */
    readonly proxy?: string,
  ) {
    super(description, options);
  }
}

/**
 * The transport under every Fastly operation: auth headers, the shared pool, timeouts, cancellation,
 * and bounded retries for 429 / 5xx / network faults. It knows nothing of tasks or flows.
 */
export class FastlyClient {
  readonly baseUrl: string;
  readonly counters: ClientCounters = { requests: 0, retries: 0 };
  readonly #token: string;
  readonly #origin: string;
  readonly #basePath: string;
  readonly #timeoutMs: number;
  readonly #retry: RetryOptions;
  readonly #signal: AbortSignal | undefined;
  #transport: Transport | undefined;
  readonly #onRetry: RetryHook | undefined;
  readonly #random: () => number;
  readonly #clock: Clock;
  /** The policy, for other requests of the same task (a purge's verification at the edge). */
  readonly proxyPolicy: ProxyPolicy | undefined;
  readonly #proxy: HttpProxy | undefined;
  readonly #options: FastlyClientOptions;

  constructor(options: FastlyClientOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidInputError(
        `options: got ${show(options)}; expected an object such as { token, baseUrl }`,
        'options',
      );
    }
    checkOptionNames(options);
    this.#token = validateToken(options.token);
    this.baseUrl = resolveEndpoint(options.baseUrl);
    const url = new URL(this.baseUrl);
    this.#origin = url.origin;
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#signal = options.signal;
    this.#transport = options.transport;
    this.#onRetry = options.onRetry;
    this.#random = options.random ?? Math.random;
    this.#clock = options.clock ?? systemClock;
    this.proxyPolicy = options.proxy;
    this.#proxy = options.proxy?.(url);
    this.#options = options;
  }

  /** The client's cancellation signal, if any (a request several callers share leaves it out). */
  get signal(): AbortSignal | undefined {
    return this.#signal;
  }

  /** Waits for leave from the purge budget to send `units` purges; the client's signal or `stop` ends the wait. */
  acquirePurgeBudget(units: number, stop?: AbortSignal): Promise<BudgetGrant> {
    // Its own signal: each waiter listens on it, never on the client's (shared by every wait).
    return this.purgeBudget().acquire(units, ownSignal(this.#signal, stop), this.maxPurgeWaitMs);
  }

  /** The longest this client waits for purge budget: as long as it would wait for a 429's reset. */
  get maxPurgeWaitMs(): number {
    return Math.min(this.#retry.maxRetryAfterMs, this.#retry.maxRetryTimeMs);
  }

  /** The purge traffic this client's purges join (see `PurgeCoordinator`). */
  get purges(): PurgeCoordinator {
    return this.#options.purges ?? sharedPurgeCoordinator();
  }

  /** Who a purge is spent against: endpoint, proxy and token. A key for in-memory maps, never shown. */
  get #account(): string {
    return `${this.baseUrl}\0${this.#proxy?.toString() ?? ''}\0${this.#token}`;
  }

  /** The purge budget of this client's account (endpoint and token), shared by the process. */
  purgeBudget(): PurgeBudget {
    return this.purges.budget(this.baseUrl, this.#account);
  }

  /** The coalescing group of surrogate-key purges of `serviceId` (soft or not) by this account. Never shown. */
  purgeGroup(serviceId: string, soft: boolean): string {
    return `${this.#account}\0${serviceId}\0${soft ? 'soft' : 'hard'}`;
  }

  /**
   * The same client without this one's cancellation signal and retry hook: for a request several
   * callers share (a coalesced purge), which no single caller's cancellation may cut short.
   */
  detached(): FastlyClient {
    const { signal: _signal, onRetry: _onRetry, ...rest } = this.#options;
    return new FastlyClient({ ...rest, transport: this.#transport });
  }

  readonly #memo = new Map<string, Promise<unknown>>();

  /** An answer that does not change for the life of this client (e.g. the region list), fetched once. */
  once<T>(key: string, fetch: () => Promise<T>): Promise<T> {
    let answer = this.#memo.get(key) as Promise<T> | undefined;
    if (!answer) {
      answer = fetch();
      this.#memo.set(key, answer);
      // A failure is not remembered; the next call asks again.
      answer.catch(() => this.#memo.delete(key));
    }
    return answer;
  }

  /** Keeps the token out of console.log / util.inspect / JSON of the client. */
  toJSON(): object {
    return { baseUrl: this.baseUrl, ...(this.#proxy ? { proxy: this.#proxy.toString() } : {}) };
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `FastlyClient { baseUrl: '${this.baseUrl}'${this.#proxy ? `, proxy: '${this.#proxy.toString()}'` : ''} }`;
  }

  /** The transport, taken on first use so that constructing a client opens and loads nothing. */
  get transport(): Transport {
    this.#transport ??= sharedTransport();
    return this.#transport;
  }

  async request(spec: RequestSpec): Promise<ApiResponse> {
    const started = this.#clock.now();
    const request: RequestInfo = { method: spec.method, path: this.#path(spec) };
    const policy = this.#retry;
    const cancel = anySignal(this.#signal, spec.signal);
    let attempt = 0;
    for (;;) {
      attempt++;
      cancel?.throwIfAborted();
      let error: FastlyApiError | FastlyNetworkError;
      let reason: string;
      let waitMs: number | undefined;
      try {
        const res = await this.#attempt(spec, request.path, cancel, attempt);
        if (res.status < 400) {
          return {
            status: res.status,
            body: res.body,
            bytes: res.bytes,
            rateLimit: res.rateLimit,
            attempts: attempt,
          };
        }
        const details = {
          operation: spec.operation,
          request,
          status: res.status,
          headers: headerRecord(res.headers),
          ...parseErrorBody(res.raw.toString('utf8')),
          rateLimit: res.rateLimit,
          scope: spec.scope,
          attempts: attempt,
        };
        error = new FastlyApiError(details);
        if (!policy.statusCodes.includes(res.status)) throw error;
        if (policy.afterStatusCodes.includes(res.status))
          waitMs = this.#serverWait(res.status, res.rateLimit);
        reason = `HTTP ${res.status}`;
        // A wait the server asks for that this client will not sit out: say so, not just the status.
        const budgetLeftMs = policy.maxRetryTimeMs - (this.#clock.now() - started);
        if (
          waitMs !== undefined &&
          attempt < policy.maxAttempts &&
          (waitMs > policy.maxRetryAfterMs || waitMs >= budgetLeftMs)
        ) {
          const limitMs = Math.max(0, Math.min(policy.maxRetryAfterMs, budgetLeftMs));
          throw new FastlyApiError({
            ...details,
            note: `not retried: the server asks to wait ${seconds(waitMs)}, longer than this client waits (${seconds(limitMs, Math.floor)})`,
          });
        }
      } catch (err) {
        if (!(err instanceof AttemptError)) throw err;
        error =
          err.proxy === undefined
            ? new FastlyNetworkError(spec.operation, err.code, err.description, attempt, {
                cause: err.cause,
                request,
              })
            : new FastlyProxyError(spec.operation, err.code, err.description, attempt, err.proxy, {
                cause: err.cause,
                request,
              });
        // A proxy's refusal (PROXY_<status>) is retried as the API's own status would be: a 502 or
        // 503 from a proxy is passing, a 407 (wrong credentials) is not.
        const proxyStatus = proxyStatusOf(err.code);
        const retryable =
          proxyStatus === undefined
            ? RETRYABLE_CODES.has(err.code)
            : proxyStatus >= 500 && policy.statusCodes.includes(proxyStatus);
        if (!retryable) throw error;
        reason = err.description;
      }
      const stopRetrying = spec.stopRetrying;
      if (stopRetrying?.aborted || !this.#mayRetry(attempt, started, waitMs)) throw error;
      const delayMs = Math.round(waitMs ?? this.#backoff(attempt));
      const verdict = await this.#onRetry?.({
        operation: spec.operation,
        request,
        attempt,
        delayMs,
        reason,
        error,
      });
      if (verdict === false) throw error;
      // A signal of this wait's own: many requests share `cancel` and `stopRetrying` (40 purge batches
      // backing off at once), and a listener each on the shared signal trips Node's leak warning.
      const wake = ownSignal(cancel, stopRetrying);
      try {
        // An already-aborted signal (during onRetry) rejects at once.
        await sleep(this.#clock, delayMs, wake);
      } catch (err) {
        // Cancelled: the abort propagates. Told to stop retrying: the last attempt's error.
        if (cancel?.aborted || !stopRetrying?.aborted) throw err;
        throw error;
      }
      this.counters.retries++;
    }
  }

  /** The wait the server asks for: `Retry-After`, else (on a 429) until `Fastly-RateLimit-Reset` plus a margin. */
  #serverWait(status: number, rl: RateLimitState): number | undefined {
    if (rl.retryAfter !== undefined) return rl.retryAfter * 1000;
    if (status === 429 && rl.reset !== undefined)
      return Math.max(0, rl.reset * 1000 - this.#clock.now()) + this.#retry.rateLimitMarginMs;
    return undefined;
  }

  #mayRetry(attempt: number, started: number, waitMs: number | undefined): boolean {
    if (attempt >= this.#retry.maxAttempts) return false;
    const elapsed = this.#clock.now() - started;
    // A server-requested wait that would overrun the budget fails now rather than sleeping in vain.
    return elapsed + (waitMs ?? 0) < this.#retry.maxRetryTimeMs;
  }

  #backoff(attempt: number): number {
    const ceiling = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 1));
    return ceiling / 2 + (this.#random() * ceiling) / 2;
  }

  /** Path and query as sent. */
  #path(spec: RequestSpec): string {
    let path = this.#basePath + spec.path;
    if (spec.query) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(spec.query)) if (v !== undefined) qs.set(k, String(v));
      const s = qs.toString();
      if (s) path += `?${s}`;
    }
    return path;
  }

  async #attempt(
    spec: RequestSpec,
    path: string,
    cancel: AbortSignal | undefined,
    attempt: number,
  ): Promise<{
    status: number;
    headers: HeaderBag;
    raw: Buffer;
    bytes: number;
    body: unknown;
    rateLimit: RateLimitState;
  }> {
    const headers: Record<string, string> = {
      'fastly-key': this.#token,
      accept: 'application/json',
      'user-agent': `kestra-plugin-fastly/${packageVersion()}`,
      // Stats pages are large JSON; Fastly gzips them when asked (about a tenth on the wire). Purge
      // answers are a few bytes: asking would only cost a cold purge the zlib load.
      ...(spec.method === 'GET' ? { 'accept-encoding': 'gzip' } : {}),
      ...spec.headers,
    };
    let body: string | undefined;
    if (spec.json !== undefined) {
      body = JSON.stringify(spec.json);
      headers['content-type'] = 'application/json';
    }
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = cancel ? AbortSignal.any([cancel, timeout]) : timeout;
    this.counters.requests++;
    let status: number;
    let raw: Buffer;
    let responseHeaders: HeaderBag;
    let rateLimit: RateLimitState | undefined;
    const t0 = monotonicMs();
    let outcome: number | string = 'ENETWORK';
    try {
      const res = await this.transport.request({
        origin: this.#origin,
        path,
        method: spec.method,
        headers,
        body,
        signal,
        proxy: this.#proxy,
      });
      status = res.status;
      responseHeaders = res.headers;
      rateLimit = parseRateLimit(res.headers, this.#clock.now());
      raw = res.body;
      outcome = status;
      spec.onAnswer?.(rateLimit, status);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      outcome = cancel?.aborted ? 'ABORTED' : timeout.aborted ? 'TIMEOUT' : (e.code ?? 'ENETWORK');
      if (cancel?.aborted) throw cancel.reason ?? err;
      if (timeout.aborted)
        throw new AttemptError('TIMEOUT', `no complete answer within ${this.#timeoutMs} ms`, { cause: err });
      if (err instanceof TransportError)
        throw new AttemptError(err.code, err.message, { cause: err.cause ?? err }, err.proxy);
      throw new AttemptError(e.code ?? 'ENETWORK', e.message ?? 'network error', { cause: err });
    } finally {
      // Every attempt, for whoever observes (the server's metrics); free when no one does.
      if (apiAttempts.hasSubscribers) {
        const event: ApiAttemptEvent = {
          operation: spec.operation,
          attempt,
          status: outcome,
          durationMs: monotonicMs() - t0,
          rateLimit,
        };
        apiAttempts.publish(event);
      }
    }
    // Fastly's API never redirects: a 3xx means the endpoint is wrong or a proxy stands in front.
    // Its body (an HTML page, or nothing) is not an answer, and asking again only gets it again.
    if (status >= 300 && status < 400) {
      const location = firstHeader(responseHeaders, 'location')?.trim();
      // Resolved against the request (a relative Location names a path on the endpoint); not a URL: quoted.
      const target = !location
        ? undefined
        : URL.canParse(location, this.#origin + path)
          ? new URL(location, this.#origin + path).href.slice(0, 300)
          : show(location);
      throw new FastlyResponseError(
        spec.operation,
        `HTTP ${status} ${target ? `redirect to ${target}` : 'redirect without a Location'} (the API endpoint is wrong or behind a proxy that redirects)`,
      );
    }
    let parsed: unknown;
    if (status < 400) {
      try {
        parsed =
          raw.length === 0 ? undefined : spec.decode ? spec.decode(raw) : JSON.parse(raw.toString('utf8'));
      } catch (err) {
        throw new AttemptError('BAD_JSON', `the ${status} response body is not JSON (truncated or garbled)`, {
          cause: err,
        });
      }
      if (parsed === undefined)
        throw new FastlyResponseError(spec.operation, `empty ${status} response body`);
    }
    return {
      status,
      headers: responseHeaders,
      raw,
      bytes: raw.length,
      body: parsed,
      rateLimit: rateLimit ?? {},
    };
  }
}

function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const set = signals.filter((x): x is AbortSignal => x !== undefined);
  return set.length > 1 ? AbortSignal.any(set) : set[0];
}

/**
 * A new signal that aborts with any of these: listening on it adds no listener to them
 * (`AbortSignal.any` links signals without event listeners), so waits may share their sources.
 */
function ownSignal(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const set = signals.filter((x): x is AbortSignal => x !== undefined);
  return set.length > 0 ? AbortSignal.any(set) : undefined;
}
