import { createRequire } from 'node:module';
import { InvalidInputError, show } from '../errors.js';
import { BUCKET_SECONDS, BY_VALUES, type By } from './types.js';

/** Fastly keeps minute-resolution data this long. */
export const MINUTE_RETENTION_SECONDS = 35 * 86400;

/** Default window when `from` is omitted, as the API does it. */
export const DEFAULT_SPAN_SECONDS: Record<By, number> = { day: 30 * 86400, hour: 86400, minute: 1800 };

// chrono-node takes ~140 ms to load: only natural-language times pay for it.
let chronoModule: typeof import('chrono-node') | undefined;
const loadChrono = () =>
  (chronoModule ??= createRequire(import.meta.url)('chrono-node') as typeof import('chrono-node'));

const EXAMPLES =
  'Unix seconds, an ISO-8601 date or date-time, "now", "yesterday", "24 hours ago", "two weeks ago"';

/**
 * ISO-8601's basic format, year first without separators: a date (`20260201`), perhaps with a time
 * (`20260201T1000Z`, `20260201T100000`). Eight digits are this date, never Unix seconds (which
 * would be 1970: Fastly keeps no stats of then; a current time in seconds has ten digits).
 */
const ISO_BASIC = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})?(\d{2})?(Z)?)?$/i;

/** An instant as UTC ISO-8601 to the second, as every time in a message is written. */
const isoSeconds = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * How far inside Fastly's 35-day minute retention a minute window starts at the earliest: Fastly
 * checks `from` when the request arrives, so a `from` right at the edge would be refused after the
 * request's flight (and any clock skew). Was 60 s, then rounded up to the minute: up to 2 minutes late.
 */
export const RETENTION_MARGIN_SECONDS = 15;

/** A numeric date whose day and month order depends on the country (01/02/2026, 1.2.26, 1/2). */
const AMBIGUOUS_DATE = /(?:^|\s)(\d{1,2})([/.-])(\d{1,2})(?:\2(\d{2}|\d{4}))?(?=\s|T|$)/;

/**
 * `last month`, `this year`…: a calendar unit, a span (UTC), as Chronic (Fastly's parser) reads it;
 * with a time (`last month 10:00`, `this week at 9am`), that time on the span's first (or end) day.
 */
const CALENDAR_UNIT =
  /^(last|previous|this|current)\s+(week|month|year)(?:\s+(?:at\s+)?(\d{1,2})(?::(\d{2})(?::(\d{2}))?)?\s*(am|pm)?)?$/i;

/** A date written ISO-8601's way, year first: its month and day are checked, not rolled over. */
const ISO_DATE = /^(\d{4})-(\d{1,2})-(\d{1,2})(?=$|[T\s])/i;

const UNIT_SECONDS: Record<string, number> = { second: 1, minute: 60, hour: 3600, day: 86400, week: 604800 };

/** `3 hours ago`, `7 days ago`: a whole number of a fixed-length unit back from now. */
const AGO = /^(\d{1,5}) (second|minute|hour|day|week)s? ago$/i;

/**
 * The times most windows are written in (`now`, `today`, `yesterday`, `24 hours ago`, `7 days ago`)
 * read as chrono-node reads them in UTC, without it: loading chrono-node and its first parse cost a
 * process ~0.3 s of CPU (200 ms, 100 ms), for every `stats --from "3 hours ago"`. Undefined for
 * any other text (chrono-node reads it).
 */
function commonTime(text: string, nowSeconds: number): number | undefined {
  const now = Math.floor(nowSeconds);
  const word = text.toLowerCase();
  if (word === 'now') return now;
  const midnight = Math.floor(nowSeconds / 86400) * 86400;
  if (word === 'today') return midnight;
  if (word === 'yesterday') return midnight - 86400;
  const ago = AGO.exec(text);
  if (!ago) return undefined;
  const [, n = '', unit = ''] = ago;
  return now - Number(n) * (UNIT_SECONDS[unit.toLowerCase()] as number);
}

