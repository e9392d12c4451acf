import { RunFailedError } from '../../errors.js';
import type { FailedKey, PurgeKeysResult } from '../../fastly/purge.js';

// Kept apart from the task definitions (and zod) so that the `purge` command loads neither.

export interface KeysOutputs {
  purgeIds: Record<string, string>;
  purged: number;
  failed: FailedKey[];
  duplicatesRemoved: number;
  requests: number;
}

export function keysOutputs(result: PurgeKeysResult): KeysOutputs {
  return {
    purgeIds: result.purgeIds,
    purged: Object.keys(result.purgeIds).length,
    failed: result.failed,
    duplicatesRemoved: result.duplicatesRemoved,
    requests: result.batches,
  };
}

/** Some keys were not purged; the outputs (with every failed key) travel with the error. */
export class PurgeIncompleteError extends RunFailedError {
  override readonly name: string = 'PurgeIncompleteError';
  override readonly code: string = 'PURGE_INCOMPLETE';
  constructor(readonly outputs: KeysOutputs) {
    const f = outputs.failed;
    const sample = f
      .slice(0, 5)
      .map((k) => k.key)
      .join(', ');
    const reason = f[0]?.reason ?? '';
    super(
      `purge.Keys: ${outputs.purged} of ${outputs.purged + f.length} keys purged, ${f.length} failed ` +
        `(${sample}${f.length > 5 ? ', …' : ''}); first cause: ${reason}. Every failed key is listed in outputs.failed`,
    );
  }
}
