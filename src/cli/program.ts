import { Command, CommanderError } from 'commander';
import { packageVersion } from '../version.js';
import {
  exitWith,
  failureExitCode,
  failureLine,
  formatFailures,
  jsonFailureLine,
  startCommand,
} from './exit.js';
import { guardValues, usageLine } from './flags.js';
import { interruptedExitCode } from './interrupt.js';

/** A command's module, loaded only when that command runs (start-up time is what a deploy step pays). */
export type Loader = () => Promise<(program: Command) => void>;

function buildProgram(): Command {
  const program = new Command('kestra-fastly')
    .description('Fastly purge and historical stats from the command line, Kestra flows and triggers')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    // Usage errors on one line, like every other error.
    .configureOutput({
      outputError: (text, write) => write(`${failureLine(usageLine(text).replace(/^error: /, ''))}\n`),
    });
  return program;
}

/**
 * Runs the CLI; returns the exit code (0 ok, 1 run-time failure, 2 invalid input or usage,
 * 130/143 interrupted by SIGINT/SIGTERM).
 */
export async function main(argv: string[], commands: Record<string, Loader>): Promise<number> {
  const program = buildProgram();
  const name = argv.slice(2).find((a) => !a.startsWith('-'));
  // `server --json` writes JSON log lines; its failures to start are such lines too, usage errors
  // (found before the command runs) included, for a collector that parses every line.
  if (name === 'server' && argv.includes('--json')) formatFailures(jsonFailureLine('server'));
  startCommand(name);
  const versionOnly = !name && (argv.includes('--version') || argv.includes('-V'));
  const wanted = versionOnly
    ? []
    : name && name in commands
      ? [commands[name] as Loader]
      : [...new Set(Object.values(commands))];
  for (const register of await Promise.all(wanted.map((load) => load()))) register(program);
  guardValues(program);
  try {
    await program.parseAsync(argv);
    return interruptedExitCode() ?? 0;
  } catch (err) {
    if (err instanceof CommanderError && interruptedExitCode() === undefined) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0
        ? 0
        : 2;
    }
    return failureExitCode(err, name);
  }
}

/** Runs the CLI with these commands and sets the process's exit code. */
export function runCli(commands: Record<string, Loader>): void {
  exitWith(main(process.argv, commands));
}
