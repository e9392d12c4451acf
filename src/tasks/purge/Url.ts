import { z } from 'zod';
import { RunFailedError } from '../../errors.js';
import { isLoopbackHost } from '../../fastly/client.js';
import { purgeUrl, type PurgeResult } from '../../fastly/purge.js';
import { type VerifyResult, verifyPurge } from '../../fastly/verify.js';
import { booleanish, connectionProps, defineTask, makeClient } from '../task.js';

/** The purge succeeded but the edge could not be asked afterwards; the purge's outputs travel with the error. */
export class VerifyFailedError extends RunFailedError {
  constructor(
    readonly outputs: PurgeResult,
    url: string,
    cause: Error,
  ) {
    super(`purge.Url: purged ${url} (purge id ${outputs.id}), but verifying it failed: ${cause.message}`, {
      cause,
    });
  }
}

/**
 * Where `verify` sends its request: $KESTRA_FASTLY_EDGE_ENDPOINT when set; else, when the API is the
 * local simulator (a loopback endpoint), the simulator, which serves the edge too; else the URL's host.
 */
export function edgeEndpoint(env: NodeJS.ProcessEnv, apiBaseUrl: string): string | undefined {
  const explicit = env.KESTRA_FASTLY_EDGE_ENDPOINT?.trim();
  if (explicit) return explicit;
  return isLoopbackHost(new URL(apiBaseUrl).hostname) ? apiBaseUrl : undefined;
}

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
  async run(props, ctx) {
    const client = makeClient(props, ctx);
    const result = await purgeUrl(client, props.url, { soft: props.soft });
    ctx.logger.info(`${props.soft ? 'Soft-purged' : 'Purged'} ${props.url} (purge id ${result.id})`);
    let verification: VerifyResult | undefined;
    if (props.verify) {
      const absolute = props.url.includes('://') ? props.url : `https://${props.url}`;
      try {
        verification = await verifyPurge(absolute, { edgeEndpoint: edgeEndpoint(ctx.env, client.baseUrl) });
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
