import { z } from 'zod';
import { DEFAULT_PURGE_CONCURRENCY, purgeUrls, validatePurgeUrl } from '../../fastly/purge.js';
import { type UrlsOutputs, urlsOutputs } from './outputs.js';
import { runBulkPurge } from './bulk.js';
import { booleanish, connectionProps, defineTask, listOf, makeClient, numberish } from '../task.js';
import { checkList, checkServiceId } from './check.js';

export default defineTask({
  type: 'io.kestra.plugin.fastly.purge.Urls',
  title: 'Purge a list of URLs, any number of them.',
  description:
    'Fastly has no bulk URL endpoint: sends `POST /purge/{url}` for each URL (duplicates removed), ' +
    '`concurrency` at a time within the purge budget of the process (Fastly averages 100,000 purges per hour ' +
    'per customer; `Fastly-RateLimit-*` answers are followed). The first request goes alone: a failure every ' +
    'request would meet (bad token, a host that cannot be reached) stops sending. If some URLs still fail after ' +
    'retries, the task fails and `failed` names every URL not purged, with the reason. Needs the `purge_select` scope.',
  examples: [
    {
      title: 'Purge the pages a release changed',
      flow: `id: purge_release_pages
namespace: company.ops
tasks:
  - id: purge_pages
    type: io.kestra.plugin.fastly.purge.Urls
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    urls:
      - https://www.example.com/
      - https://www.example.com/pricing
      - https://www.example.com/docs/getting-started
`,
    },
  ],
  props: z.strictObject({
    ...connectionProps,
    urls: listOf(z.string()).describe(
      'URLs to purge, e.g. https://www.example.com/path?q=1 (a scheme is optional, as for Fastly). Any number.',
    ),
    soft: booleanish()
      .default(false)
      .describe('Mark the objects stale instead of evicting them (Fastly-Soft-Purge: 1).'),
    concurrency: numberish()
      .pipe(z.int().min(1).max(64))
      .default(DEFAULT_PURGE_CONCURRENCY)
      .describe('Purge requests in flight at once.'),
  }),
  outputs: {
    purgeIds: 'Map of every purged URL (as sent) to its purge id.',
    purged: 'Number of URLs purged.',
    failed: 'URLs not purged, each {url, status, reason}; empty on success.',
    duplicatesRemoved: 'Duplicate URLs dropped from the list.',
    requests: 'Purge requests sent (one per URL).',
    stopped:
      'Set when sending stopped early: the failure every request would meet (bad token, unreachable host) or the interruption. Unsent URLs are in failed.',
  },
  check(props, at) {
    checkServiceId(props, at);
    checkList(props, 'urls', 'the list of URLs is empty; give at least one URL', at, (url, path) =>
      at.attempt(path, () => validatePurgeUrl(url)),
    );
  },
  async run(props, ctx): Promise<UrlsOutputs> {
    const client = makeClient(props, ctx);
    return await runBulkPurge(client, props, ctx, {
      purge: (options) => purgeUrls(client, props.urls, options),
      outputs: urlsOutputs,
      noun: 'URL',
      attemptsMetric: 'requests',
      countRequests: false,
    });
  },
});
