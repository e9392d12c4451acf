/**
 * The `pg` client class the store's pools use: pg's own, with two failures of connecting made plain.
 * A server asking for a password none was given for (not in the URL, nor PGPASSWORD, nor ~/.pgpass)
 * fails with `DatabasePasswordError`, not pg's "SASL: SCRAM-SERVER-FIRST-MESSAGE: client password
 * must be a string"; and a connection that failed is closed, where pg's pool leaves its socket open
 * (the server then waits a minute for the rest of the handshake, and the process with it). A
 * session the server ends while its client is checked out fails that client's queries, not the
 * process.
 */
import { createRequire } from 'node:module';
import type Pg from 'pg';
import { RunFailedError } from '../errors.js';

/** The server asked for a password and none was given. */
export class DatabasePasswordError extends RunFailedError {
  override readonly name = 'DatabasePasswordError';
  override readonly code = 'DATABASE_PASSWORD_MISSING';
  constructor(user: string) {
    super(`user ${JSON.stringify(user)} needs a password: give it in the URL or in PGPASSWORD`);
  }
}

type ConnectCallback = ((err: Error) => void) | ((err: null, c: Pg.Client) => void);

/** pg's `pgpass` (its dependency): the password ~/.pgpass (or $PGPASSFILE) gives, if any. */
function fromPgpass(params: unknown): Promise<string | undefined> {
  const require = createRequire(createRequire(import.meta.url).resolve('pg'));
  const pgpass = require('pgpass') as (p: unknown, cb: (pass: string | undefined) => void) => void;
  return new Promise((resolve) => pgpass(params, resolve));
}

/** pg's Client, for `new Pool({ Client })`. */
export function storeClient(pg: typeof Pg): typeof Pg.Client {
  return class StoreClient extends pg.Client {
    constructor(config?: string | Pg.ClientConfig) {
      super(config);
      // The server may end a session while its client is checked out (an idle-in-transaction
      // timeout, a restart, pg_terminate_backend): pg then fails the queries under way and emits
      // 'error' on the client, which the pool listens to only while the client is idle. Unheard,
      // that event was an uncaught exception that stopped the server; heard, the next query on the
      // client fails ("not queryable") and the pool drops it when it is released.
      this.on('error', () => undefined);
      // pg has read the URL's password, else PGPASSWORD; null: none. pg would then read ~/.pgpass
      // itself, and failing that answer the server's challenge with nothing.
      const self = this as unknown as { password: unknown; user: string };
      if (self.password === null)
        self.password = async (params: unknown) => {
          const pass = await fromPgpass(params);
          if (pass === undefined) throw new DatabasePasswordError(self.user);
          return pass;
        };
    }

    override connect(): Promise<Pg.Client>;
    override connect(callback: ConnectCallback): void;
    override connect(callback?: ConnectCallback): Promise<Pg.Client> | void {
      if (!callback) return super.connect();
      super.connect(((err: Error | null) => {
        if (err)
          (this as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
        (callback as (err: Error | null, c?: Pg.Client) => void)(err, err ? undefined : this);
      }) as ConnectCallback);
    }
  };
}

/** Errors of a connection that failed or broke (codes of Node's net and of PostgreSQL's class 08, 57P). */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

/** Whether `err` says the database cannot be reached now (down, restarting, unreachable). */
export function isConnectionError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined && CONNECTION_CODES.has(code)) return true;
    // pg's own wording for a connection that ended or never came, with no code.
    if (
      /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(
        e.message,
      )
    )
      return true;
    if (e instanceof AggregateError && e.errors.some((inner) => isConnectionError(inner))) return true;
  }
  return false;
}
