/**
 * `node dist/bench/kill.js [RUNS]`: kill-to-KILLED of a running 20,000-key purge.Keys through the
 * server's API (in process, on a free loopback port), the simulator answering in 100–300 ms. Each
 * run starts the execution, waits for the fourth bulk request to reach the simulator, sends
 * `DELETE …/executions/{id}/kill`, and times until the `follow` stream's `end` event; it reports
 * the account of the killed task (purged + unpurged = 20,000). Median and worst over RUNS (5).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/logger.js';
import { Masker } from '../src/masker.js';
import { startServer } from '../src/server/index.js';
import { Simulator } from '../src/simulator/index.js';

const RUNS = Number(process.argv[2] ?? 5);
const KEYS = 20_000;
const SERVICE = 'SU1Z0isxPaozGVKXdv0eY';

const FLOW = `id: big_purge
namespace: company.ops
inputs:
  - id: keys
    type: JSON
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.Keys
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    concurrency: 2
    surrogateKeys: "{{ inputs.keys }}"
`;

async function endOf(url: string, id: string, onEnd: (ms: number) => void): Promise<void> {
  const r = await fetch(`${url}/api/v1/main/executions/${id}/follow`, {
    signal: AbortSignal.timeout(120_000),
  });
  const reader = (r.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let tail = '';
  for (;;) {
    const { value, done } = await reader.read();
    // Only the last bytes are kept: an event carries the whole execution.
    if (value) tail = (tail + decoder.decode(value, { stream: true })).slice(-64);
    if (/\nid: end\n/.test(tail)) {
      onEnd(performance.now());
      await reader.cancel();
      return;
    }
    if (done) throw new Error('the follow stream ended without an end event');
  }
}

async function main(): Promise<void> {
  const sim = await new Simulator({ faults: { latencyMs: 100, latencyJitterMs: 200 } }).start();
  const dir = mkdtempSync(join(tmpdir(), 'kf-bench-kill-'));
  writeFileSync(join(dir, 'big.yml'), FLOW);
  const masker = new Masker();
  const server = await startServer({
    paths: [dir],
    stateDir: join(dir, 'state'),
    logger: createLogger({ write: () => {}, masker }),
    write: () => {},
    masker,
    env: { SECRET_FASTLY_API_TOKEN: Buffer.from('tok').toString('base64'), FASTLY_API_ENDPOINT: sim.url },
    listen: { host: '127.0.0.1', port: 0 },
  });
  const url = server.http.url;
  const times: number[] = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      sim.clearLog();
      const form = new FormData();
      form.set('keys', JSON.stringify(Array.from({ length: KEYS }, (_, i) => `r${run}-k${i}`)));
      const created = (await (
        await fetch(`${url}/api/v1/main/executions/company.ops/big_purge`, { method: 'POST', body: form })
      ).json()) as { id: string };
      // The fourth bulk request reaches the simulator: the purge is well under way.
      await new Promise<void>((resolve) => {
        const original = sim.state.record.bind(sim.state);
        let seen = 0;
        sim.state.record = (entry) => {
          original(entry);
          if (entry.path.endsWith('/purge') && ++seen === 4) {
            sim.state.record = original;
            resolve();
          }
        };
      });
      let endedAt = 0;
      const ended = endOf(url, created.id, (t) => (endedAt = t));
      const t0 = performance.now();
      const kill = await fetch(`${url}/api/v1/main/executions/${created.id}/kill`, { method: 'DELETE' });
      if (kill.status !== 202) throw new Error(`kill answered ${kill.status}`);
      await ended;
      const ms = endedAt - t0;
      const ex = (await (await fetch(`${url}/api/v1/main/executions/${created.id}`)).json()) as {
        state: { current: string };
        taskRunList: { taskId: string; outputs?: { purged: number; failed: unknown[] } }[];
      };
      // The account is the task run's outputs (the execution's `outputs` are the flow's, none here).
      const a = ex.taskRunList.find((r) => r.taskId === 'purge')?.outputs;
      if (!a)
        throw new Error(`execution ${created.id} ended ${ex.state.current} without the purge's account`);
      times.push(ms);
      console.log(
        `run ${run + 1}: ${ex.state.current} ${ms.toFixed(0)} ms after the kill; purged ${a.purged}, unpurged ${a.failed.length} (sum ${a.purged + a.failed.length})`,
      );
    }
  } finally {
    await server.stop(10_000);
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
  times.sort((a, b) => a - b);
  console.log(
    `kill-to-KILLED over ${RUNS} runs: median ${times[Math.floor(times.length / 2)]?.toFixed(0)} ms, worst ${times.at(-1)?.toFixed(0)} ms`,
  );
}

await main();
