import { createHash, randomInt, randomUUID } from 'node:crypto';
import { createNumber } from './numbers.js';
import { addTo, epochNanos, formatInstant, now, timeZoneProblem, toInstant, zoneOf } from './dates.js';
import type { Callable, Registries } from './evaluate.js';
import { decimalFormat, localeTag } from './decimal-format.js';
import { jq, jqProblem } from './jq.js';
import { parseYamlJava } from './yaml-numbers.js';
import {
  double,
  isDouble,
  isNumber,
  JavaDouble,
  javaSplit,
  javaText,
  normalLong,
  numberValue,
  parseJson,
  strictEquals,
  toJson,
} from './java.js';

/** The most items `range()` makes (see there). */
const RANGE_LIMIT = 1_000_000;

/**
 * Every filter, function and test, with its arguments, in one table: Pebble's core, Kestra's
 * extension (io.kestra.core.runners.pebble.Extension), and the few this project had before. The
 * engine, `templateProblem` and the README's expression section all read this table.
 */

type Apply = NonNullable<Callable['apply']>;
const str = (v: unknown): string =>
  v === null || v === undefined ? '' : typeof v === 'string' ? v : javaText(v);
const list = (v: unknown, name: string): unknown[] => {
  if (Array.isArray(v)) return v;
  if (v === null || v === undefined) return [];
  if (typeof v === 'object' && !(v instanceof JavaDouble)) return Object.values(v);
  throw new Error(`${name} expects a list, got ${javaText(v)}`);
};
const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  !(v instanceof JavaDouble) &&
  !(v instanceof Date);
const long = (v: unknown, what: string): number => {
  if (isNumber(v)) return Math.trunc(numberValue(v));
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v);
  throw new Error(`${what} must be a whole number, got ${v === undefined ? 'nothing' : javaText(v)}`);
};
const orNull =
  (f: (v: unknown, a: Record<string, unknown>, cx: Parameters<Apply>[2], p: unknown[]) => unknown): Apply =>
  (v, a, cx, p) =>
    v === null || v === undefined ? null : f(v, a, cx, p);

/** Pebble's `empty`: null, blank string, empty list or map. */
export const isEmpty = (v: unknown): boolean =>
  v === null ||
  v === undefined ||
  (typeof v === 'string' && v.trim() === '') ||
  (Array.isArray(v) && v.length === 0) ||
  (isMap(v) && Object.keys(v).length === 0);

function compareValues(a: unknown, b: unknown): number {
  if (isNumber(a) && isNumber(b)) return numberValue(a) - numberValue(b);
  const x = str(a);
  const y = str(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function dateArgs(a: Record<string, unknown>) {
  const zone = zoneOf(a.timeZone);
  const existing =
    a.existingFormat === undefined || a.existingFormat === null ? undefined : str(a.existingFormat);
  return {
    zone,
    existing,
    format: a.format === undefined || a.format === null ? 'iso' : str(a.format),
    // Kestra's AbstractDate: LocaleUtils.toLocale(locale), else the engine's (en-US).
    locale: localeTag(a.locale),
  };
}

/** Kestra's slugify: lower case, accents dropped, runs of other characters as one '-'. */
const slug = (s: string) =>
  s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');

/** Java's URLEncoder (UTF-8): a space is '+', and `*-._` stay. */
const urlencode = (s: string) =>
  encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function yamlOf(v: unknown): string {
  // Jackson's YAML of Kestra's YamlFilter: block style, no document marker.
  const plain = (x: unknown): unknown =>
    x instanceof JavaDouble
      ? x.value
      : Array.isArray(x)
        ? x.map(plain)
        : isMap(x)
          ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, plain(y)]))
          : x;
  return yamlText(plain(v), 0);
}

function yamlScalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') {
    if (
      v === '' ||
      /^[\s]|[\s]$|[:#{}[\],&*!|>'"%@`]|^(true|false|null|yes|no|on|off|~|-?\d+(\.\d+)?)$/i.test(v) ||
      v.includes('\n')
    )
      return JSON.stringify(v);
    return v;
  }
  return javaText(v);
}

