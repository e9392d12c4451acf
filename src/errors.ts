import { inspect } from 'node:util';

/**
 * Error classes shared by every layer. Each has a literal `name` (minifiers rename classes, so
 * `constructor.name` would not survive the bundle) and a stable `code` to branch on. Exit codes are
 * not theirs: the CLI edge (src/cli/program.ts) maps `InvalidInputError` to 2 and the rest to 1.
 */
export abstract class KestraFastlyError extends Error {
  abstract override readonly name: string;
  abstract readonly code: string;
}

/** Invalid input or usage: a property, flag, flow file or environment value is not acceptable. */
export class InvalidInputError extends KestraFastlyError {
  override readonly name: string = 'InvalidInputError';
  readonly code: string = 'INVALID_INPUT';
  /** The property, flag or variable at fault, e.g. `surrogateKeys[3]` or `--from`. */
  readonly culprit: string | undefined;
  constructor(message: string, culprit?: string, options?: ErrorOptions) {
    super(message, options);
    this.culprit = culprit;
  }
}

/** A failure at run time that is not the user's input: API errors, network, partial purges. */
export class RunFailedError extends KestraFastlyError {
  override readonly name: string = 'RunFailedError';
  readonly code: string = 'RUN_FAILED';
}

/** Formats a value for an error message: quoted, and cut short so a huge value cannot flood the line. */
export function show(value: unknown, max = 80): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // A cycle or a BigInt: inspect says what it is.
  }
  text ??= inspect(value, { depth: 1, breakLength: Number.POSITIVE_INFINITY });
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
