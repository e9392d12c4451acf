/** Kestra's falsy values for conditions: false, "false", 0, "0", "-0", "", null, undefined. */
export function isTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0) return false;
  if (typeof value === 'string') return !['', 'false', '0', '-0'].includes(value.trim().toLowerCase());
  return true;
}
