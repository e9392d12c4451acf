// `kestra-fastly purge url|key|keys|all` without commander: a well-formed invocation (what a deploy
// step runs) is read from the same table commander is built from and run at once; anything else
// (--help, a typo, a bad value) returns false and goes through commander, which owns help and usage
// errors. Loading and building commander was most of what a cold purge spent over Node's own start.
import { parseStrict } from './argv.js';
import { PURGE_COMMANDS, type PurgeFlags } from './commands/purge-commands.js';
import { exitWith, failureExitCode, startCommand } from './exit.js';
import { interruptedExitCode } from './interrupt.js';

/** Starts `argv` (process.argv) if it is a plain purge invocation; false leaves it to commander. */
export function runPurgeFast(argv: string[]): boolean {
  const run = purgeFast(argv);
  if (run) exitWith(run);
  return run !== undefined;
}

/**
 * Runs `argv` if it is a plain purge invocation, resolving to its exit code; undefined leaves it to
 * commander.
 */
export function purgeFast(argv: string[]): Promise<number> | undefined {
  const [group, name, ...rest] = argv.slice(2);
  const command = PURGE_COMMANDS.find((c) => c.name === name);
  if (group !== 'purge' || !command) return undefined;
  const parsed = parseStrict(command.flags, rest);
  if (!parsed) return undefined;
  const { positionals } = parsed;
  const spec = command.argument?.spec;
  let arg: string | string[] | undefined;
  if (spec?.endsWith('...]')) arg = positionals;
  else if (spec) {
    if (positionals.length !== 1) return undefined;
    arg = positionals[0];
  } else if (positionals.length > 0) return undefined;
  startCommand('purge', 'after-first-request');
  return command.action(arg, parsed.options as PurgeFlags).then(
    () => interruptedExitCode() ?? 0,
    (err: unknown) => failureExitCode(err, 'purge'),
  );
}
