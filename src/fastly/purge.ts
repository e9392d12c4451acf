import { InvalidInputError, RunFailedError, show } from '../errors.js';
import type { BudgetGrant } from './budget.js';
import type { ApiResponse, FastlyClient, RequestSpec } from './client.js';
import { MAX_KEYS_PER_REQUEST } from './coordinator.js';
import { FastlyApiError, FastlyNetworkError, FastlyResponseError, PurgeTooLargeError } from './errors.js';
import { isTlsFailure } from '../http/transport.js';

export { MAX_KEYS_PER_REQUEST };
/** Fastly ignores surrogate keys longer than 1 KB. */
export const MAX_KEY_BYTES = 1024;
/**
 * Key purges do not count against the API rate limit; 40 batches in flight purge 10,240 keys per
 * round trip, so 10,000 keys go in one (start-up, not the network, is then what a bulk purge costs).
 */
export const DEFAULT_PURGE_CONCURRENCY = 40;

export interface PurgeOptions {
  soft?: boolean | undefined;
}

export interface PurgeResult {
  status: string;
  id: string;
}

export interface FailedKey {
  key: string;
  /** HTTP status of the failed batch, absent for network failures. */
  status?: number;
  reason: string;
}

export interface PurgeKeysResult {
  /** Every purged key mapped to its purge id. */
  purgeIds: Record<string, string>;
  /** Keys that were not purged, each with the reason. */
  failed: FailedKey[];
  /** Distinct keys requested (after removing duplicates). */
  total: number;
  duplicatesRemoved: number;
  batches: number;
  /** Batches sent (fewer than `batches` when sending stopped early). */
  sent: number;
  /** Why sending stopped before every batch was sent (a fatal error, an interruption); keys not sent are in `failed`. */
  stopped?: string;
}

export interface PurgeKeysOptions extends PurgeOptions {
  /**
   * Requests carrying this call's keys in flight at once (default 40), coalesced or not: coalesced,
   * its keys wait to join a batch while that many batches hold some of them.
   */
  concurrency?: number | undefined;
  /** Called after each batch settles, with the number of keys settled so far. */
  onProgress?: ((settled: number, total: number) => void) | undefined;
  /** Called with each key Fastly confirmed purged, as its batch settles. */
  onPurged?: ((key: string) => void) | undefined;
  /**
   * Stops sending: no batch is started once it aborts, and no batch is retried: a batch waiting to
   * retry fails at once with its last error. Requests in flight settle (give the client its own signal
   * to cut those short). Unsent keys are reported failed with the abort reason.
   */
  stop?: AbortSignal | undefined;
}

/** Network failures no retry can fix: every later batch would meet the same wall. */
const FATAL_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EINSECURE',
]);

/**
 * Whether a batch's failure will repeat for every batch: the token (401, 403), the service (404, 400:
 * keys are validated before sending, so a 400 is about the service or account), a host that cannot
 * be reached, or a TLS certificate or handshake that fails. Rate limits, 5xx and resets are per request.
 */
export function isFatalPurgeError(err: unknown): boolean {
  if (err instanceof FastlyApiError) return [400, 401, 403, 404].includes(err.status);
  return (
    err instanceof FastlyNetworkError &&
    (FATAL_NETWORK_CODES.has(err.networkCode) || isTlsFailure(err.networkCode))
  );
}

/**
 * The same for one URL's purge: a 404 or 400 is about that URL (its host is no service's domain, or
 * it is malformed), so only the token and the network are every request's.
 */
export function isFatalUrlPurgeError(err: unknown): boolean {
  if (err instanceof FastlyApiError) return [401, 403].includes(err.status);
  return isFatalPurgeError(err);
}

function softHeader(soft: boolean | undefined): Record<string, string> {
  // Fastly does not read the value: any Fastly-Soft-Purge header soft-purges, so send it only when soft.
  return soft ? { 'fastly-soft-purge': '1' } : {};
}

