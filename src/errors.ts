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

/**
 * What JSON leaves raw but a terminal would hide or garble: C1 controls, invisible format characters,
 * line separators, and U+FFFD (bytes that were not UTF-8, as a binary file decodes).
 */
const UNPRINTABLE =
  /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffd]/g;

/** One character of JSON text as shown: an escape (`\u0000`, `\n`) or a code point. */
const SHOWN_CHAR = /\\u[0-9a-fA-F]{4}|\\.|[\s\S]/gu;

/** A character as its `\uXXXX` escape. */
const escaped = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Escaped text cut to `max` characters, never inside an escape. */
function cutShort(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = '';
  for (const [piece] of text.matchAll(SHOWN_CHAR)) {
    if (cut.length + piece.length > max - 1) break;
    cut += piece;
  }
  return `${cut}…`;
}

/**
 * Text from elsewhere (a server's error message) as one line of an error: line breaks and tabs
 * become spaces, other control and invisible characters are escaped (it must not forge a log line or
 * drive a terminal), and it is cut at `max` characters.
 */
export function oneLine(text: string, max = 200): string {
  const flat = text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\u0000-\u001f]/g, escaped)
    .replace(UNPRINTABLE, escaped);
  return cutShort(flat, max);
}

/**
 * Formats a value for an error message: quoted, unprintable characters escaped, and cut short (never
 * inside an escape) so a huge or binary value cannot flood the line.
 */
export function show(value: unknown, max = 80): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // A cycle or a BigInt: inspect says what it is.
  }
  text ??= inspect(value, { depth: 1, breakLength: Number.POSITIVE_INFINITY });
  return cutShort(text.replace(UNPRINTABLE, escaped), max);
}
