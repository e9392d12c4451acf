import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../src/logger.js';
import { Masker } from '../src/masker.js';
import { Runtime } from '../src/runtime/index.js';

test('a state folder from before the database: its history and queued executions are imported once, and the log says so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kf-migrate-'));
  const flow = join(dir, 'f.yml');
  writeFileSync(
    flow,
    `id: f
namespace: company.ops
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hello
`,
  );
  const state = join(dir, 'state');
  mkdirSync(join(state, 'queue'), { recursive: true });
  // Within the default retention (30 days), which the first start applies.
  const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString();
  const line = (id: string, startDate: string) =>
    `${JSON.stringify({ id, namespace: 'company.ops', flowId: 'f', state: 'SUCCESS', outputs: { log: { id } }, startDate, endDate: startDate, durationMs: 0 })}\n`;
  writeFileSync(join(state, 'executions.jsonl'), line('old1', daysAgo(2)) + line('old2', daysAgo(1)));
  writeFileSync(
    join(state, 'queue', 'queued1.json'),
    JSON.stringify({
      id: 'queued1',
      namespace: 'company.ops',
      flowId: 'f',
      inputs: {},
      createdAt: new Date().toISOString(),
    }),
  );
  const life = () => {
    const lines: string[] = [];
    const runtime = new Runtime({
      paths: [flow],
      stateDir: state,
      logger: createLogger({ write: (l) => lines.push(l) }),
      masker: new Masker(),
      env: {},
      write: () => {},
    });
    return { runtime, lines };
  };
  const first = life();
  // Imported at start (whichever store), not when the runtime is made.
  await first.runtime.start();
  assert.match(
    first.lines.join('\n'),
    /imported 2 execution\(s\) from .*executions\.jsonl into .*runtime\.db/,
  );
  assert.match(
    first.lines.join('\n'),
    /imported 1 queued execution\(s\) from .*queue into .*runtime\.db; they resume now/,
  );
  assert.equal(existsSync(join(state, 'queue')), false);
  await first.runtime.queue.idle();
  await first.runtime.stop();
  const second = life();
  await second.runtime.start();
  assert.doesNotMatch(second.lines.join('\n'), /imported/, 'once');
  const listed = await second.runtime.queue.search({ page: 1, size: 10 });
  assert.deepEqual(listed.results.map((e) => [e.id, e.state.current]).sort(), [
    ['old1', 'SUCCESS'],
    ['old2', 'SUCCESS'],
    ['queued1', 'SUCCESS'],
  ]);
  // Kept as each task's outputs (the flow's outputs, the API's `outputs`, did not exist then).
  assert.deepEqual(await second.runtime.queue.store.outputs('old1'), { log: { id: 'old1' } });
  await second.runtime.stop();
});
