import type { Command } from 'commander';
import { InvalidInputError } from '../errors.js';
import { emptyValue, type FlagSpec, givenTwice } from './argv.js';
import type { CliCommand, CliGroup } from './command.js';

// Commander built from the declarations of command.ts: help, parsing and usage errors.

/** A commander usage error on one line, like every other error (`error: unknown option '--x' (see --help)`). */
export function usageLine(text: string): string {
  return `${text.trim().replace(/\s*\n\s*/g, '; ')} (see --help)`;
}

/**
 * A value parser as commander takes one: an invalid value is our one error line (exit 2), not
 * commander's "option '…' argument '…' is invalid" (commander passes on errors of its own kind only).
 */
function forCommander<T>(
  flag: string,
  parse: (value: string) => T | undefined,
  invalid: (value: string, flag: string) => string,
): (value: string) => T {
  return (value) => {
    const parsed = parse(value);
    if (parsed === undefined) throw new InvalidInputError(invalid(value, flag), flag);
    return parsed;
  };
}

const longName = (flags: string) => /--[\w-]+/.exec(flags)?.[0] ?? flags;

/** Adds declared flags to a commander command. */
function withFlags(cmd: Command, specs: readonly FlagSpec[]): Command {
  for (const spec of specs) {
    const flag = longName(spec.flags);
    const parse =
      spec.parse &&
      forCommander(flag, spec.parse, spec.invalid ?? ((v) => `${flag}: ${JSON.stringify(v)} is invalid`));
    if (spec.repeatable)
      cmd.option(
        spec.flags,
        spec.description,
        (value: string, previous: unknown[]) => [...previous, parse ? parse(value) : value],
        (spec.default as unknown[] | undefined) ?? [],
      );
    else if (parse) cmd.option(spec.flags, spec.description, parse, spec.default);
    else cmd.option(spec.flags, spec.description, spec.default as string | boolean | string[] | undefined);
  }
  return cmd;
}

/** Builds a declared command under `parent` (the program, or its group). */
export function addCommand(parent: Command, spec: CliCommand): Command {
  const cmd = parent.command(spec.name);
  const { argument, onUsageError } = spec;
  if (onUsageError)
    cmd.configureOutput({
      outputError: (text, write) => {
        const line = usageLine(text);
        write(`${line}\n`);
        onUsageError(line);
      },
    });
  if (argument) cmd.argument(argument.spec, argument.description);
  cmd.description(spec.description);
  withFlags(cmd, spec.flags);
  if (spec.helpAfter !== undefined) cmd.addHelpText('after', spec.helpAfter);
  // commander passes the positional (if any), then the options.
  return cmd.action((...args: unknown[]) =>
    argument ? spec.action(args[0] as string | string[], args[1]) : spec.action(undefined, args[0]),
  );
}

/** Builds a group of declared commands (`purge`, `stats`) under the program. */
export function addGroup(program: Command, group: CliGroup): void {
  const cmd = program.command(group.name).description(group.description);
  for (const spec of group.commands) addCommand(cmd, spec);
}

/**
 * The one home of the rules every flag's value follows, on every command of `cmd` (call it once all
 * are registered): an empty or blank value is refused (`--by ""` is a mistake, never "the default"),
 * and so is a single-valued flag given twice (`--format table --format csv`: which one was meant?).
 * Flags whose default is a list collect their repeats (`-i a=1 -i b=2`). The purge fast path
 * (`argv.ts` parseStrict) leaves both cases to commander, hence to these words.
 */
export function guardValues(cmd: Command): void {
  for (const option of cmd.options) {
    if (!option.required && !option.optional) continue; // a switch takes no value
    const flag = option.long ?? option.short ?? option.flags;
    const repeatable = option.variadic || Array.isArray(option.defaultValue);
    const parse = option.parseArg;
    const seen: string[] = [];
    option.argParser((value: string, previous: unknown): unknown => {
      const empty = emptyValue(flag, option.flags, value);
      if (empty !== undefined) throw new InvalidInputError(empty, flag);
      seen.push(value);
      if (!repeatable && seen.length > 1) throw new InvalidInputError(givenTwice(flag, seen), flag);
      return parse ? parse(value, previous) : value;
    });
  }
  for (const sub of cmd.commands) guardValues(sub);
}
