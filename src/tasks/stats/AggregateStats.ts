import { z } from 'zod';
import { aggregate } from '../../fastly/stats.js';
import { connectionProps, defineTask, makeClient } from '../task.js';
import { checkWindow, statsOutput, statsOutputs, windowProps } from './common.js';

export default defineTask({
  type: 'io.kestra.plugin.fastly.stats.AggregateStats',
  title: 'Fetch account-wide stats summed over all services.',
  description:
    'Calls `/stats/aggregate`; `data` is a list of points. Long windows are paginated like Stats. Needs `global:read`.',
  examples: [
    {
      title: 'Daily totals for the last week',
      flow: `id: fastly_aggregate
namespace: company.analytics
tasks:
  - id: aggregate
    type: io.kestra.plugin.fastly.stats.AggregateStats
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    from: "7 days ago"
    by: day
`,
    },
  ],
  props: z.strictObject({ ...connectionProps, ...windowProps }),
  outputs: { ...statsOutputs, data: 'List of points summed over all services, in time order.' },
  check: checkWindow,
  async run(props, ctx) {
    const result = await aggregate(makeClient(props, ctx), { ...props, onProgress: ctx.onProgress });
    ctx.logger.info(`Fetched ${result.data.length} aggregate points`);
    return statsOutput(result);
  },
});