export function validateServiceId(serviceId: unknown, name = 'serviceId'): string {
  if (typeof serviceId !== 'string' || serviceId.trim() === '') {
    throw new InvalidInputError(
      `${name}: a Fastly service ID is required (set FASTLY_SERVICE_ID, --service-id or serviceId)`,
      name,
    );
  }
  if (!/^[A-Za-z0-9]+$/.test(serviceId)) {
    throw new InvalidInputError(
      `${name}: ${show(serviceId)} is not a Fastly service ID; expected letters and digits only, e.g. SU1Z0isxPaozGVKXdv0eY`,
      name,
    );
  }
  return serviceId;
}

/** Validates and normalises a URL to purge; returns it without fragment, as sent after `/purge/`. */
export function validatePurgeUrl(url: unknown, name = 'url'): string {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new InvalidInputError(
      `${name}: a URL to purge is required, e.g. https://www.example.com/path`,
      name,
    );
  }
  // The URL parser would drop a newline or tab silently (purging another path than the one shown).
  if (/[\u0000-\u001f\u007f]/.test(url.trim())) {
    throw new InvalidInputError(
      `${name}: ${show(url)} contains a control character (newline, tab, escape…); expected a URL as sent over HTTP`,
      name,
    );
  }
  // Like Fastly and its clients, `www.example.com/a` (no scheme) is accepted and sent as written.
  const schemeless = !url.includes('://') && !url.trim().startsWith('/');
  let parsed: URL;
  try {
    parsed = new URL(schemeless ? `http://${url.trim()}` : url.trim());
  } catch {
    throw new InvalidInputError(
      `${name}: ${show(url)} is not an absolute URL; expected http(s)://host/path, e.g. https://www.example.com/path`,
      name,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidInputError(
      `${name}: ${show(url)} has scheme ${show(parsed.protocol.replace(':', ''))}; only http and https URLs can be purged`,
      name,
    );
  }
  if (!parsed.hostname) {
    throw new InvalidInputError(
      `${name}: ${show(url)} has no host; expected e.g. https://www.example.com/path`,
      name,
    );
  }
  parsed.hash = '';
  // URL's serialisation percent-encodes only what must be (spaces, non-ASCII) and keeps slashes and query.
  return schemeless ? parsed.href.slice('http://'.length) : parsed.href;
}

/** How much of a bad key a message shows: enough to find it, short enough for a few on one line. */
const KEY_EXCERPT = 48;

const PRINTABLE_ASCII = /^[!-~]+$/;

/** Returns the reason a surrogate key is unusable, or undefined when it is fine. */
export function surrogateKeyProblem(key: unknown): string | undefined {
  // Most keys: printable ASCII, short (a byte a character). One test instead of five per key.
  if (typeof key === 'string' && key.length <= MAX_KEY_BYTES && PRINTABLE_ASCII.test(key)) return undefined;
  if (typeof key !== 'string') return `must be a string, got ${show(key, KEY_EXCERPT)}`;
  if (key === '') return 'is empty';
  if (/\s/.test(key))
    return `${show(key, KEY_EXCERPT)} contains whitespace (Fastly separates keys by spaces)`;
  if (/[\u0000-\u001f\u007f]/.test(key))
    return `${show(key, KEY_EXCERPT)} contains a control character (NUL, escape…)`;
  // What a decoder leaves of bytes that are not UTF-8 (a Latin-1 file, a binary one): purging the
  // replacement character would report a key as purged that was never the one meant.
  if (key.includes('\uFFFD')) return `${show(key, KEY_EXCERPT)} is not valid UTF-8 (U+FFFD, a replaced byte)`;
  if (Buffer.byteLength(key) > MAX_KEY_BYTES)
    return `is ${Buffer.byteLength(key)} bytes; Fastly ignores keys over ${MAX_KEY_BYTES} bytes`;
  return undefined;
}

