import { STATS_FIELDS } from '../fastly/fields.js';
import { BUCKET_SECONDS, type By } from '../fastly/types.js';
import { authorize, json, type Route, type SimReply, type SimRequest } from './http.js';
import { hash32, seededRandom } from './random.js';
import { parseApiTime } from './time.js';
import type { SimState } from './state.js';

export const MAX_POINTS = 200;
const MINUTE_RETENTION_S = 35 * 86400;

/** Regions and their share of traffic. */
export const REGIONS: Record<string, number> = {
  usa: 0.38,
  europe: 0.27,
  asia: 0.12,
  asia_india: 0.05,
  asia_south_korea: 0.03,
  anzac: 0.04,
  latam: 0.04,
  mexico: 0.02,
  southamerica_std: 0.03,
  africa_std: 0.02,
};

function envelope(meta: Record<string, unknown>, data: unknown): SimReply {
  return json(200, { status: 'success', meta, msg: null, data });
}

function statsError(status: number, msg: string): SimReply {
  return json(status, { status: 'error', meta: {}, msg, data: null });
}

/** "2024-03-12 15:47:53 UTC", as every recorded real response (2019–2024) writes meta times. */
export function metaTime(epoch: number): string {
  return `${new Date(epoch * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

interface Window {
  from: number;
  to: number;
  by: By;
  region: string;
  buckets: number[];
}

function resolveWindow(req: SimRequest, state: SimState): Window | SimReply {
  const now = Math.floor(state.now() / 1000);
  const by = (req.query.get('by') ?? 'day') as By;
  if (!(by in BUCKET_SECONDS))
    return statsError(400, `Invalid value for 'by': ${by}; expected minute, hour or day`);
  const size = BUCKET_SECONDS[by];
  const region = req.query.get('region') ?? 'all';
  if (region !== 'all' && !(region in REGIONS)) return statsError(400, `Unknown region: ${region}`);
  const toParam = req.query.get('to');
  const fromParam = req.query.get('from');
  const to = toParam ? parseApiTime(toParam, now) : now;
  const defaultSpan = { day: 30 * 86400, hour: 86400, minute: 1800 }[by];
  const from = fromParam ? parseApiTime(fromParam, now) : (to ?? now) - defaultSpan;
  if (to === undefined || from === undefined) return statsError(400, 'Invalid time parameter for from/to');
  if (from > to) return statsError(400, "'from' must be before 'to'");
  if (by === 'minute' && from < now - MINUTE_RETENTION_S) {
    return statsError(400, 'Minutely data is only available for the last 35 days');
  }
  const buckets: number[] = [];
  const complete = now - state.statsLagSeconds;
  for (let t = Math.floor(from / size) * size; t < to && t + size <= complete; t += size) {
    buckets.push(t);
    if (buckets.length === MAX_POINTS) break;
  }
  return { from, to, by, region, buckets };
}

function metaOf(w: Window): Record<string, unknown> {
  return { from: metaTime(w.from), to: metaTime(w.to), by: w.by, region: w.region };
}

/** Traffic shape over the day (UTC), peaking mid-afternoon in Europe/US. */
function dailyShape(t: number): number {
  const hour = (t % 86400) / 3600;
  return 1 + 0.45 * Math.sin((2 * Math.PI * (hour - 9)) / 24);
}

/**
 * A point with every stats field at 0, in STATS_FIELDS order. Generated once so that all points share
 * one hidden class with in-object fields and are built and serialized on V8's fast paths: spreading a
 * 185-key object per point cost ~6× more, and in benchmarks the simulator shares the machine's cores
 * with the clients it serves.
 */
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const ZeroPoint = new Function(
  STATS_FIELDS.map((f) => `this[${JSON.stringify(f)}] = 0;`).join('\n'),
) as unknown as new () => Record<string, number>;

/** A deterministic, plausible point for one service, bucket and region. */
export function syntheticPoint(
  serviceId: string,
  start: number,
  size: number,
  region: string,
  scenarios: SimState['scenarios'],
): Record<string, number> {
  const h = hash32(serviceId);
  const rand = seededRandom(hash32(`${serviceId}:${start}:${size}`));
  const minutes = size / 60;
  const share = region === 'all' ? 1 : (REGIONS[region] ?? 0);
  const rpm = 300 + (h % 2700);
  const mid = start + size / 2;
  const requests = Math.round(
    rpm * minutes * share * (size >= 86400 ? 1 : dailyShape(mid)) * (0.9 + 0.2 * rand()),
  );
  const pass = Math.round(requests * 0.03);
  const hitRate = 0.8 + ((h >>> 8) % 15) / 100;
  const hits = Math.round((requests - pass) * hitRate);
  const miss = requests - pass - hits;
  const s5 = Math.round(requests * 0.0001 * rand());
  const s4 = Math.round(requests * 0.02);
  const s3 = Math.round(requests * 0.05);
  const s2 = requests - s3 - s4 - s5;
  const bodyBytes = requests * 18_000;
  const headerBytes = requests * 450;
  const p = new ZeroPoint();
  p.requests = requests;
  p.edge_requests = requests;
  p.hits = hits;
  p.miss = miss;
  p.pass = pass;
  p.edge_hit_requests = hits;
  p.edge_miss_requests = miss + pass;
  p.hit_ratio = hits + miss > 0 ? hits / (hits + miss) : 0;
  p.hits_time = Number((hits * 0.0004).toFixed(4));
  p.miss_time = Number((miss * 0.08).toFixed(4));
  p.origin_fetches = miss + pass;
  p.status_2xx = s2;
  p.status_200 = Math.round(s2 * 0.96);
  p.status_204 = Math.round(s2 * 0.01);
  p.status_206 = s2 - Math.round(s2 * 0.96) - Math.round(s2 * 0.01);
  p.status_3xx = s3;
  p.status_301 = Math.round(s3 * 0.2);
  p.status_302 = Math.round(s3 * 0.1);
  p.status_304 = s3 - Math.round(s3 * 0.2) - Math.round(s3 * 0.1);
  p.status_4xx = s4;
  p.status_404 = Math.round(s4 * 0.8);
  p.status_403 = s4 - Math.round(s4 * 0.8);
  p.status_5xx = s5;
  p.status_503 = s5;
  p.errors = s5;
  p.resp_body_bytes = bodyBytes;
  p.body_size = bodyBytes;
  p.edge_resp_body_bytes = bodyBytes;
  p.resp_header_bytes = headerBytes;
  p.header_size = headerBytes;
  p.edge_resp_header_bytes = headerBytes;
  p.hit_resp_body_bytes = hits * 18_000;
  p.edge_hit_resp_body_bytes = hits * 18_000;
  p.edge_hit_resp_header_bytes = hits * 450;
  p.edge_miss_resp_body_bytes = (miss + pass) * 18_000;
  p.edge_miss_resp_header_bytes = (miss + pass) * 450;
  p.origin_cache_fetches = miss;
  p.origin_cache_fetch_resp_body_bytes = miss * 18_000;
  p.origin_cache_fetch_resp_header_bytes = miss * 380;
  p.origin_fetch_resp_body_bytes = (miss + pass) * 18_000;
  p.origin_fetch_resp_header_bytes = (miss + pass) * 380;
  p.origin_fetch_header_bytes = (miss + pass) * 700;
  p.miss_resp_body_bytes = miss * 18_000;
  p.pass_resp_body_bytes = pass * 18_000;
  p.req_header_bytes = requests * 600;
  p.bereq_header_bytes = (miss + pass) * 700;
  // Legacy names Fastly still sends, equal to the newer fields in every recorded response.
  p.orig_req_header_size = (miss + pass) * 700;
  p.orig_req_body_size = 0;
  p.orig_resp_header_size = requests * 600;
  p.orig_resp_body_size = 0;
  p.blacklist = 0;
  p.bandwidth = bodyBytes + headerBytes + (miss + pass) * 700;
  p.tls = Math.round(requests * 0.98);
  p.tls_v13 = Math.round(requests * 0.7);
  p.tls_v12 = Math.round(requests * 0.98) - Math.round(requests * 0.7);
  p.http2 = Math.round(requests * 0.6);
  p.http3 = Math.round(requests * 0.1);
  p.ipv6 = Math.round(requests * 0.2);
  p.object_size_10k = Math.round(requests * 0.5);
  p.object_size_100k = requests - Math.round(requests * 0.5);
  p.recv_sub_count = requests;
  p.deliver_sub_count = requests;
  p.hash_sub_count = requests;
  p.hit_sub_count = hits;
  p.miss_sub_count = miss;
  p.pass_sub_count = pass;
  p.fetch_sub_count = miss + pass;
  for (const sc of scenarios) {
    if (sc.serviceId && sc.serviceId !== serviceId) continue;
    const overlap = Math.min(start + size, sc.to) - Math.max(start, sc.from);
    if (overlap <= 0) continue;
    p[sc.field] = (p[sc.field] ?? 0) + Math.round((sc.perMinute * overlap) / 60);
  }
  return p;
}

function servicePoints(
  state: SimState,
  serviceId: string,
  w: Window,
  field?: string,
): Record<string, unknown>[] {
  const size = BUCKET_SECONDS[w.by];
  return w.buckets.map((start) => {
    const p = syntheticPoint(serviceId, start, size, w.region, state.scenarios);
    if (field) return { service_id: serviceId, start_time: start, [field]: p[field] ?? null };
    // Appended to the fresh point rather than spread into a copy (its fields keep their order).
    const point: Record<string, unknown> = state.pointFields ? {} : p;
    if (state.pointFields) for (const f of state.pointFields) point[f] = p[f] ?? null;
    point.service_id = serviceId;
    point.start_time = start;
    return point;
  });
}

function withWindow(req: SimRequest, state: SimState, fn: (w: Window) => SimReply): SimReply {
  const denied = authorize(req, state, 'global:read');
  if (denied) return denied;
  const w = resolveWindow(req, state);
  if (!('buckets' in w)) return w;
  const reply = fn(w);
  reply.log = { ...reply.log, points: w.buckets.length };
  return reply;
}

function unknownService(id: string): SimReply {
  return json(404, { msg: 'Record not found', detail: `Couldn't find Service '${id}'` });
}

