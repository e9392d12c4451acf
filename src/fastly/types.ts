import type { StatsField } from './fields.js';

export type By = 'minute' | 'hour' | 'day';
export const BY_VALUES: readonly By[] = ['minute', 'hour', 'day'];
export const BUCKET_SECONDS: Record<By, number> = { minute: 60, hour: 3600, day: 86400 };

/** One time bucket of historical stats. An open map: Fastly adds fields over time. */
export type StatsPoint = {
  start_time: number;
  service_id?: string;
} & Partial<Record<StatsField, number>> &
  Record<string, unknown>;

export interface StatsMeta {
  from: string;
  to: string;
  by: string;
  region: string;
  [extra: string]: unknown;
}

/** Fastly's historical-stats envelope. `status` is "success" on success (not "ok"). */
export interface StatsEnvelope<T> {
  status: string;
  meta: StatsMeta;
  msg: string | null;
  data: T;
}

export interface UsageFigures {
  bandwidth: number;
  requests: number;
  compute_requests: number;
  [extra: string]: unknown;
}

/** `/stats/usage`: region → usage. */
export type UsageByRegion = Record<string, UsageFigures>;
/** `/stats/usage_by_service`: region → service id → usage. */
export type UsageByService = Record<string, Record<string, UsageFigures>>;

/** `/stats/usage_by_month`. */
export interface MonthToDateUsageData {
  customer_id: string;
  services: Record<string, { name: string } & Record<string, UsageFigures | string>>;
  total: Record<string, UsageFigures>;
}