export function validateSurrogateKey(key: unknown, name = 'surrogateKey'): string {
  const problem = surrogateKeyProblem(key);
  if (problem) throw new InvalidInputError(`${name}: ${problem}`, name);
  return key as string;
}

/**
 * Characters that survive in a path segment untouched; anything else goes through the JSON body. Not
 * `.` or `..`: a server or proxy may resolve them as dot-segments (`/purge/..` is `/service/{id}`).
 */
const PATH_SAFE_KEY = /^(?!\.{1,2}$)[A-Za-z0-9._~:@!$&'()*,;=-]+$/;

function asPurgeResult(operation: string, body: unknown): PurgeResult {
  const b = body as Record<string, unknown> | null;
  if (typeof b !== 'object' || b === null || b.status !== 'ok') {
    throw new FastlyResponseError(operation, `expected {"status":"ok",...}, got ${show(body)}`);
  }
  return { status: 'ok', id: typeof b.id === 'string' ? b.id : '' };
}

/**
 * Sends a purge request once the account's purge budget lets `units` purges go (each key of a bulk
 * purge counts, as Fastly counts them), telling the budget what each answer said. With a `grant`
 * (the coalescer's), that leave is already given and released by its holder.
 */
async function purgeRequest(
  client: FastlyClient,
  units: number,
  spec: RequestSpec,
  grant?: BudgetGrant,
  underWay?: () => void,
): Promise<ApiResponse> {
  const leave = grant ?? (await client.acquirePurgeBudget(units, spec.stopRetrying));
  const budget = client.purgeBudget();
  // Retrying a request larger than the whole window would meet the same 429 in every window.
  const oversize = new AbortController();
  try {
    const largest = budget.largestRequest();
    if (units > largest) throw new PurgeTooLargeError(spec.operation, units, largest);
    // From here a cancellation may come after Fastly has purged: not `not sent`.
    underWay?.();
    return await client.request({
      ...spec,
      stopRetrying: spec.stopRetrying
        ? AbortSignal.any([spec.stopRetrying, oversize.signal])
        : oversize.signal,
      onAnswer: (rl, status) => {
        leave.observe(rl, status);
        if (status === 429 && units > budget.largestRequest())
          oversize.abort(
            new Error(`more purges than the purge budget's window takes (${budget.largestRequest()})`),
          );
      },
    });
  } finally {
    if (!grant) leave.release();
  }
}

/** `POST /purge/{url}`: the URL is appended raw; the token goes to the API, never to the purged host. */
export async function purgeUrl(
  client: FastlyClient,
  url: string,
  options: PurgeOptions & {
    stop?: AbortSignal | undefined;
    /** Called as its request starts (its purge budget granted). */
    underWay?: (() => void) | undefined;
  } = {},
): Promise<PurgeResult> {
  const target = validatePurgeUrl(url);
  const res = await purgeRequest(
    client,
    1,
    {
      operation: 'purgeUrl',
      method: 'POST',
      path: `/purge/${target}`,
      headers: softHeader(options.soft),
      scope: 'purge_select',
      stopRetrying: options.stop,
    },
    undefined,
    options.underWay,
  );
  return asPurgeResult('purgeUrl', res.body);
}

/**
 * `POST /service/{id}/purge/{key}`. A key that a path would mangle (`/ % ? # +`, non-ASCII...) is sent
 * through the bulk JSON body instead, as the Fastly CLI does.
 */
export async function purgeKey(
  client: FastlyClient,
  serviceId: string,
  key: string,
  options: PurgeOptions = {},
): Promise<PurgeResult> {
  validateServiceId(serviceId);
  validateSurrogateKey(key);
  if (client.purges.lingerMs > 0) {
    const soft = options.soft ?? false;
    const o = await coalesced(client, serviceId, [key], soft, {});
    const id = o.ids[key];
    if (id !== undefined) return { status: 'ok', id };
    const failure = o.failed[0];
    if (failure?.error instanceof Error) throw failure.error;
    if (failure) throw new FastlyResponseError('purgeKey', `key ${show(key)} missing from the response`);
    const cancelled = o.cancelled[0];
    if (cancelled) throw new RunFailedError(`purgeKey: ${show(key)} ${notAcknowledged(cancelled.reason)}`);
    throw new RunFailedError(`purgeKey: ${show(key)} not sent: ${o.notSent[0]?.reason ?? 'stopped'}`);
  }
  if (!PATH_SAFE_KEY.test(key)) {
    const ids = await purgeBatch(client, serviceId, [key], options.soft, 'purgeKey');
    const id = ids[key];
    if (id === undefined)
      throw new FastlyResponseError('purgeKey', `key ${show(key)} missing from the response`);
    return { status: 'ok', id };
  }
  const res = await purgeRequest(client, 1, {
    operation: 'purgeKey',
    method: 'POST',
    path: `/service/${serviceId}/purge/${key}`,
    headers: softHeader(options.soft),
    scope: 'purge_select',
  });
  return asPurgeResult('purgeKey', res.body);
}

async function purgeBatch(
  client: FastlyClient,
  serviceId: string,
  keys: string[],
  soft: boolean | undefined,
  operation = 'purgeKeys',
  stopRetrying?: AbortSignal,
  grant?: BudgetGrant,
  signal?: AbortSignal,
  underWay?: () => void,
): Promise<Record<string, string>> {
  const res = await purgeRequest(
    client,
    keys.length,
    {
      operation,
      method: 'POST',
      path: `/service/${serviceId}/purge`,
      headers: softHeader(soft),
      json: { surrogate_keys: keys },
      scope: 'purge_select',
      stopRetrying,
      ...(signal ? { signal } : {}),
    },
    grant,
    underWay,
  );
  const body = res.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new FastlyResponseError(operation, `expected a map of key to purge id, got ${show(body)}`);
  }
  return body as Record<string, string>;
}

