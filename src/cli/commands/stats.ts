import type { Command } from 'commander';
import { historicalPages, historicalRawPages, type PointsByService } from '../../fastly/stats.js';
import type { StatsMeta, StatsPoint } from '../../fastly/types.js';
import { InvalidInputError } from '../../errors.js';
import { AggregateStats, MonthToDateUsage, Stats, Usage } from '../../tasks/index.js';
import type { TaskDefinition } from '../../tasks/task.js';
import {
  type ConnectionOptions,
  clientFrom,
  executeTask,
  intArg,
  resolveToken,
  withConnection,
} from '../context.js';
import {
  CHART_FORMATS,
  type Format,
  openOutput,
  parseFormat,
  usageRows,
  writePoints,
  writeRows,
} from '../format.js';
import { startProgress } from '../progress.js';
import type { Report } from '../report/html.js';
import { writeRawPoints } from '../transcode.js';

interface StatsFlags extends ConnectionOptions {
  serviceId?: string;
  field?: string;
  from?: string;
  to?: string;
  by?: string;
  region?: string;
  services?: string;
  datacenter?: string;
  format: string;
  output?: string;
  chart?: string;
  byService?: boolean;
  year?: number;
  month?: number;
  billableUnits?: boolean;
  concurrency?: number;
}

function outputFlags(cmd: Command, html = true): Command {
  return cmd
    .option(
      '--format <format>',
      html ? 'table, csv, ndjson or html (a report with charts)' : 'table, csv or ndjson',
      'table',
    )
    .option('-o, --output <file>', 'write to a file instead of stdout');
}

function windowFlags(cmd: Command): Command {
  return outputFlags(
    cmd
      .option('--from <time>', 'start: Unix seconds, ISO-8601 or e.g. "24 hours ago"')
      .option('--to <time>', 'end (default now)')
      .option('--by <resolution>', 'minute, hour or day (default day)')
      .option('--region <region>', 'limit to a region (see: stats regions)')
      .option('--datacenter <pops>', 'comma-separated POP codes'),
  );
}

const list = (v: string | undefined) => v?.split(',').filter(Boolean);

function connection(opts: StatsFlags) {
  return { apiToken: resolveToken(opts), baseUrl: opts.endpoint };
}

async function chart(points: PointsByService, field: string): Promise<string> {
  const { renderChart, useColor } = await import('../chart.js');
  const series = Object.entries(points).map(([name, ps]) => ({
    name,
    times: ps.map((p) => p.start_time),
    values: ps.map((p) => Number(p[field] ?? 0)),
  }));
  const width = Math.min(100, Math.max(10, (process.stdout.columns ?? 110) - 14));
  return renderChart(series, { field, width, color: useColor(process.stdout) });
}

/** Writes an HTML report to -o (atomically) or stdout. */
async function writeReport(report: Report, output: string | undefined): Promise<void> {
  const { renderReport } = await import('../report/html.js');
  const html = renderReport(report);
  if (!output || output === '-') {
    process.stdout.write(html);
    return;
  }
  const { writeAtomic } = await import('../../flow/state.js');
  try {
    writeAtomic(output, html);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new InvalidInputError(`--output: cannot write ${output}: ${e.code ?? e.message}`, '--output');
  }
  process.stderr.write(`Wrote a report of ${report.sections.length} section(s) to ${output}\n`);
}

/** Runs a task and prints its outputs: JSON with --json, else rows in the chosen format. */
async function printTask(
  task: TaskDefinition,
  props: Record<string, unknown>,
  opts: StatsFlags,
  format: Format,
  rows: (data: unknown) => Record<string, unknown>[] | StatsPoint[],
  report?: (outputs: { data: unknown; meta?: StatsMeta }) => Report,
): Promise<void> {
  const outputs = await executeTask<{ data: unknown; meta?: StatsMeta }>(task, props, opts);
  if (format === 'html' && report && !opts.json) return writeReport(report(outputs), opts.output);
  const { out, done } = await openOutput(opts.output);
  try {
    if (opts.json) out.write(`${JSON.stringify(outputs, null, 2)}\n`);
    else await writeRows(rows(outputs.data) as Record<string, unknown>[], format, out);
  } finally {
    await done();
  }
}

