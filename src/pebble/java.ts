/**
 * Java's value model as Pebble sees it: a number is a long (a JS integer) or a double. A double whose
 * value is whole (25.0) is a `JavaDouble`, so that it prints as Java prints it; any other non-integer
 * JS number is a double too. Printing, equality and JSON follow Java and Jackson.
 */

/**
 * A Java number that a plain JS number cannot stand for: a Double (its value whole, infinite or NaN,
 * or any double produced by arithmetic), or, by `kind`, a Float (its value a float32, printed as
 * Float.toString), a BigDecimal (printed from its decimal text) or an Integer (a Java int: an INT
 * input, `number('INT')`). Everything numeric reads `value`; only the class name and the printing
 * follow the kind.
 */
export class JavaDouble {
  constructor(
    readonly value: number,
    readonly kind: 'Double' | 'Float' | 'BigDecimal' | 'Integer' = 'Double',
    /** A BigDecimal's text as BigDecimal.toString gives it. */
    readonly text?: string,
  ) {}
  toString(): string {
    return numberText(this);
  }
  toJSON(): number {
    // A float32 as the decimal Java prints for it (1.1, not 1.100000023841858).
    return this.kind === 'Float' ? Number(javaFloatText(this.value)) : this.value;
  }
}

/** A Java Float from a JS number: rounded to float32. */
export const javaFloat = (x: number): JavaDouble => new JavaDouble(Math.fround(x), 'Float');
/** A Java Integer (the caller checks the int range). */
export const javaInteger = (x: number): JavaDouble => new JavaDouble(x, 'Integer');

/** How a wrapped number prints (String.valueOf in Java). */
function numberText(v: JavaDouble): string {
  switch (v.kind) {
    case 'Integer':
      return longText(v.value);
    case 'Float':
      return javaFloatText(v.value);
    case 'BigDecimal':
      return v.text ?? javaDoubleText(v.value);
    default:
      return javaDoubleText(v.value);
  }
}

/** Java's `Float.toString`: the shortest decimal that reads back to the same float, laid out as Double.toString. */
export function javaFloatText(f: number): string {
  if (!Number.isFinite(f) || f === 0) return javaDoubleText(f);
  for (let p = 1; p <= 9; p++) {
    const d = Number(f.toPrecision(p));
    if (Math.fround(d) === f) return javaDoubleText(d);
  }
  return javaDoubleText(f);
}

