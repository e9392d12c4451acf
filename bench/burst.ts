/**
 * `npm run bench:burst`: the CMS burst of issue 24 through `kestra-fastly server` (in process) and
 * the simulator at 200 ms: 2,000 webhooks naming 2 of 40 article keys each, 40 in flight, with
 * coalescing off (--purge-linger 0: each execution sends its own request, as before) and on (the
 * default 25 ms). Prints the figures and the markdown section kept in bench/by-hand.md.
 */
import { Simulator } from '../src/simulator/index.js';
import { runBurst, startBurstServer } from '../test/burst.js';

const WEBHOOKS = Number(process.env.BURST_WEBHOOKS ?? 2000);
const LATENCY = 200;

async function main(): Promise<void> {
  const rows: string[] = [];
  for (const lingerMs of [0, 25]) {
    const sim = await new Simulator({ faults: { latencyMs: LATENCY } }).start();
    const server = await startBurstServer(sim, lingerMs);
    try {
      const r = await runBurst(sim, server, { webhooks: WEBHOOKS, keys: 40, inFlight: 40, lingerMs });
      const states = [...r.states].map(([s, n]) => `${n} ${s}`).join(', ');
      console.error(
        `linger ${lingerMs} ms: ${r.requests} purge requests, ${r.keyPurges} key purges, ${states}, ` +
          `${r.stale.length} keys purged before their last webhook, ${r.elapsedMs} ms`,
      );
      rows.push(
        `| ${lingerMs === 0 ? 'before: each execution its own request (`--purge-linger 0`)' : `coalesced (\`--purge-linger ${lingerMs}\`)`} | ${r.requests.toLocaleString('en')} | ${r.keyPurges.toLocaleString('en')} | ${states} | ${r.stale.length} | ${(r.elapsedMs / 1000).toFixed(1)} s |`,
      );
    } finally {
      await server.stop(10_000);
      await sim.close();
    }
  }
  process.stdout
    .write(`## 7. A CMS burst through the server: ${WEBHOOKS.toLocaleString('en')} webhooks, 2 of 40 keys each, 40 in flight, API at ${LATENCY} ms

\`npm run bench:burst\` (bench/burst.ts; test/burst.test.ts runs the same with 200 webhooks).

| server | purge requests | key purges | executions | keys last purged before their last webhook | wall time |
|---|---:|---:|---|---:|---:|
${rows.join('\n')}

- Target at most 200 purge requests for the 2,000 webhooks, every execution SUCCESS, every key's
  last purge after its last webhook.
`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
