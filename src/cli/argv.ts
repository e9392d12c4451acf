// Flags as data, without commander: `flags.ts` turns a table into commander options (help, usage
// errors), and `parseStrict` reads the well-formed invocations of the same table for the purge fast
// path (`purge-fast.ts`), which starts without loading commander.

/** A flag in commander's notation (`-s, --service-id <id>`, `--soft`), with a value parser. */
export interface FlagSpec {
  flags: string;
  description: string;
  /** Parses a value; `undefined` means invalid, and `invalid` says why (for commander's error). */
  parse?: (value: string) => unknown;
  invalid?: string;
}

/** A whole number in [min, max], or undefined. */
export function wholeNumber(
  name: string,
  min: number,
  max: number,
): { parse: (value: string) => number | undefined; invalid: string } {
  return {
    parse: (value) => {
      const n = Number(value);
      return /^\d+$/.test(value.trim()) && n >= min && n <= max ? n : undefined;
    },
    invalid: `${name} must be a whole number from ${min} to ${max}`,
  };
}

/** The flags every API command takes (Fastly CLI names where one exists). */
export const CONNECTION_FLAGS: FlagSpec[] = [
  { flags: '--token <token>', description: 'API token (prefer the FASTLY_API_TOKEN environment variable)' },
  {
    flags: '--endpoint <url>',
    description: 'API endpoint (default $FASTLY_API_ENDPOINT or https://api.fastly.com)',
  },
  { flags: '-j, --json', description: 'print the task outputs as one JSON document' },
  { flags: '--debug', description: 'log every request with its status and time, and retries, to stderr' },
  {
    flags: '--timeout <ms>',
    description: 'per-request timeout in ms',
    ...wholeNumber('--timeout', 1, 600_000),
  },
  {
    flags: '--max-attempts <n>',
    description: 'attempts per request, retries included',
    ...wholeNumber('--max-attempts', 1, 20),
  },
];

/**
 * How a flag's value is read: its own parser, or for a flag taking a value without one, any value
 * but an empty one (`--failed-keys ""` is a mistake, never "no file").
 */
export function valueParser(spec: FlagSpec): Pick<FlagSpec, 'parse' | 'invalid'> | undefined {
  if (spec.parse) return { parse: spec.parse, invalid: spec.invalid };
  const { long, takesValue } = parseFlags(spec.flags);
  if (!takesValue) return undefined;
  return { parse: (v) => (v === '' ? undefined : v), invalid: `--${long} is empty; expected a value` };
}

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
  specs: FlagSpec[],
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
    const parsed = valueParser(flag.spec)?.parse?.(value);
    if (parsed === undefined) return undefined;
    options[flag.parsed.key] = parsed;
  }
  return { options, positionals };
}
