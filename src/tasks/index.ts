import PurgeAll from './purge/All.js';
import PurgeKey from './purge/Key.js';
import PurgeKeys from './purge/Keys.js';
import PurgeUrl from './purge/Url.js';
import type { TaskDefinition } from './task.js';

/** Every task type this plugin provides, by Kestra type name. */
export const TASKS: Record<string, TaskDefinition> = Object.fromEntries(
  [PurgeUrl, PurgeKey, PurgeKeys, PurgeAll].map((t) => [t.type, t as unknown as TaskDefinition]),
);

export { PurgeAll, PurgeKey, PurgeKeys, PurgeUrl };
