import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import * as nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Simulator } from '../src/simulator/index.js';
import { CLI, requests, runCli, SERVICE, sim } from './helpers.js';

const PROBE = fileURLToPath(new URL('./module-probe.js', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../examples', import.meta.url));
const HEAVY = ['zod', 'luxon', 'chrono-node', 'yaml'];

/**
 * The modules each probed invocation loaded, by its arguments, environment and script: the cold
 * purges without a proxy variable are the same runs for the heavy-package check and the proxy check,
 * made once for both (the simulator is the file's, so their environments are the same).
 */
const probed = new Map<string, Promise<string[]>>();
let probeSimulator: Promise<Simulator> | undefined;
const probeSim = () => (probeSimulator ??= new Simulator().start());
after(async () => (await probeSimulator)?.close());

/** Runs the CLI (the unbundled module graph esbuild bundles) and returns the modules it loaded. */
function modulesLoaded(args: string[], env: Record<string, string>, script = MAIN): Promise<string[]> {
  const key = JSON.stringify([args, env, script]);
  let modules = probed.get(key);
  if (!modules) probed.set(key, (modules = probe(args, env, script)));
  return modules;
}

async function probe(args: string[], env: Record<string, string>, script: string): Promise<string[]> {
  const out = join(await mkdtemp(join(tmpdir(), 'kf-probe-')), 'modules.txt');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', PROBE, script, ...args], {
      env: { PATH: process.env.PATH ?? '', MODULE_PROBE_OUT: out, ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.once('error', reject);
    child.once('exit', resolve);
  });
  assert.equal(code, 0, `${args.join(' ')} exited ${code}`);
  return (await readFile(out, 'utf8')).split('\n').filter(Boolean);
}

/** The heavy packages loaded, and our Pebble engine (src/pebble) if it was. */
const heavyIn = (modules: string[]) => [
  ...HEAVY.filter((pkg) => modules.some((m) => m.includes(`/node_modules/${pkg}/`))),
  ...(modules.some((m) => m.includes('/src/pebble/')) ? ['pebble'] : []),
];

test('a cold purge loads none of zod, luxon, chrono-node, yaml or the Pebble engine; a flow command does', async () => {
  const s = await probeSim();
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url, FASTLY_SERVICE_ID: SERVICE };
  for (const args of [
    ['purge', 'key', 'k1'],
    ['purge', 'keys', 'a', 'b', '--json'],
    ['purge', 'url', 'https://www.example.com/a'],
    ['purge', 'all'],
  ]) {
    const modules = await modulesLoaded(args, env);
    assert.ok(
      modules.some((m) => m.includes('/node_modules/commander/')),
      'the probe sees packages',
    );
    assert.deepEqual(heavyIn(modules), [], args.join(' '));
  }
  // The same probe does see them where they are needed, so the check above can fail.
  const flow = heavyIn(await modulesLoaded(['validate', join(EXAMPLES, 'purge_homepage.yml')], env));
  assert.ok(
    flow.includes('zod') && flow.includes('yaml') && flow.includes('pebble'),
    `validate loaded ${flow.join(', ')}`,
  );
});

test('a cold purge without a proxy variable runs no proxy code; with HTTPS_PROXY set it does (the check can fail)', async () => {
  const s = await probeSim();
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url, FASTLY_SERVICE_ID: SERVICE };
  const proxyCode = (modules: string[]) => modules.filter((m) => m.endsWith('/http/proxy.js'));
  for (const args of [
    ['purge', 'key', 'k1'],
    ['purge', 'url', 'https://www.example.com/a'],
    ['purge', 'all'],
  ]) {
    assert.deepEqual(proxyCode(await modulesLoaded(args, env)), [], args.join(' '));
  }
  // A loopback endpoint is not proxied, but the variable is read, so the module loads.
  const withProxy = await modulesLoaded(['purge', 'key', 'k1'], {
    ...env,
    HTTPS_PROXY: 'http://127.0.0.1:9',
  });
  assert.equal(proxyCode(withProxy).length, 1);
});

