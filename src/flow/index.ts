/**
 * `kestra-plugin-fastly/flow`: Kestra flow files (YAML) loaded, validated and run; the trigger
 * scheduler; the flow JSON Schema. An explicit list: what is not named here is internal.
 */
export { runFlow, type Execution, type RunOptions, type State, type TaskRun } from './executor.js';
export { ExpressionError } from './expressions.js';
export {
  FlowError,
  loadFlowFile,
  parseFlow,
  type Flow,
  type FlowProblem,
  type TaskNode,
  type TriggerNode,
} from './load.js';
export { createLogger, parseLevel, silentLogger, type Logger, type LoggerOptions } from '../logger.js';
export { LEVELS, type Level } from '../levels.js';
export { Masker } from '../masker.js';
export { type Clock, ManualClock, systemClock } from './clock.js';
export {
  Scheduler,
  type RecentPoint,
  type SchedulerEvent,
  type SchedulerOptions,
  type TriggerSnapshot,
} from './scheduler.js';
export {
  type Evaluation,
  type EvaluationInput,
  registerTriggerKind,
  type TriggerEnv,
  type TriggerFactory,
  type TriggerInstance,
} from './trigger.js';
export { flowJsonSchema } from './schema.js';
