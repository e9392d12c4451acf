// The `kestra-fastly` bin (bundled to dist/bundle/main.js as CommonJS by scripts/bundle.mjs; not
// meant to run from dist/src). It loads the one-file CLI bundle (purge.cjs for `purge`, which holds
// only those commands; cli.cjs for everything else) through a V8 code cache (`vm.Script`
// cachedData), so a cold `purge` does not re-compile the CLI on every start. The cache is keyed by
// Node version, arch, bundle hash and command, and written at the exit of the command's first run,
// so it holds every function that run compiled, not just the top level; it is skipped silently
// when rejected or unwritable.
//
// Not Node's own `module.enableCompileCache()` (Node ≥ 22.1): it caches a module as compiled before
// it runs, so every function a purge calls is compiled again on each start. Measured on Node 22 and
// 24 (60 alternating runs each), a cold `purge key` took 2.5–3 ms longer with it.
//
// It loads only node:fs, node:path and node:vm (node:module alone loads Node 20's ESM loader): the
// bundles sit beside it, so its own `require` resolves as theirs would.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

declare const __KF_BUNDLE_HASH__: string;

const command = process.argv.slice(2).find((a) => !a.startsWith('-')) ?? 'none';
const bundle = join(__dirname, command === 'purge' ? 'purge.cjs' : 'cli.cjs');

function cacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg) return join(xdg, 'kestra-fastly');
  return join(tmpdir(), `kestra-fastly-${process.getuid?.() ?? 'user'}`);
}

/** os.tmpdir(), without loading node:os where it is this simple. */
function tmpdir(): string {
  if (process.platform === 'win32') return process.getBuiltinModule('node:os').tmpdir();
  const { TMPDIR, TMP, TEMP } = process.env;
  return (TMPDIR || TMP || TEMP || '/tmp').replace(/(.)\/+$/, '$1');
}

function disabled(): boolean {
  return !!process.env.NODE_DISABLE_COMPILE_CACHE || !!process.env.KESTRA_FASTLY_NO_CODE_CACHE;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS bundle beside this file
if (disabled()) require(bundle);
else runWithCodeCache();

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
  const { Script } = process.getBuiltinModule('node:vm');
  // Node's CommonJS wrapper (Module.wrap).
  const wrapped = `(function (exports, require, module, __filename, __dirname) { ${source.startsWith('#!') ? `//${source.slice(2)}` : source}\n});`;
  const script = new Script(wrapped, {
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
  run.call(mod.exports, mod.exports, require, mod, bundle, __dirname);
}

/**
 * Removes the caches of other builds of the CLI (each upgrade would otherwise leave ~5 MB behind),
 * and the compile-cache folder earlier builds had Node keep.
 */
function pruneStale(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const stale =
      entry === 'compile-cache' ||
      (entry.startsWith('cli-') && entry.endsWith('.v8cache') && !entry.includes(`-${__KF_BUNDLE_HASH__}-`));
    if (stale) {
      try {
        rmSync(join(dir, entry), { recursive: true, force: true });
      } catch {
        // Another process removed it, or it is not ours to remove.
      }
    }
  }
}
