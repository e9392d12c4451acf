// Every CLI command is one declaration of this shape, without commander: its name, description,
// positional argument, flags and action. `flags.ts` builds the commander command from it (help,
// parsing, usage errors); the purge fast path (`purge-fast.ts`) reads the purge commands' flags
// from the same declaration (`argv.ts` parseStrict). A command's flags are declared once, there.
import type { FlagSpec, OptionsOf } from './argv.js';

/** One command: `purge key`, `run`, `stats historical`. */
export interface CliCommand<
  A extends string | string[] | undefined = string | string[] | undefined,
  O = unknown,
> {
  name: string;
  description: string;
  /** The positional argument in commander's notation (`<flow>`, `[keys...]`), if any. */
  argument?: { spec: string; description: string };
  flags: readonly FlagSpec[];
  /** Text after the options in --help. */
  helpAfter?: string;
  /** Told of a usage error of this command, besides stderr (one line, `error: …`). */
  onUsageError?: (line: string) => void;
  /** Runs the command: `arg` is the positional (a string, the variadic list, or undefined); `opts` the flags. */
  action(arg: A, opts: O): Promise<void>;
}

/** A command of commands: `purge url|urls|key|keys|all`, `stats historical|aggregate|…`. */
export interface CliGroup {
  name: string;
  description: string;
  commands: readonly CliCommand[];
}

/**
 * Declares a command whose options are typed from its flags (`--max-attempts <n>` with wholeNumber
 * is `opts.maxAttempts: number | undefined`): the flags are the one list of them.
 */
export function command<A extends string | string[] | undefined, const Fs extends readonly FlagSpec[]>(
  spec: Omit<CliCommand<A, OptionsOf<Fs>>, 'flags'> & { flags: Fs },
): CliCommand<A, OptionsOf<Fs>> {
  return spec;
}
