// `kestra-fastly purge …` as its own bundle (dist/bundle/purge.cjs, chosen by bin.ts): the deploy
// step's cold start loads and compiles only commander, the purge commands and the client.
import { runCli } from './program.js';

runCli({ purge: () => import('./commands/purge.js').then((m) => m.registerPurge) });
