import type { Command } from 'commander';
import { InvalidInputError, KestraFastlyError } from '../../errors.js';
import { createLogger, Masker } from '../../logger.js';
import { FASTLY_TASKS } from '../../tasks/index.js';
import { type Metric, parseProps } from '../../tasks/task.js';
import { readFileSync } from 'node:fs';

/** One line of Kestra's script-task protocol. Java's `.` does not match U+0085/2028/2029, so they are escaped. */
export function kestraLine(payload: object): string {
  const json = JSON.stringify(payload).replace(
    /[\u0085\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `::${json}::`;
}

interface BridgeFlags {
  props?: string;
  propsFile?: string;
}

export function registerBridge(program: Command): void {
  program
    .command('task')
    .argument('<type>', 'task type, e.g. io.kestra.plugin.fastly.purge.Keys')
    .description('Run one task and print its outputs in Kestra\'s script-task protocol (::{"outputs":...}::)')
    .option('--props <json>', 'task properties as JSON')
    .option('--props-file <file>', 'task properties from a JSON file')
    .addHelpText('after', '\napiToken defaults to $FASTLY_API_TOKEN and serviceId to $FASTLY_SERVICE_ID.')
    .action(async (type: string, opts: BridgeFlags) => {
      const def = FASTLY_TASKS[type] ?? FASTLY_TASKS[`io.kestra.plugin.fastly.${type}`];
      if (!def) {
        throw new InvalidInputError(
          `task: unknown type "${type}"; expected one of ${Object.keys(FASTLY_TASKS).join(', ')}`,
          'type',
        );
      }
      let props: unknown = {};
      if (opts.props) {
        try {
          props = JSON.parse(opts.props);
        } catch (err) {
          throw new InvalidInputError(`--props: not valid JSON (${(err as Error).message})`, '--props');
        }
      } else if (opts.propsFile) props = readJsonFile(opts.propsFile, '--props-file');
      const given = props as Record<string, unknown>;
      const shape = def.props.shape as Record<string, unknown>;
      const withEnv: Record<string, unknown> = { ...given };
      if (withEnv.apiToken === undefined && process.env.FASTLY_API_TOKEN)
        withEnv.apiToken = process.env.FASTLY_API_TOKEN;
      if ('serviceId' in shape && withEnv.serviceId === undefined && process.env.FASTLY_SERVICE_ID) {
        withEnv.serviceId = process.env.FASTLY_SERVICE_ID;
      }
      const masker = new Masker();
      masker.addCredential(withEnv.apiToken as string | undefined);
      const parsed = parseProps(def, withEnv, type.replace('io.kestra.plugin.fastly.', ''));
      const metrics: Metric[] = [];
      const logs: { level: string; message: string }[] = [];
      const logger = createLogger({
        level: 'INFO',
        masker,
        write: (line) => logs.push({ level: 'INFO', message: line }),
      });
      const started = Date.now();
      const emit = (outputs: unknown) => {
        metrics.push({ name: 'duration', type: 'timer', value: (Date.now() - started) / 1000 });
        process.stdout.write(`${masker.mask(kestraLine({ outputs }))}\n`);
        process.stdout.write(`${kestraLine({ metrics })}\n`);
        if (logs.length) process.stdout.write(`${masker.mask(kestraLine({ logs }))}\n`);
      };
      try {
        emit(await def.run(parsed, { logger, env: process.env, metric: (m) => metrics.push(m) }));
      } catch (err) {
        const partial = (err as { outputs?: unknown }).outputs;
        if (partial !== undefined) emit(partial);
        if (err instanceof KestraFastlyError)
          process.stdout.write(
            `${masker.mask(kestraLine({ logs: [{ level: 'ERROR', message: err.message }] }))}\n`,
          );
        throw err;
      }
    });
}

function readJsonFile(path: string, flag: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InvalidInputError(`${flag}: cannot read JSON from ${path}: ${(err as Error).message}`, flag);
  }
}
