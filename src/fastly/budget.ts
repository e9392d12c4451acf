import { type Clock, systemClock } from '../clock.js';
import type { RateLimitState } from '../diagnostics.js';
import { type PurgeBudgetEvent, purgeBudgetEvents } from '../diagnostics.js';

/**
 * Fastly's limit on URL and surrogate-key purges: "an average of 100,000 purges per hour, per
 * customer", each key of a bulk purge counting as one (seed 004, "Limitations and constraints").
 */
export const DEFAULT_PURGES_PER_HOUR = 100_000;
const HOUR_MS = 3_600_000;

/** What a budget looks like now: for `/metrics` and the dashboard. Never the token. */
export type PurgeBudgetView = PurgeBudgetEvent;

/** Leave to send a purge request of some purges; tell it what the answers said, then release it. */
export interface BudgetGrant {
  /** Every attempt's answer (its rate-limit headers and status). */
  observe(rateLimit: RateLimitState, status: number): void;
  /** The request is over (answered, failed or abandoned): its purges leave the in-flight count. */
  release(): void;
}

interface Waiter {
  units: number;
  /**
   * The longest one wait may last (to the next reset, or to purges ageing out of the hour): a request
   * that would wait longer goes, and meets the 429 its client reports. Waiting through several short
   * windows behind other requests is progress, not one long wait.
   */
  maxWaitMs: number;
  resolve: (grant: BudgetGrant) => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal | undefined;
  onAbort?: () => void;
}

export interface PurgeBudgetOptions {
  perHour?: number | undefined;
  clock?: Clock | undefined;
  /** Waited past `Fastly-RateLimit-Reset` (whole seconds; clocks differ). */
  marginMs?: number | undefined;
}

/**
 * The purge budget of one account (endpoint and token) in this process, shared by every client,
 * execution and command of the process. Requests ask it for leave before they are sent
 * (`acquire(units)`, units = purges: keys of a bulk purge, 1 for a URL or a key) and wait, in order
 * of arrival, instead of running into a 429:
 *
 * - while an answer's `Fastly-RateLimit-Remaining` / `-Reset` are known, no more purges are in flight
 *   than remain, and once none remain the next request waits for the reset (plus a margin);
 * - until an answer says whether Fastly sends those headers for purges, and at the start of each
 *   new window, one request goes alone: it learns the window before the others spend it;
 * - whatever the headers say, the purges of the last hour (sent and in flight) stay within
 *   `perHour` (Fastly's average).
 */
export class PurgeBudget {
  readonly endpoint: string;
  readonly account: number;
  readonly perHour: number;
  readonly #clock: Clock;
  readonly #marginMs: number;
  #remaining: number | undefined;
  #resetAt: number | undefined;
  /** Whether purge answers carry Fastly-RateLimit-Remaining: unknown until one has answered. */
  #headers: 'unknown' | 'yes' | 'no' = 'unknown';
  #inFlight = 0;
  #inFlightRequests = 0;
  /**
   * The most purges one request may carry: a lower bound of the window's size, learnt from answers
   * (what remained after a request, plus the request when it was accepted). Undefined until learnt.
   */
  #largest: number | undefined;
  /** Purges accepted in the last hour, oldest first. */
  readonly #log: { at: number; units: number }[] = [];
  #used = 0;
  readonly #queue: Waiter[] = [];
  #cancelTimer: (() => void) | undefined;
  #timerAt: number | undefined;
  #waits = 0;
  #rateLimited = 0;

  constructor(endpoint: string, account: number, options: PurgeBudgetOptions = {}) {
    this.endpoint = endpoint;
    this.account = account;
    this.perHour = options.perHour ?? DEFAULT_PURGES_PER_HOUR;
    this.#clock = options.clock ?? systemClock;
    this.#marginMs = options.marginMs ?? 1000;
  }

