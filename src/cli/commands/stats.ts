import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { InvalidInputError, show } from '../../errors.js';
import { isStatsField } from '../../fastly/fields.js';
import {
  DEFAULT_STATS_CONCURRENCY,
  historicalPages as fetchPages,
  historicalRawPages,
  type PointsByService,
  STATS_BYTES_IN_FLIGHT,
  type StatsPage,
} from '../../fastly/stats.js';
import { parseBy } from '../../fastly/time.js';
import { BUCKET_SECONDS } from '../../fastly/types.js';
import type { StatsMeta, StatsPoint } from '../../fastly/types.js';
import { AggregateStats, MonthToDateUsage, Usage } from '../../tasks/index.js';
import type { TaskDefinition } from '../../tasks/task.js';
import { clientFrom, connection } from '../context.js';
import { CONNECTION_FLAGS, type FlagSpec, type OptionsOf, wholeNumber } from '../argv.js';
import type { CliCommand, CliGroup } from '../command.js';
import { addGroup } from '../flags.js';
import {
  CHART_FORMATS,
  type Format,
  FORMATS,
  parseFormat,
  type TableColumns,
  usageRows,
  writePoints,
  writeRows,
} from '../format.js';
import { executeTask } from '../task-command.js';
import { checkOutputPath, withOutput, write } from '../output.js';
import { startProgress } from '../progress.js';
import type { Report } from '../report/html.js';
import { writeRawPoints } from '../transcode.js';

/** --format and -o: with `html`, the command writes an HTML report too. */
const outputFlags = (html: boolean) =>
  [
    {
      flags: '--format <format>',
      description: html
        ? 'table, csv, ndjson, json (is --json) or html (a report with charts); default table'
        : 'table, csv, ndjson or json (is --json); default table',
    },
    {
      flags: '-o, --output <file>',
      description: 'write to a file (replaced only once complete) instead of stdout',
    },
  ] as const satisfies readonly FlagSpec[];

/** The window of a stats query (historical, aggregate), and the output flags. */
const WINDOW_FLAGS = [
  {
    flags: '--from <time>',
    description:
      'start: Unix seconds, ISO-8601 (2026-02-01, or 20260201: 8 digits are a date), e.g. "24 hours ago" or "last month" (default: 30 days before --to by day, 1 day by hour, 30 minutes by minute)',
  },
  { flags: '--to <time>', description: 'end (default now)' },
  { flags: '--by <resolution>', description: 'minute, hour or day (default day)' },
  { flags: '--region <region>', description: 'limit to a region (see: stats regions)' },
  { flags: '--datacenter <pops>', description: 'comma-separated POP codes' },
  ...outputFlags(true),
] as const satisfies readonly FlagSpec[];

/** A comma-separated flag as a list; empty entries are kept, for the fastly layer to refuse. */
const list = (v: string | undefined) => v?.split(',');

/** The checks every stats command makes on its flags before any request. */
async function prepare(opts: StatsFlags, allowed: readonly Format[] = CHART_FORMATS): Promise<Format> {
  const format = parseFormat(opts.format, opts.json, allowed);
  await checkOutputPath(opts.output);
  return format;
}

/**
 * A chart is drawn for the terminal: with a file or another format asked for as well, one of the
 * two requests would be dropped, so the pair is refused (naming both flags) before any request.
 */
function chartAlone(opts: StatsFlags, format: Format): void {
  if (opts.chart === undefined) return;
  const other =
    opts.output !== undefined
      ? `-o/--output ${opts.output}`
      : opts.json
        ? '--json'
        : format !== 'table'
          ? `--format ${format}`
          : undefined;
  if (other === undefined) return;
  throw new InvalidInputError(
    `--chart: conflicts with ${other}; a chart is drawn on the terminal only (leave out one of them)`,
    '--chart',
  );
}

/** A progress bar, unless the result streams to the same terminal the bar would draw on. */
function progressFor(opts: StatsFlags, format: Format) {
  const toTerminal = (!opts.output || opts.output === '-') && process.stdout.isTTY;
  return toTerminal && format !== 'json' && !opts.chart ? undefined : startProgress('Fetching pages');
}

/** The terminal's width, or 80 where it is unknown or 0 (a pipe; a pty nobody sized: `script` without `stty`). */
const chartColumns = (columns: number | undefined): number => (columns && columns > 0 ? columns : 80);

