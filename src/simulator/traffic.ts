import { hash32 } from './random.js';
import type { StatsScenario } from './state.js';

/*
 * The simulator's synthetic traffic: one generator from which every bucket, region, POP, service
 * and usage figure is derived, so that they add up the way Fastly's do.
 *
 * Everything is a cumulative count since EPOCH, evaluated at minute boundaries. The requests of a
 * service are N(t) = floor(F(t)), F a smooth rate (daily and weekly cycles, in closed form) plus a
 * bounded per-minute jitter that never makes it decrease. N is split over POPs, and each POP's count
 * into cells (hits, miss, pass, each status code…), by nested `floor(q × n)` / `n − floor(q × n)`:
 * both are non-decreasing in n, so every cell of every minute is ≥ 0 and the cells partition the
 * requests exactly. A bucket [a, b) of any size is V(b) − V(a): an hour or a day costs what a minute
 * costs, and the minutes of an hour, the hours of a day, the POPs of a region and the regions of
 * `all` sum exactly to it. Ratios (hit_ratio) are recomputed from the summed counts.
 */

/** 2020-01-01T00:00:00Z: counts run from here (a Wednesday). */
const EPOCH = 1_577_836_800;

/** Regions, their share of traffic, and their POPs with their share of the region. */
export const REGION_POPS: Record<string, { share: number; pops: Record<string, number> }> = {
  usa: { share: 0.38, pops: { IAD: 0.26, ORD: 0.2, DFW: 0.16, LAX: 0.22, SEA: 0.16 } },
  europe: { share: 0.27, pops: { LHR: 0.3, AMS: 0.24, FRA: 0.26, CDG: 0.2 } },
  asia: { share: 0.12, pops: { NRT: 0.4, HKG: 0.3, SIN: 0.3 } },
  asia_india: { share: 0.05, pops: { BOM: 0.55, MAA: 0.45 } },
  asia_south_korea: { share: 0.03, pops: { ICN: 1 } },
  anzac: { share: 0.04, pops: { SYD: 0.65, AKL: 0.35 } },
  latam: { share: 0.04, pops: { BOG: 0.5, SCL: 0.5 } },
  mexico: { share: 0.02, pops: { QRO: 1 } },
  southamerica_std: { share: 0.03, pops: { GRU: 0.7, EZE: 0.3 } },
  africa_std: { share: 0.02, pops: { JNB: 0.6, CPT: 0.4 } },
};

/** Each POP (a leaf of the split) with its region. */
export const POPS: { code: string; region: string }[] = Object.entries(REGION_POPS).flatMap(([region, r]) =>
  Object.keys(r.pops).map((code) => ({ code, region })),
);

/**
 * Chain-split coefficients: POP i gets floor(SPLIT[i] × what POPs i… have left); the last gets the
 * rest. Precomputed from the shares so that POP i's expected part is its overall share.
 */
const SPLIT: number[] = (() => {
  const shares = Object.values(REGION_POPS).flatMap((r) => Object.values(r.pops).map((s) => s * r.share));
  const total = shares.reduce((a, b) => a + b, 0);
  let left = 1;
  return shares.map((s, i) => {
    const q = i === shares.length - 1 ? 1 : Math.min(1, s / total / left);
    left -= s / total;
    return q;
  });
})();

/** The cells a POP's count is split into, and the index of each in a count vector. */
export const C = {
  requests: 0,
  hits: 1,
  miss: 2,
  pass: 3,
  s200: 4,
  s204: 5,
  s206: 6,
  s301: 7,
  s302: 8,
  s304: 9,
  s403: 10,
  s404: 11,
  s503: 12,
  tls13: 13,
  tls12: 14,
  http2: 15,
  http3: 16,
  ipv6: 17,
  obj10k: 18,
  obj100k: 19,
} as const;
export const CELLS = 20;

/** What varies by service: volume, cache hit rate, baseline 5xx rate. */
interface Profile {
  hash: number;
  /** Mean requests per minute (before the daily and weekly cycles). */
  rpm: number;
  /** Share of non-pass requests that are hits. */
  hit: number;
  /** 5xx per request: 3–8 in 100,000, so ≲ 25 an hour on the busiest service. */
  err: number;
  /** Phase of the weekly cycle. */
  week: number;
}

const profiles = new Map<string, Profile>();
function profile(serviceId: string): Profile {
  let p = profiles.get(serviceId);
  if (!p) {
    const h = hash32(serviceId);
    p = {
      hash: h,
      rpm: 300 + (h % 2700),
      hit: 0.8 + ((h >>> 8) % 15) / 100,
      err: (3 + ((h >>> 16) % 6)) / 100_000,
      week: ((h >>> 4) % 7) / 7,
    };
    if (profiles.size > 10_000) profiles.clear();
    profiles.set(serviceId, p);
  }
  return p;
}

const DAY = 1440;
const WEEK = 7 * DAY;
const WD = (2 * Math.PI) / DAY;
const WW = (2 * Math.PI) / WEEK;
/** Daily and weekly amplitudes, and the jitter per minute (all relative to rpm). */
const A = 0.45;
const B = 0.1;
const JITTER = 0.2;

