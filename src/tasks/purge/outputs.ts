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

/** A URL that was not purged: like a key's, named by `url`. */
export interface FailedUrl {
  url: string;
  status?: number;
  reason: string;
}

/** The outputs of purge.Urls: the account of purge.Keys, by URL. */
export interface UrlsOutputs {
  /** Every purged URL (as sent) mapped to its purge id. */
  purgeIds: Record<string, string>;
  purged: number;
  failed: FailedUrl[];
  duplicatesRemoved: number;
  /** Purge requests sent (one per URL). */
  requests: number;
  stopped?: string;
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function urlsOutputs(result: PurgeKeysResult): UrlsOutputs {
  const o = keysOutputs(result);
  return { ...o, failed: o.failed.map(({ key, ...rest }) => ({ url: key, ...rest })) };
}

/** The items of a purge account and what they are called: keys, or URLs. */
function accountOf(outputs: KeysOutputs | UrlsOutputs): { task: string; noun: string; failed: string[] } {
  const failed = (outputs.failed as (FailedKey | FailedUrl)[]).map((f) => ('url' in f ? f.url : f.key));
  const urls = (outputs.failed as (FailedKey | FailedUrl)[]).some((f) => 'url' in f);
  return urls ? { task: 'purge.Urls', noun: 'URL', failed } : { task: 'purge.Keys', noun: 'key', failed };
}

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
    readonly outputs: KeysOutputs | UrlsOutputs,
    where = 'listed in outputs.failed',
    nextLine?: string,
  ) {
    const { task, noun, failed: f } = accountOf(outputs);
    const total = outputs.purged + f.length;
    const sample = f.slice(0, FAILED_KEYS_NAMED).join(', ');
    const reason = outputs.failed[0]?.reason ?? '';
    const account = outputs.stopped
      ? `${task}: ${outputs.purged} of ${plural(total, noun)} purged; sending ${outputs.stopped}. ` +
        `${plural(f.length, noun)} not purged, ${where}`
      : `${task}: ${outputs.purged} of ${plural(total, noun)} purged, ${f.length} failed ` +
        `(${sample}${f.length > FAILED_KEYS_NAMED ? ', …' : ''}); first cause: ${reason}; the failed ${noun}s are ${where}`;
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
