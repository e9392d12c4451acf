import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CLI, requests, runCli, SERVICE, sim } from './helpers.js';

const PROBE = fileURLToPath(new URL('./module-probe.js', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../examples', import.meta.url));
const HEAVY = ['zod', 'luxon', 'chrono-node', 'yaml', 'twig'];

/** Runs the CLI (the unbundled module graph esbuild bundles) and returns the modules it loaded. */
async function modulesLoaded(args: string[], env: Record<string, string>, script = MAIN): Promise<string[]> {
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

const heavyIn = (modules: string[]) =>
  HEAVY.filter((pkg) => modules.some((m) => m.includes(`/node_modules/${pkg}/`)));

test('a cold purge loads none of zod, luxon, chrono-node, yaml or twig; a flow command does', async (t) => {
  const s = await sim(t);
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
  assert.ok(flow.includes('zod') && flow.includes('yaml'), `validate loaded ${flow.join(', ')}`);
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
    modules.filter((m) => /\/dist\/bundle\/\w+\.cjs$/.test(m)).map((m) => m.split('/').pop());
  assert.deepEqual(bundles(await modulesLoaded(['purge', 'key', 'k1'], env, CLI)), ['purge.cjs']);
  assert.deepEqual(bundles(await modulesLoaded(['stats', 'regions', '--json'], env, CLI)), ['cli.cjs']);
});

test('the bin keeps a V8 code cache per command: written by the first run, reused, rewritten when corrupt, stale ones removed', async (t) => {
  const s = await sim(t);
  const home = await mkdtemp(join(tmpdir(), 'kf-cache-'));
  const dir = join(home, 'kestra-fastly');
  await mkdir(join(dir, 'compile-cache', 'v1'), { recursive: true });
  await writeFile(join(dir, 'cli-v0.0.0-x64-0000000000000000-purge.v8cache'), 'an earlier build');
  await writeFile(join(dir, 'unrelated.txt'), 'not ours');
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
    [cache[0], 'unrelated.txt'].sort(),
    'stale caches and compile-cache/ removed',
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
  // Unwritable (the cache folder is a file): the run still works.
  const r = await runCli(['purge', 'key', 'k1'], { ...env, XDG_CACHE_HOME: file });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(requests(s, `/service/${SERVICE}/purge/k1`).length, 4);
});
