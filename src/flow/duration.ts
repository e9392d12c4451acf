import { Duration } from 'luxon';
import { InvalidInputError, show } from '../errors.js';

/** Parses an ISO-8601 duration (PT30S, PT5M, P1DT2H) to milliseconds; weeks, months and years are refused as in Kestra. */
export function parseDuration(value: unknown, name: string, { allowZero = false } = {}): number {
  const text = typeof value === 'string' ? value.trim() : '';
  const d = Duration.fromISO(text);
  if (!text || !d.isValid || /[YW]|P\d+M/i.test(text.split('T')[0] ?? '')) {
    throw new InvalidInputError(
      `${name}: ${show(value)} is not an ISO-8601 duration; expected e.g. PT30S, PT5M, PT1H or P1DT2H`,
      name,
    );
  }
  const ms = d.as('milliseconds');
  if (ms < 0 || (!allowZero && ms === 0)) {
    throw new InvalidInputError(`${name}: ${show(value)} must be longer than zero`, name);
  }
  return ms;
}
