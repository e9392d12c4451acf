import type { Command } from 'commander';
import { InvalidInputError } from '../errors.js';
import { CONNECTION_FLAGS, emptyValue, type FlagSpec, givenTwice, wholeNumber } from './argv.js';

/**
 * A value parser as commander takes one: an invalid value is our one error line (exit 2), not
 * commander's "option '…' argument '…' is invalid" (commander passes on errors of its own kind only).
 */
function forCommander<T>(
  flag: string,
  parse: (value: string) => T | undefined,
  invalid: (value: string) => string,
): (value: string) => T {
  return (value) => {
    const parsed = parse(value);
    if (parsed === undefined) throw new InvalidInputError(invalid(value), flag);
    return parsed;
  };
}

const longName = (flags: string) => /--[\w-]+/.exec(flags)?.[0] ?? flags;

/** Adds table flags to a commander command. */
export function withFlags(cmd: Command, specs: FlagSpec[]): Command {
  for (const spec of specs) {
    const flag = longName(spec.flags);
    if (spec.parse)
      cmd.option(
        spec.flags,
        spec.description,
        forCommander(flag, spec.parse, spec.invalid ?? ((v) => `${flag}: ${JSON.stringify(v)} is invalid`)),
      );
    else cmd.option(spec.flags, spec.description);
  }
  return cmd;
}

/** Commander's parser for a whole number in [min, max] (max may be Infinity). */
export function intArg(name: string, min: number, max: number): (value: string) => number {
  const { parse, invalid } = wholeNumber(name, min, max);
  return forCommander(name, parse, invalid);
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

/** Adds the flags every API command takes. */
export function withConnection(cmd: Command): Command {
  return withFlags(cmd, CONNECTION_FLAGS);
}
