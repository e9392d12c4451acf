import { h } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { TriggerView } from '../model.js';

export const VALUE_COLOR = '#1f6fd1';
export const THRESHOLD_COLOR = '#d62728';
export const FIRING_COLOR = '#ff8c00';

type Data = [number[], (number | null)[], (number | null)[], (number | null)[]];

/** x: evaluation times (s); the value; the threshold; the value again only where the trigger fired. */
function chartData(t: TriggerView): Data {
  const points = t.evaluations.filter((e) => typeof e.value === 'number');
  return [
    points.map((e) => e.time / 1000),
    points.map((e) => e.value as number),
    points.map(() => t.threshold),
    points.map((e) => (e.fired ? (e.value as number) : null)),
  ];
}

/** A time as the rest of the page shows it: ISO-8601 in UTC, to the second. */
export const isoTime = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The x axis's ticks in UTC, as precise as their spacing needs: `HH:MM` (or `HH:MM:SS` under a
 * minute apart), with the date (`YYYY-MM-DD`) under the first tick and wherever the day changes;
 * ticks a day or more apart are dates alone. (uPlot's own are local time, US style: "12/7/26 1:01am".)
 */
export function utcTicks(splits: number[]): string[] {
  const step = splits.length > 1 ? (splits[1] as number) - (splits[0] as number) : 60;
  let day = '';
  return splits.map((s) => {
    const text = isoTime(s);
    const date = text.slice(0, 10);
    if (step >= 86_400) return date;
    const time = step < 60 ? text.slice(11, 19) : text.slice(11, 16);
    if (date === day) return time;
    day = date;
    return `${time}\n${date}`;
  });
}

function options(t: TriggerView, width: number, firings: () => number): uPlot.Options {
  return {
    width,
    height: 230,
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: {
      // From the data: with one point (the first evaluation) uPlot would span 86,400,000 s (its
      // one-day default, in ms, read as seconds): ticks years apart. Ten minutes up to it instead.
      x: {
        time: true,
        range: (u, min, max) => {
          const xs = u.data[0];
          const lo = xs[0];
          const hi = xs[xs.length - 1];
          if (lo === undefined || hi === undefined) return [min, max];
          return lo === hi ? [lo - 600, hi + 60] : [lo, hi];
        },
      },
      y: {
        range: (_u, min, max) => {
          const lo = Math.min(0, min, t.threshold);
          const hi = Math.max(max, t.threshold) * 1.15 || 1;
          return [lo, hi];
        },
      },
    },
    axes: [
      {
        values: (_u, splits) => utcTicks(splits),
        // Room for HH:MM:SS: uPlot's default spacing is made for its shorter labels.
        space: 80,
        label: 'time (UTC)',
        labelSize: 20,
        size: 50,
      },
      { size: 60 },
    ],
    series: [
      { label: 'time', value: (_u, v) => (v === null ? '--' : isoTime(v)) },
      {
        label: `${t.field} (${t.aggregation})`,
        stroke: VALUE_COLOR,
        width: 2,
        points: { show: true, size: 5 },
      },
      {
        label: `threshold ${t.comparator} ${t.threshold}`,
        stroke: THRESHOLD_COLOR,
        width: 2,
        dash: [8, 4],
        points: { show: false },
      },
      {
        label: 'fired',
        // Over a point: whether it fired; elsewhere: how many firings the chart shows (not "--").
        value: (_u, v, _s, idx) =>
          idx === null || idx === undefined ? `${firings()} time(s)` : v === null ? 'no' : 'yes',
        stroke: FIRING_COLOR,
        fill: FIRING_COLOR,
        width: 0,
        paths: () => null,
        points: { show: true, size: 12, stroke: FIRING_COLOR, fill: FIRING_COLOR },
      },
    ],
  };
}

/** The trigger's value at each evaluation, the threshold line and the firings marked (uPlot on a canvas). */
export function TriggerChart({ trigger }: { trigger: TriggerView }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = chartData(trigger);
  const firings = data[3].filter((v) => v !== null).length;
  const count = useRef(firings);
  count.current = firings;
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    plot.current = new uPlot(
      options(trigger, Math.max(320, el.clientWidth || 640), () => count.current),
      data,
      el,
    );
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
    // A new chart only when the threshold or field changes; new points go through setData below.
  }, [trigger.key, trigger.threshold, trigger.field]);
  useEffect(() => {
    plot.current?.setData(data);
  });
  return h('div', {
    class: 'trigger-chart',
    ref: box,
    'data-testid': `chart-${trigger.key}`,
    'data-points': String(data[0].length),
    'data-firings': String(firings),
    'data-threshold': String(trigger.threshold),
  });
}
