import { parseProps, type TaskContext, type TaskDefinition } from '../tasks/task.js';
import { type ConnectionOptions, cliTransport } from './context.js';
import { stopSignal } from './interrupt.js';
import { startProgress } from './progress.js';

// Not in context.ts: task schemas bring zod, which the purge commands (and their bundle) never load.

/** Runs one task for a CLI command (validation, --debug logging, progress on a TTY, Ctrl-C); returns its outputs. */
export async function executeTask<O>(
  task: TaskDefinition,
  props: Record<string, unknown>,
  opts: ConnectionOptions,
  progressLabel?: string,
): Promise<O> {
  const { logger, transport } = cliTransport(opts, props.apiToken as string | undefined);
  const parsed = parseProps(task, props, task.type.replace('io.kestra.plugin.fastly.', ''));
  const progress = progressLabel && !opts.json ? startProgress(progressLabel) : undefined;
  const ctx: TaskContext = {
    logger,
    env: process.env,
    client: transport,
    onProgress: progress?.update,
    signal: stopSignal,
  };
  try {
    return (await task.run(parsed, ctx)) as O;
  } finally {
    progress?.stop();
  }
}
