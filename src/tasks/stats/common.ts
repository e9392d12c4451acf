import { z } from 'zod';
import { show } from '../../errors.js';
import { KNOWN_REGIONS } from '../../fastly/regions.js';
import { parseBy, parseTime, resolveWindow } from '../../fastly/time.js';
import type { StatsEnvelope, StatsMeta } from '../../fastly/types.js';
import { bucketSize, listOf, type StaticCheck } from '../task.js';

/** Window properties shared by the historical stats tasks. */
export const windowProps = {
  from: z
    .union([z.string(), z.number()])
    .optional()
    .describe(
      'Start of the window (inclusive): Unix seconds, ISO-8601 (`2026-02-01`, or `20260201`: 8 digits are a date, not seconds), or e.g. "24 hours ago". Default depends on `by`.',
    ),
  to: z
    .union([z.string(), z.number()])
    .optional()
    .describe('End of the window: same forms as `from`. Default now.'),
  by: bucketSize().optional().describe('Bucket size: minute, hour or day (default day).'),
  region: z
    .string()
    .optional()
    .describe('Limit to one region (see `kestra-fastly stats regions`); default all.'),
  datacenter: listOf(z.string()).optional().describe('Limit to these POP codes.'),
};

export const statsOutputs = {
  status: 'Fastly status, "success".',
  meta: 'The query as Fastly describes it (from, to, by, region), for the whole window.',
  data: 'The points.',
};

/** The Java plugin's stats outputs: the envelope without `msg`. */
export function statsOutput<T>(envelope: StatsEnvelope<T>): { status: string; meta: StatsMeta; data: T } {
  return { status: envelope.status, meta: envelope.meta, data: envelope.data };
}

/**
 * The stats tasks' check at flow load: time expressions, the resolution, the window they make
 * together, the region. (Any stats field name is valid, as in Kestra's plugin: Fastly adds fields.)
 */
export function checkWindow(props: Record<string, unknown>, at: StaticCheck): void {
  let ok = true;
  for (const key of ['from', 'to'] as const) {
    if (at.literal(props[key]))
      ok = at.attempt([key], () => parseTime(props[key], at.now, key, key === 'to' ? 'end' : 'start')) && ok;
  }
  if (at.literal(props.by)) ok = at.attempt(['by'], () => parseBy(props.by)) && ok;
  const window = ['from', 'to', 'by'].filter((k) => props[k] !== undefined);
  if (ok && window.length && window.every((k) => at.literal(props[k])))
    at.attempt(['from'], () => resolveWindow(props, at.now));
  const region = props.region;
  if (at.literal(region) && region !== 'all' && !KNOWN_REGIONS.includes(String(region))) {
    at.problem(
      ['region'],
      `${show(region)} is not a Fastly region; expected all or one of ${KNOWN_REGIONS.join(', ')}`,
    );
  }
}