/** Jackson's YAML with Kestra's YamlFilter settings (INDENT_ARRAYS: ` - item`, MINIMIZE_QUOTES). */
function yamlText(v: unknown, indent: number): string {
  const pad = ' '.repeat(indent);
  const nonEmpty = (x: unknown) =>
    (Array.isArray(x) && x.length > 0) || (isMap(x) && Object.keys(x).length > 0);
  const inline = (x: unknown) => (Array.isArray(x) ? '[]' : isMap(x) ? '{}' : yamlScalar(x));
  if (Array.isArray(v)) {
    if (v.length === 0) return `${pad}[]\n`;
    return v
      .map((x) => {
        if (!nonEmpty(x)) return `${pad} - ${inline(x)}\n`;
        const inner = yamlText(x, indent + 3);
        return `${pad} - ${inner.slice(indent + 3)}`;
      })
      .join('');
  }
  if (isMap(v)) {
    const entries = Object.entries(v);
    if (entries.length === 0) return `${pad}{}\n`;
    return entries
      .map(([k, x]) =>
        nonEmpty(x)
          ? `${pad}${yamlScalar(k)}:\n${yamlText(x, Array.isArray(x) ? indent : indent + 2)}`
          : `${pad}${yamlScalar(k)}: ${inline(x)}\n`,
      )
      .join('');
  }
  return `${pad}${yamlScalar(v)}\n`;
}

/** Kestra's AbstractIndent: the input's own line separator, then each one followed by the prefix. */
function indentText(v: unknown, a: Record<string, unknown>, first: boolean): string | null {
  if (v === null || v === undefined) return null;
  const s = typeof v === 'string' ? v : javaText(v);
  if (s === '') return s;
  if (a.amount === undefined)
    throw new Error(`the '${first ? 'nindent' : 'indent'}' filter expects an integer as argument 'amount'`);
  const amount = long(a.amount, 'amount');
  if (amount < 0)
    throw new Error(
      `the '${first ? 'nindent' : 'indent'}' filter expects a positive integer >=0 as argument 'amount'`,
    );
  const p = (a.prefix === undefined ? ' ' : str(a.prefix)).repeat(amount);
  const nl = s.includes('\r\n')
    ? '\r\n'
    : s.includes('\n\r')
      ? '\n\r'
      : s.includes('\n')
        ? '\n'
        : s.includes('\r')
          ? '\r'
          : '\n';
  return (first ? nl + s : s).split(nl).join(nl + p);
}

const HASH = (algo: string): Apply => orNull((v) => createHash(algo).update(str(v), 'utf8').digest('hex'));

const F = (
  name: string,
  args: string[],
  origin: Callable['origin'],
  summary: string,
  apply: Apply,
): Callable => ({ name, kind: 'filter', args, origin, summary, apply });
const FN = (
  name: string,
  args: string[],
  origin: Callable['origin'],
  summary: string,
  apply: Apply,
): Callable => ({ name, kind: 'function', args, origin, summary, apply });
const T = (name: string, origin: Callable['origin'], summary: string, apply: Apply): Callable => ({
  name,
  kind: 'test',
  args: [],
  origin,
  summary,
  apply,
});
const REFUSED = (
  kind: Callable['kind'],
  name: string,
  args: string[],
  summary: string,
  refused: string,
): Callable => ({ name, kind, args, origin: 'kestra', summary, refused });

/**
 * Pebble's NumberFormatFilter: the input must be a number; a pattern is a java.text.DecimalFormat
 * one, without one NumberFormat.getInstance (`#,##0.###`), in the engine's locale (en-US).
 */
const numberFormat: Apply = orNull((v, a) => {
  if (!isNumber(v) && typeof v !== 'bigint')
    throw new Error(
      `the input for the 'numberformat' filter has to be a number, got ${typeName(v)} ${JSON.stringify(javaText(v))}`,
    );
  const n = typeof v === 'bigint' ? v : numberValue(v);
  const pattern = a.format === undefined || a.format === null ? '#,##0.###' : str(a.format);
  return decimalFormat(n, pattern, localeTag(undefined));
});

const dateFilter: Apply = orNull((v, a) => {
  const { zone, existing, format, locale } = dateArgs(a);
  return formatInstant(toInstant(v, zone, existing), format, zone, locale);
});

