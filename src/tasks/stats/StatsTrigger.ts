import { z } from 'zod';
import { durationMs, isoDuration } from '../../duration.js';
import { resolveEndpoint } from '../../fastly/client.js';
import { isLoopbackHost } from '../../http/loopback.js';
import { STATS_FIELD_NAME } from '../../fastly/fields.js';
import { double } from '../../pebble/java.js';
import { historical } from '../../fastly/stats.js';
import type { StatsPoint } from '../../fastly/types.js';
import {
  bucketSize,
  connectionProps,
  defineTask,
  makeClient,
  numberish,
  type StaticCheck,
  type TaskContext,
} from '../task.js';
import { checkWindow } from './common.js';

export const COMPARATORS = [
  'GREATER_THAN',
  'GREATER_THAN_OR_EQUAL',
  'LESS_THAN',
  'LESS_THAN_OR_EQUAL',
  'EQUAL',
  'NOT_EQUAL',
] as const;
export const AGGREGATIONS = ['SUM', 'AVG', 'MIN', 'MAX', 'LAST'] as const;
export const FIRE_ON = ['EVERY_MATCH', 'CROSSING'] as const;

// Any field name, as in the Java plugin: Fastly adds fields over time, so the list is not closed.
const fieldName = z.string().regex(STATS_FIELD_NAME, {
  error: 'expected a stats field name (lower case, digits and _), e.g. status_5xx, requests, hit_ratio',
});

const statsTriggerProps = z.strictObject({
  ...connectionProps,
  serviceId: z.string().describe('Fastly service ID.'),
  field: fieldName.describe('Stats field to watch, e.g. status_5xx.'),
  threshold: numberish()
    .refine((n) => Number.isFinite(n), { error: 'expected a number' })
    .describe('Value compared with the aggregated field.'),
  comparator: z
    .enum(COMPARATORS)
    .default('GREATER_THAN')
    .describe('How the value is compared with the threshold.'),
  window: isoDuration().default('PT1H').describe('How far back to look (ISO-8601).'),
  by: bucketSize().default('minute').describe('Bucket size of the fetched points.'),
  interval: isoDuration().default('PT1M').describe('How often to evaluate (ISO-8601, at least PT30S).'),
  aggregation: z.enum(AGGREGATIONS).default('SUM').describe('How points are combined; AVG for ratios.'),
  delay: isoDuration({ allowZero: true })
    .default('PT0S')
    .describe('Shift the window back to skip minutes Fastly has not finished counting.'),
  fireOn: z
    .enum(FIRE_ON)
    .default('EVERY_MATCH')
    .describe('EVERY_MATCH fires each interval while true; CROSSING fires once per crossing.'),
});

export type StatsTriggerProps = z.output<typeof statsTriggerProps>;

export const StatsTrigger = defineTask({
  type: 'io.kestra.plugin.fastly.stats.StatsTrigger',
  title: 'Fire an execution when a Fastly stat crosses a threshold.',
  description:
    'Every `interval`, fetches `/stats/service/{serviceId}/field/{field}` over the last `window` (shifted back by ' +
    '`delay`), aggregates the points (SUM by default; use AVG for ratios like hit_ratio) and compares the result ' +
    'with `threshold`. `fireOn: EVERY_MATCH` (Kestra’s behaviour) fires at every interval while the condition ' +
    'holds; `CROSSING` fires once when it becomes true and re-arms when it becomes false. Fastly reports minute ' +
    'data 2–15 minutes late: a `delay` of PT5M–PT15M avoids half-counted minutes. Needs `global:read`.',
  examples: [
    {
      title: 'Alert on a 5xx spike',
      flow: `id: fastly_error_alert
namespace: company.ops
triggers:
  - id: high_error_rate
    type: io.kestra.plugin.fastly.stats.StatsTrigger
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: "{{ secret('FASTLY_SERVICE_ID') }}"
    field: "status_5xx"
    threshold: 50
    comparator: GREATER_THAN
    window: "PT1H"
    interval: PT5M
tasks:
  - id: alert
    type: io.kestra.plugin.core.log.Log
    message: "5xx spike: {{ trigger.value }} errors (threshold: {{ trigger.threshold }})"
`,
    },
  ],
  props: statsTriggerProps,
  outputs: {
    value: 'The aggregated field value.',
    threshold: 'The threshold.',
    field: 'The field.',
    comparator: 'The comparator.',
    serviceId: 'The service.',
    window: 'The window (ISO-8601).',
    from: 'Start of the evaluated window (ISO-8601).',
    to: 'End of the evaluated window (ISO-8601).',
    date: 'When the trigger fired (ISO-8601).',
  },
  check(props, at) {
    checkWindow(props, at);
    if (at.env) checkInterval(props, at.env, at);
  },
  async run(props, ctx): Promise<Assessment> {
    return evaluate(props, ctx, Date.now() / 1000);
  },
});

/** Below this interval a StatsTrigger may only poll a loopback endpoint (Fastly's data is per minute). */
export const MIN_STATS_INTERVAL_S = 30;

/** Seconds of a duration the schema has validated. */
export const seconds = (iso: string): number => (durationMs(iso) ?? NaN) / 1000;

/**
 * Why a StatsTrigger may not poll `endpoint` every `interval`, or undefined: below PT30S only a
 * loopback endpoint (the simulator) is polled. `from` says where the endpoint came from.
 */
