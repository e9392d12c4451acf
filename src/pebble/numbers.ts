/**
 * Commons-lang's NumberUtils as Kestra's NumberFilter calls it (`number`, `number(type)`): the Java
 * class of the result follows the text (Integer, Long, BigInteger, Float, Double, BigDecimal) as
 * NumberUtils.createNumber decides it, or the type asked for.
 */
import { bigDecimalText, double, JavaDouble, javaFloat, javaInteger, normalLong } from './java.js';

const INT_MIN = -(2n ** 31n);
const INT_MAX = 2n ** 31n - 1n;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

const bad = (s: string): Error => new Error(`${JSON.stringify(s)} is not a valid number`);

/** Integer.decode / Long.decode / createBigInteger: a sign, then 0x, 0X or # (hex), 0 (octal) or decimal digits. */
function decode(s: string): bigint {
  const m = /^([+-]?)(0[xX]|#|0(?=\d))?([0-9a-fA-F]+)$/.exec(s);
  if (!m) throw bad(s);
  const [, sign, prefix, digits = ''] = m;
  const radix = prefix === undefined ? 10 : prefix === '0' ? 8 : 16;
  if (!new RegExp(`^[${radix === 8 ? '0-7' : radix === 10 ? '0-9' : '0-9a-fA-F'}]+$`).test(digits))
    throw bad(s);
  const v = radix === 10 ? BigInt(digits) : BigInt(`${radix === 8 ? '0o' : '0x'}${digits}`);
  return sign === '-' ? -v : v;
}

function createInteger(s: string): JavaDouble {
  const v = decode(s);
  if (v < INT_MIN || v > INT_MAX) throw bad(s);
  return javaInteger(Number(v));
}

function createLong(s: string): number | bigint {
  const v = decode(s);
  if (v < LONG_MIN || v > LONG_MAX) throw bad(s);
  return normalLong(v);
}

/** Float.valueOf / Double.valueOf: whitespace trimmed, NaN, Infinity, an f or d suffix. */
function floating(s: string): number {
  const m = /^\s*([+-]?)(NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[fFdD]?\s*$/.exec(s);
  if (!m) throw bad(s);
  const [, sign, body = ''] = m;
  const n = body === 'NaN' ? Number.NaN : body === 'Infinity' ? Number.POSITIVE_INFINITY : Number(body);
  return sign === '-' ? -n : n;
}

/** new BigDecimal(text): no whitespace, no suffix. */
function createBigDecimal(s: string): JavaDouble {
  if (s.trim() === '') throw new Error('A blank string is not a valid number');
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw bad(s);
  return new JavaDouble(Number(s), 'BigDecimal', bigDecimalText(s));
}

const attempt = <T>(f: () => T): T | undefined => {
  try {
    return f();
  } catch {
    return undefined;
  }
};

/** NumberUtils.createNumber. */
function guess(s: string): unknown {
  if (s.trim() === '') throw new Error('A blank string is not a valid number');
  const hex = /^[+-]?(0[xX]|#)(.*)$/.exec(s);
  if (hex) {
    const digits = (hex[2] ?? '').replace(/^0+/, '');
    const big = digits.length > 16 || (digits.length === 16 && digits[0]! > '7');
    const longer = digits.length > 8 || (digits.length === 8 && digits[0]! > '7');
    if (big) return normalBig(decode(s));
    return longer ? createLong(s) : createInteger(s);
  }
  const last = s[s.length - 1] as string;
  const qualified = !/[\d.]/.test(last);
  const body = qualified ? s.slice(0, -1) : s;
  const decPos = body.indexOf('.');
  const expPos = body.search(/[eE]/);
  if (decPos > -1 && expPos > -1 && expPos < decPos) throw bad(s);
  const dec = decPos > -1 ? body.slice(decPos + 1, expPos > -1 ? expPos : undefined) : undefined;
  const exp = expPos > -1 ? body.slice(expPos + 1) : undefined;
  const mant = body.slice(0, decPos > -1 ? decPos : expPos > -1 ? expPos : undefined);
  const allZeros = /^[+-]?0*$/.test(mant) && /^0*$/.test(dec ?? '') && /^[+-]?0*$/.test(exp ?? '');
  const usable = (n: number) => Number.isFinite(n) && !(n === 0 && !allZeros);
  if (qualified) {
    switch (last) {
      case 'l':
      case 'L':
        if (dec === undefined && exp === undefined && /^-?\d+$/.test(body))
          return attempt(() => createLong(body)) ?? normalBig(decode(body));
        throw bad(s);
      case 'f':
      case 'F': {
        const f = attempt(() => Math.fround(floating(s)));
        if (f !== undefined && usable(f)) return javaFloat(f);
      }
      // falls through: as commons-lang, a float that overflows is tried as a double
      case 'd':
      case 'D': {
        const d = attempt(() => floating(s));
        if (d !== undefined && usable(d)) return double(d);
        return createBigDecimal(body);
      }
      default:
        throw bad(s);
    }
  }
  if (dec === undefined && exp === undefined)
    return attempt(() => createInteger(s)) ?? attempt(() => createLong(s)) ?? normalBig(decode(s));
  const decimals = dec?.length ?? 0;
  if (decimals <= 7) {
    const f = attempt(() => Math.fround(floating(s)));
    if (f !== undefined && usable(f)) return javaFloat(f);
  }
  if (decimals <= 16) {
    const d = attempt(() => floating(s));
    if (d !== undefined && usable(d)) return double(d);
  }
  return createBigDecimal(s);
}

/** A BigInteger: kept as a BigInt (every digit), a JS number when small. */
const normalBig = (v: bigint): number | bigint => (v >= LONG_MIN && v <= LONG_MAX ? normalLong(v) : v);

/** Kestra's NumberFilter: the type by its exact name, else NumberUtils.createNumber. */
export function createNumber(s: string, type: string): unknown {
  switch (type) {
    case 'INT':
      return createInteger(s);
    case 'FLOAT':
      return javaFloat(floating(s));
    case 'LONG':
      return createLong(s);
    case 'DOUBLE':
      return double(floating(s));
    case 'BIGDECIMAL':
      return createBigDecimal(s);
    case 'BIGINTEGER':
      return normalBig(decode(s));
    default:
      return guess(s);
  }
}
