import { type Command, InvalidArgumentError } from 'commander';
import { InvalidInputError } from '../errors.js';
import { validateToken } from '../fastly/client.js';
import { createLogger, Masker } from '../logger.js';
import type { FastlyClient } from '../fastly/client.js';
import type { TaskContext, TaskDefinition } from '../tasks/task.js';
import { startProgress } from './progress.js';

export interface ConnectionOptions {
  token?: string;
  endpoint?: string;
  json?: boolean;
  debug?: boolean;
  timeout?: number;
  maxAttempts?: number;
}

export function intArg(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

/** Adds the flags every API command takes (Fastly CLI names where one exists). */
export function withConnection(cmd: Command): Command {
  return cmd
    .option('--token <token>', 'API token (prefer the FASTLY_API_TOKEN environment variable)')
    .option('--endpoint <url>', 'API endpoint (default $FASTLY_API_ENDPOINT or https://api.fastly.com)')
    .option('-j, --json', 'print the task outputs as one JSON document')
    .option('--debug', 'log requests, retries and timings to stderr')
    .option('--timeout <ms>', 'per-request timeout in ms', intArg('--timeout', 1, 600_000))
    .option('--max-attempts <n>', 'attempts per request, retries included', intArg('--max-attempts', 1, 20));
}

export function resolveToken(opts: ConnectionOptions, env = process.env): string {
  const token = opts.token ?? env.FASTLY_API_TOKEN;
  if (token === undefined || token === '') {
    throw new InvalidInputError(
      'FASTLY_API_TOKEN: no API token; export FASTLY_API_TOKEN=<token> (scopes: purge_select, purge_all or global:read)',
      'FASTLY_API_TOKEN',
    );
  }
  return validateToken(token, opts.token !== undefined ? '--token' : 'FASTLY_API_TOKEN');
}

export function resolveServiceId(flag: string | undefined, env = process.env): string {
  const id = flag ?? env.FASTLY_SERVICE_ID;
  if (!id) {
    throw new InvalidInputError(
      '--service-id: no service ID; pass --service-id ID or set FASTLY_SERVICE_ID',
      '--service-id',
    );
  }
  return id;
}

/** The CLI's logger (stderr, token masked; retries shown with --debug) and transport settings from its flags. */
function cliTransport(opts: ConnectionOptions, token: string | undefined) {
  const masker = new Masker();
  masker.addCredential(token);
  const logger = createLogger({ level: opts.debug ? 'DEBUG' : 'WARN', masker });
  const transport: NonNullable<TaskContext['client']> = {
    timeoutMs: opts.timeout,
    retry: opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : undefined,
    onRetry: (e) => logger.debug(`retry ${e.operation} #${e.attempt} in ${e.delayMs} ms: ${e.reason}`),
  };
  return { logger, transport };
}

/** Runs one task for a CLI command (validation, retries logged with --debug, progress on a TTY); returns its outputs. */
export async function executeTask<O>(
  task: TaskDefinition,
  props: Record<string, unknown>,
  opts: ConnectionOptions,
  progressLabel?: string,
): Promise<O> {
  const { logger, transport } = cliTransport(opts, props.apiToken as string | undefined);
  // Loaded here, not at the top: task schemas bring zod, which the purge commands never need.
  const { parseProps } = await import('../tasks/task.js');
  const parsed = parseProps(task, props, task.type.replace('io.kestra.plugin.fastly.', ''));
  const progress = progressLabel && !opts.json ? startProgress(progressLabel) : undefined;
  const ctx: TaskContext = {
    logger,
    env: process.env,
    client: transport,
    onProgress: progress?.update,
  };
  try {
    return (await task.run(parsed, ctx)) as O;
  } finally {
    progress?.stop();
  }
}

/**
 * Runs one task and prints its outputs: as one JSON document with --json, else through `human`.
 * Outputs that travel with an error (a partial purge) are printed too before the error propagates.
 */
export async function runTaskCommand<O>(
  task: TaskDefinition,
  props: Record<string, unknown>,
  opts: ConnectionOptions,
  human: (outputs: O) => string,
  progressLabel?: string,
): Promise<O> {
  return printOutputs(() => executeTask<O>(task, props, opts, progressLabel), opts, human);
}

/**
 * Like runTaskCommand for a command that calls the fastly layer itself (the purge commands: a cold
 * start that loads no task schema, hence no zod). The fastly layer validates every value it sends.
 */
export async function runClientCommand<O>(
  opts: ConnectionOptions,
  work: (client: FastlyClient, onProgress?: (done: number, total: number) => void) => Promise<O>,
  human: (outputs: O) => string,
  progressLabel?: string,
): Promise<O> {
  return printOutputs(
    async () => {
      const client = await clientFrom(opts);
      const progress = progressLabel && !opts.json ? startProgress(progressLabel) : undefined;
      try {
        return await work(client, progress?.update);
      } finally {
        progress?.stop();
      }
    },
    opts,
    human,
  );
}

/** Prints outputs as one JSON document with --json, else through `human`; partial outputs travel with an error. */
async function printOutputs<O>(
  run: () => Promise<O>,
  opts: ConnectionOptions,
  human: (outputs: O) => string,
): Promise<O> {
  const print = (o: O) =>
    process.stdout.write(opts.json ? `${JSON.stringify(o, null, 2)}\n` : `${human(o)}\n`);
  try {
    const outputs = await run();
    print(outputs);
    return outputs;
  } catch (err) {
    const partial = (err as { outputs?: O }).outputs;
    if (partial !== undefined) print(partial);
    throw err;
  }
}

/** A client for commands that call the fastly layer directly (streaming output). */
export async function clientFrom(opts: ConnectionOptions): Promise<FastlyClient> {
  const { FastlyClient, resolveEndpoint } = await import('../fastly/client.js');
  const token = resolveToken(opts);
  const baseUrl = resolveEndpoint(opts.endpoint, process.env, '--endpoint');
  return new FastlyClient({ token, baseUrl, ...cliTransport(opts, token).transport });
}