test('the bin runs purge from its own bundle, which holds none of the heavy packages', async (t) => {
  const meta = JSON.parse(
    await readFile(fileURLToPath(new URL('../bundle-purge.meta.json', import.meta.url)), 'utf8'),
  ) as { inputs: Record<string, unknown> };
  const inputs = Object.keys(meta.inputs);
  assert.ok(
    inputs.some((i) => i.includes('node_modules/commander/')),
    'the meta lists packages',
  );
  assert.deepEqual(
    HEAVY.filter((pkg) => inputs.some((i) => i.includes(`node_modules/${pkg}/`))),
    [],
  );
  const s = await sim(t);
  // Without the code cache the bin require()s the bundle, so the probe sees which one.
  const env = {
    FASTLY_API_TOKEN: 'tok',
    FASTLY_API_ENDPOINT: s.url,
    FASTLY_SERVICE_ID: SERVICE,
    KESTRA_FASTLY_NO_CODE_CACHE: '1',
  };
  const bundles = (modules: string[]) =>
    modules.filter((m) => /\/dist\/bundle\/(?!main\.)\w+\.cjs$/.test(m)).map((m) => m.split('/').pop());
  assert.deepEqual(bundles(await modulesLoaded(['purge', 'key', 'k1'], env, CLI)), ['purge.cjs']);
  assert.deepEqual(bundles(await modulesLoaded(['stats', 'regions', '--json'], env, CLI)), ['cli.cjs']);
});