/** Seconds into the day of a calendar unit's time (`10:00`, `9am`, `9:30pm`), or undefined if not one. */
function timeOfDay(match: RegExpExecArray, text: string, name: string): number | undefined {
  const [, , , h, m, sec, ampm] = match;
  if (h === undefined) return 0;
  // A bare number (`last month 10`) is no time: left to chrono-node, which refuses it.
  if (m === undefined && ampm === undefined) return undefined;
  let hour = Number(h);
  const minute = Number(m ?? 0);
  const second = Number(sec ?? 0);
  const maxHour = ampm ? 12 : 23;
  if (hour > maxHour || (ampm && hour === 0) || minute > 59 || second > 59) {
    throw new InvalidInputError(
      `${name}: ${show(text)} has no such time of day; expected e.g. "last month 10:00" or "this week 9am"`,
      name,
    );
  }
  if (ampm) hour = (hour % 12) + (ampm.toLowerCase() === 'pm' ? 12 : 0);
  return hour * 3600 + minute * 60 + second;
}

/** Why a year-first date does not exist (`month 13 does not exist`, `2026-02 has no day 30`), if it does not. */
function missingDate(y: string, mo: string, d: string): string | undefined {
  const month = Number(mo);
  const day = Number(d);
  const days = month >= 1 && month <= 12 ? new Date(Date.UTC(Number(y), month, 0)).getUTCDate() : 0;
  if (days === 0) return `month ${mo} does not exist`;
  if (day < 1 || day > days) return `${y}-${mo.padStart(2, '0')} has no day ${d}`;
  return undefined;
}

/**
 * Refuses a year-first date whose month or day does not exist (`2026-13-01`, `2026-25-11`,
 * `2026-02-30`): chrono-node would swap day and month or roll over, reading another date.
 */
function checkIsoDate(text: string, name: string): void {
  const iso = ISO_DATE.exec(text);
  if (!iso) return;
  const [, y = '', mo = '', d = ''] = iso;
  const what = missingDate(y, mo, d);
  if (what) {
    throw new InvalidInputError(
      `${name}: ${show(text)} is not a date (${what}); expected ISO-8601 YYYY-MM-DD, month before day`,
      name,
    );
  }
}

/**
 * An ISO-8601 basic date or date-time (`20260201`, `20260201T1000Z`) in epoch seconds (UTC); one that
 * does not exist (`20261301`, `20260230`, `20260201T2500`) is refused, saying how eight digits are read.
 */
function basicTime(match: RegExpExecArray, text: string, name: string): number {
  const [, y = '', mo = '', d = '', h, mi, sec] = match;
  const what =
    missingDate(y, mo, d) ??
    (Number(h ?? 0) > 23 || Number(mi ?? 0) > 59 || Number(sec ?? 0) > 59
      ? `no time ${h}:${mi ?? '00'}${sec === undefined ? '' : `:${sec}`}`
      : undefined);
  if (what) {
    throw new InvalidInputError(
      `${name}: ${show(text)} is not a date (${what}); 8 digits are read as ISO-8601 YYYYMMDD, year, month, day (Unix seconds have 10 digits)`,
      name,
    );
  }
  return (
    Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h ?? 0), Number(mi ?? 0), Number(sec ?? 0)) / 1000
  );
}

/**
 * Start (or end, exclusive) of the calendar week (Sunday to Saturday, as Chronic counts), month or
 * year that `this` or `last` names, in UTC.
 */
function calendarSpan(which: string, unit: string, nowSeconds: number, edge: 'start' | 'end'): number {
  const now = new Date(nowSeconds * 1000);
  const back = /^(last|previous)$/i.test(which) ? 1 : 0;
  const shift = edge === 'end' ? 1 : 0;
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  switch (unit.toLowerCase()) {
    case 'year':
      return Date.UTC(y - back + shift, 0, 1) / 1000;
    case 'month':
      return Date.UTC(y, m - back + shift, 1) / 1000;
    default: {
      const sunday = Math.floor(nowSeconds / 86400) * 86400 - now.getUTCDay() * 86400;
      return sunday + (shift - back) * 7 * 86400;
    }
  }
}

/**
 * Resolves a time expression to epoch seconds, in UTC, the way Fastly's API reads `from`/`to`:
 * Unix seconds, ISO dates and date-times, and natural language. A date without a time means 00:00.
 * Eight digits (text or a whole number) are an ISO-8601 basic date, `YYYYMMDD`, not Unix seconds.
 * A calendar unit (`last month`, `this week`, `last year`) is a span: `edge` says which end a
 * `from` (its start) or a `to` (its end) takes, so `from` and `to` both `last month` are that month;
 * with a time (`last month 10:00`), that time on that day: never a rolling date.
 * Year-first dates whose month or day does not exist (`2026-13-01`) are refused, not swapped.
 * Numeric dates that read differently by country (`01/02/2026`) are refused, naming the two readings.
 */
