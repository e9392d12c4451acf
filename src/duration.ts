import { z } from 'zod';
import { InvalidInputError, show } from './errors.js';

/**
 * The one ISO-8601 duration type of the project, as Kestra reads it (java.time.Duration):
 * `PnDTnHnMn.nS`, e.g. PT30S, PT5M, PT1H, P1DT2H. Weeks, months and years are refused (their
 * length in seconds is not fixed), and so are negative durations. Used by the flow model (timeout,
 * retry), flow inputs of type DURATION and the StatsTrigger (window, interval, delay).
 */
const ISO_DURATION = /^P(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:[.,](\d{1,9}))?S)?)?$/i;

/** A duration's text, once known to parse. */
export type IsoDuration = string;

export const DURATION_EXAMPLES = 'PT30S, PT5M, PT1H or P1DT2H';

/** Milliseconds of an ISO-8601 duration, or undefined if `text` is not one Kestra accepts. */
export function durationMs(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = ISO_DURATION.exec(text.trim());
  if (!m || /^PT?$/i.test(text.trim())) return undefined;
  const [, d, h, min, s, frac] = m;
  const n = (v: string | undefined) => (v ? Number(v) : 0);
  return (
    ((n(d) * 24 + n(h)) * 60 + n(min)) * 60_000 + n(s) * 1000 + Math.round(Number(`0.${frac ?? 0}`) * 1000)
  );
}

export interface DurationRule {
  /** PT0S allowed (a delay); otherwise the duration must be longer than zero. */
  allowZero?: boolean;
}

/** The problem with `value` as a duration, phrased as what is expected; undefined when it is fine. */
export function durationProblem(
  value: unknown,
  { allowZero = false }: DurationRule = {},
): string | undefined {
  const ms = durationMs(value);
  if (ms === undefined) return `expected an ISO-8601 duration such as ${DURATION_EXAMPLES}`;
  if (ms === 0 && !allowZero) return 'expected a duration longer than zero';
  return undefined;
}

/** Parses a duration to milliseconds; throws an InvalidInputError naming `name` and the value. */
export function parseDuration(value: unknown, name: string, rule: DurationRule = {}): number {
  const problem = durationProblem(value, rule);
  if (problem) throw new InvalidInputError(`${name}: got ${show(value)}; ${problem}`, name);
  return durationMs(value) as number;
}

/** `5s`, `500ms`, `2m`, `1h`: a flag's short form of a duration. */
const SHORT_DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const SHORT_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Examples of a flag's duration, each shown only where it is accepted. */
const FLAG_EXAMPLES: readonly [string, number][] = [
  ['500ms', 500],
  ['3s', 3000],
  ['PT5S', 5000],
  ['2m', 120_000],
];

/** A duration as a person says it: `1 s`, `10 min`, `250 ms`. */
const spoken = (ms: number) =>
  ms % 60_000 === 0 ? `${ms / 60_000} min` : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;

/**
 * A flag's duration: ISO-8601 (PT3S) or the short form (3s, 500ms, 2m, 1h), from `minMs` to `maxMs`.
 * Throws an InvalidInputError naming the flag, the value and what is accepted (with examples that
 * are), on one line.
 */
export function parseFlagDuration(
  value: unknown,
  flag: string,
  minMs = 1,
  maxMs = Number.POSITIVE_INFINITY,
): number {
  const text = typeof value === 'string' ? value.trim() : '';
  const short = SHORT_DURATION.exec(text);
  const ms = short
    ? Math.round(Number(short[1]) * (SHORT_UNIT_MS[short[2] as string] as number))
    : durationMs(text);
  if (ms === undefined || ms < minMs || ms > maxMs) {
    const range =
      maxMs === Number.POSITIVE_INFINITY
        ? `of at least ${spoken(minMs)}`
        : `from ${spoken(minMs)} to ${spoken(maxMs)}`;
    const examples = FLAG_EXAMPLES.filter(([, e]) => e >= minMs && e <= maxMs).map(([t]) => t);
    const such = examples.length
      ? `, such as ${examples.slice(0, -1).join(', ')}${examples.length > 1 ? ' or ' : ''}${examples.at(-1)}`
      : '';
    throw new InvalidInputError(`${flag}: got ${show(value)}; expected a duration ${range}${such}`, flag);
  }
  return ms;
}

/** The zod schema of a duration property: validated, kept as its text (what `{{ … }}` shows). */
export const isoDuration = (rule: DurationRule = {}) =>
  z.string().refine((v) => durationProblem(v, rule) === undefined, {
    error: (issue) => durationProblem(issue.input, rule),
  });
