import { createRequire } from 'node:module';

/*
 * The simulator reads `from`/`to` the way Fastly's server does, separately from the client's own
 * parser (src/fastly/time.ts). The two are different programs on either side of the wire: sharing
 * one parser would hide exactly the bugs a simulator exists to catch (a client that resolves times
 * locally hid that this one refused "yesterday"). Both use chrono-node, the library, not each other.
 */

let chrono: typeof import('chrono-node') | undefined;
const loadChrono = () =>
  (chrono ??= createRequire(import.meta.url)('chrono-node') as typeof import('chrono-node'));

/** Epoch seconds for Unix seconds, ISO dates and date-times (UTC), `now`, or natural language. */
export function parseApiTime(value: string, nowSeconds: number): number | undefined {
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (text.toLowerCase() === 'now') return nowSeconds;
  if (/^\d{4}-\d\d-\d\d([ T][\d:.]+)?(z|[+-]\d\d:?\d\d)?$/i.test(text)) {
    const iso = text.replace(' ', 'T');
    const t = Date.parse(/z$|[+-]\d\d:?\d\d$/i.test(iso) ? iso : `${iso}${iso.includes('T') ? 'Z' : ''}`);
    return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
  }
  const r = loadChrono().parse(
    text,
    { instant: new Date(nowSeconds * 1000), timezone: 'UTC' },
    { forwardDate: false },
  )[0];
  if (!r || r.text.trim().length !== text.length) return undefined;
  return Math.floor(r.start.date().getTime() / 1000);
}
