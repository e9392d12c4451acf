import { z } from 'zod';
import { usageByMonth } from '../../fastly/stats.js';
import { booleanish, connectionProps, defineTask, makeClient, numberish } from '../task.js';
import { checkWindow, statsOutput, statsOutputs } from './common.js';

export default defineTask({
  type: 'io.kestra.plugin.fastly.stats.MonthToDateUsage',
  title: 'Fetch running usage totals for a billing month.',
  description:
    'Calls `/stats/usage_by_month` for the current UTC month, or for `year`/`month`. With `billableUnits`, ' +
    'bandwidth is in GB and requests in units of 10,000. Needs `global:read`.',
  examples: [
    {
      title: 'Month-to-date usage',
      flow: `id: fastly_month_to_date_usage
namespace: company.analytics
tasks:
  - id: fetch_mtd_usage
    type: io.kestra.plugin.fastly.stats.MonthToDateUsage
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
`,
    },
  ],
  props: z.strictObject({
    ...connectionProps,
    year: numberish()
      .pipe(z.int().min(2000).max(9999))
      .optional()
      .describe('4-digit year (default: current UTC year).'),
    month: numberish()
      .pipe(z.int().min(1).max(12))
      .optional()
      .describe('Month 1–12 (default: current UTC month).'),
    billableUnits: booleanish()
      .default(false)
      .describe('Bandwidth in GB and requests per 10,000, as billed.'),
  }),
  outputs: {
    ...statsOutputs,
    data: '{customer_id, services: {id: {name, <region>: usage}}, total: {<region>: usage}}.',
  },
  check: checkWindow,
  async run(props, ctx) {
    return statsOutput(await usageByMonth(makeClient(props, ctx), props));
  },
});
