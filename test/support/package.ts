/**
 * The package as a user gets it, made once per build and shared by the test files that need it
 * (pack, install, readme): `sh scripts/install-from-source.sh pack` (npm pack of this checkout's
 * build, what the Dockerfile's first stage does) and `… install` (npm install --global of that
 * tarball into a scratch prefix, its second stage and the README's install). Each file made its own:
 * three packs (2 s of CPU each) and two global installs (8 s with better-sqlite3's install script)
 * per run.
 *
 * Kept under dist/test-package/, named by a hash of what npm packs (package.json and the `files`
 * it lists) and, for the install, of the Node that installs it (better-sqlite3's binary is for its
 * ABI): a new build packs and installs again, and the entries of older builds are removed. The test
 * files run in parallel: the first to need one takes its lock (a folder holding its pid) and makes
 * it in a scratch folder renamed to its name when whole; the others wait for that name (fs.watch,
 * an event, with a deadline that only detects a hang). A lock whose process is gone (a run
 * interrupted) is taken over.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts', 'install-from-source.sh');
const CACHE = join(ROOT, 'dist', 'test-package');
/** A hang detector: an install that compiled SQLite took 80 s to 10 min on this machine. */
const DEADLINE_MS = 600_000;

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  files: string[];
};

export interface Packed {
  /** The tarball, `kestra-plugin-fastly-<version>.tgz`; never write next to it. */
  tarball: string;
  /** What it holds, as npm lists it (`dist/src/index.js`, `README.md`…). */
  files: string[];
}

export interface Installed {
  /** The npm prefix the package was installed into (`npm_config_prefix`). */
  prefix: string;
  /** `<prefix>/bin`, where `kestra-fastly` is. */
  bin: string;
  /** The installed package's folder. */
  home: string;
}

function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => filesUnder(join(path, name)));
}

function hashOf(parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 16);
}

let key: string | undefined;

/** What npm packs: package.json and every file under the `files` it lists. */
function buildKey(): string {
  if (key === undefined) {
    const files = ['package.json', ...pkg.files].flatMap((f) => filesUnder(join(ROOT, f)));
    key = hashOf(files.flatMap((f) => [relative(ROOT, f), readFileSync(f)]));
  }
  return key;
}

const run = (file: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT) =>
  new Promise<void>((resolve, reject) => {
    execFile(file, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err)
        reject(
          new Error(`${file} ${args.join(' ')} failed (${err.message.split('\n')[0]}):\n${stdout}${stderr}`),
        );
      else resolve();
    });
  });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Resolves once `dir` exists, or `lock` is gone without it (its maker failed). */
function madeOrUnlocked(dir: string, lock: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const watcher = watch(CACHE);
    const check = () => {
      if (existsSync(dir) || !existsSync(lock)) done();
    };
    const timer = setTimeout(() => {
      watcher.close();
      reject(new Error(`${dir} not made by the test file holding ${lock} within ${DEADLINE_MS} ms`));
    }, DEADLINE_MS);
    const done = () => {
      clearTimeout(timer);
      watcher.close();
      resolve();
    };
    watcher.on('change', check);
    watcher.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    check();
  });
}

/** `CACHE/name`, made once by `make(scratch)`. */
async function once(name: string, make: (scratch: string) => Promise<void>): Promise<string> {
  const dir = join(CACHE, name);
  const lock = `${dir}.lock`;
  mkdirSync(CACHE, { recursive: true });
  for (;;) {
    if (existsSync(dir)) return dir;
    try {
      mkdirSync(lock);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder = NaN;
      try {
        holder = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        // Just taken: its pid is being written.
      }
      if (Number.isInteger(holder) && !alive(holder)) rmSync(lock, { recursive: true, force: true });
      else await madeOrUnlocked(dir, lock);
      continue;
    }
    writeFileSync(join(lock, 'pid'), String(process.pid));
    const scratch = mkdtempSync(`${dir}.tmp-`);
    try {
      await make(scratch);
      renameSync(scratch, dir);
      return dir;
    } finally {
      rmSync(scratch, { recursive: true, force: true });
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

/** Removes what older builds left in the cache (their names do not start with `key`). */
function dropOlder(key: string): void {
  for (const entry of existsSync(CACHE) ? readdirSync(CACHE) : [])
    if (!entry.startsWith(key)) rmSync(join(CACHE, entry), { recursive: true, force: true });
}

/** npm's own settings for the pack and the install: nothing of the test runner's environment. */
function npmEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    npm_config_update_notifier: 'false',
    npm_config_prefer_offline: 'true',
    // The headers native modules build against (CI's Node 24 leg points them at node@24's own).
    ...(process.env.npm_config_nodedir ? { npm_config_nodedir: process.env.npm_config_nodedir } : {}),
    ...extra,
  };
}

let packing: Promise<Packed> | undefined;

/** This build packed by `install-from-source.sh pack` (KESTRA_FASTLY_SKIP_BUILD=1: the build in dist/). */
export function packed(): Promise<Packed> {
  packing ??= (async () => {
    const key = buildKey();
    dropOlder(key);
    const dir = await once(`${key}-pack`, (scratch) =>
      run('sh', [SCRIPT, 'pack', scratch], npmEnv({ KESTRA_FASTLY_SKIP_BUILD: '1' })),
    );
    const tarball = join(dir, `${pkg.name}-${pkg.version}.tgz`);
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
      .split('\n')
      .filter((f) => f && !f.endsWith('/'))
      .map((f) => f.replace(/^package\//, ''));
    return { tarball, files };
  })();
  return packing;
}

/**
 * better-sqlite3's install script takes a prebuilt binary before it compiles SQLite: a user online
 * downloads one from GitHub; offline (here, CI) the binary this checkout runs on, packed as that
 * download, stands in for it (`npm_config_better_sqlite3_local_prebuilds`). Without it the global
 * install compiled SQLite, 80 s to 10 min of the suite on this machine.
 */
function sqlitePrebuild(dir: string): string {
  const from = join(ROOT, 'node_modules', 'better-sqlite3');
  const { version } = JSON.parse(readFileSync(join(from, 'package.json'), 'utf8')) as { version: string };
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const folder = join(dir, 'prebuilds');
  mkdirSync(folder);
  execFileSync('tar', ['czf', join(folder, name), '-C', from, 'build/Release/better_sqlite3.node']);
  return folder;
}

let installing: Promise<Installed> | undefined;

/**
 * The packed tarball installed by `install-from-source.sh install` (`npm install --global`, its
 * install scripts run) into a prefix of its own; dependencies from npm's cache when it has them.
 */
export function installed(): Promise<Installed> {
  installing ??= (async () => {
    const { tarball } = await packed();
    const node = hashOf([
      process.version,
      process.platform,
      process.arch,
      process.env.npm_config_nodedir ?? '',
    ]);
    const dir = await once(`${buildKey()}-install-${node}`, (scratch) =>
      run(
        'sh',
        [SCRIPT, 'install', join(tarball, '..')],
        npmEnv({
          npm_config_prefix: join(scratch, 'prefix'),
          npm_config_better_sqlite3_local_prebuilds: sqlitePrebuild(scratch),
        }),
        scratch,
      ),
    );
    const prefix = join(dir, 'prefix');
    return { prefix, bin: join(prefix, 'bin'), home: join(prefix, 'lib', 'node_modules', pkg.name) };
  })();
  return installing;
}
