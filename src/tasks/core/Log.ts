import { z } from 'zod';
import { defineTask } from '../task.js';

export default defineTask({
  type: 'io.kestra.plugin.core.log.Log',
  title: 'Log a message.',
  description:
    'Writes `message` (a string or a list of strings) to the execution log at `level`. Secrets are masked.',
  examples: [
    {
      title: 'Log a trigger value',
      flow: `id: hello
namespace: company.ops
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "Hello from {{ flow.id }}"
`,
    },
  ],
  props: z.strictObject({
    message: z.union([z.string(), z.array(z.string())]).describe('Message, or list of messages.'),
    level: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO').describe('Log level.'),
  }),
  outputs: {},
  async run(props, ctx) {
    const write = {
      TRACE: ctx.logger.debug,
      DEBUG: ctx.logger.debug,
      INFO: ctx.logger.info,
      WARN: ctx.logger.warn,
      ERROR: ctx.logger.error,
    }[props.level];
    for (const m of Array.isArray(props.message) ? props.message : [props.message]) write(m);
    return {};
  },
});