async function chart(points: PointsByService, field: string): Promise<string> {
  const { renderChart, useColor } = await import('../chart.js');
  const series = Object.entries(points).map(([name, ps]) => ({
    name,
    times: ps.map((p) => p.start_time),
    values: ps.map((p) => Number(p[field] ?? 0)),
  }));
  const width = Math.min(100, Math.max(10, chartColumns(process.stdout.columns) - 14));
  return renderChart(series, { field, width, color: useColor(process.stdout) });
}

/** Writes an HTML report to -o (atomically) or stdout. */
async function writeReport(report: Report, output: string | undefined): Promise<void> {
  const { renderReport } = await import('../report/html.js');
  const html = renderReport(report);
  await withOutput(output, (out) => write(out, html));
  if (output && output !== '-')
    process.stderr.write(`Wrote a report of ${report.sections.length} section(s) to ${output}\n`);
}

/** `month-to-date --billable-units` in a table: the figures as sent, under headings naming their unit. */
const BILLABLE_COLUMNS: TableColumns = {
  bandwidth: { heading: 'bandwidth (GB)', cell: (v) => v.toFixed(2) },
  requests: { heading: 'requests (×10,000)', cell: (v) => v.toFixed(2) },
};

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Runs a task and writes its outputs: JSON with --json / --format json, an HTML report, or rows. */
async function printTask(
  task: TaskDefinition,
  props: () => Record<string, unknown>,
  opts: StatsFlags,
  rows: (data: unknown) => Record<string, unknown>[],
  report?: (outputs: { data: unknown; meta?: StatsMeta }) => Promise<Report>,
  tableColumns?: TableColumns,
): Promise<void> {
  const format = await prepare(opts, report ? CHART_FORMATS : FORMATS);
  const outputs = await executeTask<{ data: unknown; meta?: StatsMeta }>(task, props(), opts);
  if (format === 'html') {
    if (report) return writeReport(await report(outputs), opts.output);
    throw new InvalidInputError('--format: "html" is not available for this command', '--format');
  }
  await withOutput(opts.output, (out) =>
    format === 'json'
      ? write(out, json(outputs))
      : writeRows(rows(outputs.data), format, out, tableColumns, tableWidth(opts)),
  );
}

/** `-s` (default $FASTLY_SERVICE_ID), `--services` and `--all-services` pick the services; naming two is refused. */
function pickServices(opts: StatsFlags): { serviceId?: string; services?: string[] } {
  const named = [
    opts.serviceId !== undefined && '--service-id',
    opts.services !== undefined && '--services',
    opts.allServices && '--all-services',
  ].filter(Boolean);
  if (named.length > 1) {
    throw new InvalidInputError(
      `${named[1]}: conflicts with ${named[0]}; give one of --service-id, --services or --all-services`,
      named[1] as string,
    );
  }
  if (opts.services !== undefined) return { services: list(opts.services) };
  if (opts.allServices) return {};
  // As `purge` does: no service named is an error, not a silent query of every service.
  if (opts.serviceId === undefined && !process.env.FASTLY_SERVICE_ID) {
    throw new InvalidInputError(
      '--service-id: no service ID; pass -s ID or set FASTLY_SERVICE_ID (or --services A,B, or --all-services for every service)',
      '--service-id',
    );
  }
  return { serviceId: opts.serviceId ?? process.env.FASTLY_SERVICE_ID };
}

/**
 * An empty window is a success, but usually a surprise: Fastly reports a bucket once it is over, so
 * "--from '1 hour ago'" by day (the default) has nothing until midnight UTC. Said on stderr.
 */
function noteIfEmpty(points: number, by: string | undefined): void {
  if (points > 0) return;
  process.stderr.write(`note: no data in this window: ${emptyReason(by)}\n`);
}

/** Why a window may be empty, for the stderr note and an HTML report's empty section. */
function emptyReason(by: string | undefined): string {
  const size = parseBy(by ?? 'day');
  const finer = size === 'day' ? 'hour' : size === 'hour' ? 'minute' : undefined;
  return `Fastly reports each ${size} (UTC) once it is over${finer ? `; try --by ${finer}` : ''}`;
}

/** The charts of an HTML report (0: every section says "No data in this window"). */
const charted = (report: Report) => report.sections.reduce((n, s) => n + s.charts.length, 0);

