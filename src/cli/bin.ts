// The `kestra-fastly` bin (bundled to dist/bundle/main.js as CommonJS by scripts/bundle.mjs; not
// meant to run from dist/src). It loads the one-file CLI bundle (purge.cjs for `purge`, which holds
// only those commands; cli.cjs for everything else) through a compile cache, so a cold `purge` does
// not re-compile the CLI on every start:
// - Node ≥ 22.1: `module.enableCompileCache()`;
// - older Node: a V8 code cache (`vm.Script` cachedData) keyed by Node version, arch, bundle hash and
//   command.
// Either is skipped silently when unavailable, rejected or unwritable.
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

declare const __KF_BUNDLE_HASH__: string;

const command = process.argv.slice(2).find((a) => !a.startsWith('-')) ?? 'none';
const bundle = join(__dirname, command === 'purge' ? 'purge.cjs' : 'cli.cjs');
const { enableCompileCache } = nodeModule as { enableCompileCache?: (dir?: string) => unknown };

function cacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg) return join(xdg, 'kestra-fastly');
  return join(tmpdir(), `kestra-fastly-${process.getuid?.() ?? 'user'}`);
}

function disabled(): boolean {
  return !!process.env.NODE_DISABLE_COMPILE_CACHE || !!process.env.KESTRA_FASTLY_NO_CODE_CACHE;
}

if (disabled()) {
  nodeModule.createRequire(bundle)(bundle);
} else if (enableCompileCache) {
  try {
    if (!process.env.NODE_COMPILE_CACHE) enableCompileCache(join(cacheDir(), 'compile-cache'));
  } catch {
    // Refused or unwritable: run uncompiled-cached.
  }
  nodeModule.createRequire(bundle)(bundle);
} else {
  runWithCodeCache();
}

function runWithCodeCache(): void {
  const dir = cacheDir();
  // One cache per command: each holds the functions its command compiled (written at exit).
  const name = /^[a-z-]{1,20}$/.test(command) ? command : 'other';
  const file = join(dir, `cli-${process.version}-${process.arch}-${__KF_BUNDLE_HASH__}-${name}.v8cache`);
  let cached: Buffer | undefined;
  try {
    cached = readFileSync(file);
  } catch {
    // First run with this Node and bundle.
  }
  const source = readFileSync(bundle, 'utf8');
  // Loaded here: Node ≥ 22.1 never needs it.
  const { Script } = process.getBuiltinModule('node:vm');
  const script = new Script(nodeModule.wrap(source.startsWith('#!') ? `//${source.slice(2)}` : source), {
    filename: bundle,
    cachedData: cached,
  });
  if (cached === undefined || script.cachedDataRejected) {
    // Written at exit so that it holds every function this command compiled, not just the top level.
    process.once('exit', () => {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const temp = `${file}.${process.pid}.tmp`;
        writeFileSync(temp, script.createCachedData());
        renameSync(temp, file);
        pruneStale(dir);
      } catch {
        // Unwritable cache directory: next start compiles again.
      }
    });
  }
  const mod = { exports: {} };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(mod.exports, mod.exports, nodeModule.createRequire(bundle), mod, bundle, __dirname);
}

/** Removes the caches of other builds of the CLI (each upgrade would otherwise leave ~5 MB behind). */
function pruneStale(dir: string): void {
  for (const entry of readdirSync(dir)) {
    if (
      entry.startsWith('cli-') &&
      entry.endsWith('.v8cache') &&
      !entry.includes(`-${__KF_BUNDLE_HASH__}-`)
    ) {
      try {
        unlinkSync(join(dir, entry));
      } catch {
        // Another process removed it, or it is not ours to remove.
      }
    }
  }
}
