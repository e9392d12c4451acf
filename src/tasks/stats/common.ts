import { z } from 'zod';
import type { StatsEnvelope, StatsMeta } from '../../fastly/types.js';
import { bucketSize, listOf } from '../task.js';

/** Window properties shared by the historical stats tasks. */
export const windowProps = {
  from: z
    .union([z.string(), z.number()])
    .optional()
    .describe(
      'Start of the window (inclusive): Unix seconds, ISO-8601, or e.g. "24 hours ago". Default depends on `by`.',
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
