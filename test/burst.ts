// A CMS burst against `kestra-fastly server`, in process: webhooks that each purge a few article
// keys, a fixed number in flight. Shared by test/burst.test.ts (a few hundred) and bench/run.ts (2,000).
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/logger.js';
import { Masker } from '../src/masker.js';
import { type RunningServer, startServer } from '../src/server/index.js';
import type { Simulator } from '../src/simulator/index.js';

export const BURST_SERVICE = 'SU1Z0isxPaozGVKXdv0eY';
const HOOK_KEY = 'burst-webhook-key-5c1e';

const FLOW = `id: purge_on_publish
namespace: company.cms
inputs:
  - id: keys
    type: ARRAY
    itemType: STRING
triggers:
  - id: on_publish
    type: io.kestra.plugin.core.trigger.Webhook
    key: ${HOOK_KEY}
    wait: true
    inputs:
      keys: "{{ trigger.body.keys }}"
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.Keys
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${BURST_SERVICE}
    surrogateKeys: "{{ inputs.keys }}"
`;

export interface BurstOptions {
  webhooks: number;
  /** Distinct article keys; each webhook names two of them. */
  keys: number;
  inFlight: number;
  /** The server's --purge-linger (0: every execution sends its own request, as before coalescing). */
  lingerMs: number;
}

export interface BurstResult {
  /** Final state of every execution. */
  states: Map<string, number>;
  /** Epoch ms at which the last webhook naming each key was sent. */
  lastWebhook: Map<string, number>;
  /** Bulk purge requests the API received, and the key purges they carried. */
  requests: number;
  keyPurges: number;
  /** Keys whose last purge reached the API before the last webhook naming them was sent. */
  stale: string[];
  elapsedMs: number;
}

/** The two keys webhook `i` names: spread over all keys, never the same two in a row. */
export const keysOf = (i: number, keys: number) => [
  `article-${(i * 7) % keys}`,
  `article-${(i * 13 + 5) % keys}`,
];

export async function startBurstServer(sim: Simulator, lingerMs: number): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), 'kf-burst-'));
  await mkdir(join(dir, 'flows'));
  await writeFile(join(dir, 'flows', 'purge_on_publish.yml'), FLOW);
  const masker = new Masker();
  return startServer({
    paths: [join(dir, 'flows')],
    stateDir: join(dir, 'state'),
    logger: createLogger({ write: () => {}, masker }),
    write: () => {},
    masker,
    env: {
      SECRET_FASTLY_API_TOKEN: Buffer.from('burst-token').toString('base64'),
      FASTLY_API_ENDPOINT: sim.url,
    },
    listen: { host: '127.0.0.1', port: 0 },
    purgeLingerMs: lingerMs,
  });
}

export async function runBurst(sim: Simulator, server: RunningServer, o: BurstOptions): Promise<BurstResult> {
  const url = `${server.http.url}/api/v1/main/executions/webhook/company.cms/purge_on_publish/${HOOK_KEY}`;
  const states = new Map<string, number>();
  const lastWebhook = new Map<string, number>();
  const logStart = sim.log.length;
  let next = 0;
  // node:http on a keep-alive pool, not fetch: undici's streams and signals per request were ~15 % of
  // the burst test's CPU, on the sending side, which is not what is measured.
  const agent = new Agent({ keepAlive: true, maxSockets: o.inFlight });
  const post = (body: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const started = Date.now();
  const worker = async () => {
    while (next < o.webhooks) {
      const keys = keysOf(next++, o.keys);
      const sentAt = Date.now();
      for (const k of keys) lastWebhook.set(k, Math.max(lastWebhook.get(k) ?? 0, sentAt));
      const res = await post(JSON.stringify({ keys }));
      const ex = JSON.parse(res.text) as { state?: { current?: string } };
      const state = ex.state?.current ?? `HTTP ${res.status}`;
      states.set(state, (states.get(state) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: o.inFlight }, worker)).finally(() => agent.destroy());
  const elapsedMs = Date.now() - started;
  const purges = sim.log
    .slice(logStart)
    .filter((e) => e.path === `/service/${BURST_SERVICE}/purge` && e.status === 200);
  const lastPurge = new Map<string, number>();
  for (const e of purges)
    for (const k of e.surrogateKeys ?? [])
      lastPurge.set(k, Math.max(lastPurge.get(k) ?? 0, e.receivedAt ?? 0));
  const stale = [...lastWebhook].filter(([k, at]) => (lastPurge.get(k) ?? 0) < at).map(([k]) => k);
  return {
    states,
    lastWebhook,
    requests: sim.log.slice(logStart).filter((e) => e.path.startsWith(`/service/${BURST_SERVICE}/purge`))
      .length,
    keyPurges: purges.reduce((n, e) => n + (e.keys ?? 0), 0),
    stale,
    elapsedMs,
  };
}
