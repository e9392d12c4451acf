import { type Clock, systemClock } from '../clock.js';
import { PurgeBudget, type PurgeBudgetView } from './budget.js';
import { PurgeTooLargeError } from './errors.js';
import { type PurgeCoalesceEvent, purgeCoalesceEvents } from '../diagnostics.js';

/** Fastly refuses bulk purges of more keys than this in one request. */
export const MAX_KEYS_PER_REQUEST = 256;
/** The server's linger: long enough for a burst's webhooks to meet, short next to the API's latency. */
export const DEFAULT_SERVER_LINGER_MS = 25;
/** Fastly allows one purge-all a second per service (seed 002). */
export const PURGE_ALL_INTERVAL_MS = 1000;

export interface PurgeCoordinatorOptions {
  /**
   * How long a batch of surrogate keys waits for more keys before it leaves (it leaves at once when
   * it holds 256). 0 (the default) turns coalescing off: each call sends its own requests.
   */
  lingerMs?: number | undefined;
  /** The hourly purge average each account keeps to (default 100,000, Fastly's). */
  purgesPerHour?: number | undefined;
  /** Waited past a `Fastly-RateLimit-Reset` (default 1000 ms). */
  rateLimitMarginMs?: number | undefined;
  /** Between two purge-alls of one service (default 1000 ms). */
  purgeAllIntervalMs?: number | undefined;
  /** Bulk requests of one coalescing group in flight at once (default 40). */
  maxInFlight?: number | undefined;
  /**
   * A batch that is not full leaves after the linger only while fewer requests of its group than this
   * are in flight (default 1); otherwise it keeps filling until one comes back (or it is full). Under a
   * burst a request then carries everything that arrived during the previous round trip; alone, a
   * purge still leaves after the linger.
   */
  maxPartialInFlight?: number | undefined;
  clock?: Clock | undefined;
}

/** What became of a caller's keys in the coalescer. */
export interface CoalescedOutcome {
  /** Keys Fastly acknowledged, with their purge id. */
  ids: Record<string, string>;
  /** Keys whose request failed (or whose answer left them out: `error` undefined). */
  failed: { key: string; error: unknown }[];
  /** Keys never sent: the caller stopped, or a failure every request would meet stopped the group. */
  notSent: { key: string; reason: string }[];
  /** Keys whose request was under way when the caller abandoned it (`abandon`): their fate is unknown. */
  cancelled: { key: string; reason: string }[];
  /** Bulk requests that carried this caller's keys to the API. */
  requests: number;
}

/** Sends one bulk request of `keys` (already cleared with the budget: `grant`). */
export type BatchSender = (
  keys: string[],
  grant: import('./budget.js').BudgetGrant,
  /** Aborted when every caller of the batch has abandoned it: the request is cancelled. */
  signal?: AbortSignal,
) => Promise<Record<string, string>>;

export interface CoalesceRequest {
  /** The coalescing group: account (endpoint + token), service and soft flag. Never shown. */
  group: string;
  budget: PurgeBudget;
  /** The longest a batch waits for budget before it goes anyway (see `PurgeBudget.acquire`). */
  maxWaitMs: number;
  keys: readonly string[];
  /** How a batch of this group is sent; the first caller's sender serves the batch. */
  send: BatchSender;
  /** Whether an error is one every request of the group would meet (bad token, unknown service). */
  isFatal: (err: unknown) => boolean;
  /** Stops this caller: its keys not yet sent are withdrawn (and reported not sent); sent ones settle. */
  stop?: AbortSignal | undefined;
  /** Cancels this caller: its unsent keys are withdrawn and the promise rejects with the reason. */
  signal?: AbortSignal | undefined;
  /**
   * Abandons this caller (a killed execution): its unsent keys are withdrawn (not sent), its keys in
   * requests under way are reported `cancelled`, a request no other caller waits for is aborted,
   * and the promise resolves at once with the account.
   */
  abandon?: AbortSignal | undefined;
  /** Called as this caller's keys settle. */
  onSettled?: ((keys: number) => void) | undefined;
  /**
   * The most requests carrying this caller's keys that may be under way (or pending) at once: its
   * keys join batches only while fewer than this hold some of them (default: no bound but the group's).
   */
  maxInFlight?: number | undefined;
}

interface Submission {
  readonly request: CoalesceRequest;
  readonly group: Group;
  readonly outcome: CoalescedOutcome;
  unsettled: number;
  /** Batches holding some of its keys, not yet settled for it: never more than `limit`. */
  readonly batches: Set<Batch>;
  readonly limit: number;
  /** Its keys not yet in a batch (`request.keys` from `next` on, then `requeued` first). */
  next: number;
  requeued: string[];
  resolve: (o: CoalescedOutcome) => void;
  reject: (err: unknown) => void;
  cleanup: () => void;
}

