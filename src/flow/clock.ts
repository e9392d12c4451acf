// The clock moved to src/clock.ts (the client's purge budget and coalescing use it too); kept here for
// the flow layer's importers.
export { type Clock, ManualClock, systemClock } from '../clock.js';

/** Epoch milliseconds with a fraction (microseconds), for the instants expressions show. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
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
