import type { Writable } from 'node:stream';
import { InvalidInputError } from '../errors.js';
import type { PointsByService, StatsPage } from '../fastly/stats.js';
import { write } from './output.js';
import { human, unitOf } from './units.js';
import { wrapText } from './wrap.js';

export { write } from './output.js';

/** `json` is the same as `--json`: the task's outputs as one document; `html` a report with charts. */
export type Format = 'table' | 'csv' | 'ndjson' | 'json' | 'html';
export const FORMATS: Format[] = ['table', 'csv', 'ndjson', 'json'];
/** Stats commands whose data can be charted also write an HTML report. */
export const CHART_FORMATS: Format[] = [...FORMATS, 'html'];

/** Resolves `--format` and `--json` together; naming both with different meanings is refused. */
export function parseFormat(
  value: string | undefined,
  json?: boolean,
  allowed: readonly Format[] = FORMATS,
): Format {
  if (value !== undefined && !(allowed as string[]).includes(value)) {
    const list = `${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}`;
    throw new InvalidInputError(`--format: "${value}" is not a format; expected ${list}`, '--format');
  }
  if (json && value !== undefined && value !== 'json') {
    throw new InvalidInputError(
      `--json: conflicts with --format ${value}; use one of them (--json is --format json)`,
      '--json',
    );
  }
  return json ? 'json' : ((value as Format | undefined) ?? 'table');
}

/** Date's range: ±100,000,000 days from the epoch, in seconds. */
const MAX_SECONDS = 8.64e12;
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
// Points come in time order, so the date part changes once a day: one Date per day, not per row.
let cachedDay = NaN;
let cachedDate = '';

/**
 * The one home of readable point times: epoch seconds as UTC ISO-8601 to the second
 * (`2026-11-01T00:00:00Z`; fractions of a second are dropped, rounding down); '' for anything that
 * is not a number Date can hold. CSV's `time` column and (to the minute) tables use it.
 */
