// Every command of the full CLI by name, each module loaded only when its command runs: the table
// main.ts runs, and the one tests run in process (test/cli-host.ts).
import type { Loader } from './program.js';

const flow: Loader = () => import('./commands/flow.js').then((m) => m.registerFlow);
const server: Loader = () => import('./commands/server.js').then((m) => m.registerServer);
export const COMMANDS: Record<string, Loader> = {
  purge: () => import('./commands/purge.js').then((m) => m.registerPurge),
  stats: () => import('./commands/stats.js').then((m) => m.registerStats),
  run: flow,
  validate: flow,
  schema: flow,
  task: () => import('./commands/task.js').then((m) => m.registerTask),
  server,
  executions: server,
  simulator: () => import('./commands/simulator.js').then((m) => m.registerSimulator),
  demo: () => import('./commands/demo.js').then((m) => m.registerDemo),
};
