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

/** The zod schema of a duration property: validated, kept as its text (what `{{ … }}` shows). */
export const isoDuration = (rule: DurationRule = {}) =>
  z.string().refine((v) => durationProblem(v, rule) === undefined, {
    error: (issue) => durationProblem(issue.input, rule),
  });
