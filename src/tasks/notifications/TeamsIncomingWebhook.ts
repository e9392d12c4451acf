import { incomingWebhookTask } from './incoming.js';

export default incomingWebhookTask({
  type: 'io.kestra.plugin.notifications.teams.TeamsIncomingWebhook',
  service: 'Microsoft Teams',
  description:
    'POSTs `payload` to a Microsoft Teams incoming webhook. The payload is a Teams message card (`"@type": "MessageCard"`) or an Adaptive Card message. Fails when Teams does not answer 2xx.',
  example: {
    title: 'Tell a Teams channel that a purge ran',
    flow: `id: purge_and_tell_teams
namespace: company.ops
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.Key
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: "{{ secret('FASTLY_SERVICE_ID') }}"
    surrogateKey: homepage
  - id: teams
    type: io.kestra.plugin.notifications.teams.TeamsIncomingWebhook
    url: "{{ secret('TEAMS_WEBHOOK_URL') }}"
    payload: |
      {{ {"@type": "MessageCard", "@context": "http://schema.org/extensions", "themeColor": "0076D7",
          "summary": "Fastly purge", "sections": [{"activityTitle": "Purged homepage (" ~ outputs.purge.id ~ ")"}]} | toJson }}
`,
  },
});
