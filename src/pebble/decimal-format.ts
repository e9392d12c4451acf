/**
 * java.text.DecimalFormat, as Pebble's NumberFormatFilter uses it (`new DecimalFormat(pattern,
 * new DecimalFormatSymbols(locale))`, or `NumberFormat.getInstance(locale)` without a pattern):
 * `#`, `0`, grouping `,`, `.`, a negative subpattern after `;`, quoted literals (`'$'`, `''`),
 * percent `%` (× 100), per mille `‰` (× 1000), scientific `0.###E0`, HALF_EVEN rounding. The
 * locale's symbols (grouping, decimal separator, minus, percent) come from Intl.
 */

type Affix = (string | { sym: 'percent' | 'permille' | 'minus' })[];

interface Pattern {
  posPrefix: Affix;
  posSuffix: Affix;
  negPrefix: Affix;
  negSuffix: Affix;
  minInt: number;
  minFrac: number;
  maxFrac: number;
  groupSize: number;
  decimalShown: boolean;
  /** Minimum exponent digits, for scientific notation. */
  expDigits?: number;
  multiplier: number;
}

interface Symbols {
  group: string;
  decimal: string;
  minus: string;
  percent: string;
  permille: string;
}

const patterns = new Map<string, Pattern>();
const symbolsCache = new Map<string, Symbols>();
const formatters = new Map<string, Intl.NumberFormat>();

/** Java's locale tag (`de`, `fr_FR`) as a BCP 47 tag; en-US, Kestra's default, when absent. */
export function localeTag(locale: unknown): string {
  if (locale === undefined || locale === null || locale === '') return 'en-US';
  const text = typeof locale === 'string' ? locale : JSON.stringify(locale);
  const tag = text.replace(/_/g, '-');
  try {
    return Intl.getCanonicalLocales(tag)[0] ?? 'en-US';
  } catch {
    throw new Error(`locale ${JSON.stringify(text)} is not a locale (e.g. en, de, fr_FR)`);
  }
}

function symbols(locale: string): Symbols {
  let s = symbolsCache.get(locale);
  if (!s) {
    const parts = new Intl.NumberFormat(locale, { useGrouping: true }).formatToParts(-1234567.5);
    const find = (type: string, dflt: string) => parts.find((p) => p.type === type)?.value ?? dflt;
    const pct = new Intl.NumberFormat(locale, { style: 'percent' }).formatToParts(1);
    s = {
      group: find('group', ','),
      decimal: find('decimal', '.'),
      minus: find('minusSign', '-'),
      percent: pct.find((p) => p.type === 'percentSign')?.value ?? '%',
      permille: '\u2030',
    };
    symbolsCache.set(locale, s);
  }
  return s;
}

function formatter(key: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { useGrouping: false, roundingMode: 'halfEven', ...options });
    formatters.set(key, f);
  }
  return f;
}

