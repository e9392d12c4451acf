import { z } from 'zod';
import { LEVELS } from '../../levels.js';
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
    level: z.enum(LEVELS).default('INFO').describe('Log level.'),
  }),
  outputs: {},
  run(props, ctx) {
    const { logger } = ctx;
    // Called as methods: a logger such as pino needs its `this`.
    const write = (m: string) => {
      if (props.level === 'TRACE' || props.level === 'DEBUG') logger.debug(m);
      else if (props.level === 'INFO') logger.info(m);
      else if (props.level === 'WARN') logger.warn(m);
      else logger.error(m);
    };
    for (const m of Array.isArray(props.message) ? props.message : [props.message]) write(m);
    return {};
  },
});