function selectedServices(req: SimRequest, state: SimState): string[] {
  const filter = req.query.get('services');
  const all = [...state.services.keys()];
  return filter ? all.filter((id) => filter.split(',').includes(id)) : all;
}

function usage(points: Record<string, number>[]): {
  bandwidth: number;
  requests: number;
  compute_requests: number;
} {
  let bandwidth = 0;
  let requests = 0;
  for (const p of points) {
    bandwidth += p.bandwidth ?? 0;
    requests += p.requests ?? 0;
  }
  return { bandwidth, requests, compute_requests: 0 };
}

/** Per-region usage of one service over whole days of the window (daily buckets, uncapped). */
function usageByRegion(state: SimState, serviceId: string, from: number, to: number) {
  const out: Record<string, ReturnType<typeof usage>> = {};
  for (const region of Object.keys(REGIONS)) {
    const points: Record<string, number>[] = [];
    for (let t = Math.floor(from / 86400) * 86400; t < to; t += 86400) {
      points.push(syntheticPoint(serviceId, t, 86400, region, state.scenarios));
    }
    out[region] = usage(points);
  }
  return out;
}

const STATS_PATH =
  /^\/stats(?:\/(field|service|aggregate|usage|usage_by_service|usage_by_month|regions)(?:\/([^/]+))?(?:\/field\/([^/]+))?)?$/;