export function parseTime(
  value: unknown,
  nowSeconds: number,
  name: string,
  edge: 'start' | 'end' = 'start',
): number {
  if (typeof value === 'number' && Number.isFinite(value)) {
    // `from: 20260201` in YAML is a number: the same date as the text.
    if (Number.isInteger(value) && value >= 1e7 && value < 1e8)
      return parseTime(String(value), nowSeconds, name);
    if (value >= 0 && value < 1e7) return parseTime(String(Math.floor(value)), nowSeconds, name);
    return Math.floor(value);
  }
  if (value instanceof Date && !Number.isNaN(value.getTime())) return Math.floor(value.getTime() / 1000);
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidInputError(`${name}: ${show(value)} is not a time; expected ${EXAMPLES}`, name);
  }
  const text = value.trim();
  const basic = ISO_BASIC.exec(text);
  if (basic) return basicTime(basic, text, name);
  if (/^\d+$/.test(text)) {
    if (text.length >= 13) {
      throw new InvalidInputError(
        `${name}: ${show(text)} looks like milliseconds; expected Unix seconds`,
        name,
      );
    }
    // `2026`, `202602`: a year or a truncated date, not a time in the first months of 1970.
    if (text.length <= 7) {
      throw new InvalidInputError(
        `${name}: ${show(text)} is neither a date nor a Unix time Fastly has stats for (${text.length} digits: 1970); expected Unix seconds (10 digits), an ISO-8601 date (2026-02-01 or 20260201) or e.g. "24 hours ago"`,
        name,
      );
    }
    return Number(text);
  }
  checkIsoDate(text, name);
  const unit = CALENDAR_UNIT.exec(text);
  const time = unit ? timeOfDay(unit, text, name) : undefined;
  if (unit && time !== undefined)
    return calendarSpan(unit[1] as string, unit[2] as string, nowSeconds, edge) + time;
  const ambiguous = AMBIGUOUS_DATE.exec(text);
  // `1.5 hours ago` is a number: dots and dashes make a date only with a year.
  if (ambiguous && (ambiguous[2] === '/' || ambiguous[4] !== undefined)) {
    const [match, a = '', , b = '', yy] = ambiguous;
    const year = yy === undefined ? 'YYYY' : yy.length === 2 ? `20${yy}` : yy;
    // The text around the date (a time: `01/02/2026 10:00`) is kept in each reading.
    const end = ambiguous.index + match.length;
    const start = end - match.trimStart().length;
    // Each reading that is a date: day/month (most of the world), month/day (the US).
    const readings = [
      [b, a],
      [a, b],
    ]
      .filter(([month]) => Number(month) >= 1 && Number(month) <= 12)
      .map(
        ([month = '', day = '']) =>
          `${text.slice(0, start)}${year}-${month.padStart(2, '0')}-${day.padStart(2, '0')}${text.slice(end)}`,
      );
    const here = [...new Set(readings)].join(' or ');
    throw new InvalidInputError(
      `${name}: ${show(text)} is a numeric date, read day/month or month/day depending on the country; expected ISO-8601 YYYY-MM-DD${here ? ` (${here})` : ''}, Unix seconds or e.g. "24 hours ago"`,
      name,
    );
  }
  const common = commonTime(text, nowSeconds);
  if (common !== undefined) return common;
  const results = loadChrono().parse(
    text,
    { instant: new Date(nowSeconds * 1000), timezone: 'UTC' },
    { forwardDate: false },
  );
  const r = results[0];
  if (!r || results.length > 1 || r.text.trim().length !== text.length) {
    throw new InvalidInputError(`${name}: cannot read ${show(text)} as a time; expected ${EXAMPLES}`, name);
  }
  const date = r.start.date();
  const weekday = r.start.get('weekday');
  if (weekday !== null && !r.start.isCertain('day') && !/\bnext\b/i.test(text)) {
    return lastWeekday(weekday, r.start, /\blast\b/i.test(text), nowSeconds);
  }
  const relative = /\b(ago|last|next|now)\b/i.test(text);
  if (!relative && !r.start.isCertain('hour')) date.setUTCHours(0, 0, 0, 0);
  if (/\bnext\b/i.test(text) && weekday !== null && !r.start.isCertain('hour')) date.setUTCHours(0, 0, 0, 0);
  return Math.floor(date.getTime() / 1000);
}