const timestampIn = (scale: 's' | 'ms' | 'micro' | 'nano'): Apply =>
  orNull((v, a) => {
    const { zone, existing } = dateArgs(a);
    const i = toInstant(v, zone, existing);
    const sec = Math.floor(i.ms / 1000);
    if (scale === 's') return sec;
    if (scale === 'ms') return i.ms;
    const nanoOfSecond = BigInt((i.ms - sec * 1000) * 1e6 + i.subMsNanos);
    // Kestra's TimestampMicroFilter / TimestampNanoFilter as they compute it.
    return scale === 'micro' ? BigInt(sec) * 1_000_000_000n + nanoOfSecond / 1000n : epochNanos(i);
  });

const fromJson: Apply = (v) => {
  if (v === undefined) throw new Error('expects the JSON text as argument');
  return v === null ? null : parseJson(str(v));
};

const keysOf = (v: unknown): unknown =>
  isMap(v) ? Object.keys(v) : Array.isArray(v) ? v.map((_, i) => i) : null;

const CALLABLES: Callable[] = [
  // Pebble's core filters.
  F(
    'abbreviate',
    ['length'],
    'pebble',
    'cuts a string to `length` characters, ending in "..."',
    orNull((v, a) => {
      const s = str(v);
      const n = long(a.length, 'length');
      return s.length > n ? (n < 3 ? s.slice(0, n) : `${s.slice(0, n - 3)}...`) : s;
    }),
  ),
  F(
    'abs',
    [],
    'pebble',
    'absolute value',
    orNull((v) =>
      typeof v === 'bigint'
        ? normalLong(v < 0n ? -v : v)
        : isDouble(v)
          ? double(Math.abs(numberValue(v as number)))
          : Math.abs(long(v, 'abs')),
    ),
  ),
  F(
    'capitalize',
    [],
    'pebble',
    'first letter upper case',
    orNull((v) => str(v).replace(/^(\s*)(\S)/, (_m, w: string, c: string) => w + c.toUpperCase())),
  ),
  F(
    'date',
    ['format', 'timeZone', 'existingFormat', 'locale'],
    'kestra',
    'formats a date (Java pattern or iso, iso_sec, sql, …), default ISO with microseconds',
    dateFilter,
  ),
  F('default', ['default'], 'pebble', 'the argument when the value is missing, null or empty', (v, a) =>
    isEmpty(v) ? (a.default ?? null) : v,
  ),
  F(
    'first',
    [],
    'pebble',
    'first item of a list (first character of a string)',
    orNull((v) => (typeof v === 'string' ? (v[0] ?? null) : (list(v, 'first')[0] ?? null))),
  ),
  F(
    'format',
    [],
    'pebble',
    'Java String.format with %s and %d',
    orNull((v, _a, _cx, p) => {
      let i = 0;
      return str(v).replace(/%([sd%])/g, (m, c: string) => (c === '%' ? '%' : str(p[i++])));
    }),
  ),
  F(
    'join',
    ['separator'],
    'pebble',
    'joins a list with a separator',
    orNull((v, a) =>
      list(v, 'join')
        .map((x) => javaText(x))
        .join(a.separator === undefined ? '' : str(a.separator)),
    ),
  ),
  F(
    'last',
    [],
    'pebble',
    'last item of a list (last character of a string)',
    orNull((v) => (typeof v === 'string' ? (v[v.length - 1] ?? null) : (list(v, 'last').at(-1) ?? null))),
  ),
  F('length', [], 'pebble', 'length of a string, list or map', (v) =>
    v === null || v === undefined ? 0 : typeof v === 'string' ? v.length : list(v, 'length').length,
  ),
  F(
    'lower',
    [],
    'pebble',
    'lower case',
    orNull((v) => str(v).toLowerCase()),
  ),
  F(
    'numberformat',
    ['format'],
    'pebble',
    "formats a number with a Java DecimalFormat pattern (#,##0.00, 0.0%, 0.###E0, '$'#,##0.00;(#,##0.00)) and the engine's locale (en-US); Pebble's filter takes no locale=",
    numberFormat,
  ),
  F('numberFormat', ['format'], 'here', 'the same as numberformat', numberFormat),
  F(
    'slice',
    ['fromIndex', 'toIndex'],
    'pebble',
    'part of a string or list',
    orNull((v, a) => {
      const from = a.fromIndex === undefined ? 0 : long(a.fromIndex, 'fromIndex');
      const len = typeof v === 'string' ? v.length : list(v, 'slice').length;
      const to = a.toIndex === undefined ? len : long(a.toIndex, 'toIndex');
      if (from < 0 || to > len || from > to)
        throw new Error(`slice(${from}, ${to}) is out of bounds for length ${len}`);
      return typeof v === 'string' ? v.slice(from, to) : list(v, 'slice').slice(from, to);
    }),
  ),
  F(
    'sort',
    [],
    'pebble',
    'sorts a list',
    orNull((v) => [...list(v, 'sort')].sort(compareValues)),
  ),
  F(
    'rsort',
    [],
    'pebble',
    'sorts a list in reverse order',
    orNull((v) => [...list(v, 'rsort')].sort(compareValues).reverse()),
  ),
  F(
    'reverse',
    [],
    'pebble',
    'reverses a list or string',
    orNull((v) => (typeof v === 'string' ? [...v].reverse().join('') : [...list(v, 'reverse')].reverse())),
  ),
  F(
    'title',
    [],
    'pebble',
    'each word capitalized',
    orNull((v) => str(v).replace(/(^|\s)(\S)/g, (_m, s: string, c: string) => s + c.toUpperCase())),
  ),
  F(
    'trim',
    [],
    'pebble',
    'strips leading and trailing whitespace',
    orNull((v) => str(v).trim()),
  ),
  F(
    'upper',
    [],
    'pebble',
    'upper case',
    orNull((v) => str(v).toUpperCase()),
  ),
  F(
    'urlencode',
    [],
    'pebble',
    "URL-encodes a string as Java's URLEncoder (space is +)",
    orNull((v) => urlencode(str(v))),
  ),
  F(
    'replace',
    ['replace_pairs', 'regexp'],
    'kestra',
    'replaces each key of a map by its value; regexp=true reads keys as regular expressions',
    orNull((v, a) => {
      let s = str(v);
      if (!isMap(a.replace_pairs)) throw new Error('replace expects a map of replacements, e.g. {"a": "b"}');
      for (const [k, r] of Object.entries(a.replace_pairs))
        s =
          a.regexp === true
            ? s.replace(new RegExp(k, 'g'), str(r).replace(/\$(\d)/g, '$$$1'))
            : s.split(k).join(str(r));
      return s;
    }),
  ),
  F(
    'merge',
    ['items'],
    'pebble',
    'merges two lists or two maps',
    orNull((v, a) => {
      if (Array.isArray(v)) return [...(v as unknown[]), ...list(a.items, 'merge')];
      if (isMap(v) && isMap(a.items)) return { ...v, ...a.items };
      throw new Error('merge expects two lists or two maps');
    }),
  ),
  F(
    'split',
    ['delimiter', 'limit'],
    'pebble',
    'splits a string by a delimiter (a regular expression)',
    orNull((v, a) => {
      if (a.delimiter === undefined || a.delimiter === null) throw new Error('split expects a delimiter');
      // Pebble's SplitFilter: Java's String.split, the delimiter a regular expression.
      return javaSplit(str(v), str(a.delimiter), a.limit === undefined ? 0 : long(a.limit, 'limit'));
    }),
  ),
  F(
    'base64encode',
    [],
    'pebble',
    'Base64 of the UTF-8 text',
    orNull((v) => Buffer.from(str(v), 'utf8').toString('base64')),
  ),
  F(
    'base64decode',
    [],
    'pebble',
    'text from Base64',
    orNull((v) => {
      if (typeof v !== 'string') throw new Error(`base64decode expects a string, got ${javaText(v)}`);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.replace(/=+$/, '').length % 4 === 1)
        throw new Error(`${JSON.stringify(v)} is not Base64`);
      return Buffer.from(v, 'base64').toString('utf8');
    }),
  ),
  F(
    'sha256',
    [],
    'pebble',
    'SHA-256, hex',
    orNull((v, a, cx, p) => {
      if (typeof v !== 'string') throw new Error(`sha256 expects a string, got ${javaText(v)}`);
      return HASH('sha256')(v, a, cx, p);
    }),
  ),
  F(
    'nl2br',
    [],
    'pebble',
    'newlines as <br />',
    orNull((v) => str(v).replace(/\r?\n/g, '<br />')),
  ),
  F('raw', [], 'pebble', 'the value unescaped (autoescaping is off, as in Kestra)', (v) => v),
  F(
    'escape',
    ['strategy'],
    'pebble',
    'escapes a string: strategy html (the default), json or url_param',
    orNull((v, a) => {
      const s = str(v);
      const strategy = a.strategy === undefined ? 'html' : str(a.strategy);
      if (strategy === 'json') return JSON.stringify(s).slice(1, -1);
      if (strategy === 'url_param') return encodeURIComponent(s);
      if (strategy !== 'html')
        throw new Error(
          `escape strategy ${JSON.stringify(strategy)} is not supported; expected html, json or url_param`,
        );
      return s.replace(
        /[&<>"']/g,
        (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
      );
    }),
  ),
  // Kestra's filters.
  F(
    'chunk',
    ['size'],
    'kestra',
    'splits a list into lists of `size`',
    orNull((v, a) => {
      const size = long(a.size, 'size');
      const l = list(v, 'chunk');
      if (size < 1) throw new Error('size must be at least 1');
      return Array.from({ length: Math.ceil(l.length / size) }, (_, i) => l.slice(i * size, i * size + size));
    }),
  ),
  // Numbers by their Java class: a literal or an integer from JSON a Long (Jackson's Integer for a
  // small JSON integer is not kept apart), a double Double, an INT input or number('INT') an Integer,
  // a FLOAT input or number('FLOAT') a Float, number('BIGDECIMAL') a BigDecimal, beyond 64 bits a
  // BigInteger.
  F('className', [], 'kestra', "the value's Java class name", (v) =>
    v === null || v === undefined
      ? null
      : typeof v === 'bigint' && BigInt.asIntN(64, v) !== v
        ? 'java.math.BigInteger'
        : `java.lang.${typeName(v)}`
            .replace('java.lang.BigDecimal', 'java.math.BigDecimal')
            .replace('java.lang.List', 'java.util.ArrayList')
            .replace('java.lang.Map', 'java.util.LinkedHashMap'),
  ),
  F(
    'dateAdd',
    ['amount', 'unit', 'format', 'timeZone', 'existingFormat', 'locale'],
    'kestra',
    'adds `amount` ChronoUnits (DAYS, HOURS…) to a date, then formats it',
    orNull((v, a) => {
      const { zone, existing, format, locale } = dateArgs(a);
      return formatInstant(
        addTo(toInstant(v, zone, existing), long(a.amount, 'amount'), str(a.unit), zone),
        format,
        zone,
        locale,
      );
    }),
  ),
  F('timestamp', ['timeZone', 'existingFormat'], 'kestra', 'epoch seconds of a date', timestampIn('s')),
  F(
    'timestampMilli',
    ['timeZone', 'existingFormat'],
    'here',
    'epoch milliseconds of a date',
    timestampIn('ms'),
  ),
  F(
    'timestampMicro',
    ['timeZone', 'existingFormat'],
    'kestra',
    'epoch microseconds of a date (as Kestra computes it)',
    timestampIn('micro'),
  ),
  F(
    'timestampNano',
    ['timeZone', 'existingFormat'],
    'kestra',
    'epoch nanoseconds of a date',
    timestampIn('nano'),
  ),
  {
    ...F(
      'jq',
      ['expression'],
      'kestra',
      'a jq query (jackson-jq), always a list of results: paths, slices, |, ",", //, arithmetic, comparisons, {…}, if, map, select, sort_by, group_by, min/max(_by), to_entries, has, join, add, unique…',
      // Kestra's JqFilter: a string input is JSON text, null gives null.
      orNull((v, a) => {
        if (a.expression === undefined || a.expression === null)
          throw new Error("the 'jq' filter expects an argument 'expression'");
        return jq(typeof v === 'string' ? parseJson(v) : v, str(a.expression));
      }),
    ),
    check: (literals) =>
      typeof literals.expression === 'string' ? jqProblem(literals.expression) : undefined,
  },
  F(
    'escapeChar',
    ['type'],
    'kestra',
    "escapes quotes for a 'single', 'double' or 'shell' string",
    orNull((v, a) => {
      const s = str(v);
      switch (str(a.type)) {
        case 'single':
          return s.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
        case 'double':
          return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
        case 'shell':
          return s.replace(/'/g, `'\\''`);
        default:
          throw new Error(`type must be single, double or shell, got ${JSON.stringify(a.type)}`);
      }
    }),
  ),
  F('json', [], 'kestra', 'JSON text of a value (deprecated in Kestra: toJson)', (v) => toJson(v)),
  F('toJson', [], 'kestra', 'JSON text of a value', (v) => toJson(v)),
  F('jsonEncode', [], 'here', 'JSON text of a value (old name of toJson)', (v) => toJson(v)),
  F('keys', [], 'kestra', 'keys of a map (indexes of a list)', keysOf),
  F(
    'values',
    [],
    'kestra',
    'values of a map',
    orNull((v) => (isMap(v) ? Object.values(v) : list(v, 'values'))),
  ),
  F(
    'number',
    ['type'],
    'kestra',
    'parses a string as a number (INT, FLOAT, LONG, DOUBLE, BIGDECIMAL, BIGINTEGER or guessed)',
    orNull((v, a) => {
      // Kestra's NumberFilter: strings only, then commons-lang's NumberUtils by the exact type name.
      if (typeof v !== 'string')
        throw new Error(`'number' filter can only be applied to String. Actual type was: ${typeName(v)}`);
      return createNumber(v, a.type === undefined || a.type === null ? '' : str(a.type));
    }),
  ),
  F(
    'urldecode',
    [],
    'kestra',
    'decodes a URL-encoded string (+ is a space)',
    orNull((v) => decodeURIComponent(str(v).replace(/\+/g, ' '))),
  ),
  F(
    'slugify',
    [],
    'kestra',
    'lower-case words joined by -',
    orNull((v) => slug(str(v))),
  ),
  F(
    'substringBefore',
    ['separator'],
    'kestra',
    'text before the first separator',
    orNull((v, a) => cut(str(v), str(a.separator), false, false)),
  ),
  F(
    'substringBeforeLast',
    ['separator'],
    'kestra',
    'text before the last separator',
    orNull((v, a) => cut(str(v), str(a.separator), true, false)),
  ),
  F(
    'substringAfter',
    ['separator'],
    'kestra',
    'text after the first separator',
    orNull((v, a) => cut(str(v), str(a.separator), false, true)),
  ),
  F(
    'substringAfterLast',
    ['separator'],
    'kestra',
    'text after the last separator',
    orNull((v, a) => cut(str(v), str(a.separator), true, true)),
  ),
  F(
    'flatten',
    [],
    'kestra',
    'flattens a list of lists one level',
    orNull((v) => list(v, 'flatten').flatMap((x): unknown[] => (Array.isArray(x) ? (x as unknown[]) : [x]))),
  ),
  F(
    'indent',
    ['amount', 'prefix'],
    'kestra',
    'indents every line but the first by `amount` prefixes (default a space)',
    (v, a) => indentText(v, a, false),
  ),
  F('nindent', ['amount', 'prefix'], 'kestra', 'a newline, then every line indented', (v, a) =>
    indentText(v, a, true),
  ),
  F(
    'yaml',
    [],
    'kestra',
    'YAML text of a value',
    orNull((v) => yamlOf(v)),
  ),
  F(
    'startsWith',
    ['prefix'],
    'kestra',
    'whether a string starts with the prefix',
    orNull((v, a) => str(v).startsWith(str(a.prefix))),
  ),
  F(
    'endsWith',
    ['suffix'],
    'kestra',
    'whether a string ends with the suffix',
    orNull((v, a) => str(v).endsWith(str(a.suffix))),
  ),
  F('sha1', [], 'kestra', 'SHA-1, hex', HASH('sha1')),
  F('sha512', [], 'kestra', 'SHA-512, hex', HASH('sha512')),
  F('md5', [], 'kestra', 'MD5, hex', HASH('md5')),
  F('string', [], 'here', 'text of a value (maps and lists as JSON)', (v) =>
    v === null || v === undefined
      ? null
      : typeof v === 'object' && !(v instanceof JavaDouble)
        ? toJson(v)
        : javaText(v),
  ),
  F(
    'distinct',
    [],
    'here',
    'a list without repeated items',
    orNull((v) => list(v, 'distinct').filter((x, i, all) => all.findIndex((y) => strictEquals(x, y)) === i)),
  ),
  REFUSED('filter', 'toIon', [], 'Ion text of a value', 'Amazon Ion is not implemented here; use toJson'),
  // Pebble's core functions.
  FN(
    'max',
    [],
    'pebble',
    'the largest argument',
    (_v, _a, _cx, p) =>
      p.reduce((m, x) => (m === undefined || compareValues(x, m) > 0 ? x : m), undefined as unknown) ?? null,
  ),
  FN(
    'min',
    [],
    'pebble',
    'the smallest argument',
    (_v, _a, _cx, p) =>
      p.reduce((m, x) => (m === undefined || compareValues(x, m) < 0 ? x : m), undefined as unknown) ?? null,
  ),
  FN(
    'range',
    ['start', 'end', 'increment'],
    'pebble',
    'a list of numbers (or characters) from start to end, inclusive; at most 1,000,000',
    (_v, a) => {
      if (
        typeof a.start === 'string' &&
        typeof a.end === 'string' &&
        a.start.length === 1 &&
        a.end.length === 1
      ) {
        const inc = a.increment === undefined ? 1 : long(a.increment, 'increment');
        if (inc === 0) throw new Error('increment must not be 0');
        const [from, to] = [a.start.charCodeAt(0), a.end.charCodeAt(0)];
        const chars: string[] = [];
        for (let i = from; inc > 0 ? i <= to : i >= to; i += inc) chars.push(String.fromCharCode(i));
        return chars;
      }
      const start = long(a.start, 'start');
      const end = long(a.end, 'end');
      const inc = a.increment === undefined ? 1 : long(a.increment, 'increment');
      if (inc === 0) throw new Error('increment must not be 0');
      const count = Math.floor((end - start) / inc) + 1;
      // Java's Pebble would build it until the heap runs out; here one such input would take the
      // server down and, resumed on restart, down again. Ten times Fastly's hourly purge budget.
      if (count > RANGE_LIMIT)
        throw new Error(
          `range(${start}, ${end}${a.increment === undefined ? '' : `, ${inc}`}) would hold ${count} numbers; at most ${RANGE_LIMIT} are accepted`,
        );
      const out: number[] = [];
      for (let i = start; inc > 0 ? i <= end : i >= end; i += inc) out.push(i);
      return out;
    },
  ),
  // Kestra's functions.
  FN(
    'now',
    ['format', 'timeZone', 'locale'],
    'kestra',
    'the current date, ISO with microseconds unless `format`',
    (_v, a) => {
      const { zone, format, locale } = dateArgs(a);
      return formatInstant(now(), format, zone, locale);
    },
  ),
  FN(
    'fromJson',
    ['json'],
    'kestra',
    'parses JSON text (integers stay integers, 1.0 stays a decimal)',
    (_v, a) => fromJson(a.json, a, undefined as never, []),
  ),
  FN('json', ['json'], 'kestra', 'parses JSON text (deprecated in Kestra: fromJson)', (_v, a) =>
    fromJson(a.json, a, undefined as never, []),
  ),
  FN('jsonDecode', ['json'], 'here', 'parses JSON text (old name of fromJson)', (_v, a) =>
    fromJson(a.json, a, undefined as never, []),
  ),
  FN('yaml', ['yaml'], 'kestra', 'parses YAML text', (_v, a) =>
    a.yaml === null || a.yaml === undefined ? null : parseYamlJava(str(a.yaml)),
  ),
  FN(
    'secret',
    ['key', 'namespace'],
    'kestra',
    "a secret's value (from the environment: SECRET_<KEY> Base64, as Kestra's open-source edition)",
    (_v, a, cx) => {
      if (!cx.host.secret) throw new Error('secret() is not available here');
      return cx.host.secret(str(a.key));
    },
  ),
  FN(
    'errorLogs',
    [],
    'kestra',
    'error log lines of the failed tasks so far (in errors tasks)',
    (_v, _a, cx) => {
      if (!cx.host.errorLogs) throw new Error('errorLogs() is only available in tasks');
      return cx.host.errorLogs();
    },
  ),
  FN(
    'render',
    ['toRender', 'recursive'],
    'kestra',
    'renders a string (or each string in a map or list) that holds an expression',
    (_v, a, cx) => {
      const one = (text: string): string => {
        let out = text;
        for (let n = 0; n < 100; n++) {
          const next = cx.render(out);
          if (next === out || a.recursive === false) return next;
          out = next;
        }
        throw new Error('too many rendering attempts');
      };
      const walk = (v: unknown): unknown =>
        typeof v === 'string'
          ? one(v)
          : Array.isArray(v)
            ? v.map(walk)
            : isMap(v)
              ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
              : v;
      return walk(a.toRender ?? null);
    },
  ),
  FN('renderOnce', ['toRender'], 'kestra', 'renders a string that holds an expression, once', (_v, a, cx) =>
    typeof a.toRender === 'string' ? cx.render(a.toRender) : (a.toRender ?? null),
  ),
  FN('printContext', [], 'kestra', 'every variable visible here, as a map', (_v, _a, cx) => cx.variables()),
  FN('fetchContext', [], 'kestra', 'the same as printContext', (_v, _a, cx) => cx.variables()),
  FN('uuid', [], 'kestra', 'a random UUID', () => randomUUID()),
  FN(
    'randomInt',
    ['lower', 'upper'],
    'kestra',
    'a random integer, lower inclusive, upper exclusive',
    (_v, a) => {
      if (!isNumber(a.lower) || !isNumber(a.upper)) throw new Error('lower and upper must be numbers');
      return randomInt(long(a.lower, 'lower'), long(a.upper, 'upper'));
    },
  ),
  REFUSED(
    'function',
    'kv',
    ['key', 'namespace', 'errorOnMissing'],
    'a KV store entry',
    'there is no KV store outside a Kestra server; pass the value as an input or variable',
  ),
  REFUSED(
    'function',
    'read',
    ['path'],
    'the content of an internal-storage file',
    'there is no internal storage here; read files in a script task',
  ),
  REFUSED(
    'function',
    'fileURI',
    ['path'],
    'the URI of a namespace file',
    'there is no internal storage here',
  ),
  REFUSED(
    'function',
    'fileSize',
    ['path'],
    'the size of an internal-storage file',
    'there is no internal storage here',
  ),
  REFUSED(
    'function',
    'encrypt',
    ['key', 'plaintext'],
    'encrypts with a key',
    'encryption needs Kestra server configuration',
  ),
  REFUSED(
    'function',
    'decrypt',
    ['key', 'encrypted'],
    'decrypts with a key',
    'encryption needs Kestra server configuration',
  ),
  REFUSED(
    'function',
    'currentEachOutput',
    ['outputs'],
    'the output of the current ForEach iteration',
    'use outputs.<id>[taskrun.value] instead',
  ),
  REFUSED(
    'function',
    'fromIon',
    ['ion'],
    'parses Ion text',
    'Amazon Ion is not implemented here; use fromJson',
  ),
  REFUSED('function', 'id', [], 'a Kestra id', 'use uuid()'),
  // Tests.
  T('empty', 'pebble', 'null, a blank string, an empty list or map', (v) => isEmpty(v)),
  T('even', 'pebble', 'an even number', (v) => long(v, 'even') % 2 === 0),
  T('odd', 'pebble', 'an odd number', (v) => Math.abs(long(v, 'odd') % 2) === 1),
  T('iterable', 'pebble', 'a list', (v) => Array.isArray(v)),
  T('map', 'pebble', 'a map', (v) => isMap(v)),
  T('null', 'pebble', 'null', (v) => v === null || v === undefined),
  T('defined', 'pebble', 'the variable or attribute exists', () => true),
  T('json', 'kestra', 'a string that parses as JSON', (v) => {
    try {
      parseJson(str(v));
      return true;
    } catch {
      return false;
    }
  }),
];

function typeName(v: unknown): string {
  if (typeof v === 'string') return 'String';
  if (typeof v === 'boolean') return 'Boolean';
  if (typeof v === 'bigint') return 'Long';
  if (v instanceof JavaDouble) return v.kind;
  if (isNumber(v)) return isDouble(v) ? 'Double' : 'Long';
  if (Array.isArray(v)) return 'List';
  return 'Map';
}

function cut(s: string, sep: string, last: boolean, after: boolean): string {
  const i = last ? s.lastIndexOf(sep) : s.indexOf(sep);
  if (i < 0) return after ? '' : s;
  return after ? s.slice(i + sep.length) : s.slice(0, i);
}

// A literal timeZone that ZoneId.of refuses fails every run: validate says so.
for (const c of CALLABLES)
  if (c.args.includes('timeZone') && !c.check) c.check = (literals) => timeZoneProblem(literals.timeZone);

/** The table, by kind; a later entry never shadows an earlier one. */
export const CALLABLE_TABLE: readonly Callable[] = CALLABLES;

export function registries(overrides: Callable[] = []): Registries {
  const by = (kind: Callable['kind']) =>
    new Map([...CALLABLES, ...overrides].filter((c) => c.kind === kind).map((c) => [c.name, c]));
  return { filters: by('filter'), functions: by('function'), tests: by('test') };
}