interface Batch {
  readonly group: Group;
  /** Key → callers waiting for it. */
  readonly keys: Map<string, Set<Submission>>;
  state: 'open' | 'sealed' | 'sent';
  cancelLinger?: (() => void) | undefined;
  /** Its linger is over: it leaves as soon as its group has room for a partial batch. */
  lingered?: boolean;
  /** Aborts the wait for budget when every key has been withdrawn. */
  readonly abandon: AbortController;
  readonly send: BatchSender;
}

interface Group {
  readonly id: string;
  readonly budget: PurgeBudget;
  readonly maxWaitMs: number;
  readonly isFatal: (err: unknown) => boolean;
  open: Batch | undefined;
  /** Batches not yet on the wire (open, sealed, or waiting for budget): keys in them may be joined. */
  readonly unsent: Set<Batch>;
  /** Each key in an unsent batch → that batch (a key is in one unsent batch at most). */
  readonly pending: Map<string, Batch>;
  /** Sealed batches waiting for an in-flight slot, in order. */
  readonly queue: Batch[];
  inFlight: number;
  /** Callers with keys not yet in a batch (held back by their own `maxInFlight`). */
  readonly waiting: Set<Submission>;
}

/**
 * The purge traffic of a process, shared by every client that uses it (the server makes one for all
 * its executions; everything else shares `sharedPurgeCoordinator()`):
 *
 * - **Coalescing** (when `lingerMs` > 0): surrogate-key purges of one group (account, service, soft)
 *   waiting to be sent join one pending batch of up to 256 keys, which leaves when full or after the
 *   linger. A key already in a batch not yet sent is not added again; a key is never added to a batch
 *   already sent (that request may reach Fastly before the content changed). Each caller learns the
 *   fate of its own keys only.
 * - **A purge budget** per account (`PurgeBudget`): every purge request asks it for leave.
 * - **Purge-all serialised** per service: one at a time, at most one a second, waiting not failing.
 */
export class PurgeCoordinator {
  readonly lingerMs: number;
  readonly maxInFlight: number;
  readonly maxPartialInFlight: number;
  readonly purgeAllIntervalMs: number;
  readonly #clock: Clock;
  readonly #budgetOptions: { perHour?: number | undefined; marginMs?: number | undefined };
  readonly #budgets = new Map<string, PurgeBudget>();
  readonly #accounts = new Map<string, number>();
  readonly #groups = new Map<string, Group>();
  readonly #purgeAll = new Map<string, { turn: Promise<void>; lastAt: number | undefined }>();