/** A table on the terminal is fitted to its width (an unsized pty, a pipe or a file: as it is). */
function tableWidth(opts: StatsFlags): number | undefined {
  const toTerminal = (!opts.output || opts.output === '-') && process.stdout.isTTY;
  return toTerminal && process.stdout.columns > 0 ? process.stdout.columns : undefined;
}

async function writePagesOut(
  pages: AsyncIterable<StatsPage<PointsByService>>,
  format: Exclude<Format, 'json' | 'html'>,
  out: Writable,
  fields: readonly string[] | undefined,
  perService: boolean,
  opts: StatsFlags,
  oneService = false,
  columns?: string[],
): Promise<number> {
  const width = tableWidth(opts);
  return writePoints(pages, format, out, fields, perService, { width, oneService, columns });
}

/** Removes a resumed FILE.partial and its record, which served their purpose; already gone is fine. */
async function removePartial(path: string): Promise<void> {
  const { promises: fsp } = await import('node:fs');
  await fsp.unlink(path).catch(() => {});
  await fsp.unlink(`${path}.json`).catch(() => {});
}

/**
 * A run without --resume would replace FILE.partial, losing what a failed run fetched: refused, as
 * the progress may be hours of pages. `--resume` continues from it; deleting it starts over.
 */
async function refuseOverPartial(path: string): Promise<void> {
  const { promises: fsp } = await import('node:fs');
  const kept = await fsp.stat(path).catch(() => undefined);
  if (!kept) return;
  throw new InvalidInputError(
    `--output: ${path} holds what a failed run fetched (${kept.size} bytes): pass --resume to continue from it, or delete it to start over`,
    '--output',
  );
}

/**
 * `--field a,b,c`: the fields, each checked, duplicates removed; undefined without --field. A flow
 * may name a field Fastly adds tomorrow; at the prompt a typo is likelier, and costs a request.
 */
function fieldList(flag: '--field' | '--chart', value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const fields = flag === '--field' ? value.split(',').map((f) => f.trim()) : [value];
  for (const field of fields) {
    if (field === '')
      throw new InvalidInputError(
        `${flag}: ${show(value)} has an empty entry; expected comma-separated stats fields, e.g. requests,status_5xx`,
        flag,
      );
    if (!isStatsField(field)) {
      throw new InvalidInputError(
        `${flag}: ${show(field)} is not a documented stats field; expected e.g. requests, status_5xx, hit_ratio, bandwidth`,
        flag,
      );
    }
  }
  return [...new Set(fields)];
}

/** Only `fields` (and start_time, service_id) of a point, in the point's own order. */
function pointFields(p: StatsPoint, fields: readonly string[]): StatsPoint {
  const kept = {} as StatsPoint;
  for (const k in p) if (k === 'start_time' || k === 'service_id' || fields.includes(k)) kept[k] = p[k];
  return kept;
}

/**
 * Only `fields` (and start_time, service_id) of each point: Fastly's `/field/{field}` takes one
 * field, so for several the whole points are fetched and cut down here, page by page.
 */
async function* onlyFields(
  pages: AsyncIterable<StatsPage<PointsByService>>,
  fields: readonly string[],
): AsyncIterable<StatsPage<PointsByService>> {
  for await (const page of pages) {
    const data: PointsByService = {};
    for (const [id, points] of Object.entries(page.data)) {
      // In the point's own order, whatever the order of --field: one NDJSON key order.
      data[id] = points.map((p) => pointFields(p, fields));
    }
    yield { meta: page.meta, data };
  }
}

/** What a failed backfill kept (`FILE.partial`), to resume from. */
interface PartialFile {
  /** The whole lines kept (a line cut short by the failure is dropped). */
  text: Buffer;
  /** CSV: the columns of its header (without the readable `time`), so none is written again. */
  columns?: string[];
  /** Points kept. */
  rows: number;
  /** The bucket after the latest one kept: where the rerun starts. */
  from: number;
}

/**
 * Reads `FILE.partial` for `--resume`: the latest `start_time` in it (every page before it was
 * written whole, for every service) and the bucket after it. Undefined when there is none, or
 * nothing but a header.
 */