const statsRoute: Route = (req, state) => {
  if (req.method !== 'GET') return undefined;
  const m = STATS_PATH.exec(req.path);
  if (!m) return undefined;
  const [, kind, arg, field] = m;
  if (kind === 'regions') return withWindow(req, state, (w) => envelope(metaOf(w), Object.keys(REGIONS)));
  if (kind === undefined) {
    return withWindow(req, state, (w) =>
      envelope(
        metaOf(w),
        Object.fromEntries(selectedServices(req, state).map((id) => [id, servicePoints(state, id, w)])),
      ),
    );
  }
  if (kind === 'field' && arg) {
    return withWindow(req, state, (w) =>
      envelope(
        metaOf(w),
        Object.fromEntries(selectedServices(req, state).map((id) => [id, servicePoints(state, id, w, arg)])),
      ),
    );
  }
  if (kind === 'service' && arg) {
    if (!state.services.has(arg)) return authorize(req, state, 'global:read') ?? unknownService(arg);
    return withWindow(req, state, (w) => envelope(metaOf(w), servicePoints(state, arg, w, field)));
  }
  if (kind === 'aggregate') {
    return withWindow(req, state, (w) => {
      const ids = [...state.services.keys()];
      const perService = ids.map((id) => servicePoints(state, id, w) as Record<string, number>[]);
      const data = w.buckets.map((start, i) => {
        const sum: Record<string, number> = { start_time: start };
        for (const pts of perService) {
          for (const [k, v] of Object.entries(pts[i] ?? {})) {
            if (typeof v === 'number' && k !== 'start_time') sum[k] = (sum[k] ?? 0) + v;
          }
        }
        const hm = (sum.hits ?? 0) + (sum.miss ?? 0);
        sum.hit_ratio = hm > 0 ? (sum.hits ?? 0) / hm : 0;
        return sum;
      });
      return envelope(metaOf(w), data);
    });
  }
  if (kind === 'usage' || kind === 'usage_by_service') {
    return withWindow(req, state, (w) => {
      const per = new Map(
        [...state.services.keys()].map((id) => [id, usageByRegion(state, id, w.from, w.to)]),
      );
      const data: Record<string, unknown> = {};
      for (const region of Object.keys(REGIONS)) {
        if (kind === 'usage_by_service') {
          data[region] = Object.fromEntries([...per].map(([id, u]) => [id, u[region]]));
        } else {
          data[region] = usage([...per.values()].map((u) => u[region] as unknown as Record<string, number>));
        }
      }
      return envelope(metaOf(w), data);
    });
  }
  if (kind === 'usage_by_month') return usageByMonth(req, state);
  return undefined;
};