  constructor(options: PurgeCoordinatorOptions = {}) {
    this.lingerMs = Math.max(0, options.lingerMs ?? 0);
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 40);
    this.maxPartialInFlight = Math.max(1, options.maxPartialInFlight ?? 1);
    this.purgeAllIntervalMs = options.purgeAllIntervalMs ?? PURGE_ALL_INTERVAL_MS;
    this.#clock = options.clock ?? systemClock;
    this.#budgetOptions = { perHour: options.purgesPerHour, marginMs: options.rateLimitMarginMs };
  }

  /** The budget of an account; `account` identifies it (endpoint and token) and is never shown. */
  budget(endpoint: string, account: string): PurgeBudget {
    let budget = this.#budgets.get(account);
    if (!budget) {
      const perEndpoint = this.#accounts.get(endpoint) ?? 0;
      this.#accounts.set(endpoint, perEndpoint + 1);
      budget = new PurgeBudget(endpoint, perEndpoint + 1, { ...this.#budgetOptions, clock: this.#clock });
      this.#budgets.set(account, budget);
    }
    return budget;
  }

  /** Every account's budget as it stands. */
  budgets(): PurgeBudgetView[] {
    return [...this.#budgets.values()].map((b) => b.view());
  }

  /**
   * Runs `send` (a purge-all of one service: `key`) after the previous one of that service has ended
   * and at least `purgeAllIntervalMs` after its answer came.
   */
  async purgeAllTurn<T>(key: string, send: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const slot = this.#purgeAll.get(key) ?? { turn: Promise.resolve(), lastAt: undefined };
    this.#purgeAll.set(key, slot);
    const previous = slot.turn;
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    slot.turn = mine;
    try {
      await previous;
      if (slot.lastAt !== undefined) await this.#until(slot.lastAt + this.purgeAllIntervalMs, signal);
      else signal?.throwIfAborted();
      return await send();
    } finally {
      // Counted from the answer (the API saw the purge-all before it answered), so that the next one
      // reaches it at least the interval later. The slot stays: a time per service purged.
      slot.lastAt = this.#clock.now();
      done();
    }
  }

  #until(atMs: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#clock.now() >= atMs) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        cancel();
        reject(signal?.reason as Error);
      };
      const cancel = this.#clock.at(atMs, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Queues a caller's (distinct, valid) keys for coalesced sending; resolves once every one has settled. */
  coalesce(request: CoalesceRequest): Promise<CoalescedOutcome> {
    request.signal?.throwIfAborted();
    const outcome: CoalescedOutcome = { ids: {}, failed: [], notSent: [], cancelled: [], requests: 0 };
    if (request.keys.length === 0) return Promise.resolve(outcome);
    return new Promise<CoalescedOutcome>((resolve, reject) => {
      const sub: Submission = {
        request,
        group: this.#group(request),
        outcome,
        unsettled: request.keys.length,
        batches: new Set(),
        limit: Math.max(1, request.maxInFlight ?? Number.POSITIVE_INFINITY),
        next: 0,
        requeued: [],
        resolve,
        reject,
        cleanup: () => {},
      };
      this.#coalesced({ requested: request.keys.length, joined: 0, requests: 0 });
      this.#place(sub);
      const withdraw = (reason: string) => this.#withdraw(sub, reason);
      const onStop = () => withdraw(reasonOf(request.stop?.reason));
      const onCancel = () => {
        withdraw(reasonOf(request.signal?.reason));
        sub.cleanup();
        reject(request.signal?.reason as Error);
      };
      const onAbandon = () => this.#abandon(sub, reasonOf(request.abandon?.reason));
      request.stop?.addEventListener('abort', onStop, { once: true });
      request.signal?.addEventListener('abort', onCancel, { once: true });
      request.abandon?.addEventListener('abort', onAbandon, { once: true });
      sub.cleanup = () => {
        request.stop?.removeEventListener('abort', onStop);
        request.signal?.removeEventListener('abort', onCancel);
        request.abandon?.removeEventListener('abort', onAbandon);
      };
      if (request.stop?.aborted) onStop();
      if (request.abandon?.aborted) onAbandon();
    });
  }

  #group(request: CoalesceRequest): Group {
    let group = this.#groups.get(request.group);
    if (!group) {
      group = {
        id: request.group,
        budget: request.budget,
        maxWaitMs: request.maxWaitMs,
        isFatal: request.isFatal,
        open: undefined,
        unsent: new Set(),
        pending: new Map(),
        queue: [],
        inFlight: 0,
        waiting: new Set(),
      };
      this.#groups.set(request.group, group);
    }
    return group;
  }

  /** Puts a caller's keys not yet in a batch into batches, in order, as far as its bound allows. */
  #place(sub: Submission): void {
    const keys = sub.request.keys;
    let joined = 0;
    for (;;) {
      const requeued = sub.requeued.length > 0;
      const key = requeued ? sub.requeued[0] : keys[sub.next];
      if (key === undefined) break;
      const home = this.#home(sub, key);
      if (!home) break;
      if (requeued) sub.requeued.shift();
      else sub.next++;
      if (this.#join(sub, home, key)) joined++;
    }
    if (sub.next < keys.length || sub.requeued.length) sub.group.waiting.add(sub);
    else sub.group.waiting.delete(sub);
    if (joined) this.#coalesced({ requested: 0, joined, requests: 0 });
  }

  /**
   * The unsent batch a caller's key goes into: the one already holding it, else the open one; undefined
   * when that would make one batch more holding the caller's keys than its bound allows.
   */
  #home(sub: Submission, key: string): Batch | undefined {
    const group = sub.group;
    const room = sub.batches.size < sub.limit;
    const b = group.pending.get(key);
    if (b) return room || sub.batches.has(b) ? b : undefined;
    if (group.open && (room || sub.batches.has(group.open))) return group.open;
    return room ? this.#openBatch(group, sub.request.send) : undefined;
  }

  /** Adds the caller to the key in `home`; true when the key was there already (it rides along). */
  #join(sub: Submission, home: Batch, key: string): boolean {
    let callers = home.keys.get(key);
    const joined = callers !== undefined;
    if (!callers) {
      callers = new Set();
      home.keys.set(key, callers);
      sub.group.pending.set(key, home);
    }
    callers.add(sub);
    sub.batches.add(home);
    if (home === sub.group.open && home.keys.size >= largest(sub.group)) this.#seal(home);
    return joined;
  }

  /** The keys of a caller not yet in a batch, taken out (reported by the caller of this). */
  #unplaced(sub: Submission): string[] {
    const keys = [...sub.requeued, ...sub.request.keys.slice(sub.next)];
    sub.requeued = [];
    sub.next = sub.request.keys.length;
    sub.group.waiting.delete(sub);
    return keys;
  }

  #openBatch(group: Group, send: BatchSender): Batch {
    const batch: Batch = {
      group,
      keys: new Map(),
      state: 'open',
      abandon: new AbortController(),
      send,
    };
    group.open = batch;
    group.unsent.add(batch);
    batch.cancelLinger = this.#clock.at(this.#clock.now() + this.lingerMs, () => {
      batch.cancelLinger = undefined;
      batch.lingered = true;
      if (batch.state === 'open' && group.inFlight < this.maxPartialInFlight) this.#seal(batch);
    });
    return batch;
  }

  #seal(batch: Batch): void {
    const group = batch.group;
    batch.cancelLinger?.();
    batch.cancelLinger = undefined;
    batch.state = 'sealed';
    if (group.open === batch) group.open = undefined;
    group.queue.push(batch);
    this.#pump(group);
  }

  #pump(group: Group): void {
    while (group.inFlight < this.maxInFlight && group.queue.length) {
      const batch = group.queue.shift() as Batch;
      if (batch.keys.size === 0) continue;
      group.inFlight++;
      void this.#send(batch);
    }
    this.#forget(group);
  }

  /** A group with nothing pending or in flight is dropped (it holds nothing but its id). */
  #forget(group: Group): void {
    if (group.inFlight === 0 && group.unsent.size === 0 && this.#groups.get(group.id) === group)
      this.#groups.delete(group.id);
  }

  async #send(batch: Batch): Promise<void> {
    const group = batch.group;
    try {
      let grant;
      try {
        // While it waits for budget the batch stays joinable for the keys it already holds.
        grant = await group.budget.acquire(batch.keys.size, batch.abandon.signal, group.maxWaitMs);
      } catch {
        return; // every key was withdrawn
      }
      if (batch.keys.size === 0) {
        grant.release();
        return;
      }
      if (batch.keys.size > largest(group)) {
        // Sealed before the window was known to be smaller: its keys go in batches that fit.
        grant.release();
        this.#leaveUnsent(batch);
        batch.state = 'sent';
        this.#requeue(batch);
        return;
      }
      batch.state = 'sent';
      this.#leaveUnsent(batch);
      const keys = [...batch.keys.keys()];
      // One request for each caller whose keys it carries, however many of them.
      const callers = new Set<Submission>();
      for (const subs of batch.keys.values()) for (const sub of subs) callers.add(sub);
      for (const sub of callers) sub.outcome.requests++;
      this.#coalesced({ requested: 0, joined: 0, requests: 1 });
      let ids: Record<string, string> | undefined;
      let error: unknown;
      try {
        ids = await batch.send(keys, grant, batch.abandon.signal);
      } catch (err) {
        error = err;
      } finally {
        grant.release();
      }
      if (
        (error instanceof PurgeTooLargeError || (error !== undefined && statusOf(error) === 429)) &&
        keys.length > largest(group)
      ) {
        // Refused as larger than the purge budget's window (learnt from this very answer): its keys
        // go again in batches that fit, joining unsent ones that already hold them.
        this.#requeue(batch);
        return;
      }
      for (const [key, subs] of batch.keys) {
        const id = ids?.[key];
        for (const sub of subs) {
          if (typeof id === 'string') sub.outcome.ids[key] = id;
          else sub.outcome.failed.push({ key, error });
          sub.batches.delete(batch);
          this.#settled(sub, 1);
        }
      }
      if (error !== undefined && group.isFatal(error)) {
        const message = error instanceof Error ? error.message : 'the request failed';
        const reason = `stopped at a failure every batch would meet: ${message}`;
        for (const other of [...group.unsent]) this.#drop(other, reason);
        for (const sub of [...group.waiting]) {
          const keys = this.#unplaced(sub);
          for (const key of keys) sub.outcome.notSent.push({ key, reason });
          this.#settled(sub, keys.length);
        }
      }
      // Callers this request held back by their bound: their next keys may go now.
      for (const sub of callers) if (group.waiting.has(sub)) this.#place(sub);
    } finally {
      group.inFlight--;
      const open = group.open;
      if (open?.lingered && group.inFlight < this.maxPartialInFlight) this.#seal(open);
      else this.#pump(group);
    }
  }

  /**
   * Puts a refused batch's keys, with their callers, back in front of the keys each caller has not
   * yet placed, and places them again (in batches that fit, within each caller's bound).
   */
  #requeue(batch: Batch): void {
    const back = new Map<Submission, string[]>();
    for (const [key, subs] of batch.keys)
      for (const sub of subs) {
        sub.batches.delete(batch);
        const keys = back.get(sub) ?? [];
        keys.push(key);
        back.set(sub, keys);
      }
    for (const [sub, keys] of back) {
      sub.requeued = [...keys, ...sub.requeued];
      this.#place(sub);
    }
  }

  /** The batch is no longer joinable (sent, refused or dropped). */
  #leaveUnsent(batch: Batch): void {
    const group = batch.group;
    group.unsent.delete(batch);
    for (const key of batch.keys.keys()) if (group.pending.get(key) === batch) group.pending.delete(key);
  }

  /** Reports every key of an unsent batch as not sent, and removes the batch. */
  #drop(batch: Batch, reason: string): void {
    const group = batch.group;
    batch.cancelLinger?.();
    this.#leaveUnsent(batch);
    if (group.open === batch) group.open = undefined;
    const i = group.queue.indexOf(batch);
    if (i >= 0) group.queue.splice(i, 1);
    for (const [key, subs] of batch.keys)
      for (const sub of subs) {
        sub.outcome.notSent.push({ key, reason });
        sub.batches.delete(batch);
        this.#settled(sub, 1);
      }
    batch.keys.clear();
    batch.abandon.abort();
  }

  /** Takes a caller's keys out of the batches not yet sent (keys no one else waits for leave them). */
  #withdraw(sub: Submission, reason: string): void {
    const unplaced = this.#unplaced(sub);
    for (const key of unplaced) sub.outcome.notSent.push({ key, reason });
    this.#settled(sub, unplaced.length);
    for (const batch of [...sub.batches]) {
      if (batch.state === 'sent') continue;
      let count = 0;
      for (const [key, subs] of batch.keys) {
        if (!subs.delete(sub)) continue;
        count++;
        sub.outcome.notSent.push({ key, reason });
        if (subs.size === 0) {
          batch.keys.delete(key);
          batch.group.pending.delete(key);
        }
      }
      if (batch.keys.size === 0) {
        const group = batch.group;
        batch.cancelLinger?.();
        group.unsent.delete(batch);
        if (group.open === batch) group.open = undefined;
        const i = group.queue.indexOf(batch);
        if (i >= 0) group.queue.splice(i, 1);
        batch.abandon.abort();
        this.#forget(group);
      }
      sub.batches.delete(batch);
      this.#settled(sub, count);
    }
  }

  /** `abandon`: unsent keys withdrawn, keys under way cancelled; a request nobody waits for is aborted. */
  #abandon(sub: Submission, reason: string): void {
    this.#withdraw(sub, reason);
    for (const batch of [...sub.batches]) {
      let count = 0;
      for (const [key, subs] of batch.keys) {
        if (!subs.delete(sub)) continue;
        count++;
        sub.outcome.cancelled.push({ key, reason });
      }
      sub.batches.delete(batch);
      if ([...batch.keys.values()].every((subs) => subs.size === 0)) batch.abandon.abort();
      this.#settled(sub, count);
    }
  }

  #settled(sub: Submission, count: number): void {
    if (count === 0) return;
    sub.unsettled -= count;
    sub.request.onSettled?.(count);
    if (sub.unsettled === 0) {
      sub.cleanup();
      sub.resolve(sub.outcome);
    }
  }

  #coalesced(event: PurgeCoalesceEvent): void {
    if (purgeCoalesceEvents.hasSubscribers) purgeCoalesceEvents.publish(event);
  }
}

function reasonOf(reason: unknown): string {
  return reason instanceof Error ? reason.message : 'stopped';
}

let shared: PurgeCoordinator | undefined;

/** The process's coordinator for clients not given one: budgets and purge-all turns, no coalescing. */
export function sharedPurgeCoordinator(): PurgeCoordinator {
  shared ??= new PurgeCoordinator();
  return shared;
}

/** The most keys one request of the group carries: Fastly's 256, or fewer when the budget's window is smaller. */
function largest(group: Group): number {
  return Math.max(1, Math.floor(Math.min(MAX_KEYS_PER_REQUEST, group.budget.largestRequest())));
}

function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}
