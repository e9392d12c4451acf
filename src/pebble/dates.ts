import { DateTime } from 'luxon';
import { isNumber, JavaDouble, numberValue } from './java.js';
import { javaShortNames } from './zone-names.js';

/**
 * Kestra's dates (io.kestra.core.runners.pebble.AbstractDate): inputs read as ZonedDateTime,
 * LocalDateTime or LocalDate (ISO, or an `existingFormat`), epoch seconds from a long; output through
 * Java DateTimeFormatter patterns or Kestra's named formats. The zone defaults to UTC (a server's).
 */

/** An instant with nanoseconds, and the zone it was written in (if any). */
export interface Instant {
  /** Milliseconds since the epoch (whole), and the nanoseconds within that millisecond. */
  ms: number;
  subMsNanos: number;
  zone?: string;
}

const NAMED: Record<string, string> = {
  iso: "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
  iso_sec: "yyyy-MM-dd'T'HH:mm:ssXXX",
  sql: 'yyyy-MM-dd HH:mm:ss.SSSSSS',
  sql_seq: 'yyyy-MM-dd HH:mm:ss',
  iso_local_date: 'yyyy-MM-dd',
  iso_date: 'yyyy-MM-ddXXX',
  iso_local_time: 'HH:mm:ss',
  iso_local_date_time: "yyyy-MM-dd'T'HH:mm:ss",
  iso_instant: "yyyy-MM-dd'T'HH:mm:ssX",
  iso_offset_time: 'HH:mm:ssXXX',
  iso_ordinal_date: 'yyyy-DDDXXX',
  rfc_1123_date_time: "EEE, d MMM yyyy HH:mm:ss 'GMT'",
};
/** Named ISO formats whose fraction of a second is printed only when not zero (Java's ISO_* formatters). */
const ISO_FRACTION = new Set([
  'iso_local_date_time',
  'iso_local_time',
  'iso_offset_time',
  'iso_date_time',
  'iso_zoned_date_time',
  'iso_time',
  'iso_instant',
]);
const EXTRA: Record<string, string> = {
  iso_date_time: "yyyy-MM-dd'T'HH:mm:ssXXX",
  iso_zoned_date_time: "yyyy-MM-dd'T'HH:mm:ssXXX'['VV']'",
  iso_time: 'HH:mm:ssXXX',
};

/** What `timeZone` takes, for messages. */
const ZONES_ACCEPTED =
  'a region id (Europe/Paris), an offset (+02:00, +2, -0530, Z) or UTC, GMT, UT with or without one (UTC+2)';

/**
 * A ZoneOffset's id as ZoneOffset.of gives it (+h, +hh, +hhmm, +hh:mm, +hhmmss, +hh:mm:ss; at most
 * 18 hours): `+02:00`, `-05:30`, `Z` for zero; undefined for any other text.
 */
function offsetId(text: string): string | undefined {
  if (!/^[+-](\d{1,2}|\d{4}|\d\d:\d\d|\d{6}|\d\d:\d\d:\d\d)$/.test(text)) return undefined;
  const digits = text.slice(1).replace(/:/g, '');
  const [h, m, sec] =
    digits.length <= 2 ? [Number(digits), 0, 0] : [0, 2, 4].map((i) => Number(digits.slice(i, i + 2) || 0));
  if ((h as number) > 18 || (m as number) > 59 || (sec as number) > 59 || (h === 18 && (m || sec)))
    return undefined;
  if (h === 0 && m === 0 && sec === 0) return 'Z';
  const two = (n: number | undefined) => String(n).padStart(2, '0');
  return `${text[0]}${two(h)}:${two(m)}${sec ? `:${two(sec)}` : ''}`;
}

/**
 * The zone's id as Kestra's AbstractDate gets it from ZoneId.of(timeZone): `Z` or an offset's id
 * (ZoneOffset), UTC, GMT, UT alone or with an offset (`GMT+02:00`; a zero offset drops, `UTC+0` is
 * UTC), or a region id as written (ZoneRegion, case-sensitive); undefined when ZoneId.of refuses it.
 */
