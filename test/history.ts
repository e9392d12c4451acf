import { join } from 'node:path';
import type { ExecutionRecord, TriggerState } from '../src/flow/state.js';
import { SqliteSync } from '../src/runtime/sqlite.js';
import type { StoredExecution } from '../src/runtime/store.js';

/** A server's state folder, read as its runtime does (runtime.db). */
function withStore<T>(stateDir: string, read: (store: SqliteSync) => T): T {
  const store = new SqliteSync(join(stateDir, 'runtime.db'));
  try {
    return read(store);
  } finally {
    store.close();
  }
}

/** The ended executions of a server's state folder, oldest first. */
export const history = (stateDir: string): ExecutionRecord[] => withStore(stateDir, (s) => s.history());

/** The executions left queued or running (resumed at the next start). */
export const unfinished = (stateDir: string): StoredExecution[] => withStore(stateDir, (s) => s.unfinished());

/** A trigger's state as the runtime keeps it. */
export const triggerState = (stateDir: string, key: string): TriggerState | undefined =>
  withStore(stateDir, (s) => s.triggerStates().find((t) => t.key === key));

/** Every trigger's state as the runtime keeps it. */
export const triggerStates = (stateDir: string): TriggerState[] =>
  withStore(stateDir, (s) => s.triggerStates());
