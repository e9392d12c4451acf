import type { Command } from 'commander';
import { withFlags } from '../flags.js';
import { PURGE_COMMANDS } from './purge-commands.js';

/** `purge url|key|keys|all`, built from the table in purge-commands.ts. */
export function registerPurge(program: Command): void {
  const purge = program.command('purge').description('Invalidate cached content (Fastly purge API)');
  for (const c of PURGE_COMMANDS) {
    const cmd = purge.command(c.name);
    if (c.argument) cmd.argument(c.argument.spec, c.argument.description);
    withFlags(cmd, c.flags)
      .description(c.description)
      // commander passes the positional (if any) and then the options.
      .action((...args: unknown[]) =>
        c.argument
          ? c.action(args[0] as string | string[], args[1] as Parameters<typeof c.action>[1])
          : c.action(undefined, args[0] as Parameters<typeof c.action>[1]),
      );
  }
}
