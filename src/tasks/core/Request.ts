import { z } from 'zod';
import { booleanish, defineTask, proxyPolicyOf } from '../task.js';
import { checkTarget, HttpCallError, httpCall, isCredentialHeader } from '../http-call.js';
import { clientOptionsOf, httpOptions } from '../options.js';
import { writeJson } from '../../pebble/java.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

export default defineTask({
  type: 'io.kestra.plugin.core.http.Request',
  title: 'Make an HTTP request.',
  description:
    'Sends `method` to `uri` with `headers` and `body`, and outputs the status `code`, the response `headers` and `body`. A status of 400 or more fails the task unless `allowFailed`. Plain http:// to a non-loopback host is refused when the request carries credentials (a header whose name contains token, secret, key, auth, passw, cookie or session, such as Authorization, Cookie, Fastly-Key, X-Api-Key; or user:password in the URL).',
  examples: [
    {
      title: 'Tell a deploy tracker that the cache was purged',
      flow: `id: purge_and_notify
namespace: company.ops
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.All
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: "{{ secret('FASTLY_SERVICE_ID') }}"
  - id: notify
    type: io.kestra.plugin.core.http.Request
    uri: https://deploys.example.com/api/events
    method: POST
    contentType: application/json
    headers:
      Authorization: "Bearer {{ secret('DEPLOYS_TOKEN') }}"
    body: '{"event": "cache-purged", "execution": "{{ execution.id }}"}'
`,
    },
  ],
  props: z.strictObject({
    uri: z.string().describe('The URL to call.'),
    method: z.enum(METHODS).default('GET').describe('HTTP method.'),
    body: z
      .union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())])
      .optional()
      .describe('Request body; a map or list is sent as JSON.'),
    contentType: z.string().default('application/json').describe('Content-Type of the body.'),
    headers: z.record(z.string(), z.string()).optional().describe('Request headers.'),
    allowFailed: booleanish().default(false).describe('Do not fail the task on a 4xx/5xx status.'),
    options: httpOptions.optional(),
  }),
  outputs: {
    uri: 'The URL called.',
    code: 'HTTP status code.',
    headers: 'Response headers (name → list of values).',
    body: 'Response body, as text.',
    length: 'Length of the body in characters.',
  },
  async run(p, ctx) {
    const headers = { ...(p.headers ?? {}) };
    const carriesCredentials = Object.keys(headers).some(isCredentialHeader);
    const url = checkTarget(p.uri, { property: 'uri', carriesCredentials });
    let body: string | undefined;
    if (p.body !== undefined && p.method !== 'GET' && p.method !== 'HEAD') {
      // As Jackson writes it: a 1.0 read from the flow or a webhook body stays 1.0, a long whole.
      body = typeof p.body === 'string' ? p.body : writeJson(p.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
        headers['content-type'] = p.contentType;
    }
    const shown = `${url.origin}${url.pathname}`;
    const { timeoutMs, proxy } = clientOptionsOf(p.options, ctx.logger);
    const answer = await httpCall({
      url,
      method: p.method,
      headers,
      body,
      timeoutMs: timeoutMs ?? 60_000,
      signal: ctx.signal,
      label: `${p.method} ${shown}`,
      proxy: proxyPolicyOf(proxy, ctx),
    });
    const outputs = {
      uri: shown,
      code: answer.code,
      headers: answer.headers,
      body: answer.body,
      length: answer.body.length,
    };
    ctx.logger.debug(`${p.method} ${shown} → ${answer.code}`);
    if (answer.code >= 400 && !p.allowFailed) {
      const err = new HttpCallError(
        `${p.method} ${shown} answered ${answer.code}: ${answer.body.slice(0, 200).replace(/\s+/g, ' ')}`,
        'HTTP_STATUS',
        answer.code,
      );
      // The executor keeps outputs of a failed task: the body tells why.
      Object.assign(err, { outputs });
      throw err;
    }
    return outputs;
  },
});
