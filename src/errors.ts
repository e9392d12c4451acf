/**
 * Error classes shared by every layer. The CLI edge maps `exitCode` to the process exit code and
 * prints `message` alone (no stack) for any `KestraFastlyError`.
 */
export abstract class KestraFastlyError extends Error {
  abstract readonly exitCode: 1 | 2;
  override name = this.constructor.name;
}

/** Invalid input or usage: a property, flag, flow file or environment value is not acceptable (exit 2). */
export class InvalidInputError extends KestraFastlyError {
  readonly exitCode = 2 as const;
  /** The property, flag or variable at fault, e.g. `surrogateKeys[3]` or `--from`. */
  readonly culprit: string | undefined;
  constructor(message: string, culprit?: string) {
    super(message);
    this.culprit = culprit;
  }
}

/** A failure at run time that is not the user's input: API errors, network, partial purges (exit 1). */
export class RunFailedError extends KestraFastlyError {
  readonly exitCode = 1 as const;
}

/** Formats a value for an error message: quoted, and cut short so a huge value cannot flood the line. */
export function show(value: unknown, max = 80): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (value === undefined) text = 'undefined';
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
