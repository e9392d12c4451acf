// The purge commands, declared as every command is (`../command.ts`): their arguments, flags and
// actions. `purge.ts` builds the commander commands (help, usage errors) from them and
// `../purge-fast.ts` runs well-formed invocations from them without loading commander; nothing here
// may import commander.
import { promises as fsp } from 'node:fs';
import { InvalidInputError } from '../../errors.js';
import {
  purgeAll,
  purgeKey,
  purgeKeys,
  type PurgeKeysResult,
  purgeUrl,
  purgeUrls,
  surrogateKeyProblem,
  validatePurgeUrl,
} from '../../fastly/purge.js';
import type { FastlyClient } from '../../fastly/client.js';
import {
  FAILED_KEYS_NAMED,
  type KeysOutputs,
  keysOutputs,
  plural,
  PurgeIncompleteError,
  type UrlsOutputs,
  urlsOutputs,
  VerifyFailedError,
} from '../../tasks/purge/outputs.js';
import { CONNECTION_FLAGS, type FlagSpec, type OptionsOf, wholeNumber } from '../argv.js';
import type { CliCommand, CliGroup } from '../command.js';
import { resolveServiceId, runClientCommand } from '../context.js';
import { onHardExit, onInterrupt, stopSignal } from '../interrupt.js';
import { writeUserFile } from '../../files.js';
import { checkOutputPath, withOutput, write } from '../output.js';

/** A key as given: its text and where it came from, as error messages name it. */
interface GivenKey {
  key: string;
  /** `keys[i]` for an argument, `--file FILE:LINE` for a line of --file. */
  where: string;
}

/**
 * One key per line; blank lines and `#` comments ignored; CRLF tolerated; `-` reads stdin. A line
 * starting with `\` is the key after it (`\#tag` is the key `#tag`): how --failed-keys writes keys
 * a comment or an escape would otherwise take.
 */
