// The clock moved to src/clock.ts (the client's purge budget and coalescing use it too); kept here for
// the flow layer's importers.
import { wallNowIso } from '../clock.js';

export { type Clock, ManualClock, systemClock } from '../clock.js';

/**
 * Epoch milliseconds with a fraction (microseconds), for the instants expressions show. The whole
 * milliseconds are the wall clock's (wallNowIso): timeOrigin + performance.now() drifts from it, and
 * a task run created by that clock was dated up to 5 ms after its own RUNNING, which is the wall's.
 */
export function preciseNow(): number {
  return Date.parse(wallNowIso()) + (performance.now() % 1);
}

/**
 * An instant as Kestra's expressions print it (Java's `Instant.toString()` of a microsecond clock):
 * `2026-12-07T03:31:12.123456Z`, six fraction digits.
 */
export function instantText(epochMs: number): string {
  const ms = Math.floor(epochMs);
  const micros = Math.min(999, Math.round((epochMs - ms) * 1000));
  return new Date(ms).toISOString().replace(/Z$/, `${String(micros).padStart(3, '0')}Z`);
}
