/*
 * Event types of diagnostics.ts that code without Node reads too: the dashboard's browser bundle
 * (src/server/dashboard/client, through model.ts) cannot import diagnostics.ts, which opens
 * node:diagnostics_channel. Types only, nothing runs (test/layers.test.ts checks both).
 */

/** A purge budget's state after a change (see fastly/budget.ts): for the server's metrics and dashboard. Never the token. */
export interface PurgeBudgetEvent {
  /** The API endpoint (base URL) the budget is spent against. */
  endpoint: string;
  /** Which account (token) of that endpoint, numbered in order of first use: 1, 2… */
  account: number;
  /** `Fastly-RateLimit-Remaining` of the latest purge answer that carried it, while its window lasts. */
  remaining?: number | undefined;
  /** Epoch ms when that window ends (`Fastly-RateLimit-Reset`). */
  resetAt?: number | undefined;
  /** Purges Fastly accepted from this process in the last hour. */
  usedLastHour: number;
  /** The hourly average this process keeps to. */
  perHour: number;
  /** Purges in requests under way. */
  inFlight: number;
  /** Requests waiting for budget now. */
  waiting: number;
  /** Requests that had to wait for budget, since start. */
  waits: number;
  /** 429 answers to purges, since start. */
  rateLimited: number;
}
