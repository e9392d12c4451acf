/**
 * The install from a clone, as README.md and the Dockerfile describe it, without Docker: the
 * Dockerfile's two stages are scripts/install-from-source.sh, whose `pack` (on the build `npm test`
 * has just made) and `install` (into a scratch global prefix) make the suite's one package and
 * global install (test/support/package.ts, shared with pack.test.ts and readme.test.ts); this test
 * runs the installed `kestra-fastly` against the simulator: both bundles (the purge one and the
 * full CLI, which needs the installed runtime dependencies).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SERVICE, sim } from './helpers.js';
import { installed, packed } from './support/package.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('the Dockerfile builds the repository itself, through the script this test runs', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const runs = [...dockerfile.matchAll(/^RUN (.*)$/gm)].map((m) => m[1] ?? '');
  assert.ok(
    runs.some((r) => /^sh scripts\/install-from-source\.sh pack \/pkg$/.test(r)),
    `the build stage packs this clone:\n${runs.join('\n')}`,
  );
  assert.ok(
    runs.some((r) => /^sh \/pkg\/install-from-source\.sh install \/pkg\b/.test(r)),
    `the final stage installs that tarball:\n${runs.join('\n')}`,
  );
  // Nothing is fetched by name from the registry: kestra-plugin-fastly is not published there.
  assert.doesNotMatch(dockerfile, /npm install[^\n]*kestra-plugin-fastly@/);
  assert.match(dockerfile, /^FROM node:\$\{NODE\} AS build$/m);
  assert.match(dockerfile, /^COPY --from=build /m);
});

test('pack + install --global from the clone gives a kestra-fastly that purges against the simulator', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kf-install-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The pack step wrote one tarball, named as the install step's glob expects.
  const { tarball } = await packed();
  assert.deepEqual(readdirSync(dirname(tarball)), [`${pkg.name}-${pkg.version}.tgz`]);

  const { prefix, home } = await installed();
  const bin = join(prefix, 'bin', 'kestra-fastly');
  assert.ok(existsSync(bin), `npm install --global put no kestra-fastly in ${prefix}/bin`);
  // Installed as a user gets it: its own copy and its dependencies, nothing of this checkout.
  assert.ok(existsSync(join(home, 'node_modules', 'zod')), 'the runtime dependencies are installed');
  assert.ok(!existsSync(join(home, 'node_modules', 'typescript')), 'no development dependency');

  // The bin as the shell finds it (shebang, executable bit), with only node on PATH.
  const path = [join(prefix, 'bin'), dirname(process.execPath), '/usr/bin', '/bin'].join(delimiter);
  const clean = { PATH: path, HOME: dir };
  const version = await exec('kestra-fastly', ['--version'], clean, dir);
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout.trim(), pkg.version);

  const s = await sim(t);
  const api = { ...clean, FASTLY_API_ENDPOINT: s.url, FASTLY_API_TOKEN: 'install-token' };
  const purge = await exec('kestra-fastly', ['purge', 'key', 'installed-key', '-s', SERVICE], api, dir);
  assert.equal(purge.code, 0, purge.stderr);
  assert.ok(
    s.log.some((e) => e.method === 'POST' && e.path === `/service/${SERVICE}/purge/installed-key`),
    'the purge reached the simulator',
  );
  // The full CLI bundle (zod, the task schemas) from the installed package: the Kestra bridge.
  const task = await exec(
    'kestra-fastly',
    ['task', 'purge.Keys', '--props-env', 'PROPS'],
    { ...api, FASTLY_SERVICE_ID: SERVICE, PROPS: '{"surrogateKeys":["k1","k2"]}' },
    dir,
  );
  assert.equal(task.code, 0, task.stderr);
  assert.match(task.stdout, /^::\{"outputs":\{"purgeIds":\{"k1":/m);
});
