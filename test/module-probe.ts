// Loaded with `node --import` by tests: records every child process started, every module loaded (ESM
// through a loader hook, CommonJS from the require cache and built-ins from Node's load list at exit) and
// its peak RSS into $MODULE_PROBE_OUT.
import childProcess from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createRequire, register, syncBuiltinESMExports } from 'node:module';

const out = process.env.MODULE_PROBE_OUT;
if (out) {
  register('./module-probe-hooks.js', import.meta.url);
  // Any child process started (the module object is the one the CLI requires later).
  for (const name of ['spawn', 'fork', 'execFile', 'exec'] as const) {
    const original = childProcess[name] as (...args: unknown[]) => unknown;
    (childProcess as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      appendFileSync(out, `spawned ${String(args[0])}\n`);
      return original(...args);
    };
  }
  syncBuiltinESMExports();
  process.once('exit', () => {
    const cjs = Object.keys(createRequire(import.meta.url).cache);
    // Built-ins required from CommonJS (the bundle) show only in Node's own load list.
    const builtins = (process as unknown as { moduleLoadList?: string[] }).moduleLoadList ?? [];
    const names = builtins.filter((m) => m.startsWith('NativeModule ')).map((m) => `builtin:${m.slice(13)}`);
    appendFileSync(out, `${[...cjs, ...names].join('\n')}\nmaxrss ${process.resourceUsage().maxRSS}\n`);
  });
}
