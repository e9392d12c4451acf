import { incomingWebhookTask } from './incoming.js';

export default incomingWebhookTask({
  type: 'io.kestra.plugin.notifications.slack.SlackIncomingWebhook',
  service: 'Slack',
  description:
    'POSTs `payload` to a Slack incoming webhook (https://hooks.slack.com/services/…). The payload is Slack\'s message JSON: `{"text": "…"}`, or `blocks`. Fails when Slack does not answer 2xx.',
  example: {
    title: 'Post the 5xx alert to a Slack channel',
    flow: `id: fastly_error_alert_to_slack
namespace: company.ops
triggers:
  - id: high_error_rate
    type: io.kestra.plugin.fastly.stats.StatsTrigger
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: "{{ secret('FASTLY_SERVICE_ID') }}"
    field: status_5xx
    threshold: 50
    window: PT1H
    interval: PT5M
    fireOn: CROSSING
tasks:
  - id: slack
    type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
    url: "{{ secret('SLACK_WEBHOOK_URL') }}"
    payload: |
      {{ {"text": "Fastly 5xx spike: " ~ trigger.value ~ " errors in the last hour (threshold " ~ trigger.threshold ~ ")"} | toJson }}
`,
  },
});
