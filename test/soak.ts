/**
 * `npm run soak` (CI runs it too): a real `kestra-fastly server` with 200 triggers against a
 * simulator injecting faults, for SOAK_SECONDS (default 60). Checks that memory stays flat, file
 * descriptors do not leak, and every execution is recorded exactly once. Loopback only, bounded.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { history as historyOf, triggerStates, unfinished } from './history.js';
import { DEMO_SERVICES, startSimulator } from '../src/simulator/index.js';
import { ServerProcess, triggerFlow } from './server-process.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const TRIGGERS = 200;

function procStat(pid: number): { rssMB: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  return { rssMB: Math.round(rss), fds: readdirSync(`/proc/${pid}/fd`).length };
}

async function main(): Promise<void> {
  const sim = await startSimulator({
    faults: {
      // The real API's usual answer time: 100–300 ms.
      latencyMs: 100,
      latencyJitterMs: 200,
      seed: 11,
      rate5xx: 0.08,
      rateReset: 0.03,
      rate429: 0.02,
      retryAfterSeconds: 0,
      rateHang: 0.005,
    },
  });
  const now = Math.floor(Date.now() / 1000);
  // Two services breach for the whole soak, the third never does.
  for (const s of DEMO_SERVICES.slice(0, 2)) {
    sim.addScenario({
      serviceId: s.id,
      field: 'status_5xx',
      from: now - 3000,
      to: now + SECONDS + 3600,
      perMinute: 10,
    });
  }
  const dir = mkdtempSync(join(tmpdir(), 'kf-soak-'));
  const flows = join(dir, 'flows');
  mkdirSync(flows);
  for (let i = 0; i < TRIGGERS; i++) {
    const service = DEMO_SERVICES[i % 3]?.id ?? '';
    writeFileSync(
      join(flows, `s${i}.yml`),
      triggerFlow(`s${i}`, service, i % 2 ? 'CROSSING' : 'EVERY_MATCH'),
    );
  }
  const state = join(dir, 'state');
  const server = new ServerProcess([flows, '--state-dir', state], {
    FASTLY_API_TOKEN: 'soak-token',
    FASTLY_API_ENDPOINT: sim.url,
  });
  await server.waitFor(new RegExp(`scheduling ${TRIGGERS} trigger`));
  const pid = server.child.pid as number;
  const curve: { t: number; rssMB: number; fds: number; executions: number }[] = [];
  const started = Date.now();
  while (Date.now() - started < SECONDS * 1000) {
    await sleep(Math.min(3000, (SECONDS * 1000) / 20));
    const executions = historyOf(state).length;
    curve.push({ t: Math.round((Date.now() - started) / 1000), ...procStat(pid), executions });
    const last = curve[curve.length - 1];
    console.log(`t=${last?.t}s rss=${last?.rssMB} MB fds=${last?.fds} executions=${executions}`);
  }
  const code = await server.stop();
  await sim.close();

  const results: [string, () => void][] = [
    ['server exits 0 on SIGTERM', () => assert.equal(code, 0, server.output.slice(-2000))],
    [
      'memory stays flat (last third within 1.3× + 25 MB of the first third after warm-up)',
      () => {
        const third = Math.max(1, Math.floor(curve.length / 3));
        const early = Math.max(...curve.slice(1, 1 + third).map((c) => c.rssMB));
        const late = Math.max(...curve.slice(-third).map((c) => c.rssMB));
        assert.ok(late <= early * 1.3 + 25, `RSS grew from ${early} MB to ${late} MB`);
      },
    ],
    [
      'no file-descriptor leak',
      () => {
        const early = curve[1]?.fds ?? 0;
        const late = curve[curve.length - 1]?.fds ?? 0;
        assert.ok(late <= early + 10, `fds grew from ${early} to ${late}`);
      },
    ],
    [
      'every execution recorded exactly once',
      () => {
        const history = historyOf(state);
        assert.ok(history.length > TRIGGERS, `only ${history.length} executions`);
        assert.equal(new Set(history.map((h) => h.id)).size, history.length);
        let fired = 0;
        for (const st of triggerStates(state)) fired += st.fired;
        assert.deepEqual(unfinished(state), [], 'nothing unfinished after a graceful stop');
        assert.equal(fired, history.length, 'firings = recorded executions');
      },
    ],
    [
      'CROSSING triggers fired once per breaching service, EVERY_MATCH ones many times',
      () => {
        const history = historyOf(state);
        for (let i = 0; i < TRIGGERS; i++) {
          const n = history.filter((h) => h.flowId === `s${i}`).length;
          const breaching = i % 3 !== 2;
          if (!breaching) assert.equal(n, 0, `s${i}`);
          else if (i % 2) assert.equal(n, 1, `s${i} (CROSSING)`);
          else assert.ok(n >= 2, `s${i} (EVERY_MATCH) fired ${n}×`);
        }
      },
    ],
  ];
  let failed = 0;
  for (const [name, check] of results) {
    try {
      check();
      console.log(`ok - ${name}`);
    } catch (err) {
      failed++;
      console.log(`not ok - ${name}: ${(err as Error).message}`);
    }
  }
  console.log(`RSS curve (MB): ${curve.map((c) => c.rssMB).join(' ')}`);
  console.log(`soak: ${results.length - failed} passed, ${failed} failed`);
  if (failed) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
