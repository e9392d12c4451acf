// Flags as data, without commander: `flags.ts` turns a table into commander options (help, usage
// errors), and `parseStrict` reads the well-formed invocations of the same table for the purge fast
// path (`purge-fast.ts`), which starts without loading commander. The rules every flag's value
// follows (not empty, given once, its own parser) and their wording live here, for both.
import { show } from '../errors.js';
import { hidePasswords } from '../url-password.js';

/** A flag in commander's notation (`-s, --service-id <id>`, `--soft`), with a value parser. */
export interface FlagSpec {
  flags: string;
  description: string;
  /** Parses a value; `undefined` means invalid, and `invalid` says why (the whole error line). */
  parse?: (value: string) => unknown;
  /** The error line of an invalid value; `flag` is the long name (`--timeout`). */
  invalid?: (value: string, flag: string) => string;
  /** The value when the flag is not given (--help shows it, as commander does). */
  default?: unknown;
  /** Each use adds its value to a list (default `[]`): `-i a=1 -i b=2`. */
  repeatable?: boolean;
}

/** The options commander makes of these flags, typed from their declarations (`OptionsOf<typeof FLAGS>`). */
export type OptionsOf<Fs extends readonly FlagSpec[]> = {
  [S in Fs[number] as Always<S> extends true ? KeyOf<S['flags']> : never]: S extends { repeatable: true }
    ? ValueOf<S>[]
    : ValueOf<S>;
} & {
  [S in Fs[number] as Always<S> extends true ? never : KeyOf<S['flags']>]?: ValueOf<S>;
};

/** `--max-attempts <n>` → `maxAttempts`; `--no-trigger` → `trigger`, as commander names them. */
type KeyOf<F extends string> = Camel<
  NameOf<F extends `${string}--no-${infer L}` ? L : F extends `${string}--${infer L}` ? L : never>
>;
type NameOf<L extends string> = L extends `${infer N} ${string}` ? N : L;
type Camel<S extends string> = S extends `${infer A}-${infer B}` ? `${A}${Capitalize<Camel<B>>}` : S;
/** A flag's value: what its parser returns, the text, or (a switch) a boolean. */
type ValueOf<S extends FlagSpec> = S['flags'] extends `${string}<${string}>`
  ? S extends { parse: (value: string) => infer V }
    ? Exclude<V, undefined>
    : string
  : boolean;
/** Whether commander always sets the option: a default, a list, or a negated switch (`--no-trigger`). */
type Always<S extends FlagSpec> = S extends { repeatable: true }
  ? true
  : S extends { default: unknown }
    ? true
    : S['flags'] extends `${string}--no-${string}`
      ? true
      : false;

/** A rule on a flag's value: its parser (undefined: invalid) and its error line. */
export interface ValueRule<T> {
  parse: (value: string) => T | undefined;
  invalid: (value: string, flag: string) => string;
}

/** A whole number in [min, max] (max may be Infinity). */
export function wholeNumber(min: number, max: number): ValueRule<number> {
  const range = max === Number.POSITIVE_INFINITY ? `of ${min} or more` : `from ${min} to ${max}`;
  return {
    parse: (value) => {
      const n = Number(value.trim());
      return /^\d+$/.test(value.trim()) && n >= min && n <= max ? n : undefined;
    },
    invalid: (value, flag) =>
      `${flag}: ${show(value)} ${/^[+-]?\d+$/.test(value.trim()) ? 'is out of range' : 'is not a whole number'}; expected a whole number ${range}`,
  };
}

/** Flags whose values are never shown, even in an error. */
const isSecret = (flag: string) => /token/i.test(flag);

/** What an empty value of a flag is refused with (or undefined when the value is not empty). */
export function emptyValue(flag: string, notation: string, value: string): string | undefined {
  if (value.trim() !== '') return undefined;
  const placeholder = /<([^>]+)>/.exec(notation)?.[1];
  const expected = (placeholder && EXPECTED[placeholder]) ?? `a value (<${placeholder ?? 'value'}>)`;
  // A flow's empty property may mean the default; typed at the prompt, it is a mistake.
  return `${flag}: ${show(value)} is empty; expected ${expected}, or leave ${flag} out`;
}

