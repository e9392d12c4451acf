import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import { purgeAll, purgeKey, purgeKeys, purgeUrl } from '../../fastly/purge.js';
import { type KeysOutputs, keysOutputs, PurgeIncompleteError } from '../../tasks/purge/outputs.js';
import {
  type ConnectionOptions,
  intArg,
  resolveServiceId,
  runClientCommand,
  withConnection,
} from '../context.js';

interface PurgeFlags extends ConnectionOptions {
  serviceId?: string;
  soft?: boolean;
  verify?: boolean;
  file?: string;
  concurrency?: number;
}

/** One key per line; blank lines and `#` comments ignored; CRLF tolerated; `-` reads stdin. */
export async function readKeyFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (err) {
    throw new InvalidInputError(
      `--file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      '--file',
    );
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function keysSummary(o: KeysOutputs): string {
  const lines = [`✓ Purged ${o.purged} key(s) in ${o.requests} request(s)`];
  if (o.duplicatesRemoved) lines.push(`  ${o.duplicatesRemoved} duplicate key(s) removed`);
  if (o.failed.length) {
    lines[0] = `✗ Purged ${o.purged} key(s); ${o.failed.length} failed:`;
    for (const f of o.failed) lines.push(`  ${f.key}\t${f.reason}`);
  }
  return lines.join('\n');
}

export function registerPurge(program: Command): void {
  const purge = program.command('purge').description('Invalidate cached content (Fastly purge API)');

  withConnection(purge.command('url').argument('<url>', 'absolute http(s) URL to purge'))
    .description('Purge one URL (POST /purge/{url})')
    .option('--soft', 'mark the object stale instead of evicting it')
    .option('--verify', 'request the URL afterwards with Fastly-Debug: 1 and report X-Cache and Age')
    .action(async (url: string, opts: PurgeFlags) => {
      const soft = opts.soft ?? false;
      await runClientCommand(
        opts,
        async (client) => {
          const result = await purgeUrl(client, url, { soft });
          if (!opts.verify) return result;
          const { verifyPurge } = await import('../../fastly/verify.js');
          const verification = await verifyPurge(url, {
            edgeEndpoint: process.env.KESTRA_FASTLY_EDGE_ENDPOINT,
          });
          return { ...result, verification };
        },
        (o: { id: string; verification?: { xCache: string | null; age: number | null } }) =>
          `✓ ${soft ? 'Soft-purged' : 'Purged'} ${url} (id: ${o.id})` +
          (o.verification ? `\n  X-Cache: ${o.verification.xCache}  Age: ${o.verification.age}` : ''),
      );
    });

  withConnection(purge.command('key').argument('<key>', 'surrogate key'))
    .description('Purge one surrogate key (POST /service/{id}/purge/{key})')
    .option('-s, --service-id <id>', 'service ID (default $FASTLY_SERVICE_ID)')
    .option('--soft', 'mark objects stale instead of evicting them')
    .action(async (key: string, opts: PurgeFlags) => {
      const serviceId = resolveServiceId(opts.serviceId);
      await runClientCommand(
        opts,
        (client) => purgeKey(client, serviceId, key, { soft: opts.soft ?? false }),
        (o) => `✓ ${opts.soft ? 'Soft-purged' : 'Purged'} key ${key} (id: ${o.id})`,
      );
    });

  withConnection(purge.command('keys').argument('[keys...]', 'surrogate keys'))
    .description('Purge many surrogate keys, split into batches of 256 (POST /service/{id}/purge)')
    .option('-s, --service-id <id>', 'service ID (default $FASTLY_SERVICE_ID)')
    .option('--file <path>', "file with one key per line ('-' for stdin; blank lines and # comments ignored)")
    .option('--soft', 'mark objects stale instead of evicting them')
    .option(
      '--concurrency <n>',
      'batches in flight at once (default 40: 10,240 keys per round trip)',
      intArg('--concurrency', 1, 64),
    )
    .action(async (keys: string[], opts: PurgeFlags) => {
      const all = [...keys, ...(opts.file ? await readKeyFile(opts.file) : [])];
      if (all.length === 0) {
        throw new InvalidInputError(
          'purge keys: no keys given; pass keys as arguments or --file PATH',
          'keys',
        );
      }
      const serviceId = resolveServiceId(opts.serviceId);
      await runClientCommand(
        opts,
        async (client, onProgress) => {
          const outputs = keysOutputs(
            await purgeKeys(client, serviceId, all, {
              soft: opts.soft ?? false,
              concurrency: opts.concurrency,
              onProgress,
            }),
          );
          if (outputs.failed.length > 0) throw new PurgeIncompleteError(outputs);
          return outputs;
        },
        keysSummary,
        'Purging keys',
      );
    });

  withConnection(purge.command('all'))
    .description('Purge everything cached for a service (POST /service/{id}/purge_all; hard only)')
    .option('-s, --service-id <id>', 'service ID (default $FASTLY_SERVICE_ID)')
    .option('--soft', 'not supported: Fastly has no soft purge-all')
    .action(async (opts: PurgeFlags) => {
      if (opts.soft) {
        throw new InvalidInputError(
          '--soft: purge-all cannot be soft; soft-purge a constant surrogate key instead (kestra-fastly purge key all --soft)',
          '--soft',
        );
      }
      const serviceId = resolveServiceId(opts.serviceId);
      await runClientCommand(
        opts,
        (client) => purgeAll(client, serviceId),
        () => `✓ Purged all content of ${serviceId}`,
      );
    });
}
