import { InvalidInputError, KestraFastlyError } from '../errors.js';
import { validateToken } from '../fastly/client.js';
import type { FastlyClient } from '../fastly/client.js';
import { OneShotTransport } from '../http/http1.js';
import { type ApiAttemptEvent, apiAttempts } from '../diagnostics.js';
import type { Transport } from '../http/transport.js';
import { createLogger } from '../logger.js';
import { Masker } from '../masker.js';
import type { TaskContext } from '../tasks/task.js';
import type { CONNECTION_FLAGS, OptionsOf } from './argv.js';
import { commandsStarted } from './command-count.js';
import { stopSignal } from './interrupt.js';
import { stdoutReady } from './output.js';
import { profileToken } from './profile.js';
import { startProgress } from './progress.js';

/** The flags every API command takes (`CONNECTION_FLAGS`), as commander gives them. */
export type ConnectionOptions = OptionsOf<typeof CONNECTION_FLAGS>;

/**
 * The API token, as the Fastly CLI looks for it: `--token`, then a profile named by `--profile`,
 * then `FASTLY_API_TOKEN`, then the Fastly CLI's default profile (its config.toml, read only then).
 */
export function resolveToken(opts: ConnectionOptions, env = process.env): string {
  if (opts.token !== undefined && opts.profile !== undefined) {
    throw new InvalidInputError('--profile: conflicts with --token; give one of them', '--profile');
  }
  if (opts.token !== undefined) return validateToken(opts.token, '--token');
  if (opts.profile !== undefined) {
    const named = profileToken(opts.profile, env);
    if (named) return validateToken(named.token, `the token of ${named.source}`);
  }
  if (env.FASTLY_API_TOKEN) return validateToken(env.FASTLY_API_TOKEN, 'FASTLY_API_TOKEN');
  const fallback = profileToken(undefined, env);
  if (fallback) return validateToken(fallback.token, `the token of ${fallback.source}`);
  if (env.FASTLY_API_TOKEN === '')
    throw new InvalidInputError(
      "FASTLY_API_TOKEN: the variable is set but empty (and there is no default profile); export FASTLY_API_TOKEN=<token> with the token's value",
      'FASTLY_API_TOKEN',
    );
  throw new InvalidInputError(
    'FASTLY_API_TOKEN: no API token; export FASTLY_API_TOKEN=<token> or create a default profile with the Fastly CLI (fastly profile create; --profile NAME for another) (scope purge_select to purge URLs and keys, purge_all to purge all, global:read for stats)',
    'FASTLY_API_TOKEN',
  );
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

/** The token and endpoint properties every Fastly task takes, from the flags and environment. */
export function connection(opts: ConnectionOptions): { apiToken: string; baseUrl: string | undefined } {
  return { apiToken: resolveToken(opts), baseUrl: opts.endpoint };
}

/**
 * The CLI's logger (stderr, token masked) and transport settings from its flags. With --debug every
 * request is logged with its status and time, and every retry with its delay.
 */
export function cliTransport(opts: ConnectionOptions, token: string | undefined) {
  const masker = new Masker();
  masker.addCredential(token);
  const logger = createLogger({ level: opts.debug ? 'DEBUG' : 'WARN', masker });
  const transport: NonNullable<TaskContext['client']> = {
    timeoutMs: opts.timeout,
    retry: opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : undefined,
    onRetry: (e) => logger.debug(`retry ${e.operation} #${e.attempt} in ${e.delayMs} ms: ${e.reason}`),
  };
  if (opts.debug) logAttempts(logger);
  return { logger, transport };
}

/** The logger of the command run with --debug, and which command of the process that is. */
let attempts: { logger: { debug(message: string): void }; command: number } | undefined;

/**
 * --debug: every request attempt with its status and time, from the client's observation channel.
 * Subscribed once per process; a command logs only its own attempts, so that commands run one after
 * another in one process (as the test suite's CLI host does) each log as a process of its own would.
 */
function logAttempts(logger: { debug(message: string): void }): void {
  if (!attempts) apiAttempts.subscribe(logAttempt);
  attempts = { logger, command: commandsStarted() };
}

function logAttempt(message: unknown): void {
  if (!attempts || attempts.command !== commandsStarted()) return;
  const e = message as ApiAttemptEvent;
  attempts.logger.debug(
    `${e.operation} → ${e.status} in ${Math.round(e.durationMs)} ms${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`,
  );
}

/** How the CLI spells each task property: errors name the flag the user typed. */
const FLAG_OF: Record<string, string> = {
  apiToken: 'FASTLY_API_TOKEN',
  baseUrl: '--endpoint',
  serviceId: '--service-id',
  services: '--services',
  from: '--from',
  to: '--to',
  by: '--by',
  region: '--region',
  datacenter: '--datacenter',
  field: '--field',
  year: '--year',
  month: '--month',
  concurrency: '--concurrency',
  surrogateKey: 'key',
  surrogateKeys: 'keys',
};

/**
 * Rewrites "purge.Key.serviceId: …" or "from: …" at the start of each line to the CLI flag, for the
 * commands whose input is flags (purge, stats); applied once, at the CLI edge.
 */
export function asFlagError(err: InvalidInputError): InvalidInputError {
  const lines = err.message.split('\n').map((line) =>
    line
      .replace(/^(?:[a-z]+\.[A-Z][A-Za-z]*\.)?([A-Za-z]+)(?=[:[])/, (whole, prop: string) => {
        const flag = FLAG_OF[prop];
        return flag ?? whole;
      })
      .replace('(use by: hour or day)', '(use --by hour or --by day)'),
  );
  const culprit = err.culprit && FLAG_OF[err.culprit] ? FLAG_OF[err.culprit] : err.culprit;
  return new InvalidInputError(lines.join('\n'), culprit);
}

/** How runClientCommand runs a command. */
export interface ClientCommandOptions {
  /** A progress bar on stderr with this label (not with --json). */
  progress?: string;
  /** Ctrl-C does not cut requests short: the command stops starting new ones (`stopSignal`). */
  graceful?: boolean;
  /**
   * The command makes one API request (bar retries): sent through OneShotTransport, a connection of
   * its own, rather than node:http's pool, whose loading a cold start would pay for one request.
   */
  oneRequest?: boolean;
}

/**
 * Runs a command that calls the fastly layer itself (the purge commands: a cold
 * start that loads no task schema, hence no zod). The fastly layer validates every value it sends.
 */
export async function runClientCommand<O>(
  opts: ConnectionOptions,
  work: (client: FastlyClient, onProgress?: (done: number, total: number) => void) => Promise<O>,
  human: (outputs: O) => string,
  { progress: label, graceful = false, oneRequest = false }: ClientCommandOptions = {},
): Promise<O> {
  return printOutputs(
    async () => {
      const client = await clientFrom(opts, !graceful, oneRequest ? new OneShotTransport() : undefined);
      const progress = label && !opts.json ? startProgress(label) : undefined;
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

/**
 * Prints outputs as one JSON document with --json, else through `human` (nothing when it returns
 * ''); outputs that travel with an error (a partial or interrupted purge, a purge whose verification
 * failed) are printed too before the error propagates.
 */
async function printOutputs<O>(
  run: () => Promise<O>,
  opts: ConnectionOptions,
  human: (outputs: O) => string,
): Promise<O> {
  const print = (o: O) => {
    const text = opts.json ? JSON.stringify(o, null, 2) : human(o);
    if (text) process.stdout.write(`${text}\n`);
  };
  try {
    const outputs = await run();
    await stdoutReady();
    print(outputs);
    return outputs;
  } catch (err) {
    const partial = err instanceof KestraFastlyError ? (err as { outputs?: O }).outputs : undefined;
    if (partial !== undefined) {
      await stdoutReady();
      print(partial);
    }
    throw err;
  }
}

/** A client for commands that call the fastly layer directly; Ctrl-C cancels its requests unless `cancel` is false. */
export async function clientFrom(
  opts: ConnectionOptions,
  cancel = true,
  transport?: Transport,
): Promise<FastlyClient> {
  const { FastlyClient, resolveEndpoint } = await import('../fastly/client.js');
  const token = resolveToken(opts);
  const baseUrl = resolveEndpoint(opts.endpoint, process.env, '--endpoint');
  const env = process.env;
  // The proxy code is loaded only when a proxy variable is set: a cold purge without one pays nothing.
  const proxy =
    env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy
      ? (await import('../http/proxy.js')).envProxyPolicy(env)
      : undefined;
  return new FastlyClient({
    token,
    baseUrl,
    proxy,
    ...(cancel ? { signal: stopSignal } : {}),
    ...(transport ? { transport } : {}),
    ...cliTransport(opts, token).transport,
  });
}
