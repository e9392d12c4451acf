import { z } from 'zod';
import { RunFailedError } from '../../errors.js';
import { isTruthy } from '../truthy.js';
import { defineTask } from '../task.js';

/** Raised by core.execution.Fail: the flow decided to fail. */
export class FlowFailedError extends RunFailedError {
  override readonly name = 'FlowFailedError';
  override readonly code = 'FLOW_FAILED';
}

export default defineTask({
  type: 'io.kestra.plugin.core.execution.Fail',
  title: 'Fail the execution.',
  description:
    'Fails with `errorMessage`, always or when `condition` renders truthy. Flow-level `errors` tasks then run, e.g. a notification.',
  examples: [
    {
      title: 'Fail when a purge left keys behind',
      flow: `id: purge_or_fail
namespace: company.ops
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.Keys
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: "{{ secret('FASTLY_SERVICE_ID') }}"
    surrogateKeys: [a, b]
  - id: check
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ outputs.purge.failed | length > 0 }}"
    errorMessage: "{{ outputs.purge.failed | length }} key(s) were not purged"
`,
    },
  ],
  props: z.strictObject({
    condition: z.unknown().optional().describe('Fail only when this renders truthy; absent: always fail.'),
    errorMessage: z.string().default('Task failure').describe('The failure message.'),
  }),
  outputs: {},
  run(p, ctx) {
    if (p.condition !== undefined && !isTruthy(p.condition)) {
      ctx.logger.debug('condition is false: not failing');
      return {};
    }
    throw new FlowFailedError(p.errorMessage);
  },
});
