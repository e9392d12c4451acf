#!/usr/bin/env node
// `npm test`'s pretest: the contestants' install (scripts/install-contestants.mjs: npm install in
// bench/, 3.4 s on a fresh clone, mostly waiting) beside the build (scripts/build.mjs, whose tsc
// keeps one core busy), not before it. The install always exits 0 (it says what it could not
// install); a failed build fails the pretest.
import { spawn } from 'node:child_process';

/** @param {string} script @returns {Promise<number>} its exit code */
const run = (script) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });

const [contestants, build] = await Promise.all([
  run('scripts/install-contestants.mjs'),
  run('scripts/build.mjs'),
]);
process.exitCode = build || contestants;
