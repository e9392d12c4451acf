// The `kestra-fastly` bin (bundled to dist/bundle/main.cjs as CommonJS by scripts/bundle.mjs; not
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
import {
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
import { isAbsolute, join } from 'node:path';

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
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory()) return undefined;
    if (process.platform === 'win32') return dir;
    return st.uid === process.getuid?.() && (st.mode & 0o022) === 0 ? dir : undefined;
  } catch {
    return undefined;
  }
}

const cache =
  isSet(process.env.NODE_DISABLE_COMPILE_CACHE) || isSet(process.env.KESTRA_FASTLY_NO_CODE_CACHE)
    ? undefined
    : trustedCacheDir();
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS bundle beside this file
if (cache === undefined) require(bundle);
else runWithCodeCache(cache);

function runWithCodeCache(dir: string): void {
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
    });
  }
  const mod = { exports: {} };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(mod.exports, mod.exports, require, mod, bundle, __dirname);
}

/**
 * Removes the caches of other builds of the CLI (each upgrade would otherwise leave ~5 MB behind),
 * temporary files of writers that died (older than a minute: a live one renames within
 * milliseconds), and the compile-cache folder earlier builds had Node keep.
 */
function pruneStale(dir: string): void {
  const ours = (entry: string) => entry.startsWith('cli-') && entry.includes('.v8cache');
  for (const entry of readdirSync(dir)) {
    const stale =
      entry === 'compile-cache' ||
      (ours(entry) && !entry.includes(`-${__KF_BUNDLE_HASH__}-`)) ||
      (ours(entry) &&
        entry.endsWith('.tmp') &&
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
