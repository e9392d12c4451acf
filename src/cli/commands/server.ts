import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import { createLogger, parseLevel } from '../../logger.js';
import { Masker } from '../../masker.js';
import { writeJson } from '../../pebble/java.js';
import { type ExecutionRecord, StateStore } from '../../flow/state.js';
import { wholeNumber } from '../argv.js';
import { command } from '../command.js';
import { addCommand } from '../flags.js';

const DEFAULT_STATE_DIR = '.kestra-fastly';

/**
 * The longest `--lease`: a dead replica's executions wait that long before another takes them over,
 * and a frozen one holds them as long; past 10 min that is an outage, not a lease.
 */
const MAX_LEASE_MS = 10 * 60_000;

/** `--database-url`, declared once for every command that reads the executions' store. */
const DATABASE_URL = {
  flags: '--database-url <url>',
  description:
    'executions in PostgreSQL (postgres://…; or $KESTRA_FASTLY_DATABASE_URL; a password may come from $PGPASSWORD) instead of the embedded SQLite file; any number of servers on one database act as one',
} as const;

/**
 * The database of `--database-url`, else $KESTRA_FASTLY_DATABASE_URL, checked; its password is
 * added to `masker`. Undefined: the embedded store.
 */
async function databaseOf(given: string | undefined, masker: Masker): Promise<string | undefined> {
  const fromEnv = process.env.KESTRA_FASTLY_DATABASE_URL;
  const url = given ?? (fromEnv || undefined);
  if (url === undefined) return undefined;
  const { checkDatabaseUrl } = await import('../../runtime/postgres.js');
  masker.addCredential(
    checkDatabaseUrl(url, given !== undefined ? '--database-url' : 'KESTRA_FASTLY_DATABASE_URL').password,
  );
  return url;
}

/** `server`: the flows' triggers scheduled, the executions HTTP API served, until a signal. */
const SERVER = command({
  name: 'server',
  argument: { spec: '<flows...>', description: 'flow files or folders of flows' },
  description: 'Run the flows’ triggers (StatsTrigger, Schedule, Webhook) and serve the executions HTTP API',
  flags: [
    {
      flags: '--state-dir <dir>',
      description: 'trigger state and execution history',
      default: DEFAULT_STATE_DIR,
    },
    { flags: '--secrets-file <file>', description: 'dotenv file of secrets' },
    { flags: '--json', description: 'structured (JSON) log lines' },
    { flags: '--log-level <level>', description: 'DEBUG shows every evaluation', default: 'INFO' },
    {
      flags: '--listen <host:port>',
      description: 'address of the HTTP API (loopback unless --api-token or basic-auth users are set)',
      default: '127.0.0.1:8080',
    },
    {
      flags: '--purge-linger <ms>',
      description:
        "how long a surrogate-key purge waits for other executions' purges of the same service to share its request (0: off)",
      ...wholeNumber(0, 10_000),
      default: 25,
    },
    {
      flags: '--api-token <token>',
      description: 'bearer token of the HTTP API (prefer $KESTRA_FASTLY_API_TOKEN)',
    },
    {
      flags: '--basic-auth-file <file>',
      description: 'basic-auth users, USER:PASSWORD a line (or one user in $KESTRA_FASTLY_BASIC_AUTH)',
    },
    {
      flags: '--retention <duration>',
      description: 'how long ended executions are kept (ISO-8601)',
      default: 'P30D',
    },
    DATABASE_URL,
    {
      flags: '--lease <duration>',
      description:
        'with --database-url: how long a replica holds an execution without renewing it (renewed every third); a dead replica’s executions are taken over after it (1 s to 10 min: 3s, PT10S; default 5s)',
    },
  ],
  async action(paths: string[], opts) {
    const { parseDuration, parseFlagDuration } = await import('../../duration.js');
    const retentionMs = parseDuration(opts.retention, '--retention');
    const masker = new Masker();
    const databaseUrl = await databaseOf(opts.databaseUrl, masker);
    const leaseMs =
      opts.lease === undefined ? undefined : parseFlagDuration(opts.lease, '--lease', 1000, MAX_LEASE_MS);
    if (leaseMs !== undefined && databaseUrl === undefined)
      throw new InvalidInputError(
        '--lease: only replicas hold leases; give --database-url (or $KESTRA_FASTLY_DATABASE_URL) too',
        '--lease',
      );
    const { describeFlows, startServer } = await import('../../server/index.js');
    const { parseListen } = await import('../../server/app.js');
    const { readBasicUsers } = await import('../../server/auth.js');
    const basicUsers = readBasicUsers(opts.basicAuthFile, process.env.KESTRA_FASTLY_BASIC_AUTH);
    const logger = createLogger({
      level: parseLevel(opts.logLevel),
      json: opts.json,
      masker,
      fields: { component: 'server' },
    });
    const server = await startServer({
      paths,
      stateDir: resolve(opts.stateDir),
      logger,
      masker,
      listen: parseListen(opts.listen),
      apiToken: opts.apiToken ?? process.env.KESTRA_FASTLY_API_TOKEN,
      apiTokenFrom: opts.apiToken === undefined ? 'KESTRA_FASTLY_API_TOKEN' : '--api-token',
      basicUsers,
      secretsFile: opts.secretsFile,
      jsonLogs: opts.json,
      retentionMs,
      retention: opts.retention,
      purgeLingerMs: opts.purgeLinger,
      databaseUrl,
      leaseMs,
    });
    // Listening before the lines that say the server is up: a supervisor (or a test) may send
    // SIGTERM the moment it reads them, and with no listener yet Node would die without stopping.
    const stopRequested = new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    const flows = describeFlows(paths, server);
    if (server.flows.all().length) for (const line of flows) logger.info(line);
    else for (const line of flows) logger.warn(line);
    logger.info(`scheduling ${server.triggers} trigger(s); state in ${resolve(opts.stateDir)}`);
    logger.info(`HTTP API on ${server.http.url}`);
    await stopRequested;
    logger.info('stopping: no new evaluations; letting running executions finish (again to interrupt them)');
    const again = () => {
      server.runtime.interrupt();
    };
    process.once('SIGINT', again);
    process.once('SIGTERM', again);
    await server.stop();
    logger.info('stopped');
  },
});

