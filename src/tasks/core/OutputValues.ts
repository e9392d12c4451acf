import { z } from 'zod';
import { defineTask } from '../task.js';

export default defineTask({
  type: 'io.kestra.plugin.core.output.OutputValues',
  title: 'Expose values as task outputs.',
  description: 'Each entry of `values` becomes `{{ outputs.<id>.values.<key> }}`.',
  examples: [
    {
      title: 'Keep a purge count',
      flow: `id: outputs_demo
namespace: company.ops
tasks:
  - id: out
    type: io.kestra.plugin.core.output.OutputValues
    values:
      answer: "42"
`,
    },
  ],
  props: z.strictObject({
    values: z.record(z.string(), z.unknown()).describe('Map of output names to values.'),
  }),
  outputs: { values: 'The values, as given.' },
  run(props) {
    return { values: props.values };
  },
});
