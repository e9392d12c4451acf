import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidInputError, show } from '../../errors.js';
import { type Logger } from '../../logger.js';
import { Masker } from '../../masker.js';
import { parseJson as parseJavaJson, writeJson } from '../../pebble/java.js';
import { DEPRECATED_TYPES, FASTLY_TASKS, StatsTrigger } from '../../tasks/index.js';
import type { Assessment } from '../../tasks/stats/StatsTrigger.js';
import { type Metric, parseProps, type TaskDefinition } from '../../tasks/task.js';
import type { FlagSpec, OptionsOf } from '../argv.js';
import type { CliCommand } from '../command.js';
import { echoFailures } from '../exit.js';
import { addCommand } from '../flags.js';
import { interruption, stopSignal } from '../interrupt.js';
import { wrapText } from '../wrap.js';

/** One line of Kestra's script-task protocol. Java's `.` does not match U+0085/2028/2029, so they are escaped. */
export function kestraLine(payload: object): string {
  const json = writeJson(payload).replace(
    /[\u0085\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `::${json}::`;
}

/** Exit code of a StatsTrigger evaluation whose condition does not hold (0: it fired). */
export const NOT_FIRED_EXIT_CODE = 3;

/** Where the task's properties come from: one of four routes. */
const TASK_FLAGS = [
  {
    flags: '--props-file <file>',
    description:
      'task properties from a JSON file, - for stdin (the default route inside Kestra: write it with inputFiles; no size limit)',
  },
  {
    flags: '--props-env <name>',
    description: 'task properties as JSON in this environment variable (Linux caps one variable at 128 KiB)',
  },
  {
    flags: '--props-base64 <b64>',
    description: 'task properties as base64-encoded JSON (CommandsTrigger; visible in ps: no token here)',
  },
  {
    flags: '--props <json>',
    description: 'task properties as JSON (never with values Kestra renders: the shell parses them)',
  },
] as const satisfies readonly FlagSpec[];

type BridgeFlags = OptionsOf<typeof TASK_FLAGS>;

/**
 * The properties as Kestra's Jackson reads them (a long past 2^53 a BigInt, `1.0` a double): `toJson`
 * writes them so, and parseProps then makes a key given as a number Java's text of it, as for a flow.
 */
function parseJson(text: string, flag: string): unknown {
  try {
    return parseJavaJson(text);
  } catch (err) {
    throw new InvalidInputError(`${flag}: not valid JSON (${(err as Error).message})`, flag);
  }
}

/** The task properties, from exactly one of the four sources. */
function readProps(opts: BridgeFlags, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const given = (['props', 'propsFile', 'propsEnv', 'propsBase64'] as const).filter(
    (k) => opts[k] !== undefined,
  );
  if (given.length > 1) {
    throw new InvalidInputError(
      'task: give the properties once, with one of --props, --props-file, --props-env or --props-base64',
      '--props',
    );
  }
  let props: unknown = {};
  if (opts.props !== undefined) props = parseJson(opts.props, '--props');
  else if (opts.propsFile !== undefined) {
    let text: string;
    try {
      // `-` is stdin, as `purge keys --file -` reads it.
      text = readFileSync(opts.propsFile === '-' ? 0 : opts.propsFile, 'utf8');
    } catch (err) {
      throw new InvalidInputError(
        `--props-file: cannot read ${show(opts.propsFile)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        '--props-file',
      );
    }
    props = parseJson(text, '--props-file');
  } else if (opts.propsEnv !== undefined) {
    const text = env[opts.propsEnv];
    if (text === undefined) {
      throw new InvalidInputError(
        `--props-env: the environment variable ${show(opts.propsEnv)} is not set; expected the task properties as JSON`,
        '--props-env',
      );
    }
    props = parseJson(text, '--props-env');
  } else if (opts.propsBase64 !== undefined) {
    const b64 = opts.propsBase64.trim();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
      throw new InvalidInputError('--props-base64: expected base64 (A-Z a-z 0-9 + / =)', '--props-base64');
    }
    props = parseJson(Buffer.from(b64, 'base64').toString('utf8'), '--props-base64');
  }
  if (typeof props !== 'object' || props === null || Array.isArray(props)) {
    throw new InvalidInputError(`task: the properties must be a JSON object, got ${show(props)}`, '--props');
  }
  return props as Record<string, unknown>;
}

/**
 * A property the bridge would have taken from the environment, missing: the message says which
 * variable (`purge.Key.apiToken: is missing; set FASTLY_API_TOKEN or give apiToken`).
 */
function withEnvHints<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof InvalidInputError)
      err.message = err.message.replace(
        /\.(apiToken|serviceId): is missing; expected string/g,
        (_, p: string) =>
          `.${p}: is missing; set ${p === 'apiToken' ? 'FASTLY_API_TOKEN' : 'FASTLY_SERVICE_ID'} or give ${p}`,
      );
    throw err;
  }
}

/**
 * Linux's cap on one environment variable or one argument (MAX_ARG_STRLEN, 32 pages): `NAME=value`
 * longer than this makes exec fail with E2BIG ("Argument list too long") before the task starts.
 */
export const MAX_ARG_STRLEN = 131_072;

/** Above this share of the cap a document passed in the environment or argv is warned about. */
const NEAR_CAP = 0.75;

/**
 * What the bridge can say about the route its properties took: a document near the cap of one
 * environment variable or argument (the next, larger one will not start at all), and a token that
 * came on the command line (readable by every process of the host: ps, /proc/PID/cmdline; Kestra masks
 * the secret, not its base64 form). Kestra shows both as WARN lines of the task or trigger.
 */
function routeWarnings(opts: BridgeFlags, props: Record<string, unknown>, env: NodeJS.ProcessEnv): string[] {
  const warnings: string[] = [];
  const size =
    opts.propsEnv !== undefined
      ? opts.propsEnv.length + 1 + Buffer.byteLength(env[opts.propsEnv] ?? '')
      : opts.propsBase64 !== undefined
        ? opts.propsBase64.length
        : opts.props !== undefined
          ? Buffer.byteLength(opts.props)
          : 0;
  const route =
    opts.propsEnv !== undefined
      ? `the environment variable ${opts.propsEnv}`
      : opts.propsBase64 !== undefined
        ? '--props-base64'
        : '--props';
  if (size > NEAR_CAP * MAX_ARG_STRLEN) {
    warnings.push(
      `${route} holds ${Math.round(size / 1024)} KiB; Linux refuses one environment variable or argument over 128 KiB ("Argument list too long", before the task starts): pass the properties with inputFiles and --props-file, which has no limit (see docs/kestra.md)`,
    );
  }
  if ((opts.propsBase64 !== undefined || opts.props !== undefined) && props.apiToken !== undefined) {
    warnings.push(
      opts.propsBase64 !== undefined
        ? 'apiToken came on the command line (--props-base64): every process of the host can read it (ps, /proc/PID/cmdline) and Kestra masks the secret, not its base64 form; pass it in env (FASTLY_API_TOKEN) with a Commands task, or use a read-only token here (see docs/kestra.md)'
        : 'apiToken came on the command line (--props): every process of the host can read it (ps, /proc/PID/cmdline); pass it in env (FASTLY_API_TOKEN) or in a --props-file (see docs/kestra.md)',
    );
  }
  return warnings;
}

/** A property the schema requires (so the Java plugin does too): only those are filled from the environment. */
function requires(def: TaskDefinition, name: string): boolean {
  const prop = (def.props.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>)[name];
  return prop !== undefined && !prop.safeParse(undefined).success;
}

/** `{{ … }}` or `{% … %}`: a Pebble expression Kestra did not render. */
const UNRENDERED = /\{\{[\s\S]*\}\}|\{%[\s\S]*%\}/;

/**
 * A token that is still a Kestra expression (`{{ secret('X') }}`) came from somewhere Kestra does not
 * render (a namespace file, an image's environment, a hand-run command); said before the generic
 * "contains whitespace" could mislead. The value is never shown.
 */
function refuseUnrendered(token: unknown, name: string): void {
  if (typeof token === 'string' && UNRENDERED.test(token)) {
    throw new InvalidInputError(
      `${name}: looks like an unrendered Kestra expression (value hidden); kestra-fastly renders nothing: Kestra renders {{ … }} once, in the script task's own env, inputFiles and commands; expected the token itself, e.g. env: FASTLY_API_TOKEN: "{{ secret('FASTLY_API_TOKEN') }}"`,
      name,
    );
  }
}

/** Logs as Kestra wants them: one protocol line each, the real level, no timestamp or level of ours. */
function kestraLogger(masker: Masker): Logger {
  const write = (level: string) => (message: string) => {
    process.stdout.write(`${kestraLine({ logs: [{ level, message: masker.mask(message) }] })}\n`);
  };
  return { debug: write('DEBUG'), info: write('INFO'), warn: write('WARN'), error: write('ERROR') };
}

/** A failure as Kestra reads it: an ERROR log line with the text printed on stderr (after `error: `). */
function kestraError(masker: Masker): (line: string) => void {
  return (line) => {
    process.stdout.write(`${kestraLine({ logs: [{ level: 'ERROR', message: masker.mask(line) }] })}\n`);
  };
}

/**
 * `task`: one task (or a StatsTrigger evaluation) in Kestra's script-task protocol; its masker is
 * shared by the action and the usage errors it reports to Kestra.
 */
function taskCommand(): CliCommand<string, BridgeFlags> {
  const masker = new Masker();
  const reportToKestra = kestraError(masker);
  return {
    name: 'task',
    argument: {
      spec: '<type>',
      description: 'task type, e.g. io.kestra.plugin.fastly.purge.Keys (or purge.Keys)',
    },
    description: 'Run one task and print its outputs in Kestra\'s script-task protocol (::{"outputs":...}::)',
    flags: TASK_FLAGS,
    helpAfter: wrapText(
      '\napiToken defaults to $FASTLY_API_TOKEN; serviceId to $FASTLY_SERVICE_ID where the type requires it.\n' +
        `${StatsTrigger.type} evaluates the trigger once: exit 0 if it fires, ${NOT_FIRED_EXIT_CODE} if not.`,
    ),
    // A usage error (unknown flag, missing type) reaches Kestra too, not only stderr.
    onUsageError: (line) => reportToKestra(line.replace(/^error: /, '')),
    async action(type, opts) {
      // Every failure the CLI reports on stderr (bad input, API errors, a signal) also goes to Kestra.
      echoFailures(reportToKestra);
      const logger = kestraLogger(masker);
      const full = type.startsWith('io.kestra.plugin.fastly.') ? type : `io.kestra.plugin.fastly.${type}`;
      const current = DEPRECATED_TYPES[full] ?? full;
      // The one trigger the bridge evaluates (once: exit 0 if it fires, NOT_FIRED_EXIT_CODE if not).
      const def: TaskDefinition | undefined =
        FASTLY_TASKS[current] ?? (current === StatsTrigger.type ? StatsTrigger : undefined);
      if (!def) {
        throw new InvalidInputError(
          `task: unknown type ${show(type)}; expected one of ${[...Object.keys(FASTLY_TASKS), StatsTrigger.type].join(', ')}`,
          'type',
        );
      }
      if (current !== full) logger.warn(`type ${full} is deprecated; use ${current}`);
      const props = readProps(opts, process.env);
      for (const warning of routeWarnings(opts, props, process.env)) logger.warn(warning);
      refuseUnrendered(props.apiToken, `${current.replace('io.kestra.plugin.fastly.', '')}.apiToken`);
      if (props.apiToken === undefined && process.env.FASTLY_API_TOKEN) {
        refuseUnrendered(process.env.FASTLY_API_TOKEN, 'FASTLY_API_TOKEN');
        props.apiToken = process.env.FASTLY_API_TOKEN;
      }
      if (props.serviceId === undefined && process.env.FASTLY_SERVICE_ID && requires(def, 'serviceId')) {
        props.serviceId = process.env.FASTLY_SERVICE_ID;
      }
      masker.addCredential(typeof props.apiToken === 'string' ? props.apiToken : undefined);
      const parsed = withEnvHints(() =>
        parseProps(def, props, current.replace('io.kestra.plugin.fastly.', '')),
      );
      const metrics: Metric[] = [];
      const started = Date.now();
      const emit = (outputs: unknown) => {
        metrics.push({ name: 'duration', type: 'timer', value: (Date.now() - started) / 1000 });
        process.stdout.write(`${masker.mask(kestraLine({ outputs }))}\n`);
        process.stdout.write(`${kestraLine({ metrics })}\n`);
      };
      try {
        // SIGTERM (Kestra's kill or timeout) cancels requests in flight and stops a bulk purge between batches.
        const result = await def.run(parsed, {
          logger,
          env: process.env,
          metric: (m) => metrics.push(m),
          signal: stopSignal,
        });
        if (def === StatsTrigger) {
          const assessment = result as Assessment;
          // `matched` too: a Commands task (the token in env, not argv) tests it in an If.
          emit({ ...assessment.variables, matched: assessment.matched });
          if (!assessment.matched) process.exitCode = NOT_FIRED_EXIT_CODE;
        } else emit(result);
      } catch (err) {
        const partial = (err as { outputs?: unknown }).outputs;
        if (partial !== undefined) emit(partial);
        throw err;
      }
      // A signal that came as the task ended still fails it (143), and says so like any failure.
      const stopped = interruption();
      if (stopped) throw stopped;
    },
  };
}

export function registerTask(program: Command): void {
  addCommand(program, taskCommand());
}