/** BigDecimal.toString of a decimal text (`4.20`, `1E+3`, `1.0E-7`). */
export function bigDecimalText(text: string): string {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m) return text;
  const [, sign = '', int = '', frac = '', exp = '0'] = m;
  let digits = (int + frac).replace(/^0+(?=\d)/, '');
  if (digits === '') digits = '0';
  const scale = frac.length - Number(exp);
  const neg = sign === '-' ? '-' : '';
  const adjusted = -scale + (digits.length - 1);
  if (scale >= 0 && adjusted >= -6) {
    if (scale === 0) return neg + digits;
    const padded = digits.padStart(scale + 1, '0');
    return `${neg}${padded.slice(0, padded.length - scale)}.${padded.slice(padded.length - scale)}`;
  }
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${neg}${mantissa}E${adjusted >= 0 ? '+' : ''}${adjusted}`;
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
  v instanceof JavaDouble ? v.kind !== 'Integer' : typeof v === 'number' && !Number.isInteger(v);
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
  if (v instanceof JavaDouble) return numberText(v);
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
    if (v instanceof JavaDouble) return numberText(v);
    return Number.isInteger(v) ? longText(v) : javaDoubleText(n);
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

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

/**
 * JSON text read as Jackson reads it for Kestra: `1` a long, `1.0` and `1e3` doubles (whole ones
 * kept as `JavaDouble`), an integer beyond 2^53 a BigInt with every digit, objects keep their key
 * order. What `writeJson` writes it reads back the same, so a value keeps its Java type through
 * the store, the API and a webhook body. Strict as `JSON.parse` is (no leading zeros, no raw
 * control characters in strings); a `__proto__` key is an ordinary key, as `JSON.parse` makes it.
 */
export function parseJson(text: string): unknown {
  if (plainNumbers(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // parseJson's own message follows
    }
  }
  return readJava(text);
}

/**
 * Whether every number in a JSON text is one that JSON.parse reads as Jackson does: an integer below
 * 2^53, a decimal that is not whole, no exponent. Most bodies (Fastly's stats)
 * are: JSON.parse then reads them 5-8 times faster than `readJava` (4 MB of points: 20 ms against
 * 150 ms), and this look costs ~10 ms. Conservative: anything else goes to `readJava`.
 */
function plainNumbers(text: string): boolean {
  const end = text.length;
  for (let i = 0; i < end; i++) {
    let c = text.charCodeAt(i);
    if (c === 34) {
      let close = text.indexOf('"', i + 1);
      for (;;) {
        if (close < 0) return false;
        let slashes = 0;
        while (text.charCodeAt(close - 1 - slashes) === 92) slashes++;
        if (slashes % 2 === 0) break;
        close = text.indexOf('"', close + 1);
      }
      i = close;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      const start = i;
      let digits = 0;
      let fraction = false;
      let wholeFraction = true;
      for (; i < end; c = text.charCodeAt(++i)) {
        if (c >= 48 && c <= 57) {
          digits++;
          if (fraction && c !== 48) wholeFraction = false;
        } else if (c === 46) fraction = true;
        else if (c === 101 || c === 69) return false;
        else if (c !== 45) break;
      }
      if (digits > 15) {
        const n = Number(text.slice(start, i));
        if (fraction ? Number.isInteger(n) : !Number.isSafeInteger(n)) return false;
      } else if (fraction && wholeFraction) return false;
      i--;
    }
  }
  return true;
}

/** The reader itself: every number as Jackson reads it. */
function readJava(text: string): unknown {
  let i = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at position ${i} of the JSON text`);
  };
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return;
      i++;
    }
  };
  const value = (): unknown => {
    ws();
    const c = text.charCodeAt(i);
    if (c === 123 /* { */) {
      i++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text.charCodeAt(i) === 125) return (i++, obj);
      for (;;) {
        ws();
        if (text.charCodeAt(i) !== 34) fail('expected a string key');
        const k = str();
        ws();
        if (text.charCodeAt(i) !== 58) fail("expected ':'");
        i++;
        const v = value();
        if (k === '__proto__')
          Object.defineProperty(obj, k, { value: v, writable: true, enumerable: true, configurable: true });
        else obj[k] = v;
        ws();
        const n = text.charCodeAt(i);
        if (n !== 44 && n !== 125) fail("expected ',' or '}'");
        i++;
        if (n === 125) return obj;
      }
    }
    if (c === 91 /* [ */) {
      i++;
      const list: unknown[] = [];
      ws();
      if (text.charCodeAt(i) === 93) return (i++, list);
      for (;;) {
        list.push(value());
        ws();
        const n = text.charCodeAt(i);
        if (n !== 44 && n !== 93) fail("expected ',' or ']'");
        i++;
        if (n === 93) return list;
      }
    }
    if (c === 34) return str();
    if (c === 45 || (c >= 48 && c <= 57)) return number();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const)
      if (text.startsWith(word, i)) return ((i += word.length), v);
    return fail(i >= text.length ? 'unexpected end' : 'unexpected character');
  };
  const number = (): unknown => {
    const start = i;
    if (text.charCodeAt(i) === 45) i++;
    let n = 0;
    let c = text.charCodeAt(i);
    if (c === 48) c = text.charCodeAt(++i);
    else if (c >= 49 && c <= 57) {
      for (; c >= 48 && c <= 57; c = text.charCodeAt(++i)) n = n * 10 + (c - 48);
    } else return fail('expected a digit');
    if (c !== 46 && c !== 101 && c !== 69) {
      // Exact while below 2^53; a longer one is read from its digits: Jackson keeps every digit of a
      // long (or a BigInteger).
      if (n <= Number.MAX_SAFE_INTEGER) return text.charCodeAt(start) === 45 ? -n : n;
      const digits = text.slice(start, i);
      const v = Number(digits);
      return Number.isSafeInteger(v) ? v : BigInt(digits);
    }
    NUMBER.lastIndex = start;
    const m = NUMBER.exec(text) as RegExpExecArray;
    if (m[1] === undefined && m[2] === undefined) return fail('expected a digit');
    i = NUMBER.lastIndex;
    return double(Number(m[0]));
  };
  const str = (): string => {
    const start = ++i;
    let plain = true;
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 34) break;
      if (Number.isNaN(c)) fail('unterminated string');
      if (c === 92) {
        plain = false;
        i += 2;
      } else {
        if (c < 32) plain = false;
        i++;
      }
    }
    i++;
    if (plain) return text.slice(start, i - 1);
    try {
      return JSON.parse(text.slice(start - 1, i)) as string;
    } catch {
      i = start;
      return fail('invalid string');
    }
  };
  const v = value();
  ws();
  if (i < text.length) fail('unexpected text after the JSON value');
  return v;
}