async function readPartial(
  path: string,
  format: 'csv' | 'ndjson',
  by: string | undefined,
): Promise<PartialFile | undefined> {
  const { promises: fsp } = await import('node:fs');
  const buf = await fsp.readFile(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new InvalidInputError(`--resume: cannot read ${path} (${err.code ?? 'error'})`, '--resume');
  });
  if (!buf) return undefined;
  const end = buf.lastIndexOf(10) + 1;
  const lines = buf.subarray(0, end).toString('utf8').split('\n').slice(0, -1);
  const notOurs = () =>
    new InvalidInputError(
      `--resume: ${path} is not a ${format.toUpperCase()} file of stats historical (no start_time in line ${lines.length ? 1 : 0}); remove it to start over`,
      '--resume',
    );
  let latest = -Infinity;
  let rows = 0;
  let columns: string[] | undefined;
  if (format === 'csv') {
    const header = (lines[0] ?? '').split(',');
    const at = header.indexOf('start_time');
    if (at < 0) throw notOurs();
    // csvHeader put the readable `time` after start_time.
    columns = header.filter((c, i) => !(c === 'time' && i === at + 1));
    for (const line of lines.slice(1)) {
      const t = Number(line.split(',', at + 1)[at]);
      if (Number.isFinite(t)) latest = Math.max(latest, t);
      rows++;
    }
  } else {
    for (const line of lines) {
      let t: unknown;
      try {
        t = (JSON.parse(line) as { start_time?: unknown } | null)?.start_time;
      } catch {
        throw notOurs();
      }
      if (typeof t !== 'number') throw notOurs();
      latest = Math.max(latest, t);
      rows++;
    }
  }
  if (rows === 0) return undefined;
  return { text: buf.subarray(0, end), columns, rows, from: latest + BUCKET_SECONDS[parseBy(by ?? 'day')] };
}

/**
 * What a FILE.partial was fetched with, written beside it (`FILE.partial.json`) when a run fails: a
 * `--resume` asking anything else would append other data to it. Each entry: the option, as said.
 */
type PartialRecord = Record<string, string>;

function partialRecord(
  opts: StatsFlags,
  format: Format,
  services: { serviceId?: string; services?: string[] },
  fields: string[] | undefined,
): PartialRecord {
  return {
    '--service-id': services.serviceId ?? '(none)',
    '--services': services.services?.join(',') ?? '(none)',
    '--by': (opts.by ?? 'day').toLowerCase(),
    '--field': fields?.join(',') ?? '(every field)',
    '--from': opts.from ?? '(default)',
    '--to': opts.to ?? '(default: now)',
    '--region': opts.region ?? '(every region)',
    '--datacenter': opts.datacenter ?? '(every POP)',
    '--format': format,
  };
}

/**
 * Refuses a `--resume` whose query differs from the one that wrote FILE.partial (its record
 * beside it), naming the first option that differs, its value now and in the partial file.
 */
async function checkPartialRecord(partialPath: string, now: PartialRecord): Promise<void> {
  const { promises: fsp } = await import('node:fs');
  const exists = await fsp.stat(partialPath).then(
    () => true,
    () => false,
  );
  if (!exists) return;
  const recordPath = `${partialPath}.json`;
  let then: PartialRecord;
  try {
    then = JSON.parse(await fsp.readFile(recordPath, 'utf8')) as PartialRecord;
  } catch {
    throw new InvalidInputError(
      `--resume: ${partialPath} has no readable record of the command that wrote it (${recordPath}); delete ${partialPath} to start over`,
      '--resume',
    );
  }
  for (const [option, value] of Object.entries(now)) {
    if (then[option] !== value) {
      throw new InvalidInputError(
        `--resume: ${option} is ${show(value)} now but ${show(then[option] ?? '(absent)')} in ${partialPath}; resume with the same options, or delete ${partialPath} to start over`,
        option,
      );
    }
  }
}

