import { isStatsField } from '../fastly/fields.js';
import type { StatsScenario } from './state.js';

/** The form of a `--scenario`, as error messages and `--help` show it. */
export const SCENARIO_FORM = '[SERVICE:]FIELD=PER_MINUTE[@START][/DURATION]';
export const SCENARIO_EXAMPLE = 'status_5xx=400@-10m/30m';

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
    return `${JSON.stringify(field)} is not a stats field; expected one such as status_5xx, status_4xx, requests, bandwidth`;
  const perMinute = Number(rate);
  if (!/^\d{1,9}$/.test(rate as string) || !Number.isSafeInteger(perMinute))
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
