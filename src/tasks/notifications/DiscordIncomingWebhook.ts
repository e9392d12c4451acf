import { incomingWebhookTask } from './incoming.js';

export default incomingWebhookTask({
  type: 'io.kestra.plugin.notifications.discord.DiscordIncomingWebhook',
  service: 'Discord',
  description:
    "POSTs `payload` to a Discord webhook (https://discord.com/api/webhooks/…). The payload is Discord's execute-webhook JSON: `content`, `username`, `embeds`. Fails when Discord does not answer 2xx.",
  example: {
    title: 'Post a failed execution to Discord (flow-level errors)',
    flow: `id: purge_with_discord_on_failure
namespace: company.ops
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.All
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: "{{ secret('FASTLY_SERVICE_ID') }}"
errors:
  - id: discord
    type: io.kestra.plugin.notifications.discord.DiscordIncomingWebhook
    url: "{{ secret('DISCORD_WEBHOOK_URL') }}"
    payload: |
      {{ {"username": "kestra-fastly", "content": flow.id ~ " failed (execution " ~ execution.id ~ ")"} | toJson }}
`,
  },
});
