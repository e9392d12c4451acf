import { InvalidInputError, RunFailedError, show } from '../errors.js';
import type { FastlyClient } from './client.js';
import { FastlyApiError, FastlyNetworkError, FastlyResponseError } from './errors.js';
import { isTlsFailure } from '../http/transport.js';

/** Fastly refuses bulk purges of more keys than this in one request. */
export const MAX_KEYS_PER_REQUEST = 256;
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

/** Returns the reason a surrogate key is unusable, or undefined when it is fine. */
export function surrogateKeyProblem(key: unknown): string | undefined {
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

/** `POST /purge/{url}`: the URL is appended raw; the token goes to the API, never to the purged host. */
export async function purgeUrl(
  client: FastlyClient,
  url: string,
  options: PurgeOptions = {},
): Promise<PurgeResult> {
  const target = validatePurgeUrl(url);
  const res = await client.request({
    operation: 'purgeUrl',
    method: 'POST',
    path: `/purge/${target}`,
    headers: softHeader(options.soft),
    scope: 'purge_select',
  });
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
  if (!PATH_SAFE_KEY.test(key)) {
    const ids = await purgeBatch(client, serviceId, [key], options.soft, 'purgeKey');
    const id = ids[key];
    if (id === undefined)
      throw new FastlyResponseError('purgeKey', `key ${show(key)} missing from the response`);
    return { status: 'ok', id };
  }
  const res = await client.request({
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
): Promise<Record<string, string>> {
  const res = await client.request({
    operation,
    method: 'POST',
    path: `/service/${serviceId}/purge`,
    headers: softHeader(soft),
    json: { surrogate_keys: keys },
    scope: 'purge_select',
    stopRetrying,
  });
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
 * Bulk surrogate-key purge: duplicates removed, split into batches of 256, sent with bounded
 * concurrency. The first batch goes alone: if it meets a failure every batch would meet (see
 * isFatalPurgeError), nothing else is sent; such a failure later stops sending too. Never throws for
 * a failed batch: every key ends up in `purgeIds` or in `failed` (unsent keys with the reason why).
 */
export async function purgeKeys(
  client: FastlyClient,
  serviceId: string,
  keys: readonly string[],
  options: PurgeKeysOptions = {},
): Promise<PurgeKeysResult> {
  validateServiceId(serviceId);
  const prepared = prepareKeys(keys);
  const batches: string[][] = [];
  for (let i = 0; i < prepared.keys.length; i += MAX_KEYS_PER_REQUEST) {
    batches.push(prepared.keys.slice(i, i + MAX_KEYS_PER_REQUEST));
  }
  const purgeIds: Record<string, string> = {};
  const failed: FailedKey[] = [];
  let settled = 0;
  let fatal: string | undefined;
  /** Why `options.stop` aborted, once it has. */
  const stopped = (): string | undefined => {
    if (!options.stop?.aborted) return undefined;
    const r: unknown = options.stop.reason;
    return r instanceof Error ? r.message : 'stopped';
  };
  /** Why sending stopped, once it has. */
  const stopReason = (): string | undefined =>
    fatal !== undefined ? `stopped at a failure every batch would meet: ${fatal}` : stopped();
  const send = async (batch: string[]) => {
    try {
      const ids = await purgeBatch(client, serviceId, batch, options.soft, 'purgeKeys', options.stop);
      for (const key of batch) {
        const id = ids[key];
        if (typeof id === 'string') {
          purgeIds[key] = id;
          options.onPurged?.(key);
        } else failed.push({ key, reason: 'Fastly did not acknowledge this key in its response' });
      }
    } catch (err) {
      if (!(err instanceof RunFailedError)) throw err;
      const isFatal = isFatalPurgeError(err);
      if (isFatal) fatal ??= err.message;
      const status = err instanceof FastlyApiError ? err.status : undefined;
      // Stopped before this batch failed: whatever its error, it was not retried.
      const why = isFatal ? undefined : stopped();
      const reason = why ? `${err.message}; not retried: ${why}` : err.message;
      for (const key of batch) failed.push({ key, reason, ...(status ? { status } : {}) });
    }
    settled += batch.length;
    options.onProgress?.(settled, prepared.keys.length);
  };
  let next = 0;
  const worker = async () => {
    while (next < batches.length && stopReason() === undefined) await send(batches[next++] as string[]);
  };
  if (stopReason() === undefined) await send(batches[next++] as string[]);
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_PURGE_CONCURRENCY);
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
  const reason = stopReason();
  if (next < batches.length && reason) {
    for (const batch of batches.slice(next))
      for (const key of batch) failed.push({ key, reason: `not sent: ${reason}` });
  }
  return {
    purgeIds,
    failed,
    total: prepared.keys.length,
    duplicatesRemoved: prepared.duplicates,
    batches: batches.length,
    sent: next,
    ...(next < batches.length && reason ? { stopped: reason } : {}),
  };
}

/** `POST /service/{id}/purge_all`: hard only; Fastly has no soft purge-all. */
export async function purgeAll(client: FastlyClient, serviceId: string): Promise<{ status: string }> {
  validateServiceId(serviceId);
  const res = await client.request({
    operation: 'purgeAll',
    method: 'POST',
    path: `/service/${serviceId}/purge_all`,
    scope: 'purge_all',
  });
  const b = res.body as Record<string, unknown> | null;
  if (typeof b !== 'object' || b === null || b.status !== 'ok') {
    throw new FastlyResponseError('purgeAll', `expected {"status":"ok"}, got ${show(res.body)}`);
  }
  return { status: 'ok' };
}