/**
 * A weekday in the past, as a stats window means it: `monday` is the most recent Monday (today if
 * today is one), `last monday` the one before today (1 to 7 days back); at 00:00 unless a time is
 * written (`last monday 10:00`). chrono-node would give noon, and the coming Monday for `monday`.
 */
function lastWeekday(
  weekday: number,
  start: import('chrono-node').ParsedComponents,
  last: boolean,
  nowSeconds: number,
): number {
  const today = Math.floor(nowSeconds / 86400) * 86400;
  const todayWeekday = new Date(today * 1000).getUTCDay();
  let back = (todayWeekday - weekday + 7) % 7;
  if (last && back === 0) back = 7;
  const time = start.isCertain('hour')
    ? (start.get('hour') ?? 0) * 3600 + (start.get('minute') ?? 0) * 60 + (start.get('second') ?? 0)
    : 0;
  let at = today - back * 86400 + time;
  if (at > nowSeconds) at -= 7 * 86400;
  return at;
}

export function parseBy(value: unknown, name = 'by'): By {
  if (value === undefined || value === null || value === '') return 'day';
  if (typeof value === 'string' && (BY_VALUES as readonly string[]).includes(value.toLowerCase())) {
    return value.toLowerCase() as By;
  }
  throw new InvalidInputError(
    `${name}: ${show(value)} is not a resolution; expected minute, hour or day`,
    name,
  );
}

export interface TimeWindow {
  /** Epoch seconds, aligned down to the bucket. */
  from: number;
  /** Epoch seconds, exclusive. */
  to: number;
  by: By;
}

/** Resolves and checks from/to/by before any request; defaults follow the API. */
export function resolveWindow(
  input: { from?: unknown; to?: unknown; by?: unknown },
  nowSeconds = Math.floor(Date.now() / 1000),
): TimeWindow {
  const by = parseBy(input.by);
  const to =
    input.to === undefined || input.to === null || input.to === ''
      ? nowSeconds
      : parseTime(input.to, nowSeconds, 'to', 'end');
  const from =
    input.from === undefined || input.from === null || input.from === ''
      ? to - DEFAULT_SPAN_SECONDS[by]
      : parseTime(input.from, nowSeconds, 'from');
  if (from >= to) {
    throw new InvalidInputError(
      `from: ${isoSeconds(from)} is not before to (${isoSeconds(to)}); expected from < to`,
      'from',
    );
  }
  if (by === 'minute' && from < nowSeconds - MINUTE_RETENTION_SECONDS) {
    throw new InvalidInputError(
      `from: ${isoSeconds(from)} is older than 35 days; Fastly keeps minute data 35 days (use by: hour or day)`,
      'from',
    );
  }
  const size = BUCKET_SECONDS[by];
  let aligned = Math.floor(from / size) * size;
  if (by === 'minute') {
    // "35 days ago" must not become 35 days and 59 s ago by rounding down, nor be out of retention by
    // the time the request lands: start from the first whole minute RETENTION_MARGIN_SECONDS inside.
    const earliest =
      Math.ceil((nowSeconds - MINUTE_RETENTION_SECONDS + RETENTION_MARGIN_SECONDS) / size) * size;
    aligned = Math.max(aligned, Math.min(earliest, Math.floor((to - 1) / size) * size));
  }
  return { from: aligned, to, by };
}

/** Splits a window into consecutive, non-overlapping sub-windows of at most `maxPoints` buckets. */
export function splitWindow(window: TimeWindow, maxPoints: number): { from: number; to: number }[] {
  const span = BUCKET_SECONDS[window.by] * maxPoints;
  const pages: { from: number; to: number }[] = [];
  for (let start = window.from; start < window.to; start += span) {
    pages.push({ from: start, to: Math.min(start + span, window.to) });
  }
  return pages;
}
