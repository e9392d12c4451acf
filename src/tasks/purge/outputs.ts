import { RunFailedError } from '../../errors.js';
import type { FailedKey, PurgeKeysResult, PurgeResult } from '../../fastly/purge.js';

// Kept apart from the task definitions (and zod) so that the `purge` command loads neither.

export interface KeysOutputs {
  purgeIds: Record<string, string>;
  purged: number;
  failed: FailedKey[];
  duplicatesRemoved: number;
  /** Bulk requests sent. */
  requests: number;
  /** Set when sending stopped before every batch was sent: why (a fatal error, an interruption). */
  stopped?: string;
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function keysOutputs(result: PurgeKeysResult): KeysOutputs {
  return {
    purgeIds: result.purgeIds,
    purged: Object.keys(result.purgeIds).length,
    failed: result.failed,
    duplicatesRemoved: result.duplicatesRemoved,
    requests: result.sent,
    ...(result.stopped ? { stopped: result.stopped } : {}),
  };
}

/** How many failed keys a PurgeIncompleteError names itself. */
export const FAILED_KEYS_NAMED = 5;

/**
 * Some keys were not purged; the outputs (with every failed key) travel with the error. `where` says
 * where the caller puts the failed keys (a flow's outputs; the CLI's output or file); `nextLine`, if
 * given, follows the account on a line of its own (the CLI: the keys, when their file failed).
 */
export class PurgeIncompleteError extends RunFailedError {
  override readonly name: string = 'PurgeIncompleteError';
  override readonly code: string = 'PURGE_INCOMPLETE';
  constructor(
    readonly outputs: KeysOutputs,
    where = 'listed in outputs.failed',
    nextLine?: string,
  ) {
    const f = outputs.failed;
    const total = outputs.purged + f.length;
    const sample = f
      .slice(0, FAILED_KEYS_NAMED)
      .map((k) => k.key)
      .join(', ');
    const reason = f[0]?.reason ?? '';
    const account = outputs.stopped
      ? `purge.Keys: ${outputs.purged} of ${plural(total, 'key')} purged; sending ${outputs.stopped}. ` +
        `${plural(f.length, 'key')} not purged, ${where}`
      : `purge.Keys: ${outputs.purged} of ${plural(total, 'key')} purged, ${f.length} failed ` +
        `(${sample}${f.length > FAILED_KEYS_NAMED ? ', …' : ''}); first cause: ${reason}; the failed keys are ${where}`;
    super(nextLine === undefined ? account : `${account}\n${nextLine}`);
  }
}

/** The purge succeeded but the edge could not be asked afterwards; the purge's outputs travel with the error. */
export class VerifyFailedError extends RunFailedError {
  override readonly name: string = 'VerifyFailedError';
  override readonly code: string = 'PURGE_VERIFY_FAILED';
  constructor(
    readonly outputs: PurgeResult,
    url: string,
    cause: Error,
  ) {
    const why = cause.message.replace(/^verify failed: /, '');
    super(`purge.Url: purged ${url} (purge id ${outputs.id}), but verifying it failed: ${why}`, {
      cause,
    });
  }
}
