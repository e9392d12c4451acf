import { z } from 'zod';
import { InvalidInputError } from '../../errors.js';
import { parseJson, writeJson } from '../../pebble/java.js';
import { pool, subtasks, wholeNumber } from './flowable.js';
import { defineTask, numberish } from '../task.js';

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
  children: [{ property: 'tasks', loop: true }],
  async runNested(nested) {
    let values = nested.render('values');
    if (typeof values === 'string') {
      try {
        values = parseJson(values);
      } catch {
        // not JSON: reported below
      }
    }
    if (!Array.isArray(values))
      throw new InvalidInputError(
        `${nested.where}.values: ${writeJson(values).slice(0, 80)} is not a list; expected a list or a JSON list`,
      );
    const limit = wholeNumber(nested, 'concurrencyLimit', 1);
    return pool(
      values.map((v: unknown, index) => () => {
        const value = typeof v === 'string' ? v : writeJson(v);
        return nested.runTasks('tasks', { value, index });
      }),
      limit,
    );
  },
  // Records nothing of its own: the nested tasks have their outputs.
  run() {
    return {};
  },
});
