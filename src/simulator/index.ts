/** `kestra-plugin-fastly/simulator`: a local Fastly API on 127.0.0.1, for tests and demos. */
export type { FaultOptions } from './faults.js';
export { Simulator, startSimulator } from './server.js';
export {
  DEMO_SERVICES,
  type RequestLogEntry,
  type SimService,
  type SimulatorOptions,
  type StatsScenario,
} from './state.js';