function parsePattern(source: string): Pattern {
  let i = 0;
  const bad = (why: string): never => {
    throw new Error(`numberformat pattern ${JSON.stringify(source)}: ${why}`);
  };
  const affix = (stopAtNumber: boolean): Affix => {
    const out: Affix = [];
    while (i < source.length) {
      const c = source[i] as string;
      if (c === "'") {
        const end = source.indexOf("'", i + 1);
        if (end < 0) bad('a quote is not closed');
        if (end === i + 1) out.push("'");
        else {
          // `'it''s'`: a doubled quote inside quotes is one quote.
          let text = source.slice(i + 1, end);
          let j = end;
          while (source[j + 1] === "'") {
            const next = source.indexOf("'", j + 2);
            if (next < 0) bad('a quote is not closed');
            text += `'${source.slice(j + 2, next)}`;
            j = next;
          }
          out.push(text);
          i = j + 1;
          continue;
        }
        i = end + 1;
        continue;
      }
      if (c === ';') return out;
      if (stopAtNumber && '#0,.'.includes(c)) return out;
      if (c === '%') out.push({ sym: 'percent' });
      else if (c === '\u2030') out.push({ sym: 'permille' });
      else if (c === '-') out.push({ sym: 'minus' });
      else if (c === '\u00a4') bad('the currency sign ¤ is not supported here; quote a symbol instead');
      else out.push(c);
      i++;
    }
    return out;
  };
  const number = () => {
    let intPart = '';
    let frac = '';
    let exp: number | undefined;
    let seenDot = false;
    while (i < source.length) {
      const c = source[i] as string;
      if (c === '.' && !seenDot) seenDot = true;
      else if (c === '#' || c === '0' || (c === ',' && !seenDot)) {
        if (seenDot) frac += c;
        else intPart += c;
      } else if (c === 'E' && exp === undefined) {
        let n = 0;
        while (source[i + 1] === '0') {
          i++;
          n++;
        }
        if (n === 0) bad("'E' must be followed by at least one 0");
        exp = n;
      } else break;
      i++;
    }
    return { intPart, frac, seenDot, exp };
  };
  const posPrefix = affix(true);
  const num = number();
  const posSuffix = affix(false);
  let negPrefix: Affix = [{ sym: 'minus' }, ...posPrefix];
  let negSuffix = posSuffix;
  if (source[i] === ';') {
    i++;
    negPrefix = affix(true);
    number();
    negSuffix = affix(false);
  }
  if (i < source.length) bad(`unexpected ${JSON.stringify(source[i])} at position ${i + 1}`);
  const digits = num.intPart.replace(/,/g, '');
  if (/0#/.test(digits)) bad("'#' after '0' in the integer part");
  if (/#0/.test(num.frac)) bad("'0' after '#' in the fraction part");
  if (num.frac.includes(',')) bad("',' in the fraction part");
  const lastComma = num.intPart.lastIndexOf(',');
  const all = [...posPrefix, ...posSuffix];
  const has = (sym: string) => all.some((a) => typeof a !== 'string' && a.sym === sym);
  if (num.exp !== undefined && digits.includes('#'))
    bad("engineering notation ('#' before 'E') is not supported here; use 0.###E0");
  return {
    posPrefix,
    posSuffix,
    negPrefix,
    negSuffix,
    minInt: (digits.match(/0/g) ?? []).length,
    minFrac: (num.frac.match(/0/g) ?? []).length,
    maxFrac: num.frac.length,
    groupSize: lastComma < 0 ? 0 : num.intPart.length - lastComma - 1,
    decimalShown: num.seenDot && num.frac.length === 0,
    ...(num.exp !== undefined ? { expDigits: num.exp } : {}),
    multiplier: has('percent') ? 100 : has('permille') ? 1000 : 1,
  };
}

function affixText(a: Affix, s: Symbols): string {
  return a
    .map((x) =>
      typeof x === 'string'
        ? x
        : x.sym === 'percent'
          ? s.percent
          : x.sym === 'permille'
            ? s.permille
            : s.minus,
    )
    .join('');
}

/** Formats a number (a JS number or a BigInt long) with a DecimalFormat pattern in a locale. */
export function decimalFormat(value: number | bigint, pattern: string, locale = 'en-US'): string {
  let p = patterns.get(pattern);
  if (!p) {
    p = parsePattern(pattern);
    if (patterns.size > 200) patterns.clear();
    patterns.set(pattern, p);
  }
  const s = symbols(locale);
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  const negative = typeof value === 'bigint' ? value < 0n : value < 0 || Object.is(value, -0);
  let abs: number | bigint = typeof value === 'bigint' ? (value < 0n ? -value : value) : Math.abs(value);
  if (p.multiplier !== 1) abs = typeof abs === 'bigint' ? abs * BigInt(p.multiplier) : abs * p.multiplier;
  let body: string;
  if (typeof abs === 'number' && !Number.isFinite(abs)) body = '\u221e';
  else if (p.expDigits !== undefined) {
    const k = Math.max(p.minInt, 1);
    const parts = formatter(`e${k}/${p.minFrac}/${p.maxFrac}`, {
      notation: 'scientific',
      maximumSignificantDigits: Math.min(21, k + p.maxFrac),
      minimumSignificantDigits: Math.min(21, k + p.minFrac),
    }).formatToParts(abs);
    const mantissa = parts
      .filter((x) => x.type === 'integer' || x.type === 'fraction')
      .map((x) => x.value)
      .join('');
    const e = Number(parts.find((x) => x.type === 'exponentInteger')?.value ?? '0');
    const sign = parts.some((x) => x.type === 'exponentMinusSign') ? -1 : 1;
    const exp = (abs === 0 || abs === 0n ? 0 : sign * e) - (k - 1);
    const ip = mantissa.slice(0, k).padEnd(k, '0');
    const fp = mantissa.slice(k);
    body =
      ip +
      (fp || p.decimalShown ? s.decimal + fp : '') +
      'E' +
      (exp < 0 ? s.minus : '') +
      String(Math.abs(exp)).padStart(p.expDigits, '0');
  } else {
    const text = formatter(`f${p.minFrac}/${p.maxFrac}`, {
      minimumFractionDigits: p.minFrac,
      maximumFractionDigits: p.maxFrac,
    }).format(abs);
    const [whole = '', fp = ''] = text.split('.');
    let ip = whole.replace(/^0+/, '').padStart(p.minInt, '0');
    if (ip === '' && fp === '') ip = '0';
    if (p.groupSize > 0 && ip.length > p.groupSize) {
      const groups: string[] = [];
      for (let end = ip.length; end > 0; end -= p.groupSize)
        groups.unshift(ip.slice(Math.max(0, end - p.groupSize), end));
      ip = groups.join(s.group);
    }
    body = ip + (fp || p.decimalShown ? s.decimal + fp : '');
  }
  return negative
    ? affixText(p.negPrefix, s) + body + affixText(p.negSuffix, s)
    : affixText(p.posPrefix, s) + body + affixText(p.posSuffix, s);
}
