import { InvalidInputError, show } from '../errors.js';
import type { FastlyClient } from './client.js';
import { FastlyResponseError } from './errors.js';
import { STATS_FIELD_NAME } from './fields.js';
import { validateServiceId } from './purge.js';
import { resolveWindow, splitWindow, type TimeWindow } from './time.js';
import { BUCKET_SECONDS } from './types.js';
import type {
  MonthToDateUsageData,
  StatsEnvelope,
  StatsMeta,
  StatsPoint,
  UsageByRegion,
  UsageByService,
} from './types.js';
import { monotonicMs } from '../monotonic.js';

/** Fastly returns at most this many points per request. */
export const MAX_POINTS_PER_REQUEST = 200;
/**
 * Most pages in flight at once. GETs are not rate limited by Fastly; how many are actually in flight
 * follows the observed latency and page size (see `orderedPages`).
 */
export const DEFAULT_STATS_CONCURRENCY = 64;
/**
 * Page bodies held at once (arrived and not yet consumed, or expected), whatever the concurrency:
 * ~16 single-service minute pages at once. Measured on a 35-day minute backfill: at 50 ms latency
 * 8, 12 and 16 MB take the same time with peak RSS 109, 113 and 128 MB; at 200 ms latency 16 MB
 * takes 4.6 s against 7.3 s for 8 MB.
 */
export const STATS_BYTES_IN_FLIGHT = 12 * 1024 * 1024;

export interface WindowQuery {
  from?: unknown;
  to?: unknown;
  by?: unknown;
  region?: string | undefined;
  datacenter?: string[] | undefined;
  concurrency?: number | undefined;
  /** Pages fetched so far and in all. */
  onProgress?: ((done: number, total: number) => void) | undefined;
  /** Epoch seconds taken as "now" (tests). */
  now?: number | undefined;
}

export interface HistoricalQuery extends WindowQuery {
  /** One service (`/stats/service/{id}`); absent: every service (`/stats`). */
  serviceId?: string | undefined;
  /** One field (`.../field/{field}`). */
  field?: string | undefined;
  /** With no serviceId: only these services. */
  services?: string[] | undefined;
}

/** Service id → points, in time order. */
export type PointsByService = Record<string, StatsPoint[]>;

export interface StatsPage<T> {
  meta: StatsMeta;
  data: T;
}

/** Checks a field's form and the service ids before any request: nothing may reach a path as `../`. */
function checkQuery(q: HistoricalQuery): void {
  if (q.field !== undefined && !STATS_FIELD_NAME.test(q.field)) {
    throw new InvalidInputError(
      `field: ${show(q.field)} is not a stats field name; expected e.g. requests or status_5xx`,
      'field',
    );
  }
  if (q.serviceId !== undefined) validateServiceId(q.serviceId);
  if (q.services !== undefined) {
    // An empty list is not "every service": that is leaving services out.
    const text = show(q.services.join(','));
    if (q.services.length === 0 || (q.services.length === 1 && q.services[0] === '')) {
      throw new InvalidInputError(
        `services: ${text} names no service; expected comma-separated service IDs (leave it out for every service)`,
        'services',
      );
    }
    if (q.services.some((id) => id === '')) {
      throw new InvalidInputError(
        `services: ${text} has an empty entry; expected comma-separated service IDs, e.g. SU1Z0isxPaozGVKXdv0eY,7i6HN3TK9wS159v2gPAZ8A`,
        'services',
      );
    }
  }
  q.services?.forEach((id, i) => validateServiceId(id, `services[${i}]`));
}

/** Fastly's POP codes are three letters (LHR, AMS, IAD…); anything else cannot match one. */
function checkDatacenter(codes: string[] | undefined): void {
  if (codes === undefined) return;
  const text = show(codes.join(','));
  if (codes.length === 0) {
    throw new InvalidInputError(
      `datacenter: ${text} names no POP; expected comma-separated three-letter POP codes, e.g. LHR,AMS (leave it out for every POP)`,
      'datacenter',
    );
  }
  for (const code of codes) {
    if (typeof code !== 'string' || !/^[A-Za-z]{3}$/.test(code)) {
      throw new InvalidInputError(
        `datacenter: ${text} has ${code === '' ? 'an empty entry' : `${show(code)}, not a POP code`}; expected comma-separated three-letter POP codes, e.g. LHR,AMS`,
        'datacenter',
      );
    }
  }
}