/** `stats historical`: pages streamed to the output as they come; a failed file kept to --resume from. */
async function historical(_arg: undefined, opts: StatsFlags): Promise<void> {
  const format = await prepare(opts);
  chartAlone(opts, format);
  const fields = fieldList('--field', opts.field);
  fieldList('--chart', opts.chart);
  // One field is Fastly's /field/{field}; several are cut from whole points (onlyFields). A chart
  // draws its own field only: that one is fetched, whatever --field lists.
  const several = !opts.chart && fields !== undefined && fields.length > 1 ? fields : undefined;
  // A CSV or NDJSON file keeps, on failure, what was fetched (FILE.partial); --resume goes on from it.
  const file = opts.output && opts.output !== '-' ? opts.output : undefined;
  const lines = (format === 'csv' || format === 'ndjson') && !opts.chart && file ? format : undefined;
  if (opts.resume && !lines) {
    throw new InvalidInputError(
      '--resume: resumes a file: give -o FILE with --format csv or ndjson (what a failed run kept as FILE.partial)',
      '--resume',
    );
  }
  const partialPath = file && `${file}.partial`;
  const services = pickServices(opts);
  const record = lines ? partialRecord(opts, format, services, fields) : undefined;
  if (partialPath && record) {
    if (opts.resume) await checkPartialRecord(partialPath, record);
    else await refuseOverPartial(partialPath);
  }
  const partial =
    opts.resume && lines && partialPath ? await readPartial(partialPath, lines, opts.by) : undefined;
  if (opts.resume && !partial)
    process.stderr.write(`note: nothing to resume in ${partialPath}: fetching the whole window\n`);
  if (partial)
    process.stderr.write(
      `Resuming from ${new Date(partial.from * 1000).toISOString().replace('.000Z', 'Z')}: ${partial.rows} points kept in ${partialPath}\n`,
    );
  const keep = lines ? partialPath : undefined;
  /** Writes the kept lines first (a resumed run), then `rest`; the points of both. */
  const resumed = async (out: Writable, rest: (columns?: string[]) => Promise<number>) => {
    if (partial) await write(out, partial.text);
    return (partial?.rows ?? 0) + (await rest(partial?.columns));
  };
  const query = {
    ...services,
    field: opts.chart ?? (several ? undefined : fields?.[0]),
    from: partial ? partial.from : opts.from,
    to: opts.to,
    by: opts.by,
    region: opts.region,
    datacenter: list(opts.datacenter),
  };
  const progress = progressFor(opts, format);
  try {
    const client = await clientFrom(opts);
    const pageQuery = { ...query, concurrency: opts.concurrency, onProgress: progress?.update };
    const historicalPages = (c: typeof client, q: typeof pageQuery) =>
      several ? onlyFields(fetchPages(c, q), several) : fetchPages(c, q);
    if (format === 'json') {
      // The Stats task's outputs, streamed: each service's points are spooled to a temporary file
      // page by page, so memory stays the pages in flight however long the window.
      const { writeHistoricalJson } = await import('../json-stream.js');
      const pages = historicalPages(client, pageQuery);
      const points = await withOutput(opts.output, (out) => writeHistoricalJson(pages, out));
      progress?.stop();
      if (opts.output && opts.output !== '-')
        process.stderr.write(`Wrote ${points} points to ${opts.output}\n`);
      noteIfEmpty(points, opts.by);
      return;
    }
    if (format === 'html') {
      const { historicalReport } = await import('../report/html.js');
      const pages = historicalPages(client, pageQuery);
      const report = await historicalReport(pages, {
        fields,
        by: opts.by,
        emptyReason: emptyReason(opts.by),
      });
      progress?.stop();
      await writeReport(report, opts.output);
      noteIfEmpty(charted(report), opts.by);
      return;
    }
    if (!opts.chart && !several && (format === 'csv' || format === 'ndjson')) {
      // Streamed page by page, each page's JSON transcoded straight to lines.
      const raw = historicalRawPages(client, pageQuery);
      const rows = await withOutput(
        opts.output,
        (out) => resumed(out, (columns) => writeRawPoints(raw, format, out, columns)),
        '--output',
        keep,
        record && JSON.stringify(record, null, 2),
      );
      if (partialPath && partial) await removePartial(partialPath);
      progress?.stop();
      if (opts.output && opts.output !== '-')
        process.stderr.write(`Wrote ${rows} points to ${opts.output}\n`);
      noteIfEmpty(rows, opts.by);
      return;
    }
    const pages = historicalPages(client, pageQuery);
    if (opts.chart) {
      const merged: PointsByService = {};
      for await (const page of pages) {
        for (const [id, ps] of Object.entries(page.data)) {
          const list = (merged[id] ??= []);
          for (const p of ps) list.push(p);
        }
      }
      progress?.stop();
      process.stdout.write(`${await chart(merged, opts.chart)}\n`);
      return;
    }
    // Streamed page by page: a 35-day minute backfill never sits in memory whole.
    const one = query.serviceId !== undefined;
    const rows = await withOutput(
      opts.output,
      (out) => resumed(out, (columns) => writePagesOut(pages, format, out, fields, true, opts, one, columns)),
      '--output',
      keep,
      record && JSON.stringify(record, null, 2),
    );
    if (partialPath && partial) await removePartial(partialPath);
    progress?.stop();
    if (opts.output && opts.output !== '-') process.stderr.write(`Wrote ${rows} points to ${opts.output}\n`);
    noteIfEmpty(rows, opts.by);
  } finally {
    progress?.stop();
  }
}