export function javaZoneId(text: string): string | undefined {
  if (text === 'Z' || text.startsWith('+') || text.startsWith('-'))
    return text === 'Z' ? 'Z' : offsetId(text);
  if (text === 'UTC' || text === 'GMT' || text === 'UT') return text;
  const prefixed = /^(UTC|GMT|UT)([+-].*)$/.exec(text);
  if (prefixed) {
    const off = offsetId(prefixed[2] as string);
    return off === undefined ? undefined : off === 'Z' ? prefixed[1] : `${prefixed[1]}${off}`;
  }
  if (!/^[A-Za-z][A-Za-z0-9~/._+-]+$/.test(text)) return undefined;
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: text }).resolvedOptions().timeZone;
    // Intl ignores case, ZoneRegion.ofId does not.
    return resolved.toLowerCase() === text.toLowerCase() && resolved !== text ? undefined : text;
  } catch {
    return undefined;
  }
}

/** Why a literal `timeZone` argument cannot work (ZoneId.of refuses it), or undefined. */
export function timeZoneProblem(timeZone: unknown): string | undefined {
  if (typeof timeZone !== 'string' || javaZoneId(timeZone) !== undefined) return undefined;
  return `unknown time zone ${JSON.stringify(timeZone)} in timeZone; expected ${ZONES_ACCEPTED}`;
}

export function zoneOf(timeZone: unknown): string {
  if (timeZone === undefined || timeZone === null) return 'UTC';
  const z = typeof timeZone === 'string' ? timeZone : JSON.stringify(timeZone);
  const id = javaZoneId(z);
  if (id === undefined) throw new Error(`unknown time zone ${JSON.stringify(z)}; expected ${ZONES_ACCEPTED}`);
  return id;
}

/** A zone printed by its id (`z`, `VV`): a ZoneOffset, or UTC, GMT, UT with an offset. */
const FIXED_ZONE = /^(Z|UT|(UTC|GMT|UT)?[+-]\d\d:\d\d(:\d\d)?)$/;

/** Luxon's name for a Java zone id (a fixed offset as UTC±hh:mm; seconds of an offset dropped). */
function luxonZone(id: string): string {
  if (id === 'Z' || id === 'UT') return 'UTC';
  const fixed = /^(?:UTC|GMT|UT)?([+-]\d\d:\d\d)/.exec(id);
  return fixed ? `UTC${fixed[1] as string}` : id;
}

function dt(i: Instant, zone: string): DateTime {
  return DateTime.fromMillis(i.ms, { zone: luxonZone(zone) });
}

const ISO =
  /^(\d{4,})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?(?:\[([^\]]+)\])?$/;

/** Reads a value as Kestra's `convert` does. */
export function toInstant(value: unknown, zone: string, existingFormat?: string): Instant {
  if (value instanceof Date) return { ms: value.getTime(), subMsNanos: 0 };
  if (isNumber(value) && !(value instanceof JavaDouble) && Number.isInteger(value))
    return { ms: numberValue(value) * 1000, subMsNanos: 0 };
  if (typeof value === 'object' && value !== null && 'ms' in value) return value as Instant;
  if (typeof value !== 'string') throw new Error(`cannot read ${String(value)} as a date`);
  if (existingFormat !== undefined) return parseWith(value, patternOf(existingFormat), zone);
  const m = ISO.exec(value.trim());
  if (!m)
    throw new Error(
      `cannot read ${JSON.stringify(value)} as a date: expected ISO-8601 (2024-01-31T10:00:00Z), or give existingFormat`,
    );
  const [, y, mo, d, h, mi, s, frac, off, region] = m;
  const nanos = Number((frac ?? '').padEnd(9, '0'));
  const offset =
    off === undefined
      ? undefined
      : off === 'Z'
        ? 'Z'
        : off.length === 3
          ? `${off}:00`
          : off.includes(':')
            ? off
            : `${off.slice(0, 3)}:${off.slice(3)}`;
  const inZone = region ?? (offset === undefined ? luxonZone(zone) : offset === 'Z' ? 'UTC' : `UTC${offset}`);
  const local = DateTime.fromObject(
    {
      year: Number(y),
      month: Number(mo),
      day: Number(d),
      hour: Number(h ?? 0),
      minute: Number(mi ?? 0),
      second: Number(s ?? 0),
      millisecond: Math.floor(nanos / 1e6),
    },
    { zone: inZone },
  );
  if (!local.isValid)
    throw new Error(
      `cannot read ${JSON.stringify(value)} as a date: ${local.invalidExplanation ?? 'invalid'}`,
    );
  return { ms: local.toMillis(), subMsNanos: nanos % 1e6, zone: region ?? offset };
}

