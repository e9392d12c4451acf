import { Command, CommanderError } from 'commander';
import { InvalidInputError, KestraFastlyError } from '../errors.js';
import { packageVersion } from '../version.js';
import { installSignalHandlers, InterruptedError, interruptedExitCode } from './interrupt.js';
import { guardStdout } from './output.js';

/** A command's module, loaded only when that command runs (start-up time is what a deploy step pays). */
export type Loader = () => Promise<(program: Command) => void>;

function buildProgram(): Command {
  const program = new Command('kestra-fastly')
    .description('Fastly purge and historical stats from the command line, Kestra flows and triggers')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    // Usage errors on one line, like every other error.
    .configureOutput({
      outputError: (text, write) => write(`${text.trim().replace(/\s*\n\s*/g, '; ')} (see --help)\n`),
    });
  return program;
}

/** The CLI's contract: 2 for input the user must fix, 1 for everything that failed at run time. */
function exitCodeOf(err: KestraFastlyError): 1 | 2 {
  return err instanceof InvalidInputError ? 2 : 1;
}

/** Long-running commands that treat SIGINT/SIGTERM as their normal way to stop (exit 0). */
const OWN_SIGNALS = new Set(['server', 'simulator', 'demo']);

/**
 * Runs the CLI; returns the exit code (0 ok, 1 run-time failure, 2 invalid input or usage,
 * 130/143 interrupted by SIGINT/SIGTERM).
 */
export async function main(argv: string[], commands: Record<string, Loader>): Promise<number> {
  const program = buildProgram();
  const name = argv.slice(2).find((a) => !a.startsWith('-'));
  guardStdout();
  if (!name || !OWN_SIGNALS.has(name)) installSignalHandlers();
  const versionOnly = !name && (argv.includes('--version') || argv.includes('-V'));
  const wanted = versionOnly
    ? []
    : name && name in commands
      ? [commands[name] as Loader]
      : [...new Set(Object.values(commands))];
  for (const register of await Promise.all(wanted.map((load) => load()))) register(program);
  try {
    await program.parseAsync(argv);
    return interruptedExitCode() ?? 0;
  } catch (err) {
    const interrupted = interruptedExitCode();
    if (interrupted !== undefined) {
      // Whatever the cut-short work threw, the cause is the signal; an account (a bulk purge's) says more.
      const signal = interrupted === 143 ? 'SIGTERM' : 'SIGINT';
      const text = err instanceof Error ? err.message : '';
      const account = err instanceof KestraFastlyError && 'outputs' in err;
      const note = /; \S+ was (left unchanged|not created)$/.exec(text)?.[0] ?? '';
      process.stderr.write(`error: ${account ? text : `interrupted by ${signal}${note}`}\n`);
      return interrupted;
    }
    if (err instanceof InterruptedError) {
      process.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0
        ? 0
        : 2;
    }
    if (err instanceof KestraFastlyError) {
      let e = err;
      if (e instanceof InvalidInputError && (name === 'purge' || name === 'stats'))
        e = (await import('./context.js')).asFlagError(e);
      process.stderr.write(`error: ${e.message}\n`);
      return exitCodeOf(err);
    }
    const e = err as Error;
    process.stderr.write(`error: unexpected failure: ${e?.message ?? String(err)}\n`);
    if (process.env.KESTRA_FASTLY_DEBUG) process.stderr.write(`${e?.stack}\n`);
    return 1;
  }
}

/** Runs the CLI with these commands and sets the process's exit code. */
export function runCli(commands: Record<string, Loader>): void {
  main(process.argv, commands).then(
    (code) => {
      // A command may have set a failing exit code itself after printing its result.
      process.exitCode = code === 0 ? (process.exitCode ?? 0) : code;
    },
    (err: unknown) => {
      process.stderr.write(`error: unexpected failure: ${(err as Error)?.message}\n`);
      process.exitCode = 1;
    },
  );
}
