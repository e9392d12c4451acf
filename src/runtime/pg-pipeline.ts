/**
 * An execution's writes on PostgreSQL, sent a turn at a time: the statements every running
 * execution asks for in one turn of the event loop go to the server as one message (simple query
 * protocol, several statements), so they cost one write to the socket and one round trip instead
 * of one each. Profiled at 8 webhooks in flight, pg's per-query path (a `writev` per query, each
 * waking a backend) took two thirds of the server's CPU, and the event loop was the limit.
 *
 * Values are inlined as literals (pg's `escapeLiteral`): the simple protocol has no parameters.
 * The statements of one message run as one implicit transaction, so one failing takes the others
 * with it; they are then sent again one by one, and only the failing one fails.
 */
import type Pg from 'pg';
import { GroupCommit, type Outcome } from './group-commit.js';

/** The part of a query's result the store reads. */
export interface Result<R> {
  rows: R[];
  rowCount: number | null;
}

interface Statement {
  sql: string;
  args: readonly unknown[];
}

/** pg's `escapeLiteral`, given by the store (pg is loaded only when a store is opened). */
type Escape = (text: string) => string;

/** A value as an SQL literal; arrays as `ARRAY[…]` (cast where the statement needs a type). */
export function literal(value: unknown, escape: Escape): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return escape(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
    return String(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (Array.isArray(value))
    return value.length ? `ARRAY[${value.map((v) => literal(v, escape)).join(', ')}]` : "'{}'";
  throw new TypeError(`no SQL literal for a ${typeof value}`);
}

/** `sql` with each `$n` outside quoted text replaced by the literal of `args[n - 1]`. */
export function inline(sql: string, args: readonly unknown[], escape: Escape): string {
  let out = '';
  let quoted = false;
  let from = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'") quoted = !quoted;
    else if (c === '$' && !quoted) {
      let j = i + 1;
      while (j < sql.length && (sql.charCodeAt(j) ^ 48) < 10) j++;
      if (j === i + 1) continue;
      const n = Number(sql.slice(i + 1, j));
      if (n < 1 || n > args.length)
        throw new RangeError(`$${n}: the statement has ${args.length} argument(s)`);
      out += sql.slice(from, i) + literal(args[n - 1], escape);
      from = j;
      i = j - 1;
    }
  }
  return out + sql.slice(from);
}

export class PgPipeline {
  readonly #pool: Pg.Pool;
  readonly #escape: Escape;
  readonly #group: GroupCommit<Statement, Result<Pg.QueryResultRow>>;

  /** At most `connections` messages under way at once; what comes meanwhile goes in the next. */
  constructor(pool: Pg.Pool, connections: number, escape: Escape) {
    this.#pool = pool;
    this.#escape = escape;
    this.#group = new GroupCommit((items) => this.#send(items), connections);
  }

  /** As `pool.query(sql, args)`, sent with the other statements of this turn. */
  query<R extends Pg.QueryResultRow = Pg.QueryResultRow>(sql: string, args: readonly unknown[] = []) {
    return this.#group.add({ sql, args }) as Promise<Result<R>>;
  }

  /** Resolves once every statement asked for so far is done. */
  flush(): Promise<void> {
    return this.#group.flush();
  }

  async #send(items: readonly Statement[]): Promise<Outcome<Result<Pg.QueryResultRow>>[]> {
    const texts: Outcome<string>[] = items.map((s) => {
      try {
        return inline(s.sql, s.args, this.#escape);
      } catch (err) {
        return err as Error;
      }
    });
    const ready = texts.flatMap((t, i) => (typeof t === 'string' ? [i] : []));
    const outcomes: Outcome<Result<Pg.QueryResultRow>>[] = texts.map((t) =>
      t instanceof Error ? t : { rows: [], rowCount: 0 },
    );
    if (!ready.length) return outcomes;
    try {
      const sent = (await this.#pool.query(ready.map((i) => texts[i] as string).join(';\n'))) as
        Pg.QueryResult | Pg.QueryResult[];
      const results = Array.isArray(sent) ? sent : [sent];
      ready.forEach((i, k) => {
        outcomes[i] = results[k] ?? new Error('PostgreSQL answered fewer results than statements sent');
      });
    } catch {
      // One statement failed and the message's transaction with it: each on its own, so that only
      // the failing one fails (the others were rolled back, not written twice).
      for (const i of ready) {
        outcomes[i] = await this.#pool
          .query(texts[i] as string)
          .catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
      }
    }
    return outcomes;
  }
}
