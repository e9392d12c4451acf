// Loaded with `node --import` by the cold-path test: records every module the process loads (ESM
// through a loader hook, CommonJS from the require cache at exit) and its peak RSS into $MODULE_PROBE_OUT.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.MODULE_PROBE_OUT;
if (out) {
  register('./module-probe-hooks.js', import.meta.url);
  process.once('exit', () => {
    const cjs = Object.keys(createRequire(import.meta.url).cache);
    appendFileSync(out, `${cjs.join('\n')}\nmaxrss ${process.resourceUsage().maxRSS}\n`);
  });
}
