import { JavaDouble, writeJson } from '../pebble/java.js';

/** Long lists and big maps counted, not kept. */
function brief(v: unknown): unknown {
  if (Array.isArray(v)) return v.length > 20 ? `[${v.length} items]` : v.map(brief);
  if (v && typeof v === 'object' && !(v instanceof JavaDouble) && !(v instanceof Date)) {
    const keys = Object.keys(v);
    if (keys.length > 20) return `{${keys.length} entries}`;
    return Object.fromEntries(keys.map((k) => [k, brief((v as Record<string, unknown>)[k])]));
  }
  return v;
}

/**
 * Task outputs shortened for a screen: long lists and big maps are counted, not printed. Numbers as
 * Kestra shows them (a double 87.0, a long with every digit), by the one writer of such values.
 */
export function briefOutputs(value: unknown, max = 300): string {
  const text = value === undefined || typeof value === 'function' ? String(value) : writeJson(brief(value));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
