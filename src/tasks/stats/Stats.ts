import { z } from 'zod';
import { historical } from '../../fastly/stats.js';
import { connectionProps, defineTask, listOf, makeClient } from '../task.js';
import { checkWindow, statsOutput, statsOutputs, windowProps } from './common.js';

export default defineTask({
  type: 'io.kestra.plugin.fastly.stats.Stats',
  title: 'Fetch historical stats for one service or all services.',
  description:
    'Calls `/stats/service/{serviceId}` (or `/stats` without serviceId; with `field`, the `/field/{field}` forms). ' +
    '`data` is always a map keyed by service id. Windows longer than 200 buckets are fetched as consecutive pages ' +
    'and merged in time order. Times are resolved locally in UTC. Needs the `global:read` scope.',
  examples: [
    {
      title: 'Hourly stats of one service for the last day',
      flow: `id: fastly_daily_stats
namespace: company.analytics
tasks:
  - id: fetch_stats
    type: io.kestra.plugin.fastly.stats.Stats
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: "{{ secret('FASTLY_SERVICE_ID') }}"
    from: "24 hours ago"
    to: "now"
    by: "hour"
`,
    },
  ],
  props: z.strictObject({
    ...connectionProps,
    serviceId: z.string().optional().describe('Service ID; absent: every service of the account (`/stats`).'),
    services: z
      .union([listOf(z.string()), z.string()])
      .optional()
      .describe('Without serviceId: only these service IDs (list or comma-separated).'),
    field: z
      .string()
      .optional()
      .describe('Fetch only this field (e.g. status_5xx), via the field endpoints.'),
    ...windowProps,
  }),
  outputs: { ...statsOutputs, data: 'Map of service id to its points, in time order.' },
  check: checkWindow,
  async run(props, ctx) {
    const services = typeof props.services === 'string' ? props.services.split(',') : props.services;
    const result = await historical(makeClient(props, ctx), {
      serviceId: props.serviceId,
      services,
      field: props.field,
      from: props.from,
      to: props.to,
      by: props.by,
      region: props.region,
      datacenter: props.datacenter,
      onProgress: ctx.onProgress,
    });
    const points = Object.values(result.data).reduce((n, p) => n + p.length, 0);
    ctx.logger.info(`Fetched ${points} points for ${Object.keys(result.data).length} service(s)`);
    return statsOutput(result);
  },
});
