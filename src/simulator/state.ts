import type { TokenScope } from '../fastly/errors.js';
import { EdgeCache } from './cache.js';
import { FaultInjector } from './faults.js';

export interface SimService {
  id: string;
  name: string;
  domains: string[];
}

export interface RequestLogEntry {
  seq: number;
  /** Epoch ms when the answer was sent. */
  time: number;
  /** Epoch ms when the request arrived. */
  receivedAt?: number;
  /** The query string as received (e.g. from=…&to=…&by=minute). */
  query?: string;
  method: string;
  path: string;
  status: number;
  fault?: string;
  /** The answer was gzipped (the request accepted it). */
  gzip?: boolean;
  serviceId?: string;
  /** Number of surrogate keys in a bulk purge. */
  keys?: number;
  /** The surrogate keys a bulk purge named (answered or refused). */
  surrogateKeys?: string[];
  soft?: boolean;
  /** Stats queries: resolved window and bucket count served. */
  points?: number;
}

/** A scripted override of one stats field over a time window (e.g. a 5xx spike). */
export interface StatsScenario {
  serviceId?: string;
  field: string;
  /** Epoch seconds, inclusive. */
  from: number;
  /** Epoch seconds, exclusive. */
  to: number;
  /** Value per minute of the bucket (scaled to the bucket size). */
  perMinute: number;
}

export const DEMO_SERVICES: SimService[] = [
  { id: 'SU1Z0isxPaozGVKXdv0eY', name: 'www', domains: ['www.example.com', 'example.com'] },
  { id: '7i6HN3TK9wS159v2gPAZ8A', name: 'api', domains: ['api.example.com'] },
  { id: '2oQGKp8bLKXfXcCCwrDxwv', name: 'static', domains: ['static.example.com', 'cdn.example.com'] },
];

export const ALL_SCOPES: TokenScope[] = ['global', 'global:read', 'purge_select', 'purge_all'];

export interface SimulatorOptions {
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Default 127.0.0.1; the simulator never binds other interfaces unless told. */
  host?: string;
  services?: SimService[];
  /** Known tokens and their scopes. Absent: any well-formed token is accepted with every scope. */
  tokens?: Record<string, TokenScope[]>;
  /** Non-GET API calls allowed per hour per token (purge-all counts, URL/key purges do not). */
  hourlyLimit?: number;
  /**
   * URL and surrogate-key purges allowed per token per `purgeWindowSeconds` (each key of a bulk purge
   * counts, as Fastly counts them). Set, purge answers carry `Fastly-RateLimit-Remaining` / `-Reset`
   * and a purge past the budget is answered 429 with them (remaining 0). Default: no purge budget.
   */
  purgeLimit?: number;
  /** The purge budget's window (default 3600: Fastly's hourly average); a test shortens it. */
  purgeWindowSeconds?: number;
  /** Minimum seconds between two purge-alls of one service. */
  purgeAllIntervalSeconds?: number;
  /** Seconds before a finished stats bucket is reported (Fastly's data lag). */
  statsLagSeconds?: number;
  /** Fixed clock for stats (epoch ms); default the real clock. */
  now?: () => number;
  faults?: import('./faults.js').FaultOptions;
  /** Keep at most this many request-log entries (oldest dropped). */
  logLimit?: number;
  /** Only these stats fields in each point (plus service_id and start_time); default every field. */
  pointFields?: string[];
  /** Called once per request when it ends (never with headers: the token stays out). */
  onRequest?: (entry: RequestEnd) => void;
}

/** One finished request, for a request log: `status` is `reset` when the connection was cut. */
export interface RequestEnd {
  method: string;
  path: string;
  status: number | 'reset';
  ms: number;
}

export class SimState {
  services: Map<string, SimService>;
  tokens: Record<string, TokenScope[]> | undefined;
  readonly cache = new EdgeCache();
  readonly faults = new FaultInjector();
  readonly log: RequestLogEntry[] = [];
  scenarios: StatsScenario[] = [];
  hourlyLimit: number;
  purgeAllIntervalMs: number;
  statsLagSeconds: number;
  now: () => number;
  readonly logLimit: number;
  readonly pointFields: string[] | undefined;
  readonly hourlyUsage = new Map<string, { windowStart: number; count: number }>();
  purgeLimit: number | undefined;
  purgeWindowMs: number;
  readonly purgeUsage = new Map<string, { windowStart: number; count: number }>();
  readonly lastPurgeAll = new Map<string, number>();
  #seq = 0;
  #purgeSeq = 0;

  constructor(options: SimulatorOptions) {
    this.services = new Map((options.services ?? DEMO_SERVICES).map((s) => [s.id, s]));
    this.tokens = options.tokens;
    this.hourlyLimit = options.hourlyLimit ?? 1000;
    this.purgeAllIntervalMs = (options.purgeAllIntervalSeconds ?? 1) * 1000;
    this.purgeLimit = options.purgeLimit;
    this.purgeWindowMs = (options.purgeWindowSeconds ?? 3600) * 1000;
    this.statsLagSeconds = options.statsLagSeconds ?? 0;
    this.now = options.now ?? Date.now;
    this.logLimit = options.logLimit ?? 200_000;
    this.pointFields = options.pointFields;
    if (options.faults) this.faults.configure(options.faults);
  }

  record(entry: Omit<RequestLogEntry, 'seq' | 'time'>): void {
    this.log.push({ seq: ++this.#seq, time: Date.now(), ...entry });
    if (this.log.length > this.logLimit) this.log.splice(0, this.log.length - this.logLimit);
  }

  purgeId(): string {
    return `${++this.#purgeSeq}-${Math.floor(Date.now() / 1000)}-${(this.#purgeSeq * 7919) % 1000000}`;
  }

  serviceForHost(host: string): SimService | undefined {
    const h = host.toLowerCase().replace(/:\d+$/, '');
    for (const s of this.services.values()) if (s.domains.includes(h)) return s;
    return undefined;
  }
}