/** `executions`: what the server ran, from its state folder. */
const EXECUTIONS = command({
  name: 'executions',
  description: 'List recent executions run by the server, by start time (newest last)',
  flags: [
    { flags: '--state-dir <dir>', description: 'state folder of the server', default: DEFAULT_STATE_DIR },
    {
      flags: '-n, --limit <n>',
      description: 'how many',
      ...wholeNumber(1, Number.POSITIVE_INFINITY),
      default: 20,
    },
    { flags: '--json', description: 'one JSON document' },
    DATABASE_URL,
  ],
  async action(_arg, opts) {
    const limit = opts.limit;
    const databaseUrl = await databaseOf(opts.databaseUrl, new Masker());
    if (databaseUrl === undefined && !statSync(opts.stateDir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new InvalidInputError(
        `--state-dir: ${opts.stateDir} is not a folder; expected the --state-dir the server was started with`,
        '--state-dir',
      );
    }
    // The server's database; a state folder from before it, its history file. Listed by start time.
    // --json prints each in the one execution shape (Kestra's, as the HTTP API answers).
    // As executions/search answers (no task runs), with the outputs unless above 256 KB: then
    // `outputsBytes` says how big they are (GET the execution for them).
    const { executionView } = await import('../../flow/view.js');
    const listed = (r: ExecutionRecord, parts: Parameters<typeof executionView>[0]) => ({
      ...executionView({ ...parts, outputs: r.flowOutputs }),
      ...(r.outputs === undefined && r.outputsBytes !== undefined ? { outputsBytes: r.outputsBytes } : {}),
    });
    const db = join(resolve(opts.stateDir), 'runtime.db');
    let found: { record: ExecutionRecord; view: unknown }[];
    if (databaseUrl !== undefined || existsSync(db)) {
      const store =
        databaseUrl !== undefined
          ? await (await import('../../runtime/postgres.js')).PgStore.open(databaseUrl, { poolSize: 2 })
          : new (await import('../../runtime/sqlite.js')).SqliteStore(db);
      try {
        const { results } = await store.search({ page: 1, size: limit });
        found = await Promise.all(
          results.reverse().map(async (e) => {
            const record = await store.record(e);
            return { record, view: listed(record, e) };
          }),
        );
      } finally {
        await store.close();
      }
    } else
      found = new StateStore(resolve(opts.stateDir))
        .history()
        .map((record) => ({ record, view: listed(record, record) }));
    found = found.sort((a, b) => a.record.startDate.localeCompare(b.record.startDate)).slice(-limit);
    const records = found.map((r) => r.record);
    if (opts.json) {
      process.stdout.write(
        `${writeJson(
          found.map((r) => r.view),
          2,
        )}\n`,
      );
      return;
    }
    if (!records.length) {
      process.stdout.write('no executions yet\n');
      return;
    }
    // Columns as wide as their widest cell (a date's width varies with its year and milliseconds);
    // on a terminal, fitted to its width as the stats tables are (the id cut, then the trigger value
    // and error left out, and named); to a pipe or a file, whole.
    const rows = records.map((r) => {
      const value = r.trigger?.value !== undefined ? `value=${writeJson(r.trigger.value)}` : '';
      return [
        r.startDate,
        r.state,
        `${r.namespace}.${r.flowId}`,
        r.id,
        [value, r.error ?? ''].filter(Boolean).join('  '),
      ];
    });
    const { fitTable, noteLeftOut } = await import('../format.js');
    const width = process.stdout.isTTY && process.stdout.columns > 0 ? process.stdout.columns : undefined;
    const header = ['STARTED (newest last)', 'STATE', 'FLOW', 'ID', ''];
    const fitted = fitTable(header, rows, { width, cut: header.indexOf('ID') });
    process.stdout.write(`${fitted.lines.join('\n')}\n`);
    const named = fitted.dropped.map((h) => (h === '' ? 'trigger value and error' : h));
    noteLeftOut(named, width, '--json');
  },
});

/** `server` and `executions`. */
export function registerServer(program: Command): void {
  for (const command of [SERVER, EXECUTIONS]) addCommand(program, command);
}
