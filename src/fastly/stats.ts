import { InvalidInputError, show } from '../errors.js';
import type { FastlyClient } from './client.js';
import { FastlyResponseError } from './errors.js';
import { isStatsField } from './fields.js';
import { validateServiceId } from './purge.js';
import { resolveWindow, splitWindow, type TimeWindow } from './time.js';
import type {
  MonthToDateUsageData,
  StatsEnvelope,
  StatsMeta,
  StatsPoint,
  UsageByRegion,
  UsageByService,
} from './types.js';

/** Fastly returns at most this many points per request. */
export const MAX_POINTS_PER_REQUEST = 200;
/** GETs are not rate limited by Fastly; pages are small. */
export const DEFAULT_STATS_CONCURRENCY = 12;

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

/** Checks a field and service ids before any request: a typo must not reach the API (nor `../` a path). */
function checkQuery(q: HistoricalQuery): void {
  if (q.field !== undefined && !isStatsField(q.field)) {
    throw new InvalidInputError(
      `field: ${show(q.field)} is not a documented stats field; expected e.g. requests, status_5xx, hit_ratio, bandwidth`,
      'field',
    );
  }
  if (q.serviceId !== undefined) validateServiceId(q.serviceId);
  q.services?.forEach((id, i) => validateServiceId(id, `services[${i}]`));
}

async function getEnvelope(
  client: FastlyClient,
  operation: string,
  path: string,
  query: Record<string, string | number | undefined>,
) {
  const res = await client.request({ operation, method: 'GET', path, query, scope: 'global:read' });
  const body = res.body as Partial<StatsEnvelope<unknown>> | null;
  if (typeof body !== 'object' || body === null || !('data' in body)) {
    throw new FastlyResponseError(
      operation,
      `expected the stats envelope {status, meta, msg, data}, got ${show(body)}`,
    );
  }
  if (body.status !== 'success') {
    throw new FastlyResponseError(operation, `status ${show(body.status)}: ${body.msg ?? 'no message'}`);
  }
  return { meta: (body.meta ?? {}) as StatsMeta, data: body.data };
}

const regionCache = new Map<string, Promise<string[]>>();

/** `/stats/regions`, cached per endpoint for the life of the process. */
export function getRegions(client: FastlyClient): Promise<string[]> {
  let cached = regionCache.get(client.baseUrl);
  if (!cached) {
    cached = getEnvelope(client, 'statsRegions', '/stats/regions', {}).then(({ data }) => {
      if (!Array.isArray(data))
        throw new FastlyResponseError('statsRegions', `expected a list of regions, got ${show(data)}`);
      return data as string[];
    });
    cached.catch(() => regionCache.delete(client.baseUrl));
    regionCache.set(client.baseUrl, cached);
  }
  return cached;
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

/** Yields page results in order while keeping up to `concurrency` requests in flight. */
async function* orderedPages<T>(
  windows: { from: number; to: number }[],
  concurrency: number,
  fetchPage: (w: { from: number; to: number }) => Promise<T>,
  onProgress?: (done: number, total: number) => void,
): AsyncGenerator<T> {
  const inFlight: Promise<T>[] = [];
  let next = 0;
  let done = 0;
  const launch = () => {
    const w = windows[next++];
    if (w) inFlight.push(fetchPage(w));
  };
  while (next < windows.length && inFlight.length < concurrency) launch();
  try {
    while (inFlight.length > 0) {
      const page = await (inFlight.shift() as Promise<T>);
      launch();
      onProgress?.(++done, windows.length);
      yield page;
    }
  } finally {
    // A consumer that stops early must not leave rejections unhandled.
    for (const p of inFlight) p.catch(() => {});
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
  yield* orderedPages(
    pages,
    q.concurrency ?? DEFAULT_STATS_CONCURRENCY,
    async (w) => {
      const env = await getEnvelope(client, 'stats', historicalPath(q), {
        ...windowParams(w, window, q),
        ...query,
      });
      return { meta: env.meta, data: asPointsByService('stats', env.data, q.serviceId) };
    },
    q.onProgress,
  );
}

/** Merges pages in order into one map, dropping any repeated bucket; `meta` covers the whole window. */
async function collect(
  pages: AsyncIterable<StatsPage<PointsByService>>,
): Promise<StatsEnvelope<PointsByService>> {
  const data: PointsByService = {};
  const last: Record<string, number> = {};
  let meta: StatsMeta | undefined;
  for await (const page of pages) {
    meta = meta ? { ...meta, to: page.meta.to } : { ...page.meta };
    for (const [id, points] of Object.entries(page.data)) {
      data[id] ??= [];
      const list = data[id];
      for (const p of points) {
        if (last[id] !== undefined && p.start_time <= (last[id] as number)) continue;
        list.push(p);
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
      async (w) => {
        const env = await getEnvelope(
          client,
          'statsAggregate',
          '/stats/aggregate',
          windowParams(w, window, q),
        );
        if (!Array.isArray(env.data)) {
          throw new FastlyResponseError(
            'statsAggregate',
            `expected an array of points, got ${show(env.data)}`,
          );
        }
        return { meta: env.meta, data: { aggregate: env.data as StatsPoint[] } };
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
