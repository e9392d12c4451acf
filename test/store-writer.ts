// For test/store.test.ts: writes executions to the store at argv[2] (a SQLite file or a
// postgres:// URL) until it is killed, printing each id once enqueue() has returned (the
// acknowledgement a caller would get).
import { PgStore } from '../src/runtime/postgres.js';
import { SqliteStore } from '../src/runtime/sqlite.js';

const place = process.argv[2] as string;
const store = place.startsWith('postgres://') ? await PgStore.open(place) : new SqliteStore(place);
for (let i = 0; ; i++) {
  const id = `w${i}`;
  await store.enqueue({ id, namespace: 'n', flowId: 'f', inputs: {}, createdAt: new Date().toISOString() });
  process.stdout.write(`${id}!\n`);
  await store.saveTaskRun(id, {
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
