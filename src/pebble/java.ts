/**
 * Java's value model as Pebble sees it: a number is a long (a JS integer) or a double. A double whose
 * value is whole (25.0) is a `JavaDouble`, so that it prints as Java prints it; any other non-integer
 * JS number is a double too. Printing, equality and JSON follow Java and Jackson.
 */

/** A Java double (its value whole, infinite or NaN, or any double produced by arithmetic). */
export class JavaDouble {
  constructor(readonly value: number) {}
  toString(): string {
    return javaDoubleText(this.value);
  }
  toJSON(): number {
    return this.value;
  }
}

/** A Java double from a JS number: whole values are wrapped so they stay doubles. */
export function double(x: number): number | JavaDouble {
  return Number.isInteger(x) || !Number.isFinite(x) ? new JavaDouble(x) : x;
}

/**
 * A number: a long (a JS integer, or a BigInt beyond 2^53, so that 9223372036854775807 prints
 * exactly) or a double (a non-integer JS number or a JavaDouble).
 */
export const isNumber = (v: unknown): v is number | bigint | JavaDouble =>
  typeof v === 'number' || typeof v === 'bigint' || v instanceof JavaDouble;
export const isDouble = (v: unknown): boolean =>
  v instanceof JavaDouble || (typeof v === 'number' && !Number.isInteger(v));
export const numberValue = (v: number | bigint | JavaDouble): number =>
  typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : v.value;

/** A long from its decimal text: a JS number when it is exact, else a BigInt wrapped to 64 bits as Java's long. */
export function long(text: string): number | bigint {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : normalLong(BigInt(text));
}

/** A BigInt long as Java keeps it (64 bits, overflow wraps), as a JS number when that is exact. */
export function normalLong(b: bigint): number | bigint {
  const w = BigInt.asIntN(64, b);
  return w >= -9007199254740991n && w <= 9007199254740991n ? Number(w) : w;
}

/** Java's `Double.toString`: `25.0`, `0.001`, `1.0E7`, `1.0E-4`, `NaN`, `Infinity`. */
export function javaDoubleText(d: number): string {
  if (Number.isNaN(d)) return 'NaN';
  if (!Number.isFinite(d)) return d > 0 ? 'Infinity' : '-Infinity';
  if (d === 0) return Object.is(d, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(d);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(d);
    if (s.includes('e')) return plainFromExponential(d);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mantissa = '', exp = '0'] = d.toExponential().split('e');
  const m = mantissa.includes('.') ? mantissa : `${mantissa}.0`;
  return `${m}E${Number(exp)}`;
}

function plainFromExponential(d: number): string {
  const s = d.toFixed(20).replace(/0+$/, '');
  return s.endsWith('.') ? `${s}0` : s;
}

/** A long as Java prints it. */
export const longText = (n: number): string => (Object.is(n, -0) ? '0' : String(n));

/** Text of a scalar as Java's `String.valueOf` gives it (null: "null"). */
export function javaText(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? longText(v) : javaDoubleText(v);
  if (v instanceof JavaDouble) return javaDoubleText(v.value);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return `[${v.map(javaText).join(', ')}]`;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object')
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}=${javaText(x)}`)
      .join(', ')}}`;
  return typeof v === 'bigint' ? v.toString() : JSON.stringify(v);
}

/** Jackson's JSON of a value (compact): doubles as Java prints them, keys in insertion order. */
export function toJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return jsonString(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' || v instanceof JavaDouble) {
    const n = numberValue(v);
    if (!Number.isFinite(n)) return `"${javaDoubleText(n)}"`;
    return typeof v === 'number' && Number.isInteger(v) ? longText(v) : javaDoubleText(n);
  }
  if (typeof v === 'boolean') return String(v);
  if (v instanceof Date) return jsonString(v.toISOString());
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (typeof v === 'object')
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${jsonString(k)}:${toJson(x)}`)
      .join(',')}}`;
  return typeof v === 'bigint' ? v.toString() : jsonString(JSON.stringify(v));
}

const JSON_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

/** A JSON string as Jackson writes it: only quotes, backslashes and control characters escaped. */
export function jsonString(s: string): string {
  return `"${s.replace(/["\\\u0000-\u001f]/g, (c) => JSON_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

/**
 * JSON text read as Jackson reads it for Kestra: `1` a long, `1.0` and `1e3` doubles (whole ones
 * kept as `JavaDouble`), objects keep their key order.
 */
export function parseJson(text: string): unknown {
  let i = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at position ${i} of the JSON text`);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') return (i++, obj);
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a string key');
        const k = str();
        ws();
        if (text[i++] !== ':') fail("expected ':'");
        obj[k] = value();
        ws();
        const n = text[i++];
        if (n === '}') return obj;
        if (n !== ',') fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const list: unknown[] = [];
      ws();
      if (text[i] === ']') return (i++, list);
      for (;;) {
        list.push(value());
        ws();
        const n = text[i++];
        if (n === ']') return list;
        if (n !== ',') fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m) {
      i += m[0].length;
      const n = Number(m[0]);
      if (m[1] !== undefined || m[2] !== undefined) return double(n);
      // Jackson: a long (or a BigInteger) beyond 2^53 keeps every digit.
      return Number.isSafeInteger(n) ? n : BigInt(m[0]);
    }
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const)
      if (text.startsWith(word, i)) return ((i += word.length), v);
    return fail('unexpected character');
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('unterminated string');
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const v = value();
  ws();
  if (i < text.length) fail('unexpected text after the JSON value');
  return v;
}

/** Java's `equals` between two values, with numbers compared as doubles (Pebble's `==`). */
export function javaEquals(a: unknown, b: unknown): boolean {
  if (isNumber(a) && isNumber(b)) {
    if ((typeof a === 'bigint' || typeof b === 'bigint') && !isDouble(a) && !isDouble(b))
      return BigInt(a as number | bigint) === BigInt(b as number | bigint);
    return numberValue(a) === numberValue(b);
  }
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => strictEquals(x, b[i]));
  if (typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a);
    const kb = b as Record<string, unknown>;
    return (
      ka.length === Object.keys(kb).length &&
      ka.every((k) => k in kb && strictEquals((a as Record<string, unknown>)[k], kb[k]))
    );
  }
  return false;
}

/** Java's `equals` inside collections: a Long never equals a Double. */
export function strictEquals(a: unknown, b: unknown): boolean {
  if (isNumber(a) && isNumber(b)) return isDouble(a) === isDouble(b) && numberValue(a) === numberValue(b);
  return javaEquals(a, b);
}

/**
 * Java's `String.split(regex, limit)`: the delimiter is a regular expression; a zero-width match at
 * the start adds no leading empty string; limit > 0 splits at most limit - 1 times, 0 drops trailing
 * empty strings (so `"a.b.c".split(".")` is empty), < 0 keeps them; no match gives the input.
 */
export function javaSplit(s: string, pattern: string, limit = 0): string[] {
  const parts: string[] = [];
  let index = 0;
  let matched = false;
  for (const m of s.matchAll(new RegExp(pattern, 'g'))) {
    if (limit > 0 && parts.length >= limit - 1) break;
    const start = m.index;
    if (start === 0 && m[0].length === 0) continue;
    matched = true;
    parts.push(s.slice(index, start));
    index = start + m[0].length;
  }
  if (!matched) return [s];
  parts.push(s.slice(index));
  if (limit === 0) while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}
