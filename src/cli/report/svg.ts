import { colorOf } from './palette.js';
import { axisFormat, human, timeLabel, timeTicks, type Unit, valueTicks } from '../units.js';

export interface TimeSeries {
  name: string;
  /** Unix seconds, ascending. */
  times: number[];
  values: number[];
}

export interface LineChart {
  kind: 'line';
  title: string;
  unit: Unit;
  series: TimeSeries[];
}

export interface BarChart {
  kind: 'bar';
  title: string;
  unit: Unit;
  categories: string[];
  series: { name: string; values: number[] }[];
}

export type Chart = LineChart | BarChart;

const W = 920;
const H = 280;
const M = { left: 78, right: 16, top: 34, bottom: 34 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The largest of any number of values (-Infinity for none), without spreading them as arguments. */
export function largest(values: readonly number[]): number {
  let m = -Infinity;
  for (const v of values) if (v > m) m = v;
  return m;
}

const fmt = (n: number) => Number(n.toFixed(1)).toString();

const LEGEND_ROW = 18;
/**
 * A legend label's advance per character: the labels are set in a monospace face at 12 px (0.6 em
 * a character in common monospace fonts; 7.5 leaves a margin), so the layout below knows where each
 * ends. With a proportional face, a 22-character service id ran under the next swatch.
 */
const LEGEND_CHAR = 7.5;

/**
 * The legend above the plot, every series in it: items wrap onto as many rows as they need (the plot
 * moves down by `extra`), so a report of 50 services names all 50.
 */
function legend(names: string[]): { svg: string; extra: number } {
  let x = M.left;
  let row = 0;
  const items = names.map((name, i) => {
    // The swatch (14) and its gap (6), the label, and a gap before the next item.
    const width = 20 + name.length * LEGEND_CHAR + 16;
    if (x > M.left && x + width > W - M.right) {
      x = M.left;
      row++;
    }
    const y = 10 + row * LEGEND_ROW;
    const item = `<g class="legend-item"><rect x="${x}" y="${y}" width="14" height="4" fill="${colorOf(i)}"/><text x="${x + 20}" y="${y + 6}">${escapeHtml(name)}</text></g>`;
    x += width;
    return item;
  });
  return { svg: items.join(''), extra: row * LEGEND_ROW };
}

function yAxis(max: number, unit: Unit): { scale: (v: number) => number; svg: string } {
  const top = max > 0 ? max : 1;
  const ticks = valueTicks(0, top, 5);
  const step = ticks.length > 1 ? (ticks[1] as number) - (ticks[0] as number) : top;
  // The top gridline sits at or above the highest value, so the line never runs along the frame.
  if ((ticks[ticks.length - 1] ?? 0) < top)
    ticks.push(Number(((ticks[ticks.length - 1] ?? 0) + step).toPrecision(12)));
  const hi = ticks[ticks.length - 1] ?? top;
  const scale = (v: number) => M.top + PH - (v / hi) * PH;
  // The terminal chart's rule: the decimals the step needs, the same on every label.
  const label = axisFormat(unit, step, hi);
  const svg = ticks
    .map((v) => {
      const y = fmt(scale(v));
      return `<line class="grid" x1="${M.left}" x2="${M.left + PW}" y1="${y}" y2="${y}"/><text class="ylabel" x="${M.left - 6}" y="${y}" dy="4" text-anchor="end">${escapeHtml(label(v))}</text>`;
    })
    .join('');
  return { scale, svg };
}

/** Keeps at most two points (the lowest and the highest) per pixel column, so spikes survive. */
function decimate(s: TimeSeries, from: number, span: number): [number, number][] {
  if (s.times.length <= PW * 2) return s.times.map((t, i) => [t, s.values[i] ?? 0]);
  const out: [number, number][] = [];
  let col = -1;
  let lo: [number, number] | undefined;
  let hi: [number, number] | undefined;
  const flush = () => {
    if (!lo || !hi) return;
    if (lo === hi) out.push(lo);
    else if (lo[0] < hi[0]) out.push(lo, hi);
    else out.push(hi, lo);
  };
  s.times.forEach((t, i) => {
    const v = s.values[i] ?? 0;
    const c = Math.floor(((t - from) / span) * PW);
    if (c !== col) {
      flush();
      col = c;
      lo = hi = [t, v];
    } else {
      if (v < (lo as [number, number])[1]) lo = [t, v];
      if (v > (hi as [number, number])[1]) hi = [t, v];
    }
  });
  flush();
  return out;
}

function lineChart(c: LineChart): string {
  const all = c.series.filter((s) => s.times.length);
  if (!all.length) return `<p class="empty">No data in this window.</p>`;
  let from = Infinity;
  let to = -Infinity;
  let max = -Infinity;
  // Loops, not Math.max(...values): 35 days of minute points are more arguments than the stack holds.
  for (const s of all) {
    from = Math.min(from, s.times[0] as number);
    to = Math.max(to, s.times[s.times.length - 1] as number);
    max = Math.max(max, largest(s.values));
  }
  const span = Math.max(1, to - from);
  const { scale, svg: ySvg } = yAxis(max, c.unit);
  const x = (t: number) => M.left + ((t - from) / span) * PW;
  const ticks = timeTicks(from, to, 8);
  const step = ticks.length > 1 ? (ticks[1] as number) - (ticks[0] as number) : span;
  const xSvg = ticks
    .map((t) => {
      const px = fmt(x(t));
      return `<line class="tick" x1="${px}" x2="${px}" y1="${M.top + PH}" y2="${M.top + PH + 5}"/><text class="xlabel" x="${px}" y="${M.top + PH + 18}" text-anchor="middle">${timeLabel(t, step)}</text>`;
    })
    .join('');
  const lines = c.series
    .map((s, i) => {
      const pts = decimate(s, from, span)
        .map(([t, v]) => `${fmt(x(t))},${fmt(scale(v))}`)
        .join(' ');
      return `<polyline class="series" data-series="${escapeHtml(s.name)}" fill="none" stroke="${colorOf(i)}" stroke-width="1.5" points="${pts}"/>`;
    })
    .join('');
  const axes = `<line class="axis" x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + PH}"/><line class="axis" x1="${M.left}" x2="${M.left + PW}" y1="${M.top + PH}" y2="${M.top + PH}"/>`;
  return svg(c.title, legend(c.series.map((s) => s.name)), `${ySvg}${xSvg}${axes}${lines}`);
}

function barChart(c: BarChart): string {
  if (!c.categories.length) return `<p class="empty">No data.</p>`;
  const max = c.series.reduce((m, s) => Math.max(m, largest(s.values)), 0);
  // Bars of height zero on an axis of nothing say less than the words.
  if (max === 0 && c.series.every((s) => s.values.every((v) => v === 0)))
    return `<p class="empty">All zero in this window.</p>`;
  const { scale, svg: ySvg } = yAxis(max, c.unit);
  const group = PW / c.categories.length;
  const bw = Math.max(2, (group * 0.8) / c.series.length);
  const bars = c.series
    .map((s, si) =>
      s.values
        .map((v, ci) => {
          const x = M.left + ci * group + group * 0.1 + si * bw;
          const y = scale(v);
          return `<rect class="bar" data-series="${escapeHtml(s.name)}" x="${fmt(x)}" y="${fmt(y)}" width="${fmt(bw)}" height="${fmt(M.top + PH - y)}" fill="${colorOf(si)}"><title>${escapeHtml(`${s.name} ${c.categories[ci]}: ${human(v, c.unit)}`)}</title></rect>`;
        })
        .join(''),
    )
    .join('');
  const labels = c.categories
    .map(
      (name, ci) =>
        `<text class="xlabel" x="${fmt(M.left + ci * group + group / 2)}" y="${M.top + PH + 18}" text-anchor="middle">${escapeHtml(name)}</text>`,
    )
    .join('');
  const axis = `<line class="axis" x1="${M.left}" x2="${M.left + PW}" y1="${M.top + PH}" y2="${M.top + PH}"/>`;
  return svg(c.title, legend(c.series.map((s) => s.name)), `${ySvg}${labels}${axis}${bars}`);
}

function svg(title: string, key: { svg: string; extra: number }, body: string): string {
  const h = H + key.extra;
  const plot = key.extra ? `<g transform="translate(0,${key.extra})">${body}</g>` : body;
  return `<svg class="chart" role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}">${key.svg}${plot}</svg>`;
}

/** One chart as inline SVG: legend on top, values in human units, a UTC time axis (line charts). */
export function renderChartSvg(chart: Chart): string {
  return chart.kind === 'line' ? lineChart(chart) : barChart(chart);
}
