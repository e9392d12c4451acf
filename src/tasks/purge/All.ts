import { z } from 'zod';
import { purgeAll } from '../../fastly/purge.js';
import { connectionProps, defineTask, makeClient } from '../task.js';
import { checkServiceId } from './check.js';

export default defineTask({
  type: 'io.kestra.plugin.fastly.purge.All',
  title: 'Flush the entire cache of a service (hard purge only).',
  description:
    'Sends `POST /service/{serviceId}/purge_all`. Needs the `purge_all` scope and counts against the API rate ' +
    'limit; 429 answers are retried after the time Fastly asks for. Fastly has no soft purge-all: to soft-purge ' +
    'everything, tag every object with a constant surrogate key such as `all` and soft-purge that key with purge.Key.',
  examples: [
    {
      title: 'Flush a staging service',
      flow: `id: flush_staging
namespace: company.ops
tasks:
  - id: purge_all
    type: io.kestra.plugin.fastly.purge.All
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: "{{ secret('FASTLY_SERVICE_ID') }}"
`,
    },
  ],
  props: z.strictObject({
    ...connectionProps,
    serviceId: z.string().describe('Fastly service ID.'),
    soft: z
      .literal(false, {
        error:
          'purge-all cannot be soft; soft-purge a constant surrogate key (e.g. "all") with io.kestra.plugin.fastly.purge.Key instead',
      })
      .optional()
      .describe('Always false: Fastly has no soft purge-all.'),
  }),
  outputs: { status: 'Fastly status, "ok".' },
  check: checkServiceId,
  async run(props, ctx) {
    const result = await purgeAll(makeClient(props, ctx), props.serviceId);
    ctx.logger.info(`Purged all content of service ${props.serviceId}`);
    return result;
  },
});
