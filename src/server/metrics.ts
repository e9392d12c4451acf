import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import {
  type ApiAttemptEvent,
  apiAttempts,
  type ExecutionEvent,
  executionEvents,
  type PurgeBudgetEvent,
  purgeBudgetEvents,
  type PurgeCoalesceEvent,
  purgeCoalesceEvents,
  type TriggerEvaluationEvent,
  triggerEvaluations,
} from '../diagnostics.js';

const TRIGGER = ['namespace', 'flow', 'trigger'] as const;

/**
 * The server's Prometheus metrics: triggers, Fastly API calls and executions, fed by the diagnostics
 * channels the client, the scheduler and the executor publish on. One registry per server.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly #subscriptions: [string, (message: unknown) => void][] = [];

  readonly triggerValue = new Gauge({
    name: 'kestra_fastly_trigger_value',
    help: 'Aggregated value of the field a StatsTrigger watches, at its last evaluation',
    labelNames: [...TRIGGER, 'field'],
    registers: [this.registry],
  });
  readonly triggerThreshold = new Gauge({
    name: 'kestra_fastly_trigger_threshold',
    help: 'Threshold a StatsTrigger compares its value with',
    labelNames: [...TRIGGER, 'field'],
    registers: [this.registry],
  });
  readonly triggerEvaluations = new Counter({
    name: 'kestra_fastly_trigger_evaluations_total',
    help: 'StatsTrigger evaluations, failed ones included',
    labelNames: TRIGGER,
    registers: [this.registry],
  });
  readonly triggerFirings = new Counter({
    name: 'kestra_fastly_trigger_firings_total',
    help: 'StatsTrigger evaluations that started an execution',
    labelNames: TRIGGER,
    registers: [this.registry],
  });
  readonly triggerErrors = new Counter({
    name: 'kestra_fastly_trigger_errors_total',
    help: 'StatsTrigger evaluations that failed (API or configuration error)',
    labelNames: TRIGGER,
    registers: [this.registry],
  });
  readonly apiRequests = new Counter({
    name: 'kestra_fastly_api_requests_total',
    help: 'HTTP requests to the Fastly API, retries included, by operation and HTTP status (or network error code)',
    labelNames: ['operation', 'status'],
    registers: [this.registry],
  });
  readonly apiDuration = new Histogram({
    name: 'kestra_fastly_api_request_duration_seconds',
    help: 'Time to a complete answer from the Fastly API, per attempt',
    labelNames: ['operation'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly apiRetries = new Counter({
    name: 'kestra_fastly_api_retries_total',
    help: 'Fastly API attempts that were retries of a failed one',
    labelNames: ['operation'],
    registers: [this.registry],
  });
  readonly rateLimitRemaining = new Gauge({
    name: 'kestra_fastly_api_ratelimit_remaining',
    // Labelled so that nothing is exposed until an answer has carried the header: an unlabelled
    // gauge reads 0 from the start, which a `remaining < N` alert would take for exhaustion.
    help: 'Fastly-RateLimit-Remaining of the latest answer to this operation that carried it',
    labelNames: ['operation'],
    registers: [this.registry],
  });
  // The purge budget of each account (endpoint, and the account's number there: never the token).
  readonly purgeBudgetRemaining = new Gauge({
    name: 'kestra_fastly_purge_budget_remaining',
    help: 'Purges Fastly says remain in its window (Fastly-RateLimit-Remaining of the latest purge answer), while the window lasts',
    labelNames: ['endpoint', 'account'],
    registers: [this.registry],
    // No event marks a window's end: a scrape drops what has ended, or a `remaining < N` alert
    // would keep firing on the last window's figure.
    collect: () => this.#expireWindows(Date.now()),
  });
  readonly purgeBudgetReset = new Gauge({
    name: 'kestra_fastly_purge_budget_reset_timestamp_seconds',
    help: "When Fastly's purge window resets (Fastly-RateLimit-Reset), while it lasts",
    labelNames: ['endpoint', 'account'],
    registers: [this.registry],
  });
  readonly purgeBudgetUsed = new Gauge({
    name: 'kestra_fastly_purge_budget_used_last_hour',
    help: 'Purges (keys and URLs) Fastly accepted from this process in the last hour, all executions together',
    labelNames: ['endpoint', 'account'],
    registers: [this.registry],
  });
  readonly purgeBudgetLimit = new Gauge({
    name: 'kestra_fastly_purge_budget_per_hour',
    help: 'The hourly purge average this process keeps to (Fastly: 100,000 per customer)',
    labelNames: ['endpoint', 'account'],
    registers: [this.registry],
  });
  readonly purgeBudgetInFlight = new Gauge({
    name: 'kestra_fastly_purge_budget_in_flight',
    help: 'Purges in requests under way',
    labelNames: ['endpoint', 'account'],
    registers: [this.registry],
  });
  readonly purgeBudgetWaiting = new Gauge({
    name: 'kestra_fastly_purge_budget_waiting_requests',
    help: 'Purge requests waiting for budget now (spread out instead of sent into a 429)',
    labelNames: ['endpoint', 'account'],
    registers: [this.registry],
  });
  readonly purgeBudgetWaits = new Counter({
    name: 'kestra_fastly_purge_budget_waits_total',
    help: 'Purge requests that waited for budget',
    labelNames: ['endpoint', 'account'],
    registers: [this.registry],
  });
  readonly purgeRateLimited = new Counter({
    name: 'kestra_fastly_purge_rate_limited_total',
    help: 'Purge answers that were 429 (the budget did not know, or another process spent it)',
    labelNames: ['endpoint', 'account'],
    registers: [this.registry],
  });
  readonly purgeKeysRequested = new Counter({
    name: 'kestra_fastly_purge_keys_requested_total',
    help: 'Surrogate keys executions asked to purge through the coalescer',
    registers: [this.registry],
  });
  readonly purgeKeysJoined = new Counter({
    name: 'kestra_fastly_purge_keys_coalesced_total',
    help: 'Of those, keys already pending in a batch not yet sent: purged by that batch, not sent again',
    registers: [this.registry],
  });
  readonly purgeBatches = new Counter({
    name: 'kestra_fastly_purge_coalesced_requests_total',
    help: 'Bulk purge requests the coalescer sent',
    registers: [this.registry],
  });
  readonly #budgetSeen = new Map<string, { waits: number; rateLimited: number }>();
  /** Each account's current window: when it ends (epoch ms). */
  readonly #windows = new Map<string, { labels: { endpoint: string; account: string }; resetAt: number }>();
  readonly executions = new Counter({
    name: 'kestra_fastly_executions_total',
    help: 'Finished executions by flow and final state',
    labelNames: ['namespace', 'flow', 'state'],
    registers: [this.registry],
  });
  readonly executionsRunning = new Gauge({
    name: 'kestra_fastly_executions_running',
    help: 'Executions under way',
    labelNames: ['namespace', 'flow'],
    registers: [this.registry],
  });
  readonly executionDuration = new Histogram({
    name: 'kestra_fastly_execution_duration_seconds',
    help: 'Duration of finished executions',
    labelNames: ['namespace', 'flow', 'state'],
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.#on(apiAttempts.name as string, (m) => this.#api(m as ApiAttemptEvent));
    this.#on(purgeBudgetEvents.name as string, (m) => this.#budget(m as PurgeBudgetEvent));
    this.#on(purgeCoalesceEvents.name as string, (m) => this.#coalesce(m as PurgeCoalesceEvent));
    this.#on(triggerEvaluations.name as string, (m) => this.#trigger(m as TriggerEvaluationEvent));
    this.#on(executionEvents.name as string, (m) => this.#execution(m as ExecutionEvent));
  }

  #expireWindows(nowMs: number): void {
    for (const [key, w] of this.#windows) {
      if (w.resetAt > nowMs) continue;
      this.purgeBudgetRemaining.remove(w.labels);
      this.purgeBudgetReset.remove(w.labels);
      this.#windows.delete(key);
    }
  }

  #on(name: string, handler: (message: unknown) => void): void {
    subscribe(name, handler);
    this.#subscriptions.push([name, handler]);
  }

  #api(e: ApiAttemptEvent): void {
    this.apiRequests.inc({ operation: e.operation, status: String(e.status) });
    this.apiDuration.observe({ operation: e.operation }, e.durationMs / 1000);
    if (e.attempt > 1) this.apiRetries.inc({ operation: e.operation });
    if (e.rateLimit?.remaining !== undefined)
      this.rateLimitRemaining.set({ operation: e.operation }, e.rateLimit.remaining);
  }

  #budget(e: PurgeBudgetEvent): void {
    const labels = { endpoint: e.endpoint, account: String(e.account) };
    if (e.remaining !== undefined) this.purgeBudgetRemaining.set(labels, e.remaining);
    else this.purgeBudgetRemaining.remove(labels);
    if (e.resetAt !== undefined) this.purgeBudgetReset.set(labels, Math.round(e.resetAt / 1000));
    else this.purgeBudgetReset.remove(labels);
    const key = `${labels.endpoint} ${labels.account}`;
    if (e.resetAt !== undefined) this.#windows.set(key, { labels, resetAt: e.resetAt });
    else this.#windows.delete(key);
    this.purgeBudgetUsed.set(labels, e.usedLastHour);
    this.purgeBudgetLimit.set(labels, e.perHour);
    this.purgeBudgetInFlight.set(labels, e.inFlight);
    this.purgeBudgetWaiting.set(labels, e.waiting);
    // The events carry running totals; a counter grows by what is new since the last one.
    const seen = this.#budgetSeen.get(key) ?? { waits: 0, rateLimited: 0 };
    // (An increment of 0 shows the account's counter at 0 rather than no sample at all.)
    this.purgeBudgetWaits.inc(labels, Math.max(0, e.waits - seen.waits));
    this.purgeRateLimited.inc(labels, Math.max(0, e.rateLimited - seen.rateLimited));
    this.#budgetSeen.set(key, { waits: e.waits, rateLimited: e.rateLimited });
  }

  #coalesce(e: PurgeCoalesceEvent): void {
    if (e.requested) this.purgeKeysRequested.inc(e.requested);
    if (e.joined) this.purgeKeysJoined.inc(e.joined);
    if (e.requests) this.purgeBatches.inc(e.requests);
  }

  #trigger(e: TriggerEvaluationEvent): void {
    const labels = { namespace: e.namespace, flow: e.flowId, trigger: e.triggerId };
    this.triggerEvaluations.inc(labels);
    this.triggerThreshold.set({ ...labels, field: e.field }, e.threshold);
    if (e.error !== undefined) this.triggerErrors.inc(labels);
    if (typeof e.value === 'number') this.triggerValue.set({ ...labels, field: e.field }, e.value);
    if (e.fired) this.triggerFirings.inc(labels);
  }

  #execution(e: ExecutionEvent): void {
    const flow = { namespace: e.namespace, flow: e.flowId };
    if (e.phase === 'started') {
      this.executionsRunning.inc(flow);
      return;
    }
    this.executionsRunning.dec(flow);
    const labels = { ...flow, state: e.state ?? 'UNKNOWN' };
    this.executions.inc(labels);
    if (e.durationMs !== undefined) this.executionDuration.observe(labels, e.durationMs / 1000);
  }

  /** The text exposition format, for `GET /metrics`. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    for (const [name, handler] of this.#subscriptions.splice(0)) unsubscribe(name, handler);
    this.registry.clear();
  }
}
