import { z } from 'zod';
import { InvalidInputError } from '../../errors.js';
import { defineTask, proxyPolicyOf, type TaskExample } from '../task.js';
import { checkTarget, HttpCallError, httpCall } from '../http-call.js';
import { notificationCallOf, notificationOptions } from '../options.js';

const props = z.strictObject({
  url: z
    .string()
    .describe("The incoming-webhook URL. It is a credential: pass it as {{ secret('…') }}.")
    .meta({ secret: true }),
  payload: z
    .string()
    .describe('The message, as the JSON text the service documents (a Pebble template is fine).'),
  options: notificationOptions.optional(),
});

/** Kestra's incoming-webhook notification tasks: POST `payload` (JSON) to `url`, fail on a non-2xx answer. */
export function incomingWebhookTask(o: {
  type: string;
  service: string;
  description: string;
  example: TaskExample;
}) {
  return defineTask({
    type: o.type,
    title: `Send a ${o.service} message through an incoming webhook.`,
    description: o.description,
    examples: [o.example],
    props,
    outputs: { code: 'HTTP status the service answered.' },
    async run(p, ctx) {
      const url = checkTarget(p.url, { property: 'url', secretUrl: true });
      try {
        JSON.parse(p.payload);
      } catch (err) {
        throw new InvalidInputError(
          `payload: not valid JSON (${(err as Error).message}); expected the ${o.service} message as JSON text`,
          'payload',
        );
      }
      const label = `${o.service} webhook (URL hidden)`;
      const call = notificationCallOf(p.options, ctx.logger);
      const answer = await httpCall({
        url,
        method: 'POST',
        headers: {
          ...Object.fromEntries(
            Object.entries(call.headers ?? {}).filter(([name]) => name.toLowerCase() !== 'content-type'),
          ),
          'content-type': 'application/json',
        },
        body: p.payload,
        // The task-level `timeout` aborts through ctx.signal; this bounds a call without one.
        timeoutMs: call.timeoutMs ?? 30_000,
        signal: ctx.signal,
        label,
        // Kestra's notification options have no proxy: HTTPS_PROXY / NO_PROXY (or the runner's).
        proxy: proxyPolicyOf(undefined, ctx),
      });
      if (answer.code < 200 || answer.code > 299) {
        throw new HttpCallError(
          `${label} answered ${answer.code}: ${answer.body.slice(0, 200).replace(/\s+/g, ' ')}`,
          'HTTP_STATUS',
          answer.code,
        );
      }
      ctx.logger.info(`${o.service} message sent`);
      return { code: answer.code };
    },
  });
}