export function registerStats(program: Command): void {
  const stats = program
    .command('stats')
    .description('Historical stats and usage (Fastly historical stats API)');

  windowFlags(withConnection(stats.command('historical')))
    .description('Stats of one service or all services, paginated past 200 points')
    .option('-s, --service-id <id>', 'one service (default: every service)')
    .option('--field <field>', 'only this field, e.g. status_5xx')
    .option('--services <ids>', 'without --service-id: comma-separated service IDs')
    .option('--chart <field>', 'draw this field over time in the terminal')
    .option(
      '--concurrency <n>',
      'most pages fetched at once (default 64, fewer for large pages)',
      intArg('--concurrency', 1, 64),
    )
    .action(async (opts: StatsFlags) => {
      const format = parseFormat(opts.format, CHART_FORMATS);
      const query = {
        serviceId: opts.serviceId,
        field: opts.field ?? opts.chart,
        from: opts.from,
        to: opts.to,
        by: opts.by,
        region: opts.region,
        services: list(opts.services),
        datacenter: list(opts.datacenter),
      };
      if (opts.json) {
        const outputs = await executeTask(Stats, { ...connection(opts), ...query }, opts, 'Fetching pages');
        const { out, done } = await openOutput(opts.output);
        out.write(`${JSON.stringify(outputs, null, 2)}\n`);
        await done();
        return;
      }
      if (format === 'html') {
        const { historicalReport } = await import('../report/html.js');
        const progress = startProgress('Fetching pages');
        const pages = historicalPages(await clientFrom(opts), {
          ...query,
          concurrency: opts.concurrency,
          onProgress: progress?.update,
        });
        const report = await historicalReport(pages, { field: opts.field, by: opts.by });
        progress?.stop();
        return writeReport(report, opts.output);
      }
      const progress = startProgress('Fetching pages');
      const client = await clientFrom(opts);
      const pageQuery = { ...query, concurrency: opts.concurrency, onProgress: progress?.update };
      if (!opts.chart && (format === 'csv' || format === 'ndjson')) {
        // Streamed page by page, each page's JSON transcoded straight to lines.
        const pages = historicalRawPages(client, pageQuery);
        const { out, done } = await openOutput(opts.output);
        try {
          const rows = await writeRawPoints(pages, format, out);
          progress?.stop();
          if (opts.output) process.stderr.write(`Wrote ${rows} points to ${opts.output}\n`);
        } finally {
          await done();
        }
        return;
      }
      const pages = historicalPages(client, pageQuery);
      if (opts.chart) {
        const merged: PointsByService = {};
        for await (const page of pages) {
          for (const [id, ps] of Object.entries(page.data)) {
            merged[id] ??= [];
            merged[id].push(...ps);
          }
        }
        progress?.stop();
        process.stdout.write(`${await chart(merged, opts.chart)}\n`);
        return;
      }
      // Streamed page by page: a 35-day minute backfill never sits in memory whole.
      const { out, done } = await openOutput(opts.output);
      try {
        const rows = await writePoints(pages, format, out, opts.field);
        progress?.stop();
        if (opts.output) process.stderr.write(`Wrote ${rows} points to ${opts.output}\n`);
      } finally {
        await done();
      }
    });

  windowFlags(withConnection(stats.command('aggregate')))
    .description('Stats summed over all services (/stats/aggregate)')
    .action(async (opts: StatsFlags) => {
      const props = {
        ...connection(opts),
        from: opts.from,
        to: opts.to,
        by: opts.by,
        region: opts.region,
        datacenter: list(opts.datacenter),
      };
      const { aggregateReport } = await import('../report/html.js');
      await printTask(
        AggregateStats,
        props,
        opts,
        parseFormat(opts.format, CHART_FORMATS),
        (data) =>
          (data as StatsPoint[]).map((p) => ({ time: new Date(p.start_time * 1000).toISOString(), ...p })),
        (o) => aggregateReport({ meta: o.meta, data: o.data as StatsPoint[] }, { by: opts.by }),
      );
    });

  outputFlags(withConnection(stats.command('usage')))
    .description('Bandwidth and requests by region (/stats/usage), or per service')
    .option('--from <time>', 'start of the window')
    .option('--to <time>', 'end of the window')
    .option('--by-service', 'per service (/stats/usage_by_service)')
    .option('--region <region>', 'only this region')
    .action(async (opts: StatsFlags) => {
      const byService = opts.byService ?? false;
      const props = { ...connection(opts), from: opts.from, to: opts.to, region: opts.region, byService };
      const { usageReport } = await import('../report/html.js');
      await printTask(
        Usage,
        props,
        opts,
        parseFormat(opts.format, CHART_FORMATS),
        (data) => usageRows(data as Record<string, unknown>, byService),
        (o) => usageReport({ meta: o.meta, data: o.data as Record<string, unknown> }, byService),
      );
    });

  outputFlags(withConnection(stats.command('month-to-date')), false)
    .description('Usage of a billing month so far (/stats/usage_by_month)')
    .option('--year <yyyy>', 'year (default current UTC year)', intArg('--year', 2000, 9999))
    .option('--month <m>', 'month 1-12 (default current UTC month)', intArg('--month', 1, 12))
    .option('--billable-units', 'bandwidth in GB, requests per 10,000')
    .action(async (opts: StatsFlags) => {
      const props = {
        ...connection(opts),
        year: opts.year,
        month: opts.month,
        billableUnits: opts.billableUnits ?? false,
      };
      await printTask(MonthToDateUsage, props, opts, parseFormat(opts.format), (data) => {
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
      });
    });

  withConnection(stats.command('regions'))
    .description('Region codes accepted by --region (/stats/regions)')
    .action(async (opts: ConnectionOptions) => {
      const { getRegions } = await import('../../fastly/stats.js');
      const regions = await getRegions(await clientFrom(opts));
      process.stdout.write(opts.json ? `${JSON.stringify(regions)}\n` : `${regions.join('\n')}\n`);
    });
}