  /**
   * Resolves with a grant once `units` purges may be sent; rejects with the signal's reason if it
   * aborts first. A request whose wait would last longer than `maxWaitMs` (what its client would sit
   * out for a 429: the reset an hour away) is not held: it goes, and its client reports the 429 as
   * it would have without a budget.
   */
  acquire(units: number, signal?: AbortSignal, maxWaitMs = Number.POSITIVE_INFINITY): Promise<BudgetGrant> {
    signal?.throwIfAborted();
    if (this.#queue.length === 0 && this.#mayGo(units)) return Promise.resolve(this.#grant(units));
    this.#waits++;
    return new Promise<BudgetGrant>((resolve, reject) => {
      const waiter: Waiter = { units, maxWaitMs, resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.#queue.indexOf(waiter);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(signal.reason as Error);
          this.#pump();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#queue.push(waiter);
      this.#pump();
    });
  }

  /**
   * The most purges one request should carry: a bulk purge larger than the whole window would meet a
   * 429 in every window, so callers split it (Fastly's own cap of 256 keys aside).
   */
  largestRequest(): number {
    return this.#largest ?? Number.POSITIVE_INFINITY;
  }

  view(): PurgeBudgetView {
    this.#expire(this.#clock.now());
    return {
      endpoint: this.endpoint,
      account: this.account,
      ...(this.#remaining !== undefined ? { remaining: this.#remaining, resetAt: this.#resetAt } : {}),
      usedLastHour: this.#used,
      perHour: this.perHour,
      inFlight: this.#inFlight,
      waiting: this.#queue.length,
      waits: this.#waits,
      rateLimited: this.#rateLimited,
    };
  }

  /** Forgets what has aged out: purges older than an hour, a window whose reset has passed. */
  #expire(now: number): void {
    while (this.#log.length && (this.#log[0] as { at: number }).at <= now - HOUR_MS)
      this.#used -= (this.#log.shift() as { units: number }).units;
    if (this.#resetAt !== undefined && now >= this.#resetAt + this.#marginMs) {
      this.#remaining = undefined;
      this.#resetAt = undefined;
    }
  }

  #mayGo(units: number): boolean {
    const now = this.#clock.now();
    this.#expire(now);
    // The hourly average; a request larger than the whole budget goes once nothing else counts.
    const spent = this.#used + this.#inFlight;
    if (spent > 0 && spent + units > this.perHour) return false;
    if (this.#remaining !== undefined) {
      if (this.#inFlight === 0) return this.#remaining >= units;
      return this.#remaining - this.#inFlight >= units;
    }
    // Window unknown (first answer not in, or a new window begun): one request learns it.
    if (this.#headers !== 'no') return this.#inFlightRequests === 0;
    return true;
  }

  /** Whether the head's next wait, for a reset or the hour (not for answers in flight), is too long. */
  #waitsTooLong(head: Waiter): boolean {
    const wake = this.#wakeAt(head.units);
    return wake !== undefined && wake - this.#clock.now() > head.maxWaitMs && this.#inFlightRequests === 0;
  }

  /** When waiting could end without an answer arriving: a reset, or purges ageing out of the hour. */
  #wakeAt(units: number): number | undefined {
    const times: number[] = [];
    if (this.#resetAt !== undefined) times.push(this.#resetAt + this.#marginMs);
    let excess = this.#used + this.#inFlight + units - this.perHour;
    for (const entry of this.#log) {
      if (excess <= 0) break;
      excess -= entry.units;
      if (excess <= 0) times.push(entry.at + HOUR_MS);
    }
    return times.length ? Math.min(...times) : undefined;
  }

  #grant(units: number): BudgetGrant {
    this.#inFlight += units;
    this.#inFlightRequests++;
    let released = false;
    let accepted = false;
    this.#publish();
    return {
      observe: (rl, status) => {
        if (rl.remaining !== undefined && rl.reset !== undefined) {
          this.#headers = 'yes';
          const resetAt = rl.reset * 1000;
          // Answers overtake each other: within one window the fewest remaining is the latest news,
          // and an answer from a window already over says nothing of the current one.
          if (this.#remaining === undefined || this.#resetAt === undefined || resetAt > this.#resetAt) {
            this.#remaining = rl.remaining;
            this.#resetAt = resetAt;
          } else if (resetAt === this.#resetAt) this.#remaining = Math.min(this.#remaining, rl.remaining);
          const seen = rl.remaining + (status < 400 ? units : 0);
          if (seen > 0) this.#largest = Math.max(this.#largest ?? 0, seen);
        } else if (status < 400) {
          // (A remaining without its reset cannot be planned with: nothing would say when to go on.)
          // Purge answers without the headers: only the hourly average limits (a 429's claim is over).
          this.#headers = 'no';
          this.#remaining = undefined;
          this.#resetAt = undefined;
        }
        if (status === 429) {
          this.#rateLimited++;
          if (rl.remaining === undefined && rl.reset !== undefined) {
            this.#remaining = 0;
            this.#resetAt = rl.reset * 1000;
          }
        }
        if (status < 400) accepted = true;
      },
      release: () => {
        if (released) return;
        released = true;
        this.#inFlight -= units;
        this.#inFlightRequests--;
        if (accepted) {
          this.#log.push({ at: this.#clock.now(), units });
          this.#used += units;
        }
        this.#pump();
      },
    };
  }

  #pump(): void {
    while (this.#queue.length) {
      const head = this.#queue[0] as Waiter;
      if (!this.#mayGo(head.units) && !this.#waitsTooLong(head)) break;
      this.#queue.shift();
      if (head.onAbort) head.signal?.removeEventListener('abort', head.onAbort);
      head.resolve(this.#grant(head.units));
    }
    const head = this.#queue[0];
    const wake = head ? this.#wakeAt(head.units) : undefined;
    if (wake !== this.#timerAt) {
      this.#cancelTimer?.();
      this.#cancelTimer = undefined;
      this.#timerAt = wake;
      if (wake !== undefined)
        this.#cancelTimer = this.#clock.at(wake, () => {
          this.#timerAt = undefined;
          this.#cancelTimer = undefined;
          this.#pump();
        });
    }
    this.#publish();
  }

  #publish(): void {
    if (!purgeBudgetEvents.hasSubscribers) return;
    const event: PurgeBudgetEvent = this.view();
    purgeBudgetEvents.publish(event);
  }
}
