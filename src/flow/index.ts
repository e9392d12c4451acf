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
export {
  createLogger,
  LEVELS,
  Masker,
  parseLevel,
  silentLogger,
  type Level,
  type Logger,
  type LoggerOptions,
} from '../logger.js';
export { Scheduler, type SchedulerOptions } from './scheduler.js';
export { flowJsonSchema } from './schema.js';