export function patternOf(format: string): string {
  return NAMED[format] ?? EXTRA[format] ?? format;
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/** Splits a Java pattern into letter runs and literal text. */
function pieces(pattern: string): { letter?: string; n: number; text?: string }[] {
  const out: { letter?: string; n: number; text?: string }[] = [];
  for (let i = 0; i < pattern.length;) {
    const c = pattern[i] as string;
    if (c === "'") {
      const end = pattern.indexOf("'", i + 1);
      if (end === i + 1) {
        out.push({ text: "'", n: 0 });
        i += 2;
        continue;
      }
      if (end === -1) throw new Error(`unclosed quote in date pattern ${JSON.stringify(pattern)}`);
      out.push({ text: pattern.slice(i + 1, end), n: 0 });
      i = end + 1;
    } else if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (pattern[j] === c) j++;
      out.push({ letter: c, n: j - i });
      i = j;
    } else {
      if (c !== '[' && c !== ']') out.push({ text: c, n: 0 });
      i++;
    }
  }
  return out;
}

function offsetText(minutes: number, n: number, zForZero: boolean): string {
  if (minutes === 0 && zForZero) return 'Z';
  const sign = minutes < 0 ? '-' : '+';
  const a = Math.abs(minutes);
  const hh = String(Math.floor(a / 60)).padStart(2, '0');
  const mm = String(a % 60).padStart(2, '0');
  if (n === 1) return mm === '00' ? `${sign}${hh}` : `${sign}${hh}${mm}`;
  if (n === 2 || n === 4) return `${sign}${hh}${mm}`;
  return `${sign}${hh}:${mm}`;
}

/** java.time's localized offset (`O`, `ZZZZ`): `GMT`, `GMT+2`, `GMT+5:30`; full: `GMT+02:00`. */
function localizedOffset(minutes: number, full: boolean): string {
  if (minutes === 0) return 'GMT';
  if (full) return `GMT${offsetText(minutes, 3, false)}`;
  const a = Math.abs(minutes);
  return `GMT${minutes < 0 ? '-' : '+'}${Math.floor(a / 60)}${a % 60 ? `:${String(a % 60).padStart(2, '0')}` : ''}`;
}

/**
 * A zone's name as DateTimeFormatter prints it (`z`: 1-3 short, 4 long; `v`: 1 short generic, 4
 * long generic). A fixed offset (ZoneOffset) prints its id. Long names are CLDR's, as Intl has them
 * in the locale; short names come from Java's table when CLDR has none (see zone-names.ts).
 */