/** Removes duplicates (first occurrence wins) and validates every key, naming each bad one by index. */
export function prepareKeys(
  keys: readonly unknown[],
  name = 'surrogateKeys',
): { keys: string[]; duplicates: number } {
  if (keys.length === 0) {
    throw new InvalidInputError(`${name}: the list of surrogate keys is empty; give at least one key`, name);
  }
  const problems: string[] = [];
  keys.forEach((key, i) => {
    const p = surrogateKeyProblem(key);
    if (p) problems.push(`${name}[${i}] ${p}`);
  });
  if (problems.length > 0) {
    const more = problems.length > 3 ? ` (and ${problems.length - 3} more invalid keys)` : '';
    throw new InvalidInputError(`${problems.slice(0, 3).join('; ')}${more}`, name);
  }
  const unique = [...new Set(keys as string[])];
  return { keys: unique, duplicates: keys.length - unique.length };
}

/**
 * The account of an item whose request was cancelled after it started: Fastly may have received it
 * and purged, but it did not answer. Not `not sent`, which says Fastly never saw it.
 */
const notAcknowledged = (reason: string) =>
  `not acknowledged: ${reason} while its request was under way (Fastly may have purged it)`;

/** What a bulk run (of key batches or of single URLs) did. */
interface BulkResult {
  purgeIds: Record<string, string>;
  failed: FailedKey[];
  /** Jobs started (batches, or URLs). */
  sent: number;
  /** Jobs in all: sent or not, counting the parts of a job split to fit the purge budget's window. */
  jobs: number;
  stopped?: string;
}

/**
 * Sends jobs (a batch of keys, or one URL) with bounded concurrency, the first alone: if it meets a
 * failure every job would meet (see isFatalPurgeError), nothing else is sent; such a failure later
 * stops sending too, as does `stop`. Never throws for a failed job: every item ends up in
 * `purgeIds` or in `failed` (unsent ones with the reason why).
 */
