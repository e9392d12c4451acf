import type { FastlyClient } from '../../fastly/client.js';
import type { PurgeKeysOptions, PurgeKeysResult } from '../../fastly/purge.js';
import type { TaskContext } from '../task.js';
import { type KeysOutputs, plural, PurgeIncompleteError, type UrlsOutputs } from './outputs.js';

/** What differs between purge.Keys and purge.Urls once the client is made: the call, the names. */
export interface BulkPurge<O extends KeysOutputs | UrlsOutputs> {
  purge: (options: PurgeKeysOptions) => Promise<PurgeKeysResult>;
  outputs: (result: PurgeKeysResult) => O;
  /** `key` or `URL`: the log line's noun; its plural names the metrics (`purged.keys`). */
  noun: 'key' | 'URL';
  /** The metric of every HTTP attempt, retries included (purge.Keys: `attempts`, its `requests` output counting batches). */
  attemptsMetric: 'attempts' | 'requests';
  /** Whether the log line counts the requests (batches of keys; one request a URL says nothing). */
  countRequests: boolean;
}

/**
 * The run of purge.Keys and purge.Urls: the bulk purge (progress, stop between requests), its
 * metrics, a failure carrying the outputs when an item was not purged, the log line.
 */
export async function runBulkPurge<O extends KeysOutputs | UrlsOutputs>(
  client: FastlyClient,
  props: { soft: boolean; concurrency: number },
  ctx: TaskContext,
  bulk: BulkPurge<O>,
): Promise<O> {
  const result = await bulk.purge({
    soft: props.soft,
    concurrency: props.concurrency,
    onProgress: ctx.onProgress,
    stop: ctx.stop ?? ctx.signal,
  });
  const outputs = bulk.outputs(result);
  const items = `${bulk.noun.toLowerCase()}s`;
  ctx.metric?.({ name: `purged.${items}`, type: 'counter', value: outputs.purged });
  ctx.metric?.({ name: `failed.${items}`, type: 'counter', value: outputs.failed.length });
  ctx.metric?.({ name: bulk.attemptsMetric, type: 'counter', value: client.counters.requests });
  ctx.metric?.({ name: 'retries', type: 'counter', value: client.counters.retries });
  if (result.failed.length > 0) throw new PurgeIncompleteError(outputs);
  const requests = bulk.countRequests ? ` in ${plural(result.sent, 'request')}` : '';
  const dup = result.duplicatesRemoved ? ` (${result.duplicatesRemoved} duplicates removed)` : '';
  ctx.logger.info(
    `${props.soft ? 'Soft-purged' : 'Purged'} ${plural(outputs.purged, bulk.noun)}${requests}${dup}`,
  );
  return outputs;
}