function zoneText(d: DateTime, zone: string, letter: 'z' | 'v', n: number, locale: string): string {
  // ZoneTextPrinterParser prints a ZoneOffset's id, and so a prefixed offset's, which has no names.
  if (FIXED_ZONE.test(zone)) return zone;
  // Luxon names GMT's zone UTC; java.time keeps the region's id.
  const id = zone === 'GMT' ? zone : (d.zoneName ?? zone);
  const intl = (timeZoneName: Intl.DateTimeFormatOptions['timeZoneName']) =>
    new Intl.DateTimeFormat(locale, { timeZone: id, timeZoneName })
      .formatToParts(new Date(d.toMillis()))
      .find((x) => x.type === 'timeZoneName')?.value ?? id;
  if (n === 4) return intl(letter === 'z' ? 'long' : 'longGeneric');
  const jan = DateTime.fromObject({ year: d.year, month: 1, day: 1 }, { zone: id }).offset;
  const jul = DateTime.fromObject({ year: d.year, month: 7, day: 1 }, { zone: id }).offset;
  const daylight = d.offset > Math.min(jan, jul);
  const names = javaShortNames(id);
  if (names) return names[letter === 'v' ? 2 : daylight ? 1 : 0] as string;
  // CLDR's own short name when it has one (EST); else Java's last resort, the GMT format.
  const short = intl(letter === 'v' ? 'shortGeneric' : 'short');
  return /^(GMT|UTC)[+-−]/.test(short) || short === 'GMT+0' ? localizedOffset(d.offset, true) : short;
}

interface LocaleNames {
  /** [full, short] month names as a date prints them (MMMM, MMM: `janvier`, `janv.`). */
  months: [string[], string[]];
  /** The stand-alone forms (LLLL, LLL). */
  standalone: [string[], string[]];
  /** [full, short] day names, Monday first (EEEE, EEE: `lundi`, `lun.`). */
  days: [string[], string[]];
}
const localeNamesCache = new Map<string, LocaleNames>();

/**
 * Month and day names in a locale, as DateTimeFormatter.ofPattern(pattern, locale) prints them
 * (Java's CLDR data; Intl holds the same): a month inside a date in its format form.
 */
function localeNames(locale: string): LocaleNames {
  let n = localeNamesCache.get(locale);
  if (n) return n;
  const part = (options: Intl.DateTimeFormatOptions, type: string, date: Date) =>
    new Intl.DateTimeFormat(locale, { ...options, timeZone: 'UTC' })
      .formatToParts(date)
      .find((x) => x.type === type)?.value ?? '';
  const month = (m: number) => new Date(Date.UTC(2024, m, 15));
  const day = (w: number) => new Date(Date.UTC(2024, 0, 15 + w)); // 2024-01-15 is a Monday
  const twelve = [...Array(12).keys()];
  const seven = [...Array(7).keys()];
  n = {
    months: [
      twelve.map((m) => part({ day: 'numeric', month: 'long' }, 'month', month(m))),
      twelve.map((m) => part({ day: 'numeric', month: 'short' }, 'month', month(m))),
    ],
    standalone: [
      twelve.map((m) => part({ month: 'long' }, 'month', month(m))),
      twelve.map((m) => part({ month: 'short' }, 'month', month(m))),
    ],
    days: [
      seven.map((w) => part({ weekday: 'long' }, 'weekday', day(w))),
      seven.map((w) => part({ weekday: 'short' }, 'weekday', day(w))),
    ],
  };
  localeNamesCache.set(locale, n);
  return n;
}

const STYLES = new Set(['short', 'medium', 'long', 'full']);