test('the bin keeps a V8 code cache for purge (written by the first run, reused, rewritten when corrupt, stale ones removed) and the Node compile cache for the rest (on Node 20, a V8 cache of the compiled top level)', async (t) => {
  const s = await sim(t);
  const home = await mkdtemp(join(tmpdir(), 'kf-cache-'));
  const dir = join(home, 'kestra-fastly');
  await mkdir(join(dir, 'compile-cache', 'v1'), { recursive: true });
  await writeFile(join(dir, 'cli-v0.0.0-x64-0000000000000000-purge.v8cache'), 'an earlier build');
  await writeFile(join(dir, 'unrelated.txt'), 'not ours');
  // A writer that died long ago left its temporary file.
  const dead = join(dir, 'cli-v0.0.0-x64-0000000000000000-purge.v8cache.123.tmp');
  await writeFile(dead, 'half');
  await utimes(dead, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
  const env = {
    FASTLY_API_TOKEN: 'tok',
    FASTLY_API_ENDPOINT: s.url,
    FASTLY_SERVICE_ID: SERVICE,
    XDG_CACHE_HOME: home,
  };
  const purge = async () => {
    const r = await runCli(['purge', 'key', 'k1'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^✓ Purged key k1 \(id: /);
  };
  await purge();
  const files = await readdir(dir);
  const cache = files.filter((f) => f.endsWith('-purge.v8cache'));
  assert.equal(cache.length, 1, files.join(' '));
  const file = join(dir, cache[0] as string);
  assert.match(
    cache[0] as string,
    new RegExp(`^cli-${process.version}-${process.arch}-[0-9a-f]{16}-purge\\.v8cache$`),
  );
  assert.deepEqual(
    files.sort(),
    [cache[0], 'compile-cache', 'unrelated.txt'].sort(),
    "stale caches and dead temporary files removed; Node's compile cache (other commands) kept",
  );
  const written = await readFile(file);
  assert.ok(written.length > 10_000, `${written.length} bytes: more than the top level`);
  // Accepted: the next run leaves it as it is.
  const { mtimeMs } = await stat(file);
  await purge();
  assert.equal((await stat(file)).mtimeMs, mtimeMs);
  // Rejected (corrupt): the run still works and writes a good one.
  await writeFile(file, 'garbage');
  await purge();
  assert.ok((await readFile(file)).length > 10_000);
  // Unwritable (the cache folder is a file; the cache's name is a folder): the run still works and
  // leaves no temporary file.
  const r = await runCli(['purge', 'key', 'k1'], { ...env, XDG_CACHE_HOME: file });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  await rm(file);
  await mkdir(file);
  await purge();
  assert.deepEqual(
    (await readdir(dir)).filter((f) => f.endsWith('.tmp')),
    [],
  );
  // Other commands use Node's compile cache (Node ≥ 22.1); on Node 20, which has none, a V8 cache
  // of what it would hold, written as soon as cli.cjs is compiled: the top level, not every function.
  await runCliOk(['stats', 'regions', '--json'], env);
  const caches = (await readdir(dir)).filter((f) => f.endsWith('.v8cache'));
  // Node's compile cache where Node has one (22.1 and later), as the bin decides.
  if ('enableCompileCache' in nodeModule) assert.deepEqual(caches, [cache[0]]);
  else {
    const main = cache[0]?.replace(/-purge\.v8cache$/, '-main.v8cache') as string;
    assert.deepEqual(caches.sort(), [cache[0], main].sort());
    const { size, mtimeMs: written } = await stat(join(dir, main));
    assert.ok(size > 100_000 && size < 1_000_000, `${size} bytes: the top level of cli.cjs`);
    await runCliOk(['stats', 'regions', '--json'], env);
    assert.equal((await stat(join(dir, main))).mtimeMs, written, 'reused, not written again');
    await rm(join(dir, main));
  }
  // KESTRA_FASTLY_NO_CODE_CACHE=0 does not turn it off.
  await rm(file, { recursive: true });
  await runCliOk(['purge', 'key', 'k1'], { ...env, KESTRA_FASTLY_NO_CODE_CACHE: '0' });
  assert.ok((await readFile(file)).length > 10_000);
  assert.equal(requests(s, `/service/${SERVICE}/purge/k1`).length, 6);

  async function runCliOk(args: string[], e: Record<string, string>) {
    const out = await runCli(args, e);
    assert.equal(out.code, 0, out.stderr);
  }
});

test('the bin loads no code cache from a folder others can write or a symlink, and ignores a relative XDG_CACHE_HOME', async (t) => {
  const s = await sim(t);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url, FASTLY_SERVICE_ID: SERVICE };
  // The cache's file name, from a run in a good folder.
  const good = await mkdtemp(join(tmpdir(), 'kf-cache-'));
  assert.equal((await runCli(['purge', 'key', 'k1'], { ...env, XDG_CACHE_HOME: good })).code, 0);
  const [name] = await readdir(join(good, 'kestra-fastly'));
  assert.ok(name?.endsWith('-purge.v8cache'), name);
  /** Plants a cache in `home`/kestra-fastly, runs a purge, and says whether the bin read or replaced it. */
  const planted = async (home: string, prepare: (dir: string) => Promise<void>) => {
    const dir = join(home, 'kestra-fastly');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, name as string), 'planted');
    await prepare(dir);
    const r = await runCli(['purge', 'key', 'k1'], { ...env, XDG_CACHE_HOME: home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    return (await readFile(join(dir, name as string), 'utf8')) !== 'planted';
  };
  // The check can fail: in a folder of our own, the planted (corrupt) cache is read and replaced.
  assert.equal(await planted(await mkdtemp(join(tmpdir(), 'kf-cache-')), async () => {}), true);
  const open = await mkdtemp(join(tmpdir(), 'kf-cache-'));
  assert.equal(await planted(open, (dir) => chmod(dir, 0o777)), false, 'world-writable folder');
  const groupWritable = await mkdtemp(join(tmpdir(), 'kf-cache-'));
  assert.equal(await planted(groupWritable, (dir) => chmod(dir, 0o770)), false, 'group-writable folder');
  const linked = await mkdtemp(join(tmpdir(), 'kf-cache-'));
  assert.equal(
    await planted(linked, async (dir) => {
      await rename(dir, `${dir}-real`);
      await symlink(`${dir}-real`, dir);
      await writeFile(join(`${dir}-real`, name as string), 'planted');
    }),
    false,
    'symlinked folder',
  );
  if (process.getuid?.() === 0) {
    // As root the test can also give the folder to someone else.
    const foreign = await mkdtemp(join(tmpdir(), 'kf-cache-'));
    assert.equal(await planted(foreign, (dir) => chown(dir, 65534, 65534)), false, "another user's folder");
  }
  // A relative XDG_CACHE_HOME is ignored (XDG spec), not created in the working folder.
  const cwd = await mkdtemp(join(tmpdir(), 'kf-cwd-'));
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'purge', 'key', 'k1'], {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env, XDG_CACHE_HOME: 'relcache' },
      stdio: 'ignore',
    });
    child.once('error', reject);
    child.once('exit', resolve);
  });
  assert.equal(code, 0);
  assert.deepEqual(await readdir(cwd), []);
});

test('a cache folder that cannot be made (under /proc) is skipped: the CLI starts without a cache', async () => {
  // T6: Node's recursive mkdir never returned there; a deadline that only detects that hang.
  const run = (args: string[]) =>
    new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        env: { PATH: process.env.PATH ?? '', XDG_CACHE_HOME: '/proc/kestra-fastly-test-nonexistent' },
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 60_000,
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stderr }));
    });
  const example = fileURLToPath(new URL('../../examples/purge_homepage.yml', import.meta.url));
  for (const args of [
    ['validate', example],
    ['purge', '--help'],
  ]) {
    const r = await run(args);
    assert.deepEqual([r.code, r.signal, r.stderr], [0, null, ''], args.join(' '));
  }
});
