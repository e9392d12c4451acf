import { z } from 'zod';
import { defineTask, numberish } from '../task.js';

/** Tasks nested in a flowable; each is validated as a task of its own by the flow loader. */
const subtasks = z.array(z.record(z.string(), z.unknown())).min(1);

export default defineTask({
  type: 'io.kestra.plugin.core.flow.Parallel',
  title: 'Run tasks at the same time.',
  description:
    'Runs `tasks` concurrently, `concurrent` at a time (0, the default: all). It fails if one of them fails (the others still finish).',
  examples: [
    {
      title: 'Purge two services at once',
      flow: `id: purge_both
namespace: company.ops
tasks:
  - id: both
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: www
        type: io.kestra.plugin.fastly.purge.Key
        apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
        serviceId: SU1Z0isxPaozGVKXdv0eY
        surrogateKey: homepage
      - id: api
        type: io.kestra.plugin.fastly.purge.Key
        apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
        serviceId: 7i6HN3TK9wS159v2gPAZ8A
        surrogateKey: homepage
`,
    },
  ],
  props: z.strictObject({
    concurrent: numberish().pipe(z.int().min(0)).default(0).describe('How many at once; 0 means all.'),
    tasks: subtasks.describe('Tasks run concurrently.'),
  }),
  outputs: {},
  // The executor runs the nested tasks; this records nothing of its own.
  run() {
    return {};
  },
});