/** Whether a raw `/stats` body has `id` as a key of its data map (ids are letters and digits only). */
function rawHasService(body: Buffer, id: string): boolean {
  const needle = `"${id}"`;
  for (let at = body.indexOf(needle); at !== -1; at = body.indexOf(needle, at + 1)) {
    let i = at + needle.length;
    while (isSpace(body[i])) i++;
    if (body[i] === 58 /* : */) return true;
  }
  return false;
}

/**
 * `/stats?services=` leaves out ids it does not know, silently (as it leaves out a service without
 * data). After the first page, each asked-for id missing from it is looked up once as
 * `/stats/service/{id}` over one bucket: an unknown id is the same 404 as `--service-id` gets;
 * a known service without data passes.
 */
async function* withKnownServices<T>(
  client: FastlyClient,
  q: HistoricalQuery,
  window: TimeWindow,
  pages: AsyncGenerator<T>,
  has: (page: T, id: string) => boolean,
): AsyncGenerator<T> {
  let checked = q.serviceId !== undefined || q.services === undefined;
  for await (const page of pages) {
    if (!checked) {
      checked = true;
      const missing = [...new Set(q.services)].filter((id) => !has(page, id));
      const size = BUCKET_SECONDS[window.by];
      await Promise.all(
        missing.map((id) =>
          getEnvelope(client, 'stats', `/stats/service/${id}`, {
            from: window.from,
            to: window.from + size,
            by: window.by,
          }),
        ),
      );
    }
    yield page;
  }
}

function envelopeOf(operation: string, body: unknown): { meta: StatsMeta; data: unknown } {
  const b = body as Partial<StatsEnvelope<unknown>> | null;
  if (typeof b !== 'object' || b === null || !('data' in b)) {
    throw new FastlyResponseError(
      operation,
      `expected the stats envelope {status, meta, msg, data}, got ${show(b)}`,
    );
  }
  if (b.status !== 'success') {
    throw new FastlyResponseError(operation, `status ${show(b.status)}: ${b.msg ?? 'no message'}`);
  }
  return { meta: (b.meta ?? {}) as StatsMeta, data: b.data };
}

async function getEnvelope(
  client: FastlyClient,
  operation: string,
  path: string,
  query: Record<string, string | number | undefined>,
  signal?: AbortSignal,
) {
  const res = await client.request({ operation, method: 'GET', path, query, scope: 'global:read', signal });
  return { ...envelopeOf(operation, res.body), bytes: res.bytes };
}

/** `/stats/regions`, asked once per client. */
export function getRegions(client: FastlyClient): Promise<string[]> {
  return client.once('statsRegions', async () => {
    const { data } = await getEnvelope(client, 'statsRegions', '/stats/regions', {});
    if (!Array.isArray(data))
      throw new FastlyResponseError('statsRegions', `expected a list of regions, got ${show(data)}`);
    return data as string[];
  });
}

/** Checks a region against `/stats/regions` (cached); `all` and absent pass. */
export async function checkRegion(client: FastlyClient, region: string | undefined): Promise<void> {
  if (region === undefined || region === 'all') return;
  const known = await getRegions(client);
  if (!known.includes(region)) {
    throw new InvalidInputError(
      `region: ${show(region)} is not a Fastly region; expected all or one of ${known.join(', ')}`,
      'region',
    );
  }
}

/** Above this, the remaining pages of a query are fetched in shorter windows. */
const PAGE_BYTES_TARGET = 2 * 1024 * 1024;
/** Buckets in a query's first page, whose size decides the others'. */
const PROBE_BUCKETS = 10;

/** Splits a window into about `parts` windows of whole buckets. */
function shorter(w: { from: number; to: number }, parts: number, bucket: number) {
  const span = Math.max(1, Math.ceil((w.to - w.from) / bucket / parts)) * bucket;
  const out: { from: number; to: number }[] = [];
  for (let from = w.from; from < w.to; from += span) out.push({ from, to: Math.min(from + span, w.to) });
  return out;
}

interface Fetched<T> {
  value: T;
  /** Size of the page's body, for the bytes-in-flight bound. */
  bytes: number;
}

