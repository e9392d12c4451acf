import { z } from 'zod';
import { subtasks } from './flowable.js';
import { isTruthy } from '../truthy.js';
import { defineTask } from '../task.js';

export default defineTask({
  type: 'io.kestra.plugin.core.flow.If',
  title: 'Run tasks depending on a condition.',
  description:
    'Runs `then` when `condition` renders truthy, else `else`. Falsy: false, "false", 0, "0", "-0", "", null.',
  examples: [
    {
      title: 'Purge-all only when asked',
      flow: `id: maybe_purge_all
namespace: company.ops
inputs:
  - id: everything
    type: BOOLEAN
    defaults: false
tasks:
  - id: check
    type: io.kestra.plugin.core.flow.If
    condition: "{{ inputs.everything }}"
    then:
      - id: purge_all
        type: io.kestra.plugin.fastly.purge.All
        apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
        serviceId: "{{ secret('FASTLY_SERVICE_ID') }}"
`,
    },
  ],
  props: z.strictObject({
    condition: z.unknown().describe('Expression; truthy runs `then`.'),
    // `then` is Kestra's property name (not a thenable).
    then: subtasks.describe('Tasks run when the condition is truthy.'),
    else: subtasks.optional().describe('Tasks run otherwise.'),
  }),
  outputs: {},
  children: [{ property: 'then' }, { property: 'else' }],
  // Kestra's falsy values (false, "false", 0, "0", "-0", "", null) run `else` (none: nothing).
  runNested: (nested) => nested.runTasks(isTruthy(nested.render('condition')) ? 'then' : 'else'),
  // Records nothing of its own: the nested tasks have their outputs.
  run() {
    return {};
  },
});
