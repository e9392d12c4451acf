#!/usr/bin/env node
// Installs the Fastly CLI and fastly-js into bench/node_modules, where the benchmarks and the
// conformance test find them. They are not in the root lockfile: @fastly/cli pulls a binary
// package per platform and the lockfile would need every platform's entry for `npm ci` to pass,
// while `npm install` here simply takes the one this machine uses.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bench = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench');
if (!existsSync(join(bench, 'node_modules/.bin/fastly')) || !existsSync(join(bench, 'node_modules/fastly'))) {
  const wanted = 'the Fastly CLI and fastly-js (bench/package.json)';
  console.error(`installing contestants (${wanted}) into bench/node_modules …`);
  const npm = spawnSync(
    'npm',
    ['install', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error'],
    {
      cwd: bench,
      stdio: ['ignore', 'inherit', 'pipe'],
      encoding: 'utf8',
    },
  );
  if (npm.status !== 0) {
    // npm's own report is a dozen lines and a log path; the one that says why is its `code` or first error.
    const lines = `${npm.stderr ?? ''}${npm.error ? String(npm.error.message) : ''}`.split('\n');
    const why =
      lines.find((l) => /^npm (error|ERR!) code /.test(l))?.replace(/^npm (error|ERR!) /, '') ??
      lines.find((l) => l.trim())?.replace(/^npm (error|ERR!) /, '') ??
      `npm exited ${npm.status}`;
    console.error(
      `error: cannot install ${wanted} into bench/node_modules (${why.trim()}); the conformance test and the benchmarks need them from the npm registry`,
    );
    process.exit(1);
  }
}
