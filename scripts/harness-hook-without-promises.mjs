// Preloaded by `npm test` (`node --import ./scripts/harness-hook-without-promises.mjs
// scripts/run-tests.mjs`; node:test gives each test file's process the runner's Node options, and
// the CLI hosts it forks inherit them): node:test's harness installs an async hook, init and
// destroy, to know which test each async resource belongs to (a test() inside describe() finds its
// suite so; an uncaught error names its test). A destroy hook makes V8 track the end of every
// promise, so every `await` in a test process paid for it: 300,000 awaits took 1,078 ms under the
// harness and 30 ms without it (Node 20; 928 and 41 ms on Node 24). The suite is promise-heavy
// (in-process servers, stores, the Fastly client).
// Here the harness's hook is given its init alone, and no promises: suites, tests and the timers,
// sockets and handles they create are still traced, so nesting works as before and an error thrown
// in a test's timer or socket callback still fails that test (the 300,000 awaits: ~10x faster than
// with the full hook). An unhandled rejection, or an error raised after an `await`, still fails the
// run, reported against its test file (`not ok - x.test.js`, the error quoted) instead of its test.
// The harness's map of resources is never emptied without destroy: it holds only resources created
// inside a test's own synchronous code and their non-promise descendants. Any other createHook
// call (none in this project) gets Node's own.
import asyncHooks from 'node:async_hooks';

const createHook = asyncHooks.createHook;
asyncHooks.createHook = function harnessAware(callbacks) {
  if (!/internal\/test_runner\/harness/.test(new Error().stack ?? ''))
    return createHook.call(this, callbacks);
  return createHook({
    init(asyncId, type, triggerAsyncId, resource) {
      if (type !== 'PROMISE') callbacks.init?.(asyncId, type, triggerAsyncId, resource);
    },
  });
};