async function runBulk(
  jobs: string[][],
  total: number,
  /** Sends one job; calls `underWay` as its request starts (after any wait for the purge budget). */
  send: (items: string[], underWay: () => void) => Promise<Record<string, string>>,
  options: PurgeKeysOptions,
  isFatal: (err: unknown) => boolean = isFatalPurgeError,
  largest: () => number = () => Number.POSITIVE_INFINITY,
): Promise<BulkResult> {
  const purgeIds: Record<string, string> = {};
  const failed: FailedKey[] = [];
  let settled = 0;
  let started = 0;
  let splits = 0;
  /** The next job to start. */
  let next = 0;
  let fatal: string | undefined;
  /** Why `options.stop` aborted, once it has. */
  const stopped = (): string | undefined => {
    if (!options.stop?.aborted) return undefined;
    const r: unknown = options.stop.reason;
    return r instanceof Error ? r.message : 'stopped';
  };
  /**
   * Why `options.stop` aborted, when `err` is that abort: its reason, thrown by a request it cut
   * short or a wait for the budget, or the AbortError of a wait before a retry that it ended.
   */
  const cancelledBy = (err: unknown): string | undefined => {
    const reason: unknown = options.stop?.aborted ? options.stop.reason : undefined;
    if (reason === undefined) return undefined;
    const abortOf = err instanceof Error && err.name === 'AbortError' && err.cause === reason;
    return err === reason || abortOf ? stopped() : undefined;
  };
  /** Why sending stopped, once it has. */
  const stopReason = (): string | undefined =>
    fatal !== undefined ? `stopped at a failure every batch would meet: ${fatal}` : stopped();
  /** A job larger than the purge budget's window would meet a 429 in every window: it goes in parts. */
  const split = (items: string[]): boolean => {
    const most = Math.max(1, Math.floor(largest()));
    if (items.length <= most) return false;
    // With the jobs not yet started, so that only the last part is short (256 keys in windows of
    // 100 are 100, 100, 56 each; 700 keys are seven full windows, not eight).
    const all = items.concat(...jobs.splice(next));
    for (let i = 0; i < all.length; i += most) jobs.push(all.slice(i, i + most));
    splits++;
    return true;
  };
  const run = async (items: string[]) => {
    if (split(items)) return;
    let underWay = false;
    try {
      started++;
      const ids = await send(items, () => (underWay = true));
      for (const item of items) {
        const id = ids[item];
        if (typeof id === 'string') {
          purgeIds[item] = id;
          options.onPurged?.(item);
        } else failed.push({ key: item, reason: 'Fastly did not acknowledge this key in its response' });
      }
    } catch (err) {
      // Stopped while waiting for the purge budget: never sent.
      if (err instanceof PurgeTooLargeError && split(items)) {
        started--; // never sent
        return;
      }
      const cancelled = cancelledBy(err);
      if (cancelled !== undefined) {
        const reason = underWay ? notAcknowledged(cancelled) : `not sent: ${cancelled}`;
        for (const item of items) failed.push({ key: item, reason });
      } else {
        if (!(err instanceof RunFailedError)) throw err;
        // Refused as larger than the window (learnt from this very answer): sent again in parts.
        if (err instanceof FastlyApiError && err.status === 429 && split(items)) return;
        const fatalOne = isFatal(err);
        if (fatalOne) fatal ??= err.message;
        const status = err instanceof FastlyApiError ? err.status : undefined;
        // Stopped before this job failed: whatever its error, it was not retried.
        const why = fatalOne ? undefined : stopped();
        const reason = why ? `${err.message}; not retried: ${why}` : err.message;
        for (const item of items) failed.push({ key: item, reason, ...(status ? { status } : {}) });
      }
    }
    settled += items.length;
    options.onProgress?.(settled, total);
  };
  const worker = async () => {
    while (next < jobs.length && stopReason() === undefined) await run(jobs[next++] as string[]);
  };
  if (stopReason() === undefined) await run(jobs[next++] as string[]);
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_PURGE_CONCURRENCY);
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  const reason = stopReason();
  if (next < jobs.length && reason) {
    for (const job of jobs.slice(next))
      for (const item of job) failed.push({ key: item, reason: `not sent: ${reason}` });
  }
  return {
    purgeIds,
    failed,
    sent: started,
    jobs: jobs.length - splits,
    ...(next < jobs.length && reason ? { stopped: reason } : {}),
  };
}