function usageByMonth(req: SimRequest, state: SimState): SimReply {
  const denied = authorize(req, state, 'global:read');
  if (denied) return denied;
  const now = new Date(state.now());
  const year = Number(req.query.get('year') ?? now.getUTCFullYear());
  const month = Number(req.query.get('month') ?? now.getUTCMonth() + 1);
  if (!Number.isInteger(year) || !Number.isInteger(month) || month < 1 || month > 12) {
    return statsError(400, 'Invalid year or month');
  }
  const billable = req.query.get('billable_units') === 'true';
  const from = Date.UTC(year, month - 1, 1) / 1000;
  const end = Math.min(Date.UTC(year, month, 1) / 1000, Math.floor(state.now() / 1000));
  const scale = (u: { bandwidth: number; requests: number; compute_requests: number }) =>
    billable
      ? {
          bandwidth: Number((u.bandwidth / 1e9).toFixed(6)),
          requests: Number((u.requests / 1e4).toFixed(4)),
          compute_requests: 0,
        }
      : u;
  const services: Record<string, Record<string, unknown>> = {};
  const total: Record<string, { bandwidth: number; requests: number; compute_requests: number }> = {};
  for (const svc of state.services.values()) {
    const regions = end > from ? usageByRegion(state, svc.id, from, end) : {};
    services[svc.id] = { name: svc.name };
    for (const [region, u] of Object.entries(regions)) {
      (services[svc.id] as Record<string, unknown>)[region] = scale(u);
      total[region] ??= { bandwidth: 0, requests: 0, compute_requests: 0 };
      const t = total[region];
      t.bandwidth += u.bandwidth;
      t.requests += u.requests;
    }
  }
  for (const r of Object.keys(total)) total[r] = scale(total[r] as (typeof total)[string]);
  return envelope(
    { from: metaTime(from), to: metaTime(end), by: 'month', region: 'all' },
    { customer_id: 'x4xCwxxJxGCx123Rx5xTx', services, total },
  );
}

export const statsRoutes: Route[] = [statsRoute];
