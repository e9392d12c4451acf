/** Node's parsed headers: lower-case names, repeated headers as arrays. */
export type HeaderBag = Record<string, string | string[] | undefined>;

/** The first value of a header (names are lower-case, as Node gives them). */
export function firstHeader(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Headers as one string each (repeats joined with ", "); `set-cookie` is left out. */
export function headerRecord(headers: HeaderBag): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(headers)) {
    if (v === undefined || name === 'set-cookie') continue;
    out[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}