/** Formats with a Java DateTimeFormatter pattern or one of Kestra's named formats. */
export function formatInstant(i: Instant, format: string, zone: string, locale = 'en-US'): string {
  const d = dt(i, zone);
  const names = locale === 'en-US' ? undefined : localeNames(locale);
  // Kestra's AbstractDate: `short` … `full` are DateTimeFormatter.ofLocalizedDateTime(style) in the
  // default locale (en-US here), and `iso_week_date` is ISO_WEEK_DATE (ISO week-based year, Monday = 1).
  if (STYLES.has(format))
    return new Intl.DateTimeFormat(locale, {
      dateStyle: format as 'short',
      timeStyle: format as 'short',
      timeZone: d.zoneName ?? 'UTC',
    }).format(new Date(i.ms));
  if (format === 'iso_week_date')
    return `${d.weekYear}-W${String(d.weekNumber).padStart(2, '0')}-${d.weekday}${offsetText(d.offset, 3, true)}`;
  const nanos = (d.millisecond * 1e6 + i.subMsNanos) | 0;
  let out = pieces(patternOf(format))
    .map((p) => {
      if (p.text !== undefined) return p.text;
      const n = p.n;
      const pad = (v: number, w = n) => String(v).padStart(w, '0');
      switch (p.letter) {
        case 'y':
        case 'u':
          return n === 2 ? pad(d.year % 100, 2) : pad(d.year);
        case 'M':
        case 'L':
          if (names && n >= 3)
            return names[p.letter === 'L' ? 'standalone' : 'months'][n >= 4 ? 0 : 1][d.month - 1] as string;
          return n >= 4
            ? (MONTHS[d.month - 1] as string)
            : n === 3
              ? (MONTHS[d.month - 1] as string).slice(0, 3)
              : pad(d.month);
        case 'd':
          return pad(d.day);
        case 'D':
          return pad(d.ordinal);
        case 'E':
          if (names) return names.days[n >= 4 ? 0 : 1][d.weekday - 1] as string;
          return n >= 4 ? (DAYS[d.weekday - 1] as string) : (DAYS[d.weekday - 1] as string).slice(0, 3);
        case 'e':
          return pad(d.weekday);
        case 'a':
          return d.hour < 12 ? 'AM' : 'PM';
        case 'H':
          return pad(d.hour);
        case 'k':
          return pad(d.hour === 0 ? 24 : d.hour);
        case 'h':
          return pad(d.hour % 12 === 0 ? 12 : d.hour % 12);
        case 'K':
          return pad(d.hour % 12);
        case 'm':
          return pad(d.minute);
        case 's':
          return pad(d.second);
        case 'S':
          return String(nanos).padStart(9, '0').slice(0, n).padEnd(n, '0');
        case 'n':
          return String(nanos);
        case 'A':
          return String(((d.hour * 60 + d.minute) * 60 + d.second) * 1000 + d.millisecond);
        case 'X':
          return offsetText(d.offset, n, true);
        case 'x':
          return offsetText(d.offset, n, false);
        case 'Z':
          return n === 4
            ? localizedOffset(d.offset, true)
            : n === 5
              ? offsetText(d.offset, 3, true)
              : offsetText(d.offset, 2, false);
        case 'V':
          return FIXED_ZONE.test(zone) || zone === 'GMT' ? zone : (d.zoneName ?? zone);
        case 'z':
        case 'v':
          return zoneText(d, zone, p.letter, n, locale);
        case 'O':
          return localizedOffset(d.offset, n === 4);
        case 'G':
          return 'AD';
        case 'Q':
        case 'q':
          return String(Math.ceil(d.month / 3));
        case 'w':
          return pad(d.weekNumber);
        default:
          throw new Error(`unknown pattern letter '${p.letter}' in ${JSON.stringify(format)}`);
      }
    })
    .join('');
  if (ISO_FRACTION.has(format) && nanos !== 0) {
    const frac = String(nanos)
      .padStart(9, '0')
      .replace(/(\d{3})(\d{3})?(\d{3})?$/, (_, a: string, b?: string, c?: string) =>
        c !== '000' ? a + (b ?? '') + (c ?? '') : b !== '000' ? a + (b ?? '') : a,
      );
    out = out.replace(/(\d{2}:\d{2}:\d{2})/, `$1.${frac}`);
  }
  return out;
}

