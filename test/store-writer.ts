// For test/store.test.ts: writes executions to the store at argv[2] (a SQLite file or a
// postgres:// URL) until it is killed, printing each id once enqueue() has resolved (the
// acknowledgement a caller would get); argv[3] of them at once (default 1).
import { PgStore } from '../src/runtime/postgres.js';
import { SqliteStore } from '../src/runtime/sqlite.js';

const place = process.argv[2] as string;
/** How many submissions are written at once (in one turn: one group commit). */
const group = Number(process.argv[3] ?? 1);
const store = place.startsWith('postgres://') ? await PgStore.open(place) : new SqliteStore(place);
for (let i = 0; ; i += group) {
  const ids = Array.from({ length: group }, (_, k) => `w${i + k}`);
  await Promise.all(
    ids.map(async (id) => {
      await store.enqueue({
        id,
        namespace: 'n',
        flowId: 'f',
        inputs: {},
        createdAt: new Date().toISOString(),
      });
      process.stdout.write(`${id}!\n`);
    }),
  );
  for (const id of ids)
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