/** A uniform [0, 1) from a service and a minute (murmur3's finalizer). */
function unit(seed: number, minute: number): number {
  let h = (seed ^ Math.imul(minute, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/**
 * Requests of a service from EPOCH to the minute boundary `m` (minutes since EPOCH): the integral of
 * rpm × (1 + A sin(daily)) × (1 + B sin(weekly)), which peaks mid-afternoon UTC, plus jitter. The
 * rate never falls below rpm × (1 − A)(1 − B) ≈ 0.5 rpm > 2 × JITTER × rpm, so F never decreases.
 */
function cumulative(p: Profile, m: number): number {
  const x = WD * (m - 540); // the daily sine crosses zero at 09:00 UTC
  const y = WW * m + 2 * Math.PI * p.week;
  const integral =
    m -
    (A / WD) * Math.cos(x) -
    (B / WW) * Math.cos(y) +
    ((A * B) / 2) * (Math.sin(x - y) / (WD - WW) - Math.sin(x + y) / (WD + WW));
  const floor = A / WD + B / WW + ((A * B) / 2) * (1 / (WD - WW) + 1 / (WD + WW));
  return Math.floor(p.rpm * (integral + floor + JITTER * unit(p.hash, m)));
}

/** floor(q × n), never more than n (q ≤ 1). */
const part = (q: number, n: number) => Math.floor(q * n);

/** Adds the cells of one POP whose cumulative count is `n` into `v`. */
const add = (v: Float64Array, i: number, x: number) => {
  v[i] = (v[i] as number) + x;
};

function addCells(v: Float64Array, n: number, p: Profile): void {
  add(v, C.requests, n);
  const pass = part(0.03, n);
  const hits = part(p.hit, n - pass);
  add(v, C.pass, pass);
  add(v, C.hits, hits);
  add(v, C.miss, n - pass - hits);
  const s5 = part(p.err, n);
  let rest = n - s5;
  const s4 = part(0.02 / (1 - p.err), rest);
  rest -= s4;
  const s3 = part(0.05 / (1 - p.err - 0.02), rest);
  const s2 = rest - s3;
  add(v, C.s503, s5);
  const s404 = part(0.8, s4);
  add(v, C.s404, s404);
  add(v, C.s403, s4 - s404);
  const s301 = part(0.2, s3);
  const s302 = part(0.125, s3 - s301);
  add(v, C.s301, s301);
  add(v, C.s302, s302);
  add(v, C.s304, s3 - s301 - s302);
  const s200 = part(0.96, s2);
  const s204 = part(0.25, s2 - s200);
  add(v, C.s200, s200);
  add(v, C.s204, s204);
  add(v, C.s206, s2 - s200 - s204);
  const tls = part(0.98, n);
  const tls13 = part(0.7 / 0.98, tls);
  add(v, C.tls13, tls13);
  add(v, C.tls12, tls - tls13);
  const http2 = part(0.6, n);
  add(v, C.http2, http2);
  add(v, C.http3, part(0.25, n - http2));
  add(v, C.ipv6, part(0.2, n));
  const obj10k = part(0.5, n);
  add(v, C.obj10k, obj10k);
  add(v, C.obj100k, n - obj10k);
}

/** Which POPs a query covers: a region, a list of POP codes, both, or every POP. */
export function popMask(region: string, datacenters: string[] | undefined): boolean[] {
  const dcs = datacenters?.map((d) => d.toUpperCase());
  return POPS.map((p) => (region === 'all' || p.region === region) && (!dcs || dcs.includes(p.code)));
}

/** Splits `total` over the POPs (chain split) and calls `each` with the masked ones' parts. */
function splitPops(total: number, mask: boolean[], each: (n: number) => void): void {
  let left = total;
  for (let i = 0; i < SPLIT.length; i++) {
    const n = i === SPLIT.length - 1 ? left : part(SPLIT[i] as number, left);
    left -= n;
    if (mask[i]) each(n);
  }
}

/** Scenario total from its start to `t` (seconds), at perMinute. */
function scenarioCumulative(sc: StatsScenario, t: number): number {
  const secs = Math.min(t, sc.to) - sc.from;
  return secs <= 0 ? 0 : Math.floor((sc.perMinute * secs) / 60);
}

/** Everything a window needs to turn boundaries into cumulative vectors. */
export interface Selection {
  mask: boolean[];
  /** Every POP: the split can be skipped. */
  all: boolean;
  scenarios: StatsScenario[];
}

export function selection(region: string, datacenters: string[] | undefined, scenarios: StatsScenario[]) {
  const mask = popMask(region, datacenters);
  return { mask, all: mask.every(Boolean), scenarios };
}

/**
 * The cumulative counts of one service at time `t` (a whole minute, epoch seconds) over the
 * selected POPs, into `v` (zeroed first); scenario additions go into `extra`, by field.
 */
export function cumulativeAt(
  serviceId: string,
  t: number,
  sel: Selection,
  v: Float64Array,
  extra: Map<string, number> | undefined,
): void {
  v.fill(0);
  const p = profile(serviceId);
  const n = cumulative(p, (t - EPOCH) / 60);
  splitPops(n, sel.mask, (k) => addCells(v, k, p));
  if (!extra) return;
  extra.clear();
  for (const sc of sel.scenarios) {
    if (sc.serviceId && sc.serviceId !== serviceId) continue;
    const total = scenarioCumulative(sc, t);
    let sum = 0;
    if (sel.all) sum = total;
    else splitPops(total, sel.mask, (k) => (sum += k));
    extra.set(sc.field, (extra.get(sc.field) ?? 0) + sum);
  }
}

/** Scenarios that add anything to a service at or before `t` (seconds). */
export function activeScenarios(scenarios: StatsScenario[], serviceId: string, t: number): boolean {
  return scenarios.some((sc) => (!sc.serviceId || sc.serviceId === serviceId) && sc.from < t);
}
