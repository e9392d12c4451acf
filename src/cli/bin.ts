// The `kestra-fastly` bin (bundled to dist/bundle/main.cjs as CommonJS by scripts/bundle.mjs; not
// meant to run from dist/src). It loads one of two CLI bundles, through a cache of compiled code
// kept in a folder of the user's own (see trustedCacheDir), and skipped silently when rejected or
// unwritable:
// - `purge` (what a deploy step runs, where start-up is most of the time): purge.cjs, which holds
//   only those commands, through a V8 code cache (`vm.Script` cachedData) keyed by Node version,
//   arch and bundle hash, written at the exit of the first run, so it holds every function that run
//   compiled. Node's own `module.enableCompileCache()` caches a module as compiled before it runs,
//   so every function a purge calls was compiled again on each start: 2.5–3 ms more on Node 22/24.
// - everything else: cli.cjs through Node's compile cache where there is one (Node ≥ 22.1). Not the
//   V8 cache written at exit: materialized whole, its ~1 MB for `stats` raised a 35-day backfill's
//   peak RSS by 15–20 MB, against a few milliseconds of start-up for commands that run for seconds.
//   On Node 20, which has no compile cache, a V8 cache of what Node's would hold: written right
//   after the compile, before anything runs (the top level and where each function starts, 360 KB).
//   Compiling cli.cjs took 90 ms of each start of a server or a `stats` command, 17 ms with it.
//
// It loads only node:fs, node:path and node:vm for a purge (node:module alone loads Node 20's ESM
// loader): the bundles sit beside it, so its own `require` resolves as theirs would.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

declare const __KF_BUNDLE_HASH__: string;

const command = process.argv.slice(2).find((a) => !a.startsWith('-')) ?? 'none';
const bundle = join(__dirname, command === 'purge' ? 'purge.cjs' : 'cli.cjs');

function cacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  // The XDG spec: a relative path is invalid and ignored (it would write into the working folder).
  if (xdg && isAbsolute(xdg)) return join(xdg, 'kestra-fastly');
  return join(tmpdir(), `kestra-fastly-${process.getuid?.() ?? 'user'}`);
}

/** os.tmpdir(), without loading node:os where it is this simple. */
function tmpdir(): string {
  if (process.platform === 'win32') return process.getBuiltinModule('node:os').tmpdir();
  const { TMPDIR, TMP, TEMP } = process.env;
  return (TMPDIR || TMP || TEMP || '/tmp').replace(/(.)\/+$/, '$1');
}

/** Set to anything but empty, 0 or false. */
const isSet = (v: string | undefined) => !!v && !/^(0|false)$/i.test(v);

/**
 * The cache folder, created if missing, or undefined if it is not safe to load code from: a code
 * cache is compiled code, so the folder must be a real directory (not a symlink) owned by this user
 * and writable by no one else. The default one is in the shared temp folder, where anyone could
 * have made it first.
 */
function trustedCacheDir(): string | undefined {
  const dir = cacheDir();
  try {
    makeDirs(dir);
    const st = lstatSync(dir);
    if (!st.isDirectory()) return undefined;
    if (process.platform === 'win32') return dir;
    return st.uid === process.getuid?.() && (st.mode & 0o022) === 0 ? dir : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `mkdir -p`, without Node's recursive mkdir: under /proc it never returned (mkdir answers ENOENT
 * there while the parent exists, and Node 20's loop tries again), a start spinning a core for good.
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d) && dirname(d) !== d; d = dirname(d)) missing.push(d);
  for (const d of missing.reverse()) mkdirSync(d, { mode: 0o700 });
}

const cache =
  isSet(process.env.NODE_DISABLE_COMPILE_CACHE) || isSet(process.env.KESTRA_FASTLY_NO_CODE_CACHE)
    ? undefined
    : trustedCacheDir();
// Node's compile cache where Node has one (22.1 and later).
const { enableCompileCache } = process.getBuiltinModule('node:module') as {
  enableCompileCache?: (dir: string) => unknown;
};
if (cache !== undefined && command === 'purge') runWithCodeCache(cache, 'purge');
else if (cache !== undefined && !enableCompileCache) runWithCodeCache(cache, 'main');
else {
  if (cache !== undefined && !process.env.NODE_COMPILE_CACHE) {
    try {
      enableCompileCache?.(join(cache, 'compile-cache'));
    } catch {
      // Refused: run without it.
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS bundle beside this file
  require(bundle);
}

/**
 * Runs the bundle through a V8 code cache: `purge`'s is written at exit (every function the run
 * compiled), `main`'s right after the compile (what Node's compile cache would hold).
 */
function runWithCodeCache(dir: string, kind: 'purge' | 'main'): void {
  const file = join(dir, `cli-${process.version}-${process.arch}-${__KF_BUNDLE_HASH__}-${kind}.v8cache`);
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
    const write = () => {
      const temp = `${file}.${process.pid}.tmp`;
      try {
        writeFileSync(temp, script.createCachedData(), { mode: 0o600 });
        renameSync(temp, file);
        pruneStale(dir);
      } catch {
        // A full disk, or the cache's name taken by a folder: next start compiles again.
        try {
          unlinkSync(temp);
        } catch {
          // Never created.
        }
      }
    };
    // purge: at exit, so that it holds every function this command compiled, not just the top level.
    if (kind === 'purge') process.once('exit', write);
    else write();
  }
  const mod = { exports: {} };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(mod.exports, mod.exports, require, mod, bundle, __dirname);
}

/**
 * Removes the V8 caches of other builds of the CLI and of other commands (earlier builds kept one
 * per command, ~5 MB in all), and temporary files of writers that died (older than a minute: a live
 * one renames within milliseconds).
 */
function pruneStale(dir: string): void {
  const ours = (entry: string) => entry.startsWith('cli-') && entry.includes('.v8cache');
  for (const entry of readdirSync(dir)) {
    if (!ours(entry)) continue;
    // Another bundle's (purge's or main's), or a write left half done a minute ago.
    const stale =
      !entry.includes(`-${__KF_BUNDLE_HASH__}-`) ||
      (entry.endsWith('.tmp') &&
        Date.now() - (statSync(join(dir, entry), { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 60_000);
    if (stale) {
      try {
        rmSync(join(dir, entry), { recursive: true, force: true });
      } catch {
        // Another process removed it, or it is not ours to remove.
      }
    }
  }
}
