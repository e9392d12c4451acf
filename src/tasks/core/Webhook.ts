import { z } from 'zod';
import { booleanish, defineTask } from '../task.js';

/** A whole number from 100 to 599, or its text ("404"). */
const isStatus = (v: unknown) =>
  (typeof v === 'number' || (typeof v === 'string' && /^\s*\d+\s*$/.test(v))) &&
  Number.isInteger(Number(v)) &&
  Number(v) >= 100 &&
  Number(v) <= 599;

export const webhookProps = z.strictObject({
  key: z
    .string()
    .min(1)
    .max(256)
    .describe(
      "The secret part of the webhook URL; use {{ secret('…') }}. POST /api/v1/main/executions/webhook/{namespace}/{flowId}/{key} starts the flow.",
    )
    .meta({ secret: true }),
  inputs: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('Inputs of the execution; may use {{ trigger.body }}, trigger.headers and trigger.parameters.'),
  wait: booleanish()
    .default(false)
    .describe('Answer when the execution has ended, instead of when it is recorded.'),
  returnOutputs: booleanish()
    .default(false)
    .describe("With wait: answer with the flow's `outputs` (the execution's outputs) only."),
  responseCode: z
    .union([z.number(), z.string()])
    // Kestra's Property<Integer>: a literal must be a status; an expression is checked once rendered.
    .refine((v) => isStatus(v) || (typeof v === 'string' && /\{\{|\{%/.test(v)), {
      error: 'expected an HTTP status (a whole number from 100 to 599) or an expression',
    })
    .optional()
    .describe(
      'With wait and returnOutputs: the status of the answer (an expression may read the ended execution: outputs, inputs, execution.state); default 500 when the execution FAILED, else 200.',
    ),
  responseContentType: z
    .enum(['application/json', 'text/plain'])
    .optional()
    .describe('With wait and returnOutputs: text/plain answers the outputs as text (a string as is).'),
});

export type WebhookProps = z.output<typeof webhookProps>;

export const Webhook = defineTask({
  type: 'io.kestra.plugin.core.trigger.Webhook',
  title: 'Start a flow from an HTTP call.',
  description:
    'The server starts an execution on GET, POST or PUT /api/v1/main/executions/webhook/{namespace}/{flowId}/{key} (the tenant-less /api/v1/executions/webhook/… too), with the body (parsed when JSON) as `{{ trigger.body }}`, the headers as `trigger.headers` and the query as `trigger.parameters`. The key is the only authorization: keep it secret. It answers once the execution is recorded on disk.',
  examples: [
    {
      title: 'Purge the articles a CMS publishes',
      flow: `id: purge_articles_on_publish
namespace: company.cms
inputs:
  - id: article_ids
    type: ARRAY
    itemType: STRING
triggers:
  - id: on_publish
    type: io.kestra.plugin.core.trigger.Webhook
    key: "{{ secret('CMS_WEBHOOK_KEY') }}"
    inputs:
      article_ids: "{{ trigger.body.article_ids }}"
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.Keys
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: "{{ secret('FASTLY_SERVICE_ID') }}"
    surrogateKeys: "{{ inputs.article_ids }}"
`,
    },
  ],
  props: webhookProps,
  outputs: {},
  run() {
    return {};
  },
});
