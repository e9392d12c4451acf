import { seededRandom } from './random.js';

export interface FaultOptions {
  /** Seed of the fault sequence; the same seed gives the same faults for the same request order. */
  seed?: number;
  /** Added to every response, in ms. */
  latencyMs?: number;
  /** Up to this many ms more, drawn per request (realistic jitter). */
  latencyJitterMs?: number;
  /** Fractions (0–1) of requests answered with each fault. */
  rate5xx?: number;
  rate429?: number;
  rateReset?: number;
  rateHang?: number;
  rateTruncate?: number;
  /** Fractions answered 200 with a non-JSON body, or with JSON of an unexpected shape. */
  rateGarbage?: number;
  rateShape?: number;
  /** After `after` (default 0) answered normally, the next `count` matching requests get `fault` (then the rates apply): a burst. */
  burst?: { fault: Exclude<Fault, 'none'>; count: number; after?: number };
  /** `Retry-After` seconds on injected 429s (0 sends only `Fastly-RateLimit-Reset`). */
  retryAfterSeconds?: number;
  /** Only requests whose path starts with one of these get faults (default: every API path). */
  paths?: string[];
}

export type Fault = 'none' | '5xx' | '429' | 'reset' | 'hang' | 'truncate' | 'garbage' | 'shape';

export class FaultInjector {
  options: FaultOptions = {};
  #random: () => number = seededRandom(1);
  #burstLeft = 0;
  #burstAfter = 0;

  configure(options: FaultOptions): void {
    this.options = { ...options };
    this.#random = seededRandom(options.seed ?? 1);
    this.#burstLeft = options.burst?.count ?? 0;
    this.#burstAfter = options.burst?.after ?? 0;
  }

  pick(path: string): Fault {
    const o = this.options;
    if (o.paths && !o.paths.some((p) => path.startsWith(p))) return 'none';
    if (this.#burstAfter > 0 && o.burst) {
      this.#burstAfter--;
      return 'none';
    }
    if (this.#burstLeft > 0 && o.burst) {
      this.#burstLeft--;
      return o.burst.fault;
    }
    const r = this.#random();
    let edge = 0;
    for (const [fault, rate] of [
      ['5xx', o.rate5xx],
      ['429', o.rate429],
      ['reset', o.rateReset],
      ['hang', o.rateHang],
      ['truncate', o.rateTruncate],
      ['garbage', o.rateGarbage],
      ['shape', o.rateShape],
    ] as const) {
      edge += rate ?? 0;
      if (r < edge) return fault;
    }
    return 'none';
  }
}
