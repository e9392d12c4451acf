import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { InvalidInputError } from '../errors.js';
import type { PointsByService, StatsPage } from '../fastly/stats.js';

export type Format = 'table' | 'csv' | 'ndjson' | 'html';
export const FORMATS: Format[] = ['table', 'csv', 'ndjson'];
/** Stats commands whose data can be charted also write an HTML report. */
export const CHART_FORMATS: Format[] = [...FORMATS, 'html'];

export function parseFormat(value: string, allowed: readonly Format[] = FORMATS): Format {
  if ((allowed as string[]).includes(value)) return value as Format;
  const list = `${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}`;
  throw new InvalidInputError(`--format: "${value}" is not a format; expected ${list}`, '--format');
}

/** Opens --output (or stdout) for writing. */
export async function openOutput(
  path: string | undefined,
): Promise<{ out: Writable; done: () => Promise<void> }> {
  if (!path || path === '-') return { out: process.stdout, done: async () => {} };
  const out = createWriteStream(path);
  await new Promise<void>((resolve, reject) => {
    out.once('open', () => resolve());
    out.once('error', (e: NodeJS.ErrnoException) =>
      reject(new InvalidInputError(`--output: cannot write ${path}: ${e.code ?? e.message}`, '--output')),
    );
  });
  return {
    out,
    done: () =>
      new Promise<void>((resolve, reject) => {
        out.end(() => resolve());
        out.once('error', reject);
      }),
  };
}

export async function write(out: Writable, data: string | Buffer): Promise<void> {
  if (!out.write(data)) await once(out, 'drain');
}

/** A value as one cell of text: strings as they are, absent as empty, anything else as JSON. */
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
}

/** One page of points as CSV, NDJSON or table lines (the header first on the first page). */
export function formatPage(
  page: StatsPage<PointsByService>,
  format: Format,
  state: PointsFormatState,
  field?: string,
): { text: string; rows: number } {
  // A 35-day minute backfill is 50,000 points of ~170 fields: no per-point copies, one string per page.
  let chunk = '';
  let rows = 0;
  for (const [serviceId, points] of Object.entries(page.data)) {
    for (const point of points) {
      if (point.service_id === undefined) point.service_id = serviceId;
      if (format === 'ndjson') {
        chunk += `${JSON.stringify(point)}\n`;
      } else if (format === 'csv') {
        if (!state.columns) {
          const rest = Object.keys(point)
            .filter((k) => k !== 'service_id' && k !== 'start_time')
            .sort();
          state.columns = ['service_id', 'start_time', ...rest];
          chunk += `${state.columns.join(',')}\n`;
        }
        const columns = state.columns;
        let line = '';
        for (let i = 0; i < columns.length; i++) {
          const v = point[columns[i] as string];
          line += (i ? ',' : '') + (typeof v === 'number' ? String(v) : csvCell(v));
        }
        chunk += `${line}\n`;
      } else {
        const fields = field ? [field] : TABLE_FIELDS;
        if (!state.columns) {
          state.columns = fields;
          const head = ['time (UTC)'.padEnd(20), 'service'.padEnd(22), ...fields.map((f) => f.padStart(14))];
          chunk += `${head.join(' ')}\n`;
        }
        const time = new Date(point.start_time * 1000).toISOString().slice(0, 16).replace('T', ' ');
        const cells = fields.map((f) => cellText(point[f]).padStart(14));
        chunk += `${[time.padEnd(20), String(point.service_id).padEnd(22), ...cells].join(' ')}\n`;
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
  field?: string,
): Promise<number> {
  const state: PointsFormatState = {};
  let rows = 0;
  for await (const page of pages) {
    const r = formatPage(page, format, state, field);
    rows += r.rows;
    await write(out, r.text);
  }
  return rows;
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

export async function writeRows(
  rows: Record<string, unknown>[],
  format: Format,
  out: Writable,
): Promise<void> {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  if (format === 'ndjson') {
    for (const r of rows) await write(out, `${JSON.stringify(r)}\n`);
  } else if (format === 'csv') {
    await write(out, `${columns.join(',')}\n`);
    for (const r of rows) await write(out, `${columns.map((c) => csvCell(r[c])).join(',')}\n`);
  } else {
    const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cellText(r[c]).length)));
    await write(out, `${columns.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}\n`);
    for (const r of rows)
      await write(out, `${columns.map((c, i) => cellText(r[c]).padEnd(widths[i] ?? 0)).join('  ')}\n`);
  }
}