/**
 * `JSON.stringify(value, null, indent)` for Java's values: a `JavaDouble` as Java prints it (`1.0`,
 * `1.0E21`), a BigInt long with every digit (JSON.stringify throws on one). `parseJson` reads the
 * text back to the same values. Everything else as JSON.stringify: `toJSON`, undefined members left
 * out (in a list, and as the whole value, null), non-finite numbers null. The one serializer of
 * values that may hold them: the store, the API, webhook answers, `run --json`, the dashboard's model.
 */
export function writeJson(value: unknown, indent = 0): string {
  const gap = ' '.repeat(Math.min(10, indent));
  const seen: object[] = [];
  let out = '';
  const write = (key: string, v: unknown, pad: string): boolean => {
    if (
      v !== null &&
      typeof v === 'object' &&
      !(v instanceof JavaDouble) &&
      typeof (v as { toJSON?: unknown }).toJSON === 'function'
    )
      v = (v as { toJSON: (k: string) => unknown }).toJSON(key);
    switch (typeof v) {
      case 'string':
        out += JSON.stringify(v);
        return true;
      case 'number':
        out += Number.isFinite(v) ? String(v) : 'null';
        return true;
      case 'bigint':
        out += v.toString();
        return true;
      case 'boolean':
        out += v ? 'true' : 'false';
        return true;
      case 'undefined':
      case 'function':
      case 'symbol':
        return false;
    }
    if (v === null) {
      out += 'null';
      return true;
    }
    if (v instanceof JavaDouble) {
      out += Number.isFinite(v.value) ? numberText(v) : 'null';
      return true;
    }
    const o = v as object;
    // Most values (a stats body) hold no Java number: JSON.stringify writes them 20-30 times faster
    // than this walk (4 MB of points: 15 ms against 500 ms), and looking first costs ~10 ms.
    if (!holdsJavaNumber(o)) {
      const text = JSON.stringify(o, null, gap);
      out += gap && pad ? text.replaceAll('\n', `\n${pad}`) : text;
      return true;
    }
    if (seen.includes(o)) throw new TypeError('Converting circular structure to JSON');
    seen.push(o);
    const inner = pad + gap;
    const sep = gap ? `,\n${inner}` : ',';
    if (Array.isArray(o)) {
      if (o.length === 0) out += '[]';
      else {
        out += gap ? `[\n${inner}` : '[';
        for (let i = 0; i < o.length; i++) {
          if (i > 0) out += sep;
          if (!write(String(i), o[i], inner)) out += 'null';
        }
        out += gap ? `\n${pad}]` : ']';
      }
    } else {
      let first = true;
      for (const k of Object.keys(o)) {
        const before = out;
        out += `${first ? (gap ? `{\n${inner}` : '{') : sep}${JSON.stringify(k)}${gap ? ': ' : ':'}`;
        if (write(k, (o as Record<string, unknown>)[k], inner)) first = false;
        else out = before;
      }
      out += first ? '{}' : gap ? `\n${pad}}` : '}';
    }
    seen.pop();
    return true;
  };
  // JSON.stringify gives undefined for a value with no JSON text; a text is always wanted here.
  return write('', value, '') ? out : 'null';
}

/** Whether a BigInt or a JavaDouble is anywhere in a value (which JSON.stringify cannot write). */
export function holdsJavaNumber(v: unknown, depth = 0): boolean {
  if (typeof v === 'bigint' || v instanceof JavaDouble) return true;
  if (v === null || typeof v !== 'object') return false;
  // A cycle: the writer walks it and reports it as JSON.stringify would.
  if (depth > 1000) return true;
  if (Array.isArray(v)) return v.some((x) => holdsJavaNumber(x, depth + 1));
  for (const k of Object.keys(v))
    if (holdsJavaNumber((v as Record<string, unknown>)[k], depth + 1)) return true;
  return false;
}

/**
 * A value with its Java numbers made JS numbers (a `JavaDouble` its value, a BigInt long rounded to
 * the nearest double), lists and plain maps copied where changed: for what takes JS numbers.
 */
export function jsNumbers(v: unknown): unknown {
  if (v instanceof JavaDouble) return v.toJSON();
  if (typeof v === 'bigint') return Number(v);
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    let copy: unknown[] | undefined;
    v.forEach((x: unknown, i) => {
      const y = jsNumbers(x);
      if (y !== x) (copy ??= v.slice())[i] = y;
    });
    return copy ?? v;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) return v;
  let copy: Record<string, unknown> | undefined;
  for (const [k, x] of Object.entries(v)) {
    const y = jsNumbers(x);
    if (y !== x)
      Object.defineProperty((copy ??= { ...(v as Record<string, unknown>) }), k, {
        value: y,
        writable: true,
        enumerable: true,
        configurable: true,
      });
  }
  return copy ?? v;
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
