import { seededRandom } from './random.js';

export interface FaultOptions {
  /** Seed of the fault sequence; the same seed gives the same faults for the same request order. */
  seed?: number;
  /** Added to every response, in ms. */
  latencyMs?: number;
  /** Fractions (0–1) of requests answered with each fault. */
  rate5xx?: number;
  rate429?: number;
  rateReset?: number;
  rateHang?: number;
  rateTruncate?: number;
  /** `Retry-After` seconds on injected 429s (0 sends only `Fastly-RateLimit-Reset`). */
  retryAfterSeconds?: number;
  /** Only requests whose path starts with one of these get faults (default: every API path). */
  paths?: string[];
}

export type Fault = 'none' | '5xx' | '429' | 'reset' | 'hang' | 'truncate';

export class FaultInjector {
  options: FaultOptions = {};
  #random: () => number = seededRandom(1);

  configure(options: FaultOptions): void {
    this.options = { ...options };
    this.#random = seededRandom(options.seed ?? 1);
  }

  pick(path: string): Fault {
    const o = this.options;
    if (o.paths && !o.paths.some((p) => path.startsWith(p))) return 'none';
    const r = this.#random();
    let edge = 0;
    for (const [fault, rate] of [
      ['5xx', o.rate5xx],
      ['429', o.rate429],
      ['reset', o.rateReset],
      ['hang', o.rateHang],
      ['truncate', o.rateTruncate],
    ] as const) {
      edge += rate ?? 0;
      if (r < edge) return fault;
    }
    return 'none';
  }
}
