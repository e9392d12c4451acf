#!/usr/bin/env node
// Installs the Fastly CLI and fastly-js into bench/node_modules, where the benchmarks and the
// conformance test find them. They are not in the root lockfile: @fastly/cli pulls a binary
// package per platform and the lockfile would need every platform's entry for `npm ci` to pass,
// while `npm install` here simply takes the one this machine uses.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bench = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench');
if (!existsSync(join(bench, 'node_modules/.bin/fastly')) || !existsSync(join(bench, 'node_modules/fastly'))) {
  console.error('installing contestants (@fastly/cli, fastly) into bench/node_modules …');
  execFileSync('npm', ['install', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: bench,
    stdio: 'inherit',
  });
}
