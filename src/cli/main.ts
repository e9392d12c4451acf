#!/usr/bin/env node
// The CLI with every command (dist/bundle/cli.cjs); purge-main.ts is the same CLI with only `purge`.
import { type Loader, runCli } from './program.js';

const flow: Loader = () => import('./commands/flow.js').then((m) => m.registerFlow);
const server: Loader = () => import('./commands/server.js').then((m) => m.registerServer);
const COMMANDS: Record<string, Loader> = {
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

runCli(COMMANDS);
