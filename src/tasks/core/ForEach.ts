import { z } from 'zod';
import { defineTask, numberish } from '../task.js';

/** Tasks nested in a flowable; each is validated as a task of its own by the flow loader. */
const subtasks = z.array(z.record(z.string(), z.unknown())).min(1);

export default defineTask({
  type: 'io.kestra.plugin.core.flow.ForEach',
  title: 'Run tasks once for each value.',
  description:
    'Runs `tasks` for each of `values` (a list, or a JSON list as text), `concurrencyLimit` at a time (1: one after the other, the default; 0: all at once). Inside, `{{ taskrun.value }}` is the current value (a map or list as JSON text) and `{{ taskrun.iteration }}` its index; outputs are `outputs.<task>[<value>]`.',
  examples: [
    {
      title: 'Purge the same keys on each of three services',
      flow: `id: purge_everywhere
namespace: company.ops
tasks:
  - id: each_service
    type: io.kestra.plugin.core.flow.ForEach
    values: ["SU1Z0isxPaozGVKXdv0eY", "7i6HN3TK9wS159v2gPAZ8A", "2oQGKp8bLKXfXcCCwrDxwv"]
    concurrencyLimit: 3
    tasks:
      - id: purge
        type: io.kestra.plugin.fastly.purge.Keys
        apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
        serviceId: "{{ taskrun.value }}"
        surrogateKeys: [homepage, pricing]
`,
    },
  ],
  props: z.strictObject({
    values: z.unknown().describe('The values: a list, or a JSON list as text (e.g. an expression).'),
    concurrencyLimit: numberish()
      .pipe(z.int().min(0))
      .default(1)
      .describe('How many values run at once; 0 means no limit.'),
    tasks: subtasks.describe('Tasks run for each value.'),
  }),
  outputs: {},
  // The executor runs the nested tasks; this records nothing of its own.
  run() {
    return {};
  },
});
