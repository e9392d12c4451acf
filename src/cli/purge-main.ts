// `kestra-fastly purge …` as its own bundle (dist/bundle/purge.cjs, chosen by bin.ts): the deploy
// step's cold start loads only the purge commands and the client, and commander only when the
// invocation needs it (help, usage errors: see purge-fast.ts).
import { exitWith } from './exit.js';
import { runPurgeFast } from './purge-fast.js';

if (!runPurgeFast(process.argv)) {
  exitWith(
    import('./program.js').then(({ main }) =>
      main(process.argv, { purge: () => import('./commands/purge.js').then((m) => m.registerPurge) }),
    ),
  );
}
