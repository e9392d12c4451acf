/**
 * Milliseconds on the monotonic clock, for durations. `process.hrtime` rather than `performance.now()`:
 * the first touch of `performance` loads perf_hooks, which a cold `purge` would pay for.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
