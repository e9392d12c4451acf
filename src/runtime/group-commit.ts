/**
 * Group commit, for the stores' acknowledged submissions: what callers add within one turn of the
 * event loop is written together (one transaction, one sync of the log), and each caller's promise
 * settles once that write is done. A sync costs the same for one row as for thirty-two, so under
 * load the acknowledgements share it instead of queueing behind one another's.
 */
export type Outcome<R> = R | Error;

interface Waiting<I, R> {
  item: I;
  resolve: (value: R) => void;
  reject: (err: Error) => void;
}

export class GroupCommit<I, R> {
  readonly #write: (items: readonly I[]) => readonly Outcome<R>[] | Promise<readonly Outcome<R>[]>;
  readonly #limit: number;
  #pending: Waiting<I, R>[] = [];
  readonly #writing = new Set<Promise<void>>();
  #scheduled: NodeJS.Immediate | undefined;

  /**
   * `write` writes its items in one transaction and returns each one's outcome, in order (an Error
   * fails that item alone); throwing fails them all. At most `limit` writes are under way at once
   * (a write may be asynchronous): what is added meanwhile waits and goes in the next one.
   */
  constructor(
    write: (items: readonly I[]) => readonly Outcome<R>[] | Promise<readonly Outcome<R>[]>,
    limit = 1,
  ) {
    this.#write = write;
    this.#limit = limit;
  }

  /** Resolves with the item's outcome once the write it went in is done. */
  add(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  /**
   * Writes what waits now, at once (a synchronous `write` is done when this returns), and resolves
   * when every write under way is done: before a write that must follow them, or a close.
   */
  async flush(): Promise<void> {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    this.#start();
    await Promise.all([...this.#writing]);
  }

  #schedule(): void {
    if (this.#scheduled || !this.#pending.length || this.#writing.size >= this.#limit) return;
    // After the I/O callbacks of this turn: every request read in it has added its submission.
    this.#scheduled = setImmediate(() => {
      this.#scheduled = undefined;
      this.#start();
    });
  }

  #start(): void {
    const batch = this.#pending;
    if (!batch.length) return;
    this.#pending = [];
    let outcomes: readonly Outcome<R>[] | Promise<readonly Outcome<R>[]>;
    try {
      outcomes = this.#write(batch.map((w) => w.item));
    } catch (err) {
      outcomes = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const done = Promise.resolve(outcomes).then(
      (results) =>
        batch.forEach((w, i) => {
          const r = results[i] as Outcome<R>;
          if (r instanceof Error) w.reject(r);
          else w.resolve(r);
        }),
      (err: unknown) => {
        const why = err instanceof Error ? err : new Error(String(err));
        for (const w of batch) w.reject(why);
      },
    );
    const tracked = done.finally(() => {
      this.#writing.delete(tracked);
      this.#schedule();
    });
    this.#writing.add(tracked);
  }
}
