import { z } from 'zod';
import {
  DEFAULT_PURGE_CONCURRENCY,
  MAX_KEYS_PER_REQUEST,
  purgeKeys,
  surrogateKeyProblem,
} from '../../fastly/purge.js';
import { type KeysOutputs, keysOutputs } from './outputs.js';
import { runBulkPurge } from './bulk.js';
import { booleanish, connectionProps, defineTask, listOf, makeClient, numberish } from '../task.js';
import { asText, checkList, checkServiceId } from './check.js';

export { type KeysOutputs, keysOutputs, PurgeIncompleteError } from './outputs.js';

export default defineTask({
  type: 'io.kestra.plugin.fastly.purge.Keys',
  title: 'Purge a list of surrogate keys, any number of them.',
  description:
    `Sends \`POST /service/{serviceId}/purge\` with a JSON body. Lists longer than Fastly's limit of ` +
    `${MAX_KEYS_PER_REQUEST} keys per request are split into batches sent concurrently; duplicates are removed. ` +
    'If some batches still fail after retries, the task fails and `failed` names every key that was not purged, ' +
    'with the reason. Needs the `purge_select` scope.',
  examples: [
    {
      title: 'Purge two product pages',
      flow: `id: purge_product_keys
namespace: company.ops
tasks:
  - id: purge_keys
    type: io.kestra.plugin.fastly.purge.Keys
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: "{{ secret('FASTLY_SERVICE_ID') }}"
    surrogateKeys:
      - product-42
      - product-43
`,
    },
  ],
  props: z.strictObject({
    ...connectionProps,
    serviceId: z.string().describe('Fastly service ID.'),
    surrogateKeys: listOf(z.string()).describe(
      'Surrogate keys to purge. Any length: split into batches of 256.',
    ),
    soft: booleanish()
      .default(false)
      .describe('Mark objects stale instead of evicting them (Fastly-Soft-Purge: 1).'),
    concurrency: numberish()
      .pipe(z.int().min(1).max(64))
      .default(DEFAULT_PURGE_CONCURRENCY)
      .describe('Batches in flight at once.'),
  }),
  outputs: {
    purgeIds: 'Map of every purged key to its purge id.',
    purged: 'Number of keys purged.',
    failed: 'Keys not purged, each {key, status, reason}; empty on success.',
    duplicatesRemoved: 'Duplicate keys dropped from the list.',
    requests:
      'Bulk requests sent (batches of at most 256 keys), each counted once however often it was retried. The metric attempts counts every HTTP attempt: attempts = requests + retries.',
    stopped:
      'Set when sending stopped early: the failure every batch would meet (bad token, unknown service, unreachable host) or the interruption. Unsent keys are in failed.',
  },
  check(props, at) {
    checkServiceId(props, at);
    checkList(
      props,
      'surrogateKeys',
      'the list of surrogate keys is empty; give at least one key',
      at,
      (key, path) => {
        const problem = surrogateKeyProblem(asText(key));
        if (problem) at.problem(path, problem);
      },
    );
  },
  async run(props, ctx): Promise<KeysOutputs> {
    const client = makeClient(props, ctx);
    return await runBulkPurge(client, props, ctx, {
      purge: (options) => purgeKeys(client, props.serviceId, props.surrogateKeys, options),
      outputs: keysOutputs,
      noun: 'key',
      // Not `requests`, the output's name for batches sent: every HTTP attempt, retries included.
      attemptsMetric: 'attempts',
      countRequests: true,
    });
  },
});
