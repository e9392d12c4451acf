import Fail from './core/Fail.js';
import ForEach from './core/ForEach.js';
import If from './core/If.js';
import Log from './core/Log.js';
import OutputValues from './core/OutputValues.js';
import Parallel from './core/Parallel.js';
import Request from './core/Request.js';
import { Schedule } from './core/Schedule.js';
import Sequential from './core/Sequential.js';
import { Webhook } from './core/Webhook.js';
import DiscordIncomingWebhook from './notifications/DiscordIncomingWebhook.js';
import SlackIncomingWebhook from './notifications/SlackIncomingWebhook.js';
import TeamsIncomingWebhook from './notifications/TeamsIncomingWebhook.js';
import PurgeAll from './purge/All.js';
import PurgeKey from './purge/Key.js';
import PurgeKeys from './purge/Keys.js';
import PurgeUrl from './purge/Url.js';
import PurgeUrls from './purge/Urls.js';
import AggregateStats from './stats/AggregateStats.js';
import MonthToDateUsage from './stats/MonthToDateUsage.js';
import Stats from './stats/Stats.js';
import { StatsTrigger } from './stats/StatsTrigger.js';
import Usage from './stats/Usage.js';
import type { TaskDefinition } from './task.js';

/**
 * `kestra-plugin-fastly/tasks`: the task and trigger types (each with its zod schema, docs and `run`),
 * the registries by Kestra type name, and the helpers to validate and run one.
 */

const byType = (defs: unknown[]) =>
  Object.fromEntries((defs as TaskDefinition[]).map((t) => [t.type, t])) as Record<string, TaskDefinition>;

/** The Fastly task types, by Kestra type name. */
export const FASTLY_TASKS = byType([
  PurgeUrl,
  PurgeUrls,
  PurgeKey,
  PurgeKeys,
  PurgeAll,
  Stats,
  AggregateStats,
  Usage,
  MonthToDateUsage,
]);

/** Every task type a flow may use: the Fastly tasks and the core tasks that go with them. */
export const TASKS = {
  ...FASTLY_TASKS,
  ...byType([
    Log,
    OutputValues,
    If,
    ForEach,
    Parallel,
    Sequential,
    Fail,
    Request,
    SlackIncomingWebhook,
    TeamsIncomingWebhook,
    DiscordIncomingWebhook,
  ]),
};

/** Type names the Java plugin used before renaming them: accepted, with a deprecation warning. */
export const DEPRECATED_TYPES: Record<string, string> = {
  'io.kestra.plugin.fastly.purge.PurgeUrl': PurgeUrl.type,
  'io.kestra.plugin.fastly.purge.PurgeKey': PurgeKey.type,
  'io.kestra.plugin.fastly.purge.PurgeKeys': PurgeKeys.type,
  'io.kestra.plugin.fastly.purge.PurgeAll': PurgeAll.type,
};

/** Trigger types a flow may declare. */
export const TRIGGERS = byType([StatsTrigger, Schedule, Webhook]);

export {
  AggregateStats,
  DiscordIncomingWebhook,
  Fail,
  ForEach,
  If,
  Log,
  MonthToDateUsage,
  OutputValues,
  Parallel,
  PurgeAll,
  PurgeKey,
  PurgeKeys,
  PurgeUrl,
  PurgeUrls,
  Request,
  Schedule,
  Sequential,
  SlackIncomingWebhook,
  Stats,
  StatsTrigger,
  TeamsIncomingWebhook,
  Usage,
  Webhook,
};
export { PurgeIncompleteError, type KeysOutputs } from './purge/Keys.js';
export { type UrlsOutputs } from './purge/outputs.js';
export type { StatsTriggerProps } from './stats/StatsTrigger.js';
export { silentLogger, type Logger } from '../logger.js';
export {
  defineTask,
  parseProps,
  runTask,
  type ChildTasks,
  type Metric,
  type NestedRun,
  type RunState,
  type StaticCheck,
  type TaskContext,
  type TaskDefinition,
  type TaskExample,
} from './task.js';
