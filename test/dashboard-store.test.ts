import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type TriggerEvaluationEvent, triggerEvaluations } from '../src/diagnostics.js';
import type { Flow, TriggerNode } from '../src/flow/load.js';
import type { EvaluationPoint } from '../src/server/dashboard/model.js';
import {
  type DashboardSource,
  DashboardStore,
  type ScheduledTrigger,
  type TriggerSummary,
} from '../src/server/dashboard/store.js';

const KEYS = ['company.ops.f.a', 'company.ops.f.b'];

/** A server with one flow and two StatsTriggers that have never been evaluated in this process. */
const source: DashboardSource = {
  flows: () => [
    {
      flow: { namespace: 'company.ops', id: 'f', inputs: [], triggers: [] } as unknown as Flow,
      triggers: KEYS.map((key): ScheduledTrigger => ({
        key,
        trigger: { id: key.split('.').pop(), type: 'StatsTrigger' } as unknown as TriggerNode,
        props: {} as TriggerSummary,
        state: { key, armed: true, fired: 0, failures: 0 },
        running: false,
      })),
    },
  ],
  executions: () => Promise.resolve([]),
  mask: (text) => text,
};

const evaluation = (key: string, i: number): TriggerEvaluationEvent => ({
  key,
  namespace: 'company.ops',
  flowId: 'f',
  triggerId: key.split('.').pop() as string,
  field: 'status_5xx',
  threshold: 50,
  time: 1_800_000_000_000 + i * 60_000,
  value: i,
  matched: i % 7 === 0,
  fired: i % 7 === 0,
  ...(i % 7 === 0 ? { executionId: `ex-${i}` } : {}),
});

/** What the page would chart for each trigger. */
async function charted(store: DashboardStore): Promise<Map<string, EvaluationPoint[]>> {
  const flow = (await store.state()).flows[0];
  return new Map((flow?.triggers ?? []).map((t) => [t.key, t.evaluations]));
}

test('the dashboard keeps trigger evaluations in its folder: after a restart the chart has the last 720 per trigger with their firings; the file stays under twice that; a damaged line is skipped', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-dstore-'));
  const first = new DashboardStore(source, { dir });
  for (let i = 0; i < 2000; i++) triggerEvaluations.publish(evaluation(KEYS[0] as string, i));
  for (let i = 0; i < 10; i++) triggerEvaluations.publish(evaluation(KEYS[1] as string, i));
  first.close();
  triggerEvaluations.publish(evaluation(KEYS[0] as string, 9999)); // after close: not kept
  const file = join(dir, 'evaluations.ndjson');
  const lines = (await readFile(file, 'utf8')).trim().split('\n');
  assert.ok(lines.length <= 2 * 730, `${lines.length} lines`);
  await appendFile(file, '{"key": "company.ops.f.a", "time": 1, "fi'); // cut short by a crash

  const second = new DashboardStore(source, { dir });
  t.after(() => second.close());
  const points = await charted(second);
  const a = points.get(KEYS[0] as string) ?? [];
  assert.deepEqual(
    a.map((p) => p.value),
    Array.from({ length: 720 }, (_, i) => 1280 + i),
  );
  assert.deepEqual(
    a.filter((p) => p.fired).map((p) => p.executionId),
    Array.from({ length: 2000 }, (_, i) => i)
      .filter((i) => i >= 1280 && i % 7 === 0)
      .map((i) => `ex-${i}`),
  );
  assert.deepEqual(
    points.get(KEYS[1] as string)?.map((p) => p.value),
    Array.from({ length: 10 }, (_, i) => i),
  );
  // Without a folder nothing is kept across stores (the previous behaviour, for embedders).
  const bare = new DashboardStore(source);
  t.after(() => bare.close());
  assert.deepEqual((await charted(bare)).get(KEYS[0] as string), []);
});