/**
 * Hands keys to the client's coalescer (`PurgeCoordinator`): they join the pending batch of their
 * group (account, service, soft) and leave with it, sent through a client that no single caller's
 * cancellation cuts short.
 */
function coalesced(
  client: FastlyClient,
  serviceId: string,
  keys: readonly string[],
  soft: boolean,
  options: Pick<PurgeKeysOptions, 'stop' | 'onProgress' | 'concurrency'>,
) {
  const shared = client.detached();
  let settled = 0;
  return client.purges.coalesce({
    group: client.purgeGroup(serviceId, soft),
    budget: client.purgeBudget(),
    maxWaitMs: client.maxPurgeWaitMs,
    keys,
    send: (batch, grant, signal) =>
      purgeBatch(shared, serviceId, batch, soft, 'purgeKeys', undefined, grant, signal),
    isFatal: isFatalPurgeError,
    stop: options.stop,
    // A cancelled caller gets its account (keys purged, not sent, under way) rather than an error.
    abandon: client.signal,
    // The caller's own bound, as when it sends alone: its keys wait rather than widen a burst.
    maxInFlight: options.concurrency ?? DEFAULT_PURGE_CONCURRENCY,
    onSettled: (n) => {
      settled += n;
      options.onProgress?.(settled, keys.length);
    },
  });
}

/**
 * Bulk surrogate-key purge: duplicates removed, split into batches of 256, sent with bounded
 * concurrency. The first batch goes alone: if it meets a failure every batch would meet (see
 * isFatalPurgeError), nothing else is sent; such a failure later stops sending too. Never throws for
 * a failed batch: every key ends up in `purgeIds` or in `failed` (unsent keys with the reason why).
 *
 * When the client's coordinator coalesces (`lingerMs` > 0: the server), the keys join the batches
 * other callers of the process are filling instead (see `PurgeCoordinator`), at most `concurrency`
 * of those batches holding its keys at once; the result is this caller's alone all the same, `sent`
 * counting the requests that carried its keys.
 */
export async function purgeKeys(
  client: FastlyClient,
  serviceId: string,
  keys: readonly string[],
  options: PurgeKeysOptions = {},
): Promise<PurgeKeysResult> {
  validateServiceId(serviceId);
  const prepared = prepareKeys(keys);
  if (client.purges.lingerMs > 0) {
    const o = await coalesced(client, serviceId, prepared.keys, options.soft ?? false, options);
    const failed: FailedKey[] = [];
    for (const { key, error } of o.failed) {
      if (error !== undefined && !(error instanceof RunFailedError)) throw error as Error;
      if (error === undefined)
        failed.push({ key, reason: 'Fastly did not acknowledge this key in its response' });
      else {
        const status = error instanceof FastlyApiError ? error.status : undefined;
        failed.push({ key, reason: error.message, ...(status ? { status } : {}) });
      }
    }
    for (const { key, reason } of o.notSent) failed.push({ key, reason: `not sent: ${reason}` });
    for (const { key, reason } of o.cancelled) failed.push({ key, reason: notAcknowledged(reason) });
    for (const key of Object.keys(o.ids)) options.onPurged?.(key);
    const stopped = o.notSent[0]?.reason ?? o.cancelled[0]?.reason;
    return {
      purgeIds: o.ids,
      failed,
      total: prepared.keys.length,
      duplicatesRemoved: prepared.duplicates,
      batches: o.requests + Math.ceil(o.notSent.length / MAX_KEYS_PER_REQUEST),
      sent: o.requests,
      ...(stopped !== undefined ? { stopped } : {}),
    };
  }
  const batches: string[][] = [];
  for (let i = 0; i < prepared.keys.length; i += MAX_KEYS_PER_REQUEST) {
    batches.push(prepared.keys.slice(i, i + MAX_KEYS_PER_REQUEST));
  }
  const soft = options.soft;
  const result = await runBulk(
    batches,
    prepared.keys.length,
    (batch, underWay) =>
      purgeBatch(client, serviceId, batch, soft, 'purgeKeys', options.stop, undefined, undefined, underWay),
    options,
    isFatalPurgeError,
    () => client.purgeBudget().largestRequest(),
  );
  const { jobs, ...account } = result;
  return {
    ...account,
    total: prepared.keys.length,
    duplicatesRemoved: prepared.duplicates,
    batches: jobs,
  };
}

