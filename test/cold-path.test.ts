import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CLI, SERVICE, sim } from './helpers.js';

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
