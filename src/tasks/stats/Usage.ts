import { z } from 'zod';
import { usage } from '../../fastly/stats.js';
import { booleanish, connectionProps, defineTask, makeClient } from '../task.js';
import { checkWindow, statsOutput, statsOutputs, windowProps } from './common.js';

export default defineTask({
  type: 'io.kestra.plugin.fastly.stats.Usage',
  title: 'Fetch bandwidth and request usage by region, optionally per service.',
  description:
    'Calls `/stats/usage` (region → usage) or, with `byService`, `/stats/usage_by_service` (region → service → usage). ' +
    'The API ignores `region` here, so it is applied to the result. Needs `global:read`.',
  examples: [
    {
      title: 'Usage per service for the last 30 days',
      flow: `id: fastly_usage_by_service
namespace: company.analytics
tasks:
  - id: usage
    type: io.kestra.plugin.fastly.stats.Usage
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    from: "30 days ago"
    byService: true
`,
    },
  ],
  props: z.strictObject({
    ...connectionProps,
    from: windowProps.from,
    to: windowProps.to,
    byService: booleanish().default(false).describe('Break usage down per service.'),
    region: windowProps.region,
  }),
  outputs: {
    ...statsOutputs,
    data: 'Map of region to usage ({bandwidth, requests, compute_requests}), or to service to usage.',
  },
  check: checkWindow,
  async run(props, ctx) {
    return statsOutput(await usage(makeClient(props, ctx), props));
  },
});
