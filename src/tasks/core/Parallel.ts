import { z } from 'zod';
import { pool, subtasks, wholeNumber } from './flowable.js';
import { defineTask, numberish } from '../task.js';

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
  children: [{ property: 'tasks' }],
  runNested: (nested) =>
    pool(
      Array.from({ length: nested.count('tasks') }, (_, i) => () => nested.runTask('tasks', i)),
      wholeNumber(nested, 'concurrent', 0),
    ),
  // Records nothing of its own: the nested tasks have their outputs.
  run() {
    return {};
  },
});
