import PurgeAll from './purge/All.js';
import PurgeKey from './purge/Key.js';
import PurgeKeys from './purge/Keys.js';
import PurgeUrl from './purge/Url.js';
import AggregateStats from './stats/AggregateStats.js';
import MonthToDateUsage from './stats/MonthToDateUsage.js';
import Stats from './stats/Stats.js';
import Usage from './stats/Usage.js';
import type { TaskDefinition } from './task.js';

/** Every Fastly task type this plugin provides, by Kestra type name. */
export const FASTLY_TASKS: Record<string, TaskDefinition> = Object.fromEntries(
  [PurgeUrl, PurgeKey, PurgeKeys, PurgeAll, Stats, AggregateStats, Usage, MonthToDateUsage].map((t) => [
    t.type,
    t as unknown as TaskDefinition,
  ]),
);

export { AggregateStats, MonthToDateUsage, PurgeAll, PurgeKey, PurgeKeys, PurgeUrl, Stats, Usage };
