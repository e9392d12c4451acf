import { z } from 'zod';
import { purgeKey, validateSurrogateKey } from '../../fastly/purge.js';
import { booleanish, connectionProps, defineTask, makeClient } from '../task.js';
import { asText, checkServiceId } from './check.js';

export default defineTask({
  type: 'io.kestra.plugin.fastly.purge.Key',
  title: 'Purge every object tagged with one surrogate key.',
  description:
    'Sends `POST /service/{serviceId}/purge/{surrogateKey}`. A key with characters a URL path would alter ' +
    '(`/ % ? # +`, non-ASCII) is sent through the bulk JSON endpoint instead, so it is never mangled. ' +
    'Needs the `purge_select` scope.',
  examples: [
    {
      title: 'Soft-purge an article when the CMS updates it',
      flow: `id: purge_article
namespace: company.cms
inputs:
  - id: article_id
    type: STRING
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.Key
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: "{{ secret('FASTLY_SERVICE_ID') }}"
    surrogateKey: "article-{{ inputs.article_id }}"
    soft: true
`,
    },
  ],
  props: z.strictObject({
    ...connectionProps,
    serviceId: z.string().describe('Fastly service ID.'),
    surrogateKey: z
      .string()
      .describe('The surrogate key to purge (case-sensitive, no whitespace, at most 1 KB).'),
    soft: booleanish()
      .default(false)
      .describe('Mark objects stale instead of evicting them (Fastly-Soft-Purge: 1).'),
  }),
  outputs: { status: 'Fastly status, "ok".', id: 'Purge id returned by Fastly.' },
  check(props, at) {
    checkServiceId(props, at);
    if (at.literal(props.surrogateKey))
      at.attempt(['surrogateKey'], () => validateSurrogateKey(asText(props.surrogateKey)));
  },
  async run(props, ctx) {
    const result = await purgeKey(makeClient(props, ctx), props.serviceId, props.surrogateKey, {
      soft: props.soft,
    });
    ctx.logger.info(
      `${props.soft ? 'Soft-purged' : 'Purged'} key ${props.surrogateKey} (purge id ${result.id})`,
    );
    return result;
  },
});