/** What a placeholder stands for, where `<time>` alone would say too little. */
const EXPECTED: Record<string, string> = {
  time: 'Unix seconds, ISO-8601 or e.g. "24 hours ago"',
};

/** What a single-valued flag given more than once is refused with (as kingpin, the Fastly CLI's parser, does). */
export function givenTwice(flag: string, values: readonly string[]): string {
  const shown = isSecret(flag) ? 'values hidden' : values.map((v) => show(hidePasswords(v))).join(', ');
  return `${flag}: given ${values.length === 2 ? 'twice' : `${values.length} times`} (${shown}); expected once`;
}

/** The flags every API command takes (Fastly CLI names where one exists). */
export const CONNECTION_FLAGS = [
  { flags: '--token <token>', description: 'API token (prefer the FASTLY_API_TOKEN environment variable)' },
  {
    flags: '--profile <name>',
    description:
      "the token of this Fastly CLI profile (fastly profile create); without it and FASTLY_API_TOKEN, the default profile's",
  },
  {
    flags: '--endpoint <url>',
    description: 'API endpoint (default $FASTLY_API_ENDPOINT or https://api.fastly.com)',
  },
  { flags: '-j, --json', description: 'print the task outputs as one JSON document' },
  { flags: '--debug', description: 'log every request with its status and time, and retries, to stderr' },
  {
    flags: '--timeout <ms>',
    description: 'per-request timeout in ms',
    ...wholeNumber(1, 600_000),
  },
  {
    flags: '--max-attempts <n>',
    description: 'attempts per request, retries included',
    ...wholeNumber(1, 20),
  },
] as const satisfies readonly FlagSpec[];

interface Parsed {
  short?: string | undefined;
  long: string;
  /** The option's key as commander names it: `--max-attempts` → `maxAttempts`. */
  key: string;
  takesValue: boolean;
}

function parseFlags(flags: string): Parsed {
  const m = /^(?:-(\w), )?--([\w-]+)( <[^>]+>)?$/.exec(flags);
  if (!m?.[2]) throw new Error(`unsupported flag notation: ${flags}`);
  return {
    short: m[1],
    long: m[2],
    key: m[2].replace(/-(\w)/g, (_, c: string) => c.toUpperCase()),
    takesValue: m[3] !== undefined,
  };
}

/**
 * Reads `args` against `specs` when they are in the plain forms (`--flag`, `--flag value`, `-s value`,
 * positionals), each flag at most once and every value valid; returns undefined for anything else
 * (`--flag=value`, `--`, bundled short flags, unknown or repeated flags, --help, a bad value), which
 * the caller leaves to commander and its error messages.
 */
export function parseStrict(
  specs: readonly FlagSpec[],
  args: string[],
): { options: Record<string, unknown>; positionals: string[] } | undefined {
  const byName = new Map<string, { parsed: Parsed; spec: FlagSpec }>();
  for (const spec of specs) {
    const parsed = parseFlags(spec.flags);
    byName.set(`--${parsed.long}`, { parsed, spec });
    if (parsed.short) byName.set(`-${parsed.short}`, { parsed, spec });
  }
  const options: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const flag = byName.get(arg);
    if (!flag || flag.parsed.key in options) return undefined;
    if (!flag.parsed.takesValue) {
      options[flag.parsed.key] = true;
      continue;
    }
    const value = args[++i];
    if (value === undefined || (value.startsWith('-') && value !== '-')) return undefined;
    // Empty or invalid: commander says so, in the words of emptyValue or the flag's `invalid`.
    if (emptyValue(arg, flag.spec.flags, value) !== undefined) return undefined;
    const parsed = flag.spec.parse ? flag.spec.parse(value) : value;
    if (parsed === undefined) return undefined;
    options[flag.parsed.key] = parsed;
  }
  return { options, positionals };
}
