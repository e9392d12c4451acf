import { type Command, InvalidArgumentError } from 'commander';
import { CONNECTION_FLAGS, type FlagSpec, valueParser, wholeNumber } from './argv.js';

/** Adds table flags to a commander command; an invalid value is commander's usage error. */
export function withFlags(cmd: Command, specs: FlagSpec[]): Command {
  for (const spec of specs) {
    const { parse, invalid } = valueParser(spec) ?? {};
    if (!parse) {
      cmd.option(spec.flags, spec.description);
      continue;
    }
    cmd.option(spec.flags, spec.description, (value: string) => {
      const parsed = parse(value);
      if (parsed === undefined) throw new InvalidArgumentError(invalid ?? `invalid value ${value}`);
      return parsed;
    });
  }
  return cmd;
}

/** Commander's parser for a whole number in [min, max]. */
export function intArg(name: string, min: number, max: number): (value: string) => number {
  const { parse, invalid } = wholeNumber(name, min, max);
  return (value) => {
    const n = parse?.(value);
    if (n === undefined) throw new InvalidArgumentError(invalid ?? name);
    return n as number;
  };
}

/** Adds the flags every API command takes. */
export function withConnection(cmd: Command): Command {
  return withFlags(cmd, CONNECTION_FLAGS);
}