export async function readKeyFile(path: string, noun = 'key'): Promise<GivenKey[]> {
  let text: string;
  try {
    text = path === '-' ? await readStdin(noun) : await fsp.readFile(path, 'utf8');
  } catch (err) {
    if (stopSignal.aborted) throw stopSignal.reason;
    throw new InvalidInputError(
      `--file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      '--file',
    );
  }
  const name = path === '-' ? 'stdin' : path;
  const keys: GivenKey[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const entry = line.trim();
    if (entry === '' || entry.startsWith('#')) return;
    keys.push({ key: entry.startsWith('\\') ? entry.slice(1) : entry, where: `--file ${name}:${i + 1}` });
  });
  return keys;
}

/** An error line's budget for naming bad keys: a binary --file must not flood the terminal. */
const PROBLEMS_BUDGET = 170;

/**
 * Validates every key, naming each bad one where it was given (`keys[2]`, `--file keys.txt:7`), as
 * many as fit one short line, and how many more there are.
 */
function checkKeys(
  keys: readonly GivenKey[],
  problemOf: (item: string) => string | undefined = surrogateKeyProblem,
  noun = 'key',
): void {
  const problems: string[] = [];
  for (const { key, where } of keys) {
    const p = problemOf(key);
    if (p) problems.push(`${where} ${p}`);
  }
  if (problems.length === 0) return;
  let shown = 1;
  let length = (problems[0] as string).length;
  while (
    shown < Math.min(3, problems.length) &&
    length + 2 + (problems[shown] as string).length <= PROBLEMS_BUDGET
  )
    length += 2 + (problems[shown++] as string).length;
  const more = problems.length - shown;
  throw new InvalidInputError(
    `${problems.slice(0, shown).join('; ')}${more ? ` (and ${plural(more, `more invalid ${noun}`)})` : ''}`,
    problems[0]?.startsWith('--file') ? '--file' : `${noun.toLowerCase()}s`,
  );
}

/** Why a URL cannot be purged (validatePurgeUrl's reason), or undefined. */
function urlProblem(url: string): string | undefined {
  try {
    validatePurgeUrl(url, 'url');
    return undefined;
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    return err.message.replace(/^url: /, '');
  }
}

async function readStdin(noun: string): Promise<string> {
  // A terminal would wait in silence for keys nobody knows to type.
  if (process.stdin.isTTY)
    process.stderr.write(
      `Reading ${noun}s from the terminal, one per line; end with Ctrl-D (Ctrl-C cancels)\n`,
    );
  const chunks: Buffer[] = [];
  // Ctrl-C while the producer still writes (or never closes the pipe) stops the reading at once.
  const stop = () => process.stdin.destroy(stopSignal.reason as Error);
  stopSignal.addEventListener('abort', stop, { once: true });
  try {
    for await (const c of process.stdin) chunks.push(c as Buffer);
  } finally {
    stopSignal.removeEventListener('abort', stop);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** What a purge did, as its summary says it. */
const purgedWord = (soft: boolean | undefined) => (soft ? 'Soft-purged' : 'Purged');

/**
 * The account of a bulk purge for a human. After a partial purge every failed key is listed under
 * its reason, unless `--failed-keys` writes them: then one line counts them (and `writeFailedKeys`
 * names the file). When nothing was purged the error line alone says why (no 20,000-line echo:
 * --json and --failed-keys list the keys).
 */
export function keysSummary(
  o: KeysOutputs | UrlsOutputs,
  failedKeysFile?: string,
  soft = false,
  noun = 'key',
): string {
  const verb = purgedWord(soft);
  const dup = o.duplicatesRemoved ? `; ${plural(o.duplicatesRemoved, `duplicate ${noun}`)} removed` : '';
  if (!o.failed.length)
    return `✓ ${verb} ${plural(o.purged, noun)} in ${plural(o.requests, 'request')}${dup}`;
  if (o.purged === 0) return '';
  const byReason = new Map<string, string[]>();
  for (const f of o.failed) {
    const keys = byReason.get(f.reason) ?? [];
    keys.push(nameOf(f));
    byReason.set(f.reason, keys);
  }
  const head = `✗ ${verb} ${plural(o.purged, noun)}; ${o.failed.length} not purged`;
  if (failedKeysFile !== undefined) {
    const [first] = byReason.keys();
    const others = byReason.size > 1 ? `; and ${plural(byReason.size - 1, 'other reason')}` : '';
    return `${head} (${first ?? ''}${others})`;
  }
  const lines = [`${head}:`];
  for (const [reason, keys] of byReason) {
    lines.push(`  ${reason} (${plural(keys.length, noun)}):`);
    for (const k of keys) lines.push(`    ${k}`);
  }
  return lines.join('\n');
}

/** A failed key's key, a failed URL's URL. */
const nameOf = (f: { key: string } | { url: string }) => ('url' in f ? f.url : f.key);

/** Where the CLI puts the keys of a partial purge, for its error line. */
function whereFailedKeys(
  o: KeysOutputs | UrlsOutputs,
  failedFile: string | undefined,
  opts: PurgeFlags,
): string {
  if (failedFile) return `written to ${failedFile}`;
  if (opts.json) return 'listed in the JSON output (failed)';
  // keysSummary lists them after a partial purge, not when nothing was purged (no 20,000-line echo).
  if (o.purged > 0) return 'listed above';
  // The error line names a few itself.
  if (!o.stopped && o.failed.length <= FAILED_KEYS_NAMED) return 'all named here';
  return `not listed (${'url' in (o.failed[0] ?? {}) ? '--failed-urls' : '--failed-keys'} FILE writes them, --json lists them)`;
}

/** The keys as a --file reads them: one per line, `\` before one that starts with `#` or `\`. */
const keyLines = (keys: readonly string[]) =>
  keys.map((k) => `${/^[#\\]/.test(k) ? '\\' : ''}${k}\n`).join('');

/** Writes the keys (URLs) to retry, one per line (empty when none failed), atomically. */
async function writeFailedKeys(
  path: string,
  outputs: KeysOutputs | UrlsOutputs | undefined,
  flag = '--failed-keys',
  noun = 'key',
): Promise<void> {
  if (!outputs) return;
  await withOutput(path, (out) => write(out, keyLines(outputs.failed.map(nameOf))), flag);
  if (outputs.failed.length)
    process.stderr.write(`${plural(outputs.failed.length, noun)} to retry written to ${path}\n`);
}

/** A purge command: its argument is a string (`<url>`, `<key>`), a list (`[keys...]`) or none. */
export type PurgeCommand = CliCommand<string | string[] | undefined, PurgeFlags>;

const SERVICE_ID = {
  flags: '-s, --service-id <id>',
  description: 'service ID (default $FASTLY_SERVICE_ID)',
} as const satisfies FlagSpec;

/** `purge url`: one URL, checked at the edge with --verify. */
const URL_FLAGS = [
  ...CONNECTION_FLAGS,
  { flags: '--soft', description: 'mark the object stale instead of evicting it' },
  {
    flags: '--verify',
    description:
      'request the URL afterwards with Fastly-Debug: 1 and report X-Cache and Age (edge: $KESTRA_FASTLY_EDGE_ENDPOINT, or the simulator when the API endpoint is loopback)',
  },
] as const satisfies readonly FlagSpec[];

/** `purge key`: one surrogate key of a service. */
const KEY_FLAGS = [
  ...CONNECTION_FLAGS,
  SERVICE_ID,
  { flags: '--soft', description: 'mark objects stale instead of evicting them' },
] as const satisfies readonly FlagSpec[];

/** `purge all`: a service's whole cache, confirmed on a terminal. */
const ALL_FLAGS = [
  ...CONNECTION_FLAGS,
  SERVICE_ID,
  { flags: '--soft', description: 'not supported: Fastly has no soft purge-all' },
  {
    flags: '-y, --auto-yes',
    description:
      'do not ask for confirmation on a terminal (as the Fastly CLI; off a terminal nothing is asked)',
  },
  { flags: '--yes', description: 'same as --auto-yes' },
] as const satisfies readonly FlagSpec[];

/** The flags of `purge keys` or `purge urls`, from the words that differ. */
function bulkFlags(kind: BulkText) {
  return [
    ...CONNECTION_FLAGS,
    ...kind.flags,
    {
      flags: '--file <path>',
      description: `file with one ${kind.noun} per line ('-' for stdin; blank lines and # comments ignored)`,
    },
    { flags: '--soft', description: kind.soft },
    { flags: '--concurrency <n>', description: kind.concurrency, ...wholeNumber(1, 64) },
    {
      flags: `${kind.failedFlag} <file>`,
      description: `write the ${kind.noun}s not purged (to retry with --file), one per line`,
    },
  ] as const satisfies readonly FlagSpec[];
}

/** The options of every purge command (each takes some of them), typed from their flags. */
export type PurgeFlags = Partial<
  OptionsOf<[...typeof URL_FLAGS, ...typeof KEY_FLAGS, ...typeof ALL_FLAGS, ...ReturnType<typeof bulkFlags>]>
>;

const URL_COMMAND: PurgeCommand = {
  name: 'url',
  description: 'Purge one URL (POST /purge/{url})',
  argument: { spec: '<url>', description: 'absolute http(s) URL to purge' },
  flags: URL_FLAGS,
  action: async (arg, opts) => {
    const url = arg as string;
    const soft = opts.soft ?? false;
    await runClientCommand(
      opts,
      async (client) => {
        // The edge is resolved first: a bad KESTRA_FASTLY_EDGE_ENDPOINT is refused before purging.
        const verify = opts.verify ? await import('../../fastly/verify.js') : undefined;
        const edge = verify?.edgeEndpoint(process.env, client.baseUrl);
        const result = await purgeUrl(client, url, { soft });
        if (!verify) return result;
        try {
          return {
            ...result,
            verification: await verify.verifyPurge(url, {
              edgeEndpoint: edge,
              proxy: client.proxyPolicy,
              timeoutMs: opts.timeout,
              // Ctrl-C stops it at once: the purge is done and reported, the check is not worth a wait.
              signal: stopSignal,
            }),
          };
        } catch (err) {
          throw new VerifyFailedError(result, url, err as Error);
        }
      },
      (o: { id: string; verification?: { xCache: string | null; age: number | null } }) =>
        `✓ ${purgedWord(soft)} ${url} (id: ${o.id})` +
        (o.verification ? `\n  X-Cache: ${o.verification.xCache}  Age: ${o.verification.age}` : ''),
      { oneRequest: true },
    );
  },
};

const KEY_COMMAND: PurgeCommand = {
  name: 'key',
  description: 'Purge one surrogate key (POST /service/{id}/purge/{key})',
  argument: { spec: '<key>', description: 'surrogate key' },
  flags: KEY_FLAGS,
  action: async (arg, opts) => {
    const key = arg as string;
    const serviceId = resolveServiceId(opts.serviceId);
    await runClientCommand(
      opts,
      (client) => purgeKey(client, serviceId, key, { soft: opts.soft ?? false }),
      (o) => `✓ ${purgedWord(opts.soft)} key ${key} (id: ${o.id})`,
      { oneRequest: true },
    );
  },
};

const ALL_COMMAND: PurgeCommand = {
  name: 'all',
  description: 'Purge everything cached for a service (POST /service/{id}/purge_all; hard only)',
  flags: ALL_FLAGS,
  action: async (_arg, opts) => {
    if (opts.soft) {
      throw new InvalidInputError(
        '--soft: purge-all cannot be soft; soft-purge a constant surrogate key instead (kestra-fastly purge key all --soft)',
        '--soft',
      );
    }
    const serviceId = resolveServiceId(opts.serviceId);
    // On a terminal a person confirms (as the Fastly CLI's destructive commands ask); a script,
    // with no terminal to ask on, has decided already and is not stopped.
    if (!opts.autoYes && !opts.yes && process.stdin.isTTY && process.stderr.isTTY) {
      const { askYesNo, NotConfirmedError } = await import('../confirm.js');
      // At most 79 columns with a 22-character service id: no wrap in an 80-column terminal.
      const from = opts.serviceId === undefined ? ' (FASTLY_SERVICE_ID)' : '';
      if (!(await askYesNo(`Purge ALL cached content of ${serviceId}${from}? [y/N] `)))
        throw new NotConfirmedError('purge all: not confirmed; nothing purged (-y skips the question)');
    }
    await runClientCommand(
      opts,
      (client) => purgeAll(client, serviceId),
      () => `✓ Purged all content of ${serviceId}`,
      { oneRequest: true },
    );
  },
};

/** The words that differ between the flags of `purge keys` and `purge urls`. */
interface BulkText {
  noun: string;
  /** Flags besides the connection's and the bulk ones (`purge keys`: the service). */
  flags: readonly FlagSpec[];
  soft: string;
  concurrency: string;
  failedFlag: '--failed-keys' | '--failed-urls';
}

/** What differs between `purge keys` and `purge urls`: what the items are and how they are purged. */
interface BulkKind extends BulkText {
  /** `keys` or `urls`: the command, the argument list (`keys[2]`). */
  plural: 'keys' | 'urls';
  description: string;
  /** The variadic argument's description. */
  items: string;
  failedFile: (opts: PurgeFlags) => string | undefined;
  problemOf: (item: string) => string | undefined;
  progress: string;
  purge: (
    client: FastlyClient,
    items: string[],
    opts: PurgeFlags,
    options: BulkRunOptions,
  ) => Promise<PurgeKeysResult>;
  outputs: (result: PurgeKeysResult) => KeysOutputs | UrlsOutputs;
}

interface BulkRunOptions {
  onProgress?: ((done: number, total: number) => void) | undefined;
  onPurged: (item: string) => void;
  stop: AbortSignal;
}

const KEYS_KIND: BulkKind = {
  plural: 'keys',
  noun: 'key',
  description: 'Purge many surrogate keys, split into batches of 256 (POST /service/{id}/purge)',
  items: 'surrogate keys',
  flags: [SERVICE_ID],
  soft: 'mark objects stale instead of evicting them',
  concurrency: 'batches in flight at once (default 40: 10,240 keys per round trip)',
  failedFlag: '--failed-keys',
  failedFile: (opts) => opts.failedKeys,
  problemOf: surrogateKeyProblem,
  progress: 'Purging keys',
  purge: (client, keys, opts, o) =>
    purgeKeys(client, resolveServiceId(opts.serviceId), keys, {
      soft: opts.soft ?? false,
      concurrency: opts.concurrency,
      ...o,
    }),
  outputs: keysOutputs,
};

const URLS_KIND: BulkKind = {
  plural: 'urls',
  noun: 'URL',
  description: 'Purge many URLs: one POST /purge/{url} each, 40 at a time within the purge budget',
  items: 'absolute http(s) URLs to purge',
  flags: [],
  soft: 'mark the objects stale instead of evicting them',
  concurrency: 'purge requests in flight at once (default 40)',
  failedFlag: '--failed-urls',
  failedFile: (opts) => opts.failedUrls,
  problemOf: urlProblem,
  progress: 'Purging URLs',
  purge: (client, urls, opts, o) =>
    purgeUrls(client, urls, { soft: opts.soft ?? false, concurrency: opts.concurrency, ...o }),
  outputs: urlsOutputs,
};

/** `purge keys` or `purge urls`, declared from its kind. */
function bulkCommand(kind: BulkKind): PurgeCommand {
  return {
    name: kind.plural,
    description: kind.description,
    argument: { spec: `[${kind.plural}...]`, description: kind.items },
    flags: bulkFlags(kind),
    action: (arg, opts) => bulkAction(kind, arg, opts),
  };
}

/** `purge url|urls|key|keys|all`. */
export const PURGE: CliGroup = {
  name: 'purge',
  description: 'Invalidate cached content (Fastly purge API)',
  commands: [URL_COMMAND, bulkCommand(URLS_KIND), KEY_COMMAND, bulkCommand(KEYS_KIND), ALL_COMMAND],
};

/** The purge commands, as the fast path reads them. */
export const PURGE_COMMANDS = PURGE.commands as readonly PurgeCommand[];

/**
 * `purge keys` and `purge urls`: items from the arguments and `--file`, validated (each bad one named
 * where it was given), sent in bulk; the account of what failed, `--failed-keys|urls FILE` to retry,
 * Ctrl-C stopping gracefully (a second one at once, writing what was not confirmed).
 */
async function bulkAction(
  kind: BulkKind,
  arg: string | string[] | undefined,
  opts: PurgeFlags,
): Promise<void> {
  const { noun } = kind;
  const args = ((arg as string[] | undefined) ?? []).map((key, i) => ({
    key,
    where: `${kind.plural}[${i}]`,
  }));
  const given = [...args, ...(opts.file ? await readKeyFile(opts.file, noun) : [])];
  if (given.length === 0 && opts.file) {
    throw new InvalidInputError(
      `--file: ${opts.file === '-' ? 'stdin' : opts.file} has no ${noun}s (blank lines and # comments are skipped)`,
      '--file',
    );
  }
  if (given.length === 0) {
    throw new InvalidInputError(
      `purge ${kind.plural}: no ${noun}s given; pass ${noun}s as arguments or --file PATH`,
      kind.plural,
    );
  }
  checkKeys(given, kind.problemOf, noun);
  const all = given.map((k) => k.key);
  const failedKeys = kind.failedFile(opts);
  await checkOutputPath(failedKeys, kind.failedFlag);
  if (kind === KEYS_KIND) resolveServiceId(opts.serviceId);
  let outputs: KeysOutputs | UrlsOutputs | undefined;
  // A second Ctrl-C exits at once: the items not confirmed purged are written first.
  const confirmed = new Set<string>();
  const removeNotice = onInterrupt(() =>
    process.stderr.write(
      `stopping: the requests in flight finish first, nothing is retried; interrupt again to exit at once${failedKeys ? ` (the ${noun}s not confirmed purged are written to ${failedKeys})` : ''}\n`,
    ),
  );
  const removeLastWords = onHardExit(() => {
    // URLs are confirmed as sent (normalised); one given differently is not confirmed by name.
    const left = [...new Set(all)].filter((k) => !confirmed.has(k));
    let where = '';
    if (failedKeys) {
      try {
        writeUserFile(failedKeys, keyLines(left));
        where = `, written to ${failedKeys}`;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'write failed';
        where = `; ${failedKeys} could not be written (${code}), so here they are: ${left.join(' ')}`;
      }
    }
    process.stderr.write(
      `${plural(confirmed.size, noun)} confirmed purged; ${plural(left.length, noun)} not confirmed${where}\n`,
    );
  });
  let failure: unknown;
  let failed = false;
  try {
    outputs = await runClientCommand(
      opts,
      async (client, onProgress) => {
        const o = kind.outputs(
          // Ctrl-C stops sending and retrying; the requests in flight settle and are counted.
          await kind.purge(client, all, opts, {
            onProgress,
            onPurged: (item) => confirmed.add(item),
            stop: stopSignal,
          }),
        );
        if (o.failed.length > 0) throw new PurgeIncompleteError(o, whereFailedKeys(o, failedKeys, opts));
        return o;
      },
      (o) => keysSummary(o, failedKeys, opts.soft, noun),
      { progress: kind.progress, graceful: true },
    );
  } catch (err) {
    failed = true;
    failure = err;
    outputs = err instanceof PurgeIncompleteError ? err.outputs : undefined;
  }
  removeNotice();
  try {
    if (failedKeys) await writeFailedKeys(failedKeys, outputs, kind.failedFlag, noun);
  } catch (err) {
    // The account stands; the items it could not put in the file follow it on stderr.
    if (!(failure instanceof PurgeIncompleteError)) throw err;
    const left = failure.outputs.failed.map(nameOf);
    throw new PurgeIncompleteError(
      failure.outputs,
      `not in ${failedKeys} but on the next line`,
      `error: ${(err as Error).message}; the ${plural(left.length, noun)} to retry: ${left.join(' ')}`,
    );
  } finally {
    removeLastWords();
  }
  if (failed) throw failure;
}
