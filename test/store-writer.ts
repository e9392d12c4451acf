// For test/store.test.ts: writes executions to the store at argv[2] until it is killed, printing
// each id once enqueue() has returned (the acknowledgement a caller would get).
import { SqliteSync } from '../src/runtime/sqlite.js';

const store = new SqliteSync(process.argv[2] as string);
for (let i = 0; ; i++) {
  const id = `w${i}`;
  store.enqueue({ id, namespace: 'n', flowId: 'f', inputs: {}, createdAt: new Date().toISOString() });
  process.stdout.write(`${id}!\n`);
  store.saveTaskRun(id, {
    id: `${id}-t`,
    taskId: 't',
    type: 'io.kestra.plugin.core.log.Log',
    state: 'SUCCESS',
    attempts: 1,
    startDate: new Date().toISOString(),
    endDate: '',
    durationMs: 0,
    outputs: { filler: 'x'.repeat(2000) },
  });
}