export function isoTime(epochSeconds: unknown): string {
  if (typeof epochSeconds !== 'number' || !(Math.abs(epochSeconds) <= MAX_SECONDS)) return '';
  const t = Math.floor(epochSeconds);
  const day = Math.floor(t / 86400);
  if (day !== cachedDay) {
    cachedDate = new Date(day * 86_400_000).toISOString().slice(0, -13); // 'YYYY-MM-DDT'
    cachedDay = day;
  }
  const s = t - day * 86400;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${cachedDate}${TWO_DIGITS[h] as string}:${TWO_DIGITS[m] as string}:${TWO_DIGITS[s % 60] as string}Z`;
}

/** One time format for every table: UTC, to the minute. */
export function tableTime(epochSeconds: unknown): string {
  return isoTime(epochSeconds).slice(0, -4).replace('T', ' ');
}

/**
 * CSV columns: the point keys `formatPage` keeps in `PointsFormatState.columns`, with the readable
 * `time` column after `start_time`, unless the points have a `time` field of their own: then that
 * field is an ordinary column and no readable one is added.
 */
export function csvHeader(columns: readonly string[]): string[] {
  if (columns.includes('time')) return [...columns];
  const at = columns.indexOf('start_time') + 1;
  return [...columns.slice(0, at), 'time', ...columns.slice(at)];
}

/** How a table shows one cell: bytes in units, ratios as percentages, counts as they are. */
function tableCell(column: string, v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    const unit = unitOf(column);
    return unit === 'count' ? String(v) : human(v, unit);
  }
  return cellText(v);
}

const TIME_WIDTH = 16;
const SERVICE_WIDTH = 22;
const CELL_WIDTH = 12;

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function csvCell(v: unknown): string {
  const s = cellText(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const TABLE_FIELDS = ['requests', 'hits', 'miss', 'hit_ratio', 'bandwidth', 'status_5xx'];

/** What a points writer carries from page to page: the columns, set by the first point. */
export interface PointsFormatState {
  columns?: string[] | undefined;
  /** A table for a terminal this many columns wide: it is fitted to it (see tableLayout). */
  width?: number | undefined;
  /** The table's points are of one service (`-s`): no service column. */
  oneService?: boolean | undefined;
  /** The fitted table, set with the header. */
  layout?: TableLayout | undefined;
}

/** How a table of points is laid out: its field columns, their widths, the service column's. */
export interface TableLayout {
  fields: string[];
  cell: number[];
  /** 0: no service column. */
  service: number;
  /** Fields left out to fit the width. */
  dropped: string[];
}

/**
 * The table's layout. Without a width (a pipe, a file): every field, 12 characters each, and the
 * service id whole, as always. For a terminal of `width` columns, as much as fits: first the
 * cells as narrow as their heading (at least 8), then the service id cut to 10 characters, then
 * the last fields left out (the caller says which, on stderr).
 */
export function tableLayout(
  fields: readonly string[],
  perService: boolean,
  width?: number,
  oneService = false,
): TableLayout {
  const service = perService && !(width && oneService) ? SERVICE_WIDTH : 0;
  const full: TableLayout = { fields: [...fields], cell: fields.map(() => CELL_WIDTH), service, dropped: [] };
  const total = (l: TableLayout) =>
    TIME_WIDTH + (l.service ? l.service + 2 : 0) + l.cell.reduce((a, w) => a + w + 2, 0);
  if (!width || total(full) <= width) return full;
  const narrow: TableLayout = { ...full, cell: fields.map((f) => Math.max(f.length, 8)) };
  if (total(narrow) <= width) return narrow;
  if (narrow.service) narrow.service = 10;
  while (narrow.fields.length > 1 && total(narrow) > width) {
    narrow.dropped.unshift(narrow.fields.pop() as string);
    narrow.cell.pop();
  }
  return narrow;
}

/** A service id in `width` characters: whole, or its start and an ellipsis. */
const serviceCell = (id: string, width: number) =>
  id.length <= width ? id.padEnd(width) : `${id.slice(0, width - 1)}…`;

/** One page of points as CSV, NDJSON or table lines (the header first on the first page). */
export function formatPage(
  page: StatsPage<PointsByService>,
  format: Format,
  state: PointsFormatState,
  /** The table's columns (--field); default a few common ones. */
  fields?: readonly string[],
  /** False for account-wide points (aggregate): no service column. */
  perService = true,
): { text: string; rows: number } {
  // A 35-day minute backfill is 50,000 points of ~170 fields: no per-point copies, one string per page.
  let chunk = '';
  let rows = 0;
  let timeAfter: number | undefined;
  for (const [serviceId, points] of Object.entries(page.data)) {
    for (const point of points) {
      if (perService && point.service_id === undefined) point.service_id = serviceId;
      if (format === 'ndjson') {
        chunk += `${JSON.stringify(point)}\n`;
      } else if (format === 'csv') {
        if (!state.columns) {
          const rest = Object.keys(point)
            .filter((k) => k !== 'service_id' && k !== 'start_time')
            .sort();
          state.columns = [...(perService ? ['service_id'] : []), 'start_time', ...rest];
          chunk += `${csvHeader(state.columns).join(',')}\n`;
        }
        const columns = state.columns;
        // The readable time follows start_time, when the points have no `time` of their own.
        timeAfter ??= columns.includes('time') ? -1 : columns.indexOf('start_time');
        let line = '';
        for (let i = 0; i < columns.length; i++) {
          const v = point[columns[i] as string];
          line += (i ? ',' : '') + (typeof v === 'number' ? String(v) : csvCell(v));
          if (i === timeAfter) line += `,${isoTime(v)}`;
        }
        chunk += `${line}\n`;
      } else {
        if (!state.layout) {
          const layout = tableLayout(
            fields?.length ? fields : TABLE_FIELDS,
            perService,
            state.width,
            state.oneService,
          );
          state.layout = layout;
          state.columns = layout.fields;
          const head = [
            'time (UTC)'.padEnd(TIME_WIDTH),
            ...(layout.service ? ['service'.padEnd(layout.service)] : []),
            ...layout.fields.map((f, i) => f.padStart(layout.cell[i] ?? CELL_WIDTH)),
          ];
          chunk += `${head.join('  ').trimEnd()}\n`;
        }
        const layout = state.layout;
        const cells = [
          tableTime(point.start_time).padEnd(TIME_WIDTH),
          ...(layout.service ? [serviceCell(String(point.service_id), layout.service)] : []),
          ...layout.fields.map((f, i) => tableCell(f, point[f]).padStart(layout.cell[i] ?? CELL_WIDTH)),
        ];
        chunk += `${cells.join('  ').trimEnd()}\n`;
      }
      rows++;
    }
  }
  return { text: chunk, rows };
}

/** Streams paginated points as CSV, NDJSON or a table, page by page, holding one page at a time. */
export async function writePoints(
  pages: AsyncIterable<StatsPage<PointsByService>>,
  format: Format,
  out: Writable,
  fields?: readonly string[],
  perService = true,
  /** A table's terminal: its width, and whether the points are of one service. */
  table: Pick<PointsFormatState, 'width' | 'oneService' | 'columns'> = {},
): Promise<number> {
  const state: PointsFormatState = { ...table };
  let rows = 0;
  for await (const page of pages) {
    const r = formatPage(page, format, state, fields, perService);
    rows += r.rows;
    if (r.text) await write(out, r.text);
  }
  if (rows === 0 && format === 'table') await write(out, '(no data in this window)\n');
  noteLeftOut(state.layout?.dropped ?? [], state.width, '--field, --format csv');
  return rows;
}

/** Says on stderr which columns a table fitted to the terminal left out, and where to find them. */
export function noteLeftOut(dropped: readonly string[], width: number | undefined, see: string): void {
  if (!dropped.length) return;
  // The note fits the terminal it speaks of: wrapped between words, continued under its text.
  const note = `note: ${dropped.join(', ')} left out to fit ${width} columns (see ${see})`;
  process.stderr.write(`${wrapText(note, width ?? Infinity, '      ')}\n`);
}

/** Flattens nested usage maps into rows: region, [service,] bandwidth, requests, compute_requests. */
export function usageRows(data: Record<string, unknown>, byService: boolean): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const [region, v] of Object.entries(data)) {
    if (byService) {
      for (const [service, u] of Object.entries(v as Record<string, Record<string, unknown>>))
        rows.push({ region, service, ...u });
    } else rows.push({ region, ...(v as Record<string, unknown>) });
  }
  return rows;
}

/** How a table shows some columns instead of by their name's unit: a heading naming the unit, a cell. */
export type TableColumns = Record<string, { heading: string; cell: (v: number) => string }>;

/**
 * Rows of any shape as CSV, NDJSON or an aligned table (text left, numbers right, in human units, or
 * as `tableColumns` says).
 */
export async function writeRows(
  rows: Record<string, unknown>[],
  format: Format,
  out: Writable,
  tableColumns: TableColumns = {},
  /** A table for a terminal this many columns wide: fitted to it, as tableLayout fits points. */
  width?: number,
): Promise<void> {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  if (format === 'table' && rows.length === 0) {
    await write(out, '(no data in this window)\n');
    return;
  }
  if (format === 'ndjson') {
    await write(out, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  } else if (format === 'csv') {
    const lines = rows.map((r) => `${columns.map((c) => csvCell(r[c])).join(',')}\n`);
    await write(out, `${columns.join(',')}\n${lines.join('')}`);
  } else {
    const cells = rows.map((r) =>
      columns.map((c) => {
        const v = r[c];
        const custom = tableColumns[c];
        return custom && typeof v === 'number' ? custom.cell(v) : tableCell(c, v);
      }),
    );
    const headings = columns.map((c) => tableColumns[c]?.heading ?? c);
    const numeric = columns.map((c) => rows.some((r) => typeof r[c] === 'number'));
    const fitted = fitTable(headings, cells, { width, cut: columns.indexOf('service'), numeric });
    await write(out, `${fitted.lines.join('\n')}\n`);
    noteLeftOut(fitted.dropped, width, '--format csv');
  }
}

/**
 * A table of text cells fitted to a terminal `width` (undefined: a pipe or a file, as wide as it
 * needs), as tableLayout does: the `cut` column (an id) to 10 characters, then the last columns
 * left out, which the caller names (noteLeftOut). Each column as wide as its widest cell, numbers
 * to the right, two spaces between; no line ends in spaces. `dropped`: the left-out headings.
 */
export function fitTable(
  headings: readonly string[],
  cells: string[][],
  options: { width?: number | undefined; cut?: number; numeric?: readonly boolean[] } = {},
): { lines: string[]; dropped: string[] } {
  const { width, cut = -1, numeric = [] } = options;
  const widths = headings.map((c, i) =>
    cells.reduce((w, row) => Math.max(w, (row[i] ?? '').length), c.length),
  );
  const total = () => widths.reduce((a, w) => a + w + 2, -2);
  if (width && total() > width && cut >= 0 && (widths[cut] ?? 0) > 10) {
    const to = Math.max(10, headings[cut]?.length ?? 0);
    widths[cut] = to;
    for (const row of cells) row[cut] = serviceCell(row[cut] ?? '', to).trimEnd();
  }
  let shown = headings.length;
  while (width && shown > 1 && total() > width) {
    widths.pop();
    shown--;
  }
  // A last column of text is padded to its width, then cut back.
  const line = (row: readonly string[]) =>
    row
      .slice(0, shown)
      .map((v, i) => (numeric[i] ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return { lines: [line(headings), ...cells.map(line)], dropped: headings.slice(shown) };
}
