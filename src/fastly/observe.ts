import { channel } from 'node:diagnostics_channel';
import type { RateLimitState } from './errors.js';

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

/**
 * Every attempt of every FastlyClient in the process. A diagnostics channel costs nothing when no one
 * subscribes, and lets the server count requests without the client knowing about metrics.
 */
export const apiAttempts = channel('kestra-fastly:api-attempt');
