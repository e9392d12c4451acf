#!/usr/bin/env node
// `npm run build` (and `npm test`'s pretest): dist/ as `tsc -p .` laid it out, made in parallel:
// - src/, test/ and bench/ transpiled file by file by esbuild to dist/<same path>.js, with source
//   maps: ~1 s of CPU, where tsc's emit of src/ (--noCheck) kept one core busy for 9 s and was most
//   of the pretest's wall time;
// - src/'s declarations by tsc (--noCheck --emitDeclarationOnly, tsconfig.src.json): 4 s, beside
//   the rest. The packed package ships them and the pack test type-checks a consumer against them;
// - the CLI bundles (scripts/bundle.mjs) and the dashboard's client bundle.
// `--src=tsc` writes src/ with tsc as before (`npm run coverage`: the line coverage figure is
// counted on tsc's source maps, as it always was; esbuild's, finer, count 0.8% fewer lines covered
// for the same runs).
// The type check is `npm run typecheck` (tsc --strict over src/, test/ and bench/, and the
// dashboard client's own tsconfig), run by `npm run lint` and CI: the full `tsc -p .` took 21 s of
// CPU here, on one core while the other waited.
// The type check's --isolatedModules refuses what a file-by-file transpiler cannot write alone (a
// re-exported type without `type`); it is not in tsconfig.json, where it would change how tsc
// writes src/ (a const enum kept as an object, not inlined).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';

/** @param {string} dir @returns {string[]} the .ts files under dir (no .d.ts), node_modules left out */
function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** @param {string} script @param {string[]} args */
function node(script, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(undefined) : reject(new Error(`${script} ${args.join(' ')} exited ${code}`)),
    );
  });
}

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
// The dashboard's client is the browser's: its own tsconfig (DOM), bundled below, not transpiled here.
const client = join('src', 'server', 'dashboard', 'client');
const srcByTsc = process.argv.includes('--src=tsc');
const srcFiles = sources('src').filter((f) => !f.startsWith(client));
const files = [...(srcByTsc ? [] : srcFiles), ...sources('test'), ...sources('bench')];

const steps = [
  node(tsc, ['-p', 'tsconfig.src.json', '--noCheck', ...(srcByTsc ? [] : ['--emitDeclarationOnly'])]),
  build({
    entryPoints: files,
    outdir: 'dist',
    outbase: '.',
    format: 'esm',
    platform: 'node',
    target: 'es2022',
    sourcemap: true,
    sourcesContent: true,
    logLevel: 'warning',
  }),
  node('scripts/bundle.mjs', []),
  build({
    entryPoints: [join(client, 'main.ts')],
    bundle: true,
    format: 'esm',
    minify: true,
    target: 'es2022',
    outfile: 'dist/dashboard/app.js',
    logLevel: 'warning',
  }),
];
const failed = (await Promise.allSettled(steps)).filter((s) => s.status === 'rejected');
if (failed.length) {
  for (const f of failed)
    console.error(`error: build: ${f.reason instanceof Error ? f.reason.message : String(f.reason)}`);
  process.exit(1);
}