/** `stats aggregate`. */
async function aggregate(_arg: undefined, opts: StatsFlags): Promise<void> {
  const format = await prepare(opts);
  const fields = fieldList('--field', opts.field);
  const props = {
    ...connection(opts),
    from: opts.from,
    to: opts.to,
    by: opts.by,
    region: opts.region,
    datacenter: list(opts.datacenter),
  };
  const whole = await executeTask<{ meta: StatsPage<unknown>['meta']; data: StatsPoint[] }>(
    AggregateStats,
    props,
    opts,
  );
  // /stats/aggregate has no /field/{field}: the points are cut here, as `historical` cuts several.
  const outputs = fields ? { ...whole, data: whole.data.map((p) => pointFields(p, fields)) } : whole;
  if (format === 'html') {
    const { aggregateReport } = await import('../report/html.js');
    await writeReport(
      aggregateReport(outputs, { fields, by: opts.by, emptyReason: emptyReason(opts.by) }),
      opts.output,
    );
    noteIfEmpty(outputs.data.length, opts.by);
    return;
  }
  await withOutput(opts.output, async (out) => {
    if (format === 'json') return write(out, json(outputs));
    // The same rendering as `historical`, one row per bucket, without a service column.
    const pages = (async function* () {
      yield await Promise.resolve({ meta: outputs.meta, data: { aggregate: outputs.data } });
    })();
    await writePagesOut(pages, format, out, fields, false, opts);
  });
  // As `historical` says it: an empty window writes an empty file (CSV: no header, see README).
  if (opts.output && opts.output !== '-')
    process.stderr.write(`Wrote ${outputs.data.length} points to ${opts.output}\n`);
  noteIfEmpty(outputs.data.length, opts.by);
}

/** `stats usage`. */
async function usage(_arg: undefined, opts: StatsFlags): Promise<void> {
  const byService = opts.byService ?? false;
  await printTask(
    Usage,
    () => ({ ...connection(opts), from: opts.from, to: opts.to, region: opts.region, byService }),
    opts,
    (data) => usageRows(data as Record<string, unknown>, byService),
    async (o) =>
      (await import('../report/html.js')).usageReport(
        { meta: o.meta, data: o.data as Record<string, unknown> },
        byService,
      ),
  );
}

/** `stats month-to-date`. */
async function monthToDate(_arg: undefined, opts: StatsFlags): Promise<void> {
  await printTask(
    MonthToDateUsage,
    () => ({
      ...connection(opts),
      year: opts.year,
      month: opts.month,
      billableUnits: opts.billableUnits ?? false,
    }),
    opts,
    (data) => {
      const d = data as {
        services: Record<string, Record<string, unknown>>;
        total: Record<string, unknown>;
      };
      const rows: Record<string, unknown>[] = [];
      for (const [service, { name, ...regions }] of Object.entries(d.services)) {
        for (const r of usageRows(regions, false)) rows.push({ service, name, ...r });
      }
      for (const r of usageRows(d.total, false)) rows.push({ service: 'TOTAL', name: '', ...r });
      return rows;
    },
    undefined,
    // Billable units are not bytes and counts: GB, and requests in units of 10,000, as Fastly bills.
    opts.billableUnits ? BILLABLE_COLUMNS : undefined,
  );
}

/** `stats regions`. */
async function listRegions(_arg: undefined, opts: StatsFlags): Promise<void> {
  const format = await prepare(opts, FORMATS);
  const { getRegions } = await import('../../fastly/stats.js');
  const regions = await getRegions(await clientFrom(opts));
  await withOutput(opts.output, (out) =>
    format === 'json' || format === 'html'
      ? write(out, json({ status: 'success', data: regions }))
      : writeRows(
          regions.map((region) => ({ region })),
          format,
          out,
        ),
  );
}