export function intervalProblem(interval: string, endpoint: string, from?: string): string | undefined {
  const s = seconds(interval);
  if (!Number.isFinite(s) || s >= MIN_STATS_INTERVAL_S || isLoopbackHost(new URL(endpoint).hostname))
    return undefined;
  return `interval ${interval} is below PT30S; allowed only against a loopback endpoint (this one is ${endpoint}${from ? `, ${from}` : ''}); expected PT30S or more, or a loopback baseUrl`;
}

/** The interval rule on a trigger as written, against the environment a server would poll with. */
function checkInterval(
  props: Record<string, unknown>,
  env: Record<string, string | undefined>,
  at: StaticCheck,
) {
  const { interval, baseUrl } = props;
  if (
    typeof interval !== 'string' ||
    !at.literal(interval) ||
    (baseUrl !== undefined && !at.literal(baseUrl))
  )
    return;
  let endpoint: string;
  try {
    endpoint = resolveEndpoint(typeof baseUrl === 'string' ? baseUrl : undefined, env);
  } catch {
    return; // a bad endpoint is reported when the trigger is built
  }
  const from = baseUrl ? 'baseUrl' : env.FASTLY_API_ENDPOINT?.trim() ? 'FASTLY_API_ENDPOINT' : 'default';
  const problem = intervalProblem(interval, endpoint, from);
  if (problem) at.problem(['interval'], problem);
}

/** The time window one evaluation looks at. */
export function pollWindow(props: StatsTriggerProps, nowSeconds: number): { from: number; to: number } {
  const to = Math.floor(nowSeconds - seconds(props.delay));
  return { from: to - seconds(props.window), to };
}

/** Evaluations with the same key can share one API call. */
export function pollKey(props: StatsTriggerProps, window: { from: number; to: number }): string {
  return JSON.stringify([
    props.baseUrl ?? '',
    props.apiToken,
    props.serviceId,
    props.field,
    props.by,
    window.from,
    window.to,
  ]);
}

export async function fetchPoints(
  props: StatsTriggerProps,
  window: { from: number; to: number },
  ctx: TaskContext,
): Promise<StatsPoint[]> {
  const res = await historical(makeClient(props, ctx), {
    serviceId: props.serviceId,
    field: props.field,
    by: props.by,
    from: window.from,
    to: window.to,
  });
  return res.data[props.serviceId] ?? [];
}

export function aggregateValues(values: number[], aggregation: (typeof AGGREGATIONS)[number]): number | null {
  if (aggregation === 'SUM') return values.reduce((a, b) => a + b, 0);
  if (values.length === 0) return null;
  switch (aggregation) {
    case 'AVG':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'MIN':
      // reduce, not Math.min(...values): a long minute window is more arguments than the stack holds.
      return values.reduce((a, b) => Math.min(a, b), Infinity);
    case 'MAX':
      return values.reduce((a, b) => Math.max(a, b), -Infinity);
    default:
      return values[values.length - 1] ?? null;
  }
}

export function compare(value: number, comparator: (typeof COMPARATORS)[number], threshold: number): boolean {
  switch (comparator) {
    case 'GREATER_THAN':
      return value > threshold;
    case 'GREATER_THAN_OR_EQUAL':
      return value >= threshold;
    case 'LESS_THAN':
      return value < threshold;
    case 'LESS_THAN_OR_EQUAL':
      return value <= threshold;
    case 'EQUAL':
      return value === threshold;
    default:
      return value !== threshold;
  }
}

export interface Assessment {
  matched: boolean;
  value: number | null;
  variables: Record<string, unknown>;
}

/** Aggregates the points and compares; the variables are what `{{ trigger.* }}` shows when it fires. */
export function assess(
  props: StatsTriggerProps,
  points: StatsPoint[],
  window: { from: number; to: number },
): Assessment {
  const values = points.map((p) => Number(p[props.field])).filter((v) => Number.isFinite(v));
  const raw = aggregateValues(values, props.aggregation);
  const value = raw === null ? null : Number(raw.toFixed(6));
  const matched = value !== null && compare(value, props.comparator, props.threshold);
  return {
    matched,
    value,
    // Java plugin's StatsTrigger.Output: `Double value`, `Double threshold`; Pebble prints them 87.0.
    variables: {
      value: value === null ? null : double(value),
      threshold: double(props.threshold),
      field: props.field,
      comparator: props.comparator,
      serviceId: props.serviceId,
      window: props.window,
      from: new Date(window.from * 1000).toISOString(),
      to: new Date(window.to * 1000).toISOString(),
      date: new Date().toISOString(),
    },
  };
}

export type PointsFetcher = typeof fetchPoints;

/** One evaluation at `nowSeconds`; `fetch` lets a caller share identical polls. */
export async function evaluate(
  props: StatsTriggerProps,
  ctx: TaskContext,
  nowSeconds: number,
  fetch: PointsFetcher = fetchPoints,
): Promise<Assessment> {
  const window = pollWindow(props, nowSeconds);
  return assess(props, await fetch(props, window, ctx), window);
}

/** Edge or level triggering: whether this evaluation fires, and whether the trigger stays armed. */
export function decide(
  fireOn: (typeof FIRE_ON)[number],
  matched: boolean,
  armed: boolean,
): { fire: boolean; armed: boolean } {
  if (fireOn === 'EVERY_MATCH') return { fire: matched, armed: true };
  if (matched) return { fire: armed, armed: false };
  return { fire: false, armed: true };
}
