import { channel } from 'node:diagnostics_channel';
import type { Level } from './levels.js';
import type { PurgeBudgetEvent } from './diagnostics-types.js';

export type { PurgeBudgetEvent };

/*
 * Every diagnostics channel of the package, in one table below every layer (as undici's
 * core/diagnostics). Lower layers publish without knowing who listens; the server's metrics and
 * dashboard and the CLI's --debug subscribe. A channel costs nothing without subscribers.
 */

/** Rate-limit state as reported by Fastly's `Fastly-RateLimit-*` headers. */
export interface RateLimitState {
  remaining?: number;
  /** Epoch seconds at which the hourly window resets. */
  reset?: number;
  /** Seconds the server asked us to wait (`Retry-After`). */
  retryAfter?: number;
}

/** One HTTP attempt of a Fastly operation, as seen by the client, published for whoever observes. */
export interface ApiAttemptEvent {
  operation: string;
  /** 1 for the first try; above 1 is a retry. */
  attempt: number;
  /** The HTTP status, or the network failure's code (ECONNRESET, TIMEOUT...) when there was none. */
  status: number | string;
  durationMs: number;
  rateLimit?: RateLimitState | undefined;
}

/** One evaluation of a trigger by the server. */
export interface TriggerEvaluationEvent {
  /** `namespace.flowId.triggerId` */
  key: string;
  namespace: string;
  flowId: string;
  triggerId: string;
  field: string;
  threshold: number;
  /** Epoch ms. */
  time: number;
  value?: number | null | undefined;
  matched?: boolean | undefined;
  fired: boolean;
  executionId?: string | undefined;
  /** Masked. */
  error?: string | undefined;
}

/** An execution starting or ending (any way it was started: trigger, run, API). */
export interface ExecutionEvent {
  phase: 'started' | 'ended';
  id: string;
  namespace: string;
  flowId: string;
  state?: string | undefined;
  durationMs?: number | undefined;
}

/** A log line of an execution, already masked. */
export interface LogEvent {
  time: string;
  level: Level;
  message: string;
  fields: Record<string, string>;
}

/** Surrogate keys a caller asked the coalescer to purge, and how many joined a batch already pending. */
export interface PurgeCoalesceEvent {
  /** Keys asked for (after each caller's own duplicates are removed). */
  requested: number;
  /** Of those, keys already pending in a batch not yet sent: they ride along, not sent again. */
  joined: number;
  /** Bulk requests that left (0 on a submission; 1 when a batch is sent). */
  requests: number;
}

/** Every attempt of every FastlyClient in the process. */
export const apiAttempts = channel('kestra-fastly:api-attempt');
/** Every evaluation of a trigger by the server. */
export const triggerEvaluations = channel('kestra-fastly:trigger-evaluation');
/** Every execution starting or ending. */
export const executionEvents = channel('kestra-fastly:execution');
/** Every log line, masked. */
export const logEvents = channel('kestra-fastly:log');
/** Every change of a purge budget of the process. */
export const purgeBudgetEvents = channel('kestra-fastly:purge-budget');
/** Every submission to a purge coalescer, and every batch it sends. */
export const purgeCoalesceEvents = channel('kestra-fastly:purge-coalesce');