/** `--field a,b,c` of `stats historical` and `aggregate`: one declaration, read by `fieldList`. */
const FIELD_FLAG = {
  flags: '--field <fields>',
  description: 'only these fields, comma-separated, e.g. status_5xx or requests,hits,miss',
} as const satisfies FlagSpec;

/** `stats aggregate`: the window, and which fields. */
const AGGREGATE_FLAGS = [
  ...CONNECTION_FLAGS,
  ...WINDOW_FLAGS,
  FIELD_FLAG,
] as const satisfies readonly FlagSpec[];

/** `stats historical`: the window, and which services and fields. */
const HISTORICAL_FLAGS = [
  ...CONNECTION_FLAGS,
  ...WINDOW_FLAGS,
  { flags: '-s, --service-id <id>', description: 'one service (default $FASTLY_SERVICE_ID)' },
  { flags: '--services <ids>', description: 'comma-separated service IDs instead of one' },
  { flags: '--all-services', description: 'every service of the account (ignores $FASTLY_SERVICE_ID)' },
  FIELD_FLAG,
  { flags: '--chart <field>', description: 'draw this field over time in the terminal' },
  {
    flags: '--resume',
    description:
      'with -o FILE (csv or ndjson): continue from FILE.partial, which a failed run leaves, fetching only the rest',
  },
  {
    flags: '--concurrency <n>',
    description: `most pages fetched at once (default ${DEFAULT_STATS_CONCURRENCY}); fewer are when the latency needs fewer or ${STATS_BYTES_IN_FLIGHT / 2 ** 20} MB of pages would be held`,
    ...wholeNumber(1, 64),
  },
] as const satisfies readonly FlagSpec[];

/** `stats usage`: a window of its own (no resolution), optionally per service. */
const USAGE_FLAGS = [
  ...CONNECTION_FLAGS,
  ...outputFlags(true),
  { flags: '--from <time>', description: 'start of the window (default: 30 days before --to)' },
  { flags: '--to <time>', description: 'end of the window (default now)' },
  { flags: '--by-service', description: 'per service (/stats/usage_by_service)' },
  { flags: '--region <region>', description: 'only this region' },
] as const satisfies readonly FlagSpec[];

/** `stats month-to-date`: a billing month. */
const MONTH_FLAGS = [
  ...CONNECTION_FLAGS,
  ...outputFlags(false),
  {
    flags: '--year <yyyy>',
    description: 'year (default current UTC year)',
    ...wholeNumber(2000, 9999),
  },
  {
    flags: '--month <m>',
    description: 'month 1-12 (default current UTC month)',
    ...wholeNumber(1, 12),
  },
  { flags: '--billable-units', description: 'bandwidth in GB, requests per 10,000' },
] as const satisfies readonly FlagSpec[];

/** The options of every stats command (each takes some of them), typed from their flags. */
type StatsFlags = Partial<
  OptionsOf<[...typeof HISTORICAL_FLAGS, ...typeof USAGE_FLAGS, ...typeof MONTH_FLAGS]>
>;

type StatsCommand = CliCommand<undefined, StatsFlags>;

/** `stats historical|aggregate|usage|month-to-date|regions`. */
export const STATS: CliGroup = {
  name: 'stats',
  description: 'Historical stats and usage (Fastly historical stats API)',
  commands: [
    {
      name: 'historical',
      description: 'Stats of one service or many, paginated past 200 points',
      flags: HISTORICAL_FLAGS,
      action: historical,
    } satisfies StatsCommand,
    {
      name: 'aggregate',
      description: 'Stats summed over all services (/stats/aggregate)',
      flags: AGGREGATE_FLAGS,
      action: aggregate,
    } satisfies StatsCommand,
    {
      name: 'usage',
      description: 'Bandwidth and requests by region (/stats/usage), or per service',
      flags: USAGE_FLAGS,
      action: usage,
    } satisfies StatsCommand,
    {
      name: 'month-to-date',
      description: 'Usage of a billing month so far (/stats/usage_by_month)',
      flags: MONTH_FLAGS,
      action: monthToDate,
    } satisfies StatsCommand,
    {
      name: 'regions',
      description: 'Region codes accepted by --region (/stats/regions)',
      flags: [...CONNECTION_FLAGS, ...outputFlags(false)],
      action: listRegions,
    } satisfies StatsCommand,
  ],
};

export function registerStats(program: Command): void {
  addGroup(program, STATS);
}
