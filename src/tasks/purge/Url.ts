import { z } from 'zod';
import { purgeUrl, validatePurgeUrl } from '../../fastly/purge.js';
import { edgeEndpoint, type VerifyResult, verifyPurge } from '../../fastly/verify.js';
import { VerifyFailedError } from './outputs.js';
import { booleanish, connectionProps, defineTask, makeClient } from '../task.js';
import { checkServiceId } from './check.js';

export default defineTask({
  type: 'io.kestra.plugin.fastly.purge.Url',
  title: 'Purge a single URL from the Fastly cache.',
  description:
    'Sends `POST /purge/{url}` to the Fastly API with the URL appended as is (scheme, slashes and query kept). ' +
    'The token goes to the API only, never to the purged host. Needs the `purge_select` scope. ' +
    'With `verify`, the URL is then requested with `Fastly-Debug: 1` and its `X-Cache` and `Age` are reported.',
  examples: [
    {
      title: 'Purge the home page',
      flow: `id: purge_homepage
namespace: company.ops
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.Url
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    url: "https://www.example.com/"
`,
    },
  ],
  props: z.strictObject({
    ...connectionProps,
    url: z
      .string()
      .describe(
        'The URL to purge, e.g. https://www.example.com/path?q=1 (a scheme is optional, as for Fastly).',
      ),
    soft: booleanish()
      .default(false)
      .describe('Mark the object stale instead of evicting it (Fastly-Soft-Purge: 1).'),
    verify: booleanish()
      .default(false)
      .describe(
        'After the purge, request the URL with Fastly-Debug: 1 and report X-Cache and Age in `verification`.',
      ),
  }),
  outputs: {
    status: 'Fastly status, "ok".',
    id: 'Purge id returned by Fastly.',
    verification: 'With verify: {status, xCache, age, surrogateKey} of the edge response after the purge.',
  },
  check(props, at) {
    checkServiceId(props, at);
    if (at.literal(props.url)) at.attempt(['url'], () => validatePurgeUrl(props.url));
  },
  async run(props, ctx) {
    const client = makeClient(props, ctx);
    const result = await purgeUrl(client, props.url, { soft: props.soft });
    ctx.logger.info(`${props.soft ? 'Soft-purged' : 'Purged'} ${props.url} (purge id ${result.id})`);
    let verification: VerifyResult | undefined;
    if (props.verify) {
      const absolute = props.url.includes('://') ? props.url : `https://${props.url}`;
      try {
        verification = await verifyPurge(absolute, {
          edgeEndpoint: edgeEndpoint(ctx.env, client.baseUrl),
          proxy: client.proxyPolicy,
          signal: ctx.signal,
        });
      } catch (err) {
        throw new VerifyFailedError(result, props.url, err as Error);
      }
      ctx.logger.info(
        `Verified ${props.url}: X-Cache ${verification.xCache ?? '(none)'}, Age ${verification.age ?? '(none)'}`,
      );
    }
    return { ...result, ...(verification ? { verification } : {}) };
  },
});