/**
 * Yields page results in order. Enough requests are kept in flight to hide the latency behind the
 * consumer's work (latency / time the consumer spends per page, both measured as pages come), at
 * most `concurrency`, and never more than `STATS_BYTES_IN_FLIGHT` worth of pages of the largest size
 * seen. Every request has its rejection handled from the start (a later page failing while an earlier
 * one is pending is never an unhandled rejection); the first failure aborts every other page and is
 * what throws.
 */
async function* orderedPages<T>(
  windows: { from: number; to: number }[],
  concurrency: number,
  fetchPage: (w: { from: number; to: number }, signal: AbortSignal) => Promise<Fetched<T>>,
  onProgress?: (done: number, total: number) => void,
  bucketSeconds?: number,
  probe = false,
): AsyncGenerator<T> {
  const cancel = new AbortController();
  const inFlight: Promise<Fetched<T>>[] = [];
  let failure: { error: unknown } | undefined;
  let next = 0;
  let done = 0;
  let latencyMs = 0;
  let consumeMs = 0;
  let pageBytes = 0;
  // With `probe` (a query of several pages over any number of services), the first page is a short
  // one: its size per bucket sets the window and concurrency of the rest, so a query over many
  // services never starts with one page of tens of megabytes.
  const first = windows[0];
  if (probe && bucketSeconds && first && first.to - first.from > PROBE_BUCKETS * bucketSeconds) {
    const cut = first.from + PROBE_BUCKETS * bucketSeconds;
    windows.splice(0, 1, { from: first.from, to: cut }, { from: cut, to: first.to });
  }
  const limit = () => {
    // One page first: its size decides how many more fit in the byte budget.
    if (pageBytes === 0) return 1;
    const toHideLatency = Math.ceil(latencyMs / Math.max(consumeMs, 0.5)) + 1;
    const byBytes = Math.max(1, Math.floor(STATS_BYTES_IN_FLIGHT / pageBytes));
    return Math.max(1, Math.min(concurrency, byBytes, Math.max(2, toHideLatency)));
  };
  const launch = () => {
    const w = windows[next++];
    if (!w) return;
    const started = monotonicMs();
    const p = fetchPage(w, cancel.signal).then((f) => {
      const ms = monotonicMs() - started;
      latencyMs = latencyMs === 0 ? ms : 0.8 * latencyMs + 0.2 * ms;
      if (pageBytes === 0 && bucketSeconds) {
        // Pages of many services are huge (50 services × 200 minutes ≈ 35 MB): from the probe's bytes
        // per bucket, ask for windows short enough to stay near the target.
        const perBucket = f.bytes / Math.max(1, (w.to - w.from) / bucketSeconds);
        const size = (x: { from: number; to: number }) => ((x.to - x.from) / bucketSeconds) * perBucket;
        windows.splice(
          next,
          Infinity,
          ...windows
            .slice(next)
            .flatMap((rest) => shorter(rest, Math.ceil(size(rest) / PAGE_BYTES_TARGET), bucketSeconds)),
        );
        // The budget is for the pages to come (the probe is already here).
        pageBytes = Math.max(1, ...windows.slice(next).map(size));
      } else pageBytes = Math.max(pageBytes, f.bytes);
      return f;
    });
    p.catch((error: unknown) => {
      if (failure) return;
      failure = { error };
      cancel.abort(error);
    });
    inFlight.push(p);
  };
  const fill = () => {
    while (next < windows.length && inFlight.length < limit()) launch();
  };
  try {
    fill();
    while (inFlight.length > 0) {
      let page: Fetched<T>;
      try {
        page = await (inFlight.shift() as Promise<Fetched<T>>);
      } catch (err) {
        throw failure ? failure.error : err;
      }
      fill();
      onProgress?.(++done, windows.length);
      const yielded = monotonicMs();
      yield page.value;
      const ms = monotonicMs() - yielded;
      consumeMs = consumeMs === 0 ? ms : 0.8 * consumeMs + 0.2 * ms;
      fill();
    }
  } finally {
    // A consumer that stops early (or a failure) cancels what is still in flight.
    if (inFlight.length) cancel.abort(new Error('stats pages no longer needed'));
  }
}

