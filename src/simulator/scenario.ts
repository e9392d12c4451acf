import { isStatsField } from '../fastly/fields.js';
import type { StatsScenario } from './state.js';

/** The form of a `--scenario`, as error messages and `--help` show it. */
export const SCENARIO_FORM = '[SERVICE:]FIELD=PER_MINUTE[@START][/DURATION]';
export const SCENARIO_EXAMPLE = 'status_5xx=400@-10m/30m';

/** The most a scenario adds a minute. */
export const MAX_PER_MINUTE = 999_999_999;

/** What a scenario's FIELD may be, for messages. */
const COUNT_FIELDS =
  'a count field such as status_5xx, status_4xx, status_503, requests, hits, miss, pass, errors or bandwidth (not hit_ratio, *_time, *_time_ms or compute_ram_used)';

/**
 * Why a stats field cannot take a scenario's "N more a minute", or undefined for a count: a ratio
 * is computed from counts (adding to it would make 3 = 300 %), times and memory are measures.
 */
function notACount(field: string): string | undefined {
  if (field === 'hit_ratio') return 'a ratio (hits / (hits + miss))';
  if (/_time(_ms)?$/.test(field)) return 'a time';
  if (field === 'compute_ram_used') return 'a memory size';
  return undefined;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90s`, `10m`, `2h`, `1d` in seconds; undefined when it is not one. */
function span(text: string): number | undefined {
  const m = /^(\d{1,7})([smhd])$/.exec(text);
  return m ? Number(m[1]) * (UNIT_SECONDS[m[2] as string] as number) : undefined;
}

/**
 * Parses a traffic scenario (the simulator's `--scenario`): `PER_MINUTE` more of the stats field
 * `FIELD` every minute, on one service (`SERVICE:`) or all, from `START` (relative to `nowSeconds`:
 * `-10m`, `+2m`, `now`; default now) for `DURATION` (default: until the simulator stops). Returns
 * the scenario, or a one-line reason it was refused.
 */
export function parseScenarioSpec(
  spec: string,
  nowSeconds: number,
  serviceIds: string[],
): StatsScenario | string {
  const expected = `expected ${SCENARIO_FORM}, e.g. ${SCENARIO_EXAMPLE} (400 more 5xx a minute, from 10 minutes ago, for 30 minutes)`;
  const m = /^(?:([A-Za-z0-9]+):)?([^=:@/\s]+)=([^@/]*)(?:@([^/]*))?(?:\/(.*))?$/.exec(spec.trim());
  if (!m) return expected;
  const [, service, field, rate, start, duration] = m as unknown as (string | undefined)[];
  if (service !== undefined && !serviceIds.includes(service))
    return `unknown service ${JSON.stringify(service)}; this simulator serves ${serviceIds.join(', ')} (or leave SERVICE: out for all)`;
  if (!isStatsField(field as string))
    return `${JSON.stringify(field)} is not a stats field; expected ${COUNT_FIELDS}`;
  const notCount = notACount(field as string);
  if (notCount)
    return `${JSON.stringify(field)} is ${notCount}, not a count: a scenario adds events a minute; expected ${COUNT_FIELDS}`;
  const perMinute = Number(rate);
  if (/^\d+$/.test(rate as string) && !(perMinute <= MAX_PER_MINUTE))
    return `PER_MINUTE ${JSON.stringify(rate)} is out of range; expected a whole number from 0 to ${MAX_PER_MINUTE}`;
  if (!/^\d+$/.test(rate as string))
    return `PER_MINUTE ${JSON.stringify(rate)} is not a whole number; ${expected}`;
  let from = nowSeconds;
  if (start !== undefined && start !== 'now' && start !== '0') {
    const sign = start[0];
    const s = span(start.slice(1));
    if ((sign !== '-' && sign !== '+') || s === undefined)
      return `START ${JSON.stringify(start)} is not a time relative to now; expected -10m, +2m, now (units s, m, h, d)`;
    from = nowSeconds + (sign === '-' ? -s : s);
  }
  let to = Number.POSITIVE_INFINITY;
  if (duration !== undefined) {
    const s = span(duration);
    if (s === undefined || s === 0)
      return `DURATION ${JSON.stringify(duration)} is not a duration; expected e.g. 30m, 90s, 2h, 1d (leave /DURATION out for no end)`;
    to = from + s;
  }
  return { ...(service ? { serviceId: service } : {}), field: field as string, from, to, perMinute };
}

/** One line saying what a scenario adds, for the simulator's start-up output. */
export function describeScenario(sc: StatsScenario): string {
  const at = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
  return `scenario: +${sc.perMinute} ${sc.field} a minute on ${sc.serviceId ?? 'every service'}, from ${at(sc.from)} ${
    Number.isFinite(sc.to) ? `to ${at(sc.to)}` : 'until stopped'
  }`;
}
