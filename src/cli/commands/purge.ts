import type { Command } from 'commander';
import { addGroup } from '../flags.js';
import { PURGE } from './purge-commands.js';

/** `purge url|key|keys|all`, built from their declarations in purge-commands.ts. */
export function registerPurge(program: Command): void {
  addGroup(program, PURGE);
}