function historicalPath(q: HistoricalQuery): string {
  const field = q.field ? `/field/${q.field}` : '';
  return q.serviceId ? `/stats/service/${q.serviceId}${field}` : `/stats${field}`;
}

function windowParams(w: { from: number; to: number }, window: TimeWindow, q: WindowQuery) {
  return {
    from: w.from,
    to: w.to,
    by: window.by,
    region: q.region,
    datacenter: q.datacenter?.join(','),
  };
}

/** Checks inputs and resolves the window before any request. */
async function prepare(
  client: FastlyClient,
  q: WindowQuery,
): Promise<{ window: TimeWindow; pages: { from: number; to: number }[] }> {
  const window = resolveWindow(q, q.now);
  checkDatacenter(q.datacenter);
  await checkRegion(client, q.region);
  return { window, pages: splitWindow(window, MAX_POINTS_PER_REQUEST) };
}

function asPointsByService(operation: string, data: unknown, serviceId: string | undefined): PointsByService {
  if (serviceId !== undefined) {
    if (!Array.isArray(data))
      throw new FastlyResponseError(operation, `expected an array of points, got ${show(data)}`);
    return { [serviceId]: data as StatsPoint[] };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new FastlyResponseError(operation, `expected a map of service id to points, got ${show(data)}`);
  }
  for (const [id, points] of Object.entries(data)) {
    if (!Array.isArray(points))
      throw new FastlyResponseError(operation, `expected an array of points for ${id}`);
  }
  return data as PointsByService;
}

/**
 * Historical stats over any window: split into pages of at most 200 buckets, fetched concurrently
 * and yielded in time order, each page normalised to service id → points.
 */
export async function* historicalPages(
  client: FastlyClient,
  q: HistoricalQuery,
): AsyncGenerator<StatsPage<PointsByService>> {
  checkQuery(q);
  const { window, pages } = await prepare(client, q);
  const query = { services: q.serviceId ? undefined : q.services?.join(',') };
  const ordered = orderedPages(
    pages,
    q.concurrency ?? DEFAULT_STATS_CONCURRENCY,
    async (w, signal) => {
      const env = await getEnvelope(
        client,
        'stats',
        historicalPath(q),
        { ...windowParams(w, window, q), ...query },
        signal,
      );
      return {
        value: { meta: env.meta, data: asPointsByService('stats', env.data, q.serviceId) },
        bytes: env.bytes,
      };
    },
    q.onProgress,
    BUCKET_SECONDS[window.by],
    !q.serviceId && pages.length > 1,
  );
  yield* withKnownServices(client, q, window, ordered, (page, id) => id in page.data);
}

/** One page of historical stats as the API sent it (inflated), not yet decoded. */
export interface RawStatsPage {
  body: Buffer;
  /** The service of a `/stats/service/{id}` query, whose data is a bare list of points. */
  serviceId: string | undefined;
}

const isSpace = (c: number | undefined) => c === 32 || c === 10 || c === 13 || c === 9;

/** Looks like a JSON object (a cheap check: HTML error pages and cut-off bodies are retried). */
function objectBytes(body: Buffer): Buffer {
  let a = 0;
  let b = body.length - 1;
  while (isSpace(body[a])) a++;
  while (b > a && isSpace(body[b])) b--;
  if (body[a] !== 123 || body[b] !== 125) throw new SyntaxError('not a JSON object');
  return body;
}

/**
 * Like `historicalPages`, but yields each page's body undecoded, for writers that transcode it
 * straight to output (decode with `parseHistoricalPage` when needed).
 */
export async function* historicalRawPages(
  client: FastlyClient,
  q: HistoricalQuery,
): AsyncGenerator<RawStatsPage> {
  checkQuery(q);
  const { window, pages } = await prepare(client, q);
  const query = { services: q.serviceId ? undefined : q.services?.join(',') };
  const ordered = orderedPages(
    pages,
    q.concurrency ?? DEFAULT_STATS_CONCURRENCY,
    async (w) => {
      const res = await client.request({
        operation: 'stats',
        method: 'GET',
        path: historicalPath(q),
        query: { ...windowParams(w, window, q), ...query },
        scope: 'global:read',
        decode: objectBytes,
      });
      return { value: { body: res.body as Buffer, serviceId: q.serviceId }, bytes: res.bytes };
    },
    q.onProgress,
    BUCKET_SECONDS[window.by],
    !q.serviceId && pages.length > 1,
  );
  yield* withKnownServices(client, q, window, ordered, (page, id) => rawHasService(page.body, id));
}