/** Parses text with a Java pattern (the common letters); zone when the text has none. */
function parseWith(text: string, pattern: string, zone: string): Instant {
  const fields: Record<string, number> = {};
  let offset: string | undefined;
  let re = '^';
  const order: { letter: string; n: number }[] = [];
  for (const p of pieces(pattern)) {
    if (p.text !== undefined) {
      re += p.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      continue;
    }
    order.push({ letter: p.letter as string, n: p.n });
    const l = p.letter as string;
    if ((l === 'M' || l === 'L') && p.n >= 3) re += '([A-Za-z]+)';
    else if (l === 'E' || l === 'a' || l === 'z' || l === 'V') re += '([A-Za-z/_]+)';
    else if (l === 'X' || l === 'x' || l === 'Z') re += '(Z|[+-]\\d{2}(?::?\\d{2})?)';
    else re += p.n === 1 ? '(\\d+)' : `(\\d{${p.n}})`;
  }
  const m = new RegExp(`${re}$`).exec(text);
  if (!m) throw new Error(`cannot read ${JSON.stringify(text)} with the pattern ${JSON.stringify(pattern)}`);
  let pm: boolean | undefined;
  order.forEach(({ letter, n }, k) => {
    const v = m[k + 1] as string;
    if ((letter === 'M' || letter === 'L') && n >= 3)
      fields.month = MONTHS.findIndex((x) => x.toLowerCase().startsWith(v.toLowerCase().slice(0, 3))) + 1;
    else if (letter === 'y' || letter === 'u') fields.year = n === 2 ? 2000 + Number(v) : Number(v);
    else if (letter === 'M' || letter === 'L') fields.month = Number(v);
    else if (letter === 'd') fields.day = Number(v);
    else if (letter === 'H' || letter === 'k') fields.hour = Number(v);
    else if (letter === 'h' || letter === 'K') fields.hour = Number(v) % 12;
    else if (letter === 'm') fields.minute = Number(v);
    else if (letter === 's') fields.second = Number(v);
    else if (letter === 'S') fields.nanos = Number(v.padEnd(9, '0'));
    else if (letter === 'a') pm = v.toUpperCase() === 'PM';
    else if (letter === 'X' || letter === 'x' || letter === 'Z') offset = v;
  });
  if (pm) fields.hour = (fields.hour ?? 0) + 12;
  const inZone = /GMT'?$/.test(pattern)
    ? 'UTC'
    : offset === undefined
      ? luxonZone(zone)
      : offset === 'Z'
        ? 'UTC'
        : `UTC${offset}`;
  const nanos = fields.nanos ?? 0;
  const local = DateTime.fromObject(
    {
      year: fields.year ?? 1970,
      month: fields.month ?? 1,
      day: fields.day ?? 1,
      hour: fields.hour ?? 0,
      minute: fields.minute ?? 0,
      second: fields.second ?? 0,
      millisecond: Math.floor(nanos / 1e6),
    },
    { zone: inZone },
  );
  if (!local.isValid) throw new Error(`cannot read ${JSON.stringify(text)} as a date`);
  return { ms: local.toMillis(), subMsNanos: nanos % 1e6 };
}

/** Java's ChronoUnit names, as `dateAdd` takes them. */
const UNITS: Record<string, [string, number]> = {
  NANOS: ['milliseconds', 1e-6],
  MICROS: ['milliseconds', 1e-3],
  MILLIS: ['milliseconds', 1],
  SECONDS: ['seconds', 1],
  MINUTES: ['minutes', 1],
  HOURS: ['hours', 1],
  HALF_DAYS: ['hours', 12],
  DAYS: ['days', 1],
  WEEKS: ['weeks', 1],
  MONTHS: ['months', 1],
  YEARS: ['years', 1],
  DECADES: ['years', 10],
  CENTURIES: ['years', 100],
  MILLENNIA: ['years', 1000],
};

export function addTo(i: Instant, amount: number, unit: string, zone: string): Instant {
  const u = UNITS[unit];
  if (!u) throw new Error(`unit ${JSON.stringify(unit)} is not one of ${Object.keys(UNITS).join(', ')}`);
  const d = dt(i, zone).plus({ [u[0]]: amount * u[1] });
  return { ms: d.toMillis(), subMsNanos: i.subMsNanos, zone: i.zone };
}

/** Now, with microseconds (the clock's best). */
export function now(): Instant {
  const exact = performance.timeOrigin + performance.now();
  const ms = Math.floor(exact);
  return { ms, subMsNanos: Math.floor((exact - ms) * 1000) * 1000 };
}

export function epochNanos(i: Instant): bigint {
  return BigInt(i.ms) * 1_000_000n + BigInt(i.subMsNanos);
}
