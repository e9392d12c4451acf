/**
 * A real PostgreSQL for tests: Debian's binaries (/usr/lib/postgresql/<version>/bin, found by glob)
 * run a throw-away cluster in a fresh temp folder, on a free loopback port, its unix socket in that
 * folder too, fsync off. `postgresForFile()` starts one per test file (in `before`) and stops and
 * removes it in `after`; `freshDatabase()` gives each test an empty database of its own.
 *
 * Run as root (the CI, this machine), the cluster runs as the `postgres` user (initdb refuses
 * root); run as anyone else, as that user. A missing PostgreSQL fails the test file with one line
 * saying what to install: it is never skipped.
 */
import { spawnSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import pg from 'pg';

const DEBIAN_ROOT = '/usr/lib/postgresql';

/** The PostgreSQL binaries folder: $PG_BIN, else the newest /usr/lib/postgresql/<version>/bin with initdb. */
export function postgresBin(): string {
  const given = process.env.PG_BIN;
  if (given) {
    if (!existsSync(join(given, 'initdb')))
      throw new Error(`PG_BIN=${given} has no initdb; expected PostgreSQL's bin folder`);
    return given;
  }
  const versions = existsSync(DEBIAN_ROOT)
    ? readdirSync(DEBIAN_ROOT)
        .filter((v) => existsSync(join(DEBIAN_ROOT, v, 'bin', 'initdb')))
        .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    : [];
  const newest = versions[0];
  if (newest === undefined)
    throw new Error(
      `PostgreSQL is missing: no ${DEBIAN_ROOT}/*/bin/initdb; install Debian's postgresql (apt-get install postgresql), as .ci/run does, or set PG_BIN`,
    );
  return join(DEBIAN_ROOT, newest, 'bin');
}

/** A port nobody listens on at this moment (the cluster takes it right after). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** uid and gid of the `postgres` user when we are root (initdb refuses root); else undefined. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => {
    const r = spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
    if (r.status !== 0)
      throw new Error(
        "PostgreSQL cannot run as root and there is no `postgres` user; install Debian's postgresql (it creates one)",
      );
    return Number(r.stdout.trim());
  };
  return { uid: id('-u'), gid: id('-g') };
}

type Run = (tool: string, args: string[], cwd: string) => void;

function runner(bin: string, owner: { uid: number; gid: number } | undefined): Run {
  return (tool, args, cwd) => {
    const [cmd, argv] = owner
      ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]]
      : [join(bin, tool), args];
    const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd });
    if (r.status !== 0)
      throw new Error(
        `${tool} failed (exit ${String(r.status ?? r.signal)}): ${`${r.stderr}${r.stdout}`.trim().split('\n').slice(-3).join(' | ')}`,
      );
  };
}

/**
 * An initialised data folder, made once per machine and PostgreSQL version and copied for each
 * cluster: initdb takes seconds on a busy machine, a copy a fraction of that.
 */
function template(bin: string, owner: { uid: number; gid: number } | undefined, run: Run): string {
  const user = owner ? 'postgres' : String(process.getuid?.() ?? 'user');
  const dir = join(tmpdir(), `kf-pg-template-${bin.replace(/[^A-Za-z0-9]+/g, '_')}-${user}`);
  if (existsSync(join(dir, 'READY'))) return join(dir, 'data');
  const scratch = mkdtempSync(`${dir}.tmp-`);
  if (owner) chownSync(scratch, owner.uid, owner.gid);
  try {
    run(
      'initdb',
      [
        '-D',
        join(scratch, 'data'),
        '-U',
        'postgres',
        '--auth=trust',
        '-E',
        'UTF8',
        '--no-locale',
        '--no-sync',
      ],
      scratch,
    );
    writeFileSync(join(scratch, 'READY'), '');
    // Another test file may have made it meanwhile: the first rename wins, the others are dropped.
    try {
      renameSync(scratch, dir);
    } catch {
      if (!existsSync(join(dir, 'READY'))) throw new Error(`cannot make the PostgreSQL template ${dir}`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return join(dir, 'data');
}

export interface PostgresCluster {
  readonly port: number;
  /** The folder of the cluster: data, log, unix socket. Removed by stop(). */
  readonly dir: string;
  /** `postgres://postgres@127.0.0.1:PORT/DATABASE` (no password: the cluster trusts loopback). */
  url(database?: string): string;
  /** A new, empty database (`t1`, `t2`, … unless named); its URL. */
  createDatabase(name?: string): Promise<string>;
  /**
   * A login role that must give `password` (SCRAM) over TCP, owning a new database; that
   * database's URL, without the password.
   */
  passwordUser(user: string, password: string): Promise<string>;
  /** Stops the server (`pg_ctl stop -m fast`: an outage), keeping its folder and port for up(). */
  down(): void;
  /** Starts the server down() stopped again, on the same port, with its data. */
  up(): void;
  /** Stops the cluster at once and removes its folder; a second call does nothing. */
  stop(): void;
}

/** Clusters not stopped yet: stopped on exit too, so that a crashed test file leaves none running. */
const running = new Set<PostgresCluster>();
let exitHooked = false;

/**
 * Starts a cluster of its own, from a copy of the machine's initialised template. fsync is off
 * unless `fsync` (a benchmark of durable writes wants it on).
 */
export async function startPostgres(
  options: { fsync?: boolean; maxConnections?: number } = {},
): Promise<PostgresCluster> {
  const bin = postgresBin();
  const owner = runAs();
  const run = runner(bin, owner);
  const source = template(bin, owner, run);
  const dir = mkdtempSync(join(tmpdir(), 'kf-pg-'));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    running.delete(cluster);
    if (existsSync(join(data, 'postmaster.pid'))) {
      try {
        run('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w'], dir);
      } catch {
        // Already gone; the folder is removed below all the same.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  let port = 0;
  const start = () => {
    const settings = [
      '-c listen_addresses=127.0.0.1',
      `-c port=${port}`,
      `-c unix_socket_directories=${dir}`,
      ...(options.fsync ? [] : ['-c fsync=off', '-c full_page_writes=off']),
      `-c max_connections=${options.maxConnections ?? 200}`,
      // Test databases live seconds and hold a few hundred rows: vacuuming them proves nothing, and
      // on the run's shared cluster (dozens of databases) the launcher started a worker for each.
      '-c autovacuum=off',
    ].join(' ');
    run(
      'pg_ctl',
      ['start', '-D', data, '-w', '-t', '30', '-l', join(dir, 'postgres.log'), '-o', settings],
      dir,
    );
  };
  const cluster: PostgresCluster = {
    get port() {
      return port;
    },
    dir,
    ...databases(
      () => port,
      data,
      () => `t${++made}`,
    ),
    down: () => run('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w'], dir),
    up: start,
    stop,
  };
  let made = 0;
  running.add(cluster);
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', () => {
      for (const c of running) c.stop();
    });
  }
  try {
    const copy = spawnSync('cp', ['-a', source, data], { encoding: 'utf8' });
    if (copy.status !== 0) throw new Error(`cannot copy ${source}: ${copy.stderr.trim()}`);
    // Another process may take the free port between the probe and the start: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        start();
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
  } catch (err) {
    stop();
    throw err;
  }
  return cluster;
}

export interface PostgresForFile {
  /** The file's cluster (started in `before`). */
  cluster(): PostgresCluster;
  /** A new, empty database on the file's cluster; its URL. */
  freshDatabase(name?: string): Promise<string>;
}

/**
 * One cluster for this test file: started in `before`, stopped and removed in `after`. Call it at
 * the top level of the test file. A missing PostgreSQL fails the file's tests with one line.
 */
export function postgresForFile(): PostgresForFile {
  let cluster: PostgresCluster | undefined;
  const shared = sharedPostgres();
  before(async () => {
    cluster = shared ?? (await startPostgres());
  });
  after(() => cluster?.stop());
  const get = () => {
    if (!cluster)
      throw new Error('the PostgreSQL cluster is not started: call postgresForFile() at the top level');
    return cluster;
  };
  return { cluster: get, freshDatabase: (name) => get().createDatabase(name) };
}

/**
 * The environment variable through which `npm test`'s runner (scripts/run-tests.mjs) gives every
 * test file one cluster it started for the whole run: `{"port": N, "dir": "..."}`. A cluster's
 * start and removal cost ~0.7 s of CPU; one per file was ~10 s of each run. Each file still gets
 * databases of its own (named after its process), and a file run alone starts its own cluster.
 */
export const SHARED_POSTGRES_ENV = 'KF_TEST_POSTGRES';

/** The databases this process made on the shared cluster: the files of a batch (run-tests.mjs) share it. */
let madeOnShared = 0;

/** The run's shared cluster (see SHARED_POSTGRES_ENV), or undefined. Its down, up and stop refuse or do nothing. */
function sharedPostgres(): PostgresCluster | undefined {
  const given = process.env[SHARED_POSTGRES_ENV];
  if (!given) return undefined;
  const { port, dir } = JSON.parse(given) as { port: number; dir: string };
  const refuse = () => {
    throw new Error(
      `the cluster of ${SHARED_POSTGRES_ENV} is the whole run's: start one of its own (startPostgres)`,
    );
  };
  return {
    port,
    dir,
    // Other files make theirs on the same cluster at the same time: this process's id keeps them apart.
    ...databases(
      () => port,
      join(dir, 'data'),
      () => `t${process.pid}_${++madeOnShared}`,
    ),
    down: refuse,
    up: refuse,
    // The runner stops it once every file has run.
    stop: () => undefined,
  };
}

/**
 * The URLs, fresh databases (named by `next` unless named) and password users of the cluster on
 * `port()`, whose data folder is `data`: one way for a cluster of a file's own and the run's shared one.
 */
function databases(
  port: () => number,
  data: string,
  next: () => string,
): Pick<PostgresCluster, 'url' | 'createDatabase' | 'passwordUser'> {
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port()}/${database}`;
  const admin = async (statements: string[]) => {
    const client = new pg.Client({ connectionString: url() });
    await client.connect();
    try {
      for (const sql of statements) await client.query(sql);
    } finally {
      await client.end();
    }
  };
  return {
    url,
    createDatabase: async (name) => {
      const database = name ?? next();
      // FILE_COPY (PostgreSQL 15+, Debian's): PostgreSQL 15's default writes the whole template
      // through the WAL; a copy was ~3 % less CPU over store and replicas' tests.
      await admin([`CREATE DATABASE "${database.replaceAll('"', '""')}" STRATEGY = FILE_COPY`]);
      return url(database);
    },
    passwordUser: async (user, password) => {
      const database = `${user}_db`;
      await admin([
        `CREATE ROLE "${user}" LOGIN PASSWORD '${password.replaceAll("'", "''")}'`,
        `CREATE DATABASE "${database}" OWNER "${user}"`,
      ]);
      // Before the template's `trust` lines: the first line that matches decides.
      const hba = join(data, 'pg_hba.conf');
      writeFileSync(hba, `host all "${user}" 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, 'utf8')}`);
      await admin(['SELECT pg_reload_conf()']);
      return `postgres://${user}@127.0.0.1:${port()}/${database}`;
    },
  };
}
