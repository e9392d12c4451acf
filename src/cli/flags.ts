import { type Command, InvalidArgumentError } from 'commander';
import { CONNECTION_FLAGS, type FlagSpec, valueParser, wholeNumber } from './argv.js';

/** A value parser as commander takes one: an invalid value throws commander's usage error. */
function forCommander<T>(parse: (value: string) => T | undefined, invalid: string): (value: string) => T {
  return (value) => {
    const parsed = parse(value);
    if (parsed === undefined) throw new InvalidArgumentError(invalid);
    return parsed;
  };
}

/** Adds table flags to a commander command. */
export function withFlags(cmd: Command, specs: FlagSpec[]): Command {
  for (const spec of specs) {
    const reader = valueParser(spec);
    if (reader?.parse)
      cmd.option(spec.flags, spec.description, forCommander(reader.parse, reader.invalid ?? spec.flags));
    else cmd.option(spec.flags, spec.description);
  }
  return cmd;
}

/** Commander's parser for a whole number in [min, max]. */
export function intArg(name: string, min: number, max: number): (value: string) => number {
  const { parse, invalid } = wholeNumber(name, min, max);
  return forCommander(parse, invalid);
}

/** Adds the flags every API command takes. */
export function withConnection(cmd: Command): Command {
  return withFlags(cmd, CONNECTION_FLAGS);
}
