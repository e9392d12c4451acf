import { STATS_FIELDS } from '../fastly/fields.js';
import { BUCKET_SECONDS, type By } from '../fastly/types.js';
import { authorize, json, type Route, type SimReply, type SimRequest } from './route.js';
import { parseApiTime } from './time.js';
import type { SimState } from './state.js';
import { activeScenarios, C, CELLS, cumulativeAt, REGION_POPS, selection } from './traffic.js';

export const MAX_POINTS = 200;
const MINUTE_RETENTION_S = 35 * 86400;

/** Regions and their share of traffic. */
export const REGIONS: Record<string, number> = Object.fromEntries(
  Object.entries(REGION_POPS).map(([region, r]) => [region, r.share]),
);

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
  /** POP codes (`datacenter`), or every POP. */
  datacenter: string[] | undefined;
  buckets: number[];
  /** The end of the last complete bucket of the window, past any 200-point cap: usage sums up to it. */
  end: number;
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
  const dc = req.query.get('datacenter');
  const datacenter = dc ? dc.split(',').filter((d) => d !== '') : undefined;
  // Nothing is reported for a bucket before it is over and the data lag has passed.
  const buckets: number[] = [];
  const complete = now - state.statsLagSeconds;
  const first = Math.floor(from / size) * size;
  const lastStart = Math.min(Math.ceil(to / size) * size, Math.floor(complete / size) * size) - size;
  for (let t = first; t <= lastStart && buckets.length < MAX_POINTS; t += size) buckets.push(t);
  const end = lastStart >= first ? lastStart + size : first;
  return { from, to, by, region, datacenter, buckets, end };
}

