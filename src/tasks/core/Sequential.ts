import { z } from 'zod';
import { subtasks } from './flowable.js';
import { defineTask } from '../task.js';

export default defineTask({
  type: 'io.kestra.plugin.core.flow.Sequential',
  title: 'Run tasks one after the other.',
  description:
    'Runs `tasks` in order, stopping at the first failure: a group, e.g. one branch of a Parallel.',
  examples: [
    {
      title: 'Purge, then report',
      flow: `id: purge_then_report
namespace: company.ops
tasks:
  - id: steps
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: purge
        type: io.kestra.plugin.fastly.purge.Key
        apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
        serviceId: "{{ secret('FASTLY_SERVICE_ID') }}"
        surrogateKey: homepage
      - id: report
        type: io.kestra.plugin.core.log.Log
        message: "purge id {{ outputs.purge.id }}"
`,
    },
  ],
  props: z.strictObject({ tasks: subtasks.describe('Tasks run in order.') }),
  outputs: {},
  children: [{ property: 'tasks' }],
  runNested: (nested) => nested.runTasks('tasks'),
  // Records nothing of its own: the nested tasks have their outputs.
  run() {
    return {};
  },
});
