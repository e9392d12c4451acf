/** How a stats field is measured, for axis labels in the terminal chart and the HTML report. */
export type Unit = 'bytes' | 'ratio' | 'ms' | 'count';

export function unitOf(field: string): Unit {
  if (field === 'hit_ratio' || field.endsWith('_ratio')) return 'ratio';
  if (/bytes|bandwidth|_size$|^compute_ram_used$/.test(field)) return 'bytes';
  if (/_ms$|_time$/.test(field)) return 'ms';
  return 'count';
}

const SI = ['', 'k', 'M', 'G', 'T', 'P'];

function scaled(value: number, base: number, suffixes: string[], unit: string): string {
  let v = Math.abs(value);
  let i = 0;
  while (v >= base && i < suffixes.length - 1) {
    v /= base;
    i++;
  }
  const digits = v >= 100 || i === 0 ? 0 : v >= 10 ? 1 : 2;
  const n = Number(v.toFixed(digits));
  return `${value < 0 ? '-' : ''}${n}${i === 0 && unit === '' ? '' : ' '}${suffixes[i]}${unit}`.trimEnd();
}

/**
 * The one home of percentages: a ratio (0.859) as `85.9%`, one decimal unless told (an axis asks for
 * the decimals its step needs), the trailing zero kept: `81.0%`, so a column of them reads alike.
 */
export function percent(ratio: number, decimals = 1): string {
  return `${(ratio * 100).toFixed(decimals)}%`;
}

/** A value in human units: 1.2 MB, 34.5%, 1.5 s, 12.3k. */
export function human(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return String(value);
  switch (unit) {
    case 'bytes':
      return scaled(value, 1000, SI, 'B');
    case 'ratio':
      return percent(value);
    case 'ms':
      return Math.abs(value) >= 1000
        ? `${Number((value / 1000).toFixed(2))} s`
        : `${Number(value.toFixed(1))} ms`;
    default:
      if (Math.abs(value) < 1000) return String(Number(value.toFixed(Number.isInteger(value) ? 0 : 2)));
      return scaled(value, 1000, SI, '').replace(' ', '');
  }
}

/**
 * Labels for a value axis whose ticks are `step` apart and reach `maxAbs`: the units `human` would
 * use, with as many decimals as tell neighbouring ticks apart (a hit ratio between 80.9% and 81.1%
 * labels 80.90%, 80.92%…, not 81% on every tick), the same number on every label.
 */
export function axisFormat(unit: Unit, step: number, maxAbs: number): (value: number) => string {
  if (!(step > 0) || !Number.isFinite(step)) return (v) => human(v, unit);
  const decimals = (scaledStep: number) =>
    Math.min(6, Math.max(0, Math.ceil(-Math.log10(scaledStep) - 1e-9)));
  if (unit === 'ratio') {
    const d = decimals(step * 100);
    return (v) => percent(v, d);
  }
  if (unit === 'ms') {
    const inSeconds = maxAbs >= 1000;
    const d = decimals(inSeconds ? step / 1000 : step);
    return (v) => (inSeconds ? `${(v / 1000).toFixed(d)} s` : `${v.toFixed(d)} ms`);
  }
  let i = 0;
  while (maxAbs >= 1000 ** (i + 1) && i < SI.length - 1) i++;
  const d = decimals(step / 1000 ** i);
  const suffix = `${SI[i]}${unit === 'bytes' ? 'B' : ''}`;
  const space = unit === 'bytes' ? ' ' : '';
  return (v) => `${(v / 1000 ** i).toFixed(d)}${suffix ? space + suffix : ''}`;
}

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86400;
const STEPS = [
  MINUTE,
  5 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
  14 * DAY,
  30 * DAY,
];

/** Round UTC instants (Unix seconds) between `from` and `to`, about `count` of them. */
export function timeTicks(from: number, to: number, count: number): number[] {
  const span = Math.max(1, to - from);
  const step = STEPS.find((s) => span / s <= count) ?? Math.ceil(span / count / DAY) * DAY;
  const ticks: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) ticks.push(t);
  return ticks;
}

/** A tick label: the time of day, or the date when the ticks are days apart (all UTC). */
export function timeLabel(t: number, stepSeconds: number): string {
  const iso = new Date(t * 1000).toISOString();
  if (stepSeconds >= DAY) return iso.slice(5, 10);
  if (t % DAY === 0) return iso.slice(5, 10);
  return iso.slice(11, 16);
}

/** Round values for a value axis from `min` to `max`, about `count` of them. */
export function valueTicks(min: number, max: number, count: number): number[] {
  if (max <= min) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}