function metaOf(w: Window): Record<string, unknown> {
  return { from: metaTime(w.from), to: metaTime(w.to), by: w.by, region: w.region };
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

/**
 * The point of a bucket from its counts (see traffic.ts): every field is a sum of cells times a
 * constant, so points add up; hit_ratio = hits / (hits + miss), as Fastly reports it. `extra` holds
 * what scenarios add, by field.
 */
export function pointOf(c: Float64Array, extra?: Map<string, number>): Record<string, number> {
  const at = (i: number) => c[i] as number;
  const requests = at(C.requests);
  const hits = at(C.hits);
  const miss = at(C.miss);
  const pass = at(C.pass);
  const s2 = at(C.s200) + at(C.s204) + at(C.s206);
  const s3 = at(C.s301) + at(C.s302) + at(C.s304);
  const s4 = at(C.s403) + at(C.s404);
  const s5 = at(C.s503);
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
  p.status_200 = at(C.s200);
  p.status_204 = at(C.s204);
  p.status_206 = at(C.s206);
  p.status_3xx = s3;
  p.status_301 = at(C.s301);
  p.status_302 = at(C.s302);
  p.status_304 = at(C.s304);
  p.status_4xx = s4;
  p.status_404 = at(C.s404);
  p.status_403 = at(C.s403);
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
  p.tls = at(C.tls13) + at(C.tls12);
  p.tls_v13 = at(C.tls13);
  p.tls_v12 = at(C.tls12);
  p.http2 = at(C.http2);
  p.http3 = at(C.http3);
  p.ipv6 = at(C.ipv6);
  p.object_size_10k = at(C.obj10k);
  p.object_size_100k = at(C.obj100k);
  p.recv_sub_count = requests;
  p.deliver_sub_count = requests;
  p.hash_sub_count = requests;
  p.hit_sub_count = hits;
  p.miss_sub_count = miss;
  p.pass_sub_count = pass;
  p.fetch_sub_count = miss + pass;
  // Scenarios are added to their field as scripted, on top of the generated traffic.
  if (extra) for (const [f, v] of extra) if (v !== 0) p[f] = (p[f] ?? 0) + v;
  return p;
}

/**
 * The counts of one service in each bucket of a window (contiguous buckets of `size` seconds from
 * `buckets[0]`), as V(end) − V(start) of the cumulative counts: a bucket of any size costs the same.
 */
function serviceCounts(
  state: SimState,
  serviceId: string,
  w: Window,
  each: (i: number, counts: Float64Array, extra: Map<string, number> | undefined) => void,
): void {
  const size = BUCKET_SECONDS[w.by];
  const first = w.buckets[0];
  if (first === undefined) return;
  const sel = selection(w.region, w.datacenter, state.scenarios);
  const last = (w.buckets.at(-1) as number) + size;
  const scripted = activeScenarios(state.scenarios, serviceId, last);
  let prev = new Float64Array(CELLS);
  let next = new Float64Array(CELLS);
  const diff = new Float64Array(CELLS);
  let prevExtra = scripted ? new Map<string, number>() : undefined;
  let nextExtra = scripted ? new Map<string, number>() : undefined;
  const extraDiff = scripted ? new Map<string, number>() : undefined;
  cumulativeAt(serviceId, first, sel, prev, prevExtra);
  for (let i = 0; i < w.buckets.length; i++) {
    cumulativeAt(serviceId, (w.buckets[i] as number) + size, sel, next, nextExtra);
    for (let k = 0; k < CELLS; k++) diff[k] = (next[k] as number) - (prev[k] as number);
    if (extraDiff && nextExtra && prevExtra) {
      extraDiff.clear();
      for (const [f, v] of nextExtra) extraDiff.set(f, v - (prevExtra.get(f) ?? 0));
    }
    each(i, diff, extraDiff);
    [prev, next] = [next, prev];
    [prevExtra, nextExtra] = [nextExtra, prevExtra];
  }
}

function servicePoints(
  state: SimState,
  serviceId: string,
  w: Window,
  field?: string,
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  serviceCounts(state, serviceId, w, (i, counts, extra) => {
    const start = w.buckets[i] as number;
    const p = pointOf(counts, extra);
    if (field) {
      // In the full point's order (its fields, then service_id and start_time), as go-fastly's
      // recorded answer has it (`bandwidth`, `service_id`, `start_time`).
      out.push({ [field]: p[field] ?? null, service_id: serviceId, start_time: start });
      return;
    }
    // Appended to the fresh point rather than spread into a copy (its fields keep their order).
    const point: Record<string, unknown> = state.pointFields ? {} : p;
    if (state.pointFields) for (const f of state.pointFields) point[f] = p[f] ?? null;
    point.service_id = serviceId;
    point.start_time = start;
    out.push(point);
  });
  return out;
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

interface Usage {
  bandwidth: number;
  requests: number;
  compute_requests: number;
}

/**
 * Per-region usage of one service over [from, end) (whole minutes): the requests and bandwidth that
 * the historical buckets of those regions over the same span add up to, scenarios included.
 */
function usageByRegion(state: SimState, serviceId: string, from: number, end: number) {
  const out: Record<string, Usage> = {};
  const a = new Float64Array(CELLS);
  const b = new Float64Array(CELLS);
  const scripted = activeScenarios(state.scenarios, serviceId, end);
  const ea = scripted ? new Map<string, number>() : undefined;
  const eb = scripted ? new Map<string, number>() : undefined;
  for (const region of Object.keys(REGIONS)) {
    if (end <= from) {
      out[region] = { bandwidth: 0, requests: 0, compute_requests: 0 };
      continue;
    }
    const sel = selection(region, undefined, state.scenarios);
    cumulativeAt(serviceId, from, sel, a, ea);
    cumulativeAt(serviceId, end, sel, b, eb);
    for (let k = 0; k < CELLS; k++) b[k] = (b[k] as number) - (a[k] as number);
    if (eb && ea) for (const [f, v] of eb) eb.set(f, v - (ea.get(f) ?? 0));
    const p = pointOf(b, eb);
    out[region] = { bandwidth: p.bandwidth ?? 0, requests: p.requests ?? 0, compute_requests: 0 };
  }
  return out;
}

function sumUsage(list: (Usage | undefined)[]): Usage {
  const u = { bandwidth: 0, requests: 0, compute_requests: 0 };
  for (const x of list) {
    u.bandwidth += x?.bandwidth ?? 0;
    u.requests += x?.requests ?? 0;
  }
  return u;
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
    // The sum over services of their counts, each point built from the sums (ratios recomputed).
    return withWindow(req, state, (w) => {
      const sums = w.buckets.map(() => new Float64Array(CELLS));
      const extras = w.buckets.map(() => new Map<string, number>());
      for (const id of state.services.keys()) {
        serviceCounts(state, id, w, (i, counts, extra) => {
          const sum = sums[i] as Float64Array;
          for (let k = 0; k < CELLS; k++) sum[k] = (sum[k] as number) + (counts[k] as number);
          const e = extras[i] as Map<string, number>;
          if (extra) for (const [f, v] of extra) e.set(f, (e.get(f) ?? 0) + v);
        });
      }
      const data = w.buckets.map((start, i) => {
        const p: Record<string, unknown> = pointOf(sums[i] as Float64Array, extras[i]);
        p.start_time = start;
        return p;
      });
      return envelope(metaOf(w), data);
    });
  }
  if (kind === 'usage' || kind === 'usage_by_service') {
    // Over the buckets `historical` reports for the same window and `by` (past the 200-point cap).
    return withWindow(req, state, (w) => {
      const from = w.buckets[0] ?? w.end;
      const per = new Map(
        [...state.services.keys()].map((id) => [id, usageByRegion(state, id, from, w.end)]),
      );
      const data: Record<string, unknown> = {};
      for (const region of Object.keys(REGIONS)) {
        if (kind === 'usage_by_service') {
          data[region] = Object.fromEntries([...per].map(([id, u]) => [id, u[region]]));
        } else {
          data[region] = sumUsage([...per.values()].map((u) => u[region]));
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
  // Up to the last minute that is over and past the data lag, as `historical --by minute` reports it.
  const complete = Math.floor((state.now() / 1000 - state.statsLagSeconds) / 60) * 60;
  const end = Math.max(from, Math.min(Date.UTC(year, month, 1) / 1000, complete));
  const scale = (u: Usage) =>
    billable
      ? {
          bandwidth: Number((u.bandwidth / 1e9).toFixed(6)),
          requests: Number((u.requests / 1e4).toFixed(4)),
          compute_requests: 0,
        }
      : u;
  const services: Record<string, Record<string, unknown>> = {};
  const total: Record<string, Usage> = {};
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
