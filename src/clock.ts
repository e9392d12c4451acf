/** Time as the scheduler sees it: the system clock in production, a ManualClock in tests and benchmarks. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` once when the clock reaches `atMs` (at once if it already has); returns a cancel function. */
  at(atMs: number, fn: () => void): () => void;
}

/** setTimeout's longest delay; longer waits are re-armed in steps. */
const MAX_DELAY = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  at(atMs, fn) {
    let timer: NodeJS.Timeout;
    const arm = () => {
      timer = setTimeout(
        () => (Date.now() >= atMs ? fn() : arm()),
        Math.min(MAX_DELAY, Math.max(0, atMs - Date.now())),
      );
    };
    arm();
    return () => clearTimeout(timer);
  },
};

interface ManualTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/** A clock that moves only when told to: `advance()` fires due timers in time order, synchronously. */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Set<ManualTimer>();

  constructor(startMs = Date.now()) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  at(atMs: number, fn: () => void): () => void {
    const timer = { at: atMs, seq: this.#seq++, fn };
    this.#timers.add(timer);
    return () => this.#timers.delete(timer);
  }

  /** When the earliest timer is due, if any. */
  get nextAt(): number | undefined {
    return this.#earliest()?.at;
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves to `now + ms`, firing every timer due on the way (each sees the clock at its own time). */
  advance(ms: number): number {
    return this.advanceTo(this.#now + ms);
  }

  advanceTo(targetMs: number): number {
    let fired = 0;
    for (let t = this.#earliest(); t && t.at <= targetMs; t = this.#earliest()) {
      this.#timers.delete(t);
      this.#now = Math.max(this.#now, t.at);
      fired++;
      t.fn();
    }
    this.#now = Math.max(this.#now, targetMs);
    return fired;
  }

  #earliest(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.#timers)
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }
}

/**
 * Waits `ms` on `clock`; rejects as `node:timers/promises` does (an `AbortError` whose cause is the
 * reason) when `signal` aborts, at once if it already has.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  const aborted = () =>
    Object.assign(new Error('The operation was aborted', { cause: signal?.reason }), {
      name: 'AbortError',
      code: 'ABORT_ERR',
    });
  if (signal?.aborted) return Promise.reject(aborted());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      cancel();
      reject(aborted());
    };
    const cancel = clock.at(clock.now() + ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

let lastWallMs = 0;

/**
 * The wall clock as ISO-8601, never earlier than its last answer in this process: an execution's
 * transitions keep their order when the system clock steps back (a VM's clock under load stepped
 * 1 ms back between CREATED and RUNNING on the Node 24 run of the suite).
 */
export function wallNowIso(): string {
  const t = Date.now();
  if (t > lastWallMs) lastWallMs = t;
  return new Date(lastWallMs).toISOString();
}