/** Removes duplicate URLs (first occurrence wins) and validates every one, naming each bad one by index. */
export function prepareUrls(urls: readonly unknown[], name = 'urls'): { urls: string[]; duplicates: number } {
  if (urls.length === 0) {
    throw new InvalidInputError(`${name}: the list of URLs is empty; give at least one URL`, name);
  }
  const problems: string[] = [];
  const normalised: string[] = [];
  urls.forEach((url, i) => {
    try {
      normalised.push(validatePurgeUrl(url, `${name}[${i}]`));
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      problems.push(err.message);
    }
  });
  if (problems.length > 0) {
    const more = problems.length > 3 ? ` (and ${problems.length - 3} more invalid URLs)` : '';
    throw new InvalidInputError(`${problems.slice(0, 3).join('; ')}${more}`, name);
  }
  const unique = [...new Set(normalised)];
  return { urls: unique, duplicates: urls.length - unique.length };
}

/**
 * Bulk URL purge. Fastly has no bulk URL endpoint: one `POST /purge/{url}` per URL, `concurrency` at
 * a time within the purge budget, the first alone, with the same account as `purgeKeys` (`failed`
 * entries' `key` is the URL; `sent` counts requests).
 */
export async function purgeUrls(
  client: FastlyClient,
  urls: readonly string[],
  options: PurgeKeysOptions = {},
): Promise<PurgeKeysResult> {
  const prepared = prepareUrls(urls);
  const result = await runBulk(
    prepared.urls.map((u) => [u]),
    prepared.urls.length,
    async ([url], underWay) => {
      const r = await purgeUrl(client, url as string, { soft: options.soft, stop: options.stop, underWay });
      return { [url as string]: r.id };
    },
    options,
    isFatalUrlPurgeError,
  );
  const { jobs: _jobs, ...account } = result;
  return {
    ...account,
    total: prepared.urls.length,
    duplicatesRemoved: prepared.duplicates,
    batches: prepared.urls.length,
  };
}

/**
 * `POST /service/{id}/purge_all`: hard only; Fastly has no soft purge-all. Purge-alls of one service
 * take turns in the process, a second apart (Fastly allows one a second per service and answers
 * parallel ones with 429): a parallel deploy job waits its turn instead of failing.
 */
export async function purgeAll(client: FastlyClient, serviceId: string): Promise<{ status: string }> {
  validateServiceId(serviceId);
  const res = await client.purges.purgeAllTurn(
    `${client.baseUrl}\0${serviceId}`,
    () =>
      client.request({
        operation: 'purgeAll',
        method: 'POST',
        path: `/service/${serviceId}/purge_all`,
        scope: 'purge_all',
      }),
    client.signal,
  );
  const b = res.body as Record<string, unknown> | null;
  if (typeof b !== 'object' || b === null || b.status !== 'ok') {
    throw new FastlyResponseError('purgeAll', `expected {"status":"ok"}, got ${show(res.body)}`);
  }
  return { status: 'ok' };
}