/** Decodes and checks a raw page exactly as `historicalPages` does. */
export function parseHistoricalPage(page: RawStatsPage): StatsPage<PointsByService> {
  let body: unknown;
  try {
    body = JSON.parse(page.body.toString('utf8'));
  } catch {
    throw new FastlyResponseError('stats', 'the 200 response body is not JSON');
  }
  const env = envelopeOf('stats', body);
  return { meta: env.meta, data: asPointsByService('stats', env.data, page.serviceId) };
}

/**
 * Points kept for a whole window are rebuilt with a fast shape. `JSON.parse` makes an object of more
 * than 128 properties a hash table: a point of Fastly's ~185 fields took ~12.5 KB, so a month of
 * minutes for three services was 1.6 GB of heap. An object literal with the same keys in the same
 * order is the same JSON in ~2 KB. The literal is compiled once per key list (field names come
 * from the API, hence quoted with JSON.stringify; `__proto__`, which a literal would not keep as
 * a key, and odd shapes keep the parsed object).
 */
type MakePoint = (values: unknown[]) => StatsPoint;

class PointShapes {
  #keys: string[] | undefined;
  #make: MakePoint | undefined;
  readonly #made = new Map<string, { keys: string[]; make: MakePoint }>();

  compact(p: StatsPoint): StatsPoint {
    const keys = Object.keys(p);
    if (keys.length <= 128) return p;
    if (!this.#sameKeys(keys)) {
      const signature = JSON.stringify(keys);
      let shape = this.#made.get(signature);
      if (!shape) {
        if (this.#made.size >= 16 || keys.includes('__proto__')) return p;
        const body = keys.map((k, i) => `${JSON.stringify(k)}: v[${i}]`).join(', ');
        // eslint-disable-next-line @typescript-eslint/no-implied-eval -- keys are quoted by JSON.stringify
        shape = { keys, make: new Function('v', `return { ${body} };`) as MakePoint };
        this.#made.set(signature, shape);
      }
      this.#keys = shape.keys;
      this.#make = shape.make;
    }
    const values = new Array<unknown>(keys.length);
    for (let i = 0; i < keys.length; i++) values[i] = p[keys[i] as string];
    return (this.#make as MakePoint)(values);
  }

  #sameKeys(keys: string[]): boolean {
    const known = this.#keys;
    if (!known || known.length !== keys.length) return false;
    for (let i = 0; i < keys.length; i++) if (known[i] !== keys[i]) return false;
    return true;
  }
}

/** Merges pages in order into one map, dropping any repeated bucket; `meta` covers the whole window. */
async function collect(
  pages: AsyncIterable<StatsPage<PointsByService>>,
): Promise<StatsEnvelope<PointsByService>> {
  const data: PointsByService = {};
  const last: Record<string, number> = {};
  const shapes = new PointShapes();
  let meta: StatsMeta | undefined;
  for await (const page of pages) {
    meta = meta ? { ...meta, to: page.meta.to } : { ...page.meta };
    for (const [id, points] of Object.entries(page.data)) {
      data[id] ??= [];
      const list = data[id];
      for (const p of points) {
        if (last[id] !== undefined && p.start_time <= last[id]) continue;
        list.push(shapes.compact(p));
        last[id] = p.start_time;
      }
    }
  }
  return { status: 'success', meta: meta ?? ({} as StatsMeta), msg: null, data };
}

/** `/stats`, `/stats/service/{id}` and their `/field/{field}` forms, paginated; data keyed by service. */
export function historical(
  client: FastlyClient,
  q: HistoricalQuery,
): Promise<StatsEnvelope<PointsByService>> {
  return collect(historicalPages(client, q));
}

/** `/stats/aggregate`, paginated: one list of points summed over all services. */
export async function aggregate(client: FastlyClient, q: WindowQuery): Promise<StatsEnvelope<StatsPoint[]>> {
  const { window, pages } = await prepare(client, q);
  const merged = await collect(
    orderedPages(
      pages,
      q.concurrency ?? DEFAULT_STATS_CONCURRENCY,
      async (w, signal) => {
        const env = await getEnvelope(
          client,
          'statsAggregate',
          '/stats/aggregate',
          windowParams(w, window, q),
          signal,
        );
        if (!Array.isArray(env.data)) {
          throw new FastlyResponseError(
            'statsAggregate',
            `expected an array of points, got ${show(env.data)}`,
          );
        }
        return { value: { meta: env.meta, data: { aggregate: env.data as StatsPoint[] } }, bytes: env.bytes };
      },
      q.onProgress,
    ),
  );
  return { ...merged, data: merged.data.aggregate ?? [] };
}

export interface UsageQuery {
  from?: unknown;
  to?: unknown;
  byService?: boolean | undefined;
  /** Kept client-side: the API ignores `region` on usage endpoints. */
  region?: string | undefined;
  now?: number | undefined;
}

/** `/stats/usage` (region → usage) or `/stats/usage_by_service` (region → service → usage). */
export async function usage(
  client: FastlyClient,
  q: UsageQuery,
): Promise<StatsEnvelope<UsageByRegion | UsageByService>> {
  const window = resolveWindow({ from: q.from, to: q.to, by: 'day' }, q.now);
  await checkRegion(client, q.region);
  const operation = q.byService ? 'statsUsageByService' : 'statsUsage';
  const env = await getEnvelope(client, operation, q.byService ? '/stats/usage_by_service' : '/stats/usage', {
    from: window.from,
    to: window.to,
  });
  if (typeof env.data !== 'object' || env.data === null || Array.isArray(env.data)) {
    throw new FastlyResponseError(operation, `expected a map of region to usage, got ${show(env.data)}`);
  }
  let data = env.data as Record<string, unknown>;
  if (q.region && q.region !== 'all') data = { [q.region]: data[q.region] ?? {} };
  return {
    status: 'success',
    meta: { ...env.meta, region: q.region ?? 'all' },
    msg: null,
    data: data as UsageByRegion,
  };
}

export interface MonthQuery {
  year?: number | undefined;
  month?: number | undefined;
  billableUnits?: boolean | undefined;
  now?: number | undefined;
}

/** `/stats/usage_by_month`: month-to-date usage; defaults to the current UTC month. */
export async function usageByMonth(
  client: FastlyClient,
  q: MonthQuery = {},
): Promise<StatsEnvelope<MonthToDateUsageData>> {
  const now = new Date((q.now ?? Date.now() / 1000) * 1000);
  const year = q.year ?? now.getUTCFullYear();
  const month = q.month ?? now.getUTCMonth() + 1;
  if (!Number.isInteger(year) || year < 2000 || year > 9999) {
    throw new InvalidInputError(`year: ${show(year)} is not a 4-digit year`, 'year');
  }
  if (!Number.isInteger(month) || month < 1 || month > 12) {
    throw new InvalidInputError(`month: ${show(month)} is not a month; expected 1 to 12`, 'month');
  }
  if (year * 12 + month > now.getUTCFullYear() * 12 + now.getUTCMonth() + 1) {
    // A month that has not begun has no usage yet: refused rather than answered with nothing.
    const current = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
    // Blame what was given: a future year with the month left to default is the year's fault.
    const culprit = q.month === undefined ? 'year' : 'month';
    throw new InvalidInputError(
      `${culprit}: ${year}-${String(month).padStart(2, '0')} has not begun; expected this month (${current}) or an earlier one`,
      culprit,
    );
  }
  const env = await getEnvelope(client, 'statsUsageByMonth', '/stats/usage_by_month', {
    year: String(year),
    month: String(month).padStart(2, '0'),
    billable_units: q.billableUnits ? 'true' : undefined,
  });
  const d = env.data as Partial<MonthToDateUsageData> | null;
  if (typeof d !== 'object' || d === null || typeof d.services !== 'object' || typeof d.total !== 'object') {
    throw new FastlyResponseError(
      'statsUsageByMonth',
      `expected {customer_id, services, total}, got ${show(d)}`,
    );
  }
  return { status: 'success', meta: env.meta, msg: null, data: d as MonthToDateUsageData };
}
