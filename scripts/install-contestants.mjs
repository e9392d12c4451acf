#!/usr/bin/env node
// Installs the Fastly CLI and fastly-js into bench/node_modules, where the benchmarks and the
// conformance test find them. They are not in the root lockfile: @fastly/cli pulls a binary
// package per platform and the lockfile would need every platform's entry for `npm ci` to pass,
// while `npm install` here simply takes the one this machine uses.
//
// Run by `npm test`'s pretest. When they cannot be installed (offline, a registry that refuses), it
// says so in one line and exits 0: a failing pretest would add npm's own report of the failed
// script and stop the build and the other tests, while the conformance test, the one that needs
// them, fails on its own and names what is missing. npm is told not to retry for minutes (its
// default backoff took 2 min 23 s to give up offline) and to take its cache first.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bench = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench');
/** @type {{ dependencies: Record<string, string> }} */
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- bench/package.json's pins are strings
const wanted = JSON.parse(readFileSync(join(bench, 'package.json'), 'utf8'));
/**
 * Installed at the version bench/package.json pins (exact versions): then npm is not run at all,
 * which saves its start and its look at the registry on every `npm test`.
 * @param {string} name
 */
const installed = (name) => {
  try {
    /** @type {{ version: string }} */
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- a package.json's version is a string
    const pkg = JSON.parse(readFileSync(join(bench, 'node_modules', name, 'package.json'), 'utf8'));
    return pkg.version === wanted.dependencies[name];
  } catch {
    return false;
  }
};
const missing = [
  ...(installed('@fastly/cli') && existsSync(join(bench, 'node_modules/.bin/fastly'))
    ? []
    : ['the Fastly CLI (@fastly/cli)']),
  ...(installed('fastly') ? [] : ['fastly-js']),
];
if (missing.length) {
  const npm = spawnSync(
    'npm',
    [
      'install',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      '--prefer-offline',
      '--fetch-retries=1',
      '--fetch-retry-mintimeout=2000',
      '--fetch-retry-maxtimeout=5000',
      '--fetch-timeout=30000',
    ],
    { cwd: bench, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
  );
  if (npm.status !== 0) {
    // npm's own report is a dozen lines and a log path; the one that says why is its `code` or first error.
    const lines = `${npm.stderr ?? ''}${npm.error ? String(npm.error.message) : ''}`.split('\n');
    const why =
      lines.find((l) => /^npm (error|ERR!) code /.test(l))?.replace(/^npm (error|ERR!) code /, '') ??
      lines.find((l) => l.trim())?.replace(/^npm (error|ERR!) /, '') ??
      `npm exited ${npm.status}`;
    const hint = /^E(CONNREFUSED|NOTFOUND|AI_AGAIN|TIMEDOUT|NETUNREACH)/.test(why.trim())
      ? 'the npm registry cannot be reached'
      : 'npm install failed';
    console.error(
      `note: ${missing.join(' and ')} not installed into bench/node_modules (${hint}: ${why.trim()}); test/conformance.test.js will fail until they are`,
    );
  }
}
