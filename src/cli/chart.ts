import asciichart from 'asciichart';
import { axisFormat, timeLabel, timeTicks, unitOf } from './units.js';

export interface ChartSeries {
  name: string;
  /** Unix seconds, ascending. */
  times: number[];
  values: number[];
}

export interface ChartOptions {
  field: string;
  /** Columns of plot area (the labels take 12 more). */
  width: number;
  height?: number;
  color: boolean;
}

/** Colour only on a terminal, and never when NO_COLOR is set to anything (no-color.org). */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}

const COLORS = [asciichart.blue, asciichart.green, asciichart.red, asciichart.yellow, asciichart.magenta];
const LABEL_WIDTH = 10;

/** Resamples every series onto `columns` equal time slots (mean per slot, gaps carry the last value). */
function resample(series: ChartSeries[], from: number, to: number, columns: number): number[][] {
  const span = Math.max(1, to - from);
  return series.map((s) => {
    const sum = new Array<number>(columns).fill(0);
    const n = new Array<number>(columns).fill(0);
    s.times.forEach((t, i) => {
      const c = Math.min(columns - 1, Math.floor(((t - from) / span) * columns));
      sum[c] = (sum[c] ?? 0) + (s.values[i] ?? 0);
      n[c] = (n[c] ?? 0) + 1;
    });
    let last = s.values[0] ?? 0;
    return sum.map((v, c) => {
      if (n[c]) last = v / (n[c] ?? 1);
      return last;
    });
  });
}

/** The time axis under the plot: ticks on round UTC times, labels centred on them. */
function timeAxis(from: number, to: number, columns: number): string[] {
  const span = Math.max(1, to - from);
  const ticks = timeTicks(from, to, Math.max(2, Math.floor(columns / 12)));
  const step = ticks.length > 1 ? (ticks[1] as number) - (ticks[0] as number) : span;
  const axis = new Array<string>(columns).fill('─');
  const labels = new Array<string>(columns + 8).fill(' ');
  let free = 0;
  for (const t of ticks) {
    const c = Math.min(columns - 1, Math.round(((t - from) / span) * (columns - 1)));
    axis[c] = '┬';
    const text = timeLabel(t, step);
    const start = Math.max(0, c - Math.floor(text.length / 2));
    if (start < free) continue;
    for (let i = 0; i < text.length; i++) labels[start + i] = text[i] as string;
    free = start + text.length + 1;
  }
  const pad = ' '.repeat(LABEL_WIDTH);
  return [`${pad}└${axis.join('')}`, `${pad} ${labels.join('').trimEnd()}`];
}

function plot(values: number[][], field: string, height: number, colors: (string | undefined)[]): string {
  const all = values.flat();
  const min = Math.min(...all);
  const max = Math.max(...all);
  // asciichart labels height + 1 rows from min to max: as many decimals as tell them apart.
  const label = axisFormat(unitOf(field), (max - min) / height, Math.max(Math.abs(min), Math.abs(max)));
  return asciichart.plot(values, {
    height,
    offset: 2,
    colors: colors.filter((c): c is string => c !== undefined),
    format: (v: number) => label(v).padStart(LABEL_WIDTH).slice(-LABEL_WIDTH),
  });
}

/**
 * A terminal line chart of one field: values in human units on the left, a UTC time axis under it,
 * and a legend. Without colour, several series are drawn as one small chart each so they stay apart.
 */
export function renderChart(series: ChartSeries[], options: ChartOptions): string {
  const present = series.filter((s) => s.times.length > 0);
  if (present.length === 0) return `(no ${options.field} data in this window)`;
  const from = Math.min(...present.map((s) => s.times[0] as number));
  const to = Math.max(...present.map((s) => s.times[s.times.length - 1] as number));
  const distinct = new Set(present.flatMap((s) => s.times)).size;
  const columns = Math.max(2, Math.min(options.width, distinct));
  const values = resample(present, from, to, columns);
  const height = options.height ?? 12;
  const range = `${new Date(from * 1000).toISOString().slice(0, 16)} → ${new Date(to * 1000).toISOString().slice(0, 16)} UTC`;
  const title = `${options.field} over time, ${range}${distinct > columns ? ' (mean per column)' : ''}`;
  const axis = timeAxis(from, to, columns);
  if (options.color || present.length === 1) {
    const colors = options.color ? present.map((_, i) => COLORS[i % COLORS.length]) : [];
    const legend = present
      .map((s, i) => (colors[i] ? `${colors[i]}──${asciichart.reset} ${s.name}` : `── ${s.name}`))
      .join('   ');
    return [title, plot(values, options.field, height, colors), ...axis, `legend: ${legend}`].join('\n');
  }
  const small = Math.max(4, Math.floor(height / 2));
  const parts = present.map((s, i) =>
    [`── ${s.name}`, plot([values[i] as number[]], options.field, small, []), ...axis].join('\n'),
  );
  return [title, ...parts].join('\n');
}
